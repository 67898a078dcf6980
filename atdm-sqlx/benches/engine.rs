//! Engine benchmarks.
//!
//! - `lifecycle/<backend>`: request -> seed -> reset of `claim_denial_active_member`, end to end,
//!   with its audit trail written to a file store (three objects per lifecycle)
//!   (targets: p50 at most 1 ms on SQLite with a WAL file, 5 ms on PostgreSQL over loopback;
//!   criterion's median is the p50). `sqlite_wal_file_memory_store` keeps the trail in
//!   memory, to show what the file store costs.
//! - `bulk/postgres_insert_100k`: seeding 100,000 generated rows of a ten-column table, next to
//!   `bulk/postgres_psql_copy_100k`: `psql -c "\copy ... from file.csv"` of the same rows into
//!   the same table definition, measured in the same run.
//!
//! PostgreSQL comes from `ATDM_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); its benchmarks are skipped with a note when the
//! server cannot be reached. Each run uses a fresh database `atdm_bench_<pid>`.
//!
//! `cargo bench -p atdm-sqlx --bench engine`

mod support;

use std::io::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use atdm_core::domains::healthcare;
use atdm_core::schema::Schema;
use atdm_core::{Cell, Pack, RunContext};
use atdm_sqlx::{Engine, Request};
use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sqlx::{AssertSqlSafe, Connection};
use support::{WIDE, drop_pg, fresh_pg};
use tokio::runtime::Runtime;

fn d() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

fn db_name() -> String {
    format!("atdm_bench_{}", std::process::id())
}

fn lifecycle(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("atdm-bench-{}", std::process::id()));
    let store = format!("file://{}/store", dir.display());
    let sqlite = format!("sqlite://{}/bench.sqlite", dir.display());
    // The audit trail goes to a file store beside the database; the second SQLite line
    // keeps it in memory, so the difference is the cost of the file store.
    let mut backends = vec![
        ("sqlite_wal_file".to_owned(), sqlite.clone(), store.clone()),
        (
            "sqlite_wal_file_memory_store".to_owned(),
            sqlite,
            "memory://".to_owned(),
        ),
    ];
    if let Some(url) = fresh_pg(&rt, &db_name()) {
        backends.push(("postgres_loopback".into(), url, store));
    }
    let mut g = c.benchmark_group("lifecycle");
    g.measurement_time(Duration::from_secs(8));
    for (name, url, store) in &backends {
        let engine = rt
            .block_on(
                Engine::builder(healthcare::pack())
                    .database_url(url)
                    .store_url(store.as_str())
                    .reference_date(d())
                    .pool_size(2)
                    .connect(),
            )
            .unwrap();
        g.bench_function(name.as_str(), |b| {
            b.to_async(&rt).iter(|| async {
                let s = engine
                    .request("claim_denial_active_member", Request::new())
                    .await
                    .unwrap();
                engine.reset_run(&s.run_id, s.token.expose()).await.unwrap();
            })
        });
        rt.block_on(engine.close());
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
    drop_pg(&rt, &db_name());
}

const MANY: &str = r#"
id = "many_events"
description = "Generated events, as many as asked."
[knobs.n]
type = "integer"
default = 100000
[[rows]]
alias = "event"
table = "wide_event"
count = "{n}"
"#;

fn csv_field(v: &atdm_core::Value) -> String {
    match v.to_json() {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => format!("\"{}\"", s.replace('"', "\"\"")),
        other => other.to_string(),
    }
}

fn bulk(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let Some(url) = fresh_pg(&rt, &db_name()) else {
        return;
    };
    let schema = Schema::from_toml(WIDE, "bulk.toml").unwrap();
    let pack = Pack::builder("bulk", schema.clone())
        .scenario("many.toml", MANY)
        .build()
        .unwrap();
    let engine = rt
        .block_on(
            Engine::builder(pack.clone())
                .database_url(&url)
                .reference_date(d())
                .connect(),
        )
        .unwrap();
    let rows = 100_000u64;

    // The same rows as CSV, for psql's \copy into a twin table.
    let plan = pack
        .plan(
            "many_events",
            &Default::default(),
            &RunContext::new("01JBENCH000000000000000000", d()),
            &Default::default(),
        )
        .unwrap();
    let csv_path = std::env::temp_dir().join(format!("atdm-bench-{}.csv", std::process::id()));
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv_path).unwrap());
        for row in &plan.tables[0].rows {
            let fields: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Value(v) => csv_field(v),
                    _ => String::new(),
                })
                .collect();
            writeln!(f, "{}", fields.join(",")).unwrap();
        }
    }
    let twin = schema
        .ddl(atdm_core::schema::Dialect::Postgres)
        .join(";\n")
        .replace("\"wide_event\"", "\"wide_event_copy\"")
        .replace("ck_wide_event", "ck_wide_event_copy")
        .replace("ix_wide_event", "ix_wide_event_copy");
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        for s in twin.split(";\n") {
            sqlx::query(AssertSqlSafe(s.to_owned()))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    });

    let mut g = c.benchmark_group("bulk");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(rows));
    g.bench_function("postgres_insert_100k", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let engine = engine.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let s = engine.request("many_events", Request::new()).await.unwrap();
                    total += t.elapsed();
                    engine.reset_run(&s.run_id, s.token.expose()).await.unwrap();
                }
                total
            }
        })
    });
    let copy = format!(
        "\\copy wide_event_copy from '{}' with (format csv)",
        csv_path.display()
    );
    g.bench_function("postgres_psql_copy_100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let out = Command::new("psql")
                    .args([url.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-c", &copy])
                    .output()
                    .expect("psql is installed");
                total += t.elapsed();
                assert!(
                    out.status.success(),
                    "psql failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let truncate = Command::new("psql")
                    .args([url.as_str(), "-q", "-c", "TRUNCATE wide_event_copy"])
                    .output()
                    .unwrap();
                assert!(truncate.status.success());
            }
            total
        })
    });
    g.finish();
    rt.block_on(engine.close());
    let _ = std::fs::remove_file(&csv_path);
    drop_pg(&rt, &db_name());
}

criterion_group!(benches, lifecycle, bulk);
criterion_main!(benches);
