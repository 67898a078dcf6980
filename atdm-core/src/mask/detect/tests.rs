//! Detection over realistic tables and samples.

use chrono::NaiveDate;

use super::*;
use crate::mask::{FakeKind, Generalization, text_form};

mod properties;

fn texts<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Vec<Value> {
    values
        .into_iter()
        .map(|s| Value::Text(s.as_ref().to_owned()))
        .collect()
}

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(NaiveDate::from_ymd_opt(y, m, d).expect("a valid date"))
}

const FIRST: [&str; 10] = [
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia", "Lucas",
];
const LAST: [&str; 7] = [
    "Johnson",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Wilson",
];
const CARDS: [&str; 10] = [
    "4111111111111111",
    "5500 0000 0000 0004",
    "3782-822463-10005",
    "6011000990139424",
    "4012888888881881",
    "5105105105105100",
    "371449635398431",
    "30569309025904",
    "3530111333300000",
    "4222222222222",
];
const IBANS: [&str; 10] = [
    "DE89370400440532013000",
    "GB82 WEST 1234 5698 7654 32",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "CH9300762011623852957",
    "BE68539007547034",
    "AT611904300234573201",
    "NO9386011117947",
];

fn emails(n: usize) -> Vec<Value> {
    texts((0..n).map(|i| {
        format!(
            "{}.{}{}@example.com",
            FIRST[i % 10].to_lowercase(),
            LAST[i % 7].to_lowercase(),
            i
        )
    }))
}

fn phones(n: usize) -> Vec<Value> {
    texts((0..n).map(|i| match i % 4 {
        0 => format!("+1 (555) 010-{:04}", 100 + i),
        1 => format!("555-01{:02}", i % 100),
        2 => format!("+44 20 7946 {:04}", 1000 + i),
        _ => format!("(030) 12{:05}", 34_000 + i),
    }))
}

fn ssns(n: usize) -> Vec<Value> {
    texts((0..n).map(|i| format!("{:03}-{:02}-{:04}", 101 + i, 10 + i % 80, 1000 + i)))
}

fn customer() -> Table {
    Table::new("customer")
        .column(Column::new("customer_id", ColumnType::Integer))
        .column(Column::new("email", ColumnType::Varchar(120)))
        .column(Column::new("first_name", ColumnType::Text))
        .column(Column::new("last_name", ColumnType::Text))
        .column(Column::new("phone", ColumnType::Varchar(30)).nullable())
        .column(Column::new("ssn", ColumnType::Varchar(11)).nullable())
        .column(Column::new("birth_date", ColumnType::Date))
        .column(Column::new(
            "status",
            ColumnType::Enum {
                name: None,
                values: vec!["active".into(), "blocked".into()],
            },
        ))
        .column(Column::new("is_vip", ColumnType::Boolean))
        .column(Column::new("company", ColumnType::Text).nullable())
        .column(Column::new("notes", ColumnType::Text).nullable())
        .column(Column::new("created_at", ColumnType::TimestampTz))
        .primary_key(["customer_id"])
        .unique(["email"])
}

fn payment() -> Table {
    Table::new("payment")
        .column(Column::new("payment_id", ColumnType::BigInt))
        .column(Column::new("customer_id", ColumnType::Integer))
        .column(Column::new(
            "amount",
            ColumnType::Numeric {
                precision: 10,
                scale: 2,
            },
        ))
        .column(Column::new("card_number", ColumnType::Varchar(23)).nullable())
        .column(Column::new("iban", ColumnType::Varchar(42)).nullable())
        .column(Column::new("card_holder", ColumnType::Text).nullable())
        .column(Column::new("paid_at", ColumnType::Timestamp))
        .primary_key(["payment_id"])
        .foreign_key(["customer_id"], "customer", Vec::<String>::new())
}

fn staff() -> Table {
    Table::new("staff")
        .column(Column::new("staff_id", ColumnType::Integer))
        .column(Column::new("username", ColumnType::Varchar(40)))
        .column(Column::new("email", ColumnType::Varchar(120)))
        .column(Column::new("password", ColumnType::Varchar(255)))
        .column(Column::new("password_reset_token", ColumnType::Varchar(64)).nullable())
        .column(Column::new("api_key", ColumnType::Varchar(64)))
        .column(Column::new("notes", ColumnType::Text).nullable())
        .column(Column::new(
            "last_login_ip",
            ColumnType::Native {
                dialect: crate::schema::Dialect::Postgres,
                name: "inet".into(),
            },
        ))
        .column(Column::new("picture", ColumnType::Bytes).nullable())
        .column(Column::new("active", ColumnType::Boolean))
        .primary_key(["staff_id"])
        .unique(["username"])
        .unique(["email"])
        .unique(["api_key"])
}

fn address() -> Table {
    Table::new("address")
        .column(Column::new("address_id", ColumnType::Integer))
        .column(Column::new("address", ColumnType::Varchar(50)))
        .column(Column::new("address2", ColumnType::Varchar(50)).nullable())
        .column(Column::new("city", ColumnType::Varchar(50)))
        .column(Column::new("postal_code", ColumnType::Varchar(10)).nullable())
        .column(Column::new("country", ColumnType::Varchar(50)))
        .primary_key(["address_id"])
}

fn product() -> Table {
    Table::new("product")
        .column(Column::new("product_id", ColumnType::Integer))
        .column(Column::new("sku", ColumnType::Varchar(20)))
        .column(Column::new("name", ColumnType::Text))
        .column(Column::new("description", ColumnType::Text).nullable())
        .column(Column::new(
            "price",
            ColumnType::Numeric {
                precision: 10,
                scale: 2,
            },
        ))
        .column(Column::new("stock_qty", ColumnType::Integer))
        .column(Column::new("in_stock", ColumnType::Boolean))
        .column(Column::new(
            "category",
            ColumnType::Enum {
                name: None,
                values: vec!["kitchen".into(), "garden".into()],
            },
        ))
        .column(Column::new("supplier_name", ColumnType::Text))
        .column(Column::new("external_ref", ColumnType::Uuid))
        .column(Column::new("created_at", ColumnType::Timestamp))
        .primary_key(["product_id"])
        .unique(["sku"])
}

/// Whether `column` is in `table`'s primary key, a unique constraint or a foreign key.
fn keyed(table: &Table, column: &str) -> bool {
    table.primary_key.iter().any(|c| c == column)
        || table.unique.iter().any(|u| u.iter().any(|c| c == column))
        || table
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.iter().any(|c| c == column))
}

/// Whether a transform applies to the column's type, the way a rules file is checked:
/// text transforms on text and varchar, pseudonymization on anything but dates, JSON, bytes,
/// booleans and enumerations, generalization and noise on their types, noise with a
/// primary key, constants of the column's type.
fn fits_type(table: &Table, column: &Column, t: &Transform) -> bool {
    use ColumnType as T;
    let ty = &column.ty;
    let text = matches!(ty, T::Text | T::Varchar(_));
    let dated = matches!(ty, T::Date | T::Timestamp | T::TimestampTz);
    let numeric = matches!(
        ty,
        T::Integer | T::BigInt | T::SizedInt { .. } | T::Numeric { .. }
    );
    match t {
        Transform::Keep => true,
        Transform::Null => column.nullable,
        Transform::Constant { value } => {
            let short = match (ty, value) {
                (T::Varchar(n), Value::Text(s)) => s.chars().count() <= *n as usize,
                _ => true,
            };
            short && value.clone().coerce(ty).as_ref() == Ok(value)
        }
        Transform::Pseudonymize => !matches!(
            ty,
            T::Boolean
                | T::Date
                | T::Timestamp
                | T::TimestampTz
                | T::Json
                | T::Bytes
                | T::Enum { .. }
        ),
        Transform::Fake { .. }
        | Transform::Email
        | Transform::Phone { .. }
        | Transform::NationalId
        | Transform::Card { .. }
        | Transform::Iban => text,
        Transform::Shift { days, .. } => dated && *days > 0,
        Transform::Generalize { to } => match to {
            Generalization::Month | Generalization::Year => dated,
            Generalization::Prefix(_) => text,
            Generalization::Band(w) => numeric && *w > 0,
        },
        Transform::Noise { .. } => numeric && !table.primary_key.is_empty(),
    }
}

/// The promises every detection keeps.
fn assert_promises(table: &Table, column: &Column, sample: &[Value], d: &Detection) {
    let at = format!("{}.{}: {d:?}", table.name, column.name);
    if keyed(table, &column.name) {
        assert!(d.suggested.is_bijective(), "not bijective on a key: {at}");
    }
    if d.suggested == Transform::Null {
        assert!(column.nullable, "null on a NOT NULL column: {at}");
    }
    assert!(!d.reason.is_empty(), "no reason: {at}");
    if d.class == Class::Safe {
        assert_eq!(d.suggested, Transform::Keep, "safe but masked: {at}");
    } else if d.suggested == Transform::Keep {
        assert!(d.reason.ends_with("review it"), "kept unsaid: {at}");
    }
    assert!(fits_type(table, column, &d.suggested), "does not fit: {at}");
    if d.kind.is_none() {
        assert_eq!(d.class, Class::Safe, "a class without a kind: {at}");
    }
    for v in sample {
        let Some(t) = text_form(v) else { continue };
        let t = t.trim();
        if t.len() >= 4 {
            assert!(!d.reason.contains(t), "the reason quotes a value: {at}");
        }
        for token in t.split_whitespace() {
            let identifying = token.chars().any(|c| c.is_ascii_digit() || c == '@');
            if identifying && token.len() >= 4 {
                assert!(!d.reason.contains(token), "the reason quotes a value: {at}");
            }
        }
    }
}

fn check(table: &Table, column: &str, sample: &[Value]) -> Detection {
    let col = table
        .get_column(column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let d = classify(table, col, sample);
    assert_promises(table, col, sample, &d);
    d
}

fn expect(table: &Table, column: &str, sample: &[Value], class: Class, kind: Option<PiiKind>) {
    let d = check(table, column, sample);
    assert_eq!(
        (d.class, d.kind),
        (class, kind),
        "{}.{column}: {}",
        table.name,
        d.reason
    );
}

#[test]
fn a_customer_table() {
    use Class::*;
    use PiiKind::*;
    let t = customer();
    let ids: Vec<Value> = (1..=50).map(Value::Int).collect();
    expect(&t, "customer_id", &ids, Safe, None);

    let d = check(&t, "email", &emails(50));
    assert_eq!((d.class, d.kind), (Sensitive, Some(Email)));
    assert_eq!(d.suggested, Transform::Email, "unique emails stay unique");
    assert_eq!(
        d.reason,
        "name says email; 100% of 50 sampled values are emails"
    );

    let firsts = texts((0..50).map(|i| FIRST[i % 10]));
    let d = check(&t, "first_name", &firsts);
    assert_eq!((d.class, d.kind), (Sensitive, Some(FirstName)));
    assert_eq!(
        d.suggested,
        Transform::Fake {
            kind: FakeKind::FirstName
        }
    );
    let lasts = texts((0..50).map(|i| LAST[i % 7]));
    let d = check(&t, "last_name", &lasts);
    assert_eq!((d.class, d.kind), (Sensitive, Some(LastName)));
    assert_eq!(
        d.suggested,
        Transform::Fake {
            kind: FakeKind::LastName
        }
    );

    let mut phone_sample = phones(40);
    phone_sample.extend([Value::Null, Value::Null]);
    let d = check(&t, "phone", &phone_sample);
    assert_eq!((d.class, d.kind), (Sensitive, Some(Phone)));
    assert_eq!(d.suggested, Transform::Phone { keep_digits: 0 });

    let d = check(&t, "ssn", &ssns(30));
    assert_eq!((d.class, d.kind), (Dangerous, Some(NationalId)));
    assert_eq!(d.suggested, Transform::NationalId);

    let births: Vec<Value> = (0..30)
        .map(|i| date(1950 + i, 1 + (i as u32 % 12), 1 + (i as u32 % 28)))
        .collect();
    let d = check(&t, "birth_date", &births);
    assert_eq!((d.class, d.kind), (Sensitive, Some(BirthDate)));
    assert_eq!(
        d.suggested,
        Transform::Generalize {
            to: Generalization::Year
        }
    );

    expect(&t, "status", &texts(["active", "blocked"]), Safe, None);
    expect(&t, "is_vip", &[Value::Bool(true)], Safe, None);
    let created: Vec<Value> = (0..5)
        .map(|i| {
            Value::TimestampTz(
                NaiveDate::from_ymd_opt(2024, 1, 1 + i)
                    .and_then(|d| d.and_hms_opt(9, 30, 0))
                    .expect("a valid time")
                    .and_utc(),
            )
        })
        .collect();
    expect(&t, "created_at", &created, Safe, None);

    // A person's company is their employer.
    let d = check(&t, "company", &texts(["Acme Corp", "Globex", "Initech"]));
    assert_eq!((d.class, d.kind), (Sensitive, Some(Company)));
    assert_eq!(
        d.suggested,
        Transform::Fake {
            kind: FakeKind::Company
        }
    );

    // Clean notes about a customer: personal, but not dangerous.
    let notes = texts([
        "Prefers morning deliveries.",
        "Asked about the loyalty programme twice.",
        "Complained about late shipping in March.",
        "Happy with the new packaging.",
    ]);
    let d = check(&t, "notes", &notes);
    assert_eq!((d.class, d.kind), (Sensitive, Some(FreeText)));
    assert_eq!(d.suggested, Transform::Null);
}

#[test]
fn a_payment_table() {
    use Class::*;
    use PiiKind::*;
    let t = payment();
    expect(
        &t,
        "payment_id",
        &[Value::Int(1), Value::Int(2)],
        Safe,
        None,
    );
    expect(
        &t,
        "customer_id",
        &[Value::Int(7), Value::Int(9)],
        Safe,
        None,
    );
    let amounts: Vec<Value> = ["12.50", "99.99", "1500.00"]
        .iter()
        .map(|s| Value::Numeric(s.parse().expect("a decimal")))
        .collect();
    expect(&t, "amount", &amounts, Safe, None);

    let d = check(&t, "card_number", &texts(CARDS));
    assert_eq!((d.class, d.kind), (Dangerous, Some(CardNumber)));
    assert_eq!(
        d.suggested,
        Transform::Card {
            keep_digits: 6,
            luhn: true
        }
    );

    let d = check(&t, "iban", &texts(IBANS));
    assert_eq!((d.class, d.kind), (Dangerous, Some(Iban)));
    assert_eq!(d.suggested, Transform::Iban);

    let holders = texts((0..20).map(|i| format!("{} {}", FIRST[i % 10], LAST[i % 7])));
    let d = check(&t, "card_holder", &holders);
    assert_eq!((d.class, d.kind), (Sensitive, Some(FullName)));
    assert_eq!(
        d.suggested,
        Transform::Fake {
            kind: FakeKind::FullName
        }
    );
}

#[test]
fn a_staff_table_with_secrets_and_notes_holding_emails() {
    use Class::*;
    use PiiKind::*;
    let t = staff();
    let d = check(
        &t,
        "username",
        &texts(["mike.h", "jon_s", "admin2", "olivia.w"]),
    );
    assert_eq!((d.class, d.kind), (Sensitive, Some(Username)));
    assert_eq!(d.suggested, Transform::Pseudonymize);

    let d = check(&t, "email", &emails(10));
    assert_eq!((d.class, d.kind), (Sensitive, Some(Email)));
    assert_eq!(d.suggested, Transform::Email);

    let hashes = texts([
        "$2b$12$KIXQJ7Zl8Fh3p9o2b1e3uO0m1aZ0P9Yx8yQj7Vn5LqK2m3N4b5C6d",
        "$2b$12$abcdefghijklmnopqrstuuZyxwvutsrqponmlkjihgfedcbaZYXWV",
    ]);
    let d = check(&t, "password", &hashes);
    assert_eq!((d.class, d.kind), (Dangerous, Some(Secret)));
    assert_eq!(
        d.suggested,
        Transform::Constant {
            value: Value::Text("masked".into())
        },
        "NOT NULL and not unique: a constant"
    );

    let d = check(
        &t,
        "password_reset_token",
        &texts(["9f86d081884c7d659a2feaa0c55ad015"]),
    );
    assert_eq!((d.class, d.kind), (Dangerous, Some(Secret)));
    assert_eq!(d.suggested, Transform::Null);

    let d = check(&t, "api_key", &texts(["sk_live_4eC39HqLyjWDarjtT1zdp7dc"]));
    assert_eq!((d.class, d.kind), (Dangerous, Some(Secret)));
    assert_eq!(d.suggested, Transform::Pseudonymize, "unique: a bijection");

    let notes = texts([
        "Covering the front desk this week.",
        "Forward supplier invoices to jane.roe@example.com until Friday.",
        "On leave from the 3rd.",
        "Prefers to be contacted by email, see personnel file.",
    ]);
    let d = check(&t, "notes", &notes);
    assert_eq!((d.class, d.kind), (Dangerous, Some(FreeText)));
    assert_eq!(d.suggested, Transform::Null);
    assert!(
        d.reason.contains("1 of 4 sampled values contains emails"),
        "{}",
        d.reason
    );

    let ips = texts([
        "192.0.2.10",
        "198.51.100.7",
        "2001:db8::42",
        "203.0.113.250",
    ]);
    let d = check(&t, "last_login_ip", &ips);
    assert_eq!((d.class, d.kind), (Sensitive, Some(IpAddress)));
    assert_eq!(d.suggested, Transform::Pseudonymize);

    expect(&t, "picture", &[Value::Bytes(vec![0x89, 0x50])], Safe, None);
    expect(&t, "active", &[Value::Bool(false)], Safe, None);
}

#[test]
fn an_address_table() {
    use Class::*;
    use PiiKind::*;
    let t = address();
    let streets = texts([
        "47 MySakila Drive",
        "28 MySQL Boulevard",
        "1913 Hanoi Way",
        "692 Joliet Street",
    ]);
    let d = check(&t, "address", &streets);
    assert_eq!((d.class, d.kind), (Sensitive, Some(Street)));
    assert_eq!(
        d.suggested,
        Transform::Fake {
            kind: FakeKind::Street
        }
    );
    let d = check(&t, "address2", &texts(["Apt. 12", "Suite 400"]));
    assert_eq!((d.class, d.kind), (Sensitive, Some(Street)));
    let d = check(&t, "city", &texts(["Lethbridge", "Woodridge", "Hanoi"]));
    assert_eq!((d.class, d.kind), (Sensitive, Some(City)));
    assert_eq!(
        d.suggested,
        Transform::Fake {
            kind: FakeKind::City
        }
    );
    let d = check(&t, "postal_code", &texts(["02139", "35200", "17886"]));
    assert_eq!((d.class, d.kind), (Sensitive, Some(Zip)));
    assert_eq!(
        d.suggested,
        Transform::Generalize {
            to: Generalization::Prefix(3)
        }
    );
    expect(&t, "country", &texts(["Canada", "Vietnam"]), Safe, None);
}

#[test]
fn a_product_table_is_all_safe() {
    let t = product();
    let samples: Vec<(&str, Vec<Value>)> = vec![
        ("product_id", (1..=20).map(Value::Int).collect()),
        (
            "sku",
            texts((0..20).map(|i| format!("SKU-{:06}", 1000 + i))),
        ),
        (
            "name",
            texts([
                "Chef Knife 20cm",
                "Garden Hose 15m",
                "Espresso Cups (Set of 6)",
            ]),
        ),
        (
            "description",
            texts([
                "A forged steel knife with a 20 cm blade, dishwasher safe.",
                "Kink-free hose, 15 m, with a brass 3/4 inch connector.",
                "Six porcelain cups of 90 ml each, model 2024-55.",
                "Pack of 12, 250 ml, rated 4.5 of 5 by 1 234 buyers.",
            ]),
        ),
        (
            "price",
            ["19.99", "34.50", "12.00"]
                .iter()
                .map(|s| Value::Numeric(s.parse().expect("a decimal")))
                .collect(),
        ),
        ("stock_qty", (0..20).map(|i| Value::Int(i * 3)).collect()),
        ("in_stock", vec![Value::Bool(true), Value::Bool(false)]),
        ("category", texts(["kitchen", "garden"])),
        ("supplier_name", texts(["Acme Tools Ltd", "Garden & Co"])),
        (
            "external_ref",
            vec![Value::Uuid(uuid::Uuid::from_u128(0x1234_5678))],
        ),
        (
            "created_at",
            vec![Value::Timestamp(
                NaiveDate::from_ymd_opt(2024, 5, 1)
                    .and_then(|d| d.and_hms_opt(12, 0, 0))
                    .expect("a valid time"),
            )],
        ),
    ];
    assert_eq!(samples.len(), t.columns.len());
    for (column, sample) in &samples {
        let d = check(&t, column, sample);
        assert_eq!(d.class, Class::Safe, "product.{column}: {}", d.reason);
        assert_eq!(d.suggested, Transform::Keep);
    }
    // The supplier is a company, which is business data outside a table of people.
    let d = check(&t, "supplier_name", &samples[8].1);
    assert_eq!(d.kind, Some(PiiKind::Company));
}
