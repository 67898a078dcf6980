//! Writing a masked copy as files: one per table (Parquet, CSV, JSON Lines or a SQL script),
//! each written under a temporary name and renamed when complete, and `manifest.json` last.
//! The manifest holds no time and no key, so the same source, rules and key give the same
//! bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use atdm_core::mask::{MaskPlan, Masker};
use atdm_core::schema::{Schema, Table};
use serde::Serialize;

use super::rows::TableMask;
use super::scan::{self, Rows};
use super::subset::Kept;
use super::{MaskJob, MaskProgress, MaskedTable};
use crate::backend::{Db, ValueForms};
use crate::baseline::codec::{ColSpec, specs, stored_value};
use crate::baseline::objects::build_batch;
use crate::error::Error;
use crate::generate::sinks::{Place, Sink};
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
        let mut sink = Sink::create(
            Place::Dir(&path),
            path.clone(),
            format,
            t,
            Arc::clone(&arrow),
        )?;
        let mask = TableMask::new(
            t,
            &plan.tables[&t.name],
            masker,
            kept.and_then(|k| k.get(&t.name)),
        );
        let source_rows = scan::count(&mut read, source, t).await?;
        let all: Vec<usize> = (0..t.columns.len()).collect();
        let mut rows = Rows::open(&mut read, source, t, &all).await?;
        let mut count = 0u64;
        let outcome: Result<(), Error> = async {
            while let Some(chunk) = rows.next_chunk().await? {
                let masked = mask.mask(chunk)?;
                if masked.is_empty() {
                    continue;
                }
                let stored = masked
                    .into_iter()
                    .map(|row| {
                        row.into_iter()
                            .zip(&cols)
                            .map(|(v, c)| stored_value(v, c))
                            .collect::<Result<Vec<_>, String>>()
                    })
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(|m| Error::MaskFailed {
                        message: format!("table {}: {m}", t.name),
                    })?;
                let batch = build_batch(&cols, &stored).map_err(|m| Error::MaskFailed {
                    message: format!("table {}: {m}", t.name),
                })?;
                sink.write(&batch)?;
                count += stored.len() as u64;
                progress(MaskProgress {
                    table: &t.name,
                    done: count,
                });
            }
            Ok(())
        }
        .await;
        drop(rows);
        if let Err(e) = outcome {
            sink.abandon();
            return Err(e);
        }
        let written = sink.finish()?;
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
