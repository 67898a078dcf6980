use atdm_sqlx::atdm_scenario;

#[atdm_scenario("claim_denial_active_member")]
struct NotATest;

#[atdm_scenario("claim_denial_active_member")]
mod not_a_test_either {}

fn main() {}
