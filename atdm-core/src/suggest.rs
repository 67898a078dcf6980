//! "Did you mean": the known names closest to a misspelt one, for error messages.

/// The known names that look like `wanted` (by edit distance, ignoring case, or one holding
/// the other), best first, at most three.
pub(crate) fn close<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let w = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .map(|k| (edit_distance(&w, &k.to_lowercase()), k))
        .filter(|&(d, k)| {
            let k_low = k.to_lowercase();
            d <= (k.chars().count() / 3).max(2)
                || (w.len() > 2 && k_low.contains(&w))
                || (w.len() > 3 && w.contains(&k_low))
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

/// `"; did you mean \"x\"?"` for the close names, or nothing.
pub(crate) fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let close = close(wanted, known);
    if close.is_empty() {
        String::new()
    } else {
        format!(
            "; did you mean {}?",
            close
                .iter()
                .map(|c| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        )
    }
}

/// Levenshtein distance, by characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_far_ones_not() {
        let tables = ["member", "claim", "provider", "plan"];
        assert_eq!(close("members", tables), ["member"]);
        assert_eq!(close("Claims", tables), ["claim"]);
        assert_eq!(close("prov", tables), ["provider"]);
        assert!(close("invoice", tables).is_empty());
        assert_eq!(did_you_mean("membr", tables), "; did you mean \"member\"?");
        assert_eq!(did_you_mean("zzz", tables), "");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
