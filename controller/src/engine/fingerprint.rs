//! Stable digests of artifacts (SHA-256, hex), so a restarted operator — or a newer version of
//! it — computes the same fingerprint for the same inputs.

use sha2::{Digest, Sha256};

/// The SHA-256 of some bytes, as lowercase hex.
pub fn of_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A digest of several parts (each length-prefixed, so `["ab", "c"]` and `["a", "bc"]` differ),
/// shortened to 16 hex digits.
pub fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let full = hex::encode(hasher.finalize());
    full.chars().take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_delimited() {
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
        assert_eq!(digest(&["x"]), digest(&["x"]));
        assert_eq!(digest(&["x"]).len(), 16);
    }

    #[test]
    fn known_sha256() {
        assert_eq!(
            of_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
