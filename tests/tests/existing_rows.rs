//! A scenario may point at rows that exist before the run (an order for an existing product):
//! the engine reads candidate keys, the pure planner picks one, reset leaves them alone, and
//! rows other runs own are never picked.

mod support;

use atdm_core::schema::Schema;
use atdm_core::{ErrorCode, Pack};
use atdm_sqlx::{Engine, Request};
use support::{TestDb, d};

const SCHEMA: &str = r#"
name = "shop"
[[tables]]
name = "product"
primary_key = ["sku"]
columns = [
  { name = "sku", type = "varchar(40)" },
  { name = "title", type = "text" },
]
[[tables]]
name = "purchase"
primary_key = ["purchase_id"]
columns = [
  { name = "purchase_id", type = "varchar(60)" },
  { name = "sku", type = "varchar(40)" },
  { name = "quantity", type = "integer" },
]
checks = ["quantity between 1 and 9"]
foreign_keys = [{ columns = ["sku"], references = "product" }]
"#;

const BUY: &str = r#"
id = "purchase_of_existing_product"
description = "A purchase of a product that is already in the catalogue."
[[rows]]
alias = "purchase"
table = "purchase"
output = "purchase_id"
set = { purchase_id = "p-{run_id}", sku = { existing = "product" } }
"#;

const NEW_PRODUCT: &str = r#"
id = "new_product"
description = "A product of this run."
[[rows]]
alias = "product"
table = "product"
set = { sku = "run-{run_id}" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_point_at_rows_that_already_exist() {
    for db in TestDb::all().await {
        let kind = db.kind;
        let schema = Schema::from_toml(SCHEMA, "shop.toml").unwrap();
        let pack = Pack::builder("shop", schema)
            .scenario("buy.toml", BUY)
            .scenario("new.toml", NEW_PRODUCT)
            .build()
            .unwrap();
        let e = Engine::builder(pack)
            .database_url(&db.url)
            .reference_date(d())
            .connect()
            .await
            .unwrap();

        // No product at all: a clear planning error, nothing written.
        let err = e
            .request("purchase_of_existing_product", Request::new())
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::PlanFailed, "{kind:?}: {err}");
        assert!(
            err.to_string().contains("existing \"product\" row"),
            "{err}"
        );

        // Another run's product is not a candidate (its reset would take it away).
        let other = e.request("new_product", Request::new()).await.unwrap();
        let err = e
            .request("purchase_of_existing_product", Request::new())
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::PlanFailed,
            "{kind:?}: a run-owned row is never picked"
        );

        db.exec("INSERT INTO product (sku, title) VALUES ('SKU-LAMP', 'Lamp')")
            .await;
        db.exec("INSERT INTO product (sku, title) VALUES ('SKU-DESK', 'Desk')")
            .await;
        let s = e
            .request("purchase_of_existing_product", Request::new())
            .await
            .unwrap();
        let sku = db
            .text(&format!(
                "SELECT sku FROM purchase WHERE purchase_id = 'p-{}'",
                s.run_id
            ))
            .await
            .unwrap();
        assert!(sku == "SKU-LAMP" || sku == "SKU-DESK", "{kind:?}: {sku}");

        let rep = e.reset_run(&s.run_id, s.token.expose()).await.unwrap();
        assert_eq!((rep.deleted["purchase"], rep.deleted["product"]), (1, 0));
        assert_eq!(
            db.count("SELECT COUNT(*) FROM product WHERE sku LIKE 'SKU-%'")
                .await,
            2,
            "existing rows stay"
        );
        e.reset_run(&other.run_id, other.token.expose())
            .await
            .unwrap();
        assert_eq!(db.count("SELECT COUNT(*) FROM product").await, 2);
        e.close().await;
        db.drop_db().await;
    }
}
