//! Bulk generation into Arrow: rows satisfy the table's checks, and row i is the same value
//! whether it comes from a plan or from the bulk generator.

use std::collections::BTreeMap;

use arrow_array::{Array, Date32Array, StringArray};
use atdm_core::generate::{GeneratorRegistry, ReservedMarkers, TableGenerator};
use atdm_core::schema::Schema;
use atdm_core::{Constraints, Pack, RunContext, Value};
use chrono::NaiveDate;

const SCHEMA: &str = r#"
name = "accounts"
[[tables]]
name = "account"
primary_key = ["account_id"]
unique = [["email"]]
checks = ["status in ('open', 'frozen')", "closes_on >= opens_on", "tier between 1 and 3"]
columns = [
  { name = "account_id", type = "text" },
  { name = "email", type = "text" },
  { name = "status", type = "text" },
  { name = "tier", type = "integer" },
  { name = "opens_on", type = "date" },
  { name = "closes_on", type = "date" },
]
"#;

const SCENARIO: &str = r#"
id = "accounts"
description = "Generated accounts."
[[rows]]
alias = "account"
table = "account"
count = 300
"#;

#[test]
fn bulk_rows_hold_every_check_and_match_the_planner_row_for_row() {
    let schema = Schema::from_toml(SCHEMA, "accounts.toml").unwrap();
    let table = schema.table("account").unwrap().clone();
    let generator =
        TableGenerator::new(&table, &GeneratorRegistry::default(), &ReservedMarkers).unwrap();
    let d = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let ctx = RunContext::new("01JGEN0000000000000000000A", d);
    let batch = generator.batch(ctx.seed, &ctx.run_id, d, 0..300).unwrap();
    assert_eq!(batch.num_rows(), 300);

    let col = |name: &str| batch.column_by_name(name).unwrap().clone();
    let opens = col("opens_on");
    let closes = col("closes_on");
    let (opens, closes) = (
        opens.as_any().downcast_ref::<Date32Array>().unwrap(),
        closes.as_any().downcast_ref::<Date32Array>().unwrap(),
    );
    assert!(
        (0..300).all(|i| closes.value(i) >= opens.value(i)),
        "closes_on >= opens_on on every row"
    );
    let emails = col("email");
    let emails = emails.as_any().downcast_ref::<StringArray>().unwrap();
    let distinct: std::collections::HashSet<&str> = (0..300).map(|i| emails.value(i)).collect();
    assert_eq!(distinct.len(), 300, "unique column stays unique");

    // The same rows from the planner, with the same seed.
    let pack = Pack::builder("accounts", schema)
        .scenario("a.toml", SCENARIO)
        .build()
        .unwrap();
    let plan = pack
        .plan_validated("accounts", &Constraints::new(), &ctx, &BTreeMap::new())
        .unwrap();
    let planned: Vec<_> = plan.plan().rows("account").collect();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    for (i, r) in planned.iter().enumerate() {
        assert_eq!(r.text("email"), Some(emails.value(i)), "row {i}");
        let Some(Value::Date(o)) = r.get("opens_on") else {
            panic!()
        };
        let Some(Value::Date(c)) = r.get("closes_on") else {
            panic!()
        };
        assert_eq!(
            (
                (*o - epoch).num_days() as i32,
                (*c - epoch).num_days() as i32
            ),
            (opens.value(i), closes.value(i)),
            "row {i}"
        );
    }
    // A shard generated alone equals the same rows of the whole.
    let shard = generator.batch(ctx.seed, &ctx.run_id, d, 100..200).unwrap();
    let shard_emails = shard
        .column_by_name("email")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .clone();
    assert!((0..100).all(|i| shard_emails.value(i) == emails.value(100 + i)));
    assert!(!shard_emails.is_null(0));
}
