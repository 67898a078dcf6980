//! One table's rows masked: the kept ones, each value through its column's transform, on a
//! thread of their own while the source is read and the target written.

use std::collections::HashSet;
use std::sync::Arc;

use atdm_core::Value;
use atdm_core::mask::{Masker, RowContext, Transform, tuple_digest};
use atdm_core::schema::Table;
use tokio::sync::{mpsc, oneshot};

use super::subset::identity;
use crate::error::Error;

/// How one table's rows are masked. It owns what it needs, so it can move to a thread.
pub(super) struct TableMask {
    table: Table,
    transforms: Vec<Transform>,
    masker: Masker,
    identity: Vec<usize>,
    /// Per column, the columns naming the entity its transform is keyed by (shift, noise).
    entity: Vec<Vec<usize>>,
    kept: Option<Arc<HashSet<u128>>>,
}

impl TableMask {
    pub(super) fn new(
        table: &Table,
        transforms: &[Transform],
        masker: &Masker,
        kept: Option<&Arc<HashSet<u128>>>,
    ) -> TableMask {
        let identity = identity(table);
        let entity = transforms
            .iter()
            .map(|t| match t {
                Transform::Shift { by: Some(by), .. } => table
                    .columns
                    .iter()
                    .position(|c| &c.name == by)
                    .into_iter()
                    .collect(),
                _ => identity.clone(),
            })
            .collect();
        TableMask {
            table: table.clone(),
            transforms: transforms.to_vec(),
            masker: masker.clone(),
            identity,
            entity,
            kept: kept.cloned(),
        }
    }

    /// The table.
    pub(super) fn table(&self) -> &Table {
        &self.table
    }

    /// The columns masking reads: those it transforms, those naming the entity of a shift or
    /// noise, and the identity where a subset is kept.
    pub(super) fn reads(&self) -> Vec<bool> {
        let mut reads: Vec<bool> = self
            .transforms
            .iter()
            .map(|t| !matches!(t, Transform::Keep))
            .collect();
        for (i, t) in self.transforms.iter().enumerate() {
            if matches!(t, Transform::Shift { .. } | Transform::Noise { .. }) {
                for &e in &self.entity[i] {
                    reads[e] = true;
                }
            }
        }
        if self.kept.is_some() {
            for &i in &self.identity {
                reads[i] = true;
            }
        }
        reads
    }

    /// Whether column `i` keeps its value.
    pub(super) fn keeps_column(&self, i: usize) -> bool {
        matches!(self.transforms[i], Transform::Keep)
    }

    /// One row masked, or `None` when the subset does not keep it.
    pub(super) fn mask_one(
        &self,
        row: Vec<Value>,
        entity: &mut Vec<Value>,
    ) -> Result<Option<Vec<Value>>, Error> {
        if !self.keeps(&row) {
            return Ok(None);
        }
        self.mask_row(row, entity).map(Some)
    }

    /// Whether the subset keeps `row` (every row without a subset).
    fn keeps(&self, row: &[Value]) -> bool {
        self.kept.as_ref().is_none_or(|k| {
            let id: Vec<&Value> = self.identity.iter().map(|&i| &row[i]).collect();
            k.contains(&tuple_digest(self.masker.key(), &id))
        })
    }

    /// The kept rows of `chunk`, masked, on every core (in order: the output does not depend
    /// on the thread count).
    pub(super) fn mask(&self, chunk: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>, Error> {
        use rayon::prelude::*;
        chunk
            .into_par_iter()
            .filter(|row| self.keeps(row))
            .map_init(Vec::new, |entity, row| self.mask_row(row, entity))
            .collect()
    }

    /// One row, masked (the cells that keep their value are moved, not copied).
    fn mask_row(&self, mut row: Vec<Value>, entity: &mut Vec<Value>) -> Result<Vec<Value>, Error> {
        let mut out: Vec<Option<Value>> = Vec::with_capacity(row.len());
        for (i, t) in self.transforms.iter().enumerate() {
            if matches!(t, Transform::Keep) {
                out.push(None);
                continue;
            }
            entity.clear();
            if matches!(t, Transform::Shift { .. } | Transform::Noise { .. }) {
                entity.extend(self.entity[i].iter().map(|&e| row[e].clone()));
            }
            let m = self
                .masker
                .apply(
                    t,
                    &self.table.name,
                    &self.table.columns[i],
                    &row[i],
                    RowContext { entity },
                )
                .map_err(|e| Error::MaskFailed {
                    message: e.to_string(),
                })?;
            out.push(Some(m));
        }
        for (cell, m) in row.iter_mut().zip(out) {
            if let Some(m) = m {
                *cell = m;
            }
        }
        Ok(row)
    }
}

/// What a [`spawn`]ed thread does with each chunk of source rows, on its thread.
pub(super) trait Work: Send + 'static {
    /// What it takes: rows read from the source.
    type Chunk: Send + 'static;
    /// What it hands on, piece by piece.
    type Piece: Send + 'static;
    /// What it gives at the end.
    type Done: Send + 'static;
    /// Handles one chunk, sending pieces to `out`; `Ok(false)` when `out` is closed (the
    /// consumer stopped, and reports why).
    fn chunk(&mut self, rows: Self::Chunk, out: &mpsc::Sender<Self::Piece>) -> Result<bool, Error>;
    /// Ends after the last chunk.
    fn finish(self) -> Result<Self::Done, Error>;
    /// Gives up after an error (removes what it started).
    fn abandon(self);
}

/// Chunks and pieces in flight each way: memory stays flat whatever the table's size.
const IN_FLIGHT: usize = 2;

/// The end of a [`spawn`]ed work.
pub(super) struct End<D>(oneshot::Receiver<Result<D, Error>>);

impl<D> End<D> {
    /// What the work gave, once its input is closed and its output drained or dropped.
    pub(super) async fn wait(self) -> Result<D, Error> {
        self.0.await.unwrap_or_else(|_| {
            Err(Error::MaskFailed {
                message: "the masking thread stopped unexpectedly".into(),
            })
        })
    }
}

/// Starts `work` on a thread named `name`: it takes the chunks sent to the returned [`Input`],
/// in order, and hands its pieces to the returned receiver, while the caller's runtime goes
/// on reading the source and writing the target. Masking and encoding so never hold up the
/// connections (the CLI's runtime has one thread).
#[allow(clippy::type_complexity)]
pub(super) fn spawn<W: Work>(
    name: &str,
    mut work: W,
) -> Result<(Input<W::Chunk>, mpsc::Receiver<W::Piece>, End<W::Done>), Error> {
    let (input, mut chunks) = mpsc::channel::<Option<W::Chunk>>(IN_FLIGHT);
    let (pieces, output) = mpsc::channel::<W::Piece>(IN_FLIGHT);
    let (done, result) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let outcome = loop {
                match chunks.blocking_recv() {
                    Some(Some(rows)) => match work.chunk(rows, &pieces) {
                        Ok(true) => {}
                        Ok(false) => break Ok(()),
                        Err(e) => break Err(e),
                    },
                    Some(None) => break Ok(()),
                    // The reader stopped before the end; it reports why.
                    None => {
                        break Err(Error::MaskFailed {
                            message: "the source was not read to its end".into(),
                        });
                    }
                }
            };
            let end = match outcome {
                Ok(()) => work.finish(),
                Err(e) => {
                    work.abandon();
                    Err(e)
                }
            };
            let _ = done.send(end);
        })
        .map_err(|e| Error::MaskFailed {
            message: format!("cannot start a masking thread: {e}"),
        })?;
    Ok((input, output, End(result)))
}

/// Where a [`spawn`]ed work takes its chunks: each chunk, then `None` at the end. Closed
/// without that end, the work gives up.
pub(super) type Input<C> = mpsc::Sender<Option<C>>;

/// Sends every chunk of `rows` to `input`, then the end, unless the work stopped (its end
/// says why); returns the rows read.
pub(super) async fn feed(
    rows: &mut super::scan::Rows<'_>,
    input: Input<Vec<Vec<Value>>>,
) -> Result<u64, Error> {
    let mut read = 0;
    while let Some(chunk) = rows.next_chunk().await? {
        read += chunk.len() as u64;
        if input.send(Some(chunk)).await.is_err() {
            return Ok(read);
        }
    }
    let _ = input.send(None).await;
    Ok(read)
}
