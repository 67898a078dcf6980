//! A masked copy between two databases that share a text bulk format (PostgreSQL to
//! PostgreSQL): rows are read with `COPY ... TO STDOUT` and written with `COPY ... FROM STDIN`
//! in the same text form, so a column the rules keep passes on as its bytes, never decoded or
//! re-encoded (as `pg_dump | pg_restore` copies it). Only the columns masking reads (those it
//! transforms, entity columns, the identity where a subset is kept, cycle keys) are parsed.

use atdm_core::Value;
use atdm_core::schema::{ColumnType, Table};
use futures::TryStreamExt;
use futures::stream::BoxStream;
use tokio::sync::mpsc;

use super::rows::{Input, TableMask, Work};
use super::target::{Piece, hold_late};
use crate::backend::{BulkLoad, DbResult, TextCopy};
use crate::error::Error;

/// A table's rows, as the source's text, masked into the target's text on the masking
/// thread.
pub(super) struct Raw {
    mask: TableMask,
    copy: TextCopy,
    bulk: BulkLoad,
    /// Per column: its type as read, if masking reads it.
    parsed: Vec<Option<ColumnType>>,
    /// The columns written (not the computed ones).
    written: Vec<usize>,
    /// The identity columns, and the cycle keys written last (NULL at first).
    id: Vec<usize>,
    late: Vec<usize>,
}

impl Raw {
    /// `types`: every column's type as read.
    pub(super) fn new(
        mask: TableMask,
        copy: TextCopy,
        bulk: BulkLoad,
        types: Vec<ColumnType>,
        written: Vec<usize>,
        id: Vec<usize>,
        late: Vec<usize>,
    ) -> Raw {
        let mut reads = mask.reads();
        if !late.is_empty() {
            for &c in id.iter().chain(&late) {
                reads[c] = true;
            }
        }
        let parsed = types
            .into_iter()
            .zip(reads)
            .map(|(ty, read)| read.then_some(ty))
            .collect();
        Raw {
            mask,
            copy,
            bulk,
            parsed,
            written,
            id,
            late,
        }
    }

    fn table(&self) -> &Table {
        self.mask.table()
    }

    /// Masks one row (`line`, without its newline) into `out`; returns whether the subset
    /// keeps it.
    fn row(
        &self,
        line: &str,
        fields: &mut Vec<usize>,
        entity: &mut Vec<Value>,
        out: &mut String,
        updates: &mut Vec<Vec<Value>>,
    ) -> Result<bool, Error> {
        let t = self.table();
        // The fields' starts; a field ends a byte before the next one starts. Escapes never
        // leave a tab or newline in a field.
        fields.clear();
        fields.push(0);
        fields.extend(line.match_indices('\t').map(|(i, _)| i + 1));
        if fields.len() != t.columns.len() {
            return Err(Error::MaskFailed {
                message: format!(
                    "table {}: the source sent a row of {} fields for {} columns",
                    t.name,
                    fields.len(),
                    t.columns.len()
                ),
            });
        }
        let field = |i: usize| {
            let end = fields.get(i + 1).map_or(line.len(), |&next| next - 1);
            &line[fields[i]..end]
        };
        let mut values = Vec::with_capacity(self.parsed.len());
        for (i, ty) in self.parsed.iter().enumerate() {
            values.push(match ty {
                Some(ty) => (self.copy.parse)(field(i), ty).map_err(|m| Error::MaskFailed {
                    message: format!("table {}, column {}: {m}", t.name, t.columns[i].name),
                })?,
                None => Value::Null,
            });
        }
        let Some(mut masked) = self.mask.mask_one(values, entity)? else {
            return Ok(false);
        };
        updates.extend(hold_late(&mut masked, &self.id, &self.late));
        for (k, &i) in self.written.iter().enumerate() {
            if k > 0 {
                out.push('\t');
            }
            if self.mask.keeps_column(i) && !self.late.contains(&i) {
                out.push_str(field(i));
            } else {
                (self.bulk.field)(out, &masked[i]);
            }
        }
        out.push('\n');
        Ok(true)
    }
}

impl Work for Raw {
    /// Whole rows of the source's text.
    type Chunk = Vec<u8>;
    type Piece = Piece;
    type Done = ();

    fn chunk(&mut self, bytes: Vec<u8>, out: &mpsc::Sender<Piece>) -> Result<bool, Error> {
        use rayon::prelude::*;
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::MaskFailed {
            message: format!(
                "table {}: the source sent text that is not UTF-8",
                self.table().name
            ),
        })?;
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        // Masked and encoded on every core, in order.
        let parts = lines
            .par_chunks(512)
            .map(|lines| {
                let mut data = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
                let (mut fields, mut entity, mut updates) = (Vec::new(), Vec::new(), Vec::new());
                let mut rows = 0u64;
                for line in lines {
                    if self.row(line, &mut fields, &mut entity, &mut data, &mut updates)? {
                        rows += 1;
                    }
                }
                Ok((data, rows, updates))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut piece = Piece {
            bytes: Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum()),
            rows: 0,
            updates: Vec::new(),
        };
        for (data, rows, updates) in parts {
            piece.bytes.extend_from_slice(data.as_bytes());
            piece.rows += rows;
            piece.updates.extend(updates);
        }
        Ok(piece.rows == 0 || out.blocking_send(piece).is_ok())
    }

    fn finish(self) -> Result<(), Error> {
        Ok(())
    }

    fn abandon(self) {}
}

/// Sends every piece of `rows` to `input`, then the end, unless the work stopped (its end
/// says why); returns the rows read.
pub(super) async fn feed(
    mut rows: BoxStream<'_, DbResult<Vec<u8>>>,
    input: Input<Vec<u8>>,
    ctx: &str,
) -> Result<u64, Error> {
    let mut read = 0u64;
    while let Some(piece) = rows.try_next().await.map_err(Error::db(ctx))? {
        read += piece.iter().filter(|&&b| b == b'\n').count() as u64;
        if input.send(Some(piece)).await.is_err() {
            return Ok(read);
        }
    }
    let _ = input.send(None).await;
    Ok(read)
}
