//! Support for the expansion of `#[atdm_scenario]`.
//!
//! **Not public API.** Everything here exists only for the code `#[atdm_scenario]` generates;
//! it may change in any release without notice. Use [`crate::testing`] instead.
//!
//! How it works: one process-global tokio runtime on its own threads, started on first use,
//! owns one [`Engine`] built from the environment (see [`crate::testing`]), so a test binary
//! has one connection pool and the pool never belongs to a test's own runtime (which
//! `#[tokio::test]` shuts down after each test). Seeding and resetting run as tasks on that
//! runtime; callers wait on a channel, so this works with or without a runtime on the
//! caller's thread and never calls `block_on` there.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::Duration;

use chrono::NaiveDate;

use crate::testing::{ENV_LEASE_SECONDS, Seeded};
use crate::{Engine, Request};

/// The shared runtime and engines of this process: the engine of the environment's pack, and
/// one per `scenario_dir` a test names, each started on first use.
struct Shared {
    runtime: tokio::runtime::Runtime,
    engines: Mutex<HashMap<Option<&'static str>, Result<Engine, String>>>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

/// A database URL given in code, which wins over `ATDM_DATABASE_URL`.
pub(crate) static DATABASE_URL: OnceLock<String> = OnceLock::new();

/// Makes the shared engine use `url` instead of `ATDM_DATABASE_URL` (for benchmarks and
/// harnesses that cannot set the environment before start-up). Returns `false`, changing
/// nothing, when a URL was set before or the engine has started.
pub fn set_database_url(url: impl Into<String>) -> bool {
    SHARED.get().is_none() && DATABASE_URL.set(url.into()).is_ok()
}

/// A built-in pack named in code, which wins over `ATDM_PACK` (a scenario directory in
/// `ATDM_SCENARIO_DIR` still wins over both; see [`crate::resolve_pack`]).
static PACK: OnceLock<String> = OnceLock::new();

/// Makes the shared engine use the built-in pack `name` (`"healthcare"`) when no scenario
/// directory is set, on any database (for benchmarks and harnesses that cannot set
/// `ATDM_PACK` before start-up). Returns `false`, changing nothing, when a pack was set before
/// or the engine has started.
pub fn set_pack(name: impl Into<String>) -> bool {
    SHARED.get().is_none() && PACK.set(name.into()).is_ok()
}

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| Shared {
        runtime: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("atdm-test-engine")
            .enable_all()
            .build()
            .expect("atdm: cannot start the test engine's runtime"),
        engines: Mutex::new(HashMap::new()),
    })
}

/// The engine for a test's `scenario_dir` (`None`: the environment's pack), started on first
/// use; panics with the reason when it cannot start.
#[track_caller]
fn engine(dir: Option<&'static str>) -> Engine {
    let shared = shared();
    // Held while a new engine starts, so tests of one directory share one engine.
    let mut engines = shared.engines.lock().unwrap_or_else(|e| e.into_inner());
    let started = engines.entry(dir).or_insert_with(|| {
        let (tx, rx) = mpsc::channel();
        shared.runtime.spawn(async move {
            let _ = tx.send(connect(dir).await);
        });
        rx.recv()
            .unwrap_or_else(|_| Err("the engine's start-up task ended without an answer".into()))
    });
    match started {
        Ok(e) => e.clone(),
        Err(e) => panic!("atdm: cannot start the test engine: {e}"),
    }
}

/// Builds an engine: the pack of `dir` when the test names one, else chosen from the
/// environment before anything connects ([`crate::resolve_pack`]: without a scenario directory
/// or a named pack, only the embedded default database gets the healthcare demo pack).
async fn connect(dir: Option<&'static str>) -> Result<Engine, String> {
    let url = crate::testing::database_url();
    let pack = match dir {
        Some(dir) => crate::pack_from_dir(std::path::Path::new(dir))
            .map_err(|e| format!("scenario_dir {dir:?}: {e}"))?,
        None => crate::resolve_pack(Some(&url), None, PACK.get().map(String::as_str))
            .map_err(|e| e.to_string())?,
    };
    let mut builder = Engine::builder(pack).database_url(url);
    if let Some(lease) = lease_from_env()? {
        builder = builder.lease(lease);
    }
    builder.connect().await.map_err(|e| e.to_string())
}

fn lease_from_env() -> Result<Option<Duration>, String> {
    match std::env::var(ENV_LEASE_SECONDS) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(|s| Some(Duration::from_secs(s)))
            .ok_or_else(|| {
                format!("{ENV_LEASE_SECONDS}={v:?} is not a positive number of seconds")
            }),
        _ => Ok(None),
    }
}

/// What the expansion asks for: the scenario and its options.
#[derive(Debug, Clone)]
pub struct Args {
    scenario: &'static str,
    test: &'static str,
    scenario_dir: Option<&'static str>,
    request: Request,
}

impl Args {
    /// The scenario, and the test's path (the run's invoker, and for messages).
    pub fn new(scenario: &'static str, test: &'static str) -> Self {
        Args {
            scenario,
            test,
            scenario_dir: None,
            request: Request::new().invoker(test),
        }
    }

    /// The scenario directory, as an absolute path (the macro joins the crate's manifest
    /// directory and the path the test gives).
    pub fn scenario_dir(mut self, dir: &'static str) -> Self {
        self.scenario_dir = Some(dir);
        self
    }

    /// One constraint.
    pub fn constraint(mut self, key: &'static str, value: impl Into<atdm_core::Value>) -> Self {
        self.request = self.request.constraint(key, value);
        self
    }

    /// Edge-case rows: `"valid"` or `"dangerous"` (checked by the macro).
    pub fn edge_cases(mut self, mode: &'static str) -> Self {
        self.request = self.request.edge_cases(match mode {
            "dangerous" => crate::EdgeCases::Dangerous,
            _ => crate::EdgeCases::Valid,
        });
        self
    }

    /// The seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.request = self.request.seed(seed);
        self
    }

    /// The reference date, `YYYY-MM-DD` (the macro checked the form).
    pub fn reference_date(mut self, date: &'static str) -> Self {
        let d = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap_or_else(|e| panic!("atdm: reference_date {date:?} is not a date: {e}"));
        self.request = self.request.reference_date(d);
        self
    }
}

/// Resets the run it holds when dropped: after the test body returns, while a panic unwinds,
/// and when an async test's future is dropped (cancelled).
#[derive(Debug)]
pub struct Guard {
    seeded: crate::Seeded,
    test: &'static str,
    engine: Engine,
    /// Renews the run's lease every third of a lease while the test runs, so a long test is
    /// not reaped under its feet; stopped before the reset.
    renewal: tokio::task::JoinHandle<()>,
}

/// The seeded data the test receives.
pub fn seeded(guard: &Guard) -> Seeded {
    Seeded::new(guard.seeded.clone())
}

/// Seeds `args` for an async test and returns the guard that resets the run.
///
/// # Panics
///
/// When the scenario is unknown (the message names close matches), a constraint is invalid,
/// the plan is rejected, or the database refuses it.
pub async fn seed(args: Args) -> Guard {
    let test = args.test;
    let scenario = args.scenario;
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<crate::Seeded, String>>();
    let engine = engine(args.scenario_dir);
    let task = engine.clone();
    shared().runtime.spawn(async move {
        let engine = task;
        let outcome = engine
            .request(scenario, args.request)
            .await
            .map_err(|e| e.to_string());
        if let Err(Ok(s)) = tx.send(outcome) {
            // The test was cancelled while seeding: nobody will reset this run.
            let _ = engine.reset_run(&s.run_id, s.token.expose()).await;
        }
    });
    let outcome = rx
        .await
        .unwrap_or_else(|_| Err("the seeding task ended without an answer".into()));
    guard(outcome, scenario, test, engine)
}

/// Seeds `args` for a plain (blocking) test and returns the guard that resets the run.
///
/// # Panics
///
/// As [`seed`].
#[track_caller]
pub fn seed_blocking(args: Args) -> Guard {
    let test = args.test;
    let scenario = args.scenario;
    let (tx, rx) = mpsc::channel::<Result<crate::Seeded, String>>();
    let engine = engine(args.scenario_dir);
    let task = engine.clone();
    shared().runtime.spawn(async move {
        let engine = task;
        let outcome = engine
            .request(scenario, args.request)
            .await
            .map_err(|e| e.to_string());
        let _ = tx.send(outcome);
    });
    let outcome = rx
        .recv()
        .unwrap_or_else(|_| Err("the seeding task ended without an answer".into()));
    guard(outcome, scenario, test, engine)
}

#[track_caller]
fn guard(
    outcome: Result<crate::Seeded, String>,
    scenario: &str,
    test: &'static str,
    engine: Engine,
) -> Guard {
    match outcome {
        Ok(seeded) => {
            let renewal = renew_while_running(&engine, &seeded);
            Guard {
                seeded,
                test,
                engine,
                renewal,
            }
        }
        Err(e) => panic!("atdm: cannot seed scenario {scenario:?} for test {test}: {e}"),
    }
}

/// Renews `seeded`'s lease on the shared runtime every third of a lease until aborted.
fn renew_while_running(engine: &Engine, seeded: &crate::Seeded) -> tokio::task::JoinHandle<()> {
    let engine = engine.clone();
    let run_id = seeded.run_id.clone();
    let token = seeded.token.expose().to_owned();
    let every = (engine.lease() / 3).max(Duration::from_millis(200));
    shared().runtime.spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = engine.renew_lease(&run_id, &token).await {
                eprintln!("atdm: renewing the lease of run {run_id} failed: {e}");
            }
        }
    })
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.renewal.abort();
        let Some(shared) = SHARED.get() else { return };
        let engine = self.engine.clone();
        let run_id = self.seeded.run_id.clone();
        let token = self.seeded.token.expose().to_owned();
        let (tx, rx) = mpsc::channel();
        shared.runtime.spawn(async move {
            let _ = tx.send(engine.reset_run(&run_id, &token).await);
        });
        let failure = match rx.recv() {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the reset task ended without an answer".to_owned(),
        };
        // Never panic here: the test's own outcome (perhaps a panic being unwound) wins.
        eprintln!(
            "atdm: resetting run {} of test {} failed: {failure}; its lease lets a later engine start reap it",
            self.seeded.run_id, self.test
        );
    }
}

/// Seeds on the shared engine and resets at once: the per-test cost of `#[atdm_scenario]`
/// without a test around it (for benchmarks).
pub fn seed_and_reset_blocking(scenario: &'static str) {
    drop(seed_blocking(Args::new(scenario, "bench")));
}
