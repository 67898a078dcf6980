//! Per-test cost of `#[atdm_scenario]` next to `#[sqlx::test]`, on the same PostgreSQL server
//! with the same schema, measured in the same run.
//!
//! - `per_test/atdm_scenario`: what the macro's expansion does per test: seed
//!   `claim_denial_active_member` (five rows: plan, provider, member, eligibility, claim) on
//!   the shared test engine through `atdm_sqlx::__private`, then drop the guard, which resets
//!   the run.
//! - `per_test/sqlx_test`: what `#[sqlx::test]` does per test, step by step: on a kept admin
//!   connection, register and `CREATE DATABASE` a fresh test database; connect a pool to it;
//!   apply the healthcare schema's PostgreSQL DDL as one migration the way sqlx's migrator
//!   does (advisory lock, `_sqlx_migrations` table, the migration in a transaction, its
//!   record, unlock); close the pool; `DROP DATABASE` and unregister. The test body is empty.
//!
//! PostgreSQL comes from `ATDM_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); both benchmarks are skipped with a note when the
//! server cannot be reached. The engine's tables live in a fresh database `atdm_macro_<pid>`.
//!
//! `cargo bench -p atdm-sqlx --bench macro_cost`

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use atdm_core::domains::healthcare;
use atdm_core::schema::Dialect;
use criterion::{Criterion, criterion_group, criterion_main};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tokio::runtime::Runtime;

fn pg_admin() -> String {
    std::env::var("ATDM_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn with_db(admin: &str, name: &str) -> String {
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or_else(|| admin.to_owned());
    format!("{base}/{name}")
}

/// The healthcare schema as one PostgreSQL migration script.
fn migration() -> String {
    let mut sql = healthcare::schema().ddl(Dialect::Postgres).join(";\n");
    sql.push(';');
    sql
}

static NEXT_DB: AtomicU64 = AtomicU64::new(0);

/// One `#[sqlx::test]`'s database life: create, migrate, (empty body), drop.
async fn sqlx_test_once(admin: &mut PgConnection, admin_url: &str, migration: &str) {
    let name = format!(
        "_sqlx_test_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    admin
        .execute(AssertSqlSafe(format!(
            "INSERT INTO _sqlx_test_bench.databases (db_name, test_path) VALUES ('{name}', 'bench::test')"
        )))
        .await
        .unwrap();
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&with_db(admin_url, &name))
        .await
        .unwrap();
    {
        let mut c = pool.acquire().await.unwrap();
        c.execute("SELECT pg_advisory_lock(4242)").await.unwrap();
        c.execute(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
        )
        .await
        .unwrap();
        c.execute("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
            .await
            .unwrap();
        let mut tx = c.begin().await.unwrap();
        tx.execute(AssertSqlSafe(migration.to_owned()))
            .await
            .unwrap();
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (1, 'healthcare', TRUE, '\\x00', 0)",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        c.execute("SELECT pg_advisory_unlock(4242)").await.unwrap();
    }
    pool.close().await;
    admin
        .execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
        .await
        .unwrap();
    admin
        .execute(AssertSqlSafe(format!(
            "DELETE FROM _sqlx_test_bench.databases WHERE db_name = '{name}'"
        )))
        .await
        .unwrap();
}

fn per_test(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let admin_url = pg_admin();
    let Ok(mut admin) = rt.block_on(PgConnection::connect(&admin_url)) else {
        eprintln!(
            "note: PostgreSQL at {admin_url} is not reachable; skipping the macro cost benchmarks"
        );
        return;
    };
    let engine_db = format!("atdm_macro_{}", std::process::id());
    rt.block_on(async {
        admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {engine_db} WITH (FORCE)"
            )))
            .await
            .unwrap();
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {engine_db}")))
            .await
            .unwrap();
        admin
            .execute("CREATE SCHEMA IF NOT EXISTS _sqlx_test_bench")
            .await
            .unwrap();
        admin
            .execute("CREATE TABLE IF NOT EXISTS _sqlx_test_bench.databases (db_name TEXT PRIMARY KEY, test_path TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            .await
            .unwrap();
    });
    assert!(atdm_sqlx::__private::set_database_url(with_db(
        &admin_url, &engine_db
    )));
    // The benchmark's scenario is the healthcare demo's, named explicitly for PostgreSQL.
    assert!(atdm_sqlx::__private::set_pack("healthcare"));
    // Start the shared engine (schema, reference rows) before measuring.
    atdm_sqlx::__private::seed_and_reset_blocking("claim_denial_active_member");

    let migration = migration();
    let mut g = c.benchmark_group("per_test");
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("atdm_scenario", |b| {
        b.iter(|| atdm_sqlx::__private::seed_and_reset_blocking("claim_denial_active_member"))
    });
    g.sample_size(20);
    g.bench_function("sqlx_test", |b| {
        b.iter(|| rt.block_on(sqlx_test_once(&mut admin, &admin_url, &migration)))
    });
    g.finish();
    rt.block_on(async {
        let _ = admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {engine_db} WITH (FORCE)"
            )))
            .await;
    });
}

criterion_group!(benches, per_test);
criterion_main!(benches);
