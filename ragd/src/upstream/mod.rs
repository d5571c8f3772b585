//! An OpenAI-compatible HTTP endpoint (TEI, vLLM, Ollama, llama.cpp server,
//! OpenAI): base URL, optional bearer token from the environment, timeout.
//! Shared by the remote embedder and the remote generator, with one error
//! type ([`UpstreamError`]) that keeps the HTTP client's error as its source.
//!
//! Every call goes through [`Upstream::send`], which follows `[upstream]`:
//! - a call refused, timed out, or answered 429 or 5xx is retried up to
//!   `retries` times, after an exponential backoff with jitter
//!   (`backoff_ms` doubling, at most `max_backoff_ms`), or after the
//!   `Retry-After` the upstream asked for when it is longer (also capped);
//! - a circuit breaker per endpoint ([`breaker`]) counts calls that failed
//!   that way; after `breaker_failures` in a row it fails every call at once
//!   ([`UpstreamError::CircuitOpen`], 503 `upstream_unavailable`) for
//!   `breaker_cooldown_secs`, then lets one probe through to close it.
//!
//! Any other error (400, 401, a malformed answer) is neither retried nor
//! counted: it says something about the request, not the upstream's health.

pub mod breaker;

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use breaker::{Breaker, Permit};

use crate::config::UpstreamConfig;

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
    /// Not attempted: the endpoint failed `breaker_failures` calls in a row
    /// and the circuit breaker is open.
    #[error("{endpoint} is failing; not calling it for {retry_in_secs} s (circuit open)")]
    CircuitOpen {
        endpoint: String,
        retry_in_secs: u64,
    },
}

impl UpstreamError {
    /// Whether this failure says the upstream is unwell (refused, timed
    /// out, 429, 5xx, circuit open): worth a retry, counted by the breaker,
    /// and a 503 `upstream_unavailable` for the client.
    pub fn is_unavailable(&self) -> bool {
        match self {
            UpstreamError::Request { .. } | UpstreamError::CircuitOpen { .. } => true,
            UpstreamError::Status { status, .. } => {
                *status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            _ => false,
        }
    }

    /// Seconds a client should wait before trying again, when unavailable.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            UpstreamError::CircuitOpen { retry_in_secs, .. } => Some((*retry_in_secs).max(1)),
            e if e.is_unavailable() => Some(1),
            _ => None,
        }
    }

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
    policy: UpstreamConfig,
    breaker: Breaker,
}

impl Upstream {
    /// `key_setting` names the config key in errors (`generator.api_key_env`).
    pub fn new(
        url: &str,
        api_key_env: Option<&str>,
        key_setting: &str,
        timeout_secs: u64,
        policy: &UpstreamConfig,
    ) -> Result<Upstream, UpstreamError> {
        let api_key = match api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| UpstreamError::MissingKey {
                var: var.to_string(),
                setting: key_setting.to_string(),
            })?),
            None => None,
        };
        crate::http::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout_secs))
            .build()
            .map_err(UpstreamError::Client)?;
        Ok(Upstream {
            client,
            base: url.trim_end_matches('/').to_string(),
            api_key,
            policy: policy.clone(),
            breaker: Breaker::new(
                policy.breaker_failures,
                Duration::from_secs(policy.breaker_cooldown_secs),
            ),
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

    /// Send `req`, which was built from [`Upstream::post`] to `endpoint`,
    /// with retries and the circuit breaker (see the module documentation);
    /// an error status is an error.
    pub async fn send(
        &self,
        endpoint: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, UpstreamError> {
        match self.breaker.permit() {
            Permit::Refuse(left) => {
                return Err(UpstreamError::CircuitOpen {
                    endpoint: endpoint.to_string(),
                    retry_in_secs: left.as_secs_f64().ceil() as u64,
                });
            }
            Permit::Call | Permit::Probe => {}
        }
        let mut attempt = 0;
        loop {
            // A JSON body can always be cloned; a stream body could not,
            // and is sent once.
            let Some(this) = req.try_clone() else {
                let (result, _) = self.send_once(endpoint, req).await;
                return self.settle(result);
            };
            let (result, retry_after) = self.send_once(endpoint, this).await;
            match result {
                Err(e) if e.is_unavailable() && attempt < self.policy.retries => {
                    let wait = self.backoff(attempt, retry_after);
                    tracing::debug!(
                        endpoint,
                        attempt = attempt + 1,
                        wait_ms = wait.as_millis() as u64,
                        error = %e,
                        "upstream call failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                result => return self.settle(result),
            }
        }
    }

    /// Tell the breaker how a call (with its retries) ended.
    fn settle(
        &self,
        result: Result<reqwest::Response, UpstreamError>,
    ) -> Result<reqwest::Response, UpstreamError> {
        match &result {
            Err(e) if e.is_unavailable() => self.breaker.failure(),
            // An answer, even an error status like 400: the upstream is alive.
            _ => self.breaker.success(),
        }
        result
    }

    /// One attempt, and the `Retry-After` the upstream asked for, if any.
    async fn send_once(
        &self,
        endpoint: &str,
        req: reqwest::RequestBuilder,
    ) -> (Result<reqwest::Response, UpstreamError>, Option<Duration>) {
        let resp = match req.send().await {
            Ok(r) => r,
            Err(source) => {
                let e = UpstreamError::Request {
                    endpoint: endpoint.to_string(),
                    source,
                };
                return (Err(e), None);
            }
        };
        if resp.status().is_success() {
            return (Ok(resp), None);
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        (
            Err(UpstreamError::status(endpoint, resp).await),
            retry_after,
        )
    }

    /// The wait before retry `attempt + 1`: `backoff_ms * 2^attempt` with
    /// jitter (between half and all of it), or the upstream's `Retry-After`
    /// when longer; never more than `max_backoff_ms`.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let max = Duration::from_millis(self.policy.max_backoff_ms);
        let base = Duration::from_millis(self.policy.backoff_ms)
            .saturating_mul(1u32 << attempt.min(16))
            .min(max);
        let jitter = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let jittered = base / 2 + base.mul_f64((jitter % 1000) as f64 / 2000.0);
        jittered.max(retry_after.unwrap_or_default()).min(max)
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
