//! Numbers: bounds from checks and types, plausible magnitudes for numeric semantic kinds.
//!
//! A number is drawn in *units* of the column's scale (cents for `numeric(p,2)`), between a
//! low and a high bound. The bounds are, most important first: the column's range checks
//! (`price > 0`, `qty between 1 and 20`; always held), the kind's plausible magnitude
//! ([`magnitude`]), the defaults of the type (integers from 1, numerics from 0 to 1000), and
//! the type's limits (`numeric(4,2)` holds at most 99.99).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{CellRng, Semantic};
use crate::schema::{Check, CmpOp, Operand, Table};
use crate::value::Value;

/// The range checks of one column: a bound and whether it is strict, on each side.
#[derive(Debug, Clone, Default)]
pub(crate) struct CheckBounds {
    pub(crate) lo: Option<(Value, bool)>,
    pub(crate) hi: Option<(Value, bool)>,
}

impl CheckBounds {
    /// The literal bounds that `table`'s checks put on `column`.
    pub(crate) fn of(table: &Table, column: &str) -> CheckBounds {
        let mut b = CheckBounds::default();
        for c in table.checks_on(column) {
            match c {
                Check::Between { low, high, .. } => {
                    b.lo = Some((low.clone(), false));
                    b.hi = Some((high.clone(), false));
                }
                Check::Compare {
                    column: c,
                    op,
                    right: Operand::Value(v),
                } if c == column => match op {
                    CmpOp::Ge => b.lo = Some((v.clone(), false)),
                    CmpOp::Gt => b.lo = Some((v.clone(), true)),
                    CmpOp::Le => b.hi = Some((v.clone(), false)),
                    CmpOp::Lt => b.hi = Some((v.clone(), true)),
                    _ => {}
                },
                _ => {}
            }
        }
        b
    }

    /// The bounds in units of `scale`: the lowest and highest allowed unit counts.
    pub(crate) fn units(&self, scale: u32) -> (Option<i64>, Option<i64>) {
        let unit = Decimal::from(10i64.pow(scale.min(18)));
        let to_units = |v: &Value| -> Option<Decimal> {
            match v {
                Value::Int(i) => Decimal::from(*i).checked_mul(unit),
                Value::Numeric(d) => d.checked_mul(unit),
                _ => None,
            }
        };
        let lo = self.lo.as_ref().and_then(|(v, strict)| {
            let u = to_units(v)?;
            let c = u.ceil();
            let c = if *strict && c == u {
                c + Decimal::ONE
            } else {
                c
            };
            Some(c.to_i64().unwrap_or(if c.is_sign_negative() {
                i64::MIN
            } else {
                i64::MAX
            }))
        });
        let hi = self.hi.as_ref().and_then(|(v, strict)| {
            let u = to_units(v)?;
            let f = u.floor();
            let f = if *strict && f == u {
                f - Decimal::ONE
            } else {
                f
            };
            Some(f.to_i64().unwrap_or(if f.is_sign_negative() {
                i64::MIN
            } else {
                i64::MAX
            }))
        });
        (lo, hi)
    }
}

/// The plausible range of a numeric kind, in whole numbers times 100 (so 0.99 is 99).
pub(crate) fn magnitude(kind: Semantic, reference_year: i32) -> Option<(i64, i64)> {
    let y = i64::from(reference_year) * 100;
    Some(match kind {
        Semantic::Price => (99, 9_999),
        Semantic::Amount => (100, 50_000),
        Semantic::Quantity => (100, 2_000),
        Semantic::Percentage => (0, 10_000),
        Semantic::Rating => (100, 500),
        Semantic::Duration => (100, 18_000),
        Semantic::Latitude => (-9_000, 9_000),
        Semantic::Longitude => (-18_000, 18_000),
        Semantic::Year => (y - 3_000, y),
        _ => return None,
    })
}

/// `v` hundredths in units of `scale`, rounded inwards (up for a low bound, down for a high
/// one).
fn hundredths_to_units(v: i64, scale: u32, up: bool) -> i64 {
    if scale >= 2 {
        v.saturating_mul(10i64.pow((scale - 2).min(18)))
    } else {
        let d = 10i64.pow(2 - scale);
        if up {
            v.div_euclid(d) + i64::from(v.rem_euclid(d) != 0)
        } else {
            v.div_euclid(d)
        }
    }
}

/// The unit range of a column: within the checks' bounds (always), the kind's magnitude where
/// it overlaps them (or `plain`, the type's default range, in units, where a check leaves a
/// side open), clamped to the type's limits `[-cap, cap]`.
pub(crate) fn unit_range(
    checks: (Option<i64>, Option<i64>),
    kind: Option<(Semantic, i32)>,
    scale: u32,
    plain: (i64, i64),
    cap: i64,
) -> (i64, i64) {
    let magnitude = kind.and_then(|(k, y)| magnitude(k, y)).map(|(lo, hi)| {
        (
            hundredths_to_units(lo, scale, true),
            hundredths_to_units(hi, scale, false),
        )
    });
    let (dlo, dhi) = magnitude.unwrap_or(plain);
    let span = dhi.saturating_sub(dlo).max(0);
    // A kind's magnitude narrows the checks' range where they overlap; the type's plain
    // default range never narrows a check.
    let narrow = magnitude.is_some();
    let (lo, hi) = match checks {
        (Some(lo), Some(hi)) if narrow && lo <= dhi && hi >= dlo => (lo.max(dlo), hi.min(dhi)),
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) if lo > dhi => (lo, lo.saturating_add(span)),
        (Some(lo), None) => (if narrow { lo.max(dlo) } else { lo }, dhi),
        (None, Some(hi)) if hi < dlo => (hi.saturating_sub(span), hi),
        (None, Some(hi)) => (dlo, if narrow { hi.min(dhi) } else { hi }),
        (None, None) => (dlo, dhi),
    };
    let (lo, hi) = (lo.clamp(-cap, cap), hi.clamp(-cap, cap));
    (lo, hi.max(lo))
}

/// A number of units in `lo..=hi` shaped like the kind: prices end in .99, .49 or .95,
/// quantities and durations are whole, ratings whole or halves; other kinds are uniform.
pub(crate) fn draw(kind: Option<Semantic>, lo: i64, hi: i64, scale: u32, rng: &mut CellRng) -> i64 {
    let unit = 10i64.pow(scale.min(18));
    let whole = |rng: &mut CellRng, step: i64| -> Option<i64> {
        let (a, b) = (
            lo.div_euclid(step) + i64::from(lo.rem_euclid(step) != 0),
            hi.div_euclid(step),
        );
        (a <= b).then(|| rng.range(a, b) * step)
    };
    let shaped = match kind {
        Some(Semantic::Price) if scale >= 2 => {
            let cents = 10i64.pow(scale - 2);
            let frac = *rng.pick(&[99i64, 99, 99, 49, 95]) * cents;
            let (a, b) = (
                (lo - frac).div_euclid(unit) + 1,
                (hi - frac).div_euclid(unit),
            );
            (a <= b).then(|| rng.range(a, b) * unit + frac)
        }
        Some(Semantic::Quantity | Semantic::Duration | Semantic::Year) => whole(rng, unit),
        Some(Semantic::Rating) if scale >= 1 => whole(rng, unit / 2),
        Some(Semantic::Rating) => whole(rng, unit),
        _ => None,
    };
    shaped
        .filter(|v| (lo..=hi).contains(v))
        .unwrap_or_else(|| rng.range(lo, hi))
}

/// The largest unit count a `numeric(precision, _)` holds: `precision` nines.
pub(crate) fn numeric_cap(precision: u8) -> i64 {
    10i64.pow(u32::from(precision).min(18)) - 1
}

/// Writes a numeric kind as text (a text column named `price` gets `12.99`).
pub(crate) fn text(kind: Semantic, reference_year: i32, rng: &mut CellRng, out: &mut String) {
    let scale = match kind {
        Semantic::Price | Semantic::Amount => 2,
        Semantic::Latitude | Semantic::Longitude => 6,
        _ => 0,
    };
    let (lo, hi) = unit_range(
        (None, None),
        Some((kind, reference_year)),
        scale,
        (0, 0),
        i64::MAX,
    );
    let units = draw(Some(kind), lo, hi, scale, rng);
    out.push_str(&Decimal::new(units, scale).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(lo: Option<(Value, bool)>, hi: Option<(Value, bool)>) -> CheckBounds {
        CheckBounds { lo, hi }
    }

    #[test]
    fn decimal_check_bounds_round_inwards_and_strict_bounds_step_over() {
        let d = |s: &str| Value::Numeric(s.parse().unwrap());
        let b = bounds(Some((d("0.5"), false)), Some((d("9.999"), false)));
        assert_eq!(b.units(2), (Some(50), Some(999)));
        assert_eq!(b.units(0), (Some(1), Some(9)));
        let b = bounds(Some((Value::Int(0), true)), Some((Value::Int(10), true)));
        assert_eq!(b.units(2), (Some(1), Some(999)));
    }

    #[test]
    fn kinds_get_plausible_magnitudes_unless_checks_or_types_say_otherwise() {
        let y = 2026;
        // numeric(5,2) price: 0.99..99.99.
        assert_eq!(
            unit_range((None, None), Some((Semantic::Price, y)), 2, (0, 0), 99_999),
            (99, 9_999)
        );
        // integer price: 1..99 (0.99 rounds up, 99.99 down).
        assert_eq!(
            unit_range(
                (None, None),
                Some((Semantic::Price, y)),
                0,
                (0, 0),
                i64::MAX
            ),
            (1, 99)
        );
        // A check that overlaps the magnitude narrows it: amount >= 0 stays 1..500.
        assert_eq!(
            unit_range(
                (Some(0), None),
                Some((Semantic::Amount, y)),
                2,
                (0, 0),
                99_999
            ),
            (100, 50_000)
        );
        // A check wins: amount >= 1000 moves the range up, keeping its width.
        assert_eq!(
            unit_range(
                (Some(100_000), None),
                Some((Semantic::Amount, y)),
                2,
                (0, 0),
                9_999_999
            ),
            (100_000, 149_900)
        );
        // The type's limit wins over the magnitude: numeric(3,2) percentage.
        assert_eq!(
            unit_range(
                (None, None),
                Some((Semantic::Percentage, y)),
                2,
                (0, 0),
                999
            ),
            (0, 999)
        );
        let mut rng = CellRng::new(1, 2, 3, 4);
        for _ in 0..500 {
            let p = draw(Some(Semantic::Price), 99, 9_999, 2, &mut rng);
            assert!(
                (99..=9_999).contains(&p) && [99, 49, 95].contains(&(p % 100)),
                "{p}"
            );
            let q = draw(Some(Semantic::Quantity), 100, 2_000, 2, &mut rng);
            assert!(q % 100 == 0 && (100..=2_000).contains(&q), "{q}");
            let r = draw(Some(Semantic::Rating), 10, 50, 1, &mut rng);
            assert!(r % 5 == 0 && (10..=50).contains(&r), "{r}");
        }
    }
}
