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

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

pub use catalog::{Catalog, Match};
pub(crate) use expr::{Dep, builtin, push_text};
pub use expr::{Expr, Part, Var};

use crate::error::{Error, ScenarioError};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    id: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    requirements: Vec<String>,
    validators: Option<Vec<String>>,
    #[serde(default)]
    template: bool,
    extends: Option<String>,
    #[serde(default)]
    knobs: BTreeMap<String, RawKnob>,
    #[serde(default)]
    defaults: BTreeMap<String, toml::Value>,
    #[serde(default)]
    rows: Vec<RawRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKnob {
    #[serde(default)]
    description: String,
    values: Option<Vec<toml::Value>>,
    #[serde(rename = "type")]
    kind: Option<KnobType>,
    #[serde(default)]
    nullable: bool,
    default: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    alias: Option<String>,
    table: String,
    count: Option<toml::Value>,
    when: Option<toml::Value>,
    output: Option<String>,
    #[serde(default)]
    set: BTreeMap<String, toml::Value>,
}

/// A parsed file before inheritance is applied.
struct Parsed {
    scenario: Scenario,
    defaults: BTreeMap<String, Expr>,
    declared_validators: bool,
}

/// Each row's alias: its own, or, when it has none (nothing refers to it), its table's name,
/// numbered from the second such row of a table on (`claim`, `claim_2`), skipping names
/// other rows use.
fn default_aliases(rows: &[RawRow]) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> =
        rows.iter().filter_map(|r| r.alias.clone()).collect();
    rows.iter()
        .map(|r| match &r.alias {
            Some(a) => a.clone(),
            None => {
                let base = r.table.replace('.', "_");
                let name = (1..)
                    .map(|n| match n {
                        1 => base.clone(),
                        n => format!("{base}_{n}"),
                    })
                    .find(|a| !taken.contains(a))
                    .expect("an unused name exists");
                taken.insert(name.clone());
                name
            }
        })
        .collect()
}

fn invalid(file: &str, field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        file: file.into(),
        field: field.into(),
        message: message.into(),
    }
}

fn literal(v: &toml::Value, file: &str, field: &str) -> Result<Value, ScenarioError> {
    match Expr::from_toml(v, field).map_err(|m| invalid(file, field, m))? {
        Expr::Lit(v) => Ok(v),
        _ => Err(invalid(file, field, "must be a literal value")),
    }
}

fn parse_file(file: &str, text: &str) -> Result<Parsed, ScenarioError> {
    let raw: RawScenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
        file: file.into(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    if raw.id.trim().is_empty()
        || !raw
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Err(invalid(
            file,
            "id",
            format!(
                "{:?} is not a valid id; use letters, digits, `_`, `-` and `.`",
                raw.id
            ),
        ));
    }
    let mut knobs = BTreeMap::new();
    for (name, k) in raw.knobs {
        let field = format!("knobs.{name}");
        if matches!(name.as_str(), "run_id" | "row" | "today" | "year_start") {
            return Err(invalid(
                file,
                field,
                "this name is a built-in template variable; choose another",
            ));
        }
        let domain = match (k.values, k.kind) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    file,
                    field,
                    "give either `values` or `type`, not both",
                ));
            }
            (Some(values), None) => {
                if values.is_empty() {
                    return Err(invalid(
                        file,
                        format!("{field}.values"),
                        "list at least one value",
                    ));
                }
                let mut list = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    list.push(literal(v, file, &format!("{field}.values[{i}]"))?);
                }
                Domain::Values(list)
            }
            (None, Some(t)) => Domain::Any(t),
            (None, None) => {
                return Err(invalid(
                    file,
                    field,
                    "declare the domain with `values = [...]` or `type = \"text\"|\"boolean\"|\"integer\"|\"date\"`",
                ));
            }
        };
        let default = match &k.default {
            Some(d) => Expr::from_toml(d, &format!("{field}.default"))
                .map_err(|m| invalid(file, format!("{field}.default"), m))?,
            None if k.nullable => Expr::Null,
            None => match &domain {
                Domain::Values(v) => Expr::Lit(v[0].clone()),
                Domain::Any(_) => {
                    return Err(invalid(
                        file,
                        format!("{field}.default"),
                        "an open-domain knob that is not nullable needs a default",
                    ));
                }
            },
        };
        knobs.insert(
            name,
            Knob {
                description: k.description,
                domain,
                nullable: k.nullable,
                default,
            },
        );
    }
    let mut defaults = BTreeMap::new();
    for (name, v) in &raw.defaults {
        let field = format!("defaults.{name}");
        defaults.insert(
            name.clone(),
            Expr::from_toml(v, &field).map_err(|m| invalid(file, field, m))?,
        );
    }
    let mut rows = Vec::new();
    let aliases = default_aliases(&raw.rows);
    for (i, (r, alias)) in raw.rows.into_iter().zip(aliases).enumerate() {
        let field = format!("rows[{i}]");
        let count = match &r.count {
            None => Count::Fixed(1),
            Some(toml::Value::Integer(n)) if *n >= 0 && *n <= i64::from(u32::MAX) => {
                Count::Fixed(*n as u32)
            }
            Some(toml::Value::Integer(n)) if *n >= 0 => {
                return Err(invalid(
                    file,
                    format!("{field}.count"),
                    format!(
                        "{n} rows is more than a scenario plans ({} cells at most, rows times columns); seed that volume in several requests",
                        crate::plan::MAX_PLAN_CELLS
                    ),
                ));
            }
            Some(toml::Value::String(s)) => {
                match Expr::from_toml(&toml::Value::String(s.clone()), &field) {
                    Ok(Expr::Var(Var::Knob(k))) => Count::Knob(k),
                    _ => {
                        return Err(invalid(
                            file,
                            format!("{field}.count"),
                            "use a non-negative number or \"{knob}\" (an integer knob)",
                        ));
                    }
                }
            }
            Some(_) => {
                return Err(invalid(
                    file,
                    format!("{field}.count"),
                    "use a non-negative number or \"{knob}\" (an integer knob)",
                ));
            }
        };
        let when = match &r.when {
            None => None,
            Some(toml::Value::String(k)) => Some(When::Knob(k.clone())),
            Some(toml::Value::Table(t)) => {
                let knob = t
                    .get("knob")
                    .and_then(|k| k.as_str())
                    .ok_or_else(|| {
                        invalid(
                            file,
                            format!("{field}.when"),
                            "name the knob: when = { knob = \"k\", in = [...] }",
                        )
                    })?
                    .to_owned();
                if let Some(list) = t.get("in").and_then(|l| l.as_array()) {
                    let mut values = Vec::new();
                    for (j, v) in list.iter().enumerate() {
                        values.push(literal(v, file, &format!("{field}.when.in[{j}]"))?);
                    }
                    Some(When::In { knob, values })
                } else if t.get("is_set").and_then(|b| b.as_bool()) == Some(true) {
                    Some(When::IsSet { knob })
                } else {
                    return Err(invalid(
                        file,
                        format!("{field}.when"),
                        "use when = \"bool_knob\", { knob = \"k\", in = [...] } or { knob = \"k\", is_set = true }",
                    ));
                }
            }
            Some(_) => {
                return Err(invalid(
                    file,
                    format!("{field}.when"),
                    "use when = \"bool_knob\", { knob = \"k\", in = [...] } or { knob = \"k\", is_set = true }",
                ));
            }
        };
        let mut set = BTreeMap::new();
        for (col, v) in &r.set {
            let f = format!("{field}.set.{col}");
            set.insert(
                col.clone(),
                Expr::from_toml(v, &f).map_err(|m| invalid(file, f.clone(), m))?,
            );
        }
        rows.push(RowSpec {
            alias,
            table: r.table,
            count,
            when,
            output: r.output,
            set,
        });
    }
    Ok(Parsed {
        declared_validators: raw.validators.is_some(),
        scenario: Scenario {
            id: raw.id,
            description: raw.description,
            tags: raw.tags,
            requirements: raw.requirements,
            validators: raw.validators.unwrap_or_default(),
            knobs,
            rows,
            template: raw.template,
            extends: raw.extends,
            file: file.into(),
        },
        defaults,
    })
}

/// Reads scenario files (name and text each) and applies inheritance. Reports malformed
/// files, unknown keys, duplicate ids, unknown or cyclic `extends`, and scenarios that seed
/// no row. References to tables, columns, knobs, aliases, validators and generators are
/// checked when the scenarios are compiled against a schema ([`crate::Pack`]).
pub fn parse_scenarios<'a>(
    sources: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Scenario>, ScenarioError> {
    let mut parsed: Vec<Parsed> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (file, text) in sources {
        let p = parse_file(file, text)?;
        if let Some(&first) = by_id.get(&p.scenario.id) {
            return Err(ScenarioError::Duplicate {
                id: p.scenario.id.clone(),
                first: parsed[first].scenario.file.clone(),
                second: file.into(),
            });
        }
        by_id.insert(p.scenario.id.clone(), parsed.len());
        parsed.push(p);
    }
    let mut out: Vec<Option<Scenario>> = vec![None; parsed.len()];
    for i in 0..parsed.len() {
        resolve(i, &parsed, &by_id, &mut out, &mut Vec::new())?;
    }
    let out: Vec<Scenario> = out
        .into_iter()
        .map(|s| s.expect("every scenario was resolved"))
        .collect();
    for s in &out {
        if s.rows.is_empty() && !s.template {
            return Err(ScenarioError::Empty {
                file: s.file.clone(),
                id: s.id.clone(),
            });
        }
    }
    Ok(out)
}

fn resolve(
    i: usize,
    parsed: &[Parsed],
    by_id: &HashMap<String, usize>,
    out: &mut Vec<Option<Scenario>>,
    stack: &mut Vec<usize>,
) -> Result<(), ScenarioError> {
    if out[i].is_some() {
        return Ok(());
    }
    let p = &parsed[i];
    let file = &p.scenario.file;
    if let Some(from) = stack.iter().position(|&k| k == i) {
        let cycle: Vec<String> = stack[from..]
            .iter()
            .chain(std::iter::once(&i))
            .map(|&k| format!("{:?} ({})", parsed[k].scenario.id, parsed[k].scenario.file))
            .collect();
        return Err(invalid(
            file,
            "extends",
            format!(
                "scenarios extend each other in a cycle: {}; one of them must not extend",
                cycle.join(" extends ")
            ),
        ));
    }
    let mut s = p.scenario.clone();
    if let Some(parent_id) = &p.scenario.extends {
        let &pi = by_id.get(parent_id).ok_or_else(|| {
            invalid(
                file,
                "extends",
                format!(
                    "unknown scenario {parent_id:?}; known: {}",
                    sorted_ids(by_id)
                ),
            )
        })?;
        stack.push(i);
        resolve(pi, parsed, by_id, out, stack)?;
        stack.pop();
        let parent = out[pi].as_ref().expect("resolved above");
        let mut knobs = parent.knobs.clone();
        for (name, k) in &s.knobs {
            knobs.insert(name.clone(), k.clone());
        }
        s.knobs = knobs;
        let mut rows = parent.rows.clone();
        rows.extend(s.rows);
        s.rows = rows;
        if !p.declared_validators {
            s.validators = parent.validators.clone();
        }
    }
    for (name, d) in &p.defaults {
        let known = s.knobs.keys().cloned().collect::<Vec<_>>().join(", ");
        let close = crate::suggest::did_you_mean(name, s.knobs.keys().map(String::as_str));
        let knob = s.knobs.get_mut(name).ok_or_else(|| {
            invalid(
                file,
                format!("defaults.{name}"),
                format!("unknown knob {name:?}{close}; known knobs: {known}"),
            )
        })?;
        knob.default = d.clone();
    }
    out[i] = Some(s);
    Ok(())
}

fn sorted_ids(by_id: &HashMap<String, usize>) -> String {
    let mut ids: Vec<&String> = by_id.keys().collect();
    ids.sort();
    ids.into_iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
