//! Embedders turn text into vectors.
//!
//! - [`pocket`]: the bundled MiniLM (pocket-encoder), on the CPU pool.
//! - [`openai`]: an OpenAI-compatible `/v1/embeddings` endpoint.
//! - [`bm25`]: sparse BM25 vectors for keyword retrieval.
//!
//! Each embedder reports a model identity; a collection records it when it
//! is created and refuses vectors from any other model.

pub mod bm25;
pub mod openai;
pub mod pocket;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{EmbedderConfig, UpstreamConfig};
use crate::cpu::CpuPool;
pub use crate::cpu::Lane;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The input cannot be embedded (empty, too long...).
    #[error("{0}")]
    Input(String),
    /// The bundled model could not be loaded.
    #[error("loading bundled model: {0}")]
    Load(#[source] pocket_encoder::Error),
    /// The bundled model failed on this input.
    #[error("{0}")]
    Model(#[source] pocket_encoder::Error),
    /// The embedding job on the CPU pool panicked.
    #[error("{0}")]
    Job(#[from] crate::cpu::JobPanicked),
    /// The OpenAI-compatible endpoint failed or is unreachable.
    #[error("{0}")]
    Upstream(#[from] crate::upstream::UpstreamError),
    /// The embedder returned another number of vectors than texts.
    #[error("returned {got} vectors for {want} texts")]
    Count { got: usize, want: usize },
}

#[async_trait]
pub trait Embedder: Send + Sync {
    /// `pocket-encoder`, `openai`.
    fn kind(&self) -> &'static str;
    /// Identity of the model; vectors of different identities never mix.
    fn model(&self) -> &str;
    fn dimensions(&self) -> u32;
    /// Vectors for `texts`, in order. Query and passage use the same call;
    /// `lane` says whether someone waits on it (a question) or it is bulk
    /// work (an ingest), for embedders that run on the [`CpuPool`].
    async fn embed(&self, texts: Vec<String>, lane: Lane) -> Result<Vec<Vec<f32>>, EmbedError>;
    async fn health(&self) -> Result<(), EmbedError>;
}

/// The configured embedders by name.
pub type Embedders = BTreeMap<String, Arc<dyn Embedder>>;

/// Build every configured embedder.
pub fn build(
    configs: &BTreeMap<String, EmbedderConfig>,
    pool: Arc<CpuPool>,
    policy: &UpstreamConfig,
) -> Result<Embedders, EmbedError> {
    let mut out = Embedders::new();
    for (name, cfg) in configs {
        let e: Arc<dyn Embedder> = match cfg {
            EmbedderConfig::Pocket => Arc::new(pocket::PocketEmbedder::new(pool.clone())?),
            EmbedderConfig::Openai {
                url,
                model,
                dimensions,
                api_key_env,
                timeout_secs,
            } => Arc::new(openai::OpenAiEmbedder::new(
                url,
                model,
                *dimensions,
                api_key_env.as_deref(),
                *timeout_secs,
                policy,
            )?),
        };
        out.insert(name.clone(), e);
    }
    Ok(out)
}
