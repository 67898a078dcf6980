//! Realistic text for semantic kinds.

use std::fmt::Write as _;

use fake::locales::{Data, EN};

use super::{CellRng, Semantic};

fn lower_alnum(out: &mut String, s: &str) {
    out.extend(
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase()),
    );
}

/// Writes a realistic value of a semantic kind, from `fake`'s English lists.
pub fn semantic_text(kind: Semantic, rng: &mut CellRng, out: &mut String) {
    match kind {
        Semantic::FirstName => out.push_str(rng.word(<EN as Data>::NAME_FIRST_NAME)),
        Semantic::LastName => out.push_str(rng.word(<EN as Data>::NAME_LAST_NAME)),
        Semantic::FullName => {
            out.push_str(rng.word(<EN as Data>::NAME_FIRST_NAME));
            out.push(' ');
            out.push_str(rng.word(<EN as Data>::NAME_LAST_NAME));
        }
        Semantic::Email => {
            lower_alnum(out, rng.word(<EN as Data>::NAME_FIRST_NAME));
            out.push('.');
            lower_alnum(out, rng.word(<EN as Data>::NAME_LAST_NAME));
            let _ = write!(out, "{}@", rng.below(100));
            out.push_str(rng.word(&["example.com", "example.net", "example.org"]));
        }
        Semantic::Phone => {
            let _ = write!(
                out,
                "+1-{}-555-01{:02}",
                200 + rng.below(800),
                rng.below(100)
            );
        }
        Semantic::Street => {
            let _ = write!(out, "{} ", 1 + rng.below(9999));
            out.push_str(rng.word(<EN as Data>::NAME_LAST_NAME));
            out.push(' ');
            out.push_str(rng.word(<EN as Data>::ADDRESS_STREET_SUFFIX));
        }
        Semantic::City => {
            if rng.below(3) == 0 {
                out.push_str(rng.word(<EN as Data>::ADDRESS_CITY_PREFIX));
                out.push(' ');
            }
            out.push_str(rng.word(<EN as Data>::NAME_LAST_NAME));
            out.push_str(rng.word(<EN as Data>::ADDRESS_CITY_SUFFIX));
        }
        Semantic::State => out.push_str(rng.word(<EN as Data>::ADDRESS_STATE_ABBR)),
        Semantic::Zip => {
            let _ = write!(out, "{:05}", rng.below(100_000));
        }
        Semantic::Country => out.push_str(rng.word(<EN as Data>::ADDRESS_COUNTRY)),
        Semantic::Company => {
            out.push_str(rng.word(<EN as Data>::NAME_LAST_NAME));
            out.push(' ');
            out.push_str(rng.word(<EN as Data>::COMPANY_SUFFIX));
        }
        Semantic::Url => {
            out.push_str("https://");
            lower_alnum(out, rng.word(<EN as Data>::NAME_LAST_NAME));
            out.push_str(".example.com/");
            out.push_str(rng.word(<EN as Data>::LOREM_WORD));
        }
        Semantic::Username => {
            lower_alnum(out, rng.word(<EN as Data>::NAME_FIRST_NAME));
            let _ = write!(out, "{}", rng.below(10_000));
        }
        Semantic::Sentence => {
            let n = 4 + rng.below(6);
            for i in 0..n {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(rng.word(<EN as Data>::LOREM_WORD));
            }
            out.push('.');
        }
    }
}
