//! How each database spells literal values, for SQL scripts written without a connection
//! (`atdm generate --format sql`, and the `INSERT`s of loads where there is no `COPY`). Each
//! backend module defines its own [`Literals`].

use atdm_core::schema::Dialect;

/// How a database spells literal values in a SQL script (`atdm generate --format sql`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Literals {
    /// Appends a quoted string.
    pub(crate) text: fn(&mut String, &str),
    /// `TRUE` and `FALSE`, in the database's spelling.
    pub(crate) booleans: [&'static str; 2],
    /// Appends bytes as a literal.
    pub(crate) bytes: fn(&mut String, &[u8]),
    /// What follows a UTC timestamp for a column with a time zone (`+00`), if anything.
    pub(crate) utc_suffix: &'static str,
    /// Starts the script's transaction.
    pub(crate) begin: &'static str,
    /// Put after `INSERT INTO t (cols)` when explicit identity values are written.
    pub(crate) override_identity: &'static str,
    /// After a table's rows: the statement that moves the identity sequence of `column` of
    /// `table` (quoted) past them, where the database needs telling.
    pub(crate) after_identity: Option<fn(&str, &str) -> String>,
}

/// The literal spellings of a database (see [`Literals`]).
pub(crate) fn literals(d: Dialect) -> &'static Literals {
    match d {
        Dialect::Sqlite => &super::sqlite::LITERALS,
        Dialect::Postgres => &super::postgres::LITERALS,
        Dialect::MySql => &super::mysql::LITERALS,
    }
}

/// Appends `s` in single quotes, quotes doubled (standard SQL).
pub(crate) fn standard_text(out: &mut String, s: &str) {
    out.push('\'');
    for ch in s.chars() {
        if ch == '\'' {
            out.push('\'');
        }
        out.push(ch);
    }
    out.push('\'');
}

/// Appends `X'..'` hex bytes.
pub(crate) fn hex_bytes(out: &mut String, b: &[u8]) {
    use std::fmt::Write;
    out.push_str("X'");
    for x in b {
        let _ = write!(out, "{x:02x}");
    }
    out.push('\'');
}
