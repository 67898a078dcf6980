//! The healthcare reference pack plans and validates exactly as the reference says.

use std::collections::BTreeMap;

use atdm_core::domains::healthcare;
use atdm_core::{Constraints, Error, ErrorCode, Plan, RunContext, Value};
use chrono::NaiveDate;

const RUN: &str = "01JD3QZ8X9K2M4N6P8R0S2T4V6";

fn d() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

fn ctx() -> RunContext {
    RunContext::new(RUN, d())
}

fn constraints(pairs: &[(&str, Value)]) -> Constraints {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn plan(scenario: &str, c: &Constraints) -> Result<Plan, Error> {
    let pack = healthcare::pack();
    pack.plan_validated(scenario, c, &ctx(), &BTreeMap::new())
        .map(|v| v.plan().clone())
}

fn date(s: &str) -> Value {
    Value::Date(s.parse().unwrap())
}

struct Expect {
    member: &'static str,
    network: &'static str,
    elig_status: &'static str,
    window: (&'static str, &'static str),
    claim: (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    ),
}

#[test]
fn the_five_scenarios_plan_and_validate_as_the_reference_says() {
    let current = ("2025-12-03", "2026-12-03");
    let cases = [
        (
            "active_member_clean",
            Expect {
                member: "active",
                network: "in_network",
                elig_status: "active",
                window: current,
                claim: ("paid", "99213", "Z00.00", None),
            },
        ),
        (
            "claim_denial_active_member",
            Expect {
                member: "active",
                network: "out_of_network",
                elig_status: "active",
                window: current,
                claim: ("denied", "00000", "Z00.00", Some("invalid_procedure_code")),
            },
        ),
        (
            "expired_eligibility",
            Expect {
                member: "active",
                network: "in_network",
                elig_status: "expired",
                window: ("2024-06-01", "2025-06-01"),
                claim: ("denied", "00000", "Z00.00", Some("expired_eligibility")),
            },
        ),
        (
            "inactive_member_with_history",
            Expect {
                member: "inactive",
                network: "in_network",
                elig_status: "inactive",
                window: current,
                claim: ("paid", "99213", "Z00.00", None),
            },
        ),
        (
            "out_of_network_pending_claim",
            Expect {
                member: "active",
                network: "out_of_network",
                elig_status: "active",
                window: current,
                claim: ("pending", "70553", "M54.5", None),
            },
        ),
    ];
    for (id, e) in cases {
        let p = plan(id, &Constraints::new()).unwrap_or_else(|err| panic!("{id}: {err}"));
        let order: Vec<&str> = p.tables.iter().map(|t| &*t.table).collect();
        assert_eq!(
            order,
            ["plan", "provider", "member", "eligibility", "claim"],
            "{id}"
        );
        assert_eq!(p.row_count(), 5, "{id}");

        let plan_row = p.row("plan").unwrap();
        assert_eq!(
            plan_row.text("plan_id"),
            Some(format!("plan-{RUN}").as_str())
        );
        assert_eq!(plan_row.get("effective_date"), Some(&date("2026-01-01")));
        assert!(
            [
                "Bronze Health Plan",
                "Silver Health Plan",
                "Gold Health Plan",
                "Platinum Health Plan"
            ]
            .contains(&plan_row.text("name").unwrap())
        );
        assert!(["hmo", "ppo", "epo", "pos"].contains(&plan_row.text("coverage_type").unwrap()));

        let prov = p.row("provider").unwrap();
        assert_eq!(
            prov.text("provider_id"),
            Some(format!("prov-{RUN}").as_str()),
            "{id}"
        );
        assert_eq!(prov.text("network_status"), Some(e.network), "{id}");
        assert!(prov.text("name").unwrap().starts_with("FAKE_Clinic_"));
        assert!(!healthcare::npi_passes_luhn(prov.text("npi_fake").unwrap()));

        let m = p.row("member").unwrap();
        assert_eq!(m.text("member_id"), Some(format!("m-{RUN}").as_str()));
        assert_eq!(m.text("status"), Some(e.member), "{id}");
        assert_eq!(m.text("plan_id"), Some(format!("plan-{RUN}").as_str()));
        assert!(healthcare::FIRST_NAMES.contains(&m.text("first_name").unwrap()));
        assert!(healthcare::LAST_NAMES.contains(&m.text("last_name").unwrap()));
        assert!(healthcare::CITIES.contains(&m.text("address_city").unwrap()));
        assert_eq!(m.text("address_state"), Some("ZZ"));
        assert!(m.text("address_line1").unwrap().ends_with(" FAKE_Main_St"));
        let zip = m.text("address_zip").unwrap();
        assert!(
            zip.len() == 5 && zip.bytes().all(|b| b.is_ascii_digit()),
            "{zip}"
        );
        assert!(matches!(m.get("date_of_birth"), Some(Value::Date(b)) if *b < d()));

        let el = p.row("eligibility").unwrap();
        assert_eq!(
            el.text("eligibility_id"),
            Some(format!("elig-{RUN}").as_str())
        );
        assert_eq!(el.text("status"), Some(e.elig_status), "{id}");
        assert_eq!(el.get("effective_from"), Some(&date(e.window.0)), "{id}");
        assert_eq!(el.get("effective_to"), Some(&date(e.window.1)), "{id}");

        let c = p.row("claim").unwrap();
        assert_eq!(c.text("claim_id"), Some(format!("claim-{RUN}").as_str()));
        assert_eq!(c.text("member_id"), Some(format!("m-{RUN}").as_str()));
        assert_eq!(c.text("provider_id"), Some(format!("prov-{RUN}").as_str()));
        assert_eq!(
            (
                c.text("status").unwrap(),
                c.text("procedure_code").unwrap(),
                c.text("diagnosis_code").unwrap(),
                c.text("denial_reason")
            ),
            e.claim,
            "{id}"
        );
        assert_eq!(
            c.get("submitted_at").unwrap().to_json(),
            serde_json::json!("2026-06-01T12:00:00Z")
        );
        for t in &p.tables {
            for row in p.rows(&t.table) {
                assert_eq!(
                    row.text("test_run_id"),
                    Some(RUN),
                    "every seeded row carries the run id"
                );
            }
        }

        let keys = p.entity_keys(healthcare::pack().schema(), &|_| None);
        assert_eq!(
            serde_json::Value::Object(keys),
            serde_json::json!({
                "plan_id": format!("plan-{RUN}"), "provider_id": format!("prov-{RUN}"), "member_id": format!("m-{RUN}"),
                "eligibility_id": format!("elig-{RUN}"), "claim_id": format!("claim-{RUN}"),
            })
        );
    }
}

#[test]
fn the_scenarios_link_their_requirements() {
    let pack = healthcare::pack();
    let req = |id: &str| pack.scenario(id).unwrap().requirements.clone();
    assert_eq!(req("active_member_clean"), ["FR-001", "FR-005", "FR-010"]);
    assert_eq!(
        req("claim_denial_active_member"),
        ["FR-001", "FR-005", "FR-010", "FR-011"]
    );
    assert_eq!(req("expired_eligibility"), ["FR-001", "FR-010", "FR-011"]);
    assert_eq!(req("inactive_member_with_history"), ["FR-010", "FR-011"]);
    assert_eq!(
        req("out_of_network_pending_claim"),
        ["FR-001", "FR-010", "FR-011"]
    );
    let ids: Vec<&str> = pack.catalog().list().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids.len(),
        5,
        "the template is not a requestable scenario: {ids:?}"
    );
}

fn rejected(scenario: &str, c: &Constraints) -> Vec<(String, String)> {
    match plan(scenario, c) {
        Err(Error::Rejected(r)) => r
            .failures
            .into_iter()
            .map(|f| (f.validator, f.message))
            .collect(),
        other => panic!("{scenario}: expected a rejection, got {other:?}"),
    }
}

#[test]
fn validator_examples_of_the_reference() {
    let f = rejected(
        "active_member_clean",
        &constraints(&[("member_status", "inactive".into())]),
    );
    assert_eq!(
        f.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
        ["healthcare.eligibility_status_matches_member"]
    );

    let f = rejected(
        "expired_eligibility",
        &constraints(&[("eligibility_status", "active".into())]),
    );
    assert_eq!(
        f.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
        ["healthcare.eligibility_window_contains_claim"]
    );

    let f = rejected(
        "claim_denial_active_member",
        &constraints(&[
            ("procedure_code", "99213".into()),
            ("denial_reason", "".into()),
        ]),
    );
    assert_eq!(
        f.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
        ["healthcare.denial_requires_invalid_code"]
    );

    let f = rejected(
        "inactive_member_with_history",
        &constraints(&[
            ("eligibility_status", "active".into()),
            ("claim_status", "pending".into()),
            ("eligibility_window", "future".into()),
        ]),
    );
    assert_eq!(
        f.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
        [
            "healthcare.eligibility_status_matches_member",
            "healthcare.eligibility_window_contains_claim"
        ],
        "both failures, in declared order"
    );
}

#[test]
fn failures_name_the_values_involved() {
    let pack = healthcare::pack();
    let c = constraints(&[("member_status", "inactive".into())]);
    let Err(Error::Rejected(r)) =
        pack.plan_validated("active_member_clean", &c, &ctx(), &BTreeMap::new())
    else {
        panic!()
    };
    let f = &r.failures[0];
    assert_eq!(f.values["member_status"], "inactive");
    assert_eq!(f.values["eligibility_status"], "active");
    assert!(
        r.to_string()
            .contains("an inactive member cannot have active eligibility"),
        "{r}"
    );
}

#[test]
fn the_reverse_of_r1_and_paid_claims_outside_the_window_are_allowed() {
    plan(
        "inactive_member_with_history",
        &constraints(&[("member_status", "active".into())]),
    )
    .unwrap();
    plan(
        "active_member_clean",
        &constraints(&[("eligibility_window", "expired_last_year".into())]),
    )
    .unwrap();
}

#[test]
fn a_denied_claim_defaults_to_the_denial_driver_codes() {
    let p = plan(
        "active_member_clean",
        &constraints(&[("claim_status", "denied".into())]),
    )
    .unwrap();
    let c = p.row("claim").unwrap();
    assert_eq!(
        (
            c.text("procedure_code"),
            c.text("diagnosis_code"),
            c.text("denial_reason")
        ),
        (
            Some("00000"),
            Some("ZZZ.99"),
            Some("invalid_procedure_code")
        )
    );
    let p = plan(
        "active_member_clean",
        &constraints(&[
            ("claim_status", "denied".into()),
            ("procedure_code", "70553".into()),
        ]),
    )
    .unwrap();
    assert_eq!(
        p.row("claim").unwrap().text("procedure_code"),
        Some("70553"),
        "explicit codes override"
    );
}

#[test]
fn per_run_codes_are_seeded_only_when_asked_for() {
    let p = plan(
        "claim_denial_active_member",
        &constraints(&[
            ("procedure_code", "per_run".into()),
            ("procedure_code_is_valid", "false".into()),
            ("denial_reason", "".into()),
        ]),
    )
    .expect("a per-run invalid code satisfies the denial rule");
    let code = p.row("procedure_code").unwrap();
    assert_eq!(code.text("code"), Some(format!("PC-{RUN}").as_str()));
    assert_eq!(code.get("is_valid"), Some(&Value::Bool(false)));
    assert_eq!(
        p.row("claim").unwrap().text("procedure_code"),
        Some(format!("PC-{RUN}").as_str())
    );
    assert_eq!(
        &*p.tables[0].table, "procedure_code",
        "codes are inserted first"
    );
    let keys = p.entity_keys(healthcare::pack().schema(), &|_| None);
    assert_eq!(keys["procedure_code"], format!("PC-{RUN}"));
}

#[test]
fn bad_constraints_are_typed_errors_naming_key_and_allowed_values() {
    let e = plan(
        "claim_denial_active_member",
        &constraints(&[("member_status", "zombie".into())]),
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidConstraint);
    let m = e.to_string();
    assert!(
        m.contains("member_status") && m.contains("'active', 'inactive'"),
        "{m}"
    );

    let e = plan(
        "claim_denial_active_member",
        &constraints(&[("colour", "red".into())]),
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidConstraint);
    assert!(
        e.to_string().contains("claim_status") && e.to_string().contains("colour"),
        "{e}"
    );

    let e = plan("claim_denial_active_membr", &Constraints::new()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ScenarioNotFound);
    assert!(
        e.to_string()
            .contains("did you mean \"claim_denial_active_member\""),
        "{e}"
    );
}

#[test]
fn the_catalog_finds_scenarios_by_intent() {
    let pack = healthcare::pack();
    let top = |q: &str| {
        pack.catalog()
            .find(q, 3)
            .first()
            .map(|m| m.id.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        top("a member whose claim was denied because coverage ended"),
        "expired_eligibility"
    );
    assert_eq!(
        top("an active member with a denied claim from an out-of-network provider"),
        "claim_denial_active_member"
    );
    assert_eq!(top("pending MRI claim"), "out_of_network_pending_claim");
    assert_eq!(
        top("inactive member history"),
        "inactive_member_with_history"
    );
    assert_eq!(top("clean happy path"), "active_member_clean");
    assert!(pack.catalog().find("the quick brown fox", 3).is_empty());
}

#[test]
fn describe_lists_knobs_with_allowed_values() {
    let d = healthcare::pack()
        .describe("claim_denial_active_member")
        .unwrap();
    let status = d.knobs.iter().find(|k| k.name == "claim_status").unwrap();
    assert_eq!(status.default, "denied");
    assert_eq!(status.values.as_ref().unwrap().len(), 3);
    assert_eq!(d.knobs.len(), 12);
    assert_eq!(d.validators.len(), 4);
}
