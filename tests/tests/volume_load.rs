//! Volume loads on every backend: a whole shop (identity keys, a text key, a composite key of
//! two foreign keys, a one-to-one extension table, a self-reference, checks between columns,
//! a UUID key and a child keyed by it)
//! generated straight into the database through its bulk path, the database itself checking
//! every foreign key, unique and check; a second load pointing at rows the database already
//! holds; each reset deleting exactly its run's rows by its claims, rows written by hand left
//! alone; the audit trail holding the load.

mod support;

use std::collections::BTreeMap;

use atdm_core::Pack;
use atdm_core::schema::Schema;
use atdm_sqlx::{Destination, FileFormat, GenerateOptions, Load, OwnedValues, generate_files};
use support::{Kind, TestDb, d, dump, quoted};

const SHOP: &str = include_str!("support/shop.toml");

fn rows(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

async fn count(db: &TestDb, table: &str) -> i64 {
    db.count(&format!("SELECT COUNT(*) FROM {}", quoted(db.kind, table)))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_load_is_checked_by_the_database_and_resets_exactly() {
    let schema = Schema::from_toml(SHOP, "shop.toml").unwrap();
    let pack = Pack::builder("shop", schema).build().unwrap();
    for db in TestDb::all().await {
        let kind = db.kind;
        let e = db.engine(pack.clone()).await;
        // Rows written by hand before: the load's keys continue after them, and no reset
        // touches them.
        db.exec(&format!(
            "INSERT INTO {} (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.org'), ('Alan', 'Turing', 'alan@example.org')",
            quoted(kind, "customer")
        ))
        .await;
        let mut load = Load::new(rows(&[
            ("customer", 3000),
            ("product", 60),
            ("orders", 6000),
            ("order_item", 9000),
            ("loyalty", 2500),
            ("staff", 400),
            ("device", 800),
            ("device_event", 2000),
        ]));
        load.batch_rows = 1000;
        let seen = std::sync::Mutex::new(0u64);
        let first = e
            .load(load, &|p| {
                if p.table == "order_item" {
                    *seen.lock().unwrap() = p.done;
                }
            })
            .await
            .unwrap_or_else(|err| panic!("{kind:?}: {err}"));
        assert_eq!(
            *seen.lock().unwrap(),
            9000,
            "{kind:?}: progress reached the end"
        );
        assert_eq!(first.rows["order_item"], 9000);
        let customer = first.owned.iter().find(|o| o.table == "customer").unwrap();
        assert_eq!(
            customer.values,
            OwnedValues::Range { from: 3, to: 3002 },
            "{kind:?}: keys continue after the rows written by hand"
        );
        assert_eq!(count(&db, "customer").await, 3002);
        assert_eq!(count(&db, "order_item").await, 9000);
        // SQLite checks foreign keys only where they are switched on: check them here too.
        let dangling = db
            .count(&format!(
                "SELECT COUNT(*) FROM {} i LEFT JOIN {} o ON o.order_id = i.order_id WHERE o.order_id IS NULL",
                quoted(kind, "order_item"),
                quoted(kind, "orders")
            ))
            .await;
        assert_eq!(dangling, 0, "{kind:?}");
        let managed = db
            .count(&format!(
                "SELECT COUNT(*) FROM {} s JOIN {} m ON m.staff_id = s.manager_id WHERE m.staff_id < s.staff_id",
                quoted(kind, "staff"),
                quoted(kind, "staff")
            ))
            .await;
        assert!(
            managed > 200,
            "{kind:?}: managers are earlier staff ({managed})"
        );

        // A second load of orders only: they point at customers the database holds.
        let second = e
            .load(Load::new(rows(&[("orders", 500)])), &|_| {})
            .await
            .unwrap();
        let spread = db
            .count(&format!(
                "SELECT COUNT(DISTINCT customer_id) FROM {} WHERE order_id > 6000",
                quoted(kind, "orders")
            ))
            .await;
        assert!(
            spread > 400,
            "{kind:?}: the new orders spread over the customers ({spread})"
        );
        assert_eq!(count(&db, "orders").await, 6500);

        // The first run cannot go while the second's orders point at its customers; the
        // second goes first, then the first, and only the hand-written rows stay.
        let r = e
            .reset_run(&second.run_id, second.token.expose())
            .await
            .unwrap();
        assert_eq!(r.deleted["orders"], 500, "{kind:?}");
        assert_eq!(count(&db, "orders").await, 6000);
        let r = e
            .reset_run(&first.run_id, first.token.expose())
            .await
            .unwrap();
        assert_eq!(r.deleted["order_item"], 9000, "{kind:?}");
        assert_eq!(r.deleted["staff"], 400, "{kind:?}");
        assert_eq!(r.deleted["device"], 800, "{kind:?}: UUID keys, recomputed");
        assert_eq!(r.deleted["device_event"], 2000, "{kind:?}");
        let device = first.owned.iter().find(|o| o.table == "device").unwrap();
        assert!(
            matches!(device.values, OwnedValues::Generated { .. }),
            "{:?}",
            device.values
        );
        for t in [
            "orders",
            "order_item",
            "loyalty",
            "staff",
            "product",
            "device",
            "device_event",
        ] {
            assert_eq!(count(&db, t).await, 0, "{kind:?}: {t}");
        }
        assert_eq!(
            count(&db, "customer").await,
            2,
            "{kind:?}: only the hand-written rows"
        );

        let trail = e.audit(&first.run_id).await.unwrap();
        let actions: Vec<String> = trail
            .events
            .iter()
            .map(|ev| {
                serde_json::to_value(ev.action)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        for a in [
            "request_received",
            "seed_started",
            "seed_completed",
            "reset_completed",
        ] {
            assert!(
                actions.iter().any(|x| x == a),
                "{kind:?}: {a} in {actions:?}"
            );
        }
        e.close().await;
        db.drop_db().await;
    }
}

/// One table of every kind of value a load writes.
const KINDS: &str = r#"
name = "kinds"
[[tables]]
name = "entry"
primary_key = ["entry_id"]
columns = [
  { name = "entry_id", type = "bigint", generated = "identity" },
  { name = "amount", type = "numeric(12,2)" },
  { name = "flag", type = "boolean" },
  { name = "small", type = "integer" },
  { name = "at", type = "timestamptz" },
  { name = "local_at", type = "timestamp", nullable = true },
  { name = "on_day", type = "date", nullable = true },
  { name = "note", type = "text", nullable = true },
  { name = "ref", type = "uuid" },
  { name = "raw", type = "bytes", nullable = true },
]
"#;

/// Each backend's load path (PostgreSQL's `COPY`, MySQL's bound `INSERT` statements,
/// SQLite's `INSERT` statements with literal values) stores the values the SQL script of the
/// same seed holds: every kind of value, NULLs, and more rows than one statement takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_stores_the_values_of_the_sql_script_of_the_same_seed() {
    let schema = Schema::from_toml(KINDS, "kinds.toml").unwrap();
    let pack = Pack::builder("kinds", schema).build().unwrap();
    let n = 16_000;
    for kind in [Kind::Sqlite, Kind::Postgres, Kind::MySql] {
        let (Some(loaded), Some(scripted)) = (TestDb::fresh(kind).await, TestDb::fresh(kind).await)
        else {
            continue;
        };
        // The load.
        let e = loaded.engine(pack.clone()).await;
        let mut load = Load::new(rows(&[("entry", n)]));
        load.seed = Some(11);
        e.load(load, &|_| {})
            .await
            .unwrap_or_else(|err| panic!("{kind:?}: {err}"));
        e.close().await;
        // The SQL script of the same seed, into tables the engine made.
        let e = scripted.engine(pack.clone()).await;
        let dir = support::browser::temp_dir("load-script");
        let mut options = GenerateOptions::new(rows(&[("entry", n)]), 11, d());
        options.threads = 1;
        generate_files(
            &pack,
            &options,
            FileFormat::Sql(kind.dialect()),
            &Destination::Dir(dir.clone()),
            &|_| {},
        )
        .unwrap();
        let sql = std::fs::read_to_string(dir.join("entry.sql")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        scripted.script(&sql).await;
        e.close().await;
        let dumps = [dump(&loaded, "entry").await, dump(&scripted, "entry").await];
        assert_eq!(dumps[0].len(), n as usize, "{kind:?}");
        let nulls = loaded
            .count("SELECT COUNT(*) FROM entry WHERE note IS NULL AND raw IS NULL")
            .await;
        assert!(nulls > 100, "{kind:?}: NULLs are loaded too ({nulls})");
        if let Some(i) = (0..dumps[0].len()).find(|&i| dumps[0][i] != dumps[1][i]) {
            panic!(
                "{kind:?}: the load stored\n  {}\nthe script\n  {}",
                dumps[0][i], dumps[1][i]
            );
        }
        loaded.drop_db().await;
        scripted.drop_db().await;
    }
}

#[tokio::test]
async fn a_load_that_cannot_be_made_writes_nothing() {
    let schema = Schema::from_toml(SHOP, "shop.toml").unwrap();
    let pack = Pack::builder("shop", schema).build().unwrap();
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let e = db.engine(pack).await;
    for (bad, says) in [
        (rows(&[("orders", 10)]), "give \"customer\" a row count"),
        (rows(&[("custmer", 10)]), "no table \"custmer\""),
        (rows(&[("customer", 2), ("loyalty", 3)]), "at most 2 rows"),
        (rows(&[]), "no table to generate"),
    ] {
        let err = e.load(Load::new(bad), &|_| {}).await.unwrap_err();
        assert_eq!(err.code().as_str(), "INVALID_DATASET", "{err}");
        assert!(err.to_string().contains(says), "{err}");
    }
    assert_eq!(count(&db, "customer").await, 0);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM atdm_runs").await,
        0,
        "no run was recorded"
    );
    e.close().await;
    db.drop_db().await;
}
