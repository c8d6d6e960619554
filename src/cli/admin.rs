//! `fleetlog admin create`: bootstrap an operator or admin account, optionally with TOTP.
//!
//! Self-contained on purpose (only workspace crates, no `super::`): the accounts
//! end-to-end test includes this file to exercise the same function the CLI runs.

use std::io::BufRead as _;

use anyhow::Context as _;
use fleetlog_api::auth::Role;
use fleetlog_api::auth::accounts::{self, NewStaff};
use fleetlog_runtime::{Settings, db};

/// Role of a staff account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum StaffRole {
    /// Fleet operations.
    Operator,
    /// Operations plus credentials (provider tokens).
    Admin,
}

/// Arguments of `fleetlog admin create`.
#[derive(Clone, clap::Args)]
#[command(group = clap::ArgGroup::new("secret").required(true).args(["password", "password_stdin"]))]
pub(crate) struct AdminCreateArgs {
    /// Login email of the new account.
    #[arg(long)]
    pub(crate) email: String,
    /// Role of the new account.
    #[arg(long, value_enum, default_value_t = StaffRole::Operator)]
    pub(crate) role: StaffRole,
    /// The password (at least 10 characters). Visible to other local users in the
    /// process list: prefer --password-stdin.
    #[arg(long)]
    pub(crate) password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// Require a TOTP code at every login; prints the provisioning URI to add to an
    /// authenticator app.
    #[arg(long)]
    pub(crate) require_totp: bool,
}

impl std::fmt::Debug for AdminCreateArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminCreateArgs")
            .field("email", &self.email)
            .field("role", &self.role)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_stdin", &self.password_stdin)
            .field("require_totp", &self.require_totp)
            .finish()
    }
}

/// Create the account in the database of `settings` (creating and migrating the database
/// first if needed) and print it; with `--require-totp`, print the provisioning URI.
pub(crate) async fn create(settings: &Settings, args: AdminCreateArgs) -> anyhow::Result<()> {
    let password = match args.password {
        Some(password) => password,
        None => read_password_line().await?,
    };
    db::ensure_database(&settings.database_url)
        .await
        .context("connecting to PostgreSQL (is it running? see DATABASE_URL)")?;
    let pool = db::pool(&settings.database_url, 2)?;
    db::migrate(&pool).await.context("applying migrations")?;
    let role = match args.role {
        StaffRole::Operator => Role::Operator,
        StaffRole::Admin => Role::Admin,
    };
    let new = NewStaff {
        email: args.email,
        password,
        role,
        require_totp: args.require_totp,
    };
    let issuer = settings.auth.totp_issuer.clone();
    let totp_key = settings
        .auth
        .totp_key
        .as_deref()
        .map(|key| fleetlog_api::auth::totp_key::TotpKey::from_secret(key.as_bytes()))
        .transpose()
        .context("FLEETLOG_AUTH__TOTP_KEY")?;
    let created = accounts::create_staff(&pool, new, &issuer, totp_key.as_ref())
        .await
        .context("creating the account")?;
    let account = created.account;
    println!(
        "created {} {} ({})",
        account.role, account.email, account.user_id
    );
    if let Some(uri) = created.totp_uri {
        println!("TOTP is required at login. Add this to an authenticator app, then discard it:");
        println!("{uri}");
    }
    pool.close().await;
    Ok(())
}

/// One line from standard input, without its line ending.
async fn read_password_line() -> anyhow::Result<String> {
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await
    .context("reading standard input")?
    .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}
