//! The audit page: one self-contained HTML page per run, for people.
//!
//! [`render_html`] turns a run's [`AuditTrail`] into a page that shows what happened to the
//! run at a glance: a summary with the outcome in words, the plan (constraints, rows per
//! table, a preview of the rows), the validator decisions, the records created, the fixture
//! files, the reset, and a timeline of every event.
//!
//! The page:
//!
//! - is **self-contained**: inline CSS, no JavaScript, no fonts, images or other files, so it
//!   makes no network request and can be attached to a CI job or mailed as is;
//! - is **small**: under [`PAGE_LIMIT`] bytes for any trail. Long lists and values are cut,
//!   and the page says how much was left out ("9980 more rows not shown");
//! - has **stable section ids**, present on every page: `summary`, `plan`, `validators`,
//!   `records`, `fixtures`, `reset`, `timeline`. A section with nothing to show says why;
//! - **escapes every value**: constraints, scenario data and error messages come from users
//!   and show as text, never as markup;
//! - is **deterministic**: the same trail gives the same bytes (the only time on the page is
//!   that of the trail's events, never the clock);
//! - reads well in light and dark mode and prints (the timeline keeps one event per block).
//!
//! It renders whatever the trail holds: a key missing from an event's inputs or outputs
//! shows as "not recorded", and a rejected, failed, interrupted, strategy
//! (`strategy-<name>-<ULID>`) or unknown run (no events) gets a page that says so.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value as Json;

use super::{AuditAction, AuditEvent, AuditStatus, AuditTrail};

mod plan;
mod rows;
mod run;
mod summary;
#[cfg(test)]
mod tests;
mod timeline;

use plan::{plan, validators};
use rows::{fixtures, records, reset};
use run::{Run, Verdict};
use summary::{header, no_events, section_open, strategy_note, summary, why};
use timeline::{footer, timeline};

/// No page is larger than this many bytes (100 KB); the budgets below keep every page well
/// under it.
pub const PAGE_LIMIT: usize = 100 * 1024;

/// Rows of one table shown in the plan preview.
const PREVIEW_ROWS: usize = 20;
/// Columns of one table shown in the plan preview.
const PREVIEW_COLUMNS: usize = 16;
/// Characters of one cell in a table.
const CELL_CHARS: usize = 48;
/// Characters of one text value (a message, a path, a fact).
const TEXT_CHARS: usize = 300;
/// Characters of one JSON value in the timeline.
const JSON_CHARS: usize = 160;
/// Bytes of one event field (inputs, outputs, tools) in the timeline.
const FIELD_BYTES: usize = 1_400;

// Bytes of markup each section may use for its lists; the fixed text around them is small.
const SUMMARY_BUDGET: usize = 6_000;
const PLAN_BUDGET: usize = 26_000;
const VALIDATORS_BUDGET: usize = 8_000;
const RECORDS_BUDGET: usize = 6_000;
const FIXTURES_BUDGET: usize = 3_000;
const RESET_BUDGET: usize = 6_000;
const TIMELINE_BUDGET: usize = 22_000;

/// What happened to the run, in the words of the page's headline.
pub(crate) fn outcome(trail: &AuditTrail) -> String {
    Run::new(trail).verdict().words
}

/// The audit page of a run: a complete, self-contained HTML document (see the [module
/// docs](self)). Pure: the same trail gives the same bytes.
///
/// ```
/// use atdm_core::audit::{AuditTrail, render_html};
///
/// let trail = AuditTrail {
///     run_id: "01KAJ3Q6Z8M9V4T2R1P0N7X5WB".into(),
///     location: "memory://".into(),
///     events: vec![],
///     pending: vec![],
/// };
/// let page = render_html(&trail);
/// assert!(page.contains("id=\"timeline\""));
/// assert!(page.contains("Unknown run: no events recorded"));
/// ```
pub fn render_html(trail: &AuditTrail) -> String {
    if trail.pending.is_empty() {
        return render(trail, &[]);
    }
    // Pending events happened: the page tells the run's story with them, and says which
    // ones the store does not hold yet.
    let mut merged = trail.clone();
    let pending = std::mem::take(&mut merged.pending);
    merged.events.extend(pending.iter().cloned());
    merged.events.sort_by_key(|e| e.timestamp);
    render(&merged, &pending)
}

fn render(trail: &AuditTrail, pending: &[AuditEvent]) -> String {
    let run = Run::new(trail);
    let verdict = run.verdict();
    let mut out = String::with_capacity(24 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    let _ = writeln!(
        out,
        "<title>ATDM run {}: {}</title>",
        text(&trail.run_id),
        esc(&verdict.words)
    );
    out.push_str("<style>");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n");
    header(&mut out, &run, &verdict);
    out.push_str("<main>\n");
    if !pending.is_empty() {
        let actions: Vec<&str> = pending.iter().map(|e| e.action.as_str()).collect();
        let _ = writeln!(
            out,
            "<p class=\"notice\" role=\"note\"><strong>{} events are not in the audit store yet</strong> ({}): the database's audit outbox holds them, committed with the action they record, and the next ATDM command that can write to the store moves them there.</p>",
            pending.len(),
            esc(&actions.join(", "))
        );
    }
    summary(&mut out, &run, &verdict);
    plan(&mut out, &run);
    validators(&mut out, &run);
    records(&mut out, &run);
    fixtures(&mut out, &run);
    reset(&mut out, &run);
    timeline(&mut out, &run);
    out.push_str("</main>\n");
    footer(&mut out, &run);
    out.push_str("</body>\n</html>\n");
    out
}

const CSS: &str = r#"
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--card:#f6f8fa;--code:#eff2f5;
--ok:#1a7f37;--okbg:#dafbe1;--cl:#0550ae;--clbg:#ddf4ff;--rej:#9a6700;--rejbg:#fff8c5;--bad:#cf222e;--badbg:#ffebe9;--unk:#59636e;--unkbg:#eaeef2}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--card:#151b23;--code:#1f2630;
--ok:#4ac26b;--okbg:#12361f;--cl:#58a6ff;--clbg:#0c2d5b;--rej:#d29922;--rejbg:#3b2e0a;--bad:#ff7b72;--badbg:#490c11;--unk:#9198a1;--unkbg:#262c36}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 24px}
.notice{margin:16px 0 0;padding:10px 14px;border-left:4px solid var(--rej);background:var(--rejbg)}
header{padding-top:20px}
.kicker{margin:0;color:var(--muted);font-size:13px;letter-spacing:.06em;text-transform:uppercase}
h1{margin:2px 0 10px;font-size:24px;font-weight:600;word-break:break-all}
h2{margin:0 0 10px;font-size:18px}
h3{margin:14px 0 6px;font-size:15px}
code,.mono{font-family:"DejaVu Sans Mono",ui-monospace,Menlo,Consolas,monospace;font-size:13px}
p code,li code,dd code,td code{background:var(--code);padding:0 4px;border-radius:4px}
nav{display:flex;flex-wrap:wrap;gap:4px 14px;margin:10px 0 0;font-size:14px}
nav a{color:var(--cl);text-decoration:none}
section{border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:14px 0;background:var(--bg)}
.verdict{display:flex;gap:14px;align-items:center;border-radius:8px;padding:12px 16px;margin:0 0 12px;border:2px solid}
.verdict .mark{font-size:28px;line-height:1;font-weight:700}
.verdict strong{font-size:20px;display:block}
.verdict p{margin:2px 0 0}
.t-ok{color:var(--ok);background:var(--okbg);border-color:var(--ok)}
.t-cleaned{color:var(--cl);background:var(--clbg);border-color:var(--cl)}
.t-rejected{color:var(--rej);background:var(--rejbg);border-color:var(--rej)}
.t-failed{color:var(--bad);background:var(--badbg);border-color:var(--bad)}
.t-unknown,.t-pending{color:var(--unk);background:var(--unkbg);border-color:var(--unk)}
.verdict p,.verdict span.sub{color:var(--fg)}
.badge{display:inline-block;border:1px solid;border-radius:999px;padding:0 9px;font-size:13px;font-weight:600;white-space:nowrap}
.t-rejected.badge,.t-failed.badge{border-style:dashed}
ol.steps{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;list-style:none;padding:0;margin:0 0 12px}
ol.steps li{min-width:0;overflow-wrap:break-word;border:1px solid var(--line);border-left:5px solid var(--line);border-radius:6px;padding:6px 10px;background:var(--card)}
ol.steps li b{display:block;font-size:14px}
ol.steps li span{font-size:13px;color:var(--muted)}
ol.steps li.s-done{border-left-color:var(--ok)}
ol.steps li.s-fail{border-left-color:var(--bad);border-left-style:double;border-left-width:7px}
ol.steps li.s-skip{border-left-style:dotted}
ol.steps li.s-wait{border-left-color:var(--unk);border-left-style:dashed}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;word-break:break-all}
.none{color:var(--muted);font-style:italic}
.why{border-left:4px solid var(--line);padding:4px 12px;margin:6px 0;color:var(--muted)}
.err{border-left:4px solid var(--bad);background:var(--badbg);padding:6px 12px;margin:6px 0;border-radius:0 6px 6px 0}
.err.rej{border-left-color:var(--rej);background:var(--rejbg)}
.err p{margin:4px 0}.err ul{margin:4px 0;padding-left:22px}
.more{color:var(--muted);font-style:italic;margin:4px 0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:13px;margin:4px 0 8px;display:block;max-width:100%;overflow-x:auto}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--card);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.null{color:var(--muted);font-style:italic}
ol.checks{margin:0;padding-left:26px}
ol.checks li{margin:2px 0}
ol.tl{list-style:none;margin:0;padding:0}
ol.tl li{display:grid;grid-template-columns:190px 1fr;gap:2px 16px;padding:8px 0 8px 12px;margin:0 0 6px;border-left:4px solid var(--line);background:var(--card);border-radius:0 6px 6px 0;break-inside:avoid}
ol.tl li.e-ok{border-left-color:var(--ok)}
ol.tl li.e-cleaned{border-left-color:var(--cl)}
ol.tl li.e-rejected{border-left-color:var(--rej);border-left-style:dashed}
ol.tl li.e-failed{border-left-color:var(--bad);border-left-style:double;border-left-width:7px}
ol.tl li.more{display:block;background:none;border-left-style:dotted}
ol.tl .when time{font-family:"DejaVu Sans Mono",ui-monospace,monospace;font-size:14px;font-weight:600}
ol.tl .when small{display:block;color:var(--muted);font-size:12px}
ol.tl .what b{font-family:"DejaVu Sans Mono",ui-monospace,monospace;font-size:14px;margin-right:8px}
ol.tl .by{color:var(--muted);font-size:13px;margin-left:6px}
ol.tl dl{display:grid;grid-template-columns:max-content 1fr;gap:1px 10px;margin:4px 0 0;font-size:13px}
ol.tl dt{color:var(--muted)}
ol.tl dd{margin:0;word-break:break-word}
.kv{display:inline-block;margin:0 10px 0 0}
.kv i{color:var(--muted);font-style:normal}
footer{color:var(--muted);font-size:13px;padding-bottom:24px}
@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--line:#999;--card:#f2f2f2;--code:#f2f2f2}
nav{display:none}body{font-size:11pt}section{break-inside:auto;border-color:#999}
h2,h3{break-after:avoid}.scroll{overflow:visible}
.scroll table{table-layout:fixed;width:100%;font-size:8pt}th,td{overflow-wrap:anywhere}}
"#;

/// A marker for a tone or status that does not rely on colour: a symbol and a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Ok,
    Cleaned,
    Rejected,
    Failed,
    Unknown,
    Pending,
}

impl Tone {
    /// The class of a timeline entry's edge.
    fn edge(self) -> &'static str {
        match self {
            Tone::Ok => "e-ok",
            Tone::Cleaned => "e-cleaned",
            Tone::Rejected => "e-rejected",
            Tone::Failed => "e-failed",
            Tone::Unknown | Tone::Pending => "e-unknown",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Tone::Ok => "t-ok",
            Tone::Cleaned => "t-cleaned",
            Tone::Rejected => "t-rejected",
            Tone::Failed => "t-failed",
            Tone::Unknown => "t-unknown",
            Tone::Pending => "t-pending",
        }
    }

    fn mark(self) -> &'static str {
        match self {
            Tone::Ok => "\u{25CF}",       // black circle
            Tone::Cleaned => "\u{2713}",  // check mark
            Tone::Rejected => "\u{2717}", // ballot x
            Tone::Failed => "!",
            Tone::Unknown => "?",
            Tone::Pending => "\u{2026}", // ellipsis
        }
    }
}

fn status_tone(s: AuditStatus) -> (Tone, &'static str, &'static str) {
    match s {
        AuditStatus::Ok => (Tone::Ok, "\u{2713}", "ok"),
        AuditStatus::Rejected => (Tone::Rejected, "\u{2717}", "rejected"),
        AuditStatus::RolledBack => (Tone::Failed, "\u{21BA}", "rolled back"),
        AuditStatus::Forbidden => (Tone::Rejected, "\u{2298}", "forbidden"),
        AuditStatus::Cleaned => (Tone::Cleaned, "\u{2713}", "cleaned"),
        AuditStatus::Failed => (Tone::Failed, "!", "failed"),
    }
}

fn action_words(a: AuditAction) -> &'static str {
    match a {
        AuditAction::RequestReceived => "Request received",
        AuditAction::PlanResolved => "Plan resolved",
        AuditAction::ValidatorsPassed => "Validators passed",
        AuditAction::PlanRejected => "Plan rejected",
        AuditAction::SeedStarted => "Seed started",
        AuditAction::SeedCompleted => "Seed committed",
        AuditAction::SeedFailed => "Seed failed, rolled back",
        AuditAction::FixturesEmitted => "Fixture files written",
        AuditAction::ResetRejected => "Reset refused",
        AuditAction::ResetStarted => "Reset started",
        AuditAction::ResetCompleted => "Reset committed",
        AuditAction::ResetFailed => "Reset failed",
        AuditAction::SnapshotStarted => "Snapshot started",
        AuditAction::SnapshotCompleted => "Snapshot written",
        AuditAction::SnapshotFailed => "Snapshot failed",
        AuditAction::RestoreStarted => "Restore started",
        AuditAction::RestoreCompleted => "Restore committed",
        AuditAction::RestoreFailed => "Restore failed",
        AuditAction::MaskStarted => "Masking started",
        AuditAction::MaskCompleted => "Masked copy written",
        AuditAction::MaskFailed => "Masking failed",
        AuditAction::ToolCalled => "Tool called",
    }
}

// ---------------------------------------------------------------------------------------
// Text helpers

/// HTML-escapes text; control characters other than newline and tab become U+FFFD.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\n' | '\t' => o.push(c),
            c if c.is_control() => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// The first `max` characters of `s`, and how many were left out.
fn clip(s: &str, max: usize) -> (&str, usize) {
    match s.char_indices().nth(max) {
        Some((cut, _)) => (&s[..cut], s[cut..].chars().count()),
        None => (s, 0),
    }
}

/// Escaped text, cut to `max` characters with a note of how many more there were.
fn text_n(s: &str, max: usize) -> String {
    let (head, rest) = clip(s, max);
    if rest == 0 {
        esc(head)
    } else {
        format!(
            "{}<span class=\"more\">\u{2026} ({rest} more characters)</span>",
            esc(head)
        )
    }
}

/// Escaped text of at most [`TEXT_CHARS`] characters.
fn text(s: &str) -> String {
    text_n(s, TEXT_CHARS)
}

/// A JSON value as plain text: strings without quotes, everything else as compact JSON.
fn plain(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => json_clip(other, TEXT_CHARS),
    }
}

/// Compact JSON of `v`, at most about `max` characters (a longer one ends in an ellipsis).
fn json_clip(v: &Json, max: usize) -> String {
    fn walk(v: &Json, out: &mut String, max: usize) {
        if out.len() > max {
            return;
        }
        match v {
            Json::String(s) => {
                let (head, rest) = clip(s, max.saturating_sub(out.len()) + 1);
                out.push_str(&serde_json::to_string(head).unwrap_or_default());
                if rest > 0 {
                    out.pop();
                }
            }
            Json::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if out.len() > max {
                        break;
                    }
                    if i > 0 {
                        out.push(',');
                    }
                    walk(x, out, max);
                }
                out.push(']');
            }
            Json::Object(m) => {
                out.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    if out.len() > max {
                        break;
                    }
                    if i > 0 {
                        out.push(',');
                    }
                    let (head, _) = clip(k, max);
                    out.push_str(&serde_json::to_string(head).unwrap_or_default());
                    out.push(':');
                    walk(x, out, max);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    walk(v, &mut out, max);
    let (head, rest) = clip(&out, max);
    if rest == 0 {
        out
    } else {
        format!("{head}\u{2026}")
    }
}

/// `"not recorded"`, in the style of missing values.
const NOT_RECORDED: &str = "<span class=\"none\">not recorded</span>";

/// An optional text as escaped HTML, or "not recorded".
fn or_none(v: Option<String>) -> String {
    match v {
        Some(s) if !s.is_empty() => text(&s),
        _ => NOT_RECORDED.to_owned(),
    }
}

fn time_long(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string()
}

fn time_short(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn time_attr(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A duration between two events, for people.
fn elapsed(from: &DateTime<Utc>, to: &DateTime<Utc>) -> String {
    let us = (*to - *from).num_microseconds().unwrap_or(i64::MAX);
    let sign = if us < 0 { "-" } else { "+" };
    let us = us.unsigned_abs();
    if us < 1_000 {
        format!("{sign}{us} \u{00B5}s")
    } else if us < 1_000_000 {
        format!("{sign}{:.1} ms", us as f64 / 1_000.0)
    } else if us < 120_000_000 {
        format!("{sign}{:.2} s", us as f64 / 1_000_000.0)
    } else {
        let s = us / 1_000_000;
        format!("{sign}{}h {:02}m {:02}s", s / 3600, (s / 60) % 60, s % 60)
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A JSON value at a path of object keys.
fn at<'a>(v: &'a Json, path: &[&str]) -> Option<&'a Json> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn str_at(v: &Json, path: &[&str]) -> Option<String> {
    at(v, path).filter(|v| !v.is_null()).map(plain)
}

fn count_of(v: &Json) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_i64().map(|i| i.max(0).unsigned_abs()))
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// The sum of a `{table: count}` object.
fn total(v: Option<&Json>) -> Option<u64> {
    let m = v?.as_object()?;
    Some(
        m.values()
            .filter_map(count_of)
            .fold(0u64, u64::saturating_add),
    )
}

/// Pushes items while they fit in `budget` bytes (counted from where `out` is now); returns
/// how many were left out.
fn fill<I>(out: &mut String, budget: usize, total: usize, items: I) -> usize
where
    I: IntoIterator<Item = String>,
{
    let start = out.len();
    let mut shown = 0;
    for item in items {
        if out.len() - start + item.len() > budget {
            break;
        }
        out.push_str(&item);
        shown += 1;
    }
    total.saturating_sub(shown)
}

fn more(out: &mut String, hidden: usize, noun_one: &str, noun_many: &str) {
    if hidden > 0 {
        let _ = writeln!(
            out,
            "<p class=\"more\">{} more {} not shown.</p>",
            hidden,
            if hidden == 1 { noun_one } else { noun_many }
        );
    }
}

/// A `{key: count}` object as a two-column table with a total row.
fn counts_table(
    out: &mut String,
    v: &Json,
    order: &[String],
    key_head: &str,
    count_head: &str,
    budget: usize,
) {
    let Some(m) = v.as_object() else {
        let _ = writeln!(
            out,
            "<p><code>{}</code></p>",
            text(&json_clip(v, TEXT_CHARS))
        );
        return;
    };
    let _ = write!(
        out,
        "<div class=\"scroll\"><table><thead><tr><th>{key_head}</th><th class=\"n\">{count_head}</th></tr></thead><tbody>"
    );
    let hidden = fill(
        out,
        budget,
        m.len(),
        ordered(m, order).into_iter().map(|(k, c)| {
            format!(
                "<tr><td><code>{}</code></td><td class=\"n\">{}</td></tr>",
                text_n(k, CELL_CHARS),
                count_of(c).map_or_else(|| text_n(&plain(c), CELL_CHARS), |n| n.to_string())
            )
        }),
    );
    if hidden > 0 {
        let _ = write!(
            out,
            "<tr><td colspan=\"2\" class=\"more\">{hidden} more not shown</td></tr>"
        );
    }
    let sum = total(Some(v)).unwrap_or(0);
    let _ = writeln!(
        out,
        "<tr><th>total</th><th class=\"n\">{sum}</th></tr></tbody></table></div>"
    );
}

/// The entries of an object: the keys named in `order` first, in that order, then the rest.
fn ordered<'a>(
    m: &'a serde_json::Map<String, Json>,
    order: &[String],
) -> Vec<(&'a String, &'a Json)> {
    let mut out: Vec<(&String, &Json)> = order
        .iter()
        .filter_map(|k| m.get_key_value(k.as_str()))
        .collect();
    if out.len() < m.len() {
        let named: BTreeSet<&str> = order.iter().map(String::as_str).collect();
        out.extend(m.iter().filter(|(k, _)| !named.contains(k.as_str())));
    }
    out
}

/// A `{name: value}` object as a definition list.
fn facts_list(out: &mut String, v: &Json, budget: usize) {
    let Some(m) = v.as_object() else {
        let _ = writeln!(
            out,
            "<p><code>{}</code></p>",
            text(&json_clip(v, TEXT_CHARS))
        );
        return;
    };
    out.push_str("<dl class=\"facts\">");
    let hidden = fill(
        out,
        budget,
        m.len(),
        m.iter().map(|(k, x)| {
            format!(
                "<dt>{}</dt><dd><code>{}</code></dd>",
                text_n(k, CELL_CHARS),
                text_n(&plain(x), 120)
            )
        }),
    );
    out.push_str("</dl>\n");
    more(out, hidden, "value", "values");
}

/// The error an event's outputs hold (`{error: {code, message}}`, or `{code, message}` at the
/// top), as `CODE: message`.
fn error_text(v: &Json) -> Option<String> {
    let e = match v.get("error") {
        Some(e) => e,
        None if v.get("code").is_some() || v.get("message").is_some() => v,
        None => return None,
    };
    if let Some(s) = e.as_str() {
        return Some(s.to_owned());
    }
    let code = str_at(e, &["code"]);
    let message = str_at(e, &["message"]);
    match (code, message) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (Some(c), None) => Some(c),
        (None, Some(m)) => Some(m),
        (None, None) => Some(json_clip(e, TEXT_CHARS)),
    }
}

fn error_code(v: &Json) -> Option<String> {
    str_at(v, &["error", "code"]).or_else(|| str_at(v, &["code"]))
}

// ---------------------------------------------------------------------------------------
// The run and what happened to it
