//! The classes of one column, by its type, checks and role, and those of checks between
//! columns.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;

mod text;

use super::{ALL, EdgeCase, Validity};
use crate::schema::{Check, CmpOp, Column, ColumnType, Dialect, Operand, Schema, Table};
use crate::value::Value;

/// Builds the cases of one column.
struct Cases<'a> {
    table: &'a Table,
    column: &'a Column,
    out: Vec<EdgeCase>,
}

impl Cases<'_> {
    fn push(&mut self, class: &str, validity: Validity, v: Value, why: &str, by: &[Dialect]) {
        self.out.push(EdgeCase {
            table: self.table.name.clone(),
            column: self.column.name.clone(),
            class: class.to_owned(),
            validity,
            cells: vec![(self.column.name.clone(), v)],
            why: why.to_owned(),
            rejected_by: by.to_vec(),
            duplicate: false,
        });
    }

    fn valid(&mut self, class: &str, v: Value, why: &str) {
        self.push(class, Validity::Valid, v, why, &[]);
    }

    fn invalid(&mut self, class: &str, v: Value, why: &str, by: &[Dialect]) {
        self.push(class, Validity::Invalid, v, why, by);
    }
}

/// Whether the column is part of a row's identity: no valid class but NULL may change it.
fn is_key(schema: &Schema, table: &Table, c: &Column) -> bool {
    let name = c.name.as_str();
    table.primary_key.iter().any(|k| k == name)
        || c.is_db_assigned()
        || c.default_sql.is_some()
        || name == schema.run_id_column
        || table
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.iter().any(|x| x == name))
        || table
            .unique
            .iter()
            .any(|u| u.len() > 1 && u.iter().any(|x| x == name))
        || schema.tables.iter().any(|t| {
            t.foreign_keys.iter().any(|fk| {
                fk.references == table.name
                    && t.fk_target_columns(fk, schema).iter().any(|x| x == name)
            })
        })
}

/// The bounds the column's own checks put on it: (value, strict) on each side.
type Bound = Option<(Value, bool)>;

fn bounds(table: &Table, column: &str) -> (Bound, Bound) {
    let (mut lo, mut hi) = (None, None);
    for c in table.checks_on(column) {
        match c {
            Check::Between { low, high, .. } => {
                lo = Some((low.clone(), false));
                hi = Some((high.clone(), false));
            }
            Check::Compare {
                column: cc,
                op,
                right: Operand::Value(v),
            } if cc == column => match op {
                CmpOp::Ge => lo = Some((v.clone(), false)),
                CmpOp::Gt => lo = Some((v.clone(), true)),
                CmpOp::Le => hi = Some((v.clone(), false)),
                CmpOp::Lt => hi = Some((v.clone(), true)),
                _ => {}
            },
            _ => {}
        }
    }
    (lo, hi)
}

fn as_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Int(i) => Some(Decimal::from(*i)),
        Value::Numeric(d) => Some(*d),
        _ => None,
    }
}

fn as_date(v: &Value) -> Option<NaiveDate> {
    match v {
        Value::Date(d) => Some(*d),
        Value::Timestamp(t) => Some(t.date()),
        Value::TimestampTz(t) => Some(t.date_naive()),
        _ => None,
    }
}

/// Whether a comparison with another column involves the column: its extremes would push
/// the generated side out of the type's range.
fn compared(table: &Table, column: &str) -> bool {
    table.checks_on(column).any(|c| {
        matches!(
            c,
            Check::Compare {
                right: Operand::Column(_),
                ..
            }
        )
    })
}

const CHECKED: &str = "the column's check";

/// The classes of one column.
pub(super) fn column(
    schema: &Schema,
    table: &Table,
    c: &Column,
    today: NaiveDate,
) -> Vec<EdgeCase> {
    let mut k = Cases {
        table,
        column: c,
        out: Vec::new(),
    };
    if c.is_db_assigned() || c.name == schema.run_id_column {
        return k.out; // the database's own values, or the run's mark on its rows
    }
    let key = is_key(schema, table, c);
    if c.nullable {
        k.valid("null", Value::Null, "NULL in a nullable column");
    } else if table.primary_key == [c.name.clone()] && c.ty.is_integer() {
        // SQLite's INTEGER PRIMARY KEY is the rowid: NULL there gets the next rowid.
        k.invalid(
            "null",
            Value::Null,
            "NULL in a NOT NULL column; SQLite takes it in an INTEGER PRIMARY KEY and assigns the next rowid instead",
            &[Dialect::Postgres, Dialect::MySql],
        );
    } else {
        k.invalid("null", Value::Null, "NULL in a NOT NULL column", &ALL);
    }
    if table
        .foreign_keys
        .iter()
        .any(|fk| fk.columns == [c.name.clone()])
    {
        let dangling = if c.ty.is_integer() {
            Value::Int(i64::from(i32::MAX) - 7)
        } else {
            Value::Text("atdm-no-such-row".into())
        };
        k.invalid(
            "foreign_key.dangling",
            dangling,
            "a key no row of the referenced table has",
            &ALL,
        );
    }
    if table.is_unique_column(&c.name) {
        k.out.push(EdgeCase {
            table: table.name.clone(),
            column: c.name.clone(),
            class: "unique.duplicate".into(),
            validity: Validity::Invalid,
            cells: Vec::new(),
            why: "the value another row already has in a unique column".into(),
            rejected_by: ALL.to_vec(),
            duplicate: true,
        });
    }
    let checks: Vec<&Check> = table.checks_on(&c.name).collect();
    // A column fixed to one value, or to a list, takes the list's ends.
    let fixed = checks.iter().find_map(|ch| match ch {
        Check::Compare {
            column,
            op: CmpOp::Eq,
            right: Operand::Value(v),
        } if *column == c.name => Some(vec![v.clone()]),
        Check::In { column, values } if *column == c.name => Some(values.clone()),
        _ => None,
    });
    let listed = match (&fixed, &c.ty) {
        (Some(values), _) => Some(values.clone()),
        (None, ColumnType::Enum { values, .. }) => {
            Some(values.iter().map(|v| Value::Text(v.clone())).collect())
        }
        _ => None,
    };
    if let Some(values) = listed {
        if !key {
            if let Some(first) = values.first() {
                k.valid("list.first", first.clone(), "the first allowed value");
            }
            if values.len() > 1 {
                let last = values.last().expect("not empty").clone();
                k.valid("list.last", last, "the last allowed value");
            }
        }
        if c.ty.is_textual() {
            k.invalid(
                "list.not_listed",
                Value::Text("atdm-not-listed".into()),
                "a value outside the allowed list",
                &ALL,
            );
        }
        return k.out;
    }
    let unique = table.is_unique_column(&c.name);
    match &c.ty {
        ColumnType::Text | ColumnType::Varchar(_) => text::text(&mut k, key, unique),
        ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. }
            if !key && !unique =>
        {
            integer(&mut k)
        }
        ColumnType::Numeric { precision, scale } if !key && !unique => {
            numeric(&mut k, *precision, *scale)
        }
        ColumnType::Boolean if !key => {
            k.valid("bool.true", Value::Bool(true), "true");
            k.valid("bool.false", Value::Bool(false), "false");
        }
        ColumnType::Date if !key && !unique => date(&mut k, today),
        ColumnType::Timestamp | ColumnType::TimestampTz if !key && !unique => timestamp(&mut k),
        ColumnType::Uuid => {
            if !key && !unique {
                k.valid("uuid.nil", Value::Uuid(uuid::Uuid::nil()), "the nil UUID");
                k.valid(
                    "uuid.max",
                    Value::Uuid(uuid::Uuid::max()),
                    "the largest UUID",
                );
            }
            k.invalid(
                "uuid.malformed",
                Value::Text("not-a-uuid".into()),
                "text that is no UUID",
                &[Dialect::Postgres],
            );
        }
        ColumnType::Json if !key => {
            k.valid(
                "json.empty",
                Value::Json(serde_json::json!({})),
                "an empty object",
            );
            k.valid(
                "json.nested",
                Value::Json(serde_json::json!({"a": [1, {"b": null}], "c": "\u{65e5}\u{672c}"})),
                "nested arrays, objects, null and non-ASCII text",
            );
            k.invalid(
                "json.malformed",
                Value::Text("{not json".into()),
                "text that is no JSON",
                &[Dialect::Postgres, Dialect::MySql],
            );
        }
        ColumnType::Bytes if !key => {
            k.valid("bytes.empty", Value::Bytes(Vec::new()), "no bytes");
            k.valid(
                "bytes.every_value",
                Value::Bytes((0..=255).collect()),
                "every byte value, NUL included",
            );
        }
        _ => {}
    }
    // Bounds of the column's own checks, for numbers and dates.
    let (lo, hi) = bounds(table, &c.name);
    if lo.is_some() || hi.is_some() {
        check_bounds(&mut k, key || unique, lo, hi);
    }
    impossible_partners(table, &c.name, &mut k.out);
    // Any value of a foreign key that is not a key of the referenced table is refused by
    // the foreign key itself, whatever else is wrong with it.
    if table
        .foreign_keys
        .iter()
        .any(|fk| fk.columns.contains(&c.name))
    {
        for case in k.out.iter_mut().filter(|x| {
            x.validity == Validity::Invalid && !x.cells.iter().all(|(_, v)| v.is_null())
        }) {
            case.rejected_by = ALL.to_vec();
        }
    }
    k.out
}

/// An impossible date is text; where the column is compared with another, the other gets a
/// date the text still compares right with (as a database that keeps dates as text compares
/// them), so the case is about the impossible date alone.
fn impossible_partners(table: &Table, column: &str, cases: &mut [EdgeCase]) {
    for case in cases
        .iter_mut()
        .filter(|c| c.class.ends_with(".impossible"))
    {
        for check in table.checks_on(column) {
            let Check::Compare {
                column: left,
                op,
                right: Operand::Column(right),
            } = check
            else {
                continue;
            };
            let (other, greater) = if left == column {
                (right, matches!(op, CmpOp::Ge | CmpOp::Gt))
            } else {
                (left, matches!(op, CmpOp::Le | CmpOp::Lt))
            };
            let Some(ty) = table.get_column(other).map(|c| &c.ty) else {
                continue;
            };
            // The impossible day is 2026-02-30: the day before it or the day after.
            let day = if greater {
                NaiveDate::from_ymd_opt(2026, 2, 28)
            } else {
                NaiveDate::from_ymd_opt(2026, 3, 1)
            }
            .expect("a valid date");
            let v = match ty {
                ColumnType::Date => Value::Date(day),
                ColumnType::Timestamp => Value::Timestamp(day.and_time(NaiveTime::MIN)),
                ColumnType::TimestampTz => {
                    Value::TimestampTz(day.and_time(NaiveTime::MIN).and_utc())
                }
                _ => continue,
            };
            case.cells.push((other.clone(), v));
        }
    }
}

fn integer(k: &mut Cases<'_>) {
    let (type_lo, type_hi) = k.column.ty.int_range().expect("an integer type");
    let (lo, hi) = bounds(k.table, &k.column.name);
    if lo.is_some() || hi.is_some() {
        return; // the checks' bounds are the edges (check_bounds)
    }
    k.valid(
        "number.min",
        Value::Int(type_lo),
        "the type's smallest value",
    );
    k.valid(
        "number.max",
        Value::Int(type_hi),
        "the type's largest value",
    );
    if type_lo < 0 {
        k.valid("number.minus_one", Value::Int(-1), "minus one");
    }
    k.valid("number.zero", Value::Int(0), "zero");
    if matches!(k.column.ty, ColumnType::Integer) {
        k.invalid(
            "number.above_max",
            Value::Int(type_hi + 1),
            "one more than the type's largest value",
            &[Dialect::Postgres, Dialect::MySql],
        );
        k.invalid(
            "number.below_min",
            Value::Int(type_lo - 1),
            "one less than the type's smallest value",
            &[Dialect::Postgres, Dialect::MySql],
        );
    }
}

fn numeric(k: &mut Cases<'_>, precision: u8, scale: u8) {
    let whole = u32::from(precision.saturating_sub(scale)).min(27);
    let step = Decimal::new(1, u32::from(scale).min(27));
    let limit = Decimal::from_i128_with_scale(10i128.pow(whole), 0);
    let (lo, hi) = bounds(k.table, &k.column.name);
    if lo.is_none() && hi.is_none() {
        k.valid(
            "number.max",
            Value::Numeric(limit - step),
            "the largest value the precision holds",
        );
        k.valid(
            "number.min",
            Value::Numeric(step - limit),
            "the smallest value the precision holds",
        );
        k.valid("number.zero", Value::Numeric(Decimal::ZERO), "zero");
        if scale > 0 {
            k.valid(
                "number.smallest_step",
                Value::Numeric(step),
                "one unit of the last decimal",
            );
        }
        k.invalid(
            "number.too_large",
            Value::Numeric(limit),
            "more whole digits than the precision holds",
            &[Dialect::Postgres, Dialect::MySql],
        );
    }
    if u32::from(scale) < 27 {
        k.invalid(
            "number.too_precise",
            Value::Numeric(Decimal::new(1, u32::from(scale) + 1) + Decimal::ONE),
            "one decimal more than the scale: databases round it instead of refusing it",
            &[],
        );
    }
}

fn date(k: &mut Cases<'_>, today: NaiveDate) {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("a valid date");
    let (lo, hi) = bounds(k.table, &k.column.name);
    let free = lo.is_none() && hi.is_none();
    let mut cand = vec![
        ("date.leap_day", d(2024, 2, 29), "a leap day"),
        ("date.year_end", d(2025, 12, 31), "the last day of a year"),
        (
            "date.month_end",
            d(2026, 4, 30),
            "the last day of a 30-day month",
        ),
        ("date.epoch", d(1970, 1, 1), "1970-01-01, the Unix epoch"),
        ("date.today", today, "the reference date"),
    ];
    if free && !compared(k.table, &k.column.name) {
        cand.push((
            "date.min",
            d(1000, 1, 1),
            "the earliest date every database supports",
        ));
        cand.push((
            "date.max",
            d(9999, 12, 31),
            "the latest date every database supports",
        ));
    }
    for (class, v, why) in cand {
        if within(&lo, &hi, &Value::Date(v)) {
            k.valid(class, Value::Date(v), why);
        }
    }
    k.invalid(
        "date.impossible",
        Value::Text("2026-02-30".into()),
        "a day February does not have",
        &[Dialect::Postgres, Dialect::MySql],
    );
}

fn timestamp(k: &mut Cases<'_>) {
    let t = |s: &str| -> DateTime<Utc> { s.parse().expect("a valid timestamp") };
    let (lo, hi) = bounds(k.table, &k.column.name);
    let tz = matches!(k.column.ty, ColumnType::TimestampTz);
    let cand = [
        (
            "timestamp.epoch",
            t("1970-01-01T00:00:00Z"),
            "the Unix epoch",
        ),
        (
            "timestamp.y2038",
            t("2038-01-19T03:14:07Z"),
            "the last second of 32-bit Unix time",
        ),
        (
            "timestamp.leap_day",
            t("2024-02-29T23:59:59Z"),
            "the last second of a leap day",
        ),
        (
            "timestamp.year_end",
            t("2025-12-31T23:59:59.999999Z"),
            "the last microsecond of a year",
        ),
        (
            "timestamp.dst_start",
            t("2026-03-29T01:00:00Z"),
            "the instant Europe moves its clocks forward",
        ),
        (
            "timestamp.dst_end",
            t("2026-10-25T01:00:00Z"),
            "the instant Europe moves its clocks back",
        ),
        (
            "timestamp.microseconds",
            t("2026-06-01T12:34:56.123456Z"),
            "six fractional digits",
        ),
    ];
    for (class, v, why) in cand {
        let v = if tz {
            Value::TimestampTz(v)
        } else {
            Value::Timestamp(v.naive_utc())
        };
        if within(&lo, &hi, &v) {
            k.valid(class, v, why);
        }
    }
    k.invalid(
        "timestamp.impossible",
        Value::Text("2026-02-30T12:00:00".into()),
        "a day February does not have",
        &[Dialect::Postgres, Dialect::MySql],
    );
}

/// Whether `v` is within the checks' bounds.
fn within(lo: &Option<(Value, bool)>, hi: &Option<(Value, bool)>, v: &Value) -> bool {
    let ok = |b: &Option<(Value, bool)>, below: bool| match b {
        None => true,
        Some((bound, strict)) => match v.compare(bound) {
            Some(o) if below => o.is_gt() || (!strict && o.is_eq()),
            Some(o) => o.is_lt() || (!strict && o.is_eq()),
            None => true,
        },
    };
    ok(lo, true) && ok(hi, false)
}

/// The step of a column's values: one unit of its scale, a day, a second.
fn step(ty: &ColumnType, v: &Value, up: bool) -> Option<Value> {
    let sign = if up { 1 } else { -1 };
    Some(match (ty, v) {
        (ColumnType::Numeric { scale, .. }, _) => {
            let s = Decimal::new(sign, u32::from(*scale).min(27));
            Value::Numeric(as_decimal(v)? + s)
        }
        (_, Value::Int(i)) => Value::Int(i.checked_add(sign)?),
        (_, Value::Date(d)) => Value::Date(*d + Duration::days(sign)),
        (_, Value::Timestamp(t)) => Value::Timestamp(*t + Duration::seconds(sign)),
        (_, Value::TimestampTz(t)) => Value::TimestampTz(*t + Duration::seconds(sign)),
        _ => return None,
    })
}

/// The bound itself in the column's type (a date bound on a timestamp: its midnight).
fn typed(ty: &ColumnType, v: &Value) -> Option<Value> {
    Some(match ty {
        ColumnType::Numeric { .. } => Value::Numeric(as_decimal(v)?),
        t if t.is_integer() => match v {
            Value::Int(i) => Value::Int(*i),
            _ => return None,
        },
        ColumnType::Date => Value::Date(as_date(v)?),
        ColumnType::Timestamp => match v {
            Value::Timestamp(t) => Value::Timestamp(*t),
            Value::TimestampTz(t) => Value::Timestamp(t.naive_utc()),
            other => Value::Timestamp(NaiveDateTime::new(as_date(other)?, NaiveTime::MIN)),
        },
        ColumnType::TimestampTz => match v {
            Value::TimestampTz(t) => Value::TimestampTz(*t),
            Value::Timestamp(t) => Value::TimestampTz(t.and_utc()),
            other => {
                Value::TimestampTz(NaiveDateTime::new(as_date(other)?, NaiveTime::MIN).and_utc())
            }
        },
        _ => return None,
    })
}

/// The bounds of the column's range checks: each bound (or the first value inside a strict
/// one) is valid, the first value outside it invalid.
fn check_bounds(k: &mut Cases<'_>, key: bool, lo: Bound, hi: Bound) {
    let ty = k.column.ty.clone();
    for (side, bound, up) in [("lower", lo, false), ("upper", hi, true)] {
        let Some((b, strict)) = bound else { continue };
        let Some(at) = typed(&ty, &b) else { continue };
        let (inside, outside) = if strict {
            (step(&ty, &at, !up), Some(at.clone()))
        } else {
            (Some(at.clone()), step(&ty, &at, up))
        };
        if let (Some(v), false) = (inside, key) {
            k.valid(
                &format!("check.{side}_bound"),
                v,
                &format!("the {side} bound of {CHECKED}"),
            );
        }
        if let Some(v) = outside {
            k.invalid(
                &format!("check.beyond_{side}_bound"),
                v,
                &format!("just beyond the {side} bound of {CHECKED}"),
                &ALL,
            );
        }
    }
}

/// Comparisons between two columns (`effective_to >= effective_from`): both sides equal
/// (valid where the operator allows it, else invalid), and one step the wrong way (invalid).
pub(super) fn between_columns(table: &Table, today: NaiveDate) -> Vec<EdgeCase> {
    let mut out = Vec::new();
    for check in &table.checks {
        let Check::Compare {
            column: left,
            op,
            right: Operand::Column(right),
        } = check
        else {
            continue;
        };
        let (Some(l), Some(r)) = (table.get_column(left), table.get_column(right)) else {
            continue;
        };
        let base = match &r.ty {
            ColumnType::Date => Value::Date(today),
            ColumnType::Timestamp => Value::Timestamp(today.and_hms_opt(12, 0, 0).expect("noon")),
            ColumnType::TimestampTz => {
                Value::TimestampTz(today.and_hms_opt(12, 0, 0).expect("noon").and_utc())
            }
            t if t.is_integer() => Value::Int(
                bounds(table, right)
                    .0
                    .and_then(|(v, _)| match v {
                        Value::Int(i) => Some(i.max(1)),
                        _ => None,
                    })
                    .unwrap_or(1),
            ),
            ColumnType::Numeric { .. } => Value::Numeric(Decimal::ONE),
            _ => continue,
        };
        if l.ty != r.ty && !(l.ty.is_integer() && r.ty.is_integer()) {
            continue;
        }
        let case = |class: &str, validity, lv: Value, why: String, by: &[Dialect]| EdgeCase {
            table: table.name.clone(),
            column: left.clone(),
            class: class.to_owned(),
            validity,
            cells: vec![(left.clone(), lv), (right.clone(), base.clone())],
            why,
            rejected_by: by.to_vec(),
            duplicate: false,
        };
        let equal_ok = matches!(op, CmpOp::Ge | CmpOp::Le | CmpOp::Eq);
        if equal_ok {
            out.push(case(
                "compare.equal",
                Validity::Valid,
                base.clone(),
                format!("both sides of {check} equal"),
                &[],
            ));
        } else {
            out.push(case(
                "compare.equal",
                Validity::Invalid,
                base.clone(),
                format!("both sides of {check} equal, which it does not allow"),
                &ALL,
            ));
        }
        let wrong_way = match op {
            CmpOp::Ge | CmpOp::Gt => step(&l.ty, &base, false),
            CmpOp::Le | CmpOp::Lt => step(&l.ty, &base, true),
            _ => None,
        };
        if let Some(v) = wrong_way {
            out.push(case(
                "compare.violated",
                Validity::Invalid,
                v,
                format!("one step the wrong way for {check}"),
                &ALL,
            ));
        }
    }
    out
}
