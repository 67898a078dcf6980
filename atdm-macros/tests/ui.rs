//! Misuse of `#[atdm_scenario]` is a compile error with a span. The expected messages are the
//! `.stderr` files beside each case; regenerate them with `TRYBUILD=overwrite` after a
//! deliberate change and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
