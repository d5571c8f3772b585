//! OpenTelemetry export (cargo feature `otel`): a real `ragd serve` sends
//! the spans of a query over OTLP/HTTP to a small receiver on 127.0.0.1
//! that keeps every POST to `/v1/traces`.
//!
//!     cargo test -p ragd --features otel --test otel
#![cfg(feature = "otel")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_exports_its_spans_over_otlp_http() {
    // The receiver: every body posted to /v1/traces.
    let bodies: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let sink = bodies.clone();
    let receiver = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ragd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("RAGD_CONFIG")
        .env_remove("RUST_LOG")
        .env("RAGD_LOG__FORMAT", "json")
        .env("RAGD_TRACE__OTLP_ENDPOINT", &collector)
        // Export every 100 ms instead of every 5 s.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ragd starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = None;
    for line in lines.by_ref().take(500).map_while(Result::ok) {
        if line.contains("ragd listening") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            addr = v["addr"].as_str().map(String::from);
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    let Some(addr) = addr else {
        let _ = child.kill();
        panic!("ragd did not start");
    };
    let base = format!("http://{addr}");
    let c = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        c.post(format!("{base}{path}"))
            .header("x-request-id", "otel-test-1")
            .json(&body)
            .send()
    };
    assert_eq!(
        post("/v1/collections", json!({"name": "kb"}))
            .await
            .unwrap()
            .status(),
        201
    );
    let docs = json!({"documents": [{"id": "etna", "text": "Mount Etna in Sicily is an active volcano."}]});
    assert_eq!(
        post("/v1/collections/kb/documents", docs)
            .await
            .unwrap()
            .status(),
        201
    );
    let q = json!({"question": "Which volcano is active?"});
    assert_eq!(
        post("/v1/collections/kb/query", q).await.unwrap().status(),
        200
    );

    // Span names and attribute values are plain strings inside the
    // protobuf body: look for them in what the receiver got.
    let want: [&[u8]; 8] = [
        b"request",
        b"embed",
        b"search",
        b"join",
        b"generate",
        b"cache",
        b"store",
        b"otel-test-1",
    ];
    let until = Instant::now() + Duration::from_secs(20);
    let missing = loop {
        let all: Vec<u8> = bodies.lock().unwrap().iter().flatten().copied().collect();
        let missing: Vec<_> = want
            .iter()
            .filter(|w| !all.windows(w.len()).any(|x| x == **w))
            .map(|w| String::from_utf8_lossy(w).to_string())
            .collect();
        let has_service = all.windows(4).any(|x| x == b"ragd");
        if (missing.is_empty() && has_service) || Instant::now() > until {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    let n = bodies.lock().unwrap().len();
    assert!(n > 0, "no POST reached /v1/traces");
    assert!(
        missing.is_empty(),
        "spans missing from {n} exports: {missing:?}"
    );
}
