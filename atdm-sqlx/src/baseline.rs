//! Baselines: a snapshot of every table, kept as Parquet in the store, restored in one
//! transaction.
//!
//! ```text
//! baselines/<baseline id>/<table>.parquet    one object per table, several row groups
//! baselines/<baseline id>/manifest.json      written last: the baseline exists once it does
//! ```
//!
//! Every object is created with put-if-absent. The table objects go first and the manifest
//! last, so a baseline exists exactly when its manifest does, and an id is never written twice:
//! a snapshot under an id that exists fails with [`Error::BaselineExists`] before writing
//! anything.
//!
//! A snapshot holds every table of the pack's schema in foreign-key order, then the run
//! catalog and ledger (`atdm.runs`, `atdm.ledger` in the manifest), so that after a restore
//! the catalog says exactly which runs own which rows. All tables are read in one read
//! transaction (one consistent view on PostgreSQL and MySQL).
//!
//! # Column types in the Parquet objects
//!
//! | column type | Arrow type |
//! |---|---|
//! | integer | Int32 (Int64 on SQLite, whose INTEGER holds 64 bits) |
//! | bigint | Int64 |
//! | numeric(p, s) | Decimal128(p, s) |
//! | boolean | Boolean |
//! | date | Date32 |
//! | timestamp | Timestamp(microsecond) |
//! | timestamptz | Timestamp(microsecond, "UTC") |
//! | text, varchar, enumerations, uuid, json | Utf8 |
//! | bytes | Binary |
//!
//! A value that these types cannot hold exactly (a timestamp with nanoseconds, a number with
//! more digits than its column declares) fails the snapshot rather than being rounded. On
//! SQLite and MySQL, uuid and json columns are kept as the text the database holds.
//!
//! # Checksums
//!
//! Each table's checksum does not depend on row order: every row is encoded canonically (each
//! value as a type tag and its bytes, in column order) and hashed with SHA-256; the row
//! digests, read as 256-bit big-endian integers, are summed modulo 2^256; the checksum is the
//! SHA-256 of a domain tag, the row count and that sum, in lower-case hex. A restore and a
//! diff recompute it from the objects they read and refuse a baseline whose checksum does not
//! match ([`Error::BaselineCorrupt`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
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
use atdm_core::audit::{AuditAction, AuditStatus};
use atdm_core::schema::{Column, ColumnType, Dialect, Generated, Table};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::ChunkReader;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{
    BindValue, BulkCopy, DecodeValue, TxConn, copy_field, placeholder, query_for, with_db,
};
use crate::engine::{Engine, begin_sql, key_columns, pg_cast, settle, strategy_run_id};
use crate::error::Error;

/// The manifest layout this version writes and reads.
pub const BASELINE_FORMAT_VERSION: u32 = 1;

/// Rows per Arrow record batch and per Parquet row group.
const CHUNK_ROWS: usize = 65_536;

/// Rows a snapshot decodes before handing them to its Parquet writer thread.
const SEND_ROWS: usize = 4096;

/// From this many rows on, PostgreSQL restores a table with COPY.
const COPY_THRESHOLD: usize = 500;

/// Keys listed per table and kind of change in a [`BaselineDiff`].
pub const DIFF_KEY_LIMIT: usize = 100;

/// The manifest name of the run catalog table.
const RUNS: &str = "atdm.runs";
/// The manifest name of the run ledger table.
const LEDGER: &str = "atdm.ledger";

/// What to record with a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// The baseline id; without one, `bl_` and a fresh ULID (so ids sort by time). Letters,
    /// digits, `_`, `-` and `.`, at most 100 characters.
    pub id: Option<String>,
    /// Free-form labels kept in the manifest (`ticket = "QA-12"`).
    pub tags: BTreeMap<String, String>,
}

impl SnapshotOptions {
    /// No id (a fresh one is made), no tags.
    pub fn new() -> Self {
        SnapshotOptions::default()
    }

    /// Sets the baseline id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }
}

/// Which schema a baseline was taken of. A restore refuses a baseline whose `hash` differs
/// from the engine's ([`Error::BaselineMismatch`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaVersion {
    /// The pack's name.
    pub pack: String,
    /// The schema's name.
    pub schema: String,
    /// The schema's declared version.
    pub version: String,
    /// SHA-256 (hex) of the schema model (tables, columns, types, keys, checks) as JSON.
    pub hash: String,
}

/// One table of a baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineTable {
    /// The table (`atdm.runs` and `atdm.ledger` for the run catalog and ledger).
    pub name: String,
    /// Rows captured.
    pub rows: u64,
    /// The content checksum, independent of row order (see the module docs).
    pub checksum: String,
    /// The Parquet object's key in the store.
    pub object: String,
    /// True for the run catalog and ledger.
    pub catalog: bool,
}

/// A baseline's manifest: `baselines/<id>/manifest.json` in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineManifest {
    /// The manifest layout ([`BASELINE_FORMAT_VERSION`]).
    pub format_version: u32,
    /// The baseline id.
    pub id: String,
    /// When the tables were read (UTC, RFC 3339).
    pub captured_at: DateTime<Utc>,
    /// The database the baseline was taken from.
    pub dialect: Dialect,
    /// The schema it was taken of.
    pub schema_version: SchemaVersion,
    /// The tables in foreign-key order (parents first), then the run catalog and ledger.
    pub tables: Vec<BaselineTable>,
    /// The caller's labels.
    pub tags: BTreeMap<String, String>,
    /// The audit run of the snapshot (`strategy-snapshot-<ULID>`).
    pub audit_run_id: String,
}

impl BaselineManifest {
    /// One table's entry.
    pub fn table(&self, name: &str) -> Option<&BaselineTable> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Rows in every table together.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// The baseline restored.
    pub baseline_id: String,
    /// Rows written per table (the baseline's rows).
    pub rows: BTreeMap<String, u64>,
    /// Rows deleted per table (what was there before).
    pub deleted: BTreeMap<String, u64>,
    /// The audit run of the restore (`strategy-restore-<ULID>`).
    pub audit_run_id: String,
}

/// How one table differs between two baselines, by primary key (tables without one: by whole
/// row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDiff {
    /// The table.
    pub table: String,
    /// Rows only in the newer baseline.
    pub added: u64,
    /// Rows only in the older baseline.
    pub removed: u64,
    /// Rows in both whose values differ.
    pub changed: u64,
    /// Keys of added rows (`{"member_id": "m-..."}`), sorted, at most [`DIFF_KEY_LIMIT`].
    pub added_keys: Vec<serde_json::Value>,
    /// Keys of removed rows, sorted, at most [`DIFF_KEY_LIMIT`].
    pub removed_keys: Vec<serde_json::Value>,
    /// Keys of changed rows, sorted, at most [`DIFF_KEY_LIMIT`].
    pub changed_keys: Vec<serde_json::Value>,
    /// True when a key list was cut at [`DIFF_KEY_LIMIT`].
    pub truncated: bool,
}

impl TableDiff {
    /// True when the table is the same in both baselines.
    pub fn is_empty(&self) -> bool {
        self.added == 0 && self.removed == 0 && self.changed == 0
    }
}

/// How two baselines differ, table by table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineDiff {
    /// The older baseline.
    pub from: String,
    /// The newer baseline.
    pub to: String,
    /// Every table, in foreign-key order, then the run catalog and ledger.
    pub tables: Vec<TableDiff>,
}

impl BaselineDiff {
    /// True when no table differs.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(TableDiff::is_empty)
    }

    /// One table's differences.
    pub fn table(&self, name: &str) -> Option<&TableDiff> {
        self.tables.iter().find(|t| t.table == name)
    }
}

/// One table as the baseline code reads and writes it.
#[derive(Debug, Clone)]
struct Part {
    /// The name in the manifest and in the object key.
    name: String,
    /// The table as SQL names it (quoted, schema-qualified for the catalog on PostgreSQL).
    sql_name: String,
    /// Columns, keys, foreign keys.
    table: Table,
    /// Run catalog or ledger.
    catalog: bool,
}

/// How a column is kept in Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int32,
    Int64,
    Decimal(u8, i8),
    /// Numerics wider than Decimal128 holds, as their decimal text.
    DecimalText,
    Bool,
    Date,
    Timestamp,
    TimestampTz,
    Utf8,
    Binary,
}

/// One column: its model type, how it is read from the database and how it is stored.
#[derive(Debug, Clone)]
struct ColSpec {
    name: String,
    ty: ColumnType,
    nullable: bool,
    kind: Kind,
    /// The type the column is decoded as (uuid and json as text on SQLite and MySQL, so the
    /// text the database holds is kept as it is).
    read_ty: ColumnType,
    /// False for computed columns: kept in the baseline, never written back.
    written: bool,
}

fn kind_of(ty: &ColumnType, d: Dialect) -> Kind {
    match ty {
        ColumnType::Integer if d == Dialect::Sqlite => Kind::Int64,
        ColumnType::Integer => Kind::Int32,
        ColumnType::BigInt => Kind::Int64,
        ColumnType::Numeric { precision, scale } if *precision <= 38 && *scale <= *precision => {
            Kind::Decimal(*precision, *scale as i8)
        }
        ColumnType::Numeric { .. } => Kind::DecimalText,
        ColumnType::Boolean => Kind::Bool,
        ColumnType::Date => Kind::Date,
        ColumnType::Timestamp => Kind::Timestamp,
        ColumnType::TimestampTz => Kind::TimestampTz,
        ColumnType::Bytes => Kind::Binary,
        ColumnType::Text
        | ColumnType::Varchar(_)
        | ColumnType::Enum { .. }
        | ColumnType::Uuid
        | ColumnType::Json => Kind::Utf8,
    }
}

fn specs(t: &Table, d: Dialect) -> Vec<ColSpec> {
    t.columns
        .iter()
        .map(|c| ColSpec {
            name: c.name.clone(),
            ty: c.ty.clone(),
            nullable: c.nullable,
            kind: kind_of(&c.ty, d),
            read_ty: match (&c.ty, d) {
                (ColumnType::Uuid | ColumnType::Json, Dialect::Sqlite | Dialect::MySql) => {
                    ColumnType::Text
                }
                (ty, _) => ty.clone(),
            },
            written: !matches!(c.generated, Some(Generated::Computed(_))),
        })
        .collect()
}

/// The run catalog and ledger as tables of the model (columns as in `catalog.rs`).
fn catalog_tables() -> [Table; 2] {
    let text = |n: &str| Column::new(n, ColumnType::Text);
    let var = |n: &str, len: u32| Column::new(n, ColumnType::Varchar(len));
    let big = |n: &str| Column::new(n, ColumnType::BigInt);
    let runs = Table::new(RUNS)
        .column(var("run_id", 64))
        .column(var("scenario", 255))
        .column(var("request_id", 64))
        .column(var("token_hash", 64))
        .column(var("status", 16))
        .column(big("created_at"))
        .column(big("lease_expires_at"))
        .column(var("invoker", 255))
        .column(var("reference_date", 10))
        .column(var("seed", 20))
        .column(Column::new("generator_version", ColumnType::Integer))
        .column(text("constraints_json"))
        .column(text("data_json"))
        .column(big("cleaned_at").nullable())
        .primary_key(["run_id"]);
    let ledger = Table::new(LEDGER)
        .column(var("run_id", 64))
        .column(Column::new("seq", ColumnType::Integer))
        .column(var("table_name", 255))
        .column(text("row_key"))
        .primary_key(["run_id", "seq"]);
    [runs, ledger]
}

// ---------------------------------------------------------------------------------------------
// Values: what is stored, how it is hashed, how it is written back.
// ---------------------------------------------------------------------------------------------

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

fn micros_exact(t: chrono::NaiveDateTime) -> Result<i64, String> {
    use chrono::Timelike;
    if !t.nanosecond().is_multiple_of(1000) {
        return Err(format!(
            "{t} has sub-microsecond precision, which a baseline cannot hold exactly"
        ));
    }
    Ok(t.and_utc().timestamp_micros())
}

/// The value as the baseline stores it: the column's exact form for its Parquet type.
fn stored_value(v: Value, c: &ColSpec) -> Result<Value, String> {
    let bad = |v: &Value| format!("a {} value in a {} column cannot be stored", v.kind(), c.ty);
    Ok(match (c.kind, v) {
        (_, Value::Null) => Value::Null,
        (Kind::Int32, Value::Int(i)) => {
            i32::try_from(i).map_err(|_| format!("{i} does not fit the 32-bit integer column"))?;
            Value::Int(i)
        }
        (Kind::Int64, Value::Int(i)) => Value::Int(i),
        (Kind::Decimal(p, s), v @ (Value::Numeric(_) | Value::Int(_))) => {
            let d = match v {
                Value::Numeric(d) => d,
                Value::Int(i) => Decimal::from(i),
                _ => unreachable!("matched above"),
            };
            let mut r = d;
            r.rescale(s as u32);
            if r != d || r.scale() != s as u32 {
                return Err(format!(
                    "{d} has more than {s} decimal places, or does not fit the column"
                ));
            }
            if r.mantissa().unsigned_abs() >= 10u128.pow(u32::from(p)) {
                return Err(format!("{d} has more than {p} digits"));
            }
            Value::Numeric(r)
        }
        (Kind::DecimalText, Value::Numeric(d)) => Value::Text(d.to_string()),
        (Kind::DecimalText, Value::Int(i)) => Value::Text(i.to_string()),
        (Kind::Bool, v @ Value::Bool(_)) => v,
        (Kind::Date, v @ Value::Date(_)) => v,
        (Kind::Timestamp, Value::Timestamp(t)) => {
            micros_exact(t)?;
            Value::Timestamp(t)
        }
        (Kind::TimestampTz, Value::TimestampTz(t)) => {
            micros_exact(t.naive_utc())?;
            Value::TimestampTz(t)
        }
        (Kind::Utf8, v @ Value::Text(_)) => v,
        (Kind::Utf8, Value::Uuid(u)) => Value::Text(u.to_string()),
        (Kind::Utf8, Value::Json(j)) => Value::Text(j.to_string()),
        (Kind::Binary, v @ Value::Bytes(_)) => v,
        (_, v) => return Err(bad(&v)),
    })
}

/// Appends the canonical encoding of a stored value: a type tag, then its bytes.
fn encode_value(v: &Value, out: &mut Vec<u8>) {
    let text = |out: &mut Vec<u8>, s: &[u8]| {
        out.push(4);
        out.extend_from_slice(&(s.len() as u64).to_be_bytes());
        out.extend_from_slice(s);
    };
    match v {
        Value::Null => out.push(0),
        Value::Bool(b) => {
            out.push(1);
            out.push(u8::from(*b));
        }
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Value::Numeric(d) => {
            out.push(3);
            out.extend_from_slice(&d.mantissa().to_be_bytes());
            out.extend_from_slice(&d.scale().to_be_bytes());
        }
        Value::Text(s) => text(out, s.as_bytes()),
        Value::Uuid(u) => text(out, u.to_string().as_bytes()),
        Value::Json(j) => text(out, j.to_string().as_bytes()),
        Value::Date(d) => {
            out.push(5);
            out.extend_from_slice(&d.signed_duration_since(epoch()).num_days().to_be_bytes());
        }
        Value::Timestamp(t) => {
            out.push(6);
            out.extend_from_slice(&t.and_utc().timestamp_micros().to_be_bytes());
        }
        Value::TimestampTz(t) => {
            out.push(7);
            out.extend_from_slice(&t.timestamp_micros().to_be_bytes());
        }
        Value::Bytes(b) => {
            out.push(8);
            out.extend_from_slice(&(b.len() as u64).to_be_bytes());
            out.extend_from_slice(b);
        }
    }
}

/// SHA-256 of a row's canonical encoding (`buf` is scratch space).
fn row_digest(row: &[Value], buf: &mut Vec<u8>) -> [u8; 32] {
    buf.clear();
    for v in row {
        encode_value(v, buf);
    }
    Sha256::digest(buf.as_slice()).into()
}

/// An order-independent checksum: row digests summed modulo 2^256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Checksum {
    rows: u64,
    /// Little-endian 64-bit limbs.
    sum: [u64; 4],
}

impl Checksum {
    fn add(&mut self, digest: &[u8; 32]) {
        self.rows += 1;
        let mut carry = 0u64;
        for (i, limb) in self.sum.iter_mut().enumerate() {
            let start = 32 - 8 * (i + 1);
            let part = u64::from_be_bytes(digest[start..start + 8].try_into().expect("8 bytes"));
            let (s1, c1) = limb.overflowing_add(part);
            let (s2, c2) = s1.overflowing_add(carry);
            *limb = s2;
            carry = u64::from(c1) + u64::from(c2);
        }
    }

    fn hex(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"atdm-baseline-table-checksum-v1\0");
        h.update(self.rows.to_be_bytes());
        for limb in self.sum.iter().rev() {
            h.update(limb.to_be_bytes());
        }
        hex(&h.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One Arrow column from the stored values of column `i` of `rows`.
fn build_array(c: &ColSpec, rows: &[Vec<Value>], i: usize) -> Result<ArrayRef, String> {
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

fn build_batch(cols: &[ColSpec], rows: &[Vec<Value>]) -> Result<RecordBatch, String> {
    let arrays = cols
        .iter()
        .enumerate()
        .map(|(i, c)| Ok((c.name.as_str(), build_array(c, rows, i)?, c.nullable)))
        .collect::<Result<Vec<_>, String>>()?;
    RecordBatch::try_from_iter_with_nullable(arrays).map_err(|e| e.to_string())
}

/// The stored values of one Arrow column, checked against the column's type.
fn read_array(a: &dyn Array, c: &ColSpec) -> Result<Vec<Value>, String> {
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
        ColumnType::Integer | ColumnType::BigInt => ints(a).ok_or_else(wrong),
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
        | ColumnType::Json => strings(a).ok_or_else(wrong),
    }
}

/// One Arrow column, typed, for hashing its cells without building values.
enum Cells<'a> {
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
    fn of(a: &'a dyn Array, c: &ColSpec) -> Result<Cells<'a>, String> {
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
            ColumnType::Integer | ColumnType::BigInt => a
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
            | ColumnType::Json => text(),
        };
        cells.ok_or_else(wrong)
    }

    /// Appends row `i` exactly as [`encode_value`] encodes its stored value.
    fn encode(&self, i: usize, out: &mut Vec<u8>) {
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
fn add_batch(
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
fn read_batch(batch: &RecordBatch, cols: &[ColSpec]) -> Result<Vec<Vec<Value>>, String> {
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

/// A stored value made ready to bind on `d`.
fn bind_form(v: Value, c: &ColSpec, d: Dialect) -> Result<Value, String> {
    Ok(match (v, &c.ty) {
        (Value::Text(s), ColumnType::Uuid) if d == Dialect::Postgres => Value::Uuid(
            uuid::Uuid::parse_str(&s).map_err(|e| format!("column {}: {s:?}: {e}", c.name))?,
        ),
        (Value::Text(s), ColumnType::Json) if d == Dialect::Postgres => {
            Value::Json(serde_json::from_str(&s).map_err(|e| format!("column {}: {e}", c.name))?)
        }
        (Value::Text(s), ColumnType::Numeric { .. }) => Value::Numeric(
            s.parse::<Decimal>()
                .map_err(|e| format!("column {}: {s:?}: {e}", c.name))?,
        ),
        (Value::Int(i), ColumnType::Integer) if d != Dialect::Sqlite => {
            i32::try_from(i)
                .map_err(|_| format!("column {}: {i} does not fit a 32-bit integer", c.name))?;
            Value::Int(i)
        }
        (v, _) => v,
    })
}

/// Rows of a table with self-references reordered so that every row comes after the row it
/// points at (rows in a reference cycle keep their order at the end).
fn parents_first(t: &Table, cols: &[ColSpec], rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    let pos = |name: &str| cols.iter().position(|c| c.name == name);
    let self_fks: Vec<(Vec<usize>, Vec<usize>)> = t
        .foreign_keys
        .iter()
        .filter(|fk| fk.references == t.name)
        .filter_map(|fk| {
            let targets = if fk.ref_columns.is_empty() {
                t.primary_key.clone()
            } else {
                fk.ref_columns.clone()
            };
            let from: Option<Vec<usize>> = fk.columns.iter().map(|c| pos(c)).collect();
            let to: Option<Vec<usize>> = targets.iter().map(|c| pos(c)).collect();
            Some((from?, to?))
        })
        .collect();
    if self_fks.is_empty() {
        return rows;
    }
    let n = rows.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting = vec![0usize; n];
    for (from, to) in &self_fks {
        let index: HashMap<Vec<&Value>, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (to.iter().map(|&c| &r[c]).collect(), i))
            .collect();
        for (i, r) in rows.iter().enumerate() {
            let key: Vec<&Value> = from.iter().map(|&c| &r[c]).collect();
            if key.iter().any(|v| v.is_null()) {
                continue;
            }
            if let Some(&p) = index.get(&key)
                && p != i
            {
                children[p].push(i);
                waiting[i] += 1;
            }
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut ready: VecDeque<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut placed = vec![false; n];
    while let Some(i) = ready.pop_front() {
        placed[i] = true;
        order.push(i);
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push_back(c);
            }
        }
    }
    order.extend((0..n).filter(|&i| !placed[i]));
    let mut slots: Vec<Option<Vec<Value>>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each row is placed once"))
        .collect()
}

/// Appends one value in PostgreSQL's `COPY` text format; dates and times are written
/// directly (the bulk of a restore's formatting), everything else as [`copy_field`] does.
fn copy_value(out: &mut String, v: &Value) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;
    let date = |out: &mut String, d: &NaiveDate| {
        let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    };
    let time = |out: &mut String, t: &chrono::NaiveDateTime| {
        date(out, &t.date());
        let _ = write!(
            out,
            " {:02}:{:02}:{:02}.{:06}",
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond() / 1000
        );
    };
    match v {
        Value::Date(d) if (1..=9999).contains(&d.year()) => date(out, d),
        Value::Timestamp(t) if (1..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 => {
            time(out, t)
        }
        Value::TimestampTz(t)
            if (1..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 =>
        {
            time(out, &t.naive_utc());
            out.push_str("+00");
        }
        other => copy_field(out, other),
    }
}

/// One record batch as `COPY` text of its written columns, values ready for `d`.
fn copy_text(batch: &RecordBatch, cols: &[ColSpec], d: Dialect) -> Result<Vec<u8>, String> {
    let rows = read_batch(batch, cols)?;
    let mut out = String::with_capacity(rows.len() * cols.len() * 12);
    for row in rows {
        let mut first = true;
        for (v, c) in row.into_iter().zip(cols) {
            if !c.written {
                continue;
            }
            if !first {
                out.push('\t');
            }
            first = false;
            copy_value(&mut out, &bind_form(v, c, d)?);
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// `COPY ... FROM STDIN` fed chunk by chunk while the chunks are made, so the database loads
/// while the next chunk is converted. `None` where the backend has no such path.
trait CopyStream {
    async fn copy_stream(
        &mut self,
        statement: String,
        chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<Option<u64>, sqlx::Error>;
}

impl CopyStream for sqlx::PgConnection {
    async fn copy_stream(
        &mut self,
        statement: String,
        mut chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<Option<u64>, sqlx::Error> {
        let mut copy = self.copy_in_raw(&statement).await?;
        while let Some(chunk) = chunks.recv().await {
            copy.send(chunk).await?;
        }
        Ok(Some(copy.finish().await?))
    }
}

impl CopyStream for sqlx::SqliteConnection {
    async fn copy_stream(
        &mut self,
        _statement: String,
        _chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<Option<u64>, sqlx::Error> {
        Ok(None)
    }
}

impl CopyStream for sqlx::MySqlConnection {
    async fn copy_stream(
        &mut self,
        _statement: String,
        _chunks: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<Option<u64>, sqlx::Error> {
        Ok(None)
    }
}

/// Writes one table's Parquet object while rows stream in, and sums its checksum.
struct PartWriter {
    cols: Vec<ColSpec>,
    writer: Option<ArrowWriter<Vec<u8>>>,
    pending: Vec<Vec<Value>>,
    checksum: Checksum,
    scratch: Vec<u8>,
}

impl PartWriter {
    fn new(cols: Vec<ColSpec>) -> Self {
        PartWriter {
            cols,
            writer: None,
            pending: Vec::with_capacity(1024),
            checksum: Checksum::default(),
            scratch: Vec::with_capacity(256),
        }
    }

    fn push(&mut self, row: Vec<Value>) -> Result<(), String> {
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

    fn flush(&mut self) -> Result<(), String> {
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
    fn finish(mut self) -> Result<(Vec<u8>, Checksum), String> {
        if !self.pending.is_empty() || self.writer.is_none() {
            self.flush()?;
        }
        let writer = self.writer.take().expect("flush creates the writer");
        let bytes = writer.into_inner().map_err(|e| e.to_string())?;
        Ok((bytes, self.checksum))
    }
}

/// Decodes a Parquet object and recomputes its checksum.
fn decode_part<R: ChunkReader + 'static>(
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

// ---------------------------------------------------------------------------------------------
// Store keys and ids.
// ---------------------------------------------------------------------------------------------

fn object_key(id: &str, file: &str) -> ObjectPath {
    ObjectPath::from_iter([
        PathPart::from("baselines"),
        PathPart::from(id),
        PathPart::from(file),
    ])
}

fn part_file(table: &str) -> String {
    format!("{table}.parquet")
}

/// Checks a caller's baseline id: 1 to 100 of letters, digits, `_`, `-`, `.`; not `.` or
/// `..`.
fn check_id(id: &str) -> Result<(), Error> {
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    let message = if id.is_empty() {
        "it is empty"
    } else if id.len() > 100 {
        "it is longer than 100 characters"
    } else if !ok_chars {
        "it may hold only letters, digits, '_', '-' and '.'"
    } else if id.starts_with('.') {
        "it may not start with '.'"
    } else {
        return Ok(());
    };
    Err(Error::InvalidBaselineId {
        id: id.to_owned(),
        message: message.into(),
    })
}

/// `bl_` and a fresh ULID.
fn new_id() -> String {
    format!("bl_{}", ulid::Ulid::new())
}

/// Ids that look like `id` (same start, or one contains the other), best first, then the
/// newest others, ten at most.
fn available_ids(id: &str, listed: &[BaselineManifest]) -> Vec<String> {
    let lower = id.to_ascii_lowercase();
    let mut close: Vec<String> = Vec::new();
    let mut rest: Vec<String> = Vec::new();
    for m in listed {
        let other = m.id.to_ascii_lowercase();
        let common = lower
            .chars()
            .zip(other.chars())
            .take_while(|(a, b)| a == b)
            .count();
        if (!lower.is_empty() && (other.contains(&lower) || lower.contains(&other)))
            || common >= 4.min(lower.len().max(1))
        {
            close.push(m.id.clone());
        } else {
            rest.push(m.id.clone());
        }
    }
    close.extend(rest);
    close.truncate(10);
    close
}

impl Engine {
    /// The tables a baseline holds, in insert order: the pack's tables in foreign-key order,
    /// then the run catalog and ledger.
    fn baseline_parts(&self) -> Result<Vec<Part>, Error> {
        let d = self.dialect();
        let schema = self.pack().schema();
        let order = schema.fk_order().map_err(|e| Error::Core(e.into()))?;
        let mut parts: Vec<Part> = order
            .into_iter()
            .map(|i| {
                let t = schema.tables[i].clone();
                Part {
                    name: t.name.clone(),
                    sql_name: d.quote(&t.name),
                    table: t,
                    catalog: false,
                }
            })
            .collect();
        let [runs, ledger] = catalog_tables();
        let cat = &self.inner.catalog;
        parts.push(Part {
            name: RUNS.into(),
            sql_name: cat.runs.clone(),
            table: runs,
            catalog: true,
        });
        parts.push(Part {
            name: LEDGER.into(),
            sql_name: cat.ledger.clone(),
            table: ledger,
            catalog: true,
        });
        Ok(parts)
    }

    /// The pack and schema a baseline of this engine records.
    fn schema_version(&self) -> SchemaVersion {
        let schema = self.pack().schema();
        let model = serde_json::to_vec(schema.as_ref()).expect("a schema serializes");
        SchemaVersion {
            pack: self.pack().name().to_owned(),
            schema: schema.name.clone(),
            version: schema.version.clone(),
            hash: hex(&Sha256::digest(&model)),
        }
    }

    fn store_error(&self, context: String, e: impl std::fmt::Display) -> Error {
        Error::Audit {
            store: self.store().url().to_owned(),
            context,
            message: e.to_string(),
        }
    }

    /// Writes one object with put-if-absent; an existing object means the id is taken.
    async fn put_new(&self, id: &str, key: &ObjectPath, bytes: Vec<u8>) -> Result<(), Error> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store()
            .inner
            .put_opts(key, PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => {
                Err(Error::BaselineExists { id: id.to_owned() })
            }
            Err(e) => Err(self.store_error(format!("cannot write baseline object {key}"), e)),
        }
    }

    /// The bytes of an object, or `None` when there is none.
    async fn get_object(
        &self,
        key: &ObjectPath,
    ) -> Result<Option<impl ChunkReader + AsRef<[u8]> + 'static>, Error> {
        let got = match self.store().inner.get(key).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.store_error(format!("cannot read {key}"), e)),
        };
        got.bytes()
            .await
            .map(Some)
            .map_err(|e| self.store_error(format!("cannot read {key}"), e))
    }

    /// The manifest of `id`, or `None` when no baseline has that id.
    async fn manifest(&self, id: &str) -> Result<Option<BaselineManifest>, Error> {
        if check_id(id).is_err() {
            return Ok(None);
        }
        let key = object_key(id, "manifest.json");
        let Some(bytes) = self.get_object(&key).await? else {
            return Ok(None);
        };
        let m: BaselineManifest =
            serde_json::from_slice(bytes.as_ref()).map_err(|e| Error::BaselineCorrupt {
                id: id.to_owned(),
                object: key.to_string(),
                message: format!("the manifest is not readable: {e}"),
            })?;
        if m.id != id {
            return Err(Error::BaselineCorrupt {
                id: id.to_owned(),
                object: key.to_string(),
                message: format!("the manifest names baseline {:?}", m.id),
            });
        }
        Ok(Some(m))
    }

    /// The manifest of `id`, or [`Error::BaselineNotFound`] naming the ids that exist.
    async fn require_manifest(&self, id: &str) -> Result<BaselineManifest, Error> {
        match self.manifest(id).await? {
            Some(m) => Ok(m),
            None => {
                let listed = self.list_baselines().await?;
                Err(Error::BaselineNotFound {
                    id: id.to_owned(),
                    available: available_ids(id, &listed),
                })
            }
        }
    }

    /// Refuses a baseline of another layout or schema.
    fn check_compatible(&self, m: &BaselineManifest) -> Result<(), Error> {
        if m.format_version > BASELINE_FORMAT_VERSION {
            return Err(Error::BaselineMismatch {
                id: m.id.clone(),
                expected: format!("baseline format {BASELINE_FORMAT_VERSION}"),
                found: format!(
                    "baseline format {} (written by a newer ATDM)",
                    m.format_version
                ),
            });
        }
        let mine = self.schema_version();
        if m.schema_version.hash != mine.hash {
            let show = |v: &SchemaVersion| {
                format!(
                    "pack {} schema {} version {} (hash {})",
                    v.pack,
                    v.schema,
                    v.version,
                    &v.hash[..v.hash.len().min(12)]
                )
            };
            return Err(Error::BaselineMismatch {
                id: m.id.clone(),
                expected: show(&mine),
                found: show(&m.schema_version),
            });
        }
        Ok(())
    }

    /// Reads one table of a baseline and checks its row count and checksum.
    async fn load_part(
        &self,
        m: &BaselineManifest,
        entry: &BaselineTable,
        cols: &[ColSpec],
    ) -> Result<Vec<RecordBatch>, Error> {
        let corrupt = |message: String| Error::BaselineCorrupt {
            id: m.id.clone(),
            object: entry.object.clone(),
            message,
        };
        let key = object_key(&m.id, &part_file(&entry.name));
        if key.as_ref() != entry.object {
            return Err(corrupt(format!(
                "the manifest points outside the baseline (expected {key})"
            )));
        }
        let bytes = self
            .get_object(&key)
            .await?
            .ok_or_else(|| corrupt("the object is missing".into()))?;
        let (batches, checksum) =
            decode_part(bytes, cols).map_err(|e| corrupt(format!("unreadable: {e}")))?;
        if checksum.rows != entry.rows {
            return Err(corrupt(format!(
                "it holds {} rows, the manifest says {}",
                checksum.rows, entry.rows
            )));
        }
        let sum = checksum.hex();
        if sum != entry.checksum {
            return Err(corrupt(format!(
                "its content checksum is {sum}, the manifest says {}",
                entry.checksum
            )));
        }
        Ok(batches)
    }

    /// Snapshots every table of the pack's schema, and the run catalog and ledger, to the
    /// store as Parquet with a manifest, reading all of them in one read transaction.
    ///
    /// An id that exists already fails with [`Error::BaselineExists`] and writes nothing new;
    /// a malformed id fails with [`Error::InvalidBaselineId`]. The snapshot is audited as a
    /// strategy action (`snapshot_started`, then `snapshot_completed` or `snapshot_failed`)
    /// under the run id in [`BaselineManifest::audit_run_id`].
    pub async fn snapshot(&self, options: SnapshotOptions) -> Result<BaselineManifest, Error> {
        let run_id = strategy_run_id("snapshot");
        let invoker = self.invoker().to_owned();
        let id = options.id.clone().unwrap_or_else(new_id);
        let inputs = serde_json::json!({
            "baseline_id": id,
            "tags": options.tags,
            "database": self.database(),
        });
        let started = self.event(
            &run_id,
            &invoker,
            AuditAction::SnapshotStarted,
            AuditStatus::Ok,
            inputs.clone(),
            serde_json::json!({}),
        );
        self.record(vec![started], true).await?;
        let result = self.take_snapshot(&id, options.tags, &run_id).await;
        let after = match &result {
            Ok(m) => self.event(
                &run_id,
                &invoker,
                AuditAction::SnapshotCompleted,
                AuditStatus::Ok,
                inputs,
                serde_json::json!({
                    "baseline_id": m.id,
                    "captured_at": m.captured_at,
                    "rows": m.tables.iter().map(|t| (t.name.clone(), t.rows)).collect::<BTreeMap<_, _>>(),
                    "checksums": m.tables.iter().map(|t| (t.name.clone(), t.checksum.clone())).collect::<BTreeMap<_, _>>(),
                }),
            ),
            Err(e) => self.event(
                &run_id,
                &invoker,
                AuditAction::SnapshotFailed,
                AuditStatus::Failed,
                inputs,
                serde_json::json!({ "error": crate::engine::error_json(e) }),
            ),
        };
        self.record(vec![after], false).await?;
        result
    }

    async fn take_snapshot(
        &self,
        id: &str,
        tags: BTreeMap<String, String>,
        run_id: &str,
    ) -> Result<BaselineManifest, Error> {
        check_id(id)?;
        let manifest_key = object_key(id, "manifest.json");
        match self.store().inner.head(&manifest_key).await {
            Ok(_) => return Err(Error::BaselineExists { id: id.to_owned() }),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                return Err(self.store_error(format!("cannot look for {manifest_key}"), e));
            }
        }
        let d = self.dialect();
        let parts = self.baseline_parts()?;
        let ctx = "cannot read the tables for a snapshot";
        let begin = match d {
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            Dialect::MySql => "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
            Dialect::Sqlite => "BEGIN",
        };
        let mut captured_at = Utc::now();
        captured_at = DateTime::<Utc>::from_timestamp_micros(captured_at.timestamp_micros())
            .unwrap_or(captured_at);
        let tables: Vec<BaselineTable> = with_db!(&self.inner.db, pool => {
            async {
                let mut guard = TxConn { conn: pool.acquire().await.map_err(Error::db(ctx))?, open: true };
                let outcome = async {
                    let tx = &mut *guard.conn;
                    query_for(pool, begin.into()).execute(&mut *tx).await.map_err(Error::db(ctx))?;
                    let mut tables = Vec::with_capacity(parts.len());
                    for part in &parts {
                        let cols = specs(&part.table, d);
                        let list: Vec<String> = cols.iter().map(|c| d.quote(&c.name)).collect();
                        let sql = format!("SELECT {} FROM {}", list.join(", "), part.sql_name);
                        let table_ctx = format!("cannot read table {} for a snapshot", part.name);
                        // Rows are decoded here while a worker thread hashes them and encodes
                        // Parquet, chunk by chunk.
                        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Vec<Value>>>(4);
                        let worker_cols = cols.clone();
                        let worker = tokio::task::spawn_blocking(move || {
                            let mut writer = PartWriter::new(worker_cols);
                            while let Some(chunk) = receiver.blocking_recv() {
                                for row in chunk {
                                    writer.push(row)?;
                                }
                            }
                            writer.finish()
                        });
                        {
                            let mut rows = query_for(pool, sql).fetch(&mut *tx);
                            let mut chunk = Vec::with_capacity(SEND_ROWS);
                            while let Some(r) = rows.try_next().await.map_err(Error::db(table_ctx.clone()))? {
                                let mut row = Vec::with_capacity(cols.len());
                                for (i, c) in cols.iter().enumerate() {
                                    row.push(r.value(i, &c.read_ty).map_err(Error::db(table_ctx.clone()))?);
                                }
                                chunk.push(row);
                                if chunk.len() == SEND_ROWS
                                    && sender.send(std::mem::replace(&mut chunk, Vec::with_capacity(SEND_ROWS))).await.is_err()
                                {
                                    // The worker stopped on an error; it is reported below.
                                    break;
                                }
                            }
                            if !chunk.is_empty() {
                                let _ = sender.send(chunk).await;
                            }
                        }
                        drop(sender);
                        let (bytes, checksum) = worker
                            .await
                            .map_err(|e| Error::Database { context: table_ctx.clone(), message: e.to_string() })?
                            .map_err(|message| Error::Database { context: table_ctx.clone(), message })?;
                        let key = object_key(id, &part_file(&part.name));
                        self.put_new(id, &key, bytes).await?;
                        tables.push(BaselineTable {
                            name: part.name.clone(),
                            rows: checksum.rows,
                            checksum: checksum.hex(),
                            object: key.to_string(),
                            catalog: part.catalog,
                        });
                    }
                    query_for(pool, "COMMIT".into()).execute(&mut *tx).await.map_err(Error::db(ctx))?;
                    Ok::<_, Error>(tables)
                }.await;
                settle!(pool, guard, outcome)
            }.await
        })?;
        let manifest = BaselineManifest {
            format_version: BASELINE_FORMAT_VERSION,
            id: id.to_owned(),
            captured_at,
            dialect: d,
            schema_version: self.schema_version(),
            tables,
            tags,
            audit_run_id: run_id.to_owned(),
        };
        let bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
        self.put_new(id, &manifest_key, bytes).await?;
        tracing::info!(baseline = %id, rows = manifest.total_rows(), "baseline taken");
        Ok(manifest)
    }

    /// Every baseline in the store, newest first (by capture time, then id). Objects of a
    /// snapshot that never finished (no manifest) are not a baseline and are left out.
    pub async fn list_baselines(&self) -> Result<Vec<BaselineManifest>, Error> {
        let root = ObjectPath::from("baselines");
        let listed = match self.store().inner.list_with_delimiter(Some(&root)).await {
            Ok(l) => l,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(self.store_error("cannot list the baselines".into(), e)),
        };
        let mut out = Vec::new();
        for prefix in listed.common_prefixes {
            let key = prefix.clone().join("manifest.json");
            let Some(bytes) = self.get_object(&key).await? else {
                continue;
            };
            match serde_json::from_slice::<BaselineManifest>(bytes.as_ref()) {
                Ok(m) => out.push(m),
                Err(e) => {
                    tracing::warn!(object = %key, error = %e, "unreadable baseline manifest left out of the list")
                }
            }
        }
        out.sort_by(|a, b| {
            b.captured_at
                .cmp(&a.captured_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(out)
    }

    /// Restores a baseline (the newest when `id` is `None`): in one transaction, deletes every
    /// row of every table (children first) and writes the baseline's rows (parents first),
    /// the run catalog and ledger included, so runs seeded since are gone and runs reset since
    /// own their rows again. Restoring twice gives the same state.
    ///
    /// Every table object is read and its checksum verified before anything is written.
    /// Fails with [`Error::NoBaseline`] when there is no baseline at all,
    /// [`Error::BaselineNotFound`] for an unknown id, [`Error::BaselineMismatch`] for a
    /// baseline of another schema, [`Error::BaselineCorrupt`] when an object is missing or does
    /// not match its checksum. Audited as a strategy action under
    /// [`RestoreReport::audit_run_id`].
    ///
    /// Sequences of identity columns are set past the largest restored key on PostgreSQL;
    /// SQLite and MySQL keep their counters, which only grow.
    pub async fn restore(&self, id: Option<&str>) -> Result<RestoreReport, Error> {
        let run_id = strategy_run_id("restore");
        let invoker = self.invoker().to_owned();
        let inputs = serde_json::json!({ "baseline_id": id, "database": self.database() });
        let started = self.event(
            &run_id,
            &invoker,
            AuditAction::RestoreStarted,
            AuditStatus::Ok,
            inputs.clone(),
            serde_json::json!({}),
        );
        self.record(vec![started], true).await?;
        let result = self.restore_now(id, &run_id).await;
        let status = if result.is_ok() { "ok" } else { "failed" };
        self.inner.metrics.reset("restore", status);
        let after = match &result {
            Ok(r) => self.event(
                &run_id,
                &invoker,
                AuditAction::RestoreCompleted,
                AuditStatus::Ok,
                inputs,
                serde_json::json!({
                    "baseline_id": r.baseline_id,
                    "rows": r.rows,
                    "deleted": r.deleted,
                }),
            ),
            Err(e) => self.event(
                &run_id,
                &invoker,
                AuditAction::RestoreFailed,
                AuditStatus::Failed,
                inputs,
                serde_json::json!({ "error": crate::engine::error_json(e) }),
            ),
        };
        self.record(vec![after], false).await?;
        result
    }

    async fn restore_now(&self, id: Option<&str>, run_id: &str) -> Result<RestoreReport, Error> {
        let manifest = match id {
            Some(id) => self.require_manifest(id).await?,
            None => self
                .list_baselines()
                .await?
                .into_iter()
                .next()
                .ok_or(Error::NoBaseline)?,
        };
        self.check_compatible(&manifest)?;
        let d = self.dialect();
        let parts = self.baseline_parts()?;
        for entry in &manifest.tables {
            if !parts.iter().any(|p| p.name == entry.name) {
                return Err(Error::BaselineMismatch {
                    id: manifest.id.clone(),
                    expected: "the tables of this engine's schema".into(),
                    found: format!("a table {:?} this engine does not have", entry.name),
                });
            }
        }
        // Read and verify everything before writing anything.
        let mut loaded: Vec<(Part, Vec<ColSpec>, Vec<RecordBatch>)> =
            Vec::with_capacity(parts.len());
        for part in parts {
            let entry = manifest
                .table(&part.name)
                .ok_or_else(|| Error::BaselineMismatch {
                    id: manifest.id.clone(),
                    expected: format!("table {} in the baseline", part.name),
                    found: "a baseline without it".into(),
                })?;
            let cols = specs(&part.table, d);
            let batches = self.load_part(&manifest, entry, &cols).await?;
            loaded.push((part, cols, batches));
        }
        let ctx = format!(
            "restoring baseline {} failed and was rolled back; nothing changed",
            manifest.id
        );
        let ctx = ctx.as_str();
        let corrupt = |part: &Part, message: String| Error::BaselineCorrupt {
            id: manifest.id.clone(),
            object: object_key(&manifest.id, &part_file(&part.name)).to_string(),
            message,
        };
        let (rows, deleted): (BTreeMap<String, u64>, BTreeMap<String, u64>) = with_db!(&self.inner.db, pool => {
            async {
                let mut guard = TxConn { conn: pool.acquire().await.map_err(Error::db(ctx))?, open: true };
                let outcome = async {
                    let tx = &mut *guard.conn;
                    macro_rules! exec {
                        ($sql:expr) => {
                            query_for(pool, $sql).execute(&mut *tx).await.map_err(Error::db(ctx))?
                        };
                    }
                    exec!(begin_sql(d).into());
                    if d == Dialect::Sqlite {
                        // Foreign keys are checked at COMMIT, when every table is whole again.
                        exec!("PRAGMA defer_foreign_keys = ON".into());
                    }
                    let mut deleted: BTreeMap<String, u64> = BTreeMap::new();
                    let mut truncated = false;
                    if d == Dialect::Postgres {
                        for (part, _, _) in &loaded {
                            let n: i64 = query_for(pool, format!("SELECT COUNT(*) FROM {}", part.sql_name))
                                .fetch_one(&mut *tx).await.map_err(Error::db(ctx))?
                                .try_get(0).map_err(Error::db(ctx))?;
                            deleted.insert(part.name.clone(), n as u64);
                        }
                        // TRUNCATE of all the tables at once; if a table outside the baseline
                        // points at one of them, DELETE instead.
                        exec!("SAVEPOINT atdm_restore".into());
                        let names: Vec<&str> = loaded.iter().map(|(p, _, _)| p.sql_name.as_str()).collect();
                        match query_for(pool, format!("TRUNCATE TABLE {}", names.join(", "))).execute(&mut *tx).await {
                            Ok(_) => {
                                exec!("RELEASE SAVEPOINT atdm_restore".into());
                                truncated = true;
                            }
                            Err(e) => {
                                tracing::debug!(error = %e, "TRUNCATE refused; deleting instead");
                                exec!("ROLLBACK TO SAVEPOINT atdm_restore".into());
                            }
                        }
                    }
                    if !truncated {
                        for (part, _, _) in loaded.iter().rev() {
                            let self_ref = part.table.foreign_keys.iter().any(|fk| fk.references == part.table.name);
                            // InnoDB checks a self-reference row by row; the table is emptied
                            // whole, so the check is off for this one statement.
                            let unchecked = self_ref && d == Dialect::MySql;
                            if unchecked {
                                exec!("SET FOREIGN_KEY_CHECKS = 0".into());
                            }
                            let n = exec!(format!("DELETE FROM {}", part.sql_name)).rows_affected();
                            if unchecked {
                                exec!("SET FOREIGN_KEY_CHECKS = 1".into());
                            }
                            deleted.insert(part.name.clone(), n);
                        }
                    }
                    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
                    for (part, cols, batches) in &loaded {
                        let t = &part.table;
                        let self_ref = t.foreign_keys.iter().any(|fk| fk.references == t.name);
                        let written: Vec<usize> = (0..cols.len()).filter(|&i| cols[i].written).collect();
                        let count: usize = batches.iter().map(RecordBatch::num_rows).sum();
                        if d == Dialect::Postgres && !self_ref && count >= COPY_THRESHOLD && !written.is_empty() {
                            // A converter thread makes COPY text batch by batch while the
                            // database loads the previous one.
                            let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
                            let (work, wcols) = (batches.clone(), cols.clone());
                            let producer = tokio::task::spawn_blocking(move || -> Result<(), String> {
                                for batch in &work {
                                    if sender.blocking_send(copy_text(batch, &wcols, d)?).is_err() {
                                        break;
                                    }
                                }
                                Ok(())
                            });
                            let names: Vec<String> = written.iter().map(|&i| d.quote(&cols[i].name)).collect();
                            let statement = format!("COPY {} ({}) FROM STDIN", part.sql_name, names.join(", "));
                            let copied = tx.copy_stream(statement, receiver).await;
                            producer
                                .await
                                .map_err(|e| Error::Database { context: ctx.into(), message: e.to_string() })?
                                .map_err(|m| corrupt(part, m))?;
                            let n = copied.map_err(Error::db(ctx))?.unwrap_or_default();
                            if n != count as u64 {
                                return Err(Error::Database { context: ctx.into(), message: format!("COPY into {} loaded {n} rows of {count}", part.name) });
                            }
                            rows.insert(part.name.clone(), n);
                            continue;
                        }
                        let mut total = 0u64;
                        let mut held: Vec<Vec<Value>> = Vec::new();
                        let mut chunks: Vec<Vec<Vec<Value>>> = Vec::new();
                        for (bi, batch) in batches.iter().enumerate() {
                            let stored = read_batch(batch, cols).map_err(|m| corrupt(part, m))?;
                            let mut ready = Vec::with_capacity(stored.len());
                            for row in stored {
                                let mut out = Vec::with_capacity(written.len());
                                for (i, v) in row.into_iter().enumerate() {
                                    if cols[i].written {
                                        out.push(bind_form(v, &cols[i], d).map_err(|m| corrupt(part, m))?);
                                    }
                                }
                                ready.push(out);
                            }
                            total += ready.len() as u64;
                            if self_ref {
                                held.extend(ready);
                                if bi + 1 < batches.len() {
                                    continue;
                                }
                                let wcols: Vec<ColSpec> = written.iter().map(|&i| cols[i].clone()).collect();
                                chunks.push(parents_first(t, &wcols, std::mem::take(&mut held)));
                            } else {
                                chunks.push(ready);
                            }
                            // Write what is ready now, so at most one batch is held.
                            for chunk in chunks.drain(..) {
                                if chunk.is_empty() || written.is_empty() {
                                    continue;
                                }
                                let names: Vec<String> = written.iter().map(|&i| d.quote(&cols[i].name)).collect();
                                if d == Dialect::Postgres && chunk.len() >= COPY_THRESHOLD {
                                    let mut data = String::with_capacity(chunk.len() * written.len() * 12);
                                    for row in &chunk {
                                        for (k, v) in row.iter().enumerate() {
                                            if k > 0 {
                                                data.push('\t');
                                            }
                                            copy_field(&mut data, v);
                                        }
                                        data.push('\n');
                                    }
                                    let statement = format!("COPY {} ({}) FROM STDIN", part.sql_name, names.join(", "));
                                    tx.copy_text(statement, data.into_bytes()).await.map_err(Error::db(ctx))?;
                                    continue;
                                }
                                let types: Vec<ColumnType> = written.iter().map(|&i| cols[i].ty.clone()).collect();
                                let casts: Vec<Option<String>> = written.iter().map(|&i| pg_cast(d, t, &cols[i].name)).collect();
                                let overriding = if d == Dialect::Postgres && written.iter().any(|&i| t.get_column(&cols[i].name).is_some_and(|c| c.generated == Some(Generated::Identity))) {
                                    " OVERRIDING SYSTEM VALUE"
                                } else {
                                    ""
                                };
                                let per_stmt = (d.bind_limit() / written.len()).clamp(1, 1000);
                                let mut rest = chunk;
                                while !rest.is_empty() {
                                    let tail = rest.split_off(rest.len().min(per_stmt));
                                    let these = std::mem::replace(&mut rest, tail);
                                    let mut n = 0;
                                    let values: Vec<String> = these.iter().map(|_| {
                                        let ps: Vec<String> = casts.iter().map(|c| {
                                            n += 1;
                                            placeholder(d, n, c.as_deref())
                                        }).collect();
                                        format!("({})", ps.join(", "))
                                    }).collect();
                                    let sql = format!("INSERT INTO {} ({}){overriding} VALUES {}", part.sql_name, names.join(", "), values.join(", "));
                                    let mut q = query_for(pool, sql);
                                    for row in &these {
                                        for (v, ty) in row.iter().zip(&types) {
                                            q = q.bind_value(v, ty);
                                        }
                                    }
                                    q.execute(&mut *tx).await.map_err(Error::db(ctx))?;
                                }
                            }
                        }
                        rows.insert(part.name.clone(), total);
                    }
                    if d == Dialect::Postgres {
                        // Identity sequences continue after the largest restored key.
                        for (part, _, _) in &loaded {
                            for c in part.table.columns.iter().filter(|c| c.generated == Some(Generated::Identity)) {
                                let sql = format!(
                                    "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)",
                                    d.quote(&c.name),
                                    part.sql_name
                                );
                                query_for(pool, sql)
                                    .bind(part.sql_name.clone())
                                    .bind(c.name.clone())
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(Error::db(ctx))?;
                            }
                        }
                    }
                    exec!("COMMIT".into());
                    Ok::<_, Error>((rows, deleted))
                }.await;
                if d == Dialect::MySql && outcome.is_err() {
                    // The connection goes back to the pool: foreign key checks on again.
                    let _ = query_for(pool, "SET FOREIGN_KEY_CHECKS = 1".into()).execute(&mut *guard.conn).await;
                }
                settle!(pool, guard, outcome)
            }.await
        })?;
        tracing::info!(baseline = %manifest.id, "baseline restored");
        Ok(RestoreReport {
            baseline_id: manifest.id.clone(),
            rows,
            deleted,
            audit_run_id: run_id.to_owned(),
        })
    }

    /// How two baselines differ, table by table: rows added, removed and changed, by primary
    /// key (tables without one: by whole row). Both must be of this engine's schema.
    pub async fn diff_baselines(&self, from: &str, to: &str) -> Result<BaselineDiff, Error> {
        let a = self.require_manifest(from).await?;
        let b = self.require_manifest(to).await?;
        self.check_compatible(&a)?;
        self.check_compatible(&b)?;
        let d = self.dialect();
        let mut tables = Vec::new();
        for part in self.baseline_parts()? {
            let cols = specs(&part.table, d);
            let (ea, eb) = (a.table(&part.name), b.table(&part.name));
            if let (Some(x), Some(y)) = (ea, eb)
                && x.checksum == y.checksum
                && x.rows == y.rows
            {
                tables.push(TableDiff {
                    table: part.name.clone(),
                    added: 0,
                    removed: 0,
                    changed: 0,
                    added_keys: Vec::new(),
                    removed_keys: Vec::new(),
                    changed_keys: Vec::new(),
                    truncated: false,
                });
                continue;
            }
            let keyed = !part.table.primary_key.is_empty();
            let key_cols: Vec<usize> = key_columns(&part.table)
                .iter()
                .filter_map(|k| cols.iter().position(|c| &c.name == k))
                .collect();
            let index = |m: &BaselineManifest, e: Option<&BaselineTable>| {
                let (m, cols, key_cols) = (m.clone(), cols.clone(), key_cols.clone());
                let e = e.cloned();
                async move {
                    let mut out: HashMap<String, (serde_json::Value, [u8; 32], u64)> =
                        HashMap::new();
                    let Some(e) = e else {
                        return Ok::<_, Error>(out);
                    };
                    let batches = self.load_part(&m, &e, &cols).await?;
                    let mut scratch = Vec::new();
                    for batch in &batches {
                        let rows =
                            read_batch(batch, &cols).map_err(|message| Error::BaselineCorrupt {
                                id: m.id.clone(),
                                object: e.object.clone(),
                                message,
                            })?;
                        for row in rows {
                            let digest = row_digest(&row, &mut scratch);
                            let key: serde_json::Map<String, serde_json::Value> = key_cols
                                .iter()
                                .map(|&i| (cols[i].name.clone(), row[i].to_json()))
                                .collect();
                            let key = serde_json::Value::Object(key);
                            let entry = out.entry(key.to_string()).or_insert((key, digest, 0));
                            entry.2 += 1;
                        }
                    }
                    Ok(out)
                }
            };
            let before = index(&a, ea).await?;
            let after = index(&b, eb).await?;
            let mut diff = TableDiff {
                table: part.name.clone(),
                added: 0,
                removed: 0,
                changed: 0,
                added_keys: Vec::new(),
                removed_keys: Vec::new(),
                changed_keys: Vec::new(),
                truncated: false,
            };
            let mut added: Vec<(&String, &serde_json::Value)> = Vec::new();
            let mut removed: Vec<(&String, &serde_json::Value)> = Vec::new();
            let mut changed: Vec<(&String, &serde_json::Value)> = Vec::new();
            for (k, (key, digest, n)) in &after {
                match before.get(k) {
                    None => {
                        diff.added += n;
                        added.push((k, key));
                    }
                    Some((_, old, m)) => {
                        if keyed && old != digest {
                            diff.changed += 1;
                            changed.push((k, key));
                        } else if n > m {
                            diff.added += n - m;
                            added.push((k, key));
                        } else if m > n {
                            diff.removed += m - n;
                            removed.push((k, key));
                        }
                    }
                }
            }
            for (k, (key, _, m)) in &before {
                if !after.contains_key(k) {
                    diff.removed += m;
                    removed.push((k, key));
                }
            }
            for (list, out) in [
                (added, &mut diff.added_keys),
                (removed, &mut diff.removed_keys),
                (changed, &mut diff.changed_keys),
            ] {
                let mut list = list;
                list.sort_by(|x, y| x.0.cmp(y.0));
                if list.len() > DIFF_KEY_LIMIT {
                    diff.truncated = true;
                }
                out.extend(
                    list.into_iter()
                        .take(DIFF_KEY_LIMIT)
                        .map(|(_, v)| v.clone()),
                );
            }
            tables.push(diff);
        }
        Ok(BaselineDiff {
            from: a.id,
            to: b.id,
            tables,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn spec(name: &str, ty: &str, nullable: bool, d: Dialect) -> ColSpec {
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
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
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
                    .map(|(v, c)| match (v, &c.ty, d) {
                        (Value::Uuid(u), _, Dialect::Postgres) => Value::Uuid(*u),
                        (Value::Uuid(u), _, _) => Value::Text(u.to_string()),
                        (Value::Json(j), _, Dialect::Postgres) => Value::Json(j.clone()),
                        (Value::Json(j), _, _) => Value::Text(j.to_string()),
                        (Value::Text(s), ColumnType::Json, Dialect::Postgres) => {
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
        let d = Dialect::Postgres;
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
                &spec("i", "integer", false, Dialect::Sqlite)
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
    fn copy_text_writes_dates_and_times_as_postgresql_reads_them() {
        let mut out = String::new();
        let t = ts("2026-06-01 07:08:09.000042");
        for v in [
            Value::Date(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()),
            Value::Timestamp(t),
            Value::TimestampTz(t.and_utc()),
            Value::Null,
            Value::Text("a\tb\\".into()),
        ] {
            copy_value(&mut out, &v);
            out.push('|');
        }
        assert_eq!(
            out,
            "2026-06-01|2026-06-01 07:08:09.000042|2026-06-01 07:08:09.000042+00|\\N|a\\tb\\\\|"
        );
    }

    #[test]
    fn self_references_are_ordered_parents_first() {
        let t = Table::new("node")
            .column(Column::new("id", ColumnType::BigInt))
            .column(Column::new("parent", ColumnType::BigInt).nullable())
            .primary_key(["id"])
            .foreign_key(["parent"], "node", Vec::<String>::new());
        let cols = specs(&t, Dialect::MySql);
        let row = |id: i64, p: Option<i64>| {
            vec![Value::Int(id), p.map(Value::Int).unwrap_or(Value::Null)]
        };
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
}
