//! `atdm mcp` with a real MCP client nobody here wrote: the official MCP Python SDK starts
//! the binary as a subprocess and works through `mcp_client.py` (find, validate, request, bad
//! calls, audit, reset), against SQLite always and PostgreSQL when `ATDM_TEST_POSTGRES_URL`
//! is set (required when `ATDM_REQUIRE_DATABASES=1`). This test then checks, on its own, what
//! the server left behind: the database rows, and the audit objects in the store (read with
//! the engine's `AuditLog`, and scanned byte by byte for the cleanup token).
//!
//! The Python comes from `ATDM_TEST_PYTHON` (`make test` points it at `./.venv`, whose
//! requirements-dev.txt pins `mcp`), else `python3`. Without the `mcp` package the Python
//! tests are skipped with a note, or fail when `ATDM_REQUIRE_PYTHON=1`.

#![allow(missing_docs)]

#[path = "../../tests/tests/support/mod.rs"]
mod support;

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use atdm_sqlx::{AuditLog, Store};
use common::{ATDM_VARS, Setup, TempDir, backends};
use serde_json::Value as Json;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp_client.py");
const INVOKER: &str = "mcp:atdm-test-agent/1.2.3";

/// A Python with the MCP SDK, or `None` (after a note) when there is none and none is
/// required.
fn python() -> Option<String> {
    let py = std::env::var("ATDM_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import mcp.client.stdio"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    if std::env::var("ATDM_REQUIRE_PYTHON").as_deref() == Ok("1") {
        panic!(
            "{py} cannot import mcp (the MCP Python SDK); run `make venv` or set ATDM_TEST_PYTHON"
        );
    }
    eprintln!("skipped: {py} has no MCP SDK (run `make venv`, or set ATDM_TEST_PYTHON)");
    None
}

impl Setup {
    fn store_url(&self) -> String {
        format!("file://{}", self.store().display())
    }

    /// The global options the server is started with (the healthcare pack, named: the test
    /// database is not the embedded default).
    fn options(&self) -> Vec<String> {
        vec![
            "--database-url".into(),
            self.db.url.clone(),
            "--pack".into(),
            "healthcare".into(),
            "--store-url".into(),
            self.store_url(),
            "--fixture-dir".into(),
            self.tmp.0.join("fixtures").display().to_string(),
            "--reference-date".into(),
            "2026-06-01".into(),
        ]
    }

    /// Runs the Python client in `mode` against a server with these options; returns its
    /// summary.
    fn client(&self, py: &str, mode: &str) -> Json {
        let mut c = Command::new(py);
        for v in ATDM_VARS {
            c.env_remove(v);
        }
        c.current_dir(&self.tmp.0)
            .arg(CLIENT)
            .arg(env!("CARGO_BIN_EXE_atdm"))
            .arg(mode)
            .args(self.options());
        let out = c.output().expect("the Python client runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{:?} {mode}: the MCP client failed\nstdout: {stdout}\nstderr: {stderr}",
            self.db.kind
        );
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("the summary is not JSON ({e}): {stdout}\nstderr: {stderr}"))
    }

    /// The audit trail of a run as the engine's `AuditLog` reads it from the store.
    async fn trail(&self, run_id: &str) -> Vec<atdm_core::audit::AuditEvent> {
        let store = Store::from_url(&self.store_url()).unwrap();
        AuditLog::new(store).trail(run_id).await.unwrap()
    }

    /// Asserts that no object in the store holds `token`'s bytes.
    fn assert_token_absent(&self, token: &str) {
        let objects = files(&self.store());
        assert!(
            objects
                .iter()
                .any(|p| p.extension().is_some_and(|x| x == "parquet")),
            "no audit objects in {}",
            self.store().display()
        );
        for p in &objects {
            let bytes = std::fs::read(p).unwrap();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{:?}: {} holds the cleanup token",
                self.db.kind,
                p.display()
            );
        }
    }

    async fn member_rows(&self, run_id: &str) -> i64 {
        self.db
            .count(&format!(
                "SELECT COUNT(*) FROM member WHERE member_id = 'm-{run_id}'"
            ))
            .await
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The tools of every event, in order.
fn tools(event: &atdm_core::audit::AuditEvent) -> Vec<String> {
    event
        .tools_called
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| c["tool"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// An agent's whole session: find by intent, validate, request, bad calls, audit, reset.
#[tokio::test]
async fn an_agent_finds_requests_audits_and_resets_through_the_official_sdk() {
    let Some(py) = python() else { return };
    for s in backends().await {
        let kind = s.db.kind;
        let summary = s.client(&py, "flow");
        assert_eq!(summary["found"], "claim_denial_active_member", "{kind:?}");
        assert_eq!(
            summary["tools"],
            serde_json::json!([
                "audit_lookup",
                "describe_scenario",
                "find_scenarios",
                "list_scenarios",
                "request_scenario",
                "reset_run",
                "validate_request"
            ])
        );
        assert_eq!(
            summary["refused_validator"],
            "healthcare.eligibility_status_matches_member"
        );
        // Thirteen bad or refused calls, each followed by a call that worked.
        assert_eq!(summary["served_after_errors"], 13, "{kind:?}");
        for code in summary["error_codes"].as_object().unwrap().values() {
            assert!(
                code == "UNKNOWN_TOOL" || code == "INVALID_ARGUMENTS",
                "{code}"
            );
        }
        let run_id = summary["run_id"].as_str().unwrap().to_owned();
        let token = summary["token"].as_str().unwrap().to_owned();
        assert_eq!(summary["member_id"], format!("m-{run_id}"));
        assert_eq!(summary["rows"]["claim"], 1);
        assert_eq!(summary["deleted"]["member"], 1);

        // The rows are gone again, exactly.
        assert_eq!(s.member_rows(&run_id).await, 0, "{kind:?}");
        assert_eq!(s.db.count("SELECT COUNT(*) FROM claim").await, 0);
        assert_eq!(s.db.count("SELECT COUNT(*) FROM procedure_code").await, 4);

        // The trail, read from the store by the engine's own reader: every event names the
        // client and the tool call that led to it; the token appears nowhere.
        let events = s.trail(&run_id).await;
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "request_received",
                "plan_resolved",
                "validators_passed",
                "seed_started",
                "seed_completed",
                "reset_started",
                "reset_rejected",
                "reset_started",
                "reset_completed",
                "reset_started",
                "reset_completed",
            ],
            "{kind:?}"
        );
        assert_eq!(summary["actions"], serde_json::json!(actions));
        for e in &events {
            assert_eq!(e.invoker, INVOKER, "{kind:?}: {}", e.action.as_str());
            let t = tools(e);
            assert!(
                t.last()
                    .is_some_and(|t| t == "request_scenario" || t == "reset_run"),
                "{kind:?}: {} has tools_called {t:?}",
                e.action.as_str()
            );
        }
        for e in &events {
            assert_eq!(tools(e).len(), 1, "{kind:?}: one call per event");
        }
        assert_eq!(tools(&events[0]), ["request_scenario"]);
        assert_eq!(
            events[0].tools_called[0]["arguments"]["scenario"],
            "claim_denial_active_member"
        );
        let rejected = &events[6];
        assert_eq!(rejected.outputs["error"]["code"], "TOKEN_MISMATCH");
        assert_eq!(
            rejected.tools_called.as_array().unwrap().last().unwrap()["arguments"]["token"],
            "<redacted>"
        );
        // Every call that acts on no run (reads, unknown tools, bad arguments) is a
        // tool_called event in the session's own trail, named in each run event's call.
        let session = events[0].tools_called[0]["session"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(session.starts_with("mcp-session-"), "{session}");
        assert!(
            events
                .iter()
                .all(|e| e.tools_called[0]["session"] == session.as_str())
        );
        let calls = s.trail(&session).await;
        assert!(
            calls
                .iter()
                .all(|e| e.action.as_str() == "tool_called" && e.invoker == INVOKER)
        );
        let called: Vec<String> = calls.iter().flat_map(tools).collect();
        for t in [
            "find_scenarios",
            "describe_scenario",
            "list_scenarios",
            "drop_table",
            "reset_all",
            "audit_lookup",
        ] {
            assert!(
                called.iter().any(|x| x == t),
                "{kind:?}: {t} not in {called:?}"
            );
        }
        let unknown = calls.iter().find(|e| tools(e) == ["drop_table"]).unwrap();
        assert_eq!(unknown.outputs["error"]["code"], "UNKNOWN_TOOL");
        assert!(
            calls
                .iter()
                .any(|e| e.outputs["error"]["code"] == "INVALID_ARGUMENTS"),
            "{kind:?}: a call with bad arguments is audited"
        );
        s.assert_token_absent(&token);

        // The dry run has its own trail, and wrote nothing.
        let dry = summary["dry_run"].as_str().unwrap();
        let dry_events = s.trail(dry).await;
        assert_eq!(dry_events[0].inputs["dry_run"], true);
        assert!(dry_events.iter().all(|e| e.invoker == INVOKER));
        assert_eq!(s.member_rows(dry).await, 0);
        s.db.drop_db().await;
    }
}

/// A client that skips the initialize handshake (protocol 2026-07-28) sends its identity with
/// every request; the audit trail names it all the same.
#[tokio::test]
async fn a_client_without_the_handshake_is_named_from_its_request_metadata() {
    let Some(py) = python() else { return };
    for s in backends().await {
        let summary = s.client(&py, "modern");
        assert_eq!(summary["invokers"], serde_json::json!([INVOKER]));
        let run_id = summary["run_id"].as_str().unwrap();
        let events = s.trail(run_id).await;
        assert!(!events.is_empty());
        assert!(events.iter().all(|e| e.invoker == INVOKER));
        assert_eq!(s.member_rows(run_id).await, 0);
        s.assert_token_absent(summary["token"].as_str().unwrap());
        s.db.drop_db().await;
    }
}

/// reset_all and restore_baseline are offered only with their flags (the flow test checks
/// that without them they are unknown tools).
#[tokio::test]
async fn reset_all_and_restore_are_offered_only_when_the_server_allows_them() {
    let Some(py) = python() else { return };
    for s in backends().await {
        let summary = s.client(&py, "guarded");
        let offered: Vec<&str> = summary["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(offered.contains(&"reset_all") && offered.contains(&"restore_baseline"));
        let run_id = summary["run_id"].as_str().unwrap();
        assert_eq!(summary["reset_all_runs"], serde_json::json!([run_id]));
        assert_eq!(s.member_rows(run_id).await, 0);
        let events = s.trail(run_id).await;
        let last = events.last().unwrap();
        assert_eq!(last.action.as_str(), "reset_completed");
        assert_eq!(last.invoker, INVOKER);
        assert_eq!(tools(last).last().map(String::as_str), Some("reset_all"));
        s.db.drop_db().await;
    }
}

/// Without a client on stdin the server says so on stderr and exits 1; nothing but the
/// protocol ever goes to stdout.
#[test]
fn without_a_client_the_server_exits_and_stdout_stays_empty() {
    let tmp = TempDir::new();
    let mut c = Command::new(env!("CARGO_BIN_EXE_atdm"));
    for v in ATDM_VARS {
        c.env_remove(v);
    }
    let db = format!("sqlite://{}/atdm.sqlite", tmp.0.display());
    let store = format!("file://{}/store", tmp.0.display());
    let out = c
        .current_dir(&tmp.0)
        .args(["--database-url", &db, "--pack", "healthcare"])
        .args(["--store-url", &store, "mcp"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("atdm mcp: 5 scenarios of pack healthcare"),
        "{stderr}"
    );
    assert!(stderr.contains("error[MCP_ERROR]"), "{stderr}");
}

/// The server's flags are documented where `--help` shows them.
#[test]
fn help_documents_the_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_atdm"))
        .args(["mcp", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for flag in [
        "--allow-reset-all",
        "--allow-restore",
        "--lease",
        "--max-rows",
        "--database-url",
    ] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
}

/// A server on a fresh SQLite database, spoken to line by line without an SDK.
struct RawServer {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    db: String,
    dir: TempDir,
}

impl RawServer {
    /// Starts `atdm mcp EXTRA...` on the healthcare pack and does the handshake.
    fn start(extra: &[&str]) -> Self {
        let tmp = TempDir::new();
        let mut c = Command::new(env!("CARGO_BIN_EXE_atdm"));
        for v in ATDM_VARS {
            c.env_remove(v);
        }
        let db = format!("sqlite://{}/atdm.sqlite", tmp.0.display());
        let mut child = c
            .current_dir(&tmp.0)
            .args(["--database-url", &db, "--pack", "healthcare"])
            .args(["--store-url", "memory://", "mcp"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut server = RawServer {
            child,
            stdin,
            stdout,
            db,
            dir: tmp,
        };
        let init = server.ask(
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fuzzy","version":"1"}}}"#,
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "atdm", "{init}");
        stdin_note(&mut |line| server.ask(line));
        server
    }

    /// Sends one line; returns the answer.
    fn ask(&mut self, line: &[u8]) -> Json {
        use std::io::{BufRead, Write};
        self.stdin.write_all(line).unwrap();
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        assert!(answer.len() < 64_000, "{} bytes", answer.len());
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"))
    }

    /// Closes stdin; the server must then exit cleanly. Returns its database URL and the
    /// directory that holds the database (removed when dropped).
    fn stop(self) -> (String, TempDir) {
        let RawServer {
            mut child,
            stdin,
            db,
            dir,
            ..
        } = self;
        drop(stdin);
        assert!(child.wait().unwrap().success());
        (db, dir)
    }
}

/// Every line a client sends gets a JSON-RPC 2.0 answer, and no input is too large or too
/// odd for the server: not JSON (-32700), not a request object or a batch (-32600), a tool
/// call without params (-32602), a line over 4 MiB (-32600, not kept), a 3 MB argument (a
/// tool error whose message is cut, not echoed back whole). The server keeps serving.
#[test]
fn every_line_gets_an_answer_and_no_input_hurts_the_server() {
    let mut server = RawServer::start(&[]);
    let mut ask = |line: &[u8]| server.ask(line);
    let error_code = |v: &Json| v["error"]["code"].as_i64();
    assert_eq!(error_code(&ask(b"this is not json")), Some(-32700));
    assert_eq!(error_code(&ask(b"\xff\xfe\x00garbage")), Some(-32700));
    assert_eq!(error_code(&ask(b"[]")), Some(-32600));
    assert_eq!(error_code(&ask(b"[1, 2]")), Some(-32600));
    assert_eq!(error_code(&ask(b"\"a string\"")), Some(-32600));
    let no_params = ask(br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":null}"#);
    assert_eq!(error_code(&no_params), Some(-32602), "{no_params}");
    assert_eq!(no_params["id"], 5);
    let mut huge = br#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"describe_scenario","arguments":{"scenario":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 5_000_000));
    huge.extend_from_slice(br#""}}}"#);
    assert_eq!(error_code(&ask(&huge)), Some(-32600));
    let mut big = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"describe_scenario","arguments":{"scenario":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 3_000_000));
    big.extend_from_slice(br#""}}}"#);
    let refused = ask(&big);
    assert_eq!(refused["id"], 7);
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    // Still serving.
    let tools = ask(br#"{"jsonrpc":"2.0","id":8,"method":"tools/list"}"#);
    assert_eq!(tools["id"], 8);
    assert!(tools["result"]["tools"].as_array().unwrap().len() >= 7);
    server.stop();
}

/// An agent cannot tie the server up with one huge request: with `--max-rows`, a request or
/// dry run of more rows is refused with PLAN_FAILED, names the limit, and writes nothing (no
/// run in the catalog); the same request within the default limit is seeded.
#[test]
fn a_request_of_more_rows_than_the_server_allows_writes_nothing() {
    let call = |id: u32, tool: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"scenario":"active_member_clean"}}}}}}"#
        )
    };
    let mut small = RawServer::start(&["--max-rows", "2"]);
    // A dry run reports the refusal as its result (valid: false); a request as an error.
    for (id, tool) in [(3, "validate_request"), (4, "request_scenario")] {
        let refused = small.ask(call(id, tool).as_bytes());
        let out = &refused["result"]["structuredContent"];
        let dry_run = tool == "validate_request";
        assert_eq!(refused["result"]["isError"], !dry_run, "{refused}");
        if dry_run {
            assert_eq!(out["valid"], false, "{refused}");
        }
        let error = &out["error"];
        assert_eq!(error["code"], "PLAN_FAILED", "{refused}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("more than the 2 one request may seed")
                && message.contains("--max-rows"),
            "{message}"
        );
    }
    // The runs in the catalog of a stopped server's database (whose directory is kept).
    let runs = |db: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_atdm"))
            .args(["--database-url", db, "--pack", "healthcare"])
            .args(["--store-url", "memory://", "runs", "-o", "json"])
            .output()
            .unwrap();
        let runs: Json = serde_json::from_slice(&out.stdout).unwrap();
        runs["runs"].as_array().map(Vec::len)
    };
    let (db, _dir) = small.stop();
    assert_eq!(runs(&db), Some(0));

    let mut default = RawServer::start(&[]);
    let seeded = default.ask(call(3, "request_scenario").as_bytes());
    assert_eq!(seeded["result"]["isError"], false, "{seeded}");
    assert!(seeded["result"]["structuredContent"]["run_id"].is_string());
    let (db, _dir) = default.stop();
    assert_eq!(runs(&db), Some(1), "the same count sees a seeded run");
}

/// The `initialized` notification, which has no answer.
fn stdin_note(ask: &mut dyn FnMut(&[u8]) -> Json) {
    // A notification gets no answer, so send it together with a request and read that.
    let v = ask(
        b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}",
    );
    assert_eq!(v["id"], 2, "{v}");
}
