// A wrong argument type is a type error pointing at the type. (No test attributes here: a
// non-test build strips #[test] functions before type checking.)
use atdm_sqlx::atdm_scenario;

#[atdm_scenario("claim_denial_active_member")]
fn takes_a_string(data: String) {
    let _ = data;
}

#[atdm_scenario("claim_denial_active_member")]
async fn takes_a_reference(data: &atdm_sqlx::Seeded) {
    let _ = data;
}

fn main() {}
