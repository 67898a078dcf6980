//! The audit trail of every lifecycle of the healthcare reference reads back exactly, in the
//! order things happened, on every configured backend; no audit object holds a plaintext
//! token; a store that cannot be written stops a request before anything is seeded; the
//! metrics count what happened.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use atdm_core::ErrorCode;
use atdm_core::audit::{AuditAction as A, AuditEvent, AuditStatus as S};
use atdm_core::domains::healthcare;
use atdm_sqlx::{Confirmation, Engine, Request};
use support::{Kind, TestDb, d};

fn temp_dir(name: &str) -> PathBuf {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    std::env::temp_dir().join(format!("atdm-{name}-{hex}"))
}

async fn engine(db: &TestDb, store: &Path) -> Engine {
    Engine::builder(healthcare::pack())
        .database_url(&db.url)
        .store_url(store.display().to_string())
        .fixture_dir(store.join("fixtures"))
        .reference_date(d())
        .invoker("audit-test")
        .connect()
        .await
        .unwrap()
}

fn steps(events: &[AuditEvent]) -> Vec<(A, S)> {
    events.iter().map(|e| (e.action, e.status)).collect()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lifecycle_reads_back_in_the_order_it_happened() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let dir = temp_dir("audit");
        let e = engine(&db, &dir).await;

        // request (with fixtures), wrong token, reset, repeat.
        let s = e
            .request(
                "claim_denial_active_member",
                Request::new()
                    .playwright()
                    .constraint("denial_reason", "<script>x</script>"),
            )
            .await
            .unwrap();
        let wrong = e.reset_run(&s.run_id, "not-the-token").await.unwrap_err();
        assert_eq!(wrong.code(), ErrorCode::TokenMismatch);
        e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
        e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
        let trail = e.audit(&s.run_id).await.unwrap();
        assert_eq!(trail.run_id, s.run_id);
        assert!(
            trail.location.contains(&format!("run={}", s.run_id)),
            "{}",
            trail.location
        );
        assert_eq!(
            steps(&trail.events),
            [
                (A::RequestReceived, S::Ok),
                (A::PlanResolved, S::Ok),
                (A::ValidatorsPassed, S::Ok),
                (A::SeedStarted, S::Ok),
                (A::SeedCompleted, S::Ok),
                (A::FixturesEmitted, S::Ok),
                (A::ResetStarted, S::Ok),
                (A::ResetRejected, S::Forbidden),
                (A::ResetStarted, S::Ok),
                (A::ResetCompleted, S::Cleaned),
                (A::ResetStarted, S::Ok),
                (A::ResetCompleted, S::Cleaned),
            ],
            "{kind:?}"
        );
        let ev = &trail.events;
        assert!(
            ev.windows(2).all(|w| w[0].timestamp < w[1].timestamp),
            "{kind:?}: strictly ordered"
        );
        assert!(
            ev.iter()
                .all(|x| x.test_run_id == s.run_id && x.invoker == "audit-test")
        );
        assert_eq!(ev[0].inputs["scenario"], "claim_denial_active_member");
        assert_eq!(
            ev[0].inputs["constraints"]["denial_reason"],
            "<script>x</script>"
        );
        assert_eq!(ev[0].outputs["request_id"], s.request_id.as_str());
        assert_eq!(ev[1].outputs["rows"]["claim"], 1);
        assert_eq!(ev[1].outputs["seed"], s.seed.to_string());
        assert!(
            ev[2].outputs["validators"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == "schema.foreign_keys"),
            "{}",
            ev[2].outputs
        );
        assert_eq!(
            ev[4].outputs["data"],
            serde_json::Value::Object(s.data.clone())
        );
        assert_eq!(ev[4].outputs["rows"]["member"], 1);
        assert_eq!(ev[5].outputs["files"].as_array().unwrap().len(), 1);
        assert_eq!(ev[7].outputs["error"]["code"], "TOKEN_MISMATCH");
        assert_eq!(ev[9].outputs["status"], "cleaned");
        assert_eq!(ev[9].outputs["deleted"]["claim"], 1);
        assert_eq!(ev[11].outputs["status"], "already_cleaned");
        assert_eq!(ev[6].inputs["strategy"], "reset_run");

        // No object holds the plaintext token (the fixture file did, and is gone).
        let objects = files(&dir);
        assert!(
            objects
                .iter()
                .any(|p| p.extension().is_some_and(|x| x == "parquet"))
        );
        for p in &objects {
            let bytes = std::fs::read(p).unwrap();
            let token = s.token.expose().as_bytes();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token),
                "{kind:?}: {} holds the token",
                p.display()
            );
        }

        // A plan the validators refuse: received, resolved, rejected; nothing seeded.
        let err = e
            .request(
                "active_member_clean",
                Request::new().constraint("member_status", "inactive"),
            )
            .await
            .unwrap_err();
        let run = err.to_string();
        let runs_before = e.runs().await.unwrap().len();
        let rejected_run = e
            .runs()
            .await
            .unwrap()
            .into_iter()
            .find(|r| run.contains(&r.run_id));
        assert!(
            rejected_run.is_none(),
            "a rejected plan has no catalog entry"
        );
        let rejected_id = run_id_in(&run).expect("a rejection names its run");
        let trail = e.audit(&rejected_id).await.unwrap();
        assert_eq!(
            steps(&trail.events),
            [
                (A::RequestReceived, S::Ok),
                (A::PlanResolved, S::Ok),
                (A::PlanRejected, S::Rejected),
            ],
            "{kind:?}"
        );
        let failures = trail.events[2].outputs["failures"].as_array().unwrap();
        assert!(!failures.is_empty());
        assert!(failures.iter().all(|f| f["validator"].is_string()));
        assert_eq!(
            trail.events[2].outputs["error"]["code"],
            "VALIDATOR_REJECTED"
        );

        // A refused plan (the database says no): the seed's start and its rollback.
        if kind == Kind::Sqlite {
            db.exec("CREATE TRIGGER no_forbidden BEFORE INSERT ON claim WHEN NEW.denial_reason = 'forbidden_reason' BEGIN SELECT RAISE(ABORT, 'no_forbidden: refused'); END").await;
        } else {
            db.exec("ALTER TABLE claim ADD CONSTRAINT no_forbidden CHECK (denial_reason <> 'forbidden_reason')").await;
        }
        let err = e
            .request(
                "claim_denial_active_member",
                Request::new().constraint("denial_reason", "forbidden_reason"),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::SeedFailed);
        let failed_id = run_id_in(&err.to_string()).unwrap();
        let trail = e.audit(&failed_id).await.unwrap();
        assert_eq!(
            steps(&trail.events),
            [
                (A::RequestReceived, S::Ok),
                (A::PlanResolved, S::Ok),
                (A::ValidatorsPassed, S::Ok),
                (A::SeedStarted, S::Ok),
                (A::SeedFailed, S::RolledBack),
            ],
            "{kind:?}"
        );
        assert_eq!(trail.events[4].outputs["error"]["code"], "SEED_FAILED");
        assert_eq!(e.runs().await.unwrap().len(), runs_before);

        // reset_all: refused without confirmation, then a strategy run that also shows in the
        // trail of each run it cleaned.
        let a = e
            .request("active_member_clean", Request::new())
            .await
            .unwrap();
        let err = e.reset_all(Confirmation::NotConfirmed).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfirmRequired);
        let report = e.reset_all(Confirmation::Confirmed).await.unwrap();
        assert_eq!(report.runs, std::slice::from_ref(&a.run_id));
        let trail = e.audit(&a.run_id).await.unwrap();
        let last = trail.events.last().unwrap();
        assert_eq!((last.action, last.status), (A::ResetCompleted, S::Cleaned));
        let strategy = last.inputs["strategy_run"].as_str().unwrap().to_owned();
        assert!(strategy.starts_with("strategy-reset_all-"), "{strategy}");
        let trail = e.audit(&strategy).await.unwrap();
        assert_eq!(
            steps(&trail.events),
            [(A::ResetStarted, S::Ok), (A::ResetCompleted, S::Cleaned)]
        );
        assert_eq!(trail.events[1].outputs["runs"][0], a.run_id.as_str());

        // An unknown run: a reset is refused and counted, but writes no trail under the id
        // the caller chose (see a_run_that_does_not_exist_gets_no_audit_objects...).
        let unknown = "01JUNKNOWN0000000000000000";
        let err = e.reset_run(unknown, "x").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::RunNotFound);
        let err = e.audit(unknown).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::RunNotFound);
        let err = e.audit("01JNEVERSEEN00000000000000").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::RunNotFound);

        // Metrics saw it all, and nothing was dropped.
        let m = e.metrics_text();
        for line in [
            "atdm_audit_events_dropped_total 0",
            "atdm_requests_total{scenario=\"claim_denial_active_member\",status=\"ok\"} 1",
            "atdm_requests_total{scenario=\"active_member_clean\",status=\"rejected\"} 1",
            "atdm_requests_total{scenario=\"claim_denial_active_member\",status=\"failed\"} 1",
            "atdm_resets_total{strategy=\"reset_run\",status=\"rejected\"} 2",
            "atdm_resets_total{strategy=\"reset_run\",status=\"cleaned\"} 1",
            "atdm_resets_total{strategy=\"reset_run\",status=\"already_cleaned\"} 1",
            "atdm_resets_total{strategy=\"reset_all\",status=\"rejected\"} 1",
            "atdm_resets_total{strategy=\"reset_all\",status=\"cleaned\"} 1",
            "atdm_seeded_rows_total{table=\"claim\"} 2",
            "atdm_audit_events_total{action=\"seed_failed\",status=\"rolled_back\"} 1",
        ] {
            assert!(m.contains(line), "{kind:?}: no {line:?} in\n{m}");
        }
        assert!(
            m.contains("atdm_validator_rejections_total{validator="),
            "{m}"
        );
        assert!(m.contains("atdm_audit_write_seconds_bucket"), "{m}");

        e.close().await;
        db.drop_db().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The first ULID-shaped word of an error message.
fn run_id_in(message: &str) -> Option<String> {
    message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| {
            w.len() == 26
                && w.starts_with("01")
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaped_run_says_so_in_its_trail() {
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let dir = temp_dir("reap");
    let e = Engine::builder(healthcare::pack())
        .database_url(&db.url)
        .store_url(dir.display().to_string())
        .reference_date(d())
        .lease(Duration::ZERO)
        .connect()
        .await
        .unwrap();
    let s = e
        .request("active_member_clean", Request::new())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    e.reap_expired().await.unwrap();
    let trail = e.audit(&s.run_id).await.unwrap();
    let tail: Vec<_> = steps(&trail.events).into_iter().skip(5).collect();
    assert_eq!(
        tail,
        [(A::ResetStarted, S::Ok), (A::ResetCompleted, S::Cleaned)]
    );
    assert_eq!(trail.events[5].inputs["strategy"], "reap");
    assert!(
        e.metrics_text()
            .contains("atdm_resets_total{strategy=\"reap\",status=\"cleaned\"} 1")
    );
    e.close().await;
    db.drop_db().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_be_written_stops_the_request_before_the_seed() {
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let dir = temp_dir("broken-store");
    let e = engine(&db, &dir).await;
    let before = e.runs().await.unwrap().len();
    // The store's directory is replaced by a file: every write fails (also for root).
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    let err = e
        .request("claim_denial_active_member", Request::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AuditStoreError, "{err}");
    assert!(err.to_string().contains("cannot write events"), "{err}");
    assert_eq!(e.runs().await.unwrap().len(), before, "nothing was seeded");
    assert_eq!(db.count("SELECT COUNT(*) FROM claim").await, 0);
    let m = e.metrics_text();
    assert!(m.contains("atdm_audit_write_failures_total 1"), "{m}");
    assert!(m.contains("atdm_audit_events_dropped_total 0"), "{m}");
    assert!(m.contains("status=\"failed\"} 1"), "{m}");
    e.close().await;
    db.drop_db().await;
    let _ = std::fs::remove_file(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_store_never_blocks_cleanup_and_the_events_outlive_the_process() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let dir = temp_dir("flaky-store");
        let e = engine(&db, &dir).await;
        let s = e
            .request("claim_denial_active_member", Request::new())
            .await
            .unwrap();
        // The store breaks: the reset still removes the rows, and its record stays in the
        // database's audit outbox, committed with the deletes.
        let aside = dir.with_extension("aside");
        std::fs::rename(&dir, &aside).unwrap();
        std::fs::write(&dir, b"not a directory").unwrap();
        let report = e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
        assert_eq!(report.deleted["claim"], 1);
        assert_eq!(db.count("SELECT COUNT(*) FROM claim").await, 0);
        let err = e.flush_audit().await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::AuditStoreError);
        assert!(
            err.to_string()
                .contains("1 batches of events (records of seeds, resets and restores that happened) wait in the database's audit outbox"),
            "{kind:?}: {err}"
        );
        // This engine ends with the store still down: nothing is lost, the outbox has it.
        e.close().await;
        drop(e);
        std::fs::remove_file(&dir).unwrap();
        std::fs::rename(&aside, &dir).unwrap();
        let later = engine(&db, &dir).await;
        let trail = later.audit(&s.run_id).await.unwrap();
        let pending = steps(&trail.pending);
        assert_eq!(
            pending,
            [(A::ResetStarted, S::Ok), (A::ResetCompleted, S::Cleaned)],
            "{kind:?}"
        );
        assert!(trail.to_json().contains("\"pending\""));
        // Any later engine writes them, in their place in the trail.
        later.flush_audit().await.unwrap();
        let trail = later.audit(&s.run_id).await.unwrap();
        assert!(trail.pending.is_empty(), "{kind:?}");
        let tail: Vec<_> = steps(&trail.events).into_iter().skip(5).collect();
        assert_eq!(
            tail,
            [(A::ResetStarted, S::Ok), (A::ResetCompleted, S::Cleaned)],
            "{kind:?}"
        );
        assert_eq!(trail.events[6].outputs["deleted"]["claim"], 1);
        assert!(!trail.to_json().contains("\"pending\""));
        later.close().await;
        db.drop_db().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_handle_names_its_invoker_and_tool_calls_in_every_event() {
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let dir = temp_dir("caller");
    let e = engine(&db, &dir).await;
    let call = serde_json::json!([{"tool": "request_scenario", "arguments": {"scenario": "active_member_clean"}}]);
    let agent = e.as_caller("mcp:test-client", call.clone());
    let s = agent
        .request("active_member_clean", Request::new())
        .await
        .unwrap();
    let reset_call = serde_json::json!([{"tool": "reset_run", "arguments": {"run_id": s.run_id}}]);
    e.as_caller("mcp:test-client", reset_call.clone())
        .reset_run(&s.run_id, s.token.expose())
        .await
        .unwrap();
    let trail = e.audit(&s.run_id).await.unwrap();
    assert!(trail.events.iter().all(|x| x.invoker == "mcp:test-client"));
    assert!(trail.events[..5].iter().all(|x| x.tools_called == call));
    assert!(
        trail.events[5..]
            .iter()
            .all(|x| x.tools_called == reset_call)
    );
    // The engine's own handle is unchanged.
    assert_eq!(e.invoker(), "audit-test");
    e.close().await;
    db.drop_db().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_does_not_exist_gets_no_audit_objects_under_the_callers_name() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let store = temp_dir("unknown-runs");
        let e = engine(&db, &store).await;
        let long = "R".repeat(100_000);
        for id in ["NOPE", "", "' OR '1'='1", "../../etc", long.as_str()] {
            let err = e.reset_run(id, "x").await.unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::RunNotFound,
                "{kind:?} {id:.20}: {err}"
            );
            assert!(
                err.to_string().len() < 300,
                "the message does not echo the whole id"
            );
            let err = e.audit(id).await.unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::RunNotFound,
                "{kind:?} {id:.20}: {err}"
            );
        }
        e.flush_audit().await.unwrap();
        let names: Vec<String> = if store.exists() {
            files(&store)
                .iter()
                .map(|p| p.display().to_string())
                .collect()
        } else {
            Vec::new()
        };
        assert!(
            names
                .iter()
                .all(|n| !n.contains("NOPE") && !n.contains("OR")),
            "{kind:?}: {names:?}"
        );
        // A real run is still audited, refusals included.
        let run = e
            .request("active_member_clean", Request::new())
            .await
            .unwrap();
        let wrong = e.reset_run(&run.run_id, "not-the-token").await.unwrap_err();
        assert_eq!(wrong.code(), ErrorCode::TokenMismatch);
        let trail = e.audit(&run.run_id).await.unwrap();
        assert!(trail.events.iter().any(|ev| ev.action == A::ResetRejected));
        e.reset_run(&run.run_id, run.token.expose()).await.unwrap();
        e.close().await;
        let _ = std::fs::remove_dir_all(&store);
        db.drop_db().await;
    }
}
