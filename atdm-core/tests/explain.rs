//! `Pack::explain`: every value of a plan has a source, and each source is true of its value
//! (a knob's value is the knob's, a reference copies the row it names, a generated value is
//! within the checks it names...), on the healthcare pack, a store schema with checks,
//! uniques and foreign keys, and a schema whose foreign keys form cycles.

use std::collections::BTreeMap;

use atdm_core::domains::healthcare;
use atdm_core::generate::Semantic;
use atdm_core::plan::Source;
use atdm_core::scenario::{Domain, Expr};
use atdm_core::schema::{Check, Schema};
use atdm_core::{Cell, Constraints, Pack, Plan, RunContext, Value};
use chrono::NaiveDate;

fn ctx(run: &str) -> RunContext {
    RunContext::new(run, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap())
}

/// How many cells each kind of source explained, over every plan checked.
type Tally = BTreeMap<&'static str, usize>;

fn kind(s: &Source) -> &'static str {
    match s {
        Source::Scenario => "scenario",
        Source::SchemaDefault => "schema_default",
        Source::Knob { .. } => "knob",
        Source::Map { .. } => "map",
        Source::Template { .. } => "template",
        Source::Variable { .. } => "variable",
        Source::Pick { .. } => "pick",
        Source::RunId => "run_id",
        Source::Reference { .. } => "reference",
        Source::Existing { .. } => "existing",
        Source::Database => "database",
        Source::Generator { .. } => "generator",
        Source::Semantic { .. } => "semantic",
        Source::Check { .. } => "check",
        Source::Type { .. } => "type",
        Source::Key => "key",
        Source::Unfilled { .. } => "unfilled",
        Source::NoParent { .. } => "no_parent",
        Source::Adjusted { .. } => "adjusted",
        Source::Edge { .. } => "edge",
        _ => "other",
    }
}

/// Checks that `source` is true of the cell at (`table`, `row`, `column`).
#[allow(clippy::too_many_arguments)]
fn check_source(
    pack: &Pack,
    plan: &Plan,
    caller: &Constraints,
    table: &str,
    alias: &str,
    row: usize,
    column: &str,
    cell: &Cell,
    source: &Source,
    tally: &mut Tally,
) {
    let schema = pack.schema();
    let t = schema.table(table).unwrap();
    let col = t.get_column(column).unwrap();
    let value = match cell {
        Cell::Value(v) => Some(v),
        _ => None,
    };
    let at = format!(
        "{}: {table}[{row}].{column} = {cell:?} from {source:?}",
        plan.scenario
    );
    *tally.entry(kind(source)).or_default() += 1;
    let spec = || {
        pack.scenario(&plan.scenario)
            .unwrap()
            .rows
            .iter()
            .find(|r| r.alias == alias)
            .and_then(|r| r.set.get(column).cloned())
    };
    match source {
        Source::Scenario => match spec() {
            Some(Expr::Lit(v)) => assert_eq!(value, Some(&v.coerce(&col.ty).unwrap()), "{at}"),
            Some(Expr::Null) => assert_eq!(value, Some(&Value::Null), "{at}"),
            other => panic!("{at}: the scenario sets {other:?}"),
        },
        Source::SchemaDefault => assert_eq!(value, col.default.as_ref(), "{at}"),
        Source::Knob { knob, caller: by } => {
            assert_eq!(*by, caller.contains_key(knob), "{at}");
            let k = plan.constraints.get(knob).unwrap();
            assert_eq!(value, Some(&k.clone().coerce(&col.ty).unwrap()), "{at}");
        }
        Source::Map { knob, case, then } => {
            assert!(plan.constraints.contains_key(knob), "{at}");
            assert!(!case.is_empty(), "{at}");
            assert!(!matches!(**then, Source::Map { .. }), "{at}");
        }
        Source::Template { template } => {
            assert!(value.is_some_and(|v| !v.is_null()), "{at}");
            // In text, the literal text around the variables is in the value (other types
            // read the text: a date, a timestamp).
            if let Some(Value::Text(text)) = value {
                for piece in template.split(['{', '}']).step_by(2) {
                    assert!(text.contains(piece), "{at}: {piece:?} not in {text:?}");
                }
            }
        }
        Source::RunId => assert_eq!(value, Some(&Value::Text(plan.run_id.clone())), "{at}"),
        Source::Reference {
            table: rt,
            row: rr,
            column: rc,
            alias: ra,
        } => {
            let tp = plan
                .table(rt)
                .unwrap_or_else(|| panic!("{at}: no table {rt}"));
            assert_eq!(&*tp.aliases[*rr], ra.as_str(), "{at}");
            let ci = tp.columns.iter().position(|c| c == rc).unwrap();
            match (&tp.rows[*rr][ci], cell) {
                (Cell::Default, Cell::Ref(r)) => {
                    assert_eq!(
                        (r.table.as_str(), r.row, r.column.as_str()),
                        (rt.as_str(), *rr, rc.as_str()),
                        "{at}"
                    )
                }
                (parent, child) => assert_eq!(parent, child, "{at}"),
            }
        }
        Source::Existing { table: et } => {
            assert!(schema.table(et).is_some(), "{at}");
            assert!(value.is_some_and(|v| !v.is_null()), "{at}");
        }
        Source::Database => assert!(matches!(cell, Cell::Default), "{at}"),
        Source::Generator { generator } => {
            assert!(pack.generators().get(generator).is_some(), "{at}");
        }
        Source::Semantic { kind, checks } => {
            assert_eq!(Semantic::infer(table, column), Some(*kind), "{at}");
            holds(checks, column, value, &at);
        }
        Source::Check { checks } => {
            assert!(!checks.is_empty(), "{at}");
            holds(checks, column, value, &at);
        }
        Source::Type { ty } => assert_eq!(ty, &col.ty.to_string(), "{at}"),
        Source::Key => assert!(matches!(value, Some(Value::Text(_))), "{at}"),
        Source::Unfilled { fill_rate } => {
            assert!(col.nullable && (0.0..1.0).contains(fill_rate), "{at}");
            assert_eq!(value, Some(&Value::Null), "{at}");
        }
        Source::NoParent { table: pt } => {
            assert!(col.nullable && schema.table(pt).is_some(), "{at}");
            assert_eq!(value, Some(&Value::Null), "{at}");
        }
        Source::Adjusted { rule, original } => {
            assert!(!rule.is_empty(), "{at}");
            assert!(!matches!(**original, Source::Adjusted { .. }), "{at}");
        }
        Source::Variable { variable } => assert!(variable.starts_with('{'), "{at}"),
        Source::Pick { choices } => assert!(*choices > 0, "{at}"),
        other => panic!("{at}: unexpected {other:?}"),
    }
}

/// Each of the column's own checks holds for the value (NULL passes, as in SQL).
fn holds(checks: &[String], column: &str, value: Option<&Value>, at: &str) {
    for text in checks {
        let check: Check = text.parse().unwrap_or_else(|e| panic!("{at}: {text}: {e}"));
        assert_eq!(check.columns(), [column], "{at}");
        let got = check.eval(&|c| (c == column).then_some(value).flatten());
        assert_ne!(got, Some(false), "{at}: {text}");
    }
}

/// Explains `scenario` with `caller`, checks every cell, and that the rows are the plan's.
fn explain_all(pack: &Pack, scenario: &str, caller: &Constraints, run: &str, tally: &mut Tally) {
    let existing = Default::default();
    let plain = pack.plan(scenario, caller, &ctx(run), &existing).unwrap();
    let explained = pack
        .explain(scenario, caller, &ctx(run), &existing)
        .unwrap();
    assert!(plain.tables.iter().all(|t| t.sources.is_none()));
    for (p, e) in plain.tables.iter().zip(&explained.tables) {
        assert_eq!(p.rows, e.rows, "{scenario}: explaining changes no value");
        let sources = e.sources.as_ref().expect("an explained plan has sources");
        assert_eq!(sources.len(), e.rows.len(), "{scenario}.{}", e.table);
        for (ri, (row, srcs)) in e.rows.iter().zip(sources).enumerate() {
            assert_eq!(
                srcs.len(),
                row.len(),
                "{scenario}.{}: a source per value",
                e.table
            );
            for ((column, cell), source) in e.columns.iter().zip(row).zip(srcs) {
                let alias = &e.aliases[ri];
                check_source(
                    pack, &explained, caller, &e.table, alias, ri, column, cell, source, tally,
                );
            }
        }
    }
    pack.validate(explained, &existing).unwrap();
}

#[test]
fn every_value_of_every_healthcare_plan_has_a_true_source() {
    let pack = healthcare::pack();
    let mut tally = Tally::new();
    let ids: Vec<String> = pack.catalog().list().map(|s| s.id.clone()).collect();
    assert!(ids.len() >= 5);
    for (n, id) in ids.iter().enumerate() {
        let s = pack.scenario(id).unwrap();
        if s.template {
            continue;
        }
        explain_all(
            &pack,
            id,
            &Constraints::new(),
            &format!("01JEXPLAIN{n:016}"),
            &mut tally,
        );
        // The caller's knobs are said to be the caller's.
        let closed = s.knobs.iter().find_map(|(k, knob)| match &knob.domain {
            Domain::Values(v) if v.len() > 1 => Some((k.clone(), v.last().unwrap().clone())),
            _ => None,
        });
        if let Some((k, v)) = closed {
            let mut caller = Constraints::new();
            caller.insert(k, v);
            explain_all(
                &pack,
                id,
                &caller,
                &format!("01JEXPLAIC{n:016}"),
                &mut tally,
            );
        }
    }
    let kinds = [
        "knob",
        "map",
        "template",
        "reference",
        "run_id",
        "semantic",
        "check",
        "generator",
    ];
    for kind in kinds {
        assert!(
            tally.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} source: {tally:?}"
        );
    }
}

#[test]
fn a_schema_with_checks_uniques_and_keys_and_one_with_cycles_are_explained() {
    let schema =
        Schema::from_toml(include_str!("data/store_schema.toml"), "store_schema.toml").unwrap();
    let store = Pack::builder("store", schema)
        .scenarios([("gold.toml", include_str!("data/gold_customer_orders.toml"))])
        .build()
        .unwrap();
    let schema =
        Schema::from_toml(include_str!("data/shop_schema.toml"), "shop_schema.toml").unwrap();
    let shop = Pack::builder("shop", schema)
        .scenarios([(
            "blocked.toml",
            include_str!("data/blocked_customer_with_open_order.toml"),
        )])
        .build()
        .unwrap();
    let mut tally = Tally::new();
    for pack in [&store, &shop] {
        for (n, s) in pack.catalog().list().enumerate() {
            let run = format!("01JSTORE{n:018}");
            explain_all(pack, &s.id, &Constraints::new(), &run, &mut tally);
        }
    }
    for kind in [
        "scenario",
        "schema_default",
        "adjusted",
        "unfilled",
        "no_parent",
        "key",
    ] {
        assert!(
            tally.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} source: {tally:?}"
        );
    }

    let schema = Schema::from_toml(CYCLES, "cycles.toml").unwrap();
    let pack = Pack::builder("rental", schema)
        .scenarios([("every_table.toml", EVERY_TABLE)])
        .build()
        .unwrap();
    let mut tally = Tally::new();
    explain_all(
        &pack,
        "every_table",
        &Constraints::new(),
        "01JCYCLE",
        &mut tally,
    );
    assert!(tally.get("database").copied().unwrap_or(0) > 0, "{tally:?}");
    // The store points at the staff row planned after it; the source names that row.
    let plan = pack
        .explain(
            "every_table",
            &Constraints::new(),
            &ctx("01JCYCLE"),
            &Default::default(),
        )
        .unwrap();
    let store = plan.rows("store").next().unwrap();
    assert_eq!(
        store.source("manager_staff_id"),
        Some(&Source::Reference {
            alias: "staff".into(),
            table: "staff".into(),
            row: 0,
            column: "staff_id".into(),
        })
    );
}

const CYCLES: &str = r#"
name = "rental"

[[tables]]
name = "store"
primary_key = ["store_id"]
columns = [
  { name = "store_id", type = "integer", generated = "identity" },
  { name = "manager_staff_id", type = "integer" },
  { name = "opened_on", type = "date" },
]
foreign_keys = [{ columns = ["manager_staff_id"], references = "staff" }]

[[tables]]
name = "staff"
primary_key = ["staff_id"]
checks = ["active in (1)", "hired_on >= '2020-01-01'"]
columns = [
  { name = "staff_id", type = "integer", generated = "identity" },
  { name = "first_name", type = "varchar(45)" },
  { name = "email", type = "varchar(50)", nullable = true },
  { name = "active", type = "integer" },
  { name = "hired_on", type = "date" },
  { name = "store_id", type = "integer" },
]
unique = [["email"]]
foreign_keys = [{ columns = ["store_id"], references = "store" }]
"#;

const EVERY_TABLE: &str = r#"
id = "every_table"
description = "A store and its manager."

[[rows]]
alias = "store"
table = "store"

[[rows]]
alias = "staff"
table = "staff"
"#;

#[test]
fn edge_case_rows_join_a_plan_pass_the_gate_and_say_so() {
    use atdm_core::generate::EdgeCases;
    let pack = healthcare::pack();
    let existing = Default::default();
    let c = Constraints::new();
    let id = "claim_denial_active_member";
    let plan = pack.explain(id, &c, &ctx("01JEDGE"), &existing).unwrap();
    let own: Vec<usize> = plan.tables.iter().map(|t| t.rows.len()).collect();
    let v = pack
        .validate_with_edge_cases(plan.clone(), &existing, EdgeCases::Valid)
        .unwrap();
    let edged = v.plan();
    assert!(edged.edge_rows.len() > 20, "{}", edged.edge_rows.len());
    for (t, n) in edged.tables.iter().zip(&own) {
        let held = edged
            .edge_rows
            .iter()
            .filter(|e| *e.table == *t.table)
            .count();
        assert_eq!(t.rows.len(), n + held, "{}", t.table);
        assert_eq!(t.sources.as_ref().unwrap().len(), t.rows.len());
    }
    // The scenario's own rows and entity keys are untouched.
    assert_eq!(edged.entities, plan.entities);
    for (a, b) in plan.tables.iter().zip(&edged.tables) {
        assert_eq!(a.rows[..], b.rows[..a.rows.len()]);
    }
    // Each edge row holds its class's value, and says so.
    for e in &edged.edge_rows {
        let t = edged.table(&e.table).unwrap();
        let i = t.columns.iter().position(|c| *c == e.column).unwrap();
        assert_eq!(
            t.sources.as_ref().unwrap()[e.row][i],
            Source::Edge {
                class: e.class.clone()
            },
            "{e:?}"
        );
    }
    let has = |table: &str, class: &str| {
        edged
            .edge_rows
            .iter()
            .any(|e| e.table == table && e.class == class)
    };
    assert!(has("member", "date.leap_day") && has("claim", "list.first"));
    // Without edge cases, the same plan as before.
    let none = pack
        .validate_with_edge_cases(plan.clone(), &existing, EdgeCases::None)
        .unwrap();
    assert_eq!(none.plan(), &plan);
}
