//! Locales: whose names, addresses, phone numbers and companies generated rows hold.
//!
//! Word lists come from `fake`'s locales (pinned to one version): first and last names of every
//! locale, German and Brazilian states, street and company suffixes, German city parts, Japanese
//! job titles. What `fake` does not hold for a locale (French regions, Brazilian and Japanese
//! cities, postal code ranges, the romanisation of Japanese family names) is kept in
//! [`regions`](self::regions). Every choice is made by ATDM's own [`CellRng`].
//!
//! Whatever the locale, emails and user names are ASCII (names are transliterated, Japanese
//! family names romanised), emails use the reserved `example.*` domains, and phone numbers keep
//! the fictional `555-01xx` subscriber part in the locale's own national format, so
//! [`ReservedMarkers`](super::ReservedMarkers) holds for every locale.

mod regions;

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

use fake::locales::{DE_DE, Data, EN, FR_FR, JA_JP, PT_BR};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{CellRng, push_num};
pub(crate) use regions::Region;

/// The locale of generated people, addresses, phone numbers and companies.
///
/// In a schema file it is written `locale = "de"` (at the top, for every table, or on one
/// table); `en` is the default. The full forms (`de_DE`, `fr_FR`, `ja_JP`, `en_US`, `pt-BR`)
/// are read too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Locale {
    /// English (United States): `en`.
    #[default]
    En,
    /// German (Germany): `de`.
    De,
    /// French (France): `fr`.
    Fr,
    /// Portuguese (Brazil): `pt_BR`.
    PtBr,
    /// Japanese (Japan): `ja`.
    Ja,
}

impl Locale {
    /// Every locale, in declaration order.
    pub const ALL: [Locale; 5] = [Locale::En, Locale::De, Locale::Fr, Locale::PtBr, Locale::Ja];

    /// The locale's name in schema files: `en`, `de`, `fr`, `pt_BR`, `ja`.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
            Locale::PtBr => "pt_BR",
            Locale::Ja => "ja",
        }
    }

    /// The given names generated rows use.
    pub fn first_names(self) -> &'static [&'static str] {
        match self {
            Locale::En => EN::NAME_FIRST_NAME,
            Locale::De => DE_DE::NAME_FIRST_NAME,
            Locale::Fr => FR_FR::NAME_FIRST_NAME,
            Locale::PtBr => PT_BR::NAME_FIRST_NAME,
            Locale::Ja => JA_JP::NAME_FIRST_NAME,
        }
    }

    /// The family names generated rows use.
    pub fn last_names(self) -> &'static [&'static str] {
        match self {
            Locale::En => EN::NAME_LAST_NAME,
            Locale::De => DE_DE::NAME_LAST_NAME,
            Locale::Fr => FR_FR::NAME_LAST_NAME,
            Locale::PtBr => PT_BR::NAME_LAST_NAME,
            Locale::Ja => JA_JP::NAME_LAST_NAME,
        }
    }

    /// The first names (`first`) or family names in the form [`ascii_name`] gives them, in
    /// the order of [`Locale::first_names`] and [`Locale::last_names`]; made once per process.
    pub(crate) fn ascii_names(self, first: bool) -> &'static [String] {
        static LISTS: [std::sync::OnceLock<Vec<String>>; 2 * Locale::ALL.len()] =
            [const { std::sync::OnceLock::new() }; 2 * Locale::ALL.len()];
        let (slot, names) = if first {
            (2 * self as usize, self.first_names())
        } else {
            (2 * self as usize + 1, self.last_names())
        };
        LISTS[slot].get_or_init(|| {
            names
                .iter()
                .map(|n| {
                    let mut ascii = String::new();
                    ascii_name(n, &mut ascii);
                    ascii
                })
                .collect()
        })
    }

    /// [`ascii_name`], for code outside `generate` (masking's fake emails and user names).
    pub(crate) fn ascii_name(name: &str, out: &mut String) -> bool {
        ascii_name(name, out)
    }

    /// Whether a full name is written family name first (Japanese).
    pub(crate) fn family_name_first(self) -> bool {
        self == Locale::Ja
    }

    /// The locale's country, as people there write it.
    pub fn country_name(self) -> &'static str {
        match self {
            Locale::En => "United States",
            Locale::De => "Deutschland",
            Locale::Fr => "France",
            Locale::PtBr => "Brasil",
            Locale::Ja => "日本",
        }
    }

    /// The locale's ISO 3166-1 alpha-2 country code.
    pub fn country_code(self) -> &'static str {
        match self {
            Locale::En => "US",
            Locale::De => "DE",
            Locale::Fr => "FR",
            Locale::PtBr => "BR",
            Locale::Ja => "JP",
        }
    }

    /// The locale's ISO 639-1 language code.
    pub fn language_code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
            Locale::PtBr => "pt",
            Locale::Ja => "ja",
        }
    }

    /// The locale's ISO 4217 currency code.
    pub fn currency_code(self) -> &'static str {
        match self {
            Locale::En => "USD",
            Locale::De | Locale::Fr => "EUR",
            Locale::PtBr => "BRL",
            Locale::Ja => "JPY",
        }
    }

    /// Country names, in the locale's language where `fake` has them (French), else English.
    pub(crate) fn countries(self) -> &'static [&'static str] {
        match self {
            Locale::Fr => FR_FR::ADDRESS_COUNTRY,
            _ => EN::ADDRESS_COUNTRY,
        }
    }

    /// The locale's states or regions, with their postal code ranges and cities.
    pub(crate) fn regions(self) -> &'static [Region] {
        regions::of(self)
    }

    /// Whether the state column of an address holds the region's abbreviation (`CA`, `SP`)
    /// rather than its name.
    pub(crate) fn state_abbreviated(self) -> bool {
        matches!(self, Locale::En | Locale::PtBr)
    }

    /// A street address line.
    pub(crate) fn street(self, rng: &mut CellRng, out: &mut String) {
        match self {
            Locale::En => {
                push_num(out, 1 + rng.below(9999), 0);
                out.push(' ');
                out.push_str(rng.word(EN::NAME_LAST_NAME));
                out.push(' ');
                out.push_str(rng.word(EN::ADDRESS_STREET_SUFFIX));
            }
            Locale::De => {
                out.push_str(rng.word(DE_DE::NAME_LAST_NAME));
                out.push_str(rng.word(DE_DE::ADDRESS_STREET_SUFFIX));
                out.push(' ');
                push_num(out, 1 + rng.below(150), 0);
            }
            Locale::Fr => {
                push_num(out, 1 + rng.below(200), 0);
                out.push(' ');
                out.push_str(rng.word(FR_FR::ADDRESS_STREET_SUFFIX));
                out.push(' ');
                out.push_str(rng.word(FR_FR::NAME_LAST_NAME));
            }
            Locale::PtBr => {
                out.push_str(rng.word(PT_BR::ADDRESS_STREET_SUFFIX));
                out.push(' ');
                out.push_str(rng.word(PT_BR::NAME_LAST_NAME));
                out.push_str(", ");
                push_num(out, 1 + rng.below(3000), 0);
            }
            Locale::Ja => {
                out.push_str(rng.word(regions::JA_TOWNS));
                let _ = write!(
                    out,
                    "{}丁目{}-{}",
                    1 + rng.below(9),
                    1 + rng.below(30),
                    1 + rng.below(20)
                );
            }
        }
    }

    /// The second line of an address (`Apt. 12`, `Etage 3`, `Apto 101`).
    pub(crate) fn line2(self, rng: &mut CellRng, out: &mut String) {
        let n = 1 + rng.below(40);
        let _ = match self {
            Locale::En => write!(
                out,
                "{} {}",
                rng.word(&["Apt.", "Suite", "Unit"]),
                n * 10 + rng.below(10)
            ),
            Locale::De => write!(
                out,
                "{} {}",
                rng.word(DE_DE::ADDRESS_SECONDARY_ADDR_TYPE),
                n % 6 + 1
            ),
            Locale::Fr => write!(
                out,
                "{} {}",
                rng.word(&["Appartement", "Bâtiment", "Étage"]),
                n
            ),
            Locale::PtBr => write!(
                out,
                "{} {}",
                rng.word(&["Apto", "Sala", "Bloco"]),
                n * 10 + 1
            ),
            Locale::Ja => write!(out, "{}号室", 100 * (1 + n % 9) + rng.below(10) + 1),
        };
    }

    /// A city of `region`: one of its cities where the locale lists them, else a name built
    /// from the locale's word lists.
    pub(crate) fn city(self, region: &Region, rng: &mut CellRng, out: &mut String) {
        if !region.cities.is_empty() {
            out.push_str(rng.word(region.cities));
            return;
        }
        match self {
            Locale::De => {
                if rng.below(3) == 0 {
                    out.push_str(rng.word(DE_DE::ADDRESS_CITY_PREFIX));
                    out.push(' ');
                }
                out.push_str(rng.word(DE_DE::NAME_LAST_NAME));
                out.push_str(rng.word(DE_DE::ADDRESS_CITY_SUFFIX));
            }
            _ => {
                if rng.below(3) == 0 {
                    out.push_str(rng.word(EN::ADDRESS_CITY_PREFIX));
                    out.push(' ');
                }
                out.push_str(rng.word(EN::NAME_LAST_NAME));
                out.push_str(rng.word(EN::ADDRESS_CITY_SUFFIX));
            }
        }
    }

    /// A postal code of `region`, in the locale's format.
    pub(crate) fn zip(self, region: &Region, rng: &mut CellRng, out: &mut String) {
        let (lo, hi) = *rng.pick(region.zips);
        let lead = rng.range(i64::from(lo), i64::from(hi));
        match self {
            Locale::En => {
                Self::push_lead(out, lead, 3);
                push_num(out, rng.below(100), 2);
            }
            Locale::De => {
                Self::push_lead(out, lead, 2);
                push_num(out, rng.below(1000), 3);
            }
            Locale::Fr => {
                Self::push_lead(out, lead, 2);
                push_num(out, rng.below(100) * 10, 3);
            }
            Locale::PtBr => {
                Self::push_lead(out, lead, 3);
                push_num(out, rng.below(100), 2);
                out.push('-');
                push_num(out, rng.below(1000), 3);
            }
            Locale::Ja => {
                Self::push_lead(out, lead, 3);
                out.push('-');
                push_num(out, rng.below(10_000), 4);
            }
        }
    }

    /// Appends a zip code's leading digits, zero-padded to `width` (as `{lead:0width$}`).
    fn push_lead(out: &mut String, lead: i64, width: usize) {
        match u64::try_from(lead) {
            Ok(v) => push_num(out, v, width),
            Err(_) => {
                let _ = write!(out, "{lead:0width$}");
            }
        }
    }

    /// A phone number in the locale's national format whose subscriber part is in the
    /// fictional `555-0100..555-0199` range.
    pub(crate) fn phone(self, rng: &mut CellRng, out: &mut String) {
        let line = rng.below(100);
        match self {
            Locale::En => {
                out.push_str("+1-");
                push_num(out, 200 + rng.below(800), 0);
                out.push_str("-555-01");
                push_num(out, line, 2);
            }
            Locale::De => {
                let area = rng.word(&["30", "40", "69", "89", "211", "221", "341", "351", "711"]);
                out.push_str("+49 ");
                out.push_str(area);
                out.push_str(" 555-01");
                push_num(out, line, 2);
            }
            Locale::Fr => {
                out.push_str("+33 ");
                push_num(out, 1 + rng.below(7), 0);
                out.push_str(" 555-01");
                push_num(out, line, 2);
            }
            Locale::PtBr => {
                let ddd = rng.word(&["11", "21", "31", "41", "51", "61", "71", "81", "85", "91"]);
                if rng.below(2) == 0 {
                    out.push('(');
                    out.push_str(ddd);
                    out.push_str(") 2555-01");
                    push_num(out, line, 2);
                } else {
                    out.push('(');
                    out.push_str(ddd);
                    out.push_str(") 95555-01");
                    push_num(out, line, 2);
                }
            }
            Locale::Ja => {
                let area = rng.word(&["03", "06", "011", "022", "045", "052", "075", "078", "092"]);
                out.push_str(area);
                out.push_str("-555-01");
                push_num(out, line, 2);
            }
        }
    }

    /// A company name: a family name and a legal form, in the locale's order.
    pub(crate) fn company(self, rng: &mut CellRng, out: &mut String) {
        let last = rng.word(self.last_names());
        match self {
            Locale::Ja => {
                let suffix = rng.word(JA_JP::COMPANY_SUFFIX);
                if rng.below(2) == 0 {
                    out.push_str(suffix);
                    out.push_str(last);
                } else {
                    out.push_str(last);
                    out.push_str(suffix);
                }
            }
            _ => {
                let suffixes = match self {
                    Locale::De => DE_DE::COMPANY_SUFFIX,
                    Locale::Fr => regions::FR_COMPANY_SUFFIX,
                    Locale::PtBr => PT_BR::COMPANY_SUFFIX,
                    _ => EN::COMPANY_SUFFIX,
                };
                out.push_str(last);
                out.push(' ');
                out.push_str(rng.word(suffixes));
            }
        }
    }

    /// A job title (`Senior Marketing Manager`).
    pub(crate) fn job_title(self, rng: &mut CellRng, out: &mut String) {
        if self == Locale::Ja {
            out.push_str(rng.word(JA_JP::JOB_SENIORITY));
            out.push_str(rng.word(JA_JP::JOB_FIELD));
            out.push_str(rng.word(JA_JP::JOB_POSITION));
        } else {
            out.push_str(rng.word(EN::JOB_SENIORITY));
            out.push(' ');
            out.push_str(rng.word(EN::JOB_FIELD));
            out.push(' ');
            out.push_str(rng.word(EN::JOB_POSITION));
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Locale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.replace('-', "_").to_ascii_lowercase().as_str() {
            "en" | "en_us" => Locale::En,
            "de" | "de_de" => Locale::De,
            "fr" | "fr_fr" => Locale::Fr,
            "pt_br" => Locale::PtBr,
            "ja" | "ja_jp" => Locale::Ja,
            _ => {
                return Err(format!(
                    "unknown locale {s:?}; known locales: en, de, fr, pt_BR, ja"
                ));
            }
        })
    }
}

impl Serialize for Locale {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Appends the ASCII form of `name` for an email or user name: lower case, letters and
/// digits only, accents and ligatures transliterated (`Müller` -> `mueller`, `João` ->
/// `joao`); Japanese family names romanised (`佐藤` -> `sato`). Returns false when nothing
/// ASCII could be made of it.
pub(crate) fn ascii_name(name: &str, out: &mut String) -> bool {
    let start = out.len();
    // Most names are ASCII letters already: copied and lower-cased in one pass.
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.push_str(name);
        out[start..].make_ascii_lowercase();
        return true;
    }
    // Romanised names are all written in Japanese script: ASCII names skip the search.
    if !name.is_ascii()
        && let Some(r) = regions::romaji(name)
    {
        out.push_str(r);
        return true;
    }
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        let folded = match c.to_lowercase().next().unwrap_or(c) {
            'ä' | 'æ' => "ae",
            'ö' | 'œ' | 'ø' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => "a",
            'ç' | 'ć' | 'č' => "c",
            'ď' | 'đ' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
            'ğ' => "g",
            'ì' | 'í' | 'î' | 'ï' | 'ı' | 'ī' => "i",
            'ł' | 'ľ' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ō' | 'ő' => "o",
            'ř' => "r",
            'ś' | 'š' | 'ş' => "s",
            'ť' | 'ţ' => "t",
            'ù' | 'ú' | 'û' | 'ū' | 'ů' | 'ű' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            _ => "",
        };
        out.push_str(folded);
    }
    out.len() > start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_read_short_and_full_forms_and_print_short_ones() {
        for (text, l) in [
            ("en", Locale::En),
            ("en_US", Locale::En),
            ("de_DE", Locale::De),
            ("fr-FR", Locale::Fr),
            ("pt_BR", Locale::PtBr),
            ("ja_JP", Locale::Ja),
        ] {
            assert_eq!(text.parse::<Locale>().unwrap(), l);
        }
        for l in Locale::ALL {
            assert_eq!(l.as_str().parse::<Locale>().unwrap(), l);
        }
        let e = "xx".parse::<Locale>().unwrap_err();
        assert!(e.contains("pt_BR"), "{e}");
    }

    #[test]
    fn names_become_ascii() {
        let ascii = |s: &str| {
            let mut out = String::new();
            ascii_name(s, &mut out).then_some(out)
        };
        assert_eq!(ascii("Müller").as_deref(), Some("mueller"));
        assert_eq!(ascii("João").as_deref(), Some("joao"));
        assert_eq!(ascii("D'Amore").as_deref(), Some("damore"));
        assert_eq!(ascii("Ağça").as_deref(), Some("agca"));
        assert_eq!(ascii("佐藤").as_deref(), Some("sato"));
        assert_eq!(ascii("さくら"), None);
        for name in Locale::Ja.last_names() {
            assert!(ascii(name).is_some(), "{name} has no romanisation");
        }
    }

    #[test]
    fn every_region_has_postal_codes_and_phones_keep_the_fictional_range() {
        for l in Locale::ALL {
            assert!(!l.regions().is_empty(), "{l}");
            for r in l.regions() {
                assert!(!r.zips.is_empty(), "{l} {}", r.name);
            }
            let mut rng = CellRng::new(1, 2, 3, 4);
            for _ in 0..50 {
                let mut p = String::new();
                l.phone(&mut rng, &mut p);
                assert!(p.contains("555-01"), "{l}: {p}");
            }
        }
    }
}
