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

/// The audit page of a run: a complete, self-contained HTML document (see the [module
/// docs](self)). Pure: the same trail gives the same bytes.
///
/// ```
/// use atdm_core::audit::{AuditTrail, render_html};
///
/// let trail = AuditTrail { run_id: "01KAJ3Q6Z8M9V4T2R1P0N7X5WB".into(), location: "memory://".into(), events: vec![] };
/// let page = render_html(&trail);
/// assert!(page.contains("id=\"timeline\""));
/// assert!(page.contains("Unknown run: no events recorded"));
/// ```
pub fn render_html(trail: &AuditTrail) -> String {
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
table{border-collapse:collapse;font-size:13px;margin:4px 0 8px}
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
        AuditAction::ToolCalled => "Tool called",
    }
}

// ---------------------------------------------------------------------------------------
// Text helpers

/// HTML-escapes text; control characters other than newline and tab become U+FFFD.
fn esc(s: &str) -> String {
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

struct Run<'a> {
    trail: &'a AuditTrail,
    events: &'a [AuditEvent],
    /// `Some(name)` for a strategy run (`strategy-<name>-<ULID>`, or a trail of baseline
    /// actions only).
    strategy: Option<String>,
}

struct Verdict {
    tone: Tone,
    words: String,
    detail: String,
}

impl<'a> Run<'a> {
    fn new(trail: &'a AuditTrail) -> Self {
        let events = trail.events.as_slice();
        let strategy = trail
            .run_id
            .strip_prefix("strategy-")
            .map(|rest| match rest.rsplit_once('-') {
                Some((name, _)) => name.to_owned(),
                None => rest.to_owned(),
            })
            .or_else(|| {
                let baseline = events.iter().any(|e| {
                    matches!(
                        e.action,
                        AuditAction::SnapshotStarted
                            | AuditAction::SnapshotCompleted
                            | AuditAction::SnapshotFailed
                            | AuditAction::RestoreStarted
                            | AuditAction::RestoreCompleted
                            | AuditAction::RestoreFailed
                    )
                });
                let requested = events.iter().any(|e| {
                    matches!(
                        e.action,
                        AuditAction::RequestReceived | AuditAction::SeedCompleted
                    )
                });
                (baseline && !requested).then(|| "baseline".to_owned())
            });
        Run {
            trail,
            events,
            strategy,
        }
    }

    fn first(&self, a: AuditAction) -> Option<&'a AuditEvent> {
        self.events.iter().find(|e| e.action == a)
    }

    fn last(&self, a: AuditAction) -> Option<&'a AuditEvent> {
        self.events.iter().rev().find(|e| e.action == a)
    }

    fn any(&self, a: AuditAction) -> bool {
        self.first(a).is_some()
    }

    fn request(&self) -> Option<&'a Json> {
        self.first(AuditAction::RequestReceived).map(|e| &e.inputs)
    }

    /// A dry run (`Engine::plan`): planned and validated, never meant to be written.
    fn dry_run(&self) -> bool {
        self.request()
            .and_then(|i| i.get("dry_run"))
            .and_then(Json::as_bool)
            == Some(true)
    }

    fn plan(&self) -> Option<&'a Json> {
        self.last(AuditAction::PlanResolved).map(|e| &e.outputs)
    }

    /// The tables of the plan in the order they are written (foreign-key order).
    fn table_order(&self) -> Vec<String> {
        self.plan()
            .and_then(|o| o.get("tables"))
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(|t| str_at(t, &["table"])).collect())
            .unwrap_or_default()
    }

    fn scenario(&self) -> Option<String> {
        self.request()
            .and_then(|i| str_at(i, &["scenario"]))
            .or_else(|| self.plan().and_then(|o| str_at(o, &["scenario"])))
            .or_else(|| {
                self.first(AuditAction::PlanRejected)
                    .and_then(|e| str_at(&e.inputs, &["scenario"]))
            })
    }

    fn request_id(&self) -> Option<String> {
        self.first(AuditAction::RequestReceived)
            .and_then(|e| str_at(&e.outputs, &["request_id"]))
            .or_else(|| {
                self.last(AuditAction::SeedCompleted)
                    .and_then(|e| str_at(&e.outputs, &["request_id"]))
            })
    }

    fn reference_date(&self) -> Option<String> {
        self.plan()
            .and_then(|o| str_at(o, &["reference_date"]))
            .or_else(|| self.request().and_then(|i| str_at(i, &["reference_date"])))
    }

    fn seed(&self) -> Option<String> {
        self.plan()
            .and_then(|o| str_at(o, &["seed"]))
            .or_else(|| self.request().and_then(|i| str_at(i, &["seed"])))
    }

    /// Who acted, in order of first appearance, with the actions they took.
    fn invokers(&self) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for e in self.events {
            if !seen.contains(&e.invoker.as_str()) {
                seen.push(&e.invoker);
            }
        }
        match seen.as_slice() {
            [] => NOT_RECORDED.to_owned(),
            [one] => text(one),
            many => many
                .iter()
                .take(8)
                .map(|who| {
                    let first = self
                        .events
                        .iter()
                        .find(|e| e.invoker == *who)
                        .map(|e| e.action.as_str())
                        .unwrap_or_default();
                    format!("{} <span class=\"none\">(from {first})</span>", text(who))
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The validators that refused the plan, in the order of their failures.
    fn refusing_validators(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Some(e) = self.last(AuditAction::PlanRejected)
            && let Some(failures) = e.outputs.get("failures").and_then(Json::as_array)
        {
            for f in failures {
                if let Some(v) = str_at(f, &["validator"])
                    && !names.contains(&v)
                {
                    names.push(v);
                }
            }
        }
        names
    }

    /// The failures of the last rejection, as recorded.
    fn failures(&self) -> &'a [Json] {
        self.last(AuditAction::PlanRejected)
            .and_then(|e| e.outputs.get("failures"))
            .and_then(Json::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// Why nothing was written, for a rejected run: "the plan was rejected by V" or "the
    /// request was refused by the planner (CODE)".
    fn rejection(&self) -> String {
        if self.refusing_validators().is_empty() {
            format!("the request was refused by {}", self.rejected_by())
        } else {
            format!("the plan was rejected by {}", self.rejected_by())
        }
    }

    /// Who refused a rejected plan, in words.
    fn rejected_by(&self) -> String {
        let names = self.refusing_validators();
        let code = self
            .last(AuditAction::PlanRejected)
            .and_then(|e| error_code(&e.outputs));
        match (names.is_empty(), code) {
            (true, Some(code)) => format!("the planner ({code})"),
            (true, None) => "the planner".to_owned(),
            (false, _) if names.len() > 3 => format!(
                "{} and {} more validators",
                names[..3].join(", "),
                names.len() - 3
            ),
            (false, _) => names.join(", "),
        }
    }

    /// The last reset outcome (completed or failed), if any.
    fn reset_outcome(&self) -> Option<&'a AuditEvent> {
        self.events.iter().rev().find(|e| {
            matches!(
                e.action,
                AuditAction::ResetCompleted | AuditAction::ResetFailed
            )
        })
    }

    fn verdict(&self) -> Verdict {
        let v = |tone, words: &str, detail: String| Verdict {
            tone,
            words: words.to_owned(),
            detail,
        };
        let Some(last) = self.events.last() else {
            return v(
                Tone::Unknown,
                "Unknown run: no events recorded",
                "The audit store holds no event for this run id. Check the id (see \"How to find a run id\" below) and the store.".into(),
            );
        };
        if let Some(name) = &self.strategy {
            return self.strategy_verdict(name);
        }
        if self.any(AuditAction::PlanRejected) {
            return v(
                Tone::Rejected,
                "Rejected",
                format!(
                    "The request was refused by {}; nothing was written to the database.",
                    self.rejected_by()
                ),
            );
        }
        if self.dry_run() && !self.any(AuditAction::SeedStarted) {
            let passed = self.any(AuditAction::ValidatorsPassed);
            return v(
                if passed { Tone::Ok } else { Tone::Pending },
                if passed {
                    "Dry run: the plan passed, nothing written"
                } else {
                    "Dry run: no decision recorded"
                },
                "A dry run (Engine::plan) plans and validates a request without writing to the database."
                    .to_owned(),
            );
        }
        if let Some(e) = self.last(AuditAction::SeedFailed) {
            return v(
                Tone::Failed,
                "Seed failed and rolled back",
                format!(
                    "The database refused the plan at {}; the transaction rolled back and nothing was written. {}",
                    time_short(&e.timestamp),
                    error_text(&e.outputs).unwrap_or_default()
                ),
            );
        }
        let written = self
            .last(AuditAction::SeedCompleted)
            .and_then(|e| total(e.outputs.get("rows")));
        if let Some(e) = self.reset_outcome() {
            // reset_all records its reset_completed in each run's trail, with no
            // reset_started there: the strategy is then in the event's own inputs.
            let strategy = str_at(&e.inputs, &["strategy"]).or_else(|| {
                self.events
                    .iter()
                    .rev()
                    .find(|x| x.action == AuditAction::ResetStarted && x.timestamp <= e.timestamp)
                    .and_then(|x| str_at(&x.inputs, &["strategy"]))
            });
            if e.action == AuditAction::ResetCompleted {
                let deleted = total(e.outputs.get("deleted")).unwrap_or(0);
                let how = match strategy.as_deref() {
                    Some("reap") => "reaped after its lease ended",
                    Some("reset_all") => "by reset_all",
                    _ => "by reset_run",
                };
                let again = str_at(&e.outputs, &["status"]).as_deref() == Some("already_cleaned");
                return v(
                    Tone::Cleaned,
                    "Cleaned",
                    if again {
                        format!(
                            "The run's rows had already been deleted; the reset at {} found nothing left ({how}).",
                            time_short(&e.timestamp)
                        )
                    } else {
                        format!(
                            "The run's rows were deleted at {} ({how}): {} removed.",
                            time_short(&e.timestamp),
                            plural(deleted, "row", "rows")
                        )
                    },
                );
            }
            return v(
                Tone::Failed,
                "Seeded; reset failed",
                format!(
                    "The reset at {} failed and rolled back, so the rows are still present. {}",
                    time_short(&e.timestamp),
                    error_text(&e.outputs).unwrap_or_default()
                ),
            );
        }
        if let Some(e) = self.last(AuditAction::SeedCompleted) {
            let lease = str_at(&e.outputs, &["lease_expires_at"])
                .map(|l| format!(" Its lease ends at {l}; then the engine reaps it."))
                .unwrap_or_default();
            return v(
                Tone::Ok,
                "Seeded and still present",
                format!(
                    "{} written at {} and not reset yet.{lease}",
                    written.map_or_else(
                        || "The rows were".to_owned(),
                        |n| plural(n, "row was", "rows were")
                    ),
                    time_short(&e.timestamp)
                ),
            );
        }
        if !self.any(AuditAction::RequestReceived)
            && !self.any(AuditAction::SeedStarted)
            && let Some(e) = self.last(AuditAction::ResetRejected)
        {
            return v(
                Tone::Rejected,
                "Reset refused; no seed recorded",
                format!(
                    "No request was recorded for this run id; a reset of it was refused at {}. {}",
                    time_short(&e.timestamp),
                    error_text(&e.outputs).unwrap_or_default()
                ),
            );
        }
        v(
            Tone::Pending,
            "No outcome recorded",
            format!(
                "The trail ends with {} at {}; the process may have stopped before the run finished (an unfinished seed transaction rolls back).",
                last.action.as_str(),
                time_short(&last.timestamp)
            ),
        )
    }

    fn strategy_verdict(&self, name: &str) -> Verdict {
        let v = |tone, words: String, detail: String| Verdict {
            tone,
            words,
            detail,
        };
        let last = self.events.iter().rev().find(|e| {
            !matches!(
                e.action,
                AuditAction::ResetStarted
                    | AuditAction::SnapshotStarted
                    | AuditAction::RestoreStarted
            )
        });
        let Some(e) = last else {
            let first = &self.events[0];
            return v(
                Tone::Pending,
                format!("Strategy {name}: started, no outcome recorded"),
                format!(
                    "{} at {}; no later event was recorded.",
                    action_words(first.action),
                    time_short(&first.timestamp)
                ),
            );
        };
        let when = time_short(&e.timestamp);
        let baseline = str_at(&e.outputs, &["baseline_id"])
            .map(|b| format!("baseline {b}"))
            .unwrap_or_else(|| "the baseline".to_owned());
        let err = error_text(&e.outputs).unwrap_or_default();
        match e.action {
            AuditAction::SnapshotCompleted => v(
                Tone::Ok,
                "Snapshot written".into(),
                format!(
                    "{} was written at {when}: {}.",
                    capitalize(&baseline),
                    plural(total(e.outputs.get("rows")).unwrap_or(0), "row", "rows")
                ),
            ),
            AuditAction::RestoreCompleted => v(
                Tone::Ok,
                "Baseline restored".into(),
                format!(
                    "{} was restored at {when}: {}.",
                    capitalize(&baseline),
                    plural(total(e.outputs.get("rows")).unwrap_or(0), "row", "rows")
                ),
            ),
            AuditAction::SnapshotFailed => v(
                Tone::Failed,
                "Snapshot failed".into(),
                format!("The snapshot failed at {when}. {err}"),
            ),
            AuditAction::RestoreFailed => v(
                Tone::Failed,
                "Restore failed and rolled back".into(),
                format!("The restore failed at {when}; the database is as before. {err}"),
            ),
            AuditAction::ResetCompleted => v(
                Tone::Cleaned,
                format!("Cleaned by {name}"),
                format!(
                    "{name} deleted {} at {when}.",
                    plural(total(e.outputs.get("deleted")).unwrap_or(0), "row", "rows")
                ),
            ),
            AuditAction::ResetRejected => v(
                Tone::Rejected,
                format!("{} refused", capitalize(name)),
                format!("{name} was refused at {when}; nothing was deleted. {err}"),
            ),
            AuditAction::ResetFailed => v(
                Tone::Failed,
                format!("{} failed and rolled back", capitalize(name)),
                format!("{name} failed at {when}; nothing was deleted. {err}"),
            ),
            other => v(
                Tone::Pending,
                format!("Strategy {name}"),
                format!("The last event is {} at {when}.", other.as_str()),
            ),
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Sections

fn section_open(out: &mut String, id: &str, title: &str) {
    let _ = writeln!(
        out,
        "<section id=\"{id}\" aria-labelledby=\"{id}-h\">\n<h2 id=\"{id}-h\">{title}</h2>"
    );
}

fn why(out: &mut String, html: &str) {
    let _ = writeln!(out, "<p class=\"why\">{html}</p>");
}

fn header(out: &mut String, run: &Run<'_>, verdict: &Verdict) {
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

fn summary(out: &mut String, run: &Run<'_>, verdict: &Verdict) {
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
fn reasons(out: &mut String, run: &Run<'_>) {
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
fn steps(out: &mut String, run: &Run<'_>) {
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

fn strategy_note(out: &mut String, run: &Run<'_>, what: &str) -> bool {
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

fn no_events(out: &mut String, run: &Run<'_>, what: &str) -> bool {
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

fn plan(out: &mut String, run: &Run<'_>) {
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
fn preview(out: &mut String, t: &Json, budget: usize) {
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

fn validators(out: &mut String, run: &Run<'_>) {
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

fn records(out: &mut String, run: &Run<'_>) {
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

fn fixtures(out: &mut String, run: &Run<'_>) {
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

fn reset(out: &mut String, run: &Run<'_>) {
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

/// One field of an event (inputs, outputs, tools) in compact form.
fn brief(action: AuditAction, v: &Json) -> Option<String> {
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

fn event_item(e: &AuditEvent, first: &DateTime<Utc>, prev_invoker: Option<&str>) -> String {
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

fn timeline(out: &mut String, run: &Run<'_>) {
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

fn footer(out: &mut String, run: &Run<'_>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AUDIT_SCHEMA_VERSION;
    use serde_json::json;

    const RUN: &str = "01KAJ3Q6Z8M9V4T2R1P0N7X5WB";
    const T0: i64 = 1_780_300_800_000_000;

    fn ev(
        i: i64,
        action: AuditAction,
        status: AuditStatus,
        inputs: Json,
        outputs: Json,
    ) -> AuditEvent {
        AuditEvent {
            event_id: format!("01KAJ3Q6Z8EVENT{i:011}"),
            timestamp: DateTime::<Utc>::from_timestamp_micros(T0 + i * 1_250).unwrap(),
            test_run_id: RUN.into(),
            invoker: "ci".into(),
            action,
            inputs,
            tools_called: json!([]),
            outputs,
            status,
            reviewer_decision: None,
            schema_version: AUDIT_SCHEMA_VERSION,
        }
    }

    fn trail(events: Vec<AuditEvent>) -> AuditTrail {
        AuditTrail {
            run_id: RUN.into(),
            location: format!("file:///srv/atdm/store/audit/dt=2026-06-01/run={RUN}"),
            events,
        }
    }

    fn request(constraints: Json) -> AuditEvent {
        ev(
            0,
            AuditAction::RequestReceived,
            AuditStatus::Ok,
            json!({"scenario": "claim_denial_active_member", "constraints": constraints, "seed": null, "reference_date": "2026-06-01", "playwright": true, "pytest": false}),
            json!({"request_id": "tdr_0123456789ab"}),
        )
    }

    fn plan_event(rows: usize) -> AuditEvent {
        let preview: Vec<Json> = (0..rows.min(20))
            .map(|i| json!([format!("m-{i}"), "Ada", "active", null]))
            .collect();
        ev(
            1,
            AuditAction::PlanResolved,
            AuditStatus::Ok,
            json!({}),
            json!({
                "scenario": "claim_denial_active_member", "seed": "1234567890", "reference_date": "2026-06-01",
                "generator_version": 3, "constraints": {"member_status": "active", "provider_network": "out_of_network"},
                "rows": {"member": rows, "claim": 1},
                "tables": [
                    {"table": "member", "columns": ["member_id", "first_name", "status", "plan_id"], "rows": preview, "total": rows},
                    {"table": "claim", "columns": ["claim_id", "status"], "rows": [["claim-1", "denied"]], "total": 1}
                ]
            }),
        )
    }

    fn validators_event() -> AuditEvent {
        ev(
            2,
            AuditAction::ValidatorsPassed,
            AuditStatus::Ok,
            json!({}),
            json!({"validators": ["healthcare.eligibility_status_matches_member", "healthcare.denial_requires_invalid_code"]}),
        )
    }

    fn seeded_trail() -> Vec<AuditEvent> {
        vec![
            request(json!({"member_status": "active"})),
            plan_event(1),
            validators_event(),
            ev(
                3,
                AuditAction::SeedStarted,
                AuditStatus::Ok,
                json!({}),
                json!({"database": "sqlite:///tmp/x/atdm.sqlite", "dialect": "sqlite"}),
            ),
            ev(
                4,
                AuditAction::SeedCompleted,
                AuditStatus::Ok,
                json!({}),
                json!({"request_id": "tdr_0123456789ab", "rows": {"member": 1, "claim": 1}, "data": {"member_id": "m-R", "claim_id": "claim-R"}, "lease_expires_at": "2026-06-01T09:00:00.000000Z"}),
            ),
            ev(
                5,
                AuditAction::FixturesEmitted,
                AuditStatus::Ok,
                json!({}),
                json!({"files": ["/tmp/fx/claim_denial_active_member_R.json"]}),
            ),
        ]
    }

    fn cleaned_trail() -> Vec<AuditEvent> {
        let mut t = seeded_trail();
        t.push(ev(
            6,
            AuditAction::ResetStarted,
            AuditStatus::Ok,
            json!({"run_id": RUN, "strategy": "reset_run", "token_given": true}),
            json!({}),
        ));
        t.push(ev(
            7,
            AuditAction::ResetCompleted,
            AuditStatus::Cleaned,
            json!({}),
            json!({"status": "cleaned", "deleted": {"member": 1, "claim": 1, "plan": 0}}),
        ));
        t
    }

    const SECTIONS: [&str; 7] = [
        "summary",
        "plan",
        "validators",
        "records",
        "fixtures",
        "reset",
        "timeline",
    ];

    fn assert_sections(page: &str) {
        for id in SECTIONS {
            assert_eq!(
                page.matches(&format!("<section id=\"{id}\"")).count(),
                1,
                "section {id}"
            );
        }
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.len() < PAGE_LIMIT, "{} bytes", page.len());
    }

    /// The page loads nothing: no URL a browser would fetch, no script, no external style.
    fn assert_self_contained(page: &str) {
        for bad in [
            "http://", "https://", "src=", "<script", "<link", "@import", "url(", "<img", "<iframe",
        ] {
            assert!(!page.contains(bad), "the page holds {bad:?}");
        }
    }

    #[test]
    fn a_cleaned_run_shows_every_section_and_what_happened() {
        let page = render_html(&trail(cleaned_trail()));
        assert_sections(&page);
        assert_self_contained(&page);
        for needle in [
            RUN,
            "claim_denial_active_member",
            "tdr_0123456789ab",
            "Cleaned",
            "healthcare.eligibility_status_matches_member",
            "healthcare.denial_requires_invalid_code",
            "m-R",
            "claim-R",
            "claim_denial_active_member_R.json",
            "reset_run",
            "2 rows removed",
            "1234567890",
            "2026-06-01",
            "file:///srv/atdm/store/audit/dt=2026-06-01/run=",
            "scenario default",
            "2026-06-01 08:00:00.008750 UTC",
            "+8.8 ms",
        ] {
            assert!(page.contains(needle), "missing {needle:?}");
        }
        // Every event is in the timeline, in order, with its status in words.
        let mut at = 0;
        for e in cleaned_trail() {
            let found = page[at..].find(&format!("<b>{}</b>", e.action.as_str()));
            at += found.unwrap_or_else(|| panic!("{} missing or out of order", e.action.as_str()));
        }
        assert!(page.contains("\u{2713} cleaned</span>"));
    }

    #[test]
    fn a_seeded_run_says_its_rows_are_still_present() {
        let page = render_html(&trail(seeded_trail()));
        assert_sections(&page);
        assert!(page.contains("Seeded and still present"));
        assert!(page.contains("Not reset yet"));
        assert!(page.contains("2026-06-01T09:00:00.000000Z"));
    }

    #[test]
    fn a_rejected_run_says_who_refused_and_that_nothing_was_written() {
        let page = render_html(&trail(vec![
            request(json!({"member_status": "inactive"})),
            plan_event(1),
            ev(
                2,
                AuditAction::PlanRejected,
                AuditStatus::Rejected,
                json!({}),
                json!({
                    "error": {"code": "VALIDATOR_REJECTED", "message": "1 validator failure"},
                    "failures": [{"validator": "healthcare.eligibility_status_matches_member", "message": "an inactive member has active eligibility", "values": {"member_status": "inactive"}}]
                }),
            ),
        ]));
        assert_sections(&page);
        assert_self_contained(&page);
        assert!(page.contains("<strong>Rejected</strong>"));
        assert!(page.contains("No rows were written: the plan was rejected by healthcare.eligibility_status_matches_member."));
        assert!(page.contains("an inactive member has active eligibility"));
        assert!(page.contains("VALIDATOR_REJECTED"));
        assert!(page.contains("Nothing to reset"));
        assert!(page.contains("No fixture files: the plan was rejected"));

        // The planner refusing (no failures, no plan) reads differently.
        let page = render_html(&trail(vec![
            request(json!({"member_status": "zombie"})),
            ev(
                1,
                AuditAction::PlanRejected,
                AuditStatus::Rejected,
                json!({}),
                json!({"error": {"code": "INVALID_CONSTRAINT", "message": "member_status must be one of 'active', 'inactive'"}, "failures": []}),
            ),
        ]));
        assert_sections(&page);
        assert!(page.contains("refused by the planner (INVALID_CONSTRAINT)"));
        assert!(page.contains("before any validator ran"));
        assert!(page.contains("member_status must be one of &#39;active&#39;, &#39;inactive&#39;"));
        assert!(page.contains("zombie"));
    }

    #[test]
    fn an_unknown_run_says_so_and_how_to_find_run_ids() {
        let page = render_html(&trail(Vec::new()));
        assert_sections(&page);
        assert_self_contained(&page);
        assert!(page.contains("Unknown run: no events recorded"));
        assert!(page.contains("How to find a run id"));
        assert!(page.contains(RUN));
        assert_eq!(
            page.matches("class=\"why\"").count(),
            6,
            "every other section says why it is empty"
        );
    }

    #[test]
    fn a_failed_seed_and_strategy_runs_render_sensibly() {
        let page = render_html(&trail(vec![
            request(json!({})),
            plan_event(1),
            validators_event(),
            ev(
                3,
                AuditAction::SeedStarted,
                AuditStatus::Ok,
                json!({}),
                json!({"database": "postgres://postgres@127.0.0.1:5432/t", "dialect": "postgres"}),
            ),
            ev(
                4,
                AuditAction::SeedFailed,
                AuditStatus::RolledBack,
                json!({}),
                json!({"error": {"code": "SEED_FAILED", "message": "no_forbidden: refused"}}),
            ),
        ]));
        assert_sections(&page);
        assert!(page.contains("Seed failed and rolled back"));
        assert!(page.contains("SEED_FAILED: no_forbidden: refused"));
        assert!(page.contains("\u{21BA} rolled back"));

        let mut t = trail(vec![
            ev(
                0,
                AuditAction::ResetStarted,
                AuditStatus::Ok,
                json!({"strategy": "reset_all", "token_given": false}),
                json!({}),
            ),
            ev(
                1,
                AuditAction::ResetCompleted,
                AuditStatus::Cleaned,
                json!({}),
                json!({"status": "cleaned", "runs": ["A", "B"], "deleted": {"member": 2, "claim": 3}}),
            ),
        ]);
        t.run_id = format!("strategy-reset_all-{RUN}");
        let page = render_html(&t);
        assert_sections(&page);
        assert!(page.contains("Cleaned by reset_all"));
        assert!(page.contains("reset_all deleted 5 rows"));
        assert!(page.contains("2 runs cleaned"));
        assert!(page.contains("This is a strategy run (reset_all)"));

        let mut t = trail(vec![
            ev(
                0,
                AuditAction::SnapshotStarted,
                AuditStatus::Ok,
                json!({}),
                json!({}),
            ),
            ev(
                1,
                AuditAction::SnapshotCompleted,
                AuditStatus::Ok,
                json!({}),
                json!({"baseline_id": "nightly", "rows": {"member": 4}}),
            ),
        ]);
        t.run_id = format!("strategy-snapshot-{RUN}");
        let page = render_html(&t);
        assert_sections(&page);
        assert!(page.contains("Snapshot written"));
        assert!(page.contains("Baseline nightly was written"));
        assert!(page.contains("Reset and baselines"));
    }

    #[test]
    fn values_show_as_text_never_as_markup() {
        let evil = "<script>alert('x')</script>";
        let mut events = seeded_trail();
        events[0] = request(
            json!({evil: evil, "denial_reason": "<img src=x onerror=alert(1)>", "url": "https://evil.example/x.png"}),
        );
        events[4].outputs["data"]["member_id"] = json!("\"><b>bold</b>");
        events[4].invoker = "eve\u{0007}<u>under</u>".into();
        let mut t = trail(events);
        t.run_id = "</title><script>x()</script>".into();
        t.location = "\"><style>body{display:none}</style>".into();
        let page = render_html(&t);
        assert_sections(&page);
        for raw in [
            "<script",
            "<img",
            "<b>bold",
            "<u>",
            "<style>body",
            "</title><",
            "\u{0007}",
        ] {
            assert!(!page.contains(raw), "{raw:?} reached the page unescaped");
        }
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("&quot;&gt;&lt;b&gt;bold&lt;/b&gt;"));
        // A URL in the data is text, not a link: nothing is fetched.
        assert!(page.contains("https://evil.example/x.png"));
        assert!(!page.contains("href=\"http"));
        assert!(!page.contains("src=\"") && !page.contains("src='"));
    }

    #[test]
    fn a_ten_thousand_row_plan_stays_under_the_limit_and_says_what_is_left_out() {
        let mut events = seeded_trail();
        events[1] = plan_event(10_000);
        // And a preview that was never cut by the engine, with very long values.
        let long = "x".repeat(2_000);
        let rows: Vec<Json> = (0..10_000)
            .map(|i| json!([format!("m-{i}"), long, "&".repeat(500)]))
            .collect();
        events[1].outputs["tables"][1] = json!({"table": "claim", "columns": ["claim_id", "note", "amp"], "rows": rows, "total": 10_000});
        let page = render_html(&trail(events));
        assert_sections(&page);
        assert!(
            page.contains("9980 more rows not shown."),
            "the member preview says how many are left out"
        );
        assert!(page.contains("10000 rows"));
        assert!(page.contains("more characters)"));
    }

    #[test]
    fn any_trail_stays_under_the_limit() {
        // Everything large at once: many events, keys, tables, failures, files.
        let big_map: serde_json::Map<String, Json> = (0..2_000)
            .map(|i| {
                (
                    format!("key_{i}_{}", "<".repeat(40)),
                    json!("&".repeat(100)),
                )
            })
            .collect();
        let big = Json::Object(big_map);
        let small: Json = (0..40)
            .map(|i| (format!("k{i}"), json!("<".repeat(100))))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let tables: Vec<Json> = (0..200)
            .map(|t| json!({"table": format!("t{t}"), "columns": (0..60).map(|c| format!("c{c}{}", "\"".repeat(60))).collect::<Vec<_>>(), "rows": (0..30).map(|_| (0..60).map(|_| "<&>".repeat(30)).collect::<Vec<_>>()).collect::<Vec<_>>(), "total": 1_000_000}))
            .collect();
        let failures: Vec<Json> = (0..3_000).map(|i| json!({"validator": format!("v{i}"), "message": "'".repeat(400), "values": small.clone()})).collect();
        let mut events = vec![
            request(big.clone()),
            ev(
                1,
                AuditAction::PlanResolved,
                AuditStatus::Ok,
                big.clone(),
                json!({"constraints": big, "rows": big, "tables": tables}),
            ),
            ev(
                2,
                AuditAction::ValidatorsPassed,
                AuditStatus::Ok,
                json!({}),
                json!({"validators": (0..5_000).map(|i| format!("validator.{i}{}", "<".repeat(100))).collect::<Vec<_>>()}),
            ),
            ev(
                3,
                AuditAction::PlanRejected,
                AuditStatus::Rejected,
                json!({}),
                json!({"error": {"code": "&".repeat(9_000), "message": "<".repeat(90_000)}, "failures": failures}),
            ),
            ev(
                4,
                AuditAction::SeedCompleted,
                AuditStatus::Ok,
                json!({}),
                json!({"rows": big, "data": big}),
            ),
            ev(
                5,
                AuditAction::FixturesEmitted,
                AuditStatus::Ok,
                json!({}),
                json!({"files": (0..5_000).map(|i| format!("/tmp/{i}{}", "&".repeat(300))).collect::<Vec<_>>()}),
            ),
        ];
        for i in 0..3_000 {
            events.push(ev(
                6 + i,
                AuditAction::ResetRejected,
                AuditStatus::Forbidden,
                small.clone(),
                json!({"error": {"code": "TOKEN_MISMATCH", "message": "<".repeat(2_000)}}),
            ));
        }
        let page = render_html(&trail(events));
        assert_sections(&page);
        assert!(page.contains("more events not shown here"));
        assert!(page.contains("more reset events not shown"));
        assert!(page.contains("more failures not shown"));
        assert!(page.contains("more files not shown."));
    }

    #[test]
    fn dry_runs_engine_markers_and_reset_all_read_well() {
        // A dry run (Engine::plan) passes without writing: not "no outcome".
        let mut req = request(json!({}));
        req.inputs["dry_run"] = json!(true);
        let page = render_html(&trail(vec![req, plan_event(1), validators_event()]));
        assert_sections(&page);
        assert!(page.contains("Dry run: the plan passed, nothing written"));
        assert!(page.contains("No rows were written: this was a dry run"));

        // Cells the engine marks (a database default, a reference to a planned row).
        let mut p = plan_event(1);
        p.outputs["tables"][0]["rows"][0][0] = json!({"default": true});
        p.outputs["tables"][0]["rows"][0][3] = json!({"ref": "plan[0].plan_id"});
        let page = render_html(&trail(vec![request(json!({})), p]));
        assert!(page.contains("<td class=\"null\">database default</td>"));
        assert!(page.contains("<td class=\"null\">\u{2192} plan[0].plan_id</td>"));
        assert!(page.contains("No outcome recorded"));

        // reset_all cleans a run with a reset_completed in the run's own trail only.
        let mut events = seeded_trail();
        events.push(ev(
            9,
            AuditAction::ResetCompleted,
            AuditStatus::Cleaned,
            json!({"strategy": "reset_all", "strategy_run": "strategy-reset_all-01KAJ"}),
            json!({"status": "cleaned", "deleted": {"member": 1}}),
        ));
        let page = render_html(&trail(events));
        assert!(page.contains("(by reset_all): 1 row removed."));
        assert!(page.contains("strategy run <code>strategy-reset_all-01KAJ</code>"));

        // A failed snapshot whose outputs hold the error at the top.
        let mut t = trail(vec![ev(
            0,
            AuditAction::SnapshotFailed,
            AuditStatus::Failed,
            json!({"baseline_id": "b1"}),
            json!({"code": "BASELINE_EXISTS", "message": "baseline b1 exists"}),
        )]);
        t.run_id = format!("strategy-snapshot-{RUN}");
        let page = render_html(&t);
        assert!(page.contains("Snapshot failed"));
        assert!(page.contains("BASELINE_EXISTS: baseline b1 exists"));
    }

    #[test]
    fn the_same_trail_renders_the_same_bytes() {
        let t = trail(cleaned_trail());
        let a = render_html(&t);
        let b = render_html(&t.clone());
        assert_eq!(a, b);
        // And through JSON and back, as a program would hand it over.
        let back: AuditTrail = serde_json::from_str(&t.to_json()).unwrap();
        assert_eq!(render_html(&back), a);
    }

    #[test]
    fn events_with_missing_or_odd_fields_never_panic() {
        let odd = [
            json!(null),
            json!("text"),
            json!(42),
            json!([1, 2]),
            json!({"rows": "many", "tables": "none", "files": {"a": 1}, "validators": 3, "error": 7, "failures": [1, null], "deleted": [1], "data": []}),
        ];
        let actions = [
            AuditAction::RequestReceived,
            AuditAction::PlanResolved,
            AuditAction::ValidatorsPassed,
            AuditAction::PlanRejected,
            AuditAction::SeedStarted,
            AuditAction::SeedCompleted,
            AuditAction::SeedFailed,
            AuditAction::FixturesEmitted,
            AuditAction::ResetRejected,
            AuditAction::ResetStarted,
            AuditAction::ResetCompleted,
            AuditAction::ResetFailed,
            AuditAction::SnapshotStarted,
            AuditAction::SnapshotCompleted,
            AuditAction::SnapshotFailed,
            AuditAction::RestoreStarted,
            AuditAction::RestoreCompleted,
            AuditAction::RestoreFailed,
            AuditAction::ToolCalled,
        ];
        for v in &odd {
            for a in actions {
                let e = ev(0, a, AuditStatus::Failed, v.clone(), v.clone());
                // Alone, after a full run, and with a strategy id.
                let mut full = cleaned_trail();
                full.push(e.clone());
                for mut t in [trail(vec![e.clone()]), trail(full)] {
                    assert_sections(&render_html(&t));
                    t.run_id = "strategy-".into();
                    assert_sections(&render_html(&t));
                }
            }
        }
    }
}
