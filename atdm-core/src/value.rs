//! Typed values: what a planned cell, a knob or a reference row holds.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::schema::ColumnType;

/// One typed value.
///
/// Serialized with an explicit type tag (`{"type":"date","value":"2026-06-01"}`) so that a
/// serialized plan keeps every type exactly, and byte-identical inputs give byte-identical JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer (integer and bigint columns).
    Int(i64),
    /// An exact decimal (numeric(p,s) columns).
    Numeric(Decimal),
    /// Text (text, varchar and enumeration columns).
    Text(String),
    /// A calendar date.
    Date(NaiveDate),
    /// A timestamp without time zone.
    Timestamp(NaiveDateTime),
    /// A timestamp with time zone, held in UTC.
    TimestampTz(DateTime<Utc>),
    /// A UUID.
    Uuid(Uuid),
    /// A JSON document.
    Json(serde_json::Value),
    /// Raw bytes (serialized as base64).
    Bytes(#[serde(with = "bytes_b64")] Vec<u8>),
}

mod bytes_b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Numeric(d) => d.normalize().hash(state),
            Value::Text(s) => s.hash(state),
            Value::Date(d) => d.hash(state),
            Value::Timestamp(t) => t.hash(state),
            Value::TimestampTz(t) => t.hash(state),
            Value::Uuid(u) => u.hash(state),
            Value::Json(j) => j.to_string().hash(state),
            Value::Bytes(b) => b.hash(state),
        }
    }
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text of a [`Value::Text`], if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean of a [`Value::Bool`], if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A short name of the value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Numeric(_) => "numeric",
            Value::Text(_) => "text",
            Value::Date(_) => "date",
            Value::Timestamp(_) => "timestamp",
            Value::TimestampTz(_) => "timestamptz",
            Value::Uuid(_) => "uuid",
            Value::Json(_) => "json",
            Value::Bytes(_) => "bytes",
        }
    }

    /// Compares two values the way a database would compare them in a check: values of one
    /// kind by their natural order, integers and numerics by their number, texts that hold a
    /// date or timestamp against dates and timestamps. `None` when they cannot be compared
    /// (different kinds, or a NULL, which makes a SQL comparison unknown).
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Null, _) | (_, Null) => None,
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Numeric(a), Numeric(b)) => Some(a.cmp(b)),
            (Int(a), Numeric(b)) => Some(Decimal::from(*a).cmp(b)),
            (Numeric(a), Int(b)) => Some(a.cmp(&Decimal::from(*b))),
            (Text(a), Text(b)) => Some(a.cmp(b)),
            (Date(a), Date(b)) => Some(a.cmp(b)),
            (Timestamp(a), Timestamp(b)) => Some(a.cmp(b)),
            (TimestampTz(a), TimestampTz(b)) => Some(a.cmp(b)),
            (Uuid(a), Uuid(b)) => Some(a.cmp(b)),
            (Bytes(a), Bytes(b)) => Some(a.cmp(b)),
            (Date(_) | Timestamp(_) | TimestampTz(_), Text(t)) => {
                let parsed = parse_like(self, t)?;
                self.compare(&parsed)
            }
            (Text(t), Date(_) | Timestamp(_) | TimestampTz(_)) => {
                let parsed = parse_like(other, t)?;
                parsed.compare(other)
            }
            _ => None,
        }
    }

    /// Converts a value into the given column type: texts are parsed ("2026-06-01" into a
    /// date, "true" into a boolean, "12.50" into a numeric), integers widen into numerics,
    /// and a value that already has the right kind is returned as it is. Enumerations and
    /// varchar keep text; the length and membership checks are the validators' job.
    pub fn coerce(self, ty: &ColumnType) -> Result<Value, String> {
        use ColumnType as T;
        let v = match (self, ty) {
            (Value::Null, _) => Value::Null,
            (v @ Value::Text(_), T::Text | T::Varchar(_) | T::Enum { .. }) => v,
            (Value::Int(i), T::Text | T::Varchar(_) | T::Enum { .. }) => Value::Text(i.to_string()),
            (Value::Bool(b), T::Text | T::Varchar(_) | T::Enum { .. }) => {
                Value::Text(b.to_string())
            }
            (Value::Numeric(d), T::Text | T::Varchar(_) | T::Enum { .. }) => {
                Value::Text(d.to_string())
            }
            (v @ Value::Text(_), T::Native { .. }) => v,
            (v @ (Value::Int(_) | Value::Numeric(_) | Value::Bool(_)), T::Native { .. }) => {
                Value::Text(v.to_string())
            }
            (v @ Value::Int(_), T::Integer | T::BigInt | T::SizedInt { .. }) => v,
            (Value::Text(s), T::Integer | T::BigInt | T::SizedInt { .. }) => Value::Int(
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("{s:?} is not an integer"))?,
            ),
            (Value::Numeric(d), T::Integer | T::BigInt | T::SizedInt { .. })
                if d.fract().is_zero() =>
            {
                Value::Int(
                    i64::try_from(d).map_err(|_| format!("{d} does not fit a 64-bit integer"))?,
                )
            }
            (v @ Value::Numeric(_), T::Numeric { .. }) => v,
            (Value::Int(i), T::Numeric { .. }) => Value::Numeric(Decimal::from(i)),
            (Value::Text(s), T::Numeric { .. }) => Value::Numeric(
                s.trim()
                    .parse::<Decimal>()
                    .map_err(|_| format!("{s:?} is not a number"))?,
            ),
            (v @ Value::Bool(_), T::Boolean) => v,
            (Value::Int(i @ (0 | 1)), T::Boolean) => Value::Bool(i == 1),
            (Value::Text(s), T::Boolean) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "1" | "yes" => Value::Bool(true),
                "false" | "f" | "0" | "no" => Value::Bool(false),
                _ => return Err(format!("{s:?} is not a boolean (use true or false)")),
            },
            (v @ Value::Date(_), T::Date) => v,
            (Value::Text(s), T::Date) => Value::Date(
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map_err(|_| format!("{s:?} is not a date (use YYYY-MM-DD)"))?,
            ),
            (Value::Timestamp(t), T::Date) => Value::Date(t.date()),
            (v @ Value::Timestamp(_), T::Timestamp) => v,
            (Value::TimestampTz(t), T::Timestamp) => Value::Timestamp(t.naive_utc()),
            (Value::Date(d), T::Timestamp) => Value::Timestamp(d.and_time(Default::default())),
            (Value::Text(s), T::Timestamp) => Value::Timestamp(parse_naive_timestamp(&s)?),
            (v @ Value::TimestampTz(_), T::TimestampTz) => v,
            (Value::Timestamp(t), T::TimestampTz) => Value::TimestampTz(t.and_utc()),
            (Value::Date(d), T::TimestampTz) => {
                Value::TimestampTz(d.and_time(Default::default()).and_utc())
            }
            (Value::Text(s), T::TimestampTz) => Value::TimestampTz(parse_timestamptz(&s)?),
            (v @ Value::Uuid(_), T::Uuid) => v,
            (Value::Text(s), T::Uuid) => {
                Value::Uuid(Uuid::parse_str(s.trim()).map_err(|_| format!("{s:?} is not a UUID"))?)
            }
            (v @ Value::Json(_), T::Json) => v,
            (Value::Text(s), T::Json) => Value::Json(
                serde_json::from_str(&s).map_err(|e| format!("{s:?} is not JSON: {e}"))?,
            ),
            (Value::Int(i), T::Json) => Value::Json(i.into()),
            (Value::Bool(b), T::Json) => Value::Json(b.into()),
            (v @ Value::Bytes(_), T::Bytes) => v,
            (Value::Text(s), T::Bytes) => Value::Bytes(s.into_bytes()),
            (v, ty) => {
                return Err(format!(
                    "a {} value cannot be stored in a {ty} column",
                    v.kind()
                ));
            }
        };
        Ok(v)
    }

    /// The value as plain JSON, the way fixtures and results show it: dates and timestamps
    /// as ISO 8601 text, numerics as text (exact), bytes as base64.
    pub fn to_json(&self) -> serde_json::Value {
        use base64::Engine as _;
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Numeric(d) => d.to_string().into(),
            Value::Text(s) => s.clone().into(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string().into(),
            Value::Timestamp(t) => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string().into(),
            Value::TimestampTz(t) => t
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                .into(),
            Value::Uuid(u) => u.to_string().into(),
            Value::Json(j) => j.clone(),
            Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b).into(),
        }
    }

    /// A value from plain JSON (a constraint from a program): strings, booleans, integers,
    /// decimals and null. Arrays and objects become [`Value::Json`].
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => n
                    .to_string()
                    .parse::<Decimal>()
                    .map(Value::Numeric)
                    .unwrap_or_else(|_| Value::Text(n.to_string())),
            },
            serde_json::Value::String(s) => Value::Text(s.clone()),
            other => Value::Json(other.clone()),
        }
    }
}

fn parse_like(typed: &Value, text: &str) -> Option<Value> {
    let ty = match typed {
        Value::Date(_) => ColumnType::Date,
        Value::Timestamp(_) => ColumnType::Timestamp,
        _ => ColumnType::TimestampTz,
    };
    Value::Text(text.to_owned()).coerce(&ty).ok()
}

fn parse_naive_timestamp(s: &str) -> Result<NaiveDateTime, String> {
    let s = s.trim();
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(Default::default()));
    }
    Err(format!(
        "{s:?} is not a timestamp (use YYYY-MM-DDTHH:MM:SS)"
    ))
}

fn parse_timestamptz(s: &str) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Ok(d.with_timezone(&Utc));
    }
    parse_naive_timestamp(t).map(|n| n.and_utc()).map_err(|_| {
        format!("{s:?} is not a timestamp with time zone (use RFC 3339, e.g. 2026-06-01T12:00:00Z)")
    })
}

impl fmt::Display for Value {
    /// SQL-literal-like rendering for messages: `'text'`, `NULL`, `2026-06-01`, `true`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Value::Json(j) => write!(f, "'{j}'"),
            other => match other.to_json() {
                serde_json::Value::String(s) => f.write_str(&s),
                j => write!(f, "{j}"),
            },
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i.into())
    }
}
impl From<NaiveDate> for Value {
    fn from(d: NaiveDate) -> Self {
        Value::Date(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coerce_parses_text_into_column_types() {
        let d = Value::from("2026-06-01").coerce(&ColumnType::Date).unwrap();
        assert_eq!(d, Value::Date(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()));
        assert_eq!(
            Value::from("true").coerce(&ColumnType::Boolean).unwrap(),
            Value::Bool(true)
        );
        let err = Value::from("yes please")
            .coerce(&ColumnType::Boolean)
            .unwrap_err();
        assert!(err.contains("not a boolean"), "{err}");
        let ts = Value::from("2026-06-01T12:00:00Z")
            .coerce(&ColumnType::TimestampTz)
            .unwrap();
        assert_eq!(ts.to_json(), serde_json::json!("2026-06-01T12:00:00Z"));
    }

    #[test]
    fn compare_follows_sql_semantics() {
        assert_eq!(
            Value::Int(2).compare(&Value::Numeric(Decimal::new(15, 1))),
            Some(Ordering::Greater)
        );
        assert_eq!(Value::Null.compare(&Value::Int(1)), None);
        let d = Value::Date(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        assert_eq!(
            d.compare(&Value::from("2026-05-31")),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn serialization_keeps_types() {
        let v = Value::Date(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(text, r#"{"type":"date","value":"2026-06-01"}"#);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
        let b = Value::Bytes(vec![0, 255]);
        assert_eq!(
            serde_json::from_str::<Value>(&serde_json::to_string(&b).unwrap()).unwrap(),
            b
        );
    }

    #[test]
    fn display_quotes_text_for_messages() {
        assert_eq!(Value::from("it's").to_string(), "'it''s'");
        assert_eq!(Value::Null.to_string(), "NULL");
        assert_eq!(Value::Int(7).to_string(), "7");
    }
}
