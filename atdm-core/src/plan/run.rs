//! Planning a compiled scenario for one run.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::compile::{ColPlan, ref_target_column};
use super::dates::not_before_parents;
use super::explain::{RowSources, mark_changed, row_rules_on};
use super::{Cell, CellRef, CompiledScenario, Entity, ExistingRows, Plan, RunContext, TablePlan};
use crate::error::Error;
use crate::generate::{
    CellRng, GENERATOR_VERSION, GenContext, MarkerPolicy, RowCells, fills, name_hash,
};
use crate::scenario::{Count, Expr, Part, Var, builtin, push_text};
use crate::schema::{Schema, Table};
use crate::value::Value;

impl CompiledScenario {
    /// Plans the scenario; with `explain`, says where every value came from.
    #[allow(clippy::too_many_arguments)] // the pack's parts, the run's inputs, and the mode
    pub(crate) fn plan(
        &self,
        schema: &Schema,
        constraints: &BTreeMap<String, Value>,
        ctx: &RunContext,
        existing: &ExistingRows,
        reference: &ExistingRows,
        policy: &dyn MarkerPolicy,
        explain: bool,
    ) -> Result<Plan, Error> {
        let s = &self.scenario;
        if ctx.generator_version != GENERATOR_VERSION {
            return Err(Error::Plan {
                scenario: s.id.clone(),
                message: format!(
                    "generator version {} is not supported; this build plans with version {GENERATOR_VERSION}",
                    ctx.generator_version
                ),
            });
        }
        let knobs = s.resolve_knobs(constraints, &ctx.run_id, ctx.reference_date)?;
        let plan_err = |message: String| Error::Plan {
            scenario: s.id.clone(),
            message,
        };
        let mut tables: Vec<TablePlan> = Vec::new();
        let mut table_slot: Vec<Option<usize>> = vec![None; schema.tables.len()];
        let mut entities: Vec<Entity> = Vec::with_capacity(self.rows.len());
        let mut buf = String::new();
        // Links to entries planned later (rows of one foreign-key cycle): (table slot, row,
        // column, entry, referenced column, the row's index within its entry).
        let mut forward: Vec<(usize, usize, usize, usize, String, usize)> = Vec::new();
        // Counts come from input (a knob): the plan's size is checked before anything is
        // allocated for it, so no request can exhaust the process's memory.
        let mut cells: u64 = 0;
        for r in &self.rows {
            let n = match (&r.when, &r.count) {
                (Some(w), _) if !w.holds(&knobs) => 0,
                (_, Count::Fixed(n)) => u64::from(*n),
                (_, Count::Knob(k)) => match knobs.get(k) {
                    Some(Value::Int(n)) if *n >= 0 => *n as u64,
                    _ => 0, // reported below, with the knob's value
                },
            };
            cells = cells.saturating_add(n.saturating_mul(r.cols.len().max(1) as u64));
        }
        if cells > super::MAX_PLAN_CELLS {
            return Err(plan_err(format!(
                "the plan would hold {cells} cells (rows times columns), more than the {} one plan may hold; ask for fewer rows (the count knobs), or seed that volume in several requests",
                super::MAX_PLAN_CELLS
            )));
        }
        for r in &self.rows {
            let count = match (&r.when, &r.count) {
                (Some(w), _) if !w.holds(&knobs) => 0,
                (_, Count::Fixed(n)) => *n as usize,
                (_, Count::Knob(k)) => match knobs.get(k) {
                    Some(Value::Int(n)) if *n >= 0 => *n as usize,
                    other => {
                        return Err(plan_err(format!(
                            "count knob {k:?} must be a non-negative integer, not {}",
                            other.cloned().unwrap_or(Value::Null)
                        )));
                    }
                },
            };
            let table = &schema.tables[r.table];
            let mut entity = Entity {
                alias: r.alias.clone(),
                output: r.output.clone(),
                table: r.table_name.clone(),
                rows: Vec::with_capacity(count),
                single: matches!(r.count, Count::Fixed(1)),
            };
            if count == 0 {
                entities.push(entity);
                continue;
            }
            let slot = match table_slot[r.table] {
                Some(i) => i,
                None => {
                    tables.push(TablePlan {
                        table: r.table_name.clone(),
                        columns: self.columns[r.table].clone(),
                        aliases: Vec::new(),
                        rows: Vec::new(),
                        sources: explain.then(Vec::new),
                    });
                    table_slot[r.table] = Some(tables.len() - 1);
                    tables.len() - 1
                }
            };
            for i in 0..count {
                let row_index = tables[slot].rows.len();
                let gctx = GenContext {
                    seed: ctx.seed,
                    run_id: &ctx.run_id,
                    reference_date: ctx.reference_date,
                    table: &table.name,
                    column: "",
                    row: row_index as u64,
                };
                let mut cells = Vec::with_capacity(r.cols.len());
                // Per column: the planned row it points at (a link or an `@alias`).
                let mut parents: Vec<Option<(Arc<str>, usize)>> = vec![None; r.cols.len()];
                let linked = |p: usize| {
                    let e = &entities[p];
                    (!e.rows.is_empty()).then(|| (e.table.clone(), e.rows[i % e.rows.len()]))
                };
                for (ci, cp) in r.cols.iter().enumerate() {
                    let cell = match cp {
                        ColPlan::Lit(v) => Cell::Value(v.clone()),
                        ColPlan::RunId => Cell::Value(Value::Text(ctx.run_id.clone())),
                        ColPlan::DbAssigned => Cell::Default,
                        ColPlan::Null => Cell::Value(Value::Null),
                        ColPlan::Gen(g) => Cell::Value(g.value_or_null(&gctx, policy)),
                        ColPlan::Link(p, col) if *p >= entities.len() => {
                            forward.push((slot, row_index, ci, *p, col.clone(), i));
                            Cell::Value(Value::Null)
                        }
                        ColPlan::Link(p, col) => {
                            parents[ci] = linked(*p);
                            link(&entities[*p], &tables, col, i)
                        }
                        ColPlan::MaybeLink {
                            entry,
                            column,
                            key,
                            rate,
                        } => {
                            if fills(
                                ctx.seed,
                                name_hash(&table.name),
                                row_index as u64,
                                *key,
                                *rate,
                            ) {
                                if *entry >= entities.len() {
                                    forward.push((slot, row_index, ci, *entry, column.clone(), i));
                                    Cell::Value(Value::Null)
                                } else {
                                    parents[ci] = linked(*entry);
                                    link(&entities[*entry], &tables, column, i)
                                }
                            } else {
                                Cell::Value(Value::Null)
                            }
                        }
                        ColPlan::Existing(t, col, key) => {
                            let mut rng = CellRng::new(
                                ctx.seed,
                                name_hash(&table.name),
                                row_index as u64,
                                name_hash(key),
                            );
                            pick_existing(t, col, &mut rng, existing, reference).ok_or_else(|| plan_err(format!(
                                "{}.{} must point at an existing {t:?} row, and none exists; seed one in the scenario or create it first",
                                table.name, self.columns[r.table][ci]
                            )))?
                        }
                        ColPlan::Expr(e) => {
                            let col_name = &self.columns[r.table][ci];
                            let column =
                                table.get_column(col_name).expect("compiled from the table");
                            let env = Env {
                                scenario: &s.id,
                                schema,
                                table,
                                column: col_name,
                                knobs: &knobs,
                                ctx,
                                row: i as u32,
                                row_index,
                                entities: &entities,
                                tables: &tables,
                                existing,
                                reference,
                                linked: std::cell::Cell::new(None),
                            };
                            let cell = env.eval(e, &mut buf)?;
                            parents[ci] = env.linked.get().and_then(linked);
                            match cell {
                                Cell::Value(v) => {
                                    Cell::Value(v.coerce(&column.ty).map_err(|m| {
                                        plan_err(format!("{}.{col_name}: {m}", table.name))
                                    })?)
                                }
                                other => other,
                            }
                        }
                    };
                    cells.push(cell);
                }
                let mut sources = explain.then(|| {
                    let rs = RowSources {
                        caller: constraints,
                        knobs: &knobs,
                        entities: &entities,
                        i,
                    };
                    (r.cols.iter().zip(&r.sources).zip(&cells))
                        .map(|((cp, base), cell)| rs.cell(base, cp, cell))
                        .collect::<Vec<_>>()
                });
                let before = sources.is_some().then(|| cells.clone());
                not_before_parents(
                    table,
                    &self.columns[r.table],
                    &r.generated,
                    &parents,
                    &tables,
                    &mut cells,
                    &gctx,
                );
                if let (Some(srcs), Some(before)) = (&mut sources, &before) {
                    let mut of: Vec<&str> = parents.iter().flatten().map(|(t, _)| &**t).collect();
                    of.dedup();
                    let rule = format!(
                        "a date not before the rows it references ({})",
                        of.join(", ")
                    );
                    mark_changed(before, &cells, srcs, &|_| rule.clone());
                }
                let before = sources.is_some().then(|| cells.clone());
                let mut regenerate = |ci: usize| match &r.cols[ci] {
                    ColPlan::Gen(g) => Some(g.value(&gctx, policy)),
                    _ => None,
                };
                r.rules.apply(
                    &table.name,
                    ctx.seed,
                    row_index as u64,
                    &mut PlannedRow(&mut cells),
                    &r.generated,
                    &mut regenerate,
                );
                if let (Some(srcs), Some(before)) = (&mut sources, &before) {
                    let names = &self.columns[r.table];
                    mark_changed(before, &cells, srcs, &|ci| row_rules_on(table, &names[ci]));
                }
                let tp = &mut tables[slot];
                if let (Some(all), Some(srcs)) = (&mut tp.sources, sources) {
                    all.push(srcs);
                }
                tp.rows.push(cells);
                tp.aliases.push(r.alias.clone());
                entity.rows.push(row_index);
            }
            entities.push(entity);
        }
        for (slot, row, ci, entry, column, i) in forward {
            let cell = link(&entities[entry], &tables, &column, i);
            let source = explain.then(|| {
                let rs = RowSources {
                    caller: constraints,
                    knobs: &knobs,
                    entities: &entities,
                    i,
                };
                rs.linked(entry, &column)
            });
            let tp = &mut tables[slot];
            tp.rows[row][ci] = cell;
            if let (Some(all), Some(Some(source))) = (&mut tp.sources, source) {
                all[row][ci] = source;
            }
        }
        Ok(Plan {
            scenario: s.id.clone(),
            run_id: ctx.run_id.clone(),
            seed: ctx.seed,
            reference_date: ctx.reference_date,
            generator_version: ctx.generator_version,
            schema: schema.name.clone(),
            schema_version: schema.version.clone(),
            constraints: knobs,
            tables,
            entities,
            edge_rows: Vec::new(),
        })
    }
}

fn link(e: &Entity, tables: &[TablePlan], column: &str, i: usize) -> Cell {
    if e.rows.is_empty() {
        return Cell::Value(Value::Null);
    }
    let row = e.rows[i % e.rows.len()];
    let tp = tables
        .iter()
        .find(|t| t.table == e.table)
        .expect("entity tables are planned");
    let ci = tp
        .columns
        .iter()
        .position(|c| c == column)
        .expect("referenced column exists");
    match &tp.rows[row][ci] {
        Cell::Value(v) => Cell::Value(v.clone()),
        Cell::Ref(r) => Cell::Ref(r.clone()),
        Cell::Default => Cell::Ref(CellRef {
            table: e.table.to_string(),
            row,
            column: column.into(),
        }),
    }
}

fn pick_existing(
    table: &str,
    column: &str,
    rng: &mut CellRng,
    existing: &ExistingRows,
    reference: &ExistingRows,
) -> Option<Cell> {
    let a = reference.get(table).map(Vec::as_slice).unwrap_or(&[]);
    let b = existing.get(table).map(Vec::as_slice).unwrap_or(&[]);
    let n = a.len() + b.len();
    if n == 0 {
        return None;
    }
    let k = rng.below(n as u64) as usize;
    let row = if k < a.len() { &a[k] } else { &b[k - a.len()] };
    row.get(column).cloned().map(Cell::Value)
}

struct Env<'a> {
    scenario: &'a str,
    schema: &'a Schema,
    table: &'a Table,
    column: &'a str,
    knobs: &'a BTreeMap<String, Value>,
    ctx: &'a RunContext,
    row: u32,
    row_index: usize,
    entities: &'a [Entity],
    tables: &'a [TablePlan],
    existing: &'a ExistingRows,
    reference: &'a ExistingRows,
    /// The `[[rows]]` entry an `@alias` of the expression pointed at.
    linked: std::cell::Cell<Option<usize>>,
}

impl Env<'_> {
    fn var(&self, v: &Var) -> Value {
        match v {
            Var::Knob(k) => self.knobs.get(k).cloned().unwrap_or(Value::Null),
            other => builtin(other, &self.ctx.run_id, self.row, self.ctx.reference_date)
                .expect("a built-in variable"),
        }
    }

    fn eval(&self, e: &Expr, buf: &mut String) -> Result<Cell, Error> {
        Ok(match e {
            Expr::Lit(v) => Cell::Value(v.clone()),
            Expr::Null => Cell::Value(Value::Null),
            Expr::Var(v) => Cell::Value(self.var(v)),
            Expr::Template(parts) => {
                buf.clear();
                for p in parts {
                    match p {
                        Part::Text(t) => buf.push_str(t),
                        Part::Var(v) => push_text(buf, &self.var(v)),
                    }
                }
                Cell::Value(Value::Text(buf.clone()))
            }
            Expr::Ref { alias, column } => {
                let p = self
                    .entities
                    .iter()
                    .position(|e| &*e.alias == alias.as_str())
                    .expect("references are checked when compiled");
                self.linked.set(Some(p));
                let e = &self.entities[p];
                let target = self.schema.table(&e.table).expect("checked");
                let col = ref_target_column(
                    self.schema,
                    self.table,
                    self.column,
                    target,
                    column.as_deref(),
                )
                .expect("checked");
                link(e, self.tables, &col, self.row as usize)
            }
            Expr::Map {
                knob,
                cases,
                otherwise,
            } => {
                let mut key = String::new();
                push_text(&mut key, self.knobs.get(knob).unwrap_or(&Value::Null));
                match cases.get(&key).or(otherwise.as_deref()) {
                    Some(inner) => self.eval(inner, buf)?,
                    None => Cell::Value(Value::Null),
                }
            }
            Expr::Pick(values) => {
                let mut rng = CellRng::new(
                    self.ctx.seed,
                    name_hash(&self.table.name),
                    self.row_index as u64,
                    name_hash(self.column),
                );
                Cell::Value(rng.pick(values).clone())
            }
            Expr::Existing { table } => {
                let target = self.schema.table(table).expect("checked");
                let col = ref_target_column(self.schema, self.table, self.column, target, None)
                    .expect("checked");
                let mut rng = CellRng::new(
                    self.ctx.seed,
                    name_hash(&self.table.name),
                    self.row_index as u64,
                    name_hash(table),
                );
                pick_existing(table, &col, &mut rng, self.existing, self.reference).ok_or_else(
                    || Error::Plan {
                        scenario: self.scenario.to_owned(),
                        message: format!(
                            "{}.{} must point at an existing {table:?} row, and none exists",
                            self.table.name, self.column
                        ),
                    },
                )?
            }
            Expr::Generate(_) => unreachable!("compiled into a generator"),
        })
    }
}

/// The cells of a planned row, for the row rules.
pub(super) struct PlannedRow<'a>(pub(super) &'a mut [Cell]);

impl RowCells for PlannedRow<'_> {
    fn value(&self, i: usize) -> Option<&Value> {
        match &self.0[i] {
            Cell::Value(v) => Some(v),
            _ => None,
        }
    }

    fn set(&mut self, i: usize, v: Value) {
        self.0[i] = Cell::Value(v);
    }
}
