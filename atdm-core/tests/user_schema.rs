//! A scenario written for a schema that is not healthcare plans rows that satisfy every
//! constraint, and bad scenario files get typed errors naming the file and field.

use std::collections::{BTreeMap, HashSet};

use atdm_core::schema::Schema;
use atdm_core::{Cell, Constraints, Error, ErrorCode, Pack, RunContext, ScenarioError, Value};
use chrono::NaiveDate;

const SCHEMA: &str = include_str!("data/store_schema.toml");
const SCENARIO: &str = include_str!("data/gold_customer_orders.toml");

fn pack_with(files: &[(&str, &str)]) -> Result<Pack, Error> {
    let schema = Schema::from_toml(SCHEMA, "store_schema.toml")?;
    Pack::builder("store", schema)
        .scenarios(files.iter().copied())
        .build()
}

fn ctx(run: &str) -> RunContext {
    RunContext::new(run, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap())
}

/// Checks every constraint of the schema on the plan, independently of the gate.
fn assert_all_constraints_hold(pack: &Pack, plan: &atdm_core::Plan) {
    let schema = pack.schema();
    for tp in &plan.tables {
        let t = schema.table(&tp.table).unwrap();
        let mut keys: Vec<HashSet<Vec<Value>>> = vec![HashSet::new(); 1 + t.unique.len()];
        for (ri, row) in tp.rows.iter().enumerate() {
            let get = |c: &str| {
                let i = tp.columns.iter().position(|x| x == c)?;
                match &row[i] {
                    Cell::Value(v) => Some(v),
                    _ => None,
                }
            };
            for c in &t.columns {
                let v = get(&c.name).cloned().unwrap_or(Value::Null);
                assert!(
                    c.nullable || !v.is_null(),
                    "{}.{} is NULL in row {ri}",
                    t.name,
                    c.name
                );
                if let (atdm_core::schema::ColumnType::Varchar(n), Value::Text(s)) = (&c.ty, &v) {
                    assert!(
                        s.chars().count() <= *n as usize,
                        "{}.{} too long: {s}",
                        t.name,
                        c.name
                    );
                }
            }
            for check in &t.checks {
                assert_ne!(
                    check.eval(&get),
                    Some(false),
                    "{} row {ri} breaks `{check}`",
                    t.name
                );
            }
            for (k, cols) in std::iter::once(&t.primary_key)
                .chain(t.unique.iter())
                .enumerate()
            {
                let key: Vec<Value> = cols.iter().map(|c| get(c).cloned().unwrap()).collect();
                assert!(
                    keys[k].insert(key.clone()),
                    "{} duplicates {cols:?} = {key:?}",
                    t.name
                );
            }
            for fk in &t.foreign_keys {
                let key: Vec<Value> = fk
                    .columns
                    .iter()
                    .map(|c| get(c).cloned().unwrap_or(Value::Null))
                    .collect();
                if key.iter().any(Value::is_null) {
                    continue;
                }
                let target = plan
                    .table(&fk.references)
                    .expect("referenced table is planned");
                let cols = t.fk_target_columns(fk, schema);
                let found = target.rows.iter().enumerate().any(|(ti, r)| {
                    (fk.references != t.name || ti < ri)
                        && cols.iter().zip(&key).all(|(c, v)| {
                            let i = target.columns.iter().position(|x| x == c).unwrap();
                            r[i] == Cell::Value(v.clone())
                        })
                });
                assert!(
                    found,
                    "{} row {ri}: {:?} -> {} {key:?} not planned before it",
                    t.name, fk.columns, fk.references
                );
            }
        }
    }
}

#[test]
fn a_user_schema_scenario_plans_rows_that_satisfy_every_constraint() {
    let pack = pack_with(&[("gold.toml", SCENARIO)]).unwrap();
    for run in [
        "01JRUN00000000000000000001",
        "01JRUN00000000000000000002",
        "01JRUN00000000000000000003",
    ] {
        for status in ["open", "shipped", "cancelled"] {
            let mut c = Constraints::new();
            c.insert("order_status".into(), status.into());
            c.insert("orders".into(), Value::Int(3));
            let v = pack
                .plan_validated(
                    "gold_customer_with_shipped_orders",
                    &c,
                    &ctx(run),
                    &BTreeMap::new(),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            let plan = v.plan();
            let order: Vec<&str> = plan.tables.iter().map(|t| &*t.table).collect();
            assert_eq!(
                order,
                ["category", "customer", "product", "orders", "order_line"]
            );
            assert_eq!(plan.rows("category").count(), 3);
            assert_eq!(plan.rows("orders").count(), 3);
            assert_eq!(plan.rows("order_line").count(), 4);
            assert_all_constraints_hold(&pack, plan);
            // The self-reference: children point at the root.
            let root = plan.row("root").unwrap().get("category_id").cloned();
            assert!(
                plan.rows("category")
                    .filter(|r| r.alias() == "child")
                    .all(|r| r.get("parent_id").cloned() == root)
            );
            assert_eq!(
                plan.row("root").unwrap().get("parent_id"),
                Some(&Value::Null)
            );
            // The composite foreign key follows one order: region and order_no together.
            for line in plan.rows("order_line") {
                assert_eq!(line.text("region"), Some("EU"));
            }
            // The run id column is filled where the table has it.
            assert_eq!(plan.row("customer").unwrap().text("seeded_by"), Some(run));
            let cust = plan.row("customer").unwrap();
            assert!(
                cust.text("email").unwrap().ends_with("@example.com")
                    || cust.text("email").unwrap().contains("@example.")
            );
            assert_eq!(cust.text("tier"), Some("gold"));
        }
    }
}

#[test]
fn a_row_nothing_refers_to_needs_no_alias() {
    // Drop the aliases of the rows nothing points at: customer is still "@customer"'s target.
    let text = SCENARIO
        .replace("alias = \"line\"\n", "")
        .replace("alias = \"root\"\n", "")
        .replace("parent_id = \"@root\"", "parent_id = \"@category\"");
    let text = format!(
        "{text}\n[[rows]]\ntable = \"order_line\"\nset = {{ region = \"@order\", line_no = \"9{{row}}\", sku = \"@product\" }}\n"
    );
    let pack = pack_with(&[("gold.toml", &text)]).unwrap();
    let s = pack.scenario("gold_customer_with_shipped_orders").unwrap();
    let aliases: Vec<&str> = s.rows.iter().map(|r| r.alias.as_str()).collect();
    assert_eq!(
        aliases,
        [
            "category",
            "child",
            "customer",
            "product",
            "order",
            "order_line",
            "order_line_2"
        ]
    );
    let v = pack
        .plan_validated(
            "gold_customer_with_shipped_orders",
            &Constraints::new(),
            &ctx("01JRUN00000000000000000001"),
            &BTreeMap::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.plan().rows("order_line").count(), 5);
    assert_all_constraints_hold(&pack, v.plan());
}

#[test]
fn a_count_too_large_for_memory_is_refused_before_anything_is_allocated() {
    let pack = pack_with(&[("gold.toml", SCENARIO)]).unwrap();
    // A trillion orders would need terabytes; the plan is refused at once (this test would
    // abort the process otherwise).
    for n in [1_000_000_000_000_i64, 50_000_000, i64::MAX] {
        let mut c = Constraints::new();
        c.insert("orders".into(), Value::Int(n));
        let e = pack
            .plan_validated(
                "gold_customer_with_shipped_orders",
                &c,
                &ctx("01JRUN00000000000000000001"),
                &BTreeMap::new(),
            )
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::PlanFailed, "{e}");
        let m = e.to_string();
        assert!(
            m.contains("more than the 20000000 one plan may hold") && m.contains("fewer rows"),
            "{m}"
        );
    }
    // In a file, a count beyond any plan says so too.
    let m = load_error(&SCENARIO.replace("count = 2\n", "count = 1000000000000\n"));
    assert!(m.contains("rows[2].count") || m.contains(".count"), "{m}");
    assert!(m.contains("more than a scenario plans"), "{m}");
}

#[test]
fn shipped_orders_get_a_shipping_time_after_placement() {
    let pack = pack_with(&[("gold.toml", SCENARIO)]).unwrap();
    let v = pack
        .plan_validated(
            "gold_customer_with_shipped_orders",
            &Constraints::new(),
            &ctx("01JRUN00000000000000000009"),
            &BTreeMap::new(),
        )
        .unwrap();
    for o in v.plan().rows("orders") {
        let (Some(Value::TimestampTz(placed)), Some(Value::TimestampTz(shipped))) =
            (o.get("placed_at"), o.get("shipped_at"))
        else {
            panic!("a shipped order has both times")
        };
        assert!(shipped >= placed);
    }
    let mut c = Constraints::new();
    c.insert("order_status".into(), "open".into());
    let v = pack
        .plan_validated(
            "gold_customer_with_shipped_orders",
            &c,
            &ctx("01JRUN00000000000000000009"),
            &BTreeMap::new(),
        )
        .unwrap();
    assert!(
        v.plan()
            .rows("orders")
            .all(|o| o.get("shipped_at") == Some(&Value::Null)),
        "open orders stay unshipped"
    );
}

#[test]
fn scenario_values_that_break_a_check_are_rejected_by_the_gate() {
    let bad = SCENARIO.replace(
        "set = { region = \"@order\", line_no = \"{row}\", sku = \"@product\" }",
        "set = { region = \"@order\", line_no = \"{row}\", sku = \"@product\", quantity = 99 }",
    );
    let pack = pack_with(&[("gold.toml", &bad)]).unwrap();
    let e = pack
        .plan_validated(
            "gold_customer_with_shipped_orders",
            &Constraints::new(),
            &ctx("01JRUN00000000000000000001"),
            &BTreeMap::new(),
        )
        .unwrap_err();
    let Error::Rejected(r) = e else { panic!("{e}") };
    assert_eq!(r.failures.len(), 4);
    assert!(
        r.failures
            .iter()
            .all(|f| f.validator == "schema.checks"
                && f.message.contains("quantity between 1 and 20"))
    );
}

fn load_error(text: &str) -> String {
    match pack_with(&[("broken.toml", text)]) {
        Err(e) => {
            assert!(matches!(e.code(), ErrorCode::InvalidScenario), "{e}");
            e.to_string()
        }
        Ok(_) => panic!("expected a load error"),
    }
}

#[test]
fn bad_scenario_files_name_the_file_and_the_field() {
    let m = load_error(&SCENARIO.replace("table = \"customer\"", "table = \"customers\""));
    assert!(
        m.starts_with(
            "broken.toml: rows[2].table: unknown table \"customers\"; did you mean \"customer\"?"
        ),
        "{m}"
    );
    let m = load_error(&SCENARIO.replace("tier = \"{tier}\"", "tierr = \"{tier}\""));
    assert!(
        m.contains("rows[2].set.tierr")
            && m.contains("has no column")
            && m.contains("did you mean \"tier\"?"),
        "{m}"
    );
    let m = load_error(&SCENARIO.replace("tier = \"{tier}\"", "tier = \"{tire}\""));
    assert!(
        m.contains("rows[2].set.tier")
            && m.contains("unknown knob \"tire\"; did you mean \"tier\"?"),
        "{m}"
    );
    let m = load_error(&SCENARIO.replace("\"@customer\"", "\"@client\""));
    assert!(m.contains("unknown alias \"@client\""), "{m}");
    let m = load_error(&SCENARIO.replace(
        "requirements = [\"STORE-7\"]",
        "requirements = [\"STORE-7\"]\nvalidators = [\"store.nope\"]",
    ));
    assert!(
        m.contains("validators[0]")
            && m.contains("unknown validator \"store.nope\"")
            && m.contains("schema.checks"),
        "{m}"
    );
    let m = load_error(&SCENARIO.replace("default = \"gold\"", "default = \"diamond\""));
    assert!(
        m.contains("knobs.tier.default") && m.contains("'basic', 'gold', 'platinum'"),
        "{m}"
    );
    let m = load_error(&SCENARIO.replace("count = 4", "count = 4\ncolour = \"red\""));
    assert!(m.contains("broken.toml") && m.contains("colour"), "{m}");
    let m = load_error(&SCENARIO.replace(
        "set = { parent_id = \"@root\" }",
        "set = { parent_id = \"@line\" }",
    ));
    assert!(m.contains("planned after this row"), "{m}");

    let dup = pack_with(&[("a.toml", SCENARIO), ("b.toml", SCENARIO)]).unwrap_err();
    assert!(
        matches!(dup, Error::Scenario(ScenarioError::Duplicate { .. })),
        "{dup}"
    );
    assert!(dup.to_string().contains("a.toml") && dup.to_string().contains("b.toml"));
}

#[test]
fn duplicate_keys_are_found_in_large_plans_too() {
    // Over the size where the validator switches from scanning to hashing.
    let many = SCENARIO
        .replace("count = 4", "count = 40")
        .replace("line_no = \"{row}\"", "line_no = 1");
    let pack = pack_with(&[("gold.toml", &many)]).unwrap();
    let e = pack
        .plan_validated(
            "gold_customer_with_shipped_orders",
            &Constraints::new(),
            &ctx("01JRUN00000000000000000001"),
            &BTreeMap::new(),
        )
        .unwrap_err();
    let Error::Rejected(r) = e else { panic!("{e}") };
    let dups: Vec<&str> = r
        .failures
        .iter()
        .filter(|f| f.validator == "schema.unique")
        .map(|f| f.message.as_str())
        .collect();
    // 40 lines over 2 orders with one line number: 38 repeat an earlier (region, order_no, line_no).
    assert_eq!(dups.len(), 38, "{dups:?}");
    assert!(dups[0].contains("rows 0 and 2"), "{}", dups[0]);
}

#[test]
fn duplicate_single_column_keys_are_found_in_large_plans() {
    let many = SCENARIO.replace(
        "count = 3\nset = { category_id = \"@child\", sku = \"SKU-{row}-{run_id}\" }",
        "count = 40\nset = { category_id = \"@child\", sku = \"SKU-{run_id}\" }",
    );
    assert_ne!(many, SCENARIO);
    let pack = pack_with(&[("gold.toml", &many)]).unwrap();
    let e = pack
        .plan_validated(
            "gold_customer_with_shipped_orders",
            &Constraints::new(),
            &ctx("01JRUN00000000000000000001"),
            &BTreeMap::new(),
        )
        .unwrap_err();
    let Error::Rejected(r) = e else { panic!("{e}") };
    let dups: Vec<&str> = r
        .failures
        .iter()
        .filter(|f| f.validator == "schema.unique")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(dups.len(), 39, "{dups:?}");
    assert!(
        dups.iter().all(|m| m.starts_with("product rows 0 and ")),
        "each repeat names the first row: {dups:?}"
    );
}

#[test]
fn an_extends_cycle_between_two_files_is_named_as_a_cycle() {
    let a = "id = \"a\"\ndescription = \"A.\"\nextends = \"b\"\n[[rows]]\ntable = \"customer\"\n";
    let b = "id = \"b\"\ndescription = \"B.\"\nextends = \"a\"\n[[rows]]\ntable = \"customer\"\n";
    let e = pack_with(&[("a.toml", a), ("b.toml", b)]).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("a cycle: \"a\" (a.toml) extends \"b\" (b.toml) extends \"a\" (a.toml)")
            && !m.contains("unknown scenario"),
        "{m}"
    );
}
