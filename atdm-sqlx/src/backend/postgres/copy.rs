//! PostgreSQL's `COPY` text format: tab-separated fields, `\N` for NULL, backslash escapes.

use std::borrow::Cow;
use std::fmt::Write as _;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_schema::DataType;
use atdm_core::Value;
use atdm_core::schema::ColumnType;
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use futures::StreamExt;
use futures::stream::BoxStream;

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

/// A date as PostgreSQL writes years before 1: the year counted back, and ` BC`.
fn as_era(d: NaiveDate) -> (NaiveDate, &'static str) {
    match d.with_year(1 - d.year()) {
        Some(bc) if d.year() < 1 => (bc, " BC"),
        _ => (d, ""),
    }
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
            let (d, bc) = as_era(*d);
            let _ = write!(out, "{}{bc}", d.format("%Y-%m-%d"));
        }
        Value::Timestamp(t) if (1..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 => {
            time(out, t)
        }
        Value::Timestamp(t) => {
            let (d, bc) = as_era(t.date());
            let t = d.and_time(t.time());
            let _ = write!(out, "{}{bc}", t.format("%Y-%m-%d %H:%M:%S%.6f"));
        }
        Value::TimestampTz(t)
            if (1..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 =>
        {
            time(out, &t.naive_utc());
            out.push_str("+00");
        }
        Value::TimestampTz(t) => {
            let (d, bc) = as_era(t.date_naive());
            let t = d.and_time(t.time());
            let _ = write!(out, "{}+00{bc}", t.format("%Y-%m-%d %H:%M:%S%.6f"));
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

/// The session's text forms while a masked copy reads (as `pg_dump` sets them): what
/// [`parse`] reads, and the same bytes whatever the server's defaults.
pub(super) const READ_SETUP: &str = "SET LOCAL DateStyle = ISO; SET LOCAL IntervalStyle = postgres; \
     SET LOCAL TimeZone = 'UTC'; SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = hex";

/// `COPY (SELECT columns FROM table) TO STDOUT` (a query, so partitioned tables read too).
pub(super) fn read_statement(quoted_table: &str, quoted_columns: &[String]) -> String {
    format!(
        "COPY (SELECT {} FROM {quoted_table}) TO STDOUT",
        quoted_columns.join(", ")
    )
}

/// Bytes per piece of [`gather`]ed rows.
const PIECE_BYTES: usize = 256 << 10;

/// `COPY TO`'s rows (one per message) gathered into pieces of about [`PIECE_BYTES`], each of
/// whole rows.
pub(super) fn gather<'a, B: AsRef<[u8]> + Send + 'a>(
    rows: BoxStream<'a, Result<B, sqlx::Error>>,
) -> BoxStream<'a, Result<Vec<u8>, sqlx::Error>> {
    futures::stream::unfold(Some(rows), |state| async move {
        let mut rows = state?;
        let mut piece = Vec::with_capacity(PIECE_BYTES + (PIECE_BYTES >> 4));
        while piece.len() < PIECE_BYTES {
            match rows.next().await {
                Some(Ok(row)) => piece.extend_from_slice(row.as_ref()),
                Some(Err(e)) => return Some((Err(e), None)),
                None if piece.is_empty() => return None,
                None => return Some((Ok(piece), None)),
            }
        }
        Some((Ok(piece), Some(rows)))
    })
    .boxed()
}

/// A field's text without `COPY`'s backslash escapes.
fn unescape(field: &str) -> Cow<'_, str> {
    if !field.contains('\\') {
        return Cow::Borrowed(field);
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\u{b}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` (chrono's own ISO readers: no format string to read per
/// value).
fn date_time(s: &str) -> Option<(NaiveDate, chrono::NaiveTime)> {
    let (d, t) = s.split_once(' ')?;
    Some((d.parse().ok()?, t.parse().ok()?))
}

/// An offset as PostgreSQL writes it (`+00`, `-03:30`, `+05:53:28`), in seconds east of UTC.
fn utc_offset(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let mut seconds = 0;
    let mut parts = 0;
    for (part, scale) in rest.split(':').zip([3600, 60, 1]) {
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        seconds += part.parse::<i32>().ok()? * scale;
        parts += 1;
    }
    (parts > 0 && rest.split(':').count() == parts).then_some(sign * seconds)
}

/// A date or time without PostgreSQL's ` BC` suffix, and whether it had one.
fn era(s: &str) -> (&str, bool) {
    match s.strip_suffix(" BC") {
        Some(s) => (s, true),
        None => (s, false),
    }
}

/// A date of year `y` BC is ISO year `1 - y` (1 BC is year 0).
fn bc_date(d: NaiveDate, bc: bool) -> NaiveDate {
    if bc {
        d.with_year(1 - d.year()).unwrap_or(d)
    } else {
        d
    }
}

/// One field as `COPY TO` writes it under [`READ_SETUP`], as a value of `ty`. The message
/// says what the text is not, never what it is.
pub(super) fn parse(field: &str, ty: &ColumnType) -> Result<Value, String> {
    use ColumnType as T;
    if field == "\\N" {
        return Ok(Value::Null);
    }
    let text = unescape(field);
    let s = text.as_ref();
    let bad = |what: &str| format!("a value is not {what} as PostgreSQL writes it");
    Ok(match ty {
        T::Text | T::Varchar(_) | T::Enum { .. } | T::Native { .. } => {
            Value::Text(text.into_owned())
        }
        T::Integer | T::BigInt | T::SizedInt { .. } => {
            Value::Int(s.parse().map_err(|_| bad("an integer"))?)
        }
        T::Numeric { .. } => Value::Numeric(s.parse().map_err(|_| bad("a finite number"))?),
        T::Boolean => match s {
            "t" => Value::Bool(true),
            "f" => Value::Bool(false),
            _ => return Err(bad("a boolean")),
        },
        T::Date => {
            let (s, bc) = era(s);
            let d = s.parse().map_err(|_| bad("a finite date"))?;
            Value::Date(bc_date(d, bc))
        }
        T::Timestamp => {
            let (s, bc) = era(s);
            let (d, t) = date_time(s).ok_or_else(|| bad("a finite timestamp"))?;
            Value::Timestamp(bc_date(d, bc).and_time(t))
        }
        T::TimestampTz => {
            let (s, bc) = era(s);
            let bad = || bad("a finite timestamp with time zone");
            // The offset: the last sign after the time's start.
            let at = s.rfind(['+', '-']).filter(|&i| i > 10).ok_or_else(bad)?;
            let (d, t) = date_time(&s[..at]).ok_or_else(bad)?;
            let offset = utc_offset(&s[at..]).ok_or_else(bad)?;
            let local = bc_date(d, bc).and_time(t);
            Value::TimestampTz((local - chrono::TimeDelta::seconds(offset.into())).and_utc())
        }
        T::Uuid => Value::Uuid(s.parse().map_err(|_| bad("a UUID"))?),
        T::Json => Value::Json(serde_json::from_str(s).map_err(|_| bad("JSON"))?),
        T::Bytes => {
            let hex = s.strip_prefix("\\x").ok_or_else(|| bad("hex bytes"))?;
            if hex.len() % 2 != 0 {
                return Err(bad("hex bytes"));
            }
            let digit = |b: u8| (b as char).to_digit(16).ok_or_else(|| bad("hex bytes"));
            let mut out = Vec::with_capacity(hex.len() / 2);
            for pair in hex.as_bytes().chunks(2) {
                out.push((digit(pair[0])? * 16 + digit(pair[1])?) as u8);
            }
            Value::Bytes(out)
        }
    })
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
    use atdm_core::schema::Dialect;

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

    #[test]
    fn fields_as_postgresql_writes_them_read_back_as_values() {
        use ColumnType as T;
        let ts = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        let cases: Vec<(&str, ColumnType, Value)> = vec![
            ("\\N", T::Text, Value::Null),
            ("\\N", T::Integer, Value::Null),
            (
                "a\\tb\\\\c\\nd\\re",
                T::Text,
                Value::Text("a\tb\\c\nd\re".into()),
            ),
            ("Zo\u{eb}", T::Varchar(10), Value::Text("Zo\u{eb}".into())),
            (
                "{1,2}",
                T::Native {
                    dialect: Dialect::Postgres,
                    name: "integer[]".into(),
                },
                Value::Text("{1,2}".into()),
            ),
            ("-42", T::BigInt, Value::Int(-42)),
            (
                "12.50",
                T::Numeric {
                    precision: 10,
                    scale: 2,
                },
                Value::Numeric("12.50".parse().unwrap()),
            ),
            ("t", T::Boolean, Value::Bool(true)),
            ("f", T::Boolean, Value::Bool(false)),
            (
                "1999-12-31",
                T::Date,
                Value::Date(NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()),
            ),
            (
                "2020-01-01 03:25:45",
                T::Timestamp,
                Value::Timestamp(ts("2020-01-01 03:25:45")),
            ),
            (
                "2020-01-01 03:25:45.5",
                T::Timestamp,
                Value::Timestamp(ts("2020-01-01 03:25:45.5")),
            ),
            (
                "2020-01-01 03:25:45.000042+00",
                T::TimestampTz,
                Value::TimestampTz(ts("2020-01-01 03:25:45.000042").and_utc()),
            ),
            (
                "0044-03-15 BC",
                T::Date,
                Value::Date(NaiveDate::from_ymd_opt(-43, 3, 15).unwrap()),
            ),
            (
                "0001-01-01 00:00:00+00 BC",
                T::TimestampTz,
                Value::TimestampTz(ts("0000-01-01 00:00:00").and_utc()),
            ),
            (
                "2020-01-01 00:00:00-03:30:15",
                T::TimestampTz,
                Value::TimestampTz(ts("2020-01-01 03:30:15").and_utc()),
            ),
            (
                "2020-01-01 08:55:45+05:30",
                T::TimestampTz,
                Value::TimestampTz(ts("2020-01-01 03:25:45").and_utc()),
            ),
            (
                "8c1d6a44-7f5b-4f0e-9d3a-0c6e8e6b1b2a",
                T::Uuid,
                Value::Uuid("8c1d6a44-7f5b-4f0e-9d3a-0c6e8e6b1b2a".parse().unwrap()),
            ),
            (
                "{\"a\": [1, \"x\\\\ty\"]}",
                T::Json,
                Value::Json(serde_json::json!({"a": [1, "x\ty"]})),
            ),
            ("\\\\x00ff10", T::Bytes, Value::Bytes(vec![0, 255, 16])),
        ];
        for (field, ty, want) in cases {
            assert_eq!(parse(field, &ty), Ok(want), "{field:?} as {ty}");
        }
        // Refusals say what the text is not, never what it is.
        for (field, ty) in [
            ("4111-1111", T::Integer),
            ("infinity", T::Date),
            ("4111-01-01T00:00:00", T::Timestamp),
            ("4111-01-01 00:00:00", T::TimestampTz),
            ("4111-01-01 00:00:00+1", T::TimestampTz),
            ("4111111111111111", T::Boolean),
            (
                "NaN",
                T::Numeric {
                    precision: 10,
                    scale: 2,
                },
            ),
            ("\\\\x411", T::Bytes),
            ("\\\\x41z", T::Bytes),
        ] {
            let err = parse(field, &ty).unwrap_err();
            assert!(!err.contains("4111") && !err.contains("infinity"), "{err}");
        }
        // What `field` writes, `parse` reads.
        for v in [
            Value::Text("tab\there \\ back".into()),
            Value::Timestamp(ts("0999-03-04 05:06:07.008")),
            Value::Bytes(vec![1, 2, 254]),
            Value::Date(NaiveDate::from_ymd_opt(-43, 3, 15).unwrap()),
            Value::Timestamp(ts("0000-12-31 23:59:59.5")),
        ] {
            let mut out = String::new();
            field(&mut out, &v);
            let ty = match &v {
                Value::Text(_) => T::Text,
                Value::Timestamp(_) => T::Timestamp,
                Value::Date(_) => T::Date,
                _ => T::Bytes,
            };
            assert_eq!(parse(&out, &ty), Ok(v));
        }
    }
}
