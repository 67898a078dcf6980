//! A scenario entry with many rows is streamed: the plan lists it instead of holding its
//! rows, and its rows come a validated batch at a time, the same rows, cell for cell, that a
//! plan holding everything has.

use std::collections::BTreeMap;

use atdm_core::plan::{STREAM_BATCH, Streamer};
use atdm_core::schema::Schema;
use atdm_core::{Cell, CellRef, Constraints, Error, Pack, Plan, RunContext, Value};
use chrono::NaiveDate;

const SCHEMA: &str = r#"
name = "shop"

[[tables]]
name = "customer"
primary_key = ["customer_id"]
unique = [["email"]]
columns = [
  { name = "customer_id", type = "integer", generated = "identity" },
  { name = "first_name", type = "varchar(45)" },
  { name = "last_name", type = "varchar(45)" },
  { name = "email", type = "varchar(50)" },
  { name = "created_on", type = "date" },
]

[[tables]]
name = "rental"
primary_key = ["rental_id"]
checks = ["return_date >= rental_date", "kind in ('dvd', 'bluray', 'stream')"]
columns = [
  { name = "rental_id", type = "integer", generated = "identity" },
  { name = "customer_id", type = "integer" },
  { name = "rental_date", type = "timestamptz" },
  { name = "return_date", type = "timestamptz", nullable = true },
  { name = "kind", type = "varchar(10)" },
  { name = "note", type = "text" },
  { name = "tier", type = "text", nullable = true },
]
foreign_keys = [{ columns = ["customer_id"], references = "customer" }]

[[tables]]
name = "payment"
primary_key = ["payment_id"]
columns = [
  { name = "payment_id", type = "text" },
  { name = "rental_id", type = "integer" },
  { name = "amount", type = "numeric(6,2)" },
  { name = "paid_at", type = "timestamptz" },
]
foreign_keys = [{ columns = ["rental_id"], references = "rental" }]

[[tables]]
name = "refund"
primary_key = ["refund_id"]
columns = [
  { name = "refund_id", type = "integer", generated = "identity" },
  { name = "payment_id", type = "text" },
  { name = "refunded_at", type = "timestamptz" },
]
foreign_keys = [{ columns = ["payment_id"], references = "payment" }]

[[tables]]
name = "voucher"
primary_key = ["voucher_id"]
columns = [
  { name = "voucher_id", type = "uuid", default_sql = "gen_random_uuid()" },
  { name = "label", type = "text" },
]

[[tables]]
name = "redemption"
primary_key = ["redemption_id"]
columns = [
  { name = "redemption_id", type = "integer", generated = "identity" },
  { name = "voucher_id", type = "uuid" },
]
foreign_keys = [{ columns = ["voucher_id"], references = "voucher" }]
"#;

const SCENARIOS: &str = r#"
id = "busy_customer"
description = "One customer with many rentals, then two late ones."

[knobs.rentals]
type = "integer"
default = 20000

[[rows]]
alias = "customer"
table = "customer"

[[rows]]
alias = "rental"
table = "rental"
count = "{rentals}"
set = { customer_id = "@customer", note = "r-{row}-{run_id}", tier = { pick = ["gold", "silver"] } }

[[rows]]
alias = "late"
table = "rental"
count = 2
"#;

const PAID: &str = r#"
id = "paid_rentals"
description = "Many rentals, each paid."

[knobs.rentals]
type = "integer"
default = 12000

[[rows]]
alias = "customer"
table = "customer"

[[rows]]
alias = "rental"
table = "rental"
count = "{rentals}"

[[rows]]
alias = "payment"
table = "payment"
count = "{rentals}"
set = { rental_id = "@rental" }
"#;

const RECEIPTS: &str = r#"
id = "receipts"
description = "Many rentals; the first three have a payment."

[[rows]]
alias = "customer"
table = "customer"

[[rows]]
alias = "rental"
table = "rental"
count = 20000

[[rows]]
alias = "payment"
table = "payment"
count = 3
set = { rental_id = "@rental" }
"#;

const REFUNDS: &str = r#"
id = "refunds"
description = "Rentals, each paid, and more refunds than payments: a chain referred to in full."

[knobs.refunds]
type = "integer"
default = 30000

[[rows]]
alias = "customer"
table = "customer"

[[rows]]
alias = "rental"
table = "rental"
count = 12000

[[rows]]
alias = "payment"
table = "payment"
count = 12000
set = { rental_id = "@rental" }

[[rows]]
alias = "refund"
table = "refund"
count = "{refunds}"
set = { payment_id = "@payment" }
"#;

const VOUCHERS: &str = r#"
id = "vouchers"
description = "Vouchers whose keys the database makes, each redeemed."

[knobs.vouchers]
type = "integer"
default = 100

[[rows]]
alias = "voucher"
table = "voucher"
count = "{vouchers}"

[[rows]]
alias = "redemption"
table = "redemption"
count = "{vouchers}"
set = { voucher_id = "@voucher" }
"#;

const SAME_EMAIL: &str = r#"
id = "same_email"
description = "Many customers with one email: the unique check refuses it."

[[rows]]
alias = "customer"
table = "customer"
count = 10000
set = { email = "same@example.com" }
"#;

fn pack() -> Pack {
    let schema = Schema::from_toml(SCHEMA, "shop.toml").unwrap();
    Pack::builder("shop", schema)
        .scenario("busy.toml", SCENARIOS)
        .scenario("paid.toml", PAID)
        .scenario("same.toml", SAME_EMAIL)
        .scenario("receipts.toml", RECEIPTS)
        .scenario("refunds.toml", REFUNDS)
        .scenario("vouchers.toml", VOUCHERS)
        .build()
        .unwrap()
}

fn ctx() -> RunContext {
    RunContext::new(
        "01J0000000000000000000STRM",
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
    )
}

/// Every row of every streamed entry, batch by batch, appended to its table's planned rows
/// in entry order, as a plan holding everything would have them.
fn streamed(
    pack: &Pack,
    scenario: &str,
    c: &Constraints,
) -> (Plan, BTreeMap<String, Vec<Vec<atdm_core::Cell>>>) {
    let none = BTreeMap::new();
    let plan = pack.plan_streaming(scenario, c, &ctx(), &none).unwrap();
    // The rows a limit is checked against before planning are the rows planned.
    assert_eq!(
        pack.rows_asked(scenario, c, &ctx()).unwrap(),
        plan.row_count() as u64 + plan.streamed_rows()
    );
    let validated = pack.validate(plan.clone(), &none).unwrap();
    let mut streamer = Streamer::new(pack, &validated, &none);
    let mut rows: BTreeMap<String, Vec<Vec<atdm_core::Cell>>> = BTreeMap::new();
    for (si, s) in plan.streams.iter().enumerate() {
        let mut from = 0;
        let mut got = Vec::new();
        while from < s.rows {
            let b = streamer.batch(si, from..from + STREAM_BATCH).unwrap();
            assert_eq!(b.first(), from);
            got.extend(b.rows().rows.iter().cloned());
            from += STREAM_BATCH;
        }
        assert_eq!(got.len() as u64, s.rows);
        rows.insert(format!("{}#{}", s.table, s.entry), got);
    }
    (plan, rows)
}

#[test]
fn a_streamed_entry_has_the_rows_a_whole_plan_has() {
    let pack = pack();
    let none = BTreeMap::new();
    let c = Constraints::new();
    let whole = pack.plan("busy_customer", &c, &ctx(), &none).unwrap();
    let (plan, rows) = streamed(&pack, "busy_customer", &c);

    // The big entry is listed, not held; the small ones are held.
    assert_eq!(plan.streams.len(), 1);
    let s = &plan.streams[0];
    assert_eq!((&*s.table, s.rows, s.first_row), ("rental", 20_000, 0));
    assert_eq!(plan.row_count(), 3);
    assert_eq!(plan.streamed_rows(), 20_000);

    let all = &whole.table("rental").unwrap().rows;
    assert_eq!(all.len(), 20_002);
    // Cell for cell: generated values, `{row}` templates, picks, the link to the customer,
    // dates moved after the customer's, checks made to hold.
    assert_eq!(rows["rental#1"], all[..20_000]);
    // The entry after the streamed one keeps the row indexes it had.
    assert_eq!(plan.table("rental").unwrap().rows, all[20_000..]);
    assert_eq!(plan.table("customer"), whole.table("customer"));

    // The result names the streamed entry's table and count instead of 20,000 keys.
    let keys = plan.entity_keys(pack.schema(), &|_| Some(Value::Int(7)));
    assert_eq!(
        keys["rental"],
        serde_json::json!({ "table": "rental", "rows": 20_000 })
    );
    assert_eq!(keys["late"], serde_json::json!([7, 7]));

    // A small count is planned row by row, as before.
    let small = Constraints::from([("rentals".to_owned(), Value::Int(9_999))]);
    let p = pack
        .plan_streaming("busy_customer", &small, &ctx(), &none)
        .unwrap();
    assert!(p.streams.is_empty());
    assert_eq!(p.row_count(), 10_002);
}

/// `rows` with each reference to a streamed row as the whole plan has it: a reference to the
/// row at the same place in its table's plan.
fn as_planned(plan: &Plan, rows: &[Vec<Cell>]) -> Vec<Vec<Cell>> {
    let cell = |c: &Cell| match c {
        Cell::Streamed(r) => {
            let s = &plan.streams[r.stream];
            Cell::Ref(Box::new(CellRef {
                table: s.table.to_string(),
                row: (s.first_row + r.row) as usize,
                column: r.column.clone(),
            }))
        }
        other => other.clone(),
    };
    rows.iter().map(|r| r.iter().map(cell).collect()).collect()
}

#[test]
fn an_entry_others_refer_to_in_full_is_streamed_with_them() {
    let pack = pack();
    let none = BTreeMap::new();
    let c = Constraints::new();
    let whole = pack.plan("paid_rentals", &c, &ctx(), &none).unwrap();
    let (plan, rows) = streamed(&pack, "paid_rentals", &c);
    // Every payment points at a rental, and both are streamed: only the customer is held.
    let streams: Vec<(&str, u64, u64)> = plan
        .streams
        .iter()
        .map(|s| (&*s.table, s.held, s.rows))
        .collect();
    assert_eq!(streams, [("rental", 0, 12_000), ("payment", 0, 12_000)]);
    assert_eq!(plan.row_count(), 1);
    assert_eq!(rows["rental#1"], whole.table("rental").unwrap().rows);
    // A payment points at its rental's key, which the engine draws for the streamed row;
    // every other cell is the whole plan's, the payment dates moved after the rental's.
    let payments = &rows["payment#2"];
    assert!(
        payments
            .iter()
            .all(|r| matches!(&r[1], Cell::Streamed(to) if to.stream == 0))
    );
    assert_eq!(
        as_planned(&plan, payments),
        whole.table("payment").unwrap().rows
    );
}

#[test]
fn a_chain_referred_to_in_full_is_streamed_through_windows() {
    let pack = pack();
    let none = BTreeMap::new();
    let c = Constraints::new();
    let whole = pack.plan("refunds", &c, &ctx(), &none).unwrap();
    let (plan, rows) = streamed(&pack, "refunds", &c);
    let streams: Vec<(&str, u64, u64)> = plan
        .streams
        .iter()
        .map(|s| (&*s.table, s.held, s.rows))
        .collect();
    assert_eq!(
        streams,
        [
            ("rental", 0, 12_000),
            ("payment", 0, 12_000),
            ("refund", 0, 30_000)
        ]
    );
    // Refund `i` points at payment `i mod 12,000` by its text key, a value: batches wrap
    // around the payments, whose rows are made again from their rentals'.
    assert_eq!(rows["rental#1"], whole.table("rental").unwrap().rows);
    assert_eq!(
        as_planned(&plan, &rows["payment#2"]),
        whole.table("payment").unwrap().rows
    );
    assert_eq!(rows["refund#3"], whole.table("refund").unwrap().rows);
}

#[test]
fn an_entry_others_refer_to_by_a_key_only_the_database_knows_is_held() {
    let pack = pack();
    let none = BTreeMap::new();
    let c = Constraints::from([("vouchers".to_owned(), Value::Int(12_000))]);
    let whole = pack.plan("vouchers", &c, &ctx(), &none).unwrap();
    let (plan, rows) = streamed(&pack, "vouchers", &c);
    // A UUID the database makes cannot be drawn in advance: the vouchers are held, and the
    // redemptions point at them as planned rows.
    let tables: Vec<&str> = plan.streams.iter().map(|s| &*s.table).collect();
    assert_eq!(tables, ["redemption"]);
    assert_eq!(plan.table("voucher").unwrap().rows.len(), 12_000);
    assert_eq!(
        rows["redemption#1"],
        whole.table("redemption").unwrap().rows
    );

    // Too many rows to hold: the error says which entry is held, and why.
    let huge = Constraints::from([("vouchers".to_owned(), Value::Int(11_000_000))]);
    let Err(err) = pack.plan_streaming("vouchers", &huge, &ctx(), &none) else {
        panic!("11 million vouchers were planned whole");
    };
    let err = err.to_string();
    assert!(
        err.contains(
            "@voucher (11000000 rows) is planned whole because @redemption refers to every row of it"
        ) && err.contains("atdm generate"),
        "{err}"
    );
}

#[test]
fn an_entry_others_refer_to_in_part_holds_those_rows_and_streams_the_rest() {
    let pack = pack();
    let none = BTreeMap::new();
    let c = Constraints::new();
    let whole = pack.plan("receipts", &c, &ctx(), &none).unwrap();
    let (plan, rows) = streamed(&pack, "receipts", &c);
    assert_eq!(plan.streams.len(), 1);
    let s = &plan.streams[0];
    // The three payments point at the first three rentals: those are planned.
    assert_eq!(
        (&*s.table, s.held, s.rows, s.first_row),
        ("rental", 3, 19_997, 3)
    );
    let all = &whole.table("rental").unwrap().rows;
    let held = &plan.table("rental").unwrap().rows;
    assert_eq!(held[..], all[..3]);
    assert_eq!(rows["rental#1"], all[3..]);
    assert_eq!(plan.table("payment"), whole.table("payment"));
    let keys = plan.entity_keys(pack.schema(), &|_| Some(Value::Int(1)));
    assert_eq!(
        keys["rental"],
        serde_json::json!({ "table": "rental", "rows": 20_000 })
    );
}

#[test]
fn the_gate_sees_streamed_rows_before_anything_is_written() {
    let pack = pack();
    let none = BTreeMap::new();
    let plan = pack
        .plan_streaming("same_email", &Constraints::new(), &ctx(), &none)
        .unwrap();
    assert_eq!(plan.streams.len(), 1);
    match pack.validate(plan, &none) {
        Err(Error::Rejected(r)) => {
            assert!(
                r.failures.iter().any(|f| f.validator == "schema.unique"),
                "{r:?}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}
