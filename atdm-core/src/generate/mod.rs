//! Value generators: what fills the columns a scenario leaves open.
//!
//! A column's generator is chosen, in this order, by:
//!
//! 1. its registered generator (`generator = "healthcare.npi_fake"` in the schema, or
//!    `{ generate = "..." }` in a scenario), the extension point for rules a file cannot state;
//! 2. its checks and type: a value-in-list check or an enumeration picks a member, `col = 'x'`
//!    gives `x`;
//! 3. its name, for text columns ([`Semantic`]: first and last names, email, phone, street,
//!    city, state, zip, country, company, url, username, descriptions) and dates of birth;
//! 4. its type (integers, numerics, booleans, dates and timestamps around the reference date,
//!    UUIDs, JSON, bytes, words of text).
//!
//! Then range checks bound numbers and dates, a prefix check prefixes text, `varchar(n)` cuts
//! text to `n` characters, and a unique column gets values that stay unique within a run and
//! (with high probability) across runs. A text primary key is `<table>-<run id>-<row>`.
//!
//! Realistic words come from `fake`'s English lists (pinned to one version), but every choice
//! is made by ATDM's own counter-based random source ([`CellRng`]), so the value of a cell is a
//! function of `(seed, table, row, column)` and [`GENERATOR_VERSION`] alone.
//!
//! Synthetic markers are a [`MarkerPolicy`]: by default ([`ReservedMarkers`]) emails use the
//! reserved `example.com/.net/.org` domains, phones the fictional `555-01xx` range, URLs
//! `example.com`; a pack can add its own (the healthcare pack prefixes names with `FAKE_`).

mod columnar;
mod rng;

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use fake::locales::{Data, EN};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use columnar::{TableGenerator, arrow_type};
pub use rng::{CellRng, mix, name_hash};

use crate::schema::{Check, CmpOp, Column, ColumnType, Operand, Table};
use crate::value::Value;

/// The version of the generation rules. Same inputs and same version give the same values;
/// a change to any rule, word list or the random source bumps it. Recorded in every plan.
pub const GENERATOR_VERSION: u32 = 1;

/// What a text column holds, inferred from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Semantic {
    /// A given name.
    FirstName,
    /// A family name.
    LastName,
    /// A person's full name.
    FullName,
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// A street address line.
    Street,
    /// A city.
    City,
    /// A state or region code.
    State,
    /// A postal code.
    Zip,
    /// A country.
    Country,
    /// A company name.
    Company,
    /// A URL.
    Url,
    /// A user name.
    Username,
    /// A few words of text.
    Sentence,
}

impl Semantic {
    /// Infers what a text column holds from its name (and, for a bare `name`, the table's).
    pub fn infer(table: &str, column: &str) -> Option<Semantic> {
        let col = column.to_ascii_lowercase();
        let tokens: Vec<&str> = col
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|t| !t.is_empty())
            .collect();
        let has = |w: &[&str]| tokens.iter().any(|t| w.contains(t));
        let joined = tokens.join("");
        Some(if has(&["email", "mail"]) || joined.contains("email") {
            Semantic::Email
        } else if has(&["phone", "mobile", "fax", "tel", "telephone", "cell"]) {
            Semantic::Phone
        } else if joined.contains("firstname") || joined.contains("givenname") || has(&["forename"])
        {
            Semantic::FirstName
        } else if joined.contains("lastname")
            || joined.contains("surname")
            || joined.contains("familyname")
        {
            Semantic::LastName
        } else if has(&["city", "town"]) {
            Semantic::City
        } else if has(&["state", "province", "region"]) {
            Semantic::State
        } else if has(&["zip", "zipcode", "postal", "postcode"]) {
            Semantic::Zip
        } else if has(&["country"]) {
            Semantic::Country
        } else if has(&["street", "address", "address1", "line1", "addr"]) {
            Semantic::Street
        } else if has(&[
            "company",
            "organization",
            "organisation",
            "employer",
            "vendor",
            "supplier",
        ]) {
            Semantic::Company
        } else if has(&["url", "website", "homepage", "link", "uri"]) {
            Semantic::Url
        } else if has(&["username", "login", "handle", "nickname"]) {
            Semantic::Username
        } else if has(&[
            "description",
            "notes",
            "note",
            "comment",
            "comments",
            "summary",
            "bio",
            "remarks",
        ]) {
            Semantic::Sentence
        } else if col == "name" || col == "full_name" || col == "fullname" || col == "display_name"
        {
            let t = table.to_ascii_lowercase();
            let person = [
                "member", "person", "people", "user", "customer", "patient", "employee", "contact",
                "author", "student",
            ];
            if person.iter().any(|p| t.contains(p)) {
                Semantic::FullName
            } else {
                Semantic::Company
            }
        } else {
            return None;
        })
    }
}

/// What a generator knows about the cell it fills.
#[derive(Debug, Clone, Copy)]
pub struct GenContext<'a> {
    /// The run's seed.
    pub seed: u64,
    /// The run id.
    pub run_id: &'a str,
    /// The reference date ("today").
    pub reference_date: NaiveDate,
    /// The table.
    pub table: &'a str,
    /// The column.
    pub column: &'a str,
    /// The row's index within its table in the plan.
    pub row: u64,
}

/// A registered generator: the extension point for values a file cannot describe.
///
/// It must be a pure function of the context and the random stream it is given.
pub trait ValueGenerator: Send + Sync {
    /// Produces the cell's value.
    fn generate(&self, ctx: &GenContext<'_>, rng: &mut CellRng) -> Value;
}

impl<F> ValueGenerator for F
where
    F: Fn(&GenContext<'_>, &mut CellRng) -> Value + Send + Sync,
{
    fn generate(&self, ctx: &GenContext<'_>, rng: &mut CellRng) -> Value {
        self(ctx, rng)
    }
}

/// Registered generators by dotted name (`healthcare.npi_fake`).
#[derive(Clone, Default)]
pub struct GeneratorRegistry {
    map: BTreeMap<String, Arc<dyn ValueGenerator>>,
}

impl fmt::Debug for GeneratorRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl GeneratorRegistry {
    /// Registers (or replaces) a generator.
    pub fn register(&mut self, name: impl Into<String>, g: impl ValueGenerator + 'static) {
        self.map.insert(name.into(), Arc::new(g));
    }

    /// A generator by name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ValueGenerator>> {
        self.map.get(name)
    }

    /// The registered names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

/// How synthetic data is marked, so no generated value can be mistaken for a real one.
///
/// `generate` may replace the default generation of a [`Semantic`] kind; `check` inspects every
/// planned value of the schema's columns (the `schema.synthetic_markers` validator) and
/// returns a message when a value lacks its marker.
pub trait MarkerPolicy: Send + Sync {
    /// The policy's name, for messages.
    fn name(&self) -> &str;

    /// Writes a marked value for `kind` into `out` and returns true, or returns false to
    /// use the default generator.
    fn generate(&self, kind: Semantic, rng: &mut CellRng, out: &mut String) -> bool {
        let _ = (kind, rng, out);
        false
    }

    /// Checks a value; `Some(message)` when it lacks the marker.
    fn check(
        &self,
        table: &Table,
        column: &Column,
        kind: Option<Semantic>,
        value: &Value,
    ) -> Option<String>;
}

/// The default marker policy: emails on the reserved `example.com`, `example.net` and
/// `example.org` domains (RFC 2606), phones in the fictional `555-0100..555-0199` range, URLs on
/// `example.com`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReservedMarkers;

impl MarkerPolicy for ReservedMarkers {
    fn name(&self) -> &str {
        "reserved"
    }

    fn check(
        &self,
        _table: &Table,
        _column: &Column,
        kind: Option<Semantic>,
        value: &Value,
    ) -> Option<String> {
        let s = value.as_str()?;
        match kind? {
            Semantic::Email => {
                let domain = s.rsplit('@').next().unwrap_or("");
                (!["example.com", "example.net", "example.org"].contains(&domain)).then(|| {
                    "emails must use a reserved domain (example.com, example.net, example.org)"
                        .into()
                })
            }
            Semantic::Phone => (!s.contains("555-01"))
                .then(|| "phone numbers must be in the fictional 555-01xx range".into()),
            Semantic::Url => (!(s.contains("example.com")
                || s.contains("example.org")
                || s.contains("example.net")))
            .then(|| "URLs must point at a reserved example domain".into()),
            _ => None,
        }
    }
}

/// A generated value, with text kept in a reusable buffer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Bool(bool),
    Int(i64),
    Numeric(Decimal),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
    TimestampTz(DateTime<Utc>),
    Uuid(uuid::Uuid),
    /// The text is in the buffer.
    Text,
    Other(Value),
}

impl Scalar {
    pub(crate) fn into_value(self, buf: &str) -> Value {
        match self {
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Int(i),
            Scalar::Numeric(d) => Value::Numeric(d),
            Scalar::Date(d) => Value::Date(d),
            Scalar::Timestamp(t) => Value::Timestamp(t),
            Scalar::TimestampTz(t) => Value::TimestampTz(t),
            Scalar::Uuid(u) => Value::Uuid(u),
            Scalar::Text => Value::Text(buf.to_owned()),
            Scalar::Other(v) => v,
        }
    }
}

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

fn lower_alnum(out: &mut String, s: &str) {
    out.extend(
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase()),
    );
}

/// Makes a comparison between two columns of one row hold (`left op right`), by moving the
/// generated side a random distance (up to a year, or 365 units) from the other. Returns which
/// side to replace (`true`: the left) and its new value, or `None` when the comparison already
/// holds, cannot be judged, or both sides were set by the scenario. The planner and
/// [`TableGenerator`] share it, so row `i` is the same on both paths.
#[allow(clippy::too_many_arguments)]
pub(crate) fn hold_comparison(
    table: &str,
    seed: u64,
    row: u64,
    column: &str,
    op: CmpOp,
    other: &str,
    left: &Value,
    right: &Value,
    left_generated: bool,
    right_generated: bool,
) -> Option<(bool, Value)> {
    if left.is_null() || right.is_null() || left.compare(right).is_none_or(|o| op.holds(o)) {
        return None;
    }
    let mut rng = CellRng::new(
        seed,
        name_hash(table),
        row,
        name_hash(column) ^ name_hash(other),
    );
    if left_generated {
        shifted(right, op, &mut rng).map(|v| (true, v))
    } else if right_generated {
        shifted(left, flip(op), &mut rng).map(|v| (false, v))
    } else {
        None
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Ge => CmpOp::Le,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Lt => CmpOp::Gt,
        other => other,
    }
}

/// A value that stands in relation `op` to `base` (`x op base`), a random distance away.
fn shifted(base: &Value, op: CmpOp, rng: &mut CellRng) -> Option<Value> {
    let (lo, hi) = match op {
        CmpOp::Ge => (0, 365),
        CmpOp::Gt => (1, 365),
        CmpOp::Le => (-365, 0),
        CmpOp::Lt => (-365, -1),
        CmpOp::Eq => (0, 0),
        CmpOp::Ne => (1, 1),
    };
    let d = rng.range(lo, hi);
    Some(match base {
        Value::Date(x) => Value::Date(*x + Duration::days(d)),
        Value::Timestamp(x) => Value::Timestamp(*x + Duration::hours(d)),
        Value::TimestampTz(x) => Value::TimestampTz(*x + Duration::hours(d)),
        Value::Int(x) => Value::Int(x.saturating_add(d)),
        Value::Numeric(x) => Value::Numeric(*x + Decimal::from(d)),
        _ => return None,
    })
}

/// Writes a realistic value of a semantic kind, from `fake`'s English lists.
pub fn semantic_text(kind: Semantic, rng: &mut CellRng, out: &mut String) {
    match kind {
        Semantic::FirstName => out.push_str(rng.word(<EN as Data>::NAME_FIRST_NAME)),
        Semantic::LastName => out.push_str(rng.word(<EN as Data>::NAME_LAST_NAME)),
        Semantic::FullName => {
            out.push_str(rng.word(<EN as Data>::NAME_FIRST_NAME));
            out.push(' ');
            out.push_str(rng.word(<EN as Data>::NAME_LAST_NAME));
        }
        Semantic::Email => {
            lower_alnum(out, rng.word(<EN as Data>::NAME_FIRST_NAME));
            out.push('.');
            lower_alnum(out, rng.word(<EN as Data>::NAME_LAST_NAME));
            let _ = write!(out, "{}@", rng.below(100));
            out.push_str(rng.word(&["example.com", "example.net", "example.org"]));
        }
        Semantic::Phone => {
            let _ = write!(
                out,
                "+1-{}-555-01{:02}",
                200 + rng.below(800),
                rng.below(100)
            );
        }
        Semantic::Street => {
            let _ = write!(out, "{} ", 1 + rng.below(9999));
            out.push_str(rng.word(<EN as Data>::NAME_LAST_NAME));
            out.push(' ');
            out.push_str(rng.word(<EN as Data>::ADDRESS_STREET_SUFFIX));
        }
        Semantic::City => {
            if rng.below(3) == 0 {
                out.push_str(rng.word(<EN as Data>::ADDRESS_CITY_PREFIX));
                out.push(' ');
            }
            out.push_str(rng.word(<EN as Data>::NAME_LAST_NAME));
            out.push_str(rng.word(<EN as Data>::ADDRESS_CITY_SUFFIX));
        }
        Semantic::State => out.push_str(rng.word(<EN as Data>::ADDRESS_STATE_ABBR)),
        Semantic::Zip => {
            let _ = write!(out, "{:05}", rng.below(100_000));
        }
        Semantic::Country => out.push_str(rng.word(<EN as Data>::ADDRESS_COUNTRY)),
        Semantic::Company => {
            out.push_str(rng.word(<EN as Data>::NAME_LAST_NAME));
            out.push(' ');
            out.push_str(rng.word(<EN as Data>::COMPANY_SUFFIX));
        }
        Semantic::Url => {
            out.push_str("https://");
            lower_alnum(out, rng.word(<EN as Data>::NAME_LAST_NAME));
            out.push_str(".example.com/");
            out.push_str(rng.word(<EN as Data>::LOREM_WORD));
        }
        Semantic::Username => {
            lower_alnum(out, rng.word(<EN as Data>::NAME_FIRST_NAME));
            let _ = write!(out, "{}", rng.below(10_000));
        }
        Semantic::Sentence => {
            let n = 4 + rng.below(6);
            for i in 0..n {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(rng.word(<EN as Data>::LOREM_WORD));
            }
            out.push('.');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_semantics() {
        assert_eq!(
            Semantic::infer("member", "first_name"),
            Some(Semantic::FirstName)
        );
        assert_eq!(
            Semantic::infer("member", "address_line1"),
            Some(Semantic::Street)
        );
        assert_eq!(
            Semantic::infer("member", "address_state"),
            Some(Semantic::State)
        );
        assert_eq!(Semantic::infer("member", "status"), None);
        assert_eq!(
            Semantic::infer("customer", "name"),
            Some(Semantic::FullName)
        );
        assert_eq!(Semantic::infer("vendor", "name"), Some(Semantic::Company));
        assert_eq!(
            Semantic::infer("users", "contact_email"),
            Some(Semantic::Email)
        );
    }

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

    #[test]
    fn default_markers_hold_for_generated_contact_data() {
        let t = Table::new("users")
            .column(Column::new("email", ColumnType::Text))
            .column(Column::new("phone", ColumnType::Text))
            .column(Column::new("website", ColumnType::Text));
        let reg = GeneratorRegistry::default();
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        for c in &t.columns {
            let g = ColumnGen::new(&t, c, &reg, None).unwrap();
            for row in 0..50 {
                let ctx = GenContext {
                    seed: 1,
                    run_id: "R",
                    reference_date: today,
                    table: "users",
                    column: &c.name,
                    row,
                };
                let v = g.value(&ctx, &ReservedMarkers);
                assert_eq!(ReservedMarkers.check(&t, c, g.semantic(), &v), None, "{v}");
            }
        }
    }
}
