//! What the `atdm` binary's tests (`cli.rs`, `mcp.rs`) share: the environment variables the
//! binary reads, a temporary directory, and a fresh database with its own directory on each
//! backend. Each test file declares `mod support;` (the workspace's test databases) and
//! `mod common;`, and adds its own methods to [`Setup`].

use std::path::PathBuf;

use crate::support::{Kind, TestDb};

/// Every variable the binary reads, so the caller's environment cannot leak in.
pub(crate) const ATDM_VARS: &[&str] = &[
    "ATDM_DATABASE_URL",
    "ATDM_STORE_URL",
    "ATDM_SCENARIO_DIR",
    "ATDM_PACK",
    "ATDM_FIXTURE_DIR",
    "ATDM_REFERENCE_DATE",
    "ATDM_INVOKER",
    "ATDM_LEASE_SECONDS",
    "ATDM_CLEANUP_TOKEN",
    "ATDM_MASK_KEY",
];

/// A temporary directory, removed on drop: `atdm_<test file>_<random hex>`.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let name: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("atdm_{}_{name}", env!("CARGO_CRATE_NAME")));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A database and a temporary directory for the store, fixtures and files.
pub(crate) struct Setup {
    pub(crate) db: TestDb,
    pub(crate) tmp: TempDir,
}

impl Setup {
    pub(crate) async fn new(kind: Kind) -> Option<Setup> {
        let db = TestDb::fresh(kind).await?;
        Some(Setup {
            db,
            tmp: TempDir::new(),
        })
    }

    pub(crate) fn store(&self) -> PathBuf {
        self.tmp.0.join("store")
    }
}

/// SQLite, and PostgreSQL when configured.
pub(crate) async fn backends() -> Vec<Setup> {
    let mut out = Vec::new();
    for kind in [Kind::Sqlite, Kind::Postgres] {
        if let Some(s) = Setup::new(kind).await {
            out.push(s);
        }
    }
    out
}
