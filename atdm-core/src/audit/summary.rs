//! A trail's summary: what a reader wants first, computed from the events so no reader has
//! to recompute it (the JSON form carries it as `summary`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{AuditAction, AuditTrail};

/// A run's summary, from its trail's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrailSummary {
    /// The scenario requested, if a request or plan was recorded.
    pub scenario: Option<String>,
    /// Who asked: the invoker of the first event.
    pub invoker: Option<String>,
    /// What happened to the run, in the words of the audit page's headline (`Cleaned`,
    /// `Seeded and still present`, `Rejected`, `Seed failed and rolled back`, ...).
    pub outcome: String,
    /// The status of the reset that deleted the run's rows (`cleaned`), else of its last
    /// reset (`already_cleaned`, `failed`, `rejected`); `None` before any reset.
    pub reset_status: Option<String>,
    /// How many events the trail has.
    pub events: usize,
    /// When the first event happened.
    #[serde(with = "super::rfc3339_micros::option")]
    pub first_event_at: Option<DateTime<Utc>>,
    /// When the last event happened.
    #[serde(with = "super::rfc3339_micros::option")]
    pub last_event_at: Option<DateTime<Utc>>,
}

impl AuditTrail {
    /// The run's summary (see [`TrailSummary`]).
    pub fn summary(&self) -> TrailSummary {
        let text = |v: &serde_json::Value, key: &str| {
            v.get(key).and_then(|s| s.as_str()).map(str::to_owned)
        };
        let scenario = self.events.iter().find_map(|e| match e.action {
            AuditAction::RequestReceived => text(&e.inputs, "scenario"),
            AuditAction::PlanResolved => text(&e.outputs, "scenario"),
            _ => None,
        });
        let resets = || {
            self.events.iter().filter(|e| {
                matches!(
                    e.action,
                    AuditAction::ResetCompleted
                        | AuditAction::ResetFailed
                        | AuditAction::ResetRejected
                )
            })
        };
        let status_of = |e: &super::AuditEvent| {
            text(&e.outputs, "status").unwrap_or_else(|| e.status.as_str().to_owned())
        };
        let reset_status = resets()
            .map(status_of)
            .find(|s| s == "cleaned")
            .or_else(|| resets().next_back().map(status_of));
        TrailSummary {
            scenario,
            invoker: self.events.first().map(|e| e.invoker.clone()),
            outcome: super::html::outcome(self),
            reset_status,
            events: self.events.len(),
            first_event_at: self.events.first().map(|e| e.timestamp),
            last_event_at: self.events.last().map(|e| e.timestamp),
        }
    }
}
