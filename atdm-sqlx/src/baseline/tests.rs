//! Unit tests of the baseline codec, Parquet round trips, ids and manifests.

use super::codec::*;
use super::objects::*;
use super::restore::parents_first;
use super::*;
use crate::backend::{ValueForms, mysql, postgres, sqlite};
use atdm_core::Value;
use atdm_core::schema::{Column, ColumnType, Dialect, Table};
use chrono::{NaiveDate, NaiveDateTime};

fn spec(name: &str, ty: &str, nullable: bool, d: ValueForms) -> ColSpec {
    let mut c = Column::new(name, ty.parse::<ColumnType>().unwrap());
    c.nullable = nullable;
    specs(&Table::new("t").column(c), d).remove(0)
}

fn checksum(rows: &[Vec<Value>]) -> String {
    let mut c = Checksum::default();
    let mut buf = Vec::new();
    for r in rows {
        c.add(&row_digest(r, &mut buf));
    }
    c.hex()
}

#[test]
fn checksums_do_not_depend_on_row_order_but_on_every_value() {
    let rows: Vec<Vec<Value>> = (0..50)
        .map(|i| vec![Value::Int(i), Value::Text(format!("row {i}")), Value::Null])
        .collect();
    let mut reversed = rows.clone();
    reversed.reverse();
    let mut shuffled = rows.clone();
    shuffled.swap(3, 41);
    shuffled.swap(0, 17);
    assert_eq!(checksum(&rows), checksum(&reversed));
    assert_eq!(checksum(&rows), checksum(&shuffled));
    let mut changed = rows.clone();
    changed[7][2] = Value::Text(String::new());
    assert_ne!(
        checksum(&rows),
        checksum(&changed),
        "NULL is not empty text"
    );
    let mut dup = rows.clone();
    dup.push(rows[0].clone());
    assert_ne!(checksum(&rows), checksum(&dup), "a duplicate row counts");
    assert_ne!(checksum(&rows), checksum(&rows[1..]));
    assert_ne!(checksum(&[]), checksum(&rows[..1]));
    // Values are delimited: ("ab", "c") is not ("a", "bc").
    assert_ne!(
        checksum(&[vec![Value::Text("ab".into()), Value::Text("c".into())]]),
        checksum(&[vec![Value::Text("a".into()), Value::Text("bc".into())]])
    );
}

#[test]
fn the_checksum_sum_carries_across_limbs() {
    let mut c = Checksum::default();
    c.add(&[0xff; 32]);
    c.add(&{
        let mut one = [0u8; 32];
        one[31] = 1;
        one
    });
    assert_eq!(c.sum, [0, 0, 0, 0], "2^256 - 1 + 1 wraps to zero");
    assert_eq!(c.rows, 2);
}

fn ts(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

/// Bytes as the store gives them back.
async fn stored(bytes: Vec<u8>) -> impl ChunkReader + 'static {
    let store = object_store::memory::InMemory::new();
    let key = ObjectPath::from("x");
    object_store::ObjectStore::put_opts(
        &store,
        &key,
        PutPayload::from(bytes),
        PutOptions::default(),
    )
    .await
    .unwrap();
    store.get(&key).await.unwrap().bytes().await.unwrap()
}

#[tokio::test]
async fn every_type_round_trips_through_parquet_exactly() {
    for d in [
        sqlite::VALUE_FORMS,
        postgres::VALUE_FORMS,
        mysql::VALUE_FORMS,
    ] {
        let cols = vec![
            spec("i", "integer", true, d),
            spec("b", "bigint", true, d),
            spec("n", "numeric(12,2)", true, d),
            spec("f", "boolean", true, d),
            spec("day", "date", true, d),
            spec("at", "timestamp", true, d),
            spec("at_tz", "timestamptz", true, d),
            spec("t", "text", true, d),
            spec("u", "uuid", true, d),
            spec("j", "json", true, d),
            spec("raw", "bytes", true, d),
            spec("e", "enum(a, b)", true, d),
        ];
        let u = uuid::Uuid::parse_str("0b7c2f6e-9d4a-4f0e-8a57-3c1d2e4f5a6b").unwrap();
        let full = vec![
            Value::Int(-2_147_483_648),
            Value::Int(i64::MIN),
            Value::Numeric("-0.01".parse().unwrap()),
            Value::Bool(false),
            Value::Date(NaiveDate::from_ymd_opt(1900, 2, 28).unwrap()),
            Value::Timestamp(ts("1969-12-31 23:59:59.999999")),
            Value::TimestampTz(ts("2026-06-01 12:34:56.123456").and_utc()),
            Value::Text("O'Brien \"q\" C:\\Users\\fake \u{e9}\u{65e5}\t\n".into()),
            Value::Uuid(u),
            Value::Json(serde_json::json!({"b": [1, 2.5, null], "a": "x"})),
            Value::Bytes(vec![0, 255, 10, 13]),
            Value::Text("b".into()),
        ];
        let more = vec![
            Value::Int(2_147_483_647),
            Value::Int(i64::MAX),
            Value::Numeric("9999999999.99".parse().unwrap()),
            Value::Bool(true),
            Value::Date(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()),
            Value::Timestamp(ts("2026-06-01 00:00:00")),
            Value::TimestampTz(ts("1970-01-01 00:00:00.000001").and_utc()),
            Value::Text(String::new()),
            Value::Text("0B7C2F6E-9D4A-4F0E-8A57-3C1D2E4F5A6B".into()),
            Value::Text("[]".into()),
            Value::Bytes(Vec::new()),
            Value::Text("a".into()),
        ];
        let nulls = vec![Value::Null; cols.len()];
        let mut w = PartWriter::new(cols.clone());
        for r in [&full, &more, &nulls] {
            w.push(r.clone()).unwrap();
        }
        let (bytes, sum) = w.finish().unwrap();
        let (batches, again) = decode_part(stored(bytes).await, &cols).unwrap();
        assert_eq!(
            sum, again,
            "{d:?}: the checksum is recomputed from the object"
        );
        assert_eq!(again.rows, 3);
        let rows = read_batch(&batches[0], &cols).unwrap();
        let back: Vec<Vec<Value>> = rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .zip(&cols)
                    .map(|(v, c)| bind_form(v, c, d).unwrap())
                    .collect()
            })
            .collect();
        let expect = |r: &Vec<Value>| -> Vec<Value> {
            r.iter()
                .zip(&cols)
                .map(|(v, c)| match (v, &c.ty, d.uuid_json_as_text) {
                    (Value::Uuid(u), _, false) => Value::Uuid(*u),
                    (Value::Uuid(u), _, true) => Value::Text(u.to_string()),
                    (Value::Json(j), _, false) => Value::Json(j.clone()),
                    (Value::Json(j), _, true) => Value::Text(j.to_string()),
                    (Value::Text(s), ColumnType::Json, false) => {
                        Value::Json(serde_json::from_str(s).unwrap())
                    }
                    (v, _, _) => v.clone(),
                })
                .collect()
        };
        assert_eq!(back[0], expect(&full), "{d:?}");
        assert_eq!(back[2], nulls, "{d:?}");
        assert_eq!(back[1][2], Value::Numeric("9999999999.99".parse().unwrap()));
        if let Value::Numeric(n) = &back[0][2] {
            assert_eq!((n.to_string().as_str(), n.scale()), ("-0.01", 2));
        }
    }
}

#[test]
fn values_that_cannot_be_kept_exactly_fail_instead_of_rounding() {
    let d = postgres::VALUE_FORMS;
    let n = spec("n", "numeric(5,2)", false, d);
    assert!(stored_value(Value::Numeric("1.005".parse().unwrap()), &n).is_err());
    assert!(stored_value(Value::Numeric("1000.00".parse().unwrap()), &n).is_err());
    assert_eq!(
        stored_value(Value::Numeric("999.9".parse().unwrap()), &n).unwrap(),
        Value::Numeric("999.90".parse().unwrap())
    );
    let i = spec("i", "integer", false, d);
    assert!(stored_value(Value::Int(1 << 40), &i).is_err());
    assert!(
        stored_value(
            Value::Int(1 << 40),
            &spec("i", "integer", false, sqlite::VALUE_FORMS)
        )
        .is_ok(),
        "SQLite integers hold 64 bits"
    );
    let t = spec("t", "timestamp", false, d);
    let nanos = NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_nano_opt(0, 0, 0, 1)
        .unwrap();
    assert!(stored_value(Value::Timestamp(nanos), &t).is_err());
    let mut w = PartWriter::new(vec![i]);
    let e = w.push(vec![Value::Null]).unwrap_err();
    assert!(e.contains("NOT NULL"), "{e}");
}

#[test]
fn self_references_are_ordered_parents_first() {
    let t = Table::new("node")
        .column(Column::new("id", ColumnType::BigInt))
        .column(Column::new("parent", ColumnType::BigInt).nullable())
        .primary_key(["id"])
        .foreign_key(["parent"], "node", Vec::<String>::new());
    let cols = specs(&t, mysql::VALUE_FORMS);
    let row =
        |id: i64, p: Option<i64>| vec![Value::Int(id), p.map(Value::Int).unwrap_or(Value::Null)];
    // 1 -> 2 -> 3 -> (none); 4 -> 4 (itself); 5 -> 1.
    let rows = vec![
        row(1, Some(2)),
        row(5, Some(1)),
        row(2, Some(3)),
        row(4, Some(4)),
        row(3, None),
    ];
    let ordered: Vec<i64> = parents_first(&t, &cols, rows)
        .into_iter()
        .map(|r| match r[0] {
            Value::Int(i) => i,
            _ => unreachable!(),
        })
        .collect();
    let at = |id: i64| ordered.iter().position(|&x| x == id).unwrap();
    assert!(
        at(3) < at(2) && at(2) < at(1) && at(1) < at(5),
        "{ordered:?}"
    );
    assert_eq!(ordered.len(), 5);
}

#[test]
fn ids_are_checked_and_default_ids_sort_by_time() {
    assert!(check_id("bl_01KAJ0000000000000000000R1").is_ok());
    assert!(check_id("before-release.2").is_ok());
    for bad in ["", "../x", "a/b", ".hidden", "with space", &"x".repeat(101)] {
        let e = check_id(bad).unwrap_err();
        assert_eq!(e.code(), atdm_core::ErrorCode::InvalidBaselineId, "{bad:?}");
    }
    let a = new_id();
    std::thread::sleep(std::time::Duration::from_millis(2));
    let b = new_id();
    assert!(a.starts_with("bl_") && a < b, "{a} {b}");
}

#[test]
fn the_manifest_is_json_with_every_field() {
    let m = BaselineManifest {
        format_version: BASELINE_FORMAT_VERSION,
        id: "bl_x".into(),
        captured_at: DateTime::<Utc>::from_timestamp_micros(1_780_300_800_000_001).unwrap(),
        dialect: Dialect::Postgres,
        schema_version: SchemaVersion {
            pack: "healthcare".into(),
            schema: "healthcare".into(),
            version: "1".into(),
            hash: "ab".repeat(32),
        },
        tables: vec![BaselineTable {
            name: "plan".into(),
            rows: 2,
            checksum: "cd".repeat(32),
            object: "baselines/bl_x/plan.parquet".into(),
            catalog: false,
        }],
        tags: BTreeMap::from([("ticket".to_owned(), "QA-1".to_owned())]),
        audit_run_id: "strategy-snapshot-01KAJ0000000000000000000R1".into(),
    };
    let j = serde_json::to_value(&m).unwrap();
    assert_eq!(j["captured_at"], "2026-06-01T08:00:00.000001Z");
    assert_eq!(j["dialect"], "postgres");
    assert_eq!(j["tables"][0]["rows"], 2);
    let back: BaselineManifest = serde_json::from_value(j).unwrap();
    assert_eq!(back, m);
}

#[test]
fn unknown_ids_are_answered_with_close_ones_first() {
    let m = |id: &str| BaselineManifest {
        format_version: 1,
        id: id.into(),
        captured_at: Utc::now(),
        dialect: Dialect::Sqlite,
        schema_version: SchemaVersion {
            pack: String::new(),
            schema: String::new(),
            version: String::new(),
            hash: String::new(),
        },
        tables: Vec::new(),
        tags: BTreeMap::new(),
        audit_run_id: String::new(),
    };
    let listed = [m("nightly"), m("release-1.2"), m("release-1.3")];
    assert_eq!(
        available_ids("release-1.4", &listed),
        ["release-1.2", "release-1.3", "nightly"]
    );
}
