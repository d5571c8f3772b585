//! The OpenAI-compatible surface: `POST /v1/chat/completions` and
//! `GET /v1/models`, in the shapes OpenAI's client libraries read.
//!
//! A model is a collection: `"model": "docs"` asks the `docs` collection
//! with the server's retrieval mode, `"docs:hybrid"` with that mode. The
//! conversation's last user turn is the question; the user turn before it
//! is added to the retrieval query as context, so that a follow-up ("and
//! how long does that take?") finds the passages of the topic in hand.
//!
//! Extension: every completion (and the first chunk of a stream) carries
//! `citations`, the passages the answer cites as `[n]` ([`Citation`]).
//! OpenAI clients ignore it; ragd-aware clients read it.
//!
//! Fields this surface does not use (`temperature`, `max_tokens`, `n`,
//! `tools` ...) are accepted and ignored, so clients that always send them
//! keep working.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Citation;

/// `POST /v1/chat/completions`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatRequest {
    /// A collection name, optionally with a retrieval mode: `docs`,
    /// `docs:dense`, `docs:sparse`, `docs:hybrid`.
    pub model: String,
    /// The conversation; the last `user` message is the question.
    pub messages: Vec<ChatMessage>,
    /// Stream the answer as `chat.completion.chunk` Server-Sent Events,
    /// ended by `data: [DONE]`.
    #[serde(default)]
    pub stream: bool,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` (others are accepted and skipped).
    pub role: String,
    /// The text. OpenAI's array form (`[{"type":"text","text":...}]`) is
    /// read too: its text parts, joined.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub content: Option<ChatContent>,
}

/// A message's content: a string, or an array of typed parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChatContent {
    Text(String),
    Parts(Vec<ChatPart>),
}

/// One part of an array content; only `text` parts are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatPart {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl ChatMessage {
    /// The message's text (text parts joined by a space).
    pub fn text(&self) -> String {
        match &self.content {
            None => String::new(),
            Some(ChatContent::Text(t)) => t.clone(),
            Some(ChatContent::Parts(parts)) => parts
                .iter()
                .filter(|p| p.kind == "text")
                .filter_map(|p| p.text.as_deref())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// A complete (non-streamed) answer: `object` is `chat.completion`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletion {
    /// `chatcmpl-` and a random suffix.
    pub id: String,
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    pub model: String,
    pub choices: Vec<ChatChoice>,
    pub usage: ChatUsage,
    /// Extension: the passages the answer cites as `[n]`.
    pub citations: Vec<Citation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatChoice {
    pub index: u32,
    pub message: ChatReply,
    /// `stop`.
    pub finish_reason: String,
}

/// The assistant's message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatReply {
    /// `assistant`.
    pub role: String,
    pub content: String,
}

/// Token counts, estimated as words (ragd has no tokenizer of the
/// client's model): enough for clients that read the field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ChatUsage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

/// One Server-Sent Event of a streamed answer: `object` is
/// `chat.completion.chunk`. The first has the role (and the extension
/// `citations`), then one per piece of answer text, then an empty delta
/// with `finish_reason: "stop"`; then `data: [DONE]`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatChunk {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub model: String,
    pub choices: Vec<ChatChunkChoice>,
    /// Extension, first chunk only: the passages the answer cites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Citation>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatChunkChoice {
    pub index: u32,
    pub delta: ChatDelta,
    /// `null` until the last chunk, then `stop`.
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ChatDelta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// `GET /v1/models`: every collection the caller may ask, as a model.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelList {
    /// `list`.
    pub object: String,
    pub data: Vec<Model>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Model {
    /// The collection's name (append `:dense`, `:sparse` or `:hybrid` to
    /// choose a retrieval mode).
    pub id: String,
    /// `model`.
    pub object: String,
    /// Unix seconds: the collection's creation time.
    pub created: u64,
    /// `ragd`.
    pub owned_by: String,
}

/// The data line that ends a stream.
pub const STREAM_DONE: &str = "[DONE]";
