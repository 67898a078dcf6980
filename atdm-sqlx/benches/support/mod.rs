//! What the benchmarks share: a fresh PostgreSQL database per run, and the ten-column table
//! the bulk and baseline benchmarks load.

use sqlx::{AssertSqlSafe, Connection};
use tokio::runtime::Runtime;

/// A ten-column table of the types a bulk load meets most (text, integer, numeric, date,
/// timestamp with zone).
pub(crate) const WIDE: &str = r#"
name = "bulk"
[[tables]]
name = "wide_event"
primary_key = ["event_id"]
checks = ["severity between 1 and 5"]
columns = [
  { name = "event_id", type = "text" },
  { name = "first_name", type = "text" },
  { name = "last_name", type = "text" },
  { name = "email", type = "text" },
  { name = "city", type = "text" },
  { name = "severity", type = "integer" },
  { name = "amount", type = "numeric(12,2)" },
  { name = "happened_on", type = "date" },
  { name = "logged_at", type = "timestamptz" },
  { name = "test_run_id", type = "text" },
]
"#;

/// The server: `ATDM_BENCH_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
pub(crate) fn pg_admin() -> String {
    std::env::var("ATDM_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database `name` (dropped first if a crashed run left it), or `None` with a note
/// when the server cannot be reached.
pub(crate) fn fresh_pg(rt: &Runtime, name: &str) -> Option<String> {
    let admin = pg_admin();
    let ok = rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(&admin).await.ok()?;
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(AssertSqlSafe(sql)).execute(&mut c).await.ok()?;
        }
        Some(())
    });
    if ok.is_none() {
        eprintln!("note: PostgreSQL at {admin} is not reachable; skipping its benchmarks");
        return None;
    }
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin);
    Some(format!("{base}/{name}"))
}

/// Drops database `name`, so benchmarks (and test runs of them) leave nothing behind.
pub(crate) fn drop_pg(rt: &Runtime, name: &str) {
    rt.block_on(async {
        if let Ok(mut c) = sqlx::PgConnection::connect(&pg_admin()).await {
            let _ = sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut c)
            .await;
        }
    });
}
