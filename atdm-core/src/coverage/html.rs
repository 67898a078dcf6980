//! The coverage page: one self-contained HTML document (no scripts, no external resources),
//! readable in light and dark mode, like the audit page.

use std::fmt::Write as _;

use super::{CoverageReport, LastRun, Outcome, RunCounts};
use crate::audit::html::esc;

const CSS: &str = r#"
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--card:#f6f8fa;--ok:#1a7f37;--okbg:#dafbe1;--bad:#cf222e;--badbg:#ffebe9}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--card:#151b23;--ok:#4ac26b;--okbg:#12361f;--bad:#ff7b72;--badbg:#490c11}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif}
header,main{max-width:1180px;margin:0 auto;padding:0 24px}
header{padding-top:20px}
h1{margin:2px 0 6px;font-size:24px;font-weight:600}
h2{margin:28px 0 10px;font-size:18px}
.kicker{margin:0;color:var(--muted);font-size:13px;letter-spacing:.06em;text-transform:uppercase}
.figure{font-size:40px;font-weight:600}
.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--card);font-weight:600}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.yes{color:var(--ok);background:var(--okbg);padding:1px 6px;border-radius:4px}
.no{color:var(--bad);background:var(--badbg);padding:1px 6px;border-radius:4px}
ul{margin:0;padding-left:20px}
"#;

fn yes_no(ok: bool) -> &'static str {
    if ok {
        "<span class=\"yes\">covered</span>"
    } else {
        "<span class=\"no\">not covered</span>"
    }
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Seeded => "seeded",
        Outcome::DryRun => "dry run",
        Outcome::Rejected => "rejected",
        Outcome::Failed => "failed",
    }
}

fn last_run(l: &Option<LastRun>) -> String {
    match l {
        Some(l) => format!(
            "<code>{}</code> <time datetime=\"{}\">{}</time>, {}",
            esc(&l.run_id),
            l.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            l.at.format("%Y-%m-%d %H:%M UTC"),
            outcome(l.outcome)
        ),
        None => "<span class=\"muted\">never run</span>".into(),
    }
}

fn counts(c: &RunCounts) -> String {
    format!(
        "{} ({} seeded, {} dry, {} rejected, {} failed)",
        c.total, c.seeded, c.dry_runs, c.rejected, c.failed
    )
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The coverage page of a report: a complete, self-contained HTML document. Pure: the same
/// report gives the same bytes.
pub fn render_html(r: &CoverageReport) -> String {
    let mut o = String::with_capacity(16 * 1024);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        o,
        "<title>ATDM coverage of {}: {:.1}%</title>",
        esc(&r.pack),
        r.coverage
    );
    let _ = writeln!(o, "<style>{CSS}</style>\n</head>\n<body>\n<header>");
    let _ = writeln!(
        o,
        "<p class=\"kicker\">ATDM test-data coverage</p>\n<h1>{}</h1>",
        esc(&r.pack)
    );
    let _ = writeln!(
        o,
        "<p><span class=\"figure\" id=\"coverage\">{:.1}%</span> <span class=\"muted\">{} of {} items covered: scenarios seeded, knob values used by a seeded run, requirement ids with a seeded scenario, edge classes seeded. Runs: {}.</span></p>",
        r.coverage,
        r.covered,
        r.items,
        counts(&r.runs)
    );
    o.push_str("</header>\n<main>\n");

    o.push_str("<section id=\"requirements\">\n<h2>Requirements</h2>\n");
    if r.requirements.is_empty() {
        o.push_str("<p class=\"muted\">No scenario links a requirement id.</p>\n");
    } else {
        o.push_str("<table>\n<tr><th>requirement</th><th>scenarios</th><th>runs</th><th>last run</th><th></th></tr>\n");
        for q in &r.requirements {
            let scenarios = if q.scenarios.is_empty() {
                "<span class=\"no\">no scenario</span>".to_owned()
            } else {
                q.scenarios
                    .iter()
                    .map(|s| format!("<code>{}</code>", esc(s)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code></td><td>{scenarios}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&q.id),
                counts(&q.runs),
                last_run(&q.last_run),
                yes_no(q.covered)
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</section>\n");

    o.push_str("<section id=\"scenarios\">\n<h2>Scenarios</h2>\n<table>\n<tr><th>scenario</th><th>runs</th><th>last run</th><th>knob values used by seeded runs</th><th></th></tr>\n");
    for s in &r.scenarios {
        let mut knobs = String::new();
        for k in &s.knobs {
            let used: Vec<String> = k
                .values
                .iter()
                .map(|v| {
                    let class = if v.seeded_runs > 0 { "yes" } else { "no" };
                    format!(
                        "<span class=\"{class}\">{}</span>",
                        esc(&json_text(&v.value))
                    )
                })
                .collect();
            let _ = write!(
                knobs,
                "<div><code>{}</code>: {}</div>",
                esc(&k.knob),
                used.join(" ")
            );
        }
        let _ = writeln!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.id),
            counts(&s.runs),
            last_run(&s.last_run),
            if knobs.is_empty() {
                "<span class=\"muted\">no closed knobs</span>".into()
            } else {
                knobs
            },
            yes_no(s.runs.seeded > 0)
        );
    }
    o.push_str("</table>\n</section>\n");

    let _ = writeln!(
        o,
        "<section id=\"edges\">\n<h2>Edge cases</h2>\n<p><strong>{:.1}%</strong> <span class=\"muted\">of the valid edge classes of the pack's columns were seeded (atdm generate --edge-cases).</span></p>",
        r.edge_coverage
    );
    if !r.edge_classes.is_empty() {
        o.push_str("<table>\n<tr><th>column</th><th>valid classes seeded</th><th>invalid classes delivered as fixtures</th></tr>\n");
        for c in &r.edge_classes {
            let classes: Vec<String> = c
                .classes
                .iter()
                .map(|e| {
                    let class = if e.seeded_runs > 0 { "yes" } else { "no" };
                    format!("<span class=\"{class}\">{}</span>", esc(&e.class))
                })
                .collect();
            let invalid: Vec<String> = c
                .invalid
                .iter()
                .map(|e| {
                    let class = if e.delivered_runs > 0 { "yes" } else { "no" };
                    format!("<span class=\"{class}\">{}</span>", esc(&e.class))
                })
                .collect();
            let _ = writeln!(
                o,
                "<tr><td><code>{}.{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&c.table),
                esc(&c.column),
                classes.join(" "),
                invalid.join(" ")
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</section>\n");

    o.push_str("<section id=\"gaps\">\n<h2>Not exercised</h2>\n");
    let g = &r.gaps;
    let list = |o: &mut String, title: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(o, "<h3>{title} ({})</h3>\n<ul>", items.len());
        for i in items {
            let _ = writeln!(o, "<li>{i}</li>");
        }
        o.push_str("</ul>\n");
    };
    let code = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| format!("<code>{}</code>", esc(s)))
            .collect()
    };
    list(
        &mut o,
        "Requirements no scenario links",
        code(&g.requirements_without_scenario),
    );
    list(
        &mut o,
        "Requirements whose scenarios never seeded",
        code(&g.requirements_never_seeded),
    );
    list(
        &mut o,
        "Scenarios never seeded",
        code(&g.scenarios_never_seeded),
    );
    list(
        &mut o,
        "Knob values never requested",
        g.knob_values_never_requested
            .iter()
            .map(|n| {
                format!(
                    "<code>{}</code> <code>{}</code> = <code>{}</code>",
                    esc(&n.scenario),
                    esc(&n.knob),
                    esc(&json_text(&n.value))
                )
            })
            .collect(),
    );
    list(
        &mut o,
        "Edge classes never seeded",
        code(&g.edge_classes_never_seeded),
    );
    if r.covered == r.items {
        o.push_str("<p>Everything is covered.</p>\n");
    }
    o.push_str("</section>\n</main>\n</body>\n</html>\n");
    o
}
