//! Column types and their textual form (`varchar(40)`, `numeric(10,2)`, `enum(a, b)`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Dialect;

/// The type of a column, independent of the database that stores it.
///
/// The textual form is what schema files use and what [`fmt::Display`] prints:
/// `text`, `varchar(n)`, `integer`, `bigint`, `numeric(p,s)`, `boolean`, `date`, `timestamp`,
/// `timestamptz`, `uuid`, `json`, `bytes`, and `enum(a, b, c)` or `enum name(a, b, c)` (the
/// name is the PostgreSQL type name). Common aliases parse too (`int`, `int8`, `bool`,
/// `decimal(p,s)`, `jsonb`, `bytea`, `blob`, `timestamp with time zone`, ...).
///
/// Integers of other widths and unsigned integers are `tinyint`, `smallint`, `mediumint`, and
/// any of those (and `integer`, `bigint`) followed by `unsigned`. A type the model does not
/// interpret is kept under its database and the database's own name for it
/// (`postgres:inet`, `postgres:text[]`, `mysql:geometry`), so no column is ever dropped from
/// a schema.
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
    /// An integer of another width than [`ColumnType::Integer`] (32 bits) and
    /// [`ColumnType::BigInt`] (64 bits), or an unsigned one: MySQL's `TINYINT`, `SMALLINT`,
    /// `MEDIUMINT` and `UNSIGNED` types, PostgreSQL's `smallint`. Values stay within
    /// [`ColumnType::int_range`].
    SizedInt {
        /// 8, 16, 24, 32 or 64.
        bits: u8,
        /// Whether the range starts at 0.
        unsigned: bool,
    },
    /// A type the model does not interpret, under its database and the database's own name for
    /// it (`inet`, `interval`, `tsvector`, `text[]`, `geometry`, `set('a','b')`). Its values
    /// are text, in a form the database reads back into the type; ATDM makes values for many
    /// of them (see [`crate::generate::native_value`]), the others come from a scenario, a
    /// default or a registered generator.
    Native {
        /// The database the name belongs to.
        dialect: Dialect,
        /// The type as the database names it.
        name: String,
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
        self.is_integer() || matches!(self, ColumnType::Numeric { .. })
    }

    /// True for integer types of any width.
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. }
        )
    }

    /// The smallest and largest value of an integer type (an unsigned 64-bit integer stops at
    /// `i64::MAX`, the largest value the model holds); `None` for other types.
    pub fn int_range(&self) -> Option<(i64, i64)> {
        match self {
            ColumnType::Integer => Some((i32::MIN.into(), i32::MAX.into())),
            ColumnType::BigInt => Some((i64::MIN, i64::MAX)),
            ColumnType::SizedInt { bits, unsigned } => {
                let bits = u32::from((*bits).clamp(8, 64));
                Some(if *unsigned {
                    (0, i64::try_from((1u128 << bits) - 1).unwrap_or(i64::MAX))
                } else {
                    let half = 1i128 << (bits - 1);
                    (
                        i64::try_from(-half).unwrap_or(i64::MIN),
                        i64::try_from(half - 1).unwrap_or(i64::MAX),
                    )
                })
            }
            _ => None,
        }
    }

    /// The type of an integer of `bits` bits, signed or not: [`ColumnType::Integer`] and
    /// [`ColumnType::BigInt`] for the signed 32 and 64 bits, [`ColumnType::SizedInt`] else.
    pub fn int(bits: u8, unsigned: bool) -> ColumnType {
        match (bits, unsigned) {
            (32, false) => ColumnType::Integer,
            (64, false) => ColumnType::BigInt,
            (bits, unsigned) => ColumnType::SizedInt { bits, unsigned },
        }
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
            ColumnType::SizedInt { bits, unsigned } => {
                f.write_str(match bits {
                    8 => "tinyint",
                    16 => "smallint",
                    24 => "mediumint",
                    64 => "bigint",
                    _ => "integer",
                })?;
                if *unsigned {
                    f.write_str(" unsigned")?;
                }
                Ok(())
            }
            ColumnType::Native { dialect, name } => write!(f, "{}:{name}", dialect.as_str()),
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

const KNOWN: &str = "text, varchar(n), integer, bigint, tinyint, smallint, mediumint (each may be \
                     followed by unsigned), numeric(p,s), boolean, date, timestamp, timestamptz, \
                     uuid, json, bytes, enum(a, b, ...), and a database's own type as postgres:<type>, \
                     mysql:<type> or sqlite:<type>";

impl FromStr for ColumnType {
    type Err = TypeParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let s = text.trim();
        if let Some((db, name)) = s.split_once(':') {
            let dialect = match db.trim().to_ascii_lowercase().as_str() {
                "postgres" | "postgresql" => Some(Dialect::Postgres),
                "mysql" | "mariadb" => Some(Dialect::MySql),
                "sqlite" => Some(Dialect::Sqlite),
                _ => None,
            };
            if let Some(dialect) = dialect {
                let name = name.trim();
                if name.is_empty() {
                    return Err(TypeParseError(format!(
                        "{text:?} names no database type; write <database>:<type>, e.g. postgres:inet"
                    )));
                }
                // PostgreSQL type names are written into casts: only the characters type
                // names use (no quote, semicolon or comment) are accepted.
                let safe = |c: char| c.is_ascii_alphanumeric() || " _,.()[]\"".contains(c);
                if dialect == Dialect::Postgres && !name.chars().all(safe) {
                    return Err(TypeParseError(format!(
                        "{text:?} is not a PostgreSQL type name (letters, digits, spaces and _ , . ( ) [ ] \" only)"
                    )));
                }
                return Ok(ColumnType::Native {
                    dialect,
                    name: name.to_owned(),
                });
            }
        }
        let lower = s.to_ascii_lowercase();
        if let Some(signed) = lower.strip_suffix(" unsigned") {
            let bits = match signed.trim() {
                "tinyint" => 8,
                "smallint" => 16,
                "mediumint" => 24,
                "integer" | "int" => 32,
                "bigint" => 64,
                _ => {
                    return Err(TypeParseError(format!(
                        "unknown column type {text:?}: unsigned goes with tinyint, smallint, mediumint, integer or bigint"
                    )));
                }
            };
            return Ok(ColumnType::int(bits, true));
        }
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
            ("integer" | "int" | "int4", None) => ColumnType::Integer,
            ("tinyint", None) => ColumnType::int(8, false),
            ("smallint" | "int2", None) => ColumnType::int(16, false),
            ("mediumint", None) => ColumnType::int(24, false),
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
            "tinyint",
            "smallint unsigned",
            "mediumint",
            "integer unsigned",
            "bigint unsigned",
            "postgres:inet",
            "postgres:character varying(20)[]",
            "mysql:set('a','b')",
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
        assert_eq!(
            "INT UNSIGNED".parse::<ColumnType>().unwrap().to_string(),
            "integer unsigned"
        );
        assert!("boolean unsigned".parse::<ColumnType>().is_err());
        assert!("postgres:".parse::<ColumnType>().is_err());
        assert!("postgres:inet; drop table x".parse::<ColumnType>().is_err());
        assert!("postgres:int4 -- x".parse::<ColumnType>().is_err());
        assert_eq!(
            "MySQL:geometry".parse::<ColumnType>().unwrap(),
            ColumnType::Native {
                dialect: Dialect::MySql,
                name: "geometry".into()
            }
        );
    }

    #[test]
    fn integer_ranges_follow_width_and_sign() {
        let range = |t: &str| t.parse::<ColumnType>().unwrap().int_range().unwrap();
        assert_eq!(range("tinyint"), (-128, 127));
        assert_eq!(range("tinyint unsigned"), (0, 255));
        assert_eq!(range("smallint"), (-32768, 32767));
        assert_eq!(range("mediumint unsigned"), (0, 16_777_215));
        assert_eq!(range("integer"), (i32::MIN.into(), i32::MAX.into()));
        assert_eq!(range("integer unsigned"), (0, u32::MAX.into()));
        assert_eq!(range("bigint unsigned"), (0, i64::MAX));
        assert_eq!("text".parse::<ColumnType>().unwrap().int_range(), None);
    }
}
