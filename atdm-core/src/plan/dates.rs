//! A child row's dates are not before its parent row's.
//!
//! When a row references a row of the same plan through a foreign key (a link the planner
//! made, or an `"@alias"` of the scenario), its *generated* date and timestamp columns that
//! fall before the latest date of the parent rows are moved to that date or a little after
//! it: up to 30 days later, never past the end of the reference date unless the parent's date
//! already is. A payment is not made before the rental it pays for, nor a rental before its
//! customer was created.
//!
//! - The parent's latest date is over its date and timestamp columns, except birth dates
//!   (`date_of_birth`, `dob`) and ends of windows or deadlines (`effective_to`, `valid_until`,
//!   `expires_at`, `end_date`, `due_date`), which say nothing about when the row came to be.
//! - The child's birth dates are never moved; values the scenario set are never moved.
//! - Checks win: a move that would break one of the column's own range checks is not made,
//!   and comparisons between the child's columns (`shipped_at >= placed_at`) are made to hold
//!   afterwards.
//! - A day is enough for a date: a child date on the parent timestamp's day is not before it.
//!
//! The move of a cell uses its own random stream (the column name with a fixed salt), so a
//! plan stays a pure function of its inputs. Bulk generation does not follow foreign keys, so
//! the rule is the planner's alone.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime, NaiveTime};

use super::Cell;
use super::window::Rows;
use crate::generate::{CellRng, GenContext, is_birth_date, name_hash};
use crate::schema::Table;
use crate::value::Value;

const AFTER_PARENT: u64 = name_hash("atdm.after_parent");

/// The most a moved date lands after the parent's.
const MAX_DAYS_AFTER: i64 = 30;

/// Whether a date column marks the end of a window or a deadline.
fn is_window_end(column: &str) -> bool {
    column
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| {
            [
                "to",
                "until",
                "till",
                "end",
                "ends",
                "ending",
                "expires",
                "expiry",
                "expiration",
                "due",
                "deadline",
            ]
            .contains(&w)
        })
}

fn as_datetime(v: &Value) -> Option<NaiveDateTime> {
    match v {
        Value::Date(d) => Some(d.and_time(NaiveTime::MIN)),
        Value::Timestamp(t) => Some(*t),
        Value::TimestampTz(t) => Some(t.naive_utc()),
        _ => None,
    }
}

/// The latest event date of a planned row.
fn latest_event(columns: &[String], cells: &[Cell]) -> Option<NaiveDateTime> {
    columns
        .iter()
        .zip(cells)
        .filter(|(c, _)| !is_birth_date(c) && !is_window_end(c))
        .filter_map(|(_, cell)| match cell {
            Cell::Value(v) => as_datetime(v),
            _ => None,
        })
        .max()
}

/// Moves the row's generated dates that fall before its parents' latest date (see the module
/// docs). `parents[i]` is the planned row column `i` points at, if any.
pub(super) fn not_before_parents(
    table: &Table,
    columns: &[String],
    generated: &[bool],
    parents: &[Option<(Arc<str>, usize)>],
    rows: Rows<'_>,
    cells: &mut [Cell],
    gctx: &GenContext<'_>,
) {
    let mut floor: Option<NaiveDateTime> = None;
    for fk in &table.foreign_keys {
        let Some(ci) = columns.iter().position(|c| *c == fk.columns[0]) else {
            continue;
        };
        let Some((parent, row)) = &parents[ci] else {
            continue;
        };
        if **parent != *fk.references {
            continue;
        }
        let latest = rows
            .row(parent, *row)
            .and_then(|(columns, cells)| latest_event(columns, cells));
        floor = floor.max(latest);
    }
    let Some(floor) = floor else { return };
    let end_of_today =
        (gctx.reference_date + Duration::days(1)).and_time(NaiveTime::MIN) - Duration::seconds(1);
    let room = (end_of_today - floor).max(Duration::zero());
    for (ci, name) in columns.iter().enumerate() {
        if !generated[ci] || is_birth_date(name) {
            continue;
        }
        let Cell::Value(v) = &cells[ci] else { continue };
        let Some(at) = as_datetime(v) else { continue };
        let mut rng = CellRng::new(
            gctx.seed,
            name_hash(&table.name),
            gctx.row,
            name_hash(name) ^ AFTER_PARENT,
        );
        let moved = match v {
            Value::Date(d) if *d < floor.date() => {
                let days = room.num_days().min(MAX_DAYS_AFTER);
                Value::Date(floor.date() + Duration::days(rng.range(0, days)))
            }
            Value::Timestamp(_) | Value::TimestampTz(_) if at < floor => {
                let secs = room.num_seconds().min(MAX_DAYS_AFTER * 86_400);
                let t = floor + Duration::seconds(rng.range(0, secs));
                match v {
                    Value::Timestamp(_) => Value::Timestamp(t),
                    _ => Value::TimestampTz(t.and_utc()),
                }
            }
            _ => continue,
        };
        let holds = table
            .checks_on(name)
            .filter(|c| c.columns().iter().all(|x| x == name))
            .all(|c| c.eval(&|n| (n == name).then_some(&moved)) != Some(false));
        if holds {
            cells[ci] = Cell::Value(moved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_of_windows_and_birth_dates_are_not_events() {
        for c in [
            "effective_to",
            "valid_until",
            "expires_at",
            "end_date",
            "due_date",
        ] {
            assert!(is_window_end(c), "{c}");
        }
        for c in [
            "created_at",
            "rental_date",
            "return_date",
            "payment_date",
            "last_update",
        ] {
            assert!(!is_window_end(c), "{c}");
        }
    }
}
