//! Compiling a scenario against a schema: every reference checked, a plan per column.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;

use super::Source;
use super::explain::expr_source;
use crate::error::{Error, ScenarioError};
use crate::generate::{ColumnGen, GeneratorRegistry, RowRules, fill_rate, millionths, name_hash};
use crate::scenario::{Count, Dep, Expr, Scenario, When};
use crate::schema::{Column, Generated, Schema, Table};
use crate::suggest::did_you_mean;
use crate::value::Value;

/// How one column of a `[[rows]]` entry gets its value.
#[derive(Debug, Clone)]
pub(super) enum ColPlan {
    Expr(Expr),
    RunId,
    Lit(Value),
    DbAssigned,
    Null,
    /// A generated value; NULL in the rows a nullable column is not filled.
    Gen(ColumnGen),
    /// A link to another `[[rows]]` entry: (entry, referenced column). The entry is an earlier
    /// one, or a later one of the same foreign-key cycle (filled once that entry is planned).
    Link(usize, String),
    /// A nullable foreign key that links to the one earlier `[[rows]]` entry of its table in
    /// the rows it is filled (at the rate of the key's first column), and is NULL in the others.
    MaybeLink {
        entry: usize,
        column: String,
        /// The name hash of the key's first column: every column of the key decides alike.
        key: u64,
        /// The fill rate, in millionths.
        rate: u32,
    },
    /// An implicit link to an existing row: (table, referenced column, key column for the choice).
    Existing(String, String, String),
}

/// One `[[rows]]` entry, compiled.
#[derive(Debug, Clone)]
pub(super) struct CompiledRow {
    pub(super) alias: Arc<str>,
    pub(super) output: Arc<str>,
    pub(super) table_name: Arc<str>,
    pub(super) table: usize,
    pub(super) count: Count,
    pub(super) when: Option<When>,
    pub(super) cols: Vec<ColPlan>,
    /// Per column: whether the generator (not the scenario) chose the value.
    pub(super) generated: Vec<bool>,
    /// Per column: where its values come from (completed per row by the planner).
    pub(super) sources: Vec<Source>,
    /// The checks between the row's columns that generation makes hold.
    pub(super) rules: Arc<RowRules>,
}

/// A scenario compiled against a schema and registries: ready to plan many times.
#[derive(Debug, Clone)]
pub(crate) struct CompiledScenario {
    pub(crate) scenario: Arc<Scenario>,
    /// The validators the gate runs for this scenario: schema validators, then declared.
    pub(crate) gate: Arc<[String]>,
    pub(super) rows: Vec<CompiledRow>,
    /// Column names per table (in table order, computed columns left out).
    pub(super) columns: Vec<Arc<[String]>>,
}

/// Where a column's values come from, as far as compiling knows: `set` says whether the
/// scenario sets it; `entry` gives the alias and table of a `[[rows]]` entry by position.
fn column_source(
    schema: &Schema,
    table: &Table,
    column: &Column,
    set: bool,
    plan: &ColPlan,
    entry: impl Fn(usize) -> Option<(String, String)>,
) -> Source {
    let reference = |alias: String, table: String, column: String| Source::Reference {
        alias,
        table,
        row: 0,
        column,
    };
    match plan {
        ColPlan::Lit(_) if set => Source::Scenario,
        ColPlan::Lit(_) => Source::SchemaDefault,
        ColPlan::RunId => Source::RunId,
        ColPlan::DbAssigned => Source::Database,
        ColPlan::Null => Source::NoParent {
            table: table
                .foreign_keys
                .iter()
                .find(|fk| fk.columns.contains(&column.name))
                .map(|fk| fk.references.clone())
                .unwrap_or_default(),
        },
        ColPlan::Gen(g) => g.source(),
        ColPlan::Link(p, col) => {
            let (alias, t) = entry(*p).unwrap_or_default();
            reference(alias, t, col.clone())
        }
        ColPlan::MaybeLink { rate, .. } => Source::Unfilled {
            fill_rate: f64::from(*rate) / 1e6,
        },
        ColPlan::Existing(t, _, _) => Source::Existing { table: t.clone() },
        ColPlan::Expr(Expr::Ref { alias, column: col }) => {
            let t = (0..)
                .map_while(&entry)
                .find(|(a, _)| a == alias)
                .map(|(_, t)| t)
                .unwrap_or_default();
            let target_col = schema
                .table(&t)
                .and_then(|target| {
                    ref_target_column(schema, table, &column.name, target, col.as_deref()).ok()
                })
                .unwrap_or_default();
            reference(alias.clone(), t, target_col)
        }
        ColPlan::Expr(e) => expr_source(e),
    }
}

fn invalid(file: &str, field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        file: file.into(),
        field: field.into(),
        message: message.into(),
    }
}

/// Which column of `target` a reference from `table.column` pairs with.
pub(super) fn ref_target_column(
    schema: &Schema,
    table: &Table,
    column: &str,
    target: &Table,
    explicit: Option<&str>,
) -> Result<String, String> {
    if let Some(c) = explicit {
        return target
            .get_column(c)
            .map(|_| c.to_owned())
            .ok_or_else(|| format!("table {:?} has no column {c:?}", target.name));
    }
    for fk in &table.foreign_keys {
        if fk.references == target.name
            && let Some(i) = fk.columns.iter().position(|c| c == column)
        {
            return Ok(table.fk_target_columns(fk, schema)[i].clone());
        }
    }
    match target.primary_key.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "table {:?} has no primary key; name the column: \"@alias.column\"",
            target.name
        )),
        _ => Err(format!(
            "table {:?} has a composite key; name the column: \"@alias.column\"",
            target.name
        )),
    }
}

impl CompiledScenario {
    /// The tables whose existing rows the scenario may point at (`{ existing = ... }` and
    /// foreign keys left open with no earlier row to follow).
    pub(crate) fn existing_tables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |t: &str| {
            if !out.iter().any(|x| x == t) {
                out.push(t.to_owned());
            }
        };
        for r in &self.rows {
            for c in &r.cols {
                match c {
                    ColPlan::Existing(t, _, _) => add(t),
                    ColPlan::Expr(e) => e.visit(&mut |d| {
                        if let Dep::Table(t) = d {
                            add(t)
                        }
                    }),
                    _ => {}
                }
            }
        }
        out
    }

    /// Checks every reference of the scenario against the schema and registries, and
    /// prepares the per-column plan.
    pub(crate) fn compile(
        scenario: Scenario,
        schema: &Schema,
        generators: &GeneratorRegistry,
        validators: &[&str],
    ) -> Result<CompiledScenario, ScenarioError> {
        let file = scenario.file.clone();
        for (i, v) in scenario.validators.iter().enumerate() {
            if !validators.contains(&v.as_str()) {
                return Err(invalid(
                    &file,
                    format!("validators[{i}]"),
                    format!(
                        "unknown validator {v:?}; registered: {}",
                        validators.join(", ")
                    ),
                ));
            }
        }
        let known_knob = |k: &str, field: &str| -> Result<(), ScenarioError> {
            if scenario.knobs.contains_key(k) {
                Ok(())
            } else {
                Err(invalid(
                    &file,
                    field,
                    format!(
                        "unknown knob {k:?}{}; declared knobs: {}",
                        did_you_mean(k, scenario.knobs.keys().map(String::as_str)),
                        if scenario.knobs.is_empty() {
                            "none".into()
                        } else {
                            scenario
                                .knobs
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                ))
            }
        };
        // Knob defaults: only knob-level expressions; references resolve; no cycles.
        for (name, knob) in &scenario.knobs {
            let field = format!("knobs.{name}.default");
            let mut err = None;
            knob.default.visit(&mut |d| {
                if err.is_some() {
                    return;
                }
                err = match d {
                    Dep::Knob(k) => known_knob(k, &field).err(),
                    _ => Some(invalid(
                        &file,
                        &field,
                        "a knob default may use literals, templates and other knobs only",
                    )),
                };
            });
            if let Some(e) = err {
                return Err(e);
            }
            if let Expr::Lit(v) = &knob.default {
                knob.accept(v).map_err(|m| {
                    invalid(&file, &field, format!("{m}; allowed: {}", knob.allowed()))
                })?;
            }
        }
        let today = NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
        if let Err(Error::Plan { message, .. }) =
            scenario.resolve_knobs(&BTreeMap::new(), "R", today)
            && message.contains("cycle")
        {
            return Err(invalid(&file, "knobs", message));
        }
        // Row entries in plan order: tables in foreign-key order, entries in file order.
        let order = schema
            .fk_order()
            .map_err(|e| invalid(&file, "rows", e.to_string()))?;
        let mut entries: Vec<(usize, usize)> = Vec::new(); // (position in fk order, entry index)
        for (i, r) in scenario.rows.iter().enumerate() {
            let ti = schema.table_index(&r.table).ok_or_else(|| {
                invalid(
                    &file,
                    format!("rows[{i}].table"),
                    format!(
                        "unknown table {:?}{}; tables: {}",
                        r.table,
                        did_you_mean(&r.table, schema.tables.iter().map(|t| t.name.as_str())),
                        schema
                            .tables
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            if scenario.rows[..i].iter().any(|o| o.alias == r.alias) {
                return Err(invalid(
                    &file,
                    format!("rows[{i}].alias"),
                    format!("alias {:?} is used twice", r.alias),
                ));
            }
            entries.push((
                order
                    .iter()
                    .position(|&o| o == ti)
                    .expect("every table is ordered"),
                i,
            ));
        }
        entries.sort();
        // The foreign-key cycle each table belongs to, if any: within one, a row may point at
        // a row planned after it (the engine writes a cycle's rows together).
        let mut cycle_of: Vec<Option<usize>> = vec![None; schema.tables.len()];
        for (ci, members) in schema.fk_cycles().iter().enumerate() {
            for &m in members {
                cycle_of[m] = Some(ci);
            }
        }
        let same_cycle = |a: &str, b: &str| {
            let (ia, ib) = (schema.table_index(a), schema.table_index(b));
            matches!((ia.and_then(|i| cycle_of[i]), ib.and_then(|i| cycle_of[i])), (Some(x), Some(y)) if x == y)
        };
        let position_of = |alias: &str| {
            entries
                .iter()
                .position(|&(_, e)| scenario.rows[e].alias == alias)
        };
        let columns: Vec<Arc<[String]>> = schema
            .tables
            .iter()
            .map(|t| {
                t.columns
                    .iter()
                    .filter(|c| !matches!(c.generated, Some(Generated::Computed(_))))
                    .map(|c| c.name.clone())
                    .collect()
            })
            .collect();
        let mut rows = Vec::new();
        for (pos, &(_, ei)) in entries.iter().enumerate() {
            let spec = &scenario.rows[ei];
            let ti = schema.table_index(&spec.table).expect("checked above");
            let table = &schema.tables[ti];
            let field = format!("rows[{ei}]");
            match &spec.count {
                Count::Knob(k) => known_knob(k, &format!("{field}.count"))?,
                Count::Fixed(_) => {}
            }
            if let Some(w) = &spec.when {
                let k = match w {
                    When::Knob(k) | When::In { knob: k, .. } | When::IsSet { knob: k } => k,
                };
                known_knob(k, &format!("{field}.when"))?;
            }
            for col in spec.set.keys() {
                if table.get_column(col).is_none() {
                    return Err(invalid(
                        &file,
                        format!("{field}.set.{col}"),
                        format!(
                            "table {:?} has no column {col:?}{}; columns: {}",
                            table.name,
                            did_you_mean(col, table.columns.iter().map(|c| c.name.as_str())),
                            table
                                .columns
                                .iter()
                                .map(|c| c.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            let mut cols = Vec::new();
            let mut generated = Vec::new();
            let mut sources = Vec::new();
            for c in table
                .columns
                .iter()
                .filter(|c| !matches!(c.generated, Some(Generated::Computed(_))))
            {
                let cf = format!("{field}.set.{}", c.name);
                let (plan, is_gen) = if let Some(e) = spec.set.get(&c.name) {
                    let mut err = None;
                    e.visit(&mut |d| {
                        if err.is_some() {
                            return;
                        }
                        err = match d {
                            Dep::Knob(k) => known_knob(k, &cf).err(),
                            Dep::Alias(a, col) => match position_of(a) {
                                None => Some(invalid(&file, &cf, format!(
                                    "unknown alias \"@{a}\"{}; aliases: {}",
                                    did_you_mean(a, scenario.rows.iter().map(|r| r.alias.as_str())),
                                    scenario.rows.iter().map(|r| format!("@{}", r.alias)).collect::<Vec<_>>().join(", ")
                                ))),
                                Some(p) if p == pos || (p > pos && !(matches!(e, Expr::Ref { .. }) && same_cycle(&scenario.rows[entries[p].1].table, &spec.table))) => Some(invalid(&file, &cf, format!(
                                    "\"@{a}\" is planned after this row (tables go in foreign-key order, entries of one table in file order); reference an earlier row, or a row of a table in the same foreign-key cycle with a plain \"@{a}\""
                                ))),
                                Some(p) => {
                                    let target = schema.table(&scenario.rows[entries[p].1].table).expect("checked");
                                    ref_target_column(schema, table, &c.name, target, col).err().map(|m| invalid(&file, &cf, m))
                                }
                            },
                            Dep::Generator(g) => generators.get(g).is_none().then(|| invalid(&file, &cf, format!(
                                "unknown generator {g:?}; registered: {}", generators.names().collect::<Vec<_>>().join(", ")
                            ))),
                            Dep::Table(t) => match schema.table(t) {
                                None => Some(invalid(&file, &cf, format!("unknown table {t:?}"))),
                                Some(target) => ref_target_column(schema, table, &c.name, target, None).err().map(|m| invalid(&file, &cf, m)),
                            },
                        };
                    });
                    if let Some(e) = err {
                        return Err(e);
                    }
                    match e {
                        Expr::Lit(v) => {
                            let v = v
                                .clone()
                                .coerce(&c.ty)
                                .map_err(|m| invalid(&file, &cf, m))?;
                            (ColPlan::Lit(v), false)
                        }
                        Expr::Null => (ColPlan::Lit(Value::Null), false),
                        Expr::Ref { alias, column }
                            if position_of(alias).is_some_and(|p| p > pos) =>
                        {
                            let p = position_of(alias).expect("checked above");
                            let target = schema
                                .table(&scenario.rows[entries[p].1].table)
                                .expect("checked");
                            let col = ref_target_column(
                                schema,
                                table,
                                &c.name,
                                target,
                                column.as_deref(),
                            )
                            .map_err(|m| invalid(&file, &cf, m))?;
                            (ColPlan::Link(p, col), false)
                        }
                        Expr::Generate(g) => (
                            ColPlan::Gen(
                                ColumnGen::new(table, c, generators, Some(g))
                                    .map_err(|m| invalid(&file, &cf, m))?,
                            ),
                            true,
                        ),
                        other => (ColPlan::Expr(other.clone()), false),
                    }
                } else if c.name == schema.run_id_column {
                    (ColPlan::RunId, false)
                } else if c.is_db_assigned() || (c.default.is_none() && c.default_sql.is_some()) {
                    (ColPlan::DbAssigned, false)
                } else if let Some(fk) = table
                    .foreign_keys
                    .iter()
                    .find(|fk| fk.columns.contains(&c.name))
                {
                    let cols_nullable = fk
                        .columns
                        .iter()
                        .all(|fc| table.get_column(fc).is_some_and(|x| x.nullable));
                    let target = fk.references.as_str();
                    let mut candidates: Vec<usize> = (0..pos)
                        .filter(|&p| scenario.rows[entries[p].1].table == target)
                        .collect();
                    if candidates.is_empty() && same_cycle(target, &table.name) {
                        // Within a cycle, the row may point at a row planned after it.
                        candidates = (pos + 1..entries.len())
                            .filter(|&p| scenario.rows[entries[p].1].table == target)
                            .collect();
                    }
                    let set_elsewhere = fk.columns.iter().any(|fc| spec.set.contains_key(fc));
                    let i = fk
                        .columns
                        .iter()
                        .position(|x| x == &c.name)
                        .expect("column of the key");
                    let target_col = table.fk_target_columns(fk, schema)[i].clone();
                    if set_elsewhere {
                        // Another column of this key is set: follow the same row when it is a reference.
                        let alias = fk.columns.iter().find_map(|fc| match spec.set.get(fc) {
                            Some(Expr::Ref { alias, .. }) => Some(alias.clone()),
                            _ => None,
                        });
                        match alias.and_then(|a| position_of(&a)) {
                            Some(p) => (ColPlan::Link(p, target_col), false),
                            None if c.nullable => (ColPlan::Null, false),
                            None => {
                                return Err(invalid(
                                    &file,
                                    &cf,
                                    "set every column of this foreign key, or point one of them at a row with \"@alias\"",
                                ));
                            }
                        }
                    } else if cols_nullable {
                        // Point at the one earlier entry of the referenced table, at the
                        // key's fill rate; with none or several to choose from, NULL.
                        let first = table.get_column(&fk.columns[0]).expect("column of the key");
                        let rate = fill_rate(table, first).map(millionths).unwrap_or(0);
                        match candidates.as_slice() {
                            [one] if rate > 0 => (
                                ColPlan::MaybeLink {
                                    entry: *one,
                                    column: target_col,
                                    key: name_hash(&fk.columns[0]),
                                    rate,
                                },
                                false,
                            ),
                            _ => (ColPlan::Null, false),
                        }
                    } else {
                        match candidates.as_slice() {
                            [one] => (ColPlan::Link(*one, target_col), false),
                            [] => (
                                ColPlan::Existing(target.into(), target_col, fk.columns[0].clone()),
                                false,
                            ),
                            many => {
                                return Err(invalid(
                                    &file,
                                    &cf,
                                    format!(
                                        "the foreign key to {target:?} could point at several rows ({}); set it to one of them",
                                        many.iter()
                                            .map(|&p| format!(
                                                "\"@{}\"",
                                                scenario.rows[entries[p].1].alias
                                            ))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                ));
                            }
                        }
                    }
                } else if let Some(d) = &c.default {
                    (ColPlan::Lit(d.clone()), false)
                } else if table.primary_key == [c.name.as_str()]
                    && c.ty.is_integer()
                    && c.generator.is_none()
                {
                    // An integer key continues the table's own keys: the engine draws the
                    // next ones when it writes the rows (the largest existing key and on).
                    (ColPlan::DbAssigned, false)
                } else {
                    (
                        ColPlan::Gen(
                            ColumnGen::new(table, c, generators, None)
                                .map_err(|m| invalid(&file, &cf, m))?,
                        ),
                        true,
                    )
                };
                let entry = |p: usize| {
                    let e = &scenario.rows[entries.get(p)?.1];
                    Some((e.alias.clone(), e.table.clone()))
                };
                let set = spec.set.contains_key(&c.name);
                sources.push(column_source(schema, table, c, set, &plan, entry));
                cols.push(plan);
                generated.push(is_gen);
            }
            rows.push(CompiledRow {
                alias: spec.alias.as_str().into(),
                output: spec.output.as_deref().unwrap_or(&spec.alias).into(),
                table_name: table.name.as_str().into(),
                table: schema.table_index(&spec.table).expect("checked"),
                count: spec.count.clone(),
                when: spec.when.clone(),
                cols,
                generated,
                sources,
                rules: Arc::new(RowRules::new(table, &columns[ti])),
            });
        }
        let gate = crate::validate::SCHEMA_VALIDATORS
            .iter()
            .map(|n| (*n).to_owned())
            .chain(scenario.validators.iter().cloned())
            .collect();
        Ok(CompiledScenario {
            gate,
            scenario: Arc::new(scenario),
            rows,
            columns,
        })
    }
}
