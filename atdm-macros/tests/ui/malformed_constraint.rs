use atdm_sqlx::atdm_scenario;

#[atdm_scenario("claim_denial_active_member", constraints(provider_network))]
#[test]
fn no_value(_data: atdm_sqlx::testing::Seeded) {}

#[atdm_scenario("claim_denial_active_member", constraints(provider_network = in_network))]
#[test]
fn not_a_literal(_data: atdm_sqlx::testing::Seeded) {}

#[atdm_scenario(
    "claim_denial_active_member",
    constraints(claim_status = "denied", claim_status = "paid", a.b = 1)
)]
#[test]
fn twice_and_a_path(_data: atdm_sqlx::testing::Seeded) {}

fn main() {}
