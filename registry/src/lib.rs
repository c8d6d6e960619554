//! `fleetlog registry`: the Confluent Schema Registry REST API, backed by PostgreSQL.
//!
//! Producers and consumers (and any Confluent client or `schema_registry_converter`)
//! talk to this as they would to Confluent Schema Registry 7.x: same paths, status
//! codes, `error_code`s and JSON bodies. Only AVRO is supported.
//!
//! | Endpoint | Answer |
//! |---|---|
//! | `GET /subjects[?deleted=true]` | subject names |
//! | `POST /subjects/{s}/versions` | `{"id": N}`; 409 when incompatible, 42201 invalid |
//! | `GET /subjects/{s}/versions[?deleted=true]` | version numbers |
//! | `GET /subjects/{s}/versions/{n\|latest\|-1}[/schema]` | `{subject, version, id, schema}` / raw |
//! | `POST /subjects/{s}[?deleted=true]` | lookup: the version holding the schema |
//! | `DELETE /subjects/{s}[?permanent=true]` | deleted versions (soft first, then hard) |
//! | `DELETE /subjects/{s}/versions/{n\|latest}[?permanent=true]` | the version |
//! | `GET /schemas/ids/{id}[/schema\|/versions\|/subjects]` | schema by global id |
//! | `GET /schemas/types` | `["AVRO"]` |
//! | `GET\|PUT\|DELETE /config[/{s}]` | compatibility levels |
//! | `POST /compatibility/subjects/{s}/versions[/{n\|latest}][?verbose=true]` | `{"is_compatible": …}` |
//! | `GET /mode` | `{"mode": "READWRITE"}` |
//!
//! Writes (registering, deleting, `PUT`/`DELETE /config`) need the admin credential as
//! HTTP Basic auth (401 / 40101 without, 403 / 40301 with a wrong one); reads, lookups and
//! compatibility checks stay open (see [`access`]).
//!
//! Semantics: identical schemas (see [`avro`]) share one global id across subjects, and
//! re-registering a live schema returns its id without a new version. The default
//! global level is BACKWARD_TRANSITIVE, because replay reads every topic from offset 0.
//! Soft-deleted versions are hidden unless `?deleted=true`, their ids keep resolving,
//! and re-registering a soft-deleted schema adds a new version. Errors are Confluent's
//! `{"error_code", "message"}` bodies, including for malformed JSON, unknown routes and
//! unsupported content types; responses are `application/vnd.schemaregistry.v1+json`.
//!
//! Layout: [`routes`] (handlers and extractors), [`store`] (SQL), [`compat`]
//! (compatibility via apache-avro), [`avro`] (parsing and dedupe key), [`error`],
//! [`types`] (JSON bodies).

pub mod access;
mod avro;
mod compat;
mod error;
mod routes;
mod store;
mod types;

use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use self::access::WriteAccess;
use self::store::Store;

/// The registry's routes, over `pool` (migrated); writes need `access`.
pub fn router(pool: PgPool, access: WriteAccess) -> axum::Router {
    routes::routes()
        .with_state(Store::new(pool))
        .layer(axum::middleware::from_fn_with_state(
            access,
            access::require_admin_for_writes,
        ))
}

/// Serve until `shutdown` is cancelled.
///
/// In-flight requests finish before this returns.
///
/// # Errors
/// When the listener fails.
pub async fn serve(
    listener: TcpListener,
    pool: PgPool,
    access: WriteAccess,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "schema registry listening");
    axum::serve(listener, router(pool, access))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    tracing::info!(%addr, "schema registry stopped");
    Ok(())
}
