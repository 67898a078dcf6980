//! The two ways rows reach the target give the same bytes: decoded, masked and encoded
//! ([`Encode`]), or as the source's text with only the masked columns parsed ([`Raw`]).

use std::collections::HashSet;
use std::sync::Arc;

use atdm_core::Value;
use atdm_core::mask::{MaskKey, Masker, Rules, tuple_digest};
use atdm_core::schema::{Column, ColumnType, Schema, Table};
use chrono::NaiveDate;

use super::super::raw::Raw;
use super::super::rows::{TableMask, Work};
use super::{Encode, Piece};
use crate::backend::literals;
use crate::backend::postgres::{BULK_LOAD, TEXT_COPY};

fn schema() -> Schema {
    let person = Table::new("person")
        .column(Column::new("person_id", ColumnType::Integer))
        .column(Column::new("first_name", ColumnType::Text))
        .column(Column::new("email", ColumnType::Varchar(80)).nullable())
        .column(Column::new("born", ColumnType::Date).nullable())
        .column(Column::new("seen", ColumnType::Timestamp))
        .column(Column::new(
            "score",
            ColumnType::Numeric {
                precision: 10,
                scale: 2,
            },
        ))
        .column(Column::new("active", ColumnType::Boolean))
        .column(Column::new("note", ColumnType::Text).nullable())
        .column(Column::new("mentor_id", ColumnType::Integer).nullable())
        .primary_key(["person_id"])
        .foreign_key(["mentor_id"], "person", Vec::<String>::new());
    Schema::new("t", vec![person]).unwrap()
}

const RULES: &str = r#"
[tables.person]
first_name = { transform = "fake", kind = "first_name" }
email = "email"
born = { transform = "generalize", to = "year" }
seen = { transform = "shift", days = 30 }
score = { transform = "noise", percent = 5 }
"#;

fn rows() -> Vec<Vec<Value>> {
    let day = |d: u32| NaiveDate::from_ymd_opt(1990, 1, d).unwrap();
    let notes = [
        Some("tab\there"),
        Some("back\\slash and\nnew line"),
        None,
        Some("Zo\u{eb} \u{65e5}\u{672c}"),
        Some(""),
    ];
    (1..=40)
        .map(|i: i64| {
            vec![
                Value::Int(i),
                Value::Text(format!("Name{i}")),
                if i % 7 == 0 {
                    Value::Null
                } else {
                    Value::Text(format!("person.{i}@mail.test"))
                },
                if i % 5 == 0 {
                    Value::Null
                } else {
                    Value::Date(day(1 + (i as u32 % 28)))
                },
                Value::Timestamp(day(2).and_hms_micro_opt(3, 4, 5, i as u32 * 1000).unwrap()),
                Value::Numeric(rust_decimal::Decimal::new(i * 1234, 2)),
                Value::Bool(i % 2 == 0),
                notes[i as usize % notes.len()].map_or(Value::Null, |n| Value::Text(n.into())),
                if i > 1 {
                    Value::Int(i / 2)
                } else {
                    Value::Null
                },
            ]
        })
        .collect()
}

/// Everything `work` hands on for `input`.
fn run<W: Work<Piece = Piece>>(mut work: W, input: W::Chunk) -> (Vec<u8>, u64, Vec<Vec<Value>>) {
    let (send, mut receive) = tokio::sync::mpsc::channel(64);
    assert!(work.chunk(input, &send).unwrap());
    drop(send);
    let (mut bytes, mut rows, mut updates) = (Vec::new(), 0, Vec::new());
    while let Ok(p) = receive.try_recv() {
        bytes.extend(p.bytes);
        rows += p.rows;
        updates.extend(p.updates);
    }
    (bytes, rows, updates)
}

#[test]
fn masking_the_source_text_writes_what_masking_decoded_rows_writes() {
    let schema = schema();
    let t = &schema.tables[0];
    let rules = Rules::from_toml(RULES, "rules.toml").unwrap();
    let plan = rules.resolve(&schema).unwrap();
    let key = MaskKey::from_secret("a key of at least sixteen characters").unwrap();
    let masker = Masker::new(key.clone(), rules.locale);
    let every: Vec<usize> = (0..t.columns.len()).collect();
    let source = rows();
    let mut text = String::new();
    for row in &source {
        BULK_LOAD.row(&mut text, row.iter());
    }
    // Without a subset and late keys, then with both (a self-reference written last).
    let half: HashSet<u128> = (1..=40)
        .filter(|i| i % 2 == 1)
        .map(|i| tuple_digest(&key, &[&Value::Int(i)]))
        .collect();
    for (kept, late) in [(None, vec![]), (Some(Arc::new(half)), vec![8])] {
        let mask = || TableMask::new(t, &plan.tables["person"], &masker, kept.as_ref());
        let encode = Encode {
            mask: mask(),
            written: every.clone(),
            id: vec![0],
            late: late.clone(),
            bulk: Some(BULK_LOAD),
            lits: literals(atdm_core::schema::Dialect::Postgres),
            head: String::new(),
        };
        let types = t.columns.iter().map(|c| c.ty.clone()).collect();
        let raw = Raw::new(
            mask(),
            TEXT_COPY,
            BULK_LOAD,
            types,
            every.clone(),
            vec![0],
            late.clone(),
        );
        let decoded = run(encode, source.clone());
        let passed = run(raw, text.clone().into_bytes());
        assert_eq!(
            String::from_utf8(passed.0.clone()).unwrap(),
            String::from_utf8(decoded.0.clone()).unwrap()
        );
        assert_eq!((passed.1, &passed.2), (decoded.1, &decoded.2));
        let expected = if kept.is_some() { 20 } else { 40 };
        assert_eq!(decoded.1, expected);
        assert_eq!(!decoded.2.is_empty(), !late.is_empty());
        // Masked: no source email is left; kept notes pass unchanged.
        let out = String::from_utf8(decoded.0).unwrap();
        assert!(!out.contains("@mail.test"), "{out}");
        assert!(out.contains("back\\\\slash and\\nnew line"), "{out}");
    }
}
