//! What each tool returns: the engine's own JSON forms, one type per tool (its JSON schema is
//! the tool's output schema), and their conversions from the engine's types.

use std::collections::BTreeMap;

use atdm_core::{Cell, ErrorCode};
use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::error::{FailureOut, ToolError};

/// `list_scenarios`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ScenarioList {
    /// Every scenario, by id.
    pub(super) scenarios: Vec<ScenarioSummary>,
}

/// One scenario in a list.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ScenarioSummary {
    /// The id to request.
    pub(super) id: String,
    /// What the data is.
    pub(super) description: String,
    /// Tags.
    pub(super) tags: Vec<String>,
    /// Linked requirement ids.
    pub(super) requirements: Vec<String>,
    /// The knob names (constraints it accepts).
    pub(super) knobs: Vec<String>,
}

/// `describe_scenario`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Description {
    /// The id.
    id: String,
    /// What the data is.
    description: String,
    /// Tags.
    tags: Vec<String>,
    /// Linked requirement ids.
    requirements: Vec<String>,
    /// The validators the plan must pass, in order (after the schema validators).
    validators: Vec<String>,
    /// The knobs: the constraints a request may set.
    knobs: Vec<Knob>,
    /// The rows it seeds: alias, table and count.
    rows: Vec<RowEntry>,
}

/// A knob.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Knob {
    /// The name (a constraint key).
    name: String,
    /// What it changes.
    description: String,
    /// The allowed values, as text.
    allowed: String,
    /// The allowed values, when the domain is closed; null for an open domain.
    values: Option<Vec<Json>>,
    /// The default: the literal, or a sentence saying how it is derived.
    default: Json,
}

/// A row entry of a scenario.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct RowEntry {
    /// The alias (its key in request_scenario's data).
    alias: String,
    /// The table.
    table: String,
    /// How many rows: a number, or the knob that says.
    count: Json,
}

impl From<atdm_core::ScenarioDescription> for Description {
    fn from(d: atdm_core::ScenarioDescription) -> Self {
        Description {
            id: d.id,
            description: d.description,
            tags: d.tags,
            requirements: d.requirements,
            validators: d.validators,
            knobs: d
                .knobs
                .into_iter()
                .map(|k| Knob {
                    name: k.name,
                    description: k.description,
                    allowed: k.allowed,
                    values: k.values,
                    default: k.default,
                })
                .collect(),
            rows: d
                .rows
                .into_iter()
                .map(|r| RowEntry {
                    alias: r.alias,
                    table: r.table,
                    count: r.count,
                })
                .collect(),
        }
    }
}

/// `find_scenarios`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Found {
    /// The intent asked for.
    pub(super) intent: String,
    /// Best match first; empty when nothing matched.
    pub(super) matches: Vec<FoundMatch>,
}

/// One match.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct FoundMatch {
    /// The scenario id.
    pub(super) id: String,
    /// The relevance (only the order is meaningful).
    pub(super) score: f64,
    /// The intent words that matched.
    pub(super) matched: Vec<String>,
    /// What the data is.
    pub(super) description: String,
}

/// `validate_request`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Validation {
    /// Whether request_scenario would seed this request.
    pub(super) valid: bool,
    /// The scenario.
    pub(super) scenario: String,
    /// The dry run's id: its audit trail holds the plan and the validators' decision (null
    /// when the request failed before a plan was made, e.g. an invalid constraint).
    pub(super) run_id: Option<String>,
    /// Where the dry run's audit objects are.
    pub(super) audit_location: Option<String>,
    /// The seed the plan used.
    pub(super) seed: Option<u64>,
    /// The reference date the plan used.
    pub(super) reference_date: Option<NaiveDate>,
    /// Every knob's resolved value.
    pub(super) constraints: BTreeMap<String, Json>,
    /// The validators that passed, in order.
    pub(super) validators: Vec<String>,
    /// Rows per table that a request would write.
    pub(super) rows: BTreeMap<String, u64>,
    /// The rows themselves, per table in insert order.
    pub(super) tables: Vec<TableRows>,
    /// The validator failures when refused, in order.
    pub(super) failures: Vec<FailureOut>,
    /// Why it would be refused (code VALIDATOR_REJECTED, INVALID_CONSTRAINT or PLAN_FAILED).
    pub(super) error: Option<ToolError>,
}

/// The planned rows of one table.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct TableRows {
    /// The table.
    table: String,
    /// Each row as column -> value; a value the database assigns is
    /// `{"assigned_by_database": true}`.
    rows: Vec<BTreeMap<String, Json>>,
}

impl From<&atdm_core::plan::TablePlan> for TableRows {
    fn from(t: &atdm_core::plan::TablePlan) -> Self {
        TableRows {
            table: t.table.to_string(),
            rows: t
                .rows
                .iter()
                .map(|row| {
                    t.columns
                        .iter()
                        .zip(row)
                        .map(|(c, cell)| {
                            let v = match cell {
                                Cell::Value(v) => v.to_json(),
                                Cell::Default => json!({ "assigned_by_database": true }),
                                Cell::Ref(r) => json!({
                                    "assigned_by_database": true,
                                    "same_as": { "table": r.table, "row": r.row, "column": r.column },
                                }),
                                Cell::Streamed(r) => json!({
                                    "assigned_by_database": true,
                                    "same_as": { "stream": r.stream, "row": r.row, "column": r.column },
                                }),
                            };
                            (c.clone(), v)
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

/// `request_scenario`: the engine's seeded run, and where its audit trail is.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct SeededRun {
    /// Always `ready`: the rows are committed.
    pub(super) status: String,
    /// The scenario.
    pub(super) scenario: String,
    /// The run id: give it to reset_run and audit_lookup.
    pub(super) run_id: String,
    /// The request id.
    pub(super) request_id: String,
    /// The keys of the seeded entities, by the scenario's output names; a list of more than
    /// 100 keys holds its first 100 (see `data_left_out`).
    pub(super) data: serde_json::Map<String, Json>,
    /// For each list cut short in `data`: how many keys it has in all (they are in the
    /// database and the audit trail's seed_completed event).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) data_left_out: BTreeMap<String, usize>,
    /// The cleanup token, shown only this once: give it to reset_run.
    pub(super) token: String,
    /// Rows written, per table.
    pub(super) rows: BTreeMap<String, u64>,
    /// The seed used.
    pub(super) seed: u64,
    /// The reference date used.
    pub(super) reference_date: NaiveDate,
    /// When the lease ends: a run not reset by then is reset by the engine.
    pub(super) lease_expires_at: DateTime<Utc>,
    /// Fixture files written (when asked), removed again by the reset.
    pub(super) fixtures: Vec<String>,
    /// Where the run's audit objects are.
    pub(super) audit_location: String,
}

/// How many keys of one entity a result puts into an agent's context.
pub(super) const LISTED_KEYS: usize = 100;

/// `data` with every list longer than [`LISTED_KEYS`] cut to its first keys, and the total of
/// each list cut.
pub(super) fn bounded(
    mut data: serde_json::Map<String, Json>,
) -> (serde_json::Map<String, Json>, BTreeMap<String, usize>) {
    let mut left_out = BTreeMap::new();
    for (name, v) in data.iter_mut() {
        if let Json::Array(keys) = v
            && keys.len() > LISTED_KEYS
        {
            left_out.insert(name.clone(), keys.len());
            keys.truncate(LISTED_KEYS);
        }
    }
    (data, left_out)
}

/// `reset_run`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ResetDone {
    /// The run.
    pub(super) run_id: String,
    /// `cleaned` now, or `already_cleaned` before.
    pub(super) status: String,
    /// Rows deleted per table.
    pub(super) deleted: BTreeMap<String, u64>,
    /// Where the run's audit objects are.
    pub(super) audit_location: String,
}

/// `reset_all`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ResetAllDone {
    /// The runs cleaned.
    pub(super) runs: Vec<String>,
    /// Rows deleted per table.
    pub(super) deleted: BTreeMap<String, u64>,
}

/// `restore_baseline`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Restored {
    /// The baseline restored.
    pub(super) baseline_id: String,
    /// Rows written per table.
    pub(super) rows: BTreeMap<String, u64>,
    /// Rows deleted per table.
    pub(super) deleted: BTreeMap<String, u64>,
    /// The restore's audit run (`strategy-restore-ULID`).
    pub(super) audit_run_id: String,
    /// Where its audit objects are.
    pub(super) audit_location: String,
}

/// `audit_lookup`: the engine's JSON view of a trail, each tool call said once.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(super) struct Trail {
    /// The run.
    run_id: String,
    /// Where its audit objects are.
    location: String,
    /// What a reader wants first: `scenario`, `invoker`, `outcome` (in words), `reset_status`,
    /// `events`, `first_event_at`, `last_event_at`.
    summary: Json,
    /// The MCP tool calls that led to the events, each once, in the order they first appear:
    /// `{"tool", "arguments", "session"}`.
    tool_calls: Vec<Json>,
    /// The events, oldest first.
    events: Vec<TrailEvent>,
}

impl Trail {
    pub(super) fn from_engine(t: &atdm_core::audit::AuditTrail) -> Result<Trail, ToolError> {
        let failed = |e: serde_json::Error| {
            ToolError::new(
                ErrorCode::AuditStoreError.as_str(),
                format!("cannot read the audit trail of {}: {e}", t.run_id),
            )
        };
        let mut trail = serde_json::to_value(t).map_err(failed)?;
        // Every event of a call repeats the call (a request's seven events, one call): the
        // trail lists each call once and the events point at it.
        let mut tool_calls: Vec<Json> = Vec::new();
        if let Some(events) = trail["events"].as_array_mut() {
            for e in events {
                let calls = e
                    .as_object_mut()
                    .and_then(|o| o.remove("tools_called"))
                    .and_then(|c| match c {
                        Json::Array(calls) => Some(calls),
                        _ => None,
                    })
                    .unwrap_or_default();
                let indices: Vec<usize> = calls
                    .into_iter()
                    .map(|c| match tool_calls.iter().position(|k| *k == c) {
                        Some(i) => i,
                        None => {
                            tool_calls.push(c);
                            tool_calls.len() - 1
                        }
                    })
                    .collect();
                e["tool_calls"] = serde_json::json!(indices);
            }
        }
        trail["tool_calls"] = Json::Array(tool_calls);
        serde_json::from_value(trail).map_err(failed)
    }
}

/// One audit event.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(super) struct TrailEvent {
    /// Its id.
    event_id: String,
    /// When, RFC 3339 UTC with microseconds.
    timestamp: String,
    /// The run.
    test_run_id: String,
    /// Who asked (`mcp:client/version` for calls through this server).
    invoker: String,
    /// What happened (`request_received`, `seed_completed`, `reset_rejected`, ...).
    action: String,
    /// The inputs.
    inputs: Json,
    /// The MCP tool calls that led to it, oldest first: positions in the trail's
    /// `tool_calls`.
    tool_calls: Vec<usize>,
    /// The outputs.
    outputs: Json,
    /// How it ended (`ok`, `rejected`, `forbidden`, `cleaned`, `failed`, ...).
    status: String,
    /// A reviewer's decision, when someone reviewed it.
    reviewer_decision: Option<String>,
    /// The event layout version.
    schema_version: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_key_lists_are_cut_and_counted() {
        let mut data = serde_json::Map::new();
        data.insert("member_id".into(), Json::from("m-1"));
        data.insert(
            "book_ids".into(),
            Json::from((0..250).collect::<Vec<i64>>()),
        );
        data.insert("few".into(), Json::from(vec![1, 2]));
        let (data, left_out) = bounded(data);
        assert_eq!(data["book_ids"].as_array().unwrap().len(), LISTED_KEYS);
        assert_eq!(data["book_ids"][0], 0);
        assert_eq!(data["few"], serde_json::json!([1, 2]));
        assert_eq!(data["member_id"], "m-1");
        assert_eq!(left_out, BTreeMap::from([("book_ids".to_owned(), 250)]));
    }
}
