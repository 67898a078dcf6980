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

const PEOPLE: &str = r#"
name = "people"
[[tables]]
name = "person"
primary_key = ["person_id"]
unique = [["email"]]
checks = [
  "status in ('active', 'left')",
  "status = 'left' implies left_on is not null",
  "left_on >= joined_on",
  "score between 0 and 10",
  "status = 'active' implies archived_on is null",
]
columns = [
  { name = "person_id", type = "text" },
  { name = "first_name", type = "varchar(30)" },
  { name = "last_name", type = "varchar(30)" },
  { name = "email", type = "varchar(40)" },
  { name = "username", type = "text", nullable = true },
  { name = "city", type = "text", nullable = true },
  { name = "state", type = "text", nullable = true },
  { name = "zip", type = "text", nullable = true },
  { name = "status", type = "text" },
  { name = "joined_on", type = "date" },
  { name = "left_on", type = "date", nullable = true },
  { name = "price", type = "numeric(6,2)", nullable = true },
  { name = "score", type = "integer", nullable = true },
  { name = "notes", type = "text", nullable = true, fill_rate = 0.25 },
  { name = "lat", type = "numeric(9,6)", nullable = true },
  { name = "archived_on", type = "date", nullable = true },
]
"#;

/// A cell of an Arrow column as text, NULL as `NULL`.
fn arrow_text(col: &dyn Array, i: usize) -> String {
    use arrow_array::{Decimal128Array, Int32Array};
    if col.is_null(i) {
        return "NULL".into();
    }
    let any = col.as_any();
    if let Some(a) = any.downcast_ref::<StringArray>() {
        a.value(i).to_owned()
    } else if let Some(a) = any.downcast_ref::<Date32Array>() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        (epoch + chrono::Duration::days(i64::from(a.value(i)))).to_string()
    } else if let Some(a) = any.downcast_ref::<Decimal128Array>() {
        rust_decimal::Decimal::from_i128_with_scale(a.value(i), a.scale() as u32).to_string()
    } else if let Some(a) = any.downcast_ref::<Int32Array>() {
        a.value(i).to_string()
    } else {
        panic!("unexpected array type {:?}", col.data_type())
    }
}

/// A planned value as the same text.
fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Text(s) => s.clone(),
        Value::Date(d) => d.to_string(),
        Value::Numeric(d) => d.to_string(),
        Value::Int(i) => i.to_string(),
        other => panic!("unexpected value {other:?}"),
    }
}

#[test]
fn bulk_rows_equal_planned_rows_in_every_column_nulls_and_people_included() {
    let schema = Schema::from_toml(PEOPLE, "people.toml").unwrap();
    let table = schema.table("person").unwrap().clone();
    let generator =
        TableGenerator::new(&table, &GeneratorRegistry::default(), &ReservedMarkers).unwrap();
    let d = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let ctx = RunContext::new("01JGEN0000000000000000000B", d);
    let n = 400;
    let batch = generator.batch(ctx.seed, &ctx.run_id, d, 0..n).unwrap();
    let pack = Pack::builder("people", schema)
        .scenario(
            "p.toml",
            "id = \"people\"\ndescription = \"People.\"\n[[rows]]\nalias = \"p\"\ntable = \"person\"\ncount = 400\n",
        )
        .build()
        .unwrap();
    let plan = pack
        .plan_validated("people", &Constraints::new(), &ctx, &BTreeMap::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut nulls = BTreeMap::new();
    for (i, r) in plan.plan().rows("person").enumerate() {
        for c in &table.columns {
            let col = batch.column_by_name(&c.name).unwrap();
            let bulk = arrow_text(col.as_ref(), i);
            assert_eq!(
                value_text(r.get(&c.name).unwrap()),
                bulk,
                "row {i}, column {}",
                c.name
            );
            *nulls.entry(c.name.clone()).or_insert(0) += usize::from(bulk == "NULL");
        }
        // One person per row: the email is made of the row's names.
        let email = r.text("email").unwrap();
        let lower = |s: &str| -> String {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        assert!(
            email.contains(&lower(r.text("first_name").unwrap()))
                || email.contains(&lower(r.text("last_name").unwrap())),
            "{email}"
        );
    }
    // Nullable columns are mostly filled (0.8), `notes` at its own 0.25; `left_on` only when
    // an implication needs it.
    let share = |c: &str| nulls[c] as f64 / n as f64;
    for c in ["username", "city", "state", "zip", "price", "score", "lat"] {
        assert!((0.1..0.3).contains(&share(c)), "{c}: {}", share(c));
    }
    assert!((0.65..0.85).contains(&share("notes")), "{}", share("notes"));
    let left = plan
        .plan()
        .rows("person")
        .filter(|r| r.text("status") == Some("left"))
        .count();
    assert_eq!(n as usize - nulls["left_on"], left);
    // ... and an implication can keep a mostly filled column NULL.
    for r in plan.plan().rows("person") {
        if r.text("status") == Some("active") {
            assert_eq!(r.get("archived_on"), Some(&Value::Null));
        }
    }
    assert!(
        nulls["archived_on"] < n as usize,
        "left rows are archived at the fill rate"
    );
    // A shard alone equals the same rows of the whole, NULLs included.
    let shard = generator.batch(ctx.seed, &ctx.run_id, d, 150..250).unwrap();
    for c in &table.columns {
        let (a, b) = (
            shard.column_by_name(&c.name).unwrap(),
            batch.column_by_name(&c.name).unwrap(),
        );
        for i in 0..100 {
            assert_eq!(
                arrow_text(a.as_ref(), i),
                arrow_text(b.as_ref(), 150 + i),
                "{}",
                c.name
            );
        }
    }
}

#[test]
fn shards_made_on_several_threads_concatenate_to_the_single_threaded_batch() {
    let schema = Schema::from_toml(PEOPLE, "people.toml").unwrap();
    let table = schema.table("person").unwrap().clone();
    let generator =
        TableGenerator::new(&table, &GeneratorRegistry::default(), &ReservedMarkers).unwrap();
    let d = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let ctx = RunContext::new("01JGEN0000000000000000000C", d);
    let whole = generator.batch(ctx.seed, &ctx.run_id, d, 0..400).unwrap();
    let parts: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|k| {
                let (g, ctx) = (&generator, &ctx);
                s.spawn(move || {
                    g.batch(ctx.seed, &ctx.run_id, d, k * 100..(k + 1) * 100)
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for c in &table.columns {
        let all = whole.column_by_name(&c.name).unwrap();
        for (k, part) in parts.iter().enumerate() {
            let col = part.column_by_name(&c.name).unwrap();
            for i in 0..100 {
                assert_eq!(
                    arrow_text(col.as_ref(), i),
                    arrow_text(all.as_ref(), k * 100 + i),
                    "{}",
                    c.name
                );
            }
        }
    }
}
