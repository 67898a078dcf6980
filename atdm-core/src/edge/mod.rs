//! Edge cases: the boundary values of every column, derived from the schema (type, length,
//! precision, nullability, checks, uniques, foreign keys), each **valid** (the database must
//! accept it), **invalid** (the database or the application should reject it) or
//! **dangerous** (an attack payload the database stores, produced only when asked for).
//!
//! [`edge_cases`] lists them for a table. Valid classes become extra rows of a generated
//! dataset ([`DatasetOptions::edge_cases`](crate::generate::DatasetOptions::edge_cases));
//! invalid ones are negative-test fixtures, each saying why it should be rejected and which
//! databases reject it themselves ([`EdgeCase::rejected_by`]; empty means only the
//! application can).
//!
//! Identities and the run-id column (which marks the run a row belongs to) get no class.
//! Other key columns (primary keys, foreign keys and the columns they reference, columns of
//! composite uniques) get no valid class but NULL where nullable: their values are the rows'
//! identity. A unique column gets text classes only
//! (distinct, also where the database compares text without case or trailing spaces), so
//! they never collide with each other or with generated values.

mod classes;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::schema::{Dialect, Schema, Table};
use crate::value::Value;

/// Whether a database should take an edge value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// The database must accept it.
    Valid,
    /// The database or the application should reject it.
    Invalid,
    /// An attack payload (SQL injection, markup, path traversal, format strings, a NUL byte)
    /// that a text column stores: produced only when the caller allows it.
    Dangerous,
}

/// One edge case of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeCase {
    /// The table.
    pub table: String,
    /// The column it is about.
    pub column: String,
    /// The class (`text.max_length`, `number.above_max`, `date.leap_day`, `null`, ...).
    pub class: String,
    /// Valid, invalid or dangerous.
    pub validity: Validity,
    /// The values it sets, by column: the column's first; a comparison between columns sets
    /// both.
    pub cells: Vec<(String, Value)>,
    /// What it exercises, or why it should be rejected.
    pub why: String,
    /// For an invalid or dangerous value: the databases that reject it themselves (the
    /// others store it, so the application must reject it).
    pub rejected_by: Vec<Dialect>,
    /// The value is another row's (a duplicate of a unique column): `cells` is empty, and
    /// the value must be copied from an existing row.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

/// Every database.
pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

/// The edge cases of every column of `table`, in column order; dates relative to
/// `reference_date`. Pure: the same schema and date give the same list.
pub fn edge_cases(schema: &Schema, table: &Table, reference_date: NaiveDate) -> Vec<EdgeCase> {
    let mut out = Vec::new();
    for c in &table.columns {
        out.extend(classes::column(schema, table, c, reference_date));
    }
    out.extend(classes::between_columns(table, reference_date));
    out
}

/// The invalid classes of the columns of `tables`: the negative-test fixtures a run with
/// edge cases delivers (values the database or the application should reject; never rows).
pub fn negative_fixtures<'a>(
    schema: &Schema,
    tables: impl IntoIterator<Item = &'a str>,
    reference_date: NaiveDate,
) -> Vec<EdgeCase> {
    tables
        .into_iter()
        .filter_map(|t| schema.table(t))
        .flat_map(|t| edge_cases(schema, t, reference_date))
        .filter(|c| c.validity == Validity::Invalid)
        .collect()
}

/// `table.column class`, as the audit records a delivered fixture.
pub fn case_key(case: &EdgeCase) -> String {
    format!("{}.{} {}", case.table, case.column, case.class)
}

/// The distinct class names of `cases`, for coverage.
pub fn class_names(cases: &[EdgeCase]) -> Vec<String> {
    let mut names: Vec<String> = cases.iter().map(|c| c.class.clone()).collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests;
