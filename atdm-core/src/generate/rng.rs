//! The counter-based random source every generated value comes from.
//!
//! ATDM owns its randomness: no dependency's RNG decides a value, so upgrading a crate cannot
//! change generated data. A cell's stream is keyed by `(seed, table, row, column)`:
//!
//! ```text
//! key   = mix(mix(mix(seed ^ fnv1a64(table)) ^ row * 0x9E3779B97F4A7C15) ^ fnv1a64(column))
//! draw  = mix(key + n * 0x9E3779B97F4A7C15)      for n = 1, 2, 3, ...
//! mix   = the SplitMix64 finalizer
//! ```
//!
//! So row `i` of table `T` is computable alone (shards and parallel workers agree), and a
//! column's values do not move when another column is added. A choice among `n` items uses
//! Lemire's multiply-shift (`(draw * n) >> 64`). Changing any of this is a new
//! [`GENERATOR_VERSION`](super::GENERATOR_VERSION).

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finalizer: a bijective 64-bit mixer.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bits: the stable hash of table and column names.
#[inline]
pub const fn name_hash(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h = (h ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01B3);
        i += 1;
    }
    h
}

/// The part of a cell's stream key that every cell of one row shares,
/// `mix(mix(seed ^ table) ^ row * GAMMA)`: computed once per row, a cell's stream is one more
/// mix away ([`RowKey::cell`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowKey(u64);

impl RowKey {
    /// The key of row `row` of the table whose name hashes to `table_hash`.
    #[inline]
    pub(crate) fn new(seed: u64, table_hash: u64, row: u64) -> Self {
        RowKey(mix(mix(seed ^ table_hash) ^ row.wrapping_mul(GAMMA)))
    }

    /// The keys of `rows`, in order.
    pub(crate) fn range(seed: u64, table_hash: u64, rows: std::ops::Range<u64>) -> Vec<Self> {
        let table = mix(seed ^ table_hash);
        rows.map(|row| RowKey(mix(table ^ row.wrapping_mul(GAMMA))))
            .collect()
    }

    /// The stream of the row's cell in the column (or part) whose name hashes to `column_hash`.
    #[inline]
    pub(crate) fn cell(self, column_hash: u64) -> CellRng {
        CellRng {
            state: mix(self.0 ^ column_hash),
        }
    }
}

/// The random stream of one cell.
#[derive(Debug, Clone)]
pub struct CellRng {
    state: u64,
}

impl CellRng {
    /// The stream of cell (`seed`, table, `row`, column), with the names already hashed by
    /// [`name_hash`].
    #[inline]
    pub fn new(seed: u64, table_hash: u64, row: u64, column_hash: u64) -> Self {
        RowKey::new(seed, table_hash, row).cell(column_hash)
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// A number in `0..n` (`n` > 0).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    #[inline]
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi as i128 - lo as i128 + 1) as u128;
        if span > u128::from(u64::MAX) {
            return self.next_u64() as i64;
        }
        (lo as i128 + self.below(span as u64) as i128) as i64
    }

    /// One word of a non-empty list.
    #[inline]
    pub fn word<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// One item of a non-empty slice.
    #[inline]
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_stable_and_independent() {
        // Pinned values: a change here changes every generated value (bump GENERATOR_VERSION).
        let mut r = CellRng::new(42, name_hash("member"), 0, name_hash("first_name"));
        assert_eq!(
            r.next_u64(),
            CellRng::new(42, name_hash("member"), 0, name_hash("first_name")).next_u64()
        );
        let a = CellRng::new(42, name_hash("t"), 1, name_hash("c")).next_u64();
        let b = CellRng::new(42, name_hash("t"), 2, name_hash("c")).next_u64();
        assert_ne!(a, b);
        assert_eq!(mix(0), 0);
        let mut counts = [0u32; 4];
        for _ in 0..4000 {
            counts[r.below(4) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
        assert!((0..100).all(|_| (3..=5).contains(&r.range(3, 5))));
    }
}
