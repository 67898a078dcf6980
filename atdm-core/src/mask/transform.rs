//! The transforms: what each [`Transform`] makes of one value, under one [`MaskKey`].
//!
//! A [`Masker`] holds the key's subkeys (derived once, in [`Masker::new`]) and the
//! [`Locale`] fake values are drawn in. [`Masker::apply`] is a pure function of the key, the
//! transform, the column, the value and (for [`Transform::Shift`] and [`Transform::Noise`])
//! the row's entity: the same inputs give the same output in any process, on any machine and
//! in any thread.
//!
//! NULL stays NULL under every transform. Errors name the table, the column and what to
//! change; they never show the value.
//!
//! | transform | output |
//! |---|---|
//! | `pseudonymize` | integers: a keyed permutation of `1..=max` (positive), `min..=-1` (negative) of the column's range, 0 stays 0; text: the character-class preserving bijection (digits stay digits, ASCII letters stay letters of the same case, every other character in place, so a `varchar(n)` still fits); numerics: a permutation of the numbers with as many digits (sign, scale and digit count kept, no leading zero appears); UUIDs: the 122 bits beside the version and variant enciphered |
//! | `fake` | a realistic value of the locale drawn by a random stream seeded with the keyed hash of the value's text, cut to `varchar(n)` |
//! | `email` | the local part and every domain label but the last through the text bijection |
//! | `phone` | the digits after the first `keep_digits` through the digit bijection |
//! | `national_id` | the text bijection |
//! | `card` | the digits between the kept prefix and the check digit enciphered, the Luhn check digit recomputed |
//! | `iban` | the account part through the text bijection, the check digits recomputed |
//! | `shift` | dates and timestamps moved by a keyed number of days of the row's entity |
//! | `generalize` | month, year, text prefix or number band |
//! | `noise` | numbers moved by a keyed amount of the table, column and row's entity |

use std::fmt;
use std::hash::Hasher as _;

use chrono::{Datelike, NaiveDate, NaiveTime, TimeDelta};
use fake::locales::{Data, EN};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::fpe::{self, Prf, Select, Tweak};
use super::{FakeKind, Generalization, MaskError, MaskKey, Transform, text_form};
use crate::Value;
use crate::generate::{CellRng, Locale, name_hash, push_num};
use crate::schema::{Column, ColumnType};

/// The row a value is masked in.
#[derive(Debug, Clone, Copy)]
pub struct RowContext<'a> {
    /// The values naming the row's entity (primary key, or the `by` column of a shift).
    pub entity: &'a [Value],
}

/// Applies transforms under one key.
///
/// Built once per masking job: [`Masker::new`] derives every subkey, so [`Masker::apply`]
/// allocates nothing but the output value. Its `Debug` shows neither the key nor a subkey.
#[derive(Clone)]
pub struct Masker {
    key: MaskKey,
    locale: Locale,
    /// Texts, and every part of emails, phones, ids, cards and IBANs.
    text: Tweak,
    /// Positive integers.
    int_pos: Tweak,
    /// Negative integers.
    int_neg: Tweak,
    /// Numerics.
    numeric: Tweak,
    /// UUIDs.
    uuid: Tweak,
    /// The seeds of fake values.
    fake: Prf,
    /// The day offsets of entities.
    shift: Prf,
    /// The noise of rows.
    noise: Prf,
}

impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Masker")
            .field("key", &self.key)
            .field("locale", &self.locale)
            .finish_non_exhaustive()
    }
}

/// The largest value of a numeric's mantissa (96 bits).
const MANTISSA_MAX: u128 = (1 << 96) - 1;

impl Masker {
    /// A masker keyed with `key`, drawing fake values of `locale`.
    pub fn new(key: MaskKey, locale: Locale) -> Masker {
        let fpe = Prf::new(&key.subkey("fpe"));
        Masker {
            text: Tweak::new(&fpe, b"text"),
            int_pos: Tweak::new(&fpe, b"int+"),
            int_neg: Tweak::new(&fpe, b"int-"),
            numeric: Tweak::new(&fpe, b"numeric"),
            uuid: Tweak::new(&fpe, b"uuid"),
            fake: Prf::new(&key.subkey("fake")),
            shift: Prf::new(&key.subkey("shift")),
            noise: Prf::new(&key.subkey("noise")),
            key,
            locale,
        }
    }

    /// The key.
    pub fn key(&self) -> &MaskKey {
        &self.key
    }

    /// `value` of `table`.`column` under `transform`.
    ///
    /// NULL gives NULL under every transform (a constant too). An error says which
    /// transform does not apply to the column's values, and what to use instead; it never
    /// holds the value.
    pub fn apply(
        &self,
        transform: &Transform,
        table: &str,
        column: &Column,
        value: &Value,
        row: RowContext<'_>,
    ) -> Result<Value, MaskError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let text = |f: &dyn Fn(&str) -> String| match value {
            Value::Text(s) => Ok(Value::Text(f(s))),
            other => Err(not_text(transform.name(), other)),
        };
        let out = match transform {
            Transform::Keep => Ok(value.clone()),
            Transform::Null => Ok(Value::Null),
            Transform::Constant { value } => Ok(value.clone()),
            Transform::Pseudonymize => self.pseudonymize(column, value),
            Transform::Fake { kind } => text(&|s| self.fake(*kind, &column.ty, s)),
            Transform::Email => text(&|s| self.email(s)),
            Transform::Phone { keep_digits } => text(&|s| self.phone(s, *keep_digits)),
            Transform::NationalId => text(&|s| self.text_bijection(s)),
            Transform::Card { keep_digits, luhn } => text(&|s| self.card(s, *keep_digits, *luhn)),
            Transform::Iban => text(&|s| self.iban(s)),
            Transform::Shift { days, .. } => self.shift(*days, value, row),
            Transform::Generalize { to } => generalize(*to, column, value),
            Transform::Noise { bound, percent } => {
                self.noise(*bound, *percent, table, column, value, row)
            }
        };
        out.map_err(|message| MaskError::Value {
            table: table.to_owned(),
            column: column.name.clone(),
            message,
        })
    }

    fn pseudonymize(&self, column: &Column, value: &Value) -> Result<Value, String> {
        match value {
            Value::Int(x) => {
                let (min, max) = column.ty.int_range().unwrap_or((i64::MIN, i64::MAX));
                self.pseudo_int(*x, min, max)
                    .map(Value::Int)
                    .ok_or_else(|| {
                        format!(
                            "pseudonymize: a value lies outside the range {min}..={max} of the \
                         column's type {}; correct the column's type in the schema",
                            column.ty
                        )
                    })
            }
            Value::Text(s) => Ok(Value::Text(self.text_bijection(s))),
            Value::Numeric(d) => Ok(Value::Numeric(self.pseudo_numeric(*d))),
            Value::Uuid(u) => Ok(Value::Uuid(self.pseudo_uuid(*u))),
            other => {
                let hint = match other {
                    Value::Date(_) | Value::Timestamp(_) | Value::TimestampTz(_) => {
                        "use shift or generalize"
                    }
                    _ => "use keep, null or constant",
                };
                Err(format!(
                    "pseudonymize does not apply to {} column; {hint}",
                    with_article(other.kind())
                ))
            }
        }
    }

    /// An integer of `min..=max` (which holds 0) through the keyed permutation of its sign
    /// class; `None` outside the range.
    fn pseudo_int(&self, x: i64, min: i64, max: i64) -> Option<i64> {
        if x < min || x > max {
            return None;
        }
        match x {
            0 => Some(0),
            1.. => {
                let n = max as u128;
                Some(self.int_pos.encrypt(n, (x - 1) as u128) as i64 + 1)
            }
            _ => {
                let n = i128::from(min).unsigned_abs();
                let m = i128::from(x).unsigned_abs() - 1;
                Some((-(self.int_neg.encrypt(n, m) as i128) - 1) as i64)
            }
        }
    }

    /// A numeric through the permutation of the mantissas with its number of digits (its
    /// sign and scale in the tweak): the output has the same sign, scale and digit count, so
    /// the same text shape and precision.
    fn pseudo_numeric(&self, d: Decimal) -> Decimal {
        let m = d.mantissa();
        if m == 0 {
            return d;
        }
        let a = m.unsigned_abs();
        let digits = a.ilog10();
        let lo = 10u128.pow(digits);
        let hi = 10u128
            .checked_pow(digits + 1)
            .map_or(MANTISSA_MAX, |p| (p - 1).min(MANTISSA_MAX));
        let mut t = self.numeric;
        t.write(&[u8::from(m < 0), d.scale() as u8]);
        let x = a - lo;
        let y = if (1..=27).contains(&digits) {
            // [10^digits, 10^(digits+1)) is a leading digit 1..=9 and `digits` digits: the
            // pair network on 9 * 10^j by 10^(digits - j) values.
            let j = digits / 2;
            let (a, b) = (9 * 10u64.pow(j), 10u64.pow(digits - j));
            let (h, l) = if x <= u128::from(u64::MAX) {
                let x = x as u64;
                t.encrypt_pair(a, b, x / b, x % b)
            } else {
                t.encrypt_pair(a, b, (x / u128::from(b)) as u64, (x % u128::from(b)) as u64)
            };
            lo + u128::from(h) * u128::from(b) + u128::from(l)
        } else {
            lo + t.encrypt(hi - lo + 1, x)
        };
        let signed = if m < 0 { -(y as i128) } else { y as i128 };
        Decimal::try_from_i128_with_scale(signed, d.scale()).unwrap_or(d)
    }

    /// A UUID with its version nibble and variant bits kept and the other 122 bits
    /// enciphered.
    fn pseudo_uuid(&self, u: Uuid) -> Uuid {
        const LOW62: u128 = (1 << 62) - 1;
        const KEEP: u128 = (0xF << 76) | (0b11 << 62);
        let x = u.as_u128();
        let packed = ((x >> 80) << 74) | (((x >> 64) & 0xFFF) << 62) | (x & LOW62);
        let y = self.uuid.encrypt_bits(122, packed);
        let out = ((y >> 74) << 80) | (((y >> 62) & 0xFFF) << 64) | (y & LOW62) | (x & KEEP);
        Uuid::from_u128(out)
    }

    /// The character-class preserving bijection of a text.
    fn text_bijection(&self, s: &str) -> String {
        self.crypt(s.as_bytes().to_vec(), Select::ALL)
    }

    /// `buf` (UTF-8) with the selected characters enciphered, as a string.
    fn crypt(&self, mut buf: Vec<u8>, sel: Select) -> String {
        fpe::encrypt_text(&self.text, &mut buf, sel);
        into_string(buf)
    }

    /// The local part and every domain label but the last through the text bijection.
    fn email(&self, s: &str) -> String {
        let Some(at) = s.rfind('@') else {
            return self.text_bijection(s);
        };
        let mut buf = s.as_bytes().to_vec();
        let (local, domain) = buf.split_at_mut(at);
        fpe::encrypt_text(&self.text, local, Select::ALL);
        let domain = &mut domain[1..];
        if let Some(tld) = domain.iter().rposition(|&b| b == b'.') {
            for label in domain[..tld].split_mut(|&b| b == b'.') {
                fpe::encrypt_text(&self.text, label, Select::ALL);
            }
        }
        into_string(buf)
    }

    /// The digits after the first `keep` through the digit bijection (at least one digit
    /// changes when there are any).
    fn phone(&self, s: &str, keep: u32) -> String {
        let m = digit_count(s);
        let keep = (keep as usize).min(m.saturating_sub(1));
        self.crypt(s.as_bytes().to_vec(), Select::digits(keep, usize::MAX))
    }

    /// A card number: the digits after the first `keep` enciphered; with `luhn`, all but the
    /// last, which becomes the Luhn check digit of the new number plus the source's distance
    /// from its own check digit (0 for a valid number), so valid numbers stay valid and the
    /// map stays a bijection on invalid ones too.
    fn card(&self, s: &str, keep: u32, luhn: bool) -> String {
        let m = digit_count(s);
        if !luhn || m < 2 {
            let keep = (keep as usize).min(m.saturating_sub(1));
            return self.crypt(s.as_bytes().to_vec(), Select::digits(keep, usize::MAX));
        }
        let keep = (keep as usize).min(m - 2);
        let mut buf = s.as_bytes().to_vec();
        let last = buf.iter().rposition(u8::is_ascii_digit).unwrap_or(0);
        let check = |buf: &[u8]| {
            fpe::luhn_check_digit(
                buf[..last]
                    .iter()
                    .filter(|b| b.is_ascii_digit())
                    .map(|b| b - b'0'),
            )
        };
        let delta = (buf[last] - b'0' + 10 - check(&buf)) % 10;
        // The check digit is not part of the tweak: the output's is computed afresh.
        buf[last] = b'0';
        fpe::encrypt_text(&self.text, &mut buf, Select::digits(keep, m - 1));
        buf[last] = b'0' + (check(&buf) + delta) % 10;
        into_string(buf)
    }

    /// An IBAN: the country code kept, the account part through the text bijection, the
    /// check digits those of the new account plus the source's distance from its own (0 for
    /// a valid IBAN). A value not shaped like an IBAN (ASCII, two letters, two digits, at
    /// least one more letter or digit) goes through the text bijection, which keeps it
    /// unshaped, so the map stays a bijection.
    fn iban(&self, s: &str) -> String {
        let b = s.as_bytes();
        let mut alnum = b
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_alphanumeric());
        let mut head = [0usize; 5];
        let mut found = 0;
        for (slot, (i, _)) in head.iter_mut().zip(&mut alnum) {
            *slot = i;
            found += 1;
        }
        let shaped = s.is_ascii()
            && found == 5
            && b[head[0]].is_ascii_alphabetic()
            && b[head[1]].is_ascii_alphabetic()
            && b[head[2]].is_ascii_digit()
            && b[head[3]].is_ascii_digit();
        if !shaped {
            return self.text_bijection(s);
        }
        let country = [b[head[0]], b[head[1]]];
        let bban = |buf: &[u8]| {
            let rest: Vec<u8> = buf[head[4]..]
                .iter()
                .copied()
                .filter(u8::is_ascii_alphanumeric)
                .collect();
            fpe::iban_check_digits(country, rest.into_iter())
        };
        let given = (b[head[2]] - b'0') * 10 + (b[head[3]] - b'0');
        let delta = (given + 100 - bban(b)) % 100;
        let mut buf = b.to_vec();
        // The check digits are not part of the tweak: the output's are computed afresh.
        buf[head[2]] = b'0';
        buf[head[3]] = b'0';
        let sel = Select {
            letters: true,
            skip: 4,
            end: usize::MAX,
        };
        fpe::encrypt_text(&self.text, &mut buf, sel);
        let check = (bban(&buf) + delta) % 100;
        buf[head[2]] = b'0' + check / 10;
        buf[head[3]] = b'0' + check % 10;
        into_string(buf)
    }

    /// A fake value of `kind` for the text `s`: the same text gives the same value in every
    /// table and column.
    fn fake(&self, kind: FakeKind, ty: &ColumnType, s: &str) -> String {
        let h = self.fake.hash(s.as_bytes());
        let mut rng = CellRng::new(h as u64, (h >> 64) as u64, 0, name_hash(kind.as_str()));
        let l = self.locale;
        let mut out = String::new();
        match kind {
            FakeKind::FirstName => out.push_str(rng.word(l.first_names())),
            FakeKind::LastName => out.push_str(rng.word(l.last_names())),
            FakeKind::FullName => {
                let (first, last) = (rng.word(l.first_names()), rng.word(l.last_names()));
                let (a, b) = if l.family_name_first() {
                    (last, first)
                } else {
                    (first, last)
                };
                out.push_str(a);
                out.push(' ');
                out.push_str(b);
            }
            FakeKind::Email | FakeKind::Username => {
                let (first, last) = (rng.word(l.first_names()), rng.word(l.last_names()));
                let (mut a, mut b) = (String::new(), String::new());
                Locale::ascii_name(first, &mut a);
                Locale::ascii_name(last, &mut b);
                let sep = if kind == FakeKind::Email { '.' } else { '_' };
                match (a.is_empty(), b.is_empty()) {
                    (false, false) => {
                        out.push_str(&a);
                        out.push(sep);
                        out.push_str(&b);
                    }
                    (false, true) => out.push_str(&a),
                    (true, false) => out.push_str(&b),
                    (true, true) => out.push_str("user"),
                }
                push_num(&mut out, rng.below(1000), 0);
                if kind == FakeKind::Email {
                    out.push('@');
                    out.push_str(rng.word(&["example.com", "example.net", "example.org"]));
                }
            }
            FakeKind::Phone => l.phone(&mut rng, &mut out),
            FakeKind::Street => l.street(&mut rng, &mut out),
            FakeKind::City => {
                let region = rng.pick(l.regions());
                l.city(region, &mut rng, &mut out);
            }
            FakeKind::Zip => {
                let region = rng.pick(l.regions());
                l.zip(region, &mut rng, &mut out);
            }
            FakeKind::Company => l.company(&mut rng, &mut out),
            FakeKind::Sentence => {
                let words = 4 + rng.below(5);
                for i in 0..words {
                    let w = rng.word(EN::LOREM_WORD);
                    if i == 0 {
                        let mut cs = w.chars();
                        out.extend(cs.next().map(|c| c.to_ascii_uppercase()));
                        out.push_str(cs.as_str());
                    } else {
                        out.push(' ');
                        out.push_str(w);
                    }
                }
                out.push('.');
            }
        }
        if let ColumnType::Varchar(n) = ty {
            fit(&mut out, *n as usize, kind == FakeKind::Email);
        }
        out
    }

    /// The entity's offset in days: in `-days..=days`, never 0.
    fn shift_days(&self, days: u32, entity: &[Value]) -> i64 {
        let h = entity_hash(&self.shift, &[], entity);
        let d = u64::from(days);
        let idx = ((u128::from(h as u64) * u128::from(2 * d)) >> 64) as i64;
        let d = d as i64;
        if idx < d { idx - d } else { idx - d + 1 }
    }

    fn shift(&self, days: u32, value: &Value, row: RowContext<'_>) -> Result<Value, String> {
        if days == 0 {
            return Err("shift needs days of at least 1; set days in the rule".into());
        }
        let delta = TimeDelta::try_days(self.shift_days(days, row.entity));
        let out = match value {
            Value::Date(d) => delta.and_then(|t| d.checked_add_signed(t)).map(Value::Date),
            Value::Timestamp(ts) => delta
                .and_then(|t| ts.checked_add_signed(t))
                .map(Value::Timestamp),
            Value::TimestampTz(ts) => delta
                .and_then(|t| ts.checked_add_signed(t))
                .map(Value::TimestampTz),
            Value::Text(_) => {
                return Err(
                    "shift applies to date and timestamp columns, and this one holds \
                            text; declare the column as a date or timestamp in the schema, or \
                            use generalize with prefix"
                        .into(),
                );
            }
            other => {
                return Err(format!(
                    "shift applies to date and timestamp columns, not to {} column; use \
                     noise for numbers",
                    with_article(other.kind())
                ));
            }
        };
        out.ok_or_else(|| {
            "a shifted date falls outside the range of dates ATDM holds; use fewer days".into()
        })
    }

    fn noise(
        &self,
        bound: Option<f64>,
        percent: Option<f64>,
        table: &str,
        column: &Column,
        value: &Value,
        row: RowContext<'_>,
    ) -> Result<Value, String> {
        let (size, relative) = match (bound, percent) {
            (Some(b), None) => (b, false),
            (None, Some(p)) => (p, true),
            _ => {
                return Err(
                    "noise needs exactly one of bound (an absolute change) and percent (a \
                     relative one)"
                        .into(),
                );
            }
        };
        if !size.is_finite() || size < 0.0 {
            let what = if relative { "percent" } else { "bound" };
            return Err(format!(
                "noise needs a {what} that is a finite number of at least 0"
            ));
        }
        let h = entity_hash(&self.noise, &[table, &column.name], row.entity);
        let unit = ((h >> 75) as f64 / ((1u64 << 53) - 1) as f64) * 2.0 - 1.0;
        match value {
            Value::Int(x) => {
                let (min, max) = column.ty.int_range().unwrap_or((i64::MIN, i64::MAX));
                let b = if relative {
                    size / 100.0 * (*x as f64).abs()
                } else {
                    size
                };
                let delta = (unit * b).round() as i128;
                let r = (i128::from(*x) + delta).clamp(i128::from(min), i128::from(max));
                Ok(Value::Int(r as i64))
            }
            Value::Numeric(d) => {
                let (scale, cap) = match column.ty {
                    ColumnType::Numeric { precision, scale } => {
                        (u32::from(scale).min(28), numeric_cap(precision, scale))
                    }
                    _ => (d.scale(), Decimal::MAX),
                };
                let b = if relative {
                    size / 100.0 * (d.mantissa().unsigned_abs() as f64 / pow10(d.scale()))
                } else {
                    size
                };
                let units = (unit * b * pow10(scale)).round().clamp(-7.9e28, 7.9e28) as i128;
                let delta =
                    Decimal::try_from_i128_with_scale(units, scale).unwrap_or(Decimal::ZERO);
                let base = d.round_dp(scale);
                let mut r = base
                    .checked_add(delta)
                    .unwrap_or(if delta.is_sign_negative() {
                        Decimal::MIN
                    } else {
                        Decimal::MAX
                    });
                r = r.clamp(-cap, cap);
                r.rescale(scale);
                Ok(Value::Numeric(r))
            }
            other => Err(format!(
                "noise applies to integer and numeric columns, not to {} column; use shift \
                 for dates",
                with_article(other.kind())
            )),
        }
    }
}

/// A value generalized to `to`.
fn generalize(to: Generalization, column: &Column, value: &Value) -> Result<Value, String> {
    let first = |d: NaiveDate| {
        let month = if to == Generalization::Year {
            1
        } else {
            d.month()
        };
        NaiveDate::from_ymd_opt(d.year(), month, 1).unwrap_or(d)
    };
    match (to, value) {
        (Generalization::Month | Generalization::Year, v) => match v {
            Value::Date(d) => Ok(Value::Date(first(*d))),
            Value::Timestamp(t) => Ok(Value::Timestamp(first(t.date()).and_time(NaiveTime::MIN))),
            Value::TimestampTz(t) => Ok(Value::TimestampTz(
                first(t.date_naive()).and_time(NaiveTime::MIN).and_utc(),
            )),
            other => Err(format!(
                "generalize to month or year applies to date and timestamp columns, not to {} \
                 column; use prefix for text, band for numbers",
                with_article(other.kind())
            )),
        },
        (Generalization::Prefix(n), Value::Text(s)) => Ok(Value::Text(
            s.chars()
                .enumerate()
                .map(|(i, c)| {
                    if i < n as usize {
                        c
                    } else if c.is_ascii_digit() || c.is_numeric() {
                        '0'
                    } else if c.is_alphabetic() {
                        'X'
                    } else {
                        c
                    }
                })
                .collect(),
        )),
        (Generalization::Prefix(_), other) => Err(format!(
            "generalize to a prefix applies to text columns, not to {} column; use band for \
             numbers, month or year for dates",
            with_article(other.kind())
        )),
        (Generalization::Band(0), _) => {
            Err("generalize to a band needs a width of at least 1".into())
        }
        (Generalization::Band(w), Value::Int(x)) => {
            let (min, _) = column.ty.int_range().unwrap_or((i64::MIN, i64::MAX));
            let w = i128::from(w);
            let floor = i128::from(*x).div_euclid(w) * w;
            Ok(Value::Int(floor.max(i128::from(min)) as i64))
        }
        (Generalization::Band(w), Value::Numeric(d)) => {
            let wd = Decimal::from(w);
            let mut floor = d
                .checked_div(wd)
                .and_then(|q| q.floor().checked_mul(wd))
                .unwrap_or(*d);
            if floor > *d {
                floor = floor.checked_sub(wd).unwrap_or(floor);
            }
            if let ColumnType::Numeric { precision, scale } = column.ty {
                floor = floor.max(-numeric_cap(precision, scale));
            }
            floor.rescale(d.scale());
            Ok(Value::Numeric(floor))
        }
        (Generalization::Band(_), other) => Err(format!(
            "generalize to a band applies to integer and numeric columns, not to {} column; \
             use month or year for dates, prefix for text",
            with_article(other.kind())
        )),
    }
}

/// The keyed digest of some names and an entity's values (in their text form), under `prf`.
fn entity_hash(prf: &Prf, names: &[&str], entity: &[Value]) -> u128 {
    let mut h = prf.start();
    for name in names {
        fpe::write_field(&mut h, name.as_bytes());
    }
    h.write(&(entity.len() as u64).to_le_bytes());
    for v in entity {
        match v {
            Value::Text(s) => {
                h.write(&[1]);
                fpe::write_field(&mut h, s.as_bytes());
            }
            other => match text_form(other) {
                Some(t) => {
                    h.write(&[1]);
                    fpe::write_field(&mut h, t.as_bytes());
                }
                None => h.write(&[0]),
            },
        }
    }
    fpe::finish(&h)
}

/// The largest absolute value of a `numeric(precision, scale)`; [`Decimal::MAX`] when
/// `Decimal` holds all of them.
fn numeric_cap(precision: u8, scale: u8) -> Decimal {
    if precision > 28 || scale > precision {
        return Decimal::MAX;
    }
    Decimal::try_from_i128_with_scale(10i128.pow(u32::from(precision)) - 1, u32::from(scale))
        .unwrap_or(Decimal::MAX)
}

/// `10^n` as a float (exact up to 22).
fn pow10(n: u32) -> f64 {
    (0..n).fold(1.0, |p, _| p * 10.0)
}

/// The number of ASCII digits of a text.
fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// A buffer the bijections rewrote (ASCII letters and digits for others) as a string.
fn into_string(buf: Vec<u8>) -> String {
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Cuts `out` to `n` characters; an email loses characters of its local part, not its
/// domain, where the domain fits.
fn fit(out: &mut String, n: usize, email: bool) {
    if out.chars().count() <= n {
        return;
    }
    if email && let Some(at) = out.find('@') {
        let domain = out[at..].chars().count();
        if n > domain {
            let local_end = out[..at]
                .char_indices()
                .nth(n - domain)
                .map_or(at, |(i, _)| i);
            let trimmed = out[..local_end].trim_end_matches(['.', '_']).len().max(1);
            out.replace_range(trimmed..at, "");
            return;
        }
    }
    if let Some((i, _)) = out.char_indices().nth(n) {
        out.truncate(i);
    }
    let end = out.trim_end().len();
    out.truncate(end);
}

/// `a date`, `an integer`.
fn with_article(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

/// The error of a text-only transform on another kind of value.
fn not_text(transform: &str, value: &Value) -> String {
    format!(
        "{transform} applies to text columns only, not to {} column; use pseudonymize, \
         noise, shift or generalize",
        with_article(value.kind())
    )
}

/// The keyed 128-bit digest of a text: SipHash-2-4 under the key's `digest` subkey. Always
/// `Some`.
pub(crate) fn digest_text(key: &MaskKey, text: &str) -> Option<u128> {
    Some(Prf::new(&key.subkey("digest")).hash(text.as_bytes()))
}

#[cfg(test)]
mod tests;
