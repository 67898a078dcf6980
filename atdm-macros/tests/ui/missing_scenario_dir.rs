use atdm_sqlx::atdm_scenario;

// A scenario directory that does not exist is a compile error, reported with the other
// misuses of the same attribute.
#[atdm_scenario("author_with_books", scenario_dir = "no/such/dir", seed = -1)]
#[test]
fn books(_data: atdm_sqlx::testing::Seeded) {}

fn main() {}
