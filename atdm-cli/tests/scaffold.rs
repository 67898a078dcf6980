//! Your own database, as a new user meets it, with the real `atdm` binary on SQLite,
//! PostgreSQL and MariaDB/MySQL (the servers when `ATDM_TEST_POSTGRES_URL` /
//! `ATDM_TEST_MYSQL_URL` are set; required with `ATDM_REQUIRE_DATABASES=1`):
//!
//! - `atdm introspect --out DIR` writes a scenario directory that `--scenario-dir DIR` loads as
//!   it is, and `request every_table` then reset leaves every table exactly as it was;
//! - without a scenario directory, a command pointed at a database other than the embedded
//!   default fails with `NO_SCENARIO_DIR` and creates nothing: no table, no schema, no store.

#![allow(missing_docs)]

#[path = "../../tests/tests/support/mod.rs"]
mod support;

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{ATDM_VARS, Setup, backends};
use serde_json::Value as Json;
use sqlx::{AssertSqlSafe, Connection};
use support::Kind;

/// The shop: regions, customers (one referred by another: a self-reference), products,
/// orders with a composite key, order lines with a composite foreign key; checks and uniques.
/// Table-level constraints only, so the same text runs on every backend.
const SHOP: &[&str] = &[
    "CREATE TABLE region (region_code VARCHAR(8) NOT NULL, name VARCHAR(60) NOT NULL, \
     PRIMARY KEY (region_code), UNIQUE (name))",
    "CREATE TABLE customer (customer_id INTEGER NOT NULL, email VARCHAR(120) NOT NULL, \
     status VARCHAR(10) NOT NULL, region_code VARCHAR(8) NOT NULL, referred_by INTEGER NULL, \
     PRIMARY KEY (customer_id), UNIQUE (email), CHECK (status IN ('active', 'blocked')), \
     FOREIGN KEY (region_code) REFERENCES region (region_code), \
     FOREIGN KEY (referred_by) REFERENCES customer (customer_id))",
    "CREATE TABLE product (sku VARCHAR(20) NOT NULL, title VARCHAR(80) NOT NULL, \
     price NUMERIC(8,2) NOT NULL, PRIMARY KEY (sku), CHECK (price > 0))",
    "CREATE TABLE orders (tenant VARCHAR(10) NOT NULL, order_no INTEGER NOT NULL, \
     customer_id INTEGER NOT NULL, placed_on DATE NOT NULL, shipped_on DATE NULL, \
     PRIMARY KEY (tenant, order_no), FOREIGN KEY (customer_id) REFERENCES customer (customer_id), \
     CHECK (shipped_on >= placed_on))",
    "CREATE TABLE order_line (tenant VARCHAR(10) NOT NULL, order_no INTEGER NOT NULL, \
     line_no INTEGER NOT NULL, sku VARCHAR(20) NOT NULL, qty INTEGER NOT NULL, \
     PRIMARY KEY (tenant, order_no, line_no), \
     FOREIGN KEY (tenant, order_no) REFERENCES orders (tenant, order_no), \
     FOREIGN KEY (sku) REFERENCES product (sku), \
     CHECK (line_no BETWEEN 1 AND 99), CHECK (qty BETWEEN 1 AND 100))",
    // Rows the application already has: a reset must leave them exactly as they are.
    "INSERT INTO region (region_code, name) VALUES ('north', 'North')",
    "INSERT INTO customer (customer_id, email, status, region_code, referred_by) \
     VALUES (1, 'ada@example.com', 'active', 'north', NULL)",
    "INSERT INTO customer (customer_id, email, status, region_code, referred_by) \
     VALUES (2, 'bob@example.com', 'blocked', 'north', 1)",
    "INSERT INTO product (sku, title, price) VALUES ('SKU-1', 'Teapot', 19.99)",
    "INSERT INTO orders (tenant, order_no, customer_id, placed_on, shipped_on) \
     VALUES ('acme', 1, 2, '2026-01-02', '2026-01-05')",
    "INSERT INTO order_line (tenant, order_no, line_no, sku, qty) VALUES ('acme', 1, 1, 'SKU-1', 2)",
];

/// Each table of the shop with its columns, for reading its whole content.
const TABLES: &[(&str, &[&str])] = &[
    ("region", &["region_code", "name"]),
    (
        "customer",
        &[
            "customer_id",
            "email",
            "status",
            "region_code",
            "referred_by",
        ],
    ),
    ("product", &["sku", "title", "price"]),
    (
        "orders",
        &[
            "tenant",
            "order_no",
            "customer_id",
            "placed_on",
            "shipped_on",
        ],
    ),
    (
        "order_line",
        &["tenant", "order_no", "line_no", "sku", "qty"],
    ),
];

/// What a run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    fn json(&self) -> Json {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}): {}\n{}", self.stdout, self.stderr)
        })
    }

    /// Asserts exit 1 and the error `code` (a JSON object on stderr with `-o json`, else the
    /// `error[CODE]` line), and nothing on stdout.
    #[track_caller]
    fn fails_with(self, code: &str) -> Run {
        assert_eq!(
            self.code, 1,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(self.stdout.is_empty(), "stdout: {}", self.stdout);
        let human = self.stderr.starts_with(&format!("error[{code}]: "));
        let json = serde_json::from_str::<Json>(self.stderr.trim())
            .is_ok_and(|e| e["error"]["code"] == code);
        assert!(human || json, "stderr: {}", self.stderr);
        self
    }
}

/// The binary with a clean environment, run in `dir`.
fn atdm_in(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_atdm"));
    for v in ATDM_VARS {
        c.env_remove(v);
    }
    c.current_dir(dir).stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> Run {
    let out = c.output().expect("the atdm binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// `atdm` on this database, with a store in the temporary directory and a fixed reference
/// date, and no pack named.
fn atdm(s: &Setup, args: &[&str]) -> Run {
    let mut c = atdm_in(&s.tmp.0);
    c.arg("--database-url")
        .arg(&s.db.url)
        .arg("--store-url")
        .arg(format!("file://{}", s.store().display()))
        .arg("--reference-date")
        .arg("2026-06-01")
        .args(args);
    run(c)
}

/// Every row of a table as text, sorted: the table's whole content.
async fn content(s: &Setup, table: &str, columns: &[&str]) -> Vec<String> {
    let cast = if s.db.kind == Kind::MySql {
        "CHAR"
    } else {
        "TEXT"
    };
    let cells: Vec<String> = columns
        .iter()
        .map(|c| format!("COALESCE(CAST({c} AS {cast}), '<null>')"))
        .collect();
    let row = if s.db.kind == Kind::MySql {
        format!("CONCAT_WS('|', {})", cells.join(", "))
    } else {
        cells.join(" || '|' || ")
    };
    let sql = AssertSqlSafe(format!("SELECT {row} FROM {table}"));
    let mut rows: Vec<String> = match s.db.kind {
        Kind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&s.db.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
        }
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&s.db.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
        }
        Kind::MySql => {
            let mut c = sqlx::MySqlConnection::connect(&s.db.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
        }
    };
    rows.sort();
    rows
}

async fn contents(s: &Setup) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    for (t, cols) in TABLES {
        out.push((*t, content(s, t, cols).await));
    }
    out
}

/// SQLite and PostgreSQL (as for the other binary tests), and MariaDB/MySQL.
async fn all_backends() -> Vec<Setup> {
    let mut out = backends().await;
    if let Some(s) = Setup::new(Kind::MySql).await {
        out.push(s);
    }
    out
}

#[tokio::test]
async fn introspect_out_then_every_table_three_times_with_exact_resets() {
    for s in all_backends().await {
        if let Some(path) = s.db.url.strip_prefix("sqlite://") {
            std::fs::File::create(path).unwrap(); // SQLite opens existing files only
        }
        for sql in SHOP {
            s.db.exec(sql).await;
        }
        let kind = s.db.kind;
        let dir = s.tmp.0.join("scenarios");
        let dir_arg = dir.display().to_string();

        // Human output: the files, and what to run next.
        let human = atdm(&s, &["introspect", "--out", &dir_arg]).ok().stdout;
        assert!(human.starts_with("wrote 7 files to "), "{kind:?}: {human}");
        assert!(
            human.contains("next: atdm --scenario-dir ") && human.contains("request every_table"),
            "{human}"
        );
        for f in [
            "schema.toml",
            "every_table.toml",
            "one_region.toml",
            "one_customer.toml",
            "one_orders.toml",
            "one_product.toml",
            "one_order_line.toml",
        ] {
            assert!(dir.join(f).is_file(), "{kind:?}: no {f}");
        }
        let every = std::fs::read_to_string(dir.join("every_table.toml")).unwrap();
        assert!(
            every.contains(
                "description = \"One row in every table that can hold one (5 of 5 tables).\""
            ),
            "{kind:?}:\n{every}"
        );

        // Existing files are named and kept; --force writes them again; JSON summary.
        let again =
            atdm(&s, &["-o", "json", "introspect", "--out", &dir_arg]).fails_with("FILES_EXIST");
        assert!(again.stderr.contains("schema.toml"), "{}", again.stderr);
        let v = atdm(
            &s,
            &["-o", "json", "introspect", "--out", &dir_arg, "--force"],
        )
        .ok()
        .json();
        assert_eq!(v["tables"], 5, "{v}");
        assert_eq!(v["scenarios"][0], "every_table", "{v}");
        assert_eq!(v["scenarios"].as_array().unwrap().len(), 6, "{v}");
        assert_eq!(v["files"].as_array().unwrap().len(), 7, "{v}");
        assert_eq!(v["left_out"], serde_json::json!([]), "{v}");
        assert!(
            v["notes"].is_array() && v["other_files"] == serde_json::json!([]),
            "{v}"
        );
        assert_eq!(v["dir"], dir_arg.as_str(), "{v}");
        assert_eq!(
            std::fs::read_to_string(dir.join("every_table.toml")).unwrap(),
            every
        );

        // Request every_table three times; each reset leaves every table exactly as before.
        for round in 0..3 {
            let before = contents(&s).await;
            let seeded = atdm(
                &s,
                &[
                    "--scenario-dir",
                    &dir_arg,
                    "-o",
                    "json",
                    "request",
                    "every_table",
                ],
            )
            .ok()
            .json();
            for (t, _) in TABLES {
                assert_eq!(seeded["rows"][t], 1, "{kind:?} round {round}: {seeded}");
            }
            let during = contents(&s).await;
            for ((t, b), (_, d)) in before.iter().zip(&during) {
                assert_eq!(d.len(), b.len() + 1, "{kind:?} round {round}: {t}");
            }
            let run_id = seeded["run_id"].as_str().unwrap();
            let token = seeded["token"].as_str().unwrap();
            let reset = atdm(
                &s,
                &[
                    "--scenario-dir",
                    &dir_arg,
                    "-o",
                    "json",
                    "reset",
                    run_id,
                    "--token",
                    token,
                ],
            )
            .ok()
            .json();
            assert_eq!(reset["status"], "cleaned", "{reset}");
            assert_eq!(contents(&s).await, before, "{kind:?} round {round}");
        }

        // A table's own scenario seeds it with the rows it needs, and resets as exactly.
        let before = contents(&s).await;
        let seeded = atdm(
            &s,
            &[
                "--scenario-dir",
                &dir_arg,
                "-o",
                "json",
                "request",
                "one_order_line",
            ],
        )
        .ok()
        .json();
        assert_eq!(seeded["rows"]["order_line"], 1, "{seeded}");
        assert_eq!(seeded["rows"]["region"], 1, "{seeded}");
        let (run_id, token) = (
            seeded["run_id"].as_str().unwrap(),
            seeded["token"].as_str().unwrap(),
        );
        atdm(
            &s,
            &[
                "--scenario-dir",
                &dir_arg,
                "reset",
                run_id,
                "--token",
                token,
            ],
        )
        .ok();
        assert_eq!(contents(&s).await, before, "{kind:?}");
        s.db.drop_db().await;
    }
}

/// The names of the tables and schemas a database has (the engine's included, were any made).
async fn objects(s: &Setup) -> Vec<String> {
    let sql = match s.db.kind {
        Kind::Postgres => {
            "SELECT table_schema || '.' || table_name FROM information_schema.tables \
             WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
             UNION ALL SELECT 'schema ' || schema_name FROM information_schema.schemata \
             WHERE schema_name NOT IN ('pg_catalog', 'information_schema', 'public', 'pg_toast') \
             AND schema_name NOT LIKE 'pg_temp%' AND schema_name NOT LIKE 'pg_toast_temp%'"
        }
        Kind::MySql => {
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE()"
        }
        Kind::Sqlite => "SELECT name FROM sqlite_master",
    };
    let sql = AssertSqlSafe(sql);
    match s.db.kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&s.db.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
        }
        Kind::MySql => {
            let mut c = sqlx::MySqlConnection::connect(&s.db.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
        }
        Kind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&s.db.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
        }
    }
}

#[tokio::test]
async fn without_a_scenario_directory_a_users_database_gets_nothing() {
    for kind in [Kind::Postgres, Kind::MySql] {
        let Some(s) = Setup::new(kind).await else {
            continue;
        };
        let commands: &[&[&str]] = &[
            &["runs"],
            &["request", "claim_denial_active_member"],
            &["-o", "json", "request", "every_table"],
            &["plan", "active_member_clean"],
            &["reset-all", "--confirm"],
            &["reap"],
            &["metrics"],
            &["baseline", "snapshot"],
            &["scenarios"],
            &["describe", "active_member_clean"],
            &["mcp"],
        ];
        for args in commands {
            // The URL as a flag, with no store given: the default store would be ./.atdm.
            let mut c = atdm_in(&s.tmp.0);
            c.arg("--database-url").arg(&s.db.url).args(*args);
            let r = run(c).fails_with("NO_SCENARIO_DIR");
            assert!(
                r.stderr.contains("atdm introspect --database-url")
                    && r.stderr.contains("--out DIR")
                    && r.stderr.contains("ATDM_SCENARIO_DIR"),
                "{kind:?} {args:?}: {}",
                r.stderr
            );
            // The same from the environment.
            let mut c = atdm_in(&s.tmp.0);
            c.env("ATDM_DATABASE_URL", &s.db.url).args(*args);
            run(c).fails_with("NO_SCENARIO_DIR");
        }
        assert_eq!(objects(&s).await, Vec::<String>::new(), "{kind:?}");
        assert!(
            !s.tmp.0.join(".atdm").exists(),
            "{kind:?}: a store directory was made"
        );
        assert!(!s.store().exists(), "{kind:?}");

        // Asked for by name, the demo pack is used there (and its tables made).
        let mut c = atdm_in(&s.tmp.0);
        c.env("ATDM_DATABASE_URL", &s.db.url)
            .env("ATDM_PACK", "healthcare")
            .env("ATDM_STORE_URL", s.store())
            .args(["scenarios"]);
        assert!(run(c).ok().stdout.contains("claim_denial_active_member"));
        let mut c = atdm_in(&s.tmp.0);
        c.args(["--database-url", &s.db.url, "--pack", "retail", "runs"]);
        run(c).fails_with("UNKNOWN_PACK");
        assert_eq!(objects(&s).await, Vec::<String>::new(), "{kind:?}");
        s.db.drop_db().await;
    }
}
