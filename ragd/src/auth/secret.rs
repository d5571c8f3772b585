//! Key material: making a key, its stored hash, and checking a presented
//! key against that hash in constant time.
//!
//! A key reads `rgk_<id>_<secret>`: `id` is 12 hex digits (48 random bits,
//! public, how the key is looked up) and `secret` 64 hex digits (256
//! random bits from the operating system). ragd stores only the SHA-256 of
//! the whole key. [`Secret`] never prints itself.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every key starts with this.
pub const PREFIX: &str = "rgk_";
const ID_HEX: usize = 12;
const SECRET_HEX: usize = 64;

/// A whole key as given to its owner once. `Debug` and `Display` are
/// redacted so it cannot reach a log by accident; [`Secret::expose`] is
/// the one way to the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A new random key and its public id.
pub fn generate() -> Result<(String, Secret), getrandom::Error> {
    let mut id = [0u8; ID_HEX / 2];
    let mut secret = [0u8; SECRET_HEX / 2];
    getrandom::fill(&mut id)?;
    getrandom::fill(&mut secret)?;
    let id = hex(&id);
    let key = format!("{PREFIX}{id}_{}", hex(&secret));
    Ok((id, Secret(key)))
}

/// The key of an `Authorization` header value `Bearer KEY` (the scheme in
/// any case, the value already trimmed), `None` for another scheme.
pub fn bearer(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    let scheme = bytes.get(..7)?;
    // Byte 6 is an ASCII space, so byte 7 starts a character.
    (scheme[..6].eq_ignore_ascii_case(b"bearer") && scheme[6] == b' ').then(|| value[7..].trim())
}

/// The public id of a key of the right layout (`rgk_`, 12 lowercase hex
/// digits, `_`, 64 more characters), `None` for anything else.
///
/// Every request with a key passes here, so the checks are on bytes at
/// fixed places, with no searching, and the secret's digits are left to the
/// comparison of hashes, which refuses any wrong secret alike.
pub fn id_of(key: &str) -> Option<&str> {
    const LEN: usize = PREFIX.len() + ID_HEX + 1 + SECRET_HEX;
    const SEP: usize = PREFIX.len() + ID_HEX;
    let b = key.as_bytes();
    let well_formed = b.len() == LEN
        && key.starts_with(PREFIX)
        && b[SEP] == b'_'
        && b[PREFIX.len()..SEP]
            .iter()
            .all(|&c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    // ASCII up to SEP when well formed, so these are character boundaries.
    well_formed.then(|| &key[PREFIX.len()..SEP])
}

/// What is stored: the lowercase hex SHA-256 of the whole key.
pub fn hash(key: &str) -> String {
    sha256_hex(key.as_bytes())
}

/// SHA-256 as lowercase hex: the stored form of a key, and of what an
/// ingest was sent (`crate::service::files`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Whether `key` hashes to `stored`, compared in constant time.
pub fn matches(key: &str, stored: &str) -> bool {
    decode_hash(stored).is_some_and(|h| matches_hash(key, &h))
}

/// Whether `key` hashes to the SHA-256 `stored`, compared in constant time.
pub fn matches_hash(key: &str, stored: &[u8; 32]) -> bool {
    let presented: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    bool::from(presented.ct_eq(stored))
}

/// A stored hash (64 hex digits) as bytes; `None` if it is not one.
pub fn decode_hash(stored: &str) -> Option<[u8; 32]> {
    let digits = stored.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_parses_hashes_and_matches_only_itself() {
        let (id, key) = generate().unwrap();
        assert_eq!(id_of(key.expose()), Some(id.as_str()));
        assert_eq!(key.expose().len(), PREFIX.len() + ID_HEX + 1 + SECRET_HEX);
        let stored = hash(key.expose());
        assert!(matches(key.expose(), &stored));
        let (_, other) = generate().unwrap();
        assert_ne!(key, other, "two keys are never the same");
        assert!(!matches(other.expose(), &stored));
        // One digit changed.
        let mut wrong = key.expose().to_string();
        let last = if wrong.ends_with('0') { "1" } else { "0" };
        wrong.replace_range(wrong.len() - 1.., last);
        assert!(!matches(&wrong, &stored));
        assert_eq!(decode_hash(&stored).map(|h| hex(&h)), Some(stored.clone()));
        assert_eq!(decode_hash("zz"), None);
        assert!(!matches(key.expose(), &stored.replace(&stored[..2], "zz")));
    }

    #[test]
    fn malformed_keys_have_no_id() {
        for k in [
            "",
            "rgk_",
            "rgk_0123456789ab",
            "rgk_0123456789ab_00",
            "xyz_0123456789ab_0000000000000000000000000000000000000000000000000000000000000000",
            "rgk_0123456789AB_0000000000000000000000000000000000000000000000000000000000000000",
            "rgk_0123456789ab-0000000000000000000000000000000000000000000000000000000000000000",
            "rgk_0123456789ab_00000000000000000000000000000000000000000000000000000000000000000",
            "rgk_0123456789é_0000000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert_eq!(id_of(k), None, "{k}");
        }
    }

    #[test]
    fn a_secret_that_is_not_hex_has_an_id_and_matches_nothing() {
        let (id, key) = generate().unwrap();
        let stored = hash(key.expose());
        let odd = format!("{}{}", &key.expose()[..key.expose().len() - 2], "é");
        assert_eq!(odd.len(), key.expose().len());
        assert_eq!(id_of(&odd), Some(id.as_str()));
        assert!(!matches(&odd, &stored));
    }

    #[test]
    fn the_bearer_scheme_in_any_case() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bEARER  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearerx abc"), None);
        assert_eq!(bearer("Beaŕ abc"), None);
        assert_eq!(bearer(""), None);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let (_, key) = generate().unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(key.expose()), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
