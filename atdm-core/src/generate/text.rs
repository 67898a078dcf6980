//! Realistic text for semantic kinds, coherent within a row.
//!
//! A row has one person and one address. They are not read from other cells: each part comes
//! from a random stream of the row ([`RowStreams`]), keyed by `(seed, table, row)` and a fixed
//! part name instead of a column (`atdm.person.first`, `atdm.person.last`,
//! `atdm.address.region`, `atdm.address.city`, `atdm.address.zip`). Every column that shows the
//! person or the address draws the same parts from the same streams, so `first_name`,
//! `last_name`, `full_name`, `email` and `username` of a row name one person, and `city`,
//! `state`, `district` and `zip` one place, in the planner and in bulk generation alike, and a
//! cell stays computable alone.

use std::borrow::Cow;

use fake::locales::{Data, EN};

use super::locale::{Locale, ascii_name};
use super::rng::RowKey;
use super::{CellRng, MarkerPolicy, Semantic, name_hash, numeric, vocabulary};

const PERSON_FIRST: u64 = name_hash("atdm.person.first");
const PERSON_LAST: u64 = name_hash("atdm.person.last");
const ADDRESS_REGION: u64 = name_hash("atdm.address.region");
const ADDRESS_CITY: u64 = name_hash("atdm.address.city");
const ADDRESS_ZIP: u64 = name_hash("atdm.address.zip");

/// The random streams one row shares between its columns: the row's key, and a part name
/// instead of a column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowStreams(pub(crate) RowKey);

impl RowStreams {
    #[inline]
    fn stream(&self, part: u64) -> CellRng {
        self.0.cell(part)
    }
}

/// What writing a text value needs besides the cell's own stream.
pub(crate) struct TextCtx<'a> {
    pub(crate) locale: Locale,
    /// The table describes an address: country kinds give the locale's own country.
    pub(crate) home: bool,
    pub(crate) row: RowStreams,
    pub(crate) policy: &'a dyn MarkerPolicy,
    pub(crate) reference_year: i32,
}

impl TextCtx<'_> {
    /// One of the row person's names: the marker policy's, or the locale's.
    fn person(&self, kind: Semantic, out: &mut String) {
        let (part, list) = match kind {
            Semantic::FirstName => (PERSON_FIRST, self.locale.first_names()),
            _ => (PERSON_LAST, self.locale.last_names()),
        };
        let mut rng = self.row.stream(part);
        if !self.policy.generate(kind, &mut rng, out) {
            out.push_str(rng.word(list));
        }
    }

    fn region(&self) -> &'static super::locale::Region {
        let regions = self.locale.regions();
        &regions[self.row.stream(ADDRESS_REGION).below(regions.len() as u64) as usize]
    }

    /// One of the row person's names in ASCII (empty where none can be made): the locale's
    /// list in that form is made once, so an email costs no transliteration.
    fn ascii_person(&self, kind: Semantic) -> Cow<'static, str> {
        let first = kind == Semantic::FirstName;
        let (part, list) = if first {
            (PERSON_FIRST, self.locale.first_names())
        } else {
            (PERSON_LAST, self.locale.last_names())
        };
        let mut rng = self.row.stream(part);
        let mut written = String::new();
        if self.policy.generate(kind, &mut rng, &mut written) {
            let mut ascii = String::new();
            ascii_name(&written, &mut ascii);
            Cow::Owned(ascii)
        } else {
            // The draw `rng.word(list)` makes.
            let i = rng.below(list.len() as u64) as usize;
            Cow::Borrowed(self.locale.ascii_names(first)[i].as_str())
        }
    }

    /// An email or user-name local part from the row person's ASCII names (see
    /// [`local_part`]).
    fn local_part(&self, rng: &mut CellRng, out: &mut String) {
        let first = self.ascii_person(Semantic::FirstName);
        let last = self.ascii_person(Semantic::LastName);
        local_part(&first, &last, rng, out);
    }
}

/// Writes a value of `kind` for one cell; `rng` is the cell's own stream.
pub(crate) fn write(kind: Semantic, cx: &TextCtx<'_>, rng: &mut CellRng, out: &mut String) {
    use Semantic::*;
    let locale = cx.locale;
    match kind {
        FirstName | LastName => cx.person(kind, out),
        FullName => {
            if cx.policy.generate(kind, rng, out) {
                return;
            }
            let (a, b) = if locale.family_name_first() {
                (LastName, FirstName)
            } else {
                (FirstName, LastName)
            };
            cx.person(a, out);
            out.push(' ');
            cx.person(b, out);
        }
        Email => {
            if cx.policy.generate(kind, rng, out) {
                return;
            }
            cx.local_part(rng, out);
            if rng.below(2) == 0 {
                super::push_num(out, rng.below(100), 0);
            }
            out.push('@');
            out.push_str(rng.word(&["example.com", "example.net", "example.org"]));
        }
        Username => {
            if cx.policy.generate(kind, rng, out) {
                return;
            }
            cx.local_part(rng, out);
            super::push_num(out, rng.below(1000), 0);
        }
        State | Region | City | Zip => {
            let part = match kind {
                City => ADDRESS_CITY,
                Zip => ADDRESS_ZIP,
                _ => ADDRESS_REGION,
            };
            let mut stream = cx.row.stream(part);
            if cx.policy.generate(kind, &mut stream, out) {
                return;
            }
            let region = cx.region();
            match kind {
                State if locale.state_abbreviated() => out.push_str(region.abbr),
                State | Region => out.push_str(region.name),
                City => locale.city(region, &mut stream, out),
                _ => locale.zip(region, &mut stream, out),
            }
        }
        _ if cx.policy.generate(kind, rng, out) => {}
        Street => locale.street(rng, out),
        AddressLine2 => locale.line2(rng, out),
        Phone => locale.phone(rng, out),
        Company => locale.company(rng, out),
        JobTitle => locale.job_title(rng, out),
        Country if cx.home => out.push_str(locale.country_name()),
        Country => out.push_str(rng.word(locale.countries())),
        CountryCode if cx.home => out.push_str(locale.country_code()),
        CountryCode => out.push_str(rng.word(EN::ADDRESS_COUNTRY_CODE)),
        LanguageCode if rng.below(2) == 0 => out.push_str(locale.language_code()),
        LanguageCode => out.push_str(rng.word(vocabulary::LANGUAGE_CODES)),
        CurrencyCode if rng.below(2) == 0 => out.push_str(locale.currency_code()),
        CurrencyCode => out.push_str(rng.word(vocabulary::CURRENCIES)),
        Url => {
            out.push_str("https://");
            ascii_name(rng.word(EN::NAME_LAST_NAME), out);
            out.push_str(".example.com/");
            out.push_str(rng.word(EN::LOREM_WORD));
        }
        Ipv4 => vocabulary::ipv4(rng, out),
        Language => out.push_str(rng.word(vocabulary::LANGUAGES)),
        Category => out.push_str(rng.word(vocabulary::CATEGORIES)),
        Colour => out.push_str(rng.word(vocabulary::COLOURS)),
        Title => vocabulary::title(rng, out),
        Sentence => vocabulary::sentence(rng, out),
        _ => numeric::text(kind, cx.reference_year, rng, out),
    }
}

/// An email or user-name local part from a person's ASCII names: `first.last`, `firstlast`,
/// `flast` or `first_last`; the name that exists when only one does; `user` when neither.
fn local_part(first: &str, last: &str, rng: &mut CellRng, out: &mut String) {
    match (first.is_empty(), last.is_empty()) {
        (false, false) => {
            match rng.below(4) {
                0 => {
                    out.push_str(first);
                    out.push('.');
                }
                1 => out.push_str(first),
                2 => out.extend(first.chars().take(1)),
                _ => {
                    out.push_str(first);
                    out.push('_');
                }
            }
            out.push_str(last);
        }
        (true, false) => out.push_str(last),
        (false, true) => out.push_str(first),
        (true, true) => out.push_str("user"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::ReservedMarkers;

    #[test]
    fn one_row_shows_one_person_and_one_place() {
        for locale in Locale::ALL {
            for row in 0..200 {
                let cx = TextCtx {
                    locale,
                    home: true,
                    row: RowStreams(RowKey::new(9, name_hash("customer"), row)),
                    policy: &ReservedMarkers,
                    reference_year: 2026,
                };
                let cell = |kind: Semantic, column: &str| {
                    let mut rng = CellRng::new(9, name_hash("customer"), row, name_hash(column));
                    let mut out = String::new();
                    write(kind, &cx, &mut rng, &mut out);
                    out
                };
                let (first, last) = (
                    cell(Semantic::FirstName, "first_name"),
                    cell(Semantic::LastName, "last_name"),
                );
                let full = cell(Semantic::FullName, "name");
                assert!(full.contains(&first) && full.contains(&last), "{full}");
                let email = cell(Semantic::Email, "email");
                assert!(email.is_ascii() && email.contains("@example."), "{email}");
                let (a, b) = (
                    cx.ascii_person(Semantic::FirstName),
                    cx.ascii_person(Semantic::LastName),
                );
                let (a, b) = (a.as_ref(), b.as_ref());
                assert!(
                    (!a.is_empty() && email.contains(a)) || (!b.is_empty() && email.contains(b)),
                    "{locale} {first} {last}: {email}"
                );
                let state = cell(Semantic::Region, "district");
                let region = locale
                    .regions()
                    .iter()
                    .find(|r| r.name == state)
                    .unwrap_or_else(|| panic!("{state} is not a region of {locale}"));
                let city = cell(Semantic::City, "city");
                assert!(region.cities.is_empty() || region.cities.contains(&city.as_str()));
                let zip = cell(Semantic::Zip, "postal_code");
                let digits: String = zip.chars().filter(char::is_ascii_digit).collect();
                let lead_len = match locale {
                    Locale::De | Locale::Fr => 2,
                    _ => 3,
                };
                let lead: u32 = digits[..lead_len].parse().unwrap();
                assert!(
                    region
                        .zips
                        .iter()
                        .any(|(lo, hi)| (lo..=hi).contains(&&lead)),
                    "{locale} {state}: {zip}"
                );
            }
        }
    }
}
