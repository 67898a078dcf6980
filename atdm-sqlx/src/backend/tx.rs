//! [`Tx`]: a transaction (or a session) on one connection, which queues the statements that
//! return nothing and sends them with the next round trip (see the module docs of
//! [`backend`](super)).

use std::sync::Arc;

use atdm_core::Value;
use atdm_core::schema::ColumnType;
use futures::stream::BoxStream;

use super::{BoundArgs, Conn, DbResult, Returning, Stmt};

/// A transaction (or a session) on one connection; see the module docs.
pub(crate) struct Tx {
    conn: Box<dyn Conn>,
    pending: Vec<Stmt>,
    /// The transaction may be open: dropping the `Tx` closes the connection.
    open: bool,
    /// Something went to the database (so there may be a transaction to roll back).
    sent: bool,
    holds_write_lock: bool,
}

impl Tx {
    /// A session on `conn`, nothing sent yet; `holds_write_lock` as
    /// [`Backend::holds_write_lock`](super::Backend::holds_write_lock).
    pub(super) fn new(conn: Box<dyn Conn>, holds_write_lock: bool) -> Self {
        Tx {
            conn,
            pending: Vec::new(),
            open: true,
            sent: false,
            holds_write_lock,
        }
    }

    /// Queues a statement that returns nothing; it goes out with the next round trip.
    pub(crate) fn queue(&mut self, stmt: Stmt) {
        self.pending.push(stmt);
    }

    /// Sends the queued statements.
    pub(crate) async fn flush(&mut self) -> DbResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.sent = true;
        let batch = std::mem::take(&mut self.pending);
        self.conn.execute_batch(batch).await
    }

    /// Runs the queued statements and `stmt`; returns the rows `stmt` changed.
    pub(crate) async fn execute(&mut self, stmt: Stmt) -> DbResult<u64> {
        self.sent = true;
        let mut batch = std::mem::take(&mut self.pending);
        batch.push(stmt);
        let counts = self.conn.execute_counted(batch).await?;
        Ok(counts.last().copied().unwrap_or_default())
    }

    /// Runs the queued statements and `stmt`; returns the rows of `stmt`.
    pub(crate) async fn fetch_all(
        &mut self,
        stmt: Stmt,
        types: &[ColumnType],
    ) -> DbResult<Vec<Vec<Value>>> {
        self.sent = true;
        let first = std::mem::take(&mut self.pending);
        self.conn.fetch_all(first, stmt, types).await
    }

    /// Runs the queued statements, then streams the rows of `stmt`.
    pub(crate) async fn fetch(
        &mut self,
        stmt: Stmt,
        types: Vec<ColumnType>,
    ) -> DbResult<BoxStream<'_, DbResult<Vec<Value>>>> {
        self.flush().await?;
        self.sent = true;
        Ok(self.conn.fetch(stmt, types))
    }

    /// Runs the queued statements, then inserts one row and reads back `returning`.
    pub(crate) async fn insert_returning(
        &mut self,
        stmt: Stmt,
        returning: &Returning<'_>,
    ) -> DbResult<Vec<Value>> {
        self.flush().await?;
        self.conn.insert_returning(stmt, returning).await
    }

    /// Runs the queued statements, then bulk-loads through `statement` (see
    /// [`Conn::copy_in`]).
    pub(crate) async fn copy_in(
        &mut self,
        statement: String,
        chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> DbResult<u64> {
        self.flush().await?;
        self.conn.copy_in(statement, chunks).await
    }

    /// Runs the queued statements, then streams the output of `statement` (see
    /// [`Conn::copy_out`]).
    pub(crate) async fn copy_out(
        &mut self,
        statement: String,
    ) -> DbResult<BoxStream<'_, DbResult<Vec<u8>>>> {
        self.flush().await?;
        self.sent = true;
        self.conn.copy_out(statement).await
    }

    /// Runs the queued statements, then `sql` as text (see [`Conn::execute_script`]).
    pub(crate) async fn execute_script(&mut self, sql: String) -> DbResult<u64> {
        self.flush().await?;
        self.sent = true;
        self.conn.execute_script(sql).await
    }

    /// Runs the queued statements, then the prepared `sql` with `args` (see
    /// [`Conn::execute_bound`]).
    pub(crate) async fn execute_bound(&mut self, sql: Arc<str>, args: BoundArgs) -> DbResult<u64> {
        self.flush().await?;
        self.sent = true;
        self.conn.execute_bound(sql, args).await
    }

    /// Runs the queued statements and `data` as one `COPY` chunk.
    pub(crate) async fn copy_text(&mut self, statement: String, data: Vec<u8>) -> DbResult<u64> {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        sender
            .send(data)
            .await
            .expect("the receiver is alive and has room");
        drop(sender);
        self.copy_in(statement, receiver).await
    }

    /// Commits, sending the queued statements first (in the same round trip where the
    /// backend can).
    pub(crate) async fn commit(&mut self) -> DbResult<()> {
        self.queue(Stmt::new("COMMIT"));
        self.flush().await?;
        self.open = false;
        Ok(())
    }

    /// Runs the queued statements and `stmts`, in one round trip where the backend can;
    /// returns the rows each of `stmts` changed.
    pub(crate) async fn execute_counted(&mut self, stmts: Vec<Stmt>) -> DbResult<Vec<u64>> {
        self.sent = true;
        let mut batch = std::mem::take(&mut self.pending);
        let first = batch.len();
        let n = stmts.len();
        batch.extend(stmts);
        let counts = self.conn.execute_counted(batch).await?;
        Ok(counts[first..first + n].to_vec())
    }

    /// Whether this transaction holds the write lock from its start (see
    /// [`Backend::holds_write_lock`]).
    pub(crate) fn holds_write_lock(&self) -> bool {
        self.holds_write_lock
    }

    /// Ends a transaction whose body returned `outcome` (a successful body has committed):
    /// after an error the transaction is rolled back, and if even that fails the connection
    /// is closed when the `Tx` drops.
    pub(crate) async fn settle<T, E>(mut self, outcome: Result<T, E>) -> Result<T, E> {
        self.pending.clear();
        let clean = outcome.is_ok()
            || !self.sent
            || self
                .conn
                .execute_batch(vec![Stmt::new("ROLLBACK")])
                .await
                .is_ok();
        if clean {
            self.open = false;
        }
        outcome
    }

    /// Marks a session (no transaction of the engine's) as safe to return to the pool.
    pub(crate) fn release(mut self) {
        self.open = false;
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.open && self.sent {
            self.conn.close_on_drop();
        }
    }
}
