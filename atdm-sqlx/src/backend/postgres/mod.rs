//! PostgreSQL: the run catalog in its own schema (`atdm`), a named advisory lock around the
//! setup, `COPY ... FROM STDIN` as the bulk path, `TRUNCATE` and identity sequences in
//! restores.

mod copy;
mod introspect;

use std::str::FromStr;
use std::time::Duration;

use atdm_core::Value;
use atdm_core::schema::{Column, ColumnType, Dialect, Table};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;

use super::{
    Backend, BulkLoad, Conn, CycleWrites, DbResult, Returning, SetupLock, SnapshotExport, Stmt,
    TextCopy, Tx, ValueForms, invalid_url, opt, unavailable,
};
use crate::catalog::{self, CatalogSql};
use crate::error::Error;
use crate::introspect::Raw;

/// A PostgreSQL database.
#[derive(Debug)]
pub(crate) struct Postgres {
    pool: PgPool,
}

impl Postgres {
    /// Connects to the server a `postgres:` URL names.
    pub(crate) async fn connect(
        url: &str,
        pool_size: u32,
        acquire_timeout: Duration,
    ) -> Result<Postgres, Error> {
        let opts = PgConnectOptions::from_str(url).map_err(|e| invalid_url(url, e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(acquire_timeout)
            .connect_with(opts)
            .await
            .map_err(|e| unavailable(url, e))?;
        Ok(Postgres { pool })
    }
}

/// PostgreSQL's bulk path: `COPY ... FROM STDIN` in the text format.
pub(crate) const BULK_LOAD: BulkLoad = BulkLoad {
    statement: copy::statement,
    field: copy::field,
    cell: copy::cell,
};

/// PostgreSQL's bulk read path: `COPY ... TO STDOUT` in the text format.
pub(crate) const TEXT_COPY: TextCopy = TextCopy {
    setup: copy::READ_SETUP,
    statement: copy::read_statement,
    parse: copy::parse,
};

fn placeholder(n: usize) -> String {
    format!("${n}")
}

/// How this database holds the values a baseline keeps.
pub(crate) const VALUE_FORMS: ValueForms = ValueForms {
    integer_is_64_bit: false,
    uuid_json_as_text: false,
};

impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn placeholder(&self, n: usize) -> String {
        placeholder(n)
    }

    /// Enumeration types and the database's own types need a cast: text does not convert to
    /// them implicitly. (A native type's name is checked when the schema is read: it holds
    /// only the characters of type names.)
    fn param(&self, n: usize, table: &Table, column: &str) -> String {
        let Some(c) = table.get_column(column) else {
            return placeholder(n);
        };
        match (&c.ty, c.pg_enum_type(&table.name)) {
            (_, Some(ty)) => format!("${n}::{}", Dialect::Postgres.quote_path(&ty)),
            (ColumnType::Native { name, .. }, _) => format!("${n}::{name}"),
            _ => placeholder(n),
        }
    }

    fn select_expr(&self, column: &Column) -> String {
        let q = Dialect::Postgres.quote(&column.name);
        match column.ty {
            ColumnType::Native { .. } => format!("{q}::text"),
            _ => q,
        }
    }

    fn begin_snapshot_sql(&self) -> &'static str {
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
    }

    fn bulk_load(&self) -> Option<BulkLoad> {
        Some(BULK_LOAD)
    }

    fn text_copy(&self) -> Option<TextCopy> {
        Some(TEXT_COPY)
    }

    fn snapshot_export(&self) -> Option<SnapshotExport> {
        Some(SnapshotExport {
            export: "SELECT pg_export_snapshot()",
            import: |name| {
                let safe =
                    !name.is_empty() && name.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
                safe.then(|| format!("SET TRANSACTION SNAPSHOT '{name}'"))
            },
        })
    }

    fn catalog(&self) -> CatalogSql {
        let [runs, ledger, outbox, setup] =
            ["runs", "ledger", "outbox", "setup"].map(|t| format!("\"atdm\".\"{t}\""));
        let mut ddl = vec!["CREATE SCHEMA IF NOT EXISTS \"atdm\"".to_owned()];
        ddl.extend(catalog::create_tables(
            [&runs, &ledger, &outbox, &setup],
            "TEXT",
            "",
        ));
        ddl.push(format!(
            "CREATE INDEX IF NOT EXISTS ix_atdm_ledger_table ON {ledger} (table_name)"
        ));
        ddl.push(format!(
            "CREATE INDEX IF NOT EXISTS ix_atdm_runs_lease ON {runs} (status, lease_expires_at)"
        ));
        ddl.push(format!(
            "CREATE INDEX IF NOT EXISTS ix_atdm_runs_created ON {runs} (created_at)"
        ));
        CatalogSql::new([runs, ledger, outbox, setup], ddl, placeholder)
    }

    fn value_forms(&self) -> ValueForms {
        VALUE_FORMS
    }

    fn cycle_writes(&self) -> CycleWrites {
        CycleWrites::OneStatement { combine }
    }

    /// From the column's sequence (serial and identity columns); a key without one takes
    /// the largest value and the next ones, under a transaction-scoped advisory lock on the
    /// table so that two seeds cannot take the same.
    fn allocate_keys<'a>(
        &'a self,
        tx: &'a mut Tx,
        table: &'a Table,
        column: &'a str,
        n: usize,
    ) -> BoxFuture<'a, DbResult<Vec<i64>>> {
        Box::pin(async move {
            let d = Dialect::Postgres;
            let qualified = d.quote_table(table);
            let sql = "SELECT CASE WHEN s.seq IS NULL THEN NULL ELSE nextval(s.seq::regclass) END \
                       FROM (SELECT pg_get_serial_sequence($1, $2) AS seq) s, generate_series(1, $3)";
            let stmt = Stmt::new(sql)
                .text(qualified.clone())
                .text(column)
                .int(n as i64);
            let drawn = tx.fetch_all(stmt, &[ColumnType::BigInt]).await?;
            let keys: Vec<i64> = drawn
                .iter()
                .filter_map(|r| match r.first() {
                    Some(Value::Int(k)) => Some(*k),
                    _ => None,
                })
                .collect();
            if keys.len() == n {
                return Ok(keys);
            }
            let lock =
                Stmt::new("SELECT pg_advisory_xact_lock(hashtext($1))").text(qualified.clone());
            tx.fetch_all(lock, &[]).await?;
            let sql = format!(
                "SELECT COALESCE(MAX({}), 0) FROM {qualified}",
                d.quote(column)
            );
            let rows = tx.fetch_all(Stmt::new(sql), &[ColumnType::BigInt]).await?;
            let max = match rows.first().and_then(|r| r.first()) {
                Some(Value::Int(m)) => *m,
                _ => 0,
            };
            Ok((1..=n as i64).map(|k| max + k).collect())
        })
    }

    fn setup_lock(&self) -> SetupLock {
        SetupLock {
            lock: "SELECT pg_advisory_lock(7242917001)",
            commit: None,
            rollback: None,
            unlock: Some("SELECT pg_advisory_unlock(7242917001)"),
        }
    }

    fn acquire(&self) -> BoxFuture<'_, DbResult<Box<dyn Conn>>> {
        Box::pin(async move { Ok(Box::new(PgConn(self.pool.acquire().await?)) as Box<dyn Conn>) })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.pool.close())
    }

    fn read_schema(&self) -> BoxFuture<'_, Result<Raw, Error>> {
        Box::pin(introspect::read(&self.pool))
    }

    /// `TRUNCATE` of all the tables at once, after counting their rows; if a table outside
    /// them points at one of them, `None` (the caller deletes instead).
    fn empty_tables<'a>(
        &'a self,
        tx: &'a mut Tx,
        tables: &'a [String],
    ) -> BoxFuture<'a, DbResult<Option<Vec<u64>>>> {
        Box::pin(async move {
            let mut counts = Vec::with_capacity(tables.len());
            for t in tables {
                let rows = tx
                    .fetch_all(
                        Stmt::new(format!("SELECT COUNT(*) FROM {t}")),
                        &[ColumnType::BigInt],
                    )
                    .await?;
                let n = match rows.first().and_then(|r| r.first()) {
                    Some(Value::Int(n)) => u64::try_from(*n).unwrap_or_default(),
                    _ => 0,
                };
                counts.push(n);
            }
            tx.queue(Stmt::new("SAVEPOINT atdm_restore"));
            match tx
                .execute(Stmt::new(format!("TRUNCATE TABLE {}", tables.join(", "))))
                .await
            {
                Ok(_) => {
                    tx.queue(Stmt::new("RELEASE SAVEPOINT atdm_restore"));
                    Ok(Some(counts))
                }
                Err(e) => {
                    tracing::debug!(error = %e, "TRUNCATE refused; deleting instead");
                    tx.queue(Stmt::new("ROLLBACK TO SAVEPOINT atdm_restore"));
                    Ok(None)
                }
            }
        })
    }

    /// Locks the table against other writers until commit, then looks past both the largest
    /// key and the column's sequence (another session may have drawn values it has not
    /// written yet).
    fn reserve_keys<'a>(
        &'a self,
        tx: &'a mut Tx,
        table: &'a Table,
        column: &'a str,
    ) -> BoxFuture<'a, DbResult<i64>> {
        Box::pin(async move {
            let d = Dialect::Postgres;
            let qualified = d.quote_table(table);
            tx.execute(Stmt::new(format!(
                "LOCK TABLE {qualified} IN SHARE ROW EXCLUSIVE MODE"
            )))
            .await?;
            let sql = format!(
                "SELECT GREATEST(COALESCE(MAX({}), 0), COALESCE(pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass), 0)) FROM {qualified}",
                d.quote(column)
            );
            let rows = tx
                .fetch_all(
                    Stmt::new(sql).text(qualified.clone()).text(column),
                    &[ColumnType::BigInt],
                )
                .await?;
            Ok(match rows.first().and_then(|r| r.first()) {
                Some(Value::Int(m)) => *m,
                _ => 0,
            })
        })
    }

    fn identity_insert(&self) -> &'static str {
        " OVERRIDING SYSTEM VALUE"
    }

    fn switch_triggers(&self, quoted_table: &str, on: bool) -> Option<String> {
        let verb = if on { "ENABLE" } else { "DISABLE" };
        Some(format!("ALTER TABLE {quoted_table} {verb} TRIGGER USER"))
    }

    /// Identity sequences continue after the largest restored key.
    fn after_restore<'a>(
        &'a self,
        tx: &'a mut Tx,
        identity: &'a [(String, Vec<String>)],
    ) -> BoxFuture<'a, DbResult<()>> {
        Box::pin(async move {
            for (table, columns) in identity {
                for c in columns {
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({}) FROM {table}), 0) + 1, false)",
                        Dialect::Postgres.quote(c),
                    );
                    tx.fetch_all(Stmt::new(sql).text(table.clone()).text(c.clone()), &[])
                        .await?;
                }
            }
            Ok(())
        })
    }
}

/// Statements as one, with writable common table expressions: each statement's foreign keys
/// are checked at the end of the whole, and one row holds each statement's count of rows.
/// The statements' placeholders must be numbered on from one statement to the next.
fn combine(stmts: Vec<Stmt>) -> Stmt {
    let mut parts = Vec::with_capacity(stmts.len());
    let mut counts = Vec::with_capacity(stmts.len());
    let mut binds = Vec::new();
    for (i, s) in stmts.into_iter().enumerate() {
        parts.push(format!("w{i} AS ({} RETURNING 1)", s.sql));
        counts.push(format!("(SELECT COUNT(*) FROM w{i})"));
        binds.extend(s.binds);
    }
    Stmt {
        sql: format!("WITH {} SELECT {}", parts.join(", "), counts.join(", ")),
        binds,
    }
}

struct PgConn(PoolConnection<sqlx::Postgres>);

type PgQuery = Query<'static, sqlx::Postgres, PgArguments>;

fn query(stmt: Stmt) -> PgQuery {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(stmt.sql));
    for (v, ty) in &stmt.binds {
        q = bind(q, v, ty);
    }
    q
}

impl Conn for PgConn {
    fn execute_batch(&mut self, stmts: Vec<Stmt>) -> BoxFuture<'_, DbResult<()>> {
        Box::pin(async move {
            for s in stmts {
                query(s).execute(&mut *self.0).await?;
            }
            Ok(())
        })
    }

    fn execute_counted(&mut self, stmts: Vec<Stmt>) -> BoxFuture<'_, DbResult<Vec<u64>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(stmts.len());
            for s in stmts {
                out.push(query(s).execute(&mut *self.0).await?.rows_affected());
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
            for s in first {
                query(s).execute(&mut *self.0).await?;
            }
            let rows = query(stmt).fetch_all(&mut *self.0).await?;
            rows.iter().map(|r| decode_row(r, types)).collect()
        })
    }

    fn copy_out<'a>(
        &'a mut self,
        statement: String,
    ) -> BoxFuture<'a, DbResult<BoxStream<'a, DbResult<Vec<u8>>>>> {
        Box::pin(async move {
            let rows = self.0.copy_out_raw(&statement).await?;
            Ok(copy::gather(rows))
        })
    }

    fn fetch<'a>(
        &'a mut self,
        stmt: Stmt,
        types: Vec<ColumnType>,
    ) -> BoxStream<'a, DbResult<Vec<Value>>> {
        query(stmt)
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
                query(stmt).execute(&mut *self.0).await?;
                return Ok(Vec::new());
            }
            let stmt = Stmt {
                sql: format!("{} {}", stmt.sql, returning.clause(Dialect::Postgres)),
                binds: stmt.binds,
            };
            let row = query(stmt).fetch_one(&mut *self.0).await?;
            decode_row(&row, &returning.types())
        })
    }

    fn copy_in(
        &mut self,
        statement: String,
        mut chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> BoxFuture<'_, DbResult<u64>> {
        Box::pin(async move {
            let mut copy = self.0.copy_in_raw(&statement).await?;
            while let Some(chunk) = chunks.recv().await {
                copy.send(chunk).await?;
            }
            copy.finish().await
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

fn decode_row(r: &PgRow, types: &[ColumnType]) -> DbResult<Vec<Value>> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| decode(r, i, ty))
        .collect()
}

/// Binds one value, typed by its column. NULLs are bound with the same parameter type as
/// values of the column, so a cached statement fits every row (an int8 NULL then an int4
/// value would not).
fn bind(q: PgQuery, v: &Value, ty: &ColumnType) -> PgQuery {
    match v {
        Value::Null => match ty {
            ColumnType::Integer => q.bind(None::<i32>),
            ColumnType::BigInt | ColumnType::SizedInt { .. } => q.bind(None::<i64>),
            ColumnType::Numeric { .. } => q.bind(None::<Decimal>),
            ColumnType::Uuid => q.bind(None::<uuid::Uuid>),
            ColumnType::Json => q.bind(None::<sqlx::types::Json<serde_json::Value>>),
            ColumnType::Boolean => q.bind(None::<bool>),
            ColumnType::Date => q.bind(None::<NaiveDate>),
            ColumnType::Timestamp => q.bind(None::<NaiveDateTime>),
            ColumnType::TimestampTz => q.bind(None::<DateTime<Utc>>),
            ColumnType::Bytes => q.bind(None::<Vec<u8>>),
            _ => q.bind(None::<String>),
        },
        Value::Bool(b) => q.bind(*b),
        Value::Int(i) => match ty {
            ColumnType::Integer => q.bind(*i as i32),
            _ => q.bind(*i),
        },
        Value::Numeric(d) => q.bind(*d),
        Value::Date(d) => q.bind(*d),
        Value::Timestamp(t) => q.bind(*t),
        Value::TimestampTz(t) => q.bind(*t),
        Value::Uuid(u) => q.bind(*u),
        Value::Json(j) => q.bind(sqlx::types::Json(j.clone())),
        Value::Bytes(b) => q.bind(b.clone()),
        Value::Text(s) => q.bind(s.clone()),
    }
}

/// Reads a column of a row as a value of `ty`.
fn decode(r: &PgRow, i: usize, ty: &ColumnType) -> DbResult<Value> {
    Ok(match ty {
        ColumnType::Text | ColumnType::Varchar(_) | ColumnType::Native { .. } => {
            opt(r.try_get::<Option<String>, _>(i)?, Value::Text)
        }
        ColumnType::Enum { .. } => opt(r.try_get_unchecked::<Option<String>, _>(i)?, Value::Text),
        // integer columns may be int2 or int4 in the database; bigint is int8.
        ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. } => {
            match r.try_get::<Option<i64>, _>(i) {
                Ok(v) => opt(v, Value::Int),
                Err(_) => match r.try_get::<Option<i32>, _>(i) {
                    Ok(v) => opt(v, |x| Value::Int(x.into())),
                    Err(_) => opt(r.try_get::<Option<i16>, _>(i)?, |x| Value::Int(x.into())),
                },
            }
        }
        ColumnType::Numeric { .. } => opt(r.try_get::<Option<Decimal>, _>(i)?, Value::Numeric),
        ColumnType::Boolean => opt(r.try_get::<Option<bool>, _>(i)?, Value::Bool),
        ColumnType::Date => opt(r.try_get::<Option<NaiveDate>, _>(i)?, Value::Date),
        ColumnType::Timestamp => opt(r.try_get::<Option<NaiveDateTime>, _>(i)?, Value::Timestamp),
        ColumnType::TimestampTz => opt(
            r.try_get::<Option<DateTime<Utc>>, _>(i)?,
            Value::TimestampTz,
        ),
        ColumnType::Uuid => opt(r.try_get::<Option<uuid::Uuid>, _>(i)?, Value::Uuid),
        ColumnType::Json => opt(r.try_get::<Option<serde_json::Value>, _>(i)?, Value::Json),
        ColumnType::Bytes => opt(r.try_get::<Option<Vec<u8>>, _>(i)?, Value::Bytes),
    })
}

/// PostgreSQL's literals: standard strings, `TRUE` and `FALSE`, `'\\x..'` bytea, `+00` on
/// timestamps with a time zone; explicit identity values need `OVERRIDING SYSTEM VALUE`, and
/// the identity's sequence is moved past them afterwards.
pub(crate) const LITERALS: super::Literals = super::Literals {
    text: super::standard_text,
    booleans: ["TRUE", "FALSE"],
    bytes: |out, b| {
        use std::fmt::Write;
        out.push_str("'\\x");
        for x in b {
            let _ = write!(out, "{x:02x}");
        }
        out.push('\'');
    },
    utc_suffix: "+00",
    begin: "BEGIN;",
    override_identity: " OVERRIDING SYSTEM VALUE",
    after_identity: Some(|table, column| {
        let (mut t, mut c) = (String::new(), String::new());
        super::standard_text(&mut t, table);
        super::standard_text(&mut c, column);
        format!(
            "SELECT setval(pg_get_serial_sequence({t}, {c}), (SELECT max({}) FROM {table}));",
            atdm_core::schema::Dialect::Postgres.quote(column)
        )
    }),
};
