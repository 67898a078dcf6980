//! Value generators: what fills the columns a scenario leaves open.
//!
//! Nothing needs configuring: a schema read from a live database gets believable rows as it
//! is. A column's generator is chosen, in this order, by:
//!
//! 1. its registered generator (`generator = "healthcare.npi_fake"` in the schema, or
//!    `{ generate = "..." }` in a scenario), the extension point for rules a file cannot state;
//! 2. its checks and type: a value-in-list check or an enumeration picks a member, `col = 'x'`
//!    gives `x`;
//! 3. its meaning ([`Semantic`]), inferred from its name and its table's name: people (first,
//!    last and full names, email, user name, phone, job title), places (street, second address
//!    line, city, state, region or district, postal code, country, latitude, longitude), things
//!    (company, title, description, language, category, colour, URL, IPv4 address, currency,
//!    language and country codes), and numbers (amount, price, quantity, percentage, rating,
//!    duration, year). Integer and numeric columns take the numeric kinds with plausible
//!    magnitudes (a price 0.99 to 99.99, an amount 1 to 500, a quantity 1 to 20, a rating 1
//!    to 5, a percentage 0 to 100, a duration 1 to 180 minutes); birth dates lie 18 to 90 years
//!    back;
//! 4. its type (integers, numerics, booleans, dates and timestamps in the year up to the
//!    reference date, UUIDs, JSON, bytes, words of text).
//!
//! Then checks bound numbers and dates (a check always wins over a plausible magnitude, which
//! only narrows it), a prefix check prefixes text, `varchar(n)` cuts text to `n` characters
//! (an email loses letters of its name, never its domain), `numeric(p,s)` bounds numbers, and
//! a unique column gets values that stay unique within a run and (with high probability)
//! across runs. A text primary key is `<table>-<run id>-<row>`.
//!
//! A nullable column left open is filled in a share of rows, its fill rate: by default
//! [`DEFAULT_FILL_RATE`] (0.8), settable on the schema, a table or a column (see
//! [`fill_rate`]). A nullable foreign key points at the one earlier row entry of its table in
//! a plan, at the same rate, and is NULL otherwise.
//!
//! Within a row, values cohere: the names, email and user name show one person, and city,
//! state, region and postal code one place of the table's [`Locale`] (English by default;
//! German, French, Brazilian Portuguese and Japanese too). They come from random streams of the
//! row, not from other cells, so a cell stays computable alone. In a plan, a row's generated
//! dates are not before those of the planned rows it references (see the planner).
//!
//! Realistic words come from `fake`'s lists (pinned to one version) and ATDM's own, but every
//! choice is made by ATDM's own counter-based random source ([`CellRng`]), so the value of a
//! cell is a function of `(seed, table, row, column)`, the schema and [`GENERATOR_VERSION`]
//! alone, and the planner and [`TableGenerator`] give the same row `i`.
//!
//! Synthetic markers are a [`MarkerPolicy`]: by default ([`ReservedMarkers`]) emails use the
//! reserved `example.com/.net/.org` domains, phones the fictional `555-01xx` range (in the
//! locale's national format), URLs `example.com`, IPv4 addresses the documentation ranges; a
//! pack can add its own (the healthcare pack prefixes names with `FAKE_`).

mod column;
mod columnar;
mod dataset;
mod fill;
mod locale;
mod native;
mod numeric;
mod rng;
mod row;
mod semantic;
mod text;
mod vocabulary;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

pub use column::ColumnGen;
pub(crate) use column::is_birth_date;
pub use columnar::{TableGenerator, arrow_type};
pub use dataset::{
    Dataset, DatasetError, DatasetOptions, EdgeCases, EdgeCatalog, EdgeRow, EdgeSkipped,
    TableEdges, generated_values, part_range,
};
pub use fill::{DEFAULT_FILL_RATE, fill_rate};
pub(crate) use fill::{fills, millionths};
pub use locale::Locale;
pub use native::{native_supported, native_value};
pub use rng::{CellRng, mix, name_hash};
pub(crate) use row::{RowCells, RowRules};
pub use semantic::Semantic;
pub(crate) use semantic::{singular, words};

use crate::schema::{Column, Table};

/// Appends `v` in decimal, zero-padded to `width` digits, as `{v:0width$}` does, without the
/// formatting machinery (a hot path of generation).
pub(crate) fn push_num(out: &mut String, v: u64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(v);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}
use crate::value::Value;

/// The version of the generation rules. Same inputs and same version give the same values;
/// a change to any rule, word list or the random source bumps it. Recorded in every plan.
///
/// Version 2: nullable columns filled at a fill rate, semantic kinds from the table's name
/// too and for numbers, one person and one place per row, locales, children dated after
/// their parents.
pub const GENERATOR_VERSION: u32 = 2;

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
    ///
    /// For the parts of a row's person and address (`FirstName`, `LastName`, `City`, `State`,
    /// `Region`, `Zip`), `rng` is the row's shared stream of that part, so every column that
    /// shows it gets the policy's same value, and emails and full names are made of the
    /// policy's names. Other kinds get the cell's own stream.
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
/// `example.org` domains (RFC 2606), phones in the fictional `555-0100..555-0199` range (in
/// every locale's national format), URLs on `example.com`.
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
    /// Days since 1970-01-01.
    Date(i64),
    /// Seconds since 1970-01-01 00:00 UTC; `tz` for a `timestamptz`. Seconds outside what
    /// chrono can hold are the epoch.
    Timestamp {
        secs: i64,
        tz: bool,
    },
    Uuid(uuid::Uuid),
    /// The text is in the buffer.
    Text,
    Other(Value),
}

/// 1970-01-01, from which Arrow and [`Scalar`] count days.
pub(crate) const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");

impl Scalar {
    /// A timestamp's microseconds since the epoch, as its [`Value`] holds them.
    pub(crate) fn micros(secs: i64) -> i64 {
        const MIN: i64 = DateTime::<Utc>::MIN_UTC.timestamp();
        const MAX: i64 = DateTime::<Utc>::MAX_UTC.timestamp();
        if (MIN..=MAX).contains(&secs) {
            secs * 1_000_000
        } else {
            0
        }
    }

    pub(crate) fn into_value(self, buf: &str) -> Value {
        match self {
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Int(i),
            Scalar::Numeric(d) => Value::Numeric(d),
            Scalar::Date(d) => Value::Date(EPOCH + chrono::Duration::days(d)),
            Scalar::Timestamp { secs, tz } => {
                let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
                if tz {
                    Value::TimestampTz(t)
                } else {
                    Value::Timestamp(t.naive_utc())
                }
            }
            Scalar::Uuid(u) => Value::Uuid(u),
            Scalar::Text => Value::Text(buf.to_owned()),
            Scalar::Other(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnType;

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
