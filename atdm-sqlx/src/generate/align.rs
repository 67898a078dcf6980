//! Cuts the batches a file writer is given on a fixed grid of rows, so the file does not
//! depend on where the batches began and ended (the batch size, the thread count).
//!
//! Parquet's writer encodes each call's rows in mini-batches of
//! [`GRID`](PARQUET_GRID) counted from the start of the call, and decides page and dictionary
//! boundaries after each; a SQL script starts a new `INSERT` every few hundred rows of a call.
//! Fed through an [`Aligner`], every call starts on a grid point (counted from the start of
//! the file, or of the Parquet row group), so the bytes depend only on the rows.

use arrow_array::RecordBatch;
use arrow_select::concat::concat_batches;

/// Parquet's mini-batch (`WriterProperties::write_batch_size`), set explicitly.
pub(crate) const PARQUET_GRID: usize = 1024;

/// Holds back the rows after the last grid point until the next batch completes them.
pub(crate) struct Aligner {
    grid: usize,
    /// Rows per group (a Parquet row group, which the writer closes itself); the grid starts
    /// again at each group. `usize::MAX` for none.
    group: usize,
    /// Rows written in the current group: always a multiple of `grid`, or a group's end.
    at: usize,
    pending: Option<RecordBatch>,
}

impl Aligner {
    /// An aligner on a grid of `grid` rows, restarting every `group` rows.
    pub(crate) fn new(grid: usize, group: usize) -> Self {
        Aligner {
            grid: grid.max(1),
            group: group.max(1),
            at: 0,
            pending: None,
        }
    }

    /// Takes `batch`; calls `emit` with every run of rows that now ends on a grid point.
    pub(crate) fn feed<E>(
        &mut self,
        batch: &RecordBatch,
        mut emit: impl FnMut(&RecordBatch) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = batch.clone();
        if let Some(pending) = self.pending.take() {
            // Complete the pending piece up to the next grid point (or the group's end) with
            // the first rows of `rest`: a copy of at most a grid's rows.
            let to_point = self.grid.min(self.group - self.at) - pending.num_rows();
            let take = to_point.min(rest.num_rows());
            let head = concat_batches(&rest.schema(), [&pending, &rest.slice(0, take)])
                .expect("batches of one schema");
            rest = rest.slice(take, rest.num_rows() - take);
            if take < to_point {
                self.pending = Some(head);
                return Ok(());
            }
            self.emitted(head.num_rows());
            emit(&head)?;
        }
        let n = rest.num_rows();
        let end = (self.at + n) % self.group;
        let held = (end % self.grid).min(n);
        if n > held {
            self.emitted(n - held);
            emit(&rest.slice(0, n - held))?;
        }
        if held > 0 {
            self.pending = Some(rest.slice(n - held, held));
        }
        Ok(())
    }

    /// The rows held back, at the end of the file.
    pub(crate) fn finish(&mut self) -> Option<RecordBatch> {
        self.pending.take()
    }

    fn emitted(&mut self, rows: usize) {
        self.at = (self.at + rows) % self.group;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, Int64Array};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(rows: std::ops::Range<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(rows))]).unwrap()
    }

    /// The calls a writer gets for `total` rows fed in batches of `size`: (first row, rows).
    fn calls(total: i64, size: i64, grid: usize, group: usize) -> Vec<(i64, usize)> {
        let mut a = Aligner::new(grid, group);
        let mut out = Vec::new();
        let mut record = |b: &RecordBatch| -> Result<(), ()> {
            let x = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            assert!(x.values().windows(2).all(|w| w[1] == w[0] + 1));
            out.push((x.value(0), x.len()));
            Ok(())
        };
        for s in (0..total).step_by(size as usize) {
            a.feed(&batch(s..(s + size).min(total)), &mut record)
                .unwrap();
        }
        if let Some(last) = a.finish() {
            record(&last).unwrap();
        }
        out
    }

    #[test]
    fn every_call_starts_on_the_grid_whatever_the_batches() {
        for (grid, group) in [(1024, 40_000), (500, usize::MAX), (1024, 1000), (7, 30)] {
            for size in [1, 3, 700, 1024, 4096, 16_384, 100_000] {
                let c = calls(100_000, size, grid, group);
                // The calls cover every row once, in order.
                let mut next = 0;
                for &(first, len) in &c {
                    assert_eq!(first, next, "{grid} {group} {size}");
                    next += len as i64;
                    // Each call starts on a grid point of its group.
                    let in_group = if group == usize::MAX {
                        first as usize
                    } else {
                        first as usize % group
                    };
                    assert_eq!(in_group % grid, 0, "{grid} {group} {size}: {first}");
                }
                assert_eq!(next, 100_000);
            }
        }
    }
}
