use atdm_sqlx::atdm_scenario;

#[atdm_scenario("claim_denial_active_member", seed = -1, reference_date = "2026-02-30")]
#[test]
fn bad_values(_data: atdm_sqlx::testing::Seeded) {}

#[atdm_scenario("claim_denial_active_member", reference_date = 20260601)]
#[test]
fn date_not_a_string(_data: atdm_sqlx::testing::Seeded) {}

#[atdm_scenario("claim_denial_active_member", edge_cases = "all")]
#[test]
fn unknown_edge_mode(_data: atdm_sqlx::testing::Seeded) {}

fn main() {}
