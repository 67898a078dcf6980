//! Whether a nullable column left open gets a value in a row.
//!
//! A nullable column is filled in a share of rows, its *fill rate*: the column's own
//! `fill_rate`, else its table's, else the schema's (a schema-wide setting is a default for
//! every table), else [`DEFAULT_FILL_RATE`] (0.8: four rows in five have a value). A rate of 0
//! keeps the column NULL, 1 always fills it. A nullable column that an implication requires
//! (`status = 'shipped' implies shipped_at is not null`) defaults to 0 instead: its presence is
//! tied to the condition, so it gets a value exactly when the condition needs one, unless a
//! rate is set for it.
//!
//! The decision for a cell is a pure function of `(seed, table, row, column)`: its own random
//! stream, keyed by the column name and a fixed salt, draws a number below one million and
//! compares it with the rate in millionths.

use super::name_hash;
use super::rng::RowKey;
use crate::schema::{Check, Column, Table};

/// The share of rows in which a nullable column left open gets a value, when neither the
/// column, its table nor the schema sets one.
pub const DEFAULT_FILL_RATE: f64 = 0.8;

const FILL_SALT: u64 = name_hash("atdm.fill");

/// The fill rate of a column of `table`: `None` for a NOT NULL column, else the most specific
/// setting (column, then table and schema), else the default (see the module docs).
pub fn fill_rate(table: &Table, column: &Column) -> Option<f64> {
    if !column.nullable {
        return None;
    }
    Some(column.fill_rate.or(table.fill_rate).unwrap_or_else(|| {
        if required_by_implication(table, &column.name) {
            0.0
        } else {
            DEFAULT_FILL_RATE
        }
    }))
}

/// Whether an implication of `table` may require `column` to hold a value
/// (`... implies column is not null`).
fn required_by_implication(table: &Table, column: &str) -> bool {
    table.checks.iter().any(|c| {
        matches!(c, Check::Implies { then, .. }
            if matches!(then.as_ref(), Check::Null { column: c, negated: true } if c == column))
    })
}

/// A rate in millionths.
pub(crate) fn millionths(rate: f64) -> u32 {
    (rate.clamp(0.0, 1.0) * 1_000_000.0).round() as u32
}

/// Whether the cell (`seed`, table, `row`, column) is filled at `rate` millionths.
pub(crate) fn fills(seed: u64, table_hash: u64, row: u64, column_hash: u64, rate: u32) -> bool {
    fills_at(RowKey::new(seed, table_hash, row), column_hash, rate)
}

/// [`fills`] of the row whose key is `key`.
#[inline]
pub(crate) fn fills_at(key: RowKey, column_hash: u64, rate: u32) -> bool {
    match rate {
        0 => false,
        1_000_000.. => true,
        _ => key.cell(column_hash ^ FILL_SALT).below(1_000_000) < u64::from(rate),
    }
}
