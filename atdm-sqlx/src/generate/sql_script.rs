//! SQL scripts: a table's rows as multi-row `INSERT` statements in one transaction, in one
//! database's spelling of literals (see [`Literals`]).

use std::io::{self, Write};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use atdm_core::schema::{Dialect, Generated, Table};

use super::encode::{insert, insert_head};
use crate::backend::{Literals, literals};

/// Rows per `INSERT` statement.
pub(crate) const ROWS_PER_INSERT: usize = 500;

/// A SQL script being written.
pub(crate) struct SqlScript<W: Write> {
    out: W,
    lits: &'static Literals,
    /// `INSERT INTO t (cols)[ OVERRIDING ...] VALUES`.
    head: String,
    /// What ends the script before `COMMIT;` (moving identity sequences).
    tail: Vec<String>,
    buf: String,
}

impl<W: Write> SqlScript<W> {
    /// Writes the script's start.
    pub(crate) fn start(
        mut out: W,
        dialect: Dialect,
        table: &Table,
        schema: &SchemaRef,
    ) -> io::Result<Self> {
        let lits = literals(dialect);
        let quoted = dialect.quote_table(table);
        let identity: Vec<&str> = table
            .columns
            .iter()
            .filter(|c| matches!(c.generated, Some(Generated::Identity)))
            .map(|c| c.name.as_str())
            .collect();
        let head = insert_head(dialect, table, schema, lits.override_identity);
        let tail = match lits.after_identity {
            Some(f) => identity.iter().map(|c| f(&quoted, c)).collect(),
            None => Vec::new(),
        };
        writeln!(
            out,
            "-- {} rows of {}, written by atdm generate (ATDM {})\n{}",
            dialect.as_str(),
            table.name,
            env!("CARGO_PKG_VERSION"),
            lits.begin
        )?;
        Ok(SqlScript {
            out,
            lits,
            head,
            tail,
            buf: String::with_capacity(1 << 16),
        })
    }

    /// Appends a batch's rows.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        for start in (0..batch.num_rows()).step_by(ROWS_PER_INSERT) {
            let end = (start + ROWS_PER_INSERT).min(batch.num_rows());
            self.buf.clear();
            insert(&mut self.buf, &self.head, self.lits, batch, start..end);
            self.buf.push_str(";\n");
            self.out.write_all(self.buf.as_bytes())?;
        }
        Ok(())
    }

    /// Ends the transaction and gives back the output.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        for statement in &self.tail {
            writeln!(self.out, "{statement}")?;
        }
        writeln!(self.out, "COMMIT;")?;
        self.out.flush()?;
        Ok(self.out)
    }
}
