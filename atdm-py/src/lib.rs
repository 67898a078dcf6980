//! # atdm-py: the ATDM engine for Python
//!
//! The compiled module `atdm._atdm` (PyO3, built with maturin into an abi3 wheel for CPython
//! 3.9 and newer). It is private: Python code imports the pure-Python package `atdm`, which
//! re-exports the engine and the exceptions, carries the typing stubs, and registers the
//! pytest plugin.
//!
//! Everything here is a thin layer over [`atdm_sqlx::Engine`]: arguments become a
//! [`atdm_sqlx::Request`], results become plain Python values (the engine's own serde form),
//! and [`atdm_sqlx::Error`] becomes an exception of the `AtdmError` hierarchy, one class per
//! error code. The GIL is released for all database and store work, and one engine may be
//! used from many threads: its calls run on one shared tokio runtime.

mod generate;
mod mask;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use atdm_core::domains::healthcare;
use atdm_core::{Constraints, Pack, RunContext, Value};
use atdm_sqlx::{Engine, Request, SnapshotOptions};
use chrono::NaiveDate;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

create_exception!(
    atdm,
    AtdmError,
    PyException,
    "An ATDM error. `code` is the stable error code (`TOKEN_MISMATCH`); `run_id` names the run where the error is about one (else None)."
);
create_exception!(
    atdm,
    ScenarioNotFound,
    AtdmError,
    "No scenario has this id; the message names close matches."
);
create_exception!(
    atdm,
    InvalidConstraint,
    AtdmError,
    "A constraint key is unknown or its value is not allowed; the message lists the allowed values."
);
create_exception!(
    atdm,
    ValidatorRejected,
    AtdmError,
    "The validator gate refused the plan and nothing was written; `failures` lists each finding."
);
create_exception!(
    atdm,
    SeedFailed,
    AtdmError,
    "The database refused the plan; the transaction rolled back and nothing was written."
);
create_exception!(atdm, RunNotFound, AtdmError, "No run has this id.");
create_exception!(
    atdm,
    TokenMismatch,
    AtdmError,
    "The cleanup token does not belong to the run; nothing was deleted."
);
create_exception!(
    atdm,
    ConfirmRequired,
    AtdmError,
    "A destructive action needs confirm=True."
);
create_exception!(
    atdm,
    NoBaseline,
    AtdmError,
    "No baseline exists yet; take one with snapshot()."
);
create_exception!(
    atdm,
    BaselineNotFound,
    AtdmError,
    "No baseline has this id; the message lists the ones there are."
);
create_exception!(
    atdm,
    InvalidScenario,
    AtdmError,
    "A scenario file or schema cannot be loaded; the message names the file and field."
);
create_exception!(
    atdm,
    InvalidUrl,
    AtdmError,
    "A database or store URL is malformed or not supported."
);
create_exception!(
    atdm,
    DatabaseError,
    AtdmError,
    "The database failed outside a seed (unreachable, refused a statement)."
);
create_exception!(
    atdm,
    NoScenarioDir,
    AtdmError,
    "The database is not the embedded default and no scenario directory was given; nothing was created. Write one with atdm.introspect(database_url, out_dir) and pass scenario_dir=, or name a built-in pack with pack=\"healthcare\"."
);
create_exception!(
    atdm,
    UnknownPack,
    AtdmError,
    "No built-in pack has this name; the message lists the ones there are."
);
create_exception!(
    atdm,
    FilesExist,
    AtdmError,
    "Writing the scenario directory would overwrite files (named in the message); nothing was written. Pass force=True to overwrite them."
);
create_exception!(
    atdm,
    InvalidDataset,
    AtdmError,
    "A dataset cannot be generated as asked: an unknown table, a row count out of range, a foreign key to a table without rows, or a unique key with too few combinations; the message says which. Nothing was written."
);
create_exception!(
    atdm,
    InvalidMask,
    AtdmError,
    "A masking job cannot run as asked: a malformed rules file, a short key, a rule that does not fit its column, a target that is not empty. Nothing was written."
);
create_exception!(
    atdm,
    UnmaskedSensitive,
    AtdmError,
    "Columns that hold personal data have no masking rule (the message names each with a suggested rule); nothing was written."
);
create_exception!(
    atdm,
    AuditStoreError,
    AtdmError,
    "The audit store failed; when it happens before an action, the action did not happen."
);

/// The runtime every engine call runs on (two worker threads; calls from many Python threads
/// share it).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("atdm")
            .enable_all()
            .build()
            .expect("a tokio runtime starts")
    })
}

/// Runs `f` on the runtime with the GIL released.
fn block_on<F>(py: Python<'_>, f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    py.detach(|| runtime().block_on(f))
}

/// The Python exception for an engine error, with `code`, `run_id` and (for a rejected
/// plan) `failures` set on it.
fn py_err(py: Python<'_>, e: atdm_sqlx::Error) -> PyErr {
    use atdm_core::ErrorCode as C;
    let msg = e.to_string();
    let code = e.code();
    let err = match code {
        C::ScenarioNotFound => ScenarioNotFound::new_err(msg),
        C::InvalidConstraint => InvalidConstraint::new_err(msg),
        C::ValidatorRejected => ValidatorRejected::new_err(msg),
        C::SeedFailed => SeedFailed::new_err(msg),
        C::RunNotFound => RunNotFound::new_err(msg),
        C::TokenMismatch => TokenMismatch::new_err(msg),
        C::ConfirmRequired => ConfirmRequired::new_err(msg),
        C::NoBaseline => NoBaseline::new_err(msg),
        C::BaselineNotFound => BaselineNotFound::new_err(msg),
        C::InvalidScenario | C::InvalidSchema => InvalidScenario::new_err(msg),
        C::InvalidUrl => InvalidUrl::new_err(msg),
        C::DatabaseError => DatabaseError::new_err(msg),
        C::AuditStoreError => AuditStoreError::new_err(msg),
        C::NoScenarioDir => NoScenarioDir::new_err(msg),
        C::UnknownPack => UnknownPack::new_err(msg),
        C::FilesExist => FilesExist::new_err(msg),
        C::InvalidDataset => InvalidDataset::new_err(msg),
        C::InvalidMask => InvalidMask::new_err(msg),
        C::UnmaskedSensitive => UnmaskedSensitive::new_err(msg),
        _ => AtdmError::new_err(msg),
    };
    let failures = match &e {
        atdm_sqlx::Error::Core(atdm_core::Error::Rejected(r)) => {
            serde_json::to_value(&r.failures).unwrap_or_default()
        }
        _ => serde_json::Value::Array(Vec::new()),
    };
    let value = err.value(py);
    let set = || -> PyResult<()> {
        value.setattr("code", code.as_str())?;
        value.setattr("run_id", e.run_id())?;
        value.setattr("failures", json_to_py(py, &failures)?)?;
        Ok(())
    };
    match set() {
        Ok(()) => err,
        Err(other) => other,
    }
}

/// A JSON value as plain Python values (dict, list, str, int, float, bool, None).
fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => py.None().into_bound(py),
        J::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        J::String(s) => PyString::new(py, s).into_any(),
        J::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        J::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// A serializable engine result as plain Python values.
fn to_py<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(v)
        .map_err(|e| PyValueError::new_err(format!("cannot convert a result: {e}")))?;
    json_to_py(py, &json)
}

/// A date from `datetime.date` or `"YYYY-MM-DD"`.
fn date_arg(name: &str, v: &Bound<'_, PyAny>) -> PyResult<NaiveDate> {
    let text: String = if let Ok(s) = v.cast::<PyString>() {
        s.to_string()
    } else if v.hasattr("isoformat")? && !v.hasattr("hour")? {
        v.call_method0("isoformat")?.extract()?
    } else {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a datetime.date or a \"YYYY-MM-DD\" string, not {}",
            v.get_type().name()?
        )));
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| {
        PyValueError::new_err(format!("{name} {text:?} is not a date (YYYY-MM-DD): {e}"))
    })
}

/// One constraint value: str, bool, int, float, decimal.Decimal, datetime.date or None.
fn value_arg(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if v.cast::<PyInt>().is_ok() {
        let i: i64 = v.extract().map_err(|_| {
            PyValueError::new_err(format!(
                "constraint {key:?}: the integer is out of range (64-bit)"
            ))
        })?;
        return Ok(Value::Int(i));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::Text(s.to_string()));
    }
    let type_name = v.get_type().name()?.to_string();
    if v.cast::<PyFloat>().is_ok() || type_name == "Decimal" {
        let text = v.str()?.to_string();
        return text.parse().map(Value::Numeric).map_err(|_| {
            PyValueError::new_err(format!("constraint {key:?}: {text} is not a finite number"))
        });
    }
    if type_name == "date" {
        return Ok(Value::Date(date_arg(key, v)?));
    }
    Err(PyTypeError::new_err(format!(
        "constraint {key:?}: a value of type {type_name} cannot be a constraint; use str, bool, int, float, decimal.Decimal, datetime.date or None"
    )))
}

fn constraints_arg(c: Option<&Bound<'_, PyDict>>) -> PyResult<Constraints> {
    let mut out = Constraints::new();
    if let Some(d) = c {
        for (k, v) in d.iter() {
            let key: String = k
                .extract()
                .map_err(|_| PyTypeError::new_err("constraint keys must be str"))?;
            let value = value_arg(&key, &v)?;
            out.insert(key, value);
        }
    }
    Ok(out)
}

/// The pack of `plan_json`, which needs no database: the scenario directory's, or the
/// healthcare pack.
fn pack_arg(py: Python<'_>, scenario_dir: Option<PathBuf>) -> PyResult<Pack> {
    match scenario_dir {
        Some(dir) => atdm_sqlx::pack_from_dir(&dir).map_err(|e| py_err(py, e)),
        None => Ok(healthcare::pack()),
    }
}

/// The ATDM engine: one database, one pack of scenarios.
///
/// Safe to share between threads; every call releases the GIL while it waits for the
/// database or the store.
#[pyclass(frozen, module = "atdm._atdm", name = "Engine")]
struct PyEngine {
    engine: Engine,
}

#[pymethods]
impl PyEngine {
    /// The pack is the scenario directory's (`scenario_dir`, else `ATDM_SCENARIO_DIR`), else
    /// the built-in pack `pack` names (else `ATDM_PACK`), else the healthcare demo pack on the
    /// embedded default database only; on any other database it is `NoScenarioDir`, raised
    /// before anything connects.
    #[new]
    #[pyo3(signature = (database_url=None, store_url=None, fixture_dir=None, reference_date=None, invoker=None, *, scenario_dir=None, pack=None, lease_seconds=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        database_url: Option<String>,
        store_url: Option<String>,
        fixture_dir: Option<PathBuf>,
        reference_date: Option<&Bound<'_, PyAny>>,
        invoker: Option<String>,
        scenario_dir: Option<PathBuf>,
        pack: Option<String>,
        lease_seconds: Option<f64>,
    ) -> PyResult<Self> {
        let pack = atdm_sqlx::resolve_pack(
            database_url.as_deref(),
            scenario_dir.as_deref(),
            pack.as_deref(),
        )
        .map_err(|e| py_err(py, e))?;
        let mut b = Engine::builder(pack);
        if let Some(u) = database_url {
            b = b.database_url(u);
        }
        if let Some(u) = store_url {
            b = b.store_url(u);
        }
        if let Some(d) = fixture_dir {
            b = b.fixture_dir(d);
        }
        if let Some(d) = reference_date {
            b = b.reference_date(date_arg("reference_date", d)?);
        }
        if let Some(i) = invoker {
            b = b.invoker(i);
        }
        if let Some(s) = lease_seconds {
            if !(s.is_finite() && s > 0.0) {
                return Err(PyValueError::new_err(format!(
                    "lease_seconds must be a positive number of seconds, not {s}"
                )));
            }
            b = b.lease(Duration::from_secs_f64(s));
        }
        let engine = block_on(py, b.connect()).map_err(|e| py_err(py, e))?;
        Ok(PyEngine { engine })
    }

    /// The database URL, without its password.
    #[getter]
    fn database(&self) -> String {
        self.engine.database().to_owned()
    }

    /// The store URL of the audit trail and baselines.
    #[getter]
    fn store(&self) -> String {
        self.engine.store().url().to_owned()
    }

    fn __repr__(&self) -> String {
        format!(
            "atdm.Engine(database={:?}, pack={:?})",
            self.engine.database(),
            self.engine.pack().name()
        )
    }

    /// Seeds a scenario in one transaction and returns the run: run_id, request_id, data (the
    /// entity keys), token (shown once), rows, seed, reference_date, lease_expires_at,
    /// fixtures.
    #[pyo3(signature = (scenario, constraints=None, *, seed=None, reference_date=None, invoker=None, playwright=false, pytest=false, edge_cases="none"))]
    #[allow(clippy::too_many_arguments)]
    fn request<'py>(
        &self,
        py: Python<'py>,
        scenario: &str,
        constraints: Option<&Bound<'py, PyDict>>,
        seed: Option<u64>,
        reference_date: Option<&Bound<'py, PyAny>>,
        invoker: Option<String>,
        playwright: bool,
        pytest: bool,
        edge_cases: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut r = Request::new();
        r.edge_cases = generate::edge_mode(edge_cases)?;
        r.constraints = constraints_arg(constraints)?;
        r.seed = seed;
        r.reference_date = reference_date
            .map(|d| date_arg("reference_date", d))
            .transpose()?;
        r.invoker = invoker;
        r.playwright = playwright;
        r.pytest = pytest;
        let seeded = block_on(py, self.engine.request(scenario, r)).map_err(|e| py_err(py, e))?;
        to_py(py, &seeded)
    }

    /// Plans and validates without writing to the database: the plan that a request would
    /// seed (under a fresh run id), or the error it would fail with. With `explain=True`,
    /// each table of the plan also has `sources`: where every value came from, row by row.
    #[pyo3(signature = (scenario, constraints=None, *, seed=None, reference_date=None, explain=false, edge_cases="none"))]
    #[allow(clippy::too_many_arguments)]
    fn plan<'py>(
        &self,
        py: Python<'py>,
        scenario: &str,
        constraints: Option<&Bound<'py, PyDict>>,
        seed: Option<u64>,
        reference_date: Option<&Bound<'py, PyAny>>,
        explain: bool,
        edge_cases: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut r = Request::new();
        r.edge_cases = generate::edge_mode(edge_cases)?;
        r.constraints = constraints_arg(constraints)?;
        r.seed = seed;
        r.reference_date = reference_date
            .map(|d| date_arg("reference_date", d))
            .transpose()?;
        let planned = if explain {
            block_on(py, self.engine.explain(scenario, r))
        } else {
            block_on(py, self.engine.plan(scenario, r))
        };
        let v = planned.map_err(|e| py_err(py, e))?;
        let plan: serde_json::Value = serde_json::from_str(&v.plan().to_json())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let out = serde_json::json!({ "plan": plan, "validators": v.validators() });
        json_to_py(py, &out)
    }

    /// Deletes exactly the rows of a run if `token` is its cleanup token.
    fn reset_run<'py>(
        &self,
        py: Python<'py>,
        run_id: &str,
        token: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = block_on(py, self.engine.reset_run(run_id, token)).map_err(|e| py_err(py, e))?;
        to_py(py, &r)
    }

    /// Extends a ready run's lease to a full lease from now, so that a long test is not
    /// reaped while it runs; returns when the lease now ends (RFC 3339, UTC).
    fn renew_lease(&self, py: Python<'_>, run_id: &str, token: &str) -> PyResult<String> {
        let until =
            block_on(py, self.engine.renew_lease(run_id, token)).map_err(|e| py_err(py, e))?;
        Ok(until.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    }

    /// How long a run's lease lasts, in seconds.
    #[getter]
    fn lease_seconds(&self) -> f64 {
        self.engine.lease().as_secs_f64()
    }

    /// Deletes every row owned by any run; needs confirm=True.
    #[pyo3(signature = (*, confirm=false))]
    fn reset_all<'py>(&self, py: Python<'py>, confirm: bool) -> PyResult<Bound<'py, PyAny>> {
        let r = block_on(py, self.engine.reset_all(confirm.into())).map_err(|e| py_err(py, e))?;
        to_py(py, &r)
    }

    /// Resets every run whose lease has passed.
    fn reap_expired<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = block_on(py, self.engine.reap_expired()).map_err(|e| py_err(py, e))?;
        to_py(py, &r)
    }

    /// Every run in the catalog, oldest first.
    fn runs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = block_on(py, self.engine.runs()).map_err(|e| py_err(py, e))?;
        to_py(py, &r)
    }

    /// Snapshots every table to a baseline in the store and returns its manifest.
    #[pyo3(signature = (id=None, *, tags=None))]
    fn snapshot<'py>(
        &self,
        py: Python<'py>,
        id: Option<String>,
        tags: Option<std::collections::BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut o = SnapshotOptions::new();
        if let Some(id) = id {
            o = o.id(id);
        }
        for (k, v) in tags.unwrap_or_default() {
            o = o.tag(k, v);
        }
        let m = block_on(py, self.engine.snapshot(o)).map_err(|e| py_err(py, e))?;
        to_py(py, &m)
    }

    /// Restores a baseline (the newest when no id is given) in one transaction.
    #[pyo3(signature = (id=None))]
    fn restore<'py>(&self, py: Python<'py>, id: Option<String>) -> PyResult<Bound<'py, PyAny>> {
        let r = block_on(py, self.engine.restore(id.as_deref())).map_err(|e| py_err(py, e))?;
        to_py(py, &r)
    }

    /// Every baseline's manifest, newest first.
    fn list_baselines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = block_on(py, self.engine.list_baselines()).map_err(|e| py_err(py, e))?;
        to_py(py, &r)
    }

    /// What changed between two baselines, per table, by primary key.
    fn diff_baselines<'py>(
        &self,
        py: Python<'py>,
        from_id: &str,
        to_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r =
            block_on(py, self.engine.diff_baselines(from_id, to_id)).map_err(|e| py_err(py, e))?;
        to_py(py, &r)
    }

    /// A run's audit trail: run_id, location, events (oldest first).
    fn audit<'py>(&self, py: Python<'py>, run_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let r = block_on(py, self.engine.audit(run_id)).map_err(|e| py_err(py, e))?;
        to_py(py, &r)
    }

    /// Copies the database at `source` into `to` (a database URL, or a directory for files)
    /// with every column the rules file `rules` names transformed under `key` (else
    /// `ATDM_MASK_KEY`), keeping the subset the rules ask for; with `verify`, checks the copy
    /// (see `report["verification"]["passed"]`). Recorded in this engine's audit trail.
    /// Raises `UnmaskedSensitive` for a sensitive column without a rule and `InvalidMask` for
    /// rules, keys and targets that cannot be used, both before anything is written.
    #[pyo3(signature = (source, to, rules, *, key=None, create=false, verify=false, format="parquet", force=false, sample_rows=1000))]
    #[allow(clippy::too_many_arguments)]
    fn mask<'py>(
        &self,
        py: Python<'py>,
        source: &str,
        to: &str,
        rules: PathBuf,
        key: Option<String>,
        create: bool,
        verify: bool,
        format: &str,
        force: bool,
        sample_rows: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let job = mask::job(
            py,
            source,
            to,
            rules,
            key,
            create,
            verify,
            format,
            force,
            sample_rows,
        )?;
        let r = block_on(py, self.engine.mask(&job, &|_| {})).map_err(|e| py_err(py, e))?;
        to_py(py, &r)
    }

    /// A run's audit page: one self-contained HTML document.
    fn audit_html(&self, py: Python<'_>, run_id: &str) -> PyResult<String> {
        block_on(py, self.engine.audit_html(run_id)).map_err(|e| py_err(py, e))
    }

    /// What the tests have exercised, from the scenarios and the audit trail: per
    /// requirement id, scenario and closed knob value, the runs that covered it, what never
    /// was (`gaps`), and one figure (`coverage`, a percentage). `requirements` names ids the
    /// tests should cover besides those scenarios link.
    #[pyo3(signature = (requirements=None))]
    fn coverage<'py>(
        &self,
        py: Python<'py>,
        requirements: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ids = requirements.unwrap_or_default();
        let r = block_on(py, self.engine.coverage(&ids)).map_err(|e| py_err(py, e))?;
        to_py(py, &r)
    }

    /// The coverage page: one self-contained HTML document of [`coverage`]'s report.
    #[pyo3(signature = (requirements=None))]
    fn coverage_html(&self, py: Python<'_>, requirements: Option<Vec<String>>) -> PyResult<String> {
        let ids = requirements.unwrap_or_default();
        let r = block_on(py, self.engine.coverage(&ids)).map_err(|e| py_err(py, e))?;
        Ok(atdm_core::coverage::render_html(&r))
    }

    /// Every scenario of the pack, described (id, description, knobs, rows, validators).
    fn scenarios<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let pack = self.engine.pack();
        let all = pack
            .catalog()
            .list()
            .map(|s| pack.describe(&s.id))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| py_err(py, e.into()))?;
        to_py(py, &all)
    }

    /// One scenario, described.
    fn describe<'py>(&self, py: Python<'py>, scenario: &str) -> PyResult<Bound<'py, PyAny>> {
        let d = self
            .engine
            .pack()
            .describe(scenario)
            .map_err(|e| py_err(py, e.into()))?;
        to_py(py, &d)
    }

    /// Scenarios that match an intent ("a member whose claim was denied"), best first.
    #[pyo3(signature = (intent, limit=5))]
    fn find_scenarios<'py>(
        &self,
        py: Python<'py>,
        intent: &str,
        limit: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.engine.pack().catalog().find(intent, limit))
    }

    /// The engine's metrics in the Prometheus text format.
    fn metrics_text(&self) -> String {
        self.engine.metrics_text()
    }

    /// Writes what waits for the audit store (the database's audit outbox, and events kept
    /// after a failed write); raises AuditStoreError if some are still unwritten.
    fn flush_audit(&self, py: Python<'_>) -> PyResult<()> {
        block_on(py, self.engine.flush_audit()).map_err(|e| py_err(py, e))
    }

    /// Closes the connection pool.
    fn close(&self, py: Python<'_>) {
        block_on(py, self.engine.close())
    }
}

/// The plan of a scenario as canonical JSON text, without a database: the same bytes the Rust
/// planner gives for the same scenario, constraints, run id, seed and reference date.
#[pyfunction]
#[pyo3(signature = (scenario, run_id, reference_date, constraints=None, *, seed=None, scenario_dir=None))]
fn plan_json(
    py: Python<'_>,
    scenario: &str,
    run_id: &str,
    reference_date: &Bound<'_, PyAny>,
    constraints: Option<&Bound<'_, PyDict>>,
    seed: Option<u64>,
    scenario_dir: Option<PathBuf>,
) -> PyResult<String> {
    let pack = pack_arg(py, scenario_dir)?;
    let mut ctx = RunContext::new(run_id, date_arg("reference_date", reference_date)?);
    if let Some(s) = seed {
        ctx = ctx.with_seed(s);
    }
    let c = constraints_arg(constraints)?;
    let plan = pack
        .plan_validated(scenario, &c, &ctx, &Default::default())
        .map_err(|e| py_err(py, e.into()))?;
    Ok(plan.plan().to_json())
}

/// Reads the schema of the database at `database_url` and writes a scenario directory for it
/// into `out_dir`: `schema.toml`, the scenario `every_table` (one valid row in every table
/// that can hold one) and `one_<table>` per table. Returns what was written (files,
/// scenarios, tables left out of every_table and why, introspection notes). Existing files
/// raise `FilesExist` unless `force=True`. `schemas` (PostgreSQL) reads only the schemas
/// named; by default every non-system schema is read.
#[pyfunction]
#[pyo3(signature = (database_url, out_dir, *, name=None, force=false, schemas=None))]
fn introspect<'py>(
    py: Python<'py>,
    database_url: &str,
    out_dir: PathBuf,
    name: Option<String>,
    force: bool,
    schemas: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut options = atdm_sqlx::ScaffoldOptions::new().force(force);
    for s in schemas.unwrap_or_default() {
        options = options.schema(s);
    }
    if let Some(n) = name {
        options = options.name(n);
    }
    let report = block_on(py, atdm_sqlx::scaffold(database_url, &out_dir, &options))
        .map_err(|e| py_err(py, e))?;
    to_py(py, &report)
}

/// The compiled half of the `atdm` package. Import `atdm`, not this module.
#[pymodule]
#[pyo3(name = "_atdm")]
fn atdm_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyEngine>()?;
    m.add_function(wrap_pyfunction!(plan_json, m)?)?;
    m.add_function(wrap_pyfunction!(introspect, m)?)?;
    m.add_function(wrap_pyfunction!(generate::generate_ipc, m)?)?;
    m.add_function(wrap_pyfunction!(generate::generate_ipc_batches, m)?)?;
    m.add_class::<generate::IpcBatches>()?;
    m.add_function(wrap_pyfunction!(generate::part_range, m)?)?;
    m.add_function(wrap_pyfunction!(mask::suggest_mask_rules, m)?)?;
    m.add("AtdmError", py.get_type::<AtdmError>())?;
    m.add("ScenarioNotFound", py.get_type::<ScenarioNotFound>())?;
    m.add("InvalidConstraint", py.get_type::<InvalidConstraint>())?;
    m.add("ValidatorRejected", py.get_type::<ValidatorRejected>())?;
    m.add("SeedFailed", py.get_type::<SeedFailed>())?;
    m.add("RunNotFound", py.get_type::<RunNotFound>())?;
    m.add("TokenMismatch", py.get_type::<TokenMismatch>())?;
    m.add("ConfirmRequired", py.get_type::<ConfirmRequired>())?;
    m.add("NoBaseline", py.get_type::<NoBaseline>())?;
    m.add("BaselineNotFound", py.get_type::<BaselineNotFound>())?;
    m.add("InvalidScenario", py.get_type::<InvalidScenario>())?;
    m.add("InvalidUrl", py.get_type::<InvalidUrl>())?;
    m.add("DatabaseError", py.get_type::<DatabaseError>())?;
    m.add("AuditStoreError", py.get_type::<AuditStoreError>())?;
    m.add("NoScenarioDir", py.get_type::<NoScenarioDir>())?;
    m.add("UnknownPack", py.get_type::<UnknownPack>())?;
    m.add("FilesExist", py.get_type::<FilesExist>())?;
    m.add("InvalidDataset", py.get_type::<InvalidDataset>())?;
    m.add("InvalidMask", py.get_type::<InvalidMask>())?;
    m.add("UnmaskedSensitive", py.get_type::<UnmaskedSensitive>())?;
    m.add("GENERATOR_VERSION", atdm_core::generate::GENERATOR_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
