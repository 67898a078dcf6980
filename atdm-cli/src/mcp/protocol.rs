//! Protocol glue: the rmcp `ServerHandler` of [`AtdmServer`] (server info and instructions,
//! dispatch of `tools/call`), the invoker name taken from the client, the JSON-RPC error for
//! an unknown tool, and the reshaping of the SDK's answer to arguments that do not
//! deserialize into an `INVALID_ARGUMENTS` tool error. Every call is audited before its
//! answer (see [`AtdmServer::audit_call`]).

use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool_handler};
use serde_json::{Value as Json, json};

use super::error::{INVALID_ARGUMENTS, ToolError};
use super::redact::redact;
use super::{AtdmServer, Call};

/// The code of a call to a tool the server does not offer.
const UNKNOWN_TOOL: &str = "UNKNOWN_TOOL";

/// What the server tells a client at the handshake: the workflow, step by step.
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
                // The SDK's message may quote the arguments: never echo more than a line.
                let why = super::error::cut(why, 300);
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
