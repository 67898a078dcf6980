//! The scaffold's files as text: TOML written by hand so it can carry comments, with strings
//! and keys quoted by the TOML library.

use std::fmt::Write as _;

use super::rows::RowPlan;
use crate::schema::Schema;

/// A TOML string.
pub(super) fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A TOML key: bare where TOML allows it, quoted otherwise.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        quote(k)
    }
}

/// `# ` before every line of `text` (long lines wrapped at about 96 columns), or `#` alone for
/// an empty line.
pub(super) fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        if line.trim().is_empty() {
            out.push_str("#\n");
            continue;
        }
        let mut current = String::new();
        for word in line.split_whitespace() {
            if !current.is_empty() && current.len() + word.len() + 1 > 94 {
                let _ = writeln!(out, "# {current}");
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        let _ = writeln!(out, "# {current}");
    }
}

/// `# ` before every line of `text` as it is (TOML to uncomment), `#` alone for an empty line.
pub(super) fn commented_out(out: &mut String, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            let _ = writeln!(out, "# {line}");
        }
    }
}

/// The file of one scenario: a header comment, its id, description and tags, its rows.
pub(super) fn scenario(
    schema: &Schema,
    alias: &[String],
    header: &str,
    id: &str,
    description: &str,
    rows: &[RowPlan],
) -> String {
    let mut out = String::new();
    comment(&mut out, header);
    let _ = writeln!(out, "id = {}", quote(id));
    let _ = writeln!(out, "description = {}", quote(description));
    out.push_str("tags = [\"scaffold\"]\n");
    for r in rows {
        out.push('\n');
        out.push_str(&row(schema, alias, r));
    }
    out
}

/// One `[[rows]]` entry.
pub(super) fn row(schema: &Schema, alias: &[String], r: &RowPlan) -> String {
    let mut out = String::new();
    out.push_str("[[rows]]\n");
    let _ = writeln!(out, "alias = {}", quote(&alias[r.table]));
    let _ = writeln!(out, "table = {}", quote(&schema.tables[r.table].name));
    for n in &r.notes {
        comment(&mut out, n);
    }
    if !r.set.is_empty() {
        out.push_str("\n[rows.set]\n");
        for e in &r.set {
            let _ = writeln!(
                out,
                "{} = {}  # {}",
                key(&e.column),
                quote(&e.value),
                e.comment
            );
        }
    }
    out
}

/// `schema.toml`: a header, the introspection notes, the schema.
pub(super) fn schema_file(schema: &Schema, notes: &[String]) -> String {
    let mut out = String::new();
    comment(
        &mut out,
        "The schema of the database, as `atdm introspect` read it. Scenarios are checked and \
         generated against it; the database keeps enforcing its own constraints. Edit it to add \
         what the database does not say: a `generator`, a `default`, a `fill_rate` or a `locale` \
         (see docs/scenarios.md).",
    );
    if !notes.is_empty() {
        out.push_str("#\n# What introspection left out or simplified:\n");
        for n in notes {
            comment(&mut out, &format!("- {n}"));
        }
    }
    out.push('\n');
    out.push_str(&schema.to_toml());
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}
