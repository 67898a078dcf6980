//! Commands on a database, on every backend.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use crate::common::{ATDM_VARS, backends};
use crate::harness::{atdm_in, run};

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
        assert_eq!(v["total"], 2);
        let human = s.atdm(&["runs"]).ok().stdout;
        assert!(
            human
                .lines()
                .any(|l| l.starts_with(&b) && l.contains("ci-job-7")),
            "{human}"
        );
        // A page of the newest, the total, and filters.
        let v = s.atdm(&["runs", "-o", "json", "--limit", "1"]).ok().json();
        assert_eq!(v["runs"].as_array().unwrap().len(), 1);
        assert_eq!(v["runs"][0]["run_id"], b.as_str());
        assert_eq!(v["total"], 2);
        let human = s.atdm(&["runs", "--limit", "1"]).ok().stdout;
        assert!(
            human.contains("the newest 1 of 2 runs; --limit N or --all"),
            "{human}"
        );
        let v = s
            .atdm(&["runs", "-o", "json", "--scenario", "active_member_clean"])
            .ok()
            .json();
        assert_eq!(v["total"], 1);
        assert_eq!(v["runs"][0]["run_id"], a.as_str());
        let v = s
            .atdm(&["runs", "-o", "json", "--status", "cleaned"])
            .ok()
            .json();
        assert_eq!(v["total"], 0);
        s.atdm(&["runs", "--status", "gone"]).usage_error();

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

/// `atdm coverage`: the report, the page, and `--fail-under` failing CI when it drops.
#[tokio::test]
async fn coverage_reports_and_fails_under_a_threshold() {
    for s in backends().await {
        s.request("claim_denial_active_member", &[]);
        std::fs::write(
            s.tmp.0.join("req.txt"),
            "# ours\nFR-001 login\nFR-404 export\n",
        )
        .unwrap();
        let r = s.atdm(&[
            "-o",
            "json",
            "coverage",
            "--requirements",
            "req.txt",
            "--html",
            "cov.html",
        ]);
        let v = r.ok().json();
        let figure = v["coverage"].as_f64().unwrap();
        assert!(figure > 0.0 && figure < 100.0, "{v}");
        assert_eq!(
            v["gaps"]["requirements_without_scenario"],
            serde_json::json!(["FR-404"])
        );
        let page = std::fs::read_to_string(s.tmp.0.join("cov.html")).unwrap();
        assert!(page.contains(&format!("{figure:.1}%")) && page.contains("FR-404"));
        // Below the threshold: the report is printed, then exit 1 with COVERAGE_BELOW.
        let below = format!("{}", figure + 0.1);
        let r = s
            .atdm(&["coverage", "--fail-under", &below])
            .fails_with("COVERAGE_BELOW");
        assert!(
            r.stdout.contains("not exercised") && r.stdout.contains("knob"),
            "{}",
            r.stdout
        );
        assert!(r.stderr.contains(&format!("{figure:.1}%")), "{}", r.stderr);
        s.atdm(&["coverage", "--fail-under", &format!("{figure}")])
            .ok();
        s.atdm(&["coverage", "--fail-under", "150"]).usage_error();
        s.atdm(&["coverage", "--requirements", "missing.txt"])
            .fails_with("IO_ERROR");
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
        assert!(v["tables"][0].get("sources").is_none());
        // --explain: every value with where it came from.
        let args = [
            "plan",
            "expired_eligibility",
            "--explain",
            "-c",
            "member_status=active",
        ];
        let e = s
            .atdm(&[&["-o", "json"][..], &args[..]].concat())
            .ok()
            .json();
        for t in e["tables"].as_array().unwrap() {
            let (rows, sources) = (
                t["rows"].as_array().unwrap(),
                t["sources"].as_array().unwrap(),
            );
            assert_eq!(rows.len(), sources.len(), "{t}");
            for (r, src) in rows.iter().zip(sources) {
                assert_eq!(r.as_array().unwrap().len(), src.as_array().unwrap().len());
            }
        }
        let member = e["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "member");
        let member = member.unwrap();
        let at = |c: &str| {
            let i = member["columns"]
                .as_array()
                .unwrap()
                .iter()
                .position(|x| x == c);
            member["sources"][0][i.unwrap()].clone()
        };
        assert_eq!(
            at("status"),
            serde_json::json!({"from": "knob", "knob": "member_status", "caller": true})
        );
        assert_eq!(at("test_run_id"), serde_json::json!({"from": "run_id"}));
        let human = s.atdm(&args).ok().stdout;
        assert!(
            human.contains("member[0] (@member)")
                && human.contains("knob member_status (set by the caller)")
                && human.contains("copied from member[0].member_id (@member)"),
            "{human}"
        );
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
