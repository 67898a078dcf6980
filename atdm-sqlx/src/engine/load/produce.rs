//! The producer thread of a load: generates and encodes batches on every core while the
//! database takes the previous ones.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::RecordBatch;
use atdm_core::Pack;
use atdm_core::generate::{Dataset, DatasetOptions};
use atdm_core::schema::Dialect;
use rayon::prelude::*;

use crate::backend::{BoundArgs, BoundInsert, BulkLoad, literals};
use crate::generate::{batches, copy_rows, insert, insert_head, load_batch_rows};

/// The most rows per `INSERT` statement where the database has no `COPY`.
const ROWS_PER_INSERT: usize = 8000;

/// About the most bytes per `INSERT` statement: well inside MySQL's smallest usual
/// `max_allowed_packet` (16 MiB on MariaDB, 64 MiB on MySQL 8), whatever the rows' width.
const BYTES_PER_INSERT: usize = 4 << 20;

/// One piece of a load on its way from the producer thread to the database.
pub(super) enum Piece {
    /// Encoded rows of the `table`-th table.
    Chunk { table: usize, data: Data, rows: u64 },
    /// The producer could not make the dataset.
    Failed(String),
}

/// Rows encoded for the database.
pub(super) enum Data {
    /// `COPY` text, or one `INSERT` statement with literal values.
    Text(Vec<u8>),
    /// One prepared `INSERT` statement and its parameters.
    Bound(Arc<str>, BoundArgs),
}

/// What the producer thread encodes for: `COPY` text where the database has a bulk path, else
/// bound `INSERT` statements where it has them, else `INSERT` statements with literal values.
#[derive(Clone, Copy)]
pub(super) struct Target {
    pub(super) dialect: Dialect,
    pub(super) bulk: Option<BulkLoad>,
    pub(super) bound: Option<BoundInsert>,
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
        let columns = arrow.fields().len();
        let bound = target
            .bound
            .filter(|_| target.bulk.is_none() && columns > 0);
        let batch_rows = load_batch_rows(&dataset, name, *total, batch_rows);
        // Rows per bound statement: as many as the protocol's parameters allow, and fewer
        // where the table's first rows show that a statement would pass [`BYTES_PER_INSERT`]
        // (`max_allowed_packet` bounds a bound statement's packet as it bounds a literal
        // one's, and the two sizes are close). The statements of that many rows and of a
        // batch's remainder are the same in every batch, so each is built and prepared once.
        let shapes: Option<Shapes> = bound.filter(|_| *total > 0).map(|b| {
            let first = dataset
                .batch(name, 0..(*total).min(64))
                .expect("a dataset table");
            let per = rows_per_insert(&first, &head, lits).min((b.params / columns).max(1));
            let rest = (batch_rows as usize) % per;
            Shapes {
                per,
                full: placeholders(&head, columns, per),
                rest: (rest > 0).then(|| placeholders(&head, columns, rest)),
            }
        });
        let encode = |batch: RecordBatch| match (target.bulk, bound) {
            (Some(bulk), _) => {
                let mut out = String::with_capacity(batch.num_rows() * 128);
                copy_rows(&mut out, &bulk, &batch);
                vec![(Data::Text(out.into_bytes()), batch.num_rows() as u64)]
            }
            (None, Some(b)) => {
                let s = shapes.as_ref().expect("made for a table with rows");
                statements(0..batch.num_rows(), s.per)
                    .map(|r| {
                        let sql = match &s.rest {
                            _ if r.len() == s.per => s.full.clone(),
                            Some(rest) if r.len() == (batch_rows as usize) % s.per => rest.clone(),
                            // The last batch's remainder.
                            _ => placeholders(&head, columns, r.len()),
                        };
                        let args = (b.bind)(&batch, r.clone());
                        (Data::Bound(sql, args), r.len() as u64)
                    })
                    .collect()
            }
            (None, None) => statements(0..batch.num_rows(), rows_per_insert(&batch, &head, lits))
                .map(|r| {
                    let mut out = String::with_capacity(r.len() * 128);
                    insert(&mut out, &head, lits, &batch, r.clone());
                    (Data::Text(out.into_bytes()), r.len() as u64)
                })
                .collect::<Vec<_>>(),
        };
        for chunk in batches(0..*total, batch_rows).chunks(window) {
            let encoded: Vec<Vec<(Data, u64)>> = pool.install(|| {
                chunk
                    .par_iter()
                    .map(|r| {
                        let batch = dataset.batch(name, r.clone()).expect("a dataset table");
                        encode(batch)
                    })
                    .collect()
            });
            for (data, n) in encoded.into_iter().flatten() {
                let piece = Piece::Chunk {
                    table: ti,
                    data,
                    rows: n,
                };
                if send.blocking_send(piece).is_err() {
                    return;
                }
            }
        }
    }
}

/// The bound `INSERT` statements of a table's batches.
struct Shapes {
    /// Rows per statement.
    per: usize,
    /// The statement of `per` rows.
    full: Arc<str>,
    /// The statement of a whole batch's last rows, where a batch is not a multiple of `per`.
    rest: Option<Arc<str>>,
}

/// `head` and `rows` rows of `columns` placeholders: a bound `INSERT`.
fn placeholders(head: &str, columns: usize, rows: usize) -> Arc<str> {
    let row = format!("({})", vec!["?"; columns].join(", "));
    let mut sql = String::with_capacity(head.len() + rows * (row.len() + 2));
    sql.push_str(head);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(",\n");
        }
        sql.push_str(&row);
    }
    sql.into()
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
