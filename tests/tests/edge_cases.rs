//! Edge cases against real databases, on every backend: a load with edge cases (valid and
//! dangerous) is accepted by the database whole, holds every class it says, and resets
//! exactly; every invalid class, forced into the database row by row, is refused by exactly
//! the databases its `rejected_by` names (the others store it: the application must refuse
//! it). On the healthcare pack and on a schema with every type, checks, uniques and keys.

mod support;

use std::collections::BTreeMap;

use atdm_core::Pack;
use atdm_core::domains::healthcare;
use atdm_core::edge::{EdgeCase, Validity, edge_cases};
use atdm_core::generate::{Dataset, DatasetOptions, EdgeCases};
use atdm_core::schema::{Dialect, Generated, Schema};
use atdm_sqlx::{Engine, Load, Store, sql_literal};
use sqlx::{AssertSqlSafe, Connection};
use support::{Kind, TestDb, d, quoted};

const EVERY_TYPE: &str = r#"
name = "every_type"

[[tables]]
name = "account"
primary_key = ["account_id"]
unique = [["email"]]
checks = [
  "handle starts with 'u_'",
  "balance between -1000 and 100000",
  "tier in ('free', 'pro', 'team')",
  "age >= 18",
]
columns = [
  { name = "account_id", type = "bigint", generated = "identity" },
  { name = "email", type = "varchar(64)" },
  { name = "handle", type = "varchar(20)" },
  { name = "bio", type = "text", nullable = true },
  { name = "balance", type = "numeric(10,2)" },
  { name = "visits", type = "integer" },
  { name = "age", type = "integer", nullable = true },
  { name = "tier", type = "varchar(8)" },
  { name = "plan", type = "enum(basic, plus)" },
  { name = "verified", type = "boolean" },
  { name = "born_on", type = "date", nullable = true },
  { name = "joined_at", type = "timestamptz" },
  { name = "seen_at", type = "timestamp", nullable = true },
  { name = "token", type = "uuid", nullable = true },
  { name = "prefs", type = "json", nullable = true },
  { name = "avatar", type = "bytes", nullable = true },
]

[[tables]]
name = "booking"
primary_key = ["booking_id"]
foreign_keys = [
  { columns = ["account_id"], references = "account" },
  { columns = ["referrer_id"], references = "account" },
]
checks = [
  "ends_on >= starts_on",
  "guests > 0",
  "guests <= 12",
  "status = 'cancelled' implies cancel_reason is not null",
]
columns = [
  { name = "booking_id", type = "integer", generated = "identity" },
  { name = "account_id", type = "bigint" },
  { name = "referrer_id", type = "bigint", nullable = true },
  { name = "starts_on", type = "date" },
  { name = "ends_on", type = "date" },
  { name = "guests", type = "integer" },
  { name = "status", type = "varchar(12)" },
  { name = "cancel_reason", type = "varchar(40)", nullable = true },
]
"#;

/// The shop of the volume test: a composite key of two foreign keys, a one-to-one table, a
/// self-reference, checks between columns, a UUID key and its events.
const SHOP: &str = include_str!("support/shop.toml");

fn every_type() -> Pack {
    let schema = Schema::from_toml(EVERY_TYPE, "every_type.toml").unwrap();
    Pack::builder("every_type", schema).build().unwrap()
}

/// Runs `sql` in a transaction that is rolled back: whether the database took it.
async fn accepted(db: &TestDb, sql: &str) -> Result<(), String> {
    macro_rules! try_on {
        ($conn:ty) => {{
            let mut c = <$conn>::connect(&db.url).await.unwrap();
            let mut tx = c.begin().await.unwrap();
            let r = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                .execute(&mut *tx)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            let _ = tx.rollback().await;
            r
        }};
    }
    match db.kind {
        Kind::Sqlite => try_on!(sqlx::SqliteConnection),
        Kind::Postgres => try_on!(sqlx::PgConnection),
        Kind::MySql => try_on!(sqlx::MySqlConnection),
    }
}

/// Loads `pack`'s tables with edge cases, checks what the database holds, forces every
/// invalid class in, and resets. Returns the problems found.
async fn exercise(db: &TestDb, pack: &Pack, counts: &[(&str, u64)]) -> Vec<String> {
    let kind = db.kind;
    let e = Engine::builder(pack.clone())
        .database_url(&db.url)
        .store(Store::from_url("memory://").unwrap())
        .reference_date(d())
        .connect()
        .await
        .unwrap();
    let rows: BTreeMap<String, u64> = counts.iter().map(|(t, n)| (t.to_string(), *n)).collect();
    // Rows there before (a pack's reference rows): the load adds to them, the reset leaves them.
    let mut before = BTreeMap::new();
    for t in rows.keys() {
        let n = db
            .count(&format!("SELECT COUNT(*) FROM {}", quoted(kind, t)))
            .await;
        before.insert(t.clone(), n);
    }
    let mut load = Load::new(rows.clone());
    load.edge_cases = EdgeCases::Dangerous;
    let loaded = e
        .load(load, &|_| {})
        .await
        .unwrap_or_else(|err| panic!("{kind:?} {}: {err}", pack.name()));
    let mut problems = Vec::new();
    let schema = pack.schema();
    for (t, n) in &rows {
        let held = loaded.edge_cases.get(t).map_or(0, Vec::len) as u64;
        assert!(held > 0, "{kind:?}: {t} holds no edge case");
        assert_eq!(loaded.rows[t], n + held, "{kind:?}: {t}");
        let table = schema.table(t).unwrap();
        let stored = db
            .count(&format!("SELECT COUNT(*) FROM {}", quoted(kind, t)))
            .await;
        assert_eq!(
            (stored - before[t]) as u64,
            n + held,
            "{kind:?}: {t} rows in the database"
        );
        // The dataset the load wrote, to make rows after it.
        let mut options = DatasetOptions::new(loaded.seed, loaded.reference_date);
        options.run_id = loaded.run_id.clone();
        let dataset =
            Dataset::new(schema, &rows, pack.generators(), pack.markers(), &options).unwrap();
        let cases: Vec<EdgeCase> = edge_cases(schema, table, loaded.reference_date)
            .into_iter()
            .filter(|c| c.validity == Validity::Invalid)
            .collect();
        let first = dataset.row(t, 0).unwrap();
        for (k, case) in cases.iter().enumerate() {
            // A fresh row after every row the load wrote, the case's cells set.
            let mut row = dataset.row(t, n + held + 1 + k as u64).unwrap();
            if case.duplicate {
                let v = first
                    .iter()
                    .find(|(c, _)| c == &case.column)
                    .unwrap()
                    .1
                    .clone();
                row.iter_mut().find(|(c, _)| c == &case.column).unwrap().1 = v;
            }
            for (col, v) in &case.cells {
                row.iter_mut().find(|(c, _)| c == col).unwrap().1 = v.clone();
            }
            row.retain(|(c, _)| {
                table
                    .get_column(c)
                    .is_some_and(|c| !matches!(c.generated, Some(Generated::Identity)))
            });
            let cols: Vec<String> = row.iter().map(|(c, _)| quoted(kind, c)).collect();
            let vals: Vec<String> = row
                .iter()
                .map(|(_, v)| sql_literal(kind.dialect(), v))
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quoted(kind, t),
                cols.join(", "),
                vals.join(", ")
            );
            let expected = case.rejected_by.contains(&kind.dialect());
            let got = accepted(db, &sql).await;
            if got.is_err() != expected {
                problems.push(format!(
                    "{kind:?} {t}.{} {}: expected {}, got {got:?} for {sql}",
                    case.column,
                    case.class,
                    if expected { "a refusal" } else { "acceptance" },
                ));
            }
        }
    }
    // The coverage command counts the classes the load seeded: at least 95% of the valid
    // classes of every column (the load covers every table).
    let cov = e.coverage(&[]).await.unwrap();
    let (seeded, all) = cov.edge_classes.iter().fold((0, 0), |(s, a), c| {
        let x = c.classes.iter().filter(|x| x.seeded_runs > 0).count();
        (s + x, a + c.classes.len())
    });
    eprintln!(
        "{kind:?} {}: edge coverage {:.1}% ({seeded} of {all} valid classes), never seeded: {:?}",
        pack.name(),
        cov.edge_coverage,
        cov.gaps.edge_classes_never_seeded
    );
    if cov.edge_coverage < 95.0 {
        problems.push(format!(
            "{kind:?} {}: edge coverage {:.1}% is under 95%",
            pack.name(),
            cov.edge_coverage
        ));
    }
    e.reset_run(&loaded.run_id, loaded.token.expose())
        .await
        .unwrap();
    for t in rows.keys() {
        let left = db
            .count(&format!("SELECT COUNT(*) FROM {}", quoted(kind, t)))
            .await;
        assert_eq!(
            left, before[t],
            "{kind:?}: the reset leaves no row of {t} it loaded"
        );
    }
    e.close().await;
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_edges_are_accepted_and_invalid_ones_refused_where_promised() {
    let mut problems = Vec::new();
    for db in TestDb::all().await {
        problems.extend(exercise(&db, &every_type(), &[("account", 30), ("booking", 40)]).await);
        db.drop_db().await;
    }
    for db in TestDb::all().await {
        let shop = Pack::builder("shop", Schema::from_toml(SHOP, "shop.toml").unwrap())
            .build()
            .unwrap();
        let counts = [
            ("customer", 30),
            ("product", 12),
            ("orders", 40),
            ("order_item", 60),
            ("loyalty", 5),
            ("staff", 15),
            ("device", 10),
            ("device_event", 30),
        ];
        problems.extend(exercise(&db, &shop, &counts).await);
        db.drop_db().await;
    }
    for db in TestDb::all().await {
        let counts = [
            ("procedure_code", 3),
            ("diagnosis_code", 3),
            ("plan", 3),
            ("provider", 4),
            ("member", 10),
            ("eligibility", 10),
            ("claim", 12),
        ];
        problems.extend(exercise(&db, &healthcare::pack(), &counts).await);
        db.drop_db().await;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A scenario request with edge cases: the rows the validators pass are seeded in the one
/// transaction, the result says which classes they hold, the audit records them for
/// coverage, and the reset removes exactly the run's rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_edge_cases_seeds_and_resets_exactly() {
    let tables = ["plan", "provider", "member", "eligibility", "claim"];
    for db in TestDb::all().await {
        let kind = db.kind;
        let e = Engine::builder(healthcare::pack())
            .database_url(&db.url)
            .store(Store::from_url("memory://").unwrap())
            .reference_date(d())
            .connect()
            .await
            .unwrap();
        let count = |t: &'static str| {
            let db = &db;
            async move {
                db.count(&format!("SELECT COUNT(*) FROM {}", quoted(kind, t)))
                    .await
            }
        };
        let plain = e
            .request("claim_denial_active_member", atdm_sqlx::Request::new())
            .await
            .unwrap();
        let mut before = Vec::new();
        for t in tables {
            before.push(count(t).await);
        }
        let r = atdm_sqlx::Request::new().edge_cases(EdgeCases::Valid);
        let seeded = e
            .request("claim_denial_active_member", r)
            .await
            .unwrap_or_else(|err| panic!("{kind:?}: {err}"));
        let held: usize = seeded.edge_cases.values().map(Vec::len).sum();
        assert!(held > 40, "{kind:?}: {held} edge rows");
        for (t, n) in tables.iter().zip(&before) {
            let edges = seeded.edge_cases.get(*t).map_or(0, Vec::len) as i64;
            assert_eq!(count(t).await - n, seeded.rows[*t] as i64, "{kind:?} {t}");
            assert!(seeded.rows[*t] as i64 > edges, "{kind:?} {t}");
        }
        // The entity keys are the scenario's own rows.
        assert_eq!(seeded.data.len(), plain.data.len());
        // The invalid classes come as negative-test fixtures, never as rows.
        assert!(
            seeded
                .negative
                .iter()
                .all(|c| c.validity == Validity::Invalid)
        );
        assert!(
            seeded
                .negative
                .iter()
                .any(|c| c.table == "claim" && c.class == "list.not_listed"),
            "{kind:?}"
        );
        assert!(plain.negative.is_empty());
        let cov = e.coverage(&[]).await.unwrap();
        let seeded_classes: usize = cov
            .edge_classes
            .iter()
            .flat_map(|c| &c.classes)
            .filter(|c| c.seeded_runs > 0)
            .count();
        assert!(
            seeded_classes >= held.min(1),
            "{kind:?}: coverage counts them"
        );
        let delivered = cov
            .edge_classes
            .iter()
            .flat_map(|c| &c.invalid)
            .filter(|c| c.delivered_runs > 0)
            .count();
        assert_eq!(
            delivered,
            seeded.negative.len(),
            "{kind:?}: and the fixtures delivered"
        );
        e.reset_run(&seeded.run_id, seeded.token.expose())
            .await
            .unwrap();
        for (t, n) in tables.iter().zip(&before) {
            assert_eq!(
                count(t).await,
                *n,
                "{kind:?}: the reset removes exactly the run's {t}"
            );
        }
        e.reset_run(&plain.run_id, plain.token.expose())
            .await
            .unwrap();
        e.close().await;
        db.drop_db().await;
    }
}

/// A MySQL column in a character set that cannot hold every character (`utf8mb3`, as Chinook's
/// MySQL script creates its text, or `latin1`): introspection records it, the classes with
/// characters it cannot hold become invalid there (refused by MySQL), and a load with edge
/// cases is taken whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narrow_character_sets_turn_their_classes_invalid() {
    let Some(db) = TestDb::fresh(Kind::MySql).await else {
        return;
    };
    db.exec(
        "CREATE TABLE artist (artist_id INT AUTO_INCREMENT PRIMARY KEY, \
         name VARCHAR(120) CHARACTER SET utf8mb3 NOT NULL, \
         note VARCHAR(60) CHARACTER SET latin1 NULL, \
         bio TEXT CHARACTER SET utf8mb4 NULL)",
    )
    .await;
    let intro = atdm_sqlx::introspect(&db.url, "chinook").await.unwrap();
    let artist = intro.schema.table("artist").unwrap();
    let charset = |c: &str| artist.get_column(c).unwrap().charset.clone();
    assert_eq!(
        charset("name").as_deref().map(str::to_lowercase).as_deref(),
        Some("utf8mb3")
    );
    assert_eq!(charset("note").as_deref(), Some("latin1"));
    assert_eq!(charset("bio"), None);
    let cases = edge_cases(&intro.schema, artist, d());
    let of = |c: &str, class: &str| {
        cases
            .iter()
            .find(|x| x.column == c && x.class == class)
            .unwrap_or_else(|| panic!("no {c} {class}"))
    };
    assert_eq!(of("name", "text.four_byte").validity, Validity::Invalid);
    assert_eq!(of("name", "text.four_byte").rejected_by, [Dialect::MySql]);
    assert_eq!(of("name", "text.multibyte").validity, Validity::Valid);
    assert_eq!(of("note", "text.multibyte").validity, Validity::Invalid);
    assert_eq!(of("bio", "text.four_byte").validity, Validity::Valid);
    let pack = Pack::builder("chinook", intro.schema.clone())
        .build()
        .unwrap();
    let problems = exercise(&db, &pack, &[("artist", 10)]).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    db.drop_db().await;
}
