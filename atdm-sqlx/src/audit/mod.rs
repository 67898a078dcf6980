//! The audit trail: the append-only log of objects in the store ([`AuditLog`]), the
//! [`Recorder`] every engine action records its events through, and the two views of a trail
//! (JSON for programs, a page for people).

mod log;
mod outbox;
mod recorder;

use atdm_core::audit::{AuditEvent, AuditTrail};
use atdm_core::coverage::{self, CoverageReport};

pub use log::AuditLog;
pub(crate) use recorder::Recorder;

use crate::Engine;
use crate::error::Error;

/// An error as audited: its code and message.
pub(crate) fn error_json(e: &Error) -> serde_json::Value {
    serde_json::json!({ "code": e.code().as_str(), "message": e.to_string() })
}

impl Engine {
    /// The audit trail of a run (or strategy run), oldest event first: the JSON view for
    /// programs. Events that the database's audit outbox holds and the store does not yet
    /// (a seed, reset or restore committed while the store was down, or by a process that died before
    /// writing them) are in `pending`. A run id with no events and no catalog entry fails with
    /// [`Error::RunNotFound`].
    pub async fn audit(&self, run_id: &str) -> Result<AuditTrail, Error> {
        crate::catalog::check_run_id(run_id)?;
        let events = self.inner.audit.trail(run_id).await?;
        let pending = self.pending_events(run_id, &events).await?;
        if events.is_empty() && pending.is_empty() {
            self.run(run_id).await?;
        }
        Ok(AuditTrail {
            run_id: run_id.to_owned(),
            location: self.inner.audit.location(run_id),
            events,
            pending,
        })
    }

    /// The events of a run the outbox holds that are not in its trail (`events`) yet: a batch
    /// written whose outbox row is not deleted yet is in the trail already.
    async fn pending_events(
        &self,
        run_id: &str,
        events: &[AuditEvent],
    ) -> Result<Vec<AuditEvent>, Error> {
        if crate::catalog::check_run_id(run_id).is_err() {
            return Ok(Vec::new());
        }
        let mut pending = self.outboxed_events(run_id).await?;
        pending.retain(|p| !events.iter().any(|e| e.event_id == p.event_id));
        Ok(pending)
    }

    /// The audit page of a run for people: one self-contained HTML document (no scripts, no
    /// external resources) with the run's summary, plan, validator decisions, records,
    /// fixtures, reset status and timeline. An unknown run gets a page that says so, not an
    /// error; only a store failure is an error.
    pub async fn audit_html(&self, run_id: &str) -> Result<String, Error> {
        let events = match crate::catalog::check_run_id(run_id) {
            Ok(()) => self.inner.audit.trail(run_id).await?,
            Err(_) => Vec::new(),
        };
        let pending = self.pending_events(run_id, &events).await?;
        let trail = AuditTrail {
            run_id: run_id.chars().take(80).collect(),
            location: self
                .inner
                .audit
                .location(&run_id.chars().take(80).collect::<String>()),
            events,
            pending,
        };
        Ok(atdm_core::audit::render_html(&trail))
    }

    /// The coverage of the engine's pack by the runs its audit trail records (see
    /// [`atdm_core::coverage`]): requirement ids (those scenarios link, and `requirements`
    /// the caller expects), scenarios, knob values, and what was never exercised. Events the
    /// database's outbox holds are written to the store first.
    pub async fn coverage(&self, requirements: &[String]) -> Result<CoverageReport, Error> {
        self.flush_audit().await?;
        let events = self.inner.audit.every_event().await?;
        let runs = coverage::runs_from_events(&events);
        let edges = coverage::edges_from_events(&events);
        Ok(coverage::coverage(
            self.pack(),
            &runs,
            &edges,
            requirements,
            self.reference_date(None),
        ))
    }
}
