//! Registering the value schema of every topic with the schema registry.
//!
//! `POST /subjects/<topic>-value/versions` with the composed schema of
//! [`crate::catalog`]. Registering an identical schema again returns the existing id, so
//! this is idempotent; an incompatible change is refused by the registry (409). Dead-letter
//! topics get no schema: their records keep the failed record's bytes as they were.

use schema_registry_converter::async_impl::schema_registry::{SrSettings, post_schema};
use schema_registry_converter::error::SRCError;
use schema_registry_converter::schema_registry_common::{SchemaType, SuppliedSchema};

use crate::catalog::{self, CatalogError};

/// A schema could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The catalogue could not compose the schema.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The registry refused the schema or could not be reached.
    #[error("registering {subject} failed: {source}")]
    Registry {
        /// The subject.
        subject: String,
        /// What the converter reported (status and registry message).
        #[source]
        source: SRCError,
    },
}

/// Register `schema_json` (an Avro schema) under `subject`; returns its schema id.
///
/// # Errors
/// [`RegistrationError::Registry`] when the registry is unreachable or refuses the schema
/// (invalid, or incompatible with the subject's earlier versions).
pub async fn register(
    registry_url: &str,
    subject: &str,
    schema_json: &str,
) -> Result<u32, RegistrationError> {
    let settings = SrSettings::new(registry_url.trim_end_matches('/').to_owned());
    let supplied = SuppliedSchema::new(None, SchemaType::Avro, schema_json.to_owned());
    let registered = post_schema(&settings, subject.to_owned(), supplied)
        .await
        .map_err(|source| RegistrationError::Registry {
            subject: subject.to_owned(),
            source,
        })?;
    tracing::debug!(subject, id = registered.id, "schema registered");
    Ok(registered.id)
}

/// Register every primary topic's value schema under `<topic>-value`; returns
/// `(subject, schema id)` in flow order.
///
/// # Errors
/// The first schema the catalogue cannot compose or the registry refuses.
pub async fn register_all(registry_url: &str) -> Result<Vec<(String, u32)>, RegistrationError> {
    let mut registered = Vec::new();
    for (subject, json) in catalog::value_schemas()? {
        let id = register(registry_url, &subject, &json).await?;
        registered.push((subject, id));
    }
    Ok(registered)
}
