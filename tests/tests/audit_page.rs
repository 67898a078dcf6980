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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use atdm_core::ErrorCode;
use atdm_core::audit::html::PAGE_LIMIT;
use atdm_core::audit::{AuditAction, AuditTrail, render_html};
use atdm_core::domains::healthcare;
use atdm_sqlx::{AuditLog, Engine, Request};
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

fn temp_dir(name: &str) -> PathBuf {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("atdm-{name}-{hex}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The target directory (`target/`), found from this test binary (`target/debug/deps/..`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| exe.parent().unwrap().to_path_buf())
}

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

fn browser_required() -> bool {
    std::env::var("ATDM_REQUIRE_BROWSER").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The browser: `ATDM_CHROMIUM`, or `chromium` / `chromium-browser` on `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ATDM_CHROMIUM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "ATDM_CHROMIUM is {}, which is not a file; point it at the Chromium binary",
            p.display()
        );
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// The browser, or `None` after saying why the browser part is skipped.
fn browser() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            !browser_required(),
            "no chromium found, and ATDM_REQUIRE_BROWSER asks for one: install it (apt-get install chromium) or set ATDM_CHROMIUM"
        );
        eprintln!("skipped: no chromium (set ATDM_CHROMIUM)");
    }
    found
}

/// Runs headless Chromium on a local file, with any host name resolving nowhere, so a page
/// that tried to fetch anything would fail to. Returns its standard output.
fn run_chromium(browser: &Path, args: &[String], file: &Path) -> Vec<u8> {
    let profile = temp_dir("chromium-profile");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", file.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    // Read standard output on a thread, so a full pipe never blocks the browser.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not finish within 90 s", browser.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(status.success(), "{} failed: {status}", browser.display());
    out
}

/// A screenshot of a page at 1280 x 2400, as PNG bytes.
fn screenshot(browser: &Path, page: &Path, png: &Path) -> Vec<u8> {
    let _ = std::fs::remove_file(png);
    run_chromium(
        browser,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2400".into(),
        ],
        page,
    );
    std::fs::read(png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()))
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 24, "{} bytes is no PNG", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&png[12..16], b"IHDR", "a PNG starts with its IHDR chunk");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// A page opened in the browser: its screenshot checked and kept, its DOM returned.
struct Opened {
    dom: String,
}

/// Writes the page to `target/<name>.html`, takes its screenshot (`target/<name>.png`),
/// checks it is a real, non-blank PNG, and returns the DOM Chromium built from the page.
fn open_in_browser(browser: &Path, html: &str, name: &str) -> Opened {
    let target = target_dir();
    let page = target.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let png_path = target.join(format!("{name}.png"));
    let png = screenshot(browser, &page, &png_path);
    assert_eq!(png_size(&png), (1280, 2400), "{}", png_path.display());

    // A blank page of the same size compresses to little; a page with text and tables
    // does not.
    let scratch = temp_dir("blank-page");
    let blank_page = scratch.join("blank.html");
    std::fs::write(&blank_page, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank = screenshot(browser, &blank_page, &scratch.join("blank.png"));
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        png.len() > 3 * blank.len(),
        "{} is {} bytes, a blank page {}: the page looks empty",
        png_path.display(),
        png.len(),
        blank.len()
    );
    eprintln!(
        "{}: {} bytes of HTML, screenshot {} ({} bytes; a blank page is {})",
        name,
        html.len(),
        png_path.display(),
        png.len(),
        blank.len()
    );

    let dom = String::from_utf8(run_chromium(browser, &["--dump-dom".into()], &page)).unwrap();
    for id in SECTIONS {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "the browser's DOM has no section {id}"
        );
    }
    // The browser ran no script and built no element from the page's data.
    assert!(!dom.contains("<script"), "a script element in the DOM");
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
