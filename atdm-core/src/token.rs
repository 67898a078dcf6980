//! Cleanup tokens: 256 random bits, shown once, stored only as a SHA-256 hash, compared in
//! constant time.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A cleanup token's plaintext. Its `Debug` form is redacted; the text is only available
/// through [`CleanupToken::expose`], to hand it to the caller once.
#[derive(Clone, PartialEq, Eq)]
pub struct CleanupToken(String);

impl CleanupToken {
    /// A token from 32 bytes of entropy (the engine draws them from the operating system),
    /// as 43 characters of URL-safe base64 without padding.
    pub fn from_entropy(bytes: [u8; 32]) -> Self {
        CleanupToken(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The plaintext, to return to the caller once. Never log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash to store: SHA-256 of the plaintext, as 64 lower-case hex digits.
    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

impl fmt::Debug for CleanupToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CleanupToken(<redacted>)")
    }
}

/// SHA-256 of a token's plaintext, as lower-case hex.
pub fn hash_token(plaintext: &str) -> String {
    let digest = Sha256::digest(plaintext.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether `plaintext` hashes to `stored_hash`, compared in constant time (the time does not
/// depend on where the hashes differ).
pub fn verify_token(plaintext: &str, stored_hash: &str) -> bool {
    let computed = hash_token(plaintext);
    computed.len() == stored_hash.len()
        && bool::from(computed.as_bytes().ct_eq(stored_hash.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_and_verify_only_themselves() {
        let t = CleanupToken::from_entropy([0xFB; 32]);
        assert_eq!(t.expose().len(), 43);
        assert!(
            t.expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let h = t.hash();
        assert_eq!(h.len(), 64);
        assert!(verify_token(t.expose(), &h));
        assert!(!verify_token("wrong", &h));
        assert!(!verify_token(t.expose(), "short"));
        assert_eq!(format!("{t:?}"), "CleanupToken(<redacted>)");
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
