//! The timeline of every event, and the footer.

use super::*;

/// One field of an event (inputs, outputs, tools) in compact form.
pub(super) fn brief(action: AuditAction, v: &Json) -> Option<String> {
    match v {
        Json::Null => None,
        Json::Object(m) if m.is_empty() => None,
        Json::Array(a) if a.is_empty() => None,
        Json::Object(m) => {
            let mut s = String::new();
            let mut shown = 0;
            for (k, x) in m {
                let value = if action == AuditAction::PlanResolved && k == "tables" {
                    format!(
                        "{} previewed under Plan",
                        plural(x.as_array().map_or(0, Vec::len) as u64, "table", "tables")
                    )
                } else {
                    format!(
                        "<code>{}</code>",
                        text_n(&json_clip(x, JSON_CHARS), JSON_CHARS + 4)
                    )
                };
                let item = format!(
                    "<span class=\"kv\"><i>{}</i> {value}</span>",
                    text_n(k, CELL_CHARS)
                );
                if s.len() + item.len() > FIELD_BYTES {
                    break;
                }
                s.push_str(&item);
                shown += 1;
            }
            if shown < m.len() {
                let _ = write!(
                    s,
                    "<span class=\"more\">{} more keys</span>",
                    m.len() - shown
                );
            }
            Some(s)
        }
        other => Some(format!(
            "<code>{}</code>",
            text_n(&json_clip(other, JSON_CHARS * 2), JSON_CHARS * 2 + 4)
        )),
    }
}

pub(super) fn event_item(
    e: &AuditEvent,
    first: &DateTime<Utc>,
    prev_invoker: Option<&str>,
) -> String {
    let (tone, mark, word) = status_tone(e.status);
    let mut li = String::with_capacity(600);
    let _ = write!(
        li,
        "<li class=\"ev {}\"><div class=\"when\"><time datetime=\"{}\">{}</time><small>{} UTC \u{00B7} {}</small><small class=\"mono\">{}</small></div><div class=\"what\"><b>{}</b><span class=\"badge {}\">{mark} {word}</span>",
        tone.edge(),
        time_attr(&e.timestamp),
        e.timestamp.format("%H:%M:%S%.6f"),
        e.timestamp.format("%Y-%m-%d"),
        elapsed(first, &e.timestamp),
        text_n(&e.event_id, 40),
        e.action.as_str(),
        tone.class()
    );
    if prev_invoker != Some(e.invoker.as_str()) {
        let _ = write!(
            li,
            "<span class=\"by\">by {}</span>",
            text_n(&e.invoker, 80)
        );
    }
    let fields = [
        ("inputs", brief(e.action, &e.inputs)),
        ("outputs", brief(e.action, &e.outputs)),
        ("tools called", brief(e.action, &e.tools_called)),
        (
            "reviewer",
            e.reviewer_decision.as_deref().map(|r| text_n(r, 200)),
        ),
    ];
    if fields.iter().any(|(_, f)| f.is_some()) {
        li.push_str("<dl>");
        for (name, f) in fields {
            if let Some(f) = f {
                let _ = write!(li, "<dt>{name}</dt><dd>{f}</dd>");
            }
        }
        li.push_str("</dl>");
    }
    li.push_str("</div></li>\n");
    li
}

pub(super) fn timeline(out: &mut String, run: &Run<'_>) {
    section_open(out, "timeline", "Timeline");
    let events = run.events;
    let Some(first) = events.first() else {
        why(
            out,
            "No events are recorded for this run id, so the timeline is empty.",
        );
        out.push_str("</section>\n");
        return;
    };
    let _ = writeln!(
        out,
        "<p class=\"none\">Every event in the order it happened; times are UTC, offsets are from the first event. {}</p>",
        plural(events.len() as u64, "event", "events")
    );
    out.push_str("<ol class=\"tl\">\n");
    let prev = |i: usize| (i > 0).then(|| events[i - 1].invoker.as_str());
    // The first events until half the budget, then the last ones in what is left, so the
    // beginning and the end of a very long trail both show.
    let start = out.len();
    let mut head = 0;
    for (i, e) in events.iter().enumerate() {
        let item = event_item(e, &first.timestamp, prev(i));
        if out.len() - start + item.len() > TIMELINE_BUDGET / 2 {
            break;
        }
        out.push_str(&item);
        head += 1;
    }
    if head < events.len() {
        let used = out.len() - start;
        let mut tail: Vec<String> = Vec::new();
        let mut size = 0;
        for i in (head..events.len()).rev() {
            let item = event_item(&events[i], &first.timestamp, prev(i));
            if used + size + item.len() > TIMELINE_BUDGET {
                break;
            }
            size += item.len();
            tail.push(item);
        }
        let hidden = events.len() - head - tail.len();
        if hidden > 0 {
            let _ = writeln!(
                out,
                "<li class=\"more\">{hidden} more events not shown here; read the whole trail as JSON (<code>Engine::audit</code>, or <code>atdm audit &lt;run&gt; -o json</code>) or from the Parquet objects in the store.</li>"
            );
        }
        for item in tail.into_iter().rev() {
            out.push_str(&item);
        }
    }
    out.push_str("</ol>\n</section>\n");
}

pub(super) fn footer(out: &mut String, run: &Run<'_>) {
    let _ = writeln!(
        out,
        "<footer><p>Rendered by ATDM from {} in <code>{}</code>{}. The same trail as JSON: <code>Engine::audit</code> or <code>atdm audit &lt;run&gt; -o json</code>. This page is self-contained and loads nothing from the network.</p></footer>",
        plural(run.events.len() as u64, "audit event", "audit events"),
        text(&run.trail.location),
        run.events
            .last()
            .map(|e| format!("; last event at {}", time_long(&e.timestamp)))
            .unwrap_or_default()
    );
}
