//! What each tool takes: one argument type per tool (its JSON schema is the tool's input
//! schema), and the engine request made of knob values, seed and reference date. None takes
//! SQL, a table to write, or rows; every type refuses unknown fields.

use std::collections::BTreeMap;

use atdm_core::Value;
use atdm_sqlx::Request;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NoArguments {}

/// A scenario.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ScenarioArgument {
    /// The scenario id, as list_scenarios or find_scenarios give it.
    pub(super) scenario: String,
}

/// What to look for.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FindArguments {
    /// Plain words saying what data the test needs.
    pub(super) intent: String,
    /// At most this many matches, 1 to 50 (default 5).
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub(super) limit: Option<usize>,
}

/// A request to plan: the scenario and how to turn its knobs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PlanArguments {
    /// The scenario id.
    pub(super) scenario: String,
    /// Knob values by knob name (see describe_scenario): text, numbers, booleans, or null for a nullable knob. Knobs left out take the scenario's defaults.
    #[serde(default, deserialize_with = "knob_values")]
    #[schemars(schema_with = "knob_values_schema")]
    pub(super) constraints: BTreeMap<String, Json>,
    /// A seed instead of the one derived from the run id (same seed, same data).
    #[serde(default)]
    pub(super) seed: Option<u64>,
    /// "Today" for this request, YYYY-MM-DD, instead of the server's reference date.
    #[serde(default)]
    pub(super) reference_date: Option<NaiveDate>,
}

impl PlanArguments {
    pub(super) fn request(&self) -> Request {
        request_of(&self.constraints, self.seed, self.reference_date)
    }
}

/// The engine request of a tool's knob values, seed and reference date.
pub(super) fn request_of(
    constraints: &BTreeMap<String, Json>,
    seed: Option<u64>,
    reference_date: Option<NaiveDate>,
) -> Request {
    let mut r = Request::new();
    for (k, v) in constraints {
        r = r.constraint(k.clone(), Value::from_json(v));
    }
    r.seed = seed;
    r.reference_date = reference_date;
    r
}

/// A request: what to seed, and which fixture files to write.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestArguments {
    /// The scenario id.
    pub(super) scenario: String,
    /// Knob values by knob name (see describe_scenario): text, numbers, booleans, or null for a nullable knob. Knobs left out take the scenario's defaults.
    #[serde(default, deserialize_with = "knob_values")]
    #[schemars(schema_with = "knob_values_schema")]
    pub(super) constraints: BTreeMap<String, Json>,
    /// A seed instead of the one derived from the run id (same seed, same data).
    #[serde(default)]
    pub(super) seed: Option<u64>,
    /// "Today" for this request, YYYY-MM-DD, instead of the server's reference date.
    #[serde(default)]
    pub(super) reference_date: Option<NaiveDate>,
    /// Also write a Playwright fixture (JSON) into the server's fixture directory.
    #[serde(default)]
    pub(super) playwright: bool,
    /// Also write a pytest fixture module into the server's fixture directory.
    #[serde(default)]
    pub(super) pytest: bool,
}

/// A run and its cleanup token.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResetArguments {
    /// The run id request_scenario returned.
    pub(super) run_id: String,
    /// The cleanup token request_scenario returned.
    pub(super) token: String,
}

/// A run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RunArgument {
    /// The run id (also a dry run's, or a strategy run's `strategy-NAME-ULID`).
    pub(super) run_id: String,
}

/// The explicit confirmation of a destructive action.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfirmArgument {
    /// Must be true: confirms that every run-owned row is to be deleted.
    pub(super) confirm: bool,
}

/// Which baseline.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BaselineArgument {
    /// The baseline id; the newest baseline when left out.
    #[serde(default)]
    pub(super) baseline_id: Option<String>,
}

/// Knob values: a JSON object whose values are scalars (no arrays, no objects).
fn knob_values<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Json>, D::Error> {
    let map = BTreeMap::<String, Json>::deserialize(d)?;
    if let Some((k, v)) = map.iter().find(|(_, v)| v.is_array() || v.is_object()) {
        return Err(D::Error::custom(format!(
            "constraint {k:?} is {v}; a knob value is text, a number, a boolean or null"
        )));
    }
    Ok(map)
}

fn knob_values_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": { "type": ["string", "number", "boolean", "null"] }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn knob_values_are_scalars() {
        let ok: PlanArguments = serde_json::from_value(json!({
            "scenario": "s",
            "constraints": {"a": "x", "b": 1, "c": true, "d": null, "e": 1.5},
        }))
        .unwrap();
        let r = ok.request();
        assert_eq!(r.constraints["a"], Value::Text("x".into()));
        assert_eq!(r.constraints["b"], Value::Int(1));
        assert_eq!(r.constraints["c"], Value::Bool(true));
        assert_eq!(r.constraints["d"], Value::Null);
        let bad = serde_json::from_value::<PlanArguments>(json!({
            "scenario": "s",
            "constraints": {"a": ["x"]},
        }))
        .unwrap_err();
        assert!(bad.to_string().contains("constraint \"a\""), "{bad}");
    }

    #[test]
    fn unknown_arguments_are_refused() {
        let e = serde_json::from_value::<RequestArguments>(json!({
            "scenario": "s",
            "sql": "DELETE FROM member",
        }))
        .unwrap_err();
        assert!(e.to_string().contains("sql"), "{e}");
    }
}
