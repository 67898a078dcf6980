//! Scenario files: the TOML read into [`Scenario`]s, with `extends` resolved, knob defaults
//! applied and aliases given, and every error naming the file and the field.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::*;
use crate::error::ScenarioError;
use crate::value::Value;

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
