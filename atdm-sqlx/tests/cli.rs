//! The `atdm` binary, run as a user runs it, against real databases: SQLite always,
//! PostgreSQL when `ATDM_TEST_POSTGRES_URL` is set (required when `ATDM_REQUIRE_DATABASES=1`).
//!
//! Every test works in its own temporary directory (store, fixtures, files) and its own
//! database, and never in the working directory.

#![allow(missing_docs)]

#[path = "../../tests/tests/support/mod.rs"]
mod support;

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ATDM_VARS, Setup, TempDir, backends};
use serde_json::Value as Json;

/// What a run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Json {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    fn error_json(&self) -> Json {
        serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not one JSON object ({e}):\n{}", self.stderr))
    }

    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts exit 1 with `code` on stderr, in the human form.
    #[track_caller]
    fn fails_with(self, code: &str) -> Run {
        assert_eq!(
            self.code, 1,
            "expected exit 1\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.starts_with(&format!("error[{code}]: ")),
            "stderr: {}",
            self.stderr
        );
        self
    }

    /// Asserts exit 1 with `code` as a JSON error object on stderr, and nothing on stdout.
    #[track_caller]
    fn fails_with_json(self, code: &str) -> Run {
        assert_eq!(
            self.code, 1,
            "expected exit 1\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        let e = self.error_json();
        assert_eq!(e["error"]["code"], code, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{e}"
        );
        assert!(self.stdout.is_empty(), "stdout: {}", self.stdout);
        self
    }

    #[track_caller]
    fn usage_error(self) -> Run {
        assert_eq!(
            self.code, 2,
            "expected exit 2\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(self.stdout.is_empty(), "stdout: {}", self.stdout);
        assert!(!self.stderr.is_empty());
        self
    }
}

/// The binary with a clean environment, run in `dir`.
fn atdm_in(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_atdm"));
    for v in ATDM_VARS {
        c.env_remove(v);
    }
    c.current_dir(dir);
    c
}

fn run(mut c: Command) -> Run {
    let out = c.output().expect("the atdm binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

impl Setup {
    fn fixtures(&self) -> PathBuf {
        self.tmp.0.join("fixtures")
    }

    /// `atdm <args>` configured by flags for this database, store and fixture directory, with
    /// the healthcare pack named (the test database is not the embedded default; a
    /// `--scenario-dir` in `args` wins over it).
    fn atdm(&self, args: &[&str]) -> Run {
        let mut c = atdm_in(&self.tmp.0);
        c.arg("--database-url")
            .arg(&self.db.url)
            .arg("--pack")
            .arg("healthcare")
            .arg("--store-url")
            .arg(format!("file://{}", self.store().display()))
            .arg("--fixture-dir")
            .arg(self.fixtures())
            .arg("--reference-date")
            .arg("2026-06-01")
            .args(args);
        run(c)
    }

    /// Requests a scenario with `-o json` and returns (run id, token, the whole result).
    fn request(&self, scenario: &str, extra: &[&str]) -> (String, String, Json) {
        let mut args = vec!["-o", "json", "request", scenario];
        args.extend_from_slice(extra);
        let r = self.atdm(&args).ok();
        let v = r.json();
        (
            v["run_id"].as_str().unwrap().to_owned(),
            v["token"].as_str().unwrap().to_owned(),
            v,
        )
    }

    async fn count(&self, table: &str) -> i64 {
        self.db
            .count(&format!("SELECT COUNT(*) FROM {table}"))
            .await
    }

    async fn done(self) {
        self.db.drop_db().await;
    }
}

/// `atdm` without a database (pack commands, usage errors).
fn atdm(args: &[&str]) -> Run {
    let tmp = TempDir::new();
    let mut c = atdm_in(&tmp.0);
    c.args(args);
    let r = run(c);
    // Nothing of the engine's appears in the working directory.
    assert!(
        !tmp.0.join(".atdm").exists(),
        "a command without a database wrote .atdm/"
    );
    r
}

// ---------------------------------------------------------------------------------------
// Commands on the pack alone.

#[test]
fn scenarios_lists_the_pack_in_both_formats() {
    let human = atdm(&["scenarios"]).ok();
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert!(
        lines[0].starts_with("scenario") && lines[0].contains("description"),
        "{}",
        human.stdout
    );
    assert_eq!(
        lines.len(),
        6,
        "a header and five scenarios:\n{}",
        human.stdout
    );
    assert!(human.stdout.contains("claim_denial_active_member"));
    // Aligned: every description starts in the same column.
    let col = lines[0].find("description").unwrap();
    for l in &lines[1..] {
        assert_eq!(&l[col - 2..col], "  ", "column not aligned in {l:?}");
    }

    for args in [
        &["-o", "json", "scenarios"][..],
        &["scenarios", "-o", "json"],
        &["scenarios", "--output=json"],
    ] {
        let v = atdm(args).ok().json();
        let list = v["scenarios"].as_array().unwrap();
        assert_eq!(list.len(), 5, "{args:?}");
        let denial = list
            .iter()
            .find(|s| s["id"] == "claim_denial_active_member")
            .unwrap();
        assert!(denial["description"].as_str().unwrap().contains("denied"));
        assert!(
            denial["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "denial")
        );
        assert!(
            denial["requirements"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "FR-011")
        );
        assert!(
            denial["knobs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == "provider_network")
        );
    }
}

#[test]
fn describe_shows_knobs_rows_and_validators() {
    let human = atdm(&["describe", "claim_denial_active_member"])
        .ok()
        .stdout;
    assert!(human.starts_with("scenario "), "{human}");
    assert!(human.contains("provider_network"), "{human}");
    assert!(human.contains("'in_network', 'out_of_network'"), "{human}");
    assert!(
        human.contains("healthcare.denial_requires_invalid_code"),
        "{human}"
    );

    let v = atdm(&["describe", "claim_denial_active_member", "-o", "json"])
        .ok()
        .json();
    assert_eq!(v["id"], "claim_denial_active_member");
    let knob = v["knobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "provider_network")
        .unwrap();
    assert_eq!(knob["default"], "out_of_network");
    assert_eq!(
        knob["values"],
        serde_json::json!(["in_network", "out_of_network"])
    );
    let tables: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["table"].as_str().unwrap())
        .collect();
    assert!(
        tables.contains(&"claim") && tables.contains(&"member"),
        "{tables:?}"
    );

    atdm(&["describe", "claim_denial_active_membr"]).fails_with("SCENARIO_NOT_FOUND");
    let e = atdm(&["-o", "json", "describe", "nope"])
        .fails_with_json("SCENARIO_NOT_FOUND")
        .error_json();
    assert!(e["error"]["message"].as_str().unwrap().contains("nope"));
}

#[test]
fn find_ranks_by_intent() {
    let v = atdm(&[
        "-o", "json", "find", "denied", "claim", "out", "of", "network",
    ])
    .ok()
    .json();
    assert_eq!(v["intent"], "denied claim out of network");
    let matches = v["matches"].as_array().unwrap();
    assert_eq!(matches[0]["id"], "claim_denial_active_member", "{v}");
    assert!(matches[0]["score"].as_f64().unwrap() > matches[1]["score"].as_f64().unwrap());
    assert!(
        matches[0]["matched"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "claim")
    );
    assert!(
        matches[0]["description"]
            .as_str()
            .unwrap()
            .contains("denied")
    );

    let limited = atdm(&["find", "claim", "--limit", "2", "-o", "json"])
        .ok()
        .json();
    assert_eq!(limited["matches"].as_array().unwrap().len(), 2);

    let human = atdm(&["find", "pending", "mri"]).ok().stdout;
    assert!(
        human
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("out_of_network_pending_claim"),
        "{human}"
    );

    let none = atdm(&["-o", "json", "find", "xylophone"]).ok().json();
    assert_eq!(none["matches"], serde_json::json!([]));
    assert!(
        atdm(&["find", "xylophone"])
            .ok()
            .stdout
            .starts_with("no scenario matches")
    );
}

// ---------------------------------------------------------------------------------------
// Usage errors: exit 2, nothing on stdout.

#[test]
fn usage_errors_exit_2() {
    let r = atdm(&["request", "active_member_clean", "-c", "member_status"]).usage_error();
    assert!(r.stderr.contains("KEY=VALUE"), "{}", r.stderr);
    atdm(&["request", "active_member_clean", "-c", "=active"]).usage_error();
    let r = atdm(&["reset-all"]).usage_error();
    assert!(
        r.stderr.starts_with("error[CONFIRM_REQUIRED]"),
        "{}",
        r.stderr
    );
    let r = atdm(&["--bogus", "scenarios"]).usage_error();
    assert!(r.stderr.contains("--bogus"), "{}", r.stderr);
    atdm(&["scenarios", "--bogus"]).usage_error();
    atdm(&["frobnicate"]).usage_error();
    atdm(&["reset", "01ABC"]).usage_error(); // no --token
    atdm(&["-o", "yaml", "scenarios"]).usage_error();
    atdm(&["request", "x", "--reference-date", "June 1st"]).usage_error();
    atdm(&["request", "x", "--lease", "0"]).usage_error();

    // With -o json, the error is a JSON object too.
    for args in [
        &["-o", "json", "request", "x", "-c", "novalue"][..],
        &["reset-all", "-o", "json"],
        &["--output=json", "--bogus"],
    ] {
        let r = atdm(args).usage_error();
        let e = r.error_json();
        let code = e["error"]["code"].as_str().unwrap();
        assert!(
            code == "USAGE_ERROR" || code == "CONFIRM_REQUIRED",
            "{args:?}: {e}"
        );
        assert!(!e["error"]["message"].as_str().unwrap().is_empty());
    }
}

#[test]
fn help_and_version_succeed_and_document_the_environment() {
    let help = atdm(&["--help"]).ok().stdout;
    for needle in [
        "ATDM_DATABASE_URL",
        "ATDM_STORE_URL",
        "ATDM_SCENARIO_DIR",
        "ATDM_PACK",
        "ATDM_FIXTURE_DIR",
        "ATDM_REFERENCE_DATE",
        "ATDM_INVOKER",
        "--output",
        "Exit codes",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    for cmd in [
        "scenarios",
        "describe",
        "find",
        "plan",
        "request",
        "reset",
        "reset-all",
        "runs",
        "audit",
        "baseline",
        "reap",
        "introspect",
        "validate",
        "metrics",
    ] {
        assert!(
            help.contains(&format!("  {cmd} ")),
            "--help lacks the {cmd} command:\n{help}"
        );
    }
    assert!(atdm(&["--version"]).ok().stdout.starts_with("atdm "));
    assert!(
        atdm(&["request", "--help"])
            .ok()
            .stdout
            .contains("--playwright")
    );
}

#[test]
fn a_broken_database_url_is_invalid_url() {
    let tmp = TempDir::new();
    let store = format!("file://{}", tmp.0.join("store").display());
    let atdm = |args: &[&str]| {
        let mut c = atdm_in(&tmp.0);
        c.args(["--store-url", &store]).args(args);
        run(c)
    };
    for url in ["postgres://user@:99999/x", "oracle://db/x"] {
        let r = atdm(&["--database-url", url, "runs"]).fails_with("INVALID_URL");
        assert!(r.stdout.is_empty());
        atdm(&["runs", "--database-url", url, "-o", "json"]).fails_with_json("INVALID_URL");
        atdm(&["request", "active_member_clean", "--database-url", url]).fails_with("INVALID_URL");
    }
    // The environment variable is read as well.
    let mut c = atdm_in(&tmp.0);
    c.env("ATDM_DATABASE_URL", "oracle://db/x")
        .args(["--store-url", &store, "-o", "json", "runs"]);
    run(c).fails_with_json("INVALID_URL");
}

// ---------------------------------------------------------------------------------------
// validate: no database.

const SHOP_SCHEMA: &str = r#"
name = "shop"

[[tables]]
name = "customer"
primary_key = ["customer_id"]
checks = ["status in ('active', 'blocked')"]
columns = [
  { name = "customer_id", type = "text" },
  { name = "status", type = "text" },
]
"#;

const SHOP_SCENARIO: &str = r#"
id = "blocked_customer"
description = "A blocked customer."

[knobs.status]
values = ["active", "blocked"]
default = "blocked"

[[rows]]
alias = "customer"
table = "customer"
set = { status = "{status}" }
"#;

#[test]
fn validate_reports_every_bad_file() {
    let tmp = TempDir::new();
    let good = tmp.0.join("good.toml");
    std::fs::write(
        &good,
        "id = \"my_active_member\"\ndescription = \"Mine.\"\nextends = \"healthcare_claim_bundle\"\n",
    )
    .unwrap();
    // Loads, but its defaults break a domain rule (an inactive member, active eligibility).
    let rejected = tmp.0.join("rejected.toml");
    std::fs::write(
        &rejected,
        "id = \"inactive_but_active\"\ndescription = \"Bad.\"\nextends = \"healthcare_claim_bundle\"\n\n[defaults]\nmember_status = \"inactive\"\n",
    )
    .unwrap();
    let unknown_table = tmp.0.join("unknown_table.toml");
    std::fs::write(
        &unknown_table,
        "id = \"x\"\ndescription = \"Bad.\"\n\n[[rows]]\nalias = \"m\"\ntable = \"members\"\n",
    )
    .unwrap();
    let broken = tmp.0.join("broken.toml");
    std::fs::write(&broken, "id = \"y\"\nnot toml [[\n").unwrap();
    let missing = tmp.0.join("missing.toml");
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../atdm-core/src/domains/healthcare/scenarios/expired_eligibility.toml");

    let r = run({
        let mut c = atdm_in(&tmp.0);
        c.arg("validate").arg(&good).arg(&builtin);
        c
    })
    .ok();
    assert!(r.stdout.starts_with("ok "), "{}", r.stdout);
    assert!(r.stdout.contains("2 valid, 0 with errors"), "{}", r.stdout);

    let files = [
        &good,
        &rejected,
        &unknown_table,
        &broken,
        &missing,
        &builtin,
    ];
    let mut c = atdm_in(&tmp.0);
    c.args(["-o", "json", "validate"]).args(files);
    let r = run(c);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.error_json()["error"]["code"], "INVALID_SCENARIO");
    let v = r.json();
    assert_eq!(v["valid"], false);
    let f = v["files"].as_array().unwrap();
    assert_eq!(f.len(), 6);
    let codes = |i: usize| -> Vec<String> {
        f[i]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(f[0]["valid"], true);
    assert_eq!(f[0]["scenarios"], serde_json::json!(["my_active_member"]));
    assert_eq!(codes(1), ["VALIDATOR_REJECTED"]);
    assert!(
        f[1]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("eligibility_status_matches_member")
    );
    assert_eq!(codes(2), ["INVALID_SCENARIO"]);
    assert!(
        f[2]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("members")
    );
    assert_eq!(codes(3), ["INVALID_SCENARIO"]);
    assert!(
        f[3]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("line 2")
    );
    assert_eq!(codes(4), ["IO_ERROR"]);
    assert_eq!(f[5]["valid"], true);
    assert_eq!(
        f[5]["scenarios"],
        serde_json::json!(["expired_eligibility"])
    );

    // Human: every bad file named, with its error.
    let mut c = atdm_in(&tmp.0);
    c.arg("validate").args(files);
    let r = run(c).fails_with("INVALID_SCENARIO");
    for name in [
        "rejected.toml",
        "unknown_table.toml",
        "broken.toml",
        "missing.toml",
    ] {
        assert!(
            r.stdout
                .lines()
                .any(|l| l.starts_with("error") && l.contains(name)),
            "{name} not reported:\n{}",
            r.stdout
        );
    }
    assert!(r.stdout.contains("2 valid, 4 with errors"), "{}", r.stdout);
}

#[test]
fn validate_uses_the_scenario_directory_schema() {
    let tmp = TempDir::new();
    let dir = tmp.0.join("shop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("schema.toml"), SHOP_SCHEMA).unwrap();
    std::fs::write(dir.join("blocked.toml"), SHOP_SCENARIO).unwrap();
    let bad = tmp.0.join("bad.toml");
    std::fs::write(
        &bad,
        SHOP_SCENARIO
            .replace("blocked_customer", "other")
            .replace("default = \"blocked\"", "default = \"gone\""),
    )
    .unwrap();

    let mut c = atdm_in(&tmp.0);
    c.arg("--scenario-dir")
        .arg(&dir)
        .args(["-o", "json", "validate"])
        .arg(dir.join("blocked.toml"));
    let v = run(c).ok().json();
    assert_eq!(v["valid"], true, "{v}");
    assert!(v["schema"].as_str().unwrap().ends_with("schema.toml"));
    assert_eq!(
        v["files"][0]["scenarios"],
        serde_json::json!(["blocked_customer"])
    );

    // The environment variable works as the flag does.
    let mut c = atdm_in(&tmp.0);
    c.env("ATDM_SCENARIO_DIR", &dir)
        .args(["-o", "json", "validate"])
        .arg(&bad);
    let r = run(c);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(
        v["files"][0]["errors"][0]["code"], "INVALID_SCENARIO",
        "{v}"
    );

    // The healthcare schema does not have this table.
    let mut c = atdm_in(&tmp.0);
    c.args(["validate"]).arg(dir.join("blocked.toml"));
    run(c).fails_with("INVALID_SCENARIO");

    // A directory without a schema is an IO error.
    let mut c = atdm_in(&tmp.0);
    c.arg("--scenario-dir")
        .arg(tmp.0.join("nowhere"))
        .arg("scenarios");
    run(c).fails_with("IO_ERROR");

    // scenarios and describe read the directory's pack.
    let mut c = atdm_in(&tmp.0);
    c.arg("--scenario-dir")
        .arg(&dir)
        .args(["-o", "json", "scenarios"]);
    let v = run(c).ok().json();
    assert_eq!(v["scenarios"][0]["id"], "blocked_customer");
}

// ---------------------------------------------------------------------------------------
// Commands on a database.

/// The four lines of a CI job: request, run the tests, reset, publish the audit page.
#[tokio::test]
async fn the_ci_flow_requests_resets_and_publishes_the_audit_page() {
    for s in backends().await {
        // 1. request, parse the run id and token
        let (run_id, token, v) = s.request("claim_denial_active_member", &[]);
        assert_eq!(v["status"], "ready");
        assert_eq!(v["scenario"], "claim_denial_active_member");
        assert_eq!(v["reference_date"], "2026-06-01");
        assert_eq!(run_id.len(), 26);
        assert_eq!(token.len(), 43, "256 bits in URL-safe base64");
        let member = v["data"]["member_id"].as_str().unwrap().to_owned();
        assert_eq!(member, format!("m-{run_id}"));
        assert_eq!(v["rows"]["claim"], 1);
        // 2. the tests run against the data
        let status =
            s.db.text(&format!(
                "SELECT status FROM claim WHERE member_id = '{member}'"
            ))
            .await;
        assert_eq!(status.as_deref(), Some("denied"));
        // 3. reset
        let r = s
            .atdm(&["-o", "json", "reset", &run_id, "--token", &token])
            .ok()
            .json();
        assert_eq!(r["run_id"], run_id.as_str());
        assert_eq!(r["status"], "cleaned");
        assert_eq!(r["deleted"]["claim"], 1);
        assert_eq!(r["deleted"]["member"], 1);
        assert_eq!(s.count("member").await, 0);
        // 4. publish the audit page
        let page = s.tmp.0.join("audit.html");
        let a = s
            .atdm(&["audit", &run_id, "--html", page.to_str().unwrap()])
            .ok();
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(
            html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"),
            "{}",
            &html[..80.min(html.len())]
        );
        assert!(html.contains(&run_id));
        assert!(
            !html.contains(&token),
            "the audit page must not hold the token"
        );
        assert!(a.stdout.contains(page.to_str().unwrap()), "{}", a.stdout);
        s.done().await;
    }
}

#[tokio::test]
async fn request_prints_keys_and_token_and_takes_constraints() {
    for s in backends().await {
        // Human output: run id, keys, the token, and how to reset.
        let r = s.atdm(&["request", "active_member_clean"]).ok();
        let line = |key: &str| -> String {
            r.stdout
                .lines()
                .find(|l| l.split_whitespace().next() == Some(key))
                .unwrap_or_else(|| panic!("no {key} line in\n{}", r.stdout))
                .split_whitespace()
                .last()
                .unwrap()
                .to_owned()
        };
        let run_id = line("run");
        let token = line("token");
        assert_eq!(line("member_id"), format!("m-{run_id}"));
        assert!(
            r.stdout
                .contains(&format!("atdm reset {run_id} --token {token}")),
            "{}",
            r.stdout
        );
        // Aligned: values start in one column.
        let cols: Vec<usize> = r
            .stdout
            .lines()
            .take_while(|l| !l.is_empty())
            .map(|l| l.len() - l.split_once("  ").unwrap().1.trim_start().len())
            .collect();
        assert!(cols.windows(2).all(|w| w[0] == w[1]), "{}", r.stdout);
        s.atdm(&["reset", &run_id, "--token", &token]).ok();

        // -c k=v=w: the value keeps its `=`; several -c; --null; -o json after the command.
        let (run_id, token, v) = s.request(
            "claim_denial_active_member",
            &[
                "-c",
                "denial_reason=code=00000",
                "-c",
                "provider_network=in_network",
                "--seed",
                "7",
            ],
        );
        assert_eq!(v["seed"], 7);
        let claim = v["data"]["claim_id"].as_str().unwrap();
        let reason =
            s.db.text(&format!(
                "SELECT denial_reason FROM claim WHERE claim_id = '{claim}'"
            ))
            .await;
        assert_eq!(reason.as_deref(), Some("code=00000"));
        let network =
            s.db.text(&format!(
                "SELECT network_status FROM provider WHERE provider_id = 'prov-{run_id}'"
            ))
            .await;
        assert_eq!(network.as_deref(), Some("in_network"));
        s.atdm(&["reset", &run_id, "--token", &token, "-o", "json"])
            .ok();

        let (run_id, token, v) = s.request("active_member_clean", &["--null", "denial_reason"]);
        let claim = v["data"]["claim_id"].as_str().unwrap();
        let reason =
            s.db.text(&format!(
                "SELECT denial_reason FROM claim WHERE claim_id = '{claim}'"
            ))
            .await;
        assert_eq!(reason, None);
        s.atdm(&["reset", &run_id, "--token", &token]).ok();
        s.done().await;
    }
}

#[tokio::test]
async fn fixtures_are_written_when_asked_and_removed_by_the_reset() {
    for s in backends().await {
        let (run_id, token, v) = s.request("expired_eligibility", &["--playwright", "--pytest"]);
        let files: Vec<PathBuf> = v["fixtures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| PathBuf::from(f.as_str().unwrap()))
            .collect();
        assert_eq!(files.len(), 2, "{v}");
        for f in &files {
            assert!(f.starts_with(s.fixtures()), "{}", f.display());
            assert!(f.exists());
        }
        let playwright = files
            .iter()
            .find(|f| f.extension().is_some_and(|x| x == "json"))
            .unwrap();
        let json: Json =
            serde_json::from_str(&std::fs::read_to_string(playwright).unwrap()).unwrap();
        assert_eq!(json["test_run_id"], run_id.as_str());
        s.atdm(&["reset", &run_id, "--token", &token]).ok();
        assert!(files.iter().all(|f| !f.exists()));
        s.done().await;
    }
}

#[tokio::test]
async fn engine_errors_exit_1_and_write_nothing() {
    for s in backends().await {
        // Unknown scenario, invalid constraint: exit 1, code on stderr, nothing written.
        let r = s
            .atdm(&["request", "claim_denial"])
            .fails_with("SCENARIO_NOT_FOUND");
        assert!(
            r.stderr.contains("claim_denial_active_member"),
            "names close matches: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty());
        s.atdm(&["-o", "json", "request", "nope"])
            .fails_with_json("SCENARIO_NOT_FOUND");
        let r = s
            .atdm(&[
                "request",
                "active_member_clean",
                "-c",
                "member_status=zombie",
                "--playwright",
            ])
            .fails_with("INVALID_CONSTRAINT");
        assert!(
            r.stderr.contains("'active', 'inactive'"),
            "names the allowed values: {}",
            r.stderr
        );
        let e = s
            .atdm(&[
                "request",
                "active_member_clean",
                "-c",
                "no_such_knob=1",
                "-o",
                "json",
            ])
            .fails_with_json("INVALID_CONSTRAINT")
            .error_json();
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no_such_knob")
        );
        s.atdm(&[
            "request",
            "active_member_clean",
            "-c",
            "member_status=inactive",
        ])
        .fails_with("VALIDATOR_REJECTED");
        for t in ["claim", "eligibility", "member", "provider", "plan"] {
            assert_eq!(s.count(t).await, 0, "{t} has rows after bad requests");
        }
        let runs = s.atdm(&["-o", "json", "runs"]).ok().json();
        assert_eq!(runs["runs"], serde_json::json!([]));
        assert!(
            !s.fixtures().exists() || std::fs::read_dir(s.fixtures()).unwrap().next().is_none(),
            "a fixture was written for a rejected request"
        );

        // Token mismatch and unknown runs: exit 1, nothing deleted.
        let (run_id, token, _) = s.request("active_member_clean", &[]);
        // Tokens are URL-safe base64 and may begin with `-`.
        let wrong = format!("-{}", "A".repeat(42));
        s.atdm(&["reset", &run_id, "--token", &wrong])
            .fails_with("TOKEN_MISMATCH");
        s.atdm(&["-o", "json", "reset", &run_id, "--token", &wrong])
            .fails_with_json("TOKEN_MISMATCH");
        assert_eq!(s.count("member").await, 1);
        s.atdm(&["reset", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--token", &token])
            .fails_with("RUN_NOT_FOUND");
        s.atdm(&[
            "reset",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "--token",
            &token,
            "-o",
            "json",
        ])
        .fails_with_json("RUN_NOT_FOUND");
        // (The rejected resets above are audited under that id; this one has no trail.)
        s.atdm(&["audit", "01BX5ZZKBKACTAV9WEVGEMMVRZ"])
            .fails_with("RUN_NOT_FOUND");
        s.atdm(&["audit", "01BX5ZZKBKACTAV9WEVGEMMVRZ", "-o", "json"])
            .fails_with_json("RUN_NOT_FOUND");

        // The token may come from the environment; a repeat reports already_cleaned.
        let mut c = atdm_in(&s.tmp.0);
        c.env("ATDM_DATABASE_URL", &s.db.url)
            .env("ATDM_PACK", "healthcare")
            .env("ATDM_STORE_URL", s.store())
            .env("ATDM_FIXTURE_DIR", s.fixtures())
            .env("ATDM_CLEANUP_TOKEN", &token)
            .args(["-o", "json", "reset", &run_id]);
        let v = run(c).ok().json();
        assert_eq!(v["status"], "cleaned");
        let again = s.atdm(&["reset", &run_id, "--token", &token]).ok();
        assert!(again.stdout.contains("already_cleaned"), "{}", again.stdout);
        assert_eq!(s.count("member").await, 0);
        s.done().await;
    }
}

#[tokio::test]
async fn runs_reset_all_and_reap() {
    for s in backends().await {
        assert_eq!(s.atdm(&["runs"]).ok().stdout, "no runs\n");
        let (a, _, _) = s.request("active_member_clean", &[]);
        let (b, _, _) = s.request("claim_denial_active_member", &["--invoker", "ci-job-7"]);

        let v = s.atdm(&["runs", "-o", "json"]).ok().json();
        let runs = v["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0]["run_id"], a.as_str());
        assert_eq!(runs[1]["run_id"], b.as_str());
        assert_eq!(runs[1]["invoker"], "ci-job-7");
        assert_eq!(runs[1]["status"], "ready");
        let human = s.atdm(&["runs"]).ok().stdout;
        assert!(
            human
                .lines()
                .any(|l| l.starts_with(&b) && l.contains("ci-job-7")),
            "{human}"
        );

        // reset-all needs --confirm (exit 2, nothing deleted).
        s.atdm(&["reset-all"]).usage_error();
        assert_eq!(s.count("member").await, 2);
        let v = s
            .atdm(&["-o", "json", "reset-all", "--confirm"])
            .ok()
            .json();
        assert_eq!(v["runs"].as_array().unwrap().len(), 2);
        assert_eq!(v["deleted"]["member"], 2);
        assert_eq!(s.count("member").await, 0);
        assert!(s.count("procedure_code").await >= 4, "reference rows stay");
        let human = s.atdm(&["reset-all", "--confirm"]).ok().stdout;
        assert!(human.starts_with("runs cleaned  0"), "{human}");

        // reap: a run whose lease has passed.
        let (c, _, _) = s.request("active_member_clean", &["--lease", "1"]);
        let (d, d_token, _) = s.request("active_member_clean", &[]);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let v = s.atdm(&["-o", "json", "reap"]).ok().json();
        let reaped = v["reaped"].as_array().unwrap();
        assert_eq!(reaped.len(), 1, "{v}");
        assert_eq!(reaped[0]["run_id"], c.as_str());
        assert_eq!(reaped[0]["deleted"]["member"], 1);
        assert_eq!(
            s.count("member").await,
            1,
            "the run with a lease left stays"
        );
        assert_eq!(s.atdm(&["reap"]).ok().stdout, "no expired runs\n");
        s.atdm(&["reset", &d, "--token", &d_token]).ok();
        s.done().await;
    }
}

#[tokio::test]
async fn plan_previews_without_writing() {
    for s in backends().await {
        let v = s
            .atdm(&[
                "-o",
                "json",
                "plan",
                "expired_eligibility",
                "-c",
                "member_status=active",
            ])
            .ok()
            .json();
        assert_eq!(v["scenario"], "expired_eligibility");
        assert_eq!(v["reference_date"], "2026-06-01");
        assert_eq!(
            v["constraints"]["eligibility_window"]["value"],
            "expired_last_year"
        );
        let tables: Vec<&str> = v["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["table"].as_str().unwrap())
            .collect();
        assert_eq!(
            tables,
            ["plan", "provider", "member", "eligibility", "claim"]
        );
        let human = s.atdm(&["plan", "expired_eligibility"]).ok().stdout;
        assert!(human.contains("nothing was written"), "{human}");
        assert_eq!(s.count("member").await, 0);
        s.atdm(&[
            "plan",
            "expired_eligibility",
            "-c",
            "eligibility_status=active",
        ])
        .fails_with("VALIDATOR_REJECTED");
        s.done().await;
    }
}

#[tokio::test]
async fn audit_prints_the_trail() {
    for s in backends().await {
        let (run_id, token, _) = s.request("claim_denial_active_member", &["--invoker", "alice"]);
        s.atdm(&["reset", &run_id, "--token", &token]).ok();
        let v = s.atdm(&["-o", "json", "audit", &run_id]).ok().json();
        assert_eq!(v["run_id"], run_id.as_str());
        assert!(v["location"].as_str().unwrap().contains(&run_id));
        let actions: Vec<&str> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.first(), Some(&"request_received"), "{actions:?}");
        assert_eq!(actions.last(), Some(&"reset_completed"), "{actions:?}");
        assert!(actions.contains(&"seed_completed"));
        assert_eq!(v["events"][0]["invoker"], "alice");
        assert!(
            !v.to_string().contains(&token),
            "the trail must not hold the token"
        );

        let human = s.atdm(&["audit", &run_id]).ok().stdout;
        assert!(human.starts_with(&format!("run       {run_id}")), "{human}");
        assert!(
            human
                .lines()
                .any(|l| l.contains("seed_completed") && l.contains(" ok ")),
            "{human}"
        );

        // --html - writes the page to stdout.
        let page = s.atdm(&["audit", &run_id, "--html", "-"]).ok().stdout;
        assert!(page.contains("<html") && page.contains(&run_id));
        s.done().await;
    }
}

#[tokio::test]
async fn introspect_prints_the_schema_the_engine_sees() {
    for s in backends().await {
        // The engine creates the pack's tables when it first connects.
        s.atdm(&["runs"]).ok();
        let human = s.atdm(&["introspect"]).ok().stdout;
        assert!(human.starts_with("# Schema of "), "{human}");
        assert!(human.contains("name = \"claim\""), "{human}");
        let v = s
            .atdm(&["introspect", "--name", "mine", "-o", "json"])
            .ok()
            .json();
        assert_eq!(v["schema"]["name"], "mine");
        let tables: Vec<&str> = v["schema"]["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        for t in [
            "claim",
            "member",
            "plan",
            "provider",
            "eligibility",
            "procedure_code",
            "diagnosis_code",
        ] {
            assert!(tables.contains(&t), "{t} missing from {tables:?}");
        }
        assert!(!tables.iter().any(|t| t.starts_with("atdm")), "{tables:?}");
        assert!(v["notes"].is_array());
        // The TOML reads back as a schema with the same tables.
        let again =
            atdm_core::schema::Schema::from_toml(v["toml"].as_str().unwrap(), "introspected")
                .unwrap();
        assert_eq!(again.tables.len(), tables.len());
        s.done().await;
    }
}

#[tokio::test]
async fn metrics_print_prometheus_text_and_json_samples() {
    for s in backends().await {
        let text = s.atdm(&["metrics"]).ok().stdout;
        assert!(
            text.lines().any(|l| l.starts_with("# TYPE atdm_")),
            "{text}"
        );
        let v = s.atdm(&["metrics", "-o", "json"]).ok().json();
        let samples = v["samples"].as_array().unwrap();
        assert!(!samples.is_empty(), "{v}");
        assert!(
            samples
                .iter()
                .all(|x| !x["name"].as_str().unwrap().is_empty()),
            "{v}"
        );
        assert!(
            samples
                .iter()
                .any(|x| x["name"].as_str().unwrap().starts_with("atdm_")),
            "{v}"
        );
        assert!(samples.iter().all(|x| x["labels"].is_object()));
        // Each sample of the JSON is a line of the text it carries.
        let carried = v["text"].as_str().unwrap();
        for x in samples {
            let name = x["name"].as_str().unwrap();
            assert!(
                carried.lines().any(|l| l.starts_with(name)),
                "{name} not in {carried}"
            );
        }
        s.done().await;
    }
}

#[tokio::test]
async fn baselines_snapshot_list_diff_and_restore() {
    for s in backends().await {
        // Nothing to restore yet.
        s.atdm(&["baseline", "restore"]).fails_with("NO_BASELINE");
        s.atdm(&["-o", "json", "baseline", "list"]).ok();
        assert!(
            s.atdm(&["baseline", "list"])
                .ok()
                .stdout
                .starts_with("no baselines")
        );

        let v = s
            .atdm(&[
                "-o",
                "json",
                "baseline",
                "snapshot",
                "--id",
                "clean",
                "--tag",
                "ticket=QA-1=a",
            ])
            .ok()
            .json();
        assert_eq!(v["id"], "clean");
        assert_eq!(v["tags"]["ticket"], "QA-1=a");
        let member = v["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "member")
            .unwrap();
        assert_eq!(member["rows"], 0);
        // A baseline id is never overwritten.
        s.atdm(&["baseline", "snapshot", "--id", "clean"])
            .fails_with("BASELINE_EXISTS");

        let (run_id, _, _) = s.request("active_member_clean", &[]);
        let r = s.atdm(&["baseline", "snapshot", "--id", "seeded"]).ok();
        assert_eq!(
            r.stderr, "",
            "no progress output when stderr is not a terminal"
        );
        let human = r.stdout;
        assert!(human.starts_with("baseline   seeded\n"), "{human}");
        assert!(
            human
                .lines()
                .any(|l| l.starts_with("member") && l.ends_with(" 1")),
            "{human}"
        );

        let v = s.atdm(&["baseline", "list", "-o", "json"]).ok().json();
        let ids: Vec<&str> = v["baselines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["seeded", "clean"], "newest first");
        let human = s.atdm(&["baseline", "list"]).ok().stdout;
        assert!(
            human.lines().nth(1).unwrap().starts_with("seeded "),
            "{human}"
        );

        let v = s
            .atdm(&["-o", "json", "baseline", "diff", "clean", "seeded"])
            .ok()
            .json();
        assert_eq!(v["from"], "clean");
        let member = v["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "member")
            .unwrap();
        assert_eq!(member["added"], 1);
        assert_eq!(member["added_keys"][0]["member_id"], format!("m-{run_id}"));
        let human = s.atdm(&["baseline", "diff", "clean", "seeded"]).ok().stdout;
        assert!(
            human
                .lines()
                .any(|l| l.starts_with("member") && l.contains(" 1 ")),
            "{human}"
        );
        assert!(
            s.atdm(&["baseline", "diff", "clean", "clean"])
                .ok()
                .stdout
                .contains("no differences")
        );
        s.atdm(&["baseline", "diff", "clean", "nope"])
            .fails_with("BASELINE_NOT_FOUND");

        // Restore by id, then the newest; unknown ids are BASELINE_NOT_FOUND.
        let v = s
            .atdm(&["-o", "json", "baseline", "restore", "clean"])
            .ok()
            .json();
        assert_eq!(v["baseline_id"], "clean");
        assert_eq!(v["deleted"]["member"], 1);
        assert_eq!(s.count("member").await, 0);
        let human = s.atdm(&["baseline", "restore"]).ok().stdout;
        assert!(human.starts_with("baseline   seeded\n"), "{human}");
        assert_eq!(s.count("member").await, 1);
        s.atdm(&["baseline", "restore", "nope"])
            .fails_with("BASELINE_NOT_FOUND");
        s.atdm(&["-o", "json", "baseline", "restore", "nope"])
            .fails_with_json("BASELINE_NOT_FOUND");
        s.done().await;
    }
}

/// The README's four lines, run by a shell with `atdm` on the PATH and configured by the
/// environment only (JSON read with python3, which the test suite needs anyway).
#[tokio::test]
async fn the_readme_ci_lines_run_in_a_shell() {
    const SCRIPT: &str = r#"set -eu
field() { python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[k]
print(v)' "$1"; }
out=$(atdm -o json request claim_denial_active_member)
run=$(echo "$out" | field run_id); token=$(echo "$out" | field token)
test "$(echo "$out" | field data.member_id)" = "m-$run"
atdm reset "$run" --token "$token" && atdm audit "$run" --html audit.html
"#;
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_atdm")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for s in backends().await {
        let mut c = Command::new("bash");
        for v in ATDM_VARS {
            c.env_remove(v);
        }
        c.current_dir(&s.tmp.0)
            .env("PATH", &path)
            .env("ATDM_DATABASE_URL", &s.db.url)
            .env("ATDM_PACK", "healthcare")
            .env("ATDM_STORE_URL", s.store())
            .env("ATDM_FIXTURE_DIR", s.fixtures())
            .args(["-c", SCRIPT]);
        let r = run(c).ok();
        assert!(r.stdout.contains("audit.html"), "{}", r.stdout);
        let page = std::fs::read_to_string(s.tmp.0.join("audit.html")).unwrap();
        assert!(page.contains("reset_completed"), "the page shows the reset");
        assert_eq!(s.count("claim").await, 0);
        assert_eq!(s.count("member").await, 0);
        s.done().await;
    }
}
