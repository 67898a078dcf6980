//! The records created, the fixture files and the reset.

use super::*;

pub(super) fn records(out: &mut String, run: &Run<'_>) {
    section_open(out, "records", "Records created");
    if no_events(out, run, "no record") || strategy_note(out, run, "created no records") {
        out.push_str("</section>\n");
        return;
    }
    let started = run.last(AuditAction::SeedStarted);
    if let Some(s) = started {
        let _ = writeln!(
            out,
            "<p>Database: <code>{}</code> ({}), transaction begun at {}.</p>",
            or_none(str_at(&s.outputs, &["database"])),
            or_none(str_at(&s.outputs, &["dialect"])),
            time_short(&s.timestamp)
        );
    }
    if let Some(e) = run.last(AuditAction::SeedFailed) {
        let _ = writeln!(
            out,
            "<div class=\"err\"><p><span class=\"badge t-failed\">\u{21BA} rolled back</span> No rows were written: the database refused the plan at {} and the transaction rolled back. {}</p></div>",
            time_short(&e.timestamp),
            text_n(&error_text(&e.outputs).unwrap_or_default(), 600)
        );
    } else if let Some(e) = run.last(AuditAction::SeedCompleted) {
        let n = total(e.outputs.get("rows"));
        let _ = writeln!(
            out,
            "<p><span class=\"badge t-ok\">\u{2713} committed</span> {} written in one transaction at {}, request <code>{}</code>.</p>",
            n.map_or_else(|| "Rows".to_owned(), |n| plural(n, "row", "rows")),
            time_short(&e.timestamp),
            or_none(str_at(&e.outputs, &["request_id"]).or_else(|| run.request_id()))
        );
        if let Some(r) = run
            .reset_outcome()
            .filter(|r| r.action == AuditAction::ResetCompleted)
        {
            let _ = writeln!(
                out,
                "<p><span class=\"badge t-cleaned\">\u{2713} cleaned</span> These rows were deleted by the reset at {} (see Reset).</p>",
                time_short(&r.timestamp)
            );
        } else if let Some(l) = str_at(&e.outputs, &["lease_expires_at"]) {
            let _ = writeln!(
                out,
                "<p>The rows are still present. Lease ends at <code>{}</code>; after that the engine reaps the run.</p>",
                text(&l)
            );
        }
        let start = out.len();
        if let Some(rows) = e.outputs.get("rows") {
            out.push_str("<h3>Rows written per table</h3>\n");
            counts_table(
                out,
                rows,
                &run.table_order(),
                "table",
                "rows",
                RECORDS_BUDGET / 2,
            );
        }
        out.push_str("<h3>Seeded entities</h3>\n");
        match e.outputs.get("data") {
            Some(d) if d.as_object().is_some_and(|m| !m.is_empty()) => {
                let b = RECORDS_BUDGET.saturating_sub(out.len() - start);
                facts_list(out, d, b);
            }
            _ => why(out, "No entity keys were recorded."),
        }
    } else if run.any(AuditAction::PlanRejected) {
        why(
            out,
            &format!("No rows were written: {}.", esc(&run.rejection())),
        );
    } else if run.dry_run() {
        why(
            out,
            "No rows were written: this was a dry run (<code>Engine::plan</code>), which plans and validates without writing.",
        );
    } else if let Some(s) = started {
        why(
            out,
            &format!(
                "The seed began at {} but no outcome was recorded; a transaction that never commits rolls back, so nothing should be left.",
                time_short(&s.timestamp)
            ),
        );
    } else {
        why(
            out,
            &format!(
                "No rows were written: the trail ends with {} before any seed.",
                run.events.last().map_or("nothing", |e| e.action.as_str())
            ),
        );
    }
    out.push_str("</section>\n");
}

pub(super) fn fixtures(out: &mut String, run: &Run<'_>) {
    section_open(out, "fixtures", "Fixtures");
    if no_events(out, run, "no fixture file") || strategy_note(out, run, "no fixture files") {
        out.push_str("</section>\n");
        return;
    }
    let asked: Vec<&str> = run
        .request()
        .map(|i| {
            [
                ("playwright", "Playwright JSON"),
                ("pytest", "pytest module"),
            ]
            .into_iter()
            .filter(|(k, _)| i.get(*k).and_then(Json::as_bool) == Some(true))
            .map(|(_, name)| name)
            .collect()
        })
        .unwrap_or_default();
    let emitted: Vec<&AuditEvent> = run
        .events
        .iter()
        .filter(|e| e.action == AuditAction::FixturesEmitted)
        .collect();
    if emitted.is_empty() {
        let reason = if run.any(AuditAction::PlanRejected) {
            format!(
                "No fixture files: {}, so nothing was seeded.",
                esc(&run.rejection())
            )
        } else if run.any(AuditAction::SeedFailed) {
            "No fixture files: the seed rolled back, so nothing was seeded.".to_owned()
        } else if run.dry_run() {
            "No fixture files: this was a dry run (<code>Engine::plan</code>), which plans and validates without writing.".to_owned()
        } else if asked.is_empty() {
            if run.request().is_some() {
                "No fixture files were asked for (the request asked for neither a Playwright nor a pytest fixture).".to_owned()
            } else {
                "No fixture files were recorded.".to_owned()
            }
        } else {
            format!(
                "The request asked for {}, but no fixture files were recorded.",
                asked.join(" and ")
            )
        };
        why(out, &reason);
        out.push_str("</section>\n");
        return;
    }
    if !asked.is_empty() {
        let _ = writeln!(out, "<p>Asked for: {}.</p>", asked.join(" and "));
    }
    let start = out.len();
    for e in emitted {
        if let Some(err) = error_text(&e.outputs) {
            let _ = writeln!(
                out,
                "<div class=\"err\"><p><span class=\"badge t-failed\">! failed</span> Writing the fixture files failed at {}; the rows were seeded. {}</p></div>",
                time_short(&e.timestamp),
                text_n(&err, 600)
            );
            continue;
        }
        let files: Vec<String> = e
            .outputs
            .get("files")
            .and_then(Json::as_array)
            .map(|a| a.iter().map(plain).collect())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<p>{} written at {} (readable by their owner only; they hold the cleanup token):</p>\n<ul>",
            plural(files.len() as u64, "file", "files"),
            time_short(&e.timestamp)
        );
        let b = FIXTURES_BUDGET.saturating_sub(out.len() - start);
        let hidden = fill(
            out,
            b,
            files.len(),
            files
                .iter()
                .map(|f| format!("<li><code>{}</code></li>", text(f))),
        );
        out.push_str("</ul>\n");
        more(out, hidden, "file", "files");
    }
    if let Some(r) = run
        .reset_outcome()
        .filter(|r| r.action == AuditAction::ResetCompleted)
    {
        let _ = writeln!(
            out,
            "<p><span class=\"badge t-cleaned\">\u{2713} removed</span> The reset at {} removed these files with the rows.</p>",
            time_short(&r.timestamp)
        );
    }
    out.push_str("</section>\n");
}

pub(super) fn reset(out: &mut String, run: &Run<'_>) {
    let title = if run.strategy.is_some() {
        "Reset and baselines"
    } else {
        "Reset"
    };
    section_open(out, "reset", title);
    if no_events(out, run, "no reset") {
        out.push_str("</section>\n");
        return;
    }
    let acts: Vec<&AuditEvent> = run
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.action,
                AuditAction::ResetStarted
                    | AuditAction::ResetCompleted
                    | AuditAction::ResetRejected
                    | AuditAction::ResetFailed
                    | AuditAction::SnapshotStarted
                    | AuditAction::SnapshotCompleted
                    | AuditAction::SnapshotFailed
                    | AuditAction::RestoreStarted
                    | AuditAction::RestoreCompleted
                    | AuditAction::RestoreFailed
                    | AuditAction::MaskStarted
                    | AuditAction::MaskCompleted
                    | AuditAction::MaskFailed
            )
        })
        .collect();
    if acts.is_empty() {
        let reason = if run.any(AuditAction::PlanRejected) {
            "Nothing to reset: the plan was rejected, so no rows were written.".to_owned()
        } else if run.any(AuditAction::SeedFailed) {
            "Nothing to reset: the seed rolled back, so no rows were written.".to_owned()
        } else if run.dry_run() {
            "Nothing to reset: this was a dry run (<code>Engine::plan</code>), which plans and validates without writing.".to_owned()
        } else if let Some(e) = run.last(AuditAction::SeedCompleted) {
            format!(
                "Not reset yet: the rows are still in the database. Reset with the run's cleanup token (<code>reset_run</code>){}.",
                str_at(&e.outputs, &["lease_expires_at"])
                    .map(|l| format!(
                        ", or the engine reaps them after the lease ends at <code>{}</code>",
                        text(&l)
                    ))
                    .unwrap_or_default()
            )
        } else {
            "No reset was recorded.".to_owned()
        };
        why(out, &reason);
        out.push_str("</section>\n");
        return;
    }
    out.push_str("<div class=\"scroll\"><table><thead><tr><th>time</th><th>what</th><th>result</th><th>details</th></tr></thead><tbody>");
    let hidden = fill(
        out,
        RESET_BUDGET,
        acts.len(),
        acts.iter().map(|e| {
            let (tone, mark, word) = status_tone(e.status);
            let mut details = String::new();
            match e.action {
                AuditAction::ResetStarted => {
                    let strategy = str_at(&e.inputs, &["strategy"]).unwrap_or_else(|| "not recorded".into());
                    let token = match (
                        e.inputs.get("token_given").and_then(Json::as_bool),
                        e.inputs.get("confirm").and_then(Json::as_bool),
                    ) {
                        (Some(true), _) => "a cleanup token was given",
                        (Some(false), _) => "no cleanup token was given",
                        (None, Some(true)) => "confirmed",
                        (None, Some(false)) => "not confirmed",
                        (None, None) => "token not recorded",
                    };
                    let _ = write!(details, "strategy <code>{}</code>; {token}", text_n(&strategy, CELL_CHARS));
                }
                AuditAction::ResetCompleted => {
                    let st = str_at(&e.outputs, &["status"]).unwrap_or_else(|| "cleaned".into());
                    let _ = write!(
                        details,
                        "<code>{}</code>: {} deleted",
                        text_n(&st, CELL_CHARS),
                        plural(total(e.outputs.get("deleted")).unwrap_or(0), "row", "rows")
                    );
                    if let Some(m) = e.outputs.get("deleted").and_then(Json::as_object) {
                        let parts: Vec<String> = m
                            .iter()
                            .filter(|(_, c)| count_of(c) != Some(0))
                            .take(16)
                            .map(|(t, c)| format!("<span class=\"kv\"><i>{}</i> {}</span>", text_n(t, CELL_CHARS), text_n(&plain(c), CELL_CHARS)))
                            .collect();
                        if !parts.is_empty() {
                            let _ = write!(details, "<br>{}", parts.join(""));
                        }
                    }
                    if let Some(runs) = e.outputs.get("runs").and_then(Json::as_array) {
                        let _ = write!(details, "<br>{} cleaned", plural(runs.len() as u64, "run", "runs"));
                    }
                    if let Some(by) = str_at(&e.inputs, &["strategy_run"]) {
                        let _ = write!(
                            details,
                            "<br>by {} (strategy run <code>{}</code>)",
                            or_none(str_at(&e.inputs, &["strategy"])),
                            text_n(&by, 80)
                        );
                    }
                }
                AuditAction::SnapshotStarted | AuditAction::RestoreStarted => {
                    if let Some(b) = str_at(&e.inputs, &["baseline_id"]).or_else(|| str_at(&e.outputs, &["baseline_id"])) {
                        let _ = write!(details, "baseline <code>{}</code>", text_n(&b, 80));
                    }
                }
                AuditAction::SnapshotCompleted | AuditAction::RestoreCompleted => {
                    let _ = write!(
                        details,
                        "baseline <code>{}</code>: {}",
                        or_none(str_at(&e.outputs, &["baseline_id"])),
                        plural(total(e.outputs.get("rows")).unwrap_or(0), "row", "rows")
                    );
                }
                _ => {
                    details = text_n(&error_text(&e.outputs).unwrap_or_else(|| "no error was recorded".into()), 400);
                }
            }
            format!(
                "<tr><td><time datetime=\"{}\">{}</time></td><td>{}</td><td><span class=\"badge {}\">{mark} {word}</span></td><td>{details}</td></tr>",
                time_attr(&e.timestamp),
                time_long(&e.timestamp),
                action_words(e.action),
                tone.class()
            )
        }),
    );
    if hidden > 0 {
        let _ = write!(
            out,
            "<tr><td colspan=\"4\" class=\"more\">{hidden} more reset events not shown (see the timeline)</td></tr>"
        );
    }
    out.push_str("</tbody></table></div>\n");
    if run.strategy.is_none()
        && run.reset_outcome().is_none()
        && run.any(AuditAction::SeedCompleted)
    {
        why(
            out,
            "No reset has succeeded yet: the rows are still in the database.",
        );
    }
    out.push_str("</section>\n");
}
