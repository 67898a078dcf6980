//! Column types and their textual form (`varchar(40)`, `numeric(10,2)`, `enum(a, b)`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The type of a column, independent of the database that stores it.
///
/// The textual form is what schema files use and what [`fmt::Display`] prints:
/// `text`, `varchar(n)`, `integer`, `bigint`, `numeric(p,s)`, `boolean`, `date`, `timestamp`,
/// `timestamptz`, `uuid`, `json`, `bytes`, and `enum(a, b, c)` or `enum name(a, b, c)` (the
/// name is the PostgreSQL type name). Common aliases parse too (`int`, `int8`, `bool`,
/// `decimal(p,s)`, `jsonb`, `bytea`, `blob`, `timestamp with time zone`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Unbounded text.
    Text,
    /// Text of at most `n` characters.
    Varchar(u32),
    /// A 32-bit integer.
    Integer,
    /// A 64-bit integer.
    BigInt,
    /// An exact decimal with `precision` digits, `scale` of them after the point.
    Numeric {
        /// Total digits.
        precision: u8,
        /// Digits after the decimal point.
        scale: u8,
    },
    /// A boolean.
    Boolean,
    /// A calendar date.
    Date,
    /// A timestamp without time zone.
    Timestamp,
    /// A timestamp with time zone (stored in UTC).
    TimestampTz,
    /// A UUID.
    Uuid,
    /// A JSON document.
    Json,
    /// Raw bytes.
    Bytes,
    /// An enumeration of text values.
    Enum {
        /// The database type name (PostgreSQL); `None` lets the DDL derive one.
        name: Option<String>,
        /// The allowed values, in declared order.
        values: Vec<String>,
    },
}

impl ColumnType {
    /// True for text-like types (text, varchar, enumerations).
    pub fn is_textual(&self) -> bool {
        matches!(
            self,
            ColumnType::Text | ColumnType::Varchar(_) | ColumnType::Enum { .. }
        )
    }

    /// True for integer and numeric types.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            ColumnType::Integer | ColumnType::BigInt | ColumnType::Numeric { .. }
        )
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Text => f.write_str("text"),
            ColumnType::Varchar(n) => write!(f, "varchar({n})"),
            ColumnType::Integer => f.write_str("integer"),
            ColumnType::BigInt => f.write_str("bigint"),
            ColumnType::Numeric { precision, scale } => write!(f, "numeric({precision},{scale})"),
            ColumnType::Boolean => f.write_str("boolean"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Timestamp => f.write_str("timestamp"),
            ColumnType::TimestampTz => f.write_str("timestamptz"),
            ColumnType::Uuid => f.write_str("uuid"),
            ColumnType::Json => f.write_str("json"),
            ColumnType::Bytes => f.write_str("bytes"),
            ColumnType::Enum { name, values } => {
                f.write_str("enum")?;
                if let Some(name) = name {
                    write!(f, " {name}")?;
                }
                write!(f, "({})", values.join(", "))
            }
        }
    }
}

/// The reason a type text did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeParseError(pub String);

impl fmt::Display for TypeParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TypeParseError {}

const KNOWN: &str = "text, varchar(n), integer, bigint, numeric(p,s), boolean, date, timestamp, \
                     timestamptz, uuid, json, bytes, enum(a, b, ...)";

impl FromStr for ColumnType {
    type Err = TypeParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text.trim();
        let lower = s.to_ascii_lowercase();
        let (head, args) = match lower.find('(') {
            Some(open) if lower.ends_with(')') => (
                lower[..open].trim().to_owned(),
                Some(&s[open + 1..s.len() - 1]),
            ),
            _ => (lower.clone(), None),
        };
        let bad = || {
            TypeParseError(format!(
                "unknown column type {text:?}; known types: {KNOWN}"
            ))
        };
        let num = |a: &str| a.trim().parse::<u32>().map_err(|_| bad());
        if let Some(rest) = head.strip_prefix("enum") {
            let args = args.ok_or_else(bad)?;
            let name = rest.trim();
            let values: Vec<String> = args
                .split(',')
                .map(|v| v.trim().trim_matches('\'').to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return Err(TypeParseError(format!(
                    "enumeration {text:?} lists no values"
                )));
            }
            let name = (!name.is_empty()).then(|| s[4..4 + rest.len()].trim().to_owned());
            return Ok(ColumnType::Enum { name, values });
        }
        let ty = match (head.as_str(), args) {
            ("text" | "string" | "clob" | "longtext" | "mediumtext", None) => ColumnType::Text,
            ("varchar" | "character varying" | "char" | "character" | "nvarchar", Some(n)) => {
                ColumnType::Varchar(num(n)?)
            }
            ("varchar" | "character varying", None) => ColumnType::Text,
            ("integer" | "int" | "int4" | "smallint" | "int2" | "mediumint", None) => {
                ColumnType::Integer
            }
            ("bigint" | "int8", None) => ColumnType::BigInt,
            ("numeric" | "decimal", Some(a)) => {
                let mut parts = a.split(',');
                let p = num(parts.next().unwrap_or(""))?;
                let sc = match parts.next() {
                    Some(x) => num(x)?,
                    None => 0,
                };
                if p == 0 || p > 38 || sc > p {
                    return Err(TypeParseError(format!(
                        "{text:?}: precision must be 1..=38 and scale at most the precision"
                    )));
                }
                ColumnType::Numeric {
                    precision: p as u8,
                    scale: sc as u8,
                }
            }
            ("numeric" | "decimal", None) => ColumnType::Numeric {
                precision: 38,
                scale: 10,
            },
            ("boolean" | "bool", None) => ColumnType::Boolean,
            ("date", None) => ColumnType::Date,
            ("timestamp" | "datetime" | "timestamp without time zone", _) => ColumnType::Timestamp,
            ("timestamptz" | "timestamp with time zone", _) => ColumnType::TimestampTz,
            ("uuid", None) => ColumnType::Uuid,
            ("json" | "jsonb", None) => ColumnType::Json,
            ("bytes" | "bytea" | "blob" | "longblob" | "binary" | "varbinary", _) => {
                ColumnType::Bytes
            }
            _ => return Err(bad()),
        };
        Ok(ty)
    }
}

impl Serialize for ColumnType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_text() {
        for text in [
            "text",
            "varchar(40)",
            "integer",
            "bigint",
            "numeric(10,2)",
            "boolean",
            "date",
            "timestamp",
            "timestamptz",
            "uuid",
            "json",
            "bytes",
            "enum(a, b)",
            "enum claim_status(paid, denied)",
        ] {
            let ty: ColumnType = text.parse().unwrap();
            assert_eq!(ty.to_string(), text);
        }
    }

    #[test]
    fn aliases_and_errors() {
        assert_eq!("INT8".parse::<ColumnType>().unwrap(), ColumnType::BigInt);
        assert_eq!(
            "timestamp with time zone".parse::<ColumnType>().unwrap(),
            ColumnType::TimestampTz
        );
        let err = "money".parse::<ColumnType>().unwrap_err();
        assert!(err.0.contains("known types"), "{err}");
        assert!("numeric(3,5)".parse::<ColumnType>().is_err());
    }
}
