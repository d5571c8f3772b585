//! The OpenAI-compatible routes: `POST /v1/chat/completions` (a collection
//! is a model) and `GET /v1/models` (the collections). The shapes are in
//! [`ragd_api::openai`]; the work is the query pipeline's
//! ([`crate::service::query`]), rendered the way OpenAI's clients read it.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures::StreamExt;
use ragd_api::openai::{
    ChatChoice, ChatChunk, ChatChunkChoice, ChatCompletion, ChatDelta, ChatReply, ChatRequest,
    ChatUsage, Model, ModelList, STREAM_DONE,
};
use ragd_api::{DEFAULT_TOP_K, ErrorBody, QueryRequest, RetrievalMode};

use super::extract::ApiJson;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::collections;
use crate::service::query::{self, QueryEvent};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
}

/// What a chat request asks: of which collection, in which mode, what.
#[derive(Debug, PartialEq)]
struct Asked {
    collection: String,
    mode: Option<RetrievalMode>,
    question: String,
    /// The user turn before the question, if any (retrieval context).
    context: Option<String>,
    /// Words of every message: the usage's prompt count.
    prompt_words: u32,
}

fn words(s: &str) -> u32 {
    s.split_whitespace().count() as u32
}

/// Read a chat request: `model` is `collection[:mode]`; the last user
/// message is the question.
fn asked(req: &ChatRequest) -> Result<Asked, ApiError> {
    let (collection, mode) = match req.model.split_once(':') {
        Some((c, m)) => (
            c,
            Some(
                m.parse::<RetrievalMode>()
                    .map_err(|e| ApiError::invalid("model", e))?,
            ),
        ),
        None => (req.model.as_str(), None),
    };
    if collection.is_empty() {
        return Err(ApiError::invalid(
            "model",
            "must name a collection (see GET /v1/models), e.g. \"docs\" or \"docs:hybrid\"",
        ));
    }
    let mut users = req
        .messages
        .iter()
        .filter(|m| m.role == "user")
        .map(|m| m.text())
        .filter(|t| !t.trim().is_empty())
        .rev();
    let question = users.next().ok_or_else(|| {
        ApiError::invalid(
            "messages",
            "must hold a user message with text: the question",
        )
    })?;
    Ok(Asked {
        collection: collection.to_string(),
        mode,
        question,
        context: users.next(),
        prompt_words: req.messages.iter().map(|m| words(&m.text())).sum(),
    })
}

/// Answer the conversation's last user message from the collection that
/// `model` names, with cited passages (extension field `citations`).
/// `"stream": true` sends `chat.completion.chunk` events and `[DONE]`.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai",
    request_body = ChatRequest,
    responses((status = 200, body = ChatCompletion, content_type = "application/json"),
        (status = 200, description = "chat.completion.chunk events when \"stream\": true", content_type = "text/event-stream"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn chat(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Arc<Caller>>>,
    ApiJson(req): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    let a = asked(&req)?;
    // The collection is in the body, so the route table could not check it:
    // a key limited to other collections is refused whether or not it exists.
    if let Some(Extension(caller)) = &caller
        && !caller.sees(&a.collection)
    {
        return Err(ApiError::Forbidden(format!(
            "key {:?} may not use this model",
            caller.name
        )));
    }
    let q = QueryRequest {
        question: a.question.clone(),
        top_k: DEFAULT_TOP_K,
        filter: None,
        mode: a.mode,
    };
    let outcome =
        query::query_in_context(&app.backends, &a.collection, q, a.context.as_deref()).await?;
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = crate::meta::unix_now().max(0) as u64;
    let model = req.model;
    if !req.stream {
        let r = outcome.collect().await?;
        let completion_words = words(&r.answer);
        return Ok(Json(ChatCompletion {
            id,
            object: "chat.completion".into(),
            created,
            model,
            choices: vec![ChatChoice {
                index: 0,
                message: ChatReply {
                    role: "assistant".into(),
                    content: r.answer,
                },
                finish_reason: "stop".into(),
            }],
            usage: ChatUsage {
                prompt_tokens: a.prompt_words,
                completion_tokens: completion_words,
                total_tokens: a.prompt_words + completion_words,
            },
            citations: r.citations,
        })
        .into_response());
    }
    let chunk = move |delta: ChatDelta, finish: Option<&str>, citations| ChatChunk {
        id: id.clone(),
        object: "chat.completion.chunk".into(),
        created,
        model: model.clone(),
        choices: vec![ChatChunkChoice {
            index: 0,
            delta,
            finish_reason: finish.map(str::to_string),
        }],
        citations,
    };
    let events = outcome.into_events().flat_map(move |e| {
        let out: Vec<Event> = match e {
            QueryEvent::Citations(c) => vec![data(&chunk(
                ChatDelta {
                    role: Some("assistant".into()),
                    content: Some(String::new()),
                },
                None,
                Some(c),
            ))],
            QueryEvent::Delta(text) => vec![data(&chunk(
                ChatDelta {
                    role: None,
                    content: Some(text),
                },
                None,
                None,
            ))],
            QueryEvent::Done(_) => vec![
                data(&chunk(ChatDelta::default(), Some("stop"), None)),
                Event::default().data(STREAM_DONE),
            ],
            // OpenAI's clients raise an error on a data line with `error`.
            QueryEvent::Failed(e) => vec![data(&e.body())],
        };
        futures::stream::iter(out.into_iter().map(Ok::<_, Infallible>))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn data<T: serde::Serialize>(v: &T) -> Event {
    Event::default().data(serde_json::to_string(v).unwrap_or_else(|_| "null".into()))
}

/// The collections the caller may ask, as OpenAI models (`id` is the
/// collection's name; append `:dense`, `:sparse` or `:hybrid` for a mode).
#[utoipa::path(get, path = "/v1/models", tag = "openai",
    responses((status = 200, body = ModelList)))]
pub async fn models(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Arc<Caller>>>,
) -> Result<Json<ModelList>, ApiError> {
    let all = collections::rows(&app.backends).await?;
    let data = all
        .into_iter()
        .filter(|c| caller.as_ref().is_none_or(|Extension(k)| k.sees(&c.name)))
        .map(|c| Model {
            created: chrono::DateTime::parse_from_rfc3339(&c.created_at)
                .map(|t| t.timestamp().max(0) as u64)
                .unwrap_or(0),
            id: c.name,
            object: "model".into(),
            owned_by: "ragd".into(),
        })
        .collect();
    Ok(Json(ModelList {
        object: "list".into(),
        data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ragd_api::openai::{ChatContent, ChatMessage, ChatPart};

    fn msg(role: &str, text: &str) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: Some(ChatContent::Text(text.into())),
        }
    }

    fn req(model: &str, messages: Vec<ChatMessage>) -> ChatRequest {
        ChatRequest {
            model: model.into(),
            messages,
            stream: false,
        }
    }

    #[test]
    fn the_last_user_turn_is_the_question_and_the_one_before_its_context() {
        let a = asked(&req(
            "docs:hybrid",
            vec![
                msg("system", "be brief"),
                msg("user", "How is ragd scaled out?"),
                msg("assistant", "With PostgreSQL and Redis [1]."),
                msg("user", "and how long does a restart take?"),
            ],
        ))
        .unwrap();
        assert_eq!(a.collection, "docs");
        assert_eq!(a.mode, Some(RetrievalMode::Hybrid));
        assert_eq!(a.question, "and how long does a restart take?");
        assert_eq!(a.context.as_deref(), Some("How is ragd scaled out?"));
        assert_eq!(a.prompt_words, 2 + 5 + 5 + 7);
    }

    #[test]
    fn array_content_is_read_as_its_text_parts() {
        let parts = ChatMessage {
            role: "user".into(),
            content: Some(ChatContent::Parts(vec![
                ChatPart {
                    kind: "text".into(),
                    text: Some("what is".into()),
                },
                ChatPart {
                    kind: "image_url".into(),
                    text: None,
                },
                ChatPart {
                    kind: "text".into(),
                    text: Some("P95?".into()),
                },
            ])),
        };
        let a = asked(&req("docs", vec![parts])).unwrap();
        assert_eq!(
            (a.question.as_str(), a.mode, a.context),
            ("what is P95?", None, None)
        );
    }

    #[test]
    fn a_request_without_a_question_or_with_a_bad_model_is_refused() {
        let field = |r: Result<Asked, ApiError>| match r {
            Err(ApiError::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(asked(&req("docs", vec![]))), "messages");
        assert_eq!(
            field(asked(&req("docs", vec![msg("assistant", "hi")]))),
            "messages"
        );
        assert_eq!(
            field(asked(&req("docs", vec![msg("user", "  ")]))),
            "messages"
        );
        assert_eq!(
            field(asked(&req("docs:fast", vec![msg("user", "q")]))),
            "model"
        );
        assert_eq!(
            field(asked(&req(":dense", vec![msg("user", "q")]))),
            "model"
        );
    }
}
