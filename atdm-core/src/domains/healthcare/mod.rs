//! The healthcare reference pack: members, plans, providers, eligibility, claims, procedure
//! and diagnosis codes.
//!
//! It is built with the same public API a user has ([`Pack::builder`]): a schema file, a
//! reference-rows file, scenario files (a template and five scenarios that change its
//! defaults), four domain validators, two registered generators and a marker policy. The
//! files live beside this module and are embedded; [`SCHEMA`], [`REFERENCE_ROWS`] and
//! [`SCENARIOS`] expose their text.
//!
//! | scenario | member | provider | eligibility (window) | claim (proc / diag / reason) |
//! |---|---|---|---|---|
//! | `active_member_clean` | active | in_network | active (current) | paid (99213 / Z00.00 / none) |
//! | `claim_denial_active_member` | active | out_of_network | active (current) | denied (00000 / Z00.00 / invalid_procedure_code) |
//! | `expired_eligibility` | active | in_network | expired (expired_last_year) | denied (00000 / Z00.00 / expired_eligibility) |
//! | `inactive_member_with_history` | inactive | in_network | inactive (current) | paid (99213 / Z00.00 / none) |
//! | `out_of_network_pending_claim` | active | out_of_network | active (current) | pending (70553 / M54.5 / none) |
//!
//! ```
//! use atdm_core::{domains::healthcare, RunContext};
//! let pack = healthcare::pack();
//! let ctx = RunContext::new("01JABCDEFGHJKMNPQRSTVWXYZ0", chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
//! let plan = pack.plan_validated("claim_denial_active_member", &Default::default(), &ctx, &Default::default()).unwrap();
//! let claim = plan.plan().row("claim").unwrap();
//! assert_eq!(claim.text("status"), Some("denied"));
//! assert_eq!(claim.text("procedure_code"), Some("00000"));
//! ```

use chrono::NaiveDate;

use crate::generate::{CellRng, GenContext, MarkerPolicy, ReservedMarkers, Semantic};
use crate::pack::{Pack, PackBuilder};
use crate::plan::RowView;
use crate::schema::{Column, Schema, Table};
use crate::validate::{CheckContext, Report};
use crate::value::Value;

/// The schema file.
pub const SCHEMA: &str = include_str!("schema.toml");
/// The reference rows file.
pub const REFERENCE_ROWS: &str = include_str!("reference.toml");
/// The scenario files: (file name, text).
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "claim_bundle.toml",
        include_str!("scenarios/claim_bundle.toml"),
    ),
    (
        "active_member_clean.toml",
        include_str!("scenarios/active_member_clean.toml"),
    ),
    (
        "claim_denial_active_member.toml",
        include_str!("scenarios/claim_denial_active_member.toml"),
    ),
    (
        "expired_eligibility.toml",
        include_str!("scenarios/expired_eligibility.toml"),
    ),
    (
        "inactive_member_with_history.toml",
        include_str!("scenarios/inactive_member_with_history.toml"),
    ),
    (
        "out_of_network_pending_claim.toml",
        include_str!("scenarios/out_of_network_pending_claim.toml"),
    ),
];

/// First names: every one carries the `FAKE_` marker.
pub const FIRST_NAMES: &[&str] = &[
    "FAKE_Alice",
    "FAKE_Bob",
    "FAKE_Carol",
    "FAKE_David",
    "FAKE_Eve",
    "FAKE_Frank",
    "FAKE_Grace",
    "FAKE_Hank",
    "FAKE_Iris",
    "FAKE_Jack",
];
/// Last names.
pub const LAST_NAMES: &[&str] = &[
    "FAKE_Smith",
    "FAKE_Jones",
    "FAKE_Brown",
    "FAKE_Davis",
    "FAKE_Wilson",
    "FAKE_Taylor",
    "FAKE_Anderson",
    "FAKE_Thomas",
    "FAKE_Moore",
    "FAKE_Martin",
];
/// Cities.
pub const CITIES: &[&str] = &[
    "FAKE_Springfield",
    "FAKE_Riverside",
    "FAKE_Lakewood",
    "FAKE_Centerville",
];

/// The healthcare schema.
pub fn schema() -> Schema {
    Schema::from_toml(SCHEMA, "healthcare/schema.toml").expect("the healthcare schema is valid")
}

/// A builder with everything of the pack, so a user can add scenarios of their own before
/// building.
pub fn builder() -> PackBuilder {
    Pack::builder("healthcare", schema())
        .reference_rows_toml(REFERENCE_ROWS, "healthcare/reference.toml")
        .expect("the healthcare reference rows are valid")
        .scenarios(SCENARIOS.iter().copied())
        .generator("healthcare.npi_fake", npi_fake)
        .generator("healthcare.provider_name", provider_name)
        .validator(
            "healthcare.eligibility_status_matches_member",
            eligibility_status_matches_member,
        )
        .validator(
            "healthcare.claim_references_existing_member",
            claim_references_existing_member,
        )
        .validator(
            "healthcare.denial_requires_invalid_code",
            denial_requires_invalid_code,
        )
        .validator(
            "healthcare.eligibility_window_contains_claim",
            eligibility_window_contains_claim,
        )
        .markers(HealthcareMarkers)
}

/// The healthcare pack.
pub fn pack() -> Pack {
    builder().build().expect("the healthcare pack is valid")
}

/// Whether a 10-digit number passes the real NPI check: the Luhn check over `80840`
/// followed by the number.
pub fn npi_passes_luhn(npi: &str) -> bool {
    if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = "80840"
        .bytes()
        .chain(npi.bytes())
        .map(|b| u32::from(b - b'0'))
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `healthcare.npi_fake`: ten digits whose last digit is never the valid NPI check digit.
fn npi_fake(_ctx: &GenContext<'_>, rng: &mut CellRng) -> Value {
    let digits: Vec<u8> = (0..9).map(|_| rng.below(10) as u8).collect();
    let wrong = (npi_check_digit(&digits) + 1 + rng.below(9) as u8) % 10;
    Value::Text(
        digits
            .iter()
            .chain(std::iter::once(&wrong))
            .map(|d| char::from(b'0' + d))
            .collect(),
    )
}

/// The valid NPI check digit of nine digits: Luhn over `80840` and the nine digits.
fn npi_check_digit(nine: &[u8]) -> u8 {
    // Luhn from the right, with the check digit's place as position 0: digits at odd
    // positions (counting the check digit) are doubled.
    let sum: u32 = [8u8, 0, 8, 4, 0]
        .iter()
        .chain(nine)
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// `healthcare.provider_name`: `FAKE_Clinic_<last name without its prefix>`.
fn provider_name(_ctx: &GenContext<'_>, rng: &mut CellRng) -> Value {
    let last = rng.pick(LAST_NAMES);
    Value::Text(format!("FAKE_Clinic_{}", last.trim_start_matches("FAKE_")))
}

/// The healthcare marker policy: `FAKE_` names and cities, state `ZZ`, street
/// `<n> FAKE_Main_St`, NPIs that fail the real check; plus the default [`ReservedMarkers`].
/// A full name is the row's `FAKE_` first and last names.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthcareMarkers;

impl MarkerPolicy for HealthcareMarkers {
    fn name(&self) -> &str {
        "healthcare"
    }

    fn generate(&self, kind: Semantic, rng: &mut CellRng, out: &mut String) -> bool {
        match kind {
            Semantic::FirstName => out.push_str(rng.word(FIRST_NAMES)),
            Semantic::LastName => out.push_str(rng.word(LAST_NAMES)),
            Semantic::City => out.push_str(rng.word(CITIES)),
            Semantic::State => out.push_str("ZZ"),
            Semantic::Street => out.push_str(&format!("{} FAKE_Main_St", 1 + rng.below(9999))),
            Semantic::Zip => out.push_str(&format!("{:05}", rng.below(100_000))),
            _ => return false,
        }
        true
    }

    fn check(
        &self,
        table: &Table,
        column: &Column,
        kind: Option<Semantic>,
        value: &Value,
    ) -> Option<String> {
        let s = value.as_str()?;
        match column.generator.as_deref() {
            Some("healthcare.npi_fake") => {
                if s.len() != 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Some("npi_fake must be 10 digits".into());
                }
                if npi_passes_luhn(s) {
                    return Some(
                        "npi_fake passes the real NPI check; synthetic NPIs must fail it".into(),
                    );
                }
                return None;
            }
            Some("healthcare.provider_name") => {
                return (!s.starts_with("FAKE_"))
                    .then(|| "provider names must start with FAKE_".into());
            }
            _ => {}
        }
        match kind {
            Some(
                Semantic::FirstName | Semantic::LastName | Semantic::FullName | Semantic::City,
            ) if !s.starts_with("FAKE_") => {
                Some("synthetic names and cities must start with FAKE_".into())
            }
            Some(Semantic::State) if s != "ZZ" => Some("the synthetic state is always ZZ".into()),
            Some(Semantic::Street) if !s.contains("FAKE_") => {
                Some("synthetic streets are <n> FAKE_Main_St".into())
            }
            _ => ReservedMarkers.check(table, column, kind, value),
        }
    }
}

fn j(v: Option<&Value>) -> serde_json::Value {
    v.map(Value::to_json).unwrap_or_default()
}

/// R1: an inactive member cannot have active eligibility (the reverse is allowed).
fn eligibility_status_matches_member(ctx: &CheckContext<'_>, report: &mut Report) {
    for m in ctx.rows("member") {
        for e in ctx
            .rows("eligibility")
            .filter(|e| e.get("member_id") == m.get("member_id"))
        {
            if m.text("status") == Some("inactive") && e.text("status") == Some("active") {
                report.fail(
                    "an inactive member cannot have active eligibility",
                    [
                        ("member_id", j(m.get("member_id"))),
                        ("member_status", j(m.get("status"))),
                        ("eligibility_status", j(e.get("status"))),
                    ],
                );
            }
        }
    }
}

/// R2: the claim's member must be the bundle's member.
fn claim_references_existing_member(ctx: &CheckContext<'_>, report: &mut Report) {
    for c in ctx.rows("claim") {
        let found = ctx
            .rows("member")
            .any(|m| m.get("member_id") == c.get("member_id"));
        if !found {
            report.fail(
                "the claim's member is not the member of this bundle",
                [
                    ("claim_id", j(c.get("claim_id"))),
                    ("member_id", j(c.get("member_id"))),
                ],
            );
        }
    }
}

fn code_is_invalid(ctx: &CheckContext<'_>, table: &str, code: Option<&Value>) -> bool {
    let Some(code) = code else { return false };
    let planned = ctx
        .rows(table)
        .any(|r| r.get("code") == Some(code) && r.get("is_valid") == Some(&Value::Bool(false)));
    let baseline = ctx
        .reference
        .get(table)
        .into_iter()
        .flatten()
        .any(|r| r.get("code") == Some(code) && r.get("is_valid") == Some(&Value::Bool(false)));
    planned || baseline
}

/// D: a denied claim must reference an invalid procedure or diagnosis code, or carry a
/// non-empty denial reason.
fn denial_requires_invalid_code(ctx: &CheckContext<'_>, report: &mut Report) {
    for c in ctx
        .rows("claim")
        .filter(|c| c.text("status") == Some("denied"))
    {
        let invalid_code = code_is_invalid(ctx, "procedure_code", c.get("procedure_code"))
            || code_is_invalid(ctx, "diagnosis_code", c.get("diagnosis_code"));
        let reason = c
            .text("denial_reason")
            .is_some_and(|r| !r.trim().is_empty());
        if !invalid_code && !reason {
            report.fail(
                "a denied claim needs an invalid procedure or diagnosis code, or a denial reason",
                [
                    ("claim_id", j(c.get("claim_id"))),
                    ("procedure_code", j(c.get("procedure_code"))),
                    ("diagnosis_code", j(c.get("diagnosis_code"))),
                    ("denial_reason", j(c.get("denial_reason"))),
                ],
            );
        }
    }
}

fn date_of(v: Option<&Value>) -> Option<NaiveDate> {
    match v? {
        Value::Date(d) => Some(*d),
        Value::TimestampTz(t) => Some(t.date_naive()),
        Value::Timestamp(t) => Some(t.date()),
        Value::Text(s) => Value::Text(s.clone())
            .coerce(&crate::schema::ColumnType::Date)
            .ok()
            .and_then(|v| match v {
                Value::Date(d) => Some(d),
                _ => None,
            })
            .or_else(|| {
                match Value::Text(s.clone()).coerce(&crate::schema::ColumnType::TimestampTz) {
                    Ok(Value::TimestampTz(t)) => Some(t.date_naive()),
                    _ => None,
                }
            }),
        _ => None,
    }
}

/// T: a denied or pending claim must be submitted inside the eligibility window, both ends
/// inclusive, unless the eligibility is expired. Paid claims are exempt. Unparseable dates
/// fail, even for expired eligibility.
fn eligibility_window_contains_claim(ctx: &CheckContext<'_>, report: &mut Report) {
    for c in ctx
        .rows("claim")
        .filter(|c| matches!(c.text("status"), Some("denied" | "pending")))
    {
        let eligibilities: Vec<RowView<'_>> = ctx
            .rows("eligibility")
            .filter(|e| e.get("member_id") == c.get("member_id"))
            .collect();
        for e in eligibilities {
            let values = || {
                [
                    ("claim_id", j(c.get("claim_id"))),
                    ("submitted_at", j(c.get("submitted_at"))),
                    ("effective_from", j(e.get("effective_from"))),
                    ("effective_to", j(e.get("effective_to"))),
                    ("eligibility_status", j(e.get("status"))),
                ]
            };
            let (Some(at), Some(from), Some(to)) = (
                date_of(c.get("submitted_at")),
                date_of(e.get("effective_from")),
                date_of(e.get("effective_to")),
            ) else {
                report.fail("the claim or eligibility dates cannot be read", values());
                continue;
            };
            if e.text("status") == Some("expired") {
                continue;
            }
            if at < from || at > to {
                report.fail(
                    "the claim was submitted outside the eligibility window",
                    values(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_digit_is_the_one_luhn_accepts() {
        for n in ["123456789", "000000000", "987654321", "555010199"] {
            let digits: Vec<u8> = n.bytes().map(|b| b - b'0').collect();
            let d = npi_check_digit(&digits);
            assert!(npi_passes_luhn(&format!("{n}{d}")), "{n}{d}");
        }
    }

    #[test]
    fn generated_npis_never_pass_the_real_check() {
        // 1234567893 is the textbook valid NPI.
        assert!(npi_passes_luhn("1234567893"));
        assert!(!npi_passes_luhn("1234567890"));
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        for row in 0..2000 {
            let ctx = GenContext {
                seed: 99,
                run_id: "R",
                reference_date: today,
                table: "provider",
                column: "npi_fake",
                row,
            };
            let mut rng = CellRng::new(99, 1, row, 2);
            let Value::Text(npi) = npi_fake(&ctx, &mut rng) else {
                panic!()
            };
            assert_eq!(npi.len(), 10);
            assert!(!npi_passes_luhn(&npi), "{npi}");
        }
    }
}
