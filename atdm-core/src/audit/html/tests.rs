use super::*;
use crate::audit::AUDIT_SCHEMA_VERSION;
use serde_json::json;

const RUN: &str = "01KAJ3Q6Z8M9V4T2R1P0N7X5WB";
const T0: i64 = 1_780_300_800_000_000;

fn ev(i: i64, action: AuditAction, status: AuditStatus, inputs: Json, outputs: Json) -> AuditEvent {
    AuditEvent {
        event_id: format!("01KAJ3Q6Z8EVENT{i:011}"),
        timestamp: DateTime::<Utc>::from_timestamp_micros(T0 + i * 1_250).unwrap(),
        test_run_id: RUN.into(),
        invoker: "ci".into(),
        action,
        inputs,
        tools_called: json!([]),
        outputs,
        status,
        reviewer_decision: None,
        schema_version: AUDIT_SCHEMA_VERSION,
    }
}

fn trail(events: Vec<AuditEvent>) -> AuditTrail {
    AuditTrail {
        run_id: RUN.into(),
        location: format!("file:///srv/atdm/store/audit/dt=2026-06-01/run={RUN}"),
        events,
        pending: vec![],
    }
}

fn request(constraints: Json) -> AuditEvent {
    ev(
        0,
        AuditAction::RequestReceived,
        AuditStatus::Ok,
        json!({"scenario": "claim_denial_active_member", "constraints": constraints, "seed": null, "reference_date": "2026-06-01", "playwright": true, "pytest": false}),
        json!({"request_id": "tdr_0123456789ab"}),
    )
}

fn plan_event(rows: usize) -> AuditEvent {
    let preview: Vec<Json> = (0..rows.min(20))
        .map(|i| json!([format!("m-{i}"), "Ada", "active", null]))
        .collect();
    ev(
        1,
        AuditAction::PlanResolved,
        AuditStatus::Ok,
        json!({}),
        json!({
            "scenario": "claim_denial_active_member", "seed": "1234567890", "reference_date": "2026-06-01",
            "generator_version": 3, "constraints": {"member_status": "active", "provider_network": "out_of_network"},
            "rows": {"member": rows, "claim": 1},
            "tables": [
                {"table": "member", "columns": ["member_id", "first_name", "status", "plan_id"], "rows": preview, "total": rows},
                {"table": "claim", "columns": ["claim_id", "status"], "rows": [["claim-1", "denied"]], "total": 1}
            ]
        }),
    )
}

fn validators_event() -> AuditEvent {
    ev(
        2,
        AuditAction::ValidatorsPassed,
        AuditStatus::Ok,
        json!({}),
        json!({"validators": ["healthcare.eligibility_status_matches_member", "healthcare.denial_requires_invalid_code"]}),
    )
}

fn seeded_trail() -> Vec<AuditEvent> {
    vec![
        request(json!({"member_status": "active"})),
        plan_event(1),
        validators_event(),
        ev(
            3,
            AuditAction::SeedStarted,
            AuditStatus::Ok,
            json!({}),
            json!({"database": "sqlite:///tmp/x/atdm.sqlite", "dialect": "sqlite"}),
        ),
        ev(
            4,
            AuditAction::SeedCompleted,
            AuditStatus::Ok,
            json!({}),
            json!({"request_id": "tdr_0123456789ab", "rows": {"member": 1, "claim": 1}, "data": {"member_id": "m-R", "claim_id": "claim-R"}, "lease_expires_at": "2026-06-01T09:00:00.000000Z"}),
        ),
        ev(
            5,
            AuditAction::FixturesEmitted,
            AuditStatus::Ok,
            json!({}),
            json!({"files": ["/tmp/fx/claim_denial_active_member_R.json"]}),
        ),
    ]
}

fn cleaned_trail() -> Vec<AuditEvent> {
    let mut t = seeded_trail();
    t.push(ev(
        6,
        AuditAction::ResetStarted,
        AuditStatus::Ok,
        json!({"run_id": RUN, "strategy": "reset_run", "token_given": true}),
        json!({}),
    ));
    t.push(ev(
        7,
        AuditAction::ResetCompleted,
        AuditStatus::Cleaned,
        json!({}),
        json!({"status": "cleaned", "deleted": {"member": 1, "claim": 1, "plan": 0}}),
    ));
    t
}

const SECTIONS: [&str; 7] = [
    "summary",
    "plan",
    "validators",
    "records",
    "fixtures",
    "reset",
    "timeline",
];

fn assert_sections(page: &str) {
    for id in SECTIONS {
        assert_eq!(
            page.matches(&format!("<section id=\"{id}\"")).count(),
            1,
            "section {id}"
        );
    }
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.len() < PAGE_LIMIT, "{} bytes", page.len());
}

/// The page loads nothing: no URL a browser would fetch, no script, no external style.
fn assert_self_contained(page: &str) {
    for bad in [
        "http://", "https://", "src=", "<script", "<link", "@import", "url(", "<img", "<iframe",
    ] {
        assert!(!page.contains(bad), "the page holds {bad:?}");
    }
}

#[test]
fn a_cleaned_run_shows_every_section_and_what_happened() {
    let page = render_html(&trail(cleaned_trail()));
    assert_sections(&page);
    assert_self_contained(&page);
    for needle in [
        RUN,
        "claim_denial_active_member",
        "tdr_0123456789ab",
        "Cleaned",
        "healthcare.eligibility_status_matches_member",
        "healthcare.denial_requires_invalid_code",
        "m-R",
        "claim-R",
        "claim_denial_active_member_R.json",
        "reset_run",
        "2 rows removed",
        "1234567890",
        "2026-06-01",
        "file:///srv/atdm/store/audit/dt=2026-06-01/run=",
        "scenario default",
        "2026-06-01 08:00:00.008750 UTC",
        "+8.8 ms",
    ] {
        assert!(page.contains(needle), "missing {needle:?}");
    }
    // Every event is in the timeline, in order, with its status in words.
    let mut at = 0;
    for e in cleaned_trail() {
        let found = page[at..].find(&format!("<b>{}</b>", e.action.as_str()));
        at += found.unwrap_or_else(|| panic!("{} missing or out of order", e.action.as_str()));
    }
    assert!(page.contains("\u{2713} cleaned</span>"));
}

#[test]
fn a_repeated_reset_leaves_the_headline_on_the_one_that_deleted() {
    let mut t = cleaned_trail();
    t.push(ev(
        8,
        AuditAction::ResetStarted,
        AuditStatus::Ok,
        json!({"run_id": RUN, "strategy": "reset_run", "token_given": true}),
        json!({}),
    ));
    t.push(ev(
        9,
        AuditAction::ResetCompleted,
        AuditStatus::Cleaned,
        json!({}),
        json!({"status": "already_cleaned", "deleted": {}}),
    ));
    let page = render_html(&trail(t));
    assert!(page.contains("2 rows removed. 1 reset attempt after it changed nothing."));
    // Wide tables scroll inside their section instead of being cut off at the page's edge.
    assert!(page.contains("table{border-collapse:collapse;font-size:13px;margin:4px 0 8px;display:block;max-width:100%;overflow-x:auto}"));
    assert!(!page.contains("had already been deleted"));
}

#[test]
fn the_json_trail_carries_the_runs_summary() {
    let t = trail(cleaned_trail());
    let v: Json = serde_json::from_str(&t.to_json()).unwrap();
    assert_eq!(
        v["summary"],
        json!({
            "scenario": "claim_denial_active_member",
            "invoker": "ci",
            "outcome": "Cleaned",
            "reset_status": "cleaned",
            "events": 8,
            "first_event_at": "2026-06-01T08:00:00.000000Z",
            "last_event_at": "2026-06-01T08:00:00.008750Z"
        })
    );
    // Read back, the summary is ignored: it is computed from the events.
    let back: AuditTrail = serde_json::from_value(v).unwrap();
    assert_eq!(back, t);
    let empty = trail(vec![]).summary();
    assert_eq!(empty.events, 0);
    assert_eq!(empty.first_event_at, None);
    assert_eq!(empty.outcome, "Unknown run: no events recorded");
}

#[test]
fn a_seeded_run_says_its_rows_are_still_present() {
    let page = render_html(&trail(seeded_trail()));
    assert_sections(&page);
    assert!(page.contains("Seeded and still present"));
    assert!(page.contains("Not reset yet"));
    assert!(page.contains("2026-06-01T09:00:00.000000Z"));
}

#[test]
fn a_rejected_run_says_who_refused_and_that_nothing_was_written() {
    let page = render_html(&trail(vec![
        request(json!({"member_status": "inactive"})),
        plan_event(1),
        ev(
            2,
            AuditAction::PlanRejected,
            AuditStatus::Rejected,
            json!({}),
            json!({
                "error": {"code": "VALIDATOR_REJECTED", "message": "1 validator failure"},
                "failures": [{"validator": "healthcare.eligibility_status_matches_member", "message": "an inactive member has active eligibility", "values": {"member_status": "inactive"}}]
            }),
        ),
    ]));
    assert_sections(&page);
    assert_self_contained(&page);
    assert!(page.contains("<strong>Rejected</strong>"));
    assert!(page.contains("No rows were written: the plan was rejected by healthcare.eligibility_status_matches_member."));
    assert!(page.contains("an inactive member has active eligibility"));
    assert!(page.contains("VALIDATOR_REJECTED"));
    assert!(page.contains("Nothing to reset"));
    assert!(page.contains("No fixture files: the plan was rejected"));

    // The planner refusing (no failures, no plan) reads differently.
    let page = render_html(&trail(vec![
        request(json!({"member_status": "zombie"})),
        ev(
            1,
            AuditAction::PlanRejected,
            AuditStatus::Rejected,
            json!({}),
            json!({"error": {"code": "INVALID_CONSTRAINT", "message": "member_status must be one of 'active', 'inactive'"}, "failures": []}),
        ),
    ]));
    assert_sections(&page);
    assert!(page.contains("refused by the planner (INVALID_CONSTRAINT)"));
    assert!(page.contains("before any validator ran"));
    assert!(page.contains("member_status must be one of &#39;active&#39;, &#39;inactive&#39;"));
    assert!(page.contains("zombie"));
}

#[test]
fn an_unknown_run_says_so_and_how_to_find_run_ids() {
    let page = render_html(&trail(Vec::new()));
    assert_sections(&page);
    assert_self_contained(&page);
    assert!(page.contains("Unknown run: no events recorded"));
    assert!(page.contains("How to find a run id"));
    assert!(page.contains(RUN));
    assert_eq!(
        page.matches("class=\"why\"").count(),
        6,
        "every other section says why it is empty"
    );
}

#[test]
fn a_failed_seed_and_strategy_runs_render_sensibly() {
    let page = render_html(&trail(vec![
        request(json!({})),
        plan_event(1),
        validators_event(),
        ev(
            3,
            AuditAction::SeedStarted,
            AuditStatus::Ok,
            json!({}),
            json!({"database": "postgres://postgres@127.0.0.1:5432/t", "dialect": "postgres"}),
        ),
        ev(
            4,
            AuditAction::SeedFailed,
            AuditStatus::RolledBack,
            json!({}),
            json!({"error": {"code": "SEED_FAILED", "message": "no_forbidden: refused"}}),
        ),
    ]));
    assert_sections(&page);
    assert!(page.contains("Seed failed and rolled back"));
    assert!(page.contains("SEED_FAILED: no_forbidden: refused"));
    assert!(page.contains("\u{21BA} rolled back"));

    let mut t = trail(vec![
        ev(
            0,
            AuditAction::ResetStarted,
            AuditStatus::Ok,
            json!({"strategy": "reset_all", "token_given": false}),
            json!({}),
        ),
        ev(
            1,
            AuditAction::ResetCompleted,
            AuditStatus::Cleaned,
            json!({}),
            json!({"status": "cleaned", "runs": ["A", "B"], "deleted": {"member": 2, "claim": 3}}),
        ),
    ]);
    t.run_id = format!("strategy-reset_all-{RUN}");
    let page = render_html(&t);
    assert_sections(&page);
    assert!(page.contains("Cleaned by reset_all"));
    assert!(page.contains("reset_all deleted 5 rows"));
    assert!(page.contains("2 runs cleaned"));
    assert!(page.contains("This is a strategy run (reset_all)"));

    let mut t = trail(vec![
        ev(
            0,
            AuditAction::SnapshotStarted,
            AuditStatus::Ok,
            json!({}),
            json!({}),
        ),
        ev(
            1,
            AuditAction::SnapshotCompleted,
            AuditStatus::Ok,
            json!({}),
            json!({"baseline_id": "nightly", "rows": {"member": 4}}),
        ),
    ]);
    t.run_id = format!("strategy-snapshot-{RUN}");
    let page = render_html(&t);
    assert_sections(&page);
    assert!(page.contains("Snapshot written"));
    assert!(page.contains("Baseline nightly was written"));
    assert!(page.contains("Reset and baselines"));
}

#[test]
fn values_show_as_text_never_as_markup() {
    let evil = "<script>alert('x')</script>";
    let mut events = seeded_trail();
    events[0] = request(
        json!({evil: evil, "denial_reason": "<img src=x onerror=alert(1)>", "url": "https://evil.example/x.png"}),
    );
    events[4].outputs["data"]["member_id"] = json!("\"><b>bold</b>");
    events[4].invoker = "eve\u{0007}<u>under</u>".into();
    let mut t = trail(events);
    t.run_id = "</title><script>x()</script>".into();
    t.location = "\"><style>body{display:none}</style>".into();
    let page = render_html(&t);
    assert_sections(&page);
    for raw in [
        "<script",
        "<img",
        "<b>bold",
        "<u>",
        "<style>body",
        "</title><",
        "\u{0007}",
    ] {
        assert!(!page.contains(raw), "{raw:?} reached the page unescaped");
    }
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("&quot;&gt;&lt;b&gt;bold&lt;/b&gt;"));
    // A URL in the data is text, not a link: nothing is fetched.
    assert!(page.contains("https://evil.example/x.png"));
    assert!(!page.contains("href=\"http"));
    assert!(!page.contains("src=\"") && !page.contains("src='"));
}

#[test]
fn a_ten_thousand_row_plan_stays_under_the_limit_and_says_what_is_left_out() {
    let mut events = seeded_trail();
    events[1] = plan_event(10_000);
    // And a preview that was never cut by the engine, with very long values.
    let long = "x".repeat(2_000);
    let rows: Vec<Json> = (0..10_000)
        .map(|i| json!([format!("m-{i}"), long, "&".repeat(500)]))
        .collect();
    events[1].outputs["tables"][1] = json!({"table": "claim", "columns": ["claim_id", "note", "amp"], "rows": rows, "total": 10_000});
    let page = render_html(&trail(events));
    assert_sections(&page);
    assert!(
        page.contains("9980 more rows not shown."),
        "the member preview says how many are left out"
    );
    assert!(page.contains("10000 rows"));
    assert!(page.contains("more characters)"));
}

#[test]
fn any_trail_stays_under_the_limit() {
    // Everything large at once: many events, keys, tables, failures, files.
    let big_map: serde_json::Map<String, Json> = (0..2_000)
        .map(|i| {
            (
                format!("key_{i}_{}", "<".repeat(40)),
                json!("&".repeat(100)),
            )
        })
        .collect();
    let big = Json::Object(big_map);
    let small: Json = (0..40)
        .map(|i| (format!("k{i}"), json!("<".repeat(100))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let tables: Vec<Json> = (0..200)
        .map(|t| json!({"table": format!("t{t}"), "columns": (0..60).map(|c| format!("c{c}{}", "\"".repeat(60))).collect::<Vec<_>>(), "rows": (0..30).map(|_| (0..60).map(|_| "<&>".repeat(30)).collect::<Vec<_>>()).collect::<Vec<_>>(), "total": 1_000_000}))
        .collect();
    let failures: Vec<Json> = (0..3_000).map(|i| json!({"validator": format!("v{i}"), "message": "'".repeat(400), "values": small.clone()})).collect();
    let mut events = vec![
        request(big.clone()),
        ev(
            1,
            AuditAction::PlanResolved,
            AuditStatus::Ok,
            big.clone(),
            json!({"constraints": big, "rows": big, "tables": tables}),
        ),
        ev(
            2,
            AuditAction::ValidatorsPassed,
            AuditStatus::Ok,
            json!({}),
            json!({"validators": (0..5_000).map(|i| format!("validator.{i}{}", "<".repeat(100))).collect::<Vec<_>>()}),
        ),
        ev(
            3,
            AuditAction::PlanRejected,
            AuditStatus::Rejected,
            json!({}),
            json!({"error": {"code": "&".repeat(9_000), "message": "<".repeat(90_000)}, "failures": failures}),
        ),
        ev(
            4,
            AuditAction::SeedCompleted,
            AuditStatus::Ok,
            json!({}),
            json!({"rows": big, "data": big}),
        ),
        ev(
            5,
            AuditAction::FixturesEmitted,
            AuditStatus::Ok,
            json!({}),
            json!({"files": (0..5_000).map(|i| format!("/tmp/{i}{}", "&".repeat(300))).collect::<Vec<_>>()}),
        ),
    ];
    for i in 0..3_000 {
        events.push(ev(
            6 + i,
            AuditAction::ResetRejected,
            AuditStatus::Forbidden,
            small.clone(),
            json!({"error": {"code": "TOKEN_MISMATCH", "message": "<".repeat(2_000)}}),
        ));
    }
    let page = render_html(&trail(events));
    assert_sections(&page);
    assert!(page.contains("more events not shown here"));
    assert!(page.contains("more reset events not shown"));
    assert!(page.contains("more failures not shown"));
    assert!(page.contains("more files not shown."));
}

#[test]
fn dry_runs_engine_markers_and_reset_all_read_well() {
    // A dry run (Engine::plan) passes without writing: not "no outcome".
    let mut req = request(json!({}));
    req.inputs["dry_run"] = json!(true);
    let page = render_html(&trail(vec![req, plan_event(1), validators_event()]));
    assert_sections(&page);
    assert!(page.contains("Dry run: the plan passed, nothing written"));
    assert!(page.contains("No rows were written: this was a dry run"));

    // Cells the engine marks (a database default, a reference to a planned row).
    let mut p = plan_event(1);
    p.outputs["tables"][0]["rows"][0][0] = json!({"default": true});
    p.outputs["tables"][0]["rows"][0][3] = json!({"ref": "plan[0].plan_id"});
    let page = render_html(&trail(vec![request(json!({})), p]));
    assert!(page.contains("<td class=\"null\">database default</td>"));
    assert!(page.contains("<td class=\"null\">\u{2192} plan[0].plan_id</td>"));
    assert!(page.contains("No outcome recorded"));

    // reset_all cleans a run with a reset_completed in the run's own trail only.
    let mut events = seeded_trail();
    events.push(ev(
        9,
        AuditAction::ResetCompleted,
        AuditStatus::Cleaned,
        json!({"strategy": "reset_all", "strategy_run": "strategy-reset_all-01KAJ"}),
        json!({"status": "cleaned", "deleted": {"member": 1}}),
    ));
    let page = render_html(&trail(events));
    assert!(page.contains("(by reset_all): 1 row removed."));
    assert!(page.contains("strategy run <code>strategy-reset_all-01KAJ</code>"));

    // A failed snapshot whose outputs hold the error at the top.
    let mut t = trail(vec![ev(
        0,
        AuditAction::SnapshotFailed,
        AuditStatus::Failed,
        json!({"baseline_id": "b1"}),
        json!({"code": "BASELINE_EXISTS", "message": "baseline b1 exists"}),
    )]);
    t.run_id = format!("strategy-snapshot-{RUN}");
    let page = render_html(&t);
    assert!(page.contains("Snapshot failed"));
    assert!(page.contains("BASELINE_EXISTS: baseline b1 exists"));
}

#[test]
fn the_same_trail_renders_the_same_bytes() {
    let t = trail(cleaned_trail());
    let a = render_html(&t);
    let b = render_html(&t.clone());
    assert_eq!(a, b);
    // And through JSON and back, as a program would hand it over.
    let back: AuditTrail = serde_json::from_str(&t.to_json()).unwrap();
    assert_eq!(render_html(&back), a);
}

#[test]
fn events_with_missing_or_odd_fields_never_panic() {
    let odd = [
        json!(null),
        json!("text"),
        json!(42),
        json!([1, 2]),
        json!({"rows": "many", "tables": "none", "files": {"a": 1}, "validators": 3, "error": 7, "failures": [1, null], "deleted": [1], "data": []}),
    ];
    let actions = [
        AuditAction::RequestReceived,
        AuditAction::PlanResolved,
        AuditAction::ValidatorsPassed,
        AuditAction::PlanRejected,
        AuditAction::SeedStarted,
        AuditAction::SeedCompleted,
        AuditAction::SeedFailed,
        AuditAction::FixturesEmitted,
        AuditAction::ResetRejected,
        AuditAction::ResetStarted,
        AuditAction::ResetCompleted,
        AuditAction::ResetFailed,
        AuditAction::SnapshotStarted,
        AuditAction::SnapshotCompleted,
        AuditAction::SnapshotFailed,
        AuditAction::RestoreStarted,
        AuditAction::RestoreCompleted,
        AuditAction::RestoreFailed,
        AuditAction::ToolCalled,
    ];
    for v in &odd {
        for a in actions {
            let e = ev(0, a, AuditStatus::Failed, v.clone(), v.clone());
            // Alone, after a full run, and with a strategy id.
            let mut full = cleaned_trail();
            full.push(e.clone());
            for mut t in [trail(vec![e.clone()]), trail(full)] {
                assert_sections(&render_html(&t));
                t.run_id = "strategy-".into();
                assert_sections(&render_html(&t));
            }
        }
    }
}
