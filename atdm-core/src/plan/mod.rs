//! The planner: scenario + constraints + run context -> [`Plan`], every row of every table in
//! foreign-key order, every column valued.
//!
//! A scenario is compiled against the schema once, then planned for each run.
//!
//! ## A child is not dated before its parent
//!
//! When a row references a row of the same plan through a foreign key (a link the planner
//! made, or an `"@alias"` of the scenario), its *generated* date and timestamp columns that
//! fall before the latest date of the parent rows are moved to that date or up to 30 days
//! after it (never past the end of the reference date unless the parent's date already is).
//! A payment is not made before the rental it pays for, nor a rental before its customer was
//! created. The parent's latest date leaves out birth dates (`date_of_birth`, `dob`) and ends
//! of windows or deadlines (`effective_to`, `valid_until`, `expires_at`, `end_date`,
//! `due_date`); a child's birth dates and the values a scenario set are never moved. Checks
//! win: a move that would break the column's own range check is not made, and comparisons
//! between the child's columns (`shipped_at >= placed_at`) are made to hold afterwards. A day
//! is enough for a date: a child date on the parent timestamp's day is not before it.

mod compile;
mod dates;
mod edges;
mod explain;
mod run;
mod stream;
mod window;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::generate::GENERATOR_VERSION;
use crate::schema::Schema;
use crate::value::Value;

pub(crate) use compile::CompiledScenario;
pub use edges::PlannedEdge;
pub use explain::Source;
pub use stream::{MAX_STREAM_ROWS, STREAM_BATCH, STREAM_ROWS, Stream, Streamer, ValidatedBatch};

/// The seed of a run, derived from its run id: the first eight bytes of SHA-256 of the run
/// id's UTF-8 bytes, read as a big-endian unsigned integer. Stable across processes,
/// machines and front ends.
pub fn seed_from_run_id(run_id: &str) -> u64 {
    let digest = Sha256::digest(run_id.as_bytes());
    u64::from_be_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes"),
    )
}

/// What a plan depends on besides the scenario and constraints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
    /// The run id (a ULID in the engine).
    pub run_id: String,
    /// The seed; [`RunContext::new`] derives it from the run id.
    pub seed: u64,
    /// "Today" for the run; never read from a clock in the core.
    pub reference_date: NaiveDate,
    /// The generator version to plan with; only [`GENERATOR_VERSION`] is supported.
    pub generator_version: u32,
}

impl RunContext {
    /// A context whose seed derives from the run id ([`seed_from_run_id`]).
    pub fn new(run_id: impl Into<String>, reference_date: NaiveDate) -> Self {
        let run_id = run_id.into();
        RunContext {
            seed: seed_from_run_id(&run_id),
            run_id,
            reference_date,
            generator_version: GENERATOR_VERSION,
        }
    }

    /// The same context with an explicit seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Rows that exist before a run, by table: a pack's reference rows, or candidate keys the
/// engine read from the database. Scenarios point at them with `{ existing = "table" }`, and
/// the foreign-key validator accepts references to them.
pub type ExistingRows = BTreeMap<String, Vec<BTreeMap<String, Value>>>;

/// One planned cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// A value.
    Value(Value),
    /// The database assigns the value (identity keys, database defaults, computed columns).
    Default,
    /// The value the database assigns to another planned cell (a foreign key to an identity
    /// key); the engine fills it in after inserting the referenced row. Boxed, so that a
    /// cell is the size of a [`Value`] (32 bytes, not 56): a plan holds one per planned
    /// row and column.
    Ref(Box<CellRef>),
    /// The key the database assigns to a row of a streamed entry (a foreign key to an
    /// identity key): only rows of another streamed entry hold one, and the engine fills it
    /// in from the keys it drew for that entry's batches.
    Streamed(Box<StreamedRef>),
}

// A plan holds a cell per planned row and column: a cell is no larger than a value.
const _: () = assert!(std::mem::size_of::<Cell>() == std::mem::size_of::<Value>());

/// A planned cell, by table, row index within the table's plan, and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellRef {
    /// The table.
    pub table: String,
    /// The row's index within the table's plan.
    pub row: usize,
    /// The column.
    pub column: String,
}

/// A cell of a streamed row (see [`Stream`]): by stream, row among the stream's rows, and
/// column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StreamedRef {
    /// The stream: an index into [`Plan::streams`].
    pub stream: usize,
    /// The row's index among the stream's rows (the entry's row [`Stream::held`] is 0).
    pub row: u64,
    /// The column.
    pub column: String,
}

/// The planned rows of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablePlan {
    /// The table.
    pub table: Arc<str>,
    /// The columns written, in table order (computed columns are left out).
    pub columns: Arc<[String]>,
    /// The alias of each row's `[[rows]]` entry.
    pub aliases: Vec<Arc<str>>,
    /// The rows, each a cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// Where each cell's value came from, row by row, when the plan was made to be explained
    /// ([`Pack::explain`](crate::Pack::explain)); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<Vec<Source>>>,
}

/// The rows of one `[[rows]]` entry, for the result's entity keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The alias.
    pub alias: Arc<str>,
    /// The name in the result.
    pub output: Arc<str>,
    /// The table.
    pub table: Arc<str>,
    /// Row indexes within the table's plan.
    pub rows: Vec<usize>,
    /// Whether the entry seeds exactly one row (its key is a value, not a list).
    pub single: bool,
}

/// The most cells (rows times columns) one plan holds: 20 million, about 2 GB of planned
/// values. A request beyond it fails with [`Error::Plan`](crate::Error::Plan) before anything
/// is allocated, whatever its count knobs say.
pub const MAX_PLAN_CELLS: u64 = 20_000_000;

/// A plan: every row to write, in foreign-key order.
///
/// Serialized as JSON it is byte-identical for identical inputs, in any process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The scenario id.
    pub scenario: String,
    /// The run id.
    pub run_id: String,
    /// The seed.
    pub seed: u64,
    /// The reference date.
    pub reference_date: NaiveDate,
    /// The generator version.
    pub generator_version: u32,
    /// The schema name.
    pub schema: String,
    /// The schema version.
    pub schema_version: String,
    /// Every knob's resolved value (caller constraints merged over defaults).
    pub constraints: BTreeMap<String, Value>,
    /// The tables with rows, in insert order.
    pub tables: Vec<TablePlan>,
    /// The rows of each `[[rows]]` entry.
    pub entities: Vec<Entity>,
    /// The rows that hold edge cases, after the scenario's own rows of their tables (see
    /// [`Pack::validate_with_edge_cases`](crate::Pack::validate_with_edge_cases)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edge_rows: Vec<PlannedEdge>,
    /// The entries whose rows are made a batch at a time, not held here
    /// ([`Pack::plan_streaming`](crate::Pack::plan_streaming)); their entities have no rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<Stream>,
}

/// A read-only view of one planned row.
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    table: &'a TablePlan,
    index: usize,
}

impl<'a> RowView<'a> {
    /// The table name.
    pub fn table(&self) -> &'a str {
        &self.table.table
    }

    /// The row's index within its table's plan.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The alias of the row's `[[rows]]` entry.
    pub fn alias(&self) -> &'a str {
        &self.table.aliases[self.index]
    }

    /// The cell of a column.
    pub fn cell(&self, column: &str) -> Option<&'a Cell> {
        let i = self.table.columns.iter().position(|c| c == column)?;
        Some(&self.table.rows[self.index][i])
    }

    /// Where the value of a column came from, in a plan made to be explained.
    pub fn source(&self, column: &str) -> Option<&'a Source> {
        let i = self.table.columns.iter().position(|c| c == column)?;
        Some(&self.table.sources.as_ref()?[self.index][i])
    }

    /// The value of a column; `None` for an unknown column or a cell the database assigns.
    pub fn get(&self, column: &str) -> Option<&'a Value> {
        match self.cell(column)? {
            Cell::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The value of a text column.
    pub fn text(&self, column: &str) -> Option<&'a str> {
        self.get(column).and_then(Value::as_str)
    }
}

impl Plan {
    /// The plan as JSON (stable: same plan, same bytes).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a plan always serializes")
    }

    /// The plan of a table, if it has rows.
    pub fn table(&self, name: &str) -> Option<&TablePlan> {
        self.tables.iter().find(|t| &*t.table == name)
    }

    /// The planned rows of a table.
    pub fn rows<'a>(&'a self, table: &str) -> impl Iterator<Item = RowView<'a>> + 'a {
        let t = self.table(table);
        t.into_iter()
            .flat_map(|t| (0..t.rows.len()).map(move |index| RowView { table: t, index }))
    }

    /// The first row of a `[[rows]]` alias.
    pub fn row(&self, alias: &str) -> Option<RowView<'_>> {
        let e = self.entities.iter().find(|e| &*e.alias == alias)?;
        let t = self.table(&e.table)?;
        e.rows.first().map(|&index| RowView { table: t, index })
    }

    /// The number of planned rows (streamed rows not included: see
    /// [`Plan::streamed_rows`]).
    pub fn row_count(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }

    /// The number of rows of the streamed entries that are streamed (not held in the plan).
    pub fn streamed_rows(&self) -> u64 {
        self.streams.iter().map(|s| s.rows).sum()
    }

    /// The keys of the seeded entities, by output name: a row's primary key value (an object
    /// for composite keys; a list for entries with several rows). `assigned` supplies values
    /// the database assigned (identity keys) once they are known. A streamed entry gives
    /// `{"table": ..., "rows": n}` instead of its keys.
    pub fn entity_keys(
        &self,
        schema: &Schema,
        assigned: &dyn Fn(&CellRef) -> Option<Value>,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        for (ei, e) in self.entities.iter().enumerate() {
            if let Some(s) = self.streams.iter().find(|s| s.entry == ei) {
                out.insert(
                    e.output.to_string(),
                    serde_json::json!({ "table": &*s.table, "rows": s.held + s.rows }),
                );
                continue;
            }
            let (Some(tp), Some(t)) = (self.table(&e.table), schema.table(&e.table)) else {
                continue;
            };
            let key_of = |row: usize| -> serde_json::Value {
                let value = |col: &str| -> serde_json::Value {
                    let i = tp.columns.iter().position(|c| c == col);
                    match i.map(|i| &tp.rows[row][i]) {
                        Some(Cell::Value(v)) => v.to_json(),
                        Some(Cell::Ref(r)) => assigned(r).map(|v| v.to_json()).unwrap_or_default(),
                        _ => assigned(&CellRef {
                            table: e.table.to_string(),
                            row,
                            column: col.into(),
                        })
                        .map(|v| v.to_json())
                        .unwrap_or_default(),
                    }
                };
                match t.primary_key.as_slice() {
                    [one] => value(one),
                    many => serde_json::Value::Object(
                        many.iter().map(|c| (c.clone(), value(c))).collect(),
                    ),
                }
            };
            if e.single && e.rows.is_empty() {
                continue; // a conditional row that was not seeded
            }
            let v = if e.single && e.rows.len() == 1 {
                key_of(e.rows[0])
            } else {
                serde_json::Value::Array(e.rows.iter().map(|&r| key_of(r)).collect())
            };
            out.insert(e.output.to_string(), v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_a_documented_stable_hash() {
        // SHA-256("01J0000000000000000000000A")[..8], big-endian.
        let expected = {
            let d = Sha256::digest(b"01J0000000000000000000000A");
            u64::from_be_bytes(d[..8].try_into().unwrap())
        };
        assert_eq!(seed_from_run_id("01J0000000000000000000000A"), expected);
        assert_eq!(seed_from_run_id("abc"), 0xba78_16bf_8f01_cfea);
    }
}
