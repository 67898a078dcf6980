//! A role that may only read and write rows (SELECT, INSERT, UPDATE, DELETE; no CREATE, not
//! the owner) uses ATDM once the owner has set it up: it starts, requests and resets exactly.
//! Before the setup, it gets an error that says to run `atdm setup`, and nothing is created.
//! Real restricted roles on PostgreSQL and MariaDB/MySQL (SQLite has no roles).

mod support;

use atdm_core::domains::healthcare;
use atdm_sqlx::{Engine, Request};
use sqlx::{AssertSqlSafe, Connection};
use support::{Kind, TestDb, d};

/// `url` with its user replaced by `user` (no password).
fn as_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{user}@{host}")
}

async fn admin_exec(kind: Kind, sql: &[String]) {
    match kind {
        Kind::Postgres => {
            let url = std::env::var("ATDM_TEST_POSTGRES_URL").unwrap();
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            for s in sql {
                sqlx::query(AssertSqlSafe(s.clone()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
        }
        Kind::MySql => {
            let url = std::env::var("ATDM_TEST_MYSQL_URL").unwrap();
            let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
            for s in sql {
                sqlx::query(AssertSqlSafe(s.clone()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
        }
        Kind::Sqlite => unreachable!(),
    }
}

/// Creates a login that may only read and write the rows of `db`'s tables.
async fn dml_role(db: &TestDb, role: &str) {
    match db.kind {
        Kind::Postgres => {
            admin_exec(Kind::Postgres, &[format!("CREATE ROLE {role} LOGIN")]).await;
            for s in [
                format!("GRANT CONNECT ON DATABASE {} TO {role}", db.name),
                format!("GRANT USAGE ON SCHEMA public TO {role}"),
                "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'atdm') THEN EXECUTE 'GRANT USAGE ON SCHEMA atdm TO ROLE_X'; EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA atdm TO ROLE_X'; END IF; END $$".replace("ROLE_X", role),
                format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
                format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
            ] {
                db.exec(&s).await;
            }
        }
        Kind::MySql => {
            let mut sql = Vec::new();
            for host in ["%", "localhost"] {
                sql.push(format!("CREATE USER '{role}'@'{host}'"));
                sql.push(format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON `{}`.* TO '{role}'@'{host}'",
                    db.name
                ));
            }
            admin_exec(Kind::MySql, &sql).await;
        }
        Kind::Sqlite => unreachable!(),
    }
}

async fn drop_role(kind: Kind, role: &str) {
    match kind {
        Kind::Postgres => admin_exec(kind, &[format!("DROP ROLE IF EXISTS {role}")]).await,
        Kind::MySql => {
            admin_exec(
                kind,
                &[
                    format!("DROP USER IF EXISTS '{role}'@'%'"),
                    format!("DROP USER IF EXISTS '{role}'@'localhost'"),
                ],
            )
            .await
        }
        Kind::Sqlite => {}
    }
}

/// Drops the role when the test ends, also when an assertion fails: roles belong to the whole
/// server, not to the test's database.
struct RoleGuard(Kind, String);

impl Drop for RoleGuard {
    fn drop(&mut self) {
        let (kind, role) = (self.0, self.1.clone());
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(drop_role(kind, &role))
        })
        .join();
    }
}

fn engine(url: &str) -> atdm_sqlx::EngineBuilder {
    Engine::builder(healthcare::pack())
        .database_url(url)
        .store_url("memory://")
        .reference_date(d())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_with_only_dml_uses_atdm_after_the_owner_set_it_up() {
    for kind in [Kind::Postgres, Kind::MySql] {
        // Before any setup: the restricted role is told what to do, and creates nothing.
        let Some(bare) = TestDb::fresh(kind).await else {
            continue;
        };
        let role = format!("atdm_dml_{}", &bare.name[bare.name.len() - 8..]);
        let guard = RoleGuard(kind, role.clone());
        dml_role(&bare, &role).await;
        let err = engine(&as_user(&bare.url, &role))
            .connect()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("atdm setup") && text.contains("may not create them"),
            "{kind:?}: {text}"
        );
        let tables = match kind {
            Kind::Postgres => {
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname IN ('public', 'atdm')"
            }
            _ => "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()",
        };
        assert_eq!(bare.count(tables).await, 0, "{kind:?}: nothing created");
        bare.drop_db().await;
        drop(guard);

        // The owner sets up once; the restricted role then works.
        let db = TestDb::fresh(kind).await.unwrap();
        let owner = engine(&db.url).connect().await.unwrap();
        owner.close().await;
        let role = format!("atdm_dml_{}", &db.name[db.name.len() - 8..]);
        let guard = RoleGuard(kind, role.clone());
        dml_role(&db, &role).await;
        let e = engine(&as_user(&db.url, &role))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let before = db.count("SELECT COUNT(*) FROM member").await;
        let run = e
            .request("claim_denial_active_member", Request::new())
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(db.count("SELECT COUNT(*) FROM member").await, before + 1);
        e.reset_run(&run.run_id, run.token.expose()).await.unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM member").await, before);
        assert!(e.reap_expired().await.unwrap().is_empty());
        e.close().await;
        db.drop_db().await;
        drop(guard);
    }
}
