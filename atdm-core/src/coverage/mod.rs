//! Coverage: what a pack's scenarios and the audit trail say the tests have exercised, and
//! what they have not.
//!
//! From the catalog (scenarios, their requirement ids and knobs) and the runs the audit trail
//! records, [`coverage`] reports:
//!
//! - per requirement id: the scenarios that link it, their runs (how many, how many seeded,
//!   the last one and its outcome); requirements no scenario links (named by the caller) and
//!   requirements whose scenarios never seeded;
//! - per scenario: its runs by outcome, and per knob with a closed list of values, the values
//!   seeded runs used (the caller's or the default) and those never used;
//! - per column, the valid edge classes ([`crate::edge`]) runs seeded (volume loads with
//!   edge cases record them), and those never seeded;
//! - one figure: the share of the pack's items covered, where an item is a scenario (covered
//!   once a run of it seeded), a value of a closed knob of a scenario (covered once a seeded
//!   run used it), a requirement id (covered once a scenario that links it seeded) and a
//!   valid edge class of a column (covered once a run seeded it).
//!
//! Dry runs (`plan`) and refused or failed requests are counted but cover nothing: only data
//! that reached a database was exercised. Pure: the same catalog and runs give the same
//! report.

mod html;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use chrono::NaiveDate;

use crate::Pack;
use crate::audit::{AuditAction, AuditEvent, AuditStatus};
use crate::edge::{Validity, edge_cases};
use crate::scenario::Domain;

pub use html::render_html;

/// How a run ended, as far as coverage cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Rows were seeded (committed).
    Seeded,
    /// A dry run (`plan`): nothing was written.
    DryRun,
    /// The plan or its constraints were refused.
    Rejected,
    /// Seeding failed; nothing was written.
    Failed,
}

/// One scenario run, read from its audit events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run id.
    pub run_id: String,
    /// The scenario.
    pub scenario: String,
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// How it ended.
    pub outcome: Outcome,
    /// Every knob's resolved value, as JSON (empty when the plan was not made).
    pub knobs: BTreeMap<String, serde_json::Value>,
}

/// The scenario runs among `events` (of any number of runs, in any order): one record per
/// run that has a `request_received` event naming a scenario. Volume loads
/// (`atdm.generate`), resets and baselines are not scenario runs.
pub fn runs_from_events(events: &[AuditEvent]) -> Vec<RunRecord> {
    let mut by_run: BTreeMap<&str, Vec<&AuditEvent>> = BTreeMap::new();
    for e in events {
        by_run.entry(&e.test_run_id).or_default().push(e);
    }
    let mut out = Vec::new();
    for (run_id, mut evs) in by_run {
        evs.sort_by_key(|e| e.timestamp);
        let Some(received) = evs
            .iter()
            .find(|e| e.action == AuditAction::RequestReceived)
        else {
            continue;
        };
        let Some(scenario) = received.inputs.get("scenario").and_then(|s| s.as_str()) else {
            continue;
        };
        if scenario == "atdm.generate" {
            continue;
        }
        let has = |a: AuditAction| evs.iter().any(|e| e.action == a);
        let dry = received.inputs.get("dry_run") == Some(&serde_json::Value::Bool(true));
        let status = |s: AuditStatus| evs.iter().any(|e| e.status == s);
        let failed = has(AuditAction::SeedFailed)
            || status(AuditStatus::RolledBack)
            || status(AuditStatus::Failed);
        let outcome = if has(AuditAction::SeedCompleted) {
            Outcome::Seeded
        } else if has(AuditAction::PlanRejected) || status(AuditStatus::Rejected) {
            Outcome::Rejected
        } else if failed {
            Outcome::Failed
        } else if dry {
            Outcome::DryRun
        } else {
            Outcome::Failed
        };
        let knobs = evs
            .iter()
            .find(|e| e.action == AuditAction::PlanResolved)
            .and_then(|e| e.outputs.get("constraints"))
            .and_then(|c| c.as_object())
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        out.push(RunRecord {
            run_id: run_id.to_owned(),
            scenario: scenario.to_owned(),
            at: received.timestamp,
            outcome,
            knobs,
        });
    }
    out.sort_by(|a, b| (a.at, &a.run_id).cmp(&(b.at, &b.run_id)));
    out
}

/// Edge classes with the number of runs: (table, column, class) to runs.
pub type EdgeSeen = BTreeMap<(String, String, String), usize>;

/// What the committed runs among `events` did with edge cases, as their `seed_completed`
/// events record it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeRuns {
    /// The valid (and dangerous) classes their rows held (`edge_cases`: per table,
    /// `column class`).
    pub seeded: EdgeSeen,
    /// The invalid classes they delivered as negative-test fixtures (`negative`:
    /// `table.column class`).
    pub delivered: EdgeSeen,
}

/// The edge classes the committed runs among `events` seeded and delivered.
pub fn edges_from_events(events: &[AuditEvent]) -> EdgeRuns {
    let mut runs = EdgeRuns::default();
    let done = events
        .iter()
        .filter(|e| e.action == AuditAction::SeedCompleted);
    for e in done {
        if let Some(tables) = e.outputs.get("edge_cases").and_then(|v| v.as_object()) {
            for (table, classes) in tables {
                for c in classes.as_array().into_iter().flatten() {
                    if let Some((column, class)) = c.as_str().and_then(|s| s.split_once(' ')) {
                        let key = (table.clone(), column.to_owned(), class.to_owned());
                        *runs.seeded.entry(key).or_default() += 1;
                    }
                }
            }
        }
        let negative = e.outputs.get("negative").and_then(|v| v.as_array());
        for c in negative.into_iter().flatten() {
            let Some((place, class)) = c.as_str().and_then(|s| s.split_once(' ')) else {
                continue;
            };
            if let Some((table, column)) = place.split_once('.') {
                let key = (table.to_owned(), column.to_owned(), class.to_owned());
                *runs.delivered.entry(key).or_default() += 1;
            }
        }
    }
    runs
}

/// The valid edge classes of one column, with the runs that seeded each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnEdges {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// Each valid class and how many runs seeded it.
    pub classes: Vec<EdgeClassCoverage>,
    /// Each invalid class and how many runs delivered it as a negative-test fixture.
    pub invalid: Vec<DeliveredClass>,
}

/// One invalid class of a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveredClass {
    /// The class.
    pub class: String,
    /// Runs that delivered it.
    pub delivered_runs: usize,
}

/// One edge class of a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeClassCoverage {
    /// The class.
    pub class: String,
    /// Runs that seeded it.
    pub seeded_runs: usize,
}

/// The last run of something, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    /// The run id.
    pub run_id: String,
    /// When it was requested.
    pub at: DateTime<Utc>,
    /// How it ended.
    pub outcome: Outcome,
}

/// Runs counted by outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Every run.
    pub total: usize,
    /// Runs that seeded rows.
    pub seeded: usize,
    /// Dry runs.
    pub dry_runs: usize,
    /// Refused requests.
    pub rejected: usize,
    /// Failed requests.
    pub failed: usize,
}

impl RunCounts {
    fn add(&mut self, o: Outcome) {
        self.total += 1;
        match o {
            Outcome::Seeded => self.seeded += 1,
            Outcome::DryRun => self.dry_runs += 1,
            Outcome::Rejected => self.rejected += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
}

/// One requirement id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequirementCoverage {
    /// The id.
    pub id: String,
    /// The scenarios that link it.
    pub scenarios: Vec<String>,
    /// Their runs.
    pub runs: RunCounts,
    /// The last of them.
    pub last_run: Option<LastRun>,
    /// Whether one of them seeded.
    pub covered: bool,
}

/// One value of a closed knob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnobValueCoverage {
    /// The value, as JSON.
    pub value: serde_json::Value,
    /// Seeded runs that used it.
    pub seeded_runs: usize,
}

/// One knob of a scenario with a closed list of values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnobCoverage {
    /// The knob.
    pub knob: String,
    /// Every value of its list, with the seeded runs that used it.
    pub values: Vec<KnobValueCoverage>,
}

/// One scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioCoverage {
    /// The scenario id.
    pub id: String,
    /// The requirement ids it links.
    pub requirements: Vec<String>,
    /// Its runs.
    pub runs: RunCounts,
    /// The last one.
    pub last_run: Option<LastRun>,
    /// Its knobs with closed lists of values.
    pub knobs: Vec<KnobCoverage>,
}

/// A knob value no seeded run used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeverRequested {
    /// The scenario.
    pub scenario: String,
    /// The knob.
    pub knob: String,
    /// The value, as JSON.
    pub value: serde_json::Value,
}

/// What the tests have not exercised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gaps {
    /// Requirement ids named by the caller that no scenario links.
    pub requirements_without_scenario: Vec<String>,
    /// Requirement ids whose scenarios never seeded.
    pub requirements_never_seeded: Vec<String>,
    /// Scenarios never seeded.
    pub scenarios_never_seeded: Vec<String>,
    /// Knob values no seeded run used.
    pub knob_values_never_requested: Vec<NeverRequested>,
    /// Valid edge classes no run seeded, as `table.column class`.
    pub edge_classes_never_seeded: Vec<String>,
}

/// The coverage of a pack: see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageReport {
    /// The pack.
    pub pack: String,
    /// The share of items covered, in percent, to one decimal (100 when there are none).
    pub coverage: f64,
    /// Items covered.
    pub covered: usize,
    /// Items in all.
    pub items: usize,
    /// Every run counted.
    pub runs: RunCounts,
    /// Per requirement id, in id order.
    pub requirements: Vec<RequirementCoverage>,
    /// Per scenario, in id order (templates left out).
    pub scenarios: Vec<ScenarioCoverage>,
    /// The share of the valid edge classes of the pack's columns that runs seeded, in
    /// percent, to one decimal (100 when there are none).
    pub edge_coverage: f64,
    /// Per column with valid edge classes, in table and column order.
    pub edge_classes: Vec<ColumnEdges>,
    /// What is not covered.
    pub gaps: Gaps,
}

fn last(runs: &[&RunRecord]) -> Option<LastRun> {
    runs.iter()
        .max_by_key(|r| (r.at, &r.run_id))
        .map(|r| LastRun {
            run_id: r.run_id.clone(),
            at: r.at,
            outcome: r.outcome,
        })
}

fn percent(covered: usize, items: usize) -> f64 {
    if items == 0 {
        100.0
    } else {
        (covered as f64 * 1000.0 / items as f64).floor() / 10.0
    }
}

/// The coverage of `pack` by `runs` and what they did with edge cases (`edges`).
/// `requirements` names requirement ids the caller expects (from a requirements list); ids
/// that scenarios link are counted too. Runs of scenarios the pack does not hold are left
/// out. Edge classes are those of `reference_date` (only `date.today` depends on it).
pub fn coverage(
    pack: &Pack,
    runs: &[RunRecord],
    edges: &EdgeRuns,
    requirements: &[String],
    reference_date: NaiveDate,
) -> CoverageReport {
    let catalog = pack.catalog();
    let scenarios: Vec<_> = catalog.list().filter(|s| !s.template).collect();
    let mut of_scenario: BTreeMap<&str, Vec<&RunRecord>> = BTreeMap::new();
    for r in runs {
        of_scenario.entry(&r.scenario).or_default().push(r);
    }
    let mut all = RunCounts::default();
    let mut gaps = Gaps::default();
    let (mut covered, mut items) = (0usize, 0usize);
    let mut out_scenarios = Vec::new();
    for s in &scenarios {
        let rs = of_scenario.get(s.id.as_str()).cloned().unwrap_or_default();
        let mut counts = RunCounts::default();
        for r in &rs {
            counts.add(r.outcome);
            all.add(r.outcome);
        }
        items += 1;
        if counts.seeded > 0 {
            covered += 1;
        } else {
            gaps.scenarios_never_seeded.push(s.id.clone());
        }
        let mut knobs = Vec::new();
        for (name, knob) in &s.knobs {
            let Domain::Values(values) = &knob.domain else {
                continue;
            };
            let mut kc = KnobCoverage {
                knob: name.clone(),
                values: Vec::new(),
            };
            for v in values {
                let json = v.to_json();
                let used = rs
                    .iter()
                    .filter(|r| r.outcome == Outcome::Seeded && r.knobs.get(name) == Some(&json))
                    .count();
                items += 1;
                if used > 0 {
                    covered += 1;
                } else {
                    gaps.knob_values_never_requested.push(NeverRequested {
                        scenario: s.id.clone(),
                        knob: name.clone(),
                        value: json.clone(),
                    });
                }
                kc.values.push(KnobValueCoverage {
                    value: json,
                    seeded_runs: used,
                });
            }
            knobs.push(kc);
        }
        out_scenarios.push(ScenarioCoverage {
            id: s.id.clone(),
            requirements: s.requirements.clone(),
            runs: counts,
            last_run: last(&rs),
            knobs,
        });
    }
    let mut ids: BTreeSet<&str> = requirements.iter().map(String::as_str).collect();
    for s in &scenarios {
        ids.extend(s.requirements.iter().map(String::as_str));
    }
    let mut out_requirements = Vec::new();
    for id in ids {
        let linked: Vec<&ScenarioCoverage> = out_scenarios
            .iter()
            .filter(|s| s.requirements.iter().any(|r| r == id))
            .collect();
        let rs: Vec<&RunRecord> = linked
            .iter()
            .flat_map(|s| of_scenario.get(s.id.as_str()).cloned().unwrap_or_default())
            .collect();
        let mut counts = RunCounts::default();
        for r in &rs {
            counts.add(r.outcome);
        }
        let ok = counts.seeded > 0;
        items += 1;
        if ok {
            covered += 1;
        } else if linked.is_empty() {
            gaps.requirements_without_scenario.push(id.to_owned());
        } else {
            gaps.requirements_never_seeded.push(id.to_owned());
        }
        out_requirements.push(RequirementCoverage {
            id: id.to_owned(),
            scenarios: linked.iter().map(|s| s.id.clone()).collect(),
            runs: counts,
            last_run: last(&rs),
            covered: ok,
        });
    }
    let schema = pack.schema();
    let (mut edge_covered, mut edge_items) = (0usize, 0usize);
    let mut edge_classes: Vec<ColumnEdges> = Vec::new();
    for t in &schema.tables {
        for case in edge_cases(schema, t, reference_date) {
            if case.validity == Validity::Dangerous {
                continue;
            }
            let key = (t.name.clone(), case.column.clone(), case.class.clone());
            let slot = match edge_classes
                .iter()
                .position(|c| c.table == t.name && c.column == case.column)
            {
                Some(i) => i,
                None => {
                    edge_classes.push(ColumnEdges {
                        table: t.name.clone(),
                        column: case.column.clone(),
                        classes: Vec::new(),
                        invalid: Vec::new(),
                    });
                    edge_classes.len() - 1
                }
            };
            let column = &mut edge_classes[slot];
            if case.validity == Validity::Invalid {
                if !column.invalid.iter().any(|c| c.class == case.class) {
                    column.invalid.push(DeliveredClass {
                        class: case.class,
                        delivered_runs: edges.delivered.get(&key).copied().unwrap_or(0),
                    });
                }
                continue;
            }
            if column.classes.iter().any(|c| c.class == case.class) {
                continue; // one class of a column counts once
            }
            let runs = edges.seeded.get(&key).copied().unwrap_or(0);
            edge_items += 1;
            if runs > 0 {
                edge_covered += 1;
            } else {
                gaps.edge_classes_never_seeded
                    .push(format!("{}.{} {}", t.name, case.column, case.class));
            }
            edge_classes[slot].classes.push(EdgeClassCoverage {
                class: case.class,
                seeded_runs: runs,
            });
        }
    }
    edge_classes.retain(|c| !c.classes.is_empty() || !c.invalid.is_empty());
    CoverageReport {
        pack: pack.name().to_owned(),
        coverage: percent(covered + edge_covered, items + edge_items),
        covered: covered + edge_covered,
        items: items + edge_items,
        runs: all,
        requirements: out_requirements,
        scenarios: out_scenarios,
        edge_coverage: percent(edge_covered, edge_items),
        edge_classes,
        gaps,
    }
}

/// Reads a requirements list: one id per line; blank lines and lines starting with `#` are
/// skipped, and so is anything after the first whitespace (a title may follow the id).
pub fn parse_requirements(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests;
