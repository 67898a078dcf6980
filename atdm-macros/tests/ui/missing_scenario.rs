use atdm_sqlx::atdm_scenario;

#[atdm_scenario]
#[test]
fn no_arguments_at_all(_data: atdm_sqlx::testing::Seeded) {}

#[atdm_scenario(seed = 42)]
#[test]
fn options_but_no_name(_data: atdm_sqlx::testing::Seeded) {}

#[atdm_scenario("")]
#[test]
fn empty_name(_data: atdm_sqlx::testing::Seeded) {}

fn main() {}
