//! The three backends behind one type: connection, SQL text, binding and decoding values.
//!
//! SQL text is only ever built from identifiers of the declared or introspected schema,
//! quoted for the backend; every value is a bound parameter.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use atdm_core::Value;
use atdm_core::schema::{ColumnType, Dialect};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use sqlx::mysql::{MySqlArguments, MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{MySql, Postgres, Row, Sqlite};

use crate::error::Error;

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// Runs the same code for whichever pool a [`Db`] holds (each arm is compiled for its own
/// database type).
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
            $crate::db::Db::MySql($pool) => $body,
        }
    };
}
pub(crate) use with_db;

/// The database a URL names, with secrets removed for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Whether SQLite said "database is locked" (SQLITE_BUSY or one of its extended codes).
fn sqlite_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == 5),
        _ => false,
    }
}

impl Db {
    /// Connects to `url` (`sqlite:`, `postgres:`/`postgresql:`, `mysql:`/`mariadb:`).
    pub(crate) async fn connect(
        url: &str,
        pool_size: u32,
        acquire_timeout: Duration,
    ) -> Result<Db, Error> {
        let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
        let bad = |message: String| Error::InvalidUrl {
            url: redact(url),
            message,
        };
        let unavailable = |e: sqlx::Error| Error::Database {
            context: format!("cannot connect to {}", redact(url)),
            message: e.to_string(),
        };
        match scheme.as_str() {
            "sqlite" => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(|e| bad(e.to_string()))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30));
                if let Some(parent) = opts.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
                    create_dir(parent).map_err(|e| bad(format!("cannot create directory {}: {e}", parent.display())))?;
                }
                // Switching a new file to WAL takes an exclusive lock, and SQLite can answer
                // SQLITE_BUSY there without waiting; processes that open one new file at
                // once (pytest-xdist workers) retry until the acquire timeout.
                let started = std::time::Instant::now();
                let mut wait = Duration::from_millis(10);
                loop {
                    let connected = SqlitePoolOptions::new()
                        // An embedded file cannot drop a connection: no ping before each use.
                        .test_before_acquire(false).max_connections(pool_size).acquire_timeout(acquire_timeout).connect_with(opts.clone()).await;
                    match connected {
                        Ok(pool) => return Ok(Db::Sqlite(pool)),
                        Err(e) if sqlite_busy(&e) && started.elapsed() + wait < acquire_timeout => {
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(Duration::from_millis(500));
                        }
                        Err(e) => return Err(unavailable(e)),
                    }
                }
            }
            "postgres" | "postgresql" => {
                let opts = PgConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))?;
                let pool = PgPoolOptions::new().max_connections(pool_size).acquire_timeout(acquire_timeout).connect_with(opts).await.map_err(unavailable)?;
                Ok(Db::Postgres(pool))
            }
            "mysql" | "mariadb" => {
                let fixed = if scheme == "mariadb" { format!("mysql{}", &url[7..]) } else { url.to_owned() };
                let opts = MySqlConnectOptions::from_str(&fixed).map_err(|e| bad(e.to_string()))?;
                let pool = MySqlPoolOptions::new()
                    .max_connections(pool_size)
                    .acquire_timeout(acquire_timeout)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // UTC for DATETIME values, and strict mode so bad values fail loudly.
                            sqlx::query("SET time_zone = '+00:00', sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')").execute(conn).await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await
                    .map_err(unavailable)?;
                Ok(Db::MySql(pool))
            }
            _ => Err(bad("the scheme must be sqlite:, postgres: or mysql: (for example sqlite://.atdm/atdm.sqlite, postgres://user@host/db, mysql://root@127.0.0.1/test)".into())),
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
            Db::MySql(_) => Dialect::MySql,
        }
    }

    pub(crate) async fn close(&self) {
        with_db!(self, p => p.close().await)
    }
}

fn create_dir(p: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(p)
}

/// The n-th (from 1) placeholder of a statement, with a cast where PostgreSQL needs one.
pub(crate) fn placeholder(d: Dialect, n: usize, pg_cast: Option<&str>) -> String {
    match d {
        Dialect::Postgres => match pg_cast {
            Some(t) => format!("${n}::{t}"),
            None => format!("${n}"),
        },
        _ => "?".into(),
    }
}

/// Binds one value, typed by its column.
pub(crate) trait BindValue: Sized {
    fn bind_value(self, v: &Value, ty: &ColumnType) -> Self;
}

macro_rules! bind_null {
    ($q:expr, $ty:expr) => {
        match $ty {
            ColumnType::Integer | ColumnType::BigInt => $q.bind(None::<i64>),
            ColumnType::Boolean => $q.bind(None::<bool>),
            ColumnType::Date => $q.bind(None::<NaiveDate>),
            ColumnType::Timestamp => $q.bind(None::<NaiveDateTime>),
            ColumnType::TimestampTz => $q.bind(None::<DateTime<Utc>>),
            ColumnType::Bytes => $q.bind(None::<Vec<u8>>),
            _ => $q.bind(None::<String>),
        }
    };
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Json(j) => j.to_string(),
        other => match other.to_json() {
            serde_json::Value::String(s) => s,
            j => j.to_string(),
        },
    }
}

impl BindValue for Query<'_, Postgres, PgArguments> {
    fn bind_value(self, v: &Value, ty: &ColumnType) -> Self {
        match v {
            // NULLs are bound with the same parameter type as values of the column, so a
            // cached statement fits every row (an int8 NULL then an int4 value would not).
            Value::Null => match ty {
                ColumnType::Integer => self.bind(None::<i32>),
                ColumnType::Numeric { .. } => self.bind(None::<Decimal>),
                ColumnType::Uuid => self.bind(None::<uuid::Uuid>),
                ColumnType::Json => self.bind(None::<sqlx::types::Json<serde_json::Value>>),
                _ => bind_null!(self, ty),
            },
            Value::Bool(b) => self.bind(*b),
            Value::Int(i) => match ty {
                ColumnType::Integer => self.bind(*i as i32),
                _ => self.bind(*i),
            },
            Value::Numeric(d) => self.bind(*d),
            Value::Date(d) => self.bind(*d),
            Value::Timestamp(t) => self.bind(*t),
            Value::TimestampTz(t) => self.bind(*t),
            Value::Uuid(u) => self.bind(*u),
            Value::Json(j) => self.bind(sqlx::types::Json(j.clone())),
            Value::Bytes(b) => self.bind(b.clone()),
            Value::Text(s) => self.bind(s.clone()),
        }
    }
}

impl BindValue for Query<'_, MySql, MySqlArguments> {
    fn bind_value(self, v: &Value, ty: &ColumnType) -> Self {
        match v {
            Value::Null => match ty {
                ColumnType::Numeric { .. } => self.bind(None::<Decimal>),
                ColumnType::TimestampTz => self.bind(None::<NaiveDateTime>),
                _ => bind_null!(self, ty),
            },
            Value::Bool(b) => self.bind(*b),
            Value::Int(i) => self.bind(*i),
            Value::Numeric(d) => self.bind(*d),
            Value::Date(d) => self.bind(*d),
            Value::Timestamp(t) => self.bind(*t),
            // DATETIME(6) holds UTC (the session time zone is +00:00).
            Value::TimestampTz(t) => self.bind(t.naive_utc()),
            Value::Bytes(b) => self.bind(b.clone()),
            other => self.bind(text_of(other)),
        }
    }
}

impl BindValue for Query<'_, Sqlite, SqliteArguments> {
    fn bind_value(self, v: &Value, ty: &ColumnType) -> Self {
        match v {
            Value::Null => bind_null!(self, ty),
            Value::Bool(b) => self.bind(*b),
            Value::Int(i) => self.bind(*i),
            Value::Date(d) => self.bind(*d),
            Value::Timestamp(t) => self.bind(*t),
            Value::TimestampTz(t) => self.bind(*t),
            Value::Bytes(b) => self.bind(b.clone()),
            other => self.bind(text_of(other)),
        }
    }
}

/// Reads a column of a row as a typed value.
pub(crate) trait DecodeValue {
    fn value(&self, i: usize, ty: &ColumnType) -> Result<Value, sqlx::Error>;
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
    v.map(f).unwrap_or(Value::Null)
}

fn parse_text(s: Option<String>, ty: &ColumnType) -> Result<Value, sqlx::Error> {
    match s {
        None => Ok(Value::Null),
        Some(s) => Value::Text(s)
            .coerce(ty)
            .map_err(|e| sqlx::Error::Decode(e.into())),
    }
}

impl DecodeValue for PgRow {
    fn value(&self, i: usize, ty: &ColumnType) -> Result<Value, sqlx::Error> {
        Ok(match ty {
            ColumnType::Text | ColumnType::Varchar(_) => {
                opt(self.try_get::<Option<String>, _>(i)?, Value::Text)
            }
            ColumnType::Enum { .. } => {
                opt(self.try_get_unchecked::<Option<String>, _>(i)?, Value::Text)
            }
            // integer columns may be int2 or int4 in the database; bigint is int8.
            ColumnType::Integer | ColumnType::BigInt => match self.try_get::<Option<i64>, _>(i) {
                Ok(v) => opt(v, Value::Int),
                Err(_) => match self.try_get::<Option<i32>, _>(i) {
                    Ok(v) => opt(v, |x| Value::Int(x.into())),
                    Err(_) => opt(self.try_get::<Option<i16>, _>(i)?, |x| Value::Int(x.into())),
                },
            },
            ColumnType::Numeric { .. } => {
                opt(self.try_get::<Option<Decimal>, _>(i)?, Value::Numeric)
            }
            ColumnType::Boolean => opt(self.try_get::<Option<bool>, _>(i)?, Value::Bool),
            ColumnType::Date => opt(self.try_get::<Option<NaiveDate>, _>(i)?, Value::Date),
            ColumnType::Timestamp => opt(
                self.try_get::<Option<NaiveDateTime>, _>(i)?,
                Value::Timestamp,
            ),
            ColumnType::TimestampTz => opt(
                self.try_get::<Option<DateTime<Utc>>, _>(i)?,
                Value::TimestampTz,
            ),
            ColumnType::Uuid => opt(self.try_get::<Option<uuid::Uuid>, _>(i)?, Value::Uuid),
            ColumnType::Json => opt(
                self.try_get::<Option<serde_json::Value>, _>(i)?,
                Value::Json,
            ),
            ColumnType::Bytes => opt(self.try_get::<Option<Vec<u8>>, _>(i)?, Value::Bytes),
        })
    }
}

impl DecodeValue for MySqlRow {
    fn value(&self, i: usize, ty: &ColumnType) -> Result<Value, sqlx::Error> {
        Ok(match ty {
            ColumnType::Text | ColumnType::Varchar(_) | ColumnType::Enum { .. } => {
                opt(self.try_get_unchecked::<Option<String>, _>(i)?, Value::Text)
            }
            ColumnType::Integer | ColumnType::BigInt => {
                opt(self.try_get_unchecked::<Option<i64>, _>(i)?, Value::Int)
            }
            ColumnType::Numeric { .. } => {
                opt(self.try_get::<Option<Decimal>, _>(i)?, Value::Numeric)
            }
            ColumnType::Boolean => opt(self.try_get_unchecked::<Option<bool>, _>(i)?, Value::Bool),
            ColumnType::Date => opt(self.try_get::<Option<NaiveDate>, _>(i)?, Value::Date),
            ColumnType::Timestamp => opt(
                self.try_get_unchecked::<Option<NaiveDateTime>, _>(i)?,
                Value::Timestamp,
            ),
            ColumnType::TimestampTz => opt(
                self.try_get_unchecked::<Option<NaiveDateTime>, _>(i)?,
                |t| Value::TimestampTz(t.and_utc()),
            ),
            ColumnType::Bytes => opt(
                self.try_get_unchecked::<Option<Vec<u8>>, _>(i)?,
                Value::Bytes,
            ),
            ColumnType::Uuid | ColumnType::Json => {
                parse_text(self.try_get_unchecked::<Option<String>, _>(i)?, ty)?
            }
        })
    }
}

impl DecodeValue for SqliteRow {
    fn value(&self, i: usize, ty: &ColumnType) -> Result<Value, sqlx::Error> {
        Ok(match ty {
            ColumnType::Integer | ColumnType::BigInt => {
                opt(self.try_get_unchecked::<Option<i64>, _>(i)?, Value::Int)
            }
            ColumnType::Boolean => opt(self.try_get_unchecked::<Option<bool>, _>(i)?, Value::Bool),
            ColumnType::Date => opt(
                self.try_get_unchecked::<Option<NaiveDate>, _>(i)?,
                Value::Date,
            ),
            ColumnType::Timestamp => opt(
                self.try_get_unchecked::<Option<NaiveDateTime>, _>(i)?,
                Value::Timestamp,
            ),
            ColumnType::TimestampTz => opt(
                self.try_get_unchecked::<Option<DateTime<Utc>>, _>(i)?,
                Value::TimestampTz,
            ),
            ColumnType::Bytes => opt(
                self.try_get_unchecked::<Option<Vec<u8>>, _>(i)?,
                Value::Bytes,
            ),
            ColumnType::Numeric { scale, .. } => {
                // NUMERIC affinity stores integers and reals; read the number back exactly as
                // SQLite holds it and give it the column's scale.
                let raw = self.try_get_raw(i)?;
                use sqlx::ValueRef;
                if raw.is_null() {
                    Value::Null
                } else {
                    let text: String = match self.try_get_unchecked::<f64, _>(i) {
                        Ok(f) => f.to_string(),
                        Err(_) => self.try_get_unchecked::<String, _>(i)?,
                    };
                    let mut d =
                        Decimal::from_str(&text).map_err(|e| sqlx::Error::Decode(e.into()))?;
                    d.rescale(u32::from(*scale));
                    Value::Numeric(d)
                }
            }
            _ => parse_text(self.try_get_unchecked::<Option<String>, _>(i)?, ty)?,
        })
    }
}

/// A query whose database type is that of `pool` (so binding resolves per backend).
pub(crate) fn query_for<DB: sqlx::Database>(
    _pool: &sqlx::Pool<DB>,
    sql: String,
) -> Query<'static, DB, <DB as sqlx::Database>::Arguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
}

/// Insert one row and read back the values the database assigned.
pub(crate) trait InsertReturning {
    /// Runs `sql` (an INSERT without a RETURNING clause) with `binds`, and returns the values
    /// of `returning` (column name and type) for the inserted row.
    async fn insert_returning(
        &mut self,
        sql: String,
        binds: &[(Value, ColumnType)],
        returning: &[(String, ColumnType)],
        dialect: Dialect,
    ) -> Result<Vec<Value>, sqlx::Error>;
}

fn returning_clause(d: Dialect, returning: &[(String, ColumnType)]) -> String {
    let cols: Vec<String> = returning.iter().map(|(c, _)| d.quote(c)).collect();
    format!(" RETURNING {}", cols.join(", "))
}

/// SQLite and PostgreSQL return assigned values with `RETURNING`.
macro_rules! insert_returning_with_returning_clause {
    ($conn:ty, $db:ty) => {
        impl InsertReturning for $conn {
            async fn insert_returning(
                &mut self,
                sql: String,
                binds: &[(Value, ColumnType)],
                returning: &[(String, ColumnType)],
                dialect: Dialect,
            ) -> Result<Vec<Value>, sqlx::Error> {
                let sql = if returning.is_empty() {
                    sql
                } else {
                    sql + &returning_clause(dialect, returning)
                };
                let mut q = sqlx::query::<$db>(sqlx::AssertSqlSafe(sql));
                for (v, ty) in binds {
                    q = q.bind_value(v, ty);
                }
                if returning.is_empty() {
                    q.execute(&mut *self).await?;
                    return Ok(Vec::new());
                }
                let row = q.fetch_one(&mut *self).await?;
                returning
                    .iter()
                    .enumerate()
                    .map(|(i, (_, ty))| row.value(i, ty))
                    .collect()
            }
        }
    };
}

insert_returning_with_returning_clause!(sqlx::SqliteConnection, Sqlite);
insert_returning_with_returning_clause!(sqlx::PgConnection, Postgres);

impl InsertReturning for sqlx::MySqlConnection {
    /// MySQL has no RETURNING: the AUTO_INCREMENT key comes from `LAST_INSERT_ID()`, other
    /// assigned columns read as NULL.
    async fn insert_returning(
        &mut self,
        sql: String,
        binds: &[(Value, ColumnType)],
        returning: &[(String, ColumnType)],
        _dialect: Dialect,
    ) -> Result<Vec<Value>, sqlx::Error> {
        let mut q = sqlx::query::<MySql>(sqlx::AssertSqlSafe(sql));
        for (v, ty) in binds {
            q = q.bind_value(v, ty);
        }
        let done = q.execute(&mut *self).await?;
        let id = done.last_insert_id();
        Ok(returning
            .iter()
            .map(|(_, ty)| match ty {
                ColumnType::Integer | ColumnType::BigInt if id > 0 => Value::Int(id as i64),
                _ => Value::Null,
            })
            .collect())
    }
}

/// A pooled connection inside a transaction the engine opened with plain SQL (so SQLite can
/// send `BEGIN IMMEDIATE`, the writes and `COMMIT` as one batch). If the transaction is still
/// open when this is dropped (an error path that could not roll back, or a cancelled future),
/// the connection is closed instead of going back to the pool, so no later user ever inherits
/// a half-done transaction.
pub(crate) struct TxConn<DB: sqlx::Database> {
    pub(crate) conn: sqlx::pool::PoolConnection<DB>,
    pub(crate) open: bool,
}

impl<DB: sqlx::Database> Drop for TxConn<DB> {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

/// Bulk loading through the database's own bulk path, where it has one.
pub(crate) trait BulkCopy {
    /// Loads `data` (PostgreSQL `COPY` text format) with `statement`; `None` where the
    /// backend has no such path (the caller then inserts).
    async fn copy_text(
        &mut self,
        statement: String,
        data: Vec<u8>,
    ) -> Result<Option<u64>, sqlx::Error>;
}

impl BulkCopy for sqlx::PgConnection {
    async fn copy_text(
        &mut self,
        statement: String,
        data: Vec<u8>,
    ) -> Result<Option<u64>, sqlx::Error> {
        let mut copy = self.copy_in_raw(&statement).await?;
        copy.send(data).await?;
        Ok(Some(copy.finish().await?))
    }
}

impl BulkCopy for sqlx::SqliteConnection {
    async fn copy_text(
        &mut self,
        _statement: String,
        _data: Vec<u8>,
    ) -> Result<Option<u64>, sqlx::Error> {
        Ok(None)
    }
}

impl BulkCopy for sqlx::MySqlConnection {
    async fn copy_text(
        &mut self,
        _statement: String,
        _data: Vec<u8>,
    ) -> Result<Option<u64>, sqlx::Error> {
        Ok(None)
    }
}

/// Appends one value in PostgreSQL's `COPY` text format (tab-separated, `\N` for NULL,
/// backslash escapes).
pub(crate) fn copy_field(out: &mut String, v: &Value) {
    use std::fmt::Write as _;
    let escaped = |out: &mut String, s: &str| {
        if !s
            .bytes()
            .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
        {
            out.push_str(s);
            return;
        }
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                other => out.push(other),
            }
        }
    };
    match v {
        Value::Null => out.push_str("\\N"),
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Numeric(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Text(s) => escaped(out, s),
        Value::Date(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        Value::Timestamp(t) => {
            let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f"));
        }
        Value::TimestampTz(t) => {
            let _ = write!(out, "{}+00", t.format("%Y-%m-%d %H:%M:%S%.6f"));
        }
        Value::Uuid(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Json(j) => escaped(out, &j.to_string()),
        Value::Bytes(b) => {
            out.push_str("\\\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_in_messages() {
        assert_eq!(
            redact("postgres://alice:s3cret@db/x"),
            "postgres://alice:***@db/x"
        );
        assert_eq!(
            redact("sqlite://.atdm/atdm.sqlite"),
            "sqlite://.atdm/atdm.sqlite"
        );
    }
}
