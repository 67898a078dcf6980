//! The values the commands produce: each is a command's JSON output (`-o json`) as it
//! is, and [`crate::render`] turns it into text for people. Commands build them, render
//! reads them; neither module defines a type the other needs.
//!
//! Commands whose result is an engine type (a plan, a seeded run, a reset report, a
//! baseline manifest, an audit trail) print that type directly; only the shapes the binary
//! adds live here, and `atdm validate`'s report lives with its checks in [`crate::validate`].

use std::collections::BTreeMap;

use serde::Serialize;

/// `{"scenarios": [...]}`.
#[derive(Serialize)]
pub(crate) struct ScenarioList {
    pub(crate) scenarios: Vec<ScenarioSummary>,
}

/// One scenario in `atdm scenarios`.
#[derive(Serialize)]
pub(crate) struct ScenarioSummary {
    pub(crate) id: String,
    pub(crate) description: String,
    pub(crate) tags: Vec<String>,
    pub(crate) requirements: Vec<String>,
    pub(crate) knobs: Vec<String>,
}

/// `{"intent": ..., "matches": [...]}`.
#[derive(Serialize)]
pub(crate) struct Found {
    pub(crate) intent: String,
    pub(crate) matches: Vec<FoundMatch>,
}

/// One match of `atdm find`.
#[derive(Serialize)]
pub(crate) struct FoundMatch {
    #[serde(flatten)]
    pub(crate) found: atdm_core::scenario::Match,
    pub(crate) description: String,
}

/// `atdm introspect` in JSON.
#[derive(Serialize)]
pub(crate) struct Introspected {
    pub(crate) database: String,
    pub(crate) schema: atdm_core::schema::Schema,
    pub(crate) toml: String,
    pub(crate) notes: Vec<String>,
}

/// `{"runs": [...]}`.
#[derive(Serialize)]
pub(crate) struct Runs<'a> {
    pub(crate) runs: &'a [atdm_sqlx::RunInfo],
    /// How many runs match in all (`runs` holds the newest `--limit` of them).
    pub(crate) total: u64,
}

/// `atdm setup`: what is in place.
#[derive(Serialize)]
pub(crate) struct SetUp {
    /// The database, without its password.
    pub(crate) database: String,
    /// The pack whose tables were created.
    pub(crate) pack: String,
    /// Its tables.
    pub(crate) tables: Vec<String>,
}

/// `{"reaped": [...]}`.
#[derive(Serialize)]
pub(crate) struct Reaped {
    pub(crate) reaped: Vec<atdm_sqlx::ResetReport>,
}

/// `{"baselines": [...]}`.
#[derive(Serialize)]
pub(crate) struct Baselines<'a> {
    pub(crate) baselines: &'a [atdm_sqlx::BaselineManifest],
}

/// `atdm metrics` in JSON: every sample of the Prometheus text, and the text itself.
#[derive(Debug, Serialize)]
pub(crate) struct Metrics {
    /// Every sample line: metric name, labels and value.
    pub(crate) samples: Vec<Sample>,
    /// The Prometheus text format, as `atdm metrics` prints it for people.
    pub(crate) text: String,
}

/// One sample.
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct Sample {
    /// The metric name (with `_bucket`, `_sum`, `_count` suffixes for histograms).
    pub(crate) name: String,
    /// The labels.
    pub(crate) labels: BTreeMap<String, String>,
    /// The value (`null` for NaN and infinities, which JSON cannot hold).
    pub(crate) value: Option<f64>,
}

impl Metrics {
    /// Reads the sample lines of the Prometheus text format; comments and lines that are
    /// not samples are skipped.
    pub(crate) fn parse(text: &str) -> Metrics {
        let samples = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(parse_sample)
            .collect();
        Metrics {
            samples,
            text: text.to_owned(),
        }
    }
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (name, labels, rest) = match line.find('{') {
        Some(open) => {
            let (labels, rest) = parse_labels(&line[open + 1..])?;
            (line[..open].to_owned(), labels, rest)
        }
        None => {
            let (name, rest) = line.split_once(char::is_whitespace)?;
            (name.to_owned(), BTreeMap::new(), rest)
        }
    };
    let value: f64 = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name,
        labels,
        value: value.is_finite().then_some(value),
    })
}

/// Reads `k="v",...}` and returns the labels and what follows the closing brace.
fn parse_labels(s: &str) -> Option<(BTreeMap<String, String>, &str)> {
    let mut labels = BTreeMap::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let (key, after) = rest.split_once('=')?;
        let mut chars = after.strip_prefix('"')?.char_indices();
        let mut value = String::new();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        labels.insert(key.trim().to_owned(), value);
        rest = &after[1 + end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_samples_are_read_with_labels() {
        let m = Metrics::parse(
            "# HELP atdm_requests_total Requests.\n# TYPE atdm_requests_total counter\n\
             atdm_requests_total{scenario=\"a \\\"b\\\"\",status=\"ok\"} 3\nup 1\nbad line here\n",
        );
        assert_eq!(m.samples.len(), 2);
        assert_eq!(m.samples[0].name, "atdm_requests_total");
        assert_eq!(m.samples[0].labels["scenario"], "a \"b\"");
        assert_eq!(m.samples[0].labels["status"], "ok");
        assert_eq!(m.samples[0].value, Some(3.0));
        assert_eq!(m.samples[1].name, "up");
        assert!(m.samples[1].labels.is_empty());
    }
}
