//! `atdm mask` on every backend, from a production-like source (people with contact data,
//! national ids, cards and IBANs, staff with passwords and notes, a foreign-key cycle and a
//! self-reference) into a database of the same kind and into Parquet files: a subset with
//! masking passes `--verify`; the same key gives the same bytes and another key other bytes;
//! a sensitive column without a rule stops the job with nothing written; the audit records
//! the job and no value.

mod support;

use std::collections::BTreeMap;

use atdm_core::Pack;
use atdm_core::Value;
use atdm_core::mask::{MaskKey, Rules};
use atdm_core::schema::Schema;
use atdm_sqlx::mask::{MaskJob, MaskReport, MaskTarget};
use atdm_sqlx::{Engine, FileFormat, Store, sql_literal};
use support::{Kind, TestDb, d, dump_all, quoted};

const CRM: &str = include_str!("support/crm.toml");
const TABLES: [&str; 5] = ["store", "staff", "customer", "address", "payment"];

const FIRST: [&str; 12] = [
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia", "Lucas",
    "Harper", "Mateo",
];
const LAST: [&str; 10] = [
    "Garcia", "Okafor", "Nguyen", "Schmidt", "Rossi", "Kowalski", "Haddad", "Tanaka", "Silva",
    "Murphy",
];

const RULES: &str = r#"
transaction = "whole"

[subset]
children = true
roots = [{ table = "customer", percent = 50, where = [{ column = "active", op = "=", value = true }] }]

[tables.customer]
first_name = { transform = "fake", kind = "first_name" }
last_name = { transform = "fake", kind = "last_name" }
email = "email"
phone = "phone"
ssn = "national_id"
birth_date = { transform = "generalize", to = "year" }
created_at = { transform = "shift", days = 30 }

[tables.address]
street = { transform = "fake", kind = "street" }
city = { transform = "fake", kind = "city" }
postal_code = { transform = "generalize", to = "prefix", keep = 3 }

[tables.payment]
card_number = "card"
iban = "iban"
amount = { transform = "noise", percent = 5 }

[tables.staff]
first_name = { transform = "fake", kind = "first_name" }
last_name = { transform = "fake", kind = "last_name" }
email = "email"
password = "null"
notes = "null"
"#;

fn luhn_complete(digits: &str) -> String {
    let sum: u32 = digits
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let v = c.to_digit(10).unwrap();
            if i % 2 == 0 {
                let x = v * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                v
            }
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

fn iban(bban: &str) -> String {
    let moved = format!("{bban}DE00");
    let numeric: String = moved
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                c.to_string()
            } else {
                (c as u32 - 'A' as u32 + 10).to_string()
            }
        })
        .collect();
    let rem = numeric
        .chars()
        .fold(0u32, |r, c| (r * 10 + c.to_digit(10).unwrap()) % 97);
    format!("DE{:02}{bban}", 98 - rem)
}

/// The source's rows, by table, in insert order; the store's manager set afterwards.
fn source_rows() -> Vec<(&'static str, Vec<Vec<Value>>)> {
    let t = |s: String| Value::Text(s);
    let ts = |day: u32, sec: u32| {
        Value::Timestamp(
            d().and_hms_opt(0, 0, 0).unwrap() - chrono::Duration::days(i64::from(day))
                + chrono::Duration::seconds(i64::from(sec)),
        )
    };
    let stores: Vec<Vec<Value>> = (1..=3)
        .map(|i| vec![Value::Int(i), t(format!("Store number {i}")), Value::Null])
        .collect();
    let staff: Vec<Vec<Value>> = (1..=12)
        .map(|i: i64| {
            let (f, l) = (FIRST[(i as usize * 5) % 12], LAST[(i as usize * 3) % 10]);
            vec![
                Value::Int(i),
                Value::Int((i - 1) % 3 + 1),
                if i <= 3 {
                    Value::Null
                } else {
                    Value::Int((i - 1) % 3 + 1)
                },
                t(f.into()),
                t(l.into()),
                t(format!(
                    "{}.{}@staff.acme-retail.test",
                    f.to_lowercase(),
                    l.to_lowercase()
                )),
                t(format!("Winter{i:03}!pass")),
                t(format!(
                    "Called back customer at olivia.garcia.{}@mailbox.test about a refund",
                    i * 7
                )),
            ]
        })
        .collect();
    let customers: Vec<Vec<Value>> = (1..=240)
        .map(|i: i64| {
            let (f, l) = (FIRST[i as usize % 12], LAST[(i as usize / 12) % 10]);
            vec![
                Value::Int(i),
                t(f.into()),
                t(l.into()),
                t(format!(
                    "{}.{}.{i}@mailbox.test",
                    f.to_lowercase(),
                    l.to_lowercase()
                )),
                t(format!("+1 (617) 555-{:04}", 1000 + i * 37 % 9000)),
                if i % 10 == 0 {
                    Value::Null
                } else {
                    t(format!(
                        "{:03}-{:02}-{:04}",
                        100 + i,
                        10 + i % 89,
                        1000 + i * 13
                    ))
                },
                if i % 7 == 0 {
                    Value::Null
                } else {
                    Value::Date(
                        chrono::NaiveDate::from_ymd_opt(
                            1950 + (i % 50) as i32,
                            1 + (i % 12) as u32,
                            1 + (i % 28) as u32,
                        )
                        .unwrap(),
                    )
                },
                ts((i * 3) as u32, (i * 917) as u32),
                Value::Bool(i % 3 != 0),
                Value::Int(i % 3 + 1),
            ]
        })
        .collect();
    let addresses: Vec<Vec<Value>> = (1..=300)
        .map(|i: i64| {
            vec![
                Value::Int(i),
                Value::Int((i - 1) % 240 + 1),
                t(format!("{} {} Street", 10 + i * 7, LAST[i as usize % 10])),
                t(["Cambridge", "Springfield", "Riverside", "Fairview"][i as usize % 4].into()),
                t(format!("{:05}", 2100 + i * 31)),
            ]
        })
        .collect();
    let payments: Vec<Vec<Value>> = (1..=500)
        .map(|i: i64| {
            vec![
                Value::Int(i),
                Value::Int((i * 7 - 1) % 240 + 1),
                Value::Int(i % 12 + 1),
                Value::Numeric(rust_decimal::Decimal::new(1000 + i * 137 % 50000, 2)),
                t(luhn_complete(&format!("411111{:09}", 100_000 + i * 7919))),
                if i % 4 == 0 {
                    Value::Null
                } else {
                    t(iban(&format!("37040044{:010}", 532_013_000 + i)))
                },
                ts((i % 90) as u32, (i * 331) as u32),
            ]
        })
        .collect();
    vec![
        ("store", stores),
        ("staff", staff),
        ("customer", customers),
        ("address", addresses),
        ("payment", payments),
    ]
}

/// A fresh database that exists (SQLite's file too).
async fn fresh(kind: Kind) -> Option<TestDb> {
    let db = TestDb::fresh(kind).await?;
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        std::fs::File::create(path).unwrap();
    }
    Some(db)
}

async fn fill(db: &TestDb, schema: &Schema) {
    create_tables(db, schema).await;
    let dl = db.kind.dialect();
    for (table, rows) in source_rows() {
        for chunk in rows.chunks(100) {
            let values: Vec<String> = chunk
                .iter()
                .map(|r| {
                    let v: Vec<String> = r.iter().map(|v| sql_literal(dl, v)).collect();
                    format!("({})", v.join(", "))
                })
                .collect();
            db.exec(&format!(
                "INSERT INTO {} VALUES {}",
                quoted(db.kind, table),
                values.join(", ")
            ))
            .await;
        }
    }
    for s in 1..=3 {
        db.exec(&format!(
            "UPDATE {} SET {} = {s} WHERE {} = {s}",
            quoted(db.kind, "store"),
            dl.quote("manager_id"),
            dl.quote("store_id")
        ))
        .await;
    }
}

async fn create_tables(db: &TestDb, schema: &Schema) {
    let dl = db.kind.dialect();
    if db.kind == Kind::MySql {
        // The DDL switches foreign key checks off for the cycle: one session for all of it.
        use sqlx::Connection;
        let mut c = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
        for stmt in schema.ddl(dl) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(stmt))
                .execute(&mut c)
                .await
                .unwrap();
        }
    } else {
        for stmt in schema.ddl(dl) {
            db.exec(&stmt).await;
        }
    }
}

/// The tables of a database.
async fn tables(db: &TestDb) -> i64 {
    db.count(match db.kind {
        Kind::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
        }
        Kind::MySql => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
        }
        Kind::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
    })
    .await
}

fn job(source: &TestDb, target: MaskTarget, rules: &str, secret: &str) -> MaskJob {
    let rules = Rules::from_toml(rules, "rules.toml").unwrap();
    let mut job = MaskJob::new(
        source.url.clone(),
        target,
        rules,
        "0".repeat(64),
        MaskKey::from_secret(secret).unwrap(),
    );
    job.verify = true;
    job
}

fn into(db: &TestDb) -> MaskTarget {
    MaskTarget::Database {
        url: db.url.clone(),
        create: true,
    }
}

/// Every source text value of the columns the rules mask.
fn secrets() -> Vec<String> {
    let masked: BTreeMap<&str, Vec<usize>> = [
        ("staff", vec![5, 6, 7]),
        ("customer", vec![3, 4, 5]),
        ("payment", vec![4, 5]),
    ]
    .into_iter()
    .collect();
    let mut out = Vec::new();
    for (table, rows) in source_rows() {
        if let Some(cols) = masked.get(table) {
            for r in &rows {
                for &c in cols {
                    if let Value::Text(s) = &r[c] {
                        out.push(s.clone());
                    }
                }
            }
        }
    }
    out
}

fn no_leaks(report: &MaskReport) {
    let v = report.verification.as_ref().expect("verified");
    assert!(v.passed, "{}", serde_json::to_string_pretty(v).unwrap());
    let checked: Vec<String> = v
        .columns
        .iter()
        .filter(|c| c.not_checked.is_none())
        .map(|c| format!("{}.{}", c.table, c.column))
        .collect();
    for c in [
        "customer.email",
        "customer.ssn",
        "payment.card_number",
        "staff.notes",
    ] {
        assert!(checked.iter().any(|x| x == c), "{c} checked: {checked:?}");
    }
    assert!(
        v.foreign_keys
            .iter()
            .any(|f| f.table == "store" && f.rows > 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_masked_subset_is_verified_deterministic_and_audited() {
    let schema = Schema::from_toml(CRM, "crm.toml").unwrap();
    for kind in [Kind::Sqlite, Kind::Postgres, Kind::MySql] {
        let Some(source) = fresh(kind).await else {
            continue;
        };
        fill(&source, &schema).await;
        let before = dump_all(&source, &TABLES).await;
        let audit_db = fresh(Kind::Sqlite).await.unwrap();
        let pack = Pack::builder("crm", schema.clone()).build().unwrap();
        let engine = Engine::builder(pack)
            .database_url(&audit_db.url)
            .store(Store::from_url("memory://").unwrap())
            .reference_date(d())
            .connect()
            .await
            .unwrap();
        let secret = "correct horse battery staple 1";

        // A sensitive column without a rule: the job stops, nothing is written.
        let refused = fresh(kind).await.unwrap();
        let without_ssn = RULES.replace("ssn = \"national_id\"\n", "");
        let err = engine
            .mask(&job(&source, into(&refused), &without_ssn, secret), &|_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code().as_str(), "UNMASKED_SENSITIVE", "{kind:?}: {err}");
        assert!(err.to_string().contains("customer.ssn"), "{err}");
        assert!(err.to_string().contains("national_id"), "{err}");
        assert_eq!(tables(&refused).await, 0, "{kind:?}: no table was created");

        // The job, twice with one key and once with another.
        let (a, b, c) = (
            fresh(kind).await.unwrap(),
            fresh(kind).await.unwrap(),
            fresh(kind).await.unwrap(),
        );
        // One transaction per table: on PostgreSQL, tables the job creates are written in
        // parallel, on one snapshot of the source.
        let per_table = RULES.replace("transaction = \"whole\"", "transaction = \"table\"");
        let ra = engine
            .mask(&job(&source, into(&a), &per_table, secret), &|_| {})
            .await
            .unwrap();
        no_leaks(&ra);
        let rows: BTreeMap<&str, u64> = ra
            .tables
            .iter()
            .map(|t| (t.table.as_str(), t.rows))
            .collect();
        // Active customers (two in three), about half of them, and what they need.
        assert!((50..=110).contains(&rows["customer"]), "{kind:?}: {rows:?}");
        assert!(rows["payment"] > 0 && rows["payment"] < 500, "{rows:?}");
        assert!(rows["address"] > 0 && rows["address"] < 300, "{rows:?}");
        // Payments of active customers are taken by 8 of the 12 staff, of stores 2 and 3
        // (staff i works at store (i - 1) % 3 + 1): only the parents kept rows need.
        assert_eq!((rows["staff"], rows["store"]), (8, 2), "{kind:?}: {rows:?}");
        // Into tables that exist, with their foreign keys (the cycle's keys written last):
        // the same rows as into tables the job creates and keys afterwards.
        create_tables(&b, &schema).await;
        let existing = MaskTarget::Database {
            url: b.url.clone(),
            create: false,
        };
        let rb = engine
            .mask(&job(&source, existing, RULES, secret), &|_| {})
            .await
            .unwrap();
        no_leaks(&rb);
        let rc = engine
            .mask(
                &job(&source, into(&c), RULES, "another key of twenty chars"),
                &|_| {},
            )
            .await
            .unwrap();
        no_leaks(&rc);
        let (da, db_, dc) = (
            dump_all(&a, &TABLES).await,
            dump_all(&b, &TABLES).await,
            dump_all(&c, &TABLES).await,
        );
        assert_eq!(
            da, db_,
            "{kind:?}: the same key gives the same rows, in parallel or one table at a time"
        );
        assert_ne!(
            da["customer"], dc["customer"],
            "{kind:?}: another key, other rows"
        );
        // No source value of a masked column anywhere in the copy, by our own reading too.
        let all: String = da
            .values()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        for s in secrets() {
            assert!(!all.contains(&s), "{kind:?}: {s:?} is in the copy");
        }
        // The source is untouched.
        assert_eq!(dump_all(&source, &TABLES).await, before);

        // Parquet files: the same key, the same bytes; verified too.
        let dir = std::env::temp_dir().join(format!("{}_files", a.name));
        let files = |dir: &std::path::Path| MaskTarget::Files {
            dir: dir.to_path_buf(),
            format: FileFormat::Parquet,
            force: false,
        };
        let rf = engine
            .mask(&job(&source, files(&dir), RULES, secret), &|_| {})
            .await
            .unwrap();
        no_leaks(&rf);
        let dir2 = std::env::temp_dir().join(format!("{}_files", b.name));
        let rf2 = engine
            .mask(&job(&source, files(&dir2), RULES, secret), &|_| {})
            .await
            .unwrap();
        let sums = |r: &MaskReport| {
            r.tables
                .iter()
                .map(|t| t.sha256.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(sums(&rf), sums(&rf2), "{kind:?}");
        assert_eq!(
            std::fs::read(dir.join("manifest.json")).unwrap(),
            std::fs::read(dir2.join("manifest.json")).unwrap()
        );
        let again = engine
            .mask(&job(&source, files(&dir), RULES, secret), &|_| {})
            .await
            .unwrap_err();
        assert_eq!(again.code().as_str(), "FILES_EXIST");

        // The audit holds each job, its counts and transforms, and no value.
        let run = ra.audit_run_id.clone().unwrap();
        let trail = engine.audit(&run).await.unwrap();
        let text = serde_json::to_string(&trail).unwrap();
        assert!(text.contains("mask_completed"), "{text}");
        assert!(
            text.contains("national_id") && text.contains("\"passed\":true"),
            "{text}"
        );
        for s in secrets() {
            assert!(!text.contains(&s), "{kind:?}: the audit holds {s:?}");
        }
        assert!(!text.contains(secret));

        for db in [a, b, c, refused, source, audit_db] {
            db.drop_db().await;
        }
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::remove_dir_all(dir2);
    }
}

/// A copy that fails while writing leaves what its transaction mode says: with one
/// transaction for the whole target, not even the tables it created (where DDL is
/// transactional); with one per table, the tables written before the failure, named in the
/// error. No value of the source is in the message.
#[tokio::test]
async fn a_failed_copy_leaves_what_its_transaction_mode_says() {
    for kind in [Kind::Sqlite, Kind::Postgres, Kind::MySql] {
        let Some(source) = fresh(kind).await else {
            continue;
        };
        // `visit` is written after `patient` (parents first); its second date is not one the
        // model holds. MySQL and MariaDB create tables outside any transaction: with "whole"
        // the job drops them again.
        source
            .exec("CREATE TABLE patient (patient_id INTEGER PRIMARY KEY, born DATE NOT NULL)")
            .await;
        source
            .exec(
                "CREATE TABLE visit (visit_id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL \
                 REFERENCES patient (patient_id), seen DATE NOT NULL)",
            )
            .await;
        source
            .exec("INSERT INTO patient VALUES (1, '1980-02-03'), (2, '1990-04-05')")
            .await;
        let bad = match kind {
            Kind::Postgres => "infinity",
            Kind::MySql => "0000-00-00",
            Kind::Sqlite => "someday",
        };
        source
            .exec(&format!(
                "INSERT INTO visit VALUES (1, 1, '2024-01-02'), (2, 2, '{bad}')"
            ))
            .await;
        let rules = |mode: &str| {
            format!(
                "transaction = \"{mode}\"\n[tables.patient]\nborn = {{ transform = \"generalize\", \
                 to = \"year\" }}\n[tables.visit]\nseen = {{ transform = \"shift\", days = 10 }}\n"
            )
        };
        for mode in ["whole", "table"] {
            let target = fresh(kind).await.unwrap();
            let mut j = job(
                &source,
                into(&target),
                &rules(mode),
                "a key of twenty chars!",
            );
            j.verify = false;
            // Detection reads only the first row, so the job starts writing.
            j.sample_rows = 1;
            let err = atdm_sqlx::mask::mask(&j, &|_| {}).await.unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains("table visit"),
                "{kind:?} {mode}: {message}"
            );
            assert!(
                !message.contains(bad),
                "{kind:?}: the value is in {message}"
            );
            if mode == "whole" {
                assert!(message.contains("nothing was written"), "{message}");
                assert_eq!(tables(&target).await, 0, "{kind:?}: {message}");
            } else {
                // One table at a time, `patient` is written first; tables written at once
                // (PostgreSQL), whichever finished before the failure stays, as the error says.
                let stays = message.contains("stay (patient)");
                assert!(stays || kind == Kind::Postgres, "{kind:?}: {message}");
                let written = target.count("SELECT COUNT(*) FROM patient").await;
                assert_eq!(written, if stays { 2 } else { 0 }, "{kind:?}: {message}");
            }
            target.drop_db().await;
        }
        source.drop_db().await;
    }
}
