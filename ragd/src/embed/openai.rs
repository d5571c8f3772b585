//! An OpenAI-compatible `/v1/embeddings` endpoint (TEI, vLLM, Ollama, OpenAI).

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::{EmbedError, Embedder};

/// Inputs per HTTP request.
const BATCH: usize = 64;

pub struct OpenAiEmbedder {
    client: reqwest::Client,
    endpoint: String,
    base: String,
    model_name: String,
    model: String,
    dimensions: u32,
    api_key: Option<String>,
}

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl OpenAiEmbedder {
    pub fn new(
        url: &str,
        model: &str,
        dimensions: u32,
        api_key_env: Option<&str>,
        timeout_secs: u64,
    ) -> Result<Self, EmbedError> {
        let api_key = match api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                EmbedError::Backend(format!(
                    "environment variable {var} (api_key_env) is not set"
                ))
            })?),
            None => None,
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout_secs))
            .build()
            .map_err(|e| EmbedError::Backend(e.to_string()))?;
        let base = url.trim_end_matches('/').to_string();
        Ok(Self {
            client,
            endpoint: format!("{base}/v1/embeddings"),
            base,
            model_name: model.to_string(),
            model: format!("openai:{model}@{url}"),
            dimensions,
            api_key,
        })
    }

    async fn call(&self, input: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut req = self
            .client
            .post(&self.endpoint)
            .json(&json!({ "model": self.model_name, "input": input }));
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| EmbedError::Backend(format!("{}: {e}", self.endpoint)))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            return Err(EmbedError::Backend(format!(
                "{} answered {status}: {}",
                self.endpoint,
                body.chars().take(300).collect::<String>()
            )));
        }
        let mut parsed: EmbeddingsResponse = resp
            .json()
            .await
            .map_err(|e| EmbedError::Backend(format!("{}: bad response: {e}", self.endpoint)))?;
        if parsed.data.len() != input.len() {
            return Err(EmbedError::Backend(format!(
                "{} returned {} embeddings for {} inputs",
                self.endpoint,
                parsed.data.len(),
                input.len()
            )));
        }
        parsed.data.sort_by_key(|d| d.index.unwrap_or(0));
        let mut out = Vec::with_capacity(parsed.data.len());
        for item in parsed.data {
            if item.embedding.len() != self.dimensions as usize {
                return Err(EmbedError::Backend(format!(
                    "{} returned {} dimensions, configured {}",
                    self.endpoint,
                    item.embedding.len(),
                    self.dimensions
                )));
            }
            out.push(item.embedding);
        }
        Ok(out)
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn kind(&self) -> &'static str {
        "openai"
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn dimensions(&self) -> u32 {
        self.dimensions
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            out.extend(self.call(batch).await?);
        }
        Ok(out)
    }

    async fn health(&self) -> Result<(), EmbedError> {
        // Reachability only: any HTTP answer from the server counts.
        self.client
            .get(&self.base)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| EmbedError::Backend(format!("{}: {e}", self.base)))
    }
}
