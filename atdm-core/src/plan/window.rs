//! The rows a planned or streamed row points at.
//!
//! A planned row points at planned rows. A streamed row may also point at rows of another
//! streamed entry, which no plan holds: row `i` of a referring entry points at row `i mod n`
//! of an entry of `n` rows, and that row is a pure function of its index, so the rows a
//! batch needs are made again beside it (a [`Window`]). [`Rows`] numbers a window's rows
//! after its table's planned rows, so a link, an `"@alias"` and the dates rule read them as
//! they read planned rows. A link to a key the database assigns to a window row becomes a
//! [`Cell::Streamed`]: the engine draws those keys per batch and fills the reference in from
//! them.

use super::{Cell, CellRef, Entity, StreamedRef, TablePlan};
use crate::value::Value;

/// Rows of a streamed entry, made again for the rows of a batch that point at them.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    /// The entry: its index in [`Plan::entities`](super::Plan::entities).
    pub(super) entry: usize,
    /// Its stream: an index in [`Plan::streams`](super::Plan::streams).
    pub(super) stream: usize,
    /// The entry's rows, held and streamed.
    pub(super) count: u64,
    /// How many of its first rows the plan holds.
    pub(super) held: u64,
    /// The index among the stream's rows of the first row of `rows`.
    pub(super) first: u64,
    /// The rows (their table and columns are the stream's).
    pub(super) rows: TablePlan,
}

/// The rows a row being planned may point at: the plan's planned rows, and the windows of
/// the batch being made, numbered after their table's planned rows in their order.
#[derive(Clone, Copy)]
pub(super) struct Rows<'a> {
    tables: &'a [TablePlan],
    windows: &'a [Window],
}

impl<'a> Rows<'a> {
    /// The planned rows alone.
    pub(super) fn planned(tables: &'a [TablePlan]) -> Self {
        Rows {
            tables,
            windows: &[],
        }
    }

    /// The planned rows and `windows`.
    pub(super) fn with(tables: &'a [TablePlan], windows: &'a [Window]) -> Self {
        Rows { tables, windows }
    }

    /// How many planned rows `table` has: its window rows are numbered after them.
    fn planned_rows(&self, table: &str) -> usize {
        self.tables
            .iter()
            .find(|t| &*t.table == table)
            .map_or(0, |t| t.rows.len())
    }

    /// The columns and cells of row `row` of `table`.
    pub(super) fn row(&self, table: &str, row: usize) -> Option<(&'a [String], &'a [Cell])> {
        let planned = match self.tables.iter().find(|t| &*t.table == table) {
            Some(tp) if row < tp.rows.len() => return Some((&tp.columns, &tp.rows[row])),
            Some(tp) => tp.rows.len(),
            None => 0,
        };
        let (w, k) = self.window_row(table, row - planned)?;
        Some((&w.rows.columns, &w.rows.rows[k]))
    }

    /// The window holding the `n`-th window row of `table`, and its index there.
    fn window_row(&self, table: &str, mut n: usize) -> Option<(&'a Window, usize)> {
        for w in self.windows.iter().filter(|w| &*w.rows.table == table) {
            if n < w.rows.rows.len() {
                return Some((w, n));
            }
            n -= w.rows.rows.len();
        }
        None
    }

    /// The row of entry `p` that row `i` of a referring entry points at (`i mod n` for an
    /// entry of `n` rows), as a row number of its table; `None` for an entry without rows.
    pub(super) fn entity_row(&self, entities: &[Entity], p: usize, i: usize) -> Option<usize> {
        let e = &entities[p];
        let Some(first) = self.windows.iter().find(|w| w.entry == p) else {
            return (!e.rows.is_empty()).then(|| e.rows[i % e.rows.len()]);
        };
        let j = i as u64 % first.count;
        if j < first.held {
            return Some(e.rows[j as usize]);
        }
        let s = j - first.held;
        let planned = self.planned_rows(&e.table);
        let mut before = 0;
        for w in self.windows.iter().filter(|w| w.rows.table == e.table) {
            let len = w.rows.rows.len() as u64;
            if w.entry == p && (w.first..w.first + len).contains(&s) {
                return Some(planned + before + (s - w.first) as usize);
            }
            before += len as usize;
        }
        unreachable!("a window holds every streamed row its batch points at")
    }

    /// The cell of `column` of the row of entry `p` that row `i` points at: its value, or a
    /// reference to the key the database assigns it.
    pub(super) fn link(&self, entities: &[Entity], p: usize, column: &str, i: usize) -> Cell {
        let e = &entities[p];
        let Some(row) = self.entity_row(entities, p, i) else {
            return Cell::Value(Value::Null);
        };
        let (columns, cells) = self.row(&e.table, row).expect("entity rows exist");
        let ci = columns
            .iter()
            .position(|c| c == column)
            .expect("referenced column exists");
        match &cells[ci] {
            Cell::Default => match row.checked_sub(self.planned_rows(&e.table)) {
                Some(n) => {
                    let (w, k) = self.window_row(&e.table, n).expect("a window row");
                    Cell::Streamed(Box::new(StreamedRef {
                        stream: w.stream,
                        row: w.first + k as u64,
                        column: column.into(),
                    }))
                }
                None => Cell::Ref(Box::new(CellRef {
                    table: e.table.to_string(),
                    row,
                    column: column.into(),
                })),
            },
            other => other.clone(),
        }
    }
}
