//! A schema shaped like a DVD-rental sample database, with no generation settings at all, plans
//! data a person would believe: nullable columns mostly filled, money in plausible ranges,
//! languages that are languages, emails that match the row's person, children dated after
//! their parents, and every check held.

use std::collections::{BTreeMap, HashSet};

use atdm_core::schema::Schema;
use atdm_core::{Cell, Constraints, Pack, Plan, RunContext, Value};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;

const SCHEMA: &str = r#"
name = "rental_shop"

[[tables]]
name = "country"
primary_key = ["country_id"]
columns = [
  { name = "country_id", type = "integer", generated = "identity" },
  { name = "country", type = "varchar(50)" },
  { name = "last_update", type = "timestamptz", default_sql = "now()" },
]

[[tables]]
name = "city"
primary_key = ["city_id"]
columns = [
  { name = "city_id", type = "integer", generated = "identity" },
  { name = "city", type = "varchar(50)" },
  { name = "country_id", type = "integer" },
  { name = "last_update", type = "timestamptz", default_sql = "now()" },
]
foreign_keys = [{ columns = ["country_id"], references = "country" }]

[[tables]]
name = "address"
primary_key = ["address_id"]
columns = [
  { name = "address_id", type = "integer", generated = "identity" },
  { name = "address", type = "varchar(50)" },
  { name = "address2", type = "varchar(50)", nullable = true },
  { name = "district", type = "varchar(20)" },
  { name = "city_id", type = "integer" },
  { name = "postal_code", type = "varchar(10)", nullable = true },
  { name = "phone", type = "varchar(20)" },
  { name = "last_update", type = "timestamptz", default_sql = "now()" },
]
foreign_keys = [{ columns = ["city_id"], references = "city" }]

[[tables]]
name = "language"
primary_key = ["language_id"]
columns = [
  { name = "language_id", type = "integer", generated = "identity" },
  { name = "name", type = "varchar(20)" },
  { name = "last_update", type = "timestamptz", default_sql = "now()" },
]

[[tables]]
name = "category"
primary_key = ["category_id"]
columns = [
  { name = "category_id", type = "integer", generated = "identity" },
  { name = "name", type = "varchar(25)" },
  { name = "last_update", type = "timestamptz", default_sql = "now()" },
]

[[tables]]
name = "film"
primary_key = ["film_id"]
checks = ["rental_duration between 1 and 14", "replacement_cost > 0", "rating in ('G', 'PG', 'PG-13', 'R', 'NC-17')"]
columns = [
  { name = "film_id", type = "integer", generated = "identity" },
  { name = "title", type = "varchar(255)" },
  { name = "description", type = "text", nullable = true },
  { name = "release_year", type = "integer", nullable = true },
  { name = "language_id", type = "integer" },
  { name = "original_language_id", type = "integer", nullable = true },
  { name = "category_id", type = "integer" },
  { name = "rental_duration", type = "integer" },
  { name = "rental_rate", type = "numeric(4,2)" },
  { name = "length", type = "integer", nullable = true },
  { name = "replacement_cost", type = "numeric(5,2)" },
  { name = "rating", type = "text", nullable = true },
  { name = "special_features", type = "text", nullable = true },
  { name = "last_update", type = "timestamptz", default_sql = "now()" },
]
foreign_keys = [
  { columns = ["language_id"], references = "language" },
  { columns = ["original_language_id"], references = "language" },
  { columns = ["category_id"], references = "category" },
]

[[tables]]
name = "store"
primary_key = ["store_id"]
columns = [
  { name = "store_id", type = "integer", generated = "identity" },
  { name = "manager_name", type = "varchar(90)" },
  { name = "address_id", type = "integer" },
  { name = "opened_on", type = "date" },
  { name = "last_update", type = "timestamptz", default_sql = "now()" },
]
foreign_keys = [{ columns = ["address_id"], references = "address" }]

[[tables]]
name = "staff"
primary_key = ["staff_id"]
unique = [["username"]]
columns = [
  { name = "staff_id", type = "integer", generated = "identity" },
  { name = "first_name", type = "varchar(45)" },
  { name = "last_name", type = "varchar(45)" },
  { name = "address_id", type = "integer" },
  { name = "email", type = "varchar(50)", nullable = true },
  { name = "store_id", type = "integer" },
  { name = "active", type = "boolean" },
  { name = "username", type = "varchar(16)" },
  { name = "hired_at", type = "timestamptz" },
  { name = "last_update", type = "timestamptz", default_sql = "now()" },
]
foreign_keys = [
  { columns = ["address_id"], references = "address" },
  { columns = ["store_id"], references = "store" },
]

[[tables]]
name = "customer"
primary_key = ["customer_id"]
unique = [["email"]]
columns = [
  { name = "customer_id", type = "integer", generated = "identity" },
  { name = "store_id", type = "integer" },
  { name = "first_name", type = "varchar(45)" },
  { name = "last_name", type = "varchar(45)" },
  { name = "email", type = "varchar(50)", nullable = true },
  { name = "address_id", type = "integer" },
  { name = "activebool", type = "boolean" },
  { name = "create_date", type = "date" },
  { name = "last_update", type = "timestamptz", default_sql = "now()" },
]
foreign_keys = [
  { columns = ["store_id"], references = "store" },
  { columns = ["address_id"], references = "address" },
]

[[tables]]
name = "rental"
primary_key = ["rental_id"]
checks = ["return_date >= rental_date"]
columns = [
  { name = "rental_id", type = "integer", generated = "identity" },
  { name = "rental_date", type = "timestamptz" },
  { name = "film_id", type = "integer" },
  { name = "customer_id", type = "integer" },
  { name = "return_date", type = "timestamptz", nullable = true },
  { name = "staff_id", type = "integer" },
  { name = "last_update", type = "timestamptz", default_sql = "now()" },
]
foreign_keys = [
  { columns = ["film_id"], references = "film" },
  { columns = ["customer_id"], references = "customer" },
  { columns = ["staff_id"], references = "staff" },
]

[[tables]]
name = "payment"
primary_key = ["payment_id"]
checks = ["amount >= 0"]
columns = [
  { name = "payment_id", type = "integer", generated = "identity" },
  { name = "customer_id", type = "integer" },
  { name = "staff_id", type = "integer" },
  { name = "rental_id", type = "integer", nullable = true },
  { name = "amount", type = "numeric(5,2)" },
  { name = "payment_date", type = "timestamptz" },
]
foreign_keys = [
  { columns = ["customer_id"], references = "customer" },
  { columns = ["staff_id"], references = "staff" },
  { columns = ["rental_id"], references = "rental" },
]
"#;

const TABLES: [&str; 11] = [
    "country", "city", "address", "language", "category", "film", "store", "staff", "customer",
    "rental", "payment",
];

fn scenario(rows: usize) -> String {
    let mut s = String::from(
        "id = \"busy_shop\"\ndescription = \"A rental shop with a few hundred of everything.\"\n",
    );
    for t in TABLES {
        s.push_str(&format!(
            "\n[[rows]]\nalias = \"{t}\"\ntable = \"{t}\"\ncount = {rows}\n"
        ));
    }
    s
}

fn plan(seed_run: &str) -> (Pack, Plan) {
    let schema = Schema::from_toml(SCHEMA, "rental_shop.toml").unwrap();
    let pack = Pack::builder("rental_shop", schema)
        .scenario("busy_shop.toml", scenario(200))
        .build()
        .unwrap();
    let ctx = RunContext::new(seed_run, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
    let v = pack
        .plan_validated("busy_shop", &Constraints::new(), &ctx, &BTreeMap::new())
        .unwrap_or_else(|e| panic!("{e}"));
    (pack, v.plan().clone())
}

fn ascii(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn decimal(v: Option<&Value>) -> Decimal {
    match v {
        Some(Value::Numeric(d)) => *d,
        other => panic!("not a numeric: {other:?}"),
    }
}

fn when(v: &Value) -> Option<NaiveDateTime> {
    match v {
        Value::Date(d) => Some(d.and_time(NaiveTime::MIN)),
        Value::TimestampTz(t) => Some(t.naive_utc()),
        Value::Timestamp(t) => Some(*t),
        _ => None,
    }
}

#[test]
fn an_unconfigured_schema_plans_believable_rows() {
    for run in ["01JREAL0000000000000000001", "01JREAL0000000000000000002"] {
        let (pack, plan) = plan(run);
        let schema = pack.schema();

        // Nullable columns that are not foreign keys: at most half NULL, on average.
        let mut shares = Vec::new();
        for tp in &plan.tables {
            let t = schema.table(&tp.table).unwrap();
            for (ci, name) in tp.columns.iter().enumerate() {
                let c = t.get_column(name).unwrap();
                let fk = t.foreign_keys.iter().any(|f| f.columns.contains(name));
                if !c.nullable || fk {
                    continue;
                }
                let nulls = tp
                    .rows
                    .iter()
                    .filter(|r| r[ci] == Cell::Value(Value::Null))
                    .count();
                shares.push(nulls as f64 / tp.rows.len() as f64);
            }
        }
        assert!(shares.len() >= 8, "{shares:?}");
        let mean = shares.iter().sum::<f64>() / shares.len() as f64;
        assert!(mean <= 0.5, "mean NULL share {mean}: {shares:?}");
        assert!(shares.iter().all(|s| *s < 1.0), "no column is always NULL");

        // A nullable foreign key points at a planned row in most rows.
        let linked = plan
            .rows("payment")
            .filter(|p| matches!(p.cell("rental_id"), Some(Cell::Ref(r)) if r.table == "rental"))
            .count();
        assert!(
            (130..=190).contains(&linked),
            "{linked} of 200 payments name their rental"
        );

        // Emails: an address, of the row's own person.
        let mut emails = 0;
        for table in ["customer", "staff"] {
            for r in plan.rows(table) {
                let Some(email) = r.text("email") else {
                    continue;
                };
                emails += 1;
                let (first, last) = (
                    ascii(r.text("first_name").unwrap()),
                    ascii(r.text("last_name").unwrap()),
                );
                assert!(email.contains('@'), "{email}");
                assert!(
                    email.contains(&first) || email.contains(&last),
                    "{email} is not {first} {last}'s"
                );
                assert!(email.is_ascii() && email.chars().count() <= 50, "{email}");
            }
        }
        assert!(emails > 200, "{emails}");

        // Money: plausible, not the type's limit.
        for f in plan.rows("film") {
            let rate = decimal(f.get("rental_rate"));
            let cost = decimal(f.get("replacement_cost"));
            for p in [rate, cost] {
                assert!(
                    p >= Decimal::new(99, 2) && p <= Decimal::new(9999, 2),
                    "price {p}"
                );
            }
            if let Some(Value::Int(len)) = f.get("length") {
                assert!((1..=180).contains(len), "length {len}");
            }
            if let Some(Value::Int(y)) = f.get("release_year") {
                assert!((1996..=2026).contains(y), "year {y}");
            }
            let title = f.text("title").unwrap();
            assert!(
                title
                    .split(' ')
                    .all(|w| w.chars().next().unwrap().is_uppercase() || w == "of" || w == "the"),
                "{title}"
            );
        }
        for p in plan.rows("payment") {
            let a = decimal(p.get("amount"));
            assert!(a >= Decimal::ONE && a <= Decimal::from(500), "amount {a}");
        }

        // Names that mean what their table says.
        let languages: HashSet<&str> = [
            "English",
            "German",
            "French",
            "Spanish",
            "Italian",
            "Portuguese",
            "Japanese",
            "Mandarin",
            "Korean",
            "Arabic",
            "Russian",
            "Hindi",
            "Dutch",
            "Swedish",
            "Polish",
            "Turkish",
            "Greek",
            "Hebrew",
            "Thai",
            "Vietnamese",
        ]
        .into();
        assert!(
            plan.rows("language")
                .all(|l| languages.contains(l.text("name").unwrap()))
        );
        for c in plan.rows("category") {
            let name = c.text("name").unwrap();
            assert!(!name.contains(' ') && name.chars().next().unwrap().is_uppercase());
        }
        // A district is a region of the locale, not lorem words.
        let states = [
            "California",
            "Texas",
            "New York",
            "Ohio",
            "Florida",
            "Oregon",
            "Utah",
        ];
        assert!(
            plan.rows("address")
                .any(|a| states.contains(&a.text("district").unwrap()))
        );

        // Children are not dated before the parent rows they reference.
        let mut compared = 0;
        for tp in &plan.tables {
            let t = schema.table(&tp.table).unwrap();
            for (ri, row) in tp.rows.iter().enumerate() {
                for fk in &t.foreign_keys {
                    let ci = tp.columns.iter().position(|c| *c == fk.columns[0]).unwrap();
                    let Cell::Ref(r) = &row[ci] else { continue };
                    let parent = plan.table(&r.table).unwrap();
                    let latest = parent.rows[r.row]
                        .iter()
                        .filter_map(|c| match c {
                            Cell::Value(v) => when(v),
                            _ => None,
                        })
                        .max();
                    let Some(latest) = latest else { continue };
                    for (c, cell) in tp.columns.iter().zip(row) {
                        let Cell::Value(v) = cell else { continue };
                        let Some(at) = when(v) else { continue };
                        let at_least = if matches!(v, Value::Date(_)) {
                            latest.date().and_time(NaiveTime::MIN)
                        } else {
                            latest
                        };
                        assert!(
                            at >= at_least,
                            "{}[{ri}].{c} = {at} is before its {} row {} ({latest})",
                            tp.table,
                            r.table,
                            r.row
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared > 1000, "{compared}");

        // Every check holds (the gate agreed; say it again here).
        for tp in &plan.tables {
            let t = schema.table(&tp.table).unwrap();
            for row in &tp.rows {
                let get = |c: &str| {
                    let i = tp.columns.iter().position(|x| x == c)?;
                    match &row[i] {
                        Cell::Value(v) => Some(v),
                        _ => None,
                    }
                };
                for check in &t.checks {
                    assert_ne!(check.eval(&get), Some(false), "{} breaks {check}", t.name);
                }
            }
        }
    }
}

#[test]
fn nullable_settings_win_from_the_most_specific_level() {
    let text = SCHEMA
        .replacen(
            "name = \"rental_shop\"",
            "name = \"rental_shop\"\nfill_rate = 0",
            1,
        )
        .replace(
            "{ name = \"description\", type = \"text\", nullable = true }",
            "{ name = \"description\", type = \"text\", nullable = true, fill_rate = 1 }",
        )
        .replace(
            "name = \"rental\"\nprimary_key",
            "name = \"rental\"\nfill_rate = 0.5\nprimary_key",
        );
    let schema = Schema::from_toml(&text, "rental_shop.toml").unwrap();
    let pack = Pack::builder("rental_shop", schema)
        .scenario("busy_shop.toml", scenario(200))
        .build()
        .unwrap();
    let ctx = RunContext::new(
        "01JREAL0000000000000000003",
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
    );
    let v = pack
        .plan_validated("busy_shop", &Constraints::new(), &ctx, &BTreeMap::new())
        .unwrap();
    let plan = v.plan();
    let nulls = |table: &str, col: &str| {
        plan.rows(table)
            .filter(|r| r.get(col) == Some(&Value::Null))
            .count()
    };
    assert_eq!(nulls("film", "description"), 0, "column: always filled");
    assert_eq!(nulls("film", "length"), 200, "schema: always NULL");
    assert_eq!(nulls("film", "original_language_id"), 200);
    assert_eq!(nulls("payment", "rental_id"), 200);
    let returned = nulls("rental", "return_date");
    assert!((60..=140).contains(&returned), "table: half ({returned})");

    let bad = SCHEMA.replacen(
        "name = \"rental_shop\"",
        "name = \"rental_shop\"\nfill_rate = 1.5",
        1,
    );
    let e = Schema::from_toml(&bad, "rental_shop.toml").unwrap_err();
    assert!(e.to_string().contains("fill_rate"), "{e}");
    let bad = SCHEMA.replace(
        "{ name = \"city\", type = \"varchar(50)\" }",
        "{ name = \"city\", type = \"varchar(50)\", fill_rate = 0.5 }",
    );
    let e = Schema::from_toml(&bad, "rental_shop.toml").unwrap_err();
    assert!(e.to_string().contains("NOT NULL"), "{e}");
}
