//! Provenance: where every value of a plan came from (`atdm plan --explain`).
//!
//! A column's source is known when the scenario is compiled (a value the scenario sets, a
//! knob, a template, a link to another entry, a generator and what shaped it); planning adds
//! what only a row knows: which row a reference points at, which case a knob chose, a
//! nullable column left empty, and a value a rule changed afterwards.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::compile::ColPlan;
use super::{Cell, Entity};
use crate::generate::Semantic;
use crate::scenario::{Expr, Part, Var};
use crate::schema::{Check, Operand, Table};
use crate::value::Value;

/// Where one planned value came from.
///
/// Serialized with its kind under `from`: `{"from": "knob", "knob": "claim_status",
/// "caller": true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Source {
    /// A value written in the scenario (`set = { status = "active" }`, or `null`).
    Scenario,
    /// The column's default in the schema.
    SchemaDefault,
    /// A knob's value: the caller's (`caller`), or the knob's default.
    Knob {
        /// The knob.
        knob: String,
        /// Whether the caller set it.
        caller: bool,
    },
    /// The scenario's value for a knob's value (`{ map = "knob", cases = ... }`).
    Map {
        /// The knob.
        knob: String,
        /// The knob's value, as text.
        case: String,
        /// Where the chosen value came from.
        then: Box<Source>,
    },
    /// A template of text and variables (`"m-{run_id}"`).
    Template {
        /// The template as written.
        template: String,
    },
    /// A built-in variable (`{row}`, `{today}`, `{today+30d}`, `{year_start}`, `{run_id}`).
    Variable {
        /// The variable as written.
        variable: String,
    },
    /// One of the scenario's values (`{ pick = [...] }`), chosen by the seed.
    Pick {
        /// How many values there were to choose from.
        choices: usize,
    },
    /// The run id, in the schema's run-id column.
    RunId,
    /// A copy of another planned row's value: an `"@alias"` of the scenario, or a foreign
    /// key the planner linked to the entry of its table.
    Reference {
        /// The `[[rows]]` entry pointed at.
        alias: String,
        /// Its table.
        table: String,
        /// The row within that table's plan.
        row: usize,
        /// The column copied.
        column: String,
    },
    /// The key of a row that exists before the run (a reference row or a row of the
    /// database), chosen by the seed.
    Existing {
        /// The table.
        table: String,
    },
    /// The database assigns it: an identity, a default expression, a computed column, or
    /// the next integer key of the table.
    Database,
    /// A registered generator.
    Generator {
        /// Its name.
        generator: String,
    },
    /// Generated for what the column's name means.
    Semantic {
        /// The kind read from the name.
        kind: Semantic,
        /// The column's checks that shaped the value too.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        checks: Vec<String>,
    },
    /// Generated within the column's checks (a list of values, bounds).
    Check {
        /// The checks.
        checks: Vec<String>,
    },
    /// Generated from the column's type alone.
    Type {
        /// The type.
        #[serde(rename = "type")]
        ty: String,
    },
    /// A text key made of the table's name, the run id and the row.
    Key,
    /// NULL: a nullable column left empty at its fill rate.
    Unfilled {
        /// The share of rows the column fills, from 0 to 1.
        fill_rate: f64,
    },
    /// NULL: a nullable foreign key with no row of the plan to point at.
    NoParent {
        /// The referenced table.
        table: String,
    },
    /// An edge case's value, in a row added for it (`--edge-cases`).
    Edge {
        /// The class (`text.max_length`, `date.leap_day`, ...).
        class: String,
    },
    /// A value changed after it was made, so a rule holds: a check between the row's
    /// columns, or a date moved to be not before its parent rows'.
    Adjusted {
        /// The rule.
        rule: String,
        /// Where the value came from before.
        original: Box<Source>,
    },
}

/// The text of a variable as a scenario writes it.
pub(super) fn var_text(v: &Var) -> String {
    match v {
        Var::RunId => "{run_id}".into(),
        Var::Row => "{row}".into(),
        Var::Today(0) => "{today}".into(),
        Var::Today(d) => format!("{{today{d:+}d}}"),
        Var::YearStart => "{year_start}".into(),
        Var::Knob(k) => format!("{{{k}}}"),
    }
}

/// The source of an expression, as far as it is known when the scenario is compiled
/// (references and map cases are completed per row by [`RowSources`]).
pub(super) fn expr_source(e: &Expr) -> Source {
    match e {
        Expr::Lit(_) | Expr::Null => Source::Scenario,
        Expr::Var(Var::Knob(k)) => Source::Knob {
            knob: k.clone(),
            caller: false,
        },
        Expr::Var(v) => Source::Variable {
            variable: var_text(v),
        },
        Expr::Template(parts) => Source::Template {
            template: parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => t.clone(),
                    Part::Var(v) => var_text(v),
                })
                .collect(),
        },
        Expr::Pick(values) => Source::Pick {
            choices: values.len(),
        },
        Expr::Existing { table } => Source::Existing {
            table: table.clone(),
        },
        Expr::Ref { alias, column } => Source::Reference {
            alias: alias.clone(),
            table: String::new(),
            row: 0,
            column: column.clone().unwrap_or_default(),
        },
        Expr::Map { knob, .. } => Source::Map {
            knob: knob.clone(),
            case: String::new(),
            then: Box::new(Source::Scenario),
        },
        Expr::Generate(g) => Source::Generator {
            generator: g.clone(),
        },
    }
}

/// What a row's sources are completed from.
pub(super) struct RowSources<'a> {
    pub(super) caller: &'a BTreeMap<String, Value>,
    pub(super) knobs: &'a BTreeMap<String, Value>,
    pub(super) entities: &'a [Entity],
    /// The row's index within its entry.
    pub(super) i: usize,
}

impl RowSources<'_> {
    /// The row pointed at by a link to `entry`, if that entry is planned and has rows.
    pub(super) fn linked(&self, entry: usize, column: &str) -> Option<Source> {
        let e = self.entities.get(entry)?;
        if e.rows.is_empty() {
            return None;
        }
        Some(Source::Reference {
            alias: e.alias.to_string(),
            table: e.table.to_string(),
            row: e.rows[self.i % e.rows.len()],
            column: column.to_owned(),
        })
    }

    /// The source of a planned cell: `base` (the column's, from compiling) completed for
    /// this row.
    pub(super) fn cell(&self, base: &Source, plan: &ColPlan, cell: &Cell) -> Source {
        let null = matches!(cell, Cell::Value(Value::Null));
        match plan {
            ColPlan::Gen(g) if null => match g.fill_rate() {
                Some(rate) => Source::Unfilled { fill_rate: rate },
                None => base.clone(),
            },
            ColPlan::MaybeLink { entry, column, .. } => {
                if null {
                    Source::Unfilled {
                        fill_rate: match base {
                            Source::Unfilled { fill_rate } => *fill_rate,
                            _ => 0.0,
                        },
                    }
                } else {
                    self.linked(*entry, column).unwrap_or_else(|| base.clone())
                }
            }
            ColPlan::Link(entry, column) => {
                self.linked(*entry, column).unwrap_or_else(|| base.clone())
            }
            ColPlan::Expr(e) => self.expr(e, base),
            _ => base.clone(),
        }
    }

    fn expr(&self, e: &Expr, base: &Source) -> Source {
        match e {
            Expr::Var(Var::Knob(k)) => Source::Knob {
                knob: k.clone(),
                caller: self.caller.contains_key(k),
            },
            Expr::Ref { alias, .. } => {
                let entry = self.entities.iter().position(|e| &*e.alias == alias);
                let column = match base {
                    Source::Reference { column, .. } => column.as_str(),
                    _ => "",
                };
                entry
                    .and_then(|p| self.linked(p, column))
                    .unwrap_or_else(|| base.clone())
            }
            Expr::Map {
                knob,
                cases,
                otherwise,
            } => {
                let mut case = String::new();
                crate::scenario::push_text(&mut case, self.knobs.get(knob).unwrap_or(&Value::Null));
                let then = match cases.get(&case).or(otherwise.as_deref()) {
                    Some(inner) => self.expr(inner, &expr_source(inner)),
                    None => Source::Scenario,
                };
                Source::Map {
                    knob: knob.clone(),
                    case,
                    then: Box::new(then),
                }
            }
            _ => base.clone(),
        }
    }
}

/// The checks between columns of `table` that involve `column`, as written: the rules a
/// changed value was changed for.
pub(super) fn row_rules_on(table: &Table, column: &str) -> String {
    let rules: Vec<String> = table
        .checks_on(column)
        .filter(|c| match c {
            Check::Implies { .. } => true,
            Check::Compare { right, .. } => matches!(right, Operand::Column(_)),
            _ => false,
        })
        .map(ToString::to_string)
        .collect();
    if rules.is_empty() {
        "a check between the row's columns".into()
    } else {
        rules.join("; ")
    }
}

/// Marks the cells that changed between `before` and `after` as adjusted by `rule`.
pub(super) fn mark_changed(
    before: &[Cell],
    after: &[Cell],
    sources: &mut [Source],
    rule: &dyn Fn(usize) -> String,
) {
    for (ci, (b, a)) in before.iter().zip(after).enumerate() {
        if b != a {
            let original = std::mem::replace(&mut sources[ci], Source::Scenario);
            sources[ci] = Source::Adjusted {
                rule: rule(ci),
                original: Box::new(original),
            };
        }
    }
}

impl std::fmt::Display for Source {
    /// A short sentence for people: `knob claim_status (set by the caller)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Scenario => f.write_str("set in the scenario"),
            Source::SchemaDefault => f.write_str("the column's default in the schema"),
            Source::Knob { knob, caller } => write!(
                f,
                "knob {knob} ({})",
                if *caller {
                    "set by the caller"
                } else {
                    "its default"
                }
            ),
            Source::Map { knob, case, then } => {
                write!(f, "the scenario's value for knob {knob} = {case:?}: {then}")
            }
            Source::Template { template } => write!(f, "template {template:?}"),
            Source::Variable { variable } => write!(f, "variable {variable}"),
            Source::Pick { choices } => {
                write!(f, "one of {choices} values in the scenario, by the seed")
            }
            Source::RunId => f.write_str("the run id"),
            Source::Reference {
                alias,
                table,
                row,
                column,
            } => write!(f, "copied from {table}[{row}].{column} (@{alias})"),
            Source::Existing { table } => write!(f, "an existing {table} row, by the seed"),
            Source::Database => f.write_str("assigned by the database"),
            Source::Generator { generator } => write!(f, "generator {generator}"),
            Source::Semantic { kind, checks } => {
                let kind = serde_json::to_value(kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                write!(f, "generated as {kind} (the column's name)")?;
                if !checks.is_empty() {
                    write!(f, ", within {}", checks.join("; "))?;
                }
                Ok(())
            }
            Source::Check { checks } => write!(f, "generated within {}", checks.join("; ")),
            Source::Type { ty } => write!(f, "generated for the type {ty}"),
            Source::Key => f.write_str("a key of the table's name, the run id and the row"),
            Source::Unfilled { fill_rate } => write!(
                f,
                "NULL: the column is filled in {:.0}% of rows",
                fill_rate * 100.0
            ),
            Source::NoParent { table } => {
                write!(f, "NULL: no {table} row in the plan to point at")
            }
            Source::Edge { class } => write!(f, "the edge case {class}"),
            Source::Adjusted { rule, original } => {
                write!(f, "{original}, then changed so that {rule} holds")
            }
        }
    }
}
