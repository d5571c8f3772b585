//! An OpenAI-compatible HTTP endpoint (TEI, vLLM, Ollama, llama.cpp server,
//! OpenAI): base URL, optional bearer token from the environment, timeout.
//! Shared by the remote embedder and the remote generator, with one error
//! type ([`UpstreamError`]) that keeps the HTTP client's error as its source.

use std::time::Duration;

/// Why a call to an upstream endpoint failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The configured API key variable is missing from the environment.
    #[error("environment variable {var} ({setting}) is not set")]
    MissingKey { var: String, setting: String },
    /// The HTTP client could not be built.
    #[error("{0}")]
    Client(#[source] reqwest::Error),
    /// The request did not get an answer (refused, timed out, cut).
    #[error("{endpoint}: {source}")]
    Request {
        endpoint: String,
        #[source]
        source: reqwest::Error,
    },
    /// The endpoint answered with an error status.
    #[error("{endpoint} answered {status}: {body}")]
    Status {
        endpoint: String,
        status: reqwest::StatusCode,
        /// The start of the response body (at most 300 characters).
        body: String,
    },
    /// The answer could not be read as what the API promises.
    #[error("{endpoint}: {what}: {source}")]
    Decode {
        endpoint: String,
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The answer parsed but does not fit the request.
    #[error("{endpoint} {problem}")]
    Mismatch { endpoint: String, problem: String },
}

impl UpstreamError {
    /// An error status, with the start of the body for the log.
    pub async fn status(endpoint: &str, resp: reqwest::Response) -> UpstreamError {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        UpstreamError::Status {
            endpoint: endpoint.to_string(),
            status,
            body: body.chars().take(300).collect(),
        }
    }
}

pub struct Upstream {
    client: reqwest::Client,
    /// Base URL without a trailing slash.
    pub base: String,
    api_key: Option<String>,
}

impl Upstream {
    /// `key_setting` names the config key in errors (`generator.api_key_env`).
    pub fn new(
        url: &str,
        api_key_env: Option<&str>,
        key_setting: &str,
        timeout_secs: u64,
    ) -> Result<Upstream, UpstreamError> {
        let api_key = match api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| UpstreamError::MissingKey {
                var: var.to_string(),
                setting: key_setting.to_string(),
            })?),
            None => None,
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout_secs))
            .build()
            .map_err(UpstreamError::Client)?;
        Ok(Upstream {
            client,
            base: url.trim_end_matches('/').to_string(),
            api_key,
        })
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A POST to `url` with the bearer token, if any.
    pub fn post(&self, url: &str) -> reqwest::RequestBuilder {
        let req = self.client.post(url);
        match &self.api_key {
            Some(key) => req.bearer_auth(key),
            None => req,
        }
    }

    /// Send `req`, which was built from [`Upstream::post`] to `endpoint`;
    /// an error status is an error.
    pub async fn send(
        &self,
        endpoint: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, UpstreamError> {
        let resp = req.send().await.map_err(|source| UpstreamError::Request {
            endpoint: endpoint.to_string(),
            source,
        })?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(UpstreamError::status(endpoint, resp).await)
        }
    }

    /// The endpoint answers at all (any status).
    pub async fn health(&self) -> Result<(), UpstreamError> {
        self.client
            .get(&self.base)
            .send()
            .await
            .map(|_| ())
            .map_err(|source| UpstreamError::Request {
                endpoint: self.base.clone(),
                source,
            })
    }
}
