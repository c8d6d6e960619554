//! Opaque bearer tokens (refresh and provider tokens): 256 random bits, base64url, with
//! a prefix saying what they are. Only their SHA-256 is stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// Prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "flr_";
/// Prefix of MDS provider tokens (how the bearer extractor tells them from JWTs).
pub const PROVIDER_PREFIX: &str = "flp_";

/// The SHA-256 of a token, as stored and looked up.
pub type TokenHash = [u8; 32];

/// A freshly generated token: the secret for the client, the hash for the database.
pub struct OpaqueToken {
    /// The token as handed to the client, exactly once.
    pub token: String,
    /// Its SHA-256.
    pub hash: TokenHash,
}

impl std::fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueToken(<redacted>)")
    }
}

impl OpaqueToken {
    /// A new random token starting with `prefix`.
    pub fn generate(prefix: &str) -> Self {
        let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()));
        let hash = hash(&token);
        Self { token, hash }
    }
}

/// SHA-256 of `token` (a fast hash is enough: the token has 256 bits of entropy).
pub fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// `N` bytes from the thread-local CSPRNG (ChaCha, seeded from the OS).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_prefixed_distinct_and_hash_to_their_stored_hash() {
        let a = OpaqueToken::generate(REFRESH_PREFIX);
        let b = OpaqueToken::generate(REFRESH_PREFIX);
        assert!(a.token.starts_with(REFRESH_PREFIX));
        assert_eq!(a.token.len(), REFRESH_PREFIX.len() + 43);
        assert_ne!(a.token, b.token);
        assert_eq!(hash(&a.token), a.hash);
        assert_ne!(a.hash, b.hash);
        assert!(!format!("{a:?}").contains(&a.token));
    }
}
