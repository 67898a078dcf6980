//! PostgreSQL's `COPY` text format: tab-separated fields, `\N` for NULL, backslash escapes.

use std::fmt::Write as _;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_schema::DataType;
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

/// Appends the value of an Arrow column (as a generated batch holds it) at `row`, as
/// [`field`] writes the same value.
pub(super) fn cell(out: &mut String, col: &dyn Array, row: usize) {
    if col.is_null(row) {
        out.push_str("\\N");
        return;
    }
    match col.data_type() {
        DataType::Utf8 => escaped(out, col.as_string::<i32>().value(row)),
        DataType::Int32 => {
            let _ = write!(out, "{}", col.as_primitive::<Int32Type>().value(row));
        }
        DataType::Int64 => {
            let _ = write!(out, "{}", col.as_primitive::<Int64Type>().value(row));
        }
        DataType::Boolean => out.push(if col.as_boolean().value(row) {
            't'
        } else {
            'f'
        }),
        DataType::Date32 => {
            let days = col.as_primitive::<Date32Type>().value(row);
            match NaiveDate::from_num_days_from_ce_opt(days + 719_163) {
                Some(d) => field(out, &Value::Date(d)),
                None => out.push_str("\\N"),
            }
        }
        DataType::Timestamp(_, tz) => {
            let micros = col.as_primitive::<TimestampMicrosecondType>().value(row);
            let t = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
            if tz.is_some() {
                field(out, &Value::TimestampTz(t));
            } else {
                field(out, &Value::Timestamp(t.naive_utc()));
            }
        }
        _ => field(out, &crate::generate::cell_value(col, row)),
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
