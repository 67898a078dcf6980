//! Bulk generation of one table straight into Arrow columns.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema as ArrowSchema, TimeUnit};
use chrono::NaiveDate;

use super::rng::RowKey;
use super::row::{RowCells, RowRules};
use super::{ColumnGen, EPOCH, GenContext, GeneratorRegistry, MarkerPolicy, Scalar, name_hash};
use crate::schema::{Column, ColumnType, Generated, Table};
use crate::value::Value;

/// The Arrow type that holds a column type: text, enumerations, UUIDs, JSON and databases'
/// own types as UTF-8, integers as Int32 (`integer`) or Int64 (the others), numerics as Decimal128, dates as Date32, timestamps in
/// microseconds (with time zone `UTC` for timestamptz), bytes as Binary.
pub fn arrow_type(ty: &ColumnType) -> DataType {
    match ty {
        ColumnType::Text
        | ColumnType::Varchar(_)
        | ColumnType::Enum { .. }
        | ColumnType::Uuid
        | ColumnType::Json
        | ColumnType::Native { .. } => DataType::Utf8,
        ColumnType::Integer => DataType::Int32,
        ColumnType::BigInt | ColumnType::SizedInt { .. } => DataType::Int64,
        ColumnType::Numeric { precision, scale } => DataType::Decimal128(*precision, *scale as i8),
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        ColumnType::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::Bytes => DataType::Binary,
    }
}

pub(crate) enum ColBuilder {
    Utf8(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Decimal(Decimal128Builder, u32),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Binary(BinaryBuilder),
}

impl ColBuilder {
    pub(crate) fn new(ty: &ColumnType, capacity: usize) -> Self {
        match arrow_type(ty) {
            DataType::Utf8 => {
                ColBuilder::Utf8(StringBuilder::with_capacity(capacity, capacity * 16))
            }
            DataType::Int32 => ColBuilder::Int32(Int32Builder::with_capacity(capacity)),
            DataType::Int64 => ColBuilder::Int64(Int64Builder::with_capacity(capacity)),
            DataType::Decimal128(p, s) => ColBuilder::Decimal(
                Decimal128Builder::with_capacity(capacity)
                    .with_precision_and_scale(p, s)
                    .expect("valid decimal type"),
                s as u32,
            ),
            DataType::Boolean => ColBuilder::Bool(BooleanBuilder::with_capacity(capacity)),
            DataType::Date32 => ColBuilder::Date(Date32Builder::with_capacity(capacity)),
            DataType::Timestamp(_, tz) => {
                let b = TimestampMicrosecondBuilder::with_capacity(capacity);
                ColBuilder::Ts(match tz {
                    Some(tz) => b.with_timezone(tz),
                    None => b,
                })
            }
            _ => ColBuilder::Binary(BinaryBuilder::with_capacity(capacity, capacity * 16)),
        }
    }

    /// Appends a NULL.
    #[inline]
    pub(crate) fn append_null(&mut self) {
        match self {
            ColBuilder::Utf8(b) => b.append_null(),
            ColBuilder::Int32(b) => b.append_null(),
            ColBuilder::Int64(b) => b.append_null(),
            ColBuilder::Decimal(b, _) => b.append_null(),
            ColBuilder::Bool(b) => b.append_null(),
            ColBuilder::Date(b) => b.append_null(),
            ColBuilder::Ts(b) => b.append_null(),
            ColBuilder::Binary(b) => b.append_null(),
        }
    }

    #[inline]
    pub(crate) fn append_scalar(&mut self, s: Scalar, buf: &str) {
        match (self, s) {
            (ColBuilder::Utf8(b), Scalar::Text) => b.append_value(buf),
            (ColBuilder::Int32(b), Scalar::Int(i)) => b.append_value(i as i32),
            (ColBuilder::Int64(b), Scalar::Int(i)) => b.append_value(i),
            (ColBuilder::Bool(b), Scalar::Bool(v)) => b.append_value(v),
            (ColBuilder::Date(b), Scalar::Date(d)) => b.append_value(d as i32),
            (ColBuilder::Ts(b), Scalar::Timestamp { secs, .. }) => {
                b.append_value(Scalar::micros(secs))
            }
            // As `Value::to_json` writes it (lower-case, hyphenated), without an allocation.
            (ColBuilder::Utf8(b), Scalar::Uuid(u)) => b.append_value(
                u.hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer()),
            ),
            (this, other) => this.append_value(&other.into_value(buf)),
        }
    }

    /// Appends a typed value (NULL for a value that does not fit the column).
    pub(crate) fn append_value(&mut self, v: &Value) {
        match (self, v) {
            (ColBuilder::Utf8(b), Value::Null) => b.append_null(),
            (ColBuilder::Utf8(b), Value::Text(s)) => b.append_value(s),
            (ColBuilder::Utf8(b), Value::Json(j)) => b.append_value(j.to_string()),
            (ColBuilder::Utf8(b), other) => match other.to_json() {
                serde_json::Value::String(s) => b.append_value(s),
                j => b.append_value(j.to_string()),
            },
            (ColBuilder::Int32(b), Value::Int(i)) => b.append_option(i32::try_from(*i).ok()),
            (ColBuilder::Int32(b), _) => b.append_null(),
            (ColBuilder::Int64(b), Value::Int(i)) => b.append_value(*i),
            (ColBuilder::Int64(b), _) => b.append_null(),
            (ColBuilder::Decimal(b, scale), Value::Numeric(d)) => {
                let mut d = *d;
                d.rescale(*scale);
                b.append_value(d.mantissa());
            }
            (ColBuilder::Decimal(b, scale), Value::Int(i)) => {
                b.append_value(i128::from(*i) * 10i128.pow(*scale))
            }
            (ColBuilder::Decimal(b, _), _) => b.append_null(),
            (ColBuilder::Bool(b), Value::Bool(v)) => b.append_value(*v),
            (ColBuilder::Bool(b), _) => b.append_null(),
            (ColBuilder::Date(b), Value::Date(d)) => b.append_value((*d - EPOCH).num_days() as i32),
            (ColBuilder::Date(b), _) => b.append_null(),
            (ColBuilder::Ts(b), Value::Timestamp(t)) => {
                b.append_value(t.and_utc().timestamp_micros())
            }
            (ColBuilder::Ts(b), Value::TimestampTz(t)) => b.append_value(t.timestamp_micros()),
            (ColBuilder::Ts(b), _) => b.append_null(),
            (ColBuilder::Binary(b), Value::Bytes(x)) => b.append_value(x),
            (ColBuilder::Binary(b), _) => b.append_null(),
        }
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            ColBuilder::Utf8(b) => Arc::new(b.finish()),
            ColBuilder::Int32(b) => Arc::new(b.finish()),
            ColBuilder::Int64(b) => Arc::new(b.finish()),
            ColBuilder::Decimal(b, _) => Arc::new(b.finish()),
            ColBuilder::Bool(b) => Arc::new(b.finish()),
            ColBuilder::Date(b) => Arc::new(b.finish()),
            ColBuilder::Ts(b) => Arc::new(b.finish()),
            ColBuilder::Binary(b) => Arc::new(b.finish()),
        }
    }
}

/// Where one output column's values come from.
enum Source {
    /// Its generator.
    Gen(ColumnGen),
    /// A key the database would assign: `base + row + 1`.
    Key { base: i64 },
    /// Given by the caller of [`TableGenerator::batch_with`] (a foreign key a dataset follows).
    External,
    /// Always NULL (a nullable foreign key a lone table cannot follow).
    Null,
}

/// What [`TableGenerator::compile`] does with a column.
enum Pick {
    Omit,
    Gen,
    Key(i64),
    External,
    Null,
}

/// The values a caller supplies for external columns: `(column, row) -> value`.
pub(crate) type External<'e> = &'e (dyn Fn(usize, u64) -> Value + Sync);

/// What a batch is generated for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchCx<'c> {
    pub(crate) seed: u64,
    pub(crate) run_id: &'c str,
    pub(crate) reference_date: NaiveDate,
}

/// Generates rows of one table into Arrow record batches, for bulk loads and Parquet.
///
/// Every column the database does not assign is filled by its [`ColumnGen`]; nullable columns
/// are filled at their fill rate, and comparisons between columns and implications on NULL
/// hold, exactly as in a plan. Alone, it does not follow foreign keys (a
/// [`Dataset`](super::Dataset) does): a nullable foreign key column is NULL, a NOT NULL one
/// gets a value of its type. Row `i` depends only on `(seed, table, i, column)`, so ranges can
/// be generated in any order, in parallel, or in separate processes, and concatenate to the
/// same data.
pub struct TableGenerator<'a> {
    table: Table,
    sources: Vec<Source>,
    types: Vec<ColumnType>,
    schema: Arc<ArrowSchema>,
    policy: &'a dyn MarkerPolicy,
    rules: RowRules,
    /// Columns materialised as values, because the row rules read or change them.
    held: Vec<bool>,
}

/// One row of the materialised columns.
struct HeldRow<'a> {
    held: &'a mut [Option<Vec<Value>>],
    k: usize,
}

impl RowCells for HeldRow<'_> {
    fn value(&self, i: usize) -> Option<&Value> {
        self.held[i].as_ref().map(|v| &v[self.k])
    }

    fn set(&mut self, i: usize, v: Value) {
        if let Some(col) = self.held[i].as_mut() {
            col[self.k] = v;
        }
    }
}

/// A whole row of values, for the row rules.
struct ValuesRow<'a>(&'a mut [Value]);

impl RowCells for ValuesRow<'_> {
    fn value(&self, i: usize) -> Option<&Value> {
        Some(&self.0[i])
    }

    fn set(&mut self, i: usize, v: Value) {
        self.0[i] = v;
    }
}

fn no_external(_: usize, _: u64) -> Value {
    Value::Null
}

impl<'a> TableGenerator<'a> {
    /// Compiles the generators of `table`'s columns.
    pub fn new(
        table: &Table,
        registry: &GeneratorRegistry,
        policy: &'a dyn MarkerPolicy,
    ) -> Result<Self, String> {
        let fk_column = |c: &str| {
            table
                .foreign_keys
                .iter()
                .any(|fk| fk.columns.iter().any(|x| x == c))
        };
        Self::compile(table, registry, policy, |c| {
            if c.is_db_assigned() {
                Pick::Omit
            } else if c.nullable && fk_column(&c.name) {
                Pick::Null
            } else {
                Pick::Gen
            }
        })
    }

    /// Compiles a generator whose identity columns are `key_base + row + 1` and whose
    /// `external` columns come from the caller of [`TableGenerator::batch_with`]; computed
    /// columns are left out.
    pub(crate) fn with_external(
        table: &Table,
        registry: &GeneratorRegistry,
        policy: &'a dyn MarkerPolicy,
        key_base: i64,
        external: &[String],
    ) -> Result<Self, String> {
        Self::compile(table, registry, policy, |c| match &c.generated {
            Some(Generated::Identity) => Pick::Key(key_base),
            Some(Generated::Computed(_)) => Pick::Omit,
            None if external.contains(&c.name) => Pick::External,
            None => Pick::Gen,
        })
    }

    fn compile(
        table: &Table,
        registry: &GeneratorRegistry,
        policy: &'a dyn MarkerPolicy,
        pick: impl Fn(&Column) -> Pick,
    ) -> Result<Self, String> {
        let mut sources = Vec::new();
        let mut types = Vec::new();
        let mut fields = Vec::new();
        let mut names = Vec::new();
        for c in &table.columns {
            let source = match pick(c) {
                Pick::Omit => continue,
                Pick::Gen => Source::Gen(ColumnGen::new(table, c, registry, None)?),
                Pick::Key(base) => Source::Key { base },
                Pick::External => Source::External,
                Pick::Null => Source::Null,
            };
            sources.push(source);
            types.push(c.ty.clone());
            fields.push(Field::new(&c.name, arrow_type(&c.ty), c.nullable));
            names.push(c.name.clone());
        }
        let rules = RowRules::new(table, &names);
        let mut held = vec![false; names.len()];
        for i in rules.columns() {
            held[i] = true;
        }
        Ok(TableGenerator {
            table: table.clone(),
            sources,
            types,
            schema: Arc::new(ArrowSchema::new(fields)),
            policy,
            rules,
            held,
        })
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> Arc<ArrowSchema> {
        self.schema.clone()
    }

    /// The position of output column `name`.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.schema.index_of(name).ok()
    }

    /// Generates rows `rows` for a run.
    pub fn batch(
        &self,
        seed: u64,
        run_id: &str,
        reference_date: NaiveDate,
        rows: Range<u64>,
    ) -> Result<RecordBatch, ArrowError> {
        let cx = BatchCx {
            seed,
            run_id,
            reference_date,
        };
        self.batch_with(&cx, rows, &no_external, &[])
    }

    /// The value of column `i` at `row` before the row rules, or `None` for a column the rules
    /// may change.
    fn raw(&self, cx: &BatchCx<'_>, i: usize, row: u64, external: External<'_>) -> Value {
        match &self.sources[i] {
            Source::Gen(g) => g.value_or_null(&self.ctx(cx, row), self.policy),
            Source::Key { base } => Value::Int(base + row as i64 + 1),
            Source::External => external(i, row),
            Source::Null => Value::Null,
        }
    }

    fn ctx<'c>(&'c self, cx: &BatchCx<'c>, row: u64) -> GenContext<'c> {
        GenContext {
            seed: cx.seed,
            run_id: cx.run_id,
            reference_date: cx.reference_date,
            table: &self.table.name,
            column: "",
            row,
        }
    }

    /// The columns the row rules read or change, for `rows`, with the rules made to hold
    /// row by row (as the planner does).
    fn held_values(
        &self,
        cx: &BatchCx<'_>,
        rows: Range<u64>,
        external: External<'_>,
    ) -> Vec<Option<Vec<Value>>> {
        let mut held: Vec<Option<Vec<Value>>> = (0..self.sources.len())
            .map(|i| {
                self.held[i].then(|| {
                    rows.clone()
                        .map(|row| self.raw(cx, i, row, external))
                        .collect()
                })
            })
            .collect();
        if self.held.iter().any(|h| *h) {
            let generated: Vec<bool> = self
                .sources
                .iter()
                .map(|s| matches!(s, Source::Gen(_)))
                .collect();
            for (k, row) in rows.enumerate() {
                let ctx = self.ctx(cx, row);
                let mut regenerate = |i: usize| match &self.sources[i] {
                    Source::Gen(g) => Some(g.value(&ctx, self.policy)),
                    _ => None,
                };
                self.rules.apply(
                    &self.table.name,
                    cx.seed,
                    row,
                    &mut HeldRow { held: &mut held, k },
                    &generated,
                    &mut regenerate,
                );
            }
        }
        held
    }

    /// The value of column `i` at `row`, exactly as a batch holds it.
    pub(crate) fn cell(
        &self,
        cx: &BatchCx<'_>,
        i: usize,
        row: u64,
        external: External<'_>,
    ) -> Value {
        if self.held[i] {
            let mut held = self.held_values(cx, row..row + 1, external);
            held[i]
                .take()
                .and_then(|mut v| v.pop())
                .unwrap_or(Value::Null)
        } else {
            self.raw(cx, i, row, external)
        }
    }

    /// Row `row` with `cells` (column position, value) set, and the row rules made to hold
    /// again around them (they change only generated cells, never these): an edge-case row.
    /// `attempt` 0 takes the row's own generated values; a later attempt draws the columns
    /// outside the primary key from another stream, for a row whose values do not go with
    /// the cells (a check between columns they would break).
    pub(crate) fn row_with(
        &self,
        cx: &BatchCx<'_>,
        row: u64,
        external: External<'_>,
        cells: &[(usize, Value)],
        attempt: u64,
    ) -> Vec<Value> {
        let other = BatchCx {
            seed: if attempt == 0 {
                cx.seed
            } else {
                super::mix(cx.seed ^ attempt.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            },
            ..*cx
        };
        let names = self.schema.fields();
        let cx_of = |i: usize| {
            if self.table.primary_key.iter().any(|k| k == names[i].name()) {
                cx
            } else {
                &other
            }
        };
        let mut values: Vec<Value> = (0..self.sources.len())
            .map(|i| self.raw(cx_of(i), i, row, external))
            .collect();
        for (i, v) in cells {
            values[*i] = v.clone();
        }
        let generated: Vec<bool> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| matches!(s, Source::Gen(_)) && !cells.iter().any(|(c, _)| *c == i))
            .collect();
        let ctx = self.ctx(&other, row);
        let mut regenerate = |i: usize| match &self.sources[i] {
            Source::Gen(g) => Some(g.value(&ctx, self.policy)),
            _ => None,
        };
        self.rules.apply(
            &self.table.name,
            other.seed,
            row,
            &mut ValuesRow(&mut values),
            &generated,
            &mut regenerate,
        );
        values
    }

    /// Generates rows `rows`, taking the external columns' values from `external`, then
    /// the rows of `tail` (whole rows of values, in column order).
    pub(crate) fn batch_with(
        &self,
        cx: &BatchCx<'_>,
        rows: Range<u64>,
        external: External<'_>,
        tail: &[Vec<Value>],
    ) -> Result<RecordBatch, ArrowError> {
        let n = (rows.end - rows.start) as usize + tail.len();
        let mut builders: Vec<ColBuilder> =
            self.types.iter().map(|t| ColBuilder::new(t, n)).collect();
        let mut buf = String::with_capacity(64);
        let held = self.held_values(cx, rows.clone(), external);
        let mut keys: Option<Vec<RowKey>> = None;
        for (i, (source, b)) in self.sources.iter().zip(builders.iter_mut()).enumerate() {
            if let Some(values) = &held[i] {
                for v in values {
                    b.append_value(v);
                }
                continue;
            }
            match source {
                Source::Gen(g) => {
                    let keys = keys.get_or_insert_with(|| {
                        RowKey::range(cx.seed, name_hash(&self.table.name), rows.clone())
                    });
                    g.append_rows(
                        cx,
                        &self.table.name,
                        rows.clone(),
                        keys,
                        self.policy,
                        b,
                        &mut buf,
                    )
                }
                Source::Key { base } => {
                    for row in rows.clone() {
                        b.append_scalar(Scalar::Int(base + row as i64 + 1), "");
                    }
                }
                Source::External => {
                    for row in rows.clone() {
                        b.append_value(&external(i, row));
                    }
                }
                Source::Null => {
                    for _ in rows.clone() {
                        b.append_value(&Value::Null);
                    }
                }
            }
        }
        for row in tail {
            for (b, v) in builders.iter_mut().zip(row) {
                b.append_value(v);
            }
        }
        RecordBatch::try_new(
            self.schema.clone(),
            builders.iter_mut().map(ColBuilder::finish).collect(),
        )
    }
}
