//! The databases behind one small surface.
//!
//! Everything that differs between SQLite, PostgreSQL and MySQL/MariaDB lives in one module per
//! database ([`sqlite`], [`postgres`], [`mysql`]). The capabilities above (seeding and resets,
//! the run catalog, baselines, introspection) are written once, against [`Backend`] (what a
//! database is like: its SQL details, its setup lock, its bulk path, its catalog queries) and
//! [`Conn`] (one pooled connection: run statements, fetch rows as [`Value`]s). [`Db::connect`]
//! is the one place that picks a backend, by the URL's scheme.
//!
//! A [`Tx`] is a transaction on one connection. Statements that return nothing are queued and
//! sent with the next statement that does, so a backend that can send several statements in
//! one round trip (SQLite, whose connection is a worker thread) does so; the others run them
//! one by one. If a `Tx` is dropped while its transaction is open (an error path that could
//! not roll back, a cancelled future), its connection is closed instead of going back to the
//! pool, so no later user inherits a half-done transaction.
//!
//! SQL text is only ever built from identifiers of the declared or introspected schema,
//! quoted for the backend; every value is a bound parameter.
//!
//! Adding a database (SQL Server, DuckDB, ...) means one new module that implements
//! [`Backend`] and [`Conn`] on its sqlx driver (or any driver that can bind [`Value`]s and
//! decode rows by [`ColumnType`]), and one arm in [`Db::connect`].

mod bulk;
mod literals;
pub(crate) mod mysql;
pub(crate) mod postgres;
pub(crate) mod sqlite;
mod tx;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use atdm_core::Value;
use atdm_core::schema::{Column, ColumnType, Dialect, Table};
use futures::future::BoxFuture;
use futures::stream::BoxStream;

pub(crate) use bulk::{BoundArgs, BoundInsert, BulkLoad, SnapshotExport, TextCopy};
pub(crate) use literals::{Literals, hex_bytes, literals, standard_text};
pub(crate) use tx::Tx;

use crate::catalog::CatalogSql;
use crate::error::Error;
use crate::introspect::Raw;

/// The result of a database call.
pub(crate) type DbResult<T> = Result<T, sqlx::Error>;

/// One statement and its values, each bound with its column's type.
#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    pub(crate) sql: String,
    pub(crate) binds: Vec<(Value, ColumnType)>,
}

impl Stmt {
    /// A statement without values.
    pub(crate) fn new(sql: impl Into<String>) -> Stmt {
        Stmt {
            sql: sql.into(),
            binds: Vec::new(),
        }
    }

    /// Adds a value.
    pub(crate) fn bind(mut self, v: impl Into<Value>, ty: ColumnType) -> Stmt {
        self.binds.push((v.into(), ty));
        self
    }

    /// Adds a text value.
    pub(crate) fn text(self, s: impl Into<String>) -> Stmt {
        self.bind(Value::Text(s.into()), ColumnType::Text)
    }

    /// Adds a 64-bit integer value.
    pub(crate) fn int(self, i: i64) -> Stmt {
        self.bind(Value::Int(i), ColumnType::BigInt)
    }
}

/// How a backend stores values a baseline keeps, where backends differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValueForms {
    /// `integer` columns hold 64 bits (SQLite), not 32.
    pub(crate) integer_is_64_bit: bool,
    /// uuid and json columns hold text (SQLite, MySQL), not typed values.
    pub(crate) uuid_json_as_text: bool,
}

/// How the rows of a foreign-key cycle are written in one transaction: each row's foreign
/// keys hold only once all of them are written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CycleWrites {
    /// After `defer`, foreign keys are checked at commit (SQLite's
    /// `PRAGMA defer_foreign_keys`).
    Deferred {
        /// The statement that defers the checks until the transaction commits.
        defer: &'static str,
    },
    /// Foreign-key checks are off between `off` and `on` (a session setting); the engine
    /// checks the rows it wrote or deleted itself before it commits (MySQL, MariaDB).
    Unchecked {
        /// Switches the checks off.
        off: &'static str,
        /// Switches them on again.
        on: &'static str,
    },
    /// The statements go out as one, whose foreign keys are checked at its end:
    /// `combine` joins them into one statement that returns one row with each one's count
    /// of rows (PostgreSQL's writable common table expressions).
    OneStatement {
        /// Joins the statements.
        combine: fn(Vec<Stmt>) -> Stmt,
    },
}

/// The statements that make the engine's setup exclusive across processes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SetupLock {
    /// Taken before the setup.
    pub(crate) lock: &'static str,
    /// Ends the setup after success (SQLite: the setup is one transaction).
    pub(crate) commit: Option<&'static str>,
    /// Ends the setup after a failure.
    pub(crate) rollback: Option<&'static str>,
    /// Releases the lock (a named lock), whatever happened.
    pub(crate) unlock: Option<&'static str>,
}

/// What a database is like, and how to reach it: implemented once per database.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    /// The short name audit events record (`sqlite`, `postgres`, `mysql`).
    fn name(&self) -> &'static str;

    /// The SQL dialect (identifier quoting, DDL, the bind limit) of `atdm-core`.
    fn dialect(&self) -> Dialect;

    /// The n-th (from 1) placeholder of a statement.
    fn placeholder(&self, n: usize) -> String {
        let _ = n;
        "?".into()
    }

    /// The n-th placeholder for a value of `table.column` (with a cast where the database
    /// needs one).
    fn param(&self, n: usize, table: &Table, column: &str) -> String {
        let _ = (table, column);
        self.placeholder(n)
    }

    /// The expression that reads a column in a SELECT, so that its value decodes as the
    /// column's type (a database's own type as text).
    fn select_expr(&self, column: &Column) -> String {
        self.dialect().quote(&column.name)
    }

    /// The statement that opens a write transaction.
    fn begin_write_sql(&self) -> &'static str {
        "BEGIN"
    }

    /// The statement that opens a read-only transaction with one consistent view of every
    /// table.
    fn begin_snapshot_sql(&self) -> &'static str;

    /// Whether a write transaction holds the database's write lock from its start, so what it
    /// reads stands until it commits (SQLite's `BEGIN IMMEDIATE`). Elsewhere a claim must be a
    /// conditional update whose row count says who won.
    fn holds_write_lock(&self) -> bool {
        false
    }

    /// An INSERT of one row of defaults.
    fn insert_default_values(&self, quoted_table: &str) -> String {
        format!("INSERT INTO {quoted_table} DEFAULT VALUES")
    }

    /// The database's bulk path ([`Conn::copy_in`]), if it has one.
    fn bulk_load(&self) -> Option<BulkLoad> {
        None
    }

    /// Where there is no [`Backend::bulk_load`]: the database's prepared multi-row `INSERT`
    /// path ([`Conn::execute_bound`]), if it has one.
    fn bound_insert(&self) -> Option<BoundInsert> {
        None
    }

    /// The database's bulk read path ([`Conn::copy_out`]), if it has one.
    fn text_copy(&self) -> Option<TextCopy> {
        None
    }

    /// How read transactions on several connections share one snapshot, if they can.
    fn snapshot_export(&self) -> Option<SnapshotExport> {
        None
    }

    /// Where the run catalog and ledger live, and their DDL.
    fn catalog(&self) -> CatalogSql;

    /// How baselines find values stored.
    fn value_forms(&self) -> ValueForms;

    /// How the rows of a foreign-key cycle are written and deleted together.
    fn cycle_writes(&self) -> CycleWrites;

    /// `n` new values of the integer key `column` of `table`, inside the write transaction
    /// `tx`, that no other transaction gets: by default the largest existing value and the
    /// next ones, read while the transaction holds the write lock (SQLite) or a lock on the
    /// table's end (MySQL's `FOR UPDATE`). A database with sequences draws from the column's
    /// sequence.
    fn allocate_keys<'a>(
        &'a self,
        tx: &'a mut Tx,
        table: &'a Table,
        column: &'a str,
        n: usize,
    ) -> BoxFuture<'a, DbResult<Vec<i64>>> {
        Box::pin(async move {
            let d = self.dialect();
            let sql = format!(
                "SELECT COALESCE(MAX({}), 0) FROM {}{}",
                d.quote(column),
                d.quote_table(table),
                self.lock_for_update()
            );
            let rows = tx.fetch_all(Stmt::new(sql), &[ColumnType::BigInt]).await?;
            let max = match rows.first().and_then(|r| r.first()) {
                Some(Value::Int(m)) => *m,
                _ => 0,
            };
            Ok((1..=n as i64).map(|k| max + k).collect())
        })
    }

    /// The value after which a volume load may write `n` keys of the identity `column` of
    /// `table` itself, so that no other transaction takes one of them: by default the
    /// largest existing value, read while the transaction holds the write lock (SQLite) or a
    /// lock on the table's end (MySQL's `FOR UPDATE`). A database with sequences also looks
    /// past the sequence.
    fn reserve_keys<'a>(
        &'a self,
        tx: &'a mut Tx,
        table: &'a Table,
        column: &'a str,
    ) -> BoxFuture<'a, DbResult<i64>> {
        Box::pin(async move {
            let d = self.dialect();
            let sql = format!(
                "SELECT COALESCE(MAX({}), 0) FROM {}{}",
                d.quote(column),
                d.quote_table(table),
                self.lock_for_update()
            );
            let rows = tx.fetch_all(Stmt::new(sql), &[ColumnType::BigInt]).await?;
            Ok(match rows.first().and_then(|r| r.first()) {
                Some(Value::Int(m)) => *m,
                _ => 0,
            })
        })
    }

    /// Whether an error ended a transaction that may succeed if run again (a deadlock, a
    /// serialization failure): by default SQLSTATE class 40 (transaction rollback).
    fn is_transient(&self, e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(d) => d.code().is_some_and(|c| c.starts_with("40")),
            _ => false,
        }
    }

    /// Whether an error says the role may not do what was asked (create a table or schema,
    /// own an index): by default SQLSTATE 42501 (insufficient privilege).
    fn is_permission_denied(&self, e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(d) => d.code().is_some_and(|c| c == "42501"),
            _ => false,
        }
    }

    /// What follows a SELECT that must lock the rows it reads until commit (` FOR UPDATE`
    /// where the database has it).
    fn lock_for_update(&self) -> &'static str {
        ""
    }

    /// How the setup is made exclusive.
    fn setup_lock(&self) -> SetupLock;

    /// A connection of the pool.
    fn acquire(&self) -> BoxFuture<'_, DbResult<Box<dyn Conn>>>;

    /// Closes the pool.
    fn close(&self) -> BoxFuture<'_, ()>;

    /// Reads the user tables of the current database (introspection).
    fn read_schema(&self) -> BoxFuture<'_, Result<Raw, Error>>;

    /// Statements a restore runs right after it begins (SQLite: foreign keys checked at
    /// commit).
    fn restore_prelude(&self) -> &'static [&'static str] {
        &[]
    }

    /// Empties `tables` (quoted names, in insert order) at once if the database can, returning
    /// the rows each held; `None` when the caller should delete table by table.
    fn empty_tables<'a>(
        &'a self,
        tx: &'a mut Tx,
        tables: &'a [String],
    ) -> BoxFuture<'a, DbResult<Option<Vec<u64>>>> {
        let _ = (tx, tables);
        Box::pin(async { Ok(None) })
    }

    /// Deletes every row of one table (children of other tables are gone already); a table
    /// that references itself is emptied whole.
    fn delete_all<'a>(
        &'a self,
        tx: &'a mut Tx,
        quoted_table: &'a str,
        self_referencing: bool,
    ) -> BoxFuture<'a, DbResult<u64>> {
        let _ = self_referencing;
        Box::pin(tx.execute(Stmt::new(format!("DELETE FROM {quoted_table}"))))
    }

    /// The statement that switches a table's own triggers off (`on` false) or on again inside a
    /// transaction, where the database can (PostgreSQL: `ALTER TABLE ... DISABLE TRIGGER
    /// USER`, for the table's owner). `None`: triggers fire, and a restore reconciles what
    /// they changed.
    fn switch_triggers(&self, quoted_table: &str, on: bool) -> Option<String> {
        let _ = (quoted_table, on);
        None
    }

    /// How an INSERT begins that skips rows whose key exists (a trigger wrote them first):
    /// `INSERT IGNORE INTO` (MySQL), `INSERT OR IGNORE INTO` (SQLite).
    fn insert_ignoring(&self) -> &'static str {
        "INSERT INTO"
    }

    /// What an INSERT that writes identity columns' own values needs after its column list
    /// (PostgreSQL: `OVERRIDING SYSTEM VALUE`).
    fn identity_insert(&self) -> &'static str {
        ""
    }

    /// Runs after a restore wrote every table: `identity` lists each table (quoted) with its
    /// identity columns, whose counters should continue after the largest restored value.
    fn after_restore<'a>(
        &'a self,
        tx: &'a mut Tx,
        identity: &'a [(String, Vec<String>)],
    ) -> BoxFuture<'a, DbResult<()>> {
        let _ = (tx, identity);
        Box::pin(async { Ok(()) })
    }
}

/// One pooled connection of a backend.
pub(crate) trait Conn: Send {
    /// Runs statements in order (in one round trip where the backend can).
    fn execute_batch(&mut self, stmts: Vec<Stmt>) -> BoxFuture<'_, DbResult<()>>;

    /// Runs statements in order and returns the rows each one changed (statements that
    /// return rows do not belong in a batch).
    fn execute_counted(&mut self, stmts: Vec<Stmt>) -> BoxFuture<'_, DbResult<Vec<u64>>>;

    /// Runs `first` (statements that return no rows), then `stmt`, and returns the rows of
    /// `stmt`, each column decoded as `types` says.
    fn fetch_all<'a>(
        &'a mut self,
        first: Vec<Stmt>,
        stmt: Stmt,
        types: &'a [ColumnType],
    ) -> BoxFuture<'a, DbResult<Vec<Vec<Value>>>>;

    /// The rows of `stmt` as a stream, decoded as `types` says.
    fn fetch<'a>(
        &'a mut self,
        stmt: Stmt,
        types: Vec<ColumnType>,
    ) -> BoxStream<'a, DbResult<Vec<Value>>>;

    /// Runs an INSERT of one row (without a RETURNING clause) and returns the values of the
    /// `returning` columns the database assigned, in their order.
    fn insert_returning<'a>(
        &'a mut self,
        stmt: Stmt,
        returning: &'a Returning<'a>,
    ) -> BoxFuture<'a, DbResult<Vec<Value>>>;

    /// Loads rows through the bulk path's `statement`, fed chunk by chunk (rows as
    /// [`BulkLoad::row`] writes them) while the chunks are made; returns the rows loaded. Only called
    /// where [`Backend::bulk_load`] is `Some`.
    fn copy_in(
        &mut self,
        statement: String,
        chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> BoxFuture<'_, DbResult<u64>> {
        let _ = (statement, chunks);
        Box::pin(async {
            Err(sqlx::Error::Protocol(
                "this database has no COPY bulk path".into(),
            ))
        })
    }

    /// Streams the output of a `COPY ... TO STDOUT` statement, in pieces of whole rows (as
    /// [`TextCopy`] reads them). Only called where [`Backend::text_copy`] is `Some`.
    fn copy_out<'a>(
        &'a mut self,
        statement: String,
    ) -> BoxFuture<'a, DbResult<BoxStream<'a, DbResult<Vec<u8>>>>> {
        let _ = statement;
        Box::pin(async {
            Err(sqlx::Error::Protocol(
                "this database has no COPY TO path".into(),
            ))
        })
    }

    /// Runs the prepared statement `sql` with the parameters `args` (see [`BoundInsert`]);
    /// returns the rows it changed. Only called where [`Backend::bound_insert`] is `Some`.
    fn execute_bound(&mut self, sql: Arc<str>, args: BoundArgs) -> BoxFuture<'_, DbResult<u64>> {
        let _ = (sql, args);
        Box::pin(async {
            Err(sqlx::Error::Protocol(
                "this database has no bound INSERT path".into(),
            ))
        })
    }

    /// Runs one statement given as text, without parameters and without preparing it (a
    /// large generated `INSERT`); returns the rows it changed.
    fn execute_script(&mut self, sql: String) -> BoxFuture<'_, DbResult<u64>>;

    /// Closes the connection when it is dropped instead of returning it to the pool.
    fn close_on_drop(&mut self);
}

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub(crate) struct Db(Arc<dyn Backend>);

impl std::ops::Deref for Db {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        &*self.0
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
        let backend: Arc<dyn Backend> = match scheme.as_str() {
            "sqlite" => Arc::new(sqlite::Sqlite::connect(url, pool_size, acquire_timeout).await?),
            "postgres" | "postgresql" => {
                Arc::new(postgres::Postgres::connect(url, pool_size, acquire_timeout).await?)
            }
            "mysql" | "mariadb" => {
                Arc::new(mysql::MySql::connect(url, pool_size, acquire_timeout).await?)
            }
            _ => {
                return Err(invalid_url(
                    url,
                    "the scheme must be sqlite:, postgres: or mysql: (for example sqlite://.atdm/atdm.sqlite, postgres://user@host/db, mysql://root@127.0.0.1/test)",
                ));
            }
        };
        Ok(Db(backend))
    }

    /// A write transaction (its BEGIN goes out with the first statement).
    pub(crate) async fn begin(&self) -> DbResult<Tx> {
        let mut tx = self.session().await?;
        tx.queue(Stmt::new(self.begin_write_sql()));
        Ok(tx)
    }

    /// A read-only transaction with one consistent view.
    pub(crate) async fn begin_snapshot(&self) -> DbResult<Tx> {
        let mut tx = self.session().await?;
        tx.queue(Stmt::new(self.begin_snapshot_sql()));
        Ok(tx)
    }

    /// A connection outside any transaction the engine opens (statements commit one by one,
    /// unless the caller sends BEGIN itself).
    pub(crate) async fn session(&self) -> DbResult<Tx> {
        Ok(Tx::new(self.acquire().await?, self.holds_write_lock()))
    }

    /// The rows of one statement, outside a transaction.
    pub(crate) async fn fetch_all(
        &self,
        stmt: Stmt,
        types: &[ColumnType],
    ) -> DbResult<Vec<Vec<Value>>> {
        let mut conn = self.acquire().await?;
        conn.fetch_all(Vec::new(), stmt, types).await
    }
}

/// A database URL as messages and outputs show it: its password (if it has one) replaced by
/// `***`, the rest as given, so a command it appears in can be copied.
///
/// ```
/// assert_eq!(atdm_sqlx::redact_url("postgres://app:s3cret@db/app"), "postgres://app:***@db/app");
/// assert_eq!(atdm_sqlx::redact_url("postgres://ci@db/test"), "postgres://ci@db/test");
/// ```
pub fn redact(url: &str) -> String {
    if let Ok(mut u) = url::Url::parse(url) {
        if u.password().is_some() && u.set_password(Some("***")).is_ok() {
            return u.to_string();
        }
        if u.password().is_none() {
            return url.to_owned();
        }
    }
    // Not a URL the parser takes (a bad port, say): mask what follows the user's colon.
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// An [`Error::InvalidUrl`] for `url` (redacted).
pub(crate) fn invalid_url(url: &str, message: impl Into<String>) -> Error {
    Error::InvalidUrl {
        url: redact(url),
        message: message.into(),
    }
}

/// An [`Error::Database`] for a connection that could not be made.
pub(crate) fn unavailable(url: &str, e: sqlx::Error) -> Error {
    Error::Database {
        context: format!("cannot connect to {}", redact(url)),
        message: crate::error::db_message(&e),
    }
}

/// The text form of a value, for backends that bind it as text.
pub(crate) fn text_of(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Json(j) => j.to_string(),
        other => match other.to_json() {
            serde_json::Value::String(s) => s,
            j => j.to_string(),
        },
    }
}

/// A value read as text, made into the column's type.
pub(crate) fn parse_text(s: Option<String>, ty: &ColumnType) -> DbResult<Value> {
    match s {
        None => Ok(Value::Null),
        Some(s) => Value::Text(s)
            .coerce(ty)
            .map_err(|e| sqlx::Error::Decode(e.into())),
    }
}

/// What an INSERT of one row reads back: the columns the database assigns, and what a backend
/// without `RETURNING` needs to find the row again.
pub(crate) struct Returning<'a> {
    /// The table, quoted for the dialect.
    pub(crate) table: &'a str,
    /// The columns to read back, with their types.
    pub(crate) columns: &'a [(String, ColumnType)],
    /// The table's identity (auto-increment) column, if it has one.
    pub(crate) identity: Option<&'a str>,
}

impl Returning<'_> {
    /// The columns' types, in order.
    pub(crate) fn types(&self) -> Vec<ColumnType> {
        self.columns.iter().map(|(_, ty)| ty.clone()).collect()
    }

    /// `RETURNING a, b` for the columns.
    pub(crate) fn clause(&self, d: Dialect) -> String {
        let cols: Vec<String> = self.columns.iter().map(|(c, _)| d.quote(c)).collect();
        format!("RETURNING {}", cols.join(", "))
    }
}

/// `Some(v)` as a value, `None` as NULL.
pub(crate) fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
    v.map(f).unwrap_or(Value::Null)
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
        // No password: nothing to hide, and no `:***` is made up.
        assert_eq!(redact("postgres://ci@db/test"), "postgres://ci@db/test");
        // A URL the parser refuses still loses its password.
        assert_eq!(
            redact("postgres://alice:s3cret@db:port/x"),
            "postgres://alice:***@db:port/x"
        );
        assert_eq!(redact("mysql://root@db:bad/x"), "mysql://root@db:bad/x");
    }
}
