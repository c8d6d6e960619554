//! Writer schemas by id from the Confluent-compatible registry (`GET /schemas/ids/{id}`),
//! compiled once per id into the Arrow schema of the files written with it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::ResolvedSchema;
use arrow_schema::SchemaRef;

use crate::ExportError;
use crate::avro_type::{self, Node};
use crate::row;

/// One writer schema, ready to decode and to write.
pub(crate) struct Compiled {
    /// The registry's id of the schema.
    pub(crate) id: u32,
    /// A datum reader of the writer schema (resolved once; the schema is leaked, one per
    /// id and run, so the reader can borrow it for as long as records need it).
    pub(crate) reader: GenericDatumReader<'static>,
    /// The top-level record's fields.
    pub(crate) fields: Vec<(String, Node)>,
    /// Envelope columns, then one column per top-level field.
    pub(crate) arrow: SchemaRef,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("id", &self.id)
            .field("arrow", &self.arrow)
            .finish_non_exhaustive()
    }
}

/// What the registry said about one id: a schema, or why records written with it cannot
/// be exported (unknown id, not a record, unsupported type) — those records are rejects.
pub(crate) type Lookup = Result<Arc<Compiled>, String>;

/// Schemas by id, cached for the run.
pub(crate) struct Schemas {
    url: String,
    client: reqwest::Client,
    cache: HashMap<u32, Lookup>,
}

impl Schemas {
    /// A client of the registry at `url`; checks that it answers (`GET /subjects`).
    ///
    /// # Errors
    /// [`ExportError::Registry`] when it does not answer 200.
    pub(crate) async fn connect(url: &str) -> Result<Self, ExportError> {
        let url = url.trim_end_matches('/').to_owned();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| registry_error(&url, e.to_string()))?;
        let response = client
            .get(format!("{url}/subjects"))
            .send()
            .await
            .map_err(|e| registry_error(&url, e.to_string()))?;
        if !response.status().is_success() {
            return Err(registry_error(
                &url,
                format!("GET /subjects answered {}", response.status()),
            ));
        }
        Ok(Self {
            url,
            client,
            cache: HashMap::new(),
        })
    }

    /// The compiled schema `id`, fetched on first use.
    ///
    /// # Errors
    /// [`ExportError::Registry`] when the registry fails to answer (a 404 is a reject, not
    /// an error).
    pub(crate) async fn get(&mut self, id: u32) -> Result<Lookup, ExportError> {
        if let Some(found) = self.cache.get(&id) {
            return Ok(found.clone());
        }
        let lookup = match self.fetch(id).await? {
            Some(text) => compile(id, &text),
            None => Err(format!("schema id {id} is unknown to the registry")),
        };
        self.cache.insert(id, lookup.clone());
        Ok(lookup)
    }

    async fn fetch(&self, id: u32) -> Result<Option<String>, ExportError> {
        #[derive(serde::Deserialize)]
        struct Body {
            schema: String,
        }
        let response = self
            .client
            .get(format!("{}/schemas/ids/{id}", self.url))
            .send()
            .await
            .map_err(|e| registry_error(&self.url, e.to_string()))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(registry_error(
                &self.url,
                format!("GET /schemas/ids/{id} answered {}", response.status()),
            ));
        }
        let body: Body = response
            .json()
            .await
            .map_err(|e| registry_error(&self.url, format!("schema {id}: {e}")))?;
        Ok(Some(body.schema))
    }
}

fn registry_error(url: &str, reason: String) -> ExportError {
    ExportError::Registry {
        url: url.to_owned(),
        reason,
    }
}

/// Parse and compile the schema text of `id`.
fn compile(id: u32, text: &str) -> Lookup {
    let avro = Schema::parse_str(text).map_err(|e| format!("schema {id} does not parse: {e}"))?;
    let resolved = ResolvedSchema::try_from(&avro)
        .map_err(|e| format!("schema {id} does not resolve: {e}"))?;
    let node =
        avro_type::compile(&avro, resolved.get_names()).map_err(|e| format!("schema {id}: {e}"))?;
    drop(resolved);
    let Node::Record(fields) = node else {
        return Err(format!("schema {id} is not a record"));
    };
    let arrow = row::arrow_schema(&fields).map_err(|e| format!("schema {id}: {e}"))?;
    let avro: &'static Schema = Box::leak(Box::new(avro));
    let reader = GenericDatumReader::builder(avro)
        .build()
        .map_err(|e| format!("schema {id} does not resolve: {e}"))?;
    Ok(Arc::new(Compiled {
        id,
        reader,
        fields,
        arrow,
    }))
}
