//! Triggers: what a trigger may change, from its timing, events and (where the database keeps
//! it) its body.

use atdm_core::schema::Trigger;

use super::sql_text::skip_non_code;
use super::{Tok, tokens};

/// A trigger as read.
#[derive(Debug, Clone)]
pub(crate) struct RawTrigger {
    pub(crate) name: String,
    /// `before`, `after` or `instead of`.
    pub(crate) timing: String,
    /// `insert`, `update`, `delete`, `truncate`, in that order.
    pub(crate) events: Vec<String>,
    /// Fires once per row (not once per statement).
    pub(crate) row_level: bool,
    /// The body, where the database keeps one that can be read (PL/pgSQL, MySQL, SQLite).
    pub(crate) body: Option<String>,
    /// The table's own name, to tell its updates from writes to other tables.
    pub(crate) table: String,
}

/// What a trigger's body does, as far as its text tells.
#[derive(Debug, Default, PartialEq)]
struct BodyEffects {
    /// Columns of the new row it assigns (`NEW.col := ...`, `SET NEW.col = ...`).
    sets_new: Vec<String>,
    /// Columns of its own table it updates (`UPDATE <table> SET col = ...`), SQLite's way.
    updates_own: Vec<String>,
    /// Other tables it inserts into, updates or deletes from.
    writes: Vec<String>,
}

/// The significant tokens of a body: words and quoted identifiers (unquoted), and
/// punctuation (`:=` as one token).
fn words(body: &str) -> Vec<String> {
    let c: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        if ch == '"' || ch == '`' {
            let end = super::skip_quoted(&c, i, c.len());
            out.push(c[i + 1..end.saturating_sub(1).max(i + 1)].iter().collect());
            i = end;
            continue;
        }
        if let Some(j) = skip_non_code(&c, i, c.len()) {
            out.push("'".into());
            i = j;
            continue;
        }
        if ch.is_alphanumeric() || ch == '_' || ch == '$' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$') {
                i += 1;
            }
            out.push(c[start..i].iter().collect());
            continue;
        }
        if ch == ':' && c.get(i + 1) == Some(&'=') {
            out.push(":=".into());
            i += 2;
            continue;
        }
        out.push(ch.to_string());
        i += 1;
    }
    out
}

fn is(w: &str, k: &str) -> bool {
    w.eq_ignore_ascii_case(k)
}

/// A table name at `w[i..]` (`name` or `schema.name`), and the index after it.
fn table_at(w: &[String], i: usize) -> Option<(String, usize)> {
    let first = w.get(i)?;
    if w.get(i + 1).map(String::as_str) == Some(".") {
        return Some((w.get(i + 2)?.clone(), i + 3));
    }
    Some((first.clone(), i + 1))
}

fn body_effects(body: &str, own: &str) -> BodyEffects {
    let w = words(body);
    let mut out = BodyEffects::default();
    let push = |list: &mut Vec<String>, v: &str| {
        if !list.iter().any(|x| x.eq_ignore_ascii_case(v)) {
            list.push(v.to_owned());
        }
    };
    for i in 0..w.len() {
        // NEW.col := ... ; NEW.col = ... at the start of a statement or in a SET list.
        if is(&w[i], "new") && w.get(i + 1).map(String::as_str) == Some(".") {
            let (Some(col), Some(op)) = (w.get(i + 2), w.get(i + 3)) else {
                continue;
            };
            let before = i.checked_sub(1).map(|j| w[j].as_str()).unwrap_or(";");
            let starts = [";", ",", "begin", "then", "else", "loop", "set", "declare"]
                .iter()
                .any(|k| is(before, k));
            if op == ":=" || (op == "=" && starts) {
                push(&mut out.sets_new, col);
            }
            continue;
        }
        let target = if is(&w[i], "update") {
            table_at(&w, i + 1)
        } else if (is(&w[i], "insert") || is(&w[i], "replace"))
            && w.get(i + 1).is_some_and(|x| is(x, "into"))
            || is(&w[i], "delete") && w.get(i + 1).is_some_and(|x| is(x, "from"))
        {
            table_at(&w, i + 2)
        } else {
            None
        };
        let Some((table, after)) = target else {
            continue;
        };
        if is(&w[i], "update") && table.eq_ignore_ascii_case(own) {
            // The columns of `SET a = ..., b = ...`, up to WHERE or the statement's end.
            if w.get(after).is_some_and(|x| is(x, "set")) {
                let mut depth = 0i32;
                let mut j = after + 1;
                let mut expect_col = true;
                while j < w.len() {
                    let x = w[j].as_str();
                    match x {
                        "(" => depth += 1,
                        ")" => depth -= 1,
                        ";" if depth == 0 => break,
                        "," if depth == 0 => expect_col = true,
                        _ if depth == 0 && (is(x, "where") || is(x, "end")) => break,
                        _ if depth == 0 && expect_col => {
                            if w.get(j + 1).map(String::as_str) == Some("=") {
                                push(&mut out.updates_own, x);
                            }
                            expect_col = false;
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
        } else if !table.eq_ignore_ascii_case(own) || !is(&w[i], "update") {
            push(&mut out.writes, &table);
        }
    }
    out
}

impl RawTrigger {
    /// The model's trigger, with a sentence saying what it may change.
    pub(crate) fn to_model(&self) -> Trigger {
        Trigger {
            name: self.name.clone(),
            timing: self.timing.clone(),
            events: self.events.clone(),
            effect: self.effect(),
            writes: self
                .body
                .as_deref()
                .map(|b| body_effects(b, &self.table).writes)
                .unwrap_or_default(),
        }
    }

    fn effect(&self) -> String {
        let changes_row = self.timing == "before"
            && self.row_level
            && self.events.iter().any(|e| e == "insert" || e == "update");
        let sets = |cols: &[String]| {
            if cols.is_empty() {
                String::new()
            } else {
                format!(" (sets {})", cols.join(", "))
            }
        };
        let Some(body) = &self.body else {
            return if changes_row {
                "may change the row's values before they are stored".into()
            } else {
                "may write other tables".into()
            };
        };
        let found = body_effects(body, &self.table);
        let mut parts = Vec::new();
        if changes_row && !found.sets_new.is_empty() {
            parts.push(format!(
                "may change the row's values before they are stored{}",
                sets(&found.sets_new)
            ));
        }
        if !found.updates_own.is_empty() {
            parts.push(format!(
                "may change the row's values after they are stored{}",
                sets(&found.updates_own)
            ));
        }
        if !found.writes.is_empty() {
            parts.push(format!(
                "may write other tables ({})",
                found.writes.join(", ")
            ));
        }
        if parts.is_empty() {
            "may refuse the statement or write other tables".into()
        } else {
            parts.join("; ")
        }
    }
}

/// The events of a PostgreSQL trigger's `tgtype`, in order, and whether it is row-level;
/// its timing.
pub(crate) fn pg_trigger_type(tgtype: i32) -> (String, Vec<String>, bool) {
    let timing = if tgtype & 64 != 0 {
        "instead of"
    } else if tgtype & 2 != 0 {
        "before"
    } else {
        "after"
    };
    let events = [
        (4, "insert"),
        (16, "update"),
        (8, "delete"),
        (32, "truncate"),
    ]
    .iter()
    .filter(|(bit, _)| tgtype & bit != 0)
    .map(|(_, e)| (*e).to_owned())
    .collect();
    (timing.into(), events, tgtype & 1 != 0)
}

/// The timing, event and body of an SQLite `CREATE TRIGGER` statement.
pub(crate) fn parse_sqlite_trigger(sql: &str) -> Option<(String, Vec<String>, String)> {
    let c: Vec<char> = sql.chars().collect();
    let toks = tokens(&c, 0, c.len());
    let word = |t: &Tok| match t {
        Tok::Word(w) => Some(w.to_ascii_lowercase()),
        _ => None,
    };
    let mut timing = "before".to_owned();
    let mut event = None;
    for t in &toks {
        match word(t).as_deref() {
            Some("before") if event.is_none() => timing = "before".into(),
            Some("after") if event.is_none() => timing = "after".into(),
            Some("instead") if event.is_none() => timing = "instead of".into(),
            Some(e @ ("insert" | "update" | "delete")) if event.is_none() => {
                event = Some(e.to_owned())
            }
            Some("on") if event.is_some() => break,
            _ => {}
        }
    }
    // The body: from BEGIN (a keyword outside literals) to the end.
    let lower: String = sql.to_ascii_lowercase();
    let mut at = None;
    let mut i = 0;
    let lc: Vec<char> = lower.chars().collect();
    while i < lc.len() {
        if let Some(j) = skip_non_code(&c, i, c.len()) {
            i = j;
            continue;
        }
        let starts_word = i == 0 || !(lc[i - 1].is_alphanumeric() || lc[i - 1] == '_');
        if starts_word && lc[i..].starts_with(&['b', 'e', 'g', 'i', 'n']) {
            let end = i + 5;
            if end >= lc.len() || !(lc[end].is_alphanumeric() || lc[end] == '_') {
                at = Some(end);
                break;
            }
        }
        i += 1;
    }
    let body: String = c[at.unwrap_or(c.len())..].iter().collect();
    Some((timing, vec![event?], body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(timing: &str, events: &[&str], body: Option<&str>) -> RawTrigger {
        RawTrigger {
            name: "t".into(),
            timing: timing.into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            row_level: true,
            body: body.map(str::to_owned),
            table: "payment".into(),
        }
    }

    #[test]
    fn effects_come_from_timing_and_body() {
        let t = trigger("before", &["insert"], None);
        assert_eq!(
            t.to_model().effect,
            "may change the row's values before they are stored"
        );
        let t = trigger("after", &["insert", "update"], None);
        assert_eq!(t.to_model().effect, "may write other tables");
        let plpgsql = "BEGIN\n  IF NEW.amount = 0 THEN RAISE EXCEPTION 'x'; END IF;\n  NEW.last_update := now();\n  RETURN NEW;\nEND";
        let t = trigger("before", &["insert", "update"], Some(plpgsql));
        assert_eq!(
            t.to_model().effect,
            "may change the row's values before they are stored (sets last_update)"
        );
        let mysql = "BEGIN SET NEW.create_date = NOW(), NEW.`note` = 'x'; INSERT INTO audit_log (x) VALUES (1); END";
        let t = trigger("before", &["insert"], Some(mysql));
        assert_eq!(
            t.to_model().effect,
            "may change the row's values before they are stored (sets create_date, note); may write other tables (audit_log)"
        );
        let sqlite = " UPDATE payment SET paid_on = date('now'), note = 'x' WHERE rowid = NEW.rowid; DELETE FROM \"cache\"; END";
        let t = trigger("after", &["insert"], Some(sqlite));
        assert_eq!(
            t.to_model().effect,
            "may change the row's values after they are stored (sets paid_on, note); may write other tables (cache)"
        );
        let t = trigger(
            "before",
            &["insert"],
            Some("BEGIN IF NEW.x = 1 THEN RAISE EXCEPTION 'no'; END IF; RETURN NEW; END"),
        );
        assert_eq!(
            t.to_model().effect,
            "may refuse the statement or write other tables"
        );
    }

    #[test]
    fn trigger_types_and_sqlite_statements_are_read() {
        assert_eq!(
            pg_trigger_type(1 | 2 | 4 | 16),
            (
                "before".into(),
                vec!["insert".into(), "update".into()],
                true
            )
        );
        assert_eq!(
            pg_trigger_type(32),
            ("after".into(), vec!["truncate".into()], false)
        );
        let (timing, events, body) = parse_sqlite_trigger(
            "CREATE TRIGGER IF NOT EXISTS \"begin x\" AFTER UPDATE OF a ON t BEGIN UPDATE t SET a = 1; END",
        )
        .unwrap();
        assert_eq!(
            (timing.as_str(), events),
            ("after", vec!["update".to_owned()])
        );
        assert_eq!(body.trim(), "UPDATE t SET a = 1; END");
        let (timing, ..) =
            parse_sqlite_trigger("CREATE TRIGGER x INSERT ON t BEGIN SELECT 1; END").unwrap();
        assert_eq!(timing, "before");
    }
}
