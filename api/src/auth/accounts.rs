//! The `accounts` table: riders, operators and admins, and creating staff accounts (what
//! `fleetlog admin create` calls).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::totp_key::TotpKey;
use super::{AuthError, Role, password, totp};

/// An account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Account {
    /// The account id (the `sub` of its access tokens).
    pub user_id: Uuid,
    /// The normalised (lower-case) email.
    pub email: String,
    /// rider, operator or admin.
    pub role: Role,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Whether login needs a TOTP code.
    pub totp_enabled: bool,
}

/// What a login needs to check an account.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The account id.
    pub id: Uuid,
    /// Its role.
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Base32 TOTP secret, when TOTP is required.
    pub totp_secret: Option<String>,
    /// The token version access tokens must carry.
    pub token_version: i32,
}

type AccountRow = (Uuid, String, String, DateTime<Utc>, bool);

fn role_of(name: &str) -> Result<Role, AuthError> {
    Role::parse(name).ok_or_else(|| AuthError::Internal(format!("unknown role {name:?} stored")))
}

fn account(
    (user_id, email, role, created_at, totp_enabled): AccountRow,
) -> Result<Account, AuthError> {
    Ok(Account {
        user_id,
        email,
        role: role_of(&role)?,
        created_at,
        totp_enabled,
    })
}

/// Insert an account; `email` must be normalised and `password_hash` an argon2id hash.
///
/// # Errors
/// [`AuthError::EmailTaken`] when the email is in use; [`AuthError::Store`] otherwise.
pub async fn insert(
    pool: &PgPool,
    email: &str,
    password_hash: &str,
    role: Role,
    totp_secret: Option<&str>,
) -> Result<Account, AuthError> {
    insert_with_id(
        pool,
        Uuid::now_v7(),
        email,
        password_hash,
        role,
        totp_secret,
    )
    .await
}

/// [`insert`] with the account id chosen by the caller (a sealed TOTP secret is bound to it).
///
/// # Errors
/// As [`insert`].
pub async fn insert_with_id(
    pool: &PgPool,
    id: Uuid,
    email: &str,
    password_hash: &str,
    role: Role,
    totp_secret: Option<&str>,
) -> Result<Account, AuthError> {
    let row: AccountRow = sqlx::query_as(
        "INSERT INTO accounts (id, email, password_hash, role, totp_secret) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, email, role, created_at, totp_secret IS NOT NULL",
    )
    .bind(id)
    .bind(email)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(totp_secret)
    .fetch_one(pool)
    .await
    .map_err(|err| {
        let unique = err
            .as_database_error()
            .is_some_and(|db| db.is_unique_violation());
        if unique {
            AuthError::EmailTaken
        } else {
            AuthError::Store(err)
        }
    })?;
    account(row)
}

/// The account `id`, if it exists.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<Account>, AuthError> {
    let row: Option<AccountRow> = sqlx::query_as(
        "SELECT id, email, role, created_at, totp_secret IS NOT NULL FROM accounts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(account).transpose()
}

/// The current role of account `id`, if it exists.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn role(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Role>, AuthError> {
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    role.as_deref().map(role_of).transpose()
}

/// The credentials stored for `email` (normalised), if an account has it.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn credentials(pool: &PgPool, email: &str) -> Result<Option<Credentials>, AuthError> {
    // A disabled account is no account: its login fails like an unknown email's.
    let row: Option<(Uuid, String, String, Option<String>, i32)> = sqlx::query_as(
        "SELECT id, role, password_hash, totp_secret, token_version FROM accounts \
         WHERE email = $1 AND disabled_at IS NULL",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?;
    row.map(|(id, role, password_hash, totp_secret, token_version)| {
        Ok(Credentials {
            id,
            role: role_of(&role)?,
            password_hash,
            totp_secret,
            token_version,
        })
    })
    .transpose()
}

/// Record that the TOTP code of `step` was used by account `id`; `false` when that step
/// (or a later one) was already used, so every code works once.
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn consume_totp_step(pool: &PgPool, id: Uuid, step: u64) -> Result<bool, AuthError> {
    let step = i64::try_from(step).map_err(|_| AuthError::InvalidTotp)?;
    let updated = sqlx::query(
        "UPDATE accounts SET totp_last_step = $2 \
         WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(id)
    .bind(step)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Replace a legacy clear TOTP secret of `id` with its sealed form (only if it is still
/// `clear`).
///
/// # Errors
/// [`AuthError::Store`] when the database fails.
pub async fn seal_totp_secret(
    pool: &PgPool,
    id: Uuid,
    clear: &str,
    sealed: &str,
) -> Result<(), AuthError> {
    sqlx::query("UPDATE accounts SET totp_secret = $3 WHERE id = $1 AND totp_secret = $2")
        .bind(id)
        .bind(clear)
        .bind(sealed)
        .execute(pool)
        .await?;
    Ok(())
}

/// A staff account to create.
#[derive(Clone)]
pub struct NewStaff {
    /// Login email (normalised on creation).
    pub email: String,
    /// Initial password (checked against the policy).
    pub password: String,
    /// [`Role::Operator`] or [`Role::Admin`].
    pub role: Role,
    /// Whether login needs a TOTP code.
    pub require_totp: bool,
}

impl std::fmt::Debug for NewStaff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewStaff")
            .field("email", &self.email)
            .field("role", &self.role)
            .field("require_totp", &self.require_totp)
            .finish_non_exhaustive()
    }
}

/// A created staff account.
#[derive(Debug, Clone)]
pub struct CreatedStaff {
    /// The account.
    pub account: Account,
    /// The `otpauth://` provisioning URI, when TOTP is required (a secret: show it once).
    pub totp_uri: Option<String>,
}

/// Create an operator or admin account (the work of `fleetlog admin create`); a TOTP
/// secret is stored sealed with `totp_key`.
///
/// # Errors
/// [`AuthError::Internal`] when TOTP is required and no `totp_key` is configured;
/// [`AuthError::Invalid`] for a role other than operator or admin,
/// [`AuthError::InvalidEmail`], [`AuthError::WeakPassword`], [`AuthError::EmailTaken`],
/// or [`AuthError::Store`].
pub async fn create_staff(
    pool: &PgPool,
    new: NewStaff,
    totp_issuer: &str,
    totp_key: Option<&TotpKey>,
) -> Result<CreatedStaff, AuthError> {
    if !matches!(new.role, Role::Operator | Role::Admin) {
        return Err(AuthError::Invalid {
            field: "role",
            message: "staff accounts are operator or admin",
        });
    }
    let email = password::normalise_email(&new.email)?;
    password::check_policy(&new.password)?;
    let pw = new.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|err| AuthError::Internal(format!("hashing task: {err}")))??;
    let id = Uuid::now_v7();
    let (sealed, totp_uri) = if new.require_totp {
        let key = totp_key.ok_or_else(|| {
            AuthError::Internal(
                "FLEETLOG_AUTH__TOTP_KEY is not set: TOTP secrets are stored encrypted with it"
                    .into(),
            )
        })?;
        let secret = totp::generate_secret();
        let uri = totp::provisioning_uri(&secret, totp_issuer, &email)?;
        (Some(key.seal(id, &secret)?), Some(uri))
    } else {
        (None, None)
    };
    let account = insert_with_id(pool, id, &email, &hash, new.role, sealed.as_deref()).await?;
    Ok(CreatedStaff { account, totp_uri })
}
