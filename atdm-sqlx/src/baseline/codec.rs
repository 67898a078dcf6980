//! How values are kept: the Parquet kind of each column, the exact stored form of a value, its
//! canonical encoding for checksums, and the form a restore binds.

use atdm_core::Value;
use atdm_core::schema::{Column, ColumnType, Generated, Table};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::{LEDGER, RUNS};
use crate::backend::ValueForms;

/// How a column is kept in Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
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
pub(crate) struct ColSpec {
    pub(crate) name: String,
    pub(crate) ty: ColumnType,
    pub(crate) nullable: bool,
    pub(crate) kind: Kind,
    /// The type the column is decoded as (uuid and json as text on SQLite and MySQL, so the
    /// text the database holds is kept as it is).
    pub(crate) read_ty: ColumnType,
    /// False for computed columns: kept in the baseline, never written back.
    pub(crate) written: bool,
}

pub(crate) fn kind_of(ty: &ColumnType, forms: ValueForms) -> Kind {
    match ty {
        ColumnType::Integer if forms.integer_is_64_bit => Kind::Int64,
        ColumnType::Integer => Kind::Int32,
        ColumnType::BigInt | ColumnType::SizedInt { .. } => Kind::Int64,
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
        | ColumnType::Json
        | ColumnType::Native { .. } => Kind::Utf8,
    }
}

pub(crate) fn specs(t: &Table, forms: ValueForms) -> Vec<ColSpec> {
    t.columns
        .iter()
        .map(|c| ColSpec {
            name: c.name.clone(),
            ty: c.ty.clone(),
            nullable: c.nullable,
            kind: kind_of(&c.ty, forms),
            read_ty: match (&c.ty, forms.uuid_json_as_text) {
                (ColumnType::Uuid | ColumnType::Json, true) => ColumnType::Text,
                (ty, _) => ty.clone(),
            },
            written: !matches!(c.generated, Some(Generated::Computed(_))),
        })
        .collect()
}

/// The run catalog and ledger as tables of the model (columns as in `catalog.rs`).
pub(super) fn catalog_tables() -> [Table; 2] {
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

pub(super) fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

pub(super) fn micros_exact(t: chrono::NaiveDateTime) -> Result<i64, String> {
    use chrono::Timelike;
    if !t.nanosecond().is_multiple_of(1000) {
        return Err(format!(
            "{t} has sub-microsecond precision, which a baseline cannot hold exactly"
        ));
    }
    Ok(t.and_utc().timestamp_micros())
}

/// The value as the baseline stores it: the column's exact form for its Parquet type.
pub(crate) fn stored_value(v: Value, c: &ColSpec) -> Result<Value, String> {
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
pub(super) fn encode_value(v: &Value, out: &mut Vec<u8>) {
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
pub(super) fn row_digest(row: &[Value], buf: &mut Vec<u8>) -> [u8; 32] {
    buf.clear();
    for v in row {
        encode_value(v, buf);
    }
    Sha256::digest(buf.as_slice()).into()
}

/// An order-independent checksum: row digests summed modulo 2^256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Checksum {
    pub(super) rows: u64,
    /// Little-endian 64-bit limbs.
    pub(super) sum: [u64; 4],
}

impl Checksum {
    pub(super) fn add(&mut self, digest: &[u8; 32]) {
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

    pub(super) fn hex(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"atdm-baseline-table-checksum-v1\0");
        h.update(self.rows.to_be_bytes());
        for limb in self.sum.iter().rev() {
            h.update(limb.to_be_bytes());
        }
        hex(&h.finalize())
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A stored value made ready to bind on a backend that holds values as `forms` says.
pub(crate) fn bind_form(v: Value, c: &ColSpec, forms: ValueForms) -> Result<Value, String> {
    Ok(match (v, &c.ty) {
        (Value::Text(s), ColumnType::Uuid) if !forms.uuid_json_as_text => Value::Uuid(
            uuid::Uuid::parse_str(&s).map_err(|e| format!("column {}: {s:?}: {e}", c.name))?,
        ),
        (Value::Text(s), ColumnType::Json) if !forms.uuid_json_as_text => {
            Value::Json(serde_json::from_str(&s).map_err(|e| format!("column {}: {e}", c.name))?)
        }
        (Value::Text(s), ColumnType::Numeric { .. }) => Value::Numeric(
            s.parse::<Decimal>()
                .map_err(|e| format!("column {}: {s:?}: {e}", c.name))?,
        ),
        (Value::Int(i), ColumnType::Integer) if !forms.integer_is_64_bit => {
            i32::try_from(i)
                .map_err(|_| format!("column {}: {i} does not fit a 32-bit integer", c.name))?;
            Value::Int(i)
        }
        (v, _) => v,
    })
}
