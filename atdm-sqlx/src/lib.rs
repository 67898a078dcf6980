//! # atdm-sqlx: the ATDM engine
//!
//! The half of ATDM that touches a database. It takes the plans `atdm-core` validates and
//! writes them into SQLite (the embedded default), PostgreSQL or MySQL/MariaDB, and removes
//! exactly what each run wrote.
//!
//! One dependency is enough (it re-exports what a test needs from `atdm-core` and chrono):
//!
//! ```toml
//! [dev-dependencies]
//! atdm-sqlx = { path = "../atdm/atdm-sqlx" }   # a checkout of this repository
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! ```no_run
//! use atdm_sqlx::domains::healthcare;
//! use atdm_sqlx::{Engine, Request};
//!
//! # async fn run() -> Result<(), atdm_sqlx::Error> {
//! let engine = Engine::builder(healthcare::pack())
//!     .database_url("postgres://postgres@127.0.0.1:5432/test") // default: ./.atdm/atdm.sqlite
//!     .connect()
//!     .await?;
//! let seeded = engine.request("claim_denial_active_member", Request::new()).await?;
//! println!("member {}", seeded.key("member_id").unwrap());
//! let report = engine.reset_run(&seeded.run_id, seeded.token.expose()).await?;
//! assert_eq!(report.deleted["claim"], 1);
//! # Ok(()) }
//! ```
//!
//! ## What the engine promises
//!
//! - **One transaction per request.** Every planned row, the run's catalog entry and its ledger
//!   (which rows it owns) commit together, or nothing does. A plan the validators reject never
//!   reaches the database; a plan the database refuses rolls back with
//!   [`Error::SeedFailed`] and the database's own message.
//! - **Exact reset on any schema.** [`Engine::reset_run`] deletes the rows in the run's ledger,
//!   children before parents, in one transaction; it does not depend on a `test_run_id`
//!   column (it fills one where a table has it). A wrong token deletes nothing
//!   ([`Error::TokenMismatch`]); a repeat reports [`ResetStatus::AlreadyCleaned`].
//! - **Foreign-key cycles.** Rows of tables whose foreign keys form a cycle (a store whose
//!   manager is a staff member of the store) are written together in the same transaction:
//!   the keys the database would assign are drawn first (PostgreSQL: from the column's
//!   sequence), then SQLite checks the foreign keys at commit, PostgreSQL writes the rows with
//!   one statement of writable common table expressions (non-deferrable constraints are fine),
//!   and MySQL/MariaDB switch foreign-key checks off for those statements while the engine
//!   checks every foreign key of the rows itself before it commits. Resets and restores do the
//!   same.
//! - **Keys like the table's own.** An integer primary key that the database does not assign
//!   continues after the table's largest key (drawn when the rows are written, under the
//!   transaction's lock), so seeded rows sit beside existing ids.
//! - **No SQL from callers.** Statements are built only from the schema's identifiers, quoted
//!   for the backend; every value is a bound parameter.
//! - **Crash safety.** Every run has a lease ([`EngineBuilder::lease`]); [`Engine::reap_expired`]
//!   resets runs whose lease has passed, and a new engine does so when it starts.
//! - **Parallel runs.** Keys embed the run id and every write is scoped to a run, so test runs
//!   in parallel threads or processes share one database without seeing each other's rows.
//! - **Baselines.** [`Engine::snapshot`] keeps every table (and the run catalog) as Parquet
//!   in the store with a manifest of row counts and order-independent checksums; an id is
//!   never overwritten. [`Engine::restore`] puts a baseline back in one transaction (the
//!   newest without an id), [`Engine::list_baselines`] lists them newest first and
//!   [`Engine::diff_baselines`] compares two by primary key.
//!
//! ## Where things are kept
//!
//! The run catalog, the ledger and the audit outbox live in the target database: the `atdm`
//! schema on PostgreSQL (`atdm.runs`, `atdm.ledger`, `atdm.outbox`), prefixed tables elsewhere
//! (`atdm_runs`, `atdm_ledger`, `atdm_outbox`). The cleanup token is stored only as its
//! SHA-256 hash.
//!
//! ## Configuration
//!
//! | setting | builder | environment | default |
//! |---|---|---|---|
//! | database | [`EngineBuilder::database_url`] | `ATDM_DATABASE_URL` | `sqlite://.atdm/atdm.sqlite` (WAL) |
//! | reference date | [`EngineBuilder::reference_date`] | | today (UTC), per request |
//! | invoker | [`EngineBuilder::invoker`] | `USER` | `atdm` |
//! | lease | [`EngineBuilder::lease`] | | one hour |
//! | pool size | [`EngineBuilder::pool_size`] | | 8 |
//! | create tables and reference rows | [`EngineBuilder::apply_schema`] | | yes |
//! | reap expired runs at start-up | [`EngineBuilder::reap_on_start`] | | yes |
//! | fixture files (when a request asks) | [`EngineBuilder::fixture_dir`] | `ATDM_FIXTURE_DIR` | `.atdm/fixtures` |
//! | audit trail and baselines | [`EngineBuilder::store_url`] | `ATDM_STORE_URL` | `.atdm/store` (see [`Store`]) |
//!
//! ## Your own database
//!
//! [`scaffold`] reads a live database's schema and writes a scenario directory for it
//! (`schema.toml`, a scenario `every_table` with one valid row in every table, and a scenario
//! `one_<table>` per table); [`pack_from_dir`] loads it, and so do `atdm --scenario-dir DIR`,
//! `ATDM_SCENARIO_DIR` (for `atdm`, `#[atdm_scenario]` and Python) and Python's
//! `scenario_dir=`. The command-line tool does the same with `atdm introspect --out DIR`.
//!
//! The front ends (`atdm`, its MCP server, `#[atdm_scenario]`, Python) choose their pack with
//! [`resolve_pack`]: the scenario directory, else a built-in pack named with `--pack` or
//! `ATDM_PACK`, else the healthcare demo pack on the embedded default database only. Pointed
//! at any other database without a scenario directory, they fail before connecting with
//! [`Error::NoScenarioDir`] (code `NO_SCENARIO_DIR`), which says what to run, and create
//! nothing: no table, no catalog, no store directory. The Rust API is explicit: an engine
//! uses the pack given to [`Engine::builder`], on any database.
//!
//! ## Audit trail
//!
//! Every request, dry run ([`Engine::plan`]), reset, `reset_all`, reaping, snapshot and
//! restore writes its events (see [`atdm_core::audit::AuditAction`]) in the order they
//! happen, as immutable Parquet objects in the store, written once with put-if-absent:
//! `audit/dt=YYYY-MM-DD/run=<run id>/<time>-<event id>.parquet`. The events before a seed
//! (and a snapshot or restore) are written before it: if the store cannot take them, nothing
//! happens ([`Error::Audit`]). A reset's events are written when it is over, so a broken
//! store never keeps test data alive. The record of a seed, reset or restore commits with its rows in
//! the database's audit outbox and leaves it once the store holds it, so a process killed
//! after its commit, or a store that is down, loses nothing: the next engine writes it (on its
//! first audit write and in [`Engine::flush_audit`]); [`Engine::audit`] shows such events as
//! `pending`. Other events written after their action (refusals) are counted and retried by
//! every later write of the process. No
//! event holds a cleanup token. Read a trail with [`Engine::audit`] (JSON) or
//! [`Engine::audit_html`] (a self-contained page for people), or with any Parquet reader
//! (pyarrow, DuckDB, Polars). `reset_all`, snapshot and restore run as strategy runs with
//! their own id, `strategy-<name>-<ULID>`.
//!
//! ## Metrics
//!
//! Through the [`metrics`](https://docs.rs/metrics) facade, so the application's own
//! exporter sees them, and as Prometheus text from [`Engine::metrics_text`]:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `atdm_requests_total` | counter | `scenario`, `status` (`ok`, `rejected`, `failed`) |
//! | `atdm_resets_total` | counter | `strategy` (`reset_run`, `reset_all`, `reap`, `restore`), `status` |
//! | `atdm_seeded_rows_total` | counter | `table` |
//! | `atdm_validator_rejections_total` | counter | `validator` |
//! | `atdm_audit_events_total` | counter | `action`, `status` |
//! | `atdm_audit_write_seconds` | histogram | |
//! | `atdm_audit_write_failures_total` | counter | |
//! | `atdm_audit_events_dropped_total` | counter (stays 0) | |
//!
//! ## How the crate is organised
//!
//! One module per capability, written once, over one module per database:
//!
//! | module | what it holds |
//! |---|---|
//! | `engine` | [`Engine`] and its builder; `request` (plan, validator gate, seed, fixtures), `seed` (the seed transaction), `reset` (reset, reset_all, reaping), `setup` (catalog, pack tables, reference rows), `existing` (rows a scenario may point at) |
//! | `catalog` | the run catalog and ledger: their DDL, statements and reads ([`RunInfo`]) |
//! | `audit` | the audit log on the store ([`AuditLog`]), the per-run recorder every action writes through, the JSON and HTML views |
//! | `baseline` | snapshot, restore, list and diff; `codec` (stored forms, checksums), `objects` (Parquet) |
//! | `introspect` | a live schema into the model ([`introspect`], [`introspect_with`]): `build` (catalog to checked schema), `partition` (bounds as checks), `trigger` (what a trigger may change), `hints` (cycles, triggers, undeclared references), `sql_text` (scans what catalogs print) |
//! | `backend` | the surface a database provides (`Backend`, `Conn`, `Tx`) and `sqlite`, `postgres`, `mysql`: connecting, binding and decoding values, batching, the bulk path, setup locks, restore hooks, catalog queries |
//! | `store`, `fixture_files`, `metrics`, `pack_dir`, `pack_choice`, `scaffold`, `testing` | the object store, fixture files, metrics, scenario directories, which pack a front end uses, writing a scenario directory from a database, `#[atdm_scenario]` support |
//!
//! Everything that differs between databases lives in its `backend` module; the capabilities
//! never ask which database they run on, only what it can do (a bulk path, a write lock held
//! from the start of a transaction, how baselines find values stored). A new database is one
//! new `backend` module and one line where a URL's scheme picks the backend.
//!
//! ## The `atdm` command-line tool
//!
//! The `atdm` binary lives in its own crate, `atdm-cli` (`cargo install --path atdm-cli`), on
//! this crate's public API: every engine capability from the shell, with JSON output for
//! scripts (`-o json`), and the MCP server. See `docs/cli.md`. This crate builds none of its
//! dependencies (clap, indicatif, the MCP SDK).

mod audit;
mod backend;
mod baseline;
mod catalog;
mod engine;
mod error;
mod fixture_files;
mod generate;
mod introspect;
pub mod mask;
mod metrics;
mod pack_choice;
mod pack_dir;
mod scaffold;
mod store;

/// Support for `#[atdm_scenario]`'s expansion. **Not public API**: it may change in any
/// release without notice.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod testing;

pub use atdm_core::generate::EdgeCases;
pub use audit::AuditLog;
pub use backend::redact as redact_url;
pub use baseline::{
    BASELINE_FORMAT_VERSION, BaselineDiff, BaselineManifest, BaselineTable, DIFF_KEY_LIMIT,
    RestoreReport, SchemaVersion, SnapshotOptions, TableDiff,
};
pub use catalog::{RunFilter, RunInfo, RunPage};
pub use engine::{
    Confirmation, DEFAULT_DATABASE_URL, DEFAULT_LEASE, ENV_DATABASE_URL, Engine, EngineBuilder,
    LOAD_SCENARIO, Load, Loaded, Owned, OwnedValues, Request, ResetAllReport, ResetReport,
    ResetStatus, Seeded,
};
pub use error::Error;
pub use fixture_files::{DEFAULT_FIXTURE_DIR, ENV_FIXTURE_DIR};
pub use generate::{
    Destination, FileFormat, GenerateOptions, GenerateReport, GeneratedFile, GeneratedTable,
    MAX_ROWS_PER_TABLE, Progress, arrow_ipc, batch_rows_of, dataset_options, generate_files,
    ipc_range, sql_literal,
};
pub use introspect::{IntrospectOptions, Introspection, introspect, introspect_with};
pub use pack_choice::{BUILTIN_PACKS, ENV_PACK, resolve_pack};
pub use pack_dir::pack_from_dir;
pub use scaffold::{ScaffoldOptions, ScaffoldReport, scaffold};
pub use store::{DEFAULT_STORE_URL, ENV_STORE_URL, Store};

pub use testing::atdm_scenario;

// What a test author needs from the core and from chrono, so `atdm-sqlx` is the one
// dependency a test needs. The whole core is `atdm_sqlx::atdm_core`.
pub use atdm_core;
pub use atdm_core::{Constraints, ErrorCode, Pack, Value, domains};
pub use chrono::NaiveDate;
