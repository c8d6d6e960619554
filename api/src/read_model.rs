//! Where the API reads a projection: the schema of its live version
//! (`projection_live_schema(name)`), switched atomically by a rebuild.

use sqlx::PgPool;

/// The live schema of projection `name`, if one is live yet. Only plain identifiers are
/// returned, so the name can be put into SQL text.
///
/// # Errors
/// Database failures.
pub async fn live_schema(pool: &PgPool, name: &str) -> Result<Option<String>, sqlx::Error> {
    let schema: Option<String> = sqlx::query_scalar("SELECT projection_live_schema($1)")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(schema.filter(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }))
}

/// Whether `err` says a table does not exist (a live version still creating its tables).
pub fn is_missing_table(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.code().as_deref() == Some("42P01"))
}
