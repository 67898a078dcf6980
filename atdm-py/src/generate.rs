//! Whole datasets for Python: any row range of any table as Arrow record batches, so that a
//! distributed engine (Spark's `mapInArrow`, Ray, Dask) makes a huge dataset on many machines
//! and the parts are exactly the single-process rows.

use std::collections::BTreeMap;
use std::path::PathBuf;

use atdm_sqlx::{EdgeCases, GenerateOptions};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::{date_arg, pack_arg, py_err};

/// The rows per table of a `rows` mapping (`{"customer": 1000}`).
fn rows_arg(rows: &Bound<'_, PyDict>) -> PyResult<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for (k, v) in rows.iter() {
        let table: String = k
            .extract()
            .map_err(|_| pyo3::exceptions::PyTypeError::new_err("table names must be str"))?;
        let n: u64 = v.extract().map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "the row count of {table:?} must be a non-negative int"
            ))
        })?;
        out.insert(table, n);
    }
    Ok(out)
}

/// The pack and the options of a call's arguments.
fn generate_args(
    py: Python<'_>,
    rows: &Bound<'_, PyDict>,
    seed: u64,
    reference_date: &Bound<'_, PyAny>,
    scenario_dir: Option<PathBuf>,
    batch_rows: u64,
    edge_cases: &str,
) -> PyResult<(atdm_sqlx::Pack, GenerateOptions)> {
    let pack = pack_arg(py, scenario_dir)?;
    let mut options = GenerateOptions::new(
        rows_arg(rows)?,
        seed,
        date_arg("reference_date", reference_date)?,
    );
    options.batch_rows = batch_rows;
    options.edge_cases = edge_mode(edge_cases)?;
    Ok((pack, options))
}

/// Rows `start` to `stop` (excluded) of `table` in the dataset `rows` (table name to row
/// count) as an Arrow IPC stream: the same rows `atdm generate` writes for the same seed and
/// reference date, whatever range, process or machine makes them. The GIL is released while
/// they are generated.
#[pyfunction]
#[pyo3(signature = (rows, table, start, stop, *, seed, reference_date, scenario_dir=None, batch_rows=65536, edge_cases="none"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn generate_ipc<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyDict>,
    table: &str,
    start: u64,
    stop: Option<u64>,
    seed: u64,
    reference_date: &Bound<'py, PyAny>,
    scenario_dir: Option<PathBuf>,
    batch_rows: u64,
    edge_cases: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let (pack, options) = generate_args(
        py,
        rows,
        seed,
        reference_date,
        scenario_dir,
        batch_rows,
        edge_cases,
    )?;
    let bytes = py
        .detach(|| atdm_sqlx::arrow_ipc(&pack, &options, table, start, stop))
        .map_err(|e| py_err(py, e))?;
    Ok(PyBytes::new(py, &bytes))
}

/// Rows `start` to `stop` of `table` as [`generate_ipc`] makes them, a batch of
/// `batch_rows` rows at a time, each batch its own Arrow IPC stream: only one batch exists
/// at once, whatever the range. The range is checked before the first batch.
#[pyfunction]
#[pyo3(signature = (rows, table, start, stop, *, seed, reference_date, scenario_dir=None, batch_rows=65536, edge_cases="none"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn generate_ipc_batches(
    py: Python<'_>,
    rows: &Bound<'_, PyDict>,
    table: &str,
    start: u64,
    stop: Option<u64>,
    seed: u64,
    reference_date: &Bound<'_, PyAny>,
    scenario_dir: Option<PathBuf>,
    batch_rows: u64,
    edge_cases: &str,
) -> PyResult<IpcBatches> {
    let (pack, options) = generate_args(
        py,
        rows,
        seed,
        reference_date,
        scenario_dir,
        batch_rows,
        edge_cases,
    )?;
    let range = py
        .detach(|| atdm_sqlx::ipc_range(&pack, &options, table, start, stop))
        .map_err(|e| py_err(py, e))?;
    Ok(IpcBatches {
        pack,
        options,
        table: table.to_owned(),
        next: range.start,
        stop: range.end,
    })
}

/// The batches of [`generate_ipc_batches`]: an iterator of Arrow IPC streams.
#[pyclass(module = "atdm._atdm", name = "IpcBatches")]
pub(crate) struct IpcBatches {
    pack: atdm_sqlx::Pack,
    options: GenerateOptions,
    table: String,
    next: u64,
    stop: u64,
}

#[pymethods]
impl IpcBatches {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        if self.next >= self.stop {
            return Ok(None);
        }
        let end = self
            .stop
            .min(self.next.saturating_add(self.options.batch_rows));
        let (pack, options, table, start) = (&self.pack, &self.options, &*self.table, self.next);
        let bytes = py
            .detach(|| atdm_sqlx::arrow_ipc(pack, options, table, start, Some(end)))
            .map_err(|e| py_err(py, e))?;
        self.next = end;
        Ok(Some(PyBytes::new(py, &bytes)))
    }
}

/// An `edge_cases` argument: `"none"`, `"valid"` or `"dangerous"`.
pub(crate) fn edge_mode(text: &str) -> PyResult<EdgeCases> {
    match text {
        "none" => Ok(EdgeCases::None),
        "valid" => Ok(EdgeCases::Valid),
        "dangerous" => Ok(EdgeCases::Dangerous),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "edge_cases must be \"none\", \"valid\" or \"dangerous\", not {other:?}"
        ))),
    }
}

/// The rows of part `part` (from 0) of `parts` of a table of `rows` rows, as `(start, stop)`:
/// the ranges `atdm generate --parts N --part K` writes.
#[pyfunction]
pub(crate) fn part_range(rows: u64, parts: u64, part: u64) -> PyResult<(u64, u64)> {
    if parts == 0 || part >= parts {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "part {part} is not one of the {parts} parts (0 to {})",
            parts.saturating_sub(1)
        )));
    }
    let r = atdm_core::generate::part_range(rows, parts, part);
    Ok((r.start, r.end))
}
