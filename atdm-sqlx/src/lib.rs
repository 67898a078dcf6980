//! # atdm-sqlx: the ATDM engine
//!
//! Seeds validated plans into SQLite (the embedded default), PostgreSQL or MySQL/MariaDB in one
//! transaction, and removes exactly what a run wrote.

mod catalog;
mod db;
mod engine;
mod error;

pub use engine::{
    DEFAULT_DATABASE_URL, DEFAULT_LEASE, ENV_DATABASE_URL, Engine, EngineBuilder, Request,
    ResetAllReport, ResetReport, ResetStatus, RunInfo, Seeded,
};
pub use error::Error;
