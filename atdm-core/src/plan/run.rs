//! Planning a compiled scenario for one run.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Source;
use super::compile::{ColPlan, CompiledRow, ref_target_column};
use super::dates::not_before_parents;
use super::explain::{RowSources, mark_changed, row_rules_on};
use super::stream::{MAX_STREAM_ROWS, Stream};
use super::window::Rows;
use super::{Cell, CompiledScenario, Entity, ExistingRows, Plan, RunContext, TablePlan};
use crate::error::Error;
use crate::generate::{
    CellRng, GENERATOR_VERSION, GenContext, MarkerPolicy, RowCells, fills, name_hash,
};
use crate::scenario::{Count, Expr, Part, Var, builtin, push_text};
use crate::schema::{Schema, Table};
use crate::value::Value;

/// A link to an entry planned later (rows of one foreign-key cycle): (table slot, row,
/// column, entry, referenced column, the row's index within its entry).
pub(super) type Forward = (usize, usize, usize, usize, String, usize);

/// What planning one run reads: the pack's parts and the run's inputs.
pub(super) struct Planner<'a> {
    pub(super) compiled: &'a CompiledScenario,
    pub(super) schema: &'a Schema,
    pub(super) constraints: &'a BTreeMap<String, Value>,
    pub(super) knobs: &'a BTreeMap<String, Value>,
    pub(super) ctx: &'a RunContext,
    pub(super) existing: &'a ExistingRows,
    pub(super) reference: &'a ExistingRows,
    pub(super) policy: &'a dyn MarkerPolicy,
    pub(super) explain: bool,
}

/// Where a planned row goes: its entry's row `i`, at `plan` in its table's plan (slot
/// `slot`), and `gen` among all rows of its table, streamed ones included (the index
/// generation uses).
#[derive(Clone, Copy)]
pub(super) struct At {
    pub(super) i: usize,
    pub(super) slot: usize,
    pub(super) plan: usize,
    pub(super) gen_row: u64,
}

impl CompiledScenario {
    /// Each entry's count under resolved `knobs` (0 for an entry whose `when` does not
    /// hold); `None` where a count knob is not a non-negative integer.
    fn counts(&self, knobs: &BTreeMap<String, Value>) -> Vec<Option<u64>> {
        self.rows
            .iter()
            .map(|r| match (&r.when, &r.count) {
                (Some(w), _) if !w.holds(knobs) => Some(0),
                (_, Count::Fixed(n)) => Some(u64::from(*n)),
                (_, Count::Knob(k)) => match knobs.get(k) {
                    Some(Value::Int(n)) if *n >= 0 => Some(*n as u64),
                    _ => None, // reported by `plan`, with the knob's value
                },
            })
            .collect()
    }

    /// How many rows a plan under `constraints` holds and streams together, without
    /// planning any: the sum of the entries' counts (edge-case rows are added later, by the
    /// gate). A count knob that is not a non-negative integer is an error, as in `plan`.
    pub(crate) fn rows_asked(
        &self,
        constraints: &BTreeMap<String, Value>,
        ctx: &RunContext,
    ) -> Result<u64, Error> {
        let s = &self.scenario;
        let knobs = s.resolve_knobs(constraints, &ctx.run_id, ctx.reference_date)?;
        let counts = self.counts(&knobs);
        let mut rows: u64 = 0;
        for (r, n) in self.rows.iter().zip(counts) {
            match (n, &r.count) {
                (Some(n), _) => rows = rows.saturating_add(n),
                (None, Count::Knob(k)) => return Err(self.bad_count(k, &knobs)),
                (None, Count::Fixed(_)) => unreachable!("fixed counts are known"),
            }
        }
        Ok(rows)
    }

    /// The error for count knob `k`, whose value is not a non-negative integer.
    fn bad_count(&self, k: &str, knobs: &BTreeMap<String, Value>) -> Error {
        Error::Plan {
            scenario: self.scenario.id.clone(),
            message: format!(
                "count knob {k:?} must be a non-negative integer, not {}",
                knobs.get(k).cloned().unwrap_or(Value::Null)
            ),
        }
    }

    /// Plans the scenario; with `explain`, says where every value came from. With `stream`,
    /// entries of [`STREAM_ROWS`](super::STREAM_ROWS) rows or more that no other entry
    /// refers to are not planned row by row: the plan lists them in [`Plan::streams`], and
    /// their rows are made batch by batch afterwards ([`Pack::stream_batch`](crate::Pack::stream_batch)),
    /// the same rows a plan without streaming holds.
    #[allow(clippy::too_many_arguments)] // the pack's parts, the run's inputs, and the modes
    pub(crate) fn plan(
        &self,
        schema: &Schema,
        constraints: &BTreeMap<String, Value>,
        ctx: &RunContext,
        existing: &ExistingRows,
        reference: &ExistingRows,
        policy: &dyn MarkerPolicy,
        explain: bool,
        stream: bool,
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
        // Counts come from input (a knob): the plan's size is checked before anything is
        // allocated for it, so no request can exhaust the process's memory.
        let counts = self.counts(&knobs);
        // Per entry: `Some(k)` when it is streamed after its first `k` rows (those other
        // entries refer to, held in the plan).
        let streamed = if stream && !explain {
            self.streamable(schema, &counts)
        } else {
            vec![None; self.rows.len()]
        };
        let mut cells: u64 = 0;
        let mut streamed_rows: u64 = 0;
        for ((r, n), streamed) in self.rows.iter().zip(&counts).zip(&streamed) {
            let n = n.unwrap_or(0);
            let held = streamed.map_or(n, |k| k);
            streamed_rows = streamed_rows.saturating_add(n - held);
            cells = cells.saturating_add(held.saturating_mul(r.cols.len().max(1) as u64));
        }
        if cells > super::MAX_PLAN_CELLS {
            let why = if stream && !explain {
                self.why_held(schema, &counts)
            } else {
                String::new()
            };
            let why = if why.is_empty() {
                String::new()
            } else {
                format!(
                    " ({why}; an entry is streamed unless a planned entry refers to every row of it, or the rows that refer to it read a key the database assigns that is not an integer key)"
                )
            };
            return Err(plan_err(format!(
                "the plan would hold {cells} cells (rows times columns), more than the {} one plan may hold{why}; ask for fewer rows (the count knobs), seed that volume in several requests, or generate it with `atdm generate`",
                super::MAX_PLAN_CELLS
            )));
        }
        if streamed_rows > MAX_STREAM_ROWS {
            return Err(plan_err(format!(
                "the scenario asks for {streamed_rows} rows, more than the {MAX_STREAM_ROWS} one request may seed; ask for fewer rows (the count knobs), or use `atdm generate` for that volume"
            )));
        }
        let planner = Planner {
            compiled: self,
            schema,
            constraints,
            knobs: &knobs,
            ctx,
            existing,
            reference,
            policy,
            explain,
        };
        let mut tables: Vec<TablePlan> = Vec::new();
        let mut table_slot: Vec<Option<usize>> = vec![None; schema.tables.len()];
        // Per schema table: the rows of its streamed entries so far.
        let mut skipped: Vec<u64> = vec![0; schema.tables.len()];
        let mut streams: Vec<Stream> = Vec::new();
        let mut entities: Vec<Entity> = Vec::with_capacity(self.rows.len());
        let mut buf = String::new();
        let mut forward: Vec<Forward> = Vec::new();
        for (e, r) in self.rows.iter().enumerate() {
            let count = match counts[e] {
                Some(n) => n as usize,
                None => {
                    let Count::Knob(k) = &r.count else {
                        unreachable!("fixed counts are known")
                    };
                    return Err(self.bad_count(k, &knobs));
                }
            };
            // A streamed entry: its first `held` rows are planned here, the rest streamed.
            let held = streamed[e].map_or(count, |k| k as usize);
            let mut entity = Entity {
                alias: r.alias.clone(),
                output: r.output.clone(),
                table: r.table_name.clone(),
                rows: Vec::with_capacity(held),
                single: matches!(r.count, Count::Fixed(1)),
            };
            if held > 0 {
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
                for i in 0..held {
                    let plan_index = tables[slot].rows.len();
                    let at = At {
                        i,
                        slot,
                        plan: plan_index,
                        gen_row: plan_index as u64 + skipped[r.table],
                    };
                    let (cells, sources) = planner.row(
                        r,
                        at,
                        &entities,
                        Rows::planned(&tables),
                        &mut forward,
                        &mut buf,
                    )?;
                    let tp = &mut tables[slot];
                    if let (Some(all), Some(srcs)) = (&mut tp.sources, sources) {
                        all.push(srcs);
                    }
                    tp.rows.push(cells);
                    tp.aliases.push(r.alias.clone());
                    entity.rows.push(plan_index);
                }
            }
            if held < count {
                let planned = table_slot[r.table].map_or(0, |s| tables[s].rows.len());
                streams.push(Stream {
                    entry: e,
                    table: r.table_name.clone(),
                    columns: self.columns[r.table].clone(),
                    held: held as u64,
                    rows: (count - held) as u64,
                    first_row: planned as u64 + skipped[r.table],
                });
                skipped[r.table] += (count - held) as u64;
            }
            entities.push(entity);
        }
        for (slot, row, ci, entry, column, i) in forward {
            let cell = Rows::planned(&tables).link(&entities, entry, &column, i);
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
            streams,
        })
    }
}

impl Planner<'_> {
    /// One row of entry `r`, with its sources when explaining. It may point at `rows`; links
    /// to entries planned later go to `forward` (NULL until then).
    pub(super) fn row(
        &self,
        r: &CompiledRow,
        at: At,
        entities: &[Entity],
        rows: Rows<'_>,
        forward: &mut Vec<Forward>,
        buf: &mut String,
    ) -> Result<(Vec<Cell>, Option<Vec<Source>>), Error> {
        let (schema, ctx, policy) = (self.schema, self.ctx, self.policy);
        let s = &self.compiled.scenario;
        let plan_err = |message: String| Error::Plan {
            scenario: s.id.clone(),
            message,
        };
        let table = &schema.tables[r.table];
        let names = &self.compiled.columns[r.table];
        let i = at.i;
        let gctx = GenContext {
            seed: ctx.seed,
            run_id: &ctx.run_id,
            reference_date: ctx.reference_date,
            table: &table.name,
            column: "",
            row: at.gen_row,
        };
        let mut cells = Vec::with_capacity(r.cols.len());
        // Per column: the planned row it points at (a link or an `@alias`).
        let mut parents: Vec<Option<(Arc<str>, usize)>> = vec![None; r.cols.len()];
        let linked = |p: usize| {
            rows.entity_row(entities, p, i)
                .map(|row| (entities[p].table.clone(), row))
        };
        for (ci, cp) in r.cols.iter().enumerate() {
            let cell = match cp {
                ColPlan::Lit(v) => Cell::Value(v.clone()),
                ColPlan::RunId => Cell::Value(Value::Text(ctx.run_id.clone())),
                ColPlan::DbAssigned => Cell::Default,
                ColPlan::Null => Cell::Value(Value::Null),
                ColPlan::Gen(g) => Cell::Value(g.value_or_null(&gctx, policy)),
                ColPlan::Link(p, col) if *p >= entities.len() => {
                    forward.push((at.slot, at.plan, ci, *p, col.clone(), i));
                    Cell::Value(Value::Null)
                }
                ColPlan::Link(p, col) => {
                    parents[ci] = linked(*p);
                    rows.link(entities, *p, col, i)
                }
                ColPlan::MaybeLink {
                    entry,
                    column,
                    key,
                    rate,
                } => {
                    if fills(ctx.seed, name_hash(&table.name), at.gen_row, *key, *rate) {
                        if *entry >= entities.len() {
                            forward.push((at.slot, at.plan, ci, *entry, column.clone(), i));
                            Cell::Value(Value::Null)
                        } else {
                            parents[ci] = linked(*entry);
                            rows.link(entities, *entry, column, i)
                        }
                    } else {
                        Cell::Value(Value::Null)
                    }
                }
                ColPlan::Existing(t, col, key) => {
                    let mut rng =
                        CellRng::new(ctx.seed, name_hash(&table.name), at.gen_row, name_hash(key));
                    pick_existing(t, col, &mut rng, self.existing, self.reference).ok_or_else(|| plan_err(format!(
                        "{}.{} must point at an existing {t:?} row, and none exists; seed one in the scenario or create it first",
                        table.name, names[ci]
                    )))?
                }
                ColPlan::Expr(e) => {
                    let col_name = &names[ci];
                    let column = table.get_column(col_name).expect("compiled from the table");
                    let env = Env {
                        scenario: &s.id,
                        schema,
                        table,
                        column: col_name,
                        knobs: self.knobs,
                        ctx,
                        row: i as u32,
                        gen_row: at.gen_row,
                        entities,
                        rows,
                        existing: self.existing,
                        reference: self.reference,
                        linked: std::cell::Cell::new(None),
                    };
                    let cell = env.eval(e, buf)?;
                    parents[ci] = env.linked.get().and_then(linked);
                    match cell {
                        Cell::Value(v) => Cell::Value(
                            v.coerce(&column.ty)
                                .map_err(|m| plan_err(format!("{}.{col_name}: {m}", table.name)))?,
                        ),
                        other => other,
                    }
                }
            };
            cells.push(cell);
        }
        let mut sources = self.explain.then(|| {
            let rs = RowSources {
                caller: self.constraints,
                knobs: self.knobs,
                entities,
                i,
            };
            (r.cols.iter().zip(&r.sources).zip(&cells))
                .map(|((cp, base), cell)| rs.cell(base, cp, cell))
                .collect::<Vec<_>>()
        });
        let before = sources.is_some().then(|| cells.clone());
        not_before_parents(
            table,
            names,
            &r.generated,
            &parents,
            rows,
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
            at.gen_row,
            &mut PlannedRow(&mut cells),
            &r.generated,
            &mut regenerate,
        );
        if let (Some(srcs), Some(before)) = (&mut sources, &before) {
            mark_changed(before, &cells, srcs, &|ci| row_rules_on(table, &names[ci]));
        }
        Ok((cells, sources))
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
    gen_row: u64,
    entities: &'a [Entity],
    rows: Rows<'a>,
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
                self.rows.link(self.entities, p, &col, self.row as usize)
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
                    self.gen_row,
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
                    self.gen_row,
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
