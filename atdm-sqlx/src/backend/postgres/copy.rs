//! PostgreSQL's `COPY` text format: tab-separated fields, `\N` for NULL, backslash escapes.

use std::fmt::Write as _;

use atdm_core::Value;
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// `COPY table (columns) FROM STDIN`.
pub(super) fn statement(quoted_table: &str, quoted_columns: &[String]) -> String {
    format!(
        "COPY {quoted_table} ({}) FROM STDIN",
        quoted_columns.join(", ")
    )
}

fn escaped(out: &mut String, s: &str) {
    if !s
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
}

fn date(out: &mut String, d: &NaiveDate) {
    let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}

fn time(out: &mut String, t: &NaiveDateTime) {
    date(out, &t.date());
    let _ = write!(
        out,
        " {:02}:{:02}:{:02}.{:06}",
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1000
    );
}

/// Appends one value. Dates and times of years 1 to 9999 are written digit by digit (the bulk
/// of a large load's formatting); others through chrono's formatter.
pub(super) fn field(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("\\N"),
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Numeric(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Text(s) => escaped(out, s),
        Value::Date(d) if (1..=9999).contains(&d.year()) => date(out, d),
        Value::Date(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        Value::Timestamp(t) if (1..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 => {
            time(out, t)
        }
        Value::Timestamp(t) => {
            let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f"));
        }
        Value::TimestampTz(t)
            if (1..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 =>
        {
            time(out, &t.naive_utc());
            out.push_str("+00");
        }
        Value::TimestampTz(t) => {
            let _ = write!(out, "{}+00", t.format("%Y-%m-%d %H:%M:%S%.6f"));
        }
        Value::Uuid(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Json(j) => escaped(out, &j.to_string()),
        Value::Bytes(b) => {
            out.push_str("\\\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_written_as_postgresql_reads_them() {
        let mut out = String::new();
        let t = NaiveDateTime::parse_from_str("2026-06-01 07:08:09.000042", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
        for v in [
            Value::Date(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()),
            Value::Timestamp(t),
            Value::TimestampTz(t.and_utc()),
            Value::Null,
            Value::Text("a\tb\\".into()),
        ] {
            field(&mut out, &v);
            out.push('|');
        }
        assert_eq!(
            out,
            "2026-06-01|2026-06-01 07:08:09.000042|2026-06-01 07:08:09.000042+00|\\N|a\\tb\\\\|"
        );
    }
}
