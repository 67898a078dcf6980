//! Commands on the pack alone, usage errors and `validate`: no database.

use std::path::Path;

use crate::common::TempDir;
use crate::harness::{atdm, atdm_in, run};

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
        "setup",
        "completions",
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
fn completions_help_headings_and_colour_follow_shell_conventions() {
    // Tab completion for the common shells, commands and flags included.
    let bash = atdm(&["completions", "bash"]).ok().stdout;
    assert!(
        bash.contains("_atdm()") && bash.contains("--database-url") && bash.contains("request")
    );
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        assert!(
            atdm(&["completions", shell]).ok().stdout.contains("atdm"),
            "{shell}"
        );
    }
    atdm(&["completions", "tcsh"]).usage_error();

    // A command's own options first; the global ones under their own heading, environment
    // variables named the same way everywhere.
    let help = atdm(&["request", "--help"]).ok().stdout;
    let (own, global) = help
        .split_once("Global options:")
        .expect("a Global options heading");
    assert!(
        own.contains("--playwright") && !own.contains("--database-url"),
        "{help}"
    );
    assert!(global.contains("--database-url") && global.contains("[env: ATDM_DATABASE_URL]"));
    assert!(own.contains("[env: ATDM_LEASE_SECONDS]"), "{own}");

    // Error labels in colour when asked (CLICOLOR_FORCE), never in a pipe by default.
    let tmp = TempDir::new();
    let mut c = atdm_in(&tmp.0);
    c.env("CLICOLOR_FORCE", "1").args(["describe", "nope"]);
    let coloured = run(c);
    assert!(
        coloured
            .stderr
            .starts_with("\x1b[1;31merror[SCENARIO_NOT_FOUND]\x1b[0m: "),
        "{:?}",
        coloured.stderr
    );
    atdm(&["describe", "nope"]).fails_with("SCENARIO_NOT_FOUND");
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

    // In words: one file is "1 file", and the error says which file.
    let mut c = atdm_in(&tmp.0);
    c.env("ATDM_SCENARIO_DIR", &dir).arg("validate").arg(&bad);
    let r = run(c).fails_with("INVALID_SCENARIO");
    assert!(
        r.stdout.contains("\n1 file checked against "),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("the scenario file has errors"),
        "{}",
        r.stderr
    );

    // The healthcare schema does not have this table: the close one is suggested.
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

/// `atdm generate --out`: every format, a timestamp with a time zone in each, the manifest,
/// parts that concatenate to the whole, files that exist refused, bad counts a usage error.
#[test]
fn generate_writes_every_format_with_a_manifest_and_parts() {
    let tmp = TempDir::new();
    let pack = tmp.0.join("pack");
    std::fs::create_dir_all(&pack).unwrap();
    std::fs::write(
        pack.join("schema.toml"),
        r#"
name = "shop"
[[tables]]
name = "customer"
primary_key = ["customer_id"]
unique = [["email"]]
columns = [
  { name = "customer_id", type = "bigint", generated = "identity" },
  { name = "email", type = "varchar(60)" },
  { name = "joined_at", type = "timestamptz" },
  { name = "vip", type = "boolean" },
  { name = "balance", type = "numeric(10,2)" },
]
[[tables]]
name = "orders"
primary_key = ["order_id"]
foreign_keys = [{ columns = ["customer_id"], references = "customer" }]
columns = [
  { name = "order_id", type = "bigint", generated = "identity" },
  { name = "customer_id", type = "bigint" },
  { name = "placed_on", type = "date" },
]
"#,
    )
    .unwrap();
    let dir = |s: &str| tmp.0.join(s).display().to_string();
    let generate = |extra: &[&str]| {
        let mut c = atdm_in(&tmp.0);
        c.args([
            "--scenario-dir",
            "pack",
            "--reference-date",
            "2026-06-01",
            "generate",
        ])
        .args(["--rows", "customer=300,orders=1k"])
        .args(extra);
        run(c)
    };
    for format in ["parquet", "csv", "jsonl", "sql"] {
        let out = dir(format);
        let v = generate(&["--format", format, "--out", &out, "-o", "json"])
            .ok()
            .json();
        assert_eq!(v["tables"][1]["table"], "orders", "{format}");
        assert_eq!(v["tables"][1]["rows"], 1000);
        let file = Path::new(&out).join(v["tables"][1]["file"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(&file).unwrap().len(),
            v["tables"][1]["bytes"].as_u64().unwrap()
        );
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(Path::new(&out).join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["tables"], v["tables"], "{format}");
        assert!(
            manifest.get("elapsed_ms").is_none(),
            "the manifest has no wall time"
        );
    }
    let csv = std::fs::read_to_string(tmp.0.join("csv/customer.csv")).unwrap();
    assert!(
        csv.lines().nth(1).unwrap().contains("Z,"),
        "a UTC timestamp: {csv:.200}"
    );
    // Two parts: their rows, concatenated, are the whole file's.
    for part in ["0", "1"] {
        generate(&[
            "--format",
            "jsonl",
            "--out",
            &dir("parts"),
            "--parts",
            "2",
            "--part",
            part,
        ])
        .ok();
    }
    let whole = std::fs::read_to_string(tmp.0.join("jsonl/orders.jsonl")).unwrap();
    let joined = ["0", "1"]
        .map(|k| {
            std::fs::read_to_string(
                tmp.0
                    .join(format!("parts/orders.part-0000{k}-of-00002.jsonl")),
            )
            .unwrap()
        })
        .concat();
    assert_eq!(whole, joined);
    generate(&["--format", "csv", "--out", &dir("csv")]).fails_with("FILES_EXIST");
    generate(&["--format", "csv", "--out", &dir("csv"), "--force"]).ok();
    let mut c = atdm_in(&tmp.0);
    c.args([
        "--scenario-dir",
        "pack",
        "generate",
        "--rows",
        "customer=lots",
        "--out",
        "x",
    ]);
    run(c).usage_error();
    generate(&[
        "--format",
        "csv",
        "--out",
        &dir("bad"),
        "--parts",
        "2",
        "--part",
        "2",
    ])
    .fails_with("INVALID_DATASET");
    assert!(!tmp.0.join("bad").exists(), "nothing was written");
    // An object store that cannot be reached: said, and nothing is written anywhere.
    let mut c = atdm_in(&tmp.0);
    c.args(["--scenario-dir", "pack", "generate", "--rows", "customer=5"])
        .args(["--out", "s3://atdm-nowhere/data", "--format", "csv"])
        .env("AWS_ENDPOINT", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "atdm")
        .env("AWS_SECRET_ACCESS_KEY", "atdm")
        .env("AWS_REGION", "us-east-1");
    let r = run(c).fails_with("IO_ERROR");
    assert!(
        r.stderr.contains("s3://atdm-nowhere/data/customer.csv")
            && r.stderr.contains("nothing was written"),
        "{}",
        r.stderr
    );
    let mut c = atdm_in(&tmp.0);
    c.args(["--scenario-dir", "pack", "generate", "--rows", "customer=5"])
        .args(["--out", "ftp://host/data"]);
    run(c).fails_with("INVALID_URL");
}

/// `atdm edge-cases` lists a pack's classes; `generate --edge-cases` ends each table with
/// them and writes the catalog beside the files.
#[test]
fn edge_cases_are_listed_and_generated() {
    let tmp = TempDir::new();
    let pack = tmp.0.join("pack");
    std::fs::create_dir_all(&pack).unwrap();
    std::fs::write(
        pack.join("schema.toml"),
        r#"
name = "shop"
[[tables]]
name = "customer"
primary_key = ["customer_id"]
checks = ["credit between 0 and 500"]
columns = [
  { name = "customer_id", type = "bigint", generated = "identity" },
  { name = "name", type = "varchar(30)" },
  { name = "credit", type = "numeric(6,2)" },
  { name = "note", type = "text", nullable = true },
]
"#,
    )
    .unwrap();
    let atdm = |args: &[&str]| {
        let mut c = atdm_in(&tmp.0);
        c.args(["--scenario-dir", "pack", "--reference-date", "2026-06-01"])
            .args(args);
        run(c)
    };
    let v = atdm(&["-o", "json", "edge-cases"]).ok().json();
    let cases = v.as_array().unwrap();
    let find = |column: &str, class: &str| {
        cases
            .iter()
            .find(|c| c["column"] == column && c["class"] == class)
            .unwrap_or_else(|| panic!("no {column} {class} in {v}"))
    };
    assert_eq!(find("name", "text.max_length")["validity"], "valid");
    let long = find("name", "text.too_long");
    assert_eq!(long["validity"], "invalid");
    assert_eq!(
        long["rejected_by"],
        serde_json::json!(["postgres", "mysql"])
    );
    assert_eq!(
        find("credit", "check.beyond_upper_bound")["validity"],
        "invalid"
    );
    assert!(!cases.iter().any(|c| c["validity"] == "dangerous"));
    let with = atdm(&["-o", "json", "edge-cases", "--dangerous"])
        .ok()
        .json();
    assert!(
        with.as_array()
            .unwrap()
            .iter()
            .any(|c| c["class"] == "attack.sql_injection")
    );
    let human = atdm(&["edge-cases", "--table", "customer"]).ok().stdout;
    assert!(
        human.contains("customer.name") && human.contains("text.too_long"),
        "{human}"
    );
    atdm(&["edge-cases", "--table", "nope"]).usage_error();

    let out = tmp.0.join("data").display().to_string();
    let v = atdm(&[
        "-o",
        "json",
        "generate",
        "--rows",
        "customer=20",
        "--edge-cases",
        "--format",
        "csv",
        "--out",
        &out,
    ])
    .ok()
    .json();
    let t = &v["tables"][0];
    let edge_rows = t["edge_rows"].as_u64().unwrap();
    assert!(edge_rows > 5, "{v}");
    assert_eq!(t["rows"].as_u64().unwrap(), 20 + edge_rows);
    assert_eq!(v["edge_cases"], "valid");
    let catalog: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(&out).join("edge_cases.json")).unwrap())
            .unwrap();
    let table = &catalog["tables"][0];
    assert_eq!(table["rows"].as_array().unwrap().len() as u64, edge_rows);
    assert_eq!(table["rows"][0]["row"], 20);
    assert!(
        table["negative"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["class"] == "text.too_long")
    );
    let csv = std::fs::read_to_string(Path::new(&out).join("customer.csv")).unwrap();
    assert_eq!(csv.lines().count() as u64, 1 + 20 + edge_rows);
    assert_eq!(
        v["edge_file"]["sha256"].as_str().unwrap().len(),
        64,
        "the catalog is in the manifest"
    );
    atdm(&[
        "generate",
        "--rows",
        "customer=2",
        "--dangerous",
        "--out",
        &out,
    ])
    .usage_error();
}
