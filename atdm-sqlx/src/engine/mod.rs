//! The engine: the one entry point. Its methods delegate to one module per capability:
//! `request` (plan, validate, seed), `seed` (the seed transaction), `reset` (reset,
//! reset_all, reaping), `setup` (run catalog, pack tables, reference rows) and `existing`
//! (rows a scenario may point at); the run catalog reads are in `crate::catalog`, the audit
//! trail in `crate::audit`, baselines in `crate::baseline`.

mod cycle;
mod existing;
mod lease;
mod load;
mod request;
mod reset;
mod seed;
mod setup;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use atdm_core::Pack;
use atdm_core::schema::{ColumnType, Dialect, Schema, Table};
use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::AuditLog;
use crate::backend::{self, Db};
use crate::catalog::CatalogSql;
use crate::error::Error;
use crate::store::{DEFAULT_STORE_URL, ENV_STORE_URL, Store};

pub(crate) use cycle::check_written;
pub use load::{LOAD_SCENARIO, Load, Loaded, Owned, OwnedValues};
pub use request::{Request, Seeded};
pub use reset::{Confirmation, ResetAllReport, ResetReport, ResetStatus};

/// The database used when no URL is given: an SQLite file in `.atdm/` of the working
/// directory, in WAL mode.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://.atdm/atdm.sqlite";

/// The environment variable read for the database URL when none is given in code.
pub const ENV_DATABASE_URL: &str = "ATDM_DATABASE_URL";

/// How long a run's rows live if nobody resets them (a crashed test): one hour.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(3600);

/// Builds an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    pack: Pack,
    database_url: Option<String>,
    reference_date: Option<NaiveDate>,
    invoker: Option<String>,
    lease: Duration,
    pool_size: u32,
    acquire_timeout: Duration,
    reap_on_start: bool,
    apply_schema: bool,
    full_setup: bool,
    fixture_dir: Option<std::path::PathBuf>,
    store_url: Option<String>,
    store: Option<Store>,
}

impl EngineBuilder {
    /// Where the audit trail (and baselines) are kept: `file://` or a directory path,
    /// `memory://`, or `s3://bucket/prefix` (see [`Store`]). Without one, the engine reads
    /// `ATDM_STORE_URL`, and without that uses `.atdm/store`. A malformed URL fails
    /// [`EngineBuilder::connect`] with [`Error::InvalidUrl`].
    pub fn store_url(mut self, url: impl Into<String>) -> Self {
        self.store_url = Some(url.into());
        self
    }

    /// An already opened store for the audit trail and baselines.
    pub fn store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Where fixture files go when a request asks for them. Without one, the engine reads
    /// `ATDM_FIXTURE_DIR`, and without that uses `.atdm/fixtures`.
    pub fn fixture_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.fixture_dir = Some(dir.into());
        self
    }

    /// The database URL: `sqlite:...`, `postgres://...` or `mysql://...`. Without one, the
    /// engine reads `ATDM_DATABASE_URL`, and without that uses [`DEFAULT_DATABASE_URL`].
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// The reference date ("today") of every run, unless a request gives its own. Default:
    /// the current UTC date when the request is made.
    pub fn reference_date(mut self, d: NaiveDate) -> Self {
        self.reference_date = Some(d);
        self
    }

    /// Who makes the requests, for the run catalog and audit. Default: `$USER`, or `atdm`.
    pub fn invoker(mut self, invoker: impl Into<String>) -> Self {
        self.invoker = Some(invoker.into());
        self
    }

    /// How long a run lives before [`Engine::reap_expired`] removes it. Default: one hour.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The largest number of database connections. Default: 8.
    pub fn pool_size(mut self, n: u32) -> Self {
        self.pool_size = n.max(1);
        self
    }

    /// How long a request waits for a free connection before failing. Default: 30 s.
    pub fn acquire_timeout(mut self, t: Duration) -> Self {
        self.acquire_timeout = t;
        self
    }

    /// Whether to reap expired runs when the engine starts. Default: yes.
    pub fn reap_on_start(mut self, yes: bool) -> Self {
        self.reap_on_start = yes;
        self
    }

    /// Whether to create the pack's tables (`CREATE TABLE IF NOT EXISTS`) and insert its
    /// reference rows (where missing) when the engine starts. Default: yes.
    pub fn apply_schema(mut self, yes: bool) -> Self {
        self.apply_schema = yes;
        self
    }

    /// Whether the start runs the whole setup even when the database holds this setup's
    /// fingerprint and every table it creates is there. Default: no, so that a start that
    /// finds everything in place costs one query (`atdm setup` says yes: an owner's explicit
    /// setup checks everything again, reference rows included).
    pub fn full_setup(mut self, yes: bool) -> Self {
        self.full_setup = yes;
        self
    }

    /// Connects, creates the run catalog, applies the schema and reaps expired runs (as
    /// configured).
    pub async fn connect(self) -> Result<Engine, Error> {
        let url = self
            .database_url
            .clone()
            .or_else(|| {
                std::env::var(ENV_DATABASE_URL)
                    .ok()
                    .filter(|u| !u.trim().is_empty())
            })
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        // The database first: a broken database URL fails before the store's directory is made.
        let db = Db::connect(&url, self.pool_size, self.acquire_timeout).await?;
        let store = match (self.store.clone(), &self.store_url) {
            (Some(s), _) => s,
            (None, Some(url)) => Store::from_url(url)?,
            (None, None) => {
                let url = std::env::var(ENV_STORE_URL)
                    .ok()
                    .filter(|u| !u.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_STORE_URL.to_owned());
                Store::from_url(&url)?
            }
        };
        let catalog = db.catalog();
        let invoker = self
            .invoker
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "atdm".into());
        let engine = Engine {
            caller: None,
            inner: Arc::new(Inner {
                fixture_dir: self
                    .fixture_dir
                    .clone()
                    .or_else(|| {
                        std::env::var_os(crate::fixture_files::ENV_FIXTURE_DIR)
                            .filter(|d| !d.is_empty())
                            .map(Into::into)
                    })
                    .unwrap_or_else(|| crate::fixture_files::DEFAULT_FIXTURE_DIR.into()),
                db,
                catalog,
                audit: AuditLog::new(store),
                pending: std::sync::Mutex::new(Vec::new()),
                outbox_unchecked: std::sync::atomic::AtomicBool::new(true),
                metrics: crate::metrics::Metrics::new(),
                pack: self.pack.clone(),
                url: backend::redact(&url),
                reference_date: self.reference_date,
                invoker,
                lease: self.lease,
            }),
        };
        engine.setup(self.apply_schema, self.full_setup).await?;
        if self.reap_on_start {
            engine.reap_expired().await?;
        }
        Ok(engine)
    }
}

pub(crate) struct Inner {
    pub(crate) fixture_dir: std::path::PathBuf,
    pub(crate) db: Db,
    pub(crate) catalog: CatalogSql,
    pub(crate) audit: AuditLog,
    /// Events written after their action whose write failed; retried before every later write.
    pub(crate) pending: std::sync::Mutex<Vec<Vec<atdm_core::audit::AuditEvent>>>,
    /// The audit outbox may hold batches: true until this engine's first write drains it, and
    /// again after a batch stays there.
    pub(crate) outbox_unchecked: std::sync::atomic::AtomicBool,
    pub(crate) metrics: crate::metrics::Metrics,
    pack: Pack,
    url: String,
    reference_date: Option<NaiveDate>,
    invoker: String,
    lease: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let kept: usize = self
            .pending
            .get_mut()
            .map(|p| p.iter().map(Vec::len).sum())
            .unwrap_or_default();
        if kept > 0 {
            self.metrics.audit_dropped(kept);
            tracing::error!(
                events = kept,
                store = self.audit.store().url(),
                "audit events could not be written before the engine closed; they are lost"
            );
        }
    }
}

/// The engine: one database, one pack. Cheap to clone; share one per process (it holds the
/// connection pool).
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
    /// Who is calling through this handle, when it is not the engine's own invoker (see
    /// [`Engine::as_caller`]).
    pub(crate) caller: Option<Arc<Caller>>,
}

/// The invoker and tool calls that a handle's audit events carry.
#[derive(Debug)]
pub(crate) struct Caller {
    invoker: String,
    pub(crate) tools_called: serde_json::Value,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("database", &self.inner.url)
            .field("pack", &self.inner.pack.name())
            .finish()
    }
}

pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn from_micros(m: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(m).unwrap_or_default()
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system provides randomness");
    b
}

impl Engine {
    /// Starts building an engine for `pack`.
    pub fn builder(pack: Pack) -> EngineBuilder {
        EngineBuilder {
            pack,
            database_url: None,
            reference_date: None,
            invoker: None,
            lease: DEFAULT_LEASE,
            pool_size: 8,
            acquire_timeout: Duration::from_secs(30),
            reap_on_start: true,
            apply_schema: true,
            full_setup: false,
            fixture_dir: None,
            store_url: None,
            store: None,
        }
    }

    /// The pack.
    pub fn pack(&self) -> &Pack {
        &self.inner.pack
    }

    /// The database's dialect.
    pub fn dialect(&self) -> Dialect {
        self.inner.db.dialect()
    }

    /// The database URL, without its password.
    pub fn database(&self) -> &str {
        &self.inner.url
    }

    /// The invoker that audit events name: the caller's (see [`Engine::as_caller`]), or the
    /// engine's own.
    pub fn invoker(&self) -> &str {
        match &self.caller {
            Some(c) => &c.invoker,
            None => &self.inner.invoker,
        }
    }

    /// A handle on the same engine (same pool, same store) whose audit events name `invoker`
    /// and carry `tools_called` (for example `[{"tool": "request_scenario", "arguments":
    /// {...}}]` for a call through the MCP server), so the trail says who asked and how.
    pub fn as_caller(&self, invoker: impl Into<String>, tools_called: serde_json::Value) -> Engine {
        Engine {
            inner: self.inner.clone(),
            caller: Some(Arc::new(Caller {
                invoker: invoker.into(),
                tools_called,
            })),
        }
    }

    /// The database URL the engine is connected to (with its password: redact it with
    /// [`crate::redact_url`] before showing it).
    pub fn database_url(&self) -> &str {
        &self.inner.url
    }

    /// Closes the connection pool.
    pub async fn close(&self) {
        self.inner.db.close().await
    }

    pub(crate) fn schema(&self) -> &Schema {
        self.inner.pack.schema()
    }

    /// The engine's metrics in the Prometheus text format (see the metrics table in the
    /// crate docs). They also go to any recorder installed with the `metrics` facade.
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.render()
    }

    /// The store that holds the audit trail and baselines.
    pub fn store(&self) -> &Store {
        self.inner.audit.store()
    }

    /// The database.
    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The reference date of a run: the request's, else the engine's, else today (UTC).
    pub(crate) fn reference_date(&self, requested: Option<NaiveDate>) -> NaiveDate {
        requested
            .or(self.inner.reference_date)
            .unwrap_or_else(|| Utc::now().date_naive())
    }

    /// When a lease that starts now ends.
    pub(crate) fn lease_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.inner.lease).unwrap_or(chrono::Duration::hours(1))
    }
}

/// A run id for a strategy action (reset_all, snapshot, restore): `strategy-<name>-<ULID>`.
pub(crate) fn strategy_run_id(name: &str) -> String {
    format!("strategy-{name}-{}", ulid::Ulid::new())
}

/// The columns that identify a row: the primary key, or every column without one.
pub(crate) fn key_columns(t: &Table) -> Vec<String> {
    if t.primary_key.is_empty() {
        t.columns.iter().map(|c| c.name.clone()).collect()
    } else {
        t.primary_key.clone()
    }
}

pub(crate) fn col_type(t: &Table, c: &str) -> ColumnType {
    t.get_column(c)
        .map(|c| c.ty.clone())
        .unwrap_or(ColumnType::Text)
}
