//! SQL scripts: a table's rows as multi-row `INSERT` statements in one transaction, in one
//! database's spelling of literals (see [`Literals`]).

use std::fmt::Write as _;
use std::io::{self, Write};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use atdm_core::schema::{Dialect, Generated, Table};
use chrono::{DateTime, NaiveDate};

use crate::backend::{Literals, literals};

/// Rows per `INSERT` statement.
const ROWS_PER_INSERT: usize = 500;

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
        let columns: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| dialect.quote(f.name()))
            .collect();
        let identity: Vec<&str> = table
            .columns
            .iter()
            .filter(|c| matches!(c.generated, Some(Generated::Identity)))
            .map(|c| c.name.as_str())
            .collect();
        let head = format!(
            "INSERT INTO {quoted} ({}){} VALUES\n",
            columns.join(", "),
            if identity.is_empty() {
                ""
            } else {
                lits.override_identity
            }
        );
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
        let columns = batch.columns();
        for start in (0..batch.num_rows()).step_by(ROWS_PER_INSERT) {
            let end = (start + ROWS_PER_INSERT).min(batch.num_rows());
            self.buf.clear();
            self.buf.push_str(&self.head);
            for row in start..end {
                self.buf.push('(');
                for (i, col) in columns.iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(", ");
                    }
                    literal(&mut self.buf, self.lits, col.as_ref(), row);
                }
                self.buf
                    .push_str(if row + 1 == end { ");\n" } else { "),\n" });
            }
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

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");

/// Appends the value of `col` at `row` as a literal.
fn literal(out: &mut String, lits: &Literals, col: &dyn Array, row: usize) {
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
        DataType::Date32 => {
            let d = EPOCH
                + chrono::Duration::days(i64::from(col.as_primitive::<Date32Type>().value(row)));
            let _ = write!(out, "'{}'", d.format("%Y-%m-%d"));
        }
        DataType::Timestamp(_, tz) => {
            let micros = col.as_primitive::<TimestampMicrosecondType>().value(row);
            let t = DateTime::from_timestamp_micros(micros).unwrap_or_default();
            let suffix = if tz.is_some() { lits.utc_suffix } else { "" };
            let _ = write!(
                out,
                "'{}{suffix}'",
                t.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f")
            );
        }
        DataType::Binary => (lits.bytes)(out, col.as_binary::<i32>().value(row)),
        other => unreachable!("generated batches hold no {other} columns"),
    }
}
