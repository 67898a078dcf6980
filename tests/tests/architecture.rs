//! Architecture rules checked by the compiler's own metadata: `atdm-core` stays pure, and the
//! libraries leave the command line to `atdm-cli`.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// Crates that mean I/O, a runtime, a driver or an object store. The core must not depend on
/// any of them, directly or through another crate (dev-dependencies aside).
const FORBIDDEN: &[&str] = &[
    "sqlx",
    "tokio",
    "object_store",
    "pyo3",
    "async-std",
    "reqwest",
    "hyper",
    "mio",
    "libsqlite3-sys",
    "postgres",
    "mysql",
];

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
            manifest,
        ])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Names of every crate `root` depends on (normal and build dependencies, transitively).
fn dependency_tree(meta: &Value, root: &str) -> BTreeSet<String> {
    let packages: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root_id = packages
        .iter()
        .find(|(_, name)| **name == root)
        .map(|(id, _)| *id)
        .expect("the root package exists");
    let mut seen = BTreeSet::new();
    let mut stack = vec![root_id];
    while let Some(id) = stack.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let not_dev_only = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].as_str() != Some("dev"));
            let dep_id = dep["pkg"].as_str().unwrap();
            if not_dev_only && seen.insert(packages[dep_id].to_string()) {
                stack.push(dep_id);
            }
        }
    }
    seen
}

#[test]
fn atdm_core_has_no_driver_runtime_or_object_store() {
    let meta = metadata();
    let tree = dependency_tree(&meta, "atdm-core");
    assert!(
        tree.contains("serde"),
        "the walk found the core's dependencies: {tree:?}"
    );
    let bad: Vec<&String> = tree
        .iter()
        .filter(|n| {
            FORBIDDEN
                .iter()
                .any(|f| n.as_str() == *f || n.starts_with(&format!("{f}-")))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "atdm-core must stay pure, but depends on {bad:?}"
    );
}

#[test]
fn the_engine_is_where_the_driver_lives() {
    // The rule above is only meaningful if the walk sees drivers where they are.
    let tree = dependency_tree(&metadata(), "atdm-sqlx");
    assert!(tree.contains("sqlx") && tree.contains("tokio"), "{tree:?}");
}

#[test]
fn the_libraries_build_no_command_line_or_mcp_crates() {
    // Those belong to the `atdm` binary (atdm-cli); a test author depending on the engine or
    // on `#[atdm_scenario]` gets none of them.
    let meta = metadata();
    for lib in ["atdm-sqlx", "atdm-macros", "atdm-py"] {
        let tree = dependency_tree(&meta, lib);
        let bad: Vec<&String> = tree
            .iter()
            .filter(|n| {
                ["clap", "clap_complete", "indicatif", "rmcp", "schemars"].contains(&n.as_str())
            })
            .collect();
        assert!(bad.is_empty(), "{lib} depends on {bad:?}");
    }
    assert!(dependency_tree(&meta, "atdm-cli").contains("rmcp"));
}
