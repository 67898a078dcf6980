//! Same inputs give byte-identical plans, in this process, in a child process, and against a
//! pinned digest (so a change of output without a new GENERATOR_VERSION fails here).

use std::collections::BTreeMap;
use std::process::Command;

use atdm_core::domains::healthcare;
use atdm_core::generate::GENERATOR_VERSION;
use atdm_core::{Constraints, RunContext, Value};
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

const MARK: &str = "ATDM_PLANS_SHA256=";

fn all_plans_json() -> String {
    let pack = healthcare::pack();
    let ctx = RunContext::new(
        "01JD3QZ8X9K2M4N6P8R0S2T4V6",
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
    );
    let mut out = String::new();
    for s in pack.catalog().list() {
        let p = pack
            .plan_validated(&s.id, &Constraints::new(), &ctx, &BTreeMap::new())
            .unwrap();
        out.push_str(&p.plan().to_json());
        out.push('\n');
    }
    let mut c = Constraints::new();
    c.insert("procedure_code".into(), Value::from("per_run"));
    let p = pack
        .plan(
            "claim_denial_active_member",
            &c,
            &ctx.clone().with_seed(42),
            &BTreeMap::new(),
        )
        .unwrap();
    out.push_str(&p.to_json());
    out
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Run by the parent test in a child process; prints the digest only when asked to.
#[test]
fn child_prints_plan_digest() {
    if std::env::var_os("ATDM_DETERMINISM_CHILD").is_some() {
        println!("{MARK}{}", digest(&all_plans_json()));
    }
}

#[test]
fn plans_are_byte_identical_in_another_process() {
    let here = all_plans_json();
    assert_eq!(here, all_plans_json(), "same process, same bytes");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_prints_plan_digest",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ATDM_DETERMINISM_CHILD", "1")
        .output()
        .expect("the test binary runs as a child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let child = stdout
        .lines()
        .find_map(|l| l.split_once(MARK).map(|(_, d)| &d[..64.min(d.len())]))
        .unwrap_or_else(|| panic!("child printed no digest:\n{stdout}"));
    assert_eq!(child, digest(&here));
}

#[test]
fn plan_output_is_pinned_for_this_generator_version() {
    assert_eq!(
        GENERATOR_VERSION, 2,
        "a new generator version needs a new pinned digest below"
    );
    let got = digest(&all_plans_json());
    assert_eq!(
        got, PINNED,
        "plans changed without a GENERATOR_VERSION bump"
    );
}

const PINNED: &str = "a0837665bc888e335339e9756f8e804883fa6e626ebda5dad049ffd262210a44";
