//! The `atdm` binary, run as a user runs it, against real databases: SQLite always,
//! PostgreSQL when `ATDM_TEST_POSTGRES_URL` is set (required when `ATDM_REQUIRE_DATABASES=1`).
//!
//! Every test works in its own temporary directory (store, fixtures, files) and its own
//! database, and never in the working directory.

#![allow(missing_docs)]

#[path = "../../../tests/tests/support/mod.rs"]
mod support;

#[path = "../common/mod.rs"]
mod common;

mod harness;
mod killed;
mod mask;
mod offline;
mod on_database;
