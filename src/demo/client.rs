//! The demo's HTTP client: the public API as a rider app or an operator tool uses it —
//! log in, submit a command and follow it until it is done.

use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

/// Longest one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many long polls of `GET /v1/commands/{id}?wait=5s` a command may take.
const SETTLE_POLLS: u32 = 24;

/// The API at one base URL.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
}

/// What became of a command: its final view (`status`, `reason.code`, …).
#[derive(Debug, Clone)]
pub(crate) struct Outcome(pub(crate) Value);

impl Outcome {
    /// `accepted`, `completed`, `rejected` or `failed`.
    pub(crate) fn status(&self) -> &str {
        self.0["status"].as_str().unwrap_or("unknown")
    }

    /// The rejection or failure code, if any (`battery_low`, `in_no_parking_zone`, …).
    pub(crate) fn reason(&self) -> Option<&str> {
        self.0["reason"]["code"].as_str()
    }

    /// The command went through.
    pub(crate) fn ok(&self) -> bool {
        matches!(self.status(), "accepted" | "completed")
    }
}

impl Client {
    /// A client of the API at `base` (`http://127.0.0.1:8080`).
    pub(crate) fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// `GET path` with a bearer token: status and JSON body (`null` if none).
    pub(crate) async fn get(&self, token: &str, path: &str) -> anyhow::Result<(u16, Value)> {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token);
        Self::send(request, path).await
    }

    /// `method path` with an optional bearer token and JSON body.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::send(request, path).await
    }

    async fn send(request: reqwest::RequestBuilder, path: &str) -> anyhow::Result<(u16, Value)> {
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// Log in; the access token.
    ///
    /// # Errors
    /// When the API refuses the credentials.
    pub(crate) async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let creds = json!({"email": email, "password": password});
        let (status, body) = self
            .call(reqwest::Method::POST, None, "/v1/auth/login", Some(&creds))
            .await?;
        match body["access_token"].as_str() {
            Some(token) if status == 200 => Ok(token.to_owned()),
            _ => bail!("logging in as {email}: {status} {body}"),
        }
    }

    /// Sign up (an existing account is fine), then log in.
    pub(crate) async fn rider(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let creds = json!({"email": email, "password": password});
        let (status, body) = self
            .call(reqwest::Method::POST, None, "/v1/auth/signup", Some(&creds))
            .await?;
        if status != 201 && status != 409 {
            bail!("signing up {email}: {status} {body}");
        }
        self.login(email, password).await
    }

    /// Submit a command (`POST` or `PUT`) and follow it until it is done.
    ///
    /// # Errors
    /// When the API does not take it or it does not settle within two minutes.
    pub(crate) async fn command(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Outcome> {
        let (status, accepted) = self.call(method, Some(token), path, body).await?;
        let Some(id) = accepted["command_id"].as_str() else {
            bail!("{path}: {status} {accepted}");
        };
        for _ in 0..SETTLE_POLLS {
            let (status, view) = self
                .get(token, &format!("/v1/commands/{id}?wait=5s"))
                .await?;
            if status != 200 {
                bail!("following command {id}: {status} {view}");
            }
            if view["done"] == true {
                return Ok(Outcome(view));
            }
        }
        bail!("{path}: command {id} did not settle in two minutes")
    }
}
