//! The scenario catalog: list, describe, and find scenarios by intent.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use super::Scenario;
use crate::error::Error;
use crate::suggest::edit_distance;

/// A scenario found by [`Catalog::find`], with its score.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    /// The scenario id.
    pub id: String,
    /// The relevance score (higher is better; only the order is meaningful).
    pub score: f64,
    /// The intent words that matched.
    pub matched: Vec<String>,
}

/// The requestable scenarios of a pack, by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    scenarios: BTreeMap<String, Arc<Scenario>>,
}

const STOP: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "from", "with", "without",
    "whose", "who", "which", "that", "is", "was", "were", "be", "been", "has", "have", "had", "by",
    "at", "as", "it", "its", "their", "one", "some", "any", "i", "need", "want", "test", "data",
    "scenario", "because", "but", "not", "no", "this", "there",
];

/// Lower-cases, splits on non-alphanumerics, drops stop words and strips common English
/// suffixes, so "denied", "denial" and "denials" meet.
pub(crate) fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .filter(|w| !STOP.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

fn stem(w: &str) -> String {
    let once = stem_once(w);
    if once == w { once } else { stem_once(&once) }
}

fn stem_once(w: &str) -> String {
    for (suffix, replace) in [
        ("ations", "ate"),
        ("ation", "ate"),
        ("ings", ""),
        ("ing", ""),
        ("ied", "y"),
        ("ies", "y"),
        ("ial", "y"),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
        ("e", ""),
    ] {
        if let Some(base) = w.strip_suffix(suffix)
            && base.chars().count() >= 3
        {
            return format!("{base}{replace}");
        }
    }
    w.to_owned()
}

impl Catalog {
    /// A catalog of the given scenarios (templates are left out).
    pub fn new(scenarios: impl IntoIterator<Item = Scenario>) -> Self {
        Catalog {
            scenarios: scenarios
                .into_iter()
                .filter(|s| !s.template)
                .map(|s| (s.id.clone(), Arc::new(s)))
                .collect(),
        }
    }

    /// The scenarios, by id.
    pub fn list(&self) -> impl Iterator<Item = &Scenario> {
        self.scenarios.values().map(|s| s.as_ref())
    }

    /// The number of scenarios.
    pub fn len(&self) -> usize {
        self.scenarios.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.scenarios.is_empty()
    }

    /// A scenario by id; [`Error::ScenarioNotFound`] names close matches.
    pub fn get(&self, id: &str) -> Result<&Arc<Scenario>, Error> {
        self.scenarios
            .get(id)
            .ok_or_else(|| Error::ScenarioNotFound {
                id: id.into(),
                close: self.close_to(id),
            })
    }

    /// Known ids that look like `id` (by edit distance, or sharing words), best first.
    pub fn close_to(&self, id: &str) -> Vec<String> {
        // No id is this long; comparing one with every id would only cost time.
        if id.len() > 200 {
            return Vec::new();
        }
        let mut scored: Vec<(usize, &String)> = self
            .scenarios
            .keys()
            .map(|k| (edit_distance(&id.to_lowercase(), k), k))
            .filter(|(d, k)| {
                *d <= (k.len() / 3).max(3)
                    || k.contains(id)
                    || (id.len() > 3 && id.contains(k.as_str()))
            })
            .collect();
        scored.sort();
        let mut out: Vec<String> = scored.into_iter().take(3).map(|(_, k)| k.clone()).collect();
        if out.is_empty() {
            out = self
                .find(&id.replace(['_', '-'], " "), 3)
                .into_iter()
                .map(|m| m.id)
                .collect();
        }
        out
    }

    /// Ranks scenarios by how well their id, tags and description match `intent` (BM25 over
    /// the three fields, id words weighing most), best first, at most `limit`. Plain text,
    /// no network; ties go to the smaller id.
    pub fn find(&self, intent: &str, limit: usize) -> Vec<Match> {
        let query = terms(intent);
        if query.is_empty() {
            return Vec::new();
        }
        // Per scenario: its id and its fields, each as (terms, weight).
        type Fields = Vec<(Vec<String>, f64)>;
        let docs: Vec<(&String, Fields)> = self
            .scenarios
            .iter()
            .map(|(id, s)| {
                let fields = vec![
                    (terms(&id.replace(['_', '-', '.'], " ")), 3.0),
                    (terms(&s.tags.join(" ")), 2.0),
                    (terms(&s.description), 1.0),
                ];
                (id, fields)
            })
            .collect();
        let n = docs.len() as f64;
        let mut df: HashMap<&str, f64> = HashMap::new();
        for (_, fields) in &docs {
            let mut seen: Vec<&str> = fields
                .iter()
                .flat_map(|(t, _)| t.iter().map(String::as_str))
                .collect();
            seen.sort();
            seen.dedup();
            for t in seen {
                *df.entry(t).or_default() += 1.0;
            }
        }
        let avg_len = docs
            .iter()
            .map(|(_, f)| f.iter().map(|(t, _)| t.len()).sum::<usize>() as f64)
            .sum::<f64>()
            / n.max(1.0);
        let (k1, b) = (1.2, 0.75);
        let mut out: Vec<Match> = docs
            .iter()
            .filter_map(|(id, fields)| {
                let len = fields.iter().map(|(t, _)| t.len()).sum::<usize>() as f64;
                let mut score = 0.0;
                let mut matched = Vec::new();
                let mut q = query.clone();
                q.sort();
                q.dedup();
                for term in &q {
                    let tf: f64 = fields
                        .iter()
                        .map(|(t, w)| w * t.iter().filter(|x| *x == term).count() as f64)
                        .sum();
                    if tf == 0.0 {
                        continue;
                    }
                    let d = df.get(term.as_str()).copied().unwrap_or(0.0);
                    let idf = ((n - d + 0.5) / (d + 0.5) + 1.0).ln();
                    score +=
                        idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * len / avg_len.max(1.0)));
                    matched.push(term.clone());
                }
                (score > 0.0).then(|| Match {
                    id: (*id).clone(),
                    score,
                    matched,
                })
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        out.truncate(limit);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stemming_joins_word_forms() {
        assert_eq!(terms("denied denial denials"), ["deny", "deny", "deny"]);
        assert_eq!(terms("Claims expired"), ["claim", "expir"]);
    }
}
