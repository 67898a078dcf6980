//! Writing the streamed entries of a plan (see [`atdm_core::plan::Streamer`]) in the seed's
//! transaction, after the planned rows.
//!
//! A thread of its own makes and validates the batches while the database takes the
//! previous ones; two are in flight at most, so memory stays flat whatever the count. Each
//! batch is written like a table of planned rows. The run owns the rows as a load owns its
//! own ([`Owned`]): where the table's key is an integer the database would assign, the keys
//! are drawn in advance, and the run's ledger holds their ranges (one row per contiguous
//! range, so a reset deletes them by range, in about the time of a bulk delete); other rows
//! each get a ledger row, as planned rows do.

use std::collections::{BTreeMap, HashMap};

use atdm_core::plan::{STREAM_BATCH, Streamer, TablePlan, ValidatedBatch};
use atdm_core::schema::Table;
use atdm_core::{Cell, CellRef, ExistingRows, StreamedRef, ValidatedPlan, Value};

use super::Engine;
use super::cycle::refused;
use super::load::{Owned, OwnedValues};
use super::seed::ledger_keys;
use crate::backend::{DbResult, Tx};
use crate::error::Error;

impl Engine {
    /// Writes every batch of every streamed entry of `validated`, with its ledger rows
    /// (numbered from `first_seq`), and adds the rows written to `rows`. `planned` are the
    /// values the database assigned to the planned rows, which streamed rows may reference.
    /// The inner error is a batch the gate refused or could not make: nothing may commit.
    pub(super) async fn write_streams(
        &self,
        tx: &mut Tx,
        validated: &ValidatedPlan,
        existing: &ExistingRows,
        planned: &HashMap<CellRef, Value>,
        first_seq: u64,
        rows: &mut BTreeMap<String, u64>,
    ) -> DbResult<Result<(), Error>> {
        if validated.plan().streams.is_empty() {
            return Ok(Ok(()));
        }
        let (send, mut receive) = tokio::sync::mpsc::channel(2);
        let mut streamer = Streamer::new(self.pack(), validated, existing);
        let producer = std::thread::Builder::new()
            .name("atdm-stream".into())
            .spawn(move || {
                for s in 0..streamer.streams().len() {
                    let total = streamer.streams()[s].rows;
                    let mut from = 0;
                    while from < total {
                        let batch = streamer.batch(s, from..from + STREAM_BATCH);
                        let stop = batch.is_err();
                        // A closed channel: the writer stopped; so does the producer.
                        if send.blocking_send(batch).is_err() || stop {
                            return;
                        }
                        from += STREAM_BATCH;
                    }
                }
            })
            .map_err(sqlx::Error::Io)?;
        let run_id = &validated.plan().run_id;
        let mut seq = first_seq;
        let mut claims: Vec<Owned> = Vec::new();
        let mut drawn = Drawn::default();
        let mut outcome = Ok(Ok(()));
        while let Some(batch) = receive.recv().await {
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    outcome = Ok(Err(Error::Core(e)));
                    break;
                }
            };
            match self
                .write_batch(
                    tx,
                    &batch,
                    planned,
                    run_id,
                    &mut seq,
                    &mut claims,
                    &mut drawn,
                )
                .await
            {
                Ok(n) => {
                    *rows.entry(batch.rows().table.to_string()).or_insert(0) += n;
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        // The producer stops at its next send; wait for it off the async threads.
        drop(receive);
        let joined = tokio::task::spawn_blocking(move || producer.join().is_ok())
            .await
            .unwrap_or(false);
        if !joined && matches!(outcome, Ok(Ok(()))) {
            outcome = Ok(Err(Error::SeedFailed {
                run_id: run_id.clone(),
                scenario: validated.plan().scenario.clone(),
                message:
                    "the thread making the streamed rows stopped unexpectedly; nothing was written"
                        .into(),
            }));
        }
        if matches!(outcome, Ok(Ok(()))) && !claims.is_empty() {
            let ledger = claims
                .iter()
                .map(|c| (c.table.clone(), serde_json::to_string(c).expect("JSON")))
                .collect();
            self.write_ledger(tx, run_id, ledger, seq).await?;
        }
        outcome
    }

    /// Writes one validated batch: its rows, and either their ledger rows (numbered from
    /// `seq`, which moves on) or their drawn keys added to `claims` and `drawn`. Returns how
    /// many rows it wrote.
    #[allow(clippy::too_many_arguments)] // the batch, where it goes, and what it adds to
    async fn write_batch(
        &self,
        tx: &mut Tx,
        batch: &ValidatedBatch,
        planned: &HashMap<CellRef, Value>,
        run_id: &str,
        seq: &mut u64,
        claims: &mut Vec<Owned>,
        drawn: &mut Drawn,
    ) -> DbResult<u64> {
        let t = self
            .schema()
            .table(&batch.rows().table)
            .expect("plans use the pack's schema");
        let tp = resolved(t, batch.rows(), planned, drawn)?;
        let mut assigned = HashMap::new();
        // Integer keys are drawn, so the rows go out in bulk and the ledger knows them
        // without reading each row back.
        let int_key = match t.primary_key.as_slice() {
            [k] => t.get_column(k).is_some_and(|c| c.ty.int_range().is_some()),
            _ => false,
        };
        self.draw_keys(tx, t, &tp, &mut assigned, int_key).await?;
        self.write_planned(tx, t, &tp, &mut assigned).await?;
        let keys: Option<Vec<i64>> = match t.primary_key.as_slice() {
            [k] if int_key => (0..tp.rows.len())
                .map(|ri| {
                    match assigned.get(&CellRef {
                        table: tp.table.to_string(),
                        row: ri,
                        column: k.clone(),
                    }) {
                        Some(Value::Int(v)) => Some(*v),
                        _ => None,
                    }
                })
                .collect(),
            _ => None,
        };
        match keys {
            Some(keys) => {
                claim_ranges(claims, &t.name, &t.primary_key[0], &keys);
                drawn.add(batch.stream(), batch.first(), &keys);
            }
            None => {
                let ledger = ledger_keys(t, &tp, &assigned);
                let n = ledger.len() as u64;
                self.write_ledger(tx, run_id, ledger, *seq).await?;
                *seq += n;
            }
        }
        Ok(tp.rows.len() as u64)
    }
}

/// Adds drawn `keys` of `table.column` to `claims`: a claim per contiguous range, the last
/// one extended where the keys continue it.
fn claim_ranges(claims: &mut Vec<Owned>, table: &str, column: &str, keys: &[i64]) {
    for &k in keys {
        if let Some(Owned {
            table: t,
            column: c,
            values: OwnedValues::Range { to, .. },
            rows,
        }) = claims.last_mut()
            && t == table
            && c == column
            && to.checked_add(1) == Some(k)
        {
            *to = k;
            *rows += 1;
            continue;
        }
        claims.push(Owned {
            table: table.to_owned(),
            column: column.to_owned(),
            values: OwnedValues::Range { from: k, to: k },
            rows: 1,
        });
    }
}

/// The integer keys drawn for the rows of each stream written so far, as ranges.
#[derive(Default)]
struct Drawn {
    /// Per stream: (first row among the stream's rows, its key, rows) of each range of
    /// consecutive keys, in row order.
    ranges: Vec<Vec<(u64, i64, u64)>>,
}

impl Drawn {
    /// Adds `keys`, drawn for the rows of `stream` from its row `first` on.
    fn add(&mut self, stream: usize, first: u64, keys: &[i64]) {
        if self.ranges.len() <= stream {
            self.ranges.resize_with(stream + 1, Vec::new);
        }
        let ranges = &mut self.ranges[stream];
        for (k, &key) in keys.iter().enumerate() {
            let row = first + k as u64;
            match ranges.last_mut() {
                Some((from, at, n))
                    if *from + *n == row && at.checked_add(*n as i64) == Some(key) =>
                {
                    *n += 1;
                }
                _ => ranges.push((row, key, 1)),
            }
        }
    }

    /// The key drawn for `to`'s row.
    fn key(&self, to: &StreamedRef) -> Option<i64> {
        let ranges = self.ranges.get(to.stream)?;
        let i = ranges
            .partition_point(|(from, _, _)| *from <= to.row)
            .checked_sub(1)?;
        let (from, key, n) = ranges[i];
        (to.row < from + n).then(|| key + (to.row - from) as i64)
    }
}

/// A batch ready to write: references to planned rows hold the values the database assigned
/// them, references to streamed rows the keys drawn for them, and columns the database fills
/// (defaults, computed values) are left to it, except the primary key, which the ledger
/// needs. Nothing has to be read back.
fn resolved(
    t: &Table,
    tp: &TablePlan,
    planned: &HashMap<CellRef, Value>,
    drawn: &Drawn,
) -> DbResult<TablePlan> {
    let keep: Vec<usize> = (0..tp.columns.len())
        .filter(|&ci| {
            t.primary_key.contains(&tp.columns[ci])
                || tp
                    .rows
                    .first()
                    .is_none_or(|r| !matches!(r[ci], Cell::Default))
        })
        .collect();
    let rows = tp
        .rows
        .iter()
        .map(|r| {
            keep.iter()
                .map(|&ci| match &r[ci] {
                    Cell::Ref(to) => Ok(Cell::Value(
                        planned.get(to).cloned().unwrap_or(Value::Null),
                    )),
                    Cell::Streamed(to) => drawn.key(to).map(|k| Cell::Value(Value::Int(k))).ok_or_else(|| {
                        refused(format!(
                            "{}.{} points at row {} of streamed entry {}, whose key was not drawn; this is a bug in atdm",
                            t.name, tp.columns[ci], to.row, to.stream
                        ))
                    }),
                    other => Ok(other.clone()),
                })
                .collect()
        })
        .collect::<DbResult<_>>()?;
    Ok(TablePlan {
        table: tp.table.clone(),
        columns: keep.iter().map(|&ci| tp.columns[ci].clone()).collect(),
        aliases: tp.aliases.clone(),
        rows,
        sources: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_row_resolves_to_the_key_drawn_for_it() {
        let mut drawn = Drawn::default();
        // Stream 1's first batch of three rows, then a batch whose keys jump (another run
        // drew between them), one row continuing the first range.
        drawn.add(1, 0, &[100, 101, 102]);
        drawn.add(1, 3, &[103, 200, 201]);
        assert_eq!(drawn.ranges[1], [(0, 100, 4), (4, 200, 2)]);
        let to = |stream, row| StreamedRef {
            stream,
            row,
            column: "id".into(),
        };
        let keys: Vec<Option<i64>> = (0..7).map(|r| drawn.key(&to(1, r))).collect();
        assert_eq!(
            keys,
            [
                Some(100),
                Some(101),
                Some(102),
                Some(103),
                Some(200),
                Some(201),
                None
            ]
        );
        // A stream none was drawn for.
        assert_eq!(drawn.key(&to(0, 0)), None);
        assert_eq!(drawn.key(&to(2, 0)), None);
    }

    #[test]
    fn drawn_keys_become_as_few_ranges_as_they_can() {
        let mut claims = Vec::new();
        claim_ranges(&mut claims, "orders", "order_id", &[5, 6, 7]);
        claim_ranges(&mut claims, "orders", "order_id", &[8, 9, 12, 13]);
        claim_ranges(&mut claims, "product", "id", &[14]);
        let got: Vec<(String, OwnedValues, u64)> = claims
            .into_iter()
            .map(|c| (c.table, c.values, c.rows))
            .collect();
        let range = |from, to| OwnedValues::Range { from, to };
        assert_eq!(
            got,
            [
                ("orders".to_owned(), range(5, 9), 5),
                ("orders".to_owned(), range(12, 13), 2),
                ("product".to_owned(), range(14, 14), 1),
            ]
        );
    }
}
