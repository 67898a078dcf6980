//! SQLite, the embedded default: a file in WAL mode, foreign keys on, writers serialised by
//! `BEGIN IMMEDIATE`. A connection is a worker thread, so several statements go out as one
//! batch (one round trip) wherever the engine does not need a result in between.

mod introspect;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use atdm_core::Value;
use atdm_core::schema::{ColumnType, Dialect};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, ValueRef};

use super::{
    Backend, Conn, CycleWrites, DbResult, Returning, SetupLock, Stmt, ValueForms, invalid_url, opt,
    parse_text, text_of, unavailable,
};
use crate::catalog::{self, CatalogSql};
use crate::error::Error;
use crate::introspect::Raw;

/// An SQLite database.
#[derive(Debug)]
pub(crate) struct Sqlite {
    pool: SqlitePool,
}

/// Whether SQLite said "database is locked" (SQLITE_BUSY or one of its extended codes).
fn busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == 5),
        _ => false,
    }
}

impl Sqlite {
    /// Opens (creating it when missing) the database file a `sqlite:` URL names.
    pub(crate) async fn connect(
        url: &str,
        pool_size: u32,
        acquire_timeout: Duration,
    ) -> Result<Sqlite, Error> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| invalid_url(url, e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let file = opts.get_filename();
        if (file.as_os_str().is_empty() || file == Path::new(":memory:")) && pool_size > 1 {
            return Err(invalid_url(
                url,
                "the URL names no file, and an in-memory database is not shared between \
                 connections, so runs would be lost; give a file: sqlite://.atdm/atdm.sqlite",
            ));
        }
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_dir(parent).map_err(|message| invalid_url(url, message))?;
        }
        // Switching a new file to WAL takes an exclusive lock, and SQLite can answer
        // SQLITE_BUSY there without waiting; processes that open one new file at once
        // (pytest-xdist workers) retry until the acquire timeout.
        let started = std::time::Instant::now();
        let mut wait = Duration::from_millis(10);
        loop {
            let connected = SqlitePoolOptions::new()
                // An embedded file cannot drop a connection: no ping before each use.
                .test_before_acquire(false)
                .max_connections(pool_size)
                .acquire_timeout(acquire_timeout)
                .connect_with(opts.clone())
                .await;
            match connected {
                Ok(pool) => return Ok(Sqlite { pool }),
                Err(e) if busy(&e) && started.elapsed() + wait < acquire_timeout => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(500));
                }
                Err(e) => return Err(unavailable(url, e)),
            }
        }
    }
}

/// Creates the database file's directory when it is the one missing level
/// (`.atdm/` of `sqlite://.atdm/atdm.sqlite`); a deeper missing path is more likely a typo
/// than a wish, and is refused with a message saying what is missing.
fn create_dir(dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    let above = dir.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(above) = above
        && !above.is_dir()
    {
        return Err(format!(
            "directory {} does not exist; create it first, or fix the path",
            above.display()
        ));
    }
    match std::fs::create_dir(dir) {
        // Another process (a pytest-xdist worker) made it first.
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(format!("cannot create directory {}: {e}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// How this database holds the values a baseline keeps.
pub(crate) const VALUE_FORMS: ValueForms = ValueForms {
    integer_is_64_bit: true,
    uuid_json_as_text: true,
};

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    /// The write lock at once, so two writers never deadlock upgrading a read lock.
    fn begin_write_sql(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }

    fn begin_snapshot_sql(&self) -> &'static str {
        "BEGIN"
    }

    fn holds_write_lock(&self) -> bool {
        true
    }

    fn catalog(&self) -> CatalogSql {
        let d = Dialect::Sqlite;
        let [runs, ledger, outbox, setup] =
            ["atdm_runs", "atdm_ledger", "atdm_outbox", "atdm_setup"].map(|t| d.quote(t));
        let mut ddl = catalog::create_tables([&runs, &ledger, &outbox, &setup], "TEXT", "");
        ddl.push(format!(
            "CREATE INDEX IF NOT EXISTS ix_atdm_ledger_table ON {ledger} (table_name)"
        ));
        ddl.push(format!(
            "CREATE INDEX IF NOT EXISTS ix_atdm_runs_lease ON {runs} (status, lease_expires_at)"
        ));
        ddl.push(format!(
            "CREATE INDEX IF NOT EXISTS ix_atdm_runs_created ON {runs} (created_at)"
        ));
        CatalogSql::new([runs, ledger, outbox, setup], ddl, |_| "?".into())
    }

    fn value_forms(&self) -> ValueForms {
        VALUE_FORMS
    }

    fn cycle_writes(&self) -> CycleWrites {
        CycleWrites::Deferred {
            defer: "PRAGMA defer_foreign_keys = ON",
        }
    }

    /// SQLite has no named locks: one IMMEDIATE transaction holds the write lock (other
    /// processes wait through the busy timeout) and makes the setup atomic.
    fn setup_lock(&self) -> SetupLock {
        SetupLock {
            lock: "BEGIN IMMEDIATE",
            commit: Some("COMMIT"),
            rollback: Some("ROLLBACK"),
            unlock: None,
        }
    }

    fn acquire(&self) -> BoxFuture<'_, DbResult<Box<dyn Conn>>> {
        Box::pin(
            async move { Ok(Box::new(SqliteConn(self.pool.acquire().await?)) as Box<dyn Conn>) },
        )
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.pool.close())
    }

    fn read_schema(&self) -> BoxFuture<'_, Result<Raw, Error>> {
        Box::pin(introspect::read(&self.pool))
    }

    fn insert_ignoring(&self) -> &'static str {
        "INSERT OR IGNORE INTO"
    }

    /// Foreign keys are checked at COMMIT, when every table is whole again.
    fn restore_prelude(&self) -> &'static [&'static str] {
        &["PRAGMA defer_foreign_keys = ON"]
    }
}

struct SqliteConn(PoolConnection<sqlx::Sqlite>);

type SqliteQuery = Query<'static, sqlx::Sqlite, SqliteArguments>;

/// The statements as one query: their SQL joined, their values in order.
fn joined<'a>(stmts: impl IntoIterator<Item = &'a Stmt>) -> SqliteQuery {
    let stmts: Vec<&Stmt> = stmts.into_iter().collect();
    let sql = stmts
        .iter()
        .map(|s| s.sql.as_str())
        .collect::<Vec<_>>()
        .join(";\n");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for s in stmts {
        for (v, ty) in &s.binds {
            q = bind(q, v, ty);
        }
    }
    q
}

/// Whether a statement changes rows (so `changes()` after it is its count).
fn changes_rows(sql: &str) -> bool {
    let head = sql.trim_start();
    ["INSERT", "UPDATE", "DELETE"].iter().any(|k| {
        head.get(..k.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(k))
    })
}

impl Conn for SqliteConn {
    fn execute_batch(&mut self, stmts: Vec<Stmt>) -> BoxFuture<'_, DbResult<()>> {
        Box::pin(async move {
            if !stmts.is_empty() {
                joined(&stmts).execute(&mut *self.0).await?;
            }
            Ok(())
        })
    }

    /// One round trip: each statement that changes rows is followed by `SELECT changes()`.
    fn execute_counted(&mut self, stmts: Vec<Stmt>) -> BoxFuture<'_, DbResult<Vec<u64>>> {
        Box::pin(async move {
            if let [one] = stmts.as_slice() {
                let done = joined([one]).execute(&mut *self.0).await?;
                return Ok(vec![done.rows_affected()]);
            }
            let counted: Vec<bool> = stmts.iter().map(|s| changes_rows(&s.sql)).collect();
            let mut all = Vec::with_capacity(stmts.len() * 2);
            let changes = Stmt::new("SELECT changes()");
            for (s, c) in stmts.iter().zip(&counted) {
                all.push(s);
                if *c {
                    all.push(&changes);
                }
            }
            let rows = joined(all).fetch_all(&mut *self.0).await?;
            let mut rows = rows.iter();
            let mut out = Vec::with_capacity(stmts.len());
            for c in counted {
                let n = match c.then(|| rows.next()).flatten() {
                    Some(r) => u64::try_from(r.try_get::<i64, _>(0)?).unwrap_or_default(),
                    None => 0,
                };
                out.push(n);
            }
            Ok(out)
        })
    }

    fn fetch_all<'a>(
        &'a mut self,
        first: Vec<Stmt>,
        stmt: Stmt,
        types: &'a [ColumnType],
    ) -> BoxFuture<'a, DbResult<Vec<Vec<Value>>>> {
        Box::pin(async move {
            let rows = joined(first.iter().chain([&stmt]))
                .fetch_all(&mut *self.0)
                .await?;
            rows.iter().map(|r| decode_row(r, types)).collect()
        })
    }

    fn fetch<'a>(
        &'a mut self,
        stmt: Stmt,
        types: Vec<ColumnType>,
    ) -> BoxStream<'a, DbResult<Vec<Value>>> {
        joined([&stmt])
            .fetch(&mut *self.0)
            .and_then(move |r| std::future::ready(decode_row(&r, &types)))
            .boxed()
    }

    fn insert_returning<'a>(
        &'a mut self,
        stmt: Stmt,
        returning: &'a Returning<'a>,
    ) -> BoxFuture<'a, DbResult<Vec<Value>>> {
        Box::pin(async move {
            if returning.columns.is_empty() {
                joined([&stmt]).execute(&mut *self.0).await?;
                return Ok(Vec::new());
            }
            let stmt = Stmt {
                sql: format!("{} {}", stmt.sql, returning.clause(Dialect::Sqlite)),
                binds: stmt.binds,
            };
            let row = joined([&stmt]).fetch_one(&mut *self.0).await?;
            decode_row(&row, &returning.types())
        })
    }

    fn execute_script(&mut self, sql: String) -> BoxFuture<'_, DbResult<u64>> {
        Box::pin(async move {
            Ok(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *self.0)
                .await?
                .rows_affected())
        })
    }

    fn close_on_drop(&mut self) {
        self.0.close_on_drop();
    }
}

fn decode_row(r: &SqliteRow, types: &[ColumnType]) -> DbResult<Vec<Value>> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| decode(r, i, ty))
        .collect()
}

macro_rules! bind_null {
    ($q:expr, $ty:expr) => {
        match $ty {
            ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. } => {
                $q.bind(None::<i64>)
            }
            ColumnType::Boolean => $q.bind(None::<bool>),
            ColumnType::Date => $q.bind(None::<NaiveDate>),
            ColumnType::Timestamp => $q.bind(None::<NaiveDateTime>),
            ColumnType::TimestampTz => $q.bind(None::<DateTime<Utc>>),
            ColumnType::Bytes => $q.bind(None::<Vec<u8>>),
            _ => $q.bind(None::<String>),
        }
    };
}

/// Binds one value, typed by its column.
fn bind(q: SqliteQuery, v: &Value, ty: &ColumnType) -> SqliteQuery {
    match v {
        Value::Null => bind_null!(q, ty),
        Value::Bool(b) => q.bind(*b),
        Value::Int(i) => q.bind(*i),
        Value::Date(d) => q.bind(*d),
        Value::Timestamp(t) => q.bind(*t),
        Value::TimestampTz(t) => q.bind(*t),
        Value::Bytes(b) => q.bind(b.clone()),
        other => q.bind(text_of(other)),
    }
}

/// Reads a column of a row as a value of `ty`.
fn decode(r: &SqliteRow, i: usize, ty: &ColumnType) -> DbResult<Value> {
    Ok(match ty {
        ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. } => {
            opt(r.try_get_unchecked::<Option<i64>, _>(i)?, Value::Int)
        }
        ColumnType::Boolean => opt(r.try_get_unchecked::<Option<bool>, _>(i)?, Value::Bool),
        ColumnType::Date => opt(r.try_get_unchecked::<Option<NaiveDate>, _>(i)?, Value::Date),
        ColumnType::Timestamp => opt(
            r.try_get_unchecked::<Option<NaiveDateTime>, _>(i)?,
            Value::Timestamp,
        ),
        ColumnType::TimestampTz => opt(
            r.try_get_unchecked::<Option<DateTime<Utc>>, _>(i)?,
            Value::TimestampTz,
        ),
        ColumnType::Bytes => opt(r.try_get_unchecked::<Option<Vec<u8>>, _>(i)?, Value::Bytes),
        ColumnType::Numeric { scale, .. } => {
            // NUMERIC affinity stores integers and reals; read the number back exactly as
            // SQLite holds it and give it the column's scale.
            if r.try_get_raw(i)?.is_null() {
                Value::Null
            } else {
                let text: String = match r.try_get_unchecked::<f64, _>(i) {
                    Ok(f) => f.to_string(),
                    Err(_) => r.try_get_unchecked::<String, _>(i)?,
                };
                let mut d = Decimal::from_str(&text).map_err(|e| sqlx::Error::Decode(e.into()))?;
                d.rescale(u32::from(*scale));
                Value::Numeric(d)
            }
        }
        _ => parse_text(r.try_get_unchecked::<Option<String>, _>(i)?, ty)?,
    })
}

/// SQLite's literals: standard strings, 1 and 0, `X'..'` blobs, timestamps as text.
pub(crate) const LITERALS: super::Literals = super::Literals {
    text: super::standard_text,
    booleans: ["1", "0"],
    bytes: super::hex_bytes,
    utc_suffix: "",
    begin: "BEGIN;",
    override_identity: "",
    after_identity: None,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Db;

    /// One round trip for a batch, and each statement's own count, whatever statements that
    /// change no rows stand between them.
    #[tokio::test]
    async fn a_batch_counts_the_rows_each_statement_changed() {
        let db = Db::connect("sqlite::memory:", 1, Duration::from_secs(5))
            .await
            .unwrap();
        let mut s = db.session().await.unwrap();
        s.execute(Stmt::new("CREATE TABLE t (a INTEGER)"))
            .await
            .unwrap();
        s.release();
        let mut tx = db.begin().await.unwrap();
        tx.queue(Stmt::new("PRAGMA defer_foreign_keys = ON"));
        tx.queue(Stmt::new("INSERT INTO t VALUES (1), (2), (3)"));
        assert_eq!(
            tx.execute(Stmt::new("DELETE FROM t WHERE a > 1"))
                .await
                .unwrap(),
            2
        );
        let counts = tx
            .execute_counted(vec![
                Stmt::new("INSERT INTO t VALUES (?), (?)").int(4).int(5),
                Stmt::new("SAVEPOINT midway"),
                Stmt::new("DELETE FROM t"),
            ])
            .await
            .unwrap();
        assert_eq!(counts, [2, 0, 3]);
        tx.commit().await.unwrap();
        tx.settle(Ok::<_, sqlx::Error>(())).await.unwrap();
        let rows = db
            .fetch_all(Stmt::new("SELECT COUNT(*) FROM t"), &[ColumnType::BigInt])
            .await
            .unwrap();
        assert_eq!(rows, [[Value::Int(0)]]);
    }
}
