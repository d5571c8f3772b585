//! Answer generators: write an answer from the retrieved passages, citing
//! them as `[n]`.
//!
//! - [`extractive`]: built in; quotes the passages' units (from [`units`]:
//!   sentences, list items, table rows, code lines) that best answer the
//!   question.
//! - [`openai`]: an OpenAI-compatible chat-completions endpoint, streamed.

pub mod extractive;
pub mod openai;
pub mod sentences;
pub mod units;

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use ragd_api::Citation;

use crate::config::{GeneratorConfig, UpstreamConfig};

/// Why an answer could not be written (the built-in generator never fails).
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The OpenAI-compatible endpoint failed or is unreachable.
    #[error("{0}")]
    Upstream(#[from] crate::upstream::UpstreamError),
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

/// The answer when the best passage is below `retrieval.min_relevance`.
pub const NOTHING_RELEVANT: &str =
    "I could not find anything relevant to this question in the collection.";

/// Remove citation markers `[n]` that point at no passage (a generator may
/// invent them); markers 1..=count stay, and text that is not a marker
/// (`[x]`, `[]`, `[0]`...) is left alone except `[0]`, which cites nothing.
pub fn check_citations(answer: &str, count: usize) -> String {
    let mut out = String::with_capacity(answer.len());
    let mut rest = answer;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(']') {
            Some(close) if close > 0 && after[..close].bytes().all(|b| b.is_ascii_digit()) => {
                let valid = after[..close]
                    .parse::<usize>()
                    .is_ok_and(|n| n >= 1 && n <= count);
                if valid {
                    out.push_str(&rest[open..open + close + 2]);
                } else {
                    tracing::warn!(
                        marker = &after[..close],
                        count,
                        "answer cited a passage that does not exist; marker removed"
                    );
                    // Drop one space before a removed marker.
                    if out.ends_with(' ') {
                        out.pop();
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

pub fn build(
    cfg: &GeneratorConfig,
    policy: &UpstreamConfig,
) -> Result<Arc<dyn Generator>, GenerateError> {
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
            policy,
        )?),
    })
}

#[cfg(test)]
mod tests {
    use super::check_citations;

    #[test]
    fn invented_citations_are_removed() {
        assert_eq!(check_citations("A [1]. B [3][2].", 2), "A [1]. B[2].");
        assert_eq!(
            check_citations("See [0] and [12] or [x] [].", 12),
            "See and [12] or [x] []."
        );
        assert_eq!(check_citations("no markers", 0), "no markers");
        assert_eq!(check_citations("open [1 bracket", 1), "open [1 bracket");
    }
}
