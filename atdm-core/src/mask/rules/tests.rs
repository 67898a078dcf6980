use super::*;
use crate::mask::Class;

fn schema() -> Schema {
    Schema::from_toml(
        r#"
name = "shop"

[[tables]]
name = "customer"
primary_key = ["customer_id"]
unique = [["email"]]
columns = [
  { name = "customer_id", type = "integer" },
  { name = "email", type = "varchar(80)" },
  { name = "first_name", type = "text" },
  { name = "birth_date", type = "date", nullable = true },
  { name = "notes", type = "text", nullable = true },
  { name = "active", type = "boolean" },
]

[[tables]]
name = "orders"
primary_key = ["order_id"]
columns = [
  { name = "order_id", type = "integer" },
  { name = "customer_email", type = "varchar(80)" },
  { name = "total", type = "numeric(10,2)" },
  { name = "placed_at", type = "timestamp" },
]
foreign_keys = [{ columns = ["customer_email"], references = "customer", ref_columns = ["email"] }]
"#,
        "shop.toml",
    )
    .unwrap()
}

fn resolve(text: &str) -> Result<MaskPlan, MaskError> {
    Rules::from_toml(text, "rules.toml")?.resolve(&schema())
}

fn message(text: &str) -> String {
    resolve(text).unwrap_err().to_string()
}

#[test]
fn a_rules_file_gives_every_column_its_transform_and_foreign_keys_inherit() {
    let plan = resolve(
        r#"
transaction = "whole"
[subset]
roots = [{ table = "customer", percent = 50, where = [{ column = "active", op = "=", value = true }] }]
[tables.customer]
email = "email"
first_name = { transform = "fake", kind = "first_name" }
birth_date = { transform = "generalize", to = "year" }
notes = "null"
[tables.orders]
total = { transform = "noise", percent = 5 }
placed_at = { transform = "shift", days = 30 }
"#,
    )
    .unwrap();
    let s = schema();
    assert_eq!(
        plan.transform(&s, "customer", "email"),
        Some(&Transform::Email)
    );
    // The foreign key takes the referenced column's transform, so the two stay joined.
    assert_eq!(
        plan.transform(&s, "orders", "customer_email"),
        Some(&Transform::Email)
    );
    assert_eq!(
        plan.inherited
            .get(&("orders".into(), "customer_email".into())),
        Some(&("customer".into(), "email".into()))
    );
    assert_eq!(
        plan.transform(&s, "customer", "active"),
        Some(&Transform::Keep)
    );
    let subset = plan.subset.unwrap();
    assert_eq!(subset.roots[0].filters[0].values, vec![Value::Bool(true)]);
    assert!(subset.roots[0].filters[0].matches(&Value::Bool(true)));
    assert!(!subset.roots[0].filters[0].matches(&Value::Null));
}

#[test]
fn mistakes_name_the_column_and_what_to_write() {
    for (rules, expected) in [
        (
            "[tables.client]\nemail = \"email\"",
            "table \"client\" is not in the source",
        ),
        (
            "[tables.customer]\nmail = \"email\"",
            "column customer.mail does not exist",
        ),
        (
            "[tables.customer]\nemail = \"scramble\"",
            "unknown transform \"scramble\"",
        ),
        (
            "[tables.customer]\nemail = { transform = \"fake\", kind = \"email\" }",
            "it is a key or unique",
        ),
        (
            "[tables.customer]\nfirst_name = \"null\"",
            "null needs a nullable column",
        ),
        (
            "[tables.customer]\nbirth_date = \"email\"",
            "email does not apply to a date column",
        ),
        (
            "[tables.customer]\nfirst_name = { transform = \"fake\" }",
            "fake needs `kind`",
        ),
        (
            "[tables.customer]\nfirst_name = { transform = \"fake\", kind = \"first_name\", days = 3 }",
            "fake takes no `days`",
        ),
        (
            "[tables.orders]\ncustomer_email = \"pseudonymize\"",
            "references customer.email",
        ),
        (
            "[tables.orders]\ntotal = { transform = \"noise\", bound = 1, percent = 2 }",
            "noise needs one of",
        ),
        ("[subset]\nroots = []", "subset has no roots"),
        (
            "[subset]\nroots = [{ table = \"customer\", where = [{ column = \"active\", op = \"=\", value = \"maybe\" }] }]",
            "the filter on active",
        ),
        (
            "[subset]\nroots = [{ table = \"customer\", percent = 0 }]",
            "percent 0 is not in (0, 100]",
        ),
        ("allow_unmasked = [\"notes\"]", "is not `table.column`"),
        ("colour = 1", "unknown field"),
    ] {
        let m = message(rules);
        assert!(m.contains(expected), "{rules}\n=> {m}");
        assert!(m.starts_with("rules.toml"), "{m}");
    }
}

#[test]
fn a_share_of_rows_is_chosen_by_the_key() {
    let k1 = MaskKey::from_secret("0123456789abcdef-one").unwrap();
    let k2 = MaskKey::from_secret("0123456789abcdef-two").unwrap();
    let keep = |k: &MaskKey| {
        (0..2000)
            .filter(|i| sampled(k, "customer", &[Value::Int(*i)], 25.0))
            .collect::<Vec<_>>()
    };
    let (a, b) = (keep(&k1), keep(&k2));
    assert_eq!(a, keep(&k1));
    assert_ne!(a, b);
    assert!((400..600).contains(&a.len()), "{}", a.len());
}

#[test]
fn suggested_files_read_back_as_the_same_rules() {
    let findings = vec![
        (
            "customer".to_owned(),
            "email".to_owned(),
            Class::Sensitive,
            "name says email".to_owned(),
            Transform::Email,
        ),
        (
            "customer".to_owned(),
            "first_name".to_owned(),
            Class::Sensitive,
            "name says first name".to_owned(),
            Transform::Fake {
                kind: FakeKind::FirstName,
            },
        ),
        (
            "customer".to_owned(),
            "birth_date".to_owned(),
            Class::Sensitive,
            "birth date".to_owned(),
            Transform::Generalize {
                to: Generalization::Year,
            },
        ),
        (
            "orders".to_owned(),
            "customer_email".to_owned(),
            Class::Sensitive,
            "email".to_owned(),
            Transform::Email,
        ),
    ];
    let mut inherited = BTreeMap::new();
    inherited.insert(
        ("orders".to_owned(), "customer_email".to_owned()),
        ("customer".to_owned(), "email".to_owned()),
    );
    let text = suggest_file(&findings, &inherited);
    let plan = resolve(&text).unwrap();
    let s = schema();
    assert_eq!(
        plan.transform(&s, "customer", "email"),
        Some(&Transform::Email)
    );
    assert_eq!(
        plan.transform(&s, "customer", "birth_date"),
        Some(&Transform::Generalize {
            to: Generalization::Year
        })
    );
    assert!(!text.contains("customer_email"), "{text}");
}
