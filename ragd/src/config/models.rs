//! The models ragd calls: embedders (bundled or OpenAI-compatible) and the
//! generator that writes answers.

use serde::{Deserialize, Serialize};

/// An embedding model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum EmbedderConfig {
    /// The bundled MiniLM (pocket-encoder): 384 dimensions, no download.
    Pocket,
    /// An OpenAI-compatible `/v1/embeddings` endpoint (TEI, vLLM, Ollama, OpenAI).
    Openai {
        /// Base URL, e.g. `http://127.0.0.1:8081` (ragd appends `/v1/embeddings`).
        url: String,
        /// Model name sent in the request.
        model: String,
        /// Vector dimensions the model returns.
        dimensions: u32,
        /// Environment variable holding a bearer token, if the endpoint needs one.
        #[serde(default)]
        api_key_env: Option<String>,
        /// Request timeout in seconds.
        #[serde(default = "default_http_timeout")]
        timeout_secs: u64,
    },
}

fn default_http_timeout() -> u64 {
    30
}

/// How answers are written from the retrieved passages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum GeneratorConfig {
    /// Built in: picks the passages' most relevant sentences and cites them.
    Extractive {
        /// Sentences in an answer.
        #[serde(default = "default_sentences")]
        max_sentences: u32,
    },
    /// An OpenAI-compatible `/v1/chat/completions` endpoint (vLLM, Ollama,
    /// llama.cpp server, OpenAI).
    Openai {
        url: String,
        model: String,
        #[serde(default)]
        api_key_env: Option<String>,
        #[serde(default = "default_max_tokens")]
        max_tokens: u32,
        #[serde(default)]
        temperature: f32,
        #[serde(default = "default_generate_timeout")]
        timeout_secs: u64,
    },
}

fn default_sentences() -> u32 {
    3
}
fn default_max_tokens() -> u32 {
    512
}
fn default_generate_timeout() -> u64 {
    120
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig::Extractive {
            max_sentences: default_sentences(),
        }
    }
}

impl GeneratorConfig {
    pub fn describe(&self) -> String {
        match self {
            GeneratorConfig::Extractive { .. } => "extractive".into(),
            GeneratorConfig::Openai { url, model, .. } => format!("openai:{model}@{url}"),
        }
    }
}
