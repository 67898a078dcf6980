//! Runnable examples of ATDM; see `examples/` (run with `cargo run -p atdm-examples --example
//! <name>`). This library is empty.
