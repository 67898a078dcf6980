//! NOT NULL foreign keys that form a cycle (a store's manager is a staff member of the store)
//! are seeded in one transaction and reset exactly, on every backend, with keys the database
//! assigns (drawn from the sequence on PostgreSQL) and keys the scenario plans.

mod support;

use atdm_core::Pack;
use atdm_core::schema::Schema;
use atdm_sqlx::{Engine, Request, SnapshotOptions, Store};
use support::{Kind, TestDb, d, dump_all};

const SCHEMA: &str = r#"
name = "rental"

[[tables]]
name = "address"
primary_key = ["address_id"]
columns = [
  { name = "address_id", type = "integer", generated = "identity" },
  { name = "street", type = "varchar(50)" },
]

[[tables]]
name = "store"
primary_key = ["store_id"]
columns = [
  { name = "store_id", type = "smallint unsigned", generated = "identity" },
  { name = "manager_staff_id", type = "smallint unsigned" },
  { name = "address_id", type = "integer" },
]
foreign_keys = [
  { columns = ["manager_staff_id"], references = "staff" },
  { columns = ["address_id"], references = "address" },
]

[[tables]]
name = "staff"
primary_key = ["staff_id"]
columns = [
  { name = "staff_id", type = "smallint unsigned", generated = "identity" },
  { name = "first_name", type = "varchar(45)" },
  { name = "store_id", type = "smallint unsigned" },
]
foreign_keys = [{ columns = ["store_id"], references = "store" }]

[[tables]]
name = "rental"
primary_key = ["rental_id"]
columns = [
  { name = "rental_id", type = "integer", generated = "identity" },
  { name = "staff_id", type = "smallint unsigned" },
]
foreign_keys = [{ columns = ["staff_id"], references = "staff" }]

[[tables]]
name = "region"
primary_key = ["code"]
columns = [
  { name = "code", type = "varchar(40)" },
  { name = "capital", type = "varchar(40)" },
]
foreign_keys = [{ columns = ["capital"], references = "city" }]

[[tables]]
name = "city"
primary_key = ["code"]
columns = [
  { name = "code", type = "varchar(40)" },
  { name = "region", type = "varchar(40)" },
]
foreign_keys = [{ columns = ["region"], references = "region" }]
"#;

const EVERY_TABLE: &str = r#"
id = "every_table"
description = "One row in every table."

[[rows]]
alias = "address"
table = "address"

[[rows]]
alias = "store"
table = "store"

[[rows]]
alias = "staff"
table = "staff"

[[rows]]
alias = "rental"
table = "rental"

[[rows]]
alias = "region"
table = "region"

[[rows]]
alias = "city"
table = "city"
"#;

const TABLES: [&str; 6] = ["address", "store", "staff", "rental", "region", "city"];

async fn counts(db: &TestDb) -> Vec<i64> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push(db.count(&format!("SELECT COUNT(*) FROM {t}")).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_not_null_foreign_key_cycle_is_seeded_and_reset_exactly() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let schema = Schema::from_toml(SCHEMA, "rental.toml").unwrap();
        let pack = Pack::builder("rental", schema)
            .scenario("every_table.toml", EVERY_TABLE)
            .build()
            .unwrap();
        let e = Engine::builder(pack)
            .database_url(&db.url)
            .store(Store::from_url("memory://").unwrap())
            .reference_date(d())
            .connect()
            .await
            .unwrap();
        assert_eq!(counts(&db).await, [0; 6], "{kind:?}");

        // Two runs at once, then a third: each writes its own cycle.
        let (a, b) = tokio::join!(
            e.request("every_table", Request::new()),
            e.request("every_table", Request::new())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let c = e.request("every_table", Request::new()).await.unwrap();
        assert_eq!(counts(&db).await, [3; 6], "{kind:?}");
        // Every store's manager works at that store, and every rental's staff member exists.
        assert_eq!(
            db.count(
                "SELECT COUNT(*) FROM store s JOIN staff f ON f.staff_id = s.manager_staff_id AND f.store_id = s.store_id"
            )
            .await,
            3,
            "{kind:?}"
        );
        assert_eq!(
            db.count("SELECT COUNT(*) FROM city c JOIN region r ON r.capital = c.code AND c.region = r.code")
                .await,
            3,
            "{kind:?}"
        );
        let store_a = a.data["store"]
            .as_i64()
            .unwrap_or_else(|| panic!("{kind:?}: {:?}", a.data));
        assert!(
            (1..=3).contains(&store_a),
            "{kind:?}: keys continue the table's count: {store_a}"
        );

        // A new row the application writes after ours gets the next key, not one of ours.
        if kind == Kind::Postgres {
            db.exec("INSERT INTO address (street) VALUES ('1 Main Street')")
                .await;
            assert_eq!(db.count("SELECT COUNT(*) FROM address").await, 4);
            db.exec("DELETE FROM address WHERE street = '1 Main Street'")
                .await;
        }

        // A baseline of the three cycles; a fourth run and a reset change the tables; the
        // restore gives them back byte for byte (twice: it is idempotent).
        let snapshot = dump_all(&db, &TABLES).await;
        let m = e.snapshot(SnapshotOptions::new()).await.unwrap();
        let extra = e.request("every_table", Request::new()).await.unwrap();
        e.reset_run(&a.run_id, a.token.expose()).await.unwrap();
        assert_ne!(dump_all(&db, &TABLES).await, snapshot, "{kind:?}");
        for _ in 0..2 {
            let r = e.restore(Some(&m.id)).await.unwrap();
            assert_eq!(r.rows["store"], 3, "{kind:?}");
            assert_eq!(
                dump_all(&db, &TABLES).await,
                snapshot,
                "{kind:?}: restored exactly"
            );
        }
        let gone = e.reset_run(&extra.run_id, extra.token.expose()).await;
        assert!(
            gone.is_err(),
            "{kind:?}: the run after the baseline is gone"
        );

        for run in [&b, &a, &c] {
            let r = e.reset_run(&run.run_id, run.token.expose()).await.unwrap();
            for t in TABLES {
                assert_eq!(r.deleted[t], 1, "{kind:?}: {t}");
            }
        }
        assert_eq!(counts(&db).await, [0; 6], "{kind:?}: reset is exact");
        e.close().await;
        db.drop_db().await;
    }
}

const COUNTRIES: &str = r#"
name = "geo"

[[tables]]
name = "country"
primary_key = ["country_id"]
columns = [
  { name = "country_id", type = "smallint" },
  { name = "country", type = "varchar(50)" },
]

[[tables]]
name = "city"
primary_key = ["city_id"]
columns = [
  { name = "city_id", type = "integer" },
  { name = "city", type = "varchar(50)" },
  { name = "country_id", type = "smallint" },
]
foreign_keys = [{ columns = ["country_id"], references = "country" }]
"#;

const TWO_CITIES: &str = r#"
id = "two_cities"
description = "A country with two cities."

[[rows]]
alias = "country"
table = "country"

[[rows]]
alias = "cities"
table = "city"
count = 2
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integer_keys_continue_after_the_largest_existing_key() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let schema = Schema::from_toml(COUNTRIES, "geo.toml").unwrap();
        let pack = Pack::builder("geo", schema)
            .scenario("two_cities.toml", TWO_CITIES)
            .build()
            .unwrap();
        let e = Engine::builder(pack)
            .database_url(&db.url)
            .reference_date(d())
            .connect()
            .await
            .unwrap();
        db.exec("INSERT INTO country (country_id, country) VALUES (109, 'Zambia')")
            .await;
        db.exec("INSERT INTO city (city_id, city, country_id) VALUES (600, 'Lusaka', 109)")
            .await;
        let (a, b) = tokio::join!(
            e.request("two_cities", Request::new()),
            e.request("two_cities", Request::new())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut countries = vec![
            a.data["country"].as_i64().unwrap(),
            b.data["country"].as_i64().unwrap(),
        ];
        countries.sort();
        assert_eq!(countries, [110, 111], "{kind:?}: {:?} {:?}", a.data, b.data);
        assert_eq!(
            db.count("SELECT COUNT(*) FROM city WHERE city_id BETWEEN 601 AND 604")
                .await,
            4,
            "{kind:?}"
        );
        assert_eq!(
            db.count("SELECT COUNT(*) FROM city c JOIN country k ON k.country_id = c.country_id WHERE c.city_id > 600 AND k.country_id > 109")
                .await,
            4,
            "{kind:?}: the cities point at their run's country"
        );
        for run in [&a, &b] {
            e.reset_run(&run.run_id, run.token.expose()).await.unwrap();
        }
        assert_eq!(db.count("SELECT COUNT(*) FROM city").await, 1, "{kind:?}");
        assert_eq!(
            db.count("SELECT COUNT(*) FROM country").await,
            1,
            "{kind:?}"
        );
        e.close().await;
        db.drop_db().await;
    }
}
