//! # Scenarios in Rust tests: `#[atdm_scenario]`
//!
//! [`atdm_scenario`] seeds a scenario before a test's body and resets
//! exactly that run afterwards: when the body returns, when it panics, and when an async test
//! is cancelled (its future dropped). Write it **above** the test attribute; the first
//! argument without attributes receives the [`Seeded`] data (the argument is optional).
//!
//! ```no_run
//! use atdm_sqlx::atdm_scenario;
//! use atdm_sqlx::testing::Seeded;
//!
//! #[atdm_scenario("claim_denial_active_member")]
//! #[tokio::test]
//! async fn denied_claim_is_listed(data: Seeded) {
//!     let member_id = data.key("member_id");
//!     // ... run the code under test against member_id ...
//! }
//!
//! #[atdm_scenario(
//!     "claim_denial_active_member",
//!     constraints(provider_network = "in_network"),
//!     seed = 42,
//!     reference_date = "2026-06-01",
//! )]
//! #[test]
//! fn plain_tests_work_too(data: Seeded) {
//!     assert_eq!(data.seed(), 42);
//! }
//! ```
//!
//! Both tokio flavours (`#[tokio::test]`, `#[tokio::test(flavor = "multi_thread")]`) and plain
//! `#[test]` functions work, as do `#[should_panic]` and other attributes, which the macro
//! keeps.
//!
//! ## Options
//!
//! | option | example | meaning |
//! |---|---|---|
//! | scenario (first, required) | `"claim_denial_active_member"` | the scenario id; an unknown id fails the test with a message naming close matches |
//! | `constraints(...)` | `constraints(provider_network = "out_of_network", claim_count = 2)` | knob values: strings, integers, booleans |
//! | `seed` | `seed = 42` | the generator seed (default: derived from the run id) |
//! | `reference_date` | `reference_date = "2026-06-01"` | "today" for the run (default: the current UTC date) |
//! | `scenario_dir` | `scenario_dir = "tests/scenarios"` | the crate's own scenario directory (`schema.toml` and scenario files, as `atdm introspect --out` writes), relative to its `Cargo.toml` like `#[sqlx::test(migrations = "...")]`; wins over `ATDM_SCENARIO_DIR` and `ATDM_PACK`, and the tests naming one directory share one engine |
//!
//! Misuse is a compile error pointing at the mistake, every one of an attribute at once: a
//! missing scenario name, an unknown option, a malformed constraint, a `scenario_dir` that is
//! not a directory with a `schema.toml`, an item that is not a function, or an argument that
//! is not a [`Seeded`].
//!
//! In the body, [`Seeded::key`] gives one key as text (an integer key as its digits),
//! [`Seeded::keys`] the keys of a row with `count`, and [`Seeded::get`] any type serde reads
//! (`data.get::<i64>("author_id")`, `data.get::<Vec<i64>>("book_ids")`); each panics at the
//! test's line with the keys the scenario has.
//!
//! ## The engine: one per test binary, from the environment
//!
//! All tests of a test binary share one engine (one connection pool; one more per
//! `scenario_dir`), built on first use from these variables and kept on a dedicated runtime
//! of its own:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `ATDM_DATABASE_URL` | the database: `sqlite:...`, `postgres://...`, `mysql://...` | the embedded SQLite `sqlite://.atdm/atdm.sqlite` (relative to the test's working directory, the package directory under `cargo test`) |
//! | `ATDM_SCENARIO_DIR` | a directory with `schema.toml`, an optional `reference.toml`, and scenario files (every other `*.toml`), such as `atdm introspect --out DIR` writes; the pack is built from them with [`crate::pack_from_dir`] | the healthcare demo pack, on the embedded default database only |
//! | `ATDM_PACK` | `healthcare`: the healthcare demo pack on any database, when `ATDM_SCENARIO_DIR` is not set | |
//! | `ATDM_LEASE_SECONDS` | the lease of each test run, in seconds: how long a run of a killed test process lives before an engine start reaps it; a test that is still running renews its run's lease every third of it ([`crate::Engine::renew_lease`]), so a long test is never reaped mid-test | one hour ([`crate::DEFAULT_LEASE`]) |
//! | `ATDM_STORE_URL` | reserved for the audit store; accepted and not yet used | |
//!
//! With `ATDM_DATABASE_URL` pointing at any other database than the embedded default, set
//! `ATDM_SCENARIO_DIR` (or `ATDM_PACK=healthcare` for the demo scenarios): without either, the
//! first test that seeds panics with a message that says so (code `NO_SCENARIO_DIR`), and
//! nothing is created in that database.
//!
//! ## Teardown and crash safety
//!
//! The reset runs in the drop guard the macro places before the body, on the shared engine's
//! runtime, so it works whether or not a runtime is running on the test's thread. A failing
//! reset is printed to standard error and never replaces the test's own outcome. A test
//! process killed outright (SIGKILL) cannot reset; its run's lease expires, and the next
//! engine start (or [`Engine::reap_expired`](crate::Engine::reap_expired)) removes its rows.
//!
//! ## Isolation
//!
//! Every test gets its own run; keys embed the run id and resets delete by the run's ledger,
//! so tests in parallel threads (`cargo test`) and processes (`cargo nextest`) share one
//! database without seeing each other's rows. Query by the keys of [`Seeded`], not by table
//! totals.
//!
//! ## With rstest
//!
//! `#[atdm_scenario]` works beside `#[rstest]`: put it **above** `#[rstest]`. It expands
//! first, takes the `Seeded` argument (the first argument without attributes) and wraps the
//! body; rstest then sees an ordinary function with its `#[case]` arguments and generates one
//! test per case, each of which seeds and resets its own run. Plain rstest fixtures (arguments
//! without attributes) must come after the `Seeded` argument. Below `#[rstest]` the attribute
//! would be applied to rstest's generated wrappers, which does not work.
//!
//! ```no_run
//! use atdm_sqlx::atdm_scenario;
//! use atdm_sqlx::testing::Seeded;
//! use rstest::rstest;
//!
//! #[atdm_scenario("claim_denial_active_member")]
//! #[rstest]
//! #[case("member_id")]
//! #[case("claim_id")]
//! fn has_key(data: Seeded, #[case] name: &str) {
//!     assert!(!data.key(name).is_empty());
//! }
//! ```

use std::collections::BTreeMap;

use chrono::NaiveDate;

pub use atdm_macros::atdm_scenario;

/// The environment variable naming a scenario directory for the tests' engine (and the
/// `atdm` tool and Python).
pub const ENV_SCENARIO_DIR: &str = "ATDM_SCENARIO_DIR";

/// The environment variable giving the lease of each test run, in seconds.
pub const ENV_LEASE_SECONDS: &str = "ATDM_LEASE_SECONDS";

/// The environment variable of the audit store URL (see [`crate::Store`]); tests do not
/// write audit events yet.
pub use crate::store::ENV_STORE_URL;

/// The seeded run a test receives: its keys, run id and data.
///
/// It wraps the [`crate::Seeded`] that [`crate::Engine::request`] returns; where that one's
/// `key` is an `Option` for code that handles absence, this one's accessors panic, at the
/// caller's line, with a message naming the keys the scenario has: what a test wants.
#[derive(Debug, Clone)]
pub struct Seeded {
    inner: crate::Seeded,
    /// Single keys as text (an integer key as its digits), for [`Seeded::key`].
    text: BTreeMap<String, String>,
}

impl Seeded {
    pub(crate) fn new(inner: crate::Seeded) -> Self {
        let text = inner
            .data
            .iter()
            .filter_map(|(k, v)| key_text(v).map(|t| (k.clone(), t)))
            .collect();
        Seeded { inner, text }
    }

    /// The run id (a ULID).
    pub fn run_id(&self) -> &str {
        &self.inner.run_id
    }

    /// The request id (`tdr_` and 12 hex digits).
    pub fn request_id(&self) -> &str {
        &self.inner.request_id
    }

    /// The scenario.
    pub fn scenario(&self) -> &str {
        &self.inner.scenario
    }

    /// The key of a seeded entity as text (`data.key("member_id")`); an integer key as its
    /// digits.
    ///
    /// # Panics
    ///
    /// When the scenario has no entity of that name (the message lists the names it has), or
    /// the entity is a list of rows (use [`Seeded::keys`]) or has a composite key (use
    /// [`Seeded::get`]).
    #[track_caller]
    pub fn key(&self, name: &str) -> &str {
        match self.text.get(name) {
            Some(t) => t,
            None => self.wrong(
                name,
                self.entry(name),
                "one key; a list is read with keys(), a composite key with get()",
            ),
        }
    }

    /// The keys of an entity of several rows (a row with `count`), in row order; a
    /// single-row entity gives a list of one.
    ///
    /// # Panics
    ///
    /// As [`Seeded::key`], and when a key is composite.
    #[track_caller]
    pub fn keys(&self, name: &str) -> Vec<String> {
        let v = self.entry(name);
        let keys = match v {
            serde_json::Value::Array(items) => items.iter().map(key_text).collect(),
            other => key_text(other).map(|k| vec![k]),
        };
        keys.unwrap_or_else(|| self.wrong(name, v, "a list of single-column keys"))
    }

    /// An entity's keys as any type serde reads them into: `data.get::<i64>("customer")`,
    /// `data.get::<Vec<i64>>("book_ids")`, a struct or map for a composite key.
    ///
    /// # Panics
    ///
    /// As [`Seeded::key`], and when the value does not fit `T`.
    #[track_caller]
    pub fn get<T: serde::de::DeserializeOwned>(&self, name: &str) -> T {
        let v = self.entry(name);
        T::deserialize(v).unwrap_or_else(|e| {
            self.wrong(name, v, &format!("{} ({e})", std::any::type_name::<T>()))
        })
    }

    #[track_caller]
    fn entry(&self, name: &str) -> &serde_json::Value {
        self.inner.data.get(name).unwrap_or_else(|| {
            panic!(
                "scenario {:?} has no entity {name:?}; its keys are: {}",
                self.inner.scenario,
                self.inner
                    .data
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    #[track_caller]
    fn wrong(&self, name: &str, v: &serde_json::Value, wanted: &str) -> ! {
        let streamed = if v.get("table").is_some() && v.get("rows").is_some() {
            "; it is a streamed entry (10,000 rows or more), whose keys are not listed: \
             query its table, or lower its count (docs/scenarios.md, \"Large counts\")"
        } else {
            ""
        };
        panic!(
            "entity {name:?} of scenario {:?} is {v}, not {wanted}{streamed}",
            self.inner.scenario
        )
    }

    /// The keys of the seeded entities, by output name.
    pub fn data(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.inner.data
    }

    /// Rows written, per table.
    pub fn rows(&self) -> &BTreeMap<String, u64> {
        &self.inner.rows
    }

    /// The edge cases the rows hold, per table, as `column class` (with `edge_cases`).
    pub fn edge_cases(&self) -> &BTreeMap<String, Vec<String>> {
        &self.inner.edge_cases
    }

    /// The seed used.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The reference date used.
    pub fn reference_date(&self) -> NaiveDate {
        self.inner.reference_date
    }
}

/// A single-column key as text: a string as it is, an integer as its digits.
fn key_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The database URL the tests' engine uses: `ATDM_DATABASE_URL`, or the embedded default.
/// Handy for checking rows with a connection of your own.
pub fn database_url() -> String {
    if let Some(url) = crate::__private::DATABASE_URL.get() {
        return url.clone();
    }
    std::env::var(crate::ENV_DATABASE_URL)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| crate::DEFAULT_DATABASE_URL.to_owned())
}
