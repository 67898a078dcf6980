//! # atdm-macros
//!
//! This crate will hold `#[atdm_scenario("...")]`, the attribute that seeds a scenario before a
//! Rust test's body and resets it afterwards through a drop guard, also when the body panics.
//! The macro will stay thin: it parses its arguments and expands to calls into a hidden
//! support module of `atdm-sqlx`, where the behaviour lives as ordinary Rust.
//!
//! It exports nothing yet.
