//! Streamed entries: a `[[rows]]` entry with many rows is not held in the plan; its rows are
//! made, validated and written a batch at a time.
//!
//! An entry is streamed when it has at least [`STREAM_ROWS`] rows and the entries that refer
//! to it (by `"@alias"`, or by a link the planner made) refer to fewer of its rows than it
//! has: row `i` of a referring entry points at row `i mod n` of an entry of `n` rows, so an
//! entry referred to by entries of at most `k` rows needs only its first `k` rows planned.
//! Those are held in the plan ([`Stream::held`]); the rest are streamed. Its rows are the
//! rows a plan without streaming holds, cell for cell: row `i` of the entry is computed from
//! the plan's resolved knobs, the run's seed and the rows of the entries before it, and it
//! takes the index among its table's rows it would have had.
//!
//! The gate still stands before the database. [`Pack::validate`] runs the validators on the
//! planned rows together with the first batch of every streamed entry, so a request is
//! refused before anything is written. [`Streamer::batch`] runs them again on every batch,
//! together with the planned rows, and only its [`ValidatedBatch`] can be written. Uniques
//! are therefore checked within each batch and against the planned rows; values the
//! generator makes unique (a suffix from the row's index) are unique across batches by
//! construction.

use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::compile::{ColPlan, CompiledScenario};
use super::run::{At, Planner};
use super::{ExistingRows, Plan, RunContext, TablePlan};
use crate::error::Error;
use crate::pack::Pack;
use crate::scenario::Expr;
use crate::validate::ValidatedPlan;

/// From this many rows on, an entry no other entry refers to is streamed.
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

impl CompiledScenario {
    /// Which entries are streamed, given their counts (`None`: not a count): `Some(k)` for
    /// an entry streamed after its first `k` rows.
    pub(super) fn streamable(&self, counts: &[Option<u64>]) -> Vec<Option<u64>> {
        let (held, needed) = self.held(counts);
        (0..self.rows.len())
            .map(|e| match counts[e] {
                Some(n) if n >= STREAM_ROWS && held[e].is_none() && needed[e] < n => {
                    Some(needed[e])
                }
                _ => None,
            })
            .collect()
    }

    /// Per entry: why it must be planned whole whatever its count (it links to an entry
    /// planned after it, or an entry of unknown count refers to it), and how many of its
    /// first rows the entries that refer to it need.
    pub(super) fn held(&self, counts: &[Option<u64>]) -> (Vec<Option<Held>>, Vec<u64>) {
        let n = self.rows.len();
        let mut held: Vec<Option<Held>> = vec![None; n];
        let mut needed: Vec<u64> = vec![0; n];
        let by_alias = |alias: &str| self.rows.iter().position(|r| &*r.alias == alias);
        for (e, r) in self.rows.iter().enumerate() {
            for cp in &r.cols {
                let mut mark = |p: usize| {
                    if p >= e {
                        held[e].get_or_insert(Held::LinksLater(p));
                    }
                    match counts[e] {
                        Some(c) => needed[p] = needed[p].max(c),
                        None => {
                            held[p].get_or_insert(Held::ReferredBy(e));
                        }
                    }
                };
                match cp {
                    ColPlan::Link(p, _) | ColPlan::MaybeLink { entry: p, .. } => mark(*p),
                    ColPlan::Expr(x) => refs(x, &mut |alias| {
                        if let Some(p) = by_alias(alias) {
                            mark(p);
                        }
                    }),
                    _ => {}
                }
            }
        }
        // The entry whose count is the most rows of each entry needed, for the error.
        for (e, h) in held.iter_mut().enumerate() {
            if h.is_none()
                && let Some(n) = counts[e]
                && needed[e] >= n
                && n > 0
            {
                let by = self.rows.iter().enumerate().find(|(x, r)| {
                    counts[*x].is_some_and(|c| c >= n) && self.refers_to(r, e, &by_alias)
                });
                if let Some((x, _)) = by {
                    *h = Some(Held::ReferredBy(x));
                }
            }
        }
        (held, needed)
    }

    /// Whether entry `r` refers to entry `e`.
    fn refers_to(
        &self,
        r: &super::compile::CompiledRow,
        e: usize,
        by_alias: &dyn Fn(&str) -> Option<usize>,
    ) -> bool {
        r.cols.iter().any(|cp| match cp {
            ColPlan::Link(p, _) | ColPlan::MaybeLink { entry: p, .. } => *p == e,
            ColPlan::Expr(x) => {
                let mut found = false;
                refs(x, &mut |alias| found |= by_alias(alias) == Some(e));
                found
            }
            _ => false,
        })
    }

    /// Says which entries of the plan are large and why they are not streamed, for the
    /// error of a plan too large to hold.
    pub(super) fn why_held(&self, counts: &[Option<u64>]) -> String {
        let (held, _) = self.held(counts);
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

    /// Rows `rows` of a plan's streamed entry, as the planner makes them.
    pub(crate) fn stream_rows(
        &self,
        pack: &Pack,
        plan: &Plan,
        existing: &ExistingRows,
        stream: &Stream,
        rows: Range<u64>,
    ) -> Result<TablePlan, Error> {
        let r = &self.rows[stream.entry];
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
        for k in rows.clone() {
            let at = At {
                i: (stream.held + k) as usize,
                slot: usize::MAX,
                plan: (k - rows.start) as usize,
                gen_row: stream.first_row + k,
            };
            let (cells, _) = planner.row(r, at, entities, &plan.tables, &mut forward, &mut buf)?;
            out.rows.push(cells);
        }
        debug_assert!(
            forward.is_empty(),
            "streamed entries link to no later entry"
        );
        Ok(out)
    }
}

/// Why an entry is planned whole.
#[derive(Debug, Clone, Copy)]
pub(super) enum Held {
    /// Another entry refers to it.
    ReferredBy(usize),
    /// It links to an entry planned after it.
    LinksLater(usize),
}

/// Calls `f` with the alias of every `"@alias"` in `e`.
fn refs(e: &Expr, f: &mut dyn FnMut(&str)) {
    match e {
        Expr::Ref { alias, .. } => f(alias),
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
        let batch =
            compiled.stream_rows(&self.pack, &self.work, &self.existing, &s, rows.clone())?;
        // The gate sees the batch as rows of its table, after the planned ones.
        let (slot, added) = match self.work.tables.iter().position(|t| t.table == s.table) {
            Some(slot) => (slot, false),
            None => {
                self.work.tables.push(TablePlan {
                    table: s.table.clone(),
                    columns: s.columns.clone(),
                    aliases: Vec::new(),
                    rows: Vec::new(),
                    sources: None,
                });
                (self.work.tables.len() - 1, true)
            }
        };
        let TablePlan {
            rows: cells,
            aliases,
            ..
        } = batch;
        let tp = &mut self.work.tables[slot];
        let planned = tp.rows.len();
        tp.rows.extend(cells);
        tp.aliases.extend(aliases);
        let checked = self.pack.check(&self.work, &self.existing);
        let tp = &mut self.work.tables[slot];
        let batch = TablePlan {
            table: s.table.clone(),
            columns: s.columns.clone(),
            aliases: tp.aliases.split_off(planned),
            rows: tp.rows.split_off(planned),
            sources: None,
        };
        if added {
            self.work.tables.pop();
        }
        checked?;
        Ok(ValidatedBatch {
            rows: batch,
            stream,
            first: rows.start,
        })
    }
}
