//! Value expressions of scenario files: literals, templates, knob lookups, references.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::value::Value;

/// A built-in template variable, or a knob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Var {
    /// `{run_id}`: the run id.
    RunId,
    /// `{row}`: the row's index within its `[[rows]]` entry, from 0.
    Row,
    /// `{today}`, `{today+30d}`, `{today-180d}`: the reference date moved by whole days.
    Today(i64),
    /// `{year_start}`: the first of January of the reference date's year.
    YearStart,
    /// `{knob}`: a knob's resolved value.
    Knob(String),
}

/// A piece of a template string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Literal text.
    Text(String),
    /// A variable.
    Var(Var),
}

/// An expression for a column value or a knob default, as written in a scenario file.
///
/// | file form | meaning |
/// |---|---|
/// | `42`, `true`, `2026-06-01` | a literal |
/// | `"active"` | literal text |
/// | `"m-{run_id}"` | a template: text with `{run_id}`, `{row}`, `{today}`, `{today+30d}`, `{year_start}` or `{knob}` (write `{{` and `}}` for braces) |
/// | `"{member_status}"`, `"{today-180d}"` | one variable alone keeps its type (a knob's boolean, a date) |
/// | `"@plan"`, `"@order.tenant"` | a reference to the row with alias `plan` (its key, or the column a foreign key pairs with) |
/// | `{ knob = "claim_status", map = { denied = "00000" }, else = "99213" }` | a value chosen by a knob's value |
/// | `{ pick = ["Bronze", "Gold"] }` | one of the values, chosen by the run's seed |
/// | `{ generate = "healthcare.npi_fake" }` | a registered generator |
/// | `{ existing = "product" }` | the key of a row that exists before the run (reference rows, or rows the engine reads) |
/// | `{ null = true }` | NULL |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// A literal.
    Lit(Value),
    /// A template of text and variables.
    Template(Vec<Part>),
    /// A single variable, keeping its type.
    Var(Var),
    /// A reference to another row.
    Ref {
        /// The row alias.
        alias: String,
        /// The column of that row; `None` picks the column a foreign key pairs with, or
        /// the row's single-column primary key.
        column: Option<String>,
    },
    /// A value chosen by a knob's value.
    Map {
        /// The knob.
        knob: String,
        /// Values by the knob's value (as text).
        cases: BTreeMap<String, Expr>,
        /// The value for any other knob value; NULL when absent.
        otherwise: Option<Box<Expr>>,
    },
    /// One of several values, chosen by the seed.
    Pick(Vec<Value>),
    /// A registered generator.
    Generate(String),
    /// A key of a row that exists before the run.
    Existing {
        /// The table.
        table: String,
    },
    /// NULL.
    Null,
}

impl Expr {
    /// Reads an expression from its TOML form. `path` names the field for errors.
    pub(crate) fn from_toml(v: &toml::Value, path: &str) -> Result<Expr, String> {
        Ok(match v {
            toml::Value::String(s) => parse_string(s)?,
            toml::Value::Integer(i) => Expr::Lit(Value::Int(*i)),
            toml::Value::Float(f) => Expr::Lit(Value::Numeric(
                rust_decimal::Decimal::try_from(*f).map_err(|e| format!("{f}: {e}"))?,
            )),
            toml::Value::Boolean(b) => Expr::Lit(Value::Bool(*b)),
            toml::Value::Datetime(d) => Expr::Lit(Value::Text(d.to_string())),
            toml::Value::Array(_) => return Err(
                "a list is not a value here; use { pick = [...] } to choose one of several values"
                    .into(),
            ),
            toml::Value::Table(t) => {
                let keys: Vec<&str> = t.keys().map(String::as_str).collect();
                let allowed = |ok: &[&str]| -> Result<(), String> {
                    match keys.iter().find(|k| !ok.contains(k)) {
                        Some(k) => Err(format!(
                            "unknown key {k:?}; allowed here: {}",
                            ok.join(", ")
                        )),
                        None => Ok(()),
                    }
                };
                if let Some(knob) = t.get("knob") {
                    allowed(&["knob", "map", "else"])?;
                    let knob = knob
                        .as_str()
                        .ok_or("`knob` must be a knob name")?
                        .to_owned();
                    let map = t.get("map").and_then(|m| m.as_table()).ok_or(
                        "a knob lookup needs `map = { value = ..., ... }`; for the knob's own value write \"{knob}\"",
                    )?;
                    let mut cases = BTreeMap::new();
                    for (k, v) in map {
                        cases.insert(k.clone(), Expr::from_toml(v, &format!("{path}.map.{k}"))?);
                    }
                    let otherwise = match t.get("else") {
                        Some(e) => Some(Box::new(Expr::from_toml(e, &format!("{path}.else"))?)),
                        None => None,
                    };
                    Expr::Map {
                        knob,
                        cases,
                        otherwise,
                    }
                } else if let Some(p) = t.get("pick") {
                    allowed(&["pick"])?;
                    let items = p.as_array().ok_or("`pick` must be a list of values")?;
                    if items.is_empty() {
                        return Err("`pick` needs at least one value".into());
                    }
                    let mut values = Vec::new();
                    for item in items {
                        match Expr::from_toml(item, path)? {
                            Expr::Lit(v) => values.push(v),
                            _ => return Err("`pick` may only list literal values".into()),
                        }
                    }
                    Expr::Pick(values)
                } else if let Some(g) = t.get("generate") {
                    allowed(&["generate"])?;
                    Expr::Generate(
                        g.as_str()
                            .ok_or("`generate` must name a generator")?
                            .to_owned(),
                    )
                } else if let Some(e) = t.get("existing") {
                    allowed(&["existing"])?;
                    Expr::Existing {
                        table: e.as_str().ok_or("`existing` must name a table")?.to_owned(),
                    }
                } else if let Some(n) = t.get("null") {
                    allowed(&["null"])?;
                    if n.as_bool() != Some(true) {
                        return Err("write `{ null = true }` for NULL".into());
                    }
                    Expr::Null
                } else {
                    return Err(format!(
                        "unknown expression with keys {keys:?}; use one of {{ knob, map, else }}, {{ pick }}, {{ generate }}, {{ existing }}, {{ null }}"
                    ));
                }
            }
        })
    }

    /// The knobs and aliases an expression reads, for load-time checks.
    pub(crate) fn visit(&self, f: &mut dyn FnMut(Dep<'_>)) {
        match self {
            Expr::Template(parts) => {
                for p in parts {
                    if let Part::Var(Var::Knob(k)) = p {
                        f(Dep::Knob(k));
                    }
                }
            }
            Expr::Var(Var::Knob(k)) => f(Dep::Knob(k)),
            Expr::Ref { alias, column } => f(Dep::Alias(alias, column.as_deref())),
            Expr::Map {
                knob,
                cases,
                otherwise,
            } => {
                f(Dep::Knob(knob));
                for c in cases.values() {
                    c.visit(f);
                }
                if let Some(o) = otherwise {
                    o.visit(f);
                }
            }
            Expr::Generate(g) => f(Dep::Generator(g)),
            Expr::Existing { table } => f(Dep::Table(table)),
            _ => {}
        }
    }
}

/// Something an expression depends on.
pub(crate) enum Dep<'a> {
    Knob(&'a str),
    Alias(&'a str, Option<&'a str>),
    Generator(&'a str),
    Table(&'a str),
}

fn parse_var(name: &str) -> Result<Var, String> {
    let name = name.trim();
    if name == "run_id" {
        return Ok(Var::RunId);
    }
    if name == "row" {
        return Ok(Var::Row);
    }
    if name == "year_start" {
        return Ok(Var::YearStart);
    }
    if let Some(rest) = name.strip_prefix("today") {
        if rest.is_empty() {
            return Ok(Var::Today(0));
        }
        let bad = || format!("{{{name}}}: write a day offset as {{today+30d}} or {{today-180d}}");
        let (sign, num) = match rest.as_bytes()[0] {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return Err(bad()),
        };
        let days: i64 = num
            .strip_suffix('d')
            .ok_or_else(bad)?
            .trim()
            .parse()
            .map_err(|_| bad())?;
        return Ok(Var::Today(sign * days));
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "{{{name}}} is not a variable; use {{run_id}}, {{row}}, {{today}}, {{today+Nd}}, {{year_start}} or a knob name"
        ));
    }
    Ok(Var::Knob(name.to_owned()))
}

fn parse_string(s: &str) -> Result<Expr, String> {
    if let Some(rest) = s.strip_prefix("@@") {
        return Ok(Expr::Lit(Value::Text(format!("@{rest}"))));
    }
    if let Some(target) = s.strip_prefix('@') {
        let (alias, column) = match target.split_once('.') {
            Some((a, c)) => (a, Some(c.to_owned())),
            None => (target, None),
        };
        if alias.is_empty() {
            return Err("`@` must be followed by a row alias (write `@@` for a literal @)".into());
        }
        return Ok(Expr::Ref {
            alias: alias.to_owned(),
            column,
        });
    }
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) => name.push(ch),
                        None => {
                            return Err(format!(
                                "unclosed `{{` in {s:?} (write `{{{{` for a literal brace)"
                            ));
                        }
                    }
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Var(parse_var(&name)?));
            }
            '}' => {
                return Err(format!(
                    "unmatched `}}` in {s:?} (write `}}}}` for a literal brace)"
                ));
            }
            other => text.push(other),
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(match parts.as_slice() {
        [] => Expr::Lit(Value::Text(String::new())),
        [Part::Text(t)] => Expr::Lit(Value::Text(t.clone())),
        [Part::Var(v)] => Expr::Var(v.clone()),
        _ => Expr::Template(parts),
    })
}

/// Evaluates a built-in variable.
pub(crate) fn builtin(var: &Var, run_id: &str, row: u32, today: NaiveDate) -> Option<Value> {
    Some(match var {
        Var::RunId => Value::Text(run_id.to_owned()),
        Var::Row => Value::Int(i64::from(row)),
        Var::Today(d) => Value::Date(today + Duration::days(*d)),
        Var::YearStart => {
            Value::Date(NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("January 1st exists"))
        }
        Var::Knob(_) => return None,
    })
}

/// Appends a value's plain text (as a template shows it).
pub(crate) fn push_text(out: &mut String, v: &Value) {
    match v {
        Value::Null => {}
        Value::Text(s) => out.push_str(s),
        other => match other.to_json() {
            serde_json::Value::String(s) => out.push_str(&s),
            j => out.push_str(&j.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Expr {
        parse_string(s).unwrap()
    }

    #[test]
    fn strings_parse_into_expressions() {
        assert_eq!(p("active"), Expr::Lit("active".into()));
        assert_eq!(
            p("{member_status}"),
            Expr::Var(Var::Knob("member_status".into()))
        );
        assert_eq!(p("{today-180d}"), Expr::Var(Var::Today(-180)));
        assert_eq!(
            p("@plan"),
            Expr::Ref {
                alias: "plan".into(),
                column: None
            }
        );
        assert_eq!(
            p("@order.tenant"),
            Expr::Ref {
                alias: "order".into(),
                column: Some("tenant".into())
            }
        );
        assert_eq!(p("@@handle"), Expr::Lit("@handle".into()));
        assert_eq!(p("{{literal}}"), Expr::Lit("{literal}".into()));
        assert_eq!(
            p("m-{run_id}"),
            Expr::Template(vec![Part::Text("m-".into()), Part::Var(Var::RunId)])
        );
    }

    #[test]
    fn malformed_strings_say_what_to_write() {
        assert!(
            parse_string("{today+3}")
                .unwrap_err()
                .contains("{today+30d}")
        );
        assert!(parse_string("a{b").unwrap_err().contains("unclosed"));
        assert!(
            parse_string("{a b}")
                .unwrap_err()
                .contains("not a variable")
        );
    }
}
