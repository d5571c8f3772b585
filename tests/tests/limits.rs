//! Fair limits seen from a client: per-client GCRA budgets for questions
//! and writes, with the `RateLimit-*` and `Retry-After` headers, over HTTP
//! against a real ragd.

use ragkit_tests::{Server, corpus, test_config};
use serde_json::json;

/// Status, error code and the rate-limit headers of one request.
struct Seen {
    status: u16,
    code: String,
    limit: Option<u64>,
    remaining: Option<u64>,
    reset: Option<u64>,
    retry_after: Option<u64>,
}

async fn send(s: &Server, method: &str, path: &str, body: serde_json::Value) -> Seen {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.client.request(m.clone(), s.url(path));
    if m != reqwest::Method::GET {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let h = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let (limit, remaining, reset, retry_after) = (
        h("ratelimit-limit"),
        h("ratelimit-remaining"),
        h("ratelimit-reset"),
        h("retry-after"),
    );
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    Seen {
        status,
        code: body["error"]["code"].as_str().unwrap_or("").into(),
        limit,
        remaining,
        reset,
        retry_after,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_and_writes_have_separate_budgets_with_headers() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = test_config(dir.path());
    // One request a minute after the burst: nothing refills during the test.
    cfg.rate_limit.queries_per_minute = 1;
    cfg.rate_limit.query_burst = 3;
    cfg.rate_limit.ingests_per_minute = 1;
    cfg.rate_limit.ingest_burst = 2;
    let s = Server::start_with(cfg).await;
    // Writes: creating the collection and one ingest use the write burst.
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    let refused = send(
        &s,
        "POST",
        "/v1/collections/kb/documents",
        json!({"documents": corpus()}),
    )
    .await;
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (429, "rate_limited")
    );
    assert_eq!((refused.limit, refused.remaining), (Some(2), Some(0)));
    let retry = refused.retry_after.expect("Retry-After");
    assert!((59..=60).contains(&retry), "Retry-After {retry}");
    // Questions still have their own budget: a burst of 3, counted down.
    for left in [2, 1, 0] {
        let q = send(
            &s,
            "POST",
            "/v1/collections/kb/query",
            json!({"question": "volcano"}),
        )
        .await;
        assert_eq!(q.status, 200);
        assert_eq!((q.limit, q.remaining), (Some(3), Some(left)));
        assert_eq!(q.reset, Some(60 * (3 - left)));
        assert_eq!(q.retry_after, None);
    }
    // Reads draw from the question budget too.
    let r = send(&s, "GET", "/v1/collections/kb", json!(null)).await;
    assert_eq!((r.status, r.code.as_str()), (429, "rate_limited"));
    assert!(r.reset.unwrap() >= 179, "{:?}", r.reset);
    // Operations are never limited.
    for path in ["/health", "/ready", "/status", "/metrics"] {
        assert_eq!(
            send(&s, "GET", path, json!(null)).await.status,
            200,
            "{path}"
        );
    }
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("ragd_http_requests_rate_limited_total 2"),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_limits_no_headers_are_sent() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("kb").await;
    let q = send(&s, "GET", "/v1/collections/kb", json!(null)).await;
    assert_eq!(q.status, 200);
    assert_eq!((q.limit, q.remaining, q.reset), (None, None, None));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_api_keys_each_key_has_its_own_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ragkit_tests::auth_config(dir.path());
    cfg.rate_limit.queries_per_minute = 1;
    cfg.rate_limit.query_burst = 1;
    let s = Server::start_with(cfg).await;
    s.create_collection("kb").await;
    let a = s.make_key("team-a", "query", &[]).await;
    let b = s.make_key("team-b", "query", &[]).await;
    let ask = |key: String| {
        let s = &s;
        async move {
            let (status, body, _) = s
                .call_as(
                    Some(&key),
                    "POST",
                    "/v1/collections/kb/query",
                    Some(json!({"question": "x"})),
                )
                .await;
            (
                status,
                body["error"]["code"].as_str().unwrap_or("").to_string(),
            )
        }
    };
    // One address, two keys: the budget follows the key, not the address.
    assert_eq!(ask(a.clone()).await.0, 200);
    assert_eq!(ask(a.clone()).await, (429, "rate_limited".to_string()));
    assert_eq!(ask(b.clone()).await.0, 200);
    assert_eq!(ask(b).await.0, 429);
    s.stop().await;
}

/// Under more uncached questions than the CPU can take, ragd refuses some
/// at once (503 `overloaded` with `Retry-After`) instead of queueing them
/// all, while cached answers keep coming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_cpu_queue_sheds_uncached_questions_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = test_config(dir.path());
    // The smallest bound: any queue at all is too long.
    cfg.server.max_queue_wait_ms = 1;
    cfg.server.cpu_threads = 1;
    cfg.retrieval.mode = ragd_api::RetrievalMode::Dense;
    let s = std::sync::Arc::new(Server::start_with(cfg).await);
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    let cached = json!({"question": "Which volcano in Sicily is active?"});
    assert_eq!(
        send(&s, "POST", "/v1/collections/kb/query", cached.clone())
            .await
            .status,
        200
    );

    // Waves of concurrent distinct questions until the queue has built up
    // enough for some to be shed (how fast it builds depends on how busy
    // the machine is); bounded.
    let (mut ok, mut shed) = (0, 0);
    for wave in 0..20 {
        let flood: Vec<_> = (0..64)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    let q = json!({"question": format!("question {wave}-{i}: what rises through the crust?")});
                    send(&s, "POST", "/v1/collections/kb/query", q).await
                })
            })
            .collect();
        let cached_status = send(&s, "POST", "/v1/collections/kb/query", cached.clone())
            .await
            .status;
        assert_eq!(cached_status, 200, "a cached answer is never shed");
        for t in flood {
            let seen = t.await.unwrap();
            match seen.status {
                200 => ok += 1,
                503 => {
                    assert_eq!(seen.code, "overloaded");
                    assert_eq!(seen.retry_after, Some(1));
                    shed += 1;
                }
                other => panic!("unexpected status {other}"),
            }
        }
        if shed > 0 {
            break;
        }
    }
    assert!(ok > 0, "some questions are answered");
    assert!(shed > 0, "some questions are shed ({ok} answered)");
}
