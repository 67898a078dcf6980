//! Tables whose triggers rewrite a value on insert (a creation date set to now) or write
//! another table (a film's text copied into a search table): a baseline restore gives back
//! every row byte for byte anyway, on every backend; the trigger fires for seeded rows as the
//! application's own inserts would.

mod support;

use atdm_core::Pack;
use atdm_core::schema::Schema;
use atdm_sqlx::{Engine, Request, SnapshotOptions, Store};
use support::{Kind, TestDb, d, dump_all};

const SCHEMA: &str = r#"
name = "films"

[[tables]]
name = "customer"
primary_key = ["customer_id"]
columns = [
  { name = "customer_id", type = "integer" },
  { name = "first_name", type = "varchar(45)" },
  { name = "create_date", type = "timestamp" },
]
triggers = [{ name = "customer_create_date", timing = "before", events = ["insert"] }]

[[tables]]
name = "film"
primary_key = ["film_id"]
columns = [
  { name = "film_id", type = "integer" },
  { name = "title", type = "varchar(60)" },
]
triggers = [{ name = "ins_film", timing = "after", events = ["insert"] }]

[[tables]]
name = "film_text"
primary_key = ["film_id"]
columns = [
  { name = "film_id", type = "integer" },
  { name = "title", type = "varchar(60)" },
]
"#;

const BOTH: &str = r#"
id = "customer_and_film"
description = "A customer and a film."

[[rows]]
alias = "customer"
table = "customer"

[[rows]]
alias = "film"
table = "film"
"#;

/// The triggers, as each database writes them.
fn triggers(kind: Kind) -> Vec<&'static str> {
    match kind {
        Kind::Postgres => vec![
            "CREATE FUNCTION set_create_date() RETURNS trigger AS $$ BEGIN NEW.create_date := '2030-01-01 00:00:00'; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER customer_create_date BEFORE INSERT ON customer FOR EACH ROW EXECUTE FUNCTION set_create_date()",
            "CREATE FUNCTION copy_film() RETURNS trigger AS $$ BEGIN INSERT INTO film_text (film_id, title) VALUES (NEW.film_id, NEW.title); RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER ins_film AFTER INSERT ON film FOR EACH ROW EXECUTE FUNCTION copy_film()",
        ],
        Kind::MySql => vec![
            "CREATE TRIGGER customer_create_date BEFORE INSERT ON customer FOR EACH ROW SET NEW.create_date = '2030-01-01 00:00:00'",
            "CREATE TRIGGER ins_film AFTER INSERT ON film FOR EACH ROW INSERT INTO film_text (film_id, title) VALUES (NEW.film_id, NEW.title)",
        ],
        Kind::Sqlite => vec![
            "CREATE TRIGGER customer_create_date AFTER INSERT ON customer BEGIN UPDATE customer SET create_date = '2030-01-01 00:00:00' WHERE customer_id = NEW.customer_id; END",
            "CREATE TRIGGER ins_film AFTER INSERT ON film BEGIN INSERT INTO film_text (film_id, title) VALUES (NEW.film_id, NEW.title); END",
        ],
    }
}

const TABLES: [&str; 3] = ["customer", "film", "film_text"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_gives_back_what_triggers_would_change() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let schema = Schema::from_toml(SCHEMA, "films.toml").unwrap();
        let pack = Pack::builder("films", schema)
            .scenario("both.toml", BOTH)
            .build()
            .unwrap();
        let e = Engine::builder(pack)
            .database_url(&db.url)
            .store(Store::from_url("memory://").unwrap())
            .reference_date(d())
            .connect()
            .await
            .unwrap();
        for sql in triggers(kind) {
            db.exec(sql).await;
        }
        // Rows of the application's, one with a creation date the trigger did not give it.
        db.exec("INSERT INTO customer (customer_id, first_name, create_date) VALUES (1, 'MARY', '2006-02-14 22:04:36')")
            .await;
        db.exec("UPDATE customer SET create_date = '2006-02-14 22:04:36' WHERE customer_id = 1")
            .await;
        db.exec("INSERT INTO film (film_id, title) VALUES (1, 'ACADEMY DINOSAUR')")
            .await;
        db.exec("UPDATE film_text SET title = 'Academy Dinosaur' WHERE film_id = 1")
            .await;

        // Seeded rows go through the triggers like any insert.
        let run = e
            .request("customer_and_film", Request::new())
            .await
            .unwrap();
        assert_eq!(
            db.count("SELECT COUNT(*) FROM customer WHERE create_date = '2030-01-01 00:00:00'")
                .await,
            1,
            "{kind:?}"
        );
        assert_eq!(
            db.count("SELECT COUNT(*) FROM film_text").await,
            2,
            "{kind:?}"
        );

        let before = dump_all(&db, &TABLES).await;
        let m = e.snapshot(SnapshotOptions::new()).await.unwrap();
        db.exec("DELETE FROM film_text").await;
        db.exec("DELETE FROM film").await;
        db.exec("DELETE FROM customer").await;
        for _ in 0..2 {
            e.restore(Some(&m.id)).await.unwrap();
            assert_eq!(
                dump_all(&db, &TABLES).await,
                before,
                "{kind:?}: byte for byte"
            );
        }
        // The run is the baseline's again, and its reset leaves the application's rows.
        let r = e.reset_run(&run.run_id, run.token.expose()).await.unwrap();
        assert_eq!(r.deleted["customer"], 1, "{kind:?}");
        assert_eq!(
            db.count("SELECT COUNT(*) FROM customer").await,
            1,
            "{kind:?}"
        );
        e.close().await;
        db.drop_db().await;
    }
}
