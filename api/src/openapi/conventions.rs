//! What every `/v1` operation shares, applied to the merged document once: the bearer
//! security scheme, the §9 error body on every 4xx/5xx answer, the answers any route
//! can give whatever its handler does (authentication, the per-caller limit, body
//! limits, timeouts, internal errors), and the one meaning of `X-Fleetlog-Data-Age-Ms`
//! wherever a handler declares it. A handler's own description of a status wins.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Header, OpenApi, Ref, RefOr, Response, ResponseBuilder, Schema};

/// Name of the bearer security scheme (`security(("bearer" = []))` on a path).
pub(crate) const BEARER: &str = "bearer";
/// Name of the error body schema.
const ERROR_BODY: &str = "ErrorBody";

/// Add the shared components and answers to every operation of `doc`.
pub(crate) fn apply(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "An access token from `POST /v1/auth/login` (or an MDS provider token)",
                ))
                .build(),
        ),
    );
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            shared_answers(op);
            data_age_headers(op);
        }
    }
}

fn shared_answers(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = op.request_body.is_some();
    let mut add = |status: &str, response: Response| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert(RefOr::T(response));
    };
    if secured {
        add(
            "401",
            error("`missing_token`, `invalid_token` or `token_expired`")
                .header("WWW-Authenticate", text_header("`Bearer`, with the error"))
                .build(),
        );
        add(
            "403",
            error("`forbidden`: the token's role may not use this route").build(),
        );
    }
    if has_body {
        add(
            "400",
            error("`malformed_json`: the body is not JSON").build(),
        );
        add(
            "413",
            error("`payload_too_large`: the body is over 64 KiB").build(),
        );
        add(
            "415",
            error("`unsupported_media_type`: the body is not `application/json`").build(),
        );
        add(
            "422",
            error("`missing_field`, `invalid_field` or `invalid_body` (with `field`)").build(),
        );
    }
    add(
        "429",
        error("`rate_limited`: too many requests from this caller")
            .header("Retry-After", retry_after())
            .build(),
    );
    add("500", error("`internal`: an internal failure").build());
    add(
        "503",
        error("`timeout`: the request took longer than 30 s").build(),
    );
    // Every error answer carries the §9 body, whoever described it.
    for (status, response) in &mut op.responses.responses {
        let RefOr::T(response) = response else {
            continue;
        };
        let is_error = status.starts_with('4') || status.starts_with('5');
        if is_error && response.content.is_empty() {
            response.content.insert(
                "application/json".to_owned(),
                RefOr::T(Content::new(Some(Ref::from_schema_name(ERROR_BODY)))),
            );
        }
    }
}

/// Every `X-Fleetlog-Data-Age-Ms` a handler declares (`headers(("X-Fleetlog-Data-Age-Ms"
/// = i64))`), described once: [`crate::read_model::age`].
fn data_age_headers(op: &mut Operation) {
    for response in op.responses.responses.values_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        for (name, header) in &mut response.headers {
            if name.eq_ignore_ascii_case(crate::read_model::DATA_AGE.as_str()) {
                *header = RefOr::T(data_age());
            }
        }
    }
}

/// `X-Fleetlog-Data-Age-Ms`: whole milliseconds, never negative.
fn data_age() -> Header {
    let mut header = Header::new(RefOr::<Schema>::T(
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .minimum(Some(0))
            .into(),
    ));
    header.description = Some(crate::read_model::age::DATA_AGE_DESCRIPTION.to_owned());
    header
}

/// An error answer with the §9 body.
fn error(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name(ERROR_BODY))),
    )
}

/// A string header described by `description`.
fn text_header(description: &str) -> Header {
    let mut header = Header::new(RefOr::<Schema>::T(
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .into(),
    ));
    header.description = Some(description.to_owned());
    header
}

/// `Retry-After`: whole seconds.
pub(crate) fn retry_after() -> Header {
    let mut header = Header::new(RefOr::<Schema>::T(
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Integer)
            .minimum(Some(1))
            .into(),
    ));
    header.description = Some("Seconds to wait before retrying".to_owned());
    header
}
