//! Checks for the `#[atdm_scenario]` tests: raw SQL on the database the tests' shared engine
//! uses (`atdm_sqlx::testing::database_url()`), from a thread of its own so the checks work
//! inside and outside a tokio runtime.

#![allow(dead_code, unreachable_pub)]

use sqlx::{AssertSqlSafe, Connection, Row};

/// What the database holds for one run: its catalog status and how many `member` rows have
/// the given key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunState {
    /// `ready`, `cleaned`, or `missing` when the catalog has no such run.
    pub status: String,
    /// Rows of `member` with the member id.
    pub members: i64,
}

async fn query(url: &str, run_id: &str, member_id: &str) -> RunState {
    let pg = url.starts_with("postgres");
    let (runs, p1) = if pg {
        ("atdm.runs", "$1")
    } else {
        ("atdm_runs", "?")
    };
    let status_sql = format!("SELECT status FROM {runs} WHERE run_id = {p1}");
    let member_sql = format!("SELECT COUNT(*) FROM member WHERE member_id = {p1}");
    macro_rules! run {
        ($conn:ty) => {{
            let mut c = <$conn>::connect(url).await.expect("connect for checks");
            let status: Option<String> = sqlx::query(AssertSqlSafe(status_sql))
                .bind(run_id)
                .fetch_optional(&mut c)
                .await
                .unwrap()
                .map(|r| r.get(0));
            let members: i64 = sqlx::query(AssertSqlSafe(member_sql))
                .bind(member_id)
                .fetch_one(&mut c)
                .await
                .unwrap()
                .get(0);
            c.close().await.ok();
            RunState {
                status: status.unwrap_or_else(|| "missing".into()),
                members,
            }
        }};
    }
    if pg {
        run!(sqlx::PgConnection)
    } else if url.starts_with("mysql") {
        run!(sqlx::MySqlConnection)
    } else {
        run!(sqlx::SqliteConnection)
    }
}

/// The state of a run, read with a connection of its own.
pub fn state(run_id: &str, member_id: &str) -> RunState {
    let url = atdm_sqlx::testing::database_url();
    let (run_id, member_id) = (run_id.to_owned(), member_id.to_owned());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(query(&url, &run_id, &member_id))
    })
    .join()
    .unwrap()
}

/// Asserts the run is seeded and its member row is there.
pub fn assert_live(run_id: &str, member_id: &str) {
    let s = state(run_id, member_id);
    assert_eq!(
        s,
        RunState {
            status: "ready".into(),
            members: 1
        },
        "run {run_id} should be live"
    );
}

/// Asserts the run was reset: cleaned in the catalog, its member row gone.
pub fn assert_cleaned(run_id: &str, member_id: &str) {
    let s = state(run_id, member_id);
    assert_eq!(
        s,
        RunState {
            status: "cleaned".into(),
            members: 0
        },
        "run {run_id} should be cleaned"
    );
}

async fn text_query(url: &str, sql: String, arg: &str) -> Option<String> {
    macro_rules! run {
        ($conn:ty, $sql:expr) => {{
            let mut c = <$conn>::connect(url).await.expect("connect for checks");
            let v: Option<String> = sqlx::query(AssertSqlSafe($sql))
                .bind(arg)
                .fetch_optional(&mut c)
                .await
                .unwrap()
                .map(|r| r.get(0));
            c.close().await.ok();
            v
        }};
    }
    if url.starts_with("postgres") {
        run!(sqlx::PgConnection, sql.replace('?', "$1"))
    } else if url.starts_with("mysql") {
        run!(sqlx::MySqlConnection, sql)
    } else {
        run!(sqlx::SqliteConnection, sql)
    }
}

/// The first column of the first row of `sql` (one `?` parameter bound to `arg`), as text.
pub fn text(sql: &str, arg: &str) -> Option<String> {
    let url = atdm_sqlx::testing::database_url();
    let (sql, arg) = (sql.to_owned(), arg.to_owned());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(text_query(&url, sql, &arg))
    })
    .join()
    .unwrap()
}
