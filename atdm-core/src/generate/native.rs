//! Values of database types the model does not interpret ([`ColumnType::Native`]), as text in
//! the form the database reads back into the type.
//!
//! | database | types | value |
//! |---|---|---|
//! | PostgreSQL | `inet`, `cidr` | an address or network in `192.0.2.0/24` (TEST-NET-1, RFC 5737) |
//! | PostgreSQL | `macaddr`, `macaddr8` | a locally administered address |
//! | PostgreSQL | `interval` | a few days and hours |
//! | PostgreSQL | `time`, `timetz` | a time of day |
//! | PostgreSQL | `tsvector`, `tsquery` | two words |
//! | PostgreSQL | `point`, `money`, `xml`, `citext` | a point, an amount, an element, words |
//! | PostgreSQL | `bit(n)`, `bit varying(n)` | `n` binary digits |
//! | PostgreSQL | `int4range`, `int8range`, `numrange`, `daterange` | a short range |
//! | PostgreSQL | arrays (`text[]`, `integer[]`, ...) | one or two elements of a type above or of `text`, `varchar`, integers, `numeric`, `boolean`, `date` |
//! | MySQL | `year`, `time`, `float`, `double` | a year, a time of day, a number |
//! | MySQL | `bit(n)` | a number of `n` bits |
//! | MySQL | `set('a','b',...)` | one or two members |
//! | MySQL | `geometry`, `point` | a point, as the hex of MySQL's internal form (SRID 0) |
//!
//! Any other type (`vector`, `hstore`, a polygon...) has no generated value: a nullable column
//! of it stays NULL, and a NOT NULL one needs a value from the scenario, a default or a
//! registered generator, or planning fails naming the column.

use std::fmt::Write as _;

use fake::locales::{Data, EN};

use super::CellRng;
use crate::schema::Dialect;

/// A value of the native type `name` of `dialect`, drawn from `rng`; `None` when ATDM cannot
/// make one (see the module docs).
pub fn native_value(dialect: Dialect, name: &str, rng: &mut CellRng) -> Option<String> {
    let lower = name.trim().to_ascii_lowercase();
    match dialect {
        Dialect::Postgres => postgres(&lower, rng),
        Dialect::MySql => mysql(name.trim(), &lower, rng),
        Dialect::Sqlite => None,
    }
}

/// Whether [`native_value`] makes values of the type.
pub fn native_supported(dialect: Dialect, name: &str) -> bool {
    native_value(dialect, name, &mut CellRng::new(0, 0, 0, 0)).is_some()
}

/// The part of `name` inside its first parentheses: `bit(8)` gives `8`.
fn args(name: &str) -> Option<&str> {
    let open = name.find('(')?;
    let close = name.rfind(')')?;
    (close > open).then(|| &name[open + 1..close])
}

fn word(rng: &mut CellRng) -> &'static str {
    rng.word(<EN as Data>::LOREM_WORD)
}

fn postgres(name: &str, rng: &mut CellRng) -> Option<String> {
    if let Some(elem) = name.strip_suffix("[]") {
        let mut out = String::from("{");
        for i in 0..1 + rng.below(2) {
            if i > 0 {
                out.push(',');
            }
            let v = postgres_scalar(elem, rng)?;
            // Quoted, so separators and spaces inside the element stay in it.
            out.push('"');
            out.push_str(&v.replace('\\', "\\\\").replace('"', "\\\""));
            out.push('"');
        }
        out.push('}');
        return Some(out);
    }
    postgres_scalar(name, rng)
}

fn postgres_scalar(name: &str, rng: &mut CellRng) -> Option<String> {
    let head = name.split('(').next().unwrap_or(name).trim();
    Some(match head {
        "inet" => format!("192.0.2.{}", 1 + rng.below(254)),
        "cidr" => "192.0.2.0/24".into(),
        "macaddr" => format!("02:00:5e:00:{:02x}:{:02x}", rng.below(256), rng.below(256)),
        "macaddr8" => format!(
            "02:00:5e:ff:fe:00:{:02x}:{:02x}",
            rng.below(256),
            rng.below(256)
        ),
        "interval" => format!("{} days {:02}:00:00", rng.below(30), rng.below(24)),
        "time" | "time without time zone" => clock(rng),
        "timetz" | "time with time zone" => format!("{}+00", clock(rng)),
        "tsvector" => format!("'{}' '{}'", word(rng), word(rng)),
        "tsquery" => format!("'{}' & '{}'", word(rng), word(rng)),
        "point" => format!("({},{})", rng.below(100), rng.below(100)),
        "money" => format!("{}.{:02}", 1 + rng.below(500), rng.below(100)),
        "xml" => format!("<note>{}</note>", word(rng)),
        "citext" | "text" | "character varying" | "varchar" | "character" | "char" | "name" => {
            let w = word(rng);
            match args(name).and_then(|n| n.trim().parse::<usize>().ok()) {
                Some(n) => w.chars().take(n.max(1)).collect(),
                None => w.to_owned(),
            }
        }
        "bit" | "bit varying" | "varbit" => {
            let n = args(name)
                .and_then(|n| n.trim().parse::<u64>().ok())
                .unwrap_or(1)
                .clamp(1, 64);
            (0..n)
                .map(|_| if rng.below(2) == 1 { '1' } else { '0' })
                .collect()
        }
        "smallint" | "integer" | "int" | "int2" | "int4" | "bigint" | "int8" => {
            (1 + rng.below(1000)).to_string()
        }
        "numeric" | "decimal" => format!("{}.{:02}", rng.below(1000), rng.below(100)),
        "real" | "double precision" | "float4" | "float8" => {
            format!("{}.{}", rng.below(1000), rng.below(10))
        }
        "boolean" | "bool" => (if rng.below(2) == 1 { "true" } else { "false" }).into(),
        "date" => format!("2020-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28)),
        "uuid" => {
            let mut u = String::new();
            for i in 0..16 {
                if matches!(i, 4 | 6 | 8 | 10) {
                    u.push('-');
                }
                let b = match i {
                    6 => 0x40 | rng.below(16) as u8,
                    8 => 0x80 | rng.below(64) as u8,
                    _ => rng.below(256) as u8,
                };
                let _ = write!(u, "{b:02x}");
            }
            u
        }
        "int4range" | "int8range" => {
            let lo = rng.below(100);
            format!("[{lo},{})", lo + 1 + rng.below(100))
        }
        "numrange" => {
            let lo = rng.below(100);
            format!("[{lo}.0,{}.5)", lo + 1 + rng.below(100))
        }
        "daterange" => {
            let m = 1 + rng.below(11);
            format!("[2020-{m:02}-01,2020-{:02}-01)", m + 1)
        }
        _ => return None,
    })
}

fn clock(rng: &mut CellRng) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        rng.below(24),
        rng.below(60),
        rng.below(60)
    )
}

fn mysql(name: &str, lower: &str, rng: &mut CellRng) -> Option<String> {
    let head = lower.split('(').next().unwrap_or(lower).trim();
    Some(match head {
        "year" => (1990 + rng.below(36)).to_string(),
        "float" | "double" | "real" | "double precision" => {
            format!("{}.{}", rng.below(1000), rng.below(10))
        }
        "time" => clock(rng),
        "bit" => {
            let n = args(lower)
                .and_then(|n| n.trim().parse::<u32>().ok())
                .unwrap_or(1)
                .clamp(1, 63);
            rng.below(1u64 << n).to_string()
        }
        "set" => {
            let members = set_members(args(name)?);
            if members.is_empty() {
                return None;
            }
            let first = rng.below(members.len() as u64) as usize;
            let second = rng.below(members.len() as u64) as usize;
            let mut chosen = vec![first];
            if second != first && rng.below(2) == 1 {
                chosen.push(second);
            }
            chosen.sort_unstable();
            chosen
                .iter()
                .map(|&i| members[i].as_str())
                .collect::<Vec<_>>()
                .join(",")
        }
        "geometry" | "point" => {
            // MySQL's internal form: a 4-byte SRID, then the well-known binary of the point.
            let (x, y) = (rng.below(180) as f64, rng.below(90) as f64);
            let mut bytes = vec![0u8, 0, 0, 0, 1, 1, 0, 0, 0];
            bytes.extend_from_slice(&x.to_le_bytes());
            bytes.extend_from_slice(&y.to_le_bytes());
            bytes.iter().map(|b| format!("{b:02X}")).collect()
        }
        _ => return None,
    })
}

/// The members of `'a','b','c'` (SQL string literals, quotes doubled inside).
fn set_members(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = list.chars().peekable();
    let mut inside = false;
    while let Some(c) = chars.next() {
        match (inside, c) {
            (false, '\'') => inside = true,
            (true, '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
                cur.push('\'');
            }
            (true, '\'') => {
                inside = false;
                out.push(std::mem::take(&mut cur));
            }
            (true, c) => cur.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn many(d: Dialect, name: &str) -> Vec<String> {
        (0..20)
            .map(|row| native_value(d, name, &mut CellRng::new(7, 1, row, 2)).unwrap())
            .collect()
    }

    #[test]
    fn postgres_types_get_values_in_their_input_form() {
        assert!(
            many(Dialect::Postgres, "inet")
                .iter()
                .all(|v| v.starts_with("192.0.2."))
        );
        assert!(
            many(Dialect::Postgres, "text[]")
                .iter()
                .all(|v| v.starts_with("{\"") && v.ends_with("\"}"))
        );
        assert!(
            many(Dialect::Postgres, "bit(4)")
                .iter()
                .all(|v| v.len() == 4)
        );
        assert!(
            many(Dialect::Postgres, "character varying(3)[]")
                .iter()
                .all(|v| v.split(',').all(|e| e
                    .trim_matches(|c| "{}\"".contains(c))
                    .chars()
                    .count()
                    <= 3))
        );
        assert!(!native_supported(Dialect::Postgres, "vector"));
        assert!(!native_supported(Dialect::Postgres, "vector[]"));
        assert!(!native_supported(Dialect::Sqlite, "inet"));
    }

    #[test]
    fn mysql_sets_pick_members_and_points_are_internal_hex() {
        for v in many(Dialect::MySql, "set('a','it''s','c')") {
            assert!(v.split(',').all(|m| ["a", "it's", "c"].contains(&m)), "{v}");
        }
        for v in many(Dialect::MySql, "geometry") {
            assert_eq!(v.len(), 50, "{v}");
            assert!(v.starts_with("000000000101000000"), "{v}");
        }
        for v in many(Dialect::MySql, "bit(3)") {
            assert!(v.parse::<u64>().unwrap() < 8, "{v}");
        }
    }

    #[test]
    fn values_are_a_function_of_the_stream() {
        assert_eq!(
            many(Dialect::Postgres, "interval"),
            many(Dialect::Postgres, "interval")
        );
    }
}
