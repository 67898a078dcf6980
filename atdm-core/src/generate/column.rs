//! [`ColumnGen`]: how one column is generated, compiled once per column and used for every row.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use fake::locales::{Data, EN};
use rust_decimal::Decimal;

use super::fill::{fill_rate, fills, fills_at, millionths};
use super::locale::Locale;
use super::numeric::{CheckBounds, draw, numeric_cap, unit_range};
use super::rng::RowKey;
use super::text::{RowStreams, TextCtx};
use super::{
    CellRng, GenContext, GeneratorRegistry, MarkerPolicy, Scalar, Semantic, ValueGenerator, mix,
    name_hash, text,
};
use crate::plan::Source;
use crate::schema::{Check, CmpOp, Column, ColumnType, Dialect, Operand, Table};
use crate::value::Value;

mod bulk;
mod finish;

#[derive(Clone)]
enum Kind {
    Registered(Arc<dyn ValueGenerator>),
    OneOf(Vec<Value>),
    Key,
    Semantic(Semantic),
    Words,
    /// Integers in `lo..=hi`, shaped like the kind (when there is one).
    Int {
        lo: i64,
        hi: i64,
        shape: Option<Semantic>,
    },
    /// Numerics of `lo..=hi` units of `scale`.
    Numeric {
        lo: i64,
        hi: i64,
        scale: u32,
        shape: Option<Semantic>,
    },
    /// A year up to the reference date's, within the checks' bounds.
    Year {
        checks: (Option<i64>, Option<i64>),
        cap: i64,
    },
    Bool,
    Date {
        lo: i64,
        hi: i64,
    },
    Timestamp {
        lo: i64,
        hi: i64,
        tz: bool,
    },
    Uuid,
    Json,
    Bytes,
    /// A database's own type, as text (see [`super::native_value`]).
    Native {
        dialect: Dialect,
        name: String,
    },
    /// Always NULL: a nullable column of a type ATDM makes no values for.
    Null,
}

/// How one column of one table is generated: compiled once, used for every row.
///
/// Row `i`'s value depends only on `(seed, table, i, column)`, the column's schema and the
/// [`GENERATOR_VERSION`](super::GENERATOR_VERSION): text that shows the row's person or
/// address comes from streams the row shares between its columns, never from other cells.
#[derive(Clone)]
pub struct ColumnGen {
    table: String,
    column: String,
    table_hash: u64,
    column_hash: u64,
    kind: Kind,
    semantic: Option<Semantic>,
    max_len: Option<usize>,
    unique: bool,
    ty: ColumnType,
    locale: Locale,
    /// The table describes an address (country kinds give the locale's own country).
    home: bool,
    /// For a nullable column: the share of rows filled, in millionths.
    fill: Option<u32>,
    /// Its prefix, and what [`ColumnGen::source`] says.
    why: Arc<Why>,
}

/// Where a column's values come from, beyond its kind.
#[derive(Debug, Default)]
struct Why {
    /// A prefix every value starts with (a `starts with` check).
    prefix: Option<String>,
    /// The registered generator's name.
    generator: Option<String>,
    /// The column's own checks that shape its values (lists, bounds, prefixes), as written.
    shaped_by: Vec<String>,
}

impl fmt::Debug for ColumnGen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ColumnGen({}.{})", self.table, self.column)
    }
}

/// Bounds in days relative to the reference date, or absolute (days since 1970-01-01).
/// Days from 0001-01-01 to 1970-01-01, as [`Datelike::num_days_from_ce`] counts them.
const EPOCH_FROM_CE: i64 = 719_163;

/// `(d - EPOCH).num_days()`, without the duration arithmetic (this runs for every generated
/// date and timestamp).
fn days_since_epoch(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - EPOCH_FROM_CE
}

/// A date bound in days since 1970-01-01, and whether it is strict.
fn as_days(v: Option<&(Value, bool)>) -> Option<(i64, bool)> {
    let (v, strict) = v?;
    let d = match v {
        Value::Date(d) => days_since_epoch(*d),
        Value::Timestamp(t) => days_since_epoch(t.date()),
        Value::TimestampTz(t) => days_since_epoch(t.date_naive()),
        _ => return None,
    };
    Some((d, *strict))
}

impl ColumnGen {
    /// Compiles the generator of `column` in `table`. `explicit` names a registered
    /// generator a scenario asked for (`{ generate = "..." }`); such a column is always filled.
    pub fn new(
        table: &Table,
        column: &Column,
        registry: &GeneratorRegistry,
        explicit: Option<&str>,
    ) -> Result<ColumnGen, String> {
        let name = &column.name;
        let inferred = Semantic::infer(&table.name, name);
        let semantic = match &column.ty {
            ty if ty.is_textual() => inferred,
            ty if ty.is_numeric() => inferred.filter(|k| k.is_numeric()),
            _ => None,
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
        let unique = table.is_unique_column(name);
        let bounds = CheckBounds::of(table, name);
        // Unique numbers spread over a wide range; a plausible magnitude would repeat.
        let shape = semantic.filter(|_| !unique);
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
                ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. } => {
                    let (type_lo, cap) = column.ty.int_range().expect("an integer type");
                    let checks = bounds.units(0);
                    if shape == Some(Semantic::Year) {
                        Kind::Year { checks, cap }
                    } else {
                        let lo = checks.0.unwrap_or(1.min(cap)).max(type_lo);
                        let plain = if unique {
                            (lo, cap.min(2_000_000_000))
                        } else {
                            (lo, lo.saturating_add(999))
                        };
                        // The year only matters to `Year`, handled above.
                        let (lo, hi) = unit_range(checks, shape.map(|k| (k, 2000)), 0, plain, cap);
                        // A narrow or unsigned type bounds the range below too.
                        let lo = lo.max(type_lo);
                        Kind::Int {
                            lo,
                            hi: hi.max(lo),
                            shape,
                        }
                    }
                }
                ColumnType::Numeric { precision, scale } => {
                    let cap = numeric_cap(*precision);
                    let scale = u32::from(*scale);
                    let unit = 10i64.pow(scale.min(18));
                    let whole_cap = cap / unit.max(1);
                    let plain = (0, whole_cap.min(1000).saturating_mul(unit));
                    let shape = shape.filter(|k| *k != Semantic::Year);
                    let (lo, hi) = unit_range(
                        bounds.units(scale),
                        shape.map(|k| (k, 2000)),
                        scale,
                        plain,
                        cap,
                    );
                    Kind::Numeric {
                        lo,
                        hi,
                        scale,
                        shape,
                    }
                }
                ColumnType::Boolean => Kind::Bool,
                ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz => {
                    let (dlo, dhi) = if is_birth_date(name) {
                        (-90 * 365, -18 * 365)
                    } else {
                        (-365, 0)
                    };
                    // Relative bounds are stored as offsets; absolute check bounds override.
                    let lo = as_days(bounds.lo.as_ref())
                        .map(|(d, strict)| Bound::Abs(d + i64::from(strict)))
                        .unwrap_or(Bound::Rel(dlo));
                    let hi = as_days(bounds.hi.as_ref())
                        .map(|(d, strict)| Bound::Abs(d - i64::from(strict)))
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
                ColumnType::Native { dialect, name } => {
                    if super::native_supported(*dialect, name) {
                        Kind::Native {
                            dialect: *dialect,
                            name: name.clone(),
                        }
                    } else if column.nullable {
                        Kind::Null
                    } else {
                        return Err(format!(
                            "ATDM makes no values of the {} type {name:?} and the column is NOT NULL without a default; set it in the scenario (set = {{ {} = \"...\" }} with a value the database reads as {name}), give it a default or a registered generator in schema.toml, or make it nullable",
                            dialect.as_str(),
                            column.name
                        ));
                    }
                }
            }
        };
        let kind_is_null = matches!(kind, Kind::Null);
        let shaped_by: Vec<String> = table
            .checks_on(name)
            .filter(|c| c.columns() == [name.as_str()])
            .map(ToString::to_string)
            .collect();
        let home = table.columns.iter().any(|c| {
            c.ty.is_textual()
                && Semantic::infer(&table.name, &c.name).is_some_and(Semantic::is_address)
        });
        Ok(ColumnGen {
            table: table.name.clone(),
            column: name.clone(),
            table_hash: name_hash(&table.name),
            column_hash: name_hash(name),
            kind,
            semantic,
            max_len: match column.ty {
                ColumnType::Varchar(n) => Some(n as usize),
                _ => None,
            },
            unique,
            ty: column.ty.clone(),
            locale: table.locale.unwrap_or_default(),
            home,
            fill: if explicit.is_some() {
                None
            } else if kind_is_null {
                Some(0)
            } else {
                fill_rate(table, column).map(millionths)
            },
            why: Arc::new(Why {
                prefix,
                generator: generator.map(str::to_owned),
                shaped_by,
            }),
        })
    }

    /// Where the column's values come from, for [`Plan`](crate::Plan) explanations.
    pub fn source(&self) -> Source {
        let shaped_by = &self.why.shaped_by;
        let checks = || shaped_by.clone();
        let of_type = || Source::Type {
            ty: self.ty.to_string(),
        };
        match &self.kind {
            Kind::Registered(_) => Source::Generator {
                generator: self.why.generator.clone().unwrap_or_default(),
            },
            Kind::OneOf(_) if shaped_by.is_empty() => of_type(),
            Kind::OneOf(_) => Source::Check { checks: checks() },
            Kind::Key => Source::Key,
            Kind::Semantic(kind) => Source::Semantic {
                kind: *kind,
                checks: checks(),
            },
            Kind::Year { .. } => Source::Semantic {
                kind: Semantic::Year,
                checks: checks(),
            },
            Kind::Int {
                shape: Some(kind), ..
            }
            | Kind::Numeric {
                shape: Some(kind), ..
            } => Source::Semantic {
                kind: *kind,
                checks: checks(),
            },
            _ if !shaped_by.is_empty() => Source::Check { checks: checks() },
            _ => of_type(),
        }
    }

    /// The share of rows a nullable column fills, from 0 to 1; `None` when always filled.
    pub fn fill_rate(&self) -> Option<f64> {
        self.fill.map(|m| f64::from(m) / 1e6)
    }

    /// The semantic kind inferred for the column, if any.
    pub fn semantic(&self) -> Option<Semantic> {
        self.semantic
    }

    /// The column's random stream for a row.
    pub fn rng(&self, seed: u64, row: u64) -> CellRng {
        CellRng::new(seed, self.table_hash, row, self.column_hash)
    }

    /// Whether the column gets a value in `row`: always for a NOT NULL column, at the
    /// column's fill rate for a nullable one (see [`fill_rate`](super::fill_rate)).
    pub fn fills(&self, seed: u64, row: u64) -> bool {
        self.fill
            .is_none_or(|rate| fills(seed, self.table_hash, row, self.column_hash, rate))
    }

    /// [`ColumnGen::fills`] of the row whose key is `key`.
    #[inline]
    fn fills_at(&self, key: RowKey) -> bool {
        self.fill
            .is_none_or(|rate| fills_at(key, self.column_hash, rate))
    }

    /// Generates the value of row `ctx.row` (a value even where the column would be NULL;
    /// see [`ColumnGen::value_or_null`]).
    pub fn value(&self, ctx: &GenContext<'_>, policy: &dyn MarkerPolicy) -> Value {
        let mut buf = String::new();
        match self.scalar(ctx, policy, &mut buf) {
            Scalar::Text => Value::Text(buf),
            other => other.into_value(&buf),
        }
    }

    /// The cell of row `ctx.row`: NULL where a nullable column is not filled
    /// ([`ColumnGen::fills`]), else [`ColumnGen::value`].
    pub fn value_or_null(&self, ctx: &GenContext<'_>, policy: &dyn MarkerPolicy) -> Value {
        if self.fills(ctx.seed, ctx.row) {
            self.value(ctx, policy)
        } else {
            Value::Null
        }
    }

    pub(crate) fn scalar(
        &self,
        ctx: &GenContext<'_>,
        policy: &dyn MarkerPolicy,
        buf: &mut String,
    ) -> Scalar {
        buf.clear();
        let key = RowKey::new(ctx.seed, self.table_hash, ctx.row);
        let mut rng = key.cell(self.column_hash);
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
            Kind::OneOf(list) => match self.one_of(list, ctx.seed, ctx.row, &mut rng) {
                Value::Text(t) => {
                    buf.push_str(t);
                    Scalar::Text
                }
                other => Scalar::Other(self.listed(other)),
            },
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
                self.semantic_text(*kind, ctx, key, policy, &mut rng, buf);
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
                Scalar::Text
            }
            Kind::Int { lo, hi, shape } => {
                if self.unique {
                    let span = (*hi as i128 - *lo as i128 + 1) as u128;
                    let k = (u128::from(self.unique_offset(ctx.seed)) + u128::from(ctx.row))
                        % span.max(1);
                    Scalar::Int((*lo as i128 + k as i128) as i64)
                } else {
                    Scalar::Int(draw(*shape, *lo, *hi, 0, &mut rng))
                }
            }
            Kind::Numeric {
                lo,
                hi,
                scale,
                shape,
            } => Scalar::Numeric(Decimal::new(
                draw(*shape, *lo, *hi, *scale, &mut rng),
                *scale,
            )),
            Kind::Year { checks, cap } => {
                let y = i64::from(ctx.reference_date.year());
                let (lo, hi) = unit_range(
                    *checks,
                    Some((Semantic::Year, ctx.reference_date.year())),
                    0,
                    (y, y),
                    *cap,
                );
                Scalar::Int(rng.range(lo, hi))
            }
            Kind::Bool => Scalar::Bool(rng.below(2) == 1),
            Kind::Date { lo, hi } => {
                let days = DayRange::new(*lo, *hi, ctx.reference_date);
                Scalar::Date(self.date(days, ctx.seed, ctx.row, &mut rng))
            }
            Kind::Timestamp { lo, hi, tz } => Scalar::Timestamp {
                secs: DayRange::new(*lo, *hi, ctx.reference_date).second(&mut rng),
                tz: *tz,
            },
            Kind::Uuid => Scalar::Uuid(random_uuid(&mut rng)),
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
            Kind::Native { dialect, name } => match super::native_value(*dialect, name, &mut rng) {
                Some(text) => {
                    buf.push_str(&text);
                    Scalar::Other(Value::Text(std::mem::take(buf)))
                }
                None => Scalar::Other(Value::Null),
            },
            Kind::Null => Scalar::Other(Value::Null),
        };
        if matches!(s, Scalar::Text) {
            self.finish_text(ctx, buf);
        }
        s
    }

    /// Writes a value of a semantic kind: the row's person or place where the kind shows
    /// one, else from the cell's own stream `rng`.
    #[inline]
    fn semantic_text(
        &self,
        kind: Semantic,
        ctx: &GenContext<'_>,
        key: RowKey,
        policy: &dyn MarkerPolicy,
        rng: &mut CellRng,
        buf: &mut String,
    ) {
        let cx = TextCtx {
            locale: self.locale,
            home: self.home,
            row: RowStreams(key),
            policy,
            reference_year: ctx.reference_date.year(),
        };
        text::write(kind, &cx, rng, buf);
    }

    /// Where a unique column's values start in their range for `seed`: row `i` takes the
    /// value `offset + i` places on (wrapping), so rows take distinct values until the range
    /// is used up.
    #[inline]
    fn unique_offset(&self, seed: u64) -> u64 {
        mix(seed ^ self.column_hash)
    }

    /// The value of a list column in `row`: drawn, or for a unique column the row's own.
    #[inline]
    fn one_of<'l>(&self, list: &'l [Value], seed: u64, row: u64, rng: &mut CellRng) -> &'l Value {
        if self.unique {
            &list[(self.unique_offset(seed).wrapping_add(row) % list.len() as u64) as usize]
        } else {
            rng.pick(list)
        }
    }

    /// A listed value that is not text, coerced to the column's type (as listed where it
    /// cannot be).
    pub(super) fn listed(&self, v: &Value) -> Value {
        v.clone().coerce(&self.ty).unwrap_or_else(|_| v.clone())
    }

    /// A date of `days`: drawn, or for a unique column the row's own day of the range.
    #[inline]
    fn date(&self, days: DayRange, seed: u64, row: u64, rng: &mut CellRng) -> i64 {
        if self.unique {
            let span = (days.hi - days.lo + 1).max(1) as u64;
            days.lo + (self.unique_offset(seed).wrapping_add(row) % span) as i64
        } else {
            rng.range(days.lo, days.hi)
        }
    }
}

/// Whether a date column holds a birth date (`date_of_birth`, `dob`, `birthday`).
pub(crate) fn is_birth_date(column: &str) -> bool {
    let lower = column.to_ascii_lowercase();
    ["birth", "dob", "birthday"]
        .iter()
        .any(|w| lower.contains(w))
}

/// A random version-4 UUID from two draws of `rng`.
#[inline]
fn random_uuid(rng: &mut CellRng) -> uuid::Uuid {
    let bytes = (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A date or timestamp column's bounds for one reference date, in days since 1970-01-01.
#[derive(Clone, Copy)]
struct DayRange {
    lo: i64,
    hi: i64,
}

impl DayRange {
    /// The range of encoded bounds `lo..=hi` (see [`Bound`]) on `reference_date`.
    #[inline]
    fn new(lo: i64, hi: i64, reference_date: NaiveDate) -> Self {
        let today = days_since_epoch(reference_date);
        DayRange {
            lo: Bound::decode(lo, today),
            hi: Bound::decode(hi, today),
        }
    }

    /// A second of the range's days (seconds since 1970-01-01 00:00).
    #[inline]
    fn second(self, rng: &mut CellRng) -> i64 {
        rng.range(self.lo * 86_400, self.hi * 86_400 + 86_399)
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

    /// The bound in days since 1970-01-01; `today` is the reference date's.
    fn decode(v: i64, today: i64) -> i64 {
        if v > ABS_FLAG / 2 {
            v - ABS_FLAG
        } else {
            today + v
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
