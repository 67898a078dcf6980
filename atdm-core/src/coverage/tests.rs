use serde_json::json;

use super::*;
use crate::audit::AUDIT_SCHEMA_VERSION;
use crate::domains::healthcare;

fn event(
    run: &str,
    minute: u32,
    action: AuditAction,
    inputs: serde_json::Value,
    outputs: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        event_id: format!("{run}-{minute}"),
        timestamp: format!("2026-06-01T10:{minute:02}:00Z").parse().unwrap(),
        test_run_id: run.into(),
        invoker: "test".into(),
        action,
        inputs,
        tools_called: json!([]),
        outputs,
        status: AuditStatus::Ok,
        reviewer_decision: None,
        schema_version: AUDIT_SCHEMA_VERSION,
    }
}

/// A request of `scenario` in `run` that ends with `last` (and resolved `knobs`).
fn run(
    run: &str,
    minute: u32,
    scenario: &str,
    dry: bool,
    knobs: serde_json::Value,
    last: Option<AuditAction>,
) -> Vec<AuditEvent> {
    let mut inputs = json!({ "scenario": scenario, "constraints": {} });
    if dry {
        inputs["dry_run"] = true.into();
    }
    let mut out = vec![
        event(run, minute, AuditAction::RequestReceived, inputs, json!({})),
        event(
            run,
            minute,
            AuditAction::PlanResolved,
            json!({}),
            json!({ "scenario": scenario, "constraints": knobs }),
        ),
    ];
    if let Some(a) = last {
        out.push(event(run, minute + 1, a, json!({}), json!({})));
    }
    out
}

#[test]
fn seeded_runs_cover_and_the_rest_are_gaps() {
    let pack = healthcare::pack();
    let mut events = Vec::new();
    events.extend(run(
        "A",
        1,
        "claim_denial_active_member",
        false,
        json!({ "claim_status": "denied", "member_status": "active" }),
        Some(AuditAction::SeedCompleted),
    ));
    events.extend(run("B", 2, "expired_eligibility", true, json!({}), None));
    events.extend(run(
        "C",
        3,
        "active_member_clean",
        false,
        json!({}),
        Some(AuditAction::PlanRejected),
    ));
    // Not scenario runs: a volume load and a reset strategy.
    events.push(event(
        "D",
        4,
        AuditAction::RequestReceived,
        json!({ "scenario": "atdm.generate" }),
        json!({}),
    ));
    events.push(event(
        "strategy-x",
        5,
        AuditAction::ResetStarted,
        json!({}),
        json!({}),
    ));
    events.reverse(); // any order
    let runs = runs_from_events(&events);
    let outcomes: Vec<(&str, Outcome)> = runs
        .iter()
        .map(|r| (r.run_id.as_str(), r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("A", Outcome::Seeded),
            ("B", Outcome::DryRun),
            ("C", Outcome::Rejected)
        ]
    );

    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let mut edges = EdgeRuns::default();
    edges.seeded.insert(
        ("member".into(), "address_zip".into(), "text.empty".into()),
        2,
    );
    edges.delivered.insert(
        ("member".into(), "status".into(), "list.not_listed".into()),
        1,
    );
    let wanted = ["FR-001".to_owned(), "FR-099".to_owned()];
    let r = coverage(&pack, &runs, &edges, &wanted, day);
    assert_eq!(
        (
            r.runs.total,
            r.runs.seeded,
            r.runs.dry_runs,
            r.runs.rejected
        ),
        (3, 1, 1, 1)
    );
    let s = |id: &str| r.scenarios.iter().find(|s| s.id == id).unwrap();
    assert_eq!(s("claim_denial_active_member").runs.seeded, 1);
    assert_eq!(
        s("claim_denial_active_member")
            .last_run
            .as_ref()
            .unwrap()
            .run_id,
        "A"
    );
    assert!(
        r.gaps
            .scenarios_never_seeded
            .contains(&"expired_eligibility".to_owned())
    );
    assert!(
        !r.gaps
            .scenarios_never_seeded
            .contains(&"claim_denial_active_member".to_owned())
    );
    // The knob values a seeded run used are covered; the others are gaps.
    let status = s("claim_denial_active_member")
        .knobs
        .iter()
        .find(|k| k.knob == "claim_status")
        .unwrap();
    let used: Vec<(String, usize)> = status
        .values
        .iter()
        .map(|v| (v.value.as_str().unwrap().to_owned(), v.seeded_runs))
        .collect();
    assert!(
        used.contains(&("denied".into(), 1)) && used.contains(&("paid".into(), 0)),
        "{used:?}"
    );
    assert!(
        r.gaps
            .knob_values_never_requested
            .iter()
            .any(|n| n.scenario == "claim_denial_active_member"
                && n.knob == "claim_status"
                && n.value == json!("paid"))
    );
    // FR-001 is linked by the seeded scenario; FR-099 by none.
    let q = |id: &str| r.requirements.iter().find(|q| q.id == id).unwrap();
    assert!(q("FR-001").covered && q("FR-001").scenarios.len() >= 2);
    assert!(!q("FR-099").covered && q("FR-099").scenarios.is_empty());
    assert_eq!(r.gaps.requirements_without_scenario, ["FR-099"]);
    assert!(
        r.gaps.requirements_never_seeded.is_empty(),
        "{:?}",
        r.gaps.requirements_never_seeded
    );
    // The figure is what the items say, rounded down.
    assert!(r.covered > 0 && r.covered < r.items);
    assert_eq!(
        r.coverage,
        (r.covered as f64 * 1000.0 / r.items as f64).floor() / 10.0
    );
    // Edge classes: the one seeded is covered, the others are gaps.
    let zip = r
        .edge_classes
        .iter()
        .find(|c| c.table == "member" && c.column == "address_zip")
        .unwrap();
    let empty = zip
        .classes
        .iter()
        .find(|c| c.class == "text.empty")
        .unwrap();
    assert_eq!(empty.seeded_runs, 2);
    assert!(
        r.edge_coverage > 0.0 && r.edge_coverage < 5.0,
        "{}",
        r.edge_coverage
    );
    let never = &r.gaps.edge_classes_never_seeded;
    assert!(never.contains(&"member.address_zip text.one_char".to_owned()));
    assert!(!never.contains(&"member.address_zip text.empty".to_owned()));
    // No runs: nothing covered; a pack with nothing to cover: 100.
    // Invalid classes delivered as fixtures are reported, not counted in the figure.
    let status = r
        .edge_classes
        .iter()
        .find(|c| c.table == "member" && c.column == "status")
        .unwrap();
    let listed = status
        .invalid
        .iter()
        .find(|c| c.class == "list.not_listed")
        .unwrap();
    assert_eq!(listed.delivered_runs, 1);
    let none = coverage(&pack, &[], &EdgeRuns::default(), &[], day);
    assert_eq!((none.covered, none.coverage), (0, 0.0));
    // One identity column: no edge class, and no scenario.
    let text = r#"
name = "keys_only"
[[tables]]
name = "t"
primary_key = ["id"]
columns = [{ name = "id", type = "bigint", generated = "identity" }]
"#;
    let schema = crate::schema::Schema::from_toml(text, "keys_only.toml").unwrap();
    let nothing = Pack::builder("empty", schema).build().unwrap();
    let empty = coverage(&nothing, &[], &EdgeRuns::default(), &[], day);
    assert_eq!((empty.items, empty.coverage), (0, 100.0));

    let page = render_html(&r);
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("id=\"coverage\""));
    assert!(page.contains(&format!("{:.1}%", r.coverage)));
    assert!(page.contains("FR-099") && page.contains("no scenario"));
    assert!(
        !page.contains("<script") && !page.contains("http"),
        "self-contained"
    );
}

#[test]
fn seeded_edge_classes_are_read_from_the_trail() {
    let mut done = event(
        "L",
        1,
        AuditAction::SeedCompleted,
        json!({}),
        json!({
            "edge_cases": { "member": ["address_zip text.empty", "address_zip text.one_char"] },
            "negative": ["member.status list.not_listed"],
        }),
    );
    let events = vec![done.clone(), {
        done.test_run_id = "M".into();
        done
    }];
    let seen = edges_from_events(&events);
    let key = |c: &str, k: &str| ("member".to_owned(), c.to_owned(), k.to_owned());
    assert_eq!(seen.seeded[&key("address_zip", "text.empty")], 2);
    assert_eq!(seen.seeded.len(), 2);
    assert_eq!(seen.delivered[&key("status", "list.not_listed")], 2);
}

#[test]
fn requirement_lists_are_ids_one_per_line() {
    let text = "# ids\nFR-001 Members can log in\n\n  FR-002\n";
    assert_eq!(parse_requirements(text), ["FR-001", "FR-002"]);
}
