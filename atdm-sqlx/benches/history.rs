//! Request and reset cost as history grows: p50 of `request` and `reset_run` of
//! `claim_denial_active_member` with 0, 10,000 and (with `ATDM_BENCH_HISTORY=100000`)
//! 100,000 other live runs in the catalog, on SQLite (an embedded file) and, when
//! `ATDM_BENCH_POSTGRES_URL` is set, PostgreSQL; each measured with the indexes ATDM now
//! creates on foreign-key columns and, in the same run, with them dropped (the DDL before).
//!
//! A plain timing harness (no criterion): the setup (seeding the history) dominates, and the
//! question is how the p50 changes with the history, side by side.
//!
//! `cargo bench -p atdm-sqlx --bench history`

use std::time::{Duration, Instant};

use atdm_core::domains::healthcare;
use atdm_sqlx::{Engine, Request};
use sqlx::{AssertSqlSafe, Connection};

const SAMPLES: usize = 200;

/// `cargo test --all-targets` runs this binary too, without `--bench`: then a smoke run of a
/// few samples at 0 and 50 live runs, so the test suite checks the code without its cost.
fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}
const SCENARIO: &str = "claim_denial_active_member";

/// The indexes on foreign-key columns that the healthcare DDL did not declare.
const FK_INDEXES: &[&str] = &[
    "ix_member_plan_id",
    "ix_claim_provider_id",
    "ix_claim_procedure_code",
    "ix_claim_diagnosis_code",
];

fn p50(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn sample(e: &Engine) -> (Duration, Duration) {
    let (mut req, mut res) = (Vec::new(), Vec::new());
    for _ in 0..if quick() { 5 } else { SAMPLES } {
        let t = Instant::now();
        let s = e.request(SCENARIO, Request::new()).await.unwrap();
        req.push(t.elapsed());
        let t = Instant::now();
        e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
        res.push(t.elapsed());
    }
    (p50(req), p50(res))
}

async fn drop_fk_indexes(url: &str) {
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        for ix in FK_INDEXES {
            sqlx::query(AssertSqlSafe(format!("DROP INDEX IF EXISTS \"{ix}\"")))
                .execute(&mut c)
                .await
                .unwrap();
        }
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        for ix in FK_INDEXES {
            sqlx::query(AssertSqlSafe(format!("DROP INDEX IF EXISTS \"{ix}\"")))
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
}

async fn engine(url: &str, store: &std::path::Path) -> Engine {
    Engine::builder(healthcare::pack())
        .database_url(url)
        .store_url(store.display().to_string())
        .reap_on_start(false)
        .connect()
        .await
        .unwrap()
}

async fn run(label: &str, url: &str, sizes: &[usize]) {
    let store = std::env::temp_dir().join(format!("atdm-bench-history-{}", std::process::id()));
    let mut e = engine(url, &store).await;
    let mut live = 0;
    for &n in sizes {
        while live < n {
            e.request(SCENARIO, Request::new()).await.unwrap();
            live += 1;
        }
        let (req, res) = sample(&e).await;
        drop_fk_indexes(url).await;
        let (req_no, res_no) = sample(&e).await;
        println!(
            "{label:<10} {n:>7} live runs: request p50 {:>8.2} ms, reset p50 {:>8.2} ms | without FK indexes: request {:>8.2} ms, reset {:>8.2} ms (reset {:.1}x)",
            req.as_secs_f64() * 1e3,
            res.as_secs_f64() * 1e3,
            req_no.as_secs_f64() * 1e3,
            res_no.as_secs_f64() * 1e3,
            res_no.as_secs_f64() / res.as_secs_f64()
        );
        // Back to the DDL with the indexes (a new engine's setup makes them again).
        e.close().await;
        e = engine(url, &store).await;
    }
    e.close().await;
    let _ = std::fs::remove_dir_all(&store);
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let history: usize = std::env::var("ATDM_BENCH_HISTORY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let sizes: Vec<usize> = if quick() {
        vec![0, 50]
    } else {
        [0, 10_000, 100_000]
            .into_iter()
            .filter(|&n| n <= history)
            .collect()
    };
    let file =
        std::env::temp_dir().join(format!("atdm-bench-history-{}.sqlite", std::process::id()));
    rt.block_on(run(
        "sqlite",
        &format!("sqlite://{}", file.display()),
        &sizes,
    ));
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", file.display()));
    }
    if let Ok(admin) = std::env::var("ATDM_BENCH_POSTGRES_URL") {
        rt.block_on(async {
            let name = format!("atdm_bench_history_{}", std::process::id());
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut c)
                .await
                .unwrap();
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            run("postgres", &format!("{base}/{name}"), &sizes).await;
            sqlx::query(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
                .execute(&mut c)
                .await
                .unwrap();
        });
    }
}
