//! [`ColumnGen`]: how one column is generated, compiled once per column and used for every row.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use fake::locales::{Data, EN};
use rust_decimal::Decimal;

use super::text::semantic_text;
use super::{
    CellRng, GenContext, GeneratorRegistry, MarkerPolicy, Scalar, Semantic, ValueGenerator, mix,
    name_hash,
};
use crate::schema::{Check, CmpOp, Column, ColumnType, Operand, Table};
use crate::value::Value;

#[derive(Clone)]
enum Kind {
    Registered(Arc<dyn ValueGenerator>),
    OneOf(Vec<Value>),
    Key,
    Semantic(Semantic),
    Words,
    Int { lo: i64, hi: i64 },
    Numeric { lo: i64, hi: i64, scale: u32 },
    Bool,
    Date { lo: i64, hi: i64 },
    Timestamp { lo: i64, hi: i64, tz: bool },
    Uuid,
    Json,
    Bytes,
}

/// How one column of one table is generated: compiled once, used for every row.
#[derive(Clone)]
pub struct ColumnGen {
    table: String,
    column: String,
    table_hash: u64,
    column_hash: u64,
    kind: Kind,
    semantic: Option<Semantic>,
    prefix: Option<String>,
    max_len: Option<usize>,
    unique: bool,
    ty: ColumnType,
}

impl fmt::Debug for ColumnGen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ColumnGen({}.{})", self.table, self.column)
    }
}

/// Bounds in days relative to the reference date, or absolute (days since 1970-01-01).
const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");

fn days_since_epoch(d: NaiveDate) -> i64 {
    (d - EPOCH).num_days()
}

fn literal_bounds(table: &Table, column: &str) -> (Option<Value>, Option<Value>, bool, bool) {
    let (mut lo, mut hi) = (None, None);
    let (mut lo_strict, mut hi_strict) = (false, false);
    for c in table.checks_on(column) {
        match c {
            Check::Between { low, high, .. } => {
                lo = Some(low.clone());
                hi = Some(high.clone());
            }
            Check::Compare {
                column: c,
                op,
                right: Operand::Value(v),
            } if c == column => match op {
                CmpOp::Ge => lo = Some(v.clone()),
                CmpOp::Gt => {
                    lo = Some(v.clone());
                    lo_strict = true
                }
                CmpOp::Le => hi = Some(v.clone()),
                CmpOp::Lt => {
                    hi = Some(v.clone());
                    hi_strict = true
                }
                _ => {}
            },
            _ => {}
        }
    }
    (lo, hi, lo_strict, hi_strict)
}

fn as_i64(v: &Option<Value>) -> Option<i64> {
    match v {
        Some(Value::Int(i)) => Some(*i),
        Some(Value::Numeric(d)) => i64::try_from(d.floor()).ok(),
        _ => None,
    }
}

fn as_days(v: &Option<Value>) -> Option<i64> {
    match v {
        Some(Value::Date(d)) => Some(days_since_epoch(*d)),
        Some(Value::Timestamp(t)) => Some(days_since_epoch(t.date())),
        Some(Value::TimestampTz(t)) => Some(days_since_epoch(t.date_naive())),
        _ => None,
    }
}

impl ColumnGen {
    /// Compiles the generator of `column` in `table`.
    pub fn new(
        table: &Table,
        column: &Column,
        registry: &GeneratorRegistry,
        explicit: Option<&str>,
    ) -> Result<ColumnGen, String> {
        let name = &column.name;
        let semantic = if column.ty.is_textual() {
            Semantic::infer(&table.name, name)
        } else {
            None
        };
        let mut prefix = None;
        let mut one_of: Option<Vec<Value>> = match &column.ty {
            ColumnType::Enum { values, .. } => {
                Some(values.iter().map(|v| Value::Text(v.clone())).collect())
            }
            _ => None,
        };
        for c in table.checks_on(name) {
            match c {
                Check::In { column: cc, values } if cc == name => {
                    one_of = Some(match one_of {
                        Some(prev) => prev.into_iter().filter(|v| values.contains(v)).collect(),
                        None => values.clone(),
                    })
                }
                Check::Compare {
                    column: cc,
                    op: CmpOp::Eq,
                    right: Operand::Value(v),
                } if cc == name => one_of = Some(vec![v.clone()]),
                Check::Prefix {
                    column: cc,
                    prefix: p,
                } if cc == name => prefix = Some(p.clone()),
                _ => {}
            }
        }
        let is_pk = table.primary_key.len() == 1 && &table.primary_key[0] == name;
        let (lo, hi, lo_strict, hi_strict) = literal_bounds(table, name);
        let generator = explicit.or(column.generator.as_deref());
        let kind = if let Some(g) = generator {
            Kind::Registered(registry.get(g).cloned().ok_or_else(|| {
                format!(
                    "unknown generator {g:?}; registered: {}",
                    registry.names().collect::<Vec<_>>().join(", ")
                )
            })?)
        } else if let Some(list) = one_of.filter(|l| !l.is_empty()) {
            Kind::OneOf(list)
        } else {
            match &column.ty {
                ColumnType::Text | ColumnType::Varchar(_) | ColumnType::Enum { .. } => {
                    match semantic {
                        Some(s) => Kind::Semantic(s),
                        None if is_pk => Kind::Key,
                        None => Kind::Words,
                    }
                }
                ColumnType::Integer | ColumnType::BigInt => {
                    let max = if column.ty == ColumnType::Integer {
                        i64::from(i32::MAX)
                    } else {
                        i64::MAX
                    };
                    let unique = table.is_unique_column(name);
                    let lo = as_i64(&lo).map(|v| v + i64::from(lo_strict)).unwrap_or(1);
                    let default_hi = if unique {
                        max.min(2_000_000_000)
                    } else {
                        lo.saturating_add(999)
                    };
                    let hi = as_i64(&hi)
                        .map(|v| v - i64::from(hi_strict))
                        .unwrap_or(default_hi);
                    Kind::Int { lo, hi: hi.max(lo) }
                }
                ColumnType::Numeric { precision, scale } => {
                    let int_digits = u32::from(precision.saturating_sub(*scale));
                    let scale = u32::from(*scale);
                    let unit = 10i64.pow(scale.min(18));
                    let cap = 10i64
                        .checked_pow(int_digits)
                        .map(|p| p - 1)
                        .unwrap_or(i64::MAX / unit.max(1));
                    let lo = as_i64(&lo).unwrap_or(0).saturating_mul(unit);
                    let hi = as_i64(&hi).unwrap_or(cap.min(1000)).saturating_mul(unit);
                    Kind::Numeric {
                        lo,
                        hi: hi.max(lo),
                        scale,
                    }
                }
                ColumnType::Boolean => Kind::Bool,
                ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz => {
                    let lower = name.to_ascii_lowercase();
                    let birth = ["birth", "dob", "birthday"]
                        .iter()
                        .any(|w| lower.contains(w));
                    let (dlo, dhi) = if birth {
                        (-90 * 365, -18 * 365)
                    } else {
                        (-365, 0)
                    };
                    // Relative bounds are stored as offsets; absolute check bounds override.
                    let lo = as_days(&lo)
                        .map(|d| d + i64::from(lo_strict))
                        .map(Bound::Abs)
                        .unwrap_or(Bound::Rel(dlo));
                    let hi = as_days(&hi)
                        .map(|d| d - i64::from(hi_strict))
                        .map(Bound::Abs)
                        .unwrap_or(Bound::Rel(dhi));
                    let (lo, hi) = (lo.encode(), hi.encode());
                    match column.ty {
                        ColumnType::Date => Kind::Date { lo, hi },
                        ColumnType::Timestamp => Kind::Timestamp { lo, hi, tz: false },
                        _ => Kind::Timestamp { lo, hi, tz: true },
                    }
                }
                ColumnType::Uuid => Kind::Uuid,
                ColumnType::Json => Kind::Json,
                ColumnType::Bytes => Kind::Bytes,
            }
        };
        Ok(ColumnGen {
            table: table.name.clone(),
            column: name.clone(),
            table_hash: name_hash(&table.name),
            column_hash: name_hash(name),
            kind,
            semantic,
            prefix,
            max_len: match column.ty {
                ColumnType::Varchar(n) => Some(n as usize),
                _ => None,
            },
            unique: table.is_unique_column(name),
            ty: column.ty.clone(),
        })
    }

    /// The semantic kind inferred for the column, if any.
    pub fn semantic(&self) -> Option<Semantic> {
        self.semantic
    }

    /// The column's random stream for a row.
    pub fn rng(&self, seed: u64, row: u64) -> CellRng {
        CellRng::new(seed, self.table_hash, row, self.column_hash)
    }

    /// Generates the value of row `ctx.row`.
    pub fn value(&self, ctx: &GenContext<'_>, policy: &dyn MarkerPolicy) -> Value {
        let mut buf = String::new();
        match self.scalar(ctx, policy, &mut buf) {
            Scalar::Text => Value::Text(buf),
            other => other.into_value(&buf),
        }
    }

    pub(crate) fn scalar(
        &self,
        ctx: &GenContext<'_>,
        policy: &dyn MarkerPolicy,
        buf: &mut String,
    ) -> Scalar {
        buf.clear();
        let mut rng = self.rng(ctx.seed, ctx.row);
        let tag = || (ctx.seed >> 40) as u32;
        let offset = || mix(ctx.seed ^ self.column_hash);
        let s = match &self.kind {
            Kind::Registered(g) => {
                let v = g.generate(
                    &GenContext {
                        table: &self.table,
                        column: &self.column,
                        ..*ctx
                    },
                    &mut rng,
                );
                match v {
                    Value::Text(t) => {
                        buf.push_str(&t);
                        Scalar::Text
                    }
                    other => Scalar::Other(other),
                }
            }
            Kind::OneOf(list) => {
                let v = if self.unique {
                    &list[((offset().wrapping_add(ctx.row)) % list.len() as u64) as usize]
                } else {
                    rng.pick(list)
                };
                match v {
                    Value::Text(t) => {
                        buf.push_str(t);
                        Scalar::Text
                    }
                    other => Scalar::Other(
                        other
                            .clone()
                            .coerce(&self.ty)
                            .unwrap_or_else(|_| other.clone()),
                    ),
                }
            }
            Kind::Key => {
                let short: String = self
                    .table
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .take(4)
                    .collect();
                let _ = write!(buf, "{short}-{}-{}", ctx.run_id, ctx.row);
                Scalar::Text
            }
            Kind::Semantic(kind) => {
                if !policy.generate(*kind, &mut rng, buf) {
                    semantic_text(*kind, &mut rng, buf);
                }
                if self.unique {
                    if *kind == Semantic::Email {
                        let at = buf.find('@').unwrap_or(buf.len());
                        let suffix = format!(".{:06x}{}", tag() & 0xFF_FFFF, ctx.row);
                        buf.insert_str(at, &suffix);
                    } else {
                        let _ = write!(buf, "-{:06x}{}", tag() & 0xFF_FFFF, ctx.row);
                    }
                }
                Scalar::Text
            }
            Kind::Words => {
                let words = <EN as Data>::LOREM_WORD;
                let n = 2 + rng.below(3);
                for i in 0..n {
                    if i > 0 {
                        buf.push(' ');
                    }
                    buf.push_str(rng.word(words));
                }
                if self.unique {
                    let _ = write!(buf, " {:06x}{}", tag() & 0xFF_FFFF, ctx.row);
                }
                Scalar::Text
            }
            Kind::Int { lo, hi } => {
                if self.unique {
                    let span = (*hi as i128 - *lo as i128 + 1) as u128;
                    let k = (u128::from(offset()) + u128::from(ctx.row)) % span.max(1);
                    Scalar::Int((*lo as i128 + k as i128) as i64)
                } else {
                    Scalar::Int(rng.range(*lo, *hi))
                }
            }
            Kind::Numeric { lo, hi, scale } => {
                Scalar::Numeric(Decimal::new(rng.range(*lo, *hi), *scale))
            }
            Kind::Bool => Scalar::Bool(rng.below(2) == 1),
            Kind::Date { lo, hi } => {
                let (lo, hi) = (
                    Bound::decode(*lo, ctx.reference_date),
                    Bound::decode(*hi, ctx.reference_date),
                );
                let d = if self.unique {
                    lo + ((offset().wrapping_add(ctx.row)) % (hi - lo + 1).max(1) as u64) as i64
                } else {
                    rng.range(lo, hi)
                };
                Scalar::Date(EPOCH + Duration::days(d))
            }
            Kind::Timestamp { lo, hi, tz } => {
                let (lo, hi) = (
                    Bound::decode(*lo, ctx.reference_date),
                    Bound::decode(*hi, ctx.reference_date),
                );
                let secs = rng.range(lo * 86_400, hi * 86_400 + 86_399);
                let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
                if *tz {
                    Scalar::TimestampTz(t)
                } else {
                    Scalar::Timestamp(t.naive_utc())
                }
            }
            Kind::Uuid => {
                let bytes =
                    (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())).to_be_bytes();
                Scalar::Uuid(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }
            Kind::Json => {
                let w = rng.pick(<EN as Data>::LOREM_WORD);
                Scalar::Other(Value::Json(
                    serde_json::json!({ "synthetic": true, "word": w, "n": rng.below(1000) }),
                ))
            }
            Kind::Bytes => {
                let n = 8 + rng.below(9) as usize;
                Scalar::Other(Value::Bytes((0..n).map(|_| rng.below(256) as u8).collect()))
            }
        };
        if matches!(s, Scalar::Text) {
            if let Some(p) = &self.prefix
                && !buf.starts_with(p.as_str())
            {
                buf.insert_str(0, p);
            }
            if let Some(max) = self.max_len
                && let Some((cut, _)) = buf.char_indices().nth(max)
            {
                buf.truncate(cut);
            }
        }
        s
    }
}

#[derive(Clone, Copy)]
enum Bound {
    Rel(i64),
    Abs(i64),
}

const ABS_FLAG: i64 = 1 << 40;

impl Bound {
    fn encode(self) -> i64 {
        match self {
            Bound::Rel(d) => d,
            Bound::Abs(d) => d + ABS_FLAG,
        }
    }

    fn decode(v: i64, today: NaiveDate) -> i64 {
        if v > ABS_FLAG / 2 {
            v - ABS_FLAG
        } else {
            days_since_epoch(today) + v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::ReservedMarkers;

    #[test]
    fn generated_values_respect_checks_and_types() {
        let t = Table::new("item")
            .column(Column::new("sku", ColumnType::Varchar(8)))
            .column(Column::new("qty", ColumnType::Integer))
            .column(Column::new("kind", ColumnType::Text))
            .column(Column::new("price", "numeric(6,2)".parse().unwrap()))
            .column(Column::new("since", ColumnType::Date))
            .primary_key(["sku"])
            .check("qty between 3 and 5")
            .check("kind in ('a', 'b')")
            .check("sku starts with 'SK'")
            .check("since >= '2020-01-01'");
        let reg = GeneratorRegistry::default();
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        for row in 0..200 {
            let ctx = GenContext {
                seed: 7,
                run_id: "01J",
                reference_date: today,
                table: "item",
                column: "",
                row,
            };
            for c in &t.columns {
                let g = ColumnGen::new(&t, c, &reg, None).unwrap();
                let v = g.value(&ctx, &ReservedMarkers);
                let ok = t
                    .checks_on(&c.name)
                    .all(|ch| ch.eval(&|n| (n == c.name).then_some(&v)) != Some(false));
                assert!(ok, "{}={v}", c.name);
                match c.name.as_str() {
                    "sku" => assert!(
                        v.as_str().unwrap().chars().count() <= 8
                            && v.as_str().unwrap().starts_with("SK"),
                        "{v}"
                    ),
                    "price" => assert!(matches!(v, Value::Numeric(d) if d.scale() == 2), "{v}"),
                    _ => {}
                }
            }
        }
    }
}
