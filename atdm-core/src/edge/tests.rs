use chrono::NaiveDate;

use super::*;
use crate::schema::Schema;

const SHOP: &str = r#"
name = "shop"
[[tables]]
name = "customer"
primary_key = ["customer_id"]
unique = [["email"]]
checks = ["tier in ('bronze', 'silver', 'gold')", "nick starts with 'N_'", "credit between 0 and 5000"]
columns = [
  { name = "customer_id", type = "bigint", generated = "identity" },
  { name = "email", type = "varchar(40)" },
  { name = "nick", type = "varchar(12)", nullable = true },
  { name = "tier", type = "varchar(8)" },
  { name = "credit", type = "numeric(8,2)" },
  { name = "born", type = "date", nullable = true },
  { name = "note", type = "text", nullable = true },
]

[[tables]]
name = "orders"
primary_key = ["order_id"]
foreign_keys = [{ columns = ["customer_id"], references = "customer" }]
checks = ["shipped_on >= placed_on", "quantity > 0"]
columns = [
  { name = "order_id", type = "bigint", generated = "identity" },
  { name = "customer_id", type = "bigint" },
  { name = "placed_on", type = "date" },
  { name = "shipped_on", type = "date", nullable = true },
  { name = "quantity", type = "integer" },
]
"#;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

fn find<'a>(cases: &'a [EdgeCase], column: &str, class: &str) -> Option<&'a EdgeCase> {
    cases
        .iter()
        .find(|c| c.column == column && c.class == class)
}

fn value<'a>(cases: &'a [EdgeCase], column: &str, class: &str) -> &'a Value {
    &find(cases, column, class)
        .unwrap_or_else(|| panic!("no {column} {class}"))
        .cells[0]
        .1
}

#[test]
fn classes_follow_types_checks_and_keys() {
    let schema = Schema::from_toml(SHOP, "shop.toml").unwrap();
    let customer = schema.table("customer").unwrap();
    let c = edge_cases(&schema, customer, day());
    // Keys: no valid class; the identity takes none at all.
    assert!(!c.iter().any(|x| x.column == "customer_id"));
    // A unique text column: text classes, distinct even without case and trailing spaces.
    let email: Vec<&str> = c
        .iter()
        .filter(|x| x.column == "email" && x.validity != Validity::Invalid)
        .map(|x| x.cells[0].1.as_str().unwrap())
        .collect();
    let mut norm: Vec<String> = email.iter().map(|s| s.trim_end().to_lowercase()).collect();
    norm.sort();
    norm.dedup();
    assert_eq!(norm.len(), email.len(), "{email:?}");
    assert_eq!(
        value(&c, "email", "text.max_length")
            .as_str()
            .unwrap()
            .chars()
            .count(),
        40
    );
    let too_long = find(&c, "email", "text.too_long").unwrap();
    assert_eq!(too_long.cells[0].1.as_str().unwrap().chars().count(), 41);
    assert_eq!(too_long.rejected_by, [Dialect::Postgres, Dialect::MySql]);
    assert!(find(&c, "email", "unique.duplicate").unwrap().duplicate);
    // A prefix check: every text value starts with it, and one without it is invalid.
    for x in c
        .iter()
        .filter(|x| x.column == "nick" && x.validity == Validity::Valid)
    {
        if let Value::Text(t) = &x.cells[0].1 {
            assert!(t.starts_with("N_") && t.chars().count() <= 12, "{x:?}");
        }
    }
    assert_eq!(
        find(&c, "nick", "text.without_prefix").unwrap().rejected_by,
        ALL
    );
    // A list: its ends, and a value outside it.
    assert_eq!(
        value(&c, "tier", "list.first"),
        &Value::Text("bronze".into())
    );
    assert_eq!(value(&c, "tier", "list.last"), &Value::Text("gold".into()));
    assert!(find(&c, "tier", "text.empty").is_none());
    // A range check on a numeric: its bounds valid, one unit beyond invalid.
    let dec = |s: &str| Value::Numeric(s.parse().unwrap());
    assert_eq!(value(&c, "credit", "check.lower_bound"), &dec("0"));
    assert_eq!(value(&c, "credit", "check.upper_bound"), &dec("5000"));
    assert_eq!(
        value(&c, "credit", "check.beyond_upper_bound"),
        &dec("5000.01")
    );
    assert_eq!(
        value(&c, "credit", "check.beyond_lower_bound"),
        &dec("-0.01")
    );
    // Dates: calendar edges, NULL where nullable, an impossible day.
    assert_eq!(
        value(&c, "born", "date.leap_day"),
        &Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
    );
    assert_eq!(value(&c, "born", "null"), &Value::Null);
    assert_eq!(
        find(&c, "tier", "null").unwrap().validity,
        Validity::Invalid
    );
    // Dangerous payloads only in text.
    assert!(
        c.iter()
            .any(|x| x.validity == Validity::Dangerous && x.column == "note")
    );
    assert!(
        !c.iter()
            .any(|x| x.validity == Validity::Dangerous && x.column == "credit")
    );

    let orders = schema.table("orders").unwrap();
    let o = edge_cases(&schema, orders, day());
    // A foreign key: no valid value of its own, a dangling one invalid.
    assert!(
        !o.iter()
            .any(|x| x.column == "customer_id" && x.validity == Validity::Valid)
    );
    assert_eq!(
        find(&o, "customer_id", "foreign_key.dangling")
            .unwrap()
            .rejected_by,
        ALL
    );
    // A strict range: the first value inside is valid, the bound itself invalid.
    assert_eq!(value(&o, "quantity", "check.lower_bound"), &Value::Int(1));
    assert_eq!(
        value(&o, "quantity", "check.beyond_lower_bound"),
        &Value::Int(0)
    );
    // Between columns: equal is valid for >=, a day the wrong way is not.
    let eq = find(&o, "shipped_on", "compare.equal").unwrap();
    assert_eq!(eq.validity, Validity::Valid);
    assert_eq!(eq.cells.len(), 2);
    assert_eq!(eq.cells[0].1, eq.cells[1].1);
    let wrong = find(&o, "shipped_on", "compare.violated").unwrap();
    assert_eq!(wrong.validity, Validity::Invalid);
    assert!(wrong.cells[0].1.compare(&wrong.cells[1].1).unwrap().is_lt());
    // Dates compared with another column keep away from the type's extremes.
    assert!(find(&o, "placed_on", "date.max").is_none());
    // Pure.
    assert_eq!(o, edge_cases(&schema, orders, day()));
}
