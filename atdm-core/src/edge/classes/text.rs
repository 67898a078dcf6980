//! The text classes of a column: lengths, scripts, spaces and quotes, and the attack payloads.

use super::Cases;
use crate::edge::{ALL, Validity};
use crate::schema::{Check, ColumnType, Dialect};
use crate::value::Value;

/// Text: lengths, scripts, spaces and quotes (within the prefix a check requires), and the
/// dangerous payloads.
pub(super) fn text(k: &mut Cases<'_>, key: bool, unique: bool) {
    let max = match k.column.ty {
        ColumnType::Varchar(n) => Some(n as usize),
        _ => None,
    };
    let prefix: String = k
        .table
        .checks_on(&k.column.name)
        .find_map(|c| match c {
            Check::Prefix { prefix, .. } => Some(prefix.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let room = max.map(|m| m.saturating_sub(prefix.chars().count()));
    let fit = |s: &str| -> String {
        let body: String = match room {
            Some(r) => s.chars().take(r).collect(),
            None => s.to_owned(),
        };
        format!("{prefix}{body}")
    };
    if !prefix.is_empty() {
        k.invalid(
            "text.without_prefix",
            Value::Text("x".into()),
            "text that does not start with the prefix the check requires",
            &ALL,
        );
    }
    if let Some(m) = max {
        k.invalid(
            "text.too_long",
            Value::Text(format!(
                "{prefix}{}",
                "x".repeat((m + 1).saturating_sub(prefix.chars().count()))
            )),
            "one character more than the column's length",
            &[Dialect::Postgres, Dialect::MySql],
        );
    }
    if key {
        return;
    }
    let mut valid: Vec<(&str, String, &str)> = Vec::new();
    if prefix.is_empty() {
        valid.push(("text.empty", String::new(), "the empty string"));
        valid.push(("text.one_char", "a".into(), "a single character"));
        valid.push(("text.leading_spaces", fit("  leading"), "leading spaces"));
    } else {
        valid.push((
            "text.prefix_only",
            prefix.clone(),
            "the required prefix alone",
        ));
    }
    match max {
        Some(_) => valid.push((
            "text.max_length",
            fit(&"m".repeat(max.unwrap_or(0))),
            "exactly the column's length",
        )),
        None => valid.push(("text.long", fit(&"l".repeat(4000)), "4,000 characters")),
    }
    let script = [
        (
            "text.multibyte",
            "\u{65e5}\u{672c}\u{8a9e}\u{306e}\u{30c6}\u{30ad}\u{30b9}\u{30c8}",
            "Japanese: three bytes a character in UTF-8",
        ),
        (
            "text.combining",
            "Zoe\u{308} e\u{301}le\u{300}ve",
            "combining accents after their letters",
        ),
        (
            "text.right_to_left",
            "\u{645}\u{631}\u{62d}\u{628}\u{627} \u{628}\u{627}\u{644}\u{639}\u{627}\u{644}\u{645}",
            "Arabic, written right to left",
        ),
        (
            "text.four_byte",
            "\u{20bb7}\u{91ce}\u{5bb6}",
            "a character outside the Basic Multilingual Plane (four bytes in UTF-8)",
        ),
        ("text.trailing_spaces", "trailing  ", "trailing spaces"),
        (
            "text.quotes",
            "O'Brien \"Bob\" \\ 100%_",
            "quotes, a backslash and LIKE wildcards",
        ),
    ];
    // A narrow character set (MySQL's utf8mb3, latin1) refuses what it cannot hold: those
    // classes are invalid there.
    let charset = k.column.charset.clone();
    let holds = |s: &str| match charset.as_deref() {
        None => true,
        Some(cs) if cs.to_ascii_lowercase().starts_with("utf8") => {
            s.chars().all(|c| c.len_utf8() < 4)
        }
        Some(_) => s.chars().all(|c| (c as u32) < 0x100),
    };
    for (class, s, why) in script {
        if holds(s) {
            valid.push((class, fit(s), why));
        } else {
            let cs = charset.clone().unwrap_or_default();
            k.invalid(
                class,
                Value::Text(fit(s)),
                &format!("{why}, which the column's character set {cs} cannot hold"),
                &[Dialect::MySql],
            );
        }
    }
    // Distinct where a database compares text without case or trailing spaces (a unique
    // column takes each value once).
    let mut seen: Vec<String> = Vec::new();
    for (class, v, why) in valid {
        let norm = v.trim_end().to_lowercase();
        if unique && seen.contains(&norm) {
            continue;
        }
        seen.push(norm);
        k.valid(class, Value::Text(v), why);
    }
    let attacks = [
        (
            "attack.sql_injection",
            "x'); DROP TABLE users; --",
            "SQL injection",
            &[][..],
        ),
        (
            "attack.markup",
            "<script>alert(1)</script>",
            "a script element (cross-site scripting)",
            &[][..],
        ),
        (
            "attack.path_traversal",
            "../../../../etc/passwd",
            "path traversal",
            &[][..],
        ),
        (
            "attack.format_string",
            "%s%s%n%x{0}",
            "format strings",
            &[][..],
        ),
        (
            "attack.nul_byte",
            "nul\u{0}byte",
            "a NUL byte inside text",
            &[Dialect::Postgres][..],
        ),
    ];
    for (class, s, why, by) in attacks {
        let v = fit(s);
        let norm = v.trim_end().to_lowercase();
        if unique && seen.contains(&norm) {
            continue;
        }
        seen.push(norm);
        k.push(class, Validity::Dangerous, Value::Text(v), why, by);
    }
}
