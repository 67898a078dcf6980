//! The bulk paths a backend may offer: loading rows as delimited text (`COPY ... FROM
//! STDIN`) or as the bound parameters of prepared multi-row `INSERT` statements, reading them
//! as text (`COPY ... TO STDOUT`), and sharing one snapshot between connections.

use std::ops::Range;

use arrow_array::RecordBatch;
use atdm_core::Value;
use atdm_core::schema::ColumnType;

/// A database's bulk path: a statement that starts a load, fed through [`Conn::copy_in`](super::Conn::copy_in) with
/// rows as delimited text (values separated by tabs, rows ended by newlines, as PostgreSQL's
/// `COPY` text format and MySQL's `LOAD DATA` read them), each value in the database's form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BulkLoad {
    /// The statement that loads into a table (quoted) with these columns (quoted).
    pub(crate) statement: fn(&str, &[String]) -> String,
    /// Appends one value.
    pub(crate) field: fn(&mut String, &Value),
    /// Appends the value of an Arrow column at a row (a generated batch's).
    pub(crate) cell: fn(&mut String, &dyn arrow_array::Array, usize),
}

impl BulkLoad {
    /// Appends one row.
    pub(crate) fn row<'a>(&self, out: &mut String, values: impl IntoIterator<Item = &'a Value>) {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                out.push('\t');
            }
            (self.field)(out, v);
        }
        out.push('\n');
    }
}

/// A database's path for loading generated rows without `COPY`: prepared multi-row `INSERT`
/// statements whose values are bound parameters. The server then parses each statement once,
/// not every value of every row: MariaDB spent a third of a million-row load in its parser
/// with literal values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BoundInsert {
    /// About the parameters of one statement: a statement has this many divided by the
    /// columns, at least one row (within the protocol's limit, however wide the table).
    pub(crate) params: usize,
    /// Binds rows `rows` of a generated batch, a parameter per column per row, in order.
    pub(crate) bind: fn(&RecordBatch, Range<usize>) -> BoundArgs,
}

/// The bound parameters of one statement of a [`BoundInsert`], made off the connection's task
/// and run by [`Conn::execute_bound`](super::Conn::execute_bound).
#[derive(Debug)]
pub(crate) enum BoundArgs {
    /// MySQL's and MariaDB's binary protocol.
    MySql(sqlx::mysql::MySqlArguments),
}

/// A database's bulk read path: rows as delimited text, in the form [`BulkLoad`] writes them
/// (PostgreSQL's `COPY` text format), read through [`Conn::copy_out`](super::Conn::copy_out).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextCopy {
    /// Statements that fix the session's text forms to the ones [`TextCopy::parse`] reads
    /// (ISO dates, UTC times, hex bytes), run in the read transaction first.
    pub(crate) setup: &'static str,
    /// The statement that reads these columns (quoted) of a table (quoted).
    pub(crate) statement: fn(&str, &[String]) -> String,
    /// One field of a row as read (escaped, as it is between the separators) made into a
    /// value of the type; the message never holds the value.
    pub(crate) parse: fn(&str, &ColumnType) -> Result<Value, String>,
}

/// How read transactions on several connections see the same data (PostgreSQL's exported
/// snapshots, as `pg_dump --jobs` reads).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SnapshotExport {
    /// The query, run in a snapshot transaction, that returns its snapshot's name.
    pub(crate) export: &'static str,
    /// The statement that makes a new snapshot transaction (its first statement) read that
    /// snapshot; `None` for a name that is not one the database gives.
    pub(crate) import: fn(&str) -> Option<String>,
}
