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

use super::row::{RowCells, RowRules};
use super::{ColumnGen, GenContext, GeneratorRegistry, MarkerPolicy, Scalar};
use crate::schema::{ColumnType, Table};
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

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");

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

    #[inline]
    fn append_scalar(&mut self, s: Scalar, buf: &str) {
        match (self, s) {
            (ColBuilder::Utf8(b), Scalar::Text) => b.append_value(buf),
            (ColBuilder::Int32(b), Scalar::Int(i)) => b.append_value(i as i32),
            (ColBuilder::Int64(b), Scalar::Int(i)) => b.append_value(i),
            (ColBuilder::Bool(b), Scalar::Bool(v)) => b.append_value(v),
            (ColBuilder::Date(b), Scalar::Date(d)) => b.append_value((d - EPOCH).num_days() as i32),
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

/// Generates rows of one table into Arrow record batches, for bulk loads and Parquet.
///
/// Every column the database does not assign is filled by its [`ColumnGen`]; nullable columns
/// are filled at their fill rate, and comparisons between columns and implications on NULL
/// hold, exactly as in a plan. Foreign keys are not followed (use the planner for rows that
/// reference each other): a nullable foreign key column is NULL, a NOT NULL one gets a value
/// of its type. Row `i` depends only on `(seed, table, i, column)`, so ranges can be generated
/// in any order, in parallel, or in separate processes, and concatenate to the same data.
pub struct TableGenerator<'a> {
    table: &'a Table,
    gens: Vec<ColumnGen>,
    types: Vec<ColumnType>,
    schema: Arc<ArrowSchema>,
    policy: &'a dyn MarkerPolicy,
    rules: RowRules,
    /// Columns materialised as values, because the row rules read or change them.
    held: Vec<bool>,
    /// Nullable foreign key columns: always NULL here.
    null_fk: Vec<bool>,
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

impl<'a> TableGenerator<'a> {
    /// Compiles the generators of `table`'s columns.
    pub fn new(
        table: &'a Table,
        registry: &GeneratorRegistry,
        policy: &'a dyn MarkerPolicy,
    ) -> Result<Self, String> {
        let mut gens = Vec::new();
        let mut types = Vec::new();
        let mut fields = Vec::new();
        let mut names = Vec::new();
        let mut null_fk = Vec::new();
        for c in table.columns.iter().filter(|c| !c.is_db_assigned()) {
            gens.push(ColumnGen::new(table, c, registry, None)?);
            types.push(c.ty.clone());
            fields.push(Field::new(&c.name, arrow_type(&c.ty), c.nullable));
            names.push(c.name.clone());
            null_fk.push(
                c.nullable
                    && table
                        .foreign_keys
                        .iter()
                        .any(|fk| fk.columns.contains(&c.name)),
            );
        }
        let rules = RowRules::new(table, &names);
        let mut held = vec![false; names.len()];
        for i in rules.columns() {
            held[i] = true;
        }
        Ok(TableGenerator {
            table,
            gens,
            types,
            schema: Arc::new(ArrowSchema::new(fields)),
            policy,
            rules,
            held,
            null_fk,
        })
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> Arc<ArrowSchema> {
        self.schema.clone()
    }

    /// Generates rows `rows` for a run.
    pub fn batch(
        &self,
        seed: u64,
        run_id: &str,
        reference_date: NaiveDate,
        rows: Range<u64>,
    ) -> Result<RecordBatch, ArrowError> {
        let n = (rows.end - rows.start) as usize;
        let mut builders: Vec<ColBuilder> =
            self.types.iter().map(|t| ColBuilder::new(t, n)).collect();
        let mut buf = String::with_capacity(64);
        let ctx_of = |row: u64| GenContext {
            seed,
            run_id,
            reference_date,
            table: &self.table.name,
            column: "",
            row,
        };
        // Columns the row rules read or change are generated as values first, made to hold
        // the rules row by row (as the planner does), then appended.
        let mut held: Vec<Option<Vec<Value>>> = self
            .gens
            .iter()
            .enumerate()
            .map(|(i, g)| {
                self.held[i].then(|| {
                    rows.clone()
                        .map(|row| {
                            if self.null_fk[i] {
                                Value::Null
                            } else {
                                g.value_or_null(&ctx_of(row), self.policy)
                            }
                        })
                        .collect()
                })
            })
            .collect();
        let generated: Vec<bool> = self.null_fk.iter().map(|n| !n).collect();
        for (k, row) in rows.clone().enumerate() {
            let ctx = ctx_of(row);
            let mut regenerate =
                |i: usize| (!self.null_fk[i]).then(|| self.gens[i].value(&ctx, self.policy));
            self.rules.apply(
                &self.table.name,
                seed,
                row,
                &mut HeldRow { held: &mut held, k },
                &generated,
                &mut regenerate,
            );
        }
        for (i, (g, b)) in self.gens.iter().zip(builders.iter_mut()).enumerate() {
            if let Some(values) = &held[i] {
                for v in values {
                    b.append_value(v);
                }
                continue;
            }
            for row in rows.clone() {
                if self.null_fk[i] || !g.fills(seed, row) {
                    b.append_value(&Value::Null);
                    continue;
                }
                let s = g.scalar(&ctx_of(row), self.policy, &mut buf);
                b.append_scalar(s, &buf);
            }
        }
        RecordBatch::try_new(
            self.schema.clone(),
            builders.iter_mut().map(ColBuilder::finish).collect(),
        )
    }
}
