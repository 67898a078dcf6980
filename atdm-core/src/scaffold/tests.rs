use super::*;
use crate::plan::Cell;

/// Regions, customers (referred by customers), products, orders with a composite key, order
/// lines with a composite foreign key, checks and uniques.
const SHOP: &str = r#"
name = "shop"

[[tables]]
name = "order_line"
primary_key = ["tenant", "order_no", "line_no"]
checks = ["line_no between 1 and 99", "qty between 1 and 100"]
columns = [
  { name = "tenant", type = "varchar(10)" },
  { name = "order_no", type = "integer" },
  { name = "line_no", type = "integer" },
  { name = "sku", type = "varchar(20)" },
  { name = "qty", type = "integer" },
]
foreign_keys = [
  { columns = ["tenant", "order_no"], references = "orders" },
  { columns = ["sku"], references = "product" },
]

[[tables]]
name = "orders"
primary_key = ["tenant", "order_no"]
checks = ["shipped_on >= placed_on"]
columns = [
  { name = "tenant", type = "varchar(10)" },
  { name = "order_no", type = "integer" },
  { name = "customer_id", type = "integer" },
  { name = "placed_on", type = "date" },
  { name = "shipped_on", type = "date", nullable = true },
]
foreign_keys = [{ columns = ["customer_id"], references = "customer" }]

[[tables]]
name = "customer"
primary_key = ["customer_id"]
unique = [["email"]]
checks = ["status in ('active', 'blocked')"]
columns = [
  { name = "customer_id", type = "integer", generated = "identity" },
  { name = "email", type = "varchar(120)" },
  { name = "status", type = "varchar(10)" },
  { name = "region_code", type = "varchar(8)" },
  { name = "referred_by", type = "integer", nullable = true },
]
foreign_keys = [
  { columns = ["region_code"], references = "region" },
  { columns = ["referred_by"], references = "customer" },
]

[[tables]]
name = "region"
primary_key = ["region_code"]
unique = [["name"]]
columns = [
  { name = "region_code", type = "varchar(8)" },
  { name = "name", type = "varchar(60)" },
]

[[tables]]
name = "product"
primary_key = ["sku"]
checks = ["price > 0"]
columns = [
  { name = "sku", type = "varchar(20)" },
  { name = "title", type = "varchar(80)" },
  { name = "price", type = "numeric(8,2)" },
  { name = "region_code", type = "varchar(8)", nullable = true },
]
foreign_keys = [{ columns = ["region_code"], references = "region" }]
"#;

fn schema(text: &str) -> Schema {
    Schema::from_toml(text, "test.toml").unwrap()
}

/// Plans and validates every scenario of the scaffold's pack with several run ids.
fn plan_every_scenario(s: &Scaffold) -> Pack {
    let pack = s.pack("test").unwrap_or_else(|e| panic!("{e}\n{s:#?}"));
    assert_eq!(pack.catalog().len(), s.scenarios.len());
    let date = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    for id in &s.scenarios {
        for run in ["01JTESTRUN000000000000000A", "01JTESTRUN000000000000000B"] {
            pack.plan_validated(
                id,
                &Default::default(),
                &RunContext::new(run, date),
                &ExistingRows::new(),
            )
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        }
    }
    pack
}

fn text<'a>(s: &'a Scaffold, file: &str) -> &'a str {
    &s.file(file)
        .unwrap_or_else(|| panic!("no {file} in {:?}", s.files))
        .text
}

#[test]
fn every_table_seeds_one_valid_row_per_table_in_foreign_key_order() {
    let notes = vec!["column region.geo of type point is kept as text".to_owned()];
    let s = scaffold(&schema(SHOP), &notes).unwrap();
    assert_eq!(
        s.scenarios,
        [
            "every_table",
            "one_region",
            "one_customer",
            "one_orders",
            "one_product",
            "one_order_line"
        ]
    );
    let names: Vec<&str> = s.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names[..2], ["schema.toml", "every_table.toml"]);
    assert!(s.left_out.is_empty(), "{:?}", s.left_out);
    assert_eq!(s.tables, 5);
    let pack = plan_every_scenario(&s);

    let every = text(&s, "every_table.toml");
    for line in [
        "id = \"every_table\"",
        "region_code = \"@region\"  # foreign key to region",
        "region_code = \"@region\"  # nullable foreign key to region",
        "customer_id = \"@customer\"  # foreign key to customer",
        "tenant = \"@orders\"  # foreign key to orders",
        "order_no = \"@orders\"  # foreign key to orders",
        "sku = \"@product\"  # foreign key to product",
    ] {
        assert!(every.contains(line), "{line:?} not in\n{every}");
    }
    assert!(
        every.contains("# referred_by: a nullable reference to customer itself"),
        "{every}"
    );
    // One row per table, each key pointing at the row of its table.
    let date = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let plan = pack
        .plan(
            "every_table",
            &Default::default(),
            &RunContext::new("01JTESTRUN000000000000000C", date),
            &ExistingRows::new(),
        )
        .unwrap();
    let order: Vec<&str> = plan.tables.iter().map(|t| &*t.table).collect();
    assert_eq!(
        order,
        ["region", "customer", "orders", "product", "order_line"]
    );
    assert!(plan.tables.iter().all(|t| t.rows.len() == 1));
    let line = plan.rows("order_line").next().unwrap();
    let order_row = plan.rows("orders").next().unwrap();
    assert_eq!(line.get("tenant"), order_row.get("tenant"));
    assert_eq!(line.get("order_no"), order_row.get("order_no"));
    assert!(
        matches!(order_row.cell("customer_id"), Some(Cell::Ref(_))),
        "an identity key is linked"
    );

    // A table's own scenario holds it and what its NOT NULL keys need, nothing else.
    let one = text(&s, "one_order_line.toml");
    assert!(one.contains("description = \"One row of order_line, with the rows it needs: region, customer, orders, product.\""), "{one}");
    let one = text(&s, "one_product.toml");
    assert!(
        one.contains("description = \"One row of product.\""),
        "{one}"
    );
    assert!(
        one.contains("# region_code: a nullable reference to region, which has no row"),
        "{one}"
    );

    // schema.toml: the notes on top, then a schema that reads back.
    let schema_text = text(&s, "schema.toml");
    assert!(
        schema_text.starts_with("# The schema of the database"),
        "{schema_text}"
    );
    assert!(
        schema_text.contains("# - column region.geo of type point is kept as text"),
        "{schema_text}"
    );
    assert_eq!(
        Schema::from_toml(schema_text, "schema.toml").unwrap(),
        schema(SHOP)
    );
}

#[test]
fn the_output_is_deterministic() {
    let a = scaffold(&schema(SHOP), &["n".into()]).unwrap();
    let b = scaffold(&schema(SHOP), &["n".into()]).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_table_that_cannot_hold_a_row_is_left_out_with_what_to_do() {
    let text_schema = format!(
        "{SHOP}\n{}",
        r#"
[[tables]]
name = "doc"
primary_key = ["doc_id"]
columns = [
  { name = "doc_id", type = "text" },
  { name = "embedding", type = "postgres:vector(3)" },
  { name = "region_code", type = "varchar(8)" },
]
foreign_keys = [{ columns = ["region_code"], references = "region" }]

[[tables]]
name = "doc_tag"
primary_key = ["doc_id", "tag"]
columns = [{ name = "doc_id", type = "text" }, { name = "tag", type = "text" }]
foreign_keys = [{ columns = ["doc_id"], references = "doc" }]
"#
    );
    let s = scaffold(&schema(&text_schema), &[]).unwrap();
    let left: Vec<&str> = s.left_out.iter().map(|l| l.table.as_str()).collect();
    assert_eq!(left, ["doc", "doc_tag"]);
    assert!(
        s.left_out[0].reason.contains("embedding"),
        "{:?}",
        s.left_out
    );
    assert!(
        s.left_out[1].reason.contains("needs a row of doc"),
        "{:?}",
        s.left_out
    );
    assert!(s.file("one_doc.toml").is_none() && s.file("one_doc_tag.toml").is_none());
    let every = text(&s, "every_table.toml");
    assert!(every.contains("(5 of 7 tables)"), "{every}");
    assert!(
        every.contains("# Left out of every_table: table doc."),
        "{every}"
    );
    assert!(every.contains("# [[rows]]\n# alias = \"doc\""), "{every}");
    assert!(every.contains("# region_code = \"@region\""), "{every}");
    assert!(every.contains("# doc_id = \"@doc\""), "{every}");
    assert!(
        every.contains("# To add it: add that table's row first, then remove"),
        "{every}"
    );
    // What is written still loads and plans.
    plan_every_scenario(&s);
}

#[test]
fn a_row_no_generated_value_can_make_is_left_out_with_the_failures() {
    let s = schema(
        r#"
name = "impossible"

[[tables]]
name = "item"
primary_key = ["id"]
checks = ["qty between 1 and 5", "qty > 10"]
columns = [{ name = "id", type = "text" }, { name = "qty", type = "integer" }]

[[tables]]
name = "note"
primary_key = ["id"]
columns = [{ name = "id", type = "text" }]
"#,
    );
    let sc = scaffold(&s, &[]).unwrap();
    assert_eq!(sc.left_out.len(), 1, "{:?}", sc.left_out);
    let reason = &sc.left_out[0].reason;
    assert!(
        reason.starts_with("a generated row is rejected: schema.checks"),
        "{reason}"
    );
    assert_eq!(sc.scenarios, ["every_table", "one_note"]);
    plan_every_scenario(&sc);
}

#[test]
fn a_column_two_foreign_keys_share_is_made_equal() {
    let s = schema(
        r#"
name = "tenants"

[[tables]]
name = "line"
primary_key = ["tenant", "line_id"]
columns = [
  { name = "tenant", type = "text" },
  { name = "line_id", type = "text" },
  { name = "order_no", type = "integer" },
  { name = "sku", type = "text" },
]
foreign_keys = [
  { columns = ["tenant", "order_no"], references = "orders" },
  { columns = ["tenant", "sku"], references = "product" },
]

[[tables]]
name = "orders"
primary_key = ["tenant", "order_no"]
columns = [{ name = "tenant", type = "text" }, { name = "order_no", type = "integer" }]

[[tables]]
name = "product"
primary_key = ["tenant", "sku"]
columns = [{ name = "tenant", type = "text" }, { name = "sku", type = "text" }]
"#,
    );
    let sc = scaffold(&s, &[]).unwrap();
    let pack = plan_every_scenario(&sc);
    let every = text(&sc, "every_table.toml");
    assert!(
        every.contains("tenant = \"@orders.tenant\"  # equal to orders.tenant"),
        "{every}"
    );
    let plan = pack
        .plan(
            "every_table",
            &Default::default(),
            &RunContext::new("R", NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
            &ExistingRows::new(),
        )
        .unwrap();
    let tenant = |t: &str| plan.rows(t).next().unwrap().get("tenant").cloned();
    assert_eq!(tenant("line"), tenant("orders"));
    assert_eq!(tenant("line"), tenant("product"));
}

#[test]
fn a_not_null_self_reference_points_at_its_own_row_when_the_key_is_text() {
    let s = schema(
        r#"
name = "org"

[[tables]]
name = "employee"
primary_key = ["employee_id"]
columns = [
  { name = "employee_id", type = "varchar(40)" },
  { name = "manager_id", type = "varchar(40)" },
]
foreign_keys = [{ columns = ["manager_id"], references = "employee" }]

[[tables]]
name = "node"
primary_key = ["id"]
columns = [{ name = "id", type = "integer" }, { name = "parent", type = "integer" }]
foreign_keys = [{ columns = ["parent"], references = "node" }]
"#,
    );
    let sc = scaffold(&s, &[]).unwrap();
    let every = text(&sc, "every_table.toml");
    assert!(
        every.contains("employee_id = \"{run_id}-{row}\""),
        "{every}"
    );
    assert!(every.contains("manager_id = \"{run_id}-{row}\""), "{every}");
    assert_eq!(sc.left_out.len(), 1, "{:?}", sc.left_out);
    assert_eq!(sc.left_out[0].table, "node");
    assert!(
        sc.left_out[0].reason.contains("{ existing = \"node\" }"),
        "{:?}",
        sc.left_out
    );
    plan_every_scenario(&sc);
}

#[test]
fn in_a_cycle_the_earlier_row_points_forward_at_the_later_one() {
    // A store has a manager who is a staff member; every staff member belongs to a store.
    let s = schema(
        r#"
name = "rental"

[[tables]]
name = "store"
primary_key = ["store_id"]
columns = [{ name = "store_id", type = "text" }, { name = "manager_staff_id", type = "text" }]
foreign_keys = [{ columns = ["manager_staff_id"], references = "staff" }]

[[tables]]
name = "staff"
primary_key = ["staff_id"]
columns = [{ name = "staff_id", type = "text" }, { name = "store_id", type = "text" }]
foreign_keys = [{ columns = ["store_id"], references = "store" }]

[[tables]]
name = "rental"
primary_key = ["rental_id"]
columns = [{ name = "rental_id", type = "text" }, { name = "staff_id", type = "text" }]
foreign_keys = [{ columns = ["staff_id"], references = "staff" }]
"#,
    );
    let sc = scaffold(&s, &[]).unwrap();
    assert!(sc.left_out.is_empty(), "{:?}", sc.left_out);
    assert_eq!(
        sc.scenarios,
        ["every_table", "one_store", "one_staff", "one_rental"]
    );
    let every = text(&sc, "every_table.toml");
    let store = every.find("alias = \"store\"").unwrap();
    let staff = every.find("alias = \"staff\"").unwrap();
    assert!(store < staff, "{every}");
    assert!(
        every[store..staff].contains("manager_staff_id = \"@staff\""),
        "{every}"
    );
    assert!(every[staff..].contains("store_id = \"@store\""), "{every}");
    let one = text(&sc, "one_rental.toml");
    assert!(
        one.contains("staff_id = \"@staff\"") && one.contains("manager_staff_id = \"@staff\""),
        "{one}"
    );

    // A row of the cycle that cannot be made is still found (with stand-ins for the rows
    // pointed at forward), and leaves out the tables that need it.
    let mut broken = s.clone();
    broken.tables[1].columns.push(crate::schema::Column::new(
        "photo",
        "postgres:vector(3)".parse().unwrap(),
    ));
    let sc = scaffold(&broken, &[]).unwrap();
    let left: Vec<(&str, &str)> = sc
        .left_out
        .iter()
        .map(|l| (l.table.as_str(), l.reason.as_str()))
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(
        left.iter()
            .any(|(t, r)| *t == "store" && r.contains("staff.photo")),
        "{left:?}"
    );
    assert!(sc.scenarios.is_empty(), "{:?}", sc.scenarios);
}

#[test]
fn a_cycle_with_a_nullable_key_needs_no_forward_reference() {
    let s = schema(
        r#"
name = "rental"

[[tables]]
name = "store"
primary_key = ["store_id"]
columns = [{ name = "store_id", type = "text" }, { name = "manager_staff_id", type = "text", nullable = true }]
foreign_keys = [{ columns = ["manager_staff_id"], references = "staff" }]

[[tables]]
name = "staff"
primary_key = ["staff_id"]
columns = [{ name = "staff_id", type = "text" }, { name = "store_id", type = "text" }]
foreign_keys = [{ columns = ["store_id"], references = "store" }]
"#,
    );
    let sc = scaffold(&s, &[]).unwrap();
    let every = text(&sc, "every_table.toml");
    assert!(!every.contains("\"@staff\""), "{every}");
    assert!(
        every.contains(
            "# manager_staff_id: a nullable reference to staff, left NULL (its row comes later)"
        ),
        "{every}"
    );
    plan_every_scenario(&sc);
}

#[test]
fn aliases_are_identifiers_unique_without_regard_to_case() {
    let s = schema(
        r#"
name = "names"

[[tables]]
name = "sales.order"
schema = "sales"
primary_key = ["id"]
columns = [{ name = "id", type = "text" }]

[[tables]]
name = "sales_order"
primary_key = ["id"]
columns = [{ name = "id", type = "text" }]

[[tables]]
name = "Sales_Order"
primary_key = ["id"]
columns = [{ name = "id", type = "text" }, { name = "weird key", type = "text" }]

[[tables]]
name = "2fa"
primary_key = ["id"]
columns = [{ name = "id", type = "text" }]
"#,
    );
    let sc = scaffold(&s, &[]).unwrap();
    assert_eq!(
        sc.scenarios,
        [
            "every_table",
            "one_sales_order",
            "one_sales_order_2",
            "one_Sales_Order_3",
            "one_t_2fa"
        ]
    );
    plan_every_scenario(&sc);
}

#[test]
fn without_any_table_that_can_hold_a_row_there_is_no_every_table() {
    let s = schema(
        r#"
name = "vectors"

[[tables]]
name = "doc"
primary_key = ["id"]
columns = [{ name = "id", type = "text" }, { name = "v", type = "postgres:vector(3)" }]
"#,
    );
    let sc = scaffold(&s, &[]).unwrap();
    assert!(sc.scenarios.is_empty());
    assert_eq!(sc.files.len(), 1);
    let schema_text = text(&sc, "schema.toml");
    assert!(
        schema_text.contains("# No table can hold a row yet"),
        "{schema_text}"
    );
    assert!(
        schema_text.contains("# Left out of every_table: table doc."),
        "{schema_text}"
    );
    assert_eq!(sc.pack("x").unwrap().catalog().len(), 0);
}
