//! Access tokens: HS256 JWTs with claims `sub`, `role`, `exp`, `iat`, `jti`.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AuthError, Role};

/// Shortest accepted signing secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: Uuid,
    /// The account's role when the token was issued.
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// A unique token id.
    pub jti: Uuid,
    /// The account's token version when issued: a password change or a disable bumps it,
    /// and refreshes and live streams refuse tokens of an older version.
    #[serde(default)]
    pub ver: i32,
}

impl Claims {
    /// Claims for `sub` as `role`, issued at `now` (Unix seconds), valid for `ttl`.
    pub fn new(sub: Uuid, role: Role, now: i64, ttl: Duration) -> Self {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Self {
            sub,
            role,
            exp: now.saturating_add(ttl),
            iat: now,
            jti: Uuid::new_v4(),
            ver: 0,
        }
    }
}

/// Signing and verification keys for one HS256 secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(<redacted>)")
    }
}

impl JwtKeys {
    /// Keys for `secret`.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when the secret is shorter than [`MIN_SECRET_BYTES`].
    pub fn from_secret(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(AuthError::Internal(format!(
                "the JWT secret must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        })
    }

    /// Sign `claims`.
    ///
    /// # Errors
    /// [`AuthError::Internal`] when signing fails.
    pub fn encode(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|err| AuthError::Internal(format!("signing an access token: {err}")))
    }

    /// Verify the signature and expiry of `token` and return its claims.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`] past `exp`, [`AuthError::InvalidToken`] for anything
    /// else wrong (malformed, other algorithm, bad signature, missing claims).
    pub fn decode(&self, token: &str) -> Result<Claims, AuthError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => AuthError::TokenExpired,
                _ => AuthError::InvalidToken,
            })
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(&[7u8; 32]).expect("keys")
    }

    #[test]
    fn a_token_round_trips_its_claims() {
        let claims = Claims::new(
            Uuid::now_v7(),
            Role::Operator,
            now_unix(),
            Duration::from_secs(60),
        );
        let token = keys().encode(&claims).expect("signed");
        assert_eq!(keys().decode(&token).expect("valid"), claims);
    }

    #[test]
    fn an_expired_token_is_reported_as_expired() {
        let claims = Claims::new(
            Uuid::now_v7(),
            Role::Rider,
            now_unix() - 120,
            Duration::from_secs(60),
        );
        let token = keys().encode(&claims).expect("signed");
        assert!(matches!(
            keys().decode(&token),
            Err(AuthError::TokenExpired)
        ));
    }

    #[test]
    fn a_token_signed_with_another_secret_or_altered_is_invalid() {
        let claims = Claims::new(
            Uuid::now_v7(),
            Role::Rider,
            now_unix(),
            Duration::from_secs(60),
        );
        let other = JwtKeys::from_secret(&[8u8; 32]).expect("keys");
        let token = other.encode(&claims).expect("signed");
        assert!(matches!(
            keys().decode(&token),
            Err(AuthError::InvalidToken)
        ));
        let mut forged = keys().encode(&claims).expect("signed");
        forged.push('x');
        assert!(matches!(
            keys().decode(&forged),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            keys().decode("not.a.jwt"),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn an_unsigned_token_is_invalid() {
        // header {"alg":"none","typ":"JWT"}, then the claims, no signature.
        let claims = Claims::new(
            Uuid::now_v7(),
            Role::Admin,
            now_unix(),
            Duration::from_secs(60),
        );
        let payload = serde_json::to_vec(&claims).expect("json");
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(payload)
        );
        assert!(matches!(
            keys().decode(&token),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtKeys::from_secret(b"too short").is_err());
    }
}
