//! Rules that hold between the columns of one row, shared by the planner and [`TableGenerator`].
//!
//! [`TableGenerator`]: super::TableGenerator

use chrono::Duration;
use rust_decimal::Decimal;

use super::{CellRng, name_hash};
use crate::schema::CmpOp;
use crate::value::Value;

/// Makes a comparison between two columns of one row hold (`left op right`), by moving the
/// generated side a random distance (up to a year, or 365 units) from the other. Returns which
/// side to replace (`true`: the left) and its new value, or `None` when the comparison already
/// holds, cannot be judged, or both sides were set by the scenario. The planner and
/// [`TableGenerator`] share it, so row `i` is the same on both paths.
#[allow(clippy::too_many_arguments)]
pub(crate) fn hold_comparison(
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
