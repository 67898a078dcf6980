//! What one `atdm request` / `atdm reset` process costs, beside the same work in-process:
//! p50 wall clock of
//!
//! - `process`: the release binary, spawned per call, as a CI script runs it;
//! - `floor`: `atdm scenarios`, a process that touches no database (start-up, runtime, pack);
//! - `cold`: in-process, a new engine per call (connect, start-up checks, the call, close):
//!   the process minus the process;
//! - `warm`: in-process, one engine for every call (what a Rust or Python test suite pays);
//! - and, of a cold call, the start-up (connect, setup check, reap) and the close, beside a
//!   start that runs the whole setup (`full_setup`, what every start did before the setup's
//!   fingerprint).
//!
//! On SQLite (a file) and, when `ATDM_BENCH_POSTGRES_URL` is set, PostgreSQL (a fresh
//! database, dropped at the end). A plain timing harness: each sample is a whole process.
//!
//! `cargo bench -p atdm-cli --bench process`

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use atdm_core::domains::healthcare;
use atdm_sqlx::{Engine, Request};
use sqlx::{AssertSqlSafe, Connection};

const SCENARIO: &str = "claim_denial_active_member";

/// `cargo test --all-targets` runs this binary too, without `--bench`: then a smoke run of a
/// few samples, so the test suite checks the code without its cost.
fn samples() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        41
    } else {
        3
    }
}

fn p50(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn atdm(url: &str, dir: &Path, args: &[&str]) -> (Duration, String) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_atdm"))
        .args(["--database-url", url, "--pack", "healthcare", "--store-url"])
        .arg(format!("file://{}", dir.join("store").display()))
        .arg("--fixture-dir")
        .arg(dir.join("fixtures"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, String::from_utf8(out.stdout).unwrap())
}

async fn engine(url: &str, dir: &Path) -> Engine {
    engine_with(url, dir, false).await
}

/// `full_setup`: the whole setup at every start, as every start ran it before the setup's
/// fingerprint.
async fn engine_with(url: &str, dir: &Path, full_setup: bool) -> Engine {
    Engine::builder(healthcare::pack())
        .database_url(url)
        .store_url(format!("file://{}", dir.join("store").display()))
        .fixture_dir(dir.join("fixtures"))
        .full_setup(full_setup)
        .connect()
        .await
        .unwrap()
}

async fn run(label: &str, url: &str, dir: &Path) {
    let n = samples();
    // One setup before any sample, as the owner does once.
    engine(url, dir).await.close().await;

    let (mut req, mut res, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let (t, out) = atdm(url, dir, &["-o", "json", "request", SCENARIO]);
        req.push(t);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let (run_id, token) = (v["run_id"].as_str().unwrap(), v["token"].as_str().unwrap());
        res.push(atdm(url, dir, &["reset", run_id, "--token", token]).0);
        floor.push(atdm(url, dir, &["scenarios"]).0);
    }

    let (mut cold_req, mut cold_res) = (Vec::new(), Vec::new());
    let (mut connect, mut close, mut connect_full) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        engine_with(url, dir, true).await.close().await;
        connect_full.push(t.elapsed());
        let t = Instant::now();
        let e = engine(url, dir).await;
        connect.push(t.elapsed());
        let s = e.request(SCENARIO, Request::new()).await.unwrap();
        e.flush_audit().await.unwrap();
        let c = Instant::now();
        e.close().await;
        close.push(c.elapsed());
        cold_req.push(t.elapsed());
        let t = Instant::now();
        let e = engine(url, dir).await;
        e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
        e.flush_audit().await.unwrap();
        e.close().await;
        cold_res.push(t.elapsed());
    }

    let e = engine(url, dir).await;
    let (mut warm_req, mut warm_res) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        let s = e.request(SCENARIO, Request::new()).await.unwrap();
        warm_req.push(t.elapsed());
        let t = Instant::now();
        e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
        warm_res.push(t.elapsed());
    }
    e.close().await;

    println!(
        "{label:<10} request: process {:>6.2} ms, cold {:>6.2} ms, warm {:>6.2} ms | reset: process {:>6.2} ms, cold {:>6.2} ms, warm {:>6.2} ms | floor (no database) {:>6.2} ms",
        p50(req),
        p50(cold_req),
        p50(warm_req),
        p50(res),
        p50(cold_res),
        p50(warm_res),
        p50(floor)
    );
    println!(
        "{label:<10} of a cold request: connect and start-up {:>6.2} ms, close {:>6.2} ms | connect, whole setup and close {:>6.2} ms",
        p50(connect),
        p50(close),
        p50(connect_full)
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("atdm-bench-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("atdm.sqlite");
    rt.block_on(run("sqlite", &format!("sqlite://{}", file.display()), &dir));
    if let Ok(admin) = std::env::var("ATDM_BENCH_POSTGRES_URL") {
        let name = format!("atdm_bench_process_{}", std::process::id());
        let statement = |sql: String| {
            let admin = admin.clone();
            async move {
                let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        };
        rt.block_on(statement(format!("CREATE DATABASE {name}")));
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        rt.block_on(run("postgres", &format!("{base}/{name}"), &dir));
        rt.block_on(statement(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
