//! The header, the summary and the steps: what happened, in words.

use super::*;

pub(super) fn section_open(out: &mut String, id: &str, title: &str) {
    let _ = writeln!(
        out,
        "<section id=\"{id}\" aria-labelledby=\"{id}-h\">\n<h2 id=\"{id}-h\">{title}</h2>"
    );
}

pub(super) fn why(out: &mut String, html: &str) {
    let _ = writeln!(out, "<p class=\"why\">{html}</p>");
}

pub(super) fn header(out: &mut String, run: &Run<'_>, verdict: &Verdict) {
    out.push_str("<header>\n<p class=\"kicker\">ATDM audit trail</p>\n");
    let _ = writeln!(
        out,
        "<h1>{} <code>{}</code></h1>",
        if run.strategy.is_some() {
            "Strategy run"
        } else {
            "Run"
        },
        text(&run.trail.run_id)
    );
    let _ = writeln!(
        out,
        "<p><span class=\"badge {}\">{} {}</span> <span class=\"none\">{}</span></p>",
        verdict.tone.class(),
        verdict.tone.mark(),
        esc(&verdict.words),
        match run.scenario() {
            Some(s) => format!("scenario {}", text(&s)),
            None => String::new(),
        }
    );
    out.push_str("<nav aria-label=\"Sections\"><a href=\"#summary\">Summary</a><a href=\"#plan\">Plan</a><a href=\"#validators\">Validators</a><a href=\"#records\">Records</a><a href=\"#fixtures\">Fixtures</a><a href=\"#reset\">Reset</a><a href=\"#timeline\">Timeline</a></nav>\n</header>\n");
}

pub(super) fn summary(out: &mut String, run: &Run<'_>, verdict: &Verdict) {
    section_open(out, "summary", "Summary");
    let _ = writeln!(
        out,
        "<div class=\"verdict {}\" role=\"status\"><span class=\"mark\" aria-hidden=\"true\">{}</span><div><strong>{}</strong><p>{}</p></div></div>",
        verdict.tone.class(),
        verdict.tone.mark(),
        esc(&verdict.words),
        text_n(&verdict.detail, 600)
    );
    if run.events.is_empty() {
        out.push_str("<h3>How to find a run id</h3>\n<ul>\n");
        out.push_str("<li>A request prints its run id (<code>atdm request</code>; <code>Seeded::run_id</code> in Rust; <code>run_id</code> in Python).</li>\n");
        out.push_str("<li>Fixture files carry it as <code>test_run_id</code>, and a run's fixture files are named <code>&lt;scenario&gt;_&lt;run id&gt;.json</code>.</li>\n");
        out.push_str("<li>Every audited run has a folder <code>audit/dt=YYYY-MM-DD/run=&lt;run id&gt;/</code> in the audit store; the store of this page is named below.</li>\n");
        out.push_str("<li>Run ids are ULIDs (26 characters) or <code>strategy-&lt;name&gt;-&lt;ULID&gt;</code> for reset_all, snapshots and restores; check for a typo or a different store.</li>\n</ul>\n");
    } else if run.strategy.is_none() {
        reasons(out, run);
        steps(out, run);
    }
    let start = out.len();
    out.push_str("<dl class=\"facts\">\n");
    let mut fact = |name: &str, value: String| {
        if out.len() - start < SUMMARY_BUDGET {
            let _ = writeln!(out, "<dt>{name}</dt><dd>{value}</dd>");
        }
    };
    fact(
        "Run id",
        format!("<code>{}</code>", text(&run.trail.run_id)),
    );
    fact(
        "Status",
        format!(
            "<span class=\"badge {}\">{} {}</span>",
            verdict.tone.class(),
            verdict.tone.mark(),
            esc(&verdict.words)
        ),
    );
    if let Some(name) = &run.strategy {
        fact("Strategy", text(name));
    } else {
        fact("Scenario", or_none(run.scenario()));
    }
    fact("Invoker", run.invokers());
    if run.strategy.is_none() {
        fact("Request id", or_none(run.request_id()));
        let unplanned = |v: Option<String>| match v {
            Some(v) => text(&v),
            None if run.plan().is_none() && run.any(AuditAction::PlanRejected) => {
                "<span class=\"none\">none: no plan was made</span>".to_owned()
            }
            None => NOT_RECORDED.to_owned(),
        };
        fact("Reference date", unplanned(run.reference_date()));
        fact("Seed", unplanned(run.seed()));
        if let Some(g) = run.plan().and_then(|o| str_at(o, &["generator_version"])) {
            fact("Generator version", text(&g));
        }
    }
    if let (Some(first), Some(last)) = (run.events.first(), run.events.last()) {
        fact(
            "Started",
            format!(
                "<time datetime=\"{}\">{}</time>",
                time_attr(&first.timestamp),
                time_long(&first.timestamp)
            ),
        );
        fact(
            "Last event",
            format!(
                "<time datetime=\"{}\">{}</time> ({} after the first; {})",
                time_attr(&last.timestamp),
                time_long(&last.timestamp),
                elapsed(&first.timestamp, &last.timestamp).trim_start_matches('+'),
                plural(run.events.len() as u64, "event", "events")
            ),
        );
    } else {
        fact("Events", "none".into());
    }
    fact(
        "Trail stored at",
        format!("<code>{}</code>", text(&run.trail.location)),
    );
    out.push_str("</dl>\n</section>\n");
}

/// For a rejected run, what was wrong, right under the verdict.
pub(super) fn reasons(out: &mut String, run: &Run<'_>) {
    let Some(e) = run.last(AuditAction::PlanRejected) else {
        return;
    };
    let failures = run.failures();
    if failures.is_empty() {
        if let Some(err) = error_text(&e.outputs) {
            let _ = writeln!(
                out,
                "<div class=\"err rej\"><p><b>Why:</b> {}</p></div>",
                text_n(&err, 600)
            );
        }
        return;
    }
    out.push_str("<div class=\"err rej\"><p><b>Why:</b></p><ul>");
    for f in failures.iter().take(3) {
        let _ = write!(
            out,
            "<li><code>{}</code>: {}</li>",
            or_none(str_at(f, &["validator"])),
            or_none(str_at(f, &["message"]))
        );
    }
    out.push_str("</ul>");
    if failures.len() > 3 {
        let _ = write!(
            out,
            "<p class=\"more\">{} more under Validator decisions.</p>",
            failures.len() - 3
        );
    }
    out.push_str("</div>\n");
}

/// The run's path as a row of steps, each done, failed, skipped or not reached.
pub(super) fn steps(out: &mut String, run: &Run<'_>) {
    let mut items: Vec<(&str, &str, String)> = Vec::new(); // (state, title, detail)
    let rejected = run.last(AuditAction::PlanRejected);
    let planner_refused = rejected.is_some() && run.refusing_validators().is_empty();
    items.push(match run.first(AuditAction::RequestReceived) {
        Some(e) => ("done", "Requested", time_short(&e.timestamp)),
        None => ("wait", "Requested", "not recorded".into()),
    });
    items.push(match (run.plan(), planner_refused) {
        (_, true) => (
            "fail",
            "Planned",
            match run
                .last(AuditAction::PlanRejected)
                .and_then(|e| error_code(&e.outputs))
            {
                Some(code) => format!("refused: {code}"),
                None => "refused".to_owned(),
            },
        ),
        (Some(p), _) => (
            "done",
            "Planned",
            total(p.get("rows")).map_or_else(
                || "plan resolved".to_owned(),
                |n| {
                    let tables = p
                        .get("rows")
                        .and_then(Json::as_object)
                        .map_or(0, |m| m.len());
                    format!(
                        "{} in {}",
                        plural(n, "row", "rows"),
                        plural(tables as u64, "table", "tables")
                    )
                },
            ),
        ),
        (None, _) => ("wait", "Planned", "not recorded".into()),
    });
    items.push(
        match (
            run.last(AuditAction::ValidatorsPassed),
            rejected,
            planner_refused,
        ) {
            (_, Some(_), true) => ("skip", "Validated", "not reached".into()),
            (_, Some(_), false) => (
                "fail",
                "Validated",
                format!(
                    "rejected: {}",
                    plural(run.failures().len() as u64, "failure", "failures")
                ),
            ),
            (Some(e), None, _) => (
                "done",
                "Validated",
                e.outputs
                    .get("validators")
                    .and_then(Json::as_array)
                    .map_or_else(|| "passed".to_owned(), |a| format!("{} passed", a.len())),
            ),
            (None, None, _) => ("wait", "Validated", "no decision recorded".into()),
        },
    );
    items.push(
        match (
            run.last(AuditAction::SeedCompleted),
            run.last(AuditAction::SeedFailed),
        ) {
            (_, Some(_)) => ("fail", "Seeded", "rolled back, nothing written".into()),
            (Some(e), None) => (
                "done",
                "Seeded",
                total(e.outputs.get("rows")).map_or_else(
                    || "committed".to_owned(),
                    |n| format!("{} written", plural(n, "row", "rows")),
                ),
            ),
            (None, None) if rejected.is_some() => ("skip", "Seeded", "nothing written".into()),
            (None, None) if run.dry_run() => ("skip", "Seeded", "dry run, nothing written".into()),
            (None, None) => ("wait", "Seeded", "not recorded".into()),
        },
    );
    let asked = run.request().is_some_and(|i| {
        i.get("playwright").and_then(Json::as_bool) == Some(true)
            || i.get("pytest").and_then(Json::as_bool) == Some(true)
    });
    items.push(match run.last(AuditAction::FixturesEmitted) {
        Some(e) => {
            let n = e
                .outputs
                .get("files")
                .and_then(Json::as_array)
                .map_or(0, Vec::len);
            ("done", "Fixtures", plural(n as u64, "file", "files"))
        }
        None if asked && run.any(AuditAction::SeedCompleted) => {
            ("wait", "Fixtures", "asked for, not recorded".into())
        }
        None => ("skip", "Fixtures", "none".into()),
    });
    items.push(match run.reset_outcome() {
        Some(e) if e.action == AuditAction::ResetCompleted => (
            "done",
            "Reset",
            if str_at(&e.outputs, &["status"]).as_deref() == Some("already_cleaned") {
                "already cleaned".to_owned()
            } else {
                format!(
                    "cleaned, {} deleted",
                    plural(total(e.outputs.get("deleted")).unwrap_or(0), "row", "rows")
                )
            },
        ),
        Some(_) => ("fail", "Reset", "failed, rows still present".into()),
        None if run.any(AuditAction::SeedCompleted) => {
            ("wait", "Reset", "not yet: rows still present".into())
        }
        None => ("skip", "Reset", "nothing to reset".into()),
    });
    out.push_str("<ol class=\"steps\" aria-label=\"What happened\">");
    for (state, title, detail) in items {
        let mark = match state {
            "done" => "\u{2713}",
            "fail" => "\u{2717}",
            "skip" => "\u{2013}",
            _ => "\u{2026}",
        };
        let _ = write!(
            out,
            "<li class=\"s-{state}\"><b>{mark} {title}</b><span>{}</span></li>",
            text_n(&detail, 120)
        );
    }
    out.push_str("</ol>\n");
}

pub(super) fn strategy_note(out: &mut String, run: &Run<'_>, what: &str) -> bool {
    if let Some(name) = &run.strategy {
        why(
            out,
            &format!(
                "This is a strategy run ({}): it acts on the whole database rather than seeding a scenario, so it has {what}. What it did is under Reset and in the timeline.",
                text(name)
            ),
        );
        return true;
    }
    false
}

pub(super) fn no_events(out: &mut String, run: &Run<'_>, what: &str) -> bool {
    if run.events.is_empty() {
        why(
            out,
            &format!(
                "Nothing to show: no events are recorded for this run id, so there is {what}."
            ),
        );
        return true;
    }
    false
}
