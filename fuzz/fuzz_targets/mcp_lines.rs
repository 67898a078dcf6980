//! The MCP server's input handling, as `atdm mcp` runs it: every line a client can send goes
//! through the framing layer (`atdm-cli/src/mcp/framing.rs`, compiled in as is), and what it
//! forwards is parsed by the MCP SDK as the server would parse it. Nothing may panic, every
//! answer of the framing layer is a JSON-RPC error object, and nothing forwarded is larger
//! than what came in (plus nothing).
//!
//! `cargo +nightly fuzz run mcp_lines -- -max_total_time=600` (see `make fuzz`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../atdm-cli/src/mcp/framing.rs"]
#[allow(dead_code)]
mod framing;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        match framing::classify(line) {
            framing::Line::Forward(message) => {
                assert!(
                    message.len() <= line.len().max(2) * 2,
                    "forwarded more than read"
                );
                let _ = serde_json::from_str::<rmcp::model::ClientJsonRpcMessage>(&message);
            }
            framing::Line::Answer(answer) => {
                let v: serde_json::Value = serde_json::from_str(&answer).expect("answers are JSON");
                assert_eq!(v["jsonrpc"], "2.0");
                assert!(v["error"]["code"].is_i64(), "{answer}");
                assert!(answer.len() < 1_000, "an answer echoes the input: {answer}");
            }
            framing::Line::Skip => {}
        }
    }
});
