//! What a column's values say it holds: small hand-written matchers for the shapes of
//! personal data, and the counts of a sample's values that have each shape.
//!
//! Whole values are matched in this order, the first match counting: a national id (a US
//! social security number `ddd-dd-dddd`, a Brazilian CPF, a French NIR), a card number (13 to 19 digits, optionally grouped by single spaces
//! or dashes, Luhn-valid), an IBAN (two letters, two check digits, 11 to 30 letters and digits,
//! optionally in groups of four, mod-97 valid), an email, an IPv4 or IPv6 address, and a
//! formatted phone number (7 to 15 digits with `+ ( ) - .` or space separators). Inside free
//! text, emails, phone numbers, national ids, card numbers and IBANs are found anywhere in the
//! text.

use super::PiiKind;
use crate::Value;

/// The most non-NULL values of a sample that are looked at.
pub(super) const MAX_SAMPLE: usize = 5000;

/// How many values of a sample contain each kind somewhere in their text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Embedded {
    /// Values with an email in them.
    pub(super) email: usize,
    /// Values with a phone number in them.
    pub(super) phone: usize,
    /// Values with a national id in them.
    pub(super) ssn: usize,
    /// Values with a card number in them.
    pub(super) card: usize,
    /// Values with an IBAN in them.
    pub(super) iban: usize,
}

/// Counts of a sample's non-NULL values by shape.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Stats {
    /// Non-NULL values looked at.
    pub(super) n: usize,
    /// Values that are national ids.
    pub(super) ssn: usize,
    /// Values that are card numbers (text or integers).
    pub(super) card: usize,
    /// Values that are IBANs.
    pub(super) iban: usize,
    /// Values that are emails.
    pub(super) email: usize,
    /// Values that are IPv4 or IPv6 addresses.
    pub(super) ip: usize,
    /// Values that are formatted phone numbers.
    pub(super) phone: usize,
    /// Values that may be phone numbers: formatted ones, and bare strings or integers of 7 to
    /// 15 digits.
    pub(super) phone_loose: usize,
    /// Values of three or more words: free text.
    pub(super) multiword: usize,
    /// Values that contain at least one of the kinds in [`Embedded`].
    pub(super) with_embedded: usize,
    /// Values that contain each kind.
    pub(super) embedded: Embedded,
}

/// The kinds a whole value can be matched as, in the order they are tried.
pub(super) const VALUE_KINDS: [PiiKind; 6] = [
    PiiKind::NationalId,
    PiiKind::CardNumber,
    PiiKind::Iban,
    PiiKind::Email,
    PiiKind::IpAddress,
    PiiKind::Phone,
];

impl Stats {
    /// The counts of the first [`MAX_SAMPLE`] non-NULL values of `sample`.
    pub(super) fn of(sample: &[Value]) -> Stats {
        let mut st = Stats::default();
        for v in sample
            .iter()
            .filter(|v| !matches!(v, Value::Null))
            .take(MAX_SAMPLE)
        {
            st.n += 1;
            match v {
                Value::Text(s) => st.add_text(s),
                Value::Json(serde_json::Value::String(s)) => st.add_text(s),
                Value::Json(doc) => st.add_embedded(&doc.to_string()),
                Value::Bytes(b) => {
                    if let Ok(s) = std::str::from_utf8(b) {
                        st.add_text(s);
                    }
                }
                Value::Int(i) => st.add_int(*i),
                _ => {}
            }
        }
        st
    }

    fn add_text(&mut self, s: &str) {
        let t = s.trim();
        match whole_kind(t) {
            Some(PiiKind::NationalId) => self.ssn += 1,
            Some(PiiKind::CardNumber) => self.card += 1,
            Some(PiiKind::Iban) => self.iban += 1,
            Some(PiiKind::Email) => self.email += 1,
            Some(PiiKind::IpAddress) => self.ip += 1,
            Some(PiiKind::Phone) => self.phone += 1,
            _ => {}
        }
        if is_phone(t, true) {
            self.phone_loose += 1;
        }
        let words = t
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphabetic))
            .count();
        if words >= 3 {
            self.multiword += 1;
        }
        self.add_embedded(t);
    }

    fn add_embedded(&mut self, s: &str) {
        let f = scan(s);
        self.embedded.email += usize::from(f.email);
        self.embedded.phone += usize::from(f.phone);
        self.embedded.ssn += usize::from(f.ssn);
        self.embedded.card += usize::from(f.card);
        self.embedded.iban += usize::from(f.iban);
        if f.email || f.phone || f.ssn || f.card || f.iban {
            self.with_embedded += 1;
        }
    }

    fn add_int(&mut self, i: i64) {
        if i <= 0 {
            return;
        }
        let digits = i.to_string();
        if (13..=19).contains(&digits.len()) && luhn(digits.as_bytes()) {
            self.card += 1;
        }
        if (7..=15).contains(&digits.len()) {
            self.phone_loose += 1;
        }
    }

    /// How many whole values have the shape of `kind` (0 for kinds without a shape).
    pub(super) fn count(&self, kind: PiiKind) -> usize {
        match kind {
            PiiKind::NationalId => self.ssn,
            PiiKind::CardNumber => self.card,
            PiiKind::Iban => self.iban,
            PiiKind::Email => self.email,
            PiiKind::IpAddress => self.ip,
            PiiKind::Phone => self.phone,
            _ => 0,
        }
    }

    /// How many values fit a column named as `kind`: [`Stats::count`], except that bare digit
    /// strings and integers of phone length fit a phone column.
    pub(super) fn fitting(&self, kind: PiiKind) -> usize {
        match kind {
            PiiKind::Phone => self.phone_loose,
            k => self.count(k),
        }
    }

    /// The share of the values (0 to 1) that `count` is; 0 without values.
    pub(super) fn share(&self, count: usize) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            count as f64 / self.n as f64
        }
    }

    /// The whole-value kind most values have, with its count, when it is at least `min_share`
    /// of the values.
    pub(super) fn top(&self, min_share: f64) -> Option<(PiiKind, usize)> {
        let mut best: Option<(PiiKind, usize)> = None;
        for k in VALUE_KINDS {
            let c = self.count(k);
            if c > 0 && best.is_none_or(|(_, b)| c > b) {
                best = Some((k, c));
            }
        }
        best.filter(|&(_, c)| self.share(c) >= min_share)
    }

    /// What the values that contain personal data contain, for a reason.
    pub(super) fn embedded_labels(&self) -> Vec<&'static str> {
        let e = &self.embedded;
        [
            (e.email, "emails"),
            (e.phone, "phone numbers"),
            (e.ssn, "national ids"),
            (e.card, "card numbers"),
            (e.iban, "IBANs"),
        ]
        .into_iter()
        .filter(|&(c, _)| c > 0)
        .map(|(_, l)| l)
        .collect()
    }
}

/// The kind a whole (trimmed) value has, if any.
pub(super) fn whole_kind(s: &str) -> Option<PiiKind> {
    if is_national_id(s) {
        Some(PiiKind::NationalId)
    } else if is_card(s) {
        Some(PiiKind::CardNumber)
    } else if is_iban(s) {
        Some(PiiKind::Iban)
    } else if is_email(s) {
        Some(PiiKind::Email)
    } else if is_ipv4(s) || is_ipv6(s) {
        Some(PiiKind::IpAddress)
    } else if is_phone(s, false) {
        Some(PiiKind::Phone)
    } else {
        None
    }
}

/// An email: a local part of at most 64 characters (letters, digits and
/// ``.!#$%&'*+/=?^_`{|}~-``, no leading, trailing or double dot), `@`, and a domain of at
/// least two dot-separated labels (letters, digits, inner dashes) ending in a top-level
/// domain of two or more letters.
pub(super) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    if local.is_empty()
        || local.chars().count() > 64
        || s.len() > 254
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
        || !local
            .chars()
            .all(|c| c.is_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c))
    {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld = labels[labels.len() - 1];
    labels.iter().all(|l| label_ok(l))
        && tld.chars().count() >= 2
        && tld.chars().all(char::is_alphabetic)
}

/// A US social security number `ddd-dd-dddd` (area not 000 or 666, group not 00, serial
/// not 0000).
pub(super) fn is_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 11 || b[3] != b'-' || b[6] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..3) && digits(4..6) && digits(7..11)) {
        return false;
    }
    &b[0..3] != b"000" && &b[0..3] != b"666" && &b[4..6] != b"00" && &b[7..11] != b"0000"
}

/// A national id of the generators' locales, written as people write it: a US social security
/// number, a Brazilian CPF (`ddd.ddd.ddd-dd`, both check digits right) or a French NIR (15
/// characters, grouped by spaces or not, its key right).
pub(super) fn is_national_id(s: &str) -> bool {
    is_ssn(s) || is_cpf(s) || is_nir(s)
}

/// A Brazilian CPF `ddd.ddd.ddd-dd` whose two mod-11 check digits hold (not one digit
/// repeated).
pub(super) fn is_cpf(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 14 || b[3] != b'.' || b[7] != b'.' || b[11] != b'-' {
        return false;
    }
    let d: Vec<u32> = [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13]
        .iter()
        .map(|&i| b[i])
        .take_while(u8::is_ascii_digit)
        .map(|x| u32::from(x - b'0'))
        .collect();
    if d.len() != 11 || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let check = |n: usize| {
        let sum: u32 = (0..n).map(|i| d[i] * (n as u32 + 1 - i as u32)).sum();
        match sum % 11 {
            0 | 1 => 0,
            r => 11 - r,
        }
    };
    check(9) == d[9] && check(10) == d[10]
}

/// A French NIR (numero de securite sociale): sex (1, 2, 3, 7 or 8), year, month,
/// department (2A and 2B for Corsica), commune, order and a key of `97 - n mod 97`; 15
/// characters, alone or in the groups 1 2 2 2 3 3 2 separated by single spaces.
pub(super) fn is_nir(s: &str) -> bool {
    let compact: String = if s.len() == 15 {
        s.to_owned()
    } else {
        let groups: Vec<&str> = s.split(' ').collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lens != [1, 2, 2, 2, 3, 3, 2] {
            return false;
        }
        groups.concat()
    };
    let b = compact.as_bytes();
    if b.len() != 15 || !matches!(b[0], b'1' | b'2' | b'3' | b'7' | b'8') {
        return false;
    }
    // Corsica's departments count as 19 (2A) and 18 (2B) in the key.
    let body = match &compact[5..7] {
        "2A" | "2a" => format!("{}19{}", &compact[..5], &compact[7..13]),
        "2B" | "2b" => format!("{}18{}", &compact[..5], &compact[7..13]),
        _ => compact[..13].to_owned(),
    };
    let (Ok(n), Ok(key)) = (body.parse::<u64>(), compact[13..].parse::<u64>()) else {
        return false;
    };
    body.bytes().all(|x| x.is_ascii_digit()) && key == 97 - n % 97
}

/// The Luhn check over ASCII digits.
pub(super) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut x = u32::from(d - b'0');
        if i % 2 == 1 {
            x *= 2;
            if x > 9 {
                x -= 9;
            }
        }
        sum += x;
    }
    sum.is_multiple_of(10)
}

/// Card-number digits: 13 to 19, not starting with 0, Luhn-valid.
fn card_digits_ok(d: &[u8]) -> bool {
    (13..=19).contains(&d.len()) && d[0] != b'0' && luhn(d)
}

/// A card number: 13 to 19 digits, optionally grouped by single spaces or dashes,
/// Luhn-valid, not starting with 0.
pub(super) fn is_card(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() || !b[b.len() - 1].is_ascii_digit() {
        return false;
    }
    let mut digits = Vec::with_capacity(19);
    let mut prev_sep = false;
    for &c in b {
        if c.is_ascii_digit() {
            digits.push(c);
            prev_sep = false;
        } else if (c == b' ' || c == b'-') && !prev_sep {
            prev_sep = true;
        } else {
            return false;
        }
    }
    card_digits_ok(&digits)
}

/// A compact IBAN (no spaces): 15 to 34 characters, two upper-case letters, two digits,
/// upper-case letters and digits, and `mod 97 = 1` over the rearranged number.
fn iban_compact_ok(c: &[u8]) -> bool {
    if !(15..=34).contains(&c.len())
        || !c[0].is_ascii_uppercase()
        || !c[1].is_ascii_uppercase()
        || !c[2].is_ascii_digit()
        || !c[3].is_ascii_digit()
        || !c[4..]
            .iter()
            .all(|x| x.is_ascii_uppercase() || x.is_ascii_digit())
    {
        return false;
    }
    let mut r = 0u32;
    for &x in c[4..].iter().chain(&c[..4]) {
        r = if x.is_ascii_digit() {
            (r * 10 + u32::from(x - b'0')) % 97
        } else {
            (r * 100 + u32::from(x - b'A') + 10) % 97
        };
    }
    r == 1
}

/// An IBAN, compact or in groups separated by single spaces, in either case.
pub(super) fn is_iban(s: &str) -> bool {
    if s.len() > 50 || s.contains("  ") {
        return false;
    }
    let compact: Vec<u8> = s
        .bytes()
        .filter(|&b| b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    iban_compact_ok(&compact)
}

/// Strips a CIDR suffix `/n` with `n <= max`; `None` if the suffix is malformed.
fn strip_prefix_len(s: &str, max: u32) -> Option<&str> {
    match s.split_once('/') {
        None => Some(s),
        Some((addr, len)) => {
            let ok = !len.is_empty()
                && len.len() <= 3
                && len.bytes().all(|b| b.is_ascii_digit())
                && len.parse::<u32>().is_ok_and(|n| n <= max);
            ok.then_some(addr)
        }
    }
}

/// A dotted-quad IPv4 address (no leading zeros), optionally with a `/n` prefix length.
pub(super) fn is_ipv4(s: &str) -> bool {
    let Some(s) = strip_prefix_len(s, 32) else {
        return false;
    };
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// The number of 16-bit groups in a colon-separated run of hex groups (an IPv4 tail, where
/// allowed, counts two); `None` if malformed.
fn ipv6_groups(part: &str, v4_tail: bool) -> Option<usize> {
    if part.is_empty() {
        return Some(0);
    }
    let groups: Vec<&str> = part.split(':').collect();
    let mut n = 0;
    for (i, g) in groups.iter().enumerate() {
        if v4_tail && i == groups.len() - 1 && g.contains('.') {
            if !is_ipv4(g) {
                return None;
            }
            n += 2;
        } else if !g.is_empty() && g.len() <= 4 && g.bytes().all(|b| b.is_ascii_hexdigit()) {
            n += 1;
        } else {
            return None;
        }
    }
    Some(n)
}

/// An IPv6 address (full, `::`-compressed, or with an IPv4 tail), optionally with a `/n`
/// prefix length.
pub(super) fn is_ipv6(s: &str) -> bool {
    let Some(s) = strip_prefix_len(s, 128) else {
        return false;
    };
    if s.matches(':').count() < 2 {
        return false;
    }
    match s.split_once("::") {
        Some((head, tail)) => {
            if tail.contains("::") {
                return false;
            }
            match (ipv6_groups(head, false), ipv6_groups(tail, true)) {
                (Some(h), Some(t)) => h + t <= 7,
                _ => false,
            }
        }
        None => ipv6_groups(s, true) == Some(8),
    }
}

/// A phone number: an optional leading `+`, then 7 to 15 digits in groups separated by
/// spaces, dashes, dots or parentheses (`+1 (555) 010-0199`, `0171 5550100`,
/// `555.010.0199`). A single group of bare digits counts only with `bare_digits`. Shapes of
/// other things are refused: dates (`2024-01-31`, `31.01.2024`), decimals (`12345.67`),
/// thousands (`1 234 567`), year ranges (`1990-2005`), US ZIP+4 (`02139-4307`) and social
/// security numbers.
pub(super) fn is_phone(s: &str, bare_digits: bool) -> bool {
    let s = s.trim();
    let (plus, body) = match s.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut groups: Vec<&str> = Vec::new();
    let mut gaps: Vec<&str> = Vec::new();
    let mut lead = "";
    let mut start = None;
    let mut gap_start = 0;
    for (i, c) in body.char_indices() {
        if c.is_ascii_digit() {
            if start.is_none() {
                if groups.is_empty() {
                    lead = &body[..i];
                } else {
                    gaps.push(&body[gap_start..i]);
                }
                start = Some(i);
            }
        } else if matches!(c, ' ' | '-' | '.' | '(' | ')') {
            if let Some(st) = start.take() {
                groups.push(&body[st..i]);
                gap_start = i;
            }
        } else {
            return false;
        }
    }
    match start {
        Some(st) => groups.push(&body[st..]),
        None => return false,
    }
    let digits: usize = groups.iter().map(|g| g.len()).sum();
    if !(7..=15).contains(&digits) || groups.len() > 6 || !(lead.is_empty() || lead == "(") {
        return false;
    }
    let opens = s.matches('(').count();
    if opens != s.matches(')').count() || opens > 1 {
        return false;
    }
    if groups.len() == 1 {
        return plus || bare_digits;
    }
    for g in &gaps {
        let core = g.trim_matches(|c| c == '(' || c == ')').trim();
        if g.len() > 3 || core.len() > 1 || core.contains(['(', ')']) {
            return false;
        }
    }
    if groups[1..].iter().any(|g| g.len() < 2) {
        return false;
    }
    if plus || !lead.is_empty() {
        return true;
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let same_gap = gaps.iter().all(|g| *g == gaps[0]);
    let date =
        same_gap && matches!(gaps[0], "-" | "." | "/") && (lens == [4, 2, 2] || lens == [2, 2, 4]);
    let decimal = groups.len() == 2 && gaps[0] == ".";
    let thousands = same_gap
        && matches!(gaps[0], "." | " ")
        && lens[0] <= 3
        && lens[1..].iter().all(|&l| l == 3);
    let amount = gaps.len() >= 2
        && gaps[gaps.len() - 1] == "."
        && lens[lens.len() - 1] <= 2
        && gaps[..gaps.len() - 1].iter().all(|g| *g != ".");
    let year = |g: &str| g.len() == 4 && (g.starts_with("19") || g.starts_with("20"));
    let years = lens.len() == 2 && gaps[0] == "-" && year(groups[0]) && year(groups[1]);
    let zip4 = lens == [5, 4] && gaps[0] == "-";
    let ssn = lens == [3, 2, 4] && same_gap && gaps[0] == "-";
    !(date || decimal || thousands || amount || years || zip4 || ssn)
}

/// What a text contains.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Found {
    /// An email.
    pub(super) email: bool,
    /// A phone number.
    pub(super) phone: bool,
    /// A national id (see [`is_national_id`]).
    pub(super) ssn: bool,
    /// A card number.
    pub(super) card: bool,
    /// An IBAN.
    pub(super) iban: bool,
}

/// Finds emails, phone numbers, national ids, card numbers and IBANs anywhere in a text.
pub(super) fn scan(text: &str) -> Found {
    let mut f = Found::default();
    if text.len() < 7 {
        return f;
    }
    f.email = text.contains('@')
        && text
            .split(|c: char| c.is_whitespace() || ",;<>()[]{}\"'".contains(c))
            .map(|t| t.trim_end_matches(['.', ':', '!', '?']))
            .map(|t| t.strip_prefix("mailto:").unwrap_or(t))
            .any(is_email);
    let b = text.as_bytes();
    let is_num = |x: u8| x.is_ascii_digit() || x == b'-';
    f.ssn = (0..b.len().saturating_sub(10)).any(|i| {
        (i == 0 || !is_num(b[i - 1]))
            && (i + 11 == b.len() || !is_num(b[i + 11]))
            && std::str::from_utf8(&b[i..i + 11]).is_ok_and(is_ssn)
    });
    f.iban = scan_iban(b);
    // Runs of digits and phone separators, split into candidates.
    let is_run = |c: char| c.is_ascii_digit() || "+-.() ".contains(c);
    for run in text.split(|c: char| !is_run(c)) {
        if !run.bytes().any(|x| x.is_ascii_digit()) {
            continue;
        }
        let run = run
            .trim_start_matches(|c: char| !(c.is_ascii_digit() || c == '+' || c == '('))
            .trim_end_matches(|c: char| !c.is_ascii_digit());
        let card = card_in_run(run);
        f.card |= card;
        let id = is_cpf(run) || is_nir(run);
        f.ssn |= id;
        if !card && !id && !f.phone && !is_ssn(run) {
            f.phone = is_phone(run, false);
        }
    }
    f
}

/// Whether a run of digits and separators holds a card number: some consecutive groups
/// (separated by single spaces or dashes) with 13 to 19 Luhn-valid digits in all.
fn card_in_run(run: &str) -> bool {
    for chunk in run.split(['.', '(', ')', '+']) {
        let groups: Vec<&str> = chunk.split([' ', '-']).collect();
        for i in 0..groups.len() {
            let mut digits: Vec<u8> = Vec::with_capacity(19);
            for g in &groups[i..] {
                if g.is_empty() {
                    break;
                }
                digits.extend_from_slice(g.as_bytes());
                if digits.len() > 19 {
                    break;
                }
                if card_digits_ok(&digits) {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether text bytes hold an IBAN starting at a word boundary, compact or in groups
/// separated by single spaces.
fn scan_iban(b: &[u8]) -> bool {
    for i in 0..b.len().saturating_sub(14) {
        let starts = b[i].is_ascii_uppercase()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if !starts {
            continue;
        }
        let mut compact: Vec<u8> = Vec::with_capacity(34);
        let mut j = i;
        while j < b.len() && compact.len() < 34 {
            let x = b[j];
            if x.is_ascii_uppercase() || x.is_ascii_digit() {
                compact.push(x);
                j += 1;
                let boundary = j == b.len() || !b[j].is_ascii_alphanumeric();
                if boundary && iban_compact_ok(&compact) {
                    return true;
                }
            } else if x == b' ' && j + 1 < b.len() && b[j + 1].is_ascii_alphanumeric() {
                j += 1;
            } else {
                break;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests;
