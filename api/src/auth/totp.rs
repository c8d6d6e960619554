//! TOTP (RFC 6238): SHA-1, 6 digits, 30 s steps, one step of drift either way. A code is
//! accepted once: the caller records the matched step and refuses steps not after it.

use totp_rs::{Algorithm, Secret, TOTP};

use super::AuthError;
use super::tokens::random_bytes;

/// Seconds per step.
pub const STEP_S: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;

/// A new random 160-bit secret, base32 (as stored and as authenticator apps take it).
pub fn generate_secret() -> String {
    Secret::Raw(random_bytes::<20>().to_vec())
        .to_encoded()
        .to_string()
}

fn totp(secret_b32: &str, issuer: Option<&str>, account: &str) -> Result<TOTP, AuthError> {
    let secret = Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .map_err(|err| AuthError::Internal(format!("stored TOTP secret: {err:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_S,
        secret,
        issuer.map(str::to_owned),
        account.to_owned(),
    )
    .map_err(|err| AuthError::Internal(format!("TOTP parameters: {err}")))
}

/// The `otpauth://totp/...` URI an authenticator app scans.
///
/// # Errors
/// [`AuthError::Internal`] for a malformed secret, or an issuer or account containing `:`.
pub fn provisioning_uri(
    secret_b32: &str,
    issuer: &str,
    account: &str,
) -> Result<String, AuthError> {
    Ok(totp(secret_b32, Some(issuer), account)?.get_url())
}

/// The step (Unix time / 30) whose code is `code`, looking at the current step and one
/// either side; `None` when none matches. Comparison is constant-time.
///
/// # Errors
/// [`AuthError::Internal`] for a malformed stored secret.
pub fn matching_step(
    secret_b32: &str,
    code: &str,
    now_unix: u64,
) -> Result<Option<u64>, AuthError> {
    let totp = totp(secret_b32, None, "")?;
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let current = now_unix / STEP_S;
    let steps = [current.saturating_sub(1), current, current + 1];
    Ok(steps
        .into_iter()
        .find(|step| totp.check(code, step * STEP_S)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", truncated to 6 digits.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
        ] {
            assert_eq!(
                matching_step(RFC_SECRET, code, time).expect("secret"),
                Some(time / STEP_S)
            );
        }
    }

    #[test]
    fn a_code_one_step_old_or_early_is_accepted_and_two_steps_is_not() {
        let t = 1_111_111_109;
        assert_eq!(
            matching_step(RFC_SECRET, "081804", t + 30).expect("ok"),
            Some(t / 30)
        );
        assert_eq!(
            matching_step(RFC_SECRET, "081804", t - 30).expect("ok"),
            Some(t / 30)
        );
        assert_eq!(
            matching_step(RFC_SECRET, "081804", t + 60).expect("ok"),
            None
        );
        assert_eq!(matching_step(RFC_SECRET, "12345", t).expect("ok"), None);
        assert_eq!(matching_step(RFC_SECRET, "abcdef", t).expect("ok"), None);
    }

    #[test]
    fn the_provisioning_uri_carries_issuer_account_and_parameters() {
        let secret = generate_secret();
        let uri = provisioning_uri(&secret, "fleetlog", "ops@example.com").expect("uri");
        assert!(
            uri.starts_with("otpauth://totp/fleetlog:ops%40example.com?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={secret}")), "{uri}");
        assert!(uri.contains("issuer=fleetlog"), "{uri}");
        let parsed = TOTP::from_url(&uri).expect("parses back");
        assert_eq!((parsed.digits, parsed.step), (DIGITS, STEP_S));
    }
}
