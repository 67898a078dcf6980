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
//!
//! Where things are:
//!
//! - this file: [`serve`], the server's state ([`AtdmServer`]: the engine, the tools this
//!   start offers, the session id) and how one call is audited.
//! - [`protocol`]: the rmcp `ServerHandler` (server info, instructions, dispatch), the
//!   JSON-RPC error for an unknown tool, arguments that do not fit, and the invoker name.
//! - [`tools`]: the `#[tool]` handlers, one per tool.
//! - [`arguments`] and [`outputs`]: what each tool takes and returns, with their JSON schemas.
//! - [`framing`]: the lines between stdio and the SDK: every line gets a JSON-RPC answer,
//!   and no line is larger than 4 MiB.
//! - [`json_schema`]: the schemas made plain JSON Schema for agent hosts' validators.
//! - [`error`]: the tool error every failed call returns.
//! - [`redact`]: cleanup tokens removed from the arguments a call echoes into the audit.

mod arguments;
mod error;
mod framing;
mod json_schema;
mod outputs;
mod protocol;
mod redact;
mod tools;

use atdm_sqlx::{AuditLog, Engine};
use rmcp::ServiceExt;
use rmcp::handler::server::tool::ToolRouter;
use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::{Value as Json, json};

use self::error::ToolError;
use crate::args::McpArgs;
use crate::output::CliError;

/// The tools that only `--allow-reset-all` and `--allow-restore` add.
const GUARDED_TOOLS: [&str; 2] = ["reset_all", "restore_baseline"];

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
    // The SDK talks to the framing layer through two pipes; the framing talks to stdio.
    let (to_sdk, sdk_in) = tokio::io::duplex(64 * 1024);
    let (sdk_out, from_sdk) = tokio::io::duplex(64 * 1024);
    let framing = tokio::spawn(framing::run(
        tokio::io::stdin(),
        tokio::io::stdout(),
        to_sdk,
        from_sdk,
    ));
    let running = server.serve((sdk_in, sdk_out)).await.map_err(|e| {
        CliError::failed(
            "MCP_ERROR",
            format!("the MCP session did not start (is an MCP client on stdin?): {e}"),
        )
    })?;
    let reason = running
        .waiting()
        .await
        .map_err(|e| CliError::failed("INTERNAL_ERROR", format!("the MCP session failed: {e}")))?;
    let _ = framing.await;
    eprintln!("atdm mcp: session ended ({reason:?})");
    Ok(())
}

/// The MCP server: one engine, the tools this start offers, the most rows one request may
/// seed, and the id of the session's own audit trail.
pub(crate) struct AtdmServer {
    engine: Engine,
    /// `--max-rows`: an agent's request (or dry run) of more rows is refused before anything
    /// is written, so one call cannot tie the server and the database up for hours.
    max_rows: u64,
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
            max_rows: args.max_rows,
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
        for route in router.map.values_mut() {
            let t = &mut route.attr;
            json_schema::plain(std::sync::Arc::make_mut(&mut t.input_schema));
            if let Some(out) = t.output_schema.as_mut() {
                json_schema::plain(std::sync::Arc::make_mut(out));
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

/// A successful result: the value as structured content and as JSON text.
fn structured<T: Serialize>(value: &T) -> CallToolResult {
    match serde_json::to_value(value) {
        Ok(v) => CallToolResult::structured(v),
        Err(e) => {
            ToolError::new("INTERNAL_ERROR", format!("cannot encode the result: {e}")).into_result()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_tools_exist_only_when_allowed() {
        let names = |allow_reset_all, allow_restore| -> Vec<String> {
            AtdmServer::offered(McpArgs {
                allow_reset_all,
                allow_restore,
                lease: None,
                max_rows: 1,
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
