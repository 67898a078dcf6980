//! What a load's run owns: one claim per table, and the condition that finds its rows.

use atdm_core::Value;
use atdm_core::schema::ColumnType;
use serde::{Deserialize, Serialize};

/// Which rows of one table a load's run owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owned {
    /// The table.
    pub table: String,
    /// The column the claim is on.
    pub column: String,
    /// The rows' values of that column.
    #[serde(flatten)]
    pub values: OwnedValues,
    /// How many rows the load wrote.
    pub rows: u64,
}

/// The values of a claim's column that a run's rows have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OwnedValues {
    /// Every value from `from` to `to`, both included (identity keys).
    Range {
        /// The first key.
        from: i64,
        /// The last key.
        to: i64,
    },
    /// One value (the run-id column).
    Equals {
        /// The value.
        value: String,
    },
    /// Every value that starts with `prefix` (text keys that hold the run id).
    Prefix {
        /// The prefix.
        prefix: String,
    },
    /// The values the generator of `key` of `table` gives rows `0..rows` for the run with
    /// this seed and reference date (UUID and other generated keys): a reset recomputes them
    /// instead of reading a ledger row per row. `table` is the claimed table, or the table
    /// its claimed column references.
    Generated {
        /// The table whose key generator makes the values.
        key_table: String,
        /// That table's key column.
        key: String,
        /// The load's seed (decimal, as JSON cannot hold every 64-bit integer).
        seed: String,
        /// The load's reference date.
        reference_date: chrono::NaiveDate,
    },
}

impl Owned {
    /// `WHERE` condition and its parameters, numbered from `first`; for
    /// [`OwnedValues::Generated`], `keys` are the recomputed values (a chunk of them).
    pub(crate) fn condition(
        &self,
        quoted_column: &str,
        keys: (&[Value], &ColumnType),
        placeholder: &dyn Fn(usize) -> String,
        first: usize,
    ) -> (String, Vec<(Value, ColumnType)>) {
        match &self.values {
            OwnedValues::Generated { .. } => {
                let ps: Vec<String> = (0..keys.0.len()).map(|k| placeholder(first + k)).collect();
                (
                    format!("{quoted_column} IN ({})", ps.join(", ")),
                    keys.0.iter().map(|v| (v.clone(), keys.1.clone())).collect(),
                )
            }
            OwnedValues::Range { from, to } => (
                format!(
                    "{quoted_column} BETWEEN {} AND {}",
                    placeholder(first),
                    placeholder(first + 1)
                ),
                vec![
                    (Value::Int(*from), ColumnType::BigInt),
                    (Value::Int(*to), ColumnType::BigInt),
                ],
            ),
            OwnedValues::Equals { value } => (
                format!("{quoted_column} = {}", placeholder(first)),
                vec![(Value::Text(value.clone()), ColumnType::Text)],
            ),
            OwnedValues::Prefix { prefix } => {
                let escaped: String = prefix
                    .chars()
                    .flat_map(|c| match c {
                        '%' | '_' | '!' => vec!['!', c],
                        c => vec![c],
                    })
                    .collect();
                (
                    format!("{quoted_column} LIKE {} ESCAPE '!'", placeholder(first)),
                    vec![(Value::Text(format!("{escaped}%")), ColumnType::Text)],
                )
            }
        }
    }
}
