//! Generated rows as the bound parameters of a prepared multi-row `INSERT` (see
//! [`BoundInsert`]): each value in the binary protocol's form of its Arrow type, as the
//! planned rows' values are bound (timestamps as UTC `DATETIME`s).

use std::ops::Range;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use chrono::DateTime;
use rust_decimal::Decimal;
use sqlx::Arguments;
use sqlx::mysql::MySqlArguments;

use crate::backend::{BoundArgs, BoundInsert};

/// About the parameters of one statement (the protocol allows 65,535). MariaDB 10.11 loaded a
/// million rows of 11 columns in 20% less time in statements of 1,000 rows than in statements
/// of 5,957 (65,527 parameters), and took longer again with 300 rows or fewer
/// (`bench/load.py`).
const PARAMS: usize = 10_000;

pub(super) const BOUND_INSERT: BoundInsert = BoundInsert {
    params: PARAMS,
    bind: bind_rows,
};

/// Binds rows `rows` of `batch`, row by row.
fn bind_rows(batch: &RecordBatch, rows: Range<usize>) -> BoundArgs {
    let mut args = MySqlArguments::default();
    let bytes: usize = batch
        .columns()
        .iter()
        .map(|c| c.get_buffer_memory_size() / batch.num_rows().max(1))
        .sum();
    args.reserve(rows.len() * batch.num_columns(), rows.len() * (bytes + 16));
    for row in rows {
        for col in batch.columns() {
            bind_cell(&mut args, col.as_ref(), row);
        }
    }
    BoundArgs::MySql(args)
}

/// Binds the value of `col` at `row`. Encoding these types cannot fail.
fn bind_cell(args: &mut MySqlArguments, col: &dyn Array, row: usize) {
    let null = col.is_null(row);
    let added = match col.data_type() {
        DataType::Utf8 => args.add((!null).then(|| col.as_string::<i32>().value(row))),
        DataType::Int32 => args.add((!null).then(|| col.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => args.add((!null).then(|| col.as_primitive::<Int64Type>().value(row))),
        DataType::Boolean => args.add((!null).then(|| col.as_boolean().value(row))),
        DataType::Decimal128(_, scale) => args.add((!null).then(|| {
            let v = col.as_primitive::<Decimal128Type>().value(row);
            Decimal::from_i128_with_scale(v, *scale as u32)
        })),
        DataType::Date32 => args.add(
            (!null)
                .then(|| col.as_primitive::<Date32Type>().value_as_date(row))
                .flatten(),
        ),
        // DATETIME(6) holds UTC (the session time zone is +00:00), with or without a zone.
        DataType::Timestamp(..) => args.add((!null).then(|| {
            let micros = col.as_primitive::<TimestampMicrosecondType>().value(row);
            DateTime::from_timestamp_micros(micros)
                .unwrap_or_default()
                .naive_utc()
        })),
        DataType::Binary => args.add((!null).then(|| col.as_binary::<i32>().value(row))),
        // No generated column has another type; as in the literal form, it is NULL.
        _ => args.add(None::<&str>),
    };
    added.expect("values of these types always encode");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use sqlx::Arguments;

    use super::*;

    #[test]
    fn every_cell_of_the_bound_rows_is_one_parameter() {
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            (
                "name",
                Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])) as ArrayRef,
            ),
        ])
        .unwrap();
        // Rows 1 and 2 of 2 columns, a NULL among them: 4 parameters. Their order and values
        // are checked end to end (`volume_load.rs`), against the SQL script of the same rows.
        let BoundArgs::MySql(args) = bind_rows(&batch, 1..3);
        assert_eq!(args.len(), 4);
    }
}
