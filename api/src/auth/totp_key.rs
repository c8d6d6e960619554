//! TOTP secrets at rest: sealed with XChaCha20-Poly1305 under a key from configuration
//! (`FLEETLOG_AUTH__TOTP_KEY`), bound to the account id, so a copy of the `accounts` table
//! (a backup, a read-only SQL injection, a replica) does not give away second factors, and
//! a sealed secret moved to another account row does not open.
//!
//! Stored form: `v1:` + base64url(24-byte random nonce ‖ ciphertext ‖ tag). A value without
//! the prefix is a secret stored before encryption existed: it is still accepted, and
//! sealed at the account's next successful login.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::AuthError;
use super::tokens::random_bytes;

/// The prefix of a sealed secret.
const SEALED: &str = "v1:";
/// Shortest key setting accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// The key TOTP secrets are sealed with.
#[derive(Clone)]
pub struct TotpKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpKey(<redacted>)")
    }
}

/// A stored TOTP secret, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The base32 secret.
    pub secret: String,
    /// It was stored in the clear (before encryption existed) and should be sealed.
    pub legacy: bool,
}

impl TotpKey {
    /// The key derived from the setting `secret` (SHA-256 with a domain label).
    ///
    /// # Errors
    /// [`AuthError::Internal`] when `secret` is shorter than [`MIN_KEY_BYTES`].
    pub fn from_secret(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(AuthError::Internal(format!(
                "FLEETLOG_AUTH__TOTP_KEY must be at least {MIN_KEY_BYTES} bytes"
            )));
        }
        let mut hasher = Sha256::new();
        hasher.update(b"fleetlog totp secret key v1\0");
        hasher.update(secret);
        let key = hasher.finalize();
        Ok(Self {
            cipher: XChaCha20Poly1305::new(Key::from_slice(&key)),
        })
    }

    /// `secret_b32` sealed for `account`.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when encryption fails (it does not for valid input).
    pub fn seal(&self, account: Uuid, secret_b32: &str) -> Result<String, AuthError> {
        let nonce = random_bytes::<24>();
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret_b32.as_bytes(),
                    aad: account.as_bytes(),
                },
            )
            .map_err(|_| AuthError::Internal("sealing a TOTP secret failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{SEALED}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The secret `stored` for `account`.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when it does not open: another key, another account's row,
    /// or tampered with.
    pub fn open(&self, account: Uuid, stored: &str) -> Result<Opened, AuthError> {
        let Some(encoded) = stored.strip_prefix(SEALED) else {
            return Ok(Opened {
                secret: stored.to_owned(),
                legacy: true,
            });
        };
        let fail = || AuthError::Internal("a stored TOTP secret does not open with the key".into());
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| fail())?;
        if bytes.len() < 24 {
            return Err(fail());
        }
        let (nonce, sealed) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: account.as_bytes(),
                },
            )
            .map_err(|_| fail())?;
        let secret = String::from_utf8(plain).map_err(|_| fail())?;
        Ok(Opened {
            secret,
            legacy: false,
        })
    }
}

/// Whether `stored` is a sealed secret (rather than a legacy clear one).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    fn key(text: &str) -> TotpKey {
        TotpKey::from_secret(text.as_bytes()).expect("key")
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_account() {
        let k = key("a-totp-key-of-at-least-32-bytes!!");
        let account = Uuid::now_v7();
        let sealed = k.seal(account, SECRET).expect("seal");
        assert!(is_sealed(&sealed) && !sealed.contains(SECRET), "{sealed}");
        assert_eq!(
            k.open(account, &sealed).expect("opens"),
            Opened {
                secret: SECRET.into(),
                legacy: false
            }
        );
        assert!(k.open(Uuid::now_v7(), &sealed).is_err(), "another account");
        let other = key("another-totp-key-of-32-bytes-long");
        assert!(other.open(account, &sealed).is_err(), "another key");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(k.open(account, &tampered).is_err(), "tampered");
        assert_ne!(
            k.seal(account, SECRET).expect("seal"),
            sealed,
            "fresh nonce"
        );
    }

    #[test]
    fn a_legacy_clear_secret_opens_as_legacy_and_short_keys_are_refused() {
        let k = key("a-totp-key-of-at-least-32-bytes!!");
        let opened = k.open(Uuid::now_v7(), SECRET).expect("legacy");
        assert!(opened.legacy);
        assert_eq!(opened.secret, SECRET);
        assert!(TotpKey::from_secret(b"short").is_err());
    }
}
