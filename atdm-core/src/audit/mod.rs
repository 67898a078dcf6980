//! The audit event model, its Arrow schema, and the two views of a run's trail.
//!
//! Every engine action becomes an [`AuditEvent`]; the engine writes them, append-only, as
//! Parquet objects with [`arrow_schema()`]. No event ever holds a cleanup token's plaintext.
//!
//! A run's events together are an [`AuditTrail`], shown two ways:
//!
//! - **JSON, for programs**: the serde form of [`AuditTrail`] ([`AuditTrail::to_json`]).
//! - **HTML, for people**: [`render_html`], one self-contained page per run (see [`html`]).
//!
//! ## The JSON form
//!
//! The JSON form is stable: fields are only ever added, never renamed or removed, and
//! [`AUDIT_SCHEMA_VERSION`] changes when the meaning of one does.
//!
//! ```json
//! {
//!   "run_id": "01KAJ3Q6Z8M9V4T2R1P0N7X5WB",
//!   "location": "file:///srv/atdm/store/audit/dt=2026-06-01/run=01KAJ3Q6Z8M9V4T2R1P0N7X5WB",
//!   "summary": {
//!     "scenario": "claim_denial_active_member",
//!     "invoker": "ci",
//!     "outcome": "Cleaned",
//!     "reset_status": "cleaned",
//!     "events": 9,
//!     "first_event_at": "2026-06-01T09:30:00.123456Z",
//!     "last_event_at": "2026-06-01T09:30:02.654321Z"
//!   },
//!   "events": [
//!     {
//!       "event_id": "01KAJ3Q6Z8QK5D1T7G2M3N4P5R",
//!       "timestamp": "2026-06-01T09:30:00.123456Z",
//!       "test_run_id": "01KAJ3Q6Z8M9V4T2R1P0N7X5WB",
//!       "invoker": "ci",
//!       "action": "request_received",
//!       "inputs": { "scenario": "claim_denial_active_member", "constraints": {} },
//!       "tools_called": [],
//!       "outputs": { "request_id": "tdr_0123456789ab" },
//!       "status": "ok",
//!       "reviewer_decision": null,
//!       "schema_version": 1
//!     }
//!   ]
//! }
//! ```
//!
//! - `timestamp`: RFC 3339, always UTC (`Z`), always six fractional digits (microseconds).
//!   Reading accepts any RFC 3339 time and converts it to UTC.
//! - `action`: `snake_case`, one of [`AuditAction::as_str`]; `status`: `snake_case`, one of
//!   [`AuditStatus::as_str`].
//! - `inputs`, `outputs`: JSON objects whose keys depend on the action; `tools_called`: `[]` or
//!   `[{"tool": ..., "arguments": ...}]` for calls made through MCP.
//! - `events` are in the order they happened; an unknown run has `"events": []`.
//! - `summary` ([`TrailSummary`]) is computed from the events: the scenario, the first
//!   invoker, the outcome in the words of the audit page's headline, the status of the reset
//!   that deleted the rows (or of the last one), the number of events and the first and last
//!   event times (`null` without events).

use std::sync::Arc;

use arrow_array::builder::{StringBuilder, TimestampMicrosecondBuilder, UInt32Builder};
use arrow_array::{Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array};
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod html;
mod summary;

pub use html::render_html;
pub use summary::TrailSummary;

/// The version of the event layout, stored in every event.
pub const AUDIT_SCHEMA_VERSION: u32 = 1;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditAction {
    /// A request arrived.
    RequestReceived,
    /// The planner produced a plan.
    PlanResolved,
    /// Every validator passed.
    ValidatorsPassed,
    /// A validator (or the planner) refused the request.
    PlanRejected,
    /// The seed transaction began.
    SeedStarted,
    /// The seed transaction committed.
    SeedCompleted,
    /// The seed transaction rolled back.
    SeedFailed,
    /// Fixture files were written.
    FixturesEmitted,
    /// A reset was refused (wrong token, unknown run, no confirmation).
    ResetRejected,
    /// A reset began.
    ResetStarted,
    /// A reset committed.
    ResetCompleted,
    /// A reset failed and rolled back.
    ResetFailed,
    /// A baseline snapshot began.
    SnapshotStarted,
    /// A baseline snapshot was written.
    SnapshotCompleted,
    /// A baseline snapshot failed.
    SnapshotFailed,
    /// A baseline restore began.
    RestoreStarted,
    /// A baseline restore committed.
    RestoreCompleted,
    /// A baseline restore failed.
    RestoreFailed,
    /// A masking job (`atdm mask`) began.
    MaskStarted,
    /// A masking job wrote its target.
    MaskCompleted,
    /// A masking job failed or was refused.
    MaskFailed,
    /// A tool was called that does not act on a run by itself (an MCP client listed,
    /// described or found scenarios, read a trail, or called an unknown tool or with bad
    /// arguments); its session's trail holds it, with the call in `tools_called`.
    ToolCalled,
}

impl AuditAction {
    /// The action as text (`seed_completed`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::RequestReceived => "request_received",
            AuditAction::PlanResolved => "plan_resolved",
            AuditAction::ValidatorsPassed => "validators_passed",
            AuditAction::PlanRejected => "plan_rejected",
            AuditAction::SeedStarted => "seed_started",
            AuditAction::SeedCompleted => "seed_completed",
            AuditAction::SeedFailed => "seed_failed",
            AuditAction::FixturesEmitted => "fixtures_emitted",
            AuditAction::ResetRejected => "reset_rejected",
            AuditAction::ResetStarted => "reset_started",
            AuditAction::ResetCompleted => "reset_completed",
            AuditAction::ResetFailed => "reset_failed",
            AuditAction::SnapshotStarted => "snapshot_started",
            AuditAction::SnapshotCompleted => "snapshot_completed",
            AuditAction::SnapshotFailed => "snapshot_failed",
            AuditAction::RestoreStarted => "restore_started",
            AuditAction::RestoreCompleted => "restore_completed",
            AuditAction::RestoreFailed => "restore_failed",
            AuditAction::MaskStarted => "mask_started",
            AuditAction::MaskCompleted => "mask_completed",
            AuditAction::MaskFailed => "mask_failed",
            AuditAction::ToolCalled => "tool_called",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditStatus {
    /// It worked.
    Ok,
    /// A validator or a check refused it.
    Rejected,
    /// The database refused it and the transaction rolled back.
    RolledBack,
    /// The caller was not allowed (wrong token, missing confirmation).
    Forbidden,
    /// Rows were removed.
    Cleaned,
    /// Something else failed.
    Failed,
}

impl AuditStatus {
    /// The status as text.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditStatus::Ok => "ok",
            AuditStatus::Rejected => "rejected",
            AuditStatus::RolledBack => "rolled_back",
            AuditStatus::Forbidden => "forbidden",
            AuditStatus::Cleaned => "cleaned",
            AuditStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// A unique id (a ULID in the engine).
    pub event_id: String,
    /// When it happened, UTC, microsecond precision; in JSON, RFC 3339 with six fractional
    /// digits and `Z` (`2026-06-01T09:30:00.123456Z`).
    #[serde(with = "rfc3339_micros")]
    pub timestamp: DateTime<Utc>,
    /// The run (or `strategy-<name>-<ULID>` for reset_all, snapshot and restore).
    pub test_run_id: String,
    /// Who asked (a user, a test binary, an MCP client).
    pub invoker: String,
    /// What happened.
    pub action: AuditAction,
    /// The inputs, as JSON.
    pub inputs: serde_json::Value,
    /// The tools called, as JSON (MCP tool names and arguments; empty otherwise).
    pub tools_called: serde_json::Value,
    /// The outputs, as JSON.
    pub outputs: serde_json::Value,
    /// How it ended.
    pub status: AuditStatus,
    /// A reviewer's decision, when someone reviewed it.
    pub reviewer_decision: Option<String>,
    /// [`AUDIT_SCHEMA_VERSION`] when written.
    pub schema_version: u32,
}

/// A run's audit trail: what [`crate::audit`] views render and what programs read as JSON.
///
/// Its JSON form also carries the run's [`TrailSummary`] as `summary` (computed; ignored when
/// read back).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditTrail {
    /// The run (or strategy run) id.
    pub run_id: String,
    /// Where the run's audit objects are (store URL and prefix).
    pub location: String,
    /// Every event of the run, in the order they happened; empty for an unknown run.
    pub events: Vec<AuditEvent>,
    /// Events that happened but are not in the store yet: the records of a seed, reset or
    /// restore that committed while the store could not take them (or whose process died
    /// before writing them), held by the database's audit outbox until an engine writes them.
    /// Absent from the JSON form when empty.
    #[serde(default)]
    pub pending: Vec<AuditEvent>,
}

impl Serialize for AuditTrail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            run_id: &'a str,
            location: &'a str,
            summary: TrailSummary,
            events: &'a [AuditEvent],
            #[serde(skip_serializing_if = "<[AuditEvent]>::is_empty")]
            pending: &'a [AuditEvent],
        }
        View {
            run_id: &self.run_id,
            location: &self.location,
            summary: self.summary(),
            events: &self.events,
            pending: &self.pending,
        }
        .serialize(s)
    }
}

impl AuditTrail {
    /// The trail as pretty-printed JSON (the stable form described in the [module
    /// docs](self)).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an audit trail always serializes")
    }
}

/// The JSON form of event times: RFC 3339, UTC, exactly six fractional digits.
mod rfc3339_micros {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "audit timestamp {text:?} is not an RFC 3339 time ({e}); write it like 2026-06-01T09:30:00.123456Z"
                ))
            })
    }

    /// An optional time, `null` when absent.
    pub(super) mod option {
        use chrono::{DateTime, Utc};
        use serde::Serializer;

        pub(crate) fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// The Arrow schema of audit events: JSON fields as UTF-8 text, the timestamp in
/// microseconds, UTC.
pub fn arrow_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("test_run_id", DataType::Utf8, false),
        Field::new("invoker", DataType::Utf8, false),
        Field::new("action", DataType::Utf8, false),
        Field::new("inputs", DataType::Utf8, false),
        Field::new("tools_called", DataType::Utf8, false),
        Field::new("outputs", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("reviewer_decision", DataType::Utf8, true),
        Field::new("schema_version", DataType::UInt32, false),
    ]))
}

/// Events as one record batch of [`arrow_schema()`].
pub fn to_record_batch(events: &[AuditEvent]) -> Result<RecordBatch, ArrowError> {
    let n = events.len();
    let mut s: Vec<StringBuilder> = (0..9)
        .map(|_| StringBuilder::with_capacity(n, n * 32))
        .collect();
    let mut ts = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut version = UInt32Builder::with_capacity(n);
    for e in events {
        s[0].append_value(&e.event_id);
        ts.append_value(e.timestamp.timestamp_micros());
        s[1].append_value(&e.test_run_id);
        s[2].append_value(&e.invoker);
        s[3].append_value(e.action.as_str());
        s[4].append_value(e.inputs.to_string());
        s[5].append_value(e.tools_called.to_string());
        s[6].append_value(e.outputs.to_string());
        s[7].append_value(e.status.as_str());
        s[8].append_option(e.reviewer_decision.as_deref());
        version.append_value(e.schema_version);
    }
    let mut cols: Vec<Arc<dyn Array>> = Vec::new();
    let mut it = s.into_iter();
    let mut next = || Arc::new(it.next().expect("nine text columns").finish()) as Arc<dyn Array>;
    cols.push(next());
    cols.push(Arc::new(ts.finish()));
    for _ in 0..8 {
        cols.push(next());
    }
    cols.push(Arc::new(version.finish()));
    RecordBatch::try_new(arrow_schema(), cols)
}

/// Events back from a record batch of [`arrow_schema()`].
pub fn from_record_batch(batch: &RecordBatch) -> Result<Vec<AuditEvent>, String> {
    let text = |name: &str| -> Result<&StringArray, String> {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or_else(|| format!("audit batch has no text column {name:?}"))
    };
    let ts = batch
        .column_by_name("timestamp")
        .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
        .ok_or("audit batch has no timestamp column")?;
    let ver = batch
        .column_by_name("schema_version")
        .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
        .ok_or("audit batch has no schema_version column")?;
    let (id, run, inv, act, inp, tools, outp, st, rev) = (
        text("event_id")?,
        text("test_run_id")?,
        text("invoker")?,
        text("action")?,
        text("inputs")?,
        text("tools_called")?,
        text("outputs")?,
        text("status")?,
        text("reviewer_decision")?,
    );
    let json = |a: &StringArray, i: usize| {
        serde_json::from_str(a.value(i)).map_err(|e| format!("bad JSON in audit event: {e}"))
    };
    (0..batch.num_rows())
        .map(|i| {
            Ok(AuditEvent {
                event_id: id.value(i).into(),
                timestamp: DateTime::<Utc>::from_timestamp_micros(ts.value(i))
                    .ok_or("timestamp out of range")?,
                test_run_id: run.value(i).into(),
                invoker: inv.value(i).into(),
                action: AuditAction::parse(act.value(i))
                    .ok_or_else(|| format!("unknown action {:?}", act.value(i)))?,
                inputs: json(inp, i)?,
                tools_called: json(tools, i)?,
                outputs: json(outp, i)?,
                status: AuditStatus::parse(st.value(i))
                    .ok_or_else(|| format!("unknown status {:?}", st.value(i)))?,
                reviewer_decision: (!rev.is_null(i)).then(|| rev.value(i).to_owned()),
                schema_version: ver.value(i),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_arrow() {
        let e = AuditEvent {
            event_id: "01J".into(),
            timestamp: DateTime::<Utc>::from_timestamp_micros(1_780_000_000_123_456).unwrap(),
            test_run_id: "R".into(),
            invoker: "test".into(),
            action: AuditAction::SeedCompleted,
            inputs: serde_json::json!({"scenario": "x"}),
            tools_called: serde_json::json!([]),
            outputs: serde_json::json!({"rows": 5}),
            status: AuditStatus::Ok,
            reviewer_decision: None,
            schema_version: AUDIT_SCHEMA_VERSION,
        };
        let batch = to_record_batch(std::slice::from_ref(&e)).unwrap();
        assert_eq!(from_record_batch(&batch).unwrap(), vec![e]);
    }

    fn event_at(micros: i64) -> AuditEvent {
        AuditEvent {
            event_id: "01KAJ3Q6Z8QK5D1T7G2M3N4P5R".into(),
            timestamp: DateTime::<Utc>::from_timestamp_micros(micros).unwrap(),
            test_run_id: "R".into(),
            invoker: "ci".into(),
            action: AuditAction::ResetCompleted,
            inputs: serde_json::json!({}),
            tools_called: serde_json::json!([]),
            outputs: serde_json::json!({"status": "cleaned"}),
            status: AuditStatus::Cleaned,
            reviewer_decision: None,
            schema_version: AUDIT_SCHEMA_VERSION,
        }
    }

    #[test]
    fn the_json_form_is_stable() {
        // A whole second still has six fractional digits; action and status are snake_case.
        let trail = AuditTrail {
            run_id: "R".into(),
            location: "memory:///audit/dt=2026-06-01/run=R".into(),
            events: vec![
                event_at(1_780_300_800_000_000),
                event_at(1_780_300_800_000_001),
            ],
            pending: vec![],
        };
        let v: serde_json::Value = serde_json::from_str(&trail.to_json()).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["events", "location", "run_id", "summary"]);
        let e = &v["events"][0];
        assert_eq!(e["timestamp"], "2026-06-01T08:00:00.000000Z");
        assert_eq!(v["events"][1]["timestamp"], "2026-06-01T08:00:00.000001Z");
        assert_eq!(e["action"], "reset_completed");
        assert_eq!(e["status"], "cleaned");
        assert_eq!(e["reviewer_decision"], serde_json::Value::Null);
        assert_eq!(e["schema_version"], AUDIT_SCHEMA_VERSION);
        let mut names: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "action",
                "event_id",
                "inputs",
                "invoker",
                "outputs",
                "reviewer_decision",
                "schema_version",
                "status",
                "test_run_id",
                "timestamp",
                "tools_called"
            ]
        );
        let back: AuditTrail = serde_json::from_str(&trail.to_json()).unwrap();
        assert_eq!(back, trail);
    }

    #[test]
    fn any_rfc3339_time_reads_back_as_utc() {
        let mut v = serde_json::to_value(event_at(0)).unwrap();
        v["timestamp"] = "2026-06-01T10:00:00.5+02:00".into();
        let e: AuditEvent = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(e.timestamp.timestamp_micros(), 1_780_300_800_500_000);
        v["timestamp"] = "yesterday".into();
        let err = serde_json::from_value::<AuditEvent>(v)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"yesterday\" is not an RFC 3339 time"),
            "{err}"
        );
    }
}
