//! PostgreSQL partition bounds as checks the generator satisfies.
//!
//! List partitions allow the union of their lists (`col in (...)`); range partitions allow
//! the union of their ranges, `col >= low` and `col < high`, when it is contiguous, else its
//! largest contiguous span (with a note). A DEFAULT partition takes every other value, and
//! hash partitions every value, so neither bounds anything.

use std::cmp::Ordering;

use atdm_core::Value;
use atdm_core::schema::{Check, CmpOp, ColumnType, Operand, Table};

use super::{Tok, is_number, leading_string_literal, split_top_level, tokens};

/// How a partitioned table is partitioned, as read.
#[derive(Debug, Default)]
pub(crate) struct RawPartitioning {
    /// `r` (range), `l` (list) or `h` (hash).
    pub(crate) strategy: String,
    /// The partition key's column; `None` for an expression or several columns.
    pub(crate) key: Option<String>,
    /// The key as the database prints it (`RANGE (payment_date)`).
    pub(crate) key_def: String,
    /// The direct partitions: name, bound (`FOR VALUES FROM (...) TO (...)`, `DEFAULT`), and
    /// whether the partition is partitioned itself.
    pub(crate) partitions: Vec<(String, String, bool)>,
}

/// One side of a range bound.
#[derive(Debug, Clone, PartialEq)]
enum Edge {
    Min,
    Max,
    At(Value),
}

/// A partition's bound, parsed.
#[derive(Debug, Clone, PartialEq)]
enum Bound {
    Default,
    Range(Edge, Edge),
    /// The listed values (NULL left out: it puts no bound on the others).
    List(Vec<String>),
    Hash,
}

/// One literal of a bound: a quoted string (with casts), a number, `MINVALUE`, `MAXVALUE`, or
/// `NULL` (as `None`).
fn literal(text: &str) -> Option<Option<String>> {
    let t = text.trim();
    if let Some((s, rest)) = leading_string_literal(t) {
        return (rest.trim().is_empty() || rest.trim_start().starts_with("::")).then_some(Some(s));
    }
    let head = t.split("::").next().unwrap_or(t).trim();
    if head.eq_ignore_ascii_case("null") {
        return Some(None);
    }
    if is_number(head)
        || ["minvalue", "maxvalue", "true", "false"]
            .iter()
            .any(|k| head.eq_ignore_ascii_case(k))
    {
        return Some(Some(head.to_owned()));
    }
    None
}

/// The literals of a parenthesised group `c[a..b]`.
fn group(c: &[char], a: usize, b: usize) -> Option<Vec<Option<String>>> {
    split_top_level(c, a, b)
        .into_iter()
        .map(|(x, y)| literal(&c[x..y].iter().collect::<String>()))
        .collect()
}

fn edge(v: &Option<String>, ty: &ColumnType) -> Option<Edge> {
    let v = v.as_ref()?;
    if v.eq_ignore_ascii_case("minvalue") {
        return Some(Edge::Min);
    }
    if v.eq_ignore_ascii_case("maxvalue") {
        return Some(Edge::Max);
    }
    Value::Text(v.clone()).coerce(ty).ok().map(Edge::At)
}

/// A bound as `pg_get_expr(relpartbound)` prints it, for a key of type `ty`.
fn parse_bound(text: &str, ty: &ColumnType) -> Option<Bound> {
    let c: Vec<char> = text.chars().collect();
    let toks = tokens(&c, 0, c.len());
    let word = |t: &Tok, w: &str| matches!(t, Tok::Word(x) if x.eq_ignore_ascii_case(w));
    match toks.as_slice() {
        [d] if word(d, "DEFAULT") => Some(Bound::Default),
        [f, v, kind, Tok::Group(a, b), rest @ ..] if word(f, "FOR") && word(v, "VALUES") => {
            if word(kind, "WITH") {
                return Some(Bound::Hash);
            }
            let first = group(&c, *a, *b)?;
            if word(kind, "IN") {
                return Some(Bound::List(first.into_iter().flatten().collect()));
            }
            match rest {
                [to, Tok::Group(x, y)] if word(kind, "FROM") && word(to, "TO") => {
                    let second = group(&c, *x, *y)?;
                    match (first.as_slice(), second.as_slice()) {
                        ([lo], [hi]) => Some(Bound::Range(edge(lo, ty)?, edge(hi, ty)?)),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn cmp_edge(a: &Edge, b: &Edge) -> Ordering {
    match (a, b) {
        (Edge::Min, Edge::Min) | (Edge::Max, Edge::Max) => Ordering::Equal,
        (Edge::Min, _) | (_, Edge::Max) => Ordering::Less,
        (_, Edge::Min) | (Edge::Max, _) => Ordering::Greater,
        (Edge::At(x), Edge::At(y)) => x.compare(y).unwrap_or(Ordering::Equal),
    }
}

/// A number for a bound, to compare the widths of spans; `None` for an open side.
fn magnitude(e: &Edge) -> Option<f64> {
    let Edge::At(v) = e else { return None };
    Some(match v {
        Value::Int(i) => *i as f64,
        Value::Numeric(d) => d.to_string().parse().ok()?,
        Value::Date(d) => d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() as f64,
        Value::Timestamp(t) => t.and_utc().timestamp() as f64,
        Value::TimestampTz(t) => t.timestamp() as f64,
        _ => return None,
    })
}

fn shown(e: &Edge) -> String {
    match e {
        Edge::Min => "MINVALUE".into(),
        Edge::Max => "MAXVALUE".into(),
        Edge::At(v) => v.to_string(),
    }
}

/// The checks the partitions of `table` (named `tname`) put on its key column, and notes.
pub(crate) fn bound_checks(
    tname: &str,
    p: &RawPartitioning,
    table: &Table,
) -> (Vec<Check>, Vec<String>) {
    let mut notes = Vec::new();
    let names: Vec<&str> = p.partitions.iter().map(|(n, _, _)| n.as_str()).collect();
    let listed = if names.len() > 4 {
        format!("{}, ..., {}", names[..2].join(", "), names[names.len() - 1])
    } else {
        names.join(", ")
    };
    let about = format!(
        "table {tname} is partitioned by {} into {} partition{} ({listed})",
        p.key_def,
        names.len(),
        if names.len() == 1 { "" } else { "s" },
    );
    let Some(column) = p.key.as_deref().and_then(|k| table.get_column(k)) else {
        if p.strategy != "h" && !names.is_empty() {
            notes.push(format!(
                "{about}; its key is an expression or several columns, so generated rows may fall outside every partition: set the key columns in scenarios"
            ));
        }
        return (Vec::new(), notes);
    };
    if p.strategy == "h" || names.is_empty() {
        return (Vec::new(), notes);
    }
    let col = column.name.clone();
    for (name, _, nested) in &p.partitions {
        if *nested {
            notes.push(format!(
                "partition {name} of {tname} is partitioned itself; only its own bounds are read"
            ));
        }
    }
    let mut bounds = Vec::new();
    for (name, text, _) in &p.partitions {
        match parse_bound(text, &column.ty) {
            Some(b) => bounds.push(b),
            None => {
                notes.push(format!(
                    "{about}; the bound of partition {name} ({text}) cannot be read, so no bound is modelled"
                ));
                return (Vec::new(), notes);
            }
        }
    }
    if bounds.contains(&Bound::Default) {
        notes.push(format!(
            "{about}, one of them DEFAULT: every value of {col} has a partition, so no bound is modelled"
        ));
        return (Vec::new(), notes);
    }
    if p.strategy == "l" {
        let mut values: Vec<Value> = Vec::new();
        for b in &bounds {
            if let Bound::List(vs) = b {
                for v in vs {
                    let v = Value::Text(v.clone());
                    if !values.contains(&v) {
                        values.push(v);
                    }
                }
            }
        }
        if values.is_empty() {
            return (Vec::new(), notes);
        }
        notes.push(format!(
            "{about}: generated rows keep {col} within the partitions' values"
        ));
        return (
            vec![Check::In {
                column: col,
                values,
            }],
            notes,
        );
    }
    // Range: contiguous spans of the partitions, in order.
    let mut ranges: Vec<(Edge, Edge)> = bounds
        .into_iter()
        .filter_map(|b| match b {
            Bound::Range(lo, hi) => Some((lo, hi)),
            _ => None,
        })
        .collect();
    ranges.sort_by(|a, b| cmp_edge(&a.0, &b.0));
    let mut spans: Vec<(Edge, Edge, usize)> = Vec::new();
    for (lo, hi) in ranges {
        match spans.last_mut() {
            Some(last) if cmp_edge(&last.1, &lo) == Ordering::Equal => {
                last.1 = hi;
                last.2 += 1;
            }
            _ => spans.push((lo, hi, 1)),
        }
    }
    let Some(first) = spans.first().cloned() else {
        return (Vec::new(), notes);
    };
    let best = if spans.len() == 1 {
        first
    } else {
        // The widest span (an open side is the widest), else the one of most partitions.
        let width = |s: &(Edge, Edge, usize)| match (magnitude(&s.0), magnitude(&s.1)) {
            (Some(a), Some(b)) => b - a,
            _ if s.0 == Edge::Min || s.1 == Edge::Max => f64::INFINITY,
            _ => f64::NAN,
        };
        let comparable = spans.iter().all(|s| !width(s).is_nan());
        let best = spans
            .iter()
            .enumerate()
            .max_by(|(i, a), (j, b)| {
                let by = if comparable {
                    width(a).partial_cmp(&width(b)).unwrap_or(Ordering::Equal)
                } else {
                    a.2.cmp(&b.2)
                };
                // Ties: the earlier span.
                by.then(j.cmp(i))
            })
            .map(|(_, s)| s.clone())
            .unwrap_or(first);
        let listed: Vec<String> = spans
            .iter()
            .map(|s| format!("[{}, {})", shown(&s.0), shown(&s.1)))
            .collect();
        notes.push(format!(
            "{about}; their ranges leave gaps ({}), so generated rows keep {col} within the largest contiguous span [{}, {})",
            listed.join(", "),
            shown(&best.0),
            shown(&best.1)
        ));
        best
    };
    if spans.len() == 1 {
        notes.push(format!(
            "{about}: generated rows keep {col} within [{}, {})",
            shown(&best.0),
            shown(&best.1)
        ));
    }
    let mut checks = Vec::new();
    if let Edge::At(v) = &best.0 {
        checks.push(Check::Compare {
            column: col.clone(),
            op: CmpOp::Ge,
            right: Operand::Value(v.clone()),
        });
    }
    if let Edge::At(v) = &best.1 {
        checks.push(Check::Compare {
            column: col,
            op: CmpOp::Lt,
            right: Operand::Value(v.clone()),
        });
    }
    (checks, notes)
}

#[cfg(test)]
mod tests {
    use atdm_core::schema::Column;

    use super::*;

    fn table(ty: &str) -> Table {
        Table::new("payment").column(Column::new("k", ty.parse().unwrap()))
    }

    fn parts(strategy: &str, bounds: &[&str]) -> RawPartitioning {
        RawPartitioning {
            strategy: strategy.into(),
            key: Some("k".into()),
            key_def: "RANGE (k)".into(),
            partitions: bounds
                .iter()
                .enumerate()
                .map(|(i, b)| (format!("p{i}"), (*b).to_owned(), false))
                .collect(),
        }
    }

    fn texts(checks: &[Check]) -> Vec<String> {
        checks.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn contiguous_ranges_give_one_span() {
        let p = parts(
            "r",
            &[
                "FOR VALUES FROM ('2022-02-01') TO ('2022-03-01')",
                "FOR VALUES FROM ('2022-01-01') TO ('2022-02-01')",
            ],
        );
        let (checks, notes) = bound_checks("payment", &p, &table("date"));
        assert_eq!(texts(&checks), ["k >= '2022-01-01'", "k < '2022-03-01'"]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("within [2022-01-01, 2022-03-01)"),
            "{notes:?}"
        );
    }

    #[test]
    fn gaps_keep_the_widest_span_and_open_sides_stay_open() {
        let p = parts(
            "r",
            &[
                "FOR VALUES FROM ('-5') TO (10)",
                "FOR VALUES FROM (10) TO (20)",
                "FOR VALUES FROM (100) TO (105)",
            ],
        );
        let (checks, notes) = bound_checks("t", &p, &table("integer"));
        assert_eq!(texts(&checks), ["k >= -5", "k < 20"]);
        assert!(
            notes[0].contains("leave gaps ([-5, 20), [100, 105))"),
            "{notes:?}"
        );
        let p = parts(
            "r",
            &[
                "FOR VALUES FROM (MINVALUE) TO (0)",
                "FOR VALUES FROM (0) TO (MAXVALUE)",
            ],
        );
        let (checks, _) = bound_checks("t", &p, &table("integer"));
        assert!(checks.is_empty());
    }

    #[test]
    fn lists_union_and_defaults_and_hashes_bound_nothing() {
        let p = parts(
            "l",
            &["FOR VALUES IN ('a', 'b''c', NULL)", "FOR VALUES IN ('d')"],
        );
        let (checks, _) = bound_checks("t", &p, &table("text"));
        assert_eq!(texts(&checks), ["k in ('a', 'b''c', 'd')"]);
        let p = parts("l", &["FOR VALUES IN ('a')", "DEFAULT"]);
        let (checks, notes) = bound_checks("t", &p, &table("text"));
        assert!(
            checks.is_empty() && notes[0].contains("DEFAULT"),
            "{notes:?}"
        );
        let p = parts("h", &["FOR VALUES WITH (modulus 2, remainder 0)"]);
        assert!(bound_checks("t", &p, &table("integer")).0.is_empty());
    }
}
