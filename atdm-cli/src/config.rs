//! From the global options (flags or their environment variables) to a pack and an engine.

use std::time::Duration;

use atdm_core::Pack;
use atdm_sqlx::{DEFAULT_DATABASE_URL, Engine};

use crate::args::Global;
use crate::output::CliError;

/// How long a command waits for a database connection before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(15);

/// The pack: the scenario directory's; else the built-in pack `--pack` names; else the
/// healthcare demo pack on the embedded default database only. On any other database it is
/// `NO_SCENARIO_DIR`, before anything connects (see [`atdm_sqlx::resolve_pack`]).
pub(crate) fn pack(g: &Global) -> Result<Pack, CliError> {
    Ok(atdm_sqlx::resolve_pack(
        Some(&database_url(g)),
        g.scenario_dir.as_deref(),
        g.pack.as_deref(),
    )?)
}

/// The database URL: the flag, `ATDM_DATABASE_URL`, or the embedded default.
pub(crate) fn database_url(g: &Global) -> String {
    g.database_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// What a command needs of the engine beyond the global options.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EngineOptions {
    /// The lease of runs this engine seeds.
    pub(crate) lease: Option<Duration>,
    /// Skip reaping expired runs at start-up (`atdm reap` reports what it reaps itself).
    pub(crate) no_reap_on_start: bool,
    /// Run the whole setup even when it is in place (`atdm setup`).
    pub(crate) full_setup: bool,
    /// Serve calls side by side (`atdm mcp`): a second connection. A one-shot command makes
    /// its calls one after another on one connection, so it never pays for connecting twice.
    pub(crate) concurrent: bool,
}

/// Connects the engine as the global options say.
pub(crate) async fn engine(g: &Global, opts: EngineOptions) -> Result<Engine, CliError> {
    let mut b = Engine::builder(pack(g)?)
        .database_url(database_url(g))
        .pool_size(if opts.concurrent { 2 } else { 1 })
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .reap_on_start(!opts.no_reap_on_start)
        .full_setup(opts.full_setup);
    if let Some(url) = g.store_url.as_ref().filter(|u| !u.trim().is_empty()) {
        b = b.store_url(url.clone());
    }
    if let Some(dir) = g.fixture_dir.as_ref().filter(|d| !d.as_os_str().is_empty()) {
        b = b.fixture_dir(dir.clone());
    }
    if let Some(d) = g.reference_date {
        b = b.reference_date(d);
    }
    if let Some(i) = g.invoker.as_ref().filter(|i| !i.trim().is_empty()) {
        b = b.invoker(i.clone());
    }
    if let Some(lease) = opts.lease {
        b = b.lease(lease);
    }
    Ok(b.connect().await?)
}
