//! The plan and the validator decisions.

use super::*;

pub(super) fn plan(out: &mut String, run: &Run<'_>) {
    section_open(out, "plan", "Plan");
    if no_events(out, run, "no plan") || strategy_note(out, run, "no plan") {
        out.push_str("</section>\n");
        return;
    }
    let start = out.len();
    let budget = |out: &String| PLAN_BUDGET.saturating_sub(out.len() - start);
    let requested = run.request().and_then(|i| i.get("constraints"));
    let resolved = run.plan().and_then(|o| o.get("constraints"));
    let mut knobs: BTreeSet<&str> = BTreeSet::new();
    for m in [requested, resolved]
        .into_iter()
        .flatten()
        .filter_map(Json::as_object)
    {
        knobs.extend(m.keys().map(String::as_str));
    }
    if let Some(i) = run.request() {
        let flag = |k: &str| match i.get(k).and_then(Json::as_bool) {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not recorded",
        };
        let _ = writeln!(
            out,
            "<p>Asked for: seed {}; reference date {}; Playwright fixture: {}; pytest fixture: {}.</p>",
            str_at(i, &["seed"]).map_or_else(
                || "derived from the run id (none given)".to_owned(),
                |s| format!("<code>{}</code>", text(&s))
            ),
            str_at(i, &["reference_date"]).map_or_else(
                || "the engine's (none given)".to_owned(),
                |s| format!("<code>{}</code>", text(&s))
            ),
            flag("playwright"),
            flag("pytest"),
        );
    }
    out.push_str("<h3>Constraints</h3>\n");
    if knobs.is_empty() {
        why(
            out,
            if resolved.is_some() {
                "The scenario has no knobs; nothing to choose."
            } else {
                "No constraints were recorded."
            },
        );
    } else {
        out.push_str("<div class=\"scroll\"><table><thead><tr><th>knob</th><th>value used</th><th>source</th></tr></thead><tbody>");
        let b = budget(out) / 3;
        let hidden = fill(
            out,
            b,
            knobs.len(),
            knobs.iter().map(|k| {
                let asked = requested.and_then(|m| m.get(*k));
                let used = resolved.and_then(|m| m.get(*k));
                let source = match (asked, used) {
                    (Some(a), Some(u)) if a == u => "requested".to_owned(),
                    (Some(a), Some(_)) => {
                        format!("requested <code>{}</code>", text_n(&plain(a), CELL_CHARS))
                    }
                    (Some(_), None) => "requested (not in the plan)".to_owned(),
                    (None, _) => "scenario default".to_owned(),
                };
                let value = used.or(asked).map(plain).unwrap_or_default();
                format!(
                    "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{source}</td></tr>",
                    text_n(k, CELL_CHARS),
                    text_n(&value, 120)
                )
            }),
        );
        if hidden > 0 {
            let _ = write!(
                out,
                "<tr><td colspan=\"3\" class=\"more\">{hidden} more knobs not shown</td></tr>"
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    let Some(p) = run.plan() else {
        let reason = if run.any(AuditAction::PlanRejected) {
            format!(
                "No plan was made: the request was refused by {} before planning finished.",
                esc(&run.rejected_by())
            )
        } else {
            "No plan was recorded: the trail has no plan_resolved event.".to_owned()
        };
        why(out, &reason);
        out.push_str("</section>\n");
        return;
    };
    out.push_str("<h3>Rows per table</h3>\n");
    match p.get("rows") {
        Some(rows) => {
            let b = budget(out) / 3;
            counts_table(out, rows, &run.table_order(), "table", "rows", b);
        }
        None => why(out, "Row counts were not recorded."),
    }
    let tables = p.get("tables").and_then(Json::as_array);
    match tables {
        Some(tables) if !tables.is_empty() => {
            out.push_str("<h3>Planned rows</h3>\n");
            let _ = writeln!(
                out,
                "<p class=\"none\">The first rows of each table as planned (at most {PREVIEW_ROWS} per table; a value the database assigns shows as \"database default\", a reference to another planned row as \"\u{2192} table[row].column\").</p>"
            );
            let mut hidden_tables = 0;
            for (i, t) in tables.iter().enumerate() {
                let left = budget(out);
                if left < 600 {
                    hidden_tables = tables.len() - i;
                    break;
                }
                preview(out, t, left.min(PLAN_BUDGET / 3).saturating_sub(200));
            }
            more(out, hidden_tables, "table", "tables");
        }
        _ => why(out, "No row preview was recorded."),
    }
    out.push_str("</section>\n");
}

/// One table of the plan preview: `{table, columns, rows, total}`.
pub(super) fn preview(out: &mut String, t: &Json, budget: usize) {
    let name = str_at(t, &["table"]).unwrap_or_else(|| "(unnamed table)".into());
    let columns: Vec<String> = t
        .get("columns")
        .and_then(Json::as_array)
        .map(|a| a.iter().map(plain).collect())
        .unwrap_or_default();
    let rows: &[Json] = t
        .get("rows")
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice);
    let all = t
        .get("total")
        .and_then(count_of)
        .unwrap_or(rows.len() as u64);
    let _ = writeln!(
        out,
        "<h3><code>{}</code> <span class=\"none\">{}</span></h3>",
        text_n(&name, 80),
        plural(all, "row", "rows")
    );
    let width = columns.len().max(
        rows.iter()
            .filter_map(Json::as_array)
            .map(Vec::len)
            .max()
            .unwrap_or(0),
    );
    let shown_cols = width.min(PREVIEW_COLUMNS);
    out.push_str("<div class=\"scroll\"><table><thead><tr>");
    for c in 0..shown_cols {
        let _ = write!(
            out,
            "<th>{}</th>",
            columns
                .get(c)
                .map_or_else(|| format!("column {}", c + 1), |n| text_n(n, CELL_CHARS))
        );
    }
    if width > shown_cols {
        let _ = write!(
            out,
            "<th class=\"more\">{} more columns</th>",
            width - shown_cols
        );
    }
    out.push_str("</tr></thead><tbody>");
    let take = rows.len().min(PREVIEW_ROWS);
    let hidden_here = fill(
        out,
        budget,
        take,
        rows.iter().take(take).map(|r| {
            let mut tr = String::from("<tr>");
            let cells: &[Json] = r.as_array().map_or(&[], Vec::as_slice);
            for c in 0..shown_cols {
                match cells.get(c) {
                    None | Some(Json::Null) => tr.push_str("<td class=\"null\">NULL</td>"),
                    // The engine's markers for cells it does not know yet.
                    Some(Json::Object(m)) if m.get("default") == Some(&Json::Bool(true)) => {
                        tr.push_str("<td class=\"null\">database default</td>");
                    }
                    Some(Json::Object(m))
                        if m.len() == 1 && m.get("ref").is_some_and(Json::is_string) =>
                    {
                        let _ = write!(
                            tr,
                            "<td class=\"null\">\u{2192} {}</td>",
                            text_n(&plain(&m["ref"]), CELL_CHARS)
                        );
                    }
                    Some(v) => {
                        let _ = write!(tr, "<td>{}</td>", text_n(&plain(v), CELL_CHARS));
                    }
                }
            }
            if width > shown_cols {
                tr.push_str("<td class=\"more\">\u{2026}</td>");
            }
            tr.push_str("</tr>");
            tr
        }),
    );
    out.push_str("</tbody></table></div>\n");
    let shown = (take - hidden_here) as u64;
    if all > shown {
        let _ = writeln!(
            out,
            "<p class=\"more\">{} more {} not shown.</p>",
            all - shown,
            if all - shown == 1 { "row" } else { "rows" }
        );
    }
}

pub(super) fn validators(out: &mut String, run: &Run<'_>) {
    section_open(out, "validators", "Validator decisions");
    if no_events(out, run, "no validator decision") || strategy_note(out, run, "no validators") {
        out.push_str("</section>\n");
        return;
    }
    let start = out.len();
    if let Some(e) = run.last(AuditAction::ValidatorsPassed) {
        let names: Vec<String> = e
            .outputs
            .get("validators")
            .and_then(Json::as_array)
            .map(|a| a.iter().map(plain).collect())
            .unwrap_or_default();
        if names.is_empty() {
            let _ = writeln!(
                out,
                "<p><span class=\"badge t-ok\">\u{2713} passed</span> The plan passed the gate at {} (the validator names were not recorded).</p>",
                time_short(&e.timestamp)
            );
        } else {
            let _ = writeln!(
                out,
                "<p><span class=\"badge t-ok\">\u{2713} all passed</span> {} ran in this order at {} and accepted the plan:</p>\n<ol class=\"checks\">",
                plural(names.len() as u64, "validator", "validators"),
                time_short(&e.timestamp)
            );
            let hidden = fill(
                out,
                VALIDATORS_BUDGET,
                names.len(),
                names.iter().map(|n| {
                    format!("<li><code>{}</code> <span class=\"badge t-ok\">\u{2713} passed</span></li>", text_n(n, 120))
                }),
            );
            out.push_str("</ol>\n");
            more(out, hidden, "validator", "validators");
        }
    }
    if let Some(e) = run.last(AuditAction::PlanRejected) {
        let failures: &[Json] = e
            .outputs
            .get("failures")
            .and_then(Json::as_array)
            .map_or(&[], Vec::as_slice);
        let err = error_text(&e.outputs).unwrap_or_else(|| "no error was recorded".into());
        let _ = writeln!(
            out,
            "<div class=\"err rej\"><p><span class=\"badge t-rejected\">\u{2717} rejected</span> at {}: {}</p></div>",
            time_short(&e.timestamp),
            text_n(&err, 600)
        );
        if failures.is_empty() {
            why(
                out,
                "The planner refused the request before any validator ran (for example, a constraint value the scenario does not allow), so there are no validator failures.",
            );
        } else {
            let _ = writeln!(
                out,
                "<p>{} (all failures are reported together, in the order the validators ran):</p>",
                plural(failures.len() as u64, "failure", "failures")
            );
            out.push_str("<div class=\"scroll\"><table><thead><tr><th>#</th><th>validator</th><th>what is wrong</th><th>values</th></tr></thead><tbody>");
            let b = VALIDATORS_BUDGET.saturating_sub(out.len() - start);
            let hidden = fill(
                out,
                b,
                failures.len(),
                failures.iter().enumerate().map(|(i, f)| {
                    let values = match f.get("values").and_then(Json::as_object) {
                        Some(m) if !m.is_empty() => m
                            .iter()
                            .take(8)
                            .map(|(k, v)| {
                                format!(
                                    "<span class=\"kv\"><i>{}</i> <code>{}</code></span>",
                                    text_n(k, CELL_CHARS),
                                    text_n(&plain(v), CELL_CHARS)
                                )
                            })
                            .collect::<String>(),
                        _ => String::new(),
                    };
                    format!(
                        "<tr><td class=\"n\">{}</td><td><code>{}</code></td><td>{}</td><td>{values}</td></tr>",
                        i + 1,
                        or_none(str_at(f, &["validator"])),
                        or_none(str_at(f, &["message"]))
                    )
                }),
            );
            if hidden > 0 {
                let _ = write!(
                    out,
                    "<tr><td colspan=\"4\" class=\"more\">{hidden} more failures not shown</td></tr>"
                );
            }
            out.push_str("</tbody></table></div>\n");
        }
    }
    if !run.any(AuditAction::ValidatorsPassed) && !run.any(AuditAction::PlanRejected) {
        why(
            out,
            &format!(
                "No validator decision was recorded: the trail ends with {} before the validator gate.",
                run.events.last().map_or("nothing", |e| e.action.as_str())
            ),
        );
    }
    out.push_str("</section>\n");
}
