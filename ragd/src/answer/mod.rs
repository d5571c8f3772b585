//! Answer generators: write an answer from the retrieved passages, citing
//! them as `[n]`.
//!
//! - [`extractive`]: built in; picks the passages' most relevant sentences.
//! - [`openai`]: an OpenAI-compatible chat-completions endpoint, streamed.

pub mod extractive;
pub mod openai;

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use ragd_api::Citation;

use crate::config::GeneratorConfig;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{0}")]
    Backend(String),
}

/// Pieces of answer text, in order; concatenated they are the answer.
pub type AnswerStream = BoxStream<'static, Result<String, GenerateError>>;

#[async_trait]
pub trait Generator: Send + Sync {
    /// `extractive`, `openai`.
    fn kind(&self) -> &'static str;
    async fn generate(
        &self,
        question: &str,
        passages: &[Citation],
    ) -> Result<AnswerStream, GenerateError>;
    async fn health(&self) -> Result<(), GenerateError>;
}

pub fn build(cfg: &GeneratorConfig) -> Result<Arc<dyn Generator>, GenerateError> {
    Ok(match cfg {
        GeneratorConfig::Extractive { max_sentences } => {
            Arc::new(extractive::Extractive::new(*max_sentences as usize))
        }
        GeneratorConfig::Openai {
            url,
            model,
            api_key_env,
            max_tokens,
            temperature,
            timeout_secs,
        } => Arc::new(openai::OpenAiGenerator::new(
            url,
            model,
            api_key_env.as_deref(),
            *max_tokens,
            *temperature,
            *timeout_secs,
        )?),
    })
}
