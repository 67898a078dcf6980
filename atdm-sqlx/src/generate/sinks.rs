//! Where generated batches go: one file per table in Parquet, CSV, JSON Lines or a SQL script,
//! each hashed (SHA-256) and counted as it is written.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use atdm_core::schema::{Dialect, Table};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use super::align::{Aligner, PARQUET_GRID};
use super::destination::{Remote, Upload};
use super::sql_script::{ROWS_PER_INSERT, SqlScript};

/// A file format `atdm generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Apache Parquet, Snappy-compressed, one row group per 64 Ki rows.
    Parquet,
    /// CSV with a header line.
    Csv,
    /// JSON Lines: one object per row.
    Jsonl,
    /// A SQL script of multi-row `INSERT` statements in one transaction, for a database.
    Sql(Dialect),
}

impl FileFormat {
    /// The file extension (`parquet`, `csv`, `jsonl`, `sql`).
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
            FileFormat::Jsonl => "jsonl",
            FileFormat::Sql(_) => "sql",
        }
    }

    /// The name in manifests and messages (`parquet`, `csv`, `jsonl`, `sql:postgres`).
    pub fn name(self) -> String {
        match self {
            FileFormat::Sql(d) => format!("sql:{}", d.as_str()),
            other => other.extension().to_owned(),
        }
    }
}

/// Counts and hashes what passes through.
pub(crate) struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The bytes' way out: a local file under its temporary name, or an object store upload.
enum Target {
    File {
        file: BufWriter<File>,
        partial: PathBuf,
    },
    Store(Upload),
}

impl Write for Target {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Target::File { file, .. } => file.write(buf),
            Target::Store(u) => u.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Target::File { file, .. } => file.flush(),
            Target::Store(u) => u.flush(),
        }
    }
}

/// Where a sink's file goes.
pub(crate) enum Place<'a> {
    /// A file at this path.
    Dir(&'a Path),
    /// An object of this name.
    Store(&'a Arc<Remote>, &'a str),
}

type Out = Hashing<Target>;

/// A file's writer. Parquet and SQL scripts get their rows through an [`Aligner`], because
/// how they cut rows into pages and statements depends on where each call's rows begin.
enum Writer {
    Parquet(ArrowWriter<Out>, Aligner),
    Csv(arrow_csv::Writer<Out>),
    Jsonl(arrow_json::LineDelimitedWriter<Out>),
    Sql(SqlScript<Out>, Aligner),
}

/// One table's file while it is written: under a temporary name (or an unfinished upload)
/// until [`Sink::finish`], so a failed or interrupted job leaves no file that looks complete.
pub(crate) struct Sink {
    writer: Writer,
    /// The file or object, for messages.
    path: PathBuf,
    /// Where a local file ends up.
    final_path: Option<PathBuf>,
}

/// A finished file.
pub(crate) struct Written {
    pub(crate) bytes: u64,
    pub(crate) sha256: String,
}

fn failed(path: &Path, e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl Sink {
    /// Starts the file at `place` for `table`'s batches of `schema`, in row groups of
    /// `row_group_rows` where it is Parquet; `shown` names it in messages.
    pub(crate) fn create(
        place: Place<'_>,
        shown: PathBuf,
        format: FileFormat,
        table: &Table,
        schema: arrow_schema::SchemaRef,
        row_group_rows: usize,
    ) -> Result<Sink, crate::Error> {
        let (target, partial, final_path) = match place {
            Place::Dir(path) => {
                let mut partial = path.as_os_str().to_owned();
                partial.push(".partial");
                let partial = PathBuf::from(partial);
                let file = File::create(&partial).map_err(|e| failed(&partial, e))?;
                let target = Target::File {
                    file: BufWriter::with_capacity(1 << 20, file),
                    partial: partial.clone(),
                };
                (target, partial, Some(path.to_path_buf()))
            }
            Place::Store(remote, name) => (Target::Store(remote.writer(name)), shown, None),
        };
        let out = Hashing {
            inner: target,
            hash: Sha256::new(),
            bytes: 0,
        };
        let writer = match format {
            FileFormat::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(row_group_rows.max(1)))
                    .set_write_batch_size(PARQUET_GRID)
                    .set_created_by(format!("atdm {}", env!("CARGO_PKG_VERSION")))
                    .build();
                Writer::Parquet(
                    ArrowWriter::try_new(out, schema, Some(props))
                        .map_err(|e| failed(&partial, e))?,
                    Aligner::new(PARQUET_GRID, row_group_rows.max(1)),
                )
            }
            FileFormat::Csv => {
                Writer::Csv(arrow_csv::WriterBuilder::new().with_header(true).build(out))
            }
            FileFormat::Jsonl => Writer::Jsonl(arrow_json::LineDelimitedWriter::new(out)),
            FileFormat::Sql(d) => Writer::Sql(
                SqlScript::start(out, d, table, &schema).map_err(|e| failed(&partial, e))?,
                Aligner::new(ROWS_PER_INSERT, usize::MAX),
            ),
        };
        Ok(Sink {
            writer,
            path: partial,
            final_path,
        })
    }

    /// Appends a batch.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), crate::Error> {
        let r = match &mut self.writer {
            Writer::Parquet(w, a) => a.feed(batch, |b| w.write(b)).map_err(|e| e.to_string()),
            Writer::Csv(w) => w.write(batch).map_err(|e| e.to_string()),
            Writer::Jsonl(w) => w.write(batch).map_err(|e| e.to_string()),
            Writer::Sql(w, a) => a.feed(batch, |b| w.write(b)).map_err(|e| e.to_string()),
        };
        r.map_err(|e| failed(&self.path, e))
    }

    /// Ends the file and gives it its name (completes the upload).
    pub(crate) fn finish(self) -> Result<Written, crate::Error> {
        let shown = self.path.clone();
        let fail = |e: String| failed(&shown, e);
        let out: Out = match self.writer {
            Writer::Parquet(mut w, mut a) => {
                if let Some(last) = a.finish() {
                    w.write(&last).map_err(|e| fail(e.to_string()))?;
                }
                w.into_inner().map_err(|e| fail(e.to_string()))?
            }
            Writer::Csv(w) => w.into_inner(),
            Writer::Jsonl(mut w) => {
                w.finish().map_err(|e| fail(e.to_string()))?;
                w.into_inner()
            }
            Writer::Sql(mut w, mut a) => {
                if let Some(last) = a.finish() {
                    w.write(&last).map_err(|e| fail(e.to_string()))?;
                }
                w.finish().map_err(|e| fail(e.to_string()))?
            }
        };
        let Hashing {
            inner, hash, bytes, ..
        } = out;
        match inner {
            Target::File { file, partial } => {
                let file = file.into_inner().map_err(|e| fail(e.error().to_string()))?;
                file.sync_all().map_err(|e| fail(e.to_string()))?;
                let path = self.final_path.expect("a local file has a final path");
                std::fs::rename(&partial, &path).map_err(|e| failed(&path, e))?;
            }
            Target::Store(upload) => upload.finish()?,
        }
        Ok(Written {
            bytes,
            sha256: hex(&hash.finalize()),
        })
    }

    /// Removes the unfinished file, or aborts its upload (after a failure).
    pub(crate) fn abandon(self) {
        let partial = self.final_path.is_some().then(|| self.path.clone());
        drop(self); // an unfinished upload is aborted as it drops
        if let Some(p) = partial {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
