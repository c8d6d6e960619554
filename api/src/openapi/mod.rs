//! `GET /openapi.json`: the OpenAPI 3.1 document of every `/v1` route, generated from the
//! code with `utoipa` so it cannot drift from it.
//!
//! Each route module describes its handlers with `#[utoipa::path]` next to them and lists
//! them in a `Doc` of its own; request and response types derive `ToSchema`/`IntoParams`.
//! [`document`] merges those parts and applies the conventions every `/v1` route shares
//! ([`conventions`]: the bearer scheme, the §9 error body, 401/403 for authenticated
//! routes, 429 with `Retry-After`, 413/415/422 for JSON bodies, 500 and 503). A unit test
//! compares the routes of the real router with the document's paths and methods.
//!
//! GBFS, MDS, the console and the operational endpoints (`/healthz`, `/readyz`,
//! `/metrics`) are left out: GBFS and MDS follow specifications of their own, published
//! with their own schemas.

mod conventions;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use utoipa::OpenApi;

use crate::{auth, commands, fleet, rides, stream};

/// The document's root: title, description, tags and shared components.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "fleetlog API",
        description = "The rider, operator and admin API of fleetlog (`/v1`). Errors have one \
            shape, `{\"error\": {\"code\", \"message\", \"field\"?}}`; authenticated routes take \
            `Authorization: Bearer <access token>` (or an MDS provider token where stated); \
            every caller is rate limited (`429` with `Retry-After`). See docs/api.md."
    ),
    components(schemas(crate::error::Body<'static>)),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "commands", description = "Commands: appended to the log, answered 202, decided later"),
        (name = "rides", description = "Rides from the rides read model"),
        (name = "fleet", description = "The fleet read model, for riders and operators"),
        (name = "admin", description = "Admin credentials (MDS provider tokens)"),
        (name = "stream", description = "Live updates (Server-Sent Events)")
    )
)]
struct ApiDoc;

/// The OpenAPI document of every `/v1` route.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        auth::routes::Doc::openapi(),
        auth::admin_routes::Doc::openapi(),
        auth::session_routes::Doc::openapi(),
        commands::Doc::openapi(),
        rides::Doc::openapi(),
        fleet::Doc::openapi(),
        stream::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    conventions::apply(&mut doc);
    doc
}

/// `GET /openapi.json` (public), the document rendered once.
///
/// # Panics
/// Never in practice: the document is plain data that always serialises.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let json: Arc<str> = document()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        .into();
    Router::new().route(
        "/openapi.json",
        get(move || {
            let json = Arc::clone(&json);
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    json.to_string(),
                )
            }
        }),
    )
}
