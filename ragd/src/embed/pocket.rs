//! The bundled MiniLM sentence embedder (pocket-encoder): weights compiled
//! into the binary, 384 dimensions, no download. Inference is synchronous
//! CPU work, so it runs on the [`CpuPool`].

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};

use super::{EmbedError, Embedder, Lane};
use crate::cpu::CpuPool;

/// Texts per inference call; larger batches are split.
const BATCH: usize = 32;

pub struct PocketEmbedder {
    encoder: pocket_encoder::Encoder,
    model: String,
    /// From `model_info()`, read once: it parses the bundled provenance
    /// JSON on every call (28,000 instructions, and every question asks).
    dimensions: u32,
    pool: Arc<CpuPool>,
}

impl PocketEmbedder {
    pub fn new(pool: Arc<CpuPool>) -> Result<Self, EmbedError> {
        let encoder = pocket_encoder::Encoder::new().map_err(EmbedError::Load)?;
        let info = pocket_encoder::model_info();
        Ok(Self {
            encoder,
            model: format!("{}@{}", info.id, info.revision),
            dimensions: info.dimensions as u32,
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
            other => EmbedError::Model(other),
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
        self.dimensions
    }

    async fn embed(&self, texts: Vec<String>, lane: Lane) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(vec![]);
        }
        // An ingest's batches run in the batch lane (at most half the
        // pool, at a lower priority), so questions never queue behind them.
        let in_flight = match lane {
            Lane::Interactive => self.pool.threads(),
            Lane::Batch => self.pool.batch_threads(),
        };
        let jobs: Vec<Vec<String>> = texts.chunks(BATCH).map(<[String]>::to_vec).collect();
        let pool = &self.pool;
        let encoder = &self.encoder;
        let jobs = jobs.into_iter().map(move |job| {
            let encoder = encoder.clone();
            async move {
                pool.run_in(lane, move || embed_sync(&encoder, &job))
                    .await?
            }
        });
        let batches: Vec<Vec<Vec<f32>>> = futures::stream::iter(jobs)
            .buffered(in_flight)
            .try_collect()
            .await?;
        Ok(batches.into_iter().flatten().collect())
    }

    async fn health(&self) -> Result<(), EmbedError> {
        Ok(())
    }
}
