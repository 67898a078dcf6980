//! The lifecycle contract of the healthcare reference, on every configured backend: request,
//! wrong token, reset, repeat, unknown run, rejected and refused plans, reset_all, reaping,
//! bound values, bind limits.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use atdm_core::domains::healthcare;
use atdm_core::{ErrorCode, Value};
use atdm_sqlx::{Confirmation, Engine, Request, ResetStatus};
use support::{Kind, TestDb, d};

const TABLES: [&str; 7] = [
    "procedure_code",
    "diagnosis_code",
    "plan",
    "provider",
    "member",
    "eligibility",
    "claim",
];

async fn engine(db: &TestDb) -> Engine {
    Engine::builder(healthcare::pack())
        .database_url(&db.url)
        .reference_date(d())
        .invoker("lifecycle-test")
        .connect()
        .await
        .unwrap()
}

/// Row counts of every healthcare table, and of the run catalog.
async fn snapshot(db: &TestDb) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for t in TABLES {
        out.insert(
            t.to_string(),
            db.count(&format!("SELECT COUNT(*) FROM {t}")).await,
        );
    }
    let runs = if db.kind == Kind::Postgres {
        "atdm.runs"
    } else {
        "atdm_runs"
    };
    out.insert(
        "runs".into(),
        db.count(&format!("SELECT COUNT(*) FROM {runs}")).await,
    );
    out
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = TABLES.iter().map(|t| (t.to_string(), 0)).collect();
    for (k, v) in pairs {
        m.insert(k.to_string(), *v);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_reset_and_repeat_follow_the_contract() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let e = engine(&db).await;
        let before = snapshot(&db).await;
        assert_eq!(
            (before["procedure_code"], before["diagnosis_code"]),
            (4, 4),
            "{kind:?}: reference rows are seeded"
        );

        let s = e
            .request("claim_denial_active_member", Request::new())
            .await
            .unwrap();
        let r = &s.run_id;
        assert_eq!(s.status, "ready");
        assert_eq!(r.len(), 26, "a ULID");
        assert!(s.request_id.starts_with("tdr_") && s.request_id.len() == 16);
        assert_eq!(s.token.expose().len(), 43);
        assert_eq!(
            serde_json::Value::Object(s.data.clone()),
            serde_json::json!({
                "plan_id": format!("plan-{r}"), "provider_id": format!("prov-{r}"), "member_id": format!("m-{r}"),
                "eligibility_id": format!("elig-{r}"), "claim_id": format!("claim-{r}"),
            })
        );
        // The rows are there, as planned, and the catalog keeps only the token's hash.
        assert_eq!(
            db.text(&format!(
                "SELECT status FROM claim WHERE claim_id = 'claim-{r}'"
            ))
            .await
            .as_deref(),
            Some("denied"),
            "{kind:?}"
        );
        assert_eq!(
            db.text(&format!(
                "SELECT procedure_code FROM claim WHERE claim_id = 'claim-{r}'"
            ))
            .await
            .as_deref(),
            Some("00000")
        );
        assert_eq!(
            db.text(&format!(
                "SELECT network_status FROM provider WHERE provider_id = 'prov-{r}'"
            ))
            .await
            .as_deref(),
            Some("out_of_network")
        );
        let after = snapshot(&db).await;
        for t in ["plan", "provider", "member", "eligibility", "claim"] {
            assert_eq!(after[t], before[t] + 1, "{kind:?} {t}");
        }
        let runs = if kind == Kind::Postgres {
            "atdm.runs"
        } else {
            "atdm_runs"
        };
        let stored = db
            .text(&format!(
                "SELECT token_hash FROM {runs} WHERE run_id = '{r}'"
            ))
            .await
            .unwrap();
        assert_eq!(stored, s.token.hash());
        assert_ne!(stored, s.token.expose());
        let info = e.run(r).await.unwrap();
        assert_eq!(
            (
                info.status.as_str(),
                info.scenario.as_str(),
                info.invoker.as_str()
            ),
            ("ready", "claim_denial_active_member", "lifecycle-test")
        );

        // A wrong token changes nothing.
        let err = e.reset_run(r, "not-the-token").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenMismatch, "{kind:?}: {err}");
        assert_eq!(snapshot(&db).await, after);

        // The right token deletes exactly the run's rows, children first.
        let rep = e.reset_run(r, s.token.expose()).await.unwrap();
        assert_eq!(rep.status, ResetStatus::Cleaned);
        assert_eq!(
            rep.deleted,
            counts(&[
                ("plan", 1),
                ("provider", 1),
                ("member", 1),
                ("eligibility", 1),
                ("claim", 1)
            ]),
            "{kind:?}"
        );
        let mut expected = before.clone();
        expected.insert("runs".into(), before["runs"] + 1);
        assert_eq!(
            snapshot(&db).await,
            expected,
            "{kind:?}: back to the state before, reference rows kept"
        );

        // A repeat is already_cleaned with no effect; a wrong token still fails.
        let again = e.reset_run(r, s.token.expose()).await.unwrap();
        assert_eq!(
            (again.status, again.deleted.values().sum::<u64>()),
            (ResetStatus::AlreadyCleaned, 0)
        );
        assert_eq!(
            e.reset_run(r, "wrong").await.unwrap_err().code(),
            ErrorCode::TokenMismatch
        );
        assert_eq!(e.run(r).await.unwrap().status, "cleaned");

        // An unknown run.
        let err = e
            .reset_run("01JUNKNOWNRUN0000000000000", "x")
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::RunNotFound, "{err}");
        e.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_write_nothing() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let e = engine(&db).await;
        let before = snapshot(&db).await;

        let err = e
            .request(
                "active_member_clean",
                Request::new().constraint("member_status", "inactive"),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidatorRejected, "{kind:?}: {err}");
        assert!(
            err.to_string()
                .contains("healthcare.eligibility_status_matches_member"),
            "{err}"
        );

        let err = e
            .request(
                "active_member_clean",
                Request::new().constraint("member_status", "zombie"),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidConstraint);
        assert!(err.to_string().contains("'active', 'inactive'"), "{err}");

        let err = e
            .request("no_such_scenario", Request::new())
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ScenarioNotFound);

        // A plan the database refuses (a constraint the pack does not know about) rolls back.
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
        assert_eq!(err.code(), ErrorCode::SeedFailed, "{kind:?}: {err}");
        assert!(
            err.to_string().to_lowercase().contains("no_forbidden"),
            "{kind:?}: the database's own message: {err}"
        );
        assert_eq!(
            snapshot(&db).await,
            before,
            "{kind:?}: nothing written, not even the catalog entry"
        );

        // A constraint value that looks like SQL is stored as text, never run.
        let evil = "x'); DROP TABLE member; --";
        let s = e
            .request(
                "claim_denial_active_member",
                Request::new().constraint("denial_reason", evil),
            )
            .await
            .unwrap();
        let got = db
            .text(&format!(
                "SELECT denial_reason FROM claim WHERE claim_id = 'claim-{}'",
                s.run_id
            ))
            .await;
        assert_eq!(got.as_deref(), Some(evil), "{kind:?}");
        assert_eq!(
            db.count("SELECT COUNT(*) FROM member").await,
            before["member"] + 1,
            "the member table is still there"
        );
        e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
        e.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_all_needs_confirmation_and_keeps_reference_rows() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let e = engine(&db).await;
        let before = snapshot(&db).await;
        let a = e
            .request("active_member_clean", Request::new())
            .await
            .unwrap();
        let b = e
            .request(
                "claim_denial_active_member",
                Request::new()
                    .constraint("procedure_code", "per_run")
                    .constraint("procedure_code_is_valid", false),
            )
            .await
            .unwrap();
        assert_eq!(
            b.key("procedure_code"),
            Some(format!("PC-{}", b.run_id).as_str())
        );
        let seeded = snapshot(&db).await;

        let err = e.reset_all(Confirmation::NotConfirmed).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfirmRequired);
        assert_eq!(
            snapshot(&db).await,
            seeded,
            "{kind:?}: no confirmation, no deletion"
        );

        let rep = e.reset_all(Confirmation::Confirmed).await.unwrap();
        assert_eq!(rep.runs.len(), 2);
        assert_eq!(
            rep.deleted,
            counts(&[
                ("procedure_code", 1),
                ("plan", 2),
                ("provider", 2),
                ("member", 2),
                ("eligibility", 2),
                ("claim", 2)
            ]),
            "{kind:?}"
        );
        let mut expected = before.clone();
        expected.insert("runs".into(), before["runs"] + 2);
        assert_eq!(
            snapshot(&db).await,
            expected,
            "{kind:?}: baseline codes stay"
        );
        assert_eq!(
            e.reset_run(&a.run_id, a.token.expose())
                .await
                .unwrap()
                .status,
            ResetStatus::AlreadyCleaned
        );
        e.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_leases_are_reaped_on_demand_and_at_start_up() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let short = Engine::builder(healthcare::pack())
            .database_url(&db.url)
            .reference_date(d())
            .lease(Duration::ZERO)
            .connect()
            .await
            .unwrap();
        let before = snapshot(&db).await;
        let s1 = short
            .request("active_member_clean", Request::new())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let reaped = short.reap_expired().await.unwrap();
        assert_eq!(
            reaped.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
            [s1.run_id.as_str()],
            "{kind:?}"
        );
        assert_eq!(reaped[0].deleted["claim"], 1);

        let s2 = short
            .request("active_member_clean", Request::new())
            .await
            .unwrap();
        short.close().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        // A new engine (the next test process) reaps it when it starts.
        let next = engine(&db).await;
        assert_eq!(
            next.run(&s2.run_id).await.unwrap().status,
            "cleaned",
            "{kind:?}"
        );
        let mut expected = before.clone();
        expected.insert("runs".into(), before["runs"] + 2);
        assert_eq!(snapshot(&db).await, expected);
        // A run with a normal lease survives reaping.
        let s3 = next
            .request("active_member_clean", Request::new())
            .await
            .unwrap();
        assert!(next.reap_expired().await.unwrap().is_empty());
        assert_eq!(next.run(&s3.run_id).await.unwrap().status, "ready");
        next.close().await;
        db.drop_db().await;
    }
}

const WIDE_SCHEMA: &str = r#"
name = "wide"
[[tables]]
name = "event"
primary_key = ["event_id"]
checks = ["severity between 1 and 5"]
columns = [
  { name = "event_id", type = "text" },
  { name = "email", type = "text" },
  { name = "city", type = "text" },
  { name = "severity", type = "integer" },
  { name = "amount", type = "numeric(12,2)" },
  { name = "happened_on", type = "date" },
  { name = "logged_at", type = "timestamptz" },
  { name = "flag", type = "boolean" },
  { name = "note", type = "text", nullable = true },
  { name = "test_run_id", type = "text" },
]
"#;

const WIDE_SCENARIO: &str = r#"
id = "many_events"
description = "Many generated events."
[knobs.n]
type = "integer"
default = 10
[[rows]]
alias = "event"
table = "event"
count = "{n}"
set = { note = "tab\there\nnew line, back\\slash, it's" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_plans_stay_inside_each_backends_bind_limit() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let schema = atdm_core::schema::Schema::from_toml(WIDE_SCHEMA, "wide.toml").unwrap();
        let pack = atdm_core::Pack::builder("wide", schema)
            .scenario("many.toml", WIDE_SCENARIO)
            .build()
            .unwrap();
        let e = Engine::builder(pack)
            .database_url(&db.url)
            .reference_date(d())
            .connect()
            .await
            .unwrap();
        // 7,000 rows x 9 columns = 63,000 values: over SQLite's limit in one statement, and
        // with the ledger well over it in total.
        let s = e
            .request("many_events", Request::new().constraint("n", 7000))
            .await
            .unwrap();
        assert_eq!(s.rows["event"], 7000);
        assert_eq!(s.data["event"].as_array().unwrap().len(), 7000);
        assert_eq!(
            db.count("SELECT COUNT(*) FROM event").await,
            7000,
            "{kind:?}"
        );
        assert_eq!(
            db.count("SELECT COUNT(*) FROM event WHERE severity < 1 OR severity > 5")
                .await,
            0
        );
        // Text survives the bulk path exactly (PostgreSQL loads this many rows with COPY).
        let note = db
            .text("SELECT note FROM event ORDER BY event_id LIMIT 1")
            .await;
        assert_eq!(
            note.as_deref(),
            Some("tab\there\nnew line, back\\slash, it's"),
            "{kind:?}"
        );
        let rep = e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
        assert_eq!(rep.deleted["event"], 7000);
        assert_eq!(db.count("SELECT COUNT(*) FROM event").await, 0);
        e.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_database_urls_are_typed_errors() {
    let err = Engine::builder(healthcare::pack())
        .database_url("oracle://db/x")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidUrl);
    assert!(
        err.to_string().contains("sqlite:, postgres: or mysql:"),
        "{err}"
    );
    let err = Engine::builder(healthcare::pack())
        .database_url("postgres://nobody:secret@127.0.0.1:1/none")
        .acquire_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DatabaseError, "{err}");
    assert!(
        !err.to_string().contains("secret"),
        "passwords never reach messages: {err}"
    );
    // SQLite: a URL without a file, and a path whose parents do not exist (nothing created).
    for (url, says) in [
        ("sqlite://", "names no file"),
        (
            "sqlite:///nonexistent-atdm-dir/deeper/x.sqlite",
            "directory /nonexistent-atdm-dir does not exist",
        ),
    ] {
        let err = Engine::builder(healthcare::pack())
            .database_url(url)
            .connect()
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidUrl, "{url}: {err}");
        assert!(err.to_string().contains(says), "{url}: {err}");
    }
    assert!(!std::path::Path::new("/nonexistent-atdm-dir").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_run_inputs_give_the_same_rows_in_the_database() {
    // The seed follows the run id; with a fixed seed and date, two runs differ only in keys.
    let Some(db) = TestDb::fresh(Kind::Sqlite).await else {
        return;
    };
    let e = engine(&db).await;
    let a = e
        .request("active_member_clean", Request::new().seed(42))
        .await
        .unwrap();
    let b = e
        .request("active_member_clean", Request::new().seed(42))
        .await
        .unwrap();
    let name = |r: &str| {
        format!(
            "SELECT first_name || ' ' || last_name || ' ' || address_city FROM member WHERE member_id = 'm-{r}'"
        )
    };
    assert_eq!(
        db.text(&name(&a.run_id)).await,
        db.text(&name(&b.run_id)).await
    );
    assert_eq!(a.seed, 42);
    let _ = Value::Null;
    e.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_lease_keeps_a_long_test_from_being_reaped() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let e = Engine::builder(healthcare::pack())
            .database_url(&db.url)
            .reference_date(d())
            .lease(Duration::from_secs(3))
            .reap_on_start(false)
            .connect()
            .await
            .unwrap();
        let run = e
            .request("active_member_clean", Request::new())
            .await
            .unwrap();
        let first = e.run(&run.run_id).await.unwrap().lease_expires_at;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let until = e
            .renew_lease(&run.run_id, run.token.expose())
            .await
            .unwrap();
        assert!(until > first, "{kind:?}: {until} after {first}");
        assert_eq!(e.run(&run.run_id).await.unwrap().lease_expires_at, until);
        // Past the first lease (by 0.5 s; the renewed one has 1 s left): not reaped.
        tokio::time::sleep(Duration::from_millis(2000)).await;
        let reaped = e.reap_expired().await.unwrap();
        assert!(
            reaped.iter().all(|r| r.run_id != run.run_id),
            "{kind:?}: reaped"
        );
        assert_eq!(e.run(&run.run_id).await.unwrap().status, "ready");
        // A wrong token or an unknown run renews nothing.
        let err = e.renew_lease(&run.run_id, "nope").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::TokenMismatch, "{kind:?}");
        let err = e
            .renew_lease("01JUNKNOWNRUN0000000000000", "x")
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::RunNotFound, "{kind:?}");
        e.reset_run(&run.run_id, run.token.expose()).await.unwrap();
        // A cleaned run keeps its lease: nothing to renew.
        assert_eq!(
            e.renew_lease(&run.run_id, run.token.expose())
                .await
                .unwrap(),
            until
        );
        e.close().await;
        db.drop_db().await;
    }
}

/// A start that finds its setup in place (its fingerprint recorded, every table there) checks
/// that with one query and creates nothing; what is missing is made again by the next start
/// that notices (a dropped table) or by a full setup (`atdm setup`: deleted reference rows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_skips_a_setup_in_place_and_redoes_one_that_is_not() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let setup = if kind == Kind::Postgres {
            "atdm.setup"
        } else {
            "atdm_setup"
        };
        engine(&db).await.close().await;
        engine(&db).await.close().await;
        let count = |sql: &'static str| db.count(sql);
        assert_eq!(
            db.count(&format!("SELECT COUNT(*) FROM {setup}")).await,
            1,
            "{kind:?}: one setup, one fingerprint"
        );
        let codes = count("SELECT COUNT(*) FROM procedure_code").await;
        assert!(codes > 0);

        // Reference rows deleted behind ATDM's back: a plain start does not look for them,
        // a full setup puts them back.
        db.exec("DELETE FROM procedure_code").await;
        engine(&db).await.close().await;
        assert_eq!(count("SELECT COUNT(*) FROM procedure_code").await, 0);
        Engine::builder(healthcare::pack())
            .database_url(&db.url)
            .full_setup(true)
            .connect()
            .await
            .unwrap()
            .close()
            .await;
        assert_eq!(count("SELECT COUNT(*) FROM procedure_code").await, codes);

        // A table dropped: the next start finds it missing and makes it again.
        db.exec("DROP TABLE claim").await;
        let e = engine(&db).await;
        let s = e
            .request("claim_denial_active_member", Request::new())
            .await
            .unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM claim").await, 1, "{kind:?}");
        e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
        e.close().await;
        db.drop_db().await;
    }
}
