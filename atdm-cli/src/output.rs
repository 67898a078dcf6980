//! Printing: one JSON document or short aligned lines on stdout, errors on stderr.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use crate::args::OutputFormat;

/// The code of a usage error in JSON error objects.
pub(crate) const USAGE_ERROR: &str = "USAGE_ERROR";

/// A failed command: a stable code, a message for a person, and the exit status.
#[derive(Debug)]
pub(crate) struct CliError {
    /// The stable code (`TOKEN_MISMATCH`, `USAGE_ERROR`, ...).
    pub(crate) code: String,
    /// What was wrong and what to do.
    pub(crate) message: String,
    /// 1 for engine errors, 2 for usage errors.
    pub(crate) exit: u8,
}

impl CliError {
    /// A usage error (exit 2).
    pub(crate) fn usage(code: &str, message: impl Into<String>) -> Self {
        CliError {
            code: code.to_owned(),
            message: message.into(),
            exit: 2,
        }
    }

    /// An error that is not the caller's usage (exit 1).
    pub(crate) fn failed(code: &str, message: impl Into<String>) -> Self {
        CliError {
            code: code.to_owned(),
            message: message.into(),
            exit: 1,
        }
    }
}

impl From<atdm_sqlx::Error> for CliError {
    fn from(e: atdm_sqlx::Error) -> Self {
        CliError::failed(e.code().as_str(), e.to_string())
    }
}

impl From<atdm_core::Error> for CliError {
    fn from(e: atdm_core::Error) -> Self {
        CliError::failed(e.code().as_str(), e.to_string())
    }
}

/// Where results go, in the chosen format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    format: OutputFormat,
}

impl Output {
    /// An output in `format`.
    pub(crate) fn new(format: OutputFormat) -> Self {
        Output { format }
    }

    /// Whether the output is JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Prints `value` as one JSON document, or `human()` as text.
    pub(crate) fn emit<T: Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> Result<(), CliError> {
        let text = match self.format {
            OutputFormat::Json => {
                let mut s = serde_json::to_string_pretty(value).map_err(|e| {
                    CliError::failed("INTERNAL_ERROR", format!("cannot encode the result: {e}"))
                })?;
                s.push('\n');
                s
            }
            OutputFormat::Human => human(),
        };
        write_stdout(&text)
    }

    /// Prints an error on stderr (text, or a JSON error object) and returns its exit code.
    pub(crate) fn error(&self, e: &CliError) -> ExitCode {
        let text = match self.format {
            OutputFormat::Json => error_json(&e.code, &e.message),
            OutputFormat::Human => format!(
                "{}: {}\n",
                paint(&format!("error[{}]", e.code), RED, stderr_colour()),
                e.message
            ),
        };
        let _ = std::io::stderr().write_all(text.as_bytes());
        ExitCode::from(e.exit)
    }

    /// Prints a warning on stderr.
    pub(crate) fn warn(&self, code: &str, message: &str) {
        let text = match self.format {
            OutputFormat::Json => {
                let v = serde_json::json!({"warning": {"code": code, "message": message}});
                format!("{v}\n")
            }
            OutputFormat::Human => format!(
                "{}: {message}\n",
                paint(&format!("warning[{code}]"), YELLOW, stderr_colour())
            ),
        };
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
}

/// Bold red and bold yellow, as cargo and rustc print their `error` and `warning` labels.
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";

/// Whether stderr gets colour: on a terminal unless `NO_COLOR` is set (<https://no-color.org>),
/// or anywhere when `CLICOLOR_FORCE` is set (not to `0`).
fn stderr_colour() -> bool {
    use std::io::IsTerminal;
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty() && v != "0");
    if set("CLICOLOR_FORCE") {
        return true;
    }
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// `label` in `colour` when `on`.
fn paint(label: &str, colour: &str, on: bool) -> String {
    if on {
        format!("{colour}{label}\x1b[0m")
    } else {
        label.to_owned()
    }
}

/// `{"error": {"code": ..., "message": ...}}` and a newline.
pub(crate) fn error_json(code: &str, message: &str) -> String {
    let v = serde_json::json!({"error": {"code": code, "message": message}});
    format!("{v}\n")
}

/// Writes to stdout; a closed pipe (`atdm ... | head`) is not an error worth a message.
pub(crate) fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::failed(
            "IO_ERROR",
            format!("cannot write to stdout: {e}"),
        )),
    }
}

/// Aligned `key  value` lines.
pub(crate) fn key_values<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.as_ref().chars().count())
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    for (k, v) in pairs {
        let k = k.as_ref();
        let pad = width - k.chars().count();
        let line = format!("{k}{:pad$}  {}", "", v.as_ref());
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s
}

/// A table with a header row; columns are left-aligned, numbers right-aligned.
pub(crate) fn table<S: AsRef<str>>(headers: &[&str], rows: &[Vec<S>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.as_ref().chars().count());
            }
        }
    }
    let numeric: Vec<bool> = (0..headers.len())
        .map(|i| {
            !rows.is_empty()
                && rows.iter().all(|r| {
                    r.get(i)
                        .map(|c| c.as_ref())
                        .is_some_and(|c| !c.is_empty() && c.parse::<f64>().is_ok())
                })
        })
        .collect();
    let mut s = String::new();
    let mut line = |cells: Vec<&str>, header: bool| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let w = widths[i];
            let pad = w - cell.chars().count();
            let last = i + 1 == cells.len();
            if i > 0 {
                l.push_str("  ");
            }
            if numeric[i] && !header {
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
            } else {
                l.push_str(cell);
                if !last {
                    l.push_str(&" ".repeat(pad));
                }
            }
        }
        s.push_str(l.trim_end());
        s.push('\n');
    };
    line(headers.to_vec(), true);
    for row in rows {
        line(row.iter().map(|c| c.as_ref()).collect(), false);
    }
    s
}

/// Indents every line of `text` by two spaces.
pub(crate) fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// A JSON value as a person reads it: strings without quotes, others as JSON.
pub(crate) fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// How many keys of a list human output shows in full.
const LISTED_KEYS: usize = 10;

/// A seeded entity's keys for people: a short list in full, a long one as its count, its
/// first and last keys, and where the rest are (`-o json` has every key).
pub(crate) fn keys(v: &serde_json::Value) -> String {
    match v.as_array() {
        Some(items) if items.len() > LISTED_KEYS => {
            let first: Vec<String> = items[..3].iter().map(plain).collect();
            format!(
                "{} keys: {}, ..., {} (every key with -o json)",
                items.len(),
                first.join(", "),
                plain(&items[items.len() - 1])
            )
        }
        Some(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        None => plain(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_key_lists_are_summarised() {
        let few = serde_json::json!(["a", "b"]);
        assert_eq!(keys(&few), "a, b");
        let many = serde_json::Value::Array((1..=200_000).map(serde_json::Value::from).collect());
        assert_eq!(
            keys(&many),
            "200000 keys: 1, 2, 3, ..., 200000 (every key with -o json)"
        );
        assert_eq!(keys(&serde_json::json!("m-1")), "m-1");
    }

    #[test]
    fn key_values_align_on_the_longest_key() {
        let s = key_values(&[("run", "R"), ("scenario", "S")]);
        assert_eq!(s, "run       R\nscenario  S\n");
    }

    #[test]
    fn tables_align_text_left_and_numbers_right() {
        let s = table(
            &["table", "rows"],
            &[vec!["claim", "1"], vec!["eligibility", "12"]],
        );
        assert_eq!(
            s,
            "table        rows\nclaim           1\neligibility    12\n"
        );
    }

    #[test]
    fn error_objects_have_code_and_message() {
        let v: serde_json::Value =
            serde_json::from_str(&error_json("RUN_NOT_FOUND", "no run \"x\"")).unwrap();
        assert_eq!(v["error"]["code"], "RUN_NOT_FOUND");
        assert_eq!(v["error"]["message"], "no run \"x\"");
    }
}
