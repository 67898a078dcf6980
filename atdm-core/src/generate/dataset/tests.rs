use std::collections::{BTreeMap, BTreeSet};

use arrow_array::{Array, RecordBatch};
use chrono::NaiveDate;

use super::*;
use crate::generate::ReservedMarkers;

/// A shop: identity keys, a text key, a composite key of two foreign keys, a one-to-one
/// extension table, a self-reference, a nullable key and checks between columns.
pub(crate) const SHOP: &str = r#"
name = "shop"
[[tables]]
name = "customer"
primary_key = ["customer_id"]
unique = [["email"]]
columns = [
  { name = "customer_id", type = "bigint", generated = "identity" },
  { name = "first_name", type = "varchar(40)" },
  { name = "email", type = "varchar(60)" },
]

[[tables]]
name = "product"
primary_key = ["sku"]
columns = [
  { name = "sku", type = "varchar(24)" },
  { name = "title", type = "text" },
  { name = "price", type = "numeric(8,2)" },
]
checks = ["price > 0"]

[[tables]]
name = "orders"
primary_key = ["order_id"]
foreign_keys = [{ columns = ["customer_id"], references = "customer" }]
columns = [
  { name = "order_id", type = "bigint", generated = "identity" },
  { name = "customer_id", type = "bigint" },
  { name = "placed_at", type = "date" },
  { name = "shipped_at", type = "date", nullable = true },
]
checks = ["shipped_at >= placed_at"]

[[tables]]
name = "order_item"
primary_key = ["order_id", "sku"]
foreign_keys = [
  { columns = ["order_id"], references = "orders" },
  { columns = ["sku"], references = "product" },
]
columns = [
  { name = "order_id", type = "bigint" },
  { name = "sku", type = "varchar(24)" },
  { name = "quantity", type = "integer" },
]
checks = ["quantity > 0"]

[[tables]]
name = "loyalty"
primary_key = ["customer_id"]
foreign_keys = [{ columns = ["customer_id"], references = "customer" }]
columns = [
  { name = "customer_id", type = "bigint" },
  { name = "points", type = "integer" },
]

[[tables]]
name = "staff"
primary_key = ["staff_id"]
foreign_keys = [
  { columns = ["manager_id"], references = "staff" },
  { columns = ["favourite_sku"], references = "product" },
]
columns = [
  { name = "staff_id", type = "integer", generated = "identity" },
  { name = "manager_id", type = "integer", nullable = true },
  { name = "favourite_sku", type = "varchar(24)", nullable = true },
]
"#;

fn shop() -> Schema {
    Schema::from_toml(SHOP, "shop.toml").unwrap()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

fn opts(seed: u64) -> DatasetOptions {
    DatasetOptions::new(seed, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap())
}

/// Each row of `batch` as text cells, for comparisons that do not depend on Arrow types.
fn rows(batch: &RecordBatch, columns: &[&str]) -> Vec<Vec<String>> {
    let cols: Vec<_> = columns
        .iter()
        .map(|c| batch.column(batch.schema().index_of(c).unwrap()).clone())
        .collect();
    (0..batch.num_rows())
        .map(|r| {
            cols.iter()
                .map(|a| {
                    if a.is_null(r) {
                        "NULL".to_owned()
                    } else {
                        arrow_cast_display(a.as_ref(), r)
                    }
                })
                .collect()
        })
        .collect()
}

/// Every column of every row, as text.
fn every(batch: &RecordBatch) -> Vec<Vec<String>> {
    let names: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    rows(batch, &names)
}

fn arrow_cast_display(a: &dyn Array, r: usize) -> String {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Decimal128Type, Int32Type, Int64Type};
    use arrow_schema::DataType;
    match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(r).to_owned(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(r).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(r).to_string(),
        DataType::Date32 => a.as_primitive::<Date32Type>().value(r).to_string(),
        DataType::Decimal128(..) => a.as_primitive::<Decimal128Type>().value(r).to_string(),
        other => panic!("unexpected type {other}"),
    }
}

#[test]
fn every_key_resolves_every_unique_and_check_holds() {
    let schema = shop();
    let n = counts(&[
        ("customer", 300),
        ("product", 40),
        ("orders", 900),
        ("order_item", 2500),
        ("loyalty", 250),
        ("staff", 60),
    ]);
    let d = Dataset::new(
        &schema,
        &n,
        &GeneratorRegistry::default(),
        &ReservedMarkers,
        &opts(7),
    )
    .unwrap();
    let names: Vec<&str> = d.tables().map(|(t, _)| t).collect();
    assert!(
        names.iter().position(|t| *t == "orders") < names.iter().position(|t| *t == "order_item")
    );
    let all = |t: &str| d.batch(t, 0..n[t]).unwrap();
    let keys = |t: &str, c: &str| -> BTreeSet<String> {
        rows(&all(t), &[c])
            .into_iter()
            .map(|mut r| r.remove(0))
            .collect()
    };
    let customers = keys("customer", "customer_id");
    assert_eq!(customers.len(), 300, "identity keys are 1..=300");
    assert!(customers.contains("1") && customers.contains("300"));
    assert_eq!(keys("customer", "email").len(), 300, "emails are unique");
    let skus = keys("product", "sku");
    assert_eq!(skus.len(), 40);
    let orders = keys("orders", "order_id");

    let placed = rows(&all("orders"), &["customer_id", "placed_at", "shipped_at"]);
    assert!(placed.iter().all(|r| customers.contains(&r[0])));
    assert!(placed.iter().any(|r| r[2] == "NULL") && placed.iter().any(|r| r[2] != "NULL"));
    for r in &placed {
        if r[2] != "NULL" {
            assert!(
                r[2].parse::<i32>().unwrap() >= r[1].parse::<i32>().unwrap(),
                "{r:?}"
            );
        }
    }
    let used: BTreeSet<&String> = placed.iter().map(|r| &r[0]).collect();
    assert!(
        used.len() > 250,
        "orders spread over the customers: {}",
        used.len()
    );

    let items = rows(&all("order_item"), &["order_id", "sku", "quantity"]);
    let pairs: BTreeSet<(&String, &String)> = items.iter().map(|r| (&r[0], &r[1])).collect();
    assert_eq!(pairs.len(), items.len(), "the composite key is unique");
    assert!(
        items
            .iter()
            .all(|r| orders.contains(&r[0]) && skus.contains(&r[1]))
    );
    assert!(items.iter().all(|r| r[2].parse::<i64>().unwrap() > 0));

    let loyal = keys("loyalty", "customer_id");
    assert_eq!(
        loyal.len(),
        250,
        "a one-to-one key takes each customer once"
    );
    assert!(loyal.is_subset(&customers));

    let staff = rows(&all("staff"), &["staff_id", "manager_id", "favourite_sku"]);
    assert_eq!(
        staff[0][1], "NULL",
        "the first row has no earlier row to point at"
    );
    for r in &staff {
        if r[1] != "NULL" {
            assert!(
                r[1].parse::<i64>().unwrap() < r[0].parse::<i64>().unwrap(),
                "{r:?}"
            );
        }
        assert!(r[2] == "NULL" || skus.contains(&r[2]));
    }
}

#[test]
fn parts_concatenate_to_the_whole_and_seeds_repeat() {
    let schema = shop();
    let n = counts(&[
        ("customer", 101),
        ("product", 7),
        ("orders", 333),
        ("order_item", 500),
    ]);
    let reg = GeneratorRegistry::default();
    let d = Dataset::new(&schema, &n, &reg, &ReservedMarkers, &opts(11)).unwrap();
    let again = Dataset::new(&schema, &n, &reg, &ReservedMarkers, &opts(11)).unwrap();
    let other = Dataset::new(&schema, &n, &reg, &ReservedMarkers, &opts(12)).unwrap();
    for (table, count) in d.tables() {
        let whole = d.batch(table, 0..count).unwrap();
        assert_eq!(whole, again.batch(table, 0..count).unwrap());
        assert_ne!(whole, other.batch(table, 0..count).unwrap(), "{table}");
        for parts in [1, 3, 7] {
            let pieces: Vec<RecordBatch> = (0..parts)
                .map(|k| d.batch(table, part_range(count, parts, k)).unwrap())
                .collect();
            let joined = arrow_select::concat::concat_batches(&whole.schema(), &pieces).unwrap();
            assert_eq!(joined, whole, "{table} in {parts} parts");
        }
    }
    assert_eq!(part_range(10, 3, 0), 0..3);
    assert_eq!(part_range(10, 3, 2), 6..10);
    assert_eq!(part_range(2, 5, 4), 1..2);
}

#[test]
fn impossible_datasets_are_refused_with_a_way_out() {
    let schema = shop();
    let reg = GeneratorRegistry::default();
    let make = |pairs: &[(&str, u64)]| {
        Dataset::new(&schema, &counts(pairs), &reg, &ReservedMarkers, &opts(1)).err()
    };
    let e = make(&[("orders", 5)]).unwrap();
    assert!(matches!(e, DatasetError::MissingParent { .. }), "{e}");
    assert!(e.to_string().contains("--rows customer="), "{e}");
    let e = make(&[("custmer", 5)]).unwrap();
    assert!(matches!(e, DatasetError::UnknownTable { .. }), "{e}");
    let e = make(&[("customer", 3), ("loyalty", 4)]).unwrap();
    assert!(matches!(e, DatasetError::TooManyRows { max: 3, .. }), "{e}");
    let e = make(&[
        ("customer", 2),
        ("product", 3),
        ("orders", 2),
        ("order_item", 7),
    ])
    .unwrap();
    assert!(e.to_string().contains("at most 6 rows"), "{e}");
    assert!(
        make(&[
            ("customer", 2),
            ("product", 3),
            ("orders", 2),
            ("order_item", 6)
        ])
        .is_none()
    );
    // A nullable key to a table left out is NULL.
    assert!(make(&[("staff", 5)]).is_none());
}

#[test]
fn keys_to_tables_not_generated_point_at_existing_rows() {
    let schema = shop();
    let mut o = opts(3);
    o.existing.insert(
        "customer".into(),
        [41, 42, 43]
            .map(|id| BTreeMap::from([("customer_id".to_string(), Value::Int(id))]))
            .to_vec(),
    );
    o.key_bases.insert("orders".into(), 1000);
    let n = counts(&[("orders", 200), ("loyalty", 3)]);
    let d = Dataset::new(
        &schema,
        &n,
        &GeneratorRegistry::default(),
        &ReservedMarkers,
        &o,
    )
    .unwrap();
    let orders = rows(
        &d.batch("orders", 0..200).unwrap(),
        &["order_id", "customer_id"],
    );
    assert_eq!(
        orders[0][0], "1001",
        "identity keys continue after the base"
    );
    let used: BTreeSet<&str> = orders.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(used, BTreeSet::from(["41", "42", "43"]));
    let loyal = rows(&d.batch("loyalty", 0..3).unwrap(), &["customer_id"]);
    let distinct: BTreeSet<&String> = loyal.iter().map(|r| &r[0]).collect();
    assert_eq!(
        distinct.len(),
        3,
        "a one-to-one key takes each existing row once"
    );
    let e = Dataset::new(
        &schema,
        &counts(&[("loyalty", 4)]),
        &GeneratorRegistry::default(),
        &ReservedMarkers,
        &o,
    )
    .err()
    .unwrap();
    assert!(matches!(e, DatasetError::TooManyRows { max: 3, .. }), "{e}");
}

#[test]
fn edge_case_rows_follow_the_generated_ones_and_hold_every_rule() {
    let schema = shop();
    let n = counts(&[
        ("customer", 50),
        ("product", 10),
        ("orders", 80),
        ("order_item", 30),
    ]);
    let mut o = opts(5);
    o.edge_cases = EdgeCases::Valid;
    let d = Dataset::new(
        &schema,
        &n,
        &GeneratorRegistry::default(),
        &ReservedMarkers,
        &o,
    )
    .unwrap();
    for (t, total) in d.tables() {
        let (held, skipped) = d.edge_cases(t).unwrap();
        assert_eq!(total, n[t] + held.len() as u64, "{t}");
        assert!(
            held.iter()
                .enumerate()
                .all(|(k, e)| e.row == n[t] + k as u64),
            "{t}"
        );
        assert!(
            held.iter()
                .all(|e| e.case.validity == crate::edge::Validity::Valid)
        );
        for s in skipped {
            assert!(!s.reason.is_empty(), "{s:?}");
        }
        // Any split of the rows is the whole, edge rows included.
        let whole = every(&d.batch(t, 0..total).unwrap());
        let cut = n[t] + 1;
        let mut joined = every(&d.batch(t, 0..cut).unwrap());
        joined.extend(every(&d.batch(t, cut..total).unwrap()));
        assert_eq!(whole, joined, "{t}");
    }
    let at = |t: &str, class: &str, column: &str| -> Vec<String> {
        let (held, _) = d.edge_cases(t).unwrap();
        let e = held
            .iter()
            .find(|e| e.case.class == class && e.case.column == column)
            .unwrap_or_else(|| panic!("no {t}.{column} {class}"));
        rows(
            &d.batch(t, e.row..e.row + 1).unwrap(),
            &[column, "placed_at"][..if t == "orders" { 2 } else { 1 }],
        )
        .remove(0)
    };
    // A strict range: the first value inside it (0.01: the mantissa at scale 2 is 1).
    assert_eq!(at("product", "check.lower_bound", "price"), ["1"]);
    assert_eq!(at("customer", "text.empty", "first_name"), [""]);
    // Both sides of a comparison between columns equal.
    let eq = at("orders", "compare.equal", "shipped_at");
    assert_eq!(eq[0], eq[1]);
    // A unique column stays unique with its edge values.
    let total = d.tables().find(|(t, _)| *t == "customer").unwrap().1;
    let emails: BTreeSet<Vec<String>> = rows(&d.batch("customer", 0..total).unwrap(), &["email"])
        .into_iter()
        .collect();
    assert_eq!(emails.len() as u64, total);
    // The composite key of two foreign keys stays unique too.
    let total = d.tables().find(|(t, _)| *t == "order_item").unwrap().1;
    let pairs: BTreeSet<Vec<String>> = rows(
        &d.batch("order_item", 0..total).unwrap(),
        &["order_id", "sku"],
    )
    .into_iter()
    .collect();
    assert_eq!(pairs.len() as u64, total);
    // Without edge cases, nothing changes.
    let plain = Dataset::new(
        &schema,
        &n,
        &GeneratorRegistry::default(),
        &ReservedMarkers,
        &opts(5),
    )
    .unwrap();
    assert_eq!(
        every(&plain.batch("orders", 0..80).unwrap()),
        every(&d.batch("orders", 0..80).unwrap())
    );
}
