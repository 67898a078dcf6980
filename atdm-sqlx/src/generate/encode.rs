//! Generated batches in a database's forms: `COPY` text rows, multi-row `INSERT` statements
//! with literal values, and single values.

use std::fmt::Write as _;
use std::ops::Range;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use atdm_core::Value;
use atdm_core::schema::{Dialect, Generated, Table};
use chrono::DateTime;

use crate::backend::{BulkLoad, Literals};

/// `INSERT INTO t (columns)[ override] VALUES` and a newline, for `table`'s batches of
/// `schema`; `override_identity` goes after the column list when the table has an identity
/// column.
pub(crate) fn insert_head(
    dialect: Dialect,
    table: &Table,
    schema: &SchemaRef,
    override_identity: &str,
) -> String {
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| dialect.quote(f.name()))
        .collect();
    let identity = table
        .columns
        .iter()
        .any(|c| matches!(c.generated, Some(Generated::Identity)));
    format!(
        "INSERT INTO {} ({}){} VALUES\n",
        dialect.quote_table(table),
        columns.join(", "),
        if identity { override_identity } else { "" }
    )
}

/// Appends one `INSERT` of `rows` of `batch` (without the final semicolon).
pub(crate) fn insert(
    out: &mut String,
    head: &str,
    lits: &Literals,
    batch: &RecordBatch,
    rows: Range<usize>,
) {
    out.push_str(head);
    let columns = batch.columns();
    let last = rows.end.saturating_sub(1);
    for row in rows {
        out.push('(');
        for (i, col) in columns.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            literal(out, lits, col.as_ref(), row);
        }
        out.push_str(if row == last { ")" } else { "),\n" });
    }
}

/// Appends the rows of `batch` in a bulk path's text form.
pub(crate) fn copy_rows(out: &mut String, bulk: &BulkLoad, batch: &RecordBatch) {
    let columns = batch.columns();
    for row in 0..batch.num_rows() {
        for (i, col) in columns.iter().enumerate() {
            if i > 0 {
                out.push('\t');
            }
            (bulk.cell)(out, col.as_ref(), row);
        }
        out.push('\n');
    }
}

/// The value of `col` at `row`.
pub(crate) fn cell_value(col: &dyn Array, row: usize) -> Value {
    if col.is_null(row) {
        return Value::Null;
    }
    match col.data_type() {
        DataType::Utf8 => Value::Text(col.as_string::<i32>().value(row).to_owned()),
        DataType::Int32 => Value::Int(i64::from(col.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => Value::Int(col.as_primitive::<Int64Type>().value(row)),
        DataType::Boolean => Value::Bool(col.as_boolean().value(row)),
        DataType::Decimal128(_, scale) => {
            let v = col.as_primitive::<Decimal128Type>().value(row);
            rust_decimal::Decimal::try_from_i128_with_scale(v, *scale as u32)
                .map_or(Value::Null, Value::Numeric)
        }
        DataType::Date32 => col
            .as_primitive::<Date32Type>()
            .value_as_date(row)
            .map_or(Value::Null, Value::Date),
        DataType::Timestamp(_, tz) => {
            let micros = col.as_primitive::<TimestampMicrosecondType>().value(row);
            let t = DateTime::from_timestamp_micros(micros).unwrap_or_default();
            if tz.is_some() {
                Value::TimestampTz(t)
            } else {
                Value::Timestamp(t.naive_utc())
            }
        }
        DataType::Binary => Value::Bytes(col.as_binary::<i32>().value(row).to_vec()),
        _ => Value::Null,
    }
}

/// Appends the value of `col` at `row` as a literal.
pub(crate) fn literal(out: &mut String, lits: &Literals, col: &dyn Array, row: usize) {
    if col.is_null(row) {
        out.push_str("NULL");
        return;
    }
    match col.data_type() {
        DataType::Utf8 => (lits.text)(out, col.as_string::<i32>().value(row)),
        DataType::Int32 => {
            let _ = write!(out, "{}", col.as_primitive::<Int32Type>().value(row));
        }
        DataType::Int64 => {
            let _ = write!(out, "{}", col.as_primitive::<Int64Type>().value(row));
        }
        DataType::Boolean => {
            out.push_str(lits.booleans[usize::from(!col.as_boolean().value(row))]);
        }
        DataType::Decimal128(_, scale) => {
            let v = col.as_primitive::<Decimal128Type>().value(row);
            out.push_str(
                &rust_decimal::Decimal::from_i128_with_scale(v, *scale as u32).to_string(),
            );
        }
        DataType::Date32 => match col.as_primitive::<Date32Type>().value_as_date(row) {
            Some(d) => date_literal(out, d),
            None => out.push_str("NULL"),
        },
        DataType::Timestamp(_, tz) => {
            let micros = col.as_primitive::<TimestampMicrosecondType>().value(row);
            let t = DateTime::from_timestamp_micros(micros).unwrap_or_default();
            let suffix = if tz.is_some() { lits.utc_suffix } else { "" };
            timestamp_literal(out, t.naive_utc(), suffix);
        }
        DataType::Binary => (lits.bytes)(out, col.as_binary::<i32>().value(row)),
        _ => out.push_str("NULL"),
    }
}

fn date_literal(out: &mut String, d: chrono::NaiveDate) {
    let _ = write!(out, "'{}'", d.format("%Y-%m-%d"));
}

fn timestamp_literal(out: &mut String, t: chrono::NaiveDateTime, suffix: &str) {
    let _ = write!(out, "'{}{suffix}'", t.format("%Y-%m-%d %H:%M:%S%.6f"));
}

/// `v` as a SQL literal of `dialect`, spelled as scripts and loads spell it: for fixtures
/// and tests that write a row by hand (an invalid edge case, say). Text is quoted whatever
/// the column's type, so a malformed date reaches the database as the text it is.
pub fn sql_literal(dialect: atdm_core::schema::Dialect, v: &atdm_core::Value) -> String {
    let mut out = String::new();
    push_sql_literal(&mut out, crate::backend::literals(dialect), v);
    out
}

/// Appends `v` as a SQL literal (see [`sql_literal`]).
pub(crate) fn push_sql_literal(out: &mut String, lits: &Literals, v: &atdm_core::Value) {
    use atdm_core::Value;
    match v {
        Value::Null => out.push_str("NULL"),
        Value::Bool(b) => out.push_str(lits.booleans[usize::from(!*b)]),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Numeric(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Text(t) => (lits.text)(out, t),
        Value::Date(d) => date_literal(out, *d),
        Value::Timestamp(t) => timestamp_literal(out, *t, ""),
        Value::TimestampTz(t) => timestamp_literal(out, t.naive_utc(), lits.utc_suffix),
        Value::Uuid(u) => (lits.text)(out, &u.to_string()),
        Value::Json(j) => (lits.text)(out, &j.to_string()),
        Value::Bytes(b) => (lits.bytes)(out, b),
    }
}
