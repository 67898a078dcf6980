//! The tool error: what every failed call returns (the library's stable code, its message,
//! the run it concerns, the validators' findings of a refused plan), and how it becomes an
//! MCP tool result (`isError`, text `CODE: message`, structured content `{"error": ...}`).

use std::collections::BTreeMap;

use rmcp::model::{CallToolResult, ContentBlock};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value as Json, json};

/// The code of a call whose arguments do not match the tool's input schema.
pub(super) const INVALID_ARGUMENTS: &str = "INVALID_ARGUMENTS";

/// A failed call: the library's stable code, its message, the run it concerns, and (for a
/// refused plan) the validators' findings.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(super) struct ToolError {
    /// The stable code (`TOKEN_MISMATCH`, `SCENARIO_NOT_FOUND`, ...).
    pub(super) code: String,
    /// What was wrong and what to do.
    pub(super) message: String,
    /// The run the error is about, when it names one.
    pub(super) run_id: Option<String>,
    /// The validator failures of a refused plan, in order; empty otherwise.
    pub(super) failures: Vec<FailureOut>,
}

impl ToolError {
    pub(super) fn new(code: &str, message: impl Into<String>) -> Self {
        ToolError {
            code: code.to_owned(),
            message: message.into(),
            run_id: None,
            failures: Vec::new(),
        }
    }

    /// A tool error: text `CODE: message`, structured content `{"error": {...}}`.
    pub(super) fn into_result(self) -> CallToolResult {
        let mut r = CallToolResult::error(vec![ContentBlock::text(format!(
            "{}: {}",
            self.code, self.message
        ))]);
        r.structured_content = Some(json!({ "error": self }));
        r
    }
}

/// The longest message an answer carries: an error may quote what the caller sent (an
/// unknown scenario's name), and a 5 MB argument must not come back as a 5 MB answer.
const MAX_MESSAGE: usize = 2_000;

/// `message`, cut to [`MAX_MESSAGE`] characters.
pub(super) fn bounded(message: String) -> String {
    cut(&message, MAX_MESSAGE)
}

/// `text` as it is when it has at most `max` characters, else its first `max` and a note of
/// its length: what the server echoes of anything a caller sent.
pub(super) fn cut(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}... (cut at {max} of {total} characters)")
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
            message: bounded(e.to_string()),
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
pub(super) struct FailureOut {
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
