//! Masking: what `atdm mask` does to each value of a production copy, as pure functions.
//!
//! A rules file ([`Rules`]) says, per column, which [`Transform`] turns a source value into
//! the value the target gets, and which rows to keep ([`Subset`]). Every transform is
//! deterministic under a secret [`MaskKey`]: the same key gives the same output, a different
//! key a different one, and the key is never written anywhere.
//!
//! - [`transform`]: the transforms themselves (keyed pseudonymization that is a bijection,
//!   realistic replacement from ATDM's own generators, format-preserving emails, phones,
//!   national ids, cards and IBANs, date shifts, generalization, noise, null, constants).
//! - [`detect`]: which columns hold personal data, from their name, type and a sample of
//!   their values, with a suggested transform for each.
//! - [`rules`]: the rules file, checked against the schema before anything is read.

pub mod detect;
mod fpe;
pub mod rules;
pub mod transform;

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Value;

pub use detect::{Class, Detection, PiiKind, classify};
pub use rules::{Filter, FilterOp, MaskPlan, Rules, Subset, SubsetRoot, TransactionMode};
pub use transform::{Masker, RowContext};

/// The secret a masking job is keyed with: 32 bytes derived from the text the user gives
/// (`ATDM_MASK_KEY` or `--key-file`). Its `Debug` never shows it.
#[derive(Clone)]
pub struct MaskKey {
    bytes: [u8; 32],
}

/// The fewest characters a key may have.
pub const MIN_KEY_CHARS: usize = 16;

impl MaskKey {
    /// The key derived from `secret` (surrounding white space ignored, so a key file may end
    /// with a newline). A secret shorter than [`MIN_KEY_CHARS`] is refused.
    pub fn from_secret(secret: &str) -> Result<MaskKey, MaskError> {
        let secret = secret.trim();
        if secret.chars().count() < MIN_KEY_CHARS {
            return Err(MaskError::WeakKey {
                chars: secret.chars().count(),
            });
        }
        let mut h = Sha256::new();
        h.update(b"atdm-mask-key-v1\0");
        h.update(secret.as_bytes());
        Ok(MaskKey {
            bytes: h.finalize().into(),
        })
    }

    /// A 16-byte subkey for one purpose (`label`), so that transforms of different kinds
    /// never share a key.
    pub(crate) fn subkey(&self, label: &str) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(self.bytes);
        h.update(label.as_bytes());
        let d = h.finalize();
        let mut k = [0u8; 16];
        k.copy_from_slice(&d[..16]);
        k
    }
}

impl fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MaskKey(..)")
    }
}

/// What a [`Transform::Fake`] replacement is: the kind of realistic value it draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FakeKind {
    /// A given name.
    FirstName,
    /// A family name.
    LastName,
    /// A given and a family name.
    FullName,
    /// An email on a reserved `example.*` domain.
    Email,
    /// A phone number in the locale's format, in the fictional 555-01xx range.
    Phone,
    /// A street address line.
    Street,
    /// A city.
    City,
    /// A postal code.
    Zip,
    /// A company name.
    Company,
    /// A user name.
    Username,
    /// A sentence of filler words, for free text.
    Sentence,
}

impl FakeKind {
    /// Every kind.
    pub const ALL: [FakeKind; 11] = [
        FakeKind::FirstName,
        FakeKind::LastName,
        FakeKind::FullName,
        FakeKind::Email,
        FakeKind::Phone,
        FakeKind::Street,
        FakeKind::City,
        FakeKind::Zip,
        FakeKind::Company,
        FakeKind::Username,
        FakeKind::Sentence,
    ];

    /// The name in rules files (`first_name`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FakeKind::FirstName => "first_name",
            FakeKind::LastName => "last_name",
            FakeKind::FullName => "full_name",
            FakeKind::Email => "email",
            FakeKind::Phone => "phone",
            FakeKind::Street => "street",
            FakeKind::City => "city",
            FakeKind::Zip => "zip",
            FakeKind::Company => "company",
            FakeKind::Username => "username",
            FakeKind::Sentence => "sentence",
        }
    }
}

/// How [`Transform::Generalize`] coarsens a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Generalization {
    /// A date or timestamp to the first day of its month (midnight).
    Month,
    /// A date or timestamp to the first of January of its year (midnight).
    Year,
    /// Text: the first `n` characters kept, every later letter or digit replaced by `0`
    /// (digits) or `X` (letters); other characters kept. A zip `02139` with 3 becomes `02100`.
    Prefix(u32),
    /// A number to the lower bound of its band of this width (an age 37 with 10 becomes 30).
    Band(u64),
}

/// What happens to one column's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "transform", rename_all = "snake_case")]
pub enum Transform {
    /// The value is copied unchanged.
    Keep,
    /// Every value becomes NULL (the column must be nullable).
    Null,
    /// Every non-NULL value becomes this one.
    Constant {
        /// The value, of the column's type.
        value: Value,
    },
    /// A keyed bijection of the value onto a value of the same type and shape: integers stay
    /// integers of the column's width and sign, text keeps its length and each character's
    /// class (digit, lower-case, upper-case letter; anything else is kept), UUIDs stay UUIDs.
    /// The same value gives the same output in every table and column, and two values never
    /// give the same output, so keys and unique columns stay keys and unique.
    Pseudonymize,
    /// A realistic value of `kind` chosen by the keyed hash of the source value (the same
    /// person gets the same fake name everywhere). Not a bijection: two values may collide.
    Fake {
        /// What kind of value.
        kind: FakeKind,
    },
    /// An email's local part and domain labels pseudonymized (kept lengths and character
    /// classes, `@`, dots and the top-level domain kept). A bijection.
    Email,
    /// A phone number's digits pseudonymized, its `+`, spaces, dashes, dots and parentheses
    /// kept, and its first `keep_digits` digits (a country or area code) kept. A bijection.
    Phone {
        /// Leading digits kept as they are.
        #[serde(default)]
        keep_digits: u32,
    },
    /// A national id, account or other identifier: its digits and letters pseudonymized,
    /// separators kept. A bijection.
    NationalId,
    /// A card number: digits pseudonymized with the issuer's first `keep_digits` kept; with
    /// `luhn`, the last digit is recomputed so the number passes the Luhn check.
    Card {
        /// Leading digits (the issuer) kept as they are.
        #[serde(default = "default_card_keep")]
        keep_digits: u32,
        /// Keep Luhn validity (default: yes).
        #[serde(default = "yes")]
        luhn: bool,
    },
    /// An IBAN: the country code kept, the account part pseudonymized, the check digits
    /// recomputed so it stays valid.
    Iban,
    /// A date or timestamp moved by a keyed number of days in `-days..=days` (never 0),
    /// the same for every row of one entity: the value of column `by` (default: the row's
    /// primary key), so intervals inside one entity are kept.
    Shift {
        /// The largest shift in days.
        days: u32,
        /// The column whose value names the entity; `None`: the primary key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// A coarser value (see [`Generalization`]).
    Generalize {
        /// How.
        to: Generalization,
    },
    /// A number moved by a keyed amount of at most `bound` (absolute) or `percent` of itself,
    /// per row, and kept within the column's range and scale.
    Noise {
        /// The largest absolute change.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bound: Option<f64>,
        /// The largest relative change, in percent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        percent: Option<f64>,
    },
}

fn default_card_keep() -> u32 {
    6
}

fn yes() -> bool {
    true
}

impl Transform {
    /// The transform's name in rules files and reports (`pseudonymize`, `fake`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Transform::Keep => "keep",
            Transform::Null => "null",
            Transform::Constant { .. } => "constant",
            Transform::Pseudonymize => "pseudonymize",
            Transform::Fake { .. } => "fake",
            Transform::Email => "email",
            Transform::Phone { .. } => "phone",
            Transform::NationalId => "national_id",
            Transform::Card { .. } => "card",
            Transform::Iban => "iban",
            Transform::Shift { .. } => "shift",
            Transform::Generalize { .. } => "generalize",
            Transform::Noise { .. } => "noise",
        }
    }

    /// Whether two different source values always give two different outputs, so the
    /// transform may stand on a key or a unique column.
    pub fn is_bijective(&self) -> bool {
        matches!(
            self,
            Transform::Keep
                | Transform::Pseudonymize
                | Transform::Email
                | Transform::Phone { .. }
                | Transform::NationalId
                | Transform::Card { .. }
                | Transform::Iban
        )
    }

    /// Whether the output depends only on the source value (not on the row), so that a
    /// foreign key and the key it references stay joined.
    pub fn is_value_only(&self) -> bool {
        !matches!(self, Transform::Shift { .. } | Transform::Noise { .. })
    }
}

/// Why a value or a rules file cannot be masked. Messages name the table and column and say
/// what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MaskError {
    /// The key is too short to be a secret.
    #[error(
        "the masking key has {chars} characters; use at least {MIN_KEY_CHARS} \
         (for example 32 random characters from a password manager)"
    )]
    WeakKey {
        /// Its length.
        chars: usize,
    },
    /// The rules file is malformed or does not fit the schema.
    #[error("{file}: {message}")]
    Rules {
        /// The file (or `rules`).
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A transform cannot apply to a value of this column.
    #[error("{table}.{column}: {message}")]
    Value {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
}

/// A stable 128-bit keyed digest of a value, for verifying that no source value is left in an
/// output without keeping the values themselves. Values are digested in their text form, so a
/// number and the text of it match.
pub fn value_digest(key: &MaskKey, value: &Value) -> Option<u128> {
    transform::digest_text(key, &text_form(value)?)
}

/// The text a value is compared in when looking for leaks; `None` for NULL.
pub fn text_form(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        Value::Json(j) => Some(j.to_string()),
        other => Some(other.to_string()),
    }
}

/// The keyed 128-bit digest of a tuple of values (a key, a foreign key): equal tuples give
/// equal digests, whatever table they are read from.
pub fn tuple_digest(key: &MaskKey, values: &[&Value]) -> u128 {
    let mut text = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            text.push('\u{1f}');
        }
        match text_form(v) {
            Some(t) => text.push_str(&t),
            None => text.push('\u{0}'),
        }
    }
    transform::digest_text(key, &text).unwrap_or(0)
}

/// The keyed 128-bit digest of a text (see [`value_digest`]).
pub fn text_digest(key: &MaskKey, text: &str) -> u128 {
    transform::digest_text(key, text).unwrap_or(0)
}
