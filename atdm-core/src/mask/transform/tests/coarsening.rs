//! Transforms that coarsen or move values: shifts per entity, generalization, noise.

use super::*;

#[test]
fn shifts_keep_intervals_within_an_entity() {
    let m = m();
    let t = Transform::Shift { days: 30, by: None };
    let c = col(ColumnType::Date);
    let mut offsets = BTreeSet::new();
    for id in 0..300i64 {
        let entity = [Value::Int(id)];
        let row = RowContext { entity: &entity };
        let a = date("2020-02-28");
        let b = date("2021-07-04");
        let Value::Date(x) = m.apply(&t, "t", &c, &Value::Date(a), row).unwrap() else {
            panic!()
        };
        let Value::Date(y) = m.apply(&t, "other", &c, &Value::Date(b), row).unwrap() else {
            panic!()
        };
        assert_eq!(y - x, b - a);
        let off = (x - a).num_days();
        assert!(off != 0 && (-30..=30).contains(&off), "{off}");
        offsets.insert(off);
        let ts = NaiveDateTime::parse_from_str("2020-02-28 13:14:15", "%Y-%m-%d %H:%M:%S").unwrap();
        let Value::Timestamp(z) = m
            .apply(
                &t,
                "t",
                &col(ColumnType::Timestamp),
                &Value::Timestamp(ts),
                row,
            )
            .unwrap()
        else {
            panic!()
        };
        assert_eq!((z - ts).num_seconds(), off * 86_400);
        let tz: DateTime<Utc> = ts.and_utc();
        let Value::TimestampTz(w) = m
            .apply(
                &t,
                "t",
                &col(ColumnType::TimestampTz),
                &Value::TimestampTz(tz),
                row,
            )
            .unwrap()
        else {
            panic!()
        };
        assert_eq!((w - tz).num_days(), off);
    }
    assert!(offsets.len() > 50, "{offsets:?}");
    assert!(offsets.iter().any(|&o| o < 0) && offsets.iter().any(|&o| o > 0));
    // The same entity named by text or by number shifts the same way.
    let (e1, e2) = ([Value::Int(7)], [Value::from("7")]);
    let d = Value::Date(date("2020-01-01"));
    assert_eq!(
        m.apply(&t, "a", &c, &d, RowContext { entity: &e1 })
            .unwrap(),
        m.apply(&t, "b", &c, &d, RowContext { entity: &e2 })
            .unwrap()
    );
    let one = Transform::Shift { days: 1, by: None };
    let Value::Date(x) = m
        .apply(&one, "t", &c, &d, RowContext { entity: &e1 })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!((x - date("2020-01-01")).num_days().abs(), 1);
    let e = run(&m, &t, ColumnType::Text, Value::from("2020-01-01")).unwrap_err();
    assert!(e.to_string().contains("holds text"), "{e}");
    let zero = Transform::Shift { days: 0, by: None };
    assert!(run(&m, &zero, ColumnType::Date, d).is_err());
    let far = Transform::Shift {
        days: u32::MAX,
        by: None,
    };
    // Out of the range of dates: an error (never a panic), whichever way it goes.
    for v in [NaiveDate::MAX, NaiveDate::MIN] {
        if let Err(e) = run(&m, &far, ColumnType::Date, Value::Date(v)) {
            assert!(e.to_string().contains("fewer days"), "{e}");
        }
    }
}

#[test]
fn generalization() {
    let m = m();
    let g = |to| Transform::Generalize { to };
    let month = g(Generalization::Month);
    let year = g(Generalization::Year);
    assert_eq!(
        ok(&m, &month, ColumnType::Date, date("2024-02-29")),
        Value::Date(date("2024-02-01"))
    );
    assert_eq!(
        ok(&m, &year, ColumnType::Date, date("2024-02-29")),
        Value::Date(date("2024-01-01"))
    );
    let ts = NaiveDateTime::parse_from_str("2024-05-06 07:08:09", "%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(
        ok(&m, &month, ColumnType::Timestamp, Value::Timestamp(ts)),
        Value::Timestamp(date("2024-05-01").and_time(NaiveTime::MIN))
    );
    assert_eq!(
        ok(
            &m,
            &year,
            ColumnType::TimestampTz,
            Value::TimestampTz(ts.and_utc())
        ),
        Value::TimestampTz(date("2024-01-01").and_time(NaiveTime::MIN).and_utc())
    );
    let p = g(Generalization::Prefix(3));
    assert_eq!(ok(&m, &p, ColumnType::Text, "02139"), Value::from("02100"));
    assert_eq!(
        ok(&m, &p, ColumnType::Text, "SW1A 1AA"),
        Value::from("SW1X 0XX")
    );
    assert_eq!(ok(&m, &p, ColumnType::Text, "ab"), Value::from("ab"));
    assert_eq!(
        ok(&m, &p, ColumnType::Text, "東京都千代田区"),
        Value::from("東京都XXXX")
    );
    let band = g(Generalization::Band(10));
    assert_eq!(ok(&m, &band, ColumnType::Integer, 37), Value::Int(30));
    assert_eq!(ok(&m, &band, ColumnType::Integer, -1), Value::Int(-10));
    assert_eq!(ok(&m, &band, ColumnType::Integer, 40), Value::Int(40));
    let tiny = ColumnType::SizedInt {
        bits: 8,
        unsigned: false,
    };
    assert_eq!(
        ok(&m, &g(Generalization::Band(100)), tiny, -128),
        Value::Int(-128)
    );
    assert_eq!(
        ok(&m, &band, ColumnType::Text, Value::Numeric(dec("37.25"))),
        Value::Numeric(dec("30.00"))
    );
    assert_eq!(
        ok(&m, &band, ColumnType::Text, Value::Numeric(dec("-0.5"))),
        Value::Numeric(dec("-10.0"))
    );
    assert!(
        run(
            &m,
            &g(Generalization::Band(0)),
            ColumnType::Integer,
            Value::Int(3)
        )
        .is_err()
    );
    assert!(run(&m, &band, ColumnType::Text, Value::from("x")).is_err());
    assert!(run(&m, &month, ColumnType::Integer, Value::Int(3)).is_err());
    assert!(run(&m, &p, ColumnType::Integer, Value::Int(3)).is_err());
}

#[test]
fn noise_stays_within_bounds_range_and_scale() {
    let m = m();
    let bound = Transform::Noise {
        bound: Some(5.0),
        percent: None,
    };
    let pct = Transform::Noise {
        bound: None,
        percent: Some(10.0),
    };
    let num = ColumnType::Numeric {
        precision: 5,
        scale: 2,
    };
    let c = col(ColumnType::Integer);
    let cn = col(num.clone());
    let mut deltas = BTreeSet::new();
    for id in 0..500i64 {
        let entity = [Value::Int(id)];
        let row = RowContext { entity: &entity };
        let Value::Int(y) = m.apply(&bound, "t", &c, &Value::Int(100), row).unwrap() else {
            panic!()
        };
        assert!((95..=105).contains(&y), "{y}");
        deltas.insert(y - 100);
        assert_eq!(
            m.apply(&bound, "t", &c, &Value::Int(100), row).unwrap(),
            Value::Int(y)
        );
        let Value::Int(z) = m.apply(&pct, "t", &c, &Value::Int(-1000), row).unwrap() else {
            panic!()
        };
        assert!((-1100..=-900).contains(&z), "{z}");
        let Value::Numeric(d) = m
            .apply(&pct, "t", &cn, &Value::Numeric(dec("500.00")), row)
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(d.scale(), 2);
        assert!(d >= dec("450") && d <= dec("550"), "{d}");
        let Value::Numeric(top) = m
            .apply(&bound, "t", &cn, &Value::Numeric(dec("999.99")), row)
            .unwrap()
        else {
            panic!()
        };
        assert!(top <= dec("999.99") && top >= dec("994.99"), "{top}");
    }
    assert!(
        deltas.contains(&-5) && deltas.contains(&5) && deltas.len() == 11,
        "{deltas:?}"
    );
    let tiny = col(ColumnType::SizedInt {
        bits: 8,
        unsigned: true,
    });
    let big = Transform::Noise {
        bound: Some(1e9),
        percent: None,
    };
    for id in 0..50i64 {
        let entity = [Value::Int(id)];
        let Value::Int(y) = m
            .apply(
                &big,
                "t",
                &tiny,
                &Value::Int(3),
                RowContext { entity: &entity },
            )
            .unwrap()
        else {
            panic!()
        };
        assert!((0..=255).contains(&y));
    }
    for bad in [
        Transform::Noise {
            bound: None,
            percent: None,
        },
        Transform::Noise {
            bound: Some(1.0),
            percent: Some(1.0),
        },
        Transform::Noise {
            bound: Some(f64::NAN),
            percent: None,
        },
        Transform::Noise {
            bound: Some(-1.0),
            percent: None,
        },
    ] {
        assert!(
            run(&m, &bad, ColumnType::Integer, Value::Int(1)).is_err(),
            "{bad:?}"
        );
    }
    assert!(run(&m, &bound, ColumnType::Text, Value::from("1")).is_err());
    assert!(
        run(
            &m,
            &bound,
            ColumnType::Date,
            Value::Date(date("2020-01-01"))
        )
        .is_err()
    );
}
