//! Unit tests of the schema model: files, builders, checks and orders.

use super::*;

const SHOP: &str = r#"
name = "shop"

[[tables]]
name = "category"
primary_key = ["category_id"]
columns = [
  { name = "category_id", type = "integer", generated = "identity" },
  { name = "parent_id", type = "integer", nullable = true },
  { name = "name", type = "varchar(40)" },
]
foreign_keys = [{ columns = ["parent_id"], references = "category" }]

[[tables]]
name = "order_line"
primary_key = ["tenant", "order_no", "line_no"]
columns = [
  { name = "tenant", type = "text" },
  { name = "order_no", type = "integer" },
  { name = "line_no", type = "integer" },
  { name = "qty", type = "integer" },
]
checks = ["qty between 1 and 100"]
foreign_keys = [{ columns = ["tenant", "order_no"], references = "orders" }]

[[tables]]
name = "orders"
primary_key = ["tenant", "order_no"]
columns = [
  { name = "tenant", type = "text" },
  { name = "order_no", type = "integer" },
  { name = "placed_on", type = "date" },
  { name = "shipped_on", type = "date", nullable = true },
  { name = "status", type = "enum(open, shipped)", default = "open" },
]
checks = ["shipped_on >= placed_on", "status = 'shipped' implies shipped_on is not null"]
"#;

#[test]
fn file_schema_loads_and_orders_by_foreign_keys() {
    let s = Schema::from_toml(SHOP, "shop.toml").unwrap();
    let order: Vec<&str> = s
        .fk_order()
        .unwrap()
        .into_iter()
        .map(|i| s.tables[i].name.as_str())
        .collect();
    assert_eq!(order, ["category", "orders", "order_line"]);
    let again = Schema::from_toml(&s.to_toml(), "again.toml").unwrap();
    assert_eq!(again, s);
}

#[test]
fn unknown_keys_and_columns_are_typed_errors_naming_the_place() {
    let bad = SHOP.replace(
        "primary_key = [\"category_id\"]",
        "primary_key = [\"category_id\"]\ncolour = 1",
    );
    let e = Schema::from_toml(&bad, "shop.toml").unwrap_err();
    let m = e.to_string();
    assert!(m.contains("shop.toml") && m.contains("colour"), "{m}");

    let bad = SHOP.replace(
        "\"qty between 1 and 100\"",
        "\"quantity between 1 and 100\"",
    );
    let m = Schema::from_toml(&bad, "shop.toml")
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("order_line") && m.contains("checks[0]") && m.contains("quantity"),
        "{m}"
    );

    let bad = SHOP.replace("references = \"orders\"", "references = \"order\"");
    let m = Schema::from_toml(&bad, "shop.toml")
        .unwrap_err()
        .to_string();
    assert!(m.contains("unknown table \"order\""), "{m}");
}

#[test]
fn fill_rates_and_locales_load_from_every_level_the_most_specific_winning() {
    use crate::generate::{DEFAULT_FILL_RATE, Locale, fill_rate};
    let text = SHOP
        .replacen(
            "name = \"shop\"",
            "name = \"shop\"\nfill_rate = 0.5\nlocale = \"ja_JP\"",
            1,
        )
        .replace(
            "{ name = \"shipped_on\", type = \"date\", nullable = true }",
            "{ name = \"shipped_on\", type = \"date\", nullable = true, fill_rate = 1 }",
        )
        .replace(
            "name = \"category\"\nprimary_key",
            "name = \"category\"\nfill_rate = 0\nlocale = \"de\"\nprimary_key",
        );
    let s = Schema::from_toml(&text, "shop.toml").unwrap();
    let (category, orders) = (s.table("category").unwrap(), s.table("orders").unwrap());
    assert_eq!(
        (category.fill_rate, category.locale),
        (Some(0.0), Some(Locale::De))
    );
    assert_eq!(
        (orders.fill_rate, orders.locale),
        (Some(0.5), Some(Locale::Ja))
    );
    let col = |t: &Table, c: &str| t.get_column(c).unwrap().clone();
    assert_eq!(fill_rate(orders, &col(orders, "shipped_on")), Some(1.0));
    assert_eq!(fill_rate(category, &col(category, "parent_id")), Some(0.0));
    assert_eq!(
        fill_rate(orders, &col(orders, "placed_on")),
        None,
        "NOT NULL"
    );
    let again = Schema::from_toml(&s.to_toml(), "again.toml").unwrap();
    assert_eq!(again, s);

    // Without settings: the default, and 0 for a column an implication requires.
    let plain = Schema::from_toml(SHOP, "shop.toml").unwrap();
    let orders = plain.table("orders").unwrap();
    assert_eq!(fill_rate(orders, &col(orders, "shipped_on")), Some(0.0));
    let category = plain.table("category").unwrap();
    let parent = col(category, "parent_id");
    assert_eq!(fill_rate(category, &parent), Some(DEFAULT_FILL_RATE));
    // The builder sets tables without their own.
    let built = plain.clone().fill_rate(0.25).locale(Locale::Fr);
    let category = built.table("category").unwrap();
    assert_eq!(fill_rate(category, &parent), Some(0.25));
    assert_eq!(category.locale, Some(Locale::Fr));
}

#[test]
fn cycles_are_kept_and_their_tables_ordered_together() {
    let a = Table::new("a")
        .column(Column::new("id", ColumnType::Text))
        .column(Column::new("b", ColumnType::Text))
        .primary_key(["id"])
        .foreign_key(["b"], "b", Vec::<String>::new());
    let b = Table::new("b")
        .column(Column::new("id", ColumnType::Text))
        .column(Column::new("a", ColumnType::Text))
        .primary_key(["id"])
        .foreign_key(["a"], "a", Vec::<String>::new());
    let c = Table::new("c")
        .column(Column::new("id", ColumnType::Text))
        .column(Column::new("a", ColumnType::Text))
        .primary_key(["id"])
        .foreign_key(["a"], "a", Vec::<String>::new());
    let root = Table::new("root")
        .column(Column::new("id", ColumnType::Text))
        .primary_key(["id"]);
    let mut a = a;
    a = a.column(Column::new("root", ColumnType::Text)).foreign_key(
        ["root"],
        "root",
        Vec::<String>::new(),
    );
    let s = Schema::new("cyclic", vec![c, a, b, root]).unwrap();
    let names = |order: Vec<usize>| -> Vec<&str> {
        order.iter().map(|&i| s.tables[i].name.as_str()).collect()
    };
    assert_eq!(names(s.fk_order().unwrap()), ["root", "a", "b", "c"]);
    assert_eq!(s.fk_cycles().len(), 1);
    assert_eq!(names(s.fk_cycles().remove(0)), ["a", "b"]);
}
