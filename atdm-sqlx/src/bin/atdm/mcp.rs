//! `atdm mcp`: the engine as a Model Context Protocol server on stdio, for AI testing agents.
//!
//! The server is a door no wider than the library: its tools list, describe and find
//! scenarios, plan (dry run), request, reset one run and read a run's audit trail. No tool
//! takes SQL, a table to write or rows; `reset_all` and `restore_baseline` exist only when the
//! server is started with `--allow-reset-all` / `--allow-restore`.
//!
//! Every call is audited through [`Engine::as_caller`]: its events name the MCP client
//! (`mcp:<name>/<version>`, from the initialize handshake or the request's own client
//! metadata) and carry the call in `tools_called` (`{"tool", "arguments", "session"}`, any
//! `token` argument replaced by `"<redacted>"`). A call that acts on a run (request, dry run,
//! reset) is audited in that run's trail; every other call (listing, describing, finding,
//! reading a trail, an unknown tool, arguments that do not fit) is a `tool_called` event in
//! the session's own trail, `mcp-session-<ULID>`, written before the answer.
//!
//! Results are structured content that matches each tool's output schema, and the same JSON
//! as text. Engine errors are tool errors (`isError`), whose text starts with the code and
//! whose structured content is `{"error": {"code", "message", "run_id", "failures"}}`;
//! arguments that do not match a tool's input schema are tool errors with code
//! `INVALID_ARGUMENTS`; an unknown tool is a JSON-RPC error (-32602, `UNKNOWN_TOOL`). The
//! server keeps serving after every one of them. See `docs/mcp.md`.

use std::collections::BTreeMap;

use atdm_core::{Cell, ErrorCode, Value};
use atdm_sqlx::{AuditLog, Engine, Request};
use chrono::{DateTime, NaiveDate, Utc};
use rmcp::handler::server::common::{Extension, schema_for_output};
use rmcp::handler::server::tool::{ToolCallContext, ToolRouter};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value as Json, json};

use crate::args::McpArgs;
use crate::output::CliError;

/// The code of a call whose arguments do not match the tool's input schema.
const INVALID_ARGUMENTS: &str = "INVALID_ARGUMENTS";
/// The code of a call to a tool the server does not offer.
const UNKNOWN_TOOL: &str = "UNKNOWN_TOOL";
/// What a `token` argument becomes in `tools_called`.
const REDACTED: &str = "<redacted>";
/// The most scenarios `find_scenarios` returns.
const FIND_LIMIT_MAX: usize = 50;
/// The tools that only `--allow-reset-all` and `--allow-restore` add.
const GUARDED_TOOLS: [&str; 2] = ["reset_all", "restore_baseline"];

const INSTRUCTIONS: &str = "\
ATDM gives you synthetic test data by intent; you never write SQL. \
1. find_scenarios with words for the data your test needs (or list_scenarios). \
2. describe_scenario to see its knobs (allowed values, defaults). \
3. Optionally validate_request: the rows a request would seed, or why it would be refused; nothing is written. \
4. request_scenario: returns run_id, the entity keys in data, and a cleanup token shown only once; keep both. \
5. Run your test against the keys in data. \
6. reset_run with run_id and token deletes exactly that run's rows. \
Runs you do not reset are removed when their lease ends. Every call is audited under your client's name; \
audit_lookup shows a run's trail. Errors start with a stable code (SCENARIO_NOT_FOUND, INVALID_CONSTRAINT, \
VALIDATOR_REJECTED, TOKEN_MISMATCH, RUN_NOT_FOUND, ...) followed by what to do.";

/// Serves MCP on stdin/stdout until the client closes the connection.
pub(crate) async fn serve(engine: &Engine, args: McpArgs) -> Result<(), CliError> {
    let server = AtdmServer::new(engine.clone(), args);
    // stdout is the protocol: everything for people goes to stderr.
    eprintln!(
        "atdm mcp: {} scenarios of pack {} on {}; tools: {}",
        engine.pack().catalog().list().count(),
        engine.pack().name(),
        engine.database(),
        server.tool_names().join(", ")
    );
    let running = server.serve(rmcp::transport::stdio()).await.map_err(|e| {
        CliError::failed(
            "MCP_ERROR",
            format!("the MCP session did not start (is an MCP client on stdin?): {e}"),
        )
    })?;
    let reason = running
        .waiting()
        .await
        .map_err(|e| CliError::failed("INTERNAL_ERROR", format!("the MCP session failed: {e}")))?;
    eprintln!("atdm mcp: session ended ({reason:?})");
    Ok(())
}

/// The MCP server: one engine, the tools this start offers, and the session's calls that the
/// engine has not audited yet.
pub(crate) struct AtdmServer {
    engine: Engine,
    tool_router: ToolRouter<AtdmServer>,
    /// The session's own audit trail: calls that do not act on a run.
    session: String,
}

/// One tool call as the audit trail shows it: who called, which tool, with what (redacted).
#[derive(Debug, Clone)]
struct Call {
    invoker: String,
    tool: String,
    arguments: Json,
}

impl Call {
    /// `[{"tool": ..., "arguments": ..., "session": ...}]`: the call as `tools_called` holds it.
    fn tools_called(&self, session: &str) -> Json {
        json!([{ "tool": self.tool, "arguments": self.arguments, "session": session }])
    }
}

impl AtdmServer {
    fn new(engine: Engine, args: McpArgs) -> Self {
        AtdmServer {
            engine,
            tool_router: Self::offered(args),
            session: format!("mcp-session-{}", ulid::Ulid::new()),
        }
    }

    /// The tools a start with `args` offers: the guarded ones only when their flag is given.
    fn offered(args: McpArgs) -> ToolRouter<AtdmServer> {
        let mut router = Self::tool_router();
        for (tool, allowed) in GUARDED_TOOLS
            .into_iter()
            .zip([args.allow_reset_all, args.allow_restore])
        {
            if !allowed {
                router.remove_route(tool);
            }
        }
        router
    }

    /// The names of the tools offered, sorted.
    fn tool_names(&self) -> Vec<String> {
        self.tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }

    /// The engine for a call: its events name the client and carry the call.
    fn caller(&self, call: &Call) -> Engine {
        self.engine
            .as_caller(call.invoker.clone(), call.tools_called(&self.session))
    }

    /// Audits a call that does not act on a run in the session's trail. A store failure
    /// becomes the call's error: an unaudited answer is not given.
    async fn audit_call(&self, call: &Call, error: Option<&ToolError>) -> Result<(), ToolError> {
        self.caller(call)
            .record_tool_call(
                &self.session,
                error.map(|e| (e.code.as_str(), e.message.as_str())),
            )
            .await
            .map_err(ToolError::from)
    }

    /// The result of a call that reads only, audited in the session's trail first.
    async fn read<T: Serialize>(
        &self,
        call: &Call,
        result: Result<T, ToolError>,
    ) -> CallToolResult {
        let audited = self.audit_call(call, result.as_ref().err()).await;
        match (result, audited) {
            (_, Err(e)) => e.into_result(),
            (Ok(v), Ok(())) => structured(&v),
            (Err(e), Ok(())) => e.into_result(),
        }
    }

    /// Where a run's audit objects are.
    fn location(&self, run_id: &str) -> String {
        AuditLog::new(self.engine.store().clone()).location(run_id)
    }
}

// ---------------------------------------------------------------------------------------
// Tools.

#[tool_router]
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
        let request = args.request();
        Ok(match engine.plan(&args.scenario, &request).await {
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
        description = "Seed a scenario in one transaction. Returns the run_id, the entity keys in data (member_id, claim_id, ...), rows per table, and the cleanup token: it is shown only this once, keep it for reset_run. constraints set knobs (see describe_scenario); the caller wins over the scenario's defaults. A refused request writes nothing and fails with VALIDATOR_REJECTED (the failures are in the error).",
        output_schema = schema_for_output::<SeededRun>(),
        annotations(title = "Request scenario data", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn request_scenario(
        &self,
        Parameters(args): Parameters<RequestArguments>,
        Extension(call): Extension<Call>,
    ) -> Result<CallToolResult, ErrorData> {
        let engine = self.caller(&call);
        let mut request = request_of(&args.constraints, args.seed, args.reference_date);
        request.playwright = args.playwright;
        request.pytest = args.pytest;
        Ok(match engine.request(&args.scenario, request).await {
            Ok(s) => structured(&SeededRun {
                audit_location: self.location(&s.run_id),
                token: s.token.expose().to_owned(),
                status: s.status.to_owned(),
                scenario: s.scenario,
                run_id: s.run_id,
                request_id: s.request_id,
                data: s.data,
                rows: s.rows,
                seed: s.seed,
                reference_date: s.reference_date,
                lease_expires_at: s.lease_expires_at,
                fixtures: s.fixtures.iter().map(|p| p.display().to_string()).collect(),
            }),
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
        Ok(match engine.reset_all(args.confirm).await {
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

#[tool_handler(router = self.tool_router)]
impl ServerHandler for AtdmServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = Implementation::new("atdm", env!("CARGO_PKG_VERSION"));
        info.title = Some("ATDM test data".into());
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(info)
            .with_instructions(INSTRUCTIONS)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let call = Call {
            invoker: invoker(&context),
            tool: request.name.to_string(),
            arguments: redact(Json::Object(request.arguments.clone().unwrap_or_default())),
        };
        if self.tool_router.get(&call.tool).is_none() {
            let err = unknown_tool(&call.tool, &self.tool_names());
            let why = ToolError::new(UNKNOWN_TOOL, err.message.to_string());
            if let Err(e) = self.audit_call(&call, Some(&why)).await {
                return Ok(e.into_result().into());
            }
            return Err(err);
        }
        context.extensions.insert(call.clone());
        let response = self
            .tool_router
            .call(ToolCallContext::new(self, request, context))
            .await?;
        Ok(match response {
            // Every result of these tools carries structured content; one without it is the
            // SDK's answer to arguments that did not deserialize.
            CallToolResponse::Complete(r)
                if r.is_error == Some(true) && r.structured_content.is_none() =>
            {
                let why = r
                    .content
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                    .collect::<Vec<_>>()
                    .join(" ");
                let why = why
                    .trim_start_matches("failed to deserialize parameters:")
                    .trim();
                let err = ToolError::new(
                    INVALID_ARGUMENTS,
                    format!(
                        "the arguments of {} do not match its input schema: {why}; see the tool's inputSchema in tools/list",
                        call.tool
                    ),
                );
                match self.audit_call(&call, Some(&err)).await {
                    Ok(()) => err.into_result().into(),
                    Err(e) => e.into_result().into(),
                }
            }
            other => other,
        })
    }
}

/// The invoker audit events name: `mcp:<client name>/<client version>`.
fn invoker(context: &RequestContext<RoleServer>) -> String {
    match context.client_info() {
        Some(c) => {
            let name: String = c.name.chars().take(100).collect();
            let version: String = c.version.chars().take(50).collect();
            format!("mcp:{name}/{version}")
        }
        None => "mcp:unknown".to_owned(),
    }
}

/// The arguments with every `token` value (at any depth) replaced by `"<redacted>"`, so no
/// audit event holds a cleanup token.
fn redact(v: Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| {
                    if k.eq_ignore_ascii_case("token") {
                        (k, Json::String(REDACTED.to_owned()))
                    } else {
                        (k, redact(v))
                    }
                })
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.into_iter().map(redact).collect()),
        other => other,
    }
}

fn unknown_tool(name: &str, tools: &[String]) -> ErrorData {
    let message = format!(
        "{UNKNOWN_TOOL}: this server has no tool {name:?}; its tools are {}",
        tools.join(", ")
    );
    let data = json!({
        "code": UNKNOWN_TOOL,
        "message": message,
        "run_id": null,
        "tools": tools,
    });
    ErrorData::invalid_params(message, Some(data))
}

/// A successful result: the value as structured content and as JSON text.
fn structured<T: Serialize>(value: &T) -> CallToolResult {
    match serde_json::to_value(value) {
        Ok(v) => CallToolResult::structured(v),
        Err(e) => {
            ToolError::new("INTERNAL_ERROR", format!("cannot encode the result: {e}")).into_result()
        }
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

// ---------------------------------------------------------------------------------------
// Errors.

/// A failed call: the library's stable code, its message, the run it concerns, and (for a
/// refused plan) the validators' findings.
#[derive(Debug, Clone, Serialize, JsonSchema)]
struct ToolError {
    /// The stable code (`TOKEN_MISMATCH`, `SCENARIO_NOT_FOUND`, ...).
    code: String,
    /// What was wrong and what to do.
    message: String,
    /// The run the error is about, when it names one.
    run_id: Option<String>,
    /// The validator failures of a refused plan, in order; empty otherwise.
    failures: Vec<FailureOut>,
}

impl ToolError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        ToolError {
            code: code.to_owned(),
            message: message.into(),
            run_id: None,
            failures: Vec::new(),
        }
    }

    /// A tool error: text `CODE: message`, structured content `{"error": {...}}`.
    fn into_result(self) -> CallToolResult {
        let mut r = CallToolResult::error(vec![ContentBlock::text(format!(
            "{}: {}",
            self.code, self.message
        ))]);
        r.structured_content = Some(json!({ "error": self }));
        r
    }
}

impl From<atdm_sqlx::Error> for ToolError {
    fn from(e: atdm_sqlx::Error) -> Self {
        let failures = match &e {
            atdm_sqlx::Error::Core(atdm_core::Error::Rejected(r)) => {
                r.failures.iter().map(FailureOut::from).collect()
            }
            _ => Vec::new(),
        };
        ToolError {
            code: e.code().as_str().to_owned(),
            message: e.to_string(),
            run_id: e.run_id().map(str::to_owned),
            failures,
        }
    }
}

impl From<atdm_core::Error> for ToolError {
    fn from(e: atdm_core::Error) -> Self {
        ToolError::from(atdm_sqlx::Error::Core(e))
    }
}

/// One validator failure.
#[derive(Debug, Clone, Serialize, JsonSchema)]
struct FailureOut {
    /// The validator's dotted name.
    validator: String,
    /// What is wrong.
    message: String,
    /// The values involved, by name.
    values: BTreeMap<String, Json>,
}

impl From<&atdm_core::Failure> for FailureOut {
    fn from(f: &atdm_core::Failure) -> Self {
        FailureOut {
            validator: f.validator.clone(),
            message: f.message.clone(),
            values: f.values.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Inputs. None takes SQL, a table to write, or rows.

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoArguments {}

/// A scenario.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ScenarioArgument {
    /// The scenario id, as list_scenarios or find_scenarios give it.
    scenario: String,
}

/// What to look for.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FindArguments {
    /// Plain words saying what data the test needs.
    intent: String,
    /// At most this many matches, 1 to 50 (default 5).
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    limit: Option<usize>,
}

/// A request to plan: the scenario and how to turn its knobs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PlanArguments {
    /// The scenario id.
    scenario: String,
    /// Knob values by knob name (see describe_scenario): text, numbers, booleans, or null for a nullable knob. Knobs left out take the scenario's defaults.
    #[serde(default, deserialize_with = "knob_values")]
    #[schemars(schema_with = "knob_values_schema")]
    constraints: BTreeMap<String, Json>,
    /// A seed instead of the one derived from the run id (same seed, same data).
    #[serde(default)]
    seed: Option<u64>,
    /// "Today" for this request, YYYY-MM-DD, instead of the server's reference date.
    #[serde(default)]
    reference_date: Option<NaiveDate>,
}

impl PlanArguments {
    fn request(&self) -> Request {
        request_of(&self.constraints, self.seed, self.reference_date)
    }
}

/// The engine request of a tool's knob values, seed and reference date.
fn request_of(
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
struct RequestArguments {
    /// The scenario id.
    scenario: String,
    /// Knob values by knob name (see describe_scenario): text, numbers, booleans, or null for a nullable knob. Knobs left out take the scenario's defaults.
    #[serde(default, deserialize_with = "knob_values")]
    #[schemars(schema_with = "knob_values_schema")]
    constraints: BTreeMap<String, Json>,
    /// A seed instead of the one derived from the run id (same seed, same data).
    #[serde(default)]
    seed: Option<u64>,
    /// "Today" for this request, YYYY-MM-DD, instead of the server's reference date.
    #[serde(default)]
    reference_date: Option<NaiveDate>,
    /// Also write a Playwright fixture (JSON) into the server's fixture directory.
    #[serde(default)]
    playwright: bool,
    /// Also write a pytest fixture module into the server's fixture directory.
    #[serde(default)]
    pytest: bool,
}

/// A run and its cleanup token.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ResetArguments {
    /// The run id request_scenario returned.
    run_id: String,
    /// The cleanup token request_scenario returned.
    token: String,
}

/// A run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RunArgument {
    /// The run id (also a dry run's, or a strategy run's `strategy-NAME-ULID`).
    run_id: String,
}

/// The explicit confirmation of a destructive action.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConfirmArgument {
    /// Must be true: confirms that every run-owned row is to be deleted.
    confirm: bool,
}

/// Which baseline.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BaselineArgument {
    /// The baseline id; the newest baseline when left out.
    #[serde(default)]
    baseline_id: Option<String>,
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

// ---------------------------------------------------------------------------------------
// Outputs: the engine's own JSON forms, with their schemas.

/// `list_scenarios`.
#[derive(Debug, Serialize, JsonSchema)]
struct ScenarioList {
    /// Every scenario, by id.
    scenarios: Vec<ScenarioSummary>,
}

/// One scenario in a list.
#[derive(Debug, Serialize, JsonSchema)]
struct ScenarioSummary {
    /// The id to request.
    id: String,
    /// What the data is.
    description: String,
    /// Tags.
    tags: Vec<String>,
    /// Linked requirement ids.
    requirements: Vec<String>,
    /// The knob names (constraints it accepts).
    knobs: Vec<String>,
}

/// `describe_scenario`.
#[derive(Debug, Serialize, JsonSchema)]
struct Description {
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
struct Knob {
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
struct RowEntry {
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
struct Found {
    /// The intent asked for.
    intent: String,
    /// Best match first; empty when nothing matched.
    matches: Vec<FoundMatch>,
}

/// One match.
#[derive(Debug, Serialize, JsonSchema)]
struct FoundMatch {
    /// The scenario id.
    id: String,
    /// The relevance (only the order is meaningful).
    score: f64,
    /// The intent words that matched.
    matched: Vec<String>,
    /// What the data is.
    description: String,
}

/// `validate_request`.
#[derive(Debug, Serialize, JsonSchema)]
struct Validation {
    /// Whether request_scenario would seed this request.
    valid: bool,
    /// The scenario.
    scenario: String,
    /// The dry run's id: its audit trail holds the plan and the validators' decision (null
    /// when the request failed before a plan was made, e.g. an invalid constraint).
    run_id: Option<String>,
    /// Where the dry run's audit objects are.
    audit_location: Option<String>,
    /// The seed the plan used.
    seed: Option<u64>,
    /// The reference date the plan used.
    reference_date: Option<NaiveDate>,
    /// Every knob's resolved value.
    constraints: BTreeMap<String, Json>,
    /// The validators that passed, in order.
    validators: Vec<String>,
    /// Rows per table that a request would write.
    rows: BTreeMap<String, u64>,
    /// The rows themselves, per table in insert order.
    tables: Vec<TableRows>,
    /// The validator failures when refused, in order.
    failures: Vec<FailureOut>,
    /// Why it would be refused (code VALIDATOR_REJECTED, INVALID_CONSTRAINT or PLAN_FAILED).
    error: Option<ToolError>,
}

/// The planned rows of one table.
#[derive(Debug, Serialize, JsonSchema)]
struct TableRows {
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
struct SeededRun {
    /// Always `ready`: the rows are committed.
    status: String,
    /// The scenario.
    scenario: String,
    /// The run id: give it to reset_run and audit_lookup.
    run_id: String,
    /// The request id.
    request_id: String,
    /// The keys of the seeded entities, by name (`member_id`, `claim_id`, ...).
    data: serde_json::Map<String, Json>,
    /// The cleanup token, shown only this once: give it to reset_run.
    token: String,
    /// Rows written, per table.
    rows: BTreeMap<String, u64>,
    /// The seed used.
    seed: u64,
    /// The reference date used.
    reference_date: NaiveDate,
    /// When the lease ends: a run not reset by then is reset by the engine.
    lease_expires_at: DateTime<Utc>,
    /// Fixture files written (when asked), removed again by the reset.
    fixtures: Vec<String>,
    /// Where the run's audit objects are.
    audit_location: String,
}

/// `reset_run`.
#[derive(Debug, Serialize, JsonSchema)]
struct ResetDone {
    /// The run.
    run_id: String,
    /// `cleaned` now, or `already_cleaned` before.
    status: String,
    /// Rows deleted per table.
    deleted: BTreeMap<String, u64>,
    /// Where the run's audit objects are.
    audit_location: String,
}

/// `reset_all`.
#[derive(Debug, Serialize, JsonSchema)]
struct ResetAllDone {
    /// The runs cleaned.
    runs: Vec<String>,
    /// Rows deleted per table.
    deleted: BTreeMap<String, u64>,
}

/// `restore_baseline`.
#[derive(Debug, Serialize, JsonSchema)]
struct Restored {
    /// The baseline restored.
    baseline_id: String,
    /// Rows written per table.
    rows: BTreeMap<String, u64>,
    /// Rows deleted per table.
    deleted: BTreeMap<String, u64>,
    /// The restore's audit run (`strategy-restore-ULID`).
    audit_run_id: String,
    /// Where its audit objects are.
    audit_location: String,
}

/// `audit_lookup`: the engine's JSON view of a trail.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Trail {
    /// The run.
    run_id: String,
    /// Where its audit objects are.
    location: String,
    /// The events, oldest first.
    events: Vec<TrailEvent>,
}

impl Trail {
    fn from_engine(t: &atdm_core::audit::AuditTrail) -> Result<Trail, ToolError> {
        serde_json::to_value(t)
            .and_then(serde_json::from_value)
            .map_err(|e| {
                ToolError::new(
                    ErrorCode::AuditStoreError.as_str(),
                    format!("cannot read the audit trail of {}: {e}", t.run_id),
                )
            })
    }
}

/// One audit event.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct TrailEvent {
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
    /// The MCP tool calls that led to it: `[{"tool", "arguments"}]`, oldest first.
    tools_called: Json,
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
    fn tokens_are_redacted_at_any_depth() {
        let v = redact(json!({
            "run_id": "R",
            "token": "secret",
            "nested": [{"Token": "secret", "keep": 1}],
        }));
        assert_eq!(
            v,
            json!({"run_id": "R", "token": REDACTED, "nested": [{"Token": REDACTED, "keep": 1}]})
        );
        assert!(!v.to_string().contains("secret"));
    }

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
    fn unknown_arguments_are_refused() {
        let e = serde_json::from_value::<RequestArguments>(json!({
            "scenario": "s",
            "sql": "DELETE FROM member",
        }))
        .unwrap_err();
        assert!(e.to_string().contains("sql"), "{e}");
    }

    #[test]
    fn guarded_tools_exist_only_when_allowed() {
        let names = |allow_reset_all, allow_restore| -> Vec<String> {
            AtdmServer::offered(McpArgs {
                allow_reset_all,
                allow_restore,
                lease: None,
            })
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
        };
        let default = names(false, false);
        assert_eq!(
            default,
            [
                "audit_lookup",
                "describe_scenario",
                "find_scenarios",
                "list_scenarios",
                "request_scenario",
                "reset_run",
                "validate_request",
            ]
        );
        assert!(names(true, false).contains(&"reset_all".to_owned()));
        assert!(!names(true, false).contains(&"restore_baseline".to_owned()));
        assert!(names(false, true).contains(&"restore_baseline".to_owned()));
        assert_eq!(names(true, true).len(), 9);
    }
}
