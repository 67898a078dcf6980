//! Where generated batches go: one file per table in Parquet, CSV, JSON Lines or a SQL script,
//! each hashed (SHA-256) and counted as it is written.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use atdm_core::schema::{Dialect, Table};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use super::sql_script::SqlScript;

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

type Out = Hashing<BufWriter<File>>;

enum Writer {
    Parquet(ArrowWriter<Out>),
    Csv(arrow_csv::Writer<Out>),
    Jsonl(arrow_json::LineDelimitedWriter<Out>),
    Sql(SqlScript<Out>),
}

/// One table's file while it is written: under a temporary name until [`Sink::finish`]
/// renames it, so a failed or interrupted job leaves no file that looks complete.
pub(crate) struct Sink {
    writer: Writer,
    partial: PathBuf,
    path: PathBuf,
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
    /// Starts `path` for `table`'s batches of `schema`.
    pub(crate) fn create(
        path: &Path,
        format: FileFormat,
        table: &Table,
        schema: arrow_schema::SchemaRef,
    ) -> Result<Sink, crate::Error> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = File::create(&partial).map_err(|e| failed(&partial, e))?;
        let out = Hashing {
            inner: BufWriter::with_capacity(1 << 20, file),
            hash: Sha256::new(),
            bytes: 0,
        };
        let writer = match format {
            FileFormat::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(64 * 1024))
                    .set_created_by(format!("atdm {}", env!("CARGO_PKG_VERSION")))
                    .build();
                Writer::Parquet(
                    ArrowWriter::try_new(out, schema, Some(props))
                        .map_err(|e| failed(&partial, e))?,
                )
            }
            FileFormat::Csv => {
                Writer::Csv(arrow_csv::WriterBuilder::new().with_header(true).build(out))
            }
            FileFormat::Jsonl => Writer::Jsonl(arrow_json::LineDelimitedWriter::new(out)),
            FileFormat::Sql(d) => Writer::Sql(
                SqlScript::start(out, d, table, &schema).map_err(|e| failed(&partial, e))?,
            ),
        };
        Ok(Sink {
            writer,
            partial,
            path: path.to_path_buf(),
        })
    }

    /// Appends a batch.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), crate::Error> {
        let r = match &mut self.writer {
            Writer::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
            Writer::Csv(w) => w.write(batch).map_err(|e| e.to_string()),
            Writer::Jsonl(w) => w.write(batch).map_err(|e| e.to_string()),
            Writer::Sql(w) => w.write(batch).map_err(|e| e.to_string()),
        };
        r.map_err(|e| failed(&self.partial, e))
    }

    /// Ends the file and gives it its name.
    pub(crate) fn finish(self) -> Result<Written, crate::Error> {
        let partial = self.partial.clone();
        let fail = |e: String| failed(&partial, e);
        let out: Out = match self.writer {
            Writer::Parquet(w) => w.into_inner().map_err(|e| fail(e.to_string()))?,
            Writer::Csv(w) => w.into_inner(),
            Writer::Jsonl(mut w) => {
                w.finish().map_err(|e| fail(e.to_string()))?;
                w.into_inner()
            }
            Writer::Sql(w) => w.finish().map_err(|e| fail(e.to_string()))?,
        };
        let Hashing {
            inner, hash, bytes, ..
        } = out;
        let file = inner
            .into_inner()
            .map_err(|e| fail(e.error().to_string()))?;
        file.sync_all().map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&self.partial, &self.path).map_err(|e| failed(&self.path, e))?;
        Ok(Written {
            bytes,
            sha256: hex(&hash.finalize()),
        })
    }

    /// Removes the unfinished file (after a failure elsewhere).
    pub(crate) fn abandon(self) {
        let partial = self.partial.clone();
        drop(self);
        let _ = std::fs::remove_file(partial);
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
