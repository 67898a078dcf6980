//! Rules that hold between the columns of one row, shared by the planner and [`TableGenerator`].
//!
//! [`TableGenerator`]: super::TableGenerator

use chrono::Duration;
use rust_decimal::Decimal;

use super::{CellRng, name_hash};
use crate::schema::{Check, CmpOp, Operand, Table};
use crate::value::Value;

/// Read and write access to the cells of one row, by column position. A cell that holds no
/// value yet (one the database assigns) reads as `None`.
pub(crate) trait RowCells {
    /// The value of column `i`.
    fn value(&self, i: usize) -> Option<&Value>;
    /// Replaces the value of column `i`.
    fn set(&mut self, i: usize, v: Value);
}

#[derive(Debug, Clone)]
enum Rule {
    /// `when implies column is [not] null`.
    Implies {
        check: Check,
        column: usize,
        not_null: bool,
    },
    /// `left op right`, two columns.
    Compare {
        left: usize,
        op: CmpOp,
        right: usize,
    },
}

/// The checks between the columns of one row that generation makes hold: implications on
/// NULL (`status = 'shipped' implies shipped_at is not null`, and `... is null`) first, then
/// comparisons between columns (`effective_to >= effective_from`), each group in declared
/// order. Only generated cells change; values a scenario set are left for the validators.
#[derive(Debug, Clone)]
pub(crate) struct RowRules {
    names: Vec<String>,
    nullable: Vec<bool>,
    rules: Vec<Rule>,
}

impl RowRules {
    /// The rules of `table` for rows whose cells are `columns`, in that order.
    pub(crate) fn new(table: &Table, columns: &[String]) -> RowRules {
        let idx = |c: &str| columns.iter().position(|x| x == c);
        let mut rules = Vec::new();
        for check in &table.checks {
            if let Check::Implies { then, .. } = check
                && let Check::Null { column, negated } = then.as_ref()
                && let Some(i) = idx(column)
            {
                rules.push(Rule::Implies {
                    check: check.clone(),
                    column: i,
                    not_null: *negated,
                });
            }
        }
        for check in &table.checks {
            if let Check::Compare {
                column,
                op,
                right: Operand::Column(other),
            } = check
                && let (Some(left), Some(right)) = (idx(column), idx(other))
            {
                rules.push(Rule::Compare {
                    left,
                    op: *op,
                    right,
                });
            }
        }
        RowRules {
            names: columns.to_vec(),
            nullable: columns
                .iter()
                .map(|c| table.get_column(c).is_some_and(|c| c.nullable))
                .collect(),
            rules,
        }
    }

    /// The positions of the columns the rules read or change.
    pub(crate) fn columns(&self) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for r in &self.rules {
            match r {
                Rule::Implies { check, column, .. } => {
                    out.push(*column);
                    out.extend(
                        check
                            .columns()
                            .into_iter()
                            .filter_map(|c| self.names.iter().position(|n| n == c)),
                    );
                }
                Rule::Compare { left, right, .. } => out.extend([*left, *right]),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Makes the rules hold on one row. `generated[i]` says whether the generator chose
    /// column `i`'s value; `regenerate(i)` gives a generated value for a column an
    /// implication requires (`None` when the column has no generator).
    pub(crate) fn apply(
        &self,
        table: &str,
        seed: u64,
        row: u64,
        cells: &mut dyn RowCells,
        generated: &[bool],
        regenerate: &mut dyn FnMut(usize) -> Option<Value>,
    ) {
        for rule in &self.rules {
            match rule {
                Rule::Implies {
                    check,
                    column,
                    not_null,
                } => {
                    let broken = {
                        let view: &dyn RowCells = cells;
                        let get = |c: &str| {
                            self.names
                                .iter()
                                .position(|n| n == c)
                                .and_then(|i| view.value(i))
                        };
                        check.eval(&get) == Some(false)
                    };
                    if !broken || !generated[*column] {
                        continue;
                    }
                    if *not_null {
                        if let Some(v) = regenerate(*column) {
                            cells.set(*column, v);
                        }
                    } else if self.nullable[*column] {
                        cells.set(*column, Value::Null);
                    }
                }
                Rule::Compare { left, op, right } => {
                    let (Some(lv), Some(rv)) = (cells.value(*left), cells.value(*right)) else {
                        continue;
                    };
                    match hold_comparison(
                        table,
                        seed,
                        row,
                        &self.names[*left],
                        *op,
                        &self.names[*right],
                        lv,
                        rv,
                        generated[*left],
                        generated[*right],
                    ) {
                        Some((true, v)) => cells.set(*left, v),
                        Some((false, v)) => cells.set(*right, v),
                        None => {}
                    }
                }
            }
        }
    }
}

/// Makes a comparison between two columns of one row hold (`left op right`), by moving the
/// generated side a random distance (up to a year, or 365 units) from the other. Returns which
/// side to replace (`true`: the left) and its new value, or `None` when the comparison already
/// holds, cannot be judged, or both sides were set by the scenario. The planner and
/// [`TableGenerator`] share it, so row `i` is the same on both paths.
#[allow(clippy::too_many_arguments)]
fn hold_comparison(
    table: &str,
    seed: u64,
    row: u64,
    column: &str,
    op: CmpOp,
    other: &str,
    left: &Value,
    right: &Value,
    left_generated: bool,
    right_generated: bool,
) -> Option<(bool, Value)> {
    if left.is_null() || right.is_null() || left.compare(right).is_none_or(|o| op.holds(o)) {
        return None;
    }
    let mut rng = CellRng::new(
        seed,
        name_hash(table),
        row,
        name_hash(column) ^ name_hash(other),
    );
    if left_generated {
        shifted(right, op, &mut rng).map(|v| (true, v))
    } else if right_generated {
        shifted(left, flip(op), &mut rng).map(|v| (false, v))
    } else {
        None
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Ge => CmpOp::Le,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Lt => CmpOp::Gt,
        other => other,
    }
}

/// A value that stands in relation `op` to `base` (`x op base`), a random distance away.
fn shifted(base: &Value, op: CmpOp, rng: &mut CellRng) -> Option<Value> {
    let (lo, hi) = match op {
        CmpOp::Ge => (0, 365),
        CmpOp::Gt => (1, 365),
        CmpOp::Le => (-365, 0),
        CmpOp::Lt => (-365, -1),
        CmpOp::Eq => (0, 0),
        CmpOp::Ne => (1, 1),
    };
    let d = rng.range(lo, hi);
    Some(match base {
        Value::Date(x) => Value::Date(*x + Duration::days(d)),
        Value::Timestamp(x) => Value::Timestamp(*x + Duration::hours(d)),
        Value::TimestampTz(x) => Value::TimestampTz(*x + Duration::hours(d)),
        Value::Int(x) => Value::Int(x.saturating_add(d)),
        Value::Numeric(x) => Value::Numeric(*x + Decimal::from(d)),
        _ => return None,
    })
}
