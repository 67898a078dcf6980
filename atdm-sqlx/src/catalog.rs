//! The run catalog and ledger: which runs exist, their token hashes and leases, and which rows
//! each run owns. They live in the target database, so they commit with the seed. Beside them,
//! the audit outbox: the events that record a seed, reset or restore, committed in the same
//! transaction and deleted once the audit store holds them (see [`crate::audit`]).
//!
//! And the fingerprints of the setups done (`setup`), so that a start can tell with one
//! query that there is nothing to create (see [`crate::engine`]'s setup).
//!
//! PostgreSQL keeps them in a dedicated schema (`atdm.runs`, `atdm.ledger`, `atdm.outbox`,
//! `atdm.setup`); SQLite and MySQL in prefixed tables (`atdm_runs`, ...). Times are
//! microseconds since the Unix epoch, UTC.

use atdm_core::Value;
use atdm_core::schema::ColumnType;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Engine;
use crate::backend::Stmt;
use crate::engine::from_micros;
use crate::error::Error;

/// Names, DDL and statements of the catalog tables on one backend (which provides the names,
/// the DDL and the placeholders; see [`create_tables`]).
#[derive(Debug, Clone)]
pub(crate) struct CatalogSql {
    pub(crate) runs: String,
    pub(crate) ledger: String,
    pub(crate) outbox: String,
    pub(crate) setup: String,
    ddl: Vec<String>,
    placeholder: fn(usize) -> String,
}

/// The catalog's four tables, for backends to complete with their own schema, index and type
/// details: `long_text` is the type of unbounded text, `ledger_inline` is appended inside the
/// ledger's column list (an inline index where the database has no `CREATE INDEX IF NOT
/// EXISTS`).
pub(crate) fn create_tables(
    [runs, ledger, outbox, setup]: [&str; 4],
    long_text: &str,
    ledger_inline: &str,
) -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {runs} (
  run_id VARCHAR(64) NOT NULL PRIMARY KEY,
  scenario VARCHAR(255) NOT NULL,
  request_id VARCHAR(64) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  created_at BIGINT NOT NULL,
  lease_expires_at BIGINT NOT NULL,
  invoker VARCHAR(255) NOT NULL,
  reference_date VARCHAR(10) NOT NULL,
  seed VARCHAR(20) NOT NULL,
  generator_version INTEGER NOT NULL,
  constraints_json {long_text} NOT NULL,
  data_json {long_text} NOT NULL,
  cleaned_at BIGINT NULL
)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {ledger} (
  run_id VARCHAR(64) NOT NULL,
  seq INTEGER NOT NULL,
  table_name VARCHAR(255) NOT NULL,
  row_key {long_text} NOT NULL,
  PRIMARY KEY (run_id, seq){ledger_inline}
)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {outbox} (
  batch_id VARCHAR(64) NOT NULL PRIMARY KEY,
  run_id VARCHAR(64) NOT NULL,
  created_at BIGINT NOT NULL,
  events {long_text} NOT NULL
)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {setup} (
  fingerprint CHAR(64) NOT NULL PRIMARY KEY,
  set_up_at BIGINT NOT NULL
)"
        ),
    ]
}

impl CatalogSql {
    pub(crate) fn new(
        [runs, ledger, outbox, setup]: [String; 4],
        ddl: Vec<String>,
        placeholder: fn(usize) -> String,
    ) -> Self {
        CatalogSql {
            runs,
            ledger,
            outbox,
            setup,
            ddl,
            placeholder,
        }
    }

    /// Idempotent DDL for the catalog.
    pub(crate) fn ddl(&self) -> Vec<String> {
        self.ddl.clone()
    }

    pub(crate) fn p(&self, n: usize) -> String {
        (self.placeholder)(n)
    }

    pub(crate) fn insert_run(&self) -> String {
        let ps: Vec<String> = (1..=13).map(|n| self.p(n)).collect();
        format!(
            "INSERT INTO {} (run_id, scenario, request_id, token_hash, status, created_at, lease_expires_at, invoker, reference_date, seed, generator_version, constraints_json, data_json) VALUES ({})",
            self.runs,
            ps.join(", ")
        )
    }

    pub(crate) fn select_run(&self) -> String {
        format!(
            "SELECT run_id, scenario, request_id, token_hash, status, created_at, lease_expires_at, invoker, reference_date, seed, generator_version, constraints_json, data_json, cleaned_at FROM {} WHERE run_id = {}",
            self.runs,
            self.p(1)
        )
    }

    pub(crate) fn select_runs(&self) -> String {
        format!("{} ORDER BY created_at, run_id", self.select_runs_columns())
    }

    /// `SELECT <every column> FROM <runs>`, for a WHERE and ORDER BY to follow.
    pub(crate) fn select_runs_columns(&self) -> String {
        format!(
            "SELECT run_id, scenario, request_id, token_hash, status, created_at, lease_expires_at, invoker, reference_date, seed, generator_version, constraints_json, data_json, cleaned_at FROM {}",
            self.runs
        )
    }

    /// Claims a ready run for cleaning; affects one row only for the first caller.
    pub(crate) fn mark_cleaned(&self) -> String {
        format!(
            "UPDATE {} SET status = 'cleaned', cleaned_at = {} WHERE run_id = {} AND status = 'ready'",
            self.runs,
            self.p(1),
            self.p(2)
        )
    }

    pub(crate) fn expired_runs(&self) -> String {
        format!(
            "SELECT run_id FROM {} WHERE status = 'ready' AND lease_expires_at < {} ORDER BY created_at, run_id",
            self.runs,
            self.p(1)
        )
    }

    pub(crate) fn ready_runs(&self) -> String {
        format!(
            "SELECT run_id FROM {} WHERE status = 'ready' ORDER BY created_at, run_id",
            self.runs
        )
    }

    pub(crate) fn delete_ledger_of_run(&self) -> String {
        format!("DELETE FROM {} WHERE run_id = {}", self.ledger, self.p(1))
    }

    /// Keys of a table owned by runs that are not cleaned.
    pub(crate) fn owned_keys_of_table(&self) -> String {
        format!(
            "SELECT l.row_key FROM {} l JOIN {} r ON r.run_id = l.run_id WHERE r.status = 'ready' AND l.table_name = {}",
            self.ledger,
            self.runs,
            self.p(1)
        )
    }

    /// Puts one batch of audit events (JSON) into the outbox.
    pub(crate) fn insert_outbox(&self) -> String {
        format!(
            "INSERT INTO {} (batch_id, run_id, created_at, events) VALUES ({}, {}, {}, {})",
            self.outbox,
            self.p(1),
            self.p(2),
            self.p(3),
            self.p(4)
        )
    }

    /// The oldest batches of the outbox: batch id and events (JSON).
    pub(crate) fn select_outbox(&self, limit: usize) -> String {
        format!(
            "SELECT batch_id, events FROM {} ORDER BY created_at, batch_id LIMIT {limit}",
            self.outbox
        )
    }

    /// The batches of one run in the outbox: events (JSON).
    pub(crate) fn select_outbox_of_run(&self) -> String {
        format!(
            "SELECT events FROM {} WHERE run_id = {} ORDER BY created_at, batch_id",
            self.outbox,
            self.p(1)
        )
    }

    pub(crate) fn delete_outbox(&self) -> String {
        format!("DELETE FROM {} WHERE batch_id = {}", self.outbox, self.p(1))
    }

    pub(crate) fn insert_ledger(&self, rows: usize) -> String {
        let mut values = Vec::with_capacity(rows);
        for r in 0..rows {
            let b = r * 4;
            values.push(format!(
                "({}, {}, {}, {})",
                self.p(b + 1),
                self.p(b + 2),
                self.p(b + 3),
                self.p(b + 4)
            ));
        }
        format!(
            "INSERT INTO {} (run_id, seq, table_name, row_key) VALUES {}",
            self.ledger,
            values.join(", ")
        )
    }
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

/// The columns of a catalog row as `select_run` reads them.
const RUN_COLUMNS: [ColumnType; 14] = [
    ColumnType::Text,
    ColumnType::Text,
    ColumnType::Text,
    ColumnType::Text,
    ColumnType::Text,
    ColumnType::BigInt,
    ColumnType::BigInt,
    ColumnType::Text,
    ColumnType::Text,
    ColumnType::Text,
    ColumnType::BigInt,
    ColumnType::Text,
    ColumnType::Text,
    ColumnType::BigInt,
];

impl RunInfo {
    /// A run from a catalog row (columns in `select_run` order).
    fn from_row(row: &[Value]) -> RunInfo {
        let text = |i: usize| match &row[i] {
            Value::Text(s) => s.clone(),
            _ => String::new(),
        };
        let int = |i: usize| match row[i] {
            Value::Int(n) => Some(n),
            _ => None,
        };
        RunInfo {
            run_id: text(0),
            scenario: text(1),
            request_id: text(2),
            status: text(4),
            created_at: from_micros(int(5).unwrap_or_default()),
            lease_expires_at: from_micros(int(6).unwrap_or_default()),
            invoker: text(7),
            reference_date: text(8),
            seed: text(9),
            generator_version: int(10).unwrap_or_default(),
            constraints: serde_json::from_str(&text(11)).unwrap_or_default(),
            data: serde_json::from_str(&text(12)).unwrap_or_default(),
            cleaned_at: int(13).map(from_micros),
        }
    }
}

impl Engine {
    /// The catalog entry of a run.
    pub async fn run(&self, run_id: &str) -> Result<RunInfo, Error> {
        check_run_id(run_id)?;
        let stmt = Stmt::new(self.inner.catalog.select_run()).text(run_id);
        let rows = self
            .db()
            .fetch_all(stmt, &RUN_COLUMNS)
            .await
            .map_err(Error::db("cannot read the run catalog"))?;
        rows.into_iter()
            .next()
            .map(|r| RunInfo::from_row(&r))
            .ok_or_else(|| Error::RunNotFound {
                run_id: run_id.to_owned(),
            })
    }

    /// The newest runs that `filter` chooses (oldest first among them), and how many it
    /// chooses in all: what `atdm runs` lists. The catalog is read a page at a time, so this
    /// costs the same with 100 runs as with 100,000.
    pub async fn runs_matching(&self, filter: &RunFilter) -> Result<RunPage, Error> {
        let cat = &self.inner.catalog;
        let mut conds = Vec::new();
        let mut binds = Vec::new();
        if let Some(s) = &filter.status {
            binds.push(s.clone());
            conds.push(format!("status = {}", cat.p(binds.len())));
        }
        if let Some(s) = &filter.scenario {
            binds.push(s.clone());
            conds.push(format!("scenario = {}", cat.p(binds.len())));
        }
        let wh = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        let with = |sql: String| {
            binds
                .iter()
                .fold(Stmt::new(sql), |st, b| st.text(b.clone()))
        };
        let count = self
            .db()
            .fetch_all(
                with(format!("SELECT COUNT(*) FROM {}{wh}", cat.runs)),
                &[ColumnType::BigInt],
            )
            .await
            .map_err(Error::db("cannot read the run catalog"))?;
        let total = match count.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => u64::try_from(*n).unwrap_or_default(),
            _ => 0,
        };
        let limit = filter
            .limit
            .map(|n| format!(" LIMIT {n}"))
            .unwrap_or_default();
        let rows = self
            .db()
            .fetch_all(
                with(format!(
                    "{}{wh} ORDER BY created_at DESC, run_id DESC{limit}",
                    cat.select_runs_columns()
                )),
                &RUN_COLUMNS,
            )
            .await
            .map_err(Error::db("cannot read the run catalog"))?;
        let mut runs: Vec<RunInfo> = rows.iter().map(|r| RunInfo::from_row(r)).collect();
        runs.reverse();
        Ok(RunPage { runs, total })
    }

    /// Every run in the catalog, oldest first.
    pub async fn runs(&self) -> Result<Vec<RunInfo>, Error> {
        let rows = self
            .db()
            .fetch_all(Stmt::new(self.inner.catalog.select_runs()), &RUN_COLUMNS)
            .await
            .map_err(Error::db("cannot read the run catalog"))?;
        Ok(rows.into_iter().map(|r| RunInfo::from_row(&r)).collect())
    }

    /// The run ids a catalog query returns (its first column).
    pub(crate) async fn run_ids(&self, stmt: Stmt) -> Result<Vec<String>, Error> {
        let rows = self
            .db()
            .fetch_all(stmt, &[ColumnType::Text])
            .await
            .map_err(Error::db("cannot read the run catalog"))?;
        Ok(rows
            .into_iter()
            .filter_map(|mut r| match r.pop() {
                Some(Value::Text(id)) => Some(id),
                _ => None,
            })
            .collect())
    }
}

/// Which runs [`Engine::runs_matching`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    status: Option<String>,
    scenario: Option<String>,
    limit: Option<usize>,
}

impl RunFilter {
    /// Every run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only runs of this status: `ready` or `cleaned`.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Only runs of this scenario.
    pub fn scenario(mut self, scenario: impl Into<String>) -> Self {
        self.scenario = Some(scenario.into());
        self
    }

    /// At most this many, the newest.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
}

/// A page of the run catalog: the runs chosen, oldest first, and how many match in all.
#[derive(Debug, Clone, Serialize)]
pub struct RunPage {
    /// The newest runs that match, oldest first.
    pub runs: Vec<RunInfo>,
    /// How many runs match in all.
    pub total: u64,
}

/// The longest run id any engine makes (`strategy-<name>-<ULID>`, `mcp-session-<ULID>`) is far
/// shorter; a longer one names no run.
const MAX_RUN_ID: usize = 128;

/// [`Error::RunNotFound`] for an id no engine makes: empty, longer than 128 characters, or
/// with characters other than ASCII letters, digits, `-` and `_`. Checked before an id
/// reaches the catalog or names an audit object, so a caller cannot choose object names.
pub(crate) fn check_run_id(run_id: &str) -> Result<(), Error> {
    let ok = !run_id.is_empty()
        && run_id.len() <= MAX_RUN_ID
        && run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::RunNotFound {
            run_id: run_id.chars().take(80).collect(),
        })
    }
}
