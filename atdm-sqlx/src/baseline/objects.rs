//! Tables as Parquet: Arrow arrays built from stored values and read back, the writer a
//! snapshot streams rows into, and the reader a restore and a diff verify.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Int32Array,
    Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use atdm_core::Value;
use atdm_core::schema::ColumnType;
use chrono::{DateTime, Utc};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::ChunkReader;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::CHUNK_ROWS;
use super::codec::{Checksum, ColSpec, Kind, epoch, row_digest, stored_value};

/// One Arrow column from the stored values of column `i` of `rows`.
pub(crate) fn build_array(c: &ColSpec, rows: &[Vec<Value>], i: usize) -> Result<ArrayRef, String> {
    macro_rules! collect {
        ($pat:pat => $e:expr) => {
            rows.iter()
                .map(|r| match &r[i] {
                    Value::Null => Ok(None),
                    $pat => Ok(Some($e)),
                    other => Err(format!(
                        "column {}: unexpected {} value",
                        c.name,
                        other.kind()
                    )),
                })
                .collect::<Result<Vec<_>, String>>()?
        };
    }
    Ok(match c.kind {
        Kind::Int32 => Arc::new(Int32Array::from(collect!(Value::Int(x) => *x as i32))),
        Kind::Int64 => Arc::new(Int64Array::from(collect!(Value::Int(x) => *x))),
        Kind::Decimal(p, s) => Arc::new(
            Decimal128Array::from(collect!(Value::Numeric(d) => d.mantissa()))
                .with_precision_and_scale(p, s)
                .map_err(|e| format!("column {}: {e}", c.name))?,
        ),
        Kind::Bool => Arc::new(BooleanArray::from(collect!(Value::Bool(b) => *b))),
        Kind::Date => Arc::new(Date32Array::from(
            collect!(Value::Date(d) => d.signed_duration_since(epoch()).num_days() as i32),
        )),
        Kind::Timestamp => Arc::new(TimestampMicrosecondArray::from(
            collect!(Value::Timestamp(t) => t.and_utc().timestamp_micros()),
        )),
        Kind::TimestampTz => Arc::new(
            TimestampMicrosecondArray::from(
                collect!(Value::TimestampTz(t) => t.timestamp_micros()),
            )
            .with_timezone("UTC"),
        ),
        Kind::Utf8 | Kind::DecimalText => {
            Arc::new(StringArray::from(collect!(Value::Text(s) => s.as_str())))
        }
        Kind::Binary => Arc::new(BinaryArray::from(collect!(Value::Bytes(b) => b.as_slice()))),
    })
}

pub(crate) fn build_batch(cols: &[ColSpec], rows: &[Vec<Value>]) -> Result<RecordBatch, String> {
    let arrays = cols
        .iter()
        .enumerate()
        .map(|(i, c)| Ok((c.name.as_str(), build_array(c, rows, i)?, c.nullable)))
        .collect::<Result<Vec<_>, String>>()?;
    RecordBatch::try_from_iter_with_nullable(arrays).map_err(|e| e.to_string())
}

/// The stored values of one Arrow column, checked against the column's type.
pub(super) fn read_array(a: &dyn Array, c: &ColSpec) -> Result<Vec<Value>, String> {
    let wrong = || {
        format!(
            "column {} holds {}, which does not fit a {} column",
            c.name,
            a.data_type(),
            c.ty
        )
    };
    let ints = |a: &dyn Array| -> Option<Vec<Value>> {
        if let Some(x) = a.as_primitive_opt::<Int64Type>() {
            Some(
                x.iter()
                    .map(|v| v.map(Value::Int).unwrap_or(Value::Null))
                    .collect(),
            )
        } else if let Some(x) = a.as_primitive_opt::<Int32Type>() {
            Some(
                x.iter()
                    .map(|v| v.map(|v| Value::Int(v.into())).unwrap_or(Value::Null))
                    .collect(),
            )
        } else {
            a.as_primitive_opt::<Int16Type>().map(|x| {
                x.iter()
                    .map(|v| v.map(|v| Value::Int(v.into())).unwrap_or(Value::Null))
                    .collect()
            })
        }
    };
    let strings = |a: &dyn Array| -> Option<Vec<Value>> {
        a.as_string_opt::<i32>().map(|x| {
            x.iter()
                .map(|v| v.map(|s| Value::Text(s.to_owned())).unwrap_or(Value::Null))
                .collect()
        })
    };
    match &c.ty {
        ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. } => {
            ints(a).ok_or_else(wrong)
        }
        ColumnType::Numeric { .. } => {
            if let Some(x) = a.as_primitive_opt::<Decimal128Type>() {
                let scale = u32::try_from(x.scale()).map_err(|_| wrong())?;
                x.iter()
                    .map(|v| match v {
                        None => Ok(Value::Null),
                        Some(m) => Decimal::try_from_i128_with_scale(m, scale)
                            .map(Value::Numeric)
                            .map_err(|e| format!("column {}: {e}", c.name)),
                    })
                    .collect()
            } else {
                strings(a).ok_or_else(wrong)
            }
        }
        ColumnType::Boolean => a
            .as_boolean_opt()
            .map(|x| {
                x.iter()
                    .map(|v| v.map(Value::Bool).unwrap_or(Value::Null))
                    .collect()
            })
            .ok_or_else(wrong),
        ColumnType::Date => a
            .as_primitive_opt::<Date32Type>()
            .ok_or_else(wrong)?
            .iter()
            .map(|v| match v {
                None => Ok(Value::Null),
                Some(days) => epoch()
                    .checked_add_signed(chrono::Duration::days(days.into()))
                    .map(Value::Date)
                    .ok_or_else(|| format!("column {}: day {days} is out of range", c.name)),
            })
            .collect(),
        ColumnType::Timestamp | ColumnType::TimestampTz => a
            .as_primitive_opt::<TimestampMicrosecondType>()
            .ok_or_else(wrong)?
            .iter()
            .map(|v| match v {
                None => Ok(Value::Null),
                Some(m) => DateTime::<Utc>::from_timestamp_micros(m)
                    .map(|t| {
                        if c.ty == ColumnType::Timestamp {
                            Value::Timestamp(t.naive_utc())
                        } else {
                            Value::TimestampTz(t)
                        }
                    })
                    .ok_or_else(|| format!("column {}: {m} is out of range", c.name)),
            })
            .collect(),
        ColumnType::Bytes => a
            .as_binary_opt::<i32>()
            .map(|x| {
                x.iter()
                    .map(|v| v.map(|b| Value::Bytes(b.to_vec())).unwrap_or(Value::Null))
                    .collect()
            })
            .ok_or_else(wrong),
        ColumnType::Text
        | ColumnType::Varchar(_)
        | ColumnType::Enum { .. }
        | ColumnType::Uuid
        | ColumnType::Json
        | ColumnType::Native { .. } => strings(a).ok_or_else(wrong),
    }
}

/// One Arrow column, typed, for hashing its cells without building values.
pub(super) enum Cells<'a> {
    I64(&'a arrow_array::PrimitiveArray<Int64Type>),
    I32(&'a arrow_array::PrimitiveArray<Int32Type>),
    I16(&'a arrow_array::PrimitiveArray<Int16Type>),
    Decimal(&'a Decimal128Array, u32),
    Bool(&'a BooleanArray),
    Date(&'a Date32Array),
    /// Microseconds, with the tag of a timestamp (6) or a timestamp with time zone (7).
    Micros(&'a TimestampMicrosecondArray, u8),
    Text(&'a StringArray),
    Binary(&'a BinaryArray),
}

impl<'a> Cells<'a> {
    /// The column read as `c`, accepting what [`read_array`] accepts.
    pub(super) fn of(a: &'a dyn Array, c: &ColSpec) -> Result<Cells<'a>, String> {
        let wrong = || {
            format!(
                "column {} holds {}, which does not fit a {} column",
                c.name,
                a.data_type(),
                c.ty
            )
        };
        let text = || a.as_string_opt::<i32>().map(Cells::Text);
        let cells = match &c.ty {
            ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. } => a
                .as_primitive_opt::<Int64Type>()
                .map(Cells::I64)
                .or_else(|| a.as_primitive_opt::<Int32Type>().map(Cells::I32))
                .or_else(|| a.as_primitive_opt::<Int16Type>().map(Cells::I16)),
            ColumnType::Numeric { .. } => match a.as_primitive_opt::<Decimal128Type>() {
                Some(x) => Some(Cells::Decimal(
                    x,
                    u32::try_from(x.scale()).map_err(|_| wrong())?,
                )),
                None => text(),
            },
            ColumnType::Boolean => a.as_boolean_opt().map(Cells::Bool),
            ColumnType::Date => a.as_primitive_opt::<Date32Type>().map(Cells::Date),
            ColumnType::Timestamp => a
                .as_primitive_opt::<TimestampMicrosecondType>()
                .map(|x| Cells::Micros(x, 6)),
            ColumnType::TimestampTz => a
                .as_primitive_opt::<TimestampMicrosecondType>()
                .map(|x| Cells::Micros(x, 7)),
            ColumnType::Bytes => a.as_binary_opt::<i32>().map(Cells::Binary),
            ColumnType::Text
            | ColumnType::Varchar(_)
            | ColumnType::Enum { .. }
            | ColumnType::Uuid
            | ColumnType::Json
            | ColumnType::Native { .. } => text(),
        };
        cells.ok_or_else(wrong)
    }

    /// Appends row `i` exactly as [`encode_value`] encodes its stored value.
    pub(super) fn encode(&self, i: usize, out: &mut Vec<u8>) {
        let null = match self {
            Cells::I64(x) => x.is_null(i),
            Cells::I32(x) => x.is_null(i),
            Cells::I16(x) => x.is_null(i),
            Cells::Decimal(x, _) => x.is_null(i),
            Cells::Bool(x) => x.is_null(i),
            Cells::Date(x) => x.is_null(i),
            Cells::Micros(x, _) => x.is_null(i),
            Cells::Text(x) => x.is_null(i),
            Cells::Binary(x) => x.is_null(i),
        };
        if null {
            out.push(0);
            return;
        }
        let int = |out: &mut Vec<u8>, v: i64| {
            out.push(2);
            out.extend_from_slice(&v.to_be_bytes());
        };
        match self {
            Cells::I64(x) => int(out, x.value(i)),
            Cells::I32(x) => int(out, x.value(i).into()),
            Cells::I16(x) => int(out, x.value(i).into()),
            Cells::Decimal(x, scale) => {
                out.push(3);
                out.extend_from_slice(&x.value(i).to_be_bytes());
                out.extend_from_slice(&scale.to_be_bytes());
            }
            Cells::Bool(x) => {
                out.push(1);
                out.push(u8::from(x.value(i)));
            }
            Cells::Date(x) => {
                out.push(5);
                out.extend_from_slice(&i64::from(x.value(i)).to_be_bytes());
            }
            Cells::Micros(x, tag) => {
                out.push(*tag);
                out.extend_from_slice(&x.value(i).to_be_bytes());
            }
            Cells::Text(x) => {
                let s = x.value(i).as_bytes();
                out.push(4);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s);
            }
            Cells::Binary(x) => {
                let b = x.value(i);
                out.push(8);
                out.extend_from_slice(&(b.len() as u64).to_be_bytes());
                out.extend_from_slice(b);
            }
        }
    }
}

/// Adds the digest of every row of a batch to `checksum`, straight from the arrays.
pub(super) fn add_batch(
    batch: &RecordBatch,
    cols: &[ColSpec],
    checksum: &mut Checksum,
    scratch: &mut Vec<u8>,
) -> Result<(), String> {
    let mut cells = Vec::with_capacity(cols.len());
    for c in cols {
        let a = batch
            .column_by_name(&c.name)
            .ok_or_else(|| format!("column {} is missing", c.name))?;
        cells.push(Cells::of(a.as_ref(), c)?);
    }
    for i in 0..batch.num_rows() {
        scratch.clear();
        for c in &cells {
            c.encode(i, scratch);
        }
        checksum.add(&Sha256::digest(scratch.as_slice()).into());
    }
    Ok(())
}

/// The stored rows of a record batch, columns in `cols` order (found by name).
pub(crate) fn read_batch(batch: &RecordBatch, cols: &[ColSpec]) -> Result<Vec<Vec<Value>>, String> {
    let mut columns = Vec::with_capacity(cols.len());
    for c in cols {
        let a = batch
            .column_by_name(&c.name)
            .ok_or_else(|| format!("column {} is missing", c.name))?;
        columns.push(read_array(a.as_ref(), c)?.into_iter());
    }
    let mut rows = Vec::with_capacity(batch.num_rows());
    for _ in 0..batch.num_rows() {
        rows.push(
            columns
                .iter_mut()
                .map(|c| c.next().expect("columns of a batch have its length"))
                .collect(),
        );
    }
    Ok(rows)
}

/// Writes one table's Parquet object while rows stream in, and sums its checksum.
pub(super) struct PartWriter {
    cols: Vec<ColSpec>,
    writer: Option<ArrowWriter<Vec<u8>>>,
    pending: Vec<Vec<Value>>,
    checksum: Checksum,
    scratch: Vec<u8>,
}

impl PartWriter {
    pub(super) fn new(cols: Vec<ColSpec>) -> Self {
        PartWriter {
            cols,
            writer: None,
            pending: Vec::with_capacity(1024),
            checksum: Checksum::default(),
            scratch: Vec::with_capacity(256),
        }
    }

    pub(super) fn push(&mut self, row: Vec<Value>) -> Result<(), String> {
        let mut stored = Vec::with_capacity(row.len());
        for (v, c) in row.into_iter().zip(&self.cols) {
            if v.is_null() && !c.nullable {
                return Err(format!(
                    "column {} holds NULL but is declared NOT NULL",
                    c.name
                ));
            }
            stored.push(stored_value(v, c).map_err(|e| format!("column {}: {e}", c.name))?);
        }
        let digest = row_digest(&stored, &mut self.scratch);
        self.checksum.add(&digest);
        self.pending.push(stored);
        if self.pending.len() >= CHUNK_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    pub(super) fn flush(&mut self) -> Result<(), String> {
        let batch = build_batch(&self.cols, &self.pending)?;
        self.pending.clear();
        let writer = match &mut self.writer {
            Some(w) => w,
            None => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(CHUNK_ROWS))
                    .build();
                self.writer.insert(
                    ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props))
                        .map_err(|e| e.to_string())?,
                )
            }
        };
        if batch.num_rows() > 0 {
            writer.write(&batch).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The Parquet bytes and the checksum.
    pub(super) fn finish(mut self) -> Result<(Vec<u8>, Checksum), String> {
        if !self.pending.is_empty() || self.writer.is_none() {
            self.flush()?;
        }
        let writer = self.writer.take().expect("flush creates the writer");
        let bytes = writer.into_inner().map_err(|e| e.to_string())?;
        Ok((bytes, self.checksum))
    }
}

/// Decodes a Parquet object and recomputes its checksum.
pub(super) fn decode_part<R: ChunkReader + 'static>(
    bytes: R,
    cols: &[ColSpec],
) -> Result<(Vec<RecordBatch>, Checksum), String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| e.to_string())?
        .with_batch_size(CHUNK_ROWS)
        .build()
        .map_err(|e| e.to_string())?;
    let mut batches = Vec::new();
    let mut checksum = Checksum::default();
    let mut scratch = Vec::with_capacity(256);
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        if batch.num_columns() != cols.len() {
            let names: Vec<String> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            return Err(format!(
                "it holds columns {}, the table has {}",
                names.join(", "),
                cols.iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        add_batch(&batch, cols, &mut checksum, &mut scratch)?;
        batches.push(batch);
    }
    Ok((batches, checksum))
}
