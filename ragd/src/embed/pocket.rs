//! The bundled MiniLM sentence embedder (pocket-encoder): weights compiled
//! into the binary, 384 dimensions, no download. Inference is synchronous
//! CPU work, so it runs on the [`CpuPool`].

use std::sync::Arc;

use async_trait::async_trait;

use super::{EmbedError, Embedder};
use crate::cpu::CpuPool;

/// Texts per inference call; larger batches are split.
const BATCH: usize = 32;

pub struct PocketEmbedder {
    encoder: pocket_encoder::Encoder,
    model: String,
    pool: Arc<CpuPool>,
}

impl PocketEmbedder {
    pub fn new(pool: Arc<CpuPool>) -> Result<Self, EmbedError> {
        let encoder = pocket_encoder::Encoder::new()
            .map_err(|e| EmbedError::Backend(format!("loading bundled model: {e}")))?;
        let info = pocket_encoder::model_info();
        Ok(Self {
            encoder,
            model: format!("{}@{}", info.id, info.revision),
            pool,
        })
    }

    /// Embed on the calling thread (used by benchmarks of the model alone).
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        embed_sync(&self.encoder, texts)
    }
}

fn embed_sync(
    encoder: &pocket_encoder::Encoder,
    texts: &[String],
) -> Result<Vec<Vec<f32>>, EmbedError> {
    let mut out = Vec::with_capacity(texts.len());
    for batch in texts.chunks(BATCH) {
        let v = encoder.embed(batch).map_err(|e| match e {
            pocket_encoder::Error::Input(m) => EmbedError::Input(m.to_string()),
            other => EmbedError::Backend(other.to_string()),
        })?;
        out.extend(v);
    }
    Ok(out)
}

#[async_trait]
impl Embedder for PocketEmbedder {
    fn kind(&self) -> &'static str {
        "pocket-encoder"
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn dimensions(&self) -> u32 {
        pocket_encoder::model_info().dimensions as u32
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(vec![]);
        }
        // Split large inputs into batch-sized jobs: a big ingest uses every
        // CPU slot, but queries queue behind one batch, not the whole ingest.
        // The jobs run concurrently; the pool bounds how many at once.
        let jobs = texts.chunks(BATCH).map(|job| {
            let encoder = self.encoder.clone();
            let job = job.to_vec();
            async move {
                self.pool
                    .run(move || embed_sync(&encoder, &job))
                    .await
                    .map_err(|e| EmbedError::Backend(e.to_string()))?
            }
        });
        let batches = futures::future::try_join_all(jobs).await?;
        Ok(batches.into_iter().flatten().collect())
    }

    async fn health(&self) -> Result<(), EmbedError> {
        Ok(())
    }
}
