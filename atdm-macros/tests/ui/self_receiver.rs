use atdm_sqlx::atdm_scenario;

struct Suite;

impl Suite {
    #[atdm_scenario("claim_denial_active_member")]
    fn method(&self) {}
}

fn main() {}
