//! Foreign keys that form a cycle (a store has a manager who is a staff member of a store):
//! a scenario seeds a row of each, the row planned first pointing at the one planned after it.

use atdm_core::schema::Schema;
use atdm_core::{Cell, CellRef, Constraints, ErrorCode, Pack, RunContext};
use chrono::NaiveDate;

const SCHEMA: &str = r#"
name = "rental"

[[tables]]
name = "address"
primary_key = ["address_id"]
columns = [
  { name = "address_id", type = "integer", generated = "identity" },
  { name = "street", type = "varchar(50)" },
]

[[tables]]
name = "store"
primary_key = ["store_id"]
columns = [
  { name = "store_id", type = "tinyint unsigned", generated = "identity" },
  { name = "manager_staff_id", type = "tinyint unsigned" },
  { name = "address_id", type = "integer" },
]
foreign_keys = [
  { columns = ["manager_staff_id"], references = "staff" },
  { columns = ["address_id"], references = "address" },
]

[[tables]]
name = "staff"
primary_key = ["staff_id"]
columns = [
  { name = "staff_id", type = "tinyint unsigned", generated = "identity" },
  { name = "first_name", type = "varchar(45)" },
  { name = "store_id", type = "tinyint unsigned" },
]
foreign_keys = [{ columns = ["store_id"], references = "store" }]

[[tables]]
name = "region"
primary_key = ["code"]
columns = [
  { name = "code", type = "varchar(8)" },
  { name = "capital", type = "varchar(8)" },
]
foreign_keys = [{ columns = ["capital"], references = "city" }]

[[tables]]
name = "city"
primary_key = ["code"]
columns = [
  { name = "code", type = "varchar(8)" },
  { name = "region", type = "varchar(8)" },
]
foreign_keys = [{ columns = ["region"], references = "region" }]
"#;

const EVERY_TABLE: &str = r#"
id = "every_table"
description = "One row in every table."

[[rows]]
alias = "address"
table = "address"

[[rows]]
alias = "store"
table = "store"

[[rows]]
alias = "staff"
table = "staff"

[[rows]]
alias = "region"
table = "region"
set = { capital = "@city" }

[[rows]]
alias = "city"
table = "city"
"#;

fn plan(files: &[(&str, &str)], scenario: &str) -> Result<atdm_core::Plan, atdm_core::Error> {
    let schema = Schema::from_toml(SCHEMA, "schema.toml")?;
    let pack = Pack::builder("rental", schema)
        .scenarios(files.iter().copied())
        .build()?;
    let ctx = RunContext::new("01JCYCLE", NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
    let existing = Default::default();
    let plan = pack.plan(scenario, &Constraints::new(), &ctx, &existing)?;
    pack.validate(plan.clone(), &existing)?;
    Ok(plan)
}

fn cell<'a>(plan: &'a atdm_core::Plan, table: &str, column: &str) -> &'a Cell {
    let tp = plan.table(table).unwrap();
    let i = tp.columns.iter().position(|c| c == column).unwrap();
    &tp.rows[0][i]
}

#[test]
fn a_cycle_is_closed_by_pointing_at_the_row_planned_after() {
    let plan = plan(&[("every_table.toml", EVERY_TABLE)], "every_table").unwrap();
    let order: Vec<&str> = plan.tables.iter().map(|t| &*t.table).collect();
    assert_eq!(order, ["address", "store", "staff", "region", "city"]);
    // Keys the database assigns: the store points at the staff row planned after it, the
    // staff at the store planned before it.
    assert_eq!(
        cell(&plan, "store", "manager_staff_id"),
        &Cell::Ref(Box::new(CellRef {
            table: "staff".into(),
            row: 0,
            column: "staff_id".into()
        }))
    );
    assert_eq!(
        cell(&plan, "staff", "store_id"),
        &Cell::Ref(Box::new(CellRef {
            table: "store".into(),
            row: 0,
            column: "store_id".into()
        }))
    );
    // Planned keys: the value itself, in both directions.
    let (Cell::Value(capital), Cell::Value(city)) = (
        cell(&plan, "region", "capital"),
        cell(&plan, "city", "code"),
    ) else {
        panic!("planned keys are values");
    };
    assert_eq!(capital, city);
    assert_eq!(cell(&plan, "city", "region"), cell(&plan, "region", "code"));
}

#[test]
fn only_rows_of_one_cycle_may_point_forward() {
    let scenario = r#"
id = "forward"
description = "A forward reference outside a cycle."

[[rows]]
alias = "store"
table = "store"

[[rows]]
alias = "staff"
table = "staff"

[[rows]]
alias = "address"
table = "address"
set = { street = "@staff.first_name" }
"#;
    let e = plan(&[("forward.toml", scenario)], "forward").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidScenario, "{e}");
    assert!(e.to_string().contains("is planned after this row"), "{e}");
}
