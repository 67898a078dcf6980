//! Baseline benchmarks on PostgreSQL, next to PostgreSQL's own tools on the same tables.
//!
//! - `baseline/snapshot_1m`: [`Engine::snapshot`] of a ten-column table of 1,000,000 rows (and
//!   the empty run catalog and ledger) to Parquet in a local directory store.
//! - `baseline/restore_1m`: [`Engine::restore`] of that baseline: one transaction that empties
//!   the tables and loads the rows back with `COPY`.
//! - `baseline/pg_dump_data_only_1m`: `pg_dump --data-only -t ...` of the same tables to a file.
//! - `baseline/psql_restore_1m`: `TRUNCATE` of the same tables, then `psql -f` of that file.
//!
//! Throughput is in rows (elements) per second. PostgreSQL comes from
//! `ATDM_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`); the
//! benchmarks are skipped with a note when it cannot be reached. Each run uses a fresh database
//! `atdm_bench_bl_<pid>`, dropped at the end. Run once by `cargo test --all-targets` (without
//! `--bench`), the table holds 2,000 rows so the check stays quick.
//!
//! `cargo bench -p atdm-sqlx --bench baseline`

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use atdm_core::Pack;
use atdm_core::schema::Schema;
use atdm_sqlx::{Engine, SnapshotOptions};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use sqlx::{AssertSqlSafe, Connection};
use support::{WIDE, drop_pg, fresh_pg};
use tokio::runtime::Runtime;

/// Generates the rows on the server, so setting up a million takes seconds.
const FILL: &str = "INSERT INTO wide_event SELECT 'ev-' || lpad(i::text, 8, '0'), \
     'FAKE_First' || (i % 97), 'FAKE_Last' || (i % 89), 'user' || i || '@example.invalid', \
     'FAKE_City' || (i % 31), 1 + i % 5, round((i % 100000) / 7.0, 2), \
     DATE '2020-01-01' + (i % 2000), TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 second', \
     'bench' FROM generate_series(1, $1::int) AS i";

/// The tables a baseline of this pack holds, as `pg_dump -t` and `TRUNCATE` name them.
const TABLES: [&str; 3] = ["public.wide_event", "atdm.runs", "atdm.ledger"];

fn db_name() -> String {
    format!("atdm_bench_bl_{}", std::process::id())
}

/// Drops this run's database and temporary directory when the benchmark ends, also when it
/// panics.
struct Cleanup {
    dir: std::path::PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            drop_pg(&rt, &db_name());
        }
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("pg_dump and psql are installed");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn baseline(c: &mut Criterion) {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs each benchmark once.
    let measuring = std::env::args().any(|a| a == "--bench");
    let rows: u64 = if measuring { 1_000_000 } else { 2_000 };
    let label = if measuring { "1m" } else { "2k" };
    let rt = Runtime::new().unwrap();
    let Some(url) = fresh_pg(&rt, &db_name()) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("atdm-bench-bl-{}", std::process::id()));
    let _cleanup = Cleanup { dir: dir.clone() };
    let store_dir = dir.join("store");
    std::fs::create_dir_all(&store_dir).unwrap();
    let dump = dir.join("dump.sql");

    let schema = Schema::from_toml(WIDE, "bulk.toml").unwrap();
    let pack = Pack::builder("bulk", schema).build().unwrap();
    let engine = rt
        .block_on(
            Engine::builder(pack)
                .database_url(&url)
                .store_url(format!("file://{}", store_dir.display()))
                .reap_on_start(false)
                .connect(),
        )
        .unwrap();
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let t = Instant::now();
        sqlx::query(AssertSqlSafe(FILL.to_owned()))
            .bind(rows as i64)
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("VACUUM ANALYZE wide_event")
            .execute(&mut conn)
            .await
            .unwrap();
        eprintln!("note: {rows} rows generated in {:.1?}", t.elapsed());
    });
    let base = rt
        .block_on(engine.snapshot(SnapshotOptions::new()))
        .unwrap();
    assert_eq!(base.table("wide_event").unwrap().rows, rows);

    let mut g = c.benchmark_group("baseline");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(if measuring { 30 } else { 1 }));
    g.throughput(Throughput::Elements(rows));

    g.bench_function(format!("snapshot_{label}"), |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let engine = engine.clone();
            async move {
                let t = Instant::now();
                for _ in 0..iters {
                    engine.snapshot(SnapshotOptions::new()).await.unwrap();
                }
                t.elapsed()
            }
        })
    });
    g.bench_function(format!("restore_{label}"), |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let engine = engine.clone();
            let id = base.id.clone();
            async move {
                let t = Instant::now();
                for _ in 0..iters {
                    let r = engine.restore(Some(&id)).await.unwrap();
                    assert_eq!(r.rows["wide_event"], rows);
                }
                t.elapsed()
            }
        })
    });
    let mut pg_dump = Command::new("pg_dump");
    pg_dump.args(["--data-only", "-f"]).arg(&dump);
    for t in TABLES {
        pg_dump.args(["-t", t]);
    }
    pg_dump.arg(&url);
    g.bench_function(format!("pg_dump_data_only_{label}"), |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                run(&mut pg_dump);
            }
            t.elapsed()
        })
    });
    let truncate = format!("TRUNCATE {}", TABLES.join(", "));
    g.bench_function(format!("psql_restore_{label}"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                run(Command::new("psql").args([
                    url.as_str(),
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    &truncate,
                ]));
                let t = Instant::now();
                run(Command::new("psql")
                    .args([url.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f"])
                    .arg(&dump));
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();

    // The last psql restore left the same rows the baseline holds.
    let after = rt
        .block_on(engine.snapshot(SnapshotOptions::new()))
        .unwrap();
    assert_eq!(
        after.table("wide_event").unwrap().checksum,
        base.table("wide_event").unwrap().checksum,
        "both paths restore the same content"
    );
    rt.block_on(engine.close());
}

criterion_group!(benches, baseline);
criterion_main!(benches);
