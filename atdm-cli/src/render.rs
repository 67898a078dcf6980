//! Human output of each command: short aligned lines and tables. Each function takes the
//! value a command produced (an engine type, or one of [`crate::views`]) and returns the
//! text printed for people; it reads nothing and changes nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use atdm_core::audit::AuditTrail;
use atdm_core::{Cell, Plan, ScenarioDescription, Value};
use atdm_sqlx::{
    BaselineDiff, BaselineManifest, ResetAllReport, ResetReport, RestoreReport, RunInfo,
    ScaffoldReport, Seeded,
};

use crate::output::{indent, key_values, plain, table};
use crate::validate::ValidateReport;
use crate::views::{Found, Introspected, ScenarioList};

pub(crate) fn scenarios(list: &ScenarioList) -> String {
    if list.scenarios.is_empty() {
        return "no scenarios\n".into();
    }
    let rows: Vec<Vec<String>> = list
        .scenarios
        .iter()
        .map(|s| vec![s.id.clone(), s.description.clone()])
        .collect();
    table(&["scenario", "description"], &rows)
}

pub(crate) fn describe(d: &ScenarioDescription) -> String {
    let mut s = key_values(&[
        ("scenario", d.id.clone()),
        ("description", d.description.clone()),
        ("tags", d.tags.join(", ")),
        ("requirements", d.requirements.join(", ")),
        ("validators", d.validators.join(", ")),
    ]);
    if !d.knobs.is_empty() {
        s.push_str("\nknobs (-c KEY=VALUE)\n");
        let rows: Vec<Vec<String>> = d
            .knobs
            .iter()
            .map(|k| vec![k.name.clone(), plain(&k.default), k.allowed.clone()])
            .collect();
        s.push_str(&indent(&table(&["knob", "default", "allowed"], &rows)));
    }
    s.push_str("\nrows\n");
    let rows: Vec<Vec<String>> = d
        .rows
        .iter()
        .map(|r| vec![r.alias.clone(), r.table.clone(), plain(&r.count)])
        .collect();
    s.push_str(&indent(&table(&["alias", "table", "count"], &rows)));
    s
}

pub(crate) fn found(f: &Found) -> String {
    if f.matches.is_empty() {
        return format!(
            "no scenario matches {:?}; list them all with `atdm scenarios`\n",
            f.intent
        );
    }
    let rows: Vec<Vec<String>> = f
        .matches
        .iter()
        .map(|m| {
            vec![
                m.found.id.clone(),
                format!("{:.2}", m.found.score),
                m.found.matched.join(" "),
            ]
        })
        .collect();
    table(&["scenario", "score", "matched"], &rows)
}

pub(crate) fn seeded(s: &Seeded) -> String {
    let total: u64 = s.rows.values().sum();
    let mut pairs: Vec<(String, String)> = vec![
        ("run".into(), s.run_id.clone()),
        ("scenario".into(), s.scenario.clone()),
        ("request".into(), s.request_id.clone()),
        ("rows".into(), format!("{total} ({})", counts(&s.rows))),
        ("reference date".into(), s.reference_date.to_string()),
    ];
    let edges: usize = s.edge_cases.values().map(Vec::len).sum();
    if edges > 0 {
        pairs.push((
            "edge cases".into(),
            format!("{edges} rows hold them ({} tables)", s.edge_cases.len()),
        ));
    }
    pairs.push((
        "lease until".into(),
        s.lease_expires_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
    ));
    for (k, v) in &s.data {
        pairs.push((k.clone(), crate::output::keys(v)));
    }
    for f in &s.fixtures {
        pairs.push(("fixture".into(), f.display().to_string()));
    }
    pairs.push(("token".into(), s.token.expose().to_owned()));
    let mut out = key_values(&pairs);
    let _ = writeln!(
        out,
        "\nThe token is shown only now. Reset with: atdm reset {} --token {}",
        s.run_id,
        s.token.expose()
    );
    out
}

pub(crate) fn plan(p: &Plan, validators: &[String]) -> String {
    let mut pairs: Vec<(String, String)> = vec![
        ("scenario".into(), p.scenario.clone()),
        ("run (preview)".into(), p.run_id.clone()),
        ("seed".into(), p.seed.to_string()),
        ("reference date".into(), p.reference_date.to_string()),
        ("validators".into(), validators.join(", ")),
    ];
    for (k, v) in &p.constraints {
        pairs.push((format!("knob {k}"), plain(&v.to_json())));
    }
    let mut s = key_values(&pairs);
    s.push_str("\nrows (nothing was written)\n");
    // Rows of streamed entries are made a batch at a time when seeded; they count too.
    let mut counts: Vec<(&str, u64)> = p
        .tables
        .iter()
        .map(|t| (&*t.table, t.rows.len() as u64))
        .collect();
    for st in &p.streams {
        match counts.iter_mut().find(|(t, _)| *t == &*st.table) {
            Some((_, n)) => *n += st.rows,
            None => counts.push((&st.table, st.rows)),
        }
    }
    let rows: Vec<Vec<String>> = counts
        .iter()
        .map(|(t, n)| vec![t.to_string(), n.to_string()])
        .collect();
    s.push_str(&indent(&table(&["table", "rows"], &rows)));
    for st in &p.streams {
        let alias = &p.entities[st.entry].alias;
        let _ = if st.held == 0 {
            writeln!(
                s,
                "@{alias}: {} rows of {}, made and validated a batch at a time when seeded",
                st.rows, st.table
            )
        } else {
            writeln!(
                s,
                "@{alias}: {} rows of {}; the first {} (which other rows refer to) are planned, the other {} made and validated a batch at a time when seeded",
                st.held + st.rows,
                st.table,
                st.held,
                st.rows
            )
        };
    }
    for t in &p.tables {
        let Some(sources) = &t.sources else { continue };
        for (ri, (row, srcs)) in t.rows.iter().zip(sources).enumerate() {
            let _ = writeln!(s, "\n{}[{ri}] (@{})", t.table, t.aliases[ri]);
            let lines: Vec<Vec<String>> = t
                .columns
                .iter()
                .zip(row)
                .zip(srcs)
                .map(|((c, cell), src)| vec![c.clone(), cell_text(cell), src.to_string()])
                .collect();
            s.push_str(&indent(&table(&["column", "value", "from"], &lines)));
        }
    }
    s
}

/// A planned cell as text: the value, or what the database will fill in.
fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Value(Value::Null) => "NULL".into(),
        Cell::Value(v) => plain(&v.to_json()),
        Cell::Default => "(the database's)".into(),
        Cell::Ref(r) => format!("(the key of {}[{}])", r.table, r.row),
        Cell::Streamed(r) => format!("(the key of streamed row {} of stream {})", r.row, r.stream),
    }
}

pub(crate) fn reset(r: &ResetReport) -> String {
    let total: u64 = r.deleted.values().sum();
    let status = serde_json::to_value(r.status)
        .map(|v| plain(&v))
        .unwrap_or_default();
    key_values(&[
        ("run", r.run_id.clone()),
        ("status", status),
        ("deleted", format!("{total} rows{}", paren(&r.deleted))),
    ])
}

pub(crate) fn reset_all(r: &ResetAllReport) -> String {
    let total: u64 = r.deleted.values().sum();
    key_values(&[
        ("runs cleaned", r.runs.len().to_string()),
        ("deleted", format!("{total} rows{}", paren(&r.deleted))),
    ])
}

pub(crate) fn reaped(r: &[ResetReport]) -> String {
    if r.is_empty() {
        return "no expired runs\n".into();
    }
    let rows: Vec<Vec<String>> = r
        .iter()
        .map(|x| {
            vec![
                x.run_id.clone(),
                x.deleted.values().sum::<u64>().to_string(),
            ]
        })
        .collect();
    let mut s = format!("reaped {} expired runs\n", r.len());
    s.push_str(&table(&["run", "rows deleted"], &rows));
    s
}

pub(crate) fn runs(runs: &[RunInfo], total: u64) -> String {
    if runs.is_empty() {
        return "no runs\n".into();
    }
    let more = (total > runs.len() as u64).then(|| {
        format!(
            "\nthe newest {} of {total} runs; --limit N or --all for more, --status and --scenario to choose\n",
            runs.len()
        )
    });
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.run_id.clone(),
                r.scenario.clone(),
                r.status.clone(),
                r.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.invoker.clone(),
            ]
        })
        .collect();
    let mut out = table(
        &["run", "scenario", "status", "created (UTC)", "invoker"],
        &rows,
    );
    out.push_str(&more.unwrap_or_default());
    out
}

pub(crate) fn audit(t: &AuditTrail, page: Option<&std::path::Path>) -> String {
    let mut pairs = vec![
        ("run", t.run_id.clone()),
        ("location", t.location.clone()),
        ("events", t.events.len().to_string()),
    ];
    if !t.pending.is_empty() {
        pairs.push((
            "pending",
            format!(
                "{} events are not in the audit store yet: the database's audit outbox holds them, and the next command that can write to the store moves them there",
                t.pending.len()
            ),
        ));
    }
    if let Some(p) = page {
        pairs.push(("page", p.display().to_string()));
    }
    let mut s = key_values(&pairs);
    let mut events: Vec<(&atdm_core::audit::AuditEvent, bool)> =
        t.events.iter().map(|e| (e, false)).collect();
    events.extend(t.pending.iter().map(|e| (e, true)));
    events.sort_by_key(|(e, _)| e.timestamp);
    if !events.is_empty() {
        s.push('\n');
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|(e, pending)| {
                let status = if *pending {
                    format!("{} (pending)", e.status.as_str())
                } else {
                    e.status.as_str().to_owned()
                };
                vec![
                    e.timestamp.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
                    e.action.as_str().to_owned(),
                    status,
                    e.invoker.clone(),
                ]
            })
            .collect();
        s.push_str(&table(
            &["time (UTC)", "action", "status", "invoker"],
            &rows,
        ));
    }
    s
}

pub(crate) fn introspected(i: &Introspected) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Schema of {}, as the engine reads it.", i.database);
    for n in &i.notes {
        let _ = writeln!(s, "# note: {n}");
    }
    s.push_str("# To write a scenario directory for it: atdm introspect --out DIR\n\n");
    s.push_str(&i.toml);
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

pub(crate) fn scaffolded(r: &ScaffoldReport) -> String {
    let mut s = String::new();
    let dir = r.dir.display();
    let _ = writeln!(
        s,
        "wrote {} files to {dir} ({} tables of {}):",
        r.files.len(),
        r.tables,
        r.database
    );
    for f in &r.files {
        let _ = writeln!(s, "  {f}");
    }
    if !r.left_out.is_empty() {
        let _ = writeln!(
            s,
            "\nleft out of every_table ({} of {} tables; every_table.toml says how to add them):",
            r.left_out.len(),
            r.tables
        );
        for l in &r.left_out {
            let _ = writeln!(s, "  {}: {}", l.table, l.reason);
        }
    }
    if !r.notes.is_empty() {
        s.push_str("\nnotes (also at the top of schema.toml):\n");
        for n in &r.notes {
            let _ = writeln!(s, "  - {n}");
        }
    }
    if !r.other_files.is_empty() {
        let _ = writeln!(
            s,
            "\nalso in {dir}, and loaded as scenario files too: {}",
            r.other_files.join(", ")
        );
    }
    if r.scenarios.iter().any(|id| id == "every_table") {
        let _ = writeln!(
            s,
            "\nnext: atdm --scenario-dir {dir} request every_table   (then reset the run it prints)"
        );
    }
    s
}

pub(crate) fn validate(r: &ValidateReport) -> String {
    let mut s = String::new();
    let width = r.files.iter().map(|f| f.file.len()).max().unwrap_or(0);
    for f in &r.files {
        let mark = if f.valid { "ok   " } else { "error" };
        let ids = if f.scenarios.is_empty() {
            String::new()
        } else {
            format!("  {}", f.scenarios.join(", "))
        };
        let line = format!("{mark}  {:width$}{ids}", f.file);
        s.push_str(line.trim_end());
        s.push('\n');
        for p in &f.errors {
            let mut lines = p.message.lines();
            let _ = writeln!(s, "       {}: {}", p.code, lines.next().unwrap_or_default());
            for l in lines {
                let _ = writeln!(s, "         {l}");
            }
        }
    }
    let bad = r.files.iter().filter(|f| !f.valid).count();
    let _ = writeln!(
        s,
        "\n{} checked against {}: {} valid, {} with errors",
        plural(r.files.len(), "file", "files"),
        r.schema,
        r.files.len() - bad,
        bad
    );
    s
}

pub(crate) fn snapshot(m: &BaselineManifest) -> String {
    let mut pairs = vec![
        ("baseline", m.id.clone()),
        (
            "captured",
            m.captured_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
        ("rows", m.total_rows().to_string()),
    ];
    if !m.tags.is_empty() {
        pairs.push(("tags", tags(&m.tags)));
    }
    pairs.push(("audit run", m.audit_run_id.clone()));
    let mut s = key_values(&pairs);
    s.push('\n');
    let rows: Vec<Vec<String>> = m
        .tables
        .iter()
        .map(|t| vec![t.name.clone(), t.rows.to_string()])
        .collect();
    s.push_str(&table(&["table", "rows"], &rows));
    s
}

pub(crate) fn baselines(list: &[BaselineManifest]) -> String {
    if list.is_empty() {
        return "no baselines; take one with `atdm baseline snapshot`\n".into();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|m| {
            vec![
                m.id.clone(),
                m.captured_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                m.total_rows().to_string(),
                tags(&m.tags),
            ]
        })
        .collect();
    table(&["baseline", "captured (UTC)", "rows", "tags"], &rows)
}

pub(crate) fn restored(r: &RestoreReport) -> String {
    let written: u64 = r.rows.values().sum();
    let deleted: u64 = r.deleted.values().sum();
    key_values(&[
        ("baseline", r.baseline_id.clone()),
        ("restored", format!("{written} rows{}", paren(&r.rows))),
        ("replaced", format!("{deleted} rows{}", paren(&r.deleted))),
        ("audit run", r.audit_run_id.clone()),
    ])
}

pub(crate) fn diff(d: &BaselineDiff) -> String {
    let mut s = key_values(&[("from", d.from.as_str()), ("to", d.to.as_str())]);
    if d.is_empty() {
        s.push_str("\nno differences\n");
        return s;
    }
    s.push('\n');
    let rows: Vec<Vec<String>> = d
        .tables
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| {
            vec![
                t.table.clone(),
                t.added.to_string(),
                t.removed.to_string(),
                t.changed.to_string(),
            ]
        })
        .collect();
    s.push_str(&table(&["table", "added", "removed", "changed"], &rows));
    s
}

/// `"k=v, k2=v2"`.
fn tags(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `" (claim 1, member 1)"` for the tables with rows, or nothing.
fn paren(counts_by_table: &BTreeMap<String, u64>) -> String {
    let c = counts(counts_by_table);
    if c.is_empty() {
        String::new()
    } else {
        format!(" ({c})")
    }
}

/// `"claim 1, member 1"`: the tables with rows.
fn counts(counts_by_table: &BTreeMap<String, u64>) -> String {
    counts_by_table
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1 file`, `2 files`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(crate) fn set_up(s: &crate::views::SetUp) -> String {
    format!(
        "set up {}: the run catalog and the {} tables of pack {} ({})\nother roles now need only SELECT, INSERT, UPDATE and DELETE on them\n",
        s.database,
        s.tables.len(),
        s.pack,
        s.tables.join(", ")
    )
}

pub(crate) fn coverage(
    r: &atdm_core::coverage::CoverageReport,
    page: Option<&std::path::Path>,
) -> String {
    let mut pairs: Vec<(String, String)> = vec![
        ("pack".into(), r.pack.clone()),
        (
            "coverage".into(),
            format!("{:.1}% ({} of {} items)", r.coverage, r.covered, r.items),
        ),
        (
            "runs".into(),
            format!(
                "{} ({} seeded, {} dry runs, {} rejected, {} failed)",
                r.runs.total, r.runs.seeded, r.runs.dry_runs, r.runs.rejected, r.runs.failed
            ),
        ),
        (
            "edge classes".into(),
            format!(
                "{:.1}% of the columns' valid classes seeded",
                r.edge_coverage
            ),
        ),
    ];
    if let Some(p) = page {
        pairs.push(("page".into(), p.display().to_string()));
    }
    let mut s = key_values(&pairs);
    if !r.requirements.is_empty() {
        let rows: Vec<Vec<String>> = r
            .requirements
            .iter()
            .map(|q| {
                vec![
                    q.id.clone(),
                    q.runs.seeded.to_string(),
                    if q.covered { "yes" } else { "no" }.into(),
                    q.scenarios.join(", "),
                ]
            })
            .collect();
        s.push_str("\nrequirements\n");
        s.push_str(&indent(&table(
            &["id", "seeded runs", "covered", "scenarios"],
            &rows,
        )));
    }
    let g = &r.gaps;
    let mut gaps: Vec<String> = Vec::new();
    gaps.extend(
        g.requirements_without_scenario
            .iter()
            .map(|q| format!("requirement {q}: no scenario links it")),
    );
    gaps.extend(
        g.requirements_never_seeded
            .iter()
            .map(|q| format!("requirement {q}: its scenarios never seeded")),
    );
    gaps.extend(
        g.scenarios_never_seeded
            .iter()
            .map(|sc| format!("scenario {sc}: never seeded")),
    );
    gaps.extend(g.knob_values_never_requested.iter().map(|n| {
        format!(
            "scenario {}: knob {} = {} never requested",
            n.scenario,
            n.knob,
            plain(&n.value)
        )
    }));
    // Edge classes by column: one line each.
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in &g.edge_classes_never_seeded {
        if let Some((column, class)) = e.split_once(' ') {
            edges.entry(column).or_default().push(class);
        }
    }
    gaps.extend(edges.into_iter().map(|(column, classes)| {
        format!(
            "column {column}: edge classes never seeded: {}",
            classes.join(", ")
        )
    }));
    if gaps.is_empty() {
        s.push_str("\nEverything is covered.\n");
    } else {
        let _ = writeln!(s, "\nnot exercised ({})", gaps.len());
        for line in gaps {
            let _ = writeln!(s, "  {line}");
        }
    }
    s
}

pub(crate) fn edge_cases(cases: &[atdm_core::edge::EdgeCase]) -> String {
    let rows: Vec<Vec<String>> = cases
        .iter()
        .map(|c| {
            let value = if c.duplicate {
                "(another row's value)".to_owned()
            } else {
                c.cells
                    .iter()
                    .map(|(col, v)| {
                        let text = match v {
                            Value::Null => "NULL".to_owned(),
                            Value::Text(t) => format!("{t:?}"),
                            v => plain(&v.to_json()),
                        };
                        let text: String = if text.chars().count() > 40 {
                            format!(
                                "{}... ({} chars)",
                                text.chars().take(32).collect::<String>(),
                                text.chars().count()
                            )
                        } else {
                            text
                        };
                        if col == &c.column {
                            text
                        } else {
                            format!("{col}={text}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let by = if c.validity == atdm_core::edge::Validity::Valid {
                String::new()
            } else if c.rejected_by.is_empty() {
                "the application".into()
            } else {
                c.rejected_by
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let validity = serde_json::to_value(c.validity)
                .map(|v| plain(&v))
                .unwrap_or_default();
            vec![
                format!("{}.{}", c.table, c.column),
                c.class.clone(),
                validity,
                value,
                by,
            ]
        })
        .collect();
    table(
        &["column", "class", "validity", "value", "rejected by"],
        &rows,
    )
}
