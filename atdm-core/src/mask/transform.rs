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
mod tests {
    use std::collections::BTreeSet;
    use std::str::FromStr;

    use chrono::{DateTime, NaiveDateTime, Utc};

    use super::*;
    use crate::mask::fpe::{iban_valid, luhn_valid};

    fn masker(secret: &str) -> Masker {
        Masker::new(MaskKey::from_secret(secret).unwrap(), Locale::En)
    }

    fn m() -> Masker {
        masker("correct horse battery staple")
    }

    fn col(ty: ColumnType) -> Column {
        Column::new("c", ty)
    }

    const NO_ROW: RowContext<'static> = RowContext { entity: &[] };

    fn run(m: &Masker, t: &Transform, ty: ColumnType, v: Value) -> Result<Value, MaskError> {
        m.apply(t, "t", &col(ty), &v, NO_ROW)
    }

    fn ok(m: &Masker, t: &Transform, ty: ColumnType, v: impl Into<Value>) -> Value {
        run(m, t, ty, v.into()).unwrap()
    }

    fn text(m: &Masker, t: &Transform, s: &str) -> String {
        match ok(m, t, ColumnType::Text, s) {
            Value::Text(s) => s,
            other => panic!("{other:?}"),
        }
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn all_transforms() -> Vec<Transform> {
        vec![
            Transform::Keep,
            Transform::Null,
            Transform::Constant {
                value: Value::from("x"),
            },
            Transform::Pseudonymize,
            Transform::Fake {
                kind: FakeKind::Email,
            },
            Transform::Email,
            Transform::Phone { keep_digits: 2 },
            Transform::NationalId,
            Transform::Card {
                keep_digits: 6,
                luhn: true,
            },
            Transform::Iban,
            Transform::Shift { days: 30, by: None },
            Transform::Generalize {
                to: Generalization::Month,
            },
            Transform::Generalize {
                to: Generalization::Band(10),
            },
            Transform::Generalize {
                to: Generalization::Prefix(2),
            },
            Transform::Noise {
                bound: Some(5.0),
                percent: None,
            },
            Transform::Noise {
                bound: None,
                percent: None,
            },
            Transform::Shift { days: 0, by: None },
        ]
    }

    #[test]
    fn null_stays_null_under_every_transform() {
        let m = m();
        for t in all_transforms() {
            assert_eq!(
                ok(&m, &t, ColumnType::Text, Value::Null),
                Value::Null,
                "{t:?}"
            );
        }
    }

    #[test]
    fn keep_null_and_constant() {
        let m = m();
        assert_eq!(
            ok(&m, &Transform::Keep, ColumnType::Text, "a"),
            Value::from("a")
        );
        assert_eq!(ok(&m, &Transform::Null, ColumnType::Text, "a"), Value::Null);
        let c = Transform::Constant {
            value: Value::Int(7),
        };
        assert_eq!(ok(&m, &c, ColumnType::Integer, 3), Value::Int(7));
    }

    #[test]
    fn integers_keep_their_sign_class_and_range_as_a_bijection() {
        let m = m();
        let tiny = ColumnType::SizedInt {
            bits: 8,
            unsigned: false,
        };
        let mut seen = BTreeSet::new();
        for x in -128..=127i64 {
            let Value::Int(y) = ok(&m, &Transform::Pseudonymize, tiny.clone(), x) else {
                panic!()
            };
            assert!((-128..=127).contains(&y));
            assert_eq!(y.signum(), x.signum(), "{x} -> {y}");
            assert!(seen.insert(y));
        }
        let utiny = ColumnType::SizedInt {
            bits: 8,
            unsigned: true,
        };
        let mut seen = BTreeSet::new();
        for x in 0..=255i64 {
            let Value::Int(y) = ok(&m, &Transform::Pseudonymize, utiny.clone(), x) else {
                panic!()
            };
            assert!((0..=255).contains(&y));
            assert!(seen.insert(y));
        }
        assert_eq!(seen.len(), 256);
        // Not the identity, and the extremes of 64 bits stay in range.
        let moved = (1..100i64)
            .filter(|&x| ok(&m, &Transform::Pseudonymize, ColumnType::Integer, x) != Value::Int(x))
            .count();
        assert!(moved > 95);
        for x in [i64::MIN, i64::MIN + 1, -1, 1, i64::MAX] {
            let Value::Int(y) = ok(&m, &Transform::Pseudonymize, ColumnType::BigInt, x) else {
                panic!()
            };
            assert_eq!(y.signum(), x.signum());
        }
        let Value::Int(y) = ok(&m, &Transform::Pseudonymize, ColumnType::Integer, 123_456) else {
            panic!()
        };
        assert!((1..=i64::from(i32::MAX)).contains(&y));
        assert_eq!(
            ok(&m, &Transform::Pseudonymize, ColumnType::Integer, 0),
            Value::Int(0)
        );
        let e = run(&m, &Transform::Pseudonymize, utiny, Value::Int(-5)).unwrap_err();
        assert!(e.to_string().contains("0..=255"), "{e}");
    }

    #[test]
    fn same_key_same_output_other_key_other_output() {
        let (a, a2, b) = (m(), m(), masker("another secret of some length"));
        let t = Transform::Pseudonymize;
        let mut differ = 0;
        for i in 0..200 {
            let s = format!("Customer {i} <c{i}@mail.example.com>");
            let x = text(&a, &t, &s);
            assert_eq!(x, text(&a2, &t, &s));
            differ += usize::from(x != text(&b, &t, &s));
            let n = ok(&a, &t, ColumnType::BigInt, i64::from(i) * 1_000_003);
            assert_eq!(n, ok(&a2, &t, ColumnType::BigInt, i64::from(i) * 1_000_003));
        }
        assert!(differ > 195, "{differ}");
        // Same value, same output in any table and column.
        let v = Value::from("Ada Lovelace");
        let c1 = Column::new("name", ColumnType::Text);
        let c2 = Column::new("other", ColumnType::Varchar(40));
        assert_eq!(
            a.apply(&t, "t1", &c1, &v, NO_ROW).unwrap(),
            a.apply(&t, "t2", &c2, &v, NO_ROW).unwrap()
        );
    }

    #[test]
    fn text_keeps_length_classes_and_case_insensitive_uniqueness() {
        let m = m();
        let t = Transform::Pseudonymize;
        let s = "Élodie O'Brien-Smith, 42 rue X";
        let out = match ok(&m, &t, ColumnType::Varchar(30), s) {
            Value::Text(o) => o,
            other => panic!("{other:?}"),
        };
        assert_eq!(out.chars().count(), s.chars().count());
        assert_ne!(out, s);
        for (a, b) in s.chars().zip(out.chars()) {
            assert_eq!(a.is_ascii_digit(), b.is_ascii_digit());
            assert_eq!(a.is_ascii_uppercase(), b.is_ascii_uppercase());
            assert_eq!(a.is_ascii_lowercase(), b.is_ascii_lowercase());
            if !a.is_ascii_alphanumeric() {
                assert_eq!(a, b);
            }
        }
        let lower = text(&m, &t, "smith@example.com");
        let upper = text(&m, &t, "SMITH@EXAMPLE.COM");
        assert_eq!(lower.to_ascii_uppercase(), upper);
        let mut seen = BTreeSet::new();
        for i in 0..2000 {
            assert!(seen.insert(text(&m, &t, &format!("user{i:04}")).to_ascii_lowercase()));
        }
    }

    #[test]
    fn uuids_keep_version_and_variant() {
        let m = m();
        let mut seen = BTreeSet::new();
        for i in 0..500u128 {
            let u = Uuid::from_u128(i.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
            let u = uuid::Builder::from_u128(u.as_u128())
                .with_version(uuid::Version::Random)
                .with_variant(uuid::Variant::RFC4122)
                .into_uuid();
            let Value::Uuid(out) = ok(
                &m,
                &Transform::Pseudonymize,
                ColumnType::Uuid,
                Value::Uuid(u),
            ) else {
                panic!()
            };
            assert_ne!(out, u);
            assert_eq!(out.get_version_num(), 4);
            assert_eq!(out.get_variant(), uuid::Variant::RFC4122);
            assert!(seen.insert(out));
        }
        let nil = ok(
            &m,
            &Transform::Pseudonymize,
            ColumnType::Uuid,
            Value::Uuid(Uuid::nil()),
        );
        assert_eq!(
            nil,
            ok(
                &m,
                &Transform::Pseudonymize,
                ColumnType::Uuid,
                Value::Uuid(Uuid::nil())
            )
        );
    }

    #[test]
    fn numerics_keep_sign_scale_and_digit_count() {
        let m = m();
        let ty = ColumnType::Numeric {
            precision: 6,
            scale: 2,
        };
        let mut seen = BTreeSet::new();
        for i in -3000..3000i64 {
            let d = Decimal::new(i * 7, 2);
            let Value::Numeric(out) =
                ok(&m, &Transform::Pseudonymize, ty.clone(), Value::Numeric(d))
            else {
                panic!()
            };
            assert_eq!(out.scale(), 2);
            assert_eq!(out.is_sign_negative(), d.is_sign_negative() && !d.is_zero());
            assert_eq!(out.to_string().len(), d.to_string().len(), "{d} -> {out}");
            assert!(seen.insert(out), "{d} -> {out} twice");
        }
        for s in ["0.00", "79228162514264337593543950335", "-1.5", "0.001"] {
            let Value::Numeric(out) = ok(
                &m,
                &Transform::Pseudonymize,
                ColumnType::Text,
                Value::Numeric(dec(s)),
            ) else {
                panic!()
            };
            assert_eq!(out.to_string().len(), s.len(), "{s} -> {out}");
        }
    }

    #[test]
    fn types_pseudonymize_cannot_take_are_errors() {
        let m = m();
        for v in [
            Value::Bool(true),
            Value::Date(date("2020-01-02")),
            Value::Json(serde_json::json!({"a": 1})),
            Value::Bytes(vec![1, 2]),
        ] {
            let e = run(&m, &Transform::Pseudonymize, ColumnType::Text, v).unwrap_err();
            assert!(matches!(e, MaskError::Value { .. }));
            assert!(
                e.to_string()
                    .starts_with("t.c: pseudonymize does not apply"),
                "{e}"
            );
        }
        let e = run(
            &m,
            &Transform::Pseudonymize,
            ColumnType::Date,
            Value::Date(date("2020-01-02")),
        )
        .unwrap_err();
        assert!(e.to_string().contains("use shift or generalize"), "{e}");
    }

    #[test]
    fn fake_values_are_realistic_stable_and_fit() {
        for locale in Locale::ALL {
            let m = Masker::new(MaskKey::from_secret("a sixteen+ char key").unwrap(), locale);
            for kind in FakeKind::ALL {
                let t = Transform::Fake { kind };
                let a = text(&m, &t, "Grace Hopper");
                let c2 = Column::new("other", ColumnType::Text);
                let b = m
                    .apply(&t, "elsewhere", &c2, &Value::from("Grace Hopper"), NO_ROW)
                    .unwrap();
                assert_eq!(Value::Text(a.clone()), b, "{locale} {kind:?}");
                assert!(!a.is_empty(), "{locale} {kind:?}");
                assert_ne!(a, "Grace Hopper");
                match kind {
                    FakeKind::Email => {
                        assert!(a.is_ascii(), "{a}");
                        let (_, domain) = a.split_once('@').unwrap();
                        assert!(
                            ["example.com", "example.net", "example.org"].contains(&domain),
                            "{a}"
                        );
                    }
                    FakeKind::Phone => assert!(a.contains("555-01"), "{a}"),
                    FakeKind::Sentence => assert!(a.ends_with('.') && a.contains(' '), "{a}"),
                    _ => {}
                }
                for n in [0, 1, 5, 14] {
                    let Value::Text(s) = ok(&m, &t, ColumnType::Varchar(n), "Grace Hopper") else {
                        panic!()
                    };
                    assert!(s.chars().count() <= n as usize, "{s} > {n}");
                }
            }
        }
        let m = m();
        let t = Transform::Fake {
            kind: FakeKind::Email,
        };
        let Value::Text(s) = ok(&m, &t, ColumnType::Varchar(15), "someone") else {
            panic!()
        };
        assert!(s.contains("@example."), "{s}");
        let names: BTreeSet<String> = (0..50)
            .map(|i| {
                text(
                    &m,
                    &Transform::Fake {
                        kind: FakeKind::FirstName,
                    },
                    &format!("p{i}"),
                )
            })
            .collect();
        assert!(names.len() > 20);
        let e = run(&m, &t, ColumnType::Integer, Value::Int(4)).unwrap_err();
        assert!(e.to_string().contains("text columns only"), "{e}");
    }

    #[test]
    fn emails_keep_at_dots_and_top_level_domain() {
        let m = m();
        let a = text(&m, &Transform::Email, "jane.doe+news@mail.Example.co.uk");
        assert!(a.ends_with(".uk"));
        assert_eq!(a.matches('.').count(), 4);
        let (local, domain) = a.split_once('@').unwrap();
        assert_eq!(local.len(), "jane.doe+news".len());
        assert!(local.contains('+'));
        assert_ne!(local, "jane.doe+news");
        let labels: Vec<&str> = domain.split('.').collect();
        assert_eq!(labels[2].len(), 2);
        assert_ne!(labels[0], "mail");
        assert!(labels[1].starts_with(|c: char| c.is_ascii_uppercase()));
        // The same domain maps the same way whatever the local part.
        let b = text(&m, &Transform::Email, "x@mail.Example.co.uk");
        assert_eq!(b.split_once('@').unwrap().1, domain);
        // No @: the text bijection.
        assert_eq!(
            text(&m, &Transform::Email, "not an email"),
            text(&m, &Transform::Pseudonymize, "not an email")
        );
        let mut seen = BTreeSet::new();
        for i in 0..500 {
            assert!(seen.insert(text(&m, &Transform::Email, &format!("u{i}@x{}.com", i % 7))));
        }
        assert_eq!(
            text(&m, &Transform::Email, "a@localhost")
                .split_once('@')
                .unwrap()
                .1,
            "localhost"
        );
    }

    #[test]
    fn phones_keep_leading_digits_and_separators() {
        let m = m();
        let t = Transform::Phone { keep_digits: 3 };
        let s = "+49 (30) 1234-5678";
        let out = text(&m, &t, s);
        assert!(out.starts_with("+49 (3"), "{out}");
        assert_eq!(out.len(), s.len());
        for (a, b) in s.chars().zip(out.chars()) {
            assert_eq!(a.is_ascii_digit(), b.is_ascii_digit());
            if !a.is_ascii_digit() {
                assert_eq!(a, b);
            }
        }
        assert_ne!(out, s);
        // Short numbers still change a digit.
        let short = text(&m, &Transform::Phone { keep_digits: 9 }, "12");
        assert!(short.starts_with('1'));
    }

    #[test]
    fn cards_keep_the_issuer_and_stay_luhn_valid() {
        let m = m();
        let t = Transform::Card {
            keep_digits: 6,
            luhn: true,
        };
        for s in [
            "4111 1111 1111 1111",
            "5500-0000-0000-0004",
            "378282246310005",
            "6011111111111117",
        ] {
            assert!(luhn_valid(s));
            let out = text(&m, &t, s);
            assert!(luhn_valid(&out), "{s} -> {out}");
            assert_eq!(out.len(), s.len());
            let digits = |x: &str| x.bytes().filter(u8::is_ascii_digit).collect::<Vec<_>>();
            assert_eq!(digits(&out)[..6], digits(s)[..6]);
            assert_ne!(out, s);
        }
        // A bijection on valid numbers and on invalid ones alike; invalid stay invalid.
        let mut seen = BTreeSet::new();
        for i in 0..2000u64 {
            let s = format!("411111{i:09}");
            let out = text(&m, &t, &s);
            assert_eq!(luhn_valid(&s), luhn_valid(&out), "{s} -> {out}");
            assert!(seen.insert(out));
        }
        let plain = Transform::Card {
            keep_digits: 4,
            luhn: false,
        };
        let out = text(&m, &plain, "1234567890");
        assert!(out.starts_with("1234"));
        assert_ne!(out, "1234567890");
        assert_eq!(text(&m, &t, "n/a"), "n/a");
    }

    #[test]
    fn ibans_stay_valid_and_keep_the_country() {
        let m = m();
        for s in [
            "GB82WEST12345698765432",
            "DE89370400440532013000",
            "GB82 WEST 1234 5698 7654 32",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
        ] {
            let out = text(&m, &Transform::Iban, s);
            assert!(iban_valid(&out), "{s} -> {out}");
            assert_eq!(out[..2], s[..2]);
            assert_eq!(out.len(), s.len());
            assert_eq!(
                out.match_indices(' ').collect::<Vec<_>>(),
                s.match_indices(' ').collect::<Vec<_>>()
            );
            assert_ne!(out[4..], s[4..]);
        }
        // Invalid check digits stay invalid by the same distance: still a bijection.
        let mut seen = BTreeSet::new();
        for c in 0..100 {
            let s = format!("DE{c:02}370400440532013000");
            let out = text(&m, &Transform::Iban, &s);
            assert_eq!(iban_valid(&s), iban_valid(&out));
            assert!(seen.insert(out));
        }
        // Not an IBAN: the text bijection.
        assert_eq!(
            text(&m, &Transform::Iban, "unknown"),
            text(&m, &Transform::Pseudonymize, "unknown")
        );
    }

    #[test]
    fn shifts_keep_intervals_within_an_entity() {
        let m = m();
        let t = Transform::Shift { days: 30, by: None };
        let c = col(ColumnType::Date);
        let mut offsets = BTreeSet::new();
        for id in 0..300i64 {
            let entity = [Value::Int(id)];
            let row = RowContext { entity: &entity };
            let a = date("2020-02-28");
            let b = date("2021-07-04");
            let Value::Date(x) = m.apply(&t, "t", &c, &Value::Date(a), row).unwrap() else {
                panic!()
            };
            let Value::Date(y) = m.apply(&t, "other", &c, &Value::Date(b), row).unwrap() else {
                panic!()
            };
            assert_eq!(y - x, b - a);
            let off = (x - a).num_days();
            assert!(off != 0 && (-30..=30).contains(&off), "{off}");
            offsets.insert(off);
            let ts =
                NaiveDateTime::parse_from_str("2020-02-28 13:14:15", "%Y-%m-%d %H:%M:%S").unwrap();
            let Value::Timestamp(z) = m
                .apply(
                    &t,
                    "t",
                    &col(ColumnType::Timestamp),
                    &Value::Timestamp(ts),
                    row,
                )
                .unwrap()
            else {
                panic!()
            };
            assert_eq!((z - ts).num_seconds(), off * 86_400);
            let tz: DateTime<Utc> = ts.and_utc();
            let Value::TimestampTz(w) = m
                .apply(
                    &t,
                    "t",
                    &col(ColumnType::TimestampTz),
                    &Value::TimestampTz(tz),
                    row,
                )
                .unwrap()
            else {
                panic!()
            };
            assert_eq!((w - tz).num_days(), off);
        }
        assert!(offsets.len() > 50, "{offsets:?}");
        assert!(offsets.iter().any(|&o| o < 0) && offsets.iter().any(|&o| o > 0));
        // The same entity named by text or by number shifts the same way.
        let (e1, e2) = ([Value::Int(7)], [Value::from("7")]);
        let d = Value::Date(date("2020-01-01"));
        assert_eq!(
            m.apply(&t, "a", &c, &d, RowContext { entity: &e1 })
                .unwrap(),
            m.apply(&t, "b", &c, &d, RowContext { entity: &e2 })
                .unwrap()
        );
        let one = Transform::Shift { days: 1, by: None };
        let Value::Date(x) = m
            .apply(&one, "t", &c, &d, RowContext { entity: &e1 })
            .unwrap()
        else {
            panic!()
        };
        assert_eq!((x - date("2020-01-01")).num_days().abs(), 1);
        let e = run(&m, &t, ColumnType::Text, Value::from("2020-01-01")).unwrap_err();
        assert!(e.to_string().contains("holds text"), "{e}");
        let zero = Transform::Shift { days: 0, by: None };
        assert!(run(&m, &zero, ColumnType::Date, d).is_err());
        let far = Transform::Shift {
            days: u32::MAX,
            by: None,
        };
        // Out of the range of dates: an error (never a panic), whichever way it goes.
        for v in [NaiveDate::MAX, NaiveDate::MIN] {
            if let Err(e) = run(&m, &far, ColumnType::Date, Value::Date(v)) {
                assert!(e.to_string().contains("fewer days"), "{e}");
            }
        }
    }

    #[test]
    fn generalization() {
        let m = m();
        let g = |to| Transform::Generalize { to };
        let month = g(Generalization::Month);
        let year = g(Generalization::Year);
        assert_eq!(
            ok(&m, &month, ColumnType::Date, date("2024-02-29")),
            Value::Date(date("2024-02-01"))
        );
        assert_eq!(
            ok(&m, &year, ColumnType::Date, date("2024-02-29")),
            Value::Date(date("2024-01-01"))
        );
        let ts = NaiveDateTime::parse_from_str("2024-05-06 07:08:09", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            ok(&m, &month, ColumnType::Timestamp, Value::Timestamp(ts)),
            Value::Timestamp(date("2024-05-01").and_time(NaiveTime::MIN))
        );
        assert_eq!(
            ok(
                &m,
                &year,
                ColumnType::TimestampTz,
                Value::TimestampTz(ts.and_utc())
            ),
            Value::TimestampTz(date("2024-01-01").and_time(NaiveTime::MIN).and_utc())
        );
        let p = g(Generalization::Prefix(3));
        assert_eq!(ok(&m, &p, ColumnType::Text, "02139"), Value::from("02100"));
        assert_eq!(
            ok(&m, &p, ColumnType::Text, "SW1A 1AA"),
            Value::from("SW1X 0XX")
        );
        assert_eq!(ok(&m, &p, ColumnType::Text, "ab"), Value::from("ab"));
        assert_eq!(
            ok(&m, &p, ColumnType::Text, "東京都千代田区"),
            Value::from("東京都XXXX")
        );
        let band = g(Generalization::Band(10));
        assert_eq!(ok(&m, &band, ColumnType::Integer, 37), Value::Int(30));
        assert_eq!(ok(&m, &band, ColumnType::Integer, -1), Value::Int(-10));
        assert_eq!(ok(&m, &band, ColumnType::Integer, 40), Value::Int(40));
        let tiny = ColumnType::SizedInt {
            bits: 8,
            unsigned: false,
        };
        assert_eq!(
            ok(&m, &g(Generalization::Band(100)), tiny, -128),
            Value::Int(-128)
        );
        assert_eq!(
            ok(&m, &band, ColumnType::Text, Value::Numeric(dec("37.25"))),
            Value::Numeric(dec("30.00"))
        );
        assert_eq!(
            ok(&m, &band, ColumnType::Text, Value::Numeric(dec("-0.5"))),
            Value::Numeric(dec("-10.0"))
        );
        assert!(
            run(
                &m,
                &g(Generalization::Band(0)),
                ColumnType::Integer,
                Value::Int(3)
            )
            .is_err()
        );
        assert!(run(&m, &band, ColumnType::Text, Value::from("x")).is_err());
        assert!(run(&m, &month, ColumnType::Integer, Value::Int(3)).is_err());
        assert!(run(&m, &p, ColumnType::Integer, Value::Int(3)).is_err());
    }

    #[test]
    fn noise_stays_within_bounds_range_and_scale() {
        let m = m();
        let bound = Transform::Noise {
            bound: Some(5.0),
            percent: None,
        };
        let pct = Transform::Noise {
            bound: None,
            percent: Some(10.0),
        };
        let num = ColumnType::Numeric {
            precision: 5,
            scale: 2,
        };
        let c = col(ColumnType::Integer);
        let cn = col(num.clone());
        let mut deltas = BTreeSet::new();
        for id in 0..500i64 {
            let entity = [Value::Int(id)];
            let row = RowContext { entity: &entity };
            let Value::Int(y) = m.apply(&bound, "t", &c, &Value::Int(100), row).unwrap() else {
                panic!()
            };
            assert!((95..=105).contains(&y), "{y}");
            deltas.insert(y - 100);
            assert_eq!(
                m.apply(&bound, "t", &c, &Value::Int(100), row).unwrap(),
                Value::Int(y)
            );
            let Value::Int(z) = m.apply(&pct, "t", &c, &Value::Int(-1000), row).unwrap() else {
                panic!()
            };
            assert!((-1100..=-900).contains(&z), "{z}");
            let Value::Numeric(d) = m
                .apply(&pct, "t", &cn, &Value::Numeric(dec("500.00")), row)
                .unwrap()
            else {
                panic!()
            };
            assert_eq!(d.scale(), 2);
            assert!(d >= dec("450") && d <= dec("550"), "{d}");
            let Value::Numeric(top) = m
                .apply(&bound, "t", &cn, &Value::Numeric(dec("999.99")), row)
                .unwrap()
            else {
                panic!()
            };
            assert!(top <= dec("999.99") && top >= dec("994.99"), "{top}");
        }
        assert!(
            deltas.contains(&-5) && deltas.contains(&5) && deltas.len() == 11,
            "{deltas:?}"
        );
        let tiny = col(ColumnType::SizedInt {
            bits: 8,
            unsigned: true,
        });
        let big = Transform::Noise {
            bound: Some(1e9),
            percent: None,
        };
        for id in 0..50i64 {
            let entity = [Value::Int(id)];
            let Value::Int(y) = m
                .apply(
                    &big,
                    "t",
                    &tiny,
                    &Value::Int(3),
                    RowContext { entity: &entity },
                )
                .unwrap()
            else {
                panic!()
            };
            assert!((0..=255).contains(&y));
        }
        for bad in [
            Transform::Noise {
                bound: None,
                percent: None,
            },
            Transform::Noise {
                bound: Some(1.0),
                percent: Some(1.0),
            },
            Transform::Noise {
                bound: Some(f64::NAN),
                percent: None,
            },
            Transform::Noise {
                bound: Some(-1.0),
                percent: None,
            },
        ] {
            assert!(
                run(&m, &bad, ColumnType::Integer, Value::Int(1)).is_err(),
                "{bad:?}"
            );
        }
        assert!(run(&m, &bound, ColumnType::Text, Value::from("1")).is_err());
        assert!(
            run(
                &m,
                &bound,
                ColumnType::Date,
                Value::Date(date("2020-01-01"))
            )
            .is_err()
        );
    }

    #[test]
    fn no_error_message_shows_the_value() {
        let m = m();
        let values = [
            Value::from("SECRET-9f3e-TEXT 2020-01-01"),
            Value::Int(987_654_321),
            Value::Numeric(dec("123456.789")),
            Value::Bool(true),
            Value::Date(date("1987-06-05")),
            Value::Json(serde_json::json!({"secret": "json-9f3e"})),
            Value::Bytes(b"bytes-9f3e".to_vec()),
            Value::Uuid(Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0)),
        ];
        let mut errors = 0;
        for t in all_transforms() {
            for ty in [ColumnType::Text, ColumnType::Integer, ColumnType::Date] {
                for v in &values {
                    if let Err(e) = run(&m, &t, ty.clone(), v.clone()) {
                        errors += 1;
                        let msg = e.to_string();
                        let shown = text_form(v).unwrap();
                        assert!(!msg.contains(&shown), "{msg} shows {shown}");
                        assert!(!msg.contains("9f3e"), "{msg}");
                    }
                }
            }
        }
        assert!(errors > 50, "{errors}");
        // An out-of-range integer names the range, not the value.
        let e = run(
            &m,
            &Transform::Pseudonymize,
            ColumnType::SizedInt {
                bits: 16,
                unsigned: false,
            },
            Value::Int(987_654_321),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("987654321"), "{e}");
    }

    #[test]
    fn debug_and_digest_keep_the_key_secret() {
        let m = m();
        let d = format!("{m:?}");
        assert!(d.contains("MaskKey(..)") && !d.contains("k0"), "{d}");
        let k = MaskKey::from_secret("correct horse battery staple").unwrap();
        let k2 = MaskKey::from_secret("correct horse battery stapler").unwrap();
        assert_eq!(digest_text(&k, "x"), digest_text(&k, "x"));
        assert_ne!(digest_text(&k, "x"), digest_text(&k, "y"));
        assert_ne!(digest_text(&k, "x"), digest_text(&k2, "x"));
        assert!(digest_text(&k, "").is_some());
    }

    #[test]
    fn outputs_are_pinned_across_platforms_and_versions() {
        // A change here changes every masked value under an existing key: only on purpose.
        let m = m();
        let p = Transform::Pseudonymize;
        assert_eq!(text(&m, &p, "Ada Lovelace"), "Cls Zucjnrgu");
        assert_eq!(
            text(&m, &Transform::Email, "ada@example.com"),
            "azt@vsboqnv.com"
        );
        assert_eq!(
            ok(&m, &p, ColumnType::BigInt, 42),
            Value::Int(8_632_877_779_078_216_295)
        );
        let u = Uuid::from_u128(0x1234_5678_9abc_4def_8234_5678_9abc_def0);
        assert_eq!(
            ok(&m, &p, ColumnType::Uuid, Value::Uuid(u)),
            Value::Uuid(Uuid::from_u128(0xab4e_3997_d354_405a_8661_9920_9b72_a711))
        );
        assert_eq!(
            ok(&m, &p, ColumnType::Text, Value::Numeric(dec("-12345.67"))),
            Value::Numeric(dec("-17198.42"))
        );
    }

    /// `cargo test --release -p atdm-core --lib mask::transform::tests::speed -- --ignored
    /// --nocapture`: the best of five runs of each case, in ns per value.
    #[test]
    #[ignore = "a timing, not a test"]
    fn speed() {
        use std::hint::black_box;
        use std::time::Instant;
        let m = m();
        let p = Transform::Pseudonymize;
        let cases: Vec<(&str, Transform, Column, Value)> = vec![
            (
                "pseudonymize integer",
                p.clone(),
                col(ColumnType::Integer),
                Value::Int(123_456),
            ),
            (
                "pseudonymize bigint",
                p.clone(),
                col(ColumnType::BigInt),
                Value::Int(9_876_543_210),
            ),
            (
                "pseudonymize text, 12 chars",
                p.clone(),
                col(ColumnType::Text),
                Value::from("Ada Lovelace"),
            ),
            (
                "pseudonymize text, 29 chars",
                p.clone(),
                col(ColumnType::Text),
                Value::from("ada.lovelace+work@example.com"),
            ),
            (
                "pseudonymize uuid",
                p.clone(),
                col(ColumnType::Uuid),
                Value::Uuid(Uuid::from_u128(0x1234_5678_9abc_4def_8234_5678_9abc_def0)),
            ),
            (
                "pseudonymize numeric",
                p.clone(),
                col(ColumnType::Text),
                Value::Numeric(dec("12345.67")),
            ),
            (
                "email",
                Transform::Email,
                col(ColumnType::Text),
                Value::from("ada.lovelace@mail.example.com"),
            ),
            (
                "card",
                Transform::Card {
                    keep_digits: 6,
                    luhn: true,
                },
                col(ColumnType::Text),
                Value::from("4111 1111 1111 1111"),
            ),
            (
                "fake full_name",
                Transform::Fake {
                    kind: FakeKind::FullName,
                },
                col(ColumnType::Text),
                Value::from("Ada Lovelace"),
            ),
        ];
        for (name, t, c, v) in &cases {
            let n = 100_000u32;
            let mut best = f64::MAX;
            for _ in 0..5 {
                let start = Instant::now();
                for i in 0..n {
                    let out = match v {
                        Value::Int(x) => {
                            m.apply(t, "t", c, black_box(&Value::Int(x + i64::from(i))), NO_ROW)
                        }
                        other => m.apply(t, "t", c, black_box(other), NO_ROW),
                    };
                    black_box(out.unwrap());
                }
                best = best.min(start.elapsed().as_nanos() as f64 / f64::from(n));
            }
            eprintln!("{name}: {best:.0} ns/op");
        }
    }
}
