//! Streamed entries: a `[[rows]]` entry with many rows is not held in the plan; its rows are
//! made, validated and written a batch at a time.
//!
//! An entry is streamed when it has at least [`STREAM_ROWS`] rows, unless it must be planned
//! whole ([`CompiledScenario::held`]). Row `i` of a referring entry points at row `i mod n`
//! of an entry of `n` rows, so an entry referred to by planned entries of at most `k` rows
//! needs only its first `k` rows planned. Those are held in the plan ([`Stream::held`]); the
//! rest are streamed. The streamed rows of a streamed referrer may point at streamed rows:
//! each of its batches makes those again beside it ([`Window`]). An entry's rows are the rows
//! a plan without streaming holds, cell for cell: row `i` of the entry is computed from the
//! plan's resolved knobs, the run's seed and the rows of the entries before it, and it takes
//! the index among its table's rows it would have had. Only a reference to a key the
//! database assigns differs: to a streamed row it is a [`Cell::Streamed`](super::Cell),
//! which the engine resolves from the keys it drew for that row.
//!
//! The gate still stands before the database. [`Pack::validate`] runs the validators on the
//! planned rows together with the first batch of every streamed entry, so a request is
//! refused before anything is written. [`Streamer::batch`] runs them again on every batch,
//! together with the planned rows and the batch's windows, and only its [`ValidatedBatch`]
//! can be written. Uniques are therefore checked within each batch and against the planned
//! rows; values the generator makes unique (a suffix from the row's index) are unique across
//! batches by construction.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::compile::{ColPlan, CompiledScenario, ref_target_column};
use super::run::{At, Planner};
use super::window::{Rows, Window};
use super::{ExistingRows, Plan, RunContext, TablePlan};
use crate::error::Error;
use crate::pack::Pack;
use crate::scenario::Expr;
use crate::schema::Schema;
use crate::validate::ValidatedPlan;

/// From this many rows on, an entry is streamed (see the module docs for the exceptions).
pub const STREAM_ROWS: u64 = 10_000;

/// Rows per batch of a streamed entry (the unit of validation and of writing).
pub const STREAM_BATCH: u64 = 8_192;

/// The most rows the streamed entries of one request may hold together: one billion.
pub const MAX_STREAM_ROWS: u64 = 1_000_000_000;

/// A streamed `[[rows]]` entry: its rows are made batch by batch ([`Streamer`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    /// The entry: its index in [`Plan::entities`].
    pub entry: usize,
    /// The table.
    pub table: Arc<str>,
    /// The columns written, in table order (computed columns are left out).
    pub columns: Arc<[String]>,
    /// How many of its first rows are planned (held in [`Plan::tables`]): those other
    /// entries refer to. The streamed rows come after them.
    #[serde(default)]
    pub held: u64,
    /// How many rows are streamed (the entry has `held + rows`).
    pub rows: u64,
    /// The index of its first streamed row among all rows of its table in the run (the
    /// rows of earlier entries of the table, and its held rows, come first); generation
    /// uses it.
    pub first_row: u64,
}

impl Stream {
    /// No rows of its table: a table plan to add rows to.
    fn no_rows(&self) -> TablePlan {
        TablePlan {
            table: self.table.clone(),
            columns: self.columns.clone(),
            aliases: Vec::new(),
            rows: Vec::new(),
            sources: None,
        }
    }
}

impl CompiledScenario {
    /// Which entries are streamed, given their counts (`None`: not a count): `Some(k)` for
    /// an entry streamed after its first `k` rows.
    pub(super) fn streamable(&self, schema: &Schema, counts: &[Option<u64>]) -> Vec<Option<u64>> {
        self.held(schema, counts).streamed
    }

    /// Per entry: whether it is streamed and after how many held rows, or why it is planned
    /// whole.
    ///
    /// An entry is planned whole when it links to an entry planned after it, or an entry of
    /// unknown count refers to it. Otherwise it holds as many of its first rows as the
    /// entries that refer to it need: all rows of a planned referrer, and the held rows of a
    /// streamed one, whose streamed rows point at streamed rows ([`Window`]). A streamed row
    /// can point at a streamed row where the column it reads is a value the planner makes
    /// or the integer key the engine draws for it; a reference to another key the database
    /// assigns needs the row held.
    ///
    /// Entries refer only to entries before them (or are planned whole), so the entries are
    /// decided from the last to the first, each after every entry that refers to it.
    pub(super) fn held(&self, schema: &Schema, counts: &[Option<u64>]) -> Holding {
        let n = self.rows.len();
        let mut h = Holding {
            streamed: vec![None; n],
            why: vec![None; n],
            needed: vec![(0, None); n],
        };
        let need = |h: &mut Holding, p: usize, by: usize, rows: Option<u64>| match rows {
            Some(c) if c > h.needed[p].0 => h.needed[p] = (c, Some(by)),
            Some(_) => {}
            None => {
                h.why[p].get_or_insert(Held::ReferredBy(by));
            }
        };
        // Links to later entries: the linking entry is planned whole, and needs all the
        // rows of its count.
        for (e, &count) in counts.iter().enumerate() {
            for (p, _) in self.references(schema, e) {
                if p >= e {
                    h.why[e].get_or_insert(Held::LinksLater(p));
                    need(&mut h, p, e, count);
                }
            }
        }
        for e in (0..n).rev() {
            if let Some(c) = counts[e]
                && c >= STREAM_ROWS
                && h.why[e].is_none()
                && h.needed[e].0 < c
            {
                h.streamed[e] = Some(h.needed[e].0);
            }
            if let (Some(c), None) = (counts[e], h.streamed[e])
                && h.why[e].is_none()
                && h.needed[e].0 >= c
                && c > 0
                && let Some(by) = h.needed[e].1
            {
                h.why[e] = Some(Held::ReferredBy(by));
            }
            for (p, streams_through) in self.references(schema, e) {
                if p >= e {
                    continue;
                }
                let rows = match h.streamed[e] {
                    Some(k) if streams_through => Some(k),
                    _ => counts[e],
                };
                need(&mut h, p, e, rows);
            }
        }
        h
    }

    /// The entries entry `e` refers to (by a link or an `"@alias"`), each with whether a
    /// streamed row of `e` can point at a streamed row of it.
    fn references(&self, schema: &Schema, e: usize) -> Vec<(usize, bool)> {
        let r = &self.rows[e];
        let by_alias = |alias: &str| self.rows.iter().position(|r| &*r.alias == alias);
        let table = &schema.tables[r.table];
        let mut out = Vec::new();
        for (ci, cp) in r.cols.iter().enumerate() {
            match cp {
                ColPlan::Link(p, col)
                | ColPlan::MaybeLink {
                    entry: p,
                    column: col,
                    ..
                } => {
                    out.push((*p, self.streams_through(schema, *p, col)));
                }
                ColPlan::Expr(x) => refs(x, &mut |alias, column| {
                    let Some(p) = by_alias(alias) else { return };
                    let target = &schema.tables[self.rows[p].table];
                    let col = ref_target_column(
                        schema,
                        table,
                        &self.columns[r.table][ci],
                        target,
                        column,
                    );
                    let through = col.is_ok_and(|c| self.streams_through(schema, p, &c));
                    out.push((p, through));
                }),
                _ => {}
            }
        }
        out
    }

    /// Whether column `column` of a streamed row of entry `p` is known without the
    /// database, or is the integer key the engine draws for the row (see [`Window`]).
    fn streams_through(&self, schema: &Schema, p: usize, column: &str) -> bool {
        let r = &self.rows[p];
        let Some(ci) = self.columns[r.table].iter().position(|c| c == column) else {
            return false;
        };
        match &r.cols[ci] {
            ColPlan::DbAssigned => {
                let t = &schema.tables[r.table];
                t.primary_key.len() == 1
                    && t.primary_key[0] == column
                    && t.get_column(column)
                        .is_some_and(|c| c.ty.int_range().is_some())
            }
            _ => true,
        }
    }

    /// Says which entries of the plan are large and why they are not streamed, for the
    /// error of a plan too large to hold.
    pub(super) fn why_held(&self, schema: &Schema, counts: &[Option<u64>]) -> String {
        let held = self.held(schema, counts).why;
        let alias = |e: usize| &*self.rows[e].alias;
        let mut out: Vec<String> = Vec::new();
        for (e, h) in held.iter().enumerate() {
            let Some(n) = counts[e].filter(|&n| n >= STREAM_ROWS) else {
                continue;
            };
            match h {
                Some(Held::ReferredBy(by)) => out.push(format!(
                    "@{} ({n} rows) is planned whole because @{} refers to every row of it",
                    alias(e),
                    alias(*by)
                )),
                Some(Held::LinksLater(to)) => out.push(format!(
                    "@{} ({n} rows) is planned whole because it links to @{}, planned after it",
                    alias(e),
                    alias(*to)
                )),
                None => {}
            }
        }
        out.join("; ")
    }

    /// Rows `rows` of a plan's streamed entry, as the planner makes them, with the
    /// [`Window`]s they point at: those of the streamed entries it refers to, and theirs in
    /// turn, for the gate to see beside them (a row may be in more than one).
    pub(crate) fn stream_rows(
        &self,
        pack: &Pack,
        plan: &Plan,
        existing: &ExistingRows,
        stream: &Stream,
        rows: Range<u64>,
    ) -> Result<(TablePlan, Vec<Window>), Error> {
        let r = &self.rows[stream.entry];
        let (windows, mut all) = self.windows(pack, plan, existing, stream, rows.clone())?;
        let ctx = RunContext {
            run_id: plan.run_id.clone(),
            seed: plan.seed,
            reference_date: plan.reference_date,
            generator_version: plan.generator_version,
        };
        let planner = Planner {
            compiled: self,
            schema: pack.schema(),
            constraints: &plan.constraints,
            knobs: &plan.constraints,
            ctx: &ctx,
            existing,
            reference: pack.reference_rows(),
            policy: pack.markers(),
            explain: false,
        };
        let entities = &plan.entities[..stream.entry];
        let n = (rows.end - rows.start) as usize;
        let mut out = TablePlan {
            table: stream.table.clone(),
            columns: stream.columns.clone(),
            aliases: vec![r.alias.clone(); n],
            rows: Vec::with_capacity(n),
            sources: None,
        };
        let (mut forward, mut buf) = (Vec::new(), String::new());
        let view = Rows::with(&plan.tables, &windows);
        for k in rows.clone() {
            let at = At {
                i: (stream.held + k) as usize,
                slot: usize::MAX,
                plan: (k - rows.start) as usize,
                gen_row: stream.first_row + k,
            };
            let (cells, _) = planner.row(r, at, entities, view, &mut forward, &mut buf)?;
            out.rows.push(cells);
        }
        debug_assert!(
            forward.is_empty(),
            "streamed entries link to no later entry"
        );
        all.extend(windows);
        Ok((out, all))
    }

    /// The windows rows `rows` of `stream` point at: per streamed entry it refers to, the
    /// streamed rows its rows `i` point at (`i mod n`, at most two ranges, as the rows wrap
    /// around), made again; and, apart, the windows those rows point at in turn.
    fn windows(
        &self,
        pack: &Pack,
        plan: &Plan,
        existing: &ExistingRows,
        stream: &Stream,
        rows: Range<u64>,
    ) -> Result<(Vec<Window>, Vec<Window>), Error> {
        let (mut direct, mut nested) = (Vec::new(), Vec::new());
        let mut parents: Vec<usize> = self
            .references(pack.schema(), stream.entry)
            .into_iter()
            .map(|(p, _)| p)
            .filter(|&p| p < stream.entry)
            .collect();
        parents.sort_unstable();
        parents.dedup();
        for p in parents {
            let Some(sp) = plan.streams.iter().position(|s| s.entry == p) else {
                continue;
            };
            let ps = &plan.streams[sp];
            let count = ps.held + ps.rows;
            let (from, len) = ((stream.held + rows.start) % count, rows.end - rows.start);
            let wrapped = (from + len > count).then(|| 0..(from + len - count).min(from));
            let ranges = std::iter::once(from..(from + len).min(count)).chain(wrapped);
            let mut empty = true;
            for range in ranges {
                let range = range.start.max(ps.held) - ps.held..range.end.max(ps.held) - ps.held;
                if range.is_empty() {
                    continue;
                }
                empty = false;
                let (made, theirs) = self.stream_rows(pack, plan, existing, ps, range.clone())?;
                direct.push(Window {
                    entry: p,
                    stream: sp,
                    count,
                    held: ps.held,
                    first: range.start,
                    rows: made,
                });
                nested.extend(theirs);
            }
            if empty {
                // Its rows here are all held; the window says so.
                direct.push(Window {
                    entry: p,
                    stream: sp,
                    count,
                    held: ps.held,
                    first: 0,
                    rows: ps.no_rows(),
                });
            }
        }
        Ok((direct, nested))
    }
}

/// Which entries are streamed, and why the others are planned whole
/// ([`CompiledScenario::held`]).
pub(super) struct Holding {
    /// Per entry: `Some(k)` when it is streamed after its first `k` rows.
    pub(super) streamed: Vec<Option<u64>>,
    /// Per entry: why it is planned whole whatever its count, if it is.
    pub(super) why: Vec<Option<Held>>,
    /// Per entry: how many of its first rows the entries that refer to it need, and the
    /// entry that needs the most.
    needed: Vec<(u64, Option<usize>)>,
}

/// Why an entry is planned whole.
#[derive(Debug, Clone, Copy)]
pub(super) enum Held {
    /// Another entry refers to it.
    ReferredBy(usize),
    /// It links to an entry planned after it.
    LinksLater(usize),
}

/// Calls `f` with the alias and column of every `"@alias"` in `e`.
fn refs(e: &Expr, f: &mut dyn FnMut(&str, Option<&str>)) {
    match e {
        Expr::Ref { alias, column } => f(alias, column.as_deref()),
        Expr::Map {
            cases, otherwise, ..
        } => {
            for c in cases.values() {
                refs(c, f);
            }
            if let Some(o) = otherwise {
                refs(o, f);
            }
        }
        _ => {}
    }
}

/// Rows of one streamed entry that passed the gate, together with the planned rows. Only
/// [`Streamer::batch`] makes one, so only validated rows reach a database.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedBatch {
    rows: TablePlan,
    stream: usize,
    first: u64,
}

impl ValidatedBatch {
    /// The rows, as a table plan of their own (row 0 is the batch's first row).
    pub fn rows(&self) -> &TablePlan {
        &self.rows
    }

    /// The stream they belong to: an index into [`Plan::streams`].
    pub fn stream(&self) -> usize {
        self.stream
    }

    /// The index among the stream's rows of the first row (the entry's row
    /// [`Stream::held`] is the stream's row 0).
    pub fn first(&self) -> u64 {
        self.first
    }
}

/// Makes and validates the batches of a validated plan's streamed entries. It owns what it
/// needs, so it can run on a thread of its own.
pub struct Streamer {
    pack: Pack,
    /// The validated plan, to which each batch is added while the gate runs.
    work: Plan,
    existing: ExistingRows,
}

impl Streamer {
    /// A streamer for `validated`; `existing` are the rows it was planned with.
    pub fn new(pack: &Pack, validated: &ValidatedPlan, existing: &ExistingRows) -> Self {
        Streamer {
            pack: pack.clone(),
            work: validated.plan().clone(),
            existing: existing.clone(),
        }
    }

    /// The plan's streamed entries.
    pub fn streams(&self) -> &[Stream] {
        &self.work.streams
    }

    /// Rows `rows` (indexes among the streamed rows: `0` is the entry's row `held`) of
    /// stream `stream`, validated together with the planned rows. A rejection is [`Error::Rejected`], as for a plan.
    pub fn batch(&mut self, stream: usize, rows: Range<u64>) -> Result<ValidatedBatch, Error> {
        let s = self
            .work
            .streams
            .get(stream)
            .cloned()
            .ok_or_else(|| Error::Plan {
                scenario: self.work.scenario.clone(),
                message: format!(
                    "no stream {stream}; the plan has {}",
                    self.work.streams.len()
                ),
            })?;
        let end = rows.end.min(s.rows);
        let rows = rows.start.min(end)..end;
        let compiled = self.pack.compiled(&self.work.scenario)?;
        let (batch, windows) =
            compiled.stream_rows(&self.pack, &self.work, &self.existing, &s, rows.clone())?;
        // The gate sees the batch, and the streamed rows it points at (each once), as rows
        // of their tables after the planned ones; the plan is put back afterwards.
        let (tables, lens): (usize, Vec<usize>) = (
            self.work.tables.len(),
            self.work.tables.iter().map(|t| t.rows.len()).collect(),
        );
        let slot = self.slot(stream);
        let tp = &mut self.work.tables[slot];
        let planned = tp.rows.len();
        tp.rows.extend(batch.rows);
        tp.aliases.extend(batch.aliases);
        let end = tp.rows.len();
        let mut seen = HashSet::new();
        for w in windows {
            let ws = self.slot(w.stream);
            let tp = &mut self.work.tables[ws];
            for (k, (row, alias)) in w.rows.rows.into_iter().zip(w.rows.aliases).enumerate() {
                if seen.insert((w.entry, w.first + k as u64)) {
                    tp.rows.push(row);
                    tp.aliases.push(alias);
                }
            }
        }
        let checked = self.pack.check(&self.work, &self.existing);
        let tp = &mut self.work.tables[slot];
        tp.rows.truncate(end);
        tp.aliases.truncate(end);
        let batch = TablePlan {
            table: s.table.clone(),
            columns: s.columns.clone(),
            aliases: tp.aliases.split_off(planned),
            rows: tp.rows.split_off(planned),
            sources: None,
        };
        for (tp, &len) in self.work.tables.iter_mut().zip(&lens) {
            tp.rows.truncate(len);
            tp.aliases.truncate(len);
        }
        self.work.tables.truncate(tables);
        checked?;
        Ok(ValidatedBatch {
            rows: batch,
            stream,
            first: rows.start,
        })
    }

    /// The slot in the work plan of the table of stream `stream`, added where the plan has
    /// none.
    fn slot(&mut self, stream: usize) -> usize {
        let s = &self.work.streams[stream];
        match self.work.tables.iter().position(|t| t.table == s.table) {
            Some(slot) => slot,
            None => {
                let empty = s.no_rows();
                self.work.tables.push(empty);
                self.work.tables.len() - 1
            }
        }
    }
}
