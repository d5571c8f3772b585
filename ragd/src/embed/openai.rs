//! An OpenAI-compatible `/v1/embeddings` endpoint (TEI, vLLM, Ollama, OpenAI).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::{EmbedError, Embedder, Lane};
use crate::config::UpstreamConfig;
use crate::upstream::{Upstream, UpstreamError};

/// Inputs per HTTP request.
const BATCH: usize = 64;

pub struct OpenAiEmbedder {
    upstream: Upstream,
    endpoint: String,
    model_name: String,
    model: String,
    dimensions: u32,
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
        policy: &UpstreamConfig,
    ) -> Result<Self, EmbedError> {
        let upstream = Upstream::new(url, api_key_env, "api_key_env", timeout_secs, policy)?;
        Ok(Self {
            endpoint: upstream.url("/v1/embeddings"),
            upstream,
            model_name: model.to_string(),
            model: format!("openai:{model}@{url}"),
            dimensions,
        })
    }

    async fn call(&self, input: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mismatch = |problem: String| UpstreamError::Mismatch {
            endpoint: self.endpoint.clone(),
            problem,
        };
        let req = self
            .upstream
            .post(&self.endpoint)
            .json(&json!({ "model": self.model_name, "input": input }));
        let resp = self.upstream.send(&self.endpoint, req).await?;
        let mut parsed: EmbeddingsResponse =
            resp.json().await.map_err(|e| UpstreamError::Decode {
                endpoint: self.endpoint.clone(),
                what: "bad response",
                source: Box::new(e),
            })?;
        if parsed.data.len() != input.len() {
            return Err(mismatch(format!(
                "returned {} embeddings for {} inputs",
                parsed.data.len(),
                input.len()
            ))
            .into());
        }
        parsed.data.sort_by_key(|d| d.index.unwrap_or(0));
        let mut out = Vec::with_capacity(parsed.data.len());
        for item in parsed.data {
            if item.embedding.len() != self.dimensions as usize {
                return Err(mismatch(format!(
                    "returned {} dimensions, configured {}",
                    item.embedding.len(),
                    self.dimensions
                ))
                .into());
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

    async fn embed(&self, texts: Vec<String>, _lane: Lane) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            out.extend(self.call(batch).await?);
        }
        Ok(out)
    }

    async fn health(&self) -> Result<(), EmbedError> {
        Ok(self.upstream.health().await?)
    }
}
