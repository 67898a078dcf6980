//! A scenario with a large count, requested on every backend: its big entries are streamed
//! in batches (never all held at once), land in one transaction with the planned rows, are
//! owned by the run (integer keys by their range), and reset exactly; a batch the database
//! refuses rolls everything back.

mod support;

use std::collections::BTreeMap;

use atdm_core::Pack;
use atdm_core::schema::Schema;
use atdm_sqlx::Request;
use serde_json::json;
use support::{Kind, TestDb, quoted};

const SHOP: &str = include_str!("support/shop.toml");

const SCENARIO: &str = r#"
id = "order_book"
description = "One customer with many orders, and a big catalog."

[knobs.orders]
type = "integer"
default = 20000

[knobs.products]
type = "integer"
default = 12000

[[rows]]
alias = "customer"
table = "customer"

[[rows]]
alias = "order"
table = "orders"
count = "{orders}"
set = { customer_id = "@customer", status = { pick = ["new", "paid"] } }

[[rows]]
alias = "catalog"
table = "product"
count = "{products}"

[[rows]]
alias = "item"
table = "order_item"
count = 2
set = { order_id = "@order", sku = "@catalog" }
"#;

const PAID_ORDERS: &str = r#"
id = "every_order_paid"
description = "Many orders, each with one item, from a catalog every item draws on."

[knobs.orders]
type = "integer"
default = 20000

[[rows]]
alias = "customer"
table = "customer"

[[rows]]
alias = "order"
table = "orders"
count = "{orders}"
set = { customer_id = "@customer" }

[[rows]]
alias = "catalog"
table = "product"
count = 12000

[[rows]]
alias = "item"
table = "order_item"
count = "{orders}"
set = { order_id = "@order", sku = "@catalog" }
"#;

async fn count(db: &TestDb, table: &str) -> i64 {
    db.count(&format!("SELECT COUNT(*) FROM {}", quoted(db.kind, table)))
        .await
}

async fn counts(db: &TestDb) -> [i64; 4] {
    [
        count(db, "customer").await,
        count(db, "orders").await,
        count(db, "product").await,
        count(db, "order_item").await,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_count_is_streamed_owned_and_reset_exactly() {
    let schema = Schema::from_toml(SHOP, "shop.toml").unwrap();
    let pack = Pack::builder("shop", schema)
        .scenario("order_book.toml", SCENARIO)
        .build()
        .unwrap();
    for db in TestDb::all().await {
        let kind = db.kind;
        let e = db.engine(pack.clone()).await;
        if kind == Kind::Postgres {
            // As many real schemas declare it: an explicit key needs OVERRIDING SYSTEM VALUE.
            db.exec("ALTER TABLE orders ALTER COLUMN order_id SET GENERATED ALWAYS")
                .await;
        }
        // A row written by hand: no reset touches it.
        db.exec(&format!(
            "INSERT INTO {} (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.org')",
            quoted(kind, "customer")
        ))
        .await;

        let first = e.request("order_book", Request::new()).await.unwrap();
        let expected: BTreeMap<String, u64> = [
            ("customer".to_owned(), 1),
            ("orders".to_owned(), 20_000),
            ("product".to_owned(), 12_000),
            ("order_item".to_owned(), 2),
        ]
        .into();
        assert_eq!(first.rows, expected, "{kind:?}");
        assert_eq!(
            first.data["order"],
            json!({ "table": "orders", "rows": 20_000 }),
            "{kind:?}: a streamed entry reports its count, not its keys"
        );
        assert_eq!(counts(&db).await, [2, 20_000, 12_000, 2], "{kind:?}");
        // Every order points at the run's customer, whose key the database assigned.
        let customer = first.data["customer"].as_i64().unwrap();
        assert_eq!(
            db.count(&format!(
                "SELECT COUNT(*) FROM {} WHERE customer_id = {customer} AND status IN ('new', 'paid')",
                quoted(kind, "orders")
            ))
            .await,
            20_000,
            "{kind:?}"
        );

        // The two items point at the first two orders and products: those are planned and
        // written first, the others streamed. The run owns its streamed orders by the range
        // of their keys (one ledger row), its products (text keys), planned orders, items
        // and customer by a ledger row each.
        let items = db
            .count(&format!(
                "SELECT COUNT(*) FROM {} i JOIN {} o ON o.order_id = i.order_id WHERE o.customer_id = {customer}",
                quoted(kind, "order_item"),
                quoted(kind, "orders")
            ))
            .await;
        assert_eq!(items, 2, "{kind:?}");
        let ledger = match kind {
            Kind::Postgres => "atdm.ledger",
            _ => "atdm_ledger",
        };
        assert_eq!(
            db.count(&format!(
                "SELECT COUNT(*) FROM {ledger} WHERE run_id = '{}'",
                first.run_id
            ))
            .await,
            1 + 2 + 1 + 12_000 + 2,
            "{kind:?}"
        );

        // 16,400 orders: the last batch is small enough to go out as an INSERT.
        let small = Request::new()
            .constraint("orders", 16_400i64)
            .constraint("products", 10_000i64);
        let second = e.request("order_book", small).await.unwrap();
        assert_eq!(counts(&db).await, [3, 36_400, 22_000, 4], "{kind:?}");

        // A batch the database refuses rolls the whole request back.
        let limit = db
            .count(&format!(
                "SELECT MAX(order_id) FROM {}",
                quoted(kind, "orders")
            ))
            .await
            + 10_000;
        let stop = match kind {
            Kind::Sqlite => format!(
                "CREATE TRIGGER stop BEFORE INSERT ON orders WHEN NEW.order_id > {limit} BEGIN SELECT RAISE(ABORT, 'stop'); END"
            ),
            Kind::Postgres => {
                format!("ALTER TABLE orders ADD CONSTRAINT stop CHECK (order_id <= {limit})")
            }
            Kind::MySql => format!(
                "CREATE TRIGGER stop BEFORE INSERT ON orders FOR EACH ROW BEGIN IF NEW.order_id > {limit} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'stop'; END IF; END"
            ),
        };
        db.exec(&stop).await;
        let refused = e.request("order_book", Request::new()).await.unwrap_err();
        assert_eq!(
            refused.code(),
            atdm_core::ErrorCode::SeedFailed,
            "{kind:?}: {refused}"
        );
        assert_eq!(
            counts(&db).await,
            [3, 36_400, 22_000, 4],
            "{kind:?}: nothing of the refused request stays"
        );
        db.exec(match kind {
            Kind::Postgres => "ALTER TABLE orders DROP CONSTRAINT stop",
            _ => "DROP TRIGGER stop",
        })
        .await;

        // Each reset deletes exactly its run's rows.
        e.reset_run(&first.run_id, first.token.expose())
            .await
            .unwrap();
        assert_eq!(counts(&db).await, [2, 16_400, 10_000, 2], "{kind:?}");
        e.reset_run(&second.run_id, second.token.expose())
            .await
            .unwrap();
        assert_eq!(counts(&db).await, [1, 0, 0, 0], "{kind:?}");
        db.drop_db().await;
    }
}

/// Entries every row of which others refer to are streamed with them: item `i` points at
/// order `i` by the key the engine drew for that streamed order, and at product
/// `i mod 12,000` by its text key. Every order gets its one item, every item its product,
/// and a reset removes every row. (`atdm-core/tests/streaming.rs` checks each reference
/// against the plan that holds everything.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_referred_to_in_full_are_streamed_with_their_referrers() {
    let schema = Schema::from_toml(SHOP, "shop.toml").unwrap();
    let pack = Pack::builder("shop", schema)
        .scenario("paid.toml", PAID_ORDERS)
        .build()
        .unwrap();
    // Nothing but the customer is planned: the rest comes in batches.
    let none = BTreeMap::new();
    let ctx = atdm_core::RunContext::new("01J0000000000000000000PAID", support::d());
    let plan = pack
        .plan_streaming(
            "every_order_paid",
            &atdm_core::Constraints::new(),
            &ctx,
            &none,
        )
        .unwrap();
    assert_eq!((plan.row_count(), plan.streams.len()), (1, 3));
    for db in TestDb::all().await {
        let kind = db.kind;
        let e = db.engine(pack.clone()).await;
        // Orders written before the run: the drawn keys come after theirs.
        let before = e
            .request(
                "every_order_paid",
                Request::new().constraint("orders", 3i64),
            )
            .await
            .unwrap();
        let run = e.request("every_order_paid", Request::new()).await.unwrap();
        assert_eq!(
            run.data["item"],
            json!({ "table": "order_item", "rows": 20_000 }),
            "{kind:?}"
        );
        assert_eq!(counts(&db).await, [2, 20_003, 24_000, 20_003], "{kind:?}");
        let customer = run.data["customer"].as_i64().unwrap();
        // Each of the run's orders has exactly one item, and each item a product.
        let one_each = format!(
            "SELECT COUNT(*) FROM {o} o JOIN {i} i ON i.order_id = o.order_id JOIN {p} p ON p.sku = i.sku WHERE o.customer_id = {customer}",
            o = quoted(kind, "orders"),
            i = quoted(kind, "order_item"),
            p = quoted(kind, "product"),
        );
        assert_eq!(db.count(&one_each).await, 20_000, "{kind:?}");
        let distinct = format!(
            "SELECT COUNT(DISTINCT i.order_id) FROM {i} i JOIN {o} o ON i.order_id = o.order_id WHERE o.customer_id = {customer}",
            o = quoted(kind, "orders"),
            i = quoted(kind, "order_item"),
        );
        assert_eq!(db.count(&distinct).await, 20_000, "{kind:?}");
        // The run's orders' keys are one range drawn after the earlier run's.
        let range = format!(
            "SELECT MAX(order_id) - MIN(order_id) FROM {} WHERE customer_id = {customer}",
            quoted(kind, "orders")
        );
        assert_eq!(db.count(&range).await, 19_999, "{kind:?}");
        e.reset_run(&run.run_id, run.token.expose()).await.unwrap();
        assert_eq!(counts(&db).await, [1, 3, 12_000, 3], "{kind:?}");
        e.reset_run(&before.run_id, before.token.expose())
            .await
            .unwrap();
        assert_eq!(counts(&db).await, [0, 0, 0, 0], "{kind:?}");
        e.close().await;
        db.drop_db().await;
    }
}

/// A limit on the rows of one request (`Request::max_rows`, `atdm mcp --max-rows`) is checked
/// on the counts before anything is planned: a request far over it is refused for the limit,
/// not for what planning it would have found (here: more than a billion streamed rows), and
/// nothing is written.
#[tokio::test]
async fn a_request_over_its_row_limit_is_refused_before_it_is_planned() {
    let schema = Schema::from_toml(SHOP, "shop.toml").unwrap();
    let pack = Pack::builder("shop", schema)
        .scenario("order_book.toml", SCENARIO)
        .build()
        .unwrap();
    let db = TestDb::fresh(Kind::Sqlite).await.unwrap();
    let e = db.engine(pack).await;
    for orders in [2_000_000_000_i64, 100_000] {
        let asked = Request::new().constraint("orders", orders).max_rows(50_000);
        let err = e.request("order_book", asked).await.unwrap_err();
        assert_eq!(err.code().as_str(), "PLAN_FAILED", "{err}");
        // The customer, the orders, 12,000 products and 2 items.
        let rows = orders + 1 + 12_000 + 2;
        assert!(
            err.to_string().contains(&format!(
                "would seed {rows} rows, more than the 50000 one request may seed"
            )),
            "{err}"
        );
    }
    // A count knob that is no count is named, as planning names it.
    let asked = Request::new().constraint("orders", -1_i64).max_rows(50_000);
    let err = e.request("order_book", asked).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("count knob \"orders\" must be a non-negative integer, not -1"),
        "{err}"
    );
    assert_eq!(counts(&db).await, [0, 0, 0, 0]);
    e.close().await;
    db.drop_db().await;
}
