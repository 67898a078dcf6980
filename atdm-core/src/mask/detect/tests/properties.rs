//! What every detection promises: values against names, free text, suggestions that fit
//! keys and NOT NULL columns, every column shape, and the classes' order and names.

use super::*;

#[test]
fn values_beat_names_when_they_clearly_disagree() {
    // An integer column named email holds no emails.
    let t = Table::new("legacy_user")
        .column(Column::new("id", ColumnType::Integer))
        .column(Column::new("email", ColumnType::Integer))
        .primary_key(["id"]);
    let ints: Vec<Value> = (100..130).map(Value::Int).collect();
    let d = check(&t, "email", &ints);
    assert_eq!((d.class, d.kind), (Class::Safe, None), "{}", d.reason);
    assert!(d.reason.contains("holds numbers"), "{}", d.reason);

    // A text column named email whose values are flags.
    let t = Table::new("signup").column(Column::new("email", ColumnType::Text));
    let d = check(&t, "email", &texts(["yes", "no", "yes", "yes", "no"]));
    assert_eq!((d.class, d.kind), (Class::Safe, None), "{}", d.reason);
    assert!(
        d.reason.starts_with("name says email but only 0% of 5"),
        "{}",
        d.reason
    );

    // A column named as a first name that holds emails is an email column.
    let t = Table::new("member").column(Column::new("first_name", ColumnType::Text));
    let d = check(&t, "first_name", &emails(10));
    assert_eq!(d.kind, Some(PiiKind::Email));
    assert!(d.reason.starts_with("name says first name but 100%"));

    // Values decide a column whose name says nothing.
    let t = Table::new("refund").column(Column::new("reference", ColumnType::Text));
    let d = check(&t, "reference", &texts(IBANS));
    assert_eq!((d.class, d.kind), (Class::Dangerous, Some(PiiKind::Iban)));
    assert_eq!(d.suggested, Transform::Iban);
    let d = check(&t, "reference", &ssns(5));
    assert_eq!(
        (d.class, d.kind),
        (Class::Dangerous, Some(PiiKind::NationalId))
    );

    // Phone-shaped values do not overrule a national id name: Swedish personal numbers.
    let t = Table::new("citizen").column(Column::new("national_id", ColumnType::Text));
    let d = check(
        &t,
        "national_id",
        &texts(["19800101-1234", "19751224-9876", "20010203-4567"]),
    );
    assert_eq!(
        (d.class, d.kind),
        (Class::Dangerous, Some(PiiKind::NationalId))
    );

    // A minority of emails in a column nothing else decides.
    let t = Table::new("lead").column(Column::new("contact", ColumnType::Text));
    let mut sample = emails(3);
    sample.extend(texts(["n/a"; 7]));
    let d = check(&t, "contact", &sample);
    assert_eq!(d.kind, Some(PiiKind::Email));
    assert_eq!(
        d.suggested,
        Transform::Fake {
            kind: FakeKind::Email
        },
        "the values do not all fit the email transform"
    );
}

#[test]
fn free_text_is_dangerous_only_with_personal_data_inside() {
    let t = Table::new("ticket")
        .column(Column::new("ticket_id", ColumnType::Integer))
        .column(Column::new("comment", ColumnType::Text))
        .column(Column::new("log_line", ColumnType::Text))
        .column(Column::new("payload", ColumnType::Json).nullable())
        .column(Column::new("summary", ColumnType::Text))
        .primary_key(["ticket_id"]);
    let clean = texts([
        "Printer on floor 3 is jammed again.",
        "Reset done, closing the ticket on 2024-03-01.",
        "Needs a new toner, order 1234567 placed.",
    ]);
    let d = check(&t, "comment", &clean);
    assert_eq!(
        (d.class, d.kind),
        (Class::Sensitive, Some(PiiKind::FreeText))
    );
    assert_eq!(
        d.suggested,
        Transform::Fake {
            kind: FakeKind::Sentence
        },
        "NOT NULL: filler text"
    );
    // A summary outside a table of people, with nothing inside, is safe.
    let d = check(&t, "summary", &clean);
    assert_eq!((d.class, d.kind), (Class::Safe, None), "{}", d.reason);

    for dirty in [
        "Call the reporter back on +1 (555) 010-0199 today.",
        "User pasted card 4111 1111 1111 1111 into the form.",
        "Refund to DE89 3704 0044 0532 0130 00 approved.",
        "SSN 123-45-6789 was visible in the screenshot.",
    ] {
        let mut sample = clean.clone();
        sample.push(Value::Text(dirty.into()));
        for column in ["comment", "summary", "log_line"] {
            let d = check(&t, column, &sample);
            assert_eq!(
                (d.class, d.kind),
                (Class::Dangerous, Some(PiiKind::FreeText)),
                "{column}: {}",
                d.reason
            );
        }
    }

    let docs = vec![
        Value::Json(
            serde_json::json!({"event": "signup", "contact": {"email": "a.b@example.org"}}),
        ),
        Value::Json(serde_json::json!({"event": "login"})),
        Value::Null,
    ];
    let d = check(&t, "payload", &docs);
    assert_eq!(
        (d.class, d.kind),
        (Class::Dangerous, Some(PiiKind::FreeText))
    );
    assert_eq!(d.suggested, Transform::Null);
    let d = check(&t, "payload", &[Value::Json(serde_json::json!({"n": 1}))]);
    assert_eq!(d.class, Class::Safe, "{}", d.reason);
}

#[test]
fn suggestions_keep_keys_unique_and_not_null_columns_filled() {
    // An email primary key gets the format-preserving bijection.
    let t = Table::new("subscriber")
        .column(Column::new("email", ColumnType::Text))
        .column(Column::new("first_name", ColumnType::Text))
        .column(Column::new("last_name", ColumnType::Text))
        .column(Column::new("zip", ColumnType::Varchar(10)))
        .column(Column::new("born", ColumnType::Date))
        .column(Column::new("notes", ColumnType::Text))
        .column(Column::new("phone", ColumnType::BigInt).nullable())
        .column(Column::new("card_no", ColumnType::Text))
        .column(Column::new("birthday", ColumnType::Varchar(10)))
        .column(Column::new("pin_secret", ColumnType::Varchar(4)))
        .column(Column::new("api_token", ColumnType::Uuid))
        .primary_key(["email"])
        .unique(["first_name", "last_name", "born"])
        .unique(["zip"]);
    assert_eq!(check(&t, "email", &emails(5)).suggested, Transform::Email);
    let d = check(&t, "first_name", &texts(FIRST));
    assert_eq!(d.suggested, Transform::Pseudonymize);
    let d = check(&t, "zip", &texts(["02139", "10115"]));
    assert_eq!(d.kind, Some(PiiKind::Zip));
    assert_eq!(d.suggested, Transform::Pseudonymize);
    // No transform of dates is a bijection: the date in a unique constraint is kept, and
    // the reason says to review it.
    let d = check(&t, "born", &[date(1980, 5, 17)]);
    assert_eq!(
        (d.class, d.kind),
        (Class::Sensitive, Some(PiiKind::BirthDate))
    );
    assert_eq!(d.suggested, Transform::Keep);
    assert!(d.reason.ends_with("review it"), "{}", d.reason);
    let d = check(&t, "notes", &[]);
    assert_eq!(
        (d.class, d.kind),
        (Class::Sensitive, Some(PiiKind::FreeText))
    );
    assert!(d.reason.contains("no sample to check"), "{}", d.reason);
    let d = check(
        &t,
        "phone",
        &[Value::Int(5_550_100_199), Value::Int(4_930_123_456)],
    );
    assert_eq!(d.kind, Some(PiiKind::Phone));
    assert_eq!(d.suggested, Transform::Pseudonymize);
    // Masked card numbers: the name still says card, the values do not fit the card transform.
    let d = check(
        &t,
        "card_no",
        &texts(["************1111", "************0004"]),
    );
    assert_eq!(
        (d.class, d.kind),
        (Class::Dangerous, Some(PiiKind::CardNumber))
    );
    assert_eq!(d.suggested, Transform::NationalId);
    let d = check(&t, "birthday", &texts(["1980-05-17", "1975-12-24"]));
    assert_eq!(d.kind, Some(PiiKind::BirthDate));
    assert_eq!(d.suggested, Transform::Pseudonymize);
    let d = check(&t, "pin_secret", &texts(["1234"]));
    assert_eq!(d.kind, Some(PiiKind::Secret));
    assert_eq!(
        d.suggested,
        Transform::Constant {
            value: Value::Text("mask".into())
        },
        "cut to the varchar's length"
    );
    let d = check(&t, "api_token", &[Value::Uuid(uuid::Uuid::from_u128(7))]);
    assert_eq!((d.class, d.kind), (Class::Dangerous, Some(PiiKind::Secret)));
    assert_eq!(d.suggested, Transform::Pseudonymize);

    let lat = Column::new(
        "lat",
        ColumnType::Numeric {
            precision: 9,
            scale: 6,
        },
    );
    let t = Table::new("store")
        .column(Column::new("store_id", ColumnType::Integer))
        .column(lat.clone())
        .column(Column::new("company_name", ColumnType::Text))
        .primary_key(["store_id"]);
    let berlin = [Value::Numeric("52.520008".parse().expect("a decimal"))];
    let d = check(&t, "lat", &berlin);
    assert_eq!(
        (d.class, d.kind),
        (Class::Sensitive, Some(PiiKind::GeoPosition))
    );
    assert!(matches!(d.suggested, Transform::Noise { .. }));
    // Noise is keyed by the primary key: without one, whole degrees.
    let no_key = Table::new("checkin").column(lat);
    let d = check(&no_key, "lat", &berlin);
    assert_eq!(
        d.suggested,
        Transform::Generalize {
            to: Generalization::Band(1)
        }
    );
    let d = check(&t, "company_name", &texts(["Acme"]));
    assert_eq!((d.class, d.kind), (Class::Safe, Some(PiiKind::Company)));
}

#[test]
fn every_column_shape_keeps_the_promises() {
    let shapes: Vec<(&str, ColumnType, Vec<Value>)> = vec![
        ("email", ColumnType::Text, emails(10)),
        ("email", ColumnType::Text, texts(["x", "y", "z"])),
        ("contact", ColumnType::Text, emails(3)),
        ("first_name", ColumnType::Text, texts(FIRST)),
        ("full_name", ColumnType::Text, vec![]),
        ("phone", ColumnType::Text, phones(8)),
        ("phone", ColumnType::Text, texts(["5550100199", "n/a"])),
        ("phone", ColumnType::BigInt, vec![Value::Int(5_550_100_199)]),
        ("ssn", ColumnType::Text, ssns(4)),
        ("ssn", ColumnType::Integer, vec![Value::Int(123_456_789)]),
        ("card_number", ColumnType::Text, texts(CARDS)),
        (
            "card_number",
            ColumnType::BigInt,
            vec![Value::Int(4_111_111_111_111_111)],
        ),
        ("iban", ColumnType::Text, texts(IBANS)),
        ("account_number", ColumnType::Text, texts(["12345678"])),
        ("ip_address", ColumnType::Text, texts(["192.0.2.1"])),
        ("street", ColumnType::Text, texts(["1 Main St"])),
        ("city", ColumnType::Text, texts(["Paris"])),
        ("zip", ColumnType::Integer, vec![Value::Int(90210)]),
        ("zip", ColumnType::Text, texts(["90210"])),
        ("birth_date", ColumnType::Date, vec![date(1990, 1, 1)]),
        ("birth_year", ColumnType::Integer, vec![Value::Int(1990)]),
        ("dob", ColumnType::Text, texts(["1990-01-01"])),
        ("username", ColumnType::Text, texts(["jdoe"])),
        ("password", ColumnType::Text, texts(["hunter2"])),
        (
            "password",
            ColumnType::Bytes,
            vec![Value::Bytes(vec![1, 2])],
        ),
        ("api_key", ColumnType::Json, vec![]),
        ("notes", ColumnType::Text, texts(["Call 555-0100 soon."])),
        ("notes", ColumnType::Text, texts(["All good here."])),
        (
            "payload",
            ColumnType::Json,
            vec![Value::Json(serde_json::json!("a@b.io"))],
        ),
        ("address", ColumnType::Json, vec![]),
        ("company", ColumnType::Text, texts(["Acme"])),
        (
            "longitude",
            ColumnType::Native {
                dialect: crate::schema::Dialect::Postgres,
                name: "double precision".into(),
            },
            texts(["13.404954"]),
        ),
        (
            "client_ip",
            ColumnType::Native {
                dialect: crate::schema::Dialect::Postgres,
                name: "inet".into(),
            },
            texts(["192.0.2.1"]),
        ),
        (
            "notes",
            ColumnType::Native {
                dialect: crate::schema::Dialect::MySql,
                name: "mediumtext".into(),
            },
            texts(["Mail me at a@example.com"]),
        ),
        ("lat", ColumnType::Integer, vec![Value::Int(52_520_008)]),
        (
            "lat",
            ColumnType::Numeric {
                precision: 9,
                scale: 6,
            },
            vec![],
        ),
        ("date_of_birth", ColumnType::Timestamp, vec![]),
        ("secret", ColumnType::Varchar(3), texts(["abc"])),
        ("reference", ColumnType::Text, texts(CARDS)),
        (
            "reference",
            ColumnType::BigInt,
            vec![Value::Int(4_111_111_111_111_111)],
        ),
        ("status", ColumnType::Boolean, vec![Value::Bool(true)]),
        ("id", ColumnType::Uuid, vec![Value::Uuid(uuid::Uuid::nil())]),
    ];
    for (name, ty, sample) in &shapes {
        for nullable in [false, true] {
            for unique in [false, true] {
                for (table_name, pk) in [("customer", true), ("warehouse", false)] {
                    let mut col = Column::new(*name, ty.clone());
                    col.nullable = nullable;
                    let mut t = Table::new(table_name).column(col);
                    if pk {
                        t = t
                            .column(Column::new("row_id", ColumnType::Integer))
                            .primary_key(["row_id"]);
                    }
                    if unique {
                        t = t.unique([*name]);
                    }
                    let d = check(&t, name, sample);
                    // The classes match the kinds.
                    match d.kind {
                        Some(
                            PiiKind::NationalId
                            | PiiKind::CardNumber
                            | PiiKind::Iban
                            | PiiKind::Secret,
                        ) => assert_eq!(d.class, Class::Dangerous, "{name}: {}", d.reason),
                        Some(PiiKind::FreeText) => {
                            assert_ne!(d.class, Class::Safe, "{name}: {}", d.reason)
                        }
                        Some(PiiKind::Company) => {}
                        Some(_) => assert_eq!(d.class, Class::Sensitive, "{name}: {}", d.reason),
                        None => assert_eq!(d.class, Class::Safe, "{name}: {}", d.reason),
                    }
                }
            }
        }
    }
}

#[test]
fn classes_order_and_serialize_in_snake_case() {
    assert!(Class::Safe < Class::Sensitive && Class::Sensitive < Class::Dangerous);
    assert_eq!(
        serde_json::to_string(&Class::Dangerous).expect("serializes"),
        "\"dangerous\""
    );
    for c in [Class::Safe, Class::Sensitive, Class::Dangerous] {
        assert_eq!(
            serde_json::to_string(&c).expect("serializes"),
            format!("\"{}\"", c.as_str())
        );
    }
    for k in PiiKind::ALL {
        assert_eq!(
            serde_json::to_string(&k).expect("serializes"),
            format!("\"{}\"", k.as_str())
        );
        let back: PiiKind =
            serde_json::from_str(&format!("\"{}\"", k.as_str())).expect("deserializes");
        assert_eq!(back, k);
    }
    let d = classify(
        &customer(),
        customer().get_column("ssn").expect("a column"),
        &ssns(3),
    );
    let json = serde_json::to_value(&d).expect("serializes");
    assert_eq!(json["class"], "dangerous");
    assert_eq!(json["kind"], "national_id");
    assert_eq!(json["suggested"]["transform"], "national_id");
}
