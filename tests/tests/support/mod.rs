//! Real databases for tests: a fresh, empty database per test on each backend.
//!
//! SQLite always runs (a file in a temporary directory). PostgreSQL and MySQL/MariaDB run when
//! their server URLs are set:
//!
//! | variable | example |
//! |---|---|
//! | `ATDM_TEST_POSTGRES_URL` | `postgres://postgres@127.0.0.1:5432/test` |
//! | `ATDM_TEST_MYSQL_URL` | `mysql://root@127.0.0.1:3306/test` |
//! | `ATDM_REQUIRE_DATABASES` | `1`: a missing URL fails the test instead of skipping the backend (CI sets it) |
//!
//! Each test gets its own database (`CREATE DATABASE atdm_t_<random>`), dropped at the end, so
//! tests of one binary and of several binaries never see each other's rows.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use sqlx::{AssertSqlSafe, Connection, Row};

pub mod browser;

/// Runs `$body` with `$c` bound to a fresh connection to the test database, whatever its
/// backend (each arm is compiled for its own connection type).
macro_rules! on_backend {
    ($db:expr, $c:ident => $body:expr) => {
        match $db.kind {
            Kind::Sqlite => {
                let mut $c = sqlx::SqliteConnection::connect(&$db.url).await.unwrap();
                $body
            }
            Kind::Postgres => {
                let mut $c = sqlx::PgConnection::connect(&$db.url).await.unwrap();
                $body
            }
            Kind::MySql => {
                let mut $c = sqlx::MySqlConnection::connect(&$db.url).await.unwrap();
                $body
            }
        }
    };
}

/// A backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

impl Kind {
    /// The SQL dialect of the backend.
    pub fn dialect(self) -> atdm_core::schema::Dialect {
        use atdm_core::schema::Dialect;
        match self {
            Kind::Sqlite => Dialect::Sqlite,
            Kind::Postgres => Dialect::Postgres,
            Kind::MySql => Dialect::MySql,
        }
    }
}

/// A fresh database; call [`TestDb::drop_db`] at the end of the test.
#[derive(Debug)]
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    admin_url: Option<String>,
    pub name: String,
    dir: Option<PathBuf>,
}

fn unique_name() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    format!(
        "atdm_t_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

fn required() -> bool {
    std::env::var("ATDM_REQUIRE_DATABASES").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn server_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ if required() => {
            panic!("{var} is not set, and ATDM_REQUIRE_DATABASES asks for every backend")
        }
        _ => {
            eprintln!("note: {var} is not set; skipping that backend");
            None
        }
    }
}

/// Replaces the database name (the path) of a server URL.
fn with_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl TestDb {
    /// A fresh database on `kind`, or `None` when the backend is not configured (and not
    /// required).
    pub async fn fresh(kind: Kind) -> Option<TestDb> {
        let name = unique_name();
        match kind {
            Kind::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).unwrap();
                Some(TestDb {
                    kind,
                    url: format!("sqlite://{}/atdm.sqlite", dir.display()),
                    admin_url: None,
                    name,
                    dir: Some(dir),
                })
            }
            Kind::Postgres => {
                let admin = server_url("ATDM_TEST_POSTGRES_URL")?;
                let mut c = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL at ATDM_TEST_POSTGRES_URL is not reachable: {e}")
                    });
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut c)
                    .await
                    .unwrap();
                Some(TestDb {
                    kind,
                    url: with_db_name(&admin, &name),
                    admin_url: Some(admin),
                    name,
                    dir: None,
                })
            }
            Kind::MySql => {
                let admin = server_url("ATDM_TEST_MYSQL_URL")?;
                let mut c = sqlx::MySqlConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("MySQL at ATDM_TEST_MYSQL_URL is not reachable: {e}")
                    });
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut c)
                    .await
                    .unwrap();
                Some(TestDb {
                    kind,
                    url: with_db_name(&admin, &name),
                    admin_url: Some(admin),
                    name,
                    dir: None,
                })
            }
        }
    }

    /// Fresh databases on every configured backend.
    pub async fn all() -> Vec<TestDb> {
        let mut out = Vec::new();
        for k in [Kind::Sqlite, Kind::Postgres, Kind::MySql] {
            if let Some(db) = TestDb::fresh(k).await {
                out.push(db);
            }
        }
        out
    }

    /// Runs one SQL statement on the test database (setup and assertions).
    pub async fn exec(&self, sql: &str) {
        on_backend!(self, c => {
            sqlx::query(AssertSqlSafe(sql.to_owned())).execute(&mut c).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    }

    /// An engine of `pack` on this database, with an in-memory audit store and the
    /// reference date [`d`].
    pub async fn engine(&self, pack: atdm_core::Pack) -> atdm_sqlx::Engine {
        atdm_sqlx::Engine::builder(pack)
            .database_url(&self.url)
            .store(atdm_sqlx::Store::from_url("memory://").unwrap())
            .reference_date(d())
            .connect()
            .await
            .unwrap()
    }

    /// Runs a script of several statements, unprepared (a generated SQL file).
    pub async fn script(&self, sql: &str) {
        on_backend!(self, c => {
            sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut c).await.unwrap_or_else(|e| panic!("{sql:.300}: {e}"));
        })
    }

    /// The single integer a query returns (`SELECT COUNT(*) ...`).
    pub async fn count(&self, sql: &str) -> i64 {
        on_backend!(self, c => {
            sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_owned())).fetch_one(&mut c).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
        })
    }

    /// The single text a query returns.
    pub async fn text(&self, sql: &str) -> Option<String> {
        on_backend!(self, c => {
            sqlx::query_scalar::<_, Option<String>>(AssertSqlSafe(sql.to_owned())).fetch_one(&mut c).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
        })
    }

    /// Drops the database.
    pub async fn drop_db(self) {
        match self.kind {
            Kind::Sqlite => {
                if let Some(d) = &self.dir {
                    let _ = std::fs::remove_dir_all(d);
                }
            }
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(self.admin_url.as_deref().unwrap())
                    .await
                    .unwrap();
                let _ = sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )))
                .execute(&mut c)
                .await;
            }
            Kind::MySql => {
                let mut c = sqlx::MySqlConnection::connect(self.admin_url.as_deref().unwrap())
                    .await
                    .unwrap();
                let _ = sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {}",
                    self.name
                )))
                .execute(&mut c)
                .await;
            }
        }
    }
}

/// The reference date the healthcare reference pins.
pub fn d() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

pub fn quoted(kind: Kind, table: &str) -> String {
    let q = |s: &str| match kind {
        Kind::MySql => format!("`{s}`"),
        _ => format!("\"{s}\""),
    };
    table.split('.').map(q).collect::<Vec<_>>().join(".")
}

/// Every row of a table as the database itself prints it, sorted: PostgreSQL's text of the
/// whole row; SQLite's `quote()` of each column (which shows the storage class too); MySQL's
/// `QUOTE()` of each column (`HEX()` for binary columns).
pub async fn dump(db: &TestDb, table: &str) -> Vec<String> {
    let mut rows: Vec<String> = match db.kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let sql = format!("SELECT t::text FROM {} t", quoted(db.kind, table));
            sqlx::query_scalar::<_, String>(AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
        Kind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            let cols: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
            )))
            .fetch_all(&mut c)
            .await
            .unwrap();
            assert!(!cols.is_empty(), "table {table} exists");
            let expr: Vec<String> = cols.iter().map(|c| format!("quote(\"{c}\")")).collect();
            let sql = format!(
                "SELECT {} FROM {}",
                expr.join(" || char(31) || "),
                quoted(db.kind, table)
            );
            sqlx::query_scalar::<_, String>(AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
        Kind::MySql => {
            let mut c = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
            let cols = sqlx::query(AssertSqlSafe(format!(
                "SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY ordinal_position"
            )))
            .fetch_all(&mut c)
            .await
            .unwrap();
            assert!(!cols.is_empty(), "table {table} exists");
            let expr: Vec<String> = cols
                .iter()
                .map(|r| {
                    let (name, ty): (String, String) = (r.get(0), r.get(1));
                    if ty.contains("blob")
                        || ty.contains("binary")
                        || ["geometry", "point", "linestring", "polygon", "bit"]
                            .contains(&ty.as_str())
                    {
                        format!("IF(`{name}` IS NULL, 'NULL', HEX(`{name}`))")
                    } else {
                        format!("QUOTE(`{name}`)")
                    }
                })
                .collect();
            let sql = format!(
                "SELECT CONVERT(CONCAT_WS(CHAR(31), {}) USING utf8mb4) FROM {}",
                expr.join(", "),
                quoted(db.kind, table)
            );
            sqlx::query_scalar::<_, String>(AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
    };
    rows.sort();
    rows
}

pub async fn dump_all(db: &TestDb, tables: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for t in tables {
        out.insert((*t).to_owned(), dump(db, t).await);
    }
    out
}
