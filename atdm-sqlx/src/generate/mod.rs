//! Whole datasets to files: `atdm generate`.
//!
//! A [`Dataset`] (atdm-core) makes any range of rows of any table alone; this module makes
//! them on every core and writes them in order, one file per table, with a manifest. Batches
//! are generated in windows by a thread pool while a writer thread encodes the previous ones,
//! so generation and writing overlap and at most a few batches are held at once, whatever the
//! table's size. The bytes written do not depend on the number of threads or the batch size.

mod align;
mod destination;
mod encode;
pub(crate) mod sinks;
mod sql_script;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use arrow_array::RecordBatch;
use atdm_core::Pack;
use atdm_core::generate::{Dataset, DatasetOptions, EdgeCases, GENERATOR_VERSION, part_range};
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use destination::Destination;
use destination::{PART_BYTES, Remote};
pub use encode::sql_literal;
pub(crate) use encode::{cell_value, copy_rows, insert, insert_head, push_sql_literal};
pub use sinks::FileFormat;
use sinks::{Place, Sink};

use crate::error::Error;

/// The most rows `atdm generate` makes of one table (in all parts together).
pub const MAX_ROWS_PER_TABLE: u64 = 1_000_000_000_000;

/// What to generate and how.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Rows per table; tables not named are not generated.
    pub rows: BTreeMap<String, u64>,
    /// The seed: the same seed, counts, schema and reference date give the same data.
    pub seed: u64,
    /// The date relative dates are computed from.
    pub reference_date: NaiveDate,
    /// This process makes part `part` (from 0) of `parts` of every table.
    pub parts: u64,
    /// See `parts`.
    pub part: u64,
    /// Rows per batch (the unit of parallel work and of progress).
    pub batch_rows: u64,
    /// Worker threads; 0: one per core.
    pub threads: usize,
    /// Overwrite files that exist.
    pub force: bool,
    /// Adds a row per edge case of every column at the end of each table, and writes the
    /// edge-case catalog beside the files (see [`atdm_core::edge`]).
    pub edge_cases: EdgeCases,
}

impl GenerateOptions {
    /// Options for `rows`, with `seed` and `reference_date`: the whole dataset in one part, on
    /// every core, 16 Ki rows per batch.
    pub fn new(rows: BTreeMap<String, u64>, seed: u64, reference_date: NaiveDate) -> Self {
        GenerateOptions {
            rows,
            seed,
            reference_date,
            parts: 1,
            part: 0,
            batch_rows: 16 * 1024,
            threads: 0,
            force: false,
            edge_cases: EdgeCases::None,
        }
    }
}

/// How far a table has come, for progress bars.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The table.
    pub table: &'a str,
    /// Rows written so far.
    pub done: u64,
    /// Rows this part writes.
    pub total: u64,
}

/// What `atdm generate` wrote: the manifest, also written beside the files as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateReport {
    /// The pack (schema) generated.
    pub schema: String,
    /// The file format (`parquet`, `csv`, `jsonl`, `sql:postgres`).
    pub format: String,
    /// The seed.
    pub seed: u64,
    /// The reference date.
    pub reference_date: NaiveDate,
    /// The generator version: data changes only with it.
    pub generator_version: u32,
    /// The ATDM version that wrote the files.
    pub atdm_version: String,
    /// How many parts the dataset was split into.
    pub parts: u64,
    /// Which part this is (from 0).
    pub part: u64,
    /// The tables, parents before children.
    pub tables: Vec<GeneratedTable>,
    /// Which edge cases the tables end with (absent: none).
    #[serde(default, skip_serializing_if = "is_none")]
    pub edge_cases: EdgeCases,
    /// The edge-case catalog (`edge_cases.json`): the rows that hold each class, the classes
    /// no row could, and the invalid ones as negative-test fixtures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_file: Option<GeneratedFile>,
    /// The manifest's own file name.
    pub manifest: String,
    /// Wall time, in milliseconds (not part of the data: it differs run to run).
    pub elapsed_ms: u64,
}

fn is_none(e: &EdgeCases) -> bool {
    *e == EdgeCases::None
}

/// A file beside the tables' (the edge-case catalog).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedFile {
    /// Its name, in the output directory.
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, in hex.
    pub sha256: String,
}

/// One table's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedTable {
    /// The table.
    pub table: String,
    /// The table's rows in the whole dataset.
    pub total_rows: u64,
    /// The first row (from 0) in this part's file.
    pub first_row: u64,
    /// The rows in this part's file.
    pub rows: u64,
    /// Of the table's rows, how many are edge-case rows (its last ones).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub edge_rows: u64,
    /// The file's name, in the output directory.
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, in hex.
    pub sha256: String,
}

/// The file names of a part: `customer.parquet`, or `customer.part-00003-of-00016.parquet`.
fn file_name(table: &str, format: FileFormat, parts: u64, part: u64) -> String {
    let safe: String = table
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if parts > 1 {
        format!("{safe}.part-{part:05}-of-{parts:05}.{}", format.extension())
    } else {
        format!("{safe}.{}", format.extension())
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn manifest_name(parts: u64, part: u64) -> String {
    part_name("manifest", parts, part)
}

/// `NAME.json`, or `NAME.part-00003-of-00016.json`.
fn part_name(name: &str, parts: u64, part: u64) -> String {
    if parts > 1 {
        format!("{name}.part-{part:05}-of-{parts:05}.json")
    } else {
        format!("{name}.json")
    }
}

/// Checks row counts and the batch size, before anything is written.
pub(crate) fn check_counts(rows: &BTreeMap<String, u64>, batch_rows: u64) -> Result<(), Error> {
    let invalid = |message: String| Error::InvalidDataset { message };
    if rows.is_empty() {
        return Err(invalid(
            "no table to generate; name tables and row counts (--rows customer=1000)".into(),
        ));
    }
    for (t, n) in rows {
        if *n > MAX_ROWS_PER_TABLE {
            return Err(invalid(format!(
                "{n} rows of {t:?} is more than ATDM generates of one table \
                 ({MAX_ROWS_PER_TABLE}); ask for fewer"
            )));
        }
    }
    if batch_rows == 0 || batch_rows > 16 * 1024 * 1024 {
        return Err(invalid(format!(
            "a batch of {batch_rows} rows is not allowed; use 1 to 16777216"
        )));
    }
    Ok(())
}

/// Checks options a person typed, before anything is written.
fn check(options: &GenerateOptions) -> Result<(), Error> {
    let invalid = |message: String| Error::InvalidDataset { message };
    if options.parts == 0 || options.part >= options.parts {
        return Err(invalid(format!(
            "--part {} is not one of the {} parts; parts are numbered from 0 to {}",
            options.part,
            options.parts,
            options.parts.saturating_sub(1)
        )));
    }
    check_counts(&options.rows, options.batch_rows)
}

/// The options of a pack's dataset outside a database: keys to reference tables the dataset
/// does not generate point at the pack's reference rows.
pub fn dataset_options(pack: &Pack, seed: u64, reference_date: NaiveDate) -> DatasetOptions {
    let mut opts = DatasetOptions::new(seed, reference_date);
    opts.existing = pack.reference_rows().clone();
    opts
}

/// Rows `start` to `stop` (the table's end when `None`) of `table` in the dataset of `pack`
/// that `options` describe (its rows, seed, reference date, edge cases and batch size; as
/// [`generate_files`] makes it), as an Arrow IPC stream of batches of at most
/// `options.batch_rows` rows: what the Python package hands to pyarrow, so that a
/// distributed engine can make any part of a dataset anywhere.
pub fn arrow_ipc(
    pack: &Pack,
    options: &GenerateOptions,
    table: &str,
    start: u64,
    stop: Option<u64>,
) -> Result<Vec<u8>, Error> {
    let (dataset, range) = dataset_range(pack, options, table, start, stop)?;
    let schema = dataset.arrow_schema(table).expect("a dataset table");
    let failed = |e: arrow_schema::ArrowError| Error::InvalidDataset {
        message: format!("cannot encode Arrow IPC: {e}"),
    };
    let mut writer =
        arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &schema).map_err(failed)?;
    for r in batches(range, options.batch_rows) {
        let batch = dataset.batch(table, r).expect("a dataset table");
        writer.write(&batch).map_err(failed)?;
    }
    writer.into_inner().map_err(failed)
}

/// Rows `start` to `stop` (default: the table's end, edge-case rows included) of `table`:
/// the range, checked against the table's rows, and the dataset that makes them.
fn dataset_range<'p>(
    pack: &'p Pack,
    options: &GenerateOptions,
    table: &str,
    start: u64,
    stop: Option<u64>,
) -> Result<(Dataset<'p>, std::ops::Range<u64>), Error> {
    check_counts(&options.rows, options.batch_rows)?;
    let mut opts = dataset_options(pack, options.seed, options.reference_date);
    opts.edge_cases = options.edge_cases;
    let dataset = Dataset::new(
        pack.schema(),
        &options.rows,
        pack.generators(),
        pack.markers(),
        &opts,
    )?;
    let Some(total) = dataset.tables().find(|(t, _)| *t == table).map(|(_, n)| n) else {
        return Err(Error::InvalidDataset {
            message: format!(
                "table {table:?} is not one of the dataset's tables ({})",
                options.rows.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        });
    };
    let range = start..stop.unwrap_or(total);
    if range.start > range.end || range.end > total {
        return Err(Error::InvalidDataset {
            message: format!(
                "rows {}..{} are not within the {total} rows of {table:?}",
                range.start, range.end
            ),
        });
    }
    Ok((dataset, range))
}

/// The rows [`arrow_ipc()`] would give for `start` and `stop`, checked as it checks them,
/// without making them: callers that take a long range a batch at a time ask for this
/// first, then for each batch.
pub fn ipc_range(
    pack: &Pack,
    options: &GenerateOptions,
    table: &str,
    start: u64,
    stop: Option<u64>,
) -> Result<std::ops::Range<u64>, Error> {
    dataset_range(pack, options, table, start, stop).map(|(_, r)| r)
}

/// Generates `options.rows` of `pack`'s schema into files of `format` at `to` (a directory,
/// created if missing, or an object store), with a manifest, calling `progress` after every
/// batch. Files that exist are [`Error::FilesExist`] unless `options.force`; nothing is
/// written then. A file is written under a temporary name and renamed when complete (in an
/// object store: uploaded in parts, and visible once complete); the manifest comes last.
pub fn generate_files(
    pack: &Pack,
    options: &GenerateOptions,
    format: FileFormat,
    to: &Destination,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<GenerateReport, Error> {
    let remote = match to {
        Destination::Store(store) => Some(Arc::new(Remote::new(store, PART_BYTES)?)),
        Destination::Dir(_) => None,
    };
    generate_into(pack, options, format, to, remote.as_ref(), progress)
}

pub(crate) fn generate_into(
    pack: &Pack,
    options: &GenerateOptions,
    format: FileFormat,
    to: &Destination,
    remote: Option<&Arc<Remote>>,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<GenerateReport, Error> {
    check(options)?;
    let started = Instant::now();
    let mut opts = dataset_options(pack, options.seed, options.reference_date);
    opts.edge_cases = options.edge_cases;
    let dataset = Dataset::new(
        pack.schema(),
        &options.rows,
        pack.generators(),
        pack.markers(),
        &opts,
    )?;
    let (parts, part) = (options.parts, options.part);
    let manifest = manifest_name(parts, part);
    let edge_name =
        (options.edge_cases != EdgeCases::None).then(|| part_name("edge_cases", parts, part));
    let mut names: Vec<String> = dataset
        .tables()
        .map(|(t, _)| file_name(t, format, parts, part))
        .collect();
    names.extend(edge_name.clone());
    names.push(manifest.clone());
    if !options.force {
        let existing: Vec<PathBuf> = match (to, remote) {
            (_, Some(remote)) => remote.existing(&names)?,
            (Destination::Dir(dir), None) => names
                .iter()
                .filter(|n| dir.join(n).exists())
                .map(PathBuf::from)
                .collect(),
            (Destination::Store(_), None) => unreachable!("a store has its remote"),
        };
        if !existing.is_empty() {
            return Err(Error::FilesExist {
                dir: PathBuf::from(to.display()),
                files: existing,
            });
        }
    }
    if let Destination::Dir(dir) = to {
        std::fs::create_dir_all(dir).map_err(|e| Error::Write {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .thread_name(|i| format!("atdm-generate-{i}"))
        .build()
        .map_err(|e| Error::InvalidDataset {
            message: format!("cannot start {} worker threads: {e}", options.threads),
        })?;
    let mut tables = Vec::new();
    for (table, total) in dataset.tables() {
        let range = part_range(total, parts, part);
        let name = file_name(table, format, parts, part);
        let schema = dataset.arrow_schema(table).expect("a dataset table");
        let model = pack.schema().table(table).expect("a schema table");
        let path = to.locate(&name);
        let place = match remote {
            Some(remote) => Place::Store(remote, &name),
            None => Place::Dir(&path),
        };
        let sized = sizing(&dataset, table, total, options.batch_rows);
        let sink = Sink::create(
            place,
            path.clone(),
            format,
            model,
            schema,
            sized.row_group_rows,
        )?;
        let written = write_table(
            &dataset,
            table,
            range.clone(),
            sink,
            &pool,
            sized.batch_rows,
            progress,
        )?;
        let edge_rows = dataset
            .edge_cases(table)
            .map_or(0, |(held, _)| held.len() as u64);
        tables.push(GeneratedTable {
            table: table.to_owned(),
            total_rows: total,
            first_row: range.start,
            rows: range.end - range.start,
            edge_rows,
            file: name,
            bytes: written.bytes,
            sha256: written.sha256,
        });
    }
    let edge_file = match &edge_name {
        Some(name) => {
            let mut text = serde_json::to_string_pretty(&dataset.edge_catalog(pack.schema()))
                .expect("serializable");
            text.push('\n');
            Some(put_whole(to, remote, name, text.into_bytes())?)
        }
        None => None,
    };
    let report = GenerateReport {
        schema: pack.schema().name.clone(),
        format: format.name(),
        seed: options.seed,
        reference_date: options.reference_date,
        generator_version: GENERATOR_VERSION,
        atdm_version: env!("CARGO_PKG_VERSION").to_owned(),
        parts,
        part,
        tables,
        edge_cases: options.edge_cases,
        edge_file,
        manifest: manifest.clone(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    let mut text = serde_json::to_string_pretty(&ManifestView(&report)).expect("serializable");
    text.push('\n');
    put_whole(to, remote, &manifest, text.into_bytes())?;
    Ok(report)
}

/// Writes a small file whole (the manifest, the edge-case catalog).
pub(crate) fn put_whole(
    to: &Destination,
    remote: Option<&Arc<Remote>>,
    name: &str,
    bytes: Vec<u8>,
) -> Result<GeneratedFile, Error> {
    use sha2::Digest;
    let file = GeneratedFile {
        file: name.to_owned(),
        bytes: bytes.len() as u64,
        sha256: sinks::hex(&sha2::Sha256::digest(&bytes)),
    };
    match remote {
        Some(remote) => remote.put(name, bytes)?,
        None => {
            let path = to.locate(name);
            std::fs::write(&path, bytes).map_err(|e| Error::Write {
                path,
                message: e.to_string(),
            })?;
        }
    }
    Ok(file)
}

/// The manifest as written: the report without its wall time, so the same dataset gives the
/// same manifest.
struct ManifestView<'a>(&'a GenerateReport);

impl Serialize for ManifestView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut v = serde_json::to_value(self.0).map_err(serde::ser::Error::custom)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("elapsed_ms");
        }
        v.serialize(s)
    }
}

/// About the most bytes of one batch in memory, for files. A batch per thread is made while
/// the writer takes others from a channel, so this bounds a job's memory whatever the table's
/// width. A MiB (about 4,000 rows of the benchmark's user table) halves the peak memory of
/// 4 MiB batches at the same speed.
const BATCH_BYTES: u64 = 1 << 20;

/// [`BATCH_BYTES`] of loads into a database: larger, because each batch is a statement or a
/// `COPY` chunk, and SQLite took 10% longer to load a million rows in 1 MiB batches.
const LOAD_BATCH_BYTES: u64 = 4 << 20;

/// About the most bytes of Arrow data in one Parquet row group, which the writer holds until
/// the group is complete.
const ROW_GROUP_BYTES: u64 = 12 << 20;

/// The most rows of a Parquet row group.
pub(crate) const ROW_GROUP_ROWS: u64 = 64 * 1024;

/// How a table is cut: rows per batch and per Parquet row group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sizing {
    /// At most the caller's batch size; fewer for wide rows.
    pub(crate) batch_rows: u64,
    /// About [`ROW_GROUP_BYTES`] of rows, at least 1024 and at most 64Ki.
    pub(crate) row_group_rows: usize,
}

/// The sizing of `table` (`total` rows in the dataset), from the size in memory of its first
/// rows: ordinary tables keep `batch_rows` and get row groups of tens of thousands of rows;
/// wide ones (long text in many columns) get fewer rows, so batches stay near
/// [`BATCH_BYTES`] and row groups near [`ROW_GROUP_BYTES`]. The first rows are the same in every part, process and thread count,
/// so the files are too; the batch size never changes a file.
pub(crate) fn sizing(dataset: &Dataset<'_>, table: &str, total: u64, batch_rows: u64) -> Sizing {
    let row_bytes = row_bytes(dataset, table, total);
    Sizing {
        batch_rows: (BATCH_BYTES / row_bytes).clamp(64.min(batch_rows), batch_rows),
        row_group_rows: (ROW_GROUP_BYTES / row_bytes).clamp(1024, ROW_GROUP_ROWS) as usize,
    }
}

/// The rows per batch of a load of `table` into a database: about [`LOAD_BATCH_BYTES`], at
/// most `batch_rows`.
pub(crate) fn load_batch_rows(
    dataset: &Dataset<'_>,
    table: &str,
    total: u64,
    batch_rows: u64,
) -> u64 {
    (LOAD_BATCH_BYTES / row_bytes(dataset, table, total)).clamp(64.min(batch_rows), batch_rows)
}

/// The size in memory of one of `table`'s first rows (at least 1).
fn row_bytes(dataset: &Dataset<'_>, table: &str, total: u64) -> u64 {
    let probe = total.min(256);
    match dataset.batch(table, 0..probe) {
        Some(b) if probe > 0 => (b.get_array_memory_size() as u64 / probe).max(1),
        _ => 1,
    }
}

/// The rows per batch `atdm generate` uses for `table` of `dataset` (`total` rows in all):
/// about a MiB of rows, at most `batch_rows`. For benchmarks and callers that cut their own
/// batches as the CLI does.
pub fn batch_rows_of(dataset: &Dataset<'_>, table: &str, total: u64, batch_rows: u64) -> u64 {
    sizing(dataset, table, total, batch_rows).batch_rows
}

/// Splits `range` into batches.
pub(crate) fn batches(range: Range<u64>, batch_rows: u64) -> Vec<Range<u64>> {
    (range.start..range.end)
        .step_by(batch_rows as usize)
        .map(|s| s..(s + batch_rows).min(range.end))
        .collect()
}

/// Generates `range` of `table` on `pool` and writes it to `sink` in order, on a writer
/// thread, a window of batches at a time.
fn write_table(
    dataset: &Dataset<'_>,
    table: &str,
    range: Range<u64>,
    sink: Sink,
    pool: &rayon::ThreadPool,
    batch_rows: u64,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<sinks::Written, Error> {
    let total = range.end - range.start;
    let work = batches(range, batch_rows);
    let window = pool.current_num_threads().max(1) * 2;
    let (send, receive) = mpsc::sync_channel::<RecordBatch>(window);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            let mut sink = sink;
            let mut done = 0;
            progress(Progress { table, done, total });
            for batch in receive {
                if let Err(e) = sink.write(&batch) {
                    sink.abandon();
                    return Err(e);
                }
                done += batch.num_rows() as u64;
                progress(Progress { table, done, total });
            }
            sink.finish()
        });
        for chunk in work.chunks(window) {
            let made: Vec<RecordBatch> = pool.install(|| {
                chunk
                    .par_iter()
                    .map(|r| dataset.batch(table, r.clone()).expect("a dataset table"))
                    .collect()
            });
            for batch in made {
                if send.send(batch).is_err() {
                    break;
                }
            }
        }
        drop(send);
        writer.join().expect("the writer thread does not panic")
    })
}

#[cfg(test)]
mod tests;
