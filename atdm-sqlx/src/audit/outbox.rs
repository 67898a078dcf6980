//! The audit outbox: the events that record a seed, a reset or a baseline restore are put into
//! a table of the target database in the same transaction as the rows they describe, and
//! deleted from it once the audit store holds them. A process killed between its commit and its store write, or a
//! store that is down, loses nothing: any later engine writes the outbox's batches to the store
//! (on its first audit write, and in every [`Engine::flush_audit`]).
//!
//! A batch is written as one object whose key comes from its first event, so a batch written
//! twice (by its writer and by another engine draining the outbox) is one object: the second
//! put finds it there and counts it as written.

use atdm_core::Value;
use atdm_core::audit::AuditEvent;
use atdm_core::schema::ColumnType;

use crate::Engine;
use crate::backend::Stmt;
use crate::engine::micros;
use crate::error::Error;

/// Batches read from the outbox per query while draining.
const PAGE: usize = 100;

/// The environment variable of the test hook below.
const ENV_TEST_FAULT: &str = "ATDM_TEST_FAULT";

/// A test hook, in the manner of git's `GIT_TEST_*` variables: with
/// `ATDM_TEST_FAULT=pause-after-commit` a process stops for a minute after a seed, reset or
/// restore has committed and before its events go to the store, having said so on stderr, so
/// that a test can kill it there. Unset (always, outside such a test) it costs one environment lookup.
async fn pause_after_commit() {
    if std::env::var(ENV_TEST_FAULT).as_deref() == Ok("pause-after-commit") {
        eprintln!("atdm: test fault: paused after commit");
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
}

impl Engine {
    /// The statement that puts `events` (one run's, one batch) into the outbox.
    pub(crate) fn outbox_insert(&self, events: &[AuditEvent]) -> Stmt {
        let first = &events[0];
        Stmt::new(self.inner.catalog.insert_outbox())
            .text(first.event_id.clone())
            .text(first.test_run_id.clone())
            .int(micros(first.timestamp))
            .text(serde_json::to_string(events).expect("audit events serialize"))
    }

    /// Writes a batch whose action has committed (so the outbox holds it) to the store, then
    /// takes it out of the outbox. If the store cannot take it, it stays in the outbox for
    /// the next drain.
    pub(crate) async fn publish_outboxed(&self, events: Vec<AuditEvent>) {
        pause_after_commit().await;
        if self.publish(&events).await.is_err() {
            self.inner
                .outbox_unchecked
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Writes one batch of the outbox to the store and deletes it from the outbox (an error
    /// for either leaves it there).
    async fn publish(&self, events: &[AuditEvent]) -> Result<(), Error> {
        let started = std::time::Instant::now();
        if let Err(e) = self.inner.audit.append_once(events).await {
            self.inner.metrics.audit_write_failed();
            tracing::error!(error = %e, run_id = %events[0].test_run_id, events = events.len(), "audit events kept in the outbox");
            return Err(e);
        }
        self.inner.metrics.audit_written(events, started.elapsed());
        let delete = Stmt::new(self.inner.catalog.delete_outbox()).text(events[0].event_id.clone());
        let deleted = async {
            let mut s = self.db().session().await?;
            let n = s.execute(delete).await;
            s.release();
            n
        };
        deleted.await.map_err(|e| {
            // The store holds the batch; the next drain finds it there and deletes the row.
            tracing::warn!(error = %e, "an audit batch the store holds is still in the outbox");
            Error::Database {
                context: "cannot take a written batch out of the audit outbox".into(),
                message: crate::error::db_message(&e),
            }
        })?;
        Ok(())
    }

    /// Writes every batch of the outbox to the store, oldest first, until the store refuses
    /// one; returns how many batches are left.
    pub(crate) async fn drain_outbox(&self) -> Result<u64, Error> {
        let ctx = "cannot read the audit outbox";
        let cat = &self.inner.catalog;
        let types = [ColumnType::Text, ColumnType::Text];
        let mut unreadable = 0;
        loop {
            // Unreadable batches stay first in line: read past them.
            let limit = PAGE + unreadable;
            let rows = self
                .db()
                .fetch_all(Stmt::new(cat.select_outbox(limit)), &types)
                .await
                .map_err(Error::db(ctx))?;
            let page = rows.len();
            let mut written = 0;
            for row in rows.into_iter().skip(unreadable) {
                let (Value::Text(batch), Value::Text(json)) = (&row[0], &row[1]) else {
                    continue;
                };
                let events: Vec<AuditEvent> = match serde_json::from_str(json) {
                    Ok(events) => events,
                    Err(e) => {
                        // Left where it is for a person to look at; never retried in a loop.
                        tracing::error!(batch, error = %e, "an unreadable batch in the audit outbox");
                        unreadable += 1;
                        continue;
                    }
                };
                if events.is_empty() || self.publish(&events).await.is_err() {
                    return self.outbox_left().await;
                }
                written += 1;
            }
            if page < limit || written == 0 {
                // Everything readable went to the store (no second query on the common path).
                return Ok(unreadable as u64);
            }
        }
    }

    async fn outbox_left(&self) -> Result<u64, Error> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.inner.catalog.outbox);
        let rows = self
            .db()
            .fetch_all(Stmt::new(sql), &[ColumnType::BigInt])
            .await
            .map_err(Error::db("cannot read the audit outbox"))?;
        Ok(match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => u64::try_from(*n).unwrap_or_default(),
            _ => 0,
        })
    }

    /// The events of `run_id` that the outbox holds (committed, not yet in the store).
    pub(crate) async fn outboxed_events(&self, run_id: &str) -> Result<Vec<AuditEvent>, Error> {
        let rows = self
            .db()
            .fetch_all(
                Stmt::new(self.inner.catalog.select_outbox_of_run()).text(run_id),
                &[ColumnType::Text],
            )
            .await
            .map_err(Error::db("cannot read the audit outbox"))?;
        let mut out = Vec::new();
        for row in rows {
            if let Some(Value::Text(json)) = row.first()
                && let Ok(events) = serde_json::from_str::<Vec<AuditEvent>>(json)
            {
                out.extend(events);
            }
        }
        Ok(out)
    }
}
