//! The audit page of a run, opened in a real browser: a run of the headline scenario that is
//! requested (with a Playwright fixture) and reset, a rejected run, a run the planner refused
//! (with markup in its constraint), and an unknown run id. Each page is rendered by headless
//! Chromium to a screenshot (kept in the target directory: `target/audit-page*.png`, beside
//! the page itself) and to its DOM, which must hold every section and what happened.
//!
//! | variable | meaning |
//! |---|---|
//! | `ATDM_CHROMIUM` | the Chromium (or Chrome) binary; otherwise `chromium` or `chromium-browser` on `PATH` |
//! | `ATDM_REQUIRE_BROWSER` | `1`: a missing browser fails the test instead of skipping the browser part (CI sets it) |
//!
//! Without a browser the pages are still rendered and checked as text.

mod support;

use std::path::Path;

use atdm_core::ErrorCode;
use atdm_core::audit::html::PAGE_LIMIT;
use atdm_core::audit::{AuditAction, AuditTrail, render_html};
use atdm_core::domains::healthcare;
use atdm_sqlx::{AuditLog, Engine, Request};
use support::browser::{self, browser, temp_dir};
use support::{Kind, TestDb, d};

const SECTIONS: [&str; 7] = [
    "summary",
    "plan",
    "validators",
    "records",
    "fixtures",
    "reset",
    "timeline",
];

const HEADLINE_VALIDATORS: [&str; 4] = [
    "healthcare.eligibility_status_matches_member",
    "healthcare.claim_references_existing_member",
    "healthcare.denial_requires_invalid_code",
    "healthcare.eligibility_window_contains_claim",
];

async fn engine(db: &TestDb, store: &Path) -> Engine {
    Engine::builder(healthcare::pack())
        .database_url(&db.url)
        .store_url(format!("file://{}", store.display()))
        .fixture_dir(store.join("fixtures"))
        .reference_date(d())
        .invoker("audit-page-test")
        .connect()
        .await
        .unwrap()
}

/// The run ids that have audit objects in a directory store.
fn audited_runs(store: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(dates) = std::fs::read_dir(store.join("audit")) else {
        return out;
    };
    for date in dates {
        for run in std::fs::read_dir(date.unwrap().path()).unwrap() {
            let name = run.unwrap().file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_prefix("run=") {
                out.push(id.to_owned());
            }
        }
    }
    out.sort();
    out
}

/// The page of a run, as the engine gives it.
async fn page(e: &Engine, run_id: &str) -> String {
    e.audit_html(run_id).await.unwrap()
}

/// The trail of a run, as the engine gives it (the JSON view).
async fn trail(e: &Engine, run_id: &str) -> AuditTrail {
    e.audit(run_id).await.unwrap()
}

/// Checks that hold for every page, as text.
fn check_page(html: &str, run_id: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.len() < PAGE_LIMIT,
        "{} bytes is over the limit",
        html.len()
    );
    for id in SECTIONS {
        assert!(
            html.contains(&format!("<section id=\"{id}\"")),
            "section {id}"
        );
    }
    assert!(html.contains(run_id));
    // Self-contained: nothing a browser would fetch. (Quotes in data are escaped, so a
    // quoted `src=` can only be markup.)
    for bad in [
        "http://", "https://", "src=\"", "src='", "<script", "<link", "@import", "url(", "<img",
    ] {
        assert!(!html.contains(bad), "the page holds {bad:?}");
    }
}

/// A page opened in the browser: its screenshot checked and kept, its DOM returned.
struct Opened {
    dom: String,
}

/// [`browser::open_page`], and every section of the audit page in the DOM.
fn open_in_browser(browser: &Path, html: &str, name: &str) -> Opened {
    let dom = browser::open_page(browser, html, name);
    for id in SECTIONS {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "the browser's DOM has no section {id}"
        );
    }
    Opened { dom }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleaned_run_shows_what_happened_in_the_browser() {
    let Some(db) = TestDb::fresh(Kind::Sqlite).await else {
        return;
    };
    let store = temp_dir("audit-page-store");
    let e = engine(&db, &store).await;
    let scenario = "claim_denial_active_member";
    let s = e
        .request(scenario, Request::new().playwright())
        .await
        .unwrap();
    assert_eq!(s.fixtures.len(), 1);
    let report = e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
    let deleted: u64 = report.deleted.values().sum();
    let written: u64 = s.rows.values().sum();
    assert_eq!(deleted, written);

    let t = trail(&e, &s.run_id).await;
    let validators: Vec<String> = t
        .events
        .iter()
        .find(|x| x.action == AuditAction::ValidatorsPassed)
        .and_then(|x| x.outputs["validators"].as_array().cloned())
        .expect("the trail records the validators that ran")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    for v in HEADLINE_VALIDATORS {
        assert!(validators.iter().any(|x| x == v), "{v} ran");
    }
    let html = page(&e, &s.run_id).await;
    check_page(&html, &s.run_id);
    assert_eq!(
        html,
        render_html(&t),
        "the engine's page is the trail's page"
    );

    let mut expected: Vec<String> = vec![
        s.run_id.clone(),
        scenario.into(),
        s.request_id.clone(),
        "Cleaned".into(),
        "cleaned".into(),
        "reset_run".into(),
        format!("{written} rows written"),
        format!("{deleted} rows removed"),
        s.seed.to_string(),
        s.reference_date.to_string(),
        s.fixtures[0].display().to_string(),
        "audit-page-test".into(),
    ];
    expected.extend(validators.iter().cloned());
    // The records created: every entity key the request returned.
    expected.extend(
        s.data
            .values()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
    );
    for needle in &expected {
        assert!(html.contains(needle.as_str()), "the page lacks {needle:?}");
    }

    if let Some(browser) = browser() {
        let opened = open_in_browser(&browser, &html, "audit-page");
        for needle in &expected {
            assert!(
                opened.dom.contains(needle.as_str()),
                "the browser's DOM lacks {needle:?}"
            );
        }
    }
    e.close().await;
    db.drop_db().await;
    let _ = std::fs::remove_dir_all(&store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_runs_say_who_refused_and_that_nothing_was_written() {
    let Some(db) = TestDb::fresh(Kind::Sqlite).await else {
        return;
    };
    let browser = browser();

    // A plan the validator gate rejects: an inactive member with current eligibility.
    let store = temp_dir("audit-page-rejected");
    let e = engine(&db, &store).await;
    let err = e
        .request(
            "active_member_clean",
            Request::new().constraint("member_status", "inactive"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidatorRejected, "{err}");
    let runs = audited_runs(&store);
    assert_eq!(runs.len(), 1, "one audited run: {runs:?}");
    let run_id = &runs[0];
    assert_eq!(
        err.run_id(),
        Some(run_id.as_str()),
        "the error names its run"
    );
    let html = page(&e, run_id).await;
    check_page(&html, run_id);
    let expected = [
        run_id.as_str(),
        "active_member_clean",
        "Rejected",
        "VALIDATOR_REJECTED",
        "healthcare.eligibility_status_matches_member",
        "No rows were written: the plan was rejected by healthcare.eligibility_status_matches_member.",
        "Nothing to reset",
        "inactive",
    ];
    for needle in expected {
        assert!(html.contains(needle), "the page lacks {needle:?}");
    }
    if let Some(browser) = &browser {
        let opened = open_in_browser(browser, &html, "audit-page-rejected");
        for needle in expected {
            assert!(
                opened.dom.contains(needle),
                "the browser's DOM lacks {needle:?}"
            );
        }
    }
    e.close().await;
    let _ = std::fs::remove_dir_all(&store);

    // A value the planner refuses, holding markup: it shows as text, and no element is
    // made of it.
    let store = temp_dir("audit-page-refused");
    let e = engine(&db, &store).await;
    let evil = "<script>document.title='pwned'</script><img src=\"x\">";
    let err = e
        .request(
            "active_member_clean",
            Request::new().constraint("member_status", evil),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConstraint, "{err}");
    let runs = audited_runs(&store);
    assert_eq!(runs.len(), 1, "one audited run: {runs:?}");
    let run_id = &runs[0];
    let html = page(&e, run_id).await;
    check_page(&html, run_id);
    for needle in [
        "Rejected",
        "INVALID_CONSTRAINT",
        "refused by the planner (INVALID_CONSTRAINT)",
        "before any validator ran",
        "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&lt;img src=&quot;x&quot;&gt;",
    ] {
        assert!(html.contains(needle), "the page lacks {needle:?}");
    }
    if let Some(browser) = &browser {
        let opened = open_in_browser(browser, &html, "audit-page-refused");
        assert!(opened.dom.contains("&lt;script&gt;document.title="));
        assert!(!opened.dom.contains("<img"), "no element from the data");
        assert!(
            opened.dom.contains("<title>ATDM run"),
            "the title is the page's, not the constraint's"
        );
    }
    e.close().await;
    db.drop_db().await;
    let _ = std::fs::remove_dir_all(&store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_run_gets_a_page_that_says_so() {
    let Some(db) = TestDb::fresh(Kind::Sqlite).await else {
        return;
    };
    let store = temp_dir("audit-page-unknown");
    let e = engine(&db, &store).await;
    // A well-formed run id (a ULID) that no request ever made.
    let run_id = "01KAJ3Q6Z8M9V4T2R1P0N7X5WB";
    let html = page(&e, run_id).await;
    check_page(&html, run_id);
    let location = AuditLog::new(e.store().clone()).location(run_id);
    let expected = [
        run_id,
        "Unknown run: no events recorded",
        "How to find a run id",
        location.as_str(),
    ];
    for needle in expected {
        assert!(html.contains(needle), "the page lacks {needle:?}");
    }
    if let Some(browser) = browser() {
        let opened = open_in_browser(&browser, &html, "audit-page-unknown");
        for needle in expected {
            assert!(
                opened.dom.contains(needle),
                "the browser's DOM lacks {needle:?}"
            );
        }
    }
    e.close().await;
    db.drop_db().await;
    let _ = std::fs::remove_dir_all(&store);
}
