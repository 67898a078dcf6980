//! MySQL and MariaDB: sessions in UTC and strict mode, a named lock (`GET_LOCK`) around the
//! setup, `LAST_INSERT_ID()` for assigned keys, and foreign-key checks switched off for the one
//! statement that empties a self-referencing table in a restore.

mod bound;
mod introspect;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use atdm_core::Value;
use atdm_core::schema::{Column, ColumnType, Dialect, Table};
use chrono::{NaiveDate, NaiveDateTime};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use sqlx::mysql::{MySqlArguments, MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::{Row, TypeInfo, ValueRef};

use super::{
    Backend, BoundArgs, BoundInsert, Conn, CycleWrites, DbResult, Returning, SetupLock, Stmt, Tx,
    ValueForms, invalid_url, opt, parse_text, text_of, unavailable,
};
use crate::catalog::{self, CatalogSql};
use crate::error::Error;
use crate::introspect::Raw;

/// A MySQL or MariaDB database.
#[derive(Debug)]
pub(crate) struct MySql {
    pool: MySqlPool,
    /// MariaDB 10.5 and later: `INSERT ... RETURNING` reads back what the database assigned.
    returning: bool,
}

impl MySql {
    /// Connects to the server a `mysql:` or `mariadb:` URL names.
    pub(crate) async fn connect(
        url: &str,
        pool_size: u32,
        acquire_timeout: Duration,
    ) -> Result<MySql, Error> {
        let fixed = match url.get(..8) {
            Some(s) if s.eq_ignore_ascii_case("mariadb:") => format!("mysql:{}", &url[8..]),
            _ => url.to_owned(),
        };
        let opts =
            MySqlConnectOptions::from_str(&fixed).map_err(|e| invalid_url(url, e.to_string()))?;
        let pool = MySqlPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(acquire_timeout)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // UTC for DATETIME values, and strict mode so bad values fail loudly.
                    sqlx::query(
                        "SET time_zone = '+00:00', sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')",
                    )
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(|e| unavailable(url, e))?;
        let version: String = sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&pool)
            .await
            .map_err(|e| unavailable(url, e))?;
        Ok(MySql {
            pool,
            returning: insert_returning_supported(&version),
        })
    }
}

/// How this database holds the values a baseline keeps.
pub(crate) const VALUE_FORMS: ValueForms = ValueForms {
    integer_is_64_bit: false,
    uuid_json_as_text: true,
};

impl Backend for MySql {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    fn begin_snapshot_sql(&self) -> &'static str {
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"
    }

    /// The database's own types travel as text: spatial values as the hex of MySQL's
    /// internal form, bits as a number.
    fn param(&self, n: usize, table: &Table, column: &str) -> String {
        match table.get_column(column).map(|c| native_kind(&c.ty)) {
            Some(Native::Spatial) => "UNHEX(?)".into(),
            Some(Native::Bits) => "CAST(? AS UNSIGNED)".into(),
            _ => self.placeholder(n),
        }
    }

    fn select_expr(&self, column: &Column) -> String {
        let q = Dialect::MySql.quote(&column.name);
        match native_kind(&column.ty) {
            Native::Spatial => format!("HEX({q})"),
            Native::Bits => format!("CAST({q} + 0 AS CHAR)"),
            Native::Text => format!("CAST({q} AS CHAR)"),
            Native::No => q,
        }
    }

    fn insert_default_values(&self, quoted_table: &str) -> String {
        format!("INSERT INTO {quoted_table} () VALUES ()")
    }

    fn catalog(&self) -> CatalogSql {
        let d = Dialect::MySql;
        let [runs, ledger, outbox, setup] =
            ["atdm_runs", "atdm_ledger", "atdm_outbox", "atdm_setup"].map(|t| d.quote(t));
        let ddl = catalog::create_tables(
            [&runs, &ledger, &outbox, &setup],
            "LONGTEXT",
            ",\n  INDEX ix_atdm_ledger_table (table_name)",
        );
        CatalogSql::new([runs, ledger, outbox, setup], ddl, |_| "?".into())
    }

    fn value_forms(&self) -> ValueForms {
        VALUE_FORMS
    }

    fn cycle_writes(&self) -> CycleWrites {
        CycleWrites::Unchecked {
            off: "SET FOREIGN_KEY_CHECKS = 0",
            on: "SET FOREIGN_KEY_CHECKS = 1",
        }
    }

    fn lock_for_update(&self) -> &'static str {
        " FOR UPDATE"
    }

    fn bound_insert(&self) -> Option<BoundInsert> {
        Some(bound::BOUND_INSERT)
    }

    fn insert_ignoring(&self) -> &'static str {
        "INSERT IGNORE INTO"
    }

    /// MySQL's access errors share SQLSTATE 42000 with syntax errors: told apart by number
    /// (1044 no access to the database, 1142 command denied on a table, 1227 a privilege
    /// needed).
    fn is_permission_denied(&self, e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(d) => d
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .is_some_and(|m| matches!(m.number(), 1044 | 1142 | 1227)),
            _ => false,
        }
    }

    fn setup_lock(&self) -> SetupLock {
        SetupLock {
            lock: "SELECT GET_LOCK('atdm_setup', 120)",
            commit: None,
            rollback: None,
            unlock: Some("SELECT RELEASE_LOCK('atdm_setup')"),
        }
    }

    fn acquire(&self) -> BoxFuture<'_, DbResult<Box<dyn Conn>>> {
        Box::pin(async move {
            let conn = self.pool.acquire().await?;
            Ok(Box::new(MySqlConn(conn, self.returning)) as Box<dyn Conn>)
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.pool.close())
    }

    fn read_schema(&self) -> BoxFuture<'_, Result<Raw, Error>> {
        Box::pin(introspect::read(&self.pool))
    }

    /// InnoDB checks a self-reference row by row; the table is emptied whole, so the check is
    /// off for this one statement (and on again whatever happens, so the connection goes back
    /// to the pool as it came).
    fn delete_all<'a>(
        &'a self,
        tx: &'a mut Tx,
        quoted_table: &'a str,
        self_referencing: bool,
    ) -> BoxFuture<'a, DbResult<u64>> {
        Box::pin(async move {
            let delete = Stmt::new(format!("DELETE FROM {quoted_table}"));
            if !self_referencing {
                return tx.execute(delete).await;
            }
            tx.queue(Stmt::new("SET FOREIGN_KEY_CHECKS = 0"));
            let deleted = tx.execute(delete).await;
            let on = tx.execute(Stmt::new("SET FOREIGN_KEY_CHECKS = 1")).await;
            let n = deleted?;
            on?;
            Ok(n)
        })
    }
}

/// How a column of one of MySQL's own types travels.
enum Native {
    /// Not a native type.
    No,
    /// Geometry types: the hex of the internal form (SRID and well-known binary).
    Spatial,
    /// `BIT(n)`: the number.
    Bits,
    /// Anything else (`YEAR`, `TIME`, `SET`, ...): its text.
    Text,
}

fn native_kind(ty: &ColumnType) -> Native {
    let ColumnType::Native { name, .. } = ty else {
        return Native::No;
    };
    let head = name
        .split('(')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match head.as_str() {
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" | "geomcollection" => Native::Spatial,
        "bit" => Native::Bits,
        _ => Native::Text,
    }
}

/// A pooled connection, and whether the server reads back with `INSERT ... RETURNING`.
struct MySqlConn(PoolConnection<sqlx::MySql>, bool);

/// Whether a server of this `VERSION()` has `INSERT ... RETURNING` (MariaDB 10.5 and later;
/// MySQL has none).
fn insert_returning_supported(version: &str) -> bool {
    if !version.contains("MariaDB") {
        return false;
    }
    // Some proxies still report the old replication prefix: "5.5.5-10.11.6-MariaDB".
    let version = version.strip_prefix("5.5.5-").unwrap_or(version);
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (10, 5)
}

type MySqlQuery = Query<'static, sqlx::MySql, MySqlArguments>;

fn query(stmt: Stmt) -> MySqlQuery {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(stmt.sql));
    for (v, ty) in &stmt.binds {
        q = bind(q, v, ty);
    }
    q
}

impl Conn for MySqlConn {
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

    /// MySQL has no RETURNING: the AUTO_INCREMENT key comes from `LAST_INSERT_ID()`, other
    /// assigned columns read as NULL.
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
            if self.1 {
                let stmt = Stmt {
                    sql: format!("{} {}", stmt.sql, returning.clause(Dialect::MySql)),
                    binds: stmt.binds,
                };
                let row = query(stmt).fetch_one(&mut *self.0).await?;
                return decode_row(&row, &returning.types());
            }
            // MySQL: the auto-increment key is LAST_INSERT_ID(); any other assigned column is
            // read from the row that key names.
            let done = query(stmt).execute(&mut *self.0).await?;
            let id = Value::Int(done.last_insert_id() as i64);
            let Some(identity) = returning.identity.filter(|_| done.last_insert_id() > 0) else {
                return Err(sqlx::Error::Protocol(format!(
                    "MySQL cannot read back the values it assigned to {} of {} (the table has no \
                     auto-increment key); give those columns values in the scenario",
                    returning
                        .columns
                        .iter()
                        .map(|(c, _)| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    returning.table
                )));
            };
            let others: Vec<&(String, ColumnType)> = returning
                .columns
                .iter()
                .filter(|(c, _)| c != identity)
                .collect();
            let mut read = Vec::new();
            if !others.is_empty() {
                let cols: Vec<String> = others
                    .iter()
                    .map(|(c, _)| Dialect::MySql.quote(c))
                    .collect();
                let types: Vec<ColumnType> = others.iter().map(|(_, t)| t.clone()).collect();
                let sql = format!(
                    "SELECT {} FROM {} WHERE {} = ?",
                    cols.join(", "),
                    returning.table,
                    Dialect::MySql.quote(identity)
                );
                let row = query(Stmt::new(sql).bind(id.clone(), ColumnType::BigInt))
                    .fetch_one(&mut *self.0)
                    .await?;
                read = decode_row(&row, &types)?;
            }
            let mut read = read.into_iter();
            Ok(returning
                .columns
                .iter()
                .map(|(c, _)| {
                    if c == identity {
                        id.clone()
                    } else {
                        read.next().unwrap_or(Value::Null)
                    }
                })
                .collect())
        })
    }

    fn execute_bound(&mut self, sql: Arc<str>, args: BoundArgs) -> BoxFuture<'_, DbResult<u64>> {
        let BoundArgs::MySql(args) = args;
        Box::pin(async move {
            Ok(sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                .execute(&mut *self.0)
                .await?
                .rows_affected())
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

fn decode_row(r: &MySqlRow, types: &[ColumnType]) -> DbResult<Vec<Value>> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| decode(r, i, ty))
        .collect()
}

/// Binds one value, typed by its column.
fn bind(q: MySqlQuery, v: &Value, ty: &ColumnType) -> MySqlQuery {
    match v {
        Value::Null => match ty {
            ColumnType::Numeric { .. } => q.bind(None::<Decimal>),
            ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. } => {
                q.bind(None::<i64>)
            }
            ColumnType::Boolean => q.bind(None::<bool>),
            ColumnType::Date => q.bind(None::<NaiveDate>),
            ColumnType::Timestamp | ColumnType::TimestampTz => q.bind(None::<NaiveDateTime>),
            ColumnType::Bytes => q.bind(None::<Vec<u8>>),
            _ => q.bind(None::<String>),
        },
        Value::Bool(b) => q.bind(*b),
        Value::Int(i) => q.bind(*i),
        Value::Numeric(d) => q.bind(*d),
        Value::Date(d) => q.bind(*d),
        Value::Timestamp(t) => q.bind(*t),
        // DATETIME(6) holds UTC (the session time zone is +00:00).
        Value::TimestampTz(t) => q.bind(t.naive_utc()),
        Value::Bytes(b) => q.bind(b.clone()),
        other => q.bind(text_of(other)),
    }
}

/// An integer, whatever integer (or decimal, for computed values such as `MAX`) type the
/// server sends it as.
fn int(r: &MySqlRow, i: usize) -> DbResult<Value> {
    let raw = r.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let name = raw.type_info().name().to_ascii_uppercase();
    let too_large = |v: &dyn std::fmt::Display| {
        sqlx::Error::Decode(format!("{v} does not fit a 64-bit integer").into())
    };
    Ok(Value::Int(
        if name.contains("DECIMAL") || name.contains("CHAR") {
            let text: String = r.try_get_unchecked(i)?;
            let d = Decimal::from_str(text.trim()).map_err(|e| sqlx::Error::Decode(e.into()))?;
            i64::try_from(d).map_err(|_| too_large(&d))?
        } else if name.starts_with("BIGINT") && name.contains("UNSIGNED") {
            let u: u64 = r.try_get_unchecked(i)?;
            i64::try_from(u).map_err(|_| too_large(&u))?
        } else {
            r.try_get_unchecked::<i64, _>(i)?
        },
    ))
}

/// Reads a column of a row as a value of `ty`.
fn decode(r: &MySqlRow, i: usize, ty: &ColumnType) -> DbResult<Value> {
    Ok(match ty {
        ColumnType::Text
        | ColumnType::Varchar(_)
        | ColumnType::Enum { .. }
        | ColumnType::Native { .. } => {
            opt(r.try_get_unchecked::<Option<String>, _>(i)?, Value::Text)
        }
        ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. } => int(r, i)?,
        ColumnType::Numeric { .. } => opt(r.try_get::<Option<Decimal>, _>(i)?, Value::Numeric),
        ColumnType::Boolean => opt(r.try_get_unchecked::<Option<bool>, _>(i)?, Value::Bool),
        ColumnType::Date => opt(r.try_get::<Option<NaiveDate>, _>(i)?, Value::Date),
        ColumnType::Timestamp => opt(
            r.try_get_unchecked::<Option<NaiveDateTime>, _>(i)?,
            Value::Timestamp,
        ),
        ColumnType::TimestampTz => opt(r.try_get_unchecked::<Option<NaiveDateTime>, _>(i)?, |t| {
            Value::TimestampTz(t.and_utc())
        }),
        ColumnType::Bytes => opt(r.try_get_unchecked::<Option<Vec<u8>>, _>(i)?, Value::Bytes),
        ColumnType::Uuid | ColumnType::Json => {
            parse_text(r.try_get_unchecked::<Option<String>, _>(i)?, ty)?
        }
    })
}

/// MySQL's and MariaDB's literals: strings with backslashes escaped too (the default
/// `sql_mode` reads them as escapes), 1 and 0, `X'..'` bytes, timestamps without an offset.
pub(crate) const LITERALS: super::Literals = super::Literals {
    text: |out, s| {
        out.push('\'');
        for ch in s.chars() {
            match ch {
                '\'' => out.push_str("''"),
                '\\' => out.push_str("\\\\"),
                '\0' => out.push_str("\\0"),
                c => out.push(c),
            }
        }
        out.push('\'');
    },
    booleans: ["1", "0"],
    bytes: super::hex_bytes,
    utc_suffix: "",
    begin: "START TRANSACTION;",
    override_identity: "",
    after_identity: None,
};

#[cfg(test)]
mod tests {
    #[test]
    fn returning_is_read_from_mariadb_10_5_on() {
        use super::insert_returning_supported as ok;
        assert!(ok("10.11.19-MariaDB-0+deb12u1"));
        assert!(ok("10.5.0-MariaDB"));
        assert!(ok("11.4.2-MariaDB-log"));
        assert!(!ok("10.4.32-MariaDB"));
        assert!(!ok("8.0.36"));
        assert!(ok("5.5.5-10.11.6-MariaDB"));
    }
}
