//! Credentials without I/O: email normalisation, the password policy, argon2id hashing.
//!
//! Hashing and verification are CPU-bound (tens of milliseconds, ~19 MiB each with the
//! default parameters): callers run them on the blocking pool, bounded by a semaphore
//! (see [`crate::auth::Auth`]).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::AuthError;

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in bytes (bounds hashing work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest email accepted (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// Trim and lower-case an email, then check it looks like `local@domain.tld`.
///
/// # Errors
/// [`AuthError::InvalidEmail`] when it does not.
pub fn normalise_email(raw: &str) -> Result<String, AuthError> {
    let email = raw.trim().to_lowercase();
    if email.len() > MAX_EMAIL_BYTES || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AuthError::InvalidEmail);
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(AuthError::InvalidEmail);
    };
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    let local_ok = !local.is_empty() && local.len() <= 64 && !local.contains(['@', ':', '"']);
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err(AuthError::InvalidEmail)
    }
}

/// The lookup key for a login attempt: trimmed and lower-cased, not validated (an
/// invalid address simply matches no account).
pub fn login_key(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Check a new password against the policy.
///
/// # Errors
/// [`AuthError::WeakPassword`] saying what is wrong.
pub fn check_policy(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword(
            "password must be at least 10 characters",
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::WeakPassword(
            "password must be at most 1024 bytes",
        ));
    }
    Ok(())
}

/// An argon2id PHC string (default parameters, random salt) for `password`. Blocking.
///
/// # Errors
/// [`AuthError::Internal`] when hashing fails.
pub fn hash(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AuthError::Internal(format!("hashing a password: {err}")))
}

/// Whether `password` matches the PHC string `phc`. Blocking. A malformed stored hash
/// never matches (and is logged).
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(err) => {
            tracing::error!(error = %err, "a stored password hash is malformed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalise_email("  Alice.Smith+x@Example.COM ").expect("valid"),
            "alice.smith+x@example.com"
        );
    }

    #[test]
    fn implausible_emails_are_rejected() {
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "alice@exa mple.com",
            "alice@@example.com",
            "alice@example..com",
            "alice@-example.com",
            "ali:ce@example.com",
        ] {
            assert!(
                matches!(normalise_email(bad), Err(AuthError::InvalidEmail)),
                "{bad:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(normalise_email(&long).is_err());
    }

    #[test]
    fn passwords_shorter_than_ten_characters_are_refused() {
        assert!(check_policy("123456789").is_err());
        assert!(check_policy("1234567890").is_ok());
        // Characters, not bytes: nine two-byte characters are still too short.
        assert!(check_policy("ééééééééé").is_err());
        assert!(check_policy(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let phc = hash("correct horse battery").expect("hash");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse battery!", &phc));
        assert!(!verify("correct horse battery", "not a phc string"));
    }
}
