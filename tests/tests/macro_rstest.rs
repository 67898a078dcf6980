//! `#[atdm_scenario]` beside `#[rstest]`: the attribute goes above `#[rstest]`, and every case
//! seeds and resets a run of its own.

mod macro_support;

use std::sync::Mutex;

use atdm_sqlx::atdm_scenario;
use atdm_sqlx::testing::Seeded;
use macro_support::{assert_live, text};
use rstest::{fixture, rstest};

/// Run ids seen by the cases so far: no two cases share a run.
static RUNS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn own_run(data: &Seeded) {
    let mut runs = RUNS.lock().unwrap();
    assert!(
        !runs.iter().any(|r| r == data.run_id()),
        "each case has its own run"
    );
    runs.push(data.run_id().to_owned());
    assert_live(data.run_id(), data.key("member_id"));
}

#[atdm_scenario("claim_denial_active_member")]
#[rstest]
#[case("member_id")]
#[case("claim_id")]
#[case("provider_id")]
fn every_case_has_its_keys(data: Seeded, #[case] name: &str) {
    own_run(&data);
    assert!(!data.key(name).is_empty());
}

#[atdm_scenario("out_of_network_pending_claim")]
#[rstest]
#[tokio::test]
async fn async_cases(data: Seeded, #[values("member_id", "claim_id")] name: &str) {
    own_run(&data);
    tokio::task::yield_now().await;
    assert!(!data.key(name).is_empty());
}

#[fixture]
fn expected_status() -> &'static str {
    "pending"
}

/// A plain rstest fixture comes after the `Seeded` argument (the first argument without
/// attributes is the seeded one).
#[atdm_scenario("out_of_network_pending_claim")]
#[rstest]
fn with_a_fixture(data: Seeded, expected_status: &str) {
    own_run(&data);
    let status = text(
        "SELECT status FROM claim WHERE claim_id = ?",
        data.key("claim_id"),
    );
    assert_eq!(status.as_deref(), Some(expected_status));
}
