//! Declarative scenarios: the file format, inheritance, knobs and constraint merging.
//!
//! A scenario names the rows it seeds and the knobs a caller may turn. It is written in TOML,
//! which Rust users already know from `Cargo.toml`: it has typed values (dates, booleans,
//! integers), comments, and a strict parser that reports unknown keys with their line. (YAML's
//! implicit typing turns `no` into false and `1.10` into 1.1; JSON has no comments.)
//!
//! ```toml
//! id = "claim_denial_active_member"
//! description = "Active member with one denied claim from an out-of-network provider."
//! tags = ["headline", "denial"]
//! requirements = ["FR-001", "FR-011"]
//! validators = ["healthcare.denial_requires_invalid_code"]
//! extends = "healthcare_claim_bundle"      # inherit knobs and rows from a template
//!
//! [defaults]                               # change inherited knob defaults
//! claim_status = "denied"
//! provider_network = "out_of_network"
//!
//! [knobs.claim_status]                     # or declare knobs here
//! values = ["paid", "denied", "pending"]
//! default = "paid"
//!
//! [[rows]]
//! alias = "claim"
//! table = "claim"
//! set = { claim_id = "claim-{run_id}", member_id = "@member", status = "{claim_status}" }
//! ```
//!
//! See [`Expr`] for what a value may be, [`Knob`] for knobs, [`RowSpec`] for rows.

mod catalog;
mod expr;
mod load;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use catalog::{Catalog, Match};
pub(crate) use expr::{Dep, builtin, push_text};
pub use expr::{Expr, Part, Var};
pub use load::parse_scenarios;

use crate::error::Error;
use crate::value::Value;

/// The type of an open-domain knob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnobType {
    /// Any text.
    Text,
    /// true or false.
    Boolean,
    /// Any integer.
    Integer,
    /// Any date (YYYY-MM-DD).
    Date,
}

/// The values a knob accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// Exactly these values.
    Values(Vec<Value>),
    /// Any value of a type.
    Any(KnobType),
}

/// A knob: one constraint a caller may set, with its domain and default.
///
/// ```toml
/// [knobs.member_status]
/// description = "Status of the seeded member."
/// values = ["active", "inactive"]          # a closed domain ...
/// default = "active"
///
/// [knobs.denial_reason]
/// type = "text"                            # ... or an open one: text, boolean, integer, date
/// nullable = true
/// default = { knob = "claim_status", map = { denied = "invalid_procedure_code" } }
/// ```
///
/// A default may be a literal, a template, or a lookup on another knob; a nullable knob
/// without a default is NULL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knob {
    /// What the knob changes.
    pub description: String,
    /// The values it accepts.
    pub domain: Domain,
    /// Whether NULL is accepted.
    pub nullable: bool,
    /// The scenario's default.
    pub default: Expr,
}

impl Knob {
    /// The allowed values, as a person reads them (`'active', 'inactive'`, `any text or null`).
    pub fn allowed(&self) -> String {
        let base = match &self.domain {
            Domain::Values(v) => v
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            Domain::Any(KnobType::Text) => "any text".into(),
            Domain::Any(KnobType::Boolean) => "true, false".into(),
            Domain::Any(KnobType::Integer) => "any integer".into(),
            Domain::Any(KnobType::Date) => "any date (YYYY-MM-DD)".into(),
        };
        if self.nullable {
            format!("{base}, or null")
        } else {
            base
        }
    }

    /// Checks a value against the domain and returns it in the domain's own type (a
    /// caller's `"true"` for a boolean knob becomes `true`). The error says what is wrong.
    pub fn accept(&self, v: &Value) -> Result<Value, String> {
        self.accept_owned(v.clone())
    }

    /// [`Knob::accept`] for an owned value, returned as it is when it already fits.
    pub fn accept_owned(&self, v: Value) -> Result<Value, String> {
        if v.is_null() {
            return if self.nullable {
                Ok(Value::Null)
            } else {
                Err("null is not allowed".into())
            };
        }
        match &self.domain {
            Domain::Values(list) => {
                if list.contains(&v) {
                    return Ok(v);
                }
                for allowed in list {
                    let ty = knob_column_type(allowed);
                    if v.clone().coerce(&ty).ok().as_ref() == Some(allowed) {
                        return Ok(allowed.clone());
                    }
                }
                Err(format!("{v} is not one of the allowed values"))
            }
            Domain::Any(t) => {
                let ty = match t {
                    KnobType::Text => crate::schema::ColumnType::Text,
                    KnobType::Boolean => crate::schema::ColumnType::Boolean,
                    KnobType::Integer => crate::schema::ColumnType::BigInt,
                    KnobType::Date => crate::schema::ColumnType::Date,
                };
                match (t, v) {
                    (KnobType::Text, v @ Value::Text(_)) => Ok(v),
                    (KnobType::Text, v) => Err(format!("{v} is a {}, not text", v.kind())),
                    (_, v) => v.coerce(&ty),
                }
            }
        }
    }
}

fn knob_column_type(v: &Value) -> crate::schema::ColumnType {
    use crate::schema::ColumnType;
    match v {
        Value::Bool(_) => ColumnType::Boolean,
        Value::Int(_) => ColumnType::BigInt,
        Value::Date(_) => ColumnType::Date,
        Value::Numeric(_) => ColumnType::Numeric {
            precision: 38,
            scale: 10,
        },
        _ => ColumnType::Text,
    }
}

/// How many rows a `[[rows]]` entry seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Count {
    /// A fixed number.
    Fixed(u32),
    /// The value of an integer knob.
    Knob(String),
}

/// When a `[[rows]]` entry seeds anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// `when = "knob"`: a boolean knob is true.
    Knob(String),
    /// `when = { knob = "k", in = ["a", "b"] }`: the knob has one of the values.
    In {
        /// The knob.
        knob: String,
        /// The values.
        values: Vec<Value>,
    },
    /// `when = { knob = "k", is_set = true }`: the knob is not NULL.
    IsSet {
        /// The knob.
        knob: String,
    },
}

impl When {
    fn knob(&self) -> &str {
        match self {
            When::Knob(k) | When::In { knob: k, .. } | When::IsSet { knob: k } => k,
        }
    }

    pub(crate) fn holds(&self, knobs: &BTreeMap<String, Value>) -> bool {
        let v = knobs.get(self.knob()).unwrap_or(&Value::Null);
        match self {
            When::Knob(_) => v == &Value::Bool(true),
            When::In { values, .. } => values
                .iter()
                .any(|x| x == v || Some(x) == v.clone().coerce(&knob_column_type(x)).ok().as_ref()),
            When::IsSet { .. } => !v.is_null(),
        }
    }
}

/// One `[[rows]]` entry: rows of one table, with fixed or knob-driven values.
///
/// ```toml
/// [[rows]]
/// alias = "line"            # how other rows refer to these rows ("@line")
/// table = "order_line"
/// count = 3                 # or "{lines}" (an integer knob); default 1
/// output = "line_keys"      # name of these rows' keys in the result (default: the alias)
/// when = { knob = "with_lines", in = [true] }
/// set = { order_id = "@order", qty = "{quantity}" }
/// ```
///
/// Columns not in `set` are filled by the generators from their type, name and checks; a
/// NOT NULL foreign key left open points at the one earlier row of the referenced table, or
/// at an existing row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowSpec {
    /// The alias other rows refer to it by (`"@alias"`); in a file it may be left out, and is
    /// then the table's name (numbered when a table has several such rows).
    pub alias: String,
    /// The table.
    pub table: String,
    /// How many rows.
    pub count: Count,
    /// A condition; no rows when it does not hold.
    pub when: Option<When>,
    /// The name of these rows' keys in the result.
    pub output: Option<String>,
    /// Column values.
    pub set: BTreeMap<String, Expr>,
}

/// A scenario, as loaded from a file (inheritance already applied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// The id callers request it by.
    pub id: String,
    /// What it seeds, in a sentence or two.
    pub description: String,
    /// Tags for search and grouping.
    pub tags: Vec<String>,
    /// Linked requirement ids.
    pub requirements: Vec<String>,
    /// Validators to run, by dotted name, in order (after the schema validators).
    pub validators: Vec<String>,
    /// The knobs, by name.
    pub knobs: BTreeMap<String, Knob>,
    /// The rows, in order.
    pub rows: Vec<RowSpec>,
    /// A template is only a base for other scenarios: it is not listed or requestable.
    pub template: bool,
    /// The scenario it extends.
    pub extends: Option<String>,
    /// The file it was read from.
    pub file: String,
}

impl Scenario {
    /// Merges caller constraints over the scenario's defaults, key by key, and checks them.
    ///
    /// Every knob gets a value: the caller's (checked against the knob's domain), or the
    /// default (evaluated, in dependency order, from the other knobs). An unknown key or a
    /// value outside a domain is [`Error::InvalidConstraint`] naming the allowed keys or
    /// values.
    pub fn resolve_knobs(
        &self,
        constraints: &BTreeMap<String, Value>,
        run_id: &str,
        today: chrono::NaiveDate,
    ) -> Result<BTreeMap<String, Value>, Error> {
        let mut out = BTreeMap::new();
        for (key, value) in constraints {
            let knob = self
                .knobs
                .get(key)
                .ok_or_else(|| Error::InvalidConstraint {
                    scenario: self.id.clone(),
                    key: key.clone(),
                    problem: "unknown constraint".into(),
                    allowed: if self.knobs.is_empty() {
                        "none (this scenario has no knobs)".into()
                    } else {
                        self.knobs.keys().cloned().collect::<Vec<_>>().join(", ")
                    },
                })?;
            let v = knob
                .accept(value)
                .map_err(|problem| Error::InvalidConstraint {
                    scenario: self.id.clone(),
                    key: key.clone(),
                    problem,
                    allowed: knob.allowed(),
                })?;
            out.insert(key.clone(), v);
        }
        // Defaults may read other knobs; evaluate until all are known (cycles are refused
        // when the scenario is loaded).
        let mut pending: Vec<(&String, &Knob)> = self
            .knobs
            .iter()
            .filter(|(k, _)| !out.contains_key(*k))
            .collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut still = Vec::new();
            for (name, knob) in pending {
                match eval_default(&knob.default, &out, run_id, today) {
                    Some(v) => {
                        let v = knob.accept_owned(v).map_err(|problem| Error::Plan {
                            scenario: self.id.clone(),
                            message: format!(
                                "the default of knob {name:?} is invalid: {problem}; allowed: {}",
                                knob.allowed()
                            ),
                        })?;
                        out.insert(name.clone(), v);
                    }
                    None => still.push((name, knob)),
                }
            }
            if still.len() == before {
                return Err(Error::Plan {
                    scenario: self.id.clone(),
                    message: format!(
                        "knob defaults depend on each other in a cycle: {:?}",
                        still.iter().map(|(n, _)| n).collect::<Vec<_>>()
                    ),
                });
            }
            pending = still;
        }
        Ok(out)
    }
}

/// Evaluates a knob default; `None` while a knob it reads is not known yet.
fn eval_default(
    e: &Expr,
    knobs: &BTreeMap<String, Value>,
    run_id: &str,
    today: chrono::NaiveDate,
) -> Option<Value> {
    Some(match e {
        Expr::Lit(v) => v.clone(),
        Expr::Null => Value::Null,
        Expr::Var(Var::Knob(k)) => knobs.get(k)?.clone(),
        Expr::Var(v) => builtin(v, run_id, 0, today)?,
        Expr::Template(parts) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    Part::Text(t) => s.push_str(t),
                    Part::Var(Var::Knob(k)) => push_text(&mut s, knobs.get(k)?),
                    Part::Var(v) => push_text(&mut s, &builtin(v, run_id, 0, today)?),
                }
            }
            Value::Text(s)
        }
        Expr::Map {
            knob,
            cases,
            otherwise,
        } => {
            let key = knobs.get(knob)?;
            let mut text = String::new();
            push_text(&mut text, key);
            match cases.get(&text).or(otherwise.as_deref()) {
                Some(e) => eval_default(e, knobs, run_id, today)?,
                None => Value::Null,
            }
        }
        Expr::Pick(_) | Expr::Ref { .. } | Expr::Generate(_) | Expr::Existing { .. } => Value::Null,
    })
}

#[cfg(test)]
mod tests;
