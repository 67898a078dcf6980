//! The producer thread of a load: generates and encodes batches on every core while the
//! database takes the previous ones.

use std::collections::BTreeMap;
use std::ops::Range;

use arrow_array::RecordBatch;
use atdm_core::Pack;
use atdm_core::generate::{Dataset, DatasetOptions};
use atdm_core::schema::Dialect;
use rayon::prelude::*;

use crate::backend::{BulkLoad, literals};
use crate::generate::{batches, copy_rows, insert, insert_head, load_batch_rows};

/// The most rows per `INSERT` statement where the database has no `COPY`.
const ROWS_PER_INSERT: usize = 8000;

/// About the most bytes per `INSERT` statement: well inside MySQL's smallest usual
/// `max_allowed_packet` (16 MiB on MariaDB, 64 MiB on MySQL 8), whatever the rows' width.
const BYTES_PER_INSERT: usize = 4 << 20;

/// One piece of a load on its way from the producer thread to the database.
pub(super) enum Piece {
    /// Encoded rows of the `table`-th table: `COPY` text, or one `INSERT` statement.
    Chunk {
        table: usize,
        bytes: Vec<u8>,
        rows: u64,
    },
    /// The producer could not make the dataset.
    Failed(String),
}

/// What the producer thread encodes for.
#[derive(Clone, Copy)]
pub(super) struct Target {
    pub(super) dialect: Dialect,
    pub(super) bulk: Option<BulkLoad>,
    pub(super) identity_insert: &'static str,
}

/// The producer thread: makes the dataset, then each table's batches on a pool of `threads`,
/// a window at a time, encodes them for the database and sends them in order.
pub(super) fn produce(
    pack: &Pack,
    rows: &BTreeMap<String, u64>,
    options: &DatasetOptions,
    target: Target,
    threads: usize,
    batch_rows: u64,
    send: &tokio::sync::mpsc::Sender<Piece>,
) {
    let made = Dataset::new(
        pack.schema(),
        rows,
        pack.generators(),
        pack.markers(),
        options,
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("atdm-load-{i}"))
        .build();
    let (dataset, pool) = match (made, pool) {
        (Ok(d), Ok(p)) => (d, p),
        (Err(e), _) => {
            let _ = send.blocking_send(Piece::Failed(e.to_string()));
            return;
        }
        (_, Err(e)) => {
            let _ = send.blocking_send(Piece::Failed(format!("cannot start worker threads: {e}")));
            return;
        }
    };
    let lits = literals(target.dialect);
    let window = pool.current_num_threads().max(1) * 2;
    let tables: Vec<(String, u64)> = dataset.tables().map(|(t, n)| (t.to_owned(), n)).collect();
    for (ti, (name, total)) in tables.iter().enumerate() {
        let table = pack.schema().table(name).expect("a schema table");
        let arrow = dataset.arrow_schema(name).expect("a dataset table");
        let head = insert_head(target.dialect, table, &arrow, target.identity_insert);
        let encode = |batch: RecordBatch| -> Vec<(Vec<u8>, u64)> {
            match target.bulk {
                Some(bulk) => {
                    let mut out = String::with_capacity(batch.num_rows() * 128);
                    copy_rows(&mut out, &bulk, &batch);
                    vec![(out.into_bytes(), batch.num_rows() as u64)]
                }
                None => statements(0..batch.num_rows(), rows_per_insert(&batch, &head, lits))
                    .map(|r| {
                        let mut out = String::with_capacity(r.len() * 128);
                        insert(&mut out, &head, lits, &batch, r.clone());
                        (out.into_bytes(), r.len() as u64)
                    })
                    .collect(),
            }
        };
        let batch_rows = load_batch_rows(&dataset, name, *total, batch_rows);
        for chunk in batches(0..*total, batch_rows).chunks(window) {
            let encoded: Vec<Vec<(Vec<u8>, u64)>> = pool.install(|| {
                chunk
                    .par_iter()
                    .map(|r| encode(dataset.batch(name, r.clone()).expect("a dataset table")))
                    .collect()
            });
            for (bytes, n) in encoded.into_iter().flatten() {
                let piece = Piece::Chunk {
                    table: ti,
                    bytes,
                    rows: n,
                };
                if send.blocking_send(piece).is_err() {
                    return;
                }
            }
        }
    }
}

/// `rows` in pieces of `per`.
fn statements(rows: Range<usize>, per: usize) -> impl Iterator<Item = Range<usize>> {
    (rows.start..rows.end)
        .step_by(per)
        .map(move |s| s..(s + per).min(rows.end))
}

/// Rows per `INSERT` for `batch`: [`ROWS_PER_INSERT`], fewer where its first rows show that
/// a statement would pass [`BYTES_PER_INSERT`].
fn rows_per_insert(batch: &RecordBatch, head: &str, lits: &crate::backend::Literals) -> usize {
    let probe = batch.num_rows().min(64);
    if probe == 0 {
        return ROWS_PER_INSERT;
    }
    let mut sample = String::new();
    insert(&mut sample, head, lits, batch, 0..probe);
    let per_row = (sample.len().saturating_sub(head.len()) / probe).max(1);
    // Room for rows twice as wide as the sample's.
    (BYTES_PER_INSERT / (2 * per_row)).clamp(1, ROWS_PER_INSERT)
}
