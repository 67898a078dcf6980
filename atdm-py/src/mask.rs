//! Masking for Python: `Engine.mask(...)` and `suggest_mask_rules(...)`, the same jobs as
//! `atdm mask` (see docs/mask.md).

use std::path::PathBuf;

use atdm_core::mask::{MaskKey, Rules};
use atdm_sqlx::FileFormat;
use atdm_sqlx::mask::{MaskJob, MaskTarget};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sha2::{Digest, Sha256};

use crate::{block_on, py_err};

/// The job `Engine.mask` runs: `rules` is the rules file's path, `key` the secret (else
/// `ATDM_MASK_KEY`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn job(
    py: Python<'_>,
    source: &str,
    to: &str,
    rules: PathBuf,
    key: Option<String>,
    create: bool,
    verify: bool,
    format: &str,
    force: bool,
    sample_rows: usize,
) -> PyResult<MaskJob> {
    let io = |m: String| {
        py_err(
            py,
            atdm_sqlx::Error::Io {
                path: rules.clone(),
                message: m,
            },
        )
    };
    let bytes = std::fs::read(&rules).map_err(|e| io(e.to_string()))?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| io("not UTF-8".into()))?;
    let parsed = Rules::from_toml(&text, &rules.display().to_string())
        .map_err(|e| py_err(py, atdm_sqlx::Error::Mask(e)))?;
    let secret = match key {
        Some(k) => k,
        None => std::env::var("ATDM_MASK_KEY").map_err(|_| {
            PyValueError::new_err(
                "no masking key: pass key= or set ATDM_MASK_KEY (at least 16 characters)",
            )
        })?,
    };
    let key = MaskKey::from_secret(&secret).map_err(|e| py_err(py, atdm_sqlx::Error::Mask(e)))?;
    let target = if atdm_sqlx::mask::is_database_url(to) {
        MaskTarget::Database {
            url: to.to_owned(),
            create,
        }
    } else {
        MaskTarget::Files {
            dir: PathBuf::from(to),
            format: match format {
                "parquet" => FileFormat::Parquet,
                "csv" => FileFormat::Csv,
                "jsonl" => FileFormat::Jsonl,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "format={other:?}: use \"parquet\", \"csv\" or \"jsonl\""
                    )));
                }
            },
            force,
        }
    };
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut job = MaskJob::new(source, target, parsed, sha, key);
    job.verify = verify;
    job.sample_rows = sample_rows;
    Ok(job)
}

/// A starting rules file for the database at `source`: a rule for every column detection
/// finds sensitive, with why (never a value). Read every rule before using it.
#[pyfunction]
#[pyo3(signature = (source, *, sample_rows=1000))]
pub(crate) fn suggest_mask_rules(
    py: Python<'_>,
    source: &str,
    sample_rows: usize,
) -> PyResult<String> {
    let (text, _) = block_on(
        py,
        atdm_sqlx::mask::suggest(
            source,
            &atdm_sqlx::IntrospectOptions::default(),
            sample_rows,
        ),
    )
    .map_err(|e| py_err(py, e))?;
    Ok(text)
}
