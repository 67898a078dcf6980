use atdm_sqlx::atdm_scenario;

// Both unknown options are reported, not only the first.
#[atdm_scenario("claim_denial_active_member", sed = 42, lease = "1h")]
#[test]
fn misspelt(_data: atdm_sqlx::testing::Seeded) {}

fn main() {}
