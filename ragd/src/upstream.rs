//! An OpenAI-compatible HTTP endpoint (TEI, vLLM, Ollama, llama.cpp server,
//! OpenAI): base URL, optional bearer token from the environment, timeout.
//! Shared by the remote embedder and the remote generator.

use std::time::Duration;

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
    ) -> Result<Upstream, String> {
        let api_key =
            match api_key_env {
                Some(var) => Some(std::env::var(var).map_err(|_| {
                    format!("environment variable {var} ({key_setting}) is not set")
                })?),
                None => None,
            };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout_secs))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Upstream {
            client,
            base: url.trim_end_matches('/').to_string(),
            api_key,
        })
    }

    /// Full URL of `path` (e.g. `/v1/embeddings`).
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

    /// Reachability only: any HTTP answer from the server counts.
    pub async fn health(&self) -> Result<(), String> {
        self.client
            .get(&self.base)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", self.base))
    }
}
