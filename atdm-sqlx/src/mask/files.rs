//! Writing a masked copy as files: one per table (Parquet, CSV, JSON Lines or a SQL script),
//! each written under a temporary name and renamed when complete, and `manifest.json` last.
//! The manifest holds no time and no key, so the same source, rules and key give the same
//! bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use atdm_core::Value;
use atdm_core::mask::{MaskPlan, Masker};
use atdm_core::schema::{Schema, Table};
use serde::Serialize;

use super::rows::{self, TableMask, Work};
use super::scan::Rows;
use super::subset::Kept;
use super::{MaskJob, MaskProgress, MaskedTable};
use crate::backend::{Db, ValueForms};
use crate::baseline::codec::{ColSpec, specs, stored_value};
use crate::baseline::objects::build_batch;
use crate::error::Error;
use crate::generate::sinks::{Place, Sink, Written};
use crate::generate::{Destination, FileFormat, put_whole};

/// How values are typed in files: 32-bit integers, uuid and json as text.
const FILE_FORMS: ValueForms = ValueForms {
    integer_is_64_bit: false,
    uuid_json_as_text: true,
};

/// The manifest's name.
pub(super) const MANIFEST: &str = "manifest.json";

/// A table's file name.
pub(super) fn file_name(t: &Table, format: FileFormat) -> String {
    format!("{}.{}", t.name, format.extension())
}

/// How a table's values are written to files.
pub(super) fn file_specs(t: &Table) -> Vec<ColSpec> {
    specs(t, FILE_FORMS)
}

/// Fails with [`Error::FilesExist`] when any file the job would write exists (unless
/// `force`).
pub(super) fn check(
    dir: &Path,
    schema: &Schema,
    format: FileFormat,
    force: bool,
) -> Result<(), Error> {
    if force {
        return Ok(());
    }
    let mut names: Vec<String> = schema.tables.iter().map(|t| file_name(t, format)).collect();
    names.push(MANIFEST.to_owned());
    let existing: Vec<PathBuf> = names
        .iter()
        .filter(|n| dir.join(n).exists())
        .map(PathBuf::from)
        .collect();
    if existing.is_empty() {
        Ok(())
    } else {
        Err(Error::FilesExist {
            dir: dir.to_path_buf(),
            files: existing,
        })
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    kind: &'static str,
    atdm_version: &'static str,
    source: String,
    rules_sha256: &'a str,
    format: String,
    tables: &'a [MaskedTable],
}

/// A table's rows masked and stored in its file, on the masking thread.
struct Store {
    mask: TableMask,
    cols: Vec<ColSpec>,
    sink: Sink,
}

impl Work for Store {
    type Chunk = Vec<Vec<Value>>;
    /// Rows written.
    type Piece = u64;
    type Done = Written;

    fn chunk(
        &mut self,
        rows: Vec<Vec<Value>>,
        out: &tokio::sync::mpsc::Sender<u64>,
    ) -> Result<bool, Error> {
        let masked = self.mask.mask(rows)?;
        if masked.is_empty() {
            return Ok(true);
        }
        let name = &self.mask.table().name;
        let failed = |m: String| Error::MaskFailed {
            message: format!("table {name}: {m}"),
        };
        let stored = masked
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .zip(&self.cols)
                    .map(|(v, c)| stored_value(v, c))
                    .collect::<Result<Vec<_>, String>>()
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(failed)?;
        let batch = build_batch(&self.cols, &stored).map_err(failed)?;
        self.sink.write(&batch)?;
        Ok(out.blocking_send(stored.len() as u64).is_ok())
    }

    fn finish(self) -> Result<Written, Error> {
        self.sink.finish()
    }

    fn abandon(self) {
        self.sink.abandon();
    }
}

/// Writes every table in `order` as a file in `dir`, then the manifest.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write(
    source: &Db,
    dir: &Path,
    format: FileFormat,
    schema: &Schema,
    plan: &MaskPlan,
    masker: &Masker,
    order: &[usize],
    kept: Option<&Kept>,
    job: &MaskJob,
    progress: &(dyn Fn(MaskProgress<'_>) + Sync),
) -> Result<Vec<MaskedTable>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Write {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut read = source
        .begin_snapshot()
        .await
        .map_err(Error::db("cannot open a read transaction on the source"))?;
    let mut done = Vec::new();
    for &ti in order {
        let t = &schema.tables[ti];
        let cols = file_specs(t);
        let arrow = build_batch(&cols, &[])
            .map_err(|m| Error::MaskFailed { message: m })?
            .schema();
        let name = file_name(t, format);
        let path = dir.join(&name);
        let sink = Sink::create(
            Place::Dir(&path),
            path.clone(),
            format,
            t,
            Arc::clone(&arrow),
            crate::generate::ROW_GROUP_ROWS as usize,
        )?;
        let mask = TableMask::new(
            t,
            &plan.tables[&t.name],
            masker,
            kept.and_then(|k| k.get(&t.name)),
        );
        let all: Vec<usize> = (0..t.columns.len()).collect();
        let mut rows = Rows::open(&mut read, source, t, &all).await?;
        // Read here, masked and written on a thread of their own.
        let (input, mut pieces, end) = rows::spawn("atdm-mask", Store { mask, cols, sink })?;
        let mut count = 0u64;
        let report = async {
            while let Some(n) = pieces.recv().await {
                count += n;
                progress(MaskProgress {
                    table: &t.name,
                    done: count,
                });
            }
        };
        let (read_out, ()) = tokio::join!(rows::feed(&mut rows, input), report);
        let written = end.wait().await?;
        let source_rows = read_out?;
        done.push(MaskedTable {
            table: t.name.clone(),
            source_rows,
            rows: count,
            file: Some(name),
            sha256: Some(written.sha256),
        });
    }
    read.commit()
        .await
        .map_err(Error::db("cannot close the read transaction on the source"))?;
    let manifest = Manifest {
        kind: "atdm-mask",
        atdm_version: env!("CARGO_PKG_VERSION"),
        source: crate::redact_url(&job.source),
        rules_sha256: &job.rules_sha256,
        format: format.name(),
        tables: &done,
    };
    let mut text = serde_json::to_string_pretty(&manifest).expect("serializable");
    text.push('\n');
    put_whole(
        &Destination::Dir(dir.to_path_buf()),
        None,
        MANIFEST,
        text.into_bytes(),
    )?;
    Ok(done)
}
