//! The tools: one `#[tool]` handler each, with its description, output schema and hints.
//! None takes SQL, a table to write or rows. What they take is in [`super::arguments`], what
//! they return in [`super::outputs`]; `reset_all` and `restore_baseline` are removed from the
//! router unless the server was started with their flag (see [`AtdmServer::offered`]).
//!
//! A tool that acts on a run (request, dry run, reset) calls the engine as the caller, so the
//! run's own trail records the call; a tool that only reads answers through
//! [`AtdmServer::read`], which audits it in the session's trail first.

use std::collections::BTreeMap;

use atdm_core::ErrorCode;
use rmcp::handler::server::common::{Extension, schema_for_output};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData, tool, tool_router};

use super::arguments::{
    BaselineArgument, ConfirmArgument, FindArguments, NoArguments, PlanArguments, RequestArguments,
    ResetArguments, RunArgument, ScenarioArgument, request_of,
};
use super::error::{INVALID_ARGUMENTS, ToolError};
use super::outputs::{
    Description, Found, FoundMatch, ResetAllDone, ResetDone, Restored, ScenarioList,
    ScenarioSummary, SeededRun, TableRows, Trail, Validation,
};
use super::{AtdmServer, Call, structured};

/// The most scenarios `find_scenarios` returns.
const FIND_LIMIT_MAX: usize = 50;

#[tool_router(vis = "pub(super)")]
impl AtdmServer {
    #[tool(
        description = "List every scenario this server can seed: id, description, tags, requirement ids and knob names. Reads only.",
        output_schema = schema_for_output::<ScenarioList>(),
        annotations(title = "List scenarios", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_scenarios(
        &self,
        Parameters(_): Parameters<NoArguments>,
        Extension(call): Extension<Call>,
    ) -> Result<CallToolResult, ErrorData> {
        let list = ScenarioList {
            scenarios: self
                .engine
                .pack()
                .catalog()
                .list()
                .map(|s| ScenarioSummary {
                    id: s.id.clone(),
                    description: s.description.clone(),
                    tags: s.tags.clone(),
                    requirements: s.requirements.clone(),
                    knobs: s.knobs.keys().cloned().collect(),
                })
                .collect(),
        };
        Ok(self.read(&call, Ok(list)).await)
    }

    #[tool(
        description = "Describe one scenario: its knobs (the constraints request_scenario and validate_request accept) with their allowed values and defaults, the rows it seeds (table and count) and the validators its data must pass. Reads only.",
        output_schema = schema_for_output::<Description>(),
        annotations(title = "Describe a scenario", read_only_hint = true, open_world_hint = false)
    )]
    async fn describe_scenario(
        &self,
        Parameters(args): Parameters<ScenarioArgument>,
        Extension(call): Extension<Call>,
    ) -> Result<CallToolResult, ErrorData> {
        let described = self
            .engine
            .pack()
            .describe(&args.scenario)
            .map(Description::from)
            .map_err(ToolError::from);
        Ok(self.read(&call, described).await)
    }

    #[tool(
        description = "Find scenarios by intent: plain words for the data your test needs (\"active member with a denied claim from an out-of-network provider\"), best match first with the words that matched. An empty list means nothing matched; try other words or list_scenarios. Reads only.",
        output_schema = schema_for_output::<Found>(),
        annotations(title = "Find scenarios by intent", read_only_hint = true, open_world_hint = false)
    )]
    async fn find_scenarios(
        &self,
        Parameters(args): Parameters<FindArguments>,
        Extension(call): Extension<Call>,
    ) -> Result<CallToolResult, ErrorData> {
        let limit = args.limit.unwrap_or(5);
        let found = if (1..=FIND_LIMIT_MAX).contains(&limit) {
            let pack = self.engine.pack();
            Ok(Found {
                matches: pack
                    .catalog()
                    .find(&args.intent, limit)
                    .into_iter()
                    .map(|m| FoundMatch {
                        description: pack
                            .scenario(&m.id)
                            .map(|s| s.description.clone())
                            .unwrap_or_default(),
                        id: m.id,
                        score: m.score,
                        matched: m.matched,
                    })
                    .collect(),
                intent: args.intent,
            })
        } else {
            Err(ToolError::new(
                INVALID_ARGUMENTS,
                format!(
                    "limit is {limit}; give a number from 1 to {FIND_LIMIT_MAX}, or leave it out for 5"
                ),
            ))
        };
        Ok(self.read(&call, found).await)
    }

    #[tool(
        description = "Plan and validate a request without writing anything to the database: the rows each table would get, or the validator failures and the error that request_scenario would return. A refused request is a normal result here (valid: false), not an error. The dry run is audited under its own run_id.",
        output_schema = schema_for_output::<Validation>(),
        annotations(title = "Validate a request (dry run)", read_only_hint = true, open_world_hint = false)
    )]
    async fn validate_request(
        &self,
        Parameters(args): Parameters<PlanArguments>,
        Extension(call): Extension<Call>,
    ) -> Result<CallToolResult, ErrorData> {
        let engine = self.caller(&call);
        let request = args.request().max_rows(self.max_rows);
        Ok(match engine.plan(&args.scenario, request).await {
            Ok(validated) => {
                let plan = validated.plan();
                structured(&Validation {
                    valid: true,
                    scenario: args.scenario,
                    audit_location: Some(self.location(&plan.run_id)),
                    run_id: Some(plan.run_id.clone()),
                    seed: Some(plan.seed),
                    reference_date: Some(plan.reference_date),
                    constraints: plan
                        .constraints
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json()))
                        .collect(),
                    validators: validated.validators().to_vec(),
                    rows: plan
                        .tables
                        .iter()
                        .map(|t| (t.table.to_string(), t.rows.len() as u64))
                        .collect(),
                    tables: plan.tables.iter().map(TableRows::from).collect(),
                    failures: Vec::new(),
                    error: None,
                })
            }
            Err(e) if refused(&e) => {
                let error = ToolError::from(e);
                structured(&Validation {
                    valid: false,
                    scenario: args.scenario,
                    audit_location: error.run_id.as_deref().map(|r| self.location(r)),
                    run_id: error.run_id.clone(),
                    seed: None,
                    reference_date: None,
                    constraints: BTreeMap::new(),
                    validators: Vec::new(),
                    rows: BTreeMap::new(),
                    tables: Vec::new(),
                    failures: error.failures.clone(),
                    error: Some(error),
                })
            }
            Err(e) => ToolError::from(e).into_result(),
        })
    }

    #[tool(
        description = "Seed a scenario in one transaction. Returns the run_id, the entity keys in data (by the output names describe_scenario lists), rows per table, and the cleanup token: it is shown only this once, keep it for reset_run. constraints set knobs (see describe_scenario); the caller wins over the scenario's defaults. A refused request writes nothing and fails with VALIDATOR_REJECTED (the failures are in the error); a request of more rows than the server allows (atdm mcp --max-rows, a million by default) writes nothing and fails with PLAN_FAILED.",
        output_schema = schema_for_output::<SeededRun>(),
        annotations(title = "Request scenario data", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn request_scenario(
        &self,
        Parameters(args): Parameters<RequestArguments>,
        Extension(call): Extension<Call>,
    ) -> Result<CallToolResult, ErrorData> {
        let engine = self.caller(&call);
        let mut request =
            request_of(&args.constraints, args.seed, args.reference_date).max_rows(self.max_rows);
        request.playwright = args.playwright;
        request.pytest = args.pytest;
        Ok(match engine.request(&args.scenario, request).await {
            Ok(s) => {
                let (data, data_left_out) = super::outputs::bounded(s.data);
                structured(&SeededRun {
                    audit_location: self.location(&s.run_id),
                    token: s.token.expose().to_owned(),
                    status: s.status.to_owned(),
                    scenario: s.scenario,
                    run_id: s.run_id,
                    request_id: s.request_id,
                    data,
                    data_left_out,
                    rows: s.rows,
                    seed: s.seed,
                    reference_date: s.reference_date,
                    lease_expires_at: s.lease_expires_at,
                    fixtures: s.fixtures.iter().map(|p| p.display().to_string()).collect(),
                })
            }
            Err(e) => ToolError::from(e).into_result(),
        })
    }

    #[tool(
        description = "Delete exactly the rows of one run (children first, one transaction), given the cleanup token request_scenario returned. A repeat returns already_cleaned and changes nothing; a wrong token (TOKEN_MISMATCH) or an unknown run (RUN_NOT_FOUND) changes nothing.",
        output_schema = schema_for_output::<ResetDone>(),
        annotations(title = "Reset one run", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn reset_run(
        &self,
        Parameters(args): Parameters<ResetArguments>,
        Extension(call): Extension<Call>,
    ) -> Result<CallToolResult, ErrorData> {
        let engine = self.caller(&call);
        Ok(match engine.reset_run(&args.run_id, &args.token).await {
            Ok(r) => structured(&ResetDone {
                audit_location: self.location(&r.run_id),
                status: serde_json::to_value(r.status)
                    .ok()
                    .and_then(|s| s.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                run_id: r.run_id,
                deleted: r.deleted,
            }),
            // A run that does not exist has no trail of its own: the refusal goes into the
            // session's trail, never under the id the caller chose.
            Err(e @ atdm_sqlx::Error::RunNotFound { .. }) => {
                self.read::<ResetDone>(&call, Err(ToolError::from(e))).await
            }
            Err(e) => ToolError::from(e).into_result(),
        })
    }

    #[tool(
        description = "Read a run's audit trail, oldest event first: every request, plan, validator decision, seed, fixture and reset, with who called (invoker) and through which tools (tools_called). Works for dry runs and strategy runs too. No event holds a cleanup token. Reads only.",
        output_schema = schema_for_output::<Trail>(),
        annotations(title = "Look up a run's audit trail", read_only_hint = true, open_world_hint = false)
    )]
    async fn audit_lookup(
        &self,
        Parameters(args): Parameters<RunArgument>,
        Extension(call): Extension<Call>,
    ) -> Result<CallToolResult, ErrorData> {
        let trail = match self.engine.audit(&args.run_id).await {
            Ok(t) => Trail::from_engine(&t),
            Err(e) => Err(ToolError::from(e)),
        };
        Ok(self.read(&call, trail).await)
    }

    #[tool(
        description = "Delete every row owned by any run in every table (shared reference rows stay), and mark every run cleaned. Needs confirm: true. Offered only because the server was started with --allow-reset-all.",
        output_schema = schema_for_output::<ResetAllDone>(),
        annotations(title = "Reset every run", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn reset_all(
        &self,
        Parameters(args): Parameters<ConfirmArgument>,
        Extension(call): Extension<Call>,
    ) -> Result<CallToolResult, ErrorData> {
        let engine = self.caller(&call);
        Ok(match engine.reset_all(args.confirm.into()).await {
            Ok(r) => structured(&ResetAllDone {
                runs: r.runs,
                deleted: r.deleted,
            }),
            Err(e) => ToolError::from(e).into_result(),
        })
    }

    #[tool(
        description = "Put a baseline back in place of every table, in one transaction (the newest baseline when no baseline_id is given). Offered only because the server was started with --allow-restore.",
        output_schema = schema_for_output::<Restored>(),
        annotations(title = "Restore a baseline", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn restore_baseline(
        &self,
        Parameters(args): Parameters<BaselineArgument>,
        Extension(call): Extension<Call>,
    ) -> Result<CallToolResult, ErrorData> {
        let engine = self.caller(&call);
        Ok(match engine.restore(args.baseline_id.as_deref()).await {
            Ok(r) => structured(&Restored {
                audit_location: self.location(&r.audit_run_id),
                baseline_id: r.baseline_id,
                rows: r.rows,
                deleted: r.deleted,
                audit_run_id: r.audit_run_id,
            }),
            Err(e) => ToolError::from(e).into_result(),
        })
    }
}

/// Whether a planning error means "this request would be refused" (a normal result of
/// validate_request) rather than a bad call or a failure.
fn refused(e: &atdm_sqlx::Error) -> bool {
    matches!(
        e.code(),
        ErrorCode::ValidatorRejected | ErrorCode::InvalidConstraint | ErrorCode::PlanFailed
    )
}

#[cfg(test)]
mod tests {
    use serde_json::Value as Json;

    use super::*;

    #[test]
    fn no_input_takes_sql_tables_or_rows() {
        let server_tools = AtdmServer::tool_router().list_all();
        assert_eq!(server_tools.len(), 9);
        for t in server_tools {
            let props = t
                .input_schema
                .get("properties")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default();
            for name in props.keys() {
                for word in ["sql", "query", "table", "row", "column", "statement"] {
                    assert!(!name.contains(word), "{}: argument {name}", t.name);
                }
            }
            assert_eq!(
                t.input_schema.get("additionalProperties"),
                Some(&Json::Bool(false)),
                "{} accepts unknown arguments",
                t.name
            );
            assert!(t.output_schema.is_some(), "{} has no output schema", t.name);
        }
    }

    #[test]
    fn offered_schemas_are_plain_json_schema() {
        let all = crate::args::McpArgs {
            allow_reset_all: true,
            allow_restore: true,
            lease: None,
            max_rows: 1,
        };
        for t in AtdmServer::offered(all).list_all() {
            let text = serde_json::to_string(&(&t.input_schema, &t.output_schema)).unwrap();
            for bad in ["\"format\":\"uint", "\"format\":\"int", "\"default\":null"] {
                assert!(!text.contains(bad), "{}: {bad} in {text}", t.name);
            }
        }
    }
}
