//! ragd against OpenAI-compatible endpoints (embeddings and streamed chat
//! completions). No model server can run here, so a small local server
//! speaks the same protocol: it embeds by hashing words into buckets (similar
//! texts get similar vectors) and streams a fixed answer in pieces.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use ragd::config::{EmbedderConfig, GeneratorConfig};
use ragkit_tests::{Server, cited_ids, corpus, test_config};
use serde_json::{Value, json};

const DIMS: usize = 16;

#[derive(Default)]
struct Upstream {
    /// User messages received by /v1/chat/completions.
    prompts: Mutex<Vec<String>>,
    delay: Duration,
    /// Streamed answer pieces; the default answer when empty.
    pieces: Vec<&'static str>,
    /// Calls to /v1/embeddings.
    embed_calls: AtomicU64,
    /// Failures to answer /v1/embeddings with first: (status, Retry-After).
    embed_failures: Mutex<VecDeque<(u16, Option<u64>)>>,
    /// While set, /v1/embeddings answers 500.
    down: AtomicBool,
}

fn embed(text: &str) -> Vec<f32> {
    let mut v = [0f32; DIMS];
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        let h = w
            .to_lowercase()
            .bytes()
            .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
        v[(h as usize) % DIMS] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.iter().map(|x| x / norm).collect()
}

async fn embeddings(State(up): State<Arc<Upstream>>, Json(body): Json<Value>) -> Response {
    up.embed_calls.fetch_add(1, Ordering::SeqCst);
    let scripted = up.embed_failures.lock().unwrap().pop_front();
    let failure = scripted.or(up.down.load(Ordering::SeqCst).then_some((500, None)));
    if let Some((status, retry_after)) = failure {
        let mut resp = (
            axum::http::StatusCode::from_u16(status).unwrap(),
            "upstream trouble",
        )
            .into_response();
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
        }
        return resp;
    }
    let data: Vec<Value> = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"index": i, "embedding": embed(t.as_str().unwrap())}))
        .collect();
    Json(json!({"data": data, "model": body["model"]})).into_response()
}

async fn chat(State(up): State<Arc<Upstream>>, Json(body): Json<Value>) -> Response {
    assert_eq!(body["stream"], true);
    let prompt = body["messages"][1]["content"].as_str().unwrap().to_string();
    up.prompts.lock().unwrap().push(prompt);
    let delay = up.delay;
    let pieces = if up.pieces.is_empty() {
        vec!["According to [1], ", "the answer is here."]
    } else {
        up.pieces.clone()
    };
    let stream = futures::stream::iter(0..=pieces.len()).then(move |i| {
        let pieces = pieces.clone();
        async move {
            tokio::time::sleep(delay).await;
            let data = if i < pieces.len() {
                json!({"choices": [{"delta": {"content": pieces[i]}}]}).to_string()
            } else {
                "[DONE]".to_string()
            };
            Ok::<_, std::convert::Infallible>(Event::default().data(data))
        }
    });
    Sse::new(stream).into_response()
}

use futures::StreamExt;

async fn start_upstream(delay: Duration) -> (String, Arc<Upstream>) {
    start_upstream_with(Upstream {
        delay,
        ..Default::default()
    })
    .await
}

async fn start_upstream_with(up: Upstream) -> (String, Arc<Upstream>) {
    let up = Arc::new(up);
    let app = axum::Router::new()
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/chat/completions", post(chat))
        .with_state(up.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), up)
}

fn config(dir: &std::path::Path, upstream: &str, model: &str) -> ragd::Config {
    let mut cfg = test_config(dir);
    cfg.embedders.insert(
        "default".into(),
        EmbedderConfig::Openai {
            url: upstream.into(),
            model: model.into(),
            dimensions: DIMS as u32,
            api_key_env: None,
            timeout_secs: 5,
        },
    );
    // These tests are about the remote embedder: retrieve with it.
    cfg.retrieval.mode = ragd_api::RetrievalMode::Dense;
    cfg.generator = GeneratorConfig::Openai {
        url: upstream.into(),
        model: "chat".into(),
        api_key_env: None,
        max_tokens: 64,
        temperature: 0.0,
        timeout_secs: 5,
    };
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_embedder_and_generator_answer_with_numbered_passages() {
    let (url, up) = start_upstream(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(config(dir.path(), &url, "hash-16")).await;
    s.create_collection("kb").await;
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(c["dimensions"], DIMS);
    assert!(c["model"].as_str().unwrap().contains("hash-16"));
    s.ingest("kb", corpus()).await;

    let r = s
        .query(
            "kb",
            json!({"question": "Mount Etna volcanoes Sicily", "top_k": 2}),
        )
        .await;
    assert_eq!(r["answer"], "According to [1], the answer is here.");
    assert_eq!(cited_ids(&r)[0], "volcano");
    let prompt = up.prompts.lock().unwrap().last().cloned().unwrap();
    assert!(
        prompt.starts_with("Passages:\n[1] Volcanoes erupt"),
        "{prompt}"
    );
    assert!(prompt.contains("\n[2] "), "{prompt}");
    assert!(
        prompt.ends_with("Question: Mount Etna volcanoes Sicily"),
        "{prompt}"
    );

    // Streamed to the client piece by piece.
    let body = s
        .client
        .post(s.url("/v1/collections/kb/query"))
        .header("accept", "text/event-stream")
        .json(&json!({"question": "sourdough bread oven"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let deltas: Vec<&str> = body
        .split("event: delta\ndata: ")
        .skip(1)
        .filter_map(|d| d.lines().next())
        .collect();
    assert_eq!(
        deltas,
        vec!["\"According to [1], \"", "\"the answer is here.\""]
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_refuses_vectors_from_another_model() {
    let (url, _up) = start_upstream(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(config(dir.path(), &url, "model-a")).await;
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    s.stop().await;

    // Same data, but the configured model changed.
    let s = Server::start_with(config(dir.path(), &url, "model-b")).await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/collections/kb/query",
            Some(json!({"question": "volcano"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("model_mismatch")),
        "{body}"
    );
    let (status, body) = s
        .call(
            "POST",
            "/v1/collections/kb/documents",
            Some(json!({"documents": [{"text": "new text"}]})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("model_mismatch"))
    );
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(c["documents"], 4, "nothing was written");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_backend_is_a_503_and_not_ready() {
    // Nothing listens on this port once the listener is dropped.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(config(dir.path(), &dead, "m")).await;
    s.create_collection("kb").await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/collections/kb/query",
            Some(json!({"question": "volcano"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("upstream_unavailable")),
        "{body}"
    );
    let (status, ready) = s.call("GET", "/ready", None).await;
    assert_eq!(status, 503);
    assert_eq!(ready["ready"], false);
    let failing: Vec<&str> = ready["backends"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["ok"] == false)
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(failing, vec!["embedder:default", "generator"]);
    let (_, st) = s.call("GET", "/status", None).await;
    assert_eq!(st["state"], "degraded");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_requests_finish() {
    let (url, _up) = start_upstream(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(config(dir.path(), &url, "m")).await;
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    let client = s.client.clone();
    let q = s.url("/v1/collections/kb/query");
    let slow = tokio::spawn(async move {
        let resp = client
            .post(q)
            .json(&json!({"question": "tennis sets"}))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let base = s.base.clone();
    s.stop().await;
    let (status, body) = slow.await.unwrap();
    assert_eq!(status, 200, "in-flight query was cut: {body}");
    assert_eq!(body["answer"], "According to [1], the answer is here.");
    // And the server is gone.
    assert!(reqwest::get(format!("{base}/health")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citations_to_passages_that_do_not_exist_are_removed() {
    let (url, _up) = start_upstream_with(Upstream {
        pieces: vec!["Volcanoes erupt [1][7]. ", "Bread rises [2] [0]."],
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(config(dir.path(), &url, "m")).await;
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    let r = s
        .query("kb", json!({"question": "volcano bread", "top_k": 2}))
        .await;
    assert_eq!(r["citations"].as_array().unwrap().len(), 2);
    assert_eq!(r["answer"], "Volcanoes erupt [1]. Bread rises [2].");
    s.stop().await;
}

/// A query's status, error code and `Retry-After`.
async fn ask(s: &Server, question: &str) -> (u16, String, Option<String>) {
    let resp = s
        .client
        .post(s.url("/v1/collections/kb/query"))
        .json(&json!({ "question": question }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or("").to_string();
    (status, code, retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_upstream_is_retried_and_its_retry_after_honoured() {
    let (url, up) = start_upstream(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &url, "m");
    cfg.upstream.retries = 2;
    cfg.upstream.backoff_ms = 10;
    let s = Server::start_with(cfg).await;
    s.create_collection("kb").await;
    // One 429 asking for 1 s, one 503, then an answer: the ingest succeeds.
    up.embed_failures
        .lock()
        .unwrap()
        .extend([(429, Some(1)), (503, None)]);
    let t = Instant::now();
    s.ingest("kb", corpus()).await;
    assert_eq!(up.embed_calls.load(Ordering::SeqCst), 3);
    assert!(t.elapsed() >= Duration::from_secs(1), "Retry-After ignored");
    // Three failures in a row are more than two retries: 503 for the client.
    up.embed_failures
        .lock()
        .unwrap()
        .extend([(500, None), (502, None), (504, None)]);
    let (status, code, retry) = ask(&s, "volcano eruptions").await;
    assert_eq!((status, code.as_str()), (503, "upstream_unavailable"));
    assert!(retry.is_some());
    // A 400 says the request is wrong: not retried.
    let before = up.embed_calls.load(Ordering::SeqCst);
    up.embed_failures.lock().unwrap().push_back((400, None));
    let (status, code, _) = ask(&s, "bread rising").await;
    assert_eq!((status, code.as_str()), (503, "backend_unavailable"));
    assert_eq!(up.embed_calls.load(Ordering::SeqCst), before + 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_upstream_opens_the_circuit_and_a_probe_closes_it() {
    let (url, up) = start_upstream(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &url, "m");
    cfg.upstream.retries = 0;
    cfg.upstream.breaker_failures = 2;
    cfg.upstream.breaker_cooldown_secs = 1;
    let s = Server::start_with(cfg).await;
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    up.down.store(true, Ordering::SeqCst);
    let calls = || up.embed_calls.load(Ordering::SeqCst);
    for q in ["first question", "second question"] {
        let (status, code, _) = ask(&s, q).await;
        assert_eq!((status, code.as_str()), (503, "upstream_unavailable"));
    }
    // Open: refused at once, without calling the upstream.
    let before = calls();
    let (status, code, retry) = ask(&s, "third question").await;
    assert_eq!((status, code.as_str()), (503, "upstream_unavailable"));
    assert_eq!(retry.as_deref(), Some("1"));
    assert_eq!(calls(), before, "an open circuit still called the upstream");
    // Back up: after the cooldown one probe goes through and closes it.
    up.down.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, _) = ask(&s, "volcano").await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the circuit never closed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(calls() > before);
    let (status, _, _) = ask(&s, "bread").await;
    assert_eq!(status, 200);
    s.stop().await;
}
