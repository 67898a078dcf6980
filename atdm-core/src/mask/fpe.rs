//! Format-preserving primitives: keyed bijections that keep a value's shape.
//!
//! - [`Prf`]: SipHash-2-4 with a 128-bit output ([`SipHasher24`]), keyed with a subkey of the
//!   [`MaskKey`](super::MaskKey): the pseudo-random function everything else is built on.
//! - [`Tweak`]: a PRF state that has absorbed a tweak (a label and whatever the permutation
//!   depends on). [`encrypt`](Tweak::encrypt) is a permutation of `[0, n)` for any `n` up to
//!   `2^128 - 1`, [`encrypt_bits`](Tweak::encrypt_bits) one of `[0, 2^bits)` (up to 128 bits),
//!   [`encrypt_pair`](Tweak::encrypt_pair) one of `[0, a) x [0, b)`.
//! - [`encrypt_text`]: a character-class preserving bijection of UTF-8 text in place: digits
//!   stay digits, ASCII letters stay ASCII letters in the case of the source position, every
//!   other character stays where it is.
//! - [`luhn_check_digit`], [`iban_check_digits`]: the check digits of card numbers and IBANs.
//!
//! Every permutation has its inverse (`decrypt*`); masking never deciphers, the tests check
//! that deciphering undoes enciphering.
//!
//! # The round function
//!
//! Round `i` of a network is the PRF of the tweak, the domain, one half (8 bytes,
//! little-endian) and `i` (1 byte): SipHash-2-4-128 of that byte string. The hasher state
//! after the tweak and the domain is computed once per value, so a round costs one
//! compression and the finalization. [`SipHasher24`] keeps its state closed, so the rounds use
//! `Sip`, the same function with its state open (the tests check the two agree), and only
//! finish the 64 output bits a round needs (all 128 when a half has more than `2^32` values).
//!
//! # The binary network
//!
//! A domain `[0, n)` is enciphered by a Feistel network of [`ROUNDS`] rounds over the
//! smallest power of two `2^b >= n`, with cycle walking (a value that lands outside `[0, n)` is
//! enciphered again until it lands inside, so the walk stays a permutation of `[0, n)`; since
//! `2^b < 2n` it takes fewer than two passes on average). The `b` bits are cut into a high
//! half of `ceil(b/2)` bits and a low half of `floor(b/2)` bits (unbalanced when `b` is odd);
//! the rounds XOR the PRF of one half into the other, alternating halves. Integers and UUIDs
//! use it.
//!
//! # The pair network
//!
//! A domain `[0, a) x [0, b)` is enciphered by a Feistel network of modular additions, as
//! NIST's FF1 does: the rounds add the PRF of one half, reduced to the other half's range,
//! to the other half modulo its range. No cycle walking is needed. Texts and numerics use it
//! (their halves are the leading and the trailing digits).
//!
//! # Text
//!
//! The variable positions of a text (digits, and ASCII letters when selected) form a
//! mixed-radix number (radix 10 for a digit, 26 for a letter, case folded). The tweak holds the
//! text's length, every kept byte at its position and the class (digit or letter) of every
//! variable position, but not the letters' case: two texts that differ only in the case of
//! their letters encipher the same number, so they map to two outputs that differ only in the
//! same case (a case-insensitive unique index stays unique). The positions are cut into blocks
//! of at most `2^120` values (25 letters, 36 digits); the tweak of each block also holds its
//! index and the previous block's ciphertext (chaining, as CBC does), so equal blocks in one
//! text do not give equal outputs and the whole map stays a bijection. A block's positions are
//! split into two halves of about equal ranges (each below `2^64`) for the pair network; a
//! block of one position uses the binary network.

use std::fmt;
use std::hash::Hasher as _;

use siphasher::sip128::{Hasher128 as _, SipHasher24};

/// The number of Feistel rounds.
pub(crate) const ROUNDS: u8 = 8;

/// The largest domain one block of text is enciphered in (`2^120`).
const BLOCK_LIMIT: u128 = 1 << 120;

/// The keyed pseudo-random function: SipHash-2-4 with a 128-bit output.
#[derive(Clone, Copy)]
pub(crate) struct Prf {
    hasher: SipHasher24,
    sip: Sip,
}

impl Prf {
    /// The PRF keyed with `key`.
    pub(crate) fn new(key: &[u8; 16]) -> Prf {
        Prf {
            hasher: SipHasher24::new_with_key(key),
            sip: Sip::new(key),
        }
    }

    /// The PRF of `bytes`.
    pub(crate) fn hash(&self, bytes: &[u8]) -> u128 {
        let mut h = self.hasher;
        h.write(bytes);
        finish(&h)
    }

    /// A hasher state to feed several inputs into (finish it with [`finish`]).
    pub(crate) fn start(&self) -> SipHasher24 {
        self.hasher
    }
}

impl fmt::Debug for Prf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Prf(..)")
    }
}

/// The 128-bit output of a hasher state, the same on every platform.
pub(crate) fn finish(h: &SipHasher24) -> u128 {
    u128::from_le_bytes(h.finish128().as_bytes())
}

/// Writes `bytes` preceded by their length, so that consecutive fields cannot run into each
/// other.
pub(crate) fn write_field(h: &mut SipHasher24, bytes: &[u8]) {
    h.write(&(bytes.len() as u64).to_le_bytes());
    h.write(bytes);
}

/// SipHash-2-4 with a 128-bit output, as [`SipHasher24`] computes it, with its state open so
/// that the Feistel rounds can start from a state that has absorbed the tweak and finish the
/// first 64 bits of the output only. The tests check it against [`SipHasher24`].
#[derive(Clone, Copy)]
struct Sip {
    v: [u64; 4],
    /// Bytes absorbed.
    len: u64,
    /// Bytes not yet absorbed (fewer than 8), little-endian.
    tail: u64,
    ntail: u32,
}

impl Sip {
    fn new(key: &[u8; 16]) -> Sip {
        let mut k = [0u8; 8];
        k.copy_from_slice(&key[..8]);
        let k0 = u64::from_le_bytes(k);
        k.copy_from_slice(&key[8..]);
        let k1 = u64::from_le_bytes(k);
        Sip {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d ^ 0xee,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            len: 0,
            tail: 0,
            ntail: 0,
        }
    }

    #[inline(always)]
    fn sip_round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    #[inline(always)]
    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        Self::sip_round(&mut self.v);
        Self::sip_round(&mut self.v);
        self.v[0] ^= m;
    }

    fn write(&mut self, mut bytes: &[u8]) {
        self.len = self.len.wrapping_add(bytes.len() as u64);
        while self.ntail != 0 {
            let Some((&b, rest)) = bytes.split_first() else {
                return;
            };
            self.tail |= u64::from(b) << (8 * self.ntail);
            self.ntail = (self.ntail + 1) % 8;
            if self.ntail == 0 {
                self.compress(self.tail);
                self.tail = 0;
            }
            bytes = rest;
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut m = [0u8; 8];
            m.copy_from_slice(w);
            self.compress(u64::from_le_bytes(m));
        }
        for (i, &b) in words.remainder().iter().enumerate() {
            self.tail |= u64::from(b) << (8 * i);
        }
        self.ntail = words.remainder().len() as u32;
    }

    /// Absorbs the 8 bytes of `w` (little-endian) into an aligned state.
    #[inline]
    fn write_word(&mut self, w: u64) {
        debug_assert_eq!(self.ntail, 0);
        self.len = self.len.wrapping_add(8);
        self.compress(w);
    }

    /// Zero bytes up to a multiple of 8 absorbed.
    fn align(&mut self) {
        if self.ntail != 0 {
            self.write(&[0u8; 8][self.ntail as usize..]);
        }
    }

    /// The first 64 bits of the 128-bit output, with the final block `b` absorbed.
    #[inline(always)]
    fn finish_h1(v: &mut [u64; 4], b: u64) -> u64 {
        v[3] ^= b;
        Self::sip_round(v);
        Self::sip_round(v);
        v[0] ^= b;
        v[2] ^= 0xee;
        for _ in 0..4 {
            Self::sip_round(v);
        }
        v[0] ^ v[1] ^ v[2] ^ v[3]
    }

    /// The 128-bit output: the first 64 bits low, as [`finish`] orders them.
    #[cfg(test)]
    fn finish128(&self) -> u128 {
        let mut v = self.v;
        let h1 = Self::finish_h1(&mut v, (self.len << 56) | self.tail);
        v[1] ^= 0xdd;
        for _ in 0..4 {
            Self::sip_round(&mut v);
        }
        let h2 = v[0] ^ v[1] ^ v[2] ^ v[3];
        u128::from(h1) | (u128::from(h2) << 64)
    }

    /// Both halves of the output after the 8 bytes of `half` and the byte `r` (the state
    /// must be aligned).
    #[inline]
    fn round_output128(&self, half: u64, r: u8) -> (u64, u64) {
        debug_assert_eq!(self.ntail, 0);
        let mut s = *self;
        s.compress(half);
        let b = (self.len.wrapping_add(9) << 56) | u64::from(r);
        let h1 = Self::finish_h1(&mut s.v, b);
        s.v[1] ^= 0xdd;
        for _ in 0..4 {
            Self::sip_round(&mut s.v);
        }
        (h1, s.v[0] ^ s.v[1] ^ s.v[2] ^ s.v[3])
    }

    /// The first 64 bits of the output after the 8 bytes of `half` and the byte `r` (the
    /// state must be aligned).
    #[inline]
    fn round_output(&self, half: u64, r: u8) -> u64 {
        debug_assert_eq!(self.ntail, 0);
        let mut s = *self;
        s.compress(half);
        let b = (self.len.wrapping_add(9) << 56) | u64::from(r);
        Self::finish_h1(&mut s.v, b)
    }
}

/// A PRF state that has absorbed a tweak: a family of permutations, one per domain size.
#[derive(Clone, Copy)]
pub(crate) struct Tweak {
    state: Sip,
}

impl fmt::Debug for Tweak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tweak(..)")
    }
}

impl Tweak {
    /// The tweak `label` under `prf`; more may be written into it with [`Tweak::write`].
    pub(crate) fn new(prf: &Prf, label: &[u8]) -> Tweak {
        let mut state = prf.sip;
        state.write(&(label.len() as u64).to_le_bytes());
        state.write(label);
        state.align();
        Tweak { state }
    }

    /// Adds `bytes` to the tweak. The caller keeps the sequence of writes unambiguous (fixed
    /// widths, or lengths first).
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.state.write(bytes);
    }

    /// The permutation of `[0, n)` applied to `x` (`x < n`; `n` of 0 or 1 gives `x`).
    pub(crate) fn encrypt(&self, n: u128, x: u128) -> u128 {
        debug_assert!(n == 0 || x < n, "x outside the domain");
        if n <= 1 {
            return x;
        }
        let bits = 128 - (n - 1).leading_zeros();
        let rounds = self.domain(0x01, n);
        let mut y = x;
        loop {
            y = feistel(&rounds, bits, y, true);
            if y < n {
                return y;
            }
        }
    }

    /// The inverse of [`Tweak::encrypt`].
    pub(crate) fn decrypt(&self, n: u128, y: u128) -> u128 {
        debug_assert!(n == 0 || y < n, "y outside the domain");
        if n <= 1 {
            return y;
        }
        let bits = 128 - (n - 1).leading_zeros();
        let rounds = self.domain(0x01, n);
        let mut x = y;
        loop {
            x = feistel(&rounds, bits, x, false);
            if x < n {
                return x;
            }
        }
    }

    /// The permutation of `[0, 2^bits)` applied to `x` (`bits` in `0..=128`).
    pub(crate) fn encrypt_bits(&self, bits: u32, x: u128) -> u128 {
        debug_assert!(bits <= 128);
        if bits == 0 {
            return x;
        }
        feistel(&self.domain(0x02, u128::from(bits)), bits, x, true)
    }

    /// The inverse of [`Tweak::encrypt_bits`] (masking never deciphers; the tests do).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn decrypt_bits(&self, bits: u32, y: u128) -> u128 {
        debug_assert!(bits <= 128);
        if bits == 0 {
            return y;
        }
        feistel(&self.domain(0x02, u128::from(bits)), bits, y, false)
    }

    /// The permutation of `[0, a) x [0, b)` applied to `(hi, lo)`: a Feistel network of
    /// modular additions (as NIST's FF1 uses), one half in `[0, a)`, the other in `[0, b)`.
    pub(crate) fn encrypt_pair(&self, a: u64, b: u64, mut hi: u64, mut lo: u64) -> (u64, u64) {
        debug_assert!(hi < a && lo < b);
        let rounds = self.pair_domain(a, b);
        for r in 0..ROUNDS {
            if r.is_multiple_of(2) {
                hi = add_mod(hi, pair_round(&rounds, r, lo, a), a);
            } else {
                lo = add_mod(lo, pair_round(&rounds, r, hi, b), b);
            }
        }
        (hi, lo)
    }

    /// The inverse of [`Tweak::encrypt_pair`].
    pub(crate) fn decrypt_pair(&self, a: u64, b: u64, mut hi: u64, mut lo: u64) -> (u64, u64) {
        debug_assert!(hi < a && lo < b);
        let rounds = self.pair_domain(a, b);
        for r in (0..ROUNDS).rev() {
            if r.is_multiple_of(2) {
                hi = add_mod(hi, a - pair_round(&rounds, r, lo, a), a);
            } else {
                lo = add_mod(lo, b - pair_round(&rounds, r, hi, b), b);
            }
        }
        (hi, lo)
    }

    fn pair_domain(&self, a: u64, b: u64) -> Sip {
        let mut s = self.state;
        s.align();
        s.write_word(0x03);
        s.write_word(a);
        s.write_word(b);
        s
    }

    /// The state the rounds of one domain start from.
    fn domain(&self, kind: u8, n: u128) -> Sip {
        let mut s = self.state;
        s.align();
        s.write_word(u64::from(kind));
        s.write_word(n as u64);
        s.write_word((n >> 64) as u64);
        s
    }
}

/// A mask of the low `w` bits (`w` <= 64).
#[inline]
fn low_mask(w: u32) -> u64 {
    if w == 0 { 0 } else { u64::MAX >> (64 - w) }
}

/// The round function: the first 64 bits of SipHash-2-4-128 of the tweak, the domain, one
/// half (8 bytes, little-endian) and the round number (1 byte).
#[inline]
fn round(state: &Sip, r: u8, half: u64) -> u64 {
    state.round_output(half, r)
}

/// `(x + y) mod m` for `x < m`, `y <= m`.
#[inline]
fn add_mod(x: u64, y: u64, m: u64) -> u64 {
    let s = u128::from(x) + u128::from(y);
    let m = u128::from(m);
    (if s >= m { s - m } else { s }) as u64
}

/// The round function of the pair network: a PRF output in `[0, m)`, from the first 64 bits
/// of the output when `m` is below `2^32` (bias below `2^-32`), from all 128 else.
#[inline]
fn pair_round(state: &Sip, r: u8, half: u64, m: u64) -> u64 {
    if m <= 1 << 32 {
        ((u128::from(state.round_output(half, r)) * u128::from(m)) >> 64) as u64
    } else {
        let (h1, h2) = state.round_output128(half, r);
        // floor(h * m / 2^128) for h = h2 * 2^64 + h1.
        let m = u128::from(m);
        ((u128::from(h2) * m + ((u128::from(h1) * m) >> 64)) >> 64) as u64
    }
}

/// The Feistel network over `bits` bits (1..=128), forwards or backwards.
fn feistel(state: &Sip, bits: u32, x: u128, forward: bool) -> u128 {
    let v = bits / 2;
    let u = bits - v;
    let (mu, mv) = (low_mask(u), low_mask(v));
    let mut left = (x >> v) as u64 & mu;
    let mut right = x as u64 & mv;
    let mut step = |r: u8| {
        if r.is_multiple_of(2) {
            left ^= round(state, r, right) & mu;
        } else {
            right ^= round(state, r, left) & mv;
        }
    };
    if forward {
        (0..ROUNDS).for_each(&mut step);
    } else {
        (0..ROUNDS).rev().for_each(&mut step);
    }
    (u128::from(left) << v) | u128::from(right)
}

/// Which characters of a text [`encrypt_text`] changes. Candidates are ASCII digits, and
/// ASCII letters when `letters`; counting candidates from 0 in text order, those numbered
/// `skip..end` change, the others are kept (and are part of the tweak, like any kept
/// character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Select {
    /// Whether ASCII letters are candidates.
    pub(crate) letters: bool,
    /// Leading candidates kept.
    pub(crate) skip: usize,
    /// Candidates from this one on are kept.
    pub(crate) end: usize,
}

impl Select {
    /// Every digit and ASCII letter.
    pub(crate) const ALL: Select = Select {
        letters: true,
        skip: 0,
        end: usize::MAX,
    };

    /// The digits numbered `skip..end` (letters kept).
    pub(crate) fn digits(skip: usize, end: usize) -> Select {
        Select {
            letters: false,
            skip,
            end,
        }
    }

    /// Whether `b` is a candidate.
    #[inline]
    fn candidate(self, b: u8) -> bool {
        b.is_ascii_digit() || (self.letters && b.is_ascii_alphabetic())
    }
}

/// The radix of a variable byte (10 or 26).
#[inline]
fn radix(b: u8) -> u8 {
    if b.is_ascii_digit() { 10 } else { 26 }
}

/// The value of a variable byte: a digit's number, a letter's place in the alphabet.
#[inline]
fn digit_value(b: u8) -> u8 {
    if b.is_ascii_digit() {
        b - b'0'
    } else {
        (b | 0x20) - b'a'
    }
}

/// The byte of value `v` in the class and case of `like`.
#[inline]
fn digit_byte(like: u8, v: u8) -> u8 {
    if like.is_ascii_digit() {
        b'0' + v
    } else if like.is_ascii_uppercase() {
        b'A' + v
    } else {
        b'a' + v
    }
}

/// Enciphers the selected characters of the UTF-8 text `buf` in place (see the module
/// documentation). Only ASCII digits and letters change, each into one of its class, so the
/// text stays UTF-8 of the same length in bytes and in characters.
pub(crate) fn encrypt_text(base: &Tweak, buf: &mut [u8], sel: Select) {
    crypt_text(base, buf, sel, true);
}

/// The inverse of [`encrypt_text`] (masking never deciphers; the tests do).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn decrypt_text(base: &Tweak, buf: &mut [u8], sel: Select) {
    crypt_text(base, buf, sel, false);
}

/// The byte offsets of a text's variable positions: on the stack for short texts.
struct Positions {
    stack: [usize; 32],
    len: usize,
    heap: Vec<usize>,
}

impl Positions {
    fn new() -> Positions {
        Positions {
            stack: [0; 32],
            len: 0,
            heap: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, p: usize) {
        if self.len < self.stack.len() {
            self.stack[self.len] = p;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.stack);
            }
            self.heap.push(p);
        }
        self.len += 1;
    }

    fn as_slice(&self) -> &[usize] {
        if self.len <= self.stack.len() {
            &self.stack[..self.len]
        } else {
            &self.heap
        }
    }
}

/// The tweak of a text (its length, its kept bytes and the class of its variable
/// positions), and the variable positions.
fn text_tweak(base: &Tweak, buf: &[u8], sel: Select, positions: &mut Positions) -> Tweak {
    let mut t = *base;
    t.state.align();
    t.state.write_word(buf.len() as u64);
    let (mut word, mut filled) = (0u64, 0u32);
    let mut ord = 0usize;
    for (i, &b) in buf.iter().enumerate() {
        let code = if sel.candidate(b) {
            let var = ord >= sel.skip && ord < sel.end;
            ord += 1;
            if var {
                positions.push(i);
                // Neither byte occurs in UTF-8, so the code of a text is unambiguous.
                if b.is_ascii_digit() { 0xFE } else { 0xFD }
            } else {
                b
            }
        } else {
            b
        };
        word |= u64::from(code) << (8 * filled);
        filled += 1;
        if filled == 8 {
            t.state.write_word(word);
            (word, filled) = (0, 0);
        }
    }
    t.state.write(&word.to_le_bytes()[..filled as usize]);
    t.state.align();
    t
}

/// The most variable positions one block can have (`2^120 < 10^37`).
const BLOCK_MAX: usize = 37;

fn crypt_text(base: &Tweak, buf: &mut [u8], sel: Select, forward: bool) {
    let mut positions = Positions::new();
    let tweak = text_tweak(base, buf, sel, &mut positions);
    let positions = positions.as_slice();
    let mut prev = (0u64, 0u64);
    let mut block: u64 = 0;
    let mut at = 0;
    let mut radices = [0u8; BLOCK_MAX];
    while at < positions.len() {
        // The block: variable positions while the domain stays within the limit.
        let start = at;
        let mut n: u128 = 1;
        while at < positions.len() {
            let r = radix(buf[positions[at]]);
            if n * u128::from(r) > BLOCK_LIMIT {
                break;
            }
            n *= u128::from(r);
            radices[at - start] = r;
            at += 1;
        }
        let here = &positions[start..at];
        let count = here.len();
        let mut t = tweak;
        t.state.write_word(block);
        t.state.write_word(prev.0);
        t.state.write_word(prev.1);
        block += 1;
        // Split the positions: the first `k` make the high half (of `a` values), the others
        // the low half (of `b` values); as balanced as the radices allow, each below 2^64.
        let k = if count == 1 {
            0
        } else {
            split(&radices[..count], n)
        };
        let a: u64 = radices[..k].iter().map(|&r| u64::from(r)).product();
        let b: u64 = radices[k..count].iter().map(|&r| u64::from(r)).product();
        let (mut hi, mut lo) = (0u64, 0u64);
        for (j, &p) in here.iter().enumerate() {
            let c = buf[p];
            let half = if j < k { &mut hi } else { &mut lo };
            *half = *half * u64::from(radix(c)) + u64::from(digit_value(c));
        }
        let (hi2, lo2) = if count == 1 {
            // One position: the binary network over its radix (a pair network would only
            // rotate it).
            let y = if forward {
                t.encrypt(u128::from(b), u128::from(lo))
            } else {
                t.decrypt(u128::from(b), u128::from(lo))
            };
            (0, y as u64)
        } else if forward {
            t.encrypt_pair(a, b, hi, lo)
        } else {
            t.decrypt_pair(a, b, hi, lo)
        };
        prev = if forward { (hi2, lo2) } else { (hi, lo) };
        // Write it back, least significant position last.
        let (mut hi, mut lo) = (hi2, lo2);
        for (j, &p) in here.iter().enumerate().rev() {
            let c = buf[p];
            let half = if j < k { &mut hi } else { &mut lo };
            // Constant divisors: the compiler makes them multiplications.
            let (q, d) = if c.is_ascii_digit() {
                (*half / 10, *half % 10)
            } else {
                (*half / 26, *half % 26)
            };
            buf[p] = digit_byte(c, d as u8);
            *half = q;
        }
    }
}

/// How many leading positions of a block (of radices `radices`, `n` values in all) make the
/// high half: at least one; the most whose product stays at most `sqrt(n)`; more while the
/// low half would not fit 64 bits (with `n <= 2^120` and radices at most 26 both fit).
fn split(radices: &[u8], n: u128) -> usize {
    let mut a: u128 = u128::from(radices[0]);
    let mut k = 1;
    while k < radices.len() {
        let next = a * u128::from(radices[k]);
        // Stop past the middle once the low half fits 64 bits (no division: `n / a` is
        // below 2^64 exactly when `n < a * 2^64`).
        let low_fits = a >> 64 != 0 || n < a << 64;
        if next * next > n && low_fits {
            break;
        }
        a = next;
        k += 1;
    }
    k.min(radices.len().saturating_sub(1)).max(1)
}

/// The Luhn check digit of a number whose digits (without the check digit) are `digits`,
/// most significant first, each 0..=9.
pub(crate) fn luhn_check_digit(digits: impl DoubleEndedIterator<Item = u8>) -> u8 {
    let mut sum = 0u32;
    for (i, d) in digits.rev().enumerate() {
        let d = u32::from(d);
        sum += if i % 2 == 0 {
            let dd = d * 2;
            if dd > 9 { dd - 9 } else { dd }
        } else {
            d
        };
    }
    ((10 - sum % 10) % 10) as u8
}

/// The value of an IBAN character in the mod-97 check: a digit its number, a letter 10..=35.
fn iban_value(b: u8) -> u32 {
    if b.is_ascii_digit() {
        u32::from(b - b'0')
    } else {
        u32::from(b.to_ascii_uppercase() - b'A') + 10
    }
}

/// The remainder mod 97 of an IBAN rearranged for the check (`bban`, `country`, `check`).
fn iban_remainder(country: [u8; 2], check: [u8; 2], bban: impl Iterator<Item = u8>) -> u32 {
    let mut r = 0u32;
    let mut push = |b: u8| {
        let v = iban_value(b);
        r = if v < 10 {
            (r * 10 + v) % 97
        } else {
            (r * 100 + v) % 97
        };
    };
    bban.for_each(&mut push);
    country.into_iter().for_each(&mut push);
    check.into_iter().for_each(&mut push);
    r
}

/// The check digits (2..=98) of an IBAN of `country` (two ASCII letters) whose account part
/// (the BBAN, ASCII letters and digits, separators removed) is `bban`.
pub(crate) fn iban_check_digits(country: [u8; 2], bban: impl Iterator<Item = u8>) -> u8 {
    (98 - iban_remainder(country, [b'0', b'0'], bban)) as u8
}

/// Whether `text` is a valid IBAN (spaces ignored): two letters, two digits, an account
/// part of letters and digits, and the mod-97 check equal to 1.
#[cfg(test)]
pub(crate) fn iban_valid(text: &str) -> bool {
    let chars: Vec<u8> = text.bytes().filter(|&b| b != b' ').collect();
    chars.len() >= 5
        && chars[..2].iter().all(u8::is_ascii_alphabetic)
        && chars[2..4].iter().all(u8::is_ascii_digit)
        && chars[4..].iter().all(u8::is_ascii_alphanumeric)
        && iban_remainder(
            [chars[0], chars[1]],
            [chars[2], chars[3]],
            chars[4..].iter().copied(),
        ) == 1
}

/// Whether the digits of `text` pass the Luhn check.
#[cfg(test)]
pub(crate) fn luhn_valid(text: &str) -> bool {
    let digits: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    match digits.split_last() {
        Some((&last, rest)) => luhn_check_digit(rest.iter().copied()) == last,
        None => false,
    }
}

#[cfg(test)]
mod tests;
