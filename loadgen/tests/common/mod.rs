//! A tiny local HTTP server speaking just enough of ragd's API (with
//! ragd-api's types) for engine tests: fixed delays, a stall switch, and a
//! route that always sheds load.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use loadgen::Profile;
use tokio::sync::watch;

pub struct TestServer {
    pub base: String,
    /// Set true to make every /health request wait until it is set false.
    pub stall: watch::Sender<bool>,
    pub hits: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct St {
    stall: watch::Receiver<bool>,
    hits: Arc<AtomicU64>,
    delay: Duration,
}

async fn health(State(s): State<St>) -> Json<ragd_api::Health> {
    s.hits.fetch_add(1, Ordering::Relaxed);
    let mut rx = s.stall.clone();
    let _ = rx.wait_for(|stalled| !*stalled).await;
    if !s.delay.is_zero() {
        tokio::time::sleep(s.delay).await;
    }
    Json(ragd_api::Health {
        status: "ok".into(),
        version: "test".into(),
    })
}

async fn overloaded() -> impl IntoResponse {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(ragd_api::ErrorBody {
            error: ragd_api::ErrorDetail {
                code: ragd_api::codes::OVERLOADED.into(),
                message: "too many requests in flight".into(),
            },
        }),
    )
}

async fn query(State(s): State<St>) -> Json<ragd_api::QueryResponse> {
    s.hits.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(s.delay).await;
    // From JSON, so fields added to the API with defaults need no change.
    Json(
        serde_json::from_value(serde_json::json!({
            "answer": "Answer [1].", "citations": [], "mode": "dense", "cached": false,
            "timings": {"embed_ms": 0.0, "search_ms": 0.0, "generate_ms": 0.0, "total_ms": 0.0}
        }))
        .expect("a QueryResponse"),
    )
}

async fn collection() -> Json<ragd_api::Collection> {
    Json(ragd_api::Collection {
        name: "docs".into(),
        embedder: "default".into(),
        model: "test".into(),
        dimensions: 3,
        documents: 1,
        chunks: 1,
        vectors: Some(1),
        created_at: "2026-01-01T00:00:00Z".into(),
    })
}

impl TestServer {
    /// Serve on 127.0.0.1:0; every /health and query answer takes `delay`.
    /// `/status` always answers 503 `overloaded`.
    pub async fn start(delay: Duration) -> TestServer {
        let (stall, rx) = watch::channel(false);
        let hits = Arc::new(AtomicU64::new(0));
        let st = St {
            stall: rx,
            hits: hits.clone(),
            delay,
        };
        let app = Router::new()
            .route("/health", get(health))
            .route("/status", get(overloaded))
            .route("/v1/collections/{name}", get(collection))
            .route("/v1/collections/{name}/query", post(query))
            .with_state(st);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestServer {
            base: format!("http://{addr}"),
            stall,
            hits,
            task,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Write `text` as `name` in `dir` (with a one-line question set next to
/// it) and load it as a profile.
pub fn profile(dir: &Path, name: &str, text: &str) -> Profile {
    let path = write(dir, name, text);
    Profile::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::write(
        dir.join("questions.txt"),
        "What is ragd?\nHow does admission control work?\n",
    )
    .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A bare HTTP/1.1 server on raw TCP that counts the connections it
/// accepts: it answers every `GET` with ragd's /health body and, when
/// `close_every` is N > 0, ends every Nth response of a connection with
/// `Connection: close` and closes it (as nginx's `keepalive_requests` does).
pub struct ConnServer {
    pub base: String,
    pub connections: Arc<AtomicU64>,
    pub requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnServer {
    pub async fn start(close_every: u64) -> ConnServer {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let (c, r) = (connections.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::Relaxed);
                let r = r.clone();
                tokio::spawn(async move {
                    let body = serde_json::to_string(&ragd_api::Health {
                        status: "ok".into(),
                        version: "test".into(),
                    })
                    .unwrap();
                    let mut buf = Vec::new();
                    let mut served = 0u64;
                    let mut chunk = [0u8; 4096];
                    loop {
                        // One request: headers up to the blank line (GETs, no body).
                        let end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        buf.drain(..end);
                        served += 1;
                        r.fetch_add(1, Ordering::Relaxed);
                        let close = close_every > 0 && served.is_multiple_of(close_every);
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{}\r\n",
                            body.len(),
                            if close { "connection: close\r\n" } else { "" }
                        );
                        let out = [head.as_bytes(), body.as_bytes()].concat();
                        if sock.write_all(&out).await.is_err() || close {
                            return;
                        }
                    }
                });
            }
        });
        ConnServer {
            base: format!("http://{addr}"),
            connections,
            requests,
            task,
        }
    }
}

impl Drop for ConnServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
