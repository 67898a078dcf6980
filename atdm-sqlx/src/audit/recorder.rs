//! Recording audit events: a [`Recorder`] per run gathers the events of one action in the
//! order they happen and writes them either before the action (a store that cannot take them
//! stops it) or after it. The events that record a seed, a reset or a restore are staged in
//! the action's own transaction (see [`super::outbox`]), so they outlive any failure after the
//! commit; other events written after their action (fixture files written, refusals, failures
//! that changed nothing) are kept in memory and retried by every later write.

use atdm_core::audit::{AUDIT_SCHEMA_VERSION, AuditAction, AuditEvent, AuditStatus};
use chrono::{DateTime, Utc};

use super::error_json;
use crate::Engine;
use crate::backend::Stmt;
use crate::error::Error;

/// The audit events of one run (or strategy run), not yet written.
pub(crate) struct Recorder<'e> {
    engine: &'e Engine,
    run_id: String,
    invoker: String,
    events: Vec<AuditEvent>,
    /// The event [`Recorder::stage`] proposed, until its transaction commits.
    proposed: Option<AuditEvent>,
    /// How many of the first events the outbox holds (committed with their action).
    outboxed: usize,
}

impl Engine {
    /// A recorder for `run_id`, whose events name `invoker`.
    pub(crate) fn recorder(&self, run_id: &str, invoker: &str) -> Recorder<'_> {
        Recorder {
            engine: self,
            run_id: run_id.to_owned(),
            invoker: invoker.to_owned(),
            events: Vec::new(),
            proposed: None,
            outboxed: 0,
        }
    }
}

impl Recorder<'_> {
    /// Adds an event, stamped now.
    pub(crate) fn event(
        &mut self,
        action: AuditAction,
        status: AuditStatus,
        inputs: serde_json::Value,
        outputs: serde_json::Value,
    ) {
        let e = self.new_event(action, status, inputs, outputs);
        self.events.push(e);
    }

    fn new_event(
        &self,
        action: AuditAction,
        status: AuditStatus,
        inputs: serde_json::Value,
        outputs: serde_json::Value,
    ) -> AuditEvent {
        let tools_called = self
            .engine
            .caller
            .as_ref()
            .map(|c| c.tools_called.clone())
            .unwrap_or_else(|| serde_json::Value::Array(Vec::new()));
        new_event(
            &self.run_id,
            &self.invoker,
            action,
            status,
            inputs,
            tools_called,
            outputs,
        )
    }

    /// Proposes the event that records an action's success (stamped now) and returns the
    /// statement that puts it, after the events so far, into the outbox as one batch. Queue
    /// it in the action's transaction just before the commit, so that the events commit with
    /// the action or not at all; once it has committed, call [`Recorder::committed`]. Staging
    /// again (a transaction run a second time) replaces the proposal.
    pub(crate) fn stage(
        &mut self,
        action: AuditAction,
        status: AuditStatus,
        inputs: serde_json::Value,
        outputs: serde_json::Value,
    ) -> Stmt {
        let e = self.new_event(action, status, inputs, outputs);
        let mut batch = self.events.clone();
        batch.push(e.clone());
        self.proposed = Some(e);
        self.engine.outbox_insert(&batch)
    }

    /// The transaction of the staged event has committed: it is the run's, and the outbox
    /// holds it with the events before it.
    pub(crate) fn committed(&mut self) {
        if let Some(e) = self.proposed.take() {
            self.events.push(e);
            self.outboxed = self.events.len();
        }
    }

    /// Adds an event whose outputs are the error (`{"error": {"code", "message"}}`).
    pub(crate) fn failure(
        &mut self,
        action: AuditAction,
        status: AuditStatus,
        inputs: serde_json::Value,
        e: &Error,
    ) {
        self.event(
            action,
            status,
            inputs,
            serde_json::json!({ "error": error_json(e) }),
        );
    }

    /// Writes the events so far, as one object, before the action they announce. If the
    /// store cannot take them the error is returned and the caller must not go on.
    pub(crate) async fn write_before(&mut self) -> Result<(), Error> {
        let events = std::mem::take(&mut self.events);
        self.engine.record(events, true).await
    }

    /// Writes the events so far after their action happened (whatever the store says): those
    /// the outbox holds as one object (left in the outbox if the store cannot take them), the
    /// rest as another (a failed write is counted, logged and kept in memory for a retry; see
    /// [`Engine::flush_audit`]). A proposal whose transaction did not commit is dropped.
    pub(crate) async fn write_after(&mut self) -> Result<(), Error> {
        self.proposed = None;
        let mut events = std::mem::take(&mut self.events);
        let outboxed = std::mem::take(&mut self.outboxed);
        if outboxed > 0 {
            let rest = events.split_off(outboxed);
            self.engine.publish_outboxed(events).await;
            events = rest;
        }
        self.engine.record(events, false).await
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

/// A new audit event, stamped now, with a fresh ULID as its id.
fn new_event(
    run_id: &str,
    invoker: &str,
    action: AuditAction,
    status: AuditStatus,
    inputs: serde_json::Value,
    tools_called: serde_json::Value,
    outputs: serde_json::Value,
) -> AuditEvent {
    let micros = event_micros();
    let timestamp = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
    let ms = u64::try_from(micros / 1000).unwrap_or_default();
    AuditEvent {
        event_id: ulid::Ulid::from_parts(ms, u128::from_be_bytes(crate::engine::random_bytes()))
            .to_string(),
        timestamp,
        test_run_id: run_id.to_owned(),
        invoker: invoker.to_owned(),
        action,
        inputs,
        tools_called,
        outputs,
        status,
        reviewer_decision: None,
        schema_version: AUDIT_SCHEMA_VERSION,
    }
}

impl Engine {
    /// Writes events of one run as one audit object.
    ///
    /// With `gate`, a failure is returned and the caller must not go on with its action: the
    /// events before an action are written before it happens. Without `gate` (the events
    /// after an action, which has happened whatever the store says), a failure is counted,
    /// logged and kept; every later write retries the kept events first, and
    /// [`Engine::flush_audit`] reports what is still unwritten.
    async fn record(&self, events: Vec<AuditEvent>, gate: bool) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        self.retry_pending().await;
        if self
            .inner
            .outbox_unchecked
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            // Batches left by an earlier process (or an earlier failure of this one).
            if let Err(e) = self.drain_outbox().await {
                tracing::warn!(error = %e, "the audit outbox could not be drained");
            }
        }
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

    /// Writes what is waiting for the audit store: the batches of the database's audit outbox
    /// (the records of seeds, resets and restores that committed while the store could not
    /// take them, from this process or any earlier one) and the events this process keeps in
    /// memory (fixture files written, refusals, failures that changed nothing). Fails with [`Error::Audit`] if
    /// some are still unwritten; the outbox keeps its batches for the next engine, the memory
    /// only as long as this engine lives.
    pub async fn flush_audit(&self) -> Result<(), Error> {
        self.retry_pending().await;
        let left = self.drain_outbox().await?;
        self.inner
            .outbox_unchecked
            .store(left > 0, std::sync::atomic::Ordering::Relaxed);
        let kept: usize = self
            .inner
            .pending
            .lock()
            .expect("not poisoned")
            .iter()
            .map(Vec::len)
            .sum();
        let mut parts = Vec::new();
        if left > 0 {
            parts.push(format!(
                "{} batches of events (records of seeds, resets and restores that happened) wait in the database's audit outbox, and the next ATDM command that can write to the store writes them",
                left
            ));
        }
        if kept > 0 {
            parts.push(format!(
                "{kept} other events (fixture files written, refusals, failures that changed nothing) are kept by this process only, and retried by its every later write"
            ));
        }
        if parts.is_empty() {
            Ok(())
        } else {
            Err(Error::Audit {
                store: self.inner.audit.store().url().to_owned(),
                context: "cannot write audit events".into(),
                message: parts.join("; "),
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
        let mut audit = self.recorder(session, self.invoker());
        audit.event(
            AuditAction::ToolCalled,
            status,
            serde_json::json!({ "session": session }),
            outputs,
        );
        audit.write_before().await
    }
}
