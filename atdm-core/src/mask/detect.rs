//! Which columns hold personal data, from their name, their type and a sample of their
//! values, with a transform to start a rules file from.
//!
//! [`classify`] reads one column and returns a [`Detection`]: how harmful a leak of the
//! column would be ([`Class`]), what it holds ([`PiiKind`]), a one-sentence reason that never
//! quotes a value, and a suggested [`Transform`].
//!
//! # How a column is read
//!
//! - **Name.** The column's name, split into words (`DateOfBirth` -> `date of birth`), says
//!   what it holds: ATDM's own reading of names ([`Semantic::infer`]) for names, emails,
//!   phones, addresses, user names, IP addresses, companies, coordinates and free text, and
//!   words of its own for national ids (`ssn`, `national_id`, `tax_id`, `passport`,
//!   `driver_license`, ...), cards (`card_number`, `credit_card`, `cc_number`, `pan`), bank
//!   accounts (`iban`, `account_number`, `bank_account`), birth dates (`birth_date`, `dob`,
//!   `born_on`, ...), secrets (`password`, `passwd`, `pwd`, `secret`, `token`, `api_key`,
//!   `salt`, `cvv`, ...) and free text (`notes`, `comment`, `message`, `body`, `bio`, ...).
//!   A name with a word that makes it *about* a kind (`email_verified`, `card_type`,
//!   `password_changed_at`, `phone_ext`) names no kind, nor does a card or bank-account name
//!   with a key word (`card_id`).
//! - **Values.** The first 5,000 non-NULL values of the sample are matched whole against
//!   national ids (US social security numbers, Brazilian CPFs and French NIRs with their check
//!   digits), card numbers (13 to 19 digits, Luhn-valid), IBANs (mod-97
//!   valid), emails, IPv4 and IPv6 addresses and formatted phone numbers (7 to 15 digits with
//!   `+ ( ) - .` or spaces; bare digit strings only where the name says phone). When one kind
//!   covers at least 60% of them it decides the column, over the name when they disagree,
//!   except that phone-shaped values (a weak shape) do not overrule another kind the name
//!   gives. A name that says email, phone or IP address is dropped when fewer than 10% of at
//!   least 3 sampled values fit it (`email` holding `yes`/`no`). Other names stand without
//!   matching values (a national id need not be a US one).
//! - **Free text.** A column named as free text, a JSON column, or one where at least half
//!   the values have three or more words is free text: any email, phone number, social
//!   security number, card number or IBAN found anywhere inside any sampled value makes it
//!   [`PiiKind::FreeText`] and [`Class::Dangerous`]. Without one it is still
//!   [`Class::Sensitive`] free text when people write it (`notes`, `comment`, `message`,
//!   `bio`, ...) or it belongs to a person table (`customer`, `staff`, `users`, ...), and
//!   [`Class::Safe`] otherwise (a product's `description`).
//! - **Minorities.** In a text column neither the name nor the free-text rule decides, a
//!   kind found in at least 20% of the values still makes the column that kind.
//! - **Types.** Booleans and enumerations are safe. Integer and numeric columns are safe
//!   (keys and surrogates included) unless their values are card numbers or their name says
//!   phone (and at least 60% of the values have 7 to 15 digits), national id, card, bank
//!   account, postal code, coordinate or birth year. Dates and timestamps are safe unless named
//!   as a birth date. UUID and byte columns are safe unless named as a secret.
//!
//! # Classes
//!
//! [`Class::Dangerous`]: national ids, card numbers, IBANs and bank accounts, secrets, and
//! free text with any of those or with emails or phones inside. [`Class::Sensitive`]:
//! emails, phones, names, streets, cities, postal codes, birth dates, IP addresses, user
//! names, coordinates, and free text people write. A company is sensitive in a person table
//! (it is the person's employer) and safe elsewhere (a supplier's name is business data).
//!
//! # Suggestions
//!
//! A suggestion is bijective ([`Transform::is_bijective`]) when the column is in the primary
//! key, a unique constraint or a foreign key, so keys stay keys and joins stay joined; it is
//! [`Transform::Null`] only for a nullable column; and it fits the column's type the way the
//! rules file's check wants: text transforms ([`Transform::Fake`], [`Transform::Email`],
//! [`Transform::Phone`], [`Transform::NationalId`], [`Transform::Card`], [`Transform::Iban`],
//! a prefix) on `text` and `varchar` columns only, pseudonymization on anything but dates,
//! JSON and bytes, bands and noise on numbers, noise only in a table with a primary key.
//! Format-preserving transforms are suggested only where at least 95% of the sampled values
//! have the shape (or there is no sample); otherwise [`Transform::NationalId`],
//! [`Transform::Pseudonymize`] or a fake value. Per kind:
//!
//! | kind | suggestion |
//! |---|---|
//! | email | `email` on a key or unique column, else `fake email` |
//! | first, last, full name, street, city, company | `fake` of the kind (`pseudonymize` on a key) |
//! | phone | `phone` with no digit kept (`pseudonymize` on integers) |
//! | national id | `national_id` (`pseudonymize` on integers) |
//! | card number | `card`, issuer's 6 digits kept, Luhn-valid |
//! | IBAN or bank account | `iban` (`national_id` for other account numbers) |
//! | IP address, user name | `pseudonymize` |
//! | postal code | `generalize` to a 3-character prefix (a band of 100 on integers) |
//! | birth date | `generalize` to the year (a band of 10 on a birth year) |
//! | coordinate | `noise` of 0.01 degrees (whole degrees without a primary key) |
//! | secret | `null` if nullable, else the constant `masked` (`pseudonymize` on a key) |
//! | free text | `null` if nullable, else `fake sentence` (a constant for JSON) |
//!
//! A sensitive date, JSON or bytes column in a key or unique constraint has no bijective
//! transform that fits it: its suggestion is [`Transform::Keep`] and its reason says to
//! review it. Database-native types (`postgres:inet`, ...) take `pseudonymize` (or `null` or
//! a constant for secrets and free text).
//!
//! [`Semantic::infer`]: crate::generate::Semantic::infer

mod names;
mod suggest;
#[cfg(test)]
mod tests;
mod values;

use serde::{Deserialize, Serialize};

use super::Transform;
use crate::Value;
use crate::schema::{Column, ColumnType, Table};
use suggest::{key_transform, suggest};
use values::Stats;

/// The share of sampled values of one kind that decides a column's kind.
const MAJORITY: f64 = 0.6;
/// Below this share of fitting values (of at least [`MIN_DISPROOF`]), a name that says email,
/// phone or IP address is wrong.
const DISAGREE: f64 = 0.1;
/// The fewest sampled values that can prove a name wrong.
const MIN_DISPROOF: usize = 3;
/// The share of values of one kind that makes an otherwise undecided text column that kind.
const MINORITY: f64 = 0.2;
/// The share of values with three or more words that makes a column free text.
const FREE_TEXT_SHARE: f64 = 0.5;
/// The share of values that must have a kind's shape for a format-preserving transform.
const FIT: f64 = 0.95;

/// How much a column's values need masking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Nothing personal.
    Safe,
    /// Personal data: a person can be found or recognised from it.
    Sensitive,
    /// Data whose leak does the most harm: identity documents, payment details, secrets.
    Dangerous,
}

impl Class {
    /// The name in reports (`safe`, `sensitive`, `dangerous`).
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Safe => "safe",
            Class::Sensitive => "sensitive",
            Class::Dangerous => "dangerous",
        }
    }
}

/// The kind of personal data a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// A national identifier: social security, tax, passport or driver's license number.
    NationalId,
    /// A payment card number.
    CardNumber,
    /// An IBAN or another bank account number.
    Iban,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A given name.
    FirstName,
    /// A family name.
    LastName,
    /// A person's full name.
    FullName,
    /// A street address line.
    Street,
    /// A city (also a place of birth).
    City,
    /// A postal code.
    Zip,
    /// A date of birth (or a birth year).
    BirthDate,
    /// A user name or login.
    Username,
    /// A password, password hash, token, API key or other credential.
    Secret,
    /// Free text (notes, comments, messages, descriptions).
    FreeText,
    /// A company name.
    Company,
    /// A latitude or longitude.
    GeoPosition,
}

impl PiiKind {
    /// Every kind.
    pub const ALL: [PiiKind; 18] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::NationalId,
        PiiKind::CardNumber,
        PiiKind::Iban,
        PiiKind::IpAddress,
        PiiKind::FirstName,
        PiiKind::LastName,
        PiiKind::FullName,
        PiiKind::Street,
        PiiKind::City,
        PiiKind::Zip,
        PiiKind::BirthDate,
        PiiKind::Username,
        PiiKind::Secret,
        PiiKind::FreeText,
        PiiKind::Company,
        PiiKind::GeoPosition,
    ];

    /// The name in reports and serialized detections (`email`, `card_number`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::NationalId => "national_id",
            PiiKind::CardNumber => "card_number",
            PiiKind::Iban => "iban",
            PiiKind::IpAddress => "ip_address",
            PiiKind::FirstName => "first_name",
            PiiKind::LastName => "last_name",
            PiiKind::FullName => "full_name",
            PiiKind::Street => "street",
            PiiKind::City => "city",
            PiiKind::Zip => "zip",
            PiiKind::BirthDate => "birth_date",
            PiiKind::Username => "username",
            PiiKind::Secret => "secret",
            PiiKind::FreeText => "free_text",
            PiiKind::Company => "company",
            PiiKind::GeoPosition => "geo_position",
        }
    }

    /// The kind in a sentence (`a name says <label>`).
    fn label(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone number",
            PiiKind::NationalId => "national id",
            PiiKind::CardNumber => "card number",
            PiiKind::Iban => "IBAN or bank account",
            PiiKind::IpAddress => "IP address",
            PiiKind::FirstName => "first name",
            PiiKind::LastName => "last name",
            PiiKind::FullName => "full name",
            PiiKind::Street => "street address",
            PiiKind::City => "city",
            PiiKind::Zip => "postal code",
            PiiKind::BirthDate => "birth date",
            PiiKind::Username => "user name",
            PiiKind::Secret => "secret",
            PiiKind::FreeText => "free text",
            PiiKind::Company => "company",
            PiiKind::GeoPosition => "geographic position",
        }
    }

    /// Values of the kind's shape, in a sentence (`12% of 50 sampled values are <plural>`).
    fn values_label(self) -> &'static str {
        match self {
            PiiKind::Email => "emails",
            PiiKind::Phone => "phone numbers",
            PiiKind::NationalId => "national ids",
            PiiKind::CardNumber => "Luhn-valid card numbers",
            PiiKind::Iban => "valid IBANs",
            PiiKind::IpAddress => "IP addresses",
            _ => "of that kind",
        }
    }

    /// Whether values of the kind have a shape the sample is matched against.
    fn has_shape(self) -> bool {
        values::VALUE_KINDS.contains(&self)
    }

    /// The class of a column holding the kind, in a table of people or not.
    fn class(self, person_table: bool) -> Class {
        match self {
            PiiKind::NationalId
            | PiiKind::CardNumber
            | PiiKind::Iban
            | PiiKind::Secret
            | PiiKind::FreeText => Class::Dangerous,
            PiiKind::Company if !person_table => Class::Safe,
            _ => Class::Sensitive,
        }
    }
}

/// What detection found in one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// How harmful a leak of the column would be.
    pub class: Class,
    /// What personal data it holds; `None` when nothing personal was found.
    pub kind: Option<PiiKind>,
    /// Why, in one sentence that names kinds and counts but never a sampled value.
    pub reason: String,
    /// A transform to start from: bijective on key, unique and foreign-key columns, and
    /// [`Transform::Null`] only on nullable ones.
    pub suggested: Transform,
}

/// Classifies a column of `table` from its name, its type and a sample of its values
/// (NULLs included or not; at most 5,000 non-NULL values are read). See the
/// [module documentation](self) for the rules.
pub fn classify(table: &Table, column: &Column, sample: &[Value]) -> Detection {
    let name = column.name.as_str();
    let keyed = table.primary_key.iter().any(|c| c == name)
        || table.unique.iter().any(|u| u.iter().any(|c| c == name))
        || table
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.iter().any(|c| c == name));
    let ty = Ty::of(&column.ty);
    let st = Stats::of(sample);
    let found = Reading {
        column,
        ty,
        st: &st,
        named: names::name_kind(&table.name, name),
        person: names::is_person_table(&table.name),
        key: table.primary_key.iter().any(|c| c == name)
            || table
                .foreign_keys
                .iter()
                .any(|fk| fk.columns.iter().any(|c| c == name)),
    }
    .decide();
    let suggested = if found.class == Class::Safe {
        Transform::Keep
    } else {
        suggest(found.kind, table, column, ty, keyed, found.fits)
    };
    // The two promises of a suggestion, whatever the rules above chose.
    let suggested = if (keyed && !suggested.is_bijective())
        || (suggested == Transform::Null && !column.nullable)
    {
        key_transform(ty)
    } else {
        suggested
    };
    let mut reason = found.reason;
    if found.class != Class::Safe && suggested == Transform::Keep {
        reason.push_str(
            "; kept, as no transform of its type keeps a key's or unique column's values \
             distinct: review it",
        );
    }
    Detection {
        class: found.class,
        kind: found.kind,
        reason,
        suggested,
    }
}

/// What a column's type allows, for detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Text,
    Json,
    Bytes,
    Int,
    Numeric,
    Bool,
    Enum,
    Temporal,
    Uuid,
}

impl Ty {
    fn of(ty: &ColumnType) -> Ty {
        match ty {
            ColumnType::Text | ColumnType::Varchar(_) => Ty::Text,
            ColumnType::Native { name, .. } => {
                let n = name.to_ascii_lowercase();
                if ["double", "float", "real", "money"]
                    .iter()
                    .any(|p| n.starts_with(p))
                {
                    Ty::Numeric
                } else {
                    Ty::Text
                }
            }
            ColumnType::Json => Ty::Json,
            ColumnType::Bytes => Ty::Bytes,
            ColumnType::Integer | ColumnType::BigInt | ColumnType::SizedInt { .. } => Ty::Int,
            ColumnType::Numeric { .. } => Ty::Numeric,
            ColumnType::Boolean => Ty::Bool,
            ColumnType::Enum { .. } => Ty::Enum,
            ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz => Ty::Temporal,
            ColumnType::Uuid => Ty::Uuid,
        }
    }
}

/// What [`Reading::decide`] found.
struct Found {
    class: Class,
    kind: Option<PiiKind>,
    reason: String,
    /// Whether the values fit the kind's format-preserving transform.
    fits: bool,
}

/// One column being read.
struct Reading<'a> {
    column: &'a Column,
    ty: Ty,
    st: &'a Stats,
    /// What the name says.
    named: Option<PiiKind>,
    /// Whether the table's rows are people.
    person: bool,
    /// Whether the column is in the primary key or a foreign key.
    key: bool,
}

impl Reading<'_> {
    fn decide(&self) -> Found {
        if !matches!(self.ty, Ty::Bool | Ty::Enum)
            && let Some(found) = self.by_majority()
        {
            return found;
        }
        match self.ty {
            Ty::Bool => self.safe("a boolean column".into()),
            Ty::Enum => self.safe("an enumeration column".into()),
            Ty::Int | Ty::Numeric => self.number(),
            Ty::Temporal => match self.named {
                Some(PiiKind::BirthDate) => self.kind(PiiKind::BirthDate, self.name_says()),
                _ => self.safe("a date or time column not named as a birth date".into()),
            },
            Ty::Uuid | Ty::Bytes => match self.named {
                Some(PiiKind::Secret) => self.kind(PiiKind::Secret, self.name_says()),
                _ if self.key => self.safe("a key column".into()),
                _ if self.ty == Ty::Uuid => self.safe("a UUID column".into()),
                _ => self.safe("a bytes column not named as a secret".into()),
            },
            Ty::Text | Ty::Json => self.text(),
        }
    }

    /// A kind most values have.
    fn by_majority(&self) -> Option<Found> {
        let (v, c) = self.st.top(MAJORITY)?;
        let accept = match self.named {
            None | Some(PiiKind::FreeText) => true,
            Some(n) => n == v || v != PiiKind::Phone,
        };
        if !accept {
            return None;
        }
        let values = self.share_text(c, v.values_label());
        let reason = match self.named {
            Some(n) if n == v => format!("name says {}; {values}", n.label()),
            Some(n) => format!("name says {} but {values}", n.label()),
            None => values,
        };
        Some(self.kind(v, reason))
    }

    /// An integer or numeric column.
    fn number(&self) -> Found {
        use PiiKind::*;
        match self.named {
            Some(Phone) => {
                let c = self.st.phone_loose;
                let values = self.share_text(c, "numbers of phone length");
                if self.st.n == 0 || self.st.share(c) >= MAJORITY {
                    let reason = if self.st.n == 0 {
                        self.name_says()
                    } else {
                        format!("name says phone number; {values}")
                    };
                    self.kind(Phone, reason)
                } else {
                    self.safe(format!("name says phone number but only {values}"))
                }
            }
            Some(k @ (NationalId | CardNumber | Iban | Zip | GeoPosition | BirthDate)) => {
                self.kind(k, self.name_says())
            }
            Some(k) => self.safe(format!(
                "name says {} but the column holds numbers",
                k.label()
            )),
            None if self.key => self.safe("a key column of numbers".into()),
            None => self.safe("a number column whose name says nothing personal".into()),
        }
    }

    /// A text or JSON column no majority decided.
    fn text(&self) -> Found {
        let mut kind = self.named;
        let mut prefix = None;
        if let Some(k @ (PiiKind::Email | PiiKind::Phone | PiiKind::IpAddress)) = kind {
            let c = self.st.fitting(k);
            if self.st.n >= MIN_DISPROOF && self.st.share(c) < DISAGREE {
                prefix = Some(format!(
                    "name says {} but only {}",
                    k.label(),
                    self.share_text(c, k.values_label())
                ));
                kind = None;
            }
        }
        match kind {
            Some(PiiKind::FreeText) => self.free_text(true, prefix),
            Some(k) => {
                let reason = if k.has_shape() && self.st.n > 0 {
                    format!(
                        "name says {}; {}",
                        k.label(),
                        self.share_text(self.st.fitting(k), k.values_label())
                    )
                } else {
                    self.name_says()
                };
                self.kind(k, reason)
            }
            None => self.free_text(false, prefix),
        }
    }

    /// A text column named as free text (`named`), or one nothing else decided.
    fn free_text(&self, named: bool, prefix: Option<String>) -> Found {
        let st = self.st;
        let join = |rest: String| match &prefix {
            Some(p) => format!("{p}; {rest}"),
            None => rest,
        };
        let shaped = st.n > 0 && st.share(st.multiword) >= FREE_TEXT_SHARE;
        if named || self.ty == Ty::Json || shaped {
            let why = if named {
                "name says free text".to_owned()
            } else if self.ty == Ty::Json {
                "a JSON column".to_owned()
            } else {
                self.share_text(st.multiword, "free text")
            };
            if st.with_embedded > 0 {
                let verb = if st.with_embedded == 1 {
                    "contains"
                } else {
                    "contain"
                };
                let reason = format!(
                    "{why}; {} of {} {verb} {}",
                    st.with_embedded,
                    self.sampled(),
                    st.embedded_labels().join(", ")
                );
                return Found {
                    class: Class::Dangerous,
                    kind: Some(PiiKind::FreeText),
                    reason: join(reason),
                    fits: false,
                };
            }
            let clean = if st.n == 0 {
                "no sample to check".to_owned()
            } else {
                format!(
                    "no email, phone, card, national id or IBAN in {}",
                    self.sampled()
                )
            };
            if named && (self.person || names::is_written_by_people(&self.column.name)) {
                let whose = if self.person {
                    "about a person"
                } else {
                    "written by people"
                };
                return Found {
                    class: Class::Sensitive,
                    kind: Some(PiiKind::FreeText),
                    reason: join(format!("{why}, {whose}; {clean}")),
                    fits: false,
                };
            }
            return self.safe(join(format!("{why}; {clean}")));
        }
        if let Some((v, c)) = st.top(MINORITY) {
            let mut found = self.kind(v, join(self.share_text(c, v.values_label())));
            found.fits = false;
            return found;
        }
        self.safe(join(if st.n == 0 {
            "nothing in its name says personal data; no sample to check".to_owned()
        } else {
            format!("nothing personal in its name or in {}", self.sampled())
        }))
    }

    /// The column holds `kind`.
    fn kind(&self, kind: PiiKind, reason: String) -> Found {
        let st = self.st;
        let fits = st.n == 0 || !kind.has_shape() || st.share(st.fitting(kind)) >= FIT;
        let class = kind.class(self.person);
        let reason = if class == Class::Safe {
            format!("{reason}; a company outside a table of people is business data")
        } else {
            reason
        };
        Found {
            class,
            kind: Some(kind),
            reason,
            fits,
        }
    }

    fn safe(&self, reason: String) -> Found {
        Found {
            class: Class::Safe,
            kind: None,
            reason,
            fits: true,
        }
    }

    /// `name says <kind>`, with a note when there is no sample.
    fn name_says(&self) -> String {
        let k = self.named.map_or("nothing", PiiKind::label);
        if self.st.n == 0 {
            format!("name says {k}; no sample to check")
        } else {
            format!("name says {k}")
        }
    }

    /// `<n> sampled values`.
    fn sampled(&self) -> String {
        match self.st.n {
            1 => "1 sampled value".to_owned(),
            n => format!("{n} sampled values"),
        }
    }

    /// `<p>% of <n> sampled values are <what>`.
    fn share_text(&self, count: usize, what: &str) -> String {
        let n = self.st.n;
        if n == 0 {
            return "no sample to check".to_owned();
        }
        let pct = count * 100 / n;
        let verb = if n == 1 { "is" } else { "are" };
        format!("{pct}% of {} {verb} {what}", self.sampled())
    }
}
