//! The engine: requests seed validated plans in one transaction; resets remove exactly what a
//! run wrote.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use atdm_core::plan::ExistingRows;
use atdm_core::schema::{ColumnType, Dialect, Schema, Table};
use atdm_core::token::{CleanupToken, verify_token};
use atdm_core::{Cell, CellRef, Constraints, Pack, RunContext, ValidatedPlan, Value};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use atdm_core::audit::{AUDIT_SCHEMA_VERSION, AuditAction, AuditEvent, AuditStatus, AuditTrail};
use futures::{StreamExt, TryStreamExt};

use crate::audit_log::AuditLog;
use crate::catalog::CatalogSql;
use crate::db::{
    BindValue, BulkCopy, Db, DecodeValue, InsertReturning, TxConn, copy_field, placeholder,
    query_for, with_db,
};
use crate::error::{Error, db_message};
use crate::store::{DEFAULT_STORE_URL, ENV_STORE_URL, Store};

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
        let catalog = CatalogSql::new(db.dialect());
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
                metrics: crate::metrics::Metrics::new(),
                pack: self.pack.clone(),
                url: crate::db::redact(&url),
                reference_date: self.reference_date,
                invoker,
                lease: self.lease,
            }),
        };
        engine.setup(self.apply_schema).await?;
        if self.reap_on_start {
            engine.reap_expired().await?;
        }
        Ok(engine)
    }
}

pub(crate) struct Inner {
    fixture_dir: std::path::PathBuf,
    pub(crate) db: Db,
    pub(crate) catalog: CatalogSql,
    pub(crate) audit: AuditLog,
    /// Events written after their action whose write failed; retried before every later write.
    pending: std::sync::Mutex<Vec<Vec<AuditEvent>>>,
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
    caller: Option<Arc<Caller>>,
}

/// The invoker and tool calls that a handle's audit events carry.
#[derive(Debug)]
struct Caller {
    invoker: String,
    tools_called: serde_json::Value,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("database", &self.inner.url)
            .field("pack", &self.inner.pack.name())
            .finish()
    }
}

/// What a caller asks for besides the scenario.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Knob values; they win over the scenario's defaults, key by key.
    pub constraints: Constraints,
    /// A seed instead of the one derived from the run id.
    pub seed: Option<u64>,
    /// A reference date instead of the engine's.
    pub reference_date: Option<NaiveDate>,
    /// An invoker instead of the engine's.
    pub invoker: Option<String>,
    /// Write a Playwright fixture (`<scenario>_<run>.json`) into the engine's fixture directory.
    pub playwright: bool,
    /// Write a pytest fixture module (`<scenario>_<run>.py`) into the engine's fixture directory.
    pub pytest: bool,
}

impl Request {
    /// Asks for a Playwright fixture file.
    pub fn playwright(mut self) -> Self {
        self.playwright = true;
        self
    }

    /// Asks for a pytest fixture module.
    pub fn pytest(mut self) -> Self {
        self.pytest = true;
        self
    }

    /// An empty request: scenario defaults, seed from the run id, the engine's date.
    pub fn new() -> Self {
        Request::default()
    }

    /// Sets one constraint.
    pub fn constraint(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.constraints.insert(key.into(), value.into());
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the reference date.
    pub fn reference_date(mut self, d: NaiveDate) -> Self {
        self.reference_date = Some(d);
        self
    }

    /// Sets the invoker.
    pub fn invoker(mut self, invoker: impl Into<String>) -> Self {
        self.invoker = Some(invoker.into());
        self
    }
}

/// A seeded run.
#[derive(Debug, Clone, Serialize)]
pub struct Seeded {
    /// Always `ready`: the rows are committed.
    pub status: &'static str,
    /// The scenario.
    pub scenario: String,
    /// The run id (a ULID).
    pub run_id: String,
    /// The request id (`tdr_` and 12 hex digits).
    pub request_id: String,
    /// The keys of the seeded entities, by output name.
    pub data: serde_json::Map<String, serde_json::Value>,
    /// The cleanup token. This is the only time it is shown; the engine keeps its hash only.
    #[serde(serialize_with = "expose_token")]
    pub token: CleanupToken,
    /// Rows written, per table.
    pub rows: BTreeMap<String, u64>,
    /// The seed used.
    pub seed: u64,
    /// The reference date used.
    pub reference_date: NaiveDate,
    /// When the lease ends (then [`Engine::reap_expired`] removes the run).
    pub lease_expires_at: DateTime<Utc>,
    /// The fixture files written (readable by their owner only; removed by the reset).
    pub fixtures: Vec<std::path::PathBuf>,
}

fn expose_token<S: serde::Serializer>(t: &CleanupToken, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.expose())
}

impl Seeded {
    /// The key of an entity as text (`seeded.key("member_id")`).
    pub fn key(&self, name: &str) -> Option<&str> {
        self.data.get(name).and_then(|v| v.as_str())
    }
}

/// The outcome of a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetStatus {
    /// The run's rows were deleted now.
    Cleaned,
    /// The run had been cleaned before; nothing changed.
    AlreadyCleaned,
}

/// What a reset deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResetReport {
    /// The run.
    pub run_id: String,
    /// Cleaned now, or already.
    pub status: ResetStatus,
    /// Rows deleted per table of the schema (zero where none).
    pub deleted: BTreeMap<String, u64>,
}

/// What [`Engine::reset_all`] deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResetAllReport {
    /// The runs cleaned.
    pub runs: Vec<String>,
    /// Rows deleted per table of the schema (zero where none).
    pub deleted: BTreeMap<String, u64>,
}

/// A run in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// The run id.
    pub run_id: String,
    /// The scenario.
    pub scenario: String,
    /// The request id.
    pub request_id: String,
    /// `ready` or `cleaned`.
    pub status: String,
    /// When it was seeded.
    pub created_at: DateTime<Utc>,
    /// When its lease ends.
    pub lease_expires_at: DateTime<Utc>,
    /// Who asked.
    pub invoker: String,
    /// The reference date.
    pub reference_date: String,
    /// The seed.
    pub seed: String,
    /// The generator version.
    pub generator_version: i64,
    /// The resolved constraints.
    pub constraints: serde_json::Value,
    /// The seeded entity keys.
    pub data: serde_json::Value,
    /// When it was cleaned.
    pub cleaned_at: Option<DateTime<Utc>>,
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

/// `tdr_` and 12 lower-case hex digits.
fn new_request_id() -> String {
    let b: [u8; 6] = random_bytes();
    format!(
        "tdr_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

/// One owned row to delete: its table, its key, and its order (run, then seq).
struct Owned {
    table: String,
    key: Vec<Value>,
    order: (usize, i64),
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

    /// Closes the connection pool.
    pub async fn close(&self) {
        self.inner.db.close().await
    }

    fn schema(&self) -> &Schema {
        self.inner.pack.schema()
    }

    /// Creates the catalog, and (if asked) the pack's tables and reference rows, under a lock
    /// so that parallel processes do not race.
    async fn setup(&self, apply_schema: bool) -> Result<(), Error> {
        let d = self.dialect();
        let mut statements = self.inner.catalog.ddl();
        if apply_schema {
            statements.extend(self.schema().ddl(d));
        }
        let reference = if apply_schema {
            self.reference_inserts()?
        } else {
            Vec::new()
        };
        let ctx = "cannot set up the run catalog and schema";
        with_db!(&self.inner.db, pool => {
            let mut conn = pool.acquire().await.map_err(Error::db(ctx))?;
            let (lock, unlock) = match d {
                Dialect::Postgres => (Some("SELECT pg_advisory_lock(7242917001)"), Some("SELECT pg_advisory_unlock(7242917001)")),
                Dialect::MySql => (Some("SELECT GET_LOCK('atdm_setup', 120)"), Some("SELECT RELEASE_LOCK('atdm_setup')")),
                // SQLite has no named locks: one IMMEDIATE transaction holds the write lock
                // (other processes wait through the busy timeout) and makes the setup atomic.
                Dialect::Sqlite => (Some("BEGIN IMMEDIATE"), None),
            };
            if let Some(l) = lock {
                query_for(pool, l.into()).execute(&mut *conn).await.map_err(Error::db(ctx))?;
            }
            let mut result = Ok(());
            for s in &statements {
                if let Err(e) = query_for(pool, s.clone()).execute(&mut *conn).await {
                    result = Err(Error::Database { context: format!("{ctx} (statement: {s})"), message: db_message(&e) });
                    break;
                }
            }
            if result.is_ok() {
                for r in &reference {
                    let mut q = query_for(pool, r.check_sql.clone());
                    for (v, ty) in &r.check_binds {
                        q = q.bind_value(v, ty);
                    }
                    let found = match q.fetch_one(&mut *conn).await {
                        Ok(row) => row.try_get::<i64, _>(0).unwrap_or(0) > 0,
                        Err(e) => {
                            result = Err(Error::Database { context: "cannot read the reference rows".into(), message: db_message(&e) });
                            break;
                        }
                    };
                    if found {
                        continue;
                    }
                    let mut q = query_for(pool, r.insert_sql.clone());
                    for (v, ty) in &r.insert_binds {
                        q = q.bind_value(v, ty);
                    }
                    if let Err(e) = q.execute(&mut *conn).await {
                        result = Err(Error::Database { context: format!("cannot insert a reference row of {}", r.table), message: db_message(&e) });
                        break;
                    }
                }
            }
            if d == Dialect::Sqlite {
                let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
                if let Err(e) = query_for(pool, end.into()).execute(&mut *conn).await
                    && result.is_ok()
                {
                    result = Err(Error::Database { context: ctx.into(), message: db_message(&e) });
                }
            }
            if let Some(u) = unlock {
                let _ = query_for(pool, u.into()).execute(&mut *conn).await;
            }
            result
        })
    }

    /// For every reference row: a statement that counts it by key, and one that inserts it.
    fn reference_inserts(&self) -> Result<Vec<RefInsert>, Error> {
        let d = self.dialect();
        let schema = self.schema();
        let mut out = Vec::new();
        for ti in schema.fk_order().map_err(|e| Error::Core(e.into()))? {
            let t = &schema.tables[ti];
            let Some(rows) = self.inner.pack.reference_rows().get(&t.name) else {
                continue;
            };
            for row in rows {
                let key = key_columns(t);
                let cond: Vec<String> = key
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        format!(
                            "{} = {}",
                            d.quote(c),
                            placeholder(d, i + 1, pg_cast(d, t, c).as_deref())
                        )
                    })
                    .collect();
                let check_binds = key
                    .iter()
                    .map(|c| {
                        (
                            row.get(c.as_str()).cloned().unwrap_or(Value::Null),
                            col_type(t, c),
                        )
                    })
                    .collect();
                let cols: Vec<&String> = row.keys().collect();
                let ps: Vec<String> = cols
                    .iter()
                    .enumerate()
                    .map(|(i, c)| placeholder(d, i + 1, pg_cast(d, t, c).as_deref()))
                    .collect();
                out.push(RefInsert {
                    table: t.name.clone(),
                    check_sql: format!(
                        "SELECT COUNT(*) FROM {} WHERE {}",
                        d.quote(&t.name),
                        cond.join(" AND ")
                    ),
                    check_binds,
                    insert_sql: format!(
                        "INSERT INTO {} ({}) VALUES ({})",
                        d.quote(&t.name),
                        cols.iter()
                            .map(|c| d.quote(c))
                            .collect::<Vec<_>>()
                            .join(", "),
                        ps.join(", ")
                    ),
                    insert_binds: cols
                        .iter()
                        .map(|c| (row[*c].clone(), col_type(t, c)))
                        .collect(),
                });
            }
        }
        Ok(out)
    }

    /// Rows that exist before a run and that a scenario may point at: for each table the
    /// scenario reads, up to 1,000 rows in key order, leaving out rows other runs own (they
    /// may disappear when those runs are reset).
    async fn existing_rows(&self, scenario: &str) -> Result<ExistingRows, Error> {
        let tables = self.inner.pack.existing_tables(scenario)?;
        let mut out = ExistingRows::new();
        let d = self.dialect();
        for name in tables {
            let t = self
                .schema()
                .table(&name)
                .expect("tables come from the schema")
                .clone();
            let owned = self.owned_keys(&name).await?;
            let cols: Vec<String> = t.columns.iter().map(|c| d.quote(&c.name)).collect();
            let order: Vec<String> = key_columns(&t).iter().map(|c| d.quote(c)).collect();
            let sql = format!(
                "SELECT {} FROM {} ORDER BY {} LIMIT 1000",
                cols.join(", "),
                d.quote(&name),
                order.join(", ")
            );
            let ctx = format!("cannot read existing rows of {name}");
            let rows: Vec<BTreeMap<String, Value>> = with_db!(&self.inner.db, pool => {
                let fetched = query_for(pool, sql).fetch_all(pool).await.map_err(Error::db(ctx.clone()))?;
                let mut rows = Vec::with_capacity(fetched.len());
                for r in &fetched {
                    let mut m = BTreeMap::new();
                    for (i, c) in t.columns.iter().enumerate() {
                        m.insert(c.name.clone(), r.value(i, &c.ty).map_err(Error::db(ctx.clone()))?);
                    }
                    rows.push(m);
                }
                rows
            });
            let kc = key_columns(&t);
            let rows = rows
                .into_iter()
                .filter(|r| {
                    !owned.contains(
                        &serde_json::to_string(
                            &kc.iter().map(|c| r[c].clone()).collect::<Vec<_>>(),
                        )
                        .expect("values serialize"),
                    )
                })
                .collect();
            out.insert(name, rows);
        }
        Ok(out)
    }

    /// The ledger keys (as stored) of rows of `table` owned by runs that are not cleaned.
    async fn owned_keys(&self, table: &str) -> Result<HashSet<String>, Error> {
        let sql = self.inner.catalog.owned_keys_of_table();
        let keys = with_db!(&self.inner.db, pool => {
            let rows = query_for(pool, sql).bind(table.to_owned()).fetch_all(pool).await.map_err(Error::db("cannot read the run ledger"))?;
            rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<HashSet<String>, _>>().map_err(Error::db("cannot read the run ledger"))?
        });
        Ok(keys)
    }

    /// Plans and validates a request without writing anything to the database: the rows
    /// `request` would seed (under a fresh run id), or the error it would fail with. The dry
    /// run is audited like a request (`request_received`, `plan_resolved`,
    /// `validators_passed` or `plan_rejected`, with `dry_run: true`).
    pub async fn plan(&self, scenario: &str, request: &Request) -> Result<ValidatedPlan, Error> {
        let run_id = ulid::Ulid::new().to_string();
        let invoker = self.invoker_of(request);
        let mut inputs = request_inputs(scenario, request);
        inputs["dry_run"] = true.into();
        let mut events = vec![self.event(
            &run_id,
            &invoker,
            AuditAction::RequestReceived,
            AuditStatus::Ok,
            inputs,
            serde_json::json!({}),
        )];
        let planned = self
            .plan_audited(scenario, request, &run_id, &invoker, &mut events)
            .await;
        self.record(events, false).await?;
        planned
    }

    fn invoker_of(&self, request: &Request) -> String {
        request
            .invoker
            .clone()
            .unwrap_or_else(|| self.invoker().to_owned())
    }

    /// Plans and validates, adding `plan_resolved` and then `validators_passed` or
    /// `plan_rejected` to `events`.
    async fn plan_audited(
        &self,
        scenario: &str,
        request: &Request,
        run_id: &str,
        invoker: &str,
        events: &mut Vec<AuditEvent>,
    ) -> Result<ValidatedPlan, Error> {
        let pack = &self.inner.pack;
        let planned = async {
            pack.scenario(scenario)?;
            let existing = self.existing_rows(scenario).await?;
            let reference_date = request
                .reference_date
                .or(self.inner.reference_date)
                .unwrap_or_else(|| Utc::now().date_naive());
            let mut ctx = RunContext::new(run_id, reference_date);
            if let Some(seed) = request.seed {
                ctx = ctx.with_seed(seed);
            }
            let plan = pack.plan(scenario, &request.constraints, &ctx, &existing)?;
            Ok::<_, Error>((plan, existing))
        }
        .await;
        let (plan, existing) = match planned {
            Ok(p) => p,
            Err(e) => {
                events.push(self.rejected(run_id, invoker, &e));
                return Err(e);
            }
        };
        events.push(self.event(
            run_id,
            invoker,
            AuditAction::PlanResolved,
            AuditStatus::Ok,
            serde_json::json!({ "scenario": scenario }),
            plan_summary(&plan),
        ));
        match pack.validate(plan, &existing) {
            Ok(v) => {
                events.push(self.event(
                    run_id,
                    invoker,
                    AuditAction::ValidatorsPassed,
                    AuditStatus::Ok,
                    serde_json::json!({}),
                    serde_json::json!({ "validators": v.validators() }),
                ));
                Ok(v)
            }
            Err(e) => {
                let e = Error::Core(e);
                events.push(self.rejected(run_id, invoker, &e));
                Err(e)
            }
        }
    }

    /// A `plan_rejected` event for an error of planning or validation.
    fn rejected(&self, run_id: &str, invoker: &str, e: &Error) -> AuditEvent {
        let failures = match e {
            Error::Core(atdm_core::Error::Rejected(r)) => {
                serde_json::to_value(&r.failures).unwrap_or_default()
            }
            _ => serde_json::Value::Array(Vec::new()),
        };
        let status = match e {
            Error::Core(_) => AuditStatus::Rejected,
            _ => AuditStatus::Failed,
        };
        self.event(
            run_id,
            invoker,
            AuditAction::PlanRejected,
            status,
            serde_json::json!({}),
            serde_json::json!({ "error": error_json(e), "failures": failures }),
        )
    }

    /// Requests a scenario: plans it, runs the validator gate, and writes every row, the run's
    /// catalog entry and its ledger in one transaction. A rejected plan writes nothing; a plan
    /// the database refuses rolls back and fails with [`Error::SeedFailed`].
    ///
    /// Audited: `request_received`, `plan_resolved`, `validators_passed` and `seed_started`
    /// are written before the transaction begins (if the store cannot take them, nothing is
    /// seeded and the error is [`Error::Audit`]); `seed_completed` (or `seed_failed`) and
    /// `fixtures_emitted` after it.
    pub async fn request(&self, scenario: &str, request: Request) -> Result<Seeded, Error> {
        let run_id = ulid::Ulid::new().to_string();
        let request_id = new_request_id();
        let invoker = self.invoker_of(&request);
        let metrics = &self.inner.metrics;
        let mut events = vec![self.event(
            &run_id,
            &invoker,
            AuditAction::RequestReceived,
            AuditStatus::Ok,
            request_inputs(scenario, &request),
            serde_json::json!({ "request_id": request_id }),
        )];
        let validated = match self
            .plan_audited(scenario, &request, &run_id, &invoker, &mut events)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                if let Error::Core(atdm_core::Error::Rejected(r)) = &e {
                    metrics.validator_rejections(r.failures.iter().map(|f| f.validator.as_str()));
                }
                metrics.request(
                    scenario,
                    if matches!(e, Error::Core(_)) {
                        "rejected"
                    } else {
                        "failed"
                    },
                );
                self.record(events, false).await?;
                return Err(e);
            }
        };
        events.push(self.event(
            &run_id,
            &invoker,
            AuditAction::SeedStarted,
            AuditStatus::Ok,
            serde_json::json!({}),
            serde_json::json!({ "database": self.inner.url, "dialect": dialect_name(self.dialect()) }),
        ));
        if let Err(e) = self.record(events, true).await {
            metrics.request(scenario, "failed");
            return Err(e);
        }
        let token = CleanupToken::from_entropy(random_bytes());
        let now = Utc::now();
        let lease_expires_at = now
            + chrono::Duration::from_std(self.inner.lease).unwrap_or(chrono::Duration::hours(1));
        let seeded = self
            .seed(
                &validated,
                &token,
                &request_id,
                &invoker,
                now,
                lease_expires_at,
            )
            .await;
        let (assigned, rows, keys) = match seeded {
            Ok(s) => s,
            Err(e) => {
                metrics.request(scenario, "failed");
                let failed = self.event(
                    &run_id,
                    &invoker,
                    AuditAction::SeedFailed,
                    AuditStatus::RolledBack,
                    serde_json::json!({}),
                    serde_json::json!({ "error": error_json(&e) }),
                );
                self.record(vec![failed], false).await?;
                return Err(e);
            }
        };
        metrics.request(scenario, "ok");
        metrics.seeded_rows(&rows);
        let plan = validated.plan();
        // Keys the database assigned are known only now; otherwise the seed's keys stand.
        let data = if assigned.is_empty() {
            keys
        } else {
            plan.entity_keys(self.schema(), &|r| assigned.get(r).cloned())
        };
        tracing::info!(run_id = %run_id, scenario, rows = plan.row_count(), "seeded");
        let mut events = vec![self.event(
            &run_id,
            &invoker,
            AuditAction::SeedCompleted,
            AuditStatus::Ok,
            serde_json::json!({}),
            serde_json::json!({
                "request_id": request_id,
                "rows": rows,
                "data": data,
                "lease_expires_at": lease_expires_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            }),
        )];
        let fixture = atdm_core::fixtures::Fixture {
            scenario_id: scenario.to_owned(),
            test_run_id: run_id.clone(),
            data: serde_json::Value::Object(data.clone()),
            cleanup: serde_json::json!({ "run_id": run_id, "token": token.expose() }),
        };
        let fixtures = crate::fixture_files::write(
            &self.inner.fixture_dir,
            &fixture,
            request.playwright,
            request.pytest,
        );
        match &fixtures {
            Ok(files) if !files.is_empty() => events.push(self.event(
                &run_id,
                &invoker,
                AuditAction::FixturesEmitted,
                AuditStatus::Ok,
                serde_json::json!({ "playwright": request.playwright, "pytest": request.pytest }),
                serde_json::json!({ "files": files }),
            )),
            Ok(_) => {}
            Err(e) => events.push(self.event(
                &run_id,
                &invoker,
                AuditAction::FixturesEmitted,
                AuditStatus::Failed,
                serde_json::json!({ "playwright": request.playwright, "pytest": request.pytest }),
                serde_json::json!({ "error": error_json(e) }),
            )),
        }
        self.record(events, false).await?;
        let fixtures = fixtures?;
        Ok(Seeded {
            fixtures,
            status: "ready",
            scenario: scenario.to_owned(),
            run_id,
            request_id,
            data,
            token,
            rows,
            seed: plan.seed,
            reference_date: plan.reference_date,
            lease_expires_at,
        })
    }

    /// Writes a validated plan: catalog entry, rows, ledger; one transaction.
    async fn seed(
        &self,
        validated: &ValidatedPlan,
        token: &CleanupToken,
        request_id: &str,
        invoker: &str,
        now: DateTime<Utc>,
        lease_expires_at: DateTime<Utc>,
    ) -> Result<
        (
            HashMap<CellRef, Value>,
            BTreeMap<String, u64>,
            serde_json::Map<String, serde_json::Value>,
        ),
        Error,
    > {
        let plan = validated.plan();
        let d = self.dialect();
        let schema = self.schema();
        let cat = &self.inner.catalog;
        let keys = plan.entity_keys(schema, &|_| None);
        let data_json = serde_json::to_string(&keys).expect("JSON");
        let constraints_json = serde_json::to_string(
            &plan
                .constraints
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect::<BTreeMap<_, _>>(),
        )
        .expect("JSON");
        let run_binds: Vec<(Value, ColumnType)> = vec![
            (plan.run_id.as_str().into(), ColumnType::Text),
            (plan.scenario.as_str().into(), ColumnType::Text),
            (request_id.into(), ColumnType::Text),
            (token.hash().into(), ColumnType::Text),
            ("ready".into(), ColumnType::Text),
            (Value::Int(micros(now)), ColumnType::BigInt),
            (Value::Int(micros(lease_expires_at)), ColumnType::BigInt),
            (invoker.into(), ColumnType::Text),
            (plan.reference_date.to_string().into(), ColumnType::Text),
            (plan.seed.to_string().into(), ColumnType::Text),
            (
                Value::Int(i64::from(plan.generator_version)),
                ColumnType::Integer,
            ),
            (constraints_json.into(), ColumnType::Text),
            (data_json.into(), ColumnType::Text),
        ];
        let mut rows_written = BTreeMap::new();
        let result: Result<HashMap<CellRef, Value>, sqlx::Error> = with_db!(&self.inner.db, pool => {
            async {
                let mut guard = TxConn { conn: pool.acquire().await?, open: true };
                let outcome = async {
                let tx = &mut *guard.conn;
                // SQLite: BEGIN goes out with the first batch and COMMIT with the last, one
                // round trip in all; elsewhere BEGIN now, statements one by one.
                let mut batch = Vec::new();
                if d == Dialect::Sqlite {
                    batch.push(Stmt { sql: begin_sql(d).into(), binds: Vec::new() });
                } else {
                    query_for(pool, begin_sql(d).into()).execute(&mut *tx).await?;
                }
                batch.push(Stmt { sql: cat.insert_run(), binds: run_binds });
                let mut assigned: HashMap<CellRef, Value> = HashMap::new();
                let mut ledger: Vec<(String, String)> = Vec::with_capacity(plan.row_count());
                for tp in &plan.tables {
                    let t = schema.table(&tp.table).expect("plans use the pack's schema");
                    let types: Vec<ColumnType> = tp.columns.iter().map(|c| col_type(t, c)).collect();
                    let casts: Vec<Option<String>> = tp.columns.iter().map(|c| pg_cast(d, t, c)).collect();
                    let resolve = |cell: &Cell, assigned: &HashMap<CellRef, Value>| -> Value {
                        match cell {
                            Cell::Value(v) => v.clone(),
                            Cell::Ref(r) => assigned.get(r).cloned().unwrap_or(Value::Null),
                            Cell::Default => Value::Null,
                        }
                    };
                    let row_by_row = tp.rows.iter().any(|r| r.iter().any(|c| !matches!(c, Cell::Value(_))));
                    if row_by_row {
                        for (ri, row) in tp.rows.iter().enumerate() {
                            let written: Vec<usize> = (0..row.len()).filter(|&i| !matches!(row[i], Cell::Default)).collect();
                            let returning: Vec<(String, ColumnType)> = (0..row.len()).filter(|&i| matches!(row[i], Cell::Default)).map(|i| (tp.columns[i].clone(), types[i].clone())).collect();
                            let sql = if written.is_empty() {
                                match d {
                                    Dialect::MySql => format!("INSERT INTO {} () VALUES ()", d.quote(&tp.table)),
                                    _ => format!("INSERT INTO {} DEFAULT VALUES", d.quote(&tp.table)),
                                }
                            } else {
                                let cols: Vec<String> = written.iter().map(|&i| d.quote(&tp.columns[i])).collect();
                                let ps: Vec<String> = written.iter().enumerate().map(|(n, &i)| placeholder(d, n + 1, casts[i].as_deref())).collect();
                                format!("INSERT INTO {} ({}) VALUES ({})", d.quote(&tp.table), cols.join(", "), ps.join(", "))
                            };
                            let binds: Vec<(Value, ColumnType)> = written.iter().map(|&i| (resolve(&row[i], &assigned), types[i].clone())).collect();
                            run_batch!(pool, tx, batch, d);
                            let got = tx.insert_returning(sql, &binds, &returning, d).await?;
                            for ((col, _), v) in returning.iter().zip(got) {
                                assigned.insert(CellRef { table: tp.table.to_string(), row: ri, column: col.clone() }, v);
                            }
                        }
                    } else if tp.rows.len() >= COPY_THRESHOLD && d == Dialect::Postgres {
                        // The bulk path: COPY, after the statements queued before it.
                        run_batch!(pool, tx, batch, d);
                        let mut data = String::with_capacity(tp.rows.len() * tp.columns.len() * 12);
                        for row in &tp.rows {
                            for (i, cell) in row.iter().enumerate() {
                                if i > 0 {
                                    data.push('\t');
                                }
                                match cell {
                                    Cell::Value(v) => copy_field(&mut data, v),
                                    other => copy_field(&mut data, &resolve(other, &assigned)),
                                }
                            }
                            data.push('\n');
                        }
                        let cols: Vec<String> = tp.columns.iter().map(|c| d.quote(c)).collect();
                        let statement = format!("COPY {} ({}) FROM STDIN", d.quote(&tp.table), cols.join(", "));
                        tx.copy_text(statement, data.into_bytes()).await?;
                    } else {
                        let per_stmt = (d.bind_limit() / tp.columns.len().max(1)).clamp(1, 1000);
                        for chunk in tp.rows.chunks(per_stmt) {
                            let mut values = Vec::with_capacity(chunk.len());
                            let mut n = 0;
                            for _ in chunk {
                                let ps: Vec<String> = casts.iter().map(|c| {
                                    n += 1;
                                    placeholder(d, n, c.as_deref())
                                }).collect();
                                values.push(format!("({})", ps.join(", ")));
                            }
                            let cols: Vec<String> = tp.columns.iter().map(|c| d.quote(c)).collect();
                            let sql = format!("INSERT INTO {} ({}) VALUES {}", d.quote(&tp.table), cols.join(", "), values.join(", "));
                            let mut binds = Vec::with_capacity(chunk.len() * types.len());
                            for row in chunk {
                                for (cell, ty) in row.iter().zip(&types) {
                                    binds.push((resolve(cell, &assigned), ty.clone()));
                                }
                            }
                            batch.push(Stmt { sql, binds });
                        }
                    }
                    for ri in 0..tp.rows.len() {
                        let key: Vec<Value> = key_columns(t).iter().map(|c| {
                            let i = tp.columns.iter().position(|x| x == c);
                            match i.map(|i| &tp.rows[ri][i]) {
                                Some(Cell::Value(v)) => v.clone(),
                                Some(Cell::Ref(r)) => assigned.get(r).cloned().unwrap_or(Value::Null),
                                _ => assigned.get(&CellRef { table: tp.table.to_string(), row: ri, column: c.clone() }).cloned().unwrap_or(Value::Null),
                            }
                        }).collect();
                        ledger.push((tp.table.to_string(), serde_json::to_string(&key).expect("values serialize")));
                    }
                    rows_written.insert(tp.table.to_string(), tp.rows.len() as u64);
                }
                let per_stmt = (d.bind_limit() / 4).min(1000);
                if ledger.len() >= COPY_THRESHOLD && d == Dialect::Postgres {
                    run_batch!(pool, tx, batch, d);
                    let mut data = String::with_capacity(ledger.len() * 64);
                    for (seq, (table, key)) in ledger.iter().enumerate() {
                        for (i, v) in [Value::Text(plan.run_id.clone()), Value::Int(seq as i64), Value::Text(table.clone()), Value::Text(key.clone())].iter().enumerate() {
                            if i > 0 {
                                data.push('\t');
                            }
                            copy_field(&mut data, v);
                        }
                        data.push('\n');
                    }
                    tx.copy_text(format!("COPY {} (run_id, seq, table_name, row_key) FROM STDIN", cat.ledger), data.into_bytes()).await?;
                    ledger.clear();
                }
                for (ci, chunk) in ledger.chunks(per_stmt).enumerate() {
                    let mut binds = Vec::with_capacity(chunk.len() * 4);
                    for (k, (table, key)) in chunk.iter().enumerate() {
                        let seq = (ci * per_stmt + k) as i64;
                        binds.push((Value::Text(plan.run_id.clone()), ColumnType::Text));
                        binds.push((Value::Int(seq), ColumnType::BigInt));
                        binds.push((Value::Text(table.clone()), ColumnType::Text));
                        binds.push((Value::Text(key.clone()), ColumnType::Text));
                    }
                    batch.push(Stmt { sql: cat.insert_ledger(chunk.len()), binds });
                }
                batch.push(Stmt { sql: "COMMIT".into(), binds: Vec::new() });
                run_batch!(pool, tx, batch, d);
                Ok::<_, sqlx::Error>(assigned)
                }.await;
                settle!(pool, guard, outcome)
            }.await
        });
        match result {
            Ok(assigned) => Ok((assigned, rows_written, keys)),
            Err(e) => Err(Error::SeedFailed {
                run_id: plan.run_id.clone(),
                scenario: plan.scenario.clone(),
                message: db_message(&e),
            }),
        }
    }

    /// The catalog entry of a run.
    pub async fn run(&self, run_id: &str) -> Result<RunInfo, Error> {
        let sql = self.inner.catalog.select_run();
        let found = with_db!(&self.inner.db, pool => {
            match query_for(pool, sql).bind(run_id.to_owned()).fetch_optional(pool).await.map_err(Error::db("cannot read the run catalog"))? {
                Some(r) => Some(run_info!(r)),
                None => None,
            }
        });
        found.ok_or_else(|| Error::RunNotFound {
            run_id: run_id.to_owned(),
        })
    }

    /// Every run in the catalog, oldest first.
    pub async fn runs(&self) -> Result<Vec<RunInfo>, Error> {
        let sql = self.inner.catalog.select_runs();
        Ok(with_db!(&self.inner.db, pool => {
            let rows = query_for(pool, sql).fetch_all(pool).await.map_err(Error::db("cannot read the run catalog"))?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(run_info!(r));
            }
            out
        }))
    }

    /// Deletes exactly the rows of `run_id`, children first, in one transaction, if `token`
    /// is its cleanup token (compared in constant time). A repeat returns
    /// [`ResetStatus::AlreadyCleaned`] and changes nothing; a wrong token fails with
    /// [`Error::TokenMismatch`] and changes nothing; an unknown run fails with
    /// [`Error::RunNotFound`].
    ///
    /// Audited in the run's trail: `reset_started` (stamped when the reset begins) and
    /// `reset_completed`, `reset_rejected` or `reset_failed`, written together once the reset
    /// is over. A store that cannot take them does not stop the cleanup: the events are kept,
    /// counted and retried (see [`Engine::flush_audit`]), so test data never outlives its
    /// test because the audit store is down.
    pub async fn reset_run(&self, run_id: &str, token: &str) -> Result<ResetReport, Error> {
        self.reset_one("reset_run", run_id, Some(token)).await
    }

    /// Resets one run, audited in its own trail.
    async fn reset_one(
        &self,
        strategy: &'static str,
        run_id: &str,
        token: Option<&str>,
    ) -> Result<ResetReport, Error> {
        let invoker = self.invoker().to_owned();
        let started = self.event(
            run_id,
            &invoker,
            AuditAction::ResetStarted,
            AuditStatus::Ok,
            serde_json::json!({ "run_id": run_id, "strategy": strategy, "token_given": token.is_some() }),
            serde_json::json!({}),
        );
        let result = self
            .clean_runs(&[run_id.to_owned()], token)
            .await
            .map(|(mut reports, _)| reports.remove(0));
        let (event, status) = match &result {
            Ok(r) => (
                self.reset_done(run_id, &invoker, r, serde_json::json!({})),
                reset_status(r.status),
            ),
            Err(e) => self.reset_error(run_id, &invoker, e),
        };
        self.inner.metrics.reset(strategy, status);
        self.record(vec![started, event], false).await?;
        result
    }

    fn reset_done(
        &self,
        run_id: &str,
        invoker: &str,
        r: &ResetReport,
        inputs: serde_json::Value,
    ) -> AuditEvent {
        self.event(
            run_id,
            invoker,
            AuditAction::ResetCompleted,
            AuditStatus::Cleaned,
            inputs,
            serde_json::json!({ "status": r.status, "deleted": r.deleted }),
        )
    }

    /// The event and metric status of a failed reset: refused (wrong token, unknown run, no
    /// confirmation) or failed.
    fn reset_error(&self, run_id: &str, invoker: &str, e: &Error) -> (AuditEvent, &'static str) {
        let (action, status, metric) = match e {
            Error::TokenMismatch { .. }
            | Error::RunNotFound { .. }
            | Error::ConfirmRequired { .. } => (
                AuditAction::ResetRejected,
                AuditStatus::Forbidden,
                "rejected",
            ),
            _ => (AuditAction::ResetFailed, AuditStatus::Failed, "failed"),
        };
        let event = self.event(
            run_id,
            invoker,
            action,
            status,
            serde_json::json!({}),
            serde_json::json!({ "error": error_json(e) }),
        );
        (event, metric)
    }

    /// Deletes every row owned by any run (reference rows stay) and marks every run cleaned,
    /// in one transaction. Without `confirm`, deletes nothing and fails with
    /// [`Error::ConfirmRequired`].
    ///
    /// Audited as a strategy run (`strategy-reset_all-<ULID>`): `reset_started` and
    /// `reset_completed` (or `reset_rejected`, `reset_failed`), written when it is over, as
    /// for [`Engine::reset_run`]; each cleaned run's own trail also gets a `reset_completed`
    /// that names the strategy run.
    pub async fn reset_all(&self, confirm: bool) -> Result<ResetAllReport, Error> {
        let strategy_run = strategy_run_id("reset_all");
        let invoker = self.invoker().to_owned();
        let started = self.event(
            &strategy_run,
            &invoker,
            AuditAction::ResetStarted,
            AuditStatus::Ok,
            serde_json::json!({ "strategy": "reset_all", "confirm": confirm }),
            serde_json::json!({}),
        );
        if !confirm {
            let e = Error::ConfirmRequired {
                action: "reset_all".into(),
            };
            let (event, status) = self.reset_error(&strategy_run, &invoker, &e);
            self.inner.metrics.reset("reset_all", status);
            self.record(vec![started, event], false).await?;
            return Err(e);
        }
        let result = async {
            let sql = self.inner.catalog.ready_runs();
            let runs: Vec<String> = with_db!(&self.inner.db, pool => {
                let rows = query_for(pool, sql).fetch_all(pool).await.map_err(Error::db("cannot read the run catalog"))?;
                rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>().map_err(Error::db("cannot read the run catalog"))?
            });
            self.clean_runs(&runs, None).await
        }
        .await;
        let (reports, deleted) = match result {
            Ok(r) => r,
            Err(e) => {
                let (event, status) = self.reset_error(&strategy_run, &invoker, &e);
                self.inner.metrics.reset("reset_all", status);
                self.record(vec![started, event], false).await?;
                return Err(e);
            }
        };
        self.inner.metrics.reset("reset_all", "cleaned");
        let report = ResetAllReport {
            runs: reports
                .iter()
                .filter(|r| r.status == ResetStatus::Cleaned)
                .map(|r| r.run_id.clone())
                .collect(),
            deleted,
        };
        let done = self.event(
            &strategy_run,
            &invoker,
            AuditAction::ResetCompleted,
            AuditStatus::Cleaned,
            serde_json::json!({ "strategy": "reset_all" }),
            serde_json::json!({ "runs": report.runs, "deleted": report.deleted }),
        );
        self.record(vec![started, done], false).await?;
        let inputs = serde_json::json!({ "strategy": "reset_all", "strategy_run": strategy_run });
        let per_run: Vec<Vec<AuditEvent>> = reports
            .iter()
            .filter(|r| r.status == ResetStatus::Cleaned)
            .map(|r| vec![self.reset_done(&r.run_id, &invoker, r, inputs.clone())])
            .collect();
        futures::stream::iter(per_run)
            .map(|events| self.record(events, false))
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(report)
    }

    /// Resets every run whose lease has passed; returns what each reset deleted. Each is
    /// audited in its run's trail with strategy `reap`.
    pub async fn reap_expired(&self) -> Result<Vec<ResetReport>, Error> {
        let sql = self.inner.catalog.expired_runs();
        let now = micros(Utc::now());
        let runs: Vec<String> = with_db!(&self.inner.db, pool => {
            let rows = query_for(pool, sql).bind(now).fetch_all(pool).await.map_err(Error::db("cannot read the run catalog"))?;
            rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>().map_err(Error::db("cannot read the run catalog"))?
        });
        let mut out = Vec::new();
        for r in runs {
            out.push(self.reset_one("reap", &r, None).await?);
        }
        Ok(out)
    }

    /// The audit trail of a run (or strategy run), oldest event first: the JSON view for
    /// programs. A run id with no events and no catalog entry fails with
    /// [`Error::RunNotFound`].
    pub async fn audit(&self, run_id: &str) -> Result<AuditTrail, Error> {
        let events = self.inner.audit.trail(run_id).await?;
        if events.is_empty() {
            self.run(run_id).await?;
        }
        Ok(AuditTrail {
            run_id: run_id.to_owned(),
            location: self.inner.audit.location(run_id),
            events,
        })
    }

    /// The audit page of a run for people: one self-contained HTML document (no scripts, no
    /// external resources) with the run's summary, plan, validator decisions, records,
    /// fixtures, reset status and timeline. An unknown run gets a page that says so, not an
    /// error; only a store failure is an error.
    pub async fn audit_html(&self, run_id: &str) -> Result<String, Error> {
        let trail = AuditTrail {
            run_id: run_id.to_owned(),
            location: self.inner.audit.location(run_id),
            events: self.inner.audit.trail(run_id).await?,
        };
        Ok(atdm_core::audit::render_html(&trail))
    }

    /// The engine's metrics in the Prometheus text format (see the metrics table in the
    /// crate docs). They also go to any recorder installed with the `metrics` facade.
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.render()
    }

    /// Cleans runs in one transaction: checks each run (and its token, when given), claims
    /// it, reads its ledger, deletes its rows children first, drops its ledger. On SQLite the
    /// writes go in one batch (one round trip to its worker thread); elsewhere the claim is a
    /// conditional UPDATE, so two concurrent resets cannot both delete.
    async fn clean_runs(
        &self,
        run_ids: &[String],
        token: Option<&str>,
    ) -> Result<(Vec<ResetReport>, BTreeMap<String, u64>), Error> {
        let d = self.dialect();
        let schema = self.schema();
        let cat = &self.inner.catalog;
        let now = micros(Utc::now());
        let zero: BTreeMap<String, u64> =
            schema.tables.iter().map(|t| (t.name.clone(), 0)).collect();
        let order = schema.fk_order().map_err(|e| Error::Core(e.into()))?;
        let ctx = "reset failed and was rolled back; nothing was deleted";
        // The run and its ledger in one query (no ledger rows: one row of NULLs).
        let select_run = format!(
            "SELECT r.token_hash, r.status, l.table_name, l.row_key, l.seq FROM {} r LEFT JOIN {} l ON l.run_id = r.run_id WHERE r.run_id = {} ORDER BY l.seq",
            cat.runs,
            cat.ledger,
            cat.p(1)
        );
        let result: Result<(Vec<ResetReport>, BTreeMap<String, u64>), Error> = with_db!(&self.inner.db, pool => {
            async {
                let mut guard = TxConn { conn: pool.acquire().await.map_err(Error::db(ctx))?, open: true };
                let outcome = async {
                let tx = &mut *guard.conn;
                // SQLite: BEGIN goes out with the first read and COMMIT with the batch of
                // writes; elsewhere BEGIN now.
                let mut begin = String::new();
                if d == Dialect::Sqlite {
                    begin = format!("{};\n", begin_sql(d));
                } else {
                    query_for(pool, begin_sql(d).into()).execute(&mut *tx).await.map_err(Error::db(ctx))?;
                }
                let mut reports = Vec::new();
                let mut owned: Vec<Owned> = Vec::new();
                let mut batch: Vec<Stmt> = Vec::new();
                for (ri, run_id) in run_ids.iter().enumerate() {
                    let found = query_for(pool, format!("{}{select_run}", std::mem::take(&mut begin))).bind(run_id.clone()).fetch_all(&mut *tx).await.map_err(Error::db(ctx))?;
                    let Some(first) = found.first() else {
                        return Err(Error::RunNotFound { run_id: run_id.clone() });
                    };
                    let hash: String = first.try_get(0).map_err(Error::db(ctx))?;
                    let status: String = first.try_get(1).map_err(Error::db(ctx))?;
                    if let Some(t) = token
                        && !verify_token(t, &hash)
                    {
                        return Err(Error::TokenMismatch { run_id: run_id.clone() });
                    }
                    let claim = Stmt { sql: cat.mark_cleaned(), binds: vec![(Value::Int(now), ColumnType::BigInt), (Value::Text(run_id.clone()), ColumnType::Text)] };
                    let claimed = if status != "ready" {
                        false
                    } else if d == Dialect::Sqlite {
                        // BEGIN IMMEDIATE holds the write lock: the status read above stands.
                        batch.push(claim);
                        true
                    } else {
                        let mut q = query_for(pool, claim.sql);
                        for (v, ty) in &claim.binds {
                            q = q.bind_value(v, ty);
                        }
                        q.execute(&mut *tx).await.map_err(Error::db(ctx))?.rows_affected() == 1
                    };
                    if !claimed {
                        reports.push(ResetReport { run_id: run_id.clone(), status: ResetStatus::AlreadyCleaned, deleted: zero.clone() });
                        continue;
                    }
                    let mut mine = zero.clone();
                    for r in &found {
                        let Some(table) = r.try_get::<Option<String>, _>(2).map_err(Error::db(ctx))? else { continue };
                        let key_json: String = r.try_get(3).map_err(Error::db(ctx))?;
                        let seq: i64 = r.try_get_unchecked(4).map_err(Error::db(ctx))?;
                        let key: Vec<Value> = serde_json::from_str(&key_json).map_err(|e| Error::Database { context: ctx.into(), message: format!("unreadable ledger key {key_json}: {e}") })?;
                        *mine.entry(table.clone()).or_insert(0) += 1;
                        owned.push(Owned { table, key, order: (ri, seq) });
                    }
                    batch.push(Stmt { sql: cat.delete_ledger_of_run(), binds: vec![(Value::Text(run_id.clone()), ColumnType::Text)] });
                    reports.push(ResetReport { run_id: run_id.clone(), status: ResetStatus::Cleaned, deleted: mine });
                }
                // Children first: tables in reverse insert order; within a table, rows in
                // reverse insert order (self-references), one statement per row there.
                let mut deletes: Vec<(String, Stmt)> = Vec::new();
                for &ti in order.iter().rev() {
                    let t = &schema.tables[ti];
                    let mut rows: Vec<&Owned> = owned.iter().filter(|o| o.table == t.name).collect();
                    if rows.is_empty() {
                        continue;
                    }
                    rows.sort_by_key(|o| std::cmp::Reverse(o.order));
                    let kc = key_columns(t);
                    let types: Vec<ColumnType> = kc.iter().map(|c| col_type(t, c)).collect();
                    let self_ref = t.foreign_keys.iter().any(|fk| fk.references == t.name);
                    // One statement per row on self-referencing tables; `IN (...)` lists for
                    // single-column keys; short OR chains for composite keys (SQLite limits
                    // expression depth to 1,000).
                    let per_stmt = if self_ref {
                        1
                    } else if kc.len() == 1 {
                        (d.bind_limit() - 1).min(5000)
                    } else {
                        200
                    };
                    for chunk in rows.chunks(per_stmt) {
                        let mut n = 0;
                        let mut next = |c: &String| {
                            n += 1;
                            placeholder(d, n, pg_cast(d, t, c).as_deref())
                        };
                        let cond = if kc.len() == 1 {
                            let ps: Vec<String> = chunk.iter().map(|_| next(&kc[0])).collect();
                            format!("{} IN ({})", d.quote(&kc[0]), ps.join(", "))
                        } else {
                            let conds: Vec<String> = chunk
                                .iter()
                                .map(|_| {
                                    let parts: Vec<String> = kc.iter().map(|c| format!("{} = {}", d.quote(c), next(c))).collect();
                                    format!("({})", parts.join(" AND "))
                                })
                                .collect();
                            conds.join(" OR ")
                        };
                        let binds = chunk.iter().flat_map(|o| o.key.iter().cloned().zip(types.iter().cloned())).collect();
                        deletes.push((t.name.clone(), Stmt { sql: format!("DELETE FROM {} WHERE {}", d.quote(&t.name), cond), binds }));
                    }
                }
                let mut totals = zero.clone();
                if d == Dialect::Sqlite {
                    // One round trip: the claim, the ledger deletes, and each DELETE followed by
                    // `SELECT changes()` so the counts per table stay exact.
                    let mut tables = Vec::new();
                    for (table, stmt) in deletes {
                        batch.push(stmt);
                        batch.push(Stmt { sql: "SELECT changes()".into(), binds: Vec::new() });
                        tables.push(table);
                    }
                    batch.push(Stmt { sql: "COMMIT".into(), binds: Vec::new() });
                    {
                        // `begin` is still pending only when there was no run to read.
                        let sql = std::mem::take(&mut begin) + &batch.iter().map(|s| s.sql.as_str()).collect::<Vec<_>>().join(";\n");
                        let mut q = query_for(pool, sql);
                        for s in &batch {
                            for (v, ty) in &s.binds {
                                q = q.bind_value(v, ty);
                            }
                        }
                        let counts = q.fetch_all(&mut *tx).await.map_err(Error::db(ctx))?;
                        for (table, row) in tables.iter().zip(counts) {
                            let n: i64 = row.try_get(0).map_err(Error::db(ctx))?;
                            *totals.get_mut(table).expect("every table is counted") += n as u64;
                        }
                    }
                } else {
                    for s in batch.into_iter().map(|s| (None, s)).chain(deletes.into_iter().map(|(t, s)| (Some(t), s))) {
                        let (table, stmt) = s;
                        let mut q = query_for(pool, stmt.sql);
                        for (v, ty) in &stmt.binds {
                            q = q.bind_value(v, ty);
                        }
                        let n = q.execute(&mut *tx).await.map_err(Error::db(ctx))?.rows_affected();
                        if let Some(t) = table {
                            *totals.get_mut(&t).expect("every table is counted") += n;
                        }
                    }
                    query_for(pool, "COMMIT".into()).execute(&mut *tx).await.map_err(Error::db(ctx))?;
                }
                if let [only] = reports.as_mut_slice()
                    && only.status == ResetStatus::Cleaned
                {
                    only.deleted = totals.clone();
                }
                Ok((reports, totals))
                }.await;
                // A wrong token, an unknown run or a failed delete undoes everything.
                settle!(pool, guard, outcome)
            }.await
        });
        let (reports, totals) = result?;
        // The run's fixture files hold its token: they go with its rows.
        for r in &reports {
            crate::fixture_files::remove(&self.inner.fixture_dir, &r.run_id)?;
        }
        Ok((reports, totals))
    }
}

/// From this many rows on, PostgreSQL loads a table (and the ledger) with COPY.
const COPY_THRESHOLD: usize = 500;

/// The inputs of a request as audited (no token: a request has none yet).
fn request_inputs(scenario: &str, r: &Request) -> serde_json::Value {
    serde_json::json!({
        "scenario": scenario,
        "constraints": r.constraints.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>(),
        "seed": r.seed.map(|s| s.to_string()),
        "reference_date": r.reference_date.map(|d| d.to_string()),
        "playwright": r.playwright,
        "pytest": r.pytest,
    })
}

/// How many planned rows per table the audit shows in full.
const AUDITED_ROWS: usize = 20;

/// A plan as audited: its parameters, row counts, and the first rows of each table.
fn plan_summary(plan: &atdm_core::Plan) -> serde_json::Value {
    let cell = |c: &Cell| match c {
        Cell::Value(v) => v.to_json(),
        Cell::Default => serde_json::json!({ "default": true }),
        Cell::Ref(r) => {
            serde_json::json!({ "ref": format!("{}[{}].{}", r.table, r.row, r.column) })
        }
    };
    let tables: Vec<serde_json::Value> = plan
        .tables
        .iter()
        .map(|tp| {
            serde_json::json!({
                "table": &*tp.table,
                "columns": &*tp.columns,
                "rows": tp.rows.iter().take(AUDITED_ROWS).map(|r| r.iter().map(cell).collect::<Vec<_>>()).collect::<Vec<_>>(),
                "total": tp.rows.len(),
            })
        })
        .collect();
    serde_json::json!({
        "scenario": plan.scenario,
        "seed": plan.seed.to_string(),
        "reference_date": plan.reference_date.to_string(),
        "generator_version": plan.generator_version,
        "schema_version": plan.schema_version,
        "constraints": plan.constraints.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<serde_json::Map<_, _>>(),
        "rows": plan.tables.iter().map(|tp| (tp.table.to_string(), serde_json::Value::from(tp.rows.len()))).collect::<serde_json::Map<_, _>>(),
        "tables": tables,
    })
}

/// An error as audited: its code and message.
pub(crate) fn error_json(e: &Error) -> serde_json::Value {
    serde_json::json!({ "code": e.code().as_str(), "message": e.to_string() })
}

fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
        Dialect::MySql => "mysql",
    }
}

fn reset_status(s: ResetStatus) -> &'static str {
    match s {
        ResetStatus::Cleaned => "cleaned",
        ResetStatus::AlreadyCleaned => "already_cleaned",
    }
}

/// Microseconds since the epoch, strictly increasing within this process, so that events
/// written by one process sort in the order they happened even within one microsecond.
fn event_micros() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = Utc::now().timestamp_micros();
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// A run id for a strategy action (reset_all, snapshot, restore): `strategy-<name>-<ULID>`.
pub(crate) fn strategy_run_id(name: &str) -> String {
    format!("strategy-{name}-{}", ulid::Ulid::new())
}

impl Engine {
    /// A new audit event of `run_id`, stamped now, with a fresh ULID as its id.
    pub(crate) fn event(
        &self,
        run_id: &str,
        invoker: &str,
        action: AuditAction,
        status: AuditStatus,
        inputs: serde_json::Value,
        outputs: serde_json::Value,
    ) -> AuditEvent {
        let micros = event_micros();
        let timestamp = from_micros(micros);
        let ms = u64::try_from(micros / 1000).unwrap_or_default();
        AuditEvent {
            event_id: ulid::Ulid::from_parts(ms, u128::from_be_bytes(random_bytes())).to_string(),
            timestamp,
            test_run_id: run_id.to_owned(),
            invoker: invoker.to_owned(),
            action,
            inputs,
            tools_called: self
                .caller
                .as_ref()
                .map(|c| c.tools_called.clone())
                .unwrap_or_else(|| serde_json::Value::Array(Vec::new())),
            outputs,
            status,
            reviewer_decision: None,
            schema_version: AUDIT_SCHEMA_VERSION,
        }
    }

    /// Writes events of one run as one audit object.
    ///
    /// With `gate`, a failure is returned and the caller must not go on with its action: the
    /// events before an action are written before it happens. Without `gate` (the events
    /// after an action, which has happened whatever the store says), a failure is counted,
    /// logged and kept; every later write retries the kept events first, and
    /// [`Engine::flush_audit`] reports what is still unwritten.
    pub(crate) async fn record(&self, events: Vec<AuditEvent>, gate: bool) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        self.retry_pending().await;
        let started = std::time::Instant::now();
        match self.inner.audit.append(&events).await {
            Ok(_) => {
                self.inner.metrics.audit_written(&events, started.elapsed());
                Ok(())
            }
            Err(e) if gate => {
                self.inner.metrics.audit_write_failed();
                Err(e)
            }
            Err(e) => {
                self.inner.metrics.audit_write_failed();
                tracing::error!(error = %e, run_id = %events[0].test_run_id, events = events.len(), "audit events kept for a retry");
                self.inner
                    .pending
                    .lock()
                    .expect("not poisoned")
                    .push(events);
                Ok(())
            }
        }
    }

    async fn retry_pending(&self) {
        let kept = std::mem::take(&mut *self.inner.pending.lock().expect("not poisoned"));
        for events in kept {
            let started = std::time::Instant::now();
            if let Err(e) = self.inner.audit.append(&events).await {
                self.inner.metrics.audit_write_failed();
                // An earlier attempt may have written it after all: then it is done.
                if !self
                    .inner
                    .audit
                    .trail(&events[0].test_run_id)
                    .await
                    .is_ok_and(|t| t.iter().any(|x| x.event_id == events[0].event_id))
                {
                    tracing::warn!(error = %e, "audit events still kept for a retry");
                    self.inner
                        .pending
                        .lock()
                        .expect("not poisoned")
                        .push(events);
                }
            } else {
                self.inner.metrics.audit_written(&events, started.elapsed());
            }
        }
    }

    /// Retries audit events whose write failed after their action. Fails with
    /// [`Error::Audit`] if some are still unwritten (they stay kept for the next attempt).
    pub async fn flush_audit(&self) -> Result<(), Error> {
        self.retry_pending().await;
        let kept: usize = self
            .inner
            .pending
            .lock()
            .expect("not poisoned")
            .iter()
            .map(Vec::len)
            .sum();
        if kept == 0 {
            Ok(())
        } else {
            Err(Error::Audit {
                store: self.inner.audit.store().url().to_owned(),
                context: "cannot write audit events".into(),
                message: format!(
                    "{kept} events are still unwritten; they are kept and retried by every later write"
                ),
            })
        }
    }

    /// Audits a tool call that does not act on a run by itself (a listing, a lookup, an
    /// unknown tool, arguments that do not fit) as a `tool_called` event in the trail of
    /// `session` (for example `mcp-session-<ULID>`): this handle's invoker and
    /// `tools_called` (see [`Engine::as_caller`]) say who called what; `error` is the code
    /// and message of a call that failed. Written before the caller answers; a store failure
    /// is [`Error::Audit`].
    pub async fn record_tool_call(
        &self,
        session: &str,
        error: Option<(&str, &str)>,
    ) -> Result<(), Error> {
        let (status, outputs) = match error {
            None => (AuditStatus::Ok, serde_json::json!({})),
            Some((code, message)) => (
                AuditStatus::Rejected,
                serde_json::json!({ "error": { "code": code, "message": message } }),
            ),
        };
        let invoker = self.invoker().to_owned();
        let event = self.event(
            session,
            &invoker,
            AuditAction::ToolCalled,
            status,
            serde_json::json!({ "session": session }),
            outputs,
        );
        self.record(vec![event], true).await
    }

    /// The store that holds the audit trail and baselines.
    pub fn store(&self) -> &Store {
        self.inner.audit.store()
    }
}

/// One statement and its values.
pub(crate) struct Stmt {
    pub(crate) sql: String,
    pub(crate) binds: Vec<(Value, ColumnType)>,
}

/// The statement that opens a write transaction: SQLite takes the write lock at once, so two
/// writers never deadlock upgrading a read lock.
pub(crate) fn begin_sql(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "BEGIN IMMEDIATE",
        _ => "BEGIN",
    }
}

/// Settles a transaction opened on a [`TxConn`] whose body returned `outcome` (COMMIT is the
/// body's last statement): after success the connection goes back to the pool; after an error
/// the transaction is rolled back, and if even that fails the guard closes the connection.
macro_rules! settle {
    ($pool:expr, $guard:ident, $outcome:expr) => {{
        let outcome = $outcome;
        if outcome.is_ok()
            || query_for($pool, "ROLLBACK".into())
                .execute(&mut *$guard.conn)
                .await
                .is_ok()
        {
            $guard.open = false;
        }
        outcome
    }};
}
pub(crate) use settle;

/// Runs pending statements inside a transaction: on SQLite as one batch (one round trip to its
/// worker thread), elsewhere one by one.
macro_rules! run_batch {
    ($pool:expr, $tx:expr, $batch:expr, $d:expr) => {{
        let batch = std::mem::take(&mut $batch);
        if $d == Dialect::Sqlite && batch.len() > 1 {
            let sql = batch
                .iter()
                .map(|s| s.sql.as_str())
                .collect::<Vec<_>>()
                .join(";\n");
            let mut q = query_for($pool, sql);
            for s in &batch {
                for (v, ty) in &s.binds {
                    q = q.bind_value(v, ty);
                }
            }
            q.execute(&mut *$tx).await?;
        } else {
            for s in batch {
                let mut q = query_for($pool, s.sql);
                for (v, ty) in &s.binds {
                    q = q.bind_value(v, ty);
                }
                q.execute(&mut *$tx).await?;
            }
        }
    }};
}
pub(crate) use run_batch;

/// Reads a [`RunInfo`] from a catalog row (columns in `select_run` order).
macro_rules! run_info {
    ($r:expr) => {{
        let r = &$r;
        let e = Error::db("cannot read the run catalog");
        let text = |i: usize| r.try_get::<String, _>(i);
        let int = |i: usize| r.try_get_unchecked::<i64, _>(i);
        (|| -> Result<RunInfo, sqlx::Error> {
            Ok(RunInfo {
                run_id: text(0)?,
                scenario: text(1)?,
                request_id: text(2)?,
                status: text(4)?,
                created_at: from_micros(int(5)?),
                lease_expires_at: from_micros(int(6)?),
                invoker: text(7)?,
                reference_date: text(8)?,
                seed: text(9)?,
                generator_version: int(10)?,
                constraints: serde_json::from_str(&text(11)?).unwrap_or_default(),
                data: serde_json::from_str(&text(12)?).unwrap_or_default(),
                cleaned_at: r.try_get_unchecked::<Option<i64>, _>(13)?.map(from_micros),
            })
        })()
        .map_err(e)?
    }};
}
use run_info;

struct RefInsert {
    table: String,
    check_sql: String,
    check_binds: Vec<(Value, ColumnType)>,
    insert_sql: String,
    insert_binds: Vec<(Value, ColumnType)>,
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

/// The cast a PostgreSQL placeholder needs (enumeration types only; text does not convert
/// to them implicitly).
pub(crate) fn pg_cast(d: Dialect, t: &Table, c: &str) -> Option<String> {
    if d != Dialect::Postgres {
        return None;
    }
    t.get_column(c)
        .and_then(|col| col.pg_enum_type(&t.name))
        .map(|n| d.quote(&n))
}
