//! An OpenAI-compatible `/v1/chat/completions` endpoint (vLLM, Ollama,
//! llama.cpp server, OpenAI), always called with `stream: true` so that
//! ragd can forward tokens to an SSE client as they arrive.

use async_trait::async_trait;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use ragd_api::Citation;
use serde_json::{Value, json};

use super::{AnswerStream, GenerateError, Generator};
use crate::config::UpstreamConfig;
use crate::upstream::{Upstream, UpstreamError};

pub struct OpenAiGenerator {
    upstream: Upstream,
    endpoint: String,
    model: String,
    max_tokens: u32,
    temperature: f32,
}

const SYSTEM_PROMPT: &str = "You answer questions using only the numbered passages you are given. \
Cite every statement with the number of its passage in square brackets, like [1] or [2][3]. \
If the passages do not contain the answer, say that you could not find it.";

/// The user message: numbered passages, then the question.
pub fn prompt(question: &str, passages: &[Citation]) -> String {
    let mut s = String::from("Passages:\n");
    for p in passages {
        s.push_str(&format!("[{}] {}\n\n", p.n, p.text.trim()));
    }
    s.push_str("Question: ");
    s.push_str(question);
    s
}

impl OpenAiGenerator {
    pub fn new(
        url: &str,
        model: &str,
        api_key_env: Option<&str>,
        max_tokens: u32,
        temperature: f32,
        timeout_secs: u64,
        policy: &UpstreamConfig,
    ) -> Result<Self, GenerateError> {
        let upstream = Upstream::new(
            url,
            api_key_env,
            "generator.api_key_env",
            timeout_secs,
            policy,
        )?;
        Ok(Self {
            endpoint: upstream.url("/v1/chat/completions"),
            upstream,
            model: model.to_string(),
            max_tokens,
            temperature,
        })
    }
}

#[async_trait]
impl Generator for OpenAiGenerator {
    fn kind(&self) -> &'static str {
        "openai"
    }

    async fn generate(
        &self,
        question: &str,
        passages: &[Citation],
    ) -> Result<AnswerStream, GenerateError> {
        let body = json!({
            "model": self.model,
            "stream": true,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": prompt(question, passages)},
            ],
        });
        let endpoint = self.endpoint.clone();
        let req = self.upstream.post(&self.endpoint).json(&body);
        let resp = self.upstream.send(&self.endpoint, req).await?;
        let events = resp.bytes_stream().eventsource();
        let stream = events
            .take_while(|ev| {
                let done = matches!(ev, Ok(e) if e.data.trim() == "[DONE]");
                futures::future::ready(!done)
            })
            .filter_map(move |ev| {
                let endpoint = endpoint.clone();
                async move {
                    match ev {
                        Err(e) => Some(Err(UpstreamError::Decode {
                            endpoint,
                            what: "stream",
                            source: Box::new(e),
                        }
                        .into())),
                        Ok(e) => {
                            let v: Value = match serde_json::from_str(&e.data) {
                                Ok(v) => v,
                                Err(err) => {
                                    return Some(Err(UpstreamError::Decode {
                                        endpoint,
                                        what: "bad stream chunk",
                                        source: Box::new(err),
                                    }
                                    .into()));
                                }
                            };
                            v["choices"][0]["delta"]["content"]
                                .as_str()
                                .filter(|s| !s.is_empty())
                                .map(|s| Ok(s.to_string()))
                        }
                    }
                }
            });
        Ok(Box::pin(stream))
    }

    async fn health(&self) -> Result<(), GenerateError> {
        Ok(self.upstream.health().await?)
    }
}
