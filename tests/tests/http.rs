//! ragd's HTTP API end to end, on embedded defaults (SQLite, qdrant-edge,
//! bundled MiniLM): what a user with curl would see.

use ragkit_tests::{CORPUS_QUESTIONS, Server, cited_ids, corpus, server_with_corpus, test_config};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_then_query_cites_the_right_document() {
    let (_dir, s) = server_with_corpus().await;
    for (question, want) in CORPUS_QUESTIONS {
        let r = s
            .query("kb", json!({"question": question, "top_k": 2}))
            .await;
        assert_eq!(cited_ids(&r)[0], want, "{question}: {r}");
        assert_eq!(r["citations"][0]["n"], 1);
        let answer = r["answer"].as_str().unwrap();
        assert!(answer.contains("[1]"), "answer cites passage 1: {answer}");
        assert_eq!(r["cached"], false);
        for k in ["embed_ms", "search_ms", "generate_ms", "total_ms"] {
            assert!(r["timings"][k].as_f64().unwrap() >= 0.0, "{k}");
        }
    }
    let (status, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(status, 200);
    assert_eq!(c["documents"], 4);
    assert!(c["chunks"].as_u64().unwrap() >= 4);
    assert_eq!(c["dimensions"], 384);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_query_is_served_from_cache_until_the_collection_changes() {
    let (_dir, s) = server_with_corpus().await;
    let q = json!({"question": "Which volcano in Sicily is active?"});
    let first = s.query("kb", q.clone()).await;
    let second = s.query("kb", q.clone()).await;
    assert_eq!(first["cached"], false);
    assert_eq!(second["cached"], true);
    assert_eq!(first["answer"], second["answer"]);
    s.ingest(
        "kb",
        json!([{"id": "x", "text": "Something new about volcano monitoring stations."}]),
    )
    .await;
    let third = s.query("kb", q).await;
    assert_eq!(third["cached"], false, "ingest must invalidate the cache");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    let before = s
        .query(
            "kb",
            json!({"question": "What does the borrow checker prevent?"}),
        )
        .await;
    s.stop().await;

    let s = Server::start(dir.path()).await;
    let after = s
        .query(
            "kb",
            json!({"question": "What does the borrow checker prevent?"}),
        )
        .await;
    assert_eq!(cited_ids(&after), cited_ids(&before));
    // The in-process cache dies with the process; the Redis one outlives it.
    assert_eq!(after["cached"], ragkit_tests::shared_backends());
    let (_, doc) = s
        .call("GET", "/v1/collections/kb/documents/bread", None)
        .await;
    assert!(doc["text"].as_str().unwrap().contains("sourdough"));
    assert_eq!(doc["metadata"]["topic"], "cooking");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reingesting_a_document_replaces_its_chunks() {
    let (_dir, s) = server_with_corpus().await;
    let r = s
        .ingest(
            "kb",
            json!([{"id": "volcano", "text": "Glaciers are slow rivers of ice that carve valleys over thousands of years."}]),
        )
        .await;
    assert_eq!(r["documents"][0]["replaced"], true);
    let r = s
        .query(
            "kb",
            json!({"question": "Which volcano in Sicily is active?", "top_k": 10}),
        )
        .await;
    for c in r["citations"].as_array().unwrap() {
        assert!(
            !c["text"].as_str().unwrap().contains("Etna"),
            "old chunk still served: {c}"
        );
    }
    let r = s
        .query(
            "kb",
            json!({"question": "How do glaciers carve valleys?", "top_k": 1}),
        )
        .await;
    assert_eq!(cited_ids(&r), vec!["volcano"]);
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(c["documents"], 4, "same id, same document count");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_document_disappears_from_results() {
    let (_dir, s) = server_with_corpus().await;
    let (status, _) = s
        .call("DELETE", "/v1/collections/kb/documents/tennis", None)
        .await;
    assert_eq!(status, 204);
    let r = s
        .query(
            "kb",
            json!({"question": "How many games to win a set in tennis?", "top_k": 10}),
        )
        .await;
    assert!(!cited_ids(&r).contains(&"tennis".to_string()), "{r}");
    let (status, body) = s
        .call("GET", "/v1/collections/kb/documents/tennis", None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "document_not_found");
    let (status, _) = s
        .call("DELETE", "/v1/collections/kb/documents/tennis", None)
        .await;
    assert_eq!(status, 404);
    // Deleting the collection removes it from the list and from queries.
    let (status, _) = s.call("DELETE", "/v1/collections/kb", None).await;
    assert_eq!(status, 204);
    let (_, list) = s.call("GET", "/v1/collections", None).await;
    assert_eq!(list["collections"], json!([]));
    let (status, body) = s
        .call(
            "POST",
            "/v1/collections/kb/query",
            Some(json!({"question": "tennis"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("collection_not_found"))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_filters_restrict_results() {
    let (_dir, s) = server_with_corpus().await;
    let r = s
        .query(
            "kb",
            // Dense retrieval always returns its nearest passages, so the
            // filter alone decides what is left.
            json!({"question": "volcano lava", "top_k": 10, "filter": {"topic": "cooking"}, "mode": "dense"}),
        )
        .await;
    assert_eq!(cited_ids(&r), vec!["bread"]);
    let r = s
        .query(
            "kb",
            json!({"question": "anything", "top_k": 10, "filter": {"year": [2021, 2022]}, "mode": "dense"}),
        )
        .await;
    let mut ids = cited_ids(&r);
    ids.sort();
    ids.dedup();
    assert_eq!(ids, vec!["bread", "rust", "tennis"]);
    s.stop().await;
}

async fn raw(
    s: &Server,
    method: &str,
    path: &str,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s.client.request(m, s.url(path)).body(body);
    if let Some(c) = ctype {
        req = req.header("content-type", c);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let v = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
    (status, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_code() {
    let (_dir, s) = server_with_corpus().await;
    let json_ct = Some("application/json");
    let q = "/v1/collections/kb/query";
    // (method, path, content type, body, status, code)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "POST",
            q,
            json_ct,
            b"{\"question\": ".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "POST",
            q,
            json_ct,
            b"not json".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "POST",
            q,
            json_ct,
            br#"{"question": 5}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            q,
            json_ct,
            br#"{"question": "x", "bogus": 1}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            q,
            json_ct,
            br#"{"question": "   "}"#.to_vec(),
            422,
            "invalid_field",
        ),
        // NUL cannot be stored by PostgreSQL: refused on every backend.
        (
            "POST",
            "/v1/collections/kb/documents",
            json_ct,
            br#"{"documents": [{"text": "a\u0000b"}]}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/v1/collections/kb/documents",
            json_ct,
            br#"{"documents": [{"text": "ok", "metadata": {"k": "a\u0000"}}]}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            q,
            json_ct,
            br#"{"question": "x", "top_k": 0}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            q,
            json_ct,
            br#"{"question": "x", "top_k": 51}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            q,
            json_ct,
            br#"{"question": "x", "filter": {"a": 1.5}}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            q,
            json_ct,
            br#"{"question": "x", "filter": {"a b": 1}}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            q,
            None,
            br#"{"question": "x"}"#.to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/v1/collections/nope/query",
            json_ct,
            br#"{"question": "x"}"#.to_vec(),
            404,
            "collection_not_found",
        ),
        (
            "GET",
            "/v1/collections/nope",
            None,
            vec![],
            404,
            "collection_not_found",
        ),
        (
            "GET",
            "/v1/collections/kb/documents/nope",
            None,
            vec![],
            404,
            "document_not_found",
        ),
        (
            "POST",
            "/v1/collections",
            json_ct,
            br#"{"name": "kb"}"#.to_vec(),
            409,
            "collection_exists",
        ),
        (
            "POST",
            "/v1/collections",
            json_ct,
            br#"{"name": "bad name!"}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/v1/collections",
            json_ct,
            br#"{"name": "x", "embedder": "missing"}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/v1/collections/kb/documents",
            json_ct,
            br#"{"documents": []}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/v1/collections/kb/documents",
            json_ct,
            br#"{"documents": [{"text": ""}]}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/v1/collections/kb/documents",
            json_ct,
            br#"{"documents": [{"text": "a", "metadata": [1]}]}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/v1/collections/kb/documents",
            json_ct,
            br#"{"documents": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}"#.to_vec(),
            422,
            "invalid_field",
        ),
        ("GET", "/no/such/route", None, vec![], 404, "not_found"),
        (
            "PUT",
            "/v1/collections",
            None,
            vec![],
            405,
            "method_not_allowed",
        ),
    ];
    for (method, path, ct, body, want_status, want_code) in cases {
        let shown = String::from_utf8_lossy(&body).to_string();
        let (status, v) = raw(&s, method, path, ct, body).await;
        assert_eq!(status, want_status, "{method} {path} {shown}: {v}");
        assert_eq!(
            v["error"]["code"], want_code,
            "{method} {path} {shown}: {v}"
        );
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    // Over the 1 MiB limit of the test configuration.
    // On its own client: the server answers 413 before reading the body and
    // closes the connection, which a pooled client could otherwise reuse.
    let big = json!({"documents": [{"text": "a".repeat(2 * 1024 * 1024)}]}).to_string();
    let resp = reqwest::Client::new()
        .post(s.url("/v1/collections/kb/documents"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    // Nothing was lost or changed by any of it.
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(c["documents"], 4);
    let (status, _) = s.call("GET", "/health", None).await;
    assert_eq!(status, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_queries_during_ingest_all_succeed() {
    let (_dir, s) = server_with_corpus().await;
    let s = std::sync::Arc::new(s);
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for batch in 0..5 {
                let docs: Vec<Value> = (0..10)
                    .map(|i| json!({"id": format!("doc-{batch}-{i}"), "text": format!("Report {batch}-{i}: the river level rose by {i} centimetres after rain on day {batch}. Engineers watched the dam.")}))
                    .collect();
                s.ingest("kb", Value::Array(docs)).await;
            }
        })
    };
    let mut readers = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        readers.push(tokio::spawn(async move {
            let q = [
                "Which volcano is active?",
                "How to bake bread?",
                "river level after rain",
            ][i % 3];
            let (status, body) = s
                .call(
                    "POST",
                    "/v1/collections/kb/query",
                    Some(json!({"question": format!("{q} #{i}"), "mode": (["dense", "sparse", "hybrid"][i % 3])})),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert!(!body["citations"].as_array().unwrap().is_empty());
        }));
    }
    writer.await.unwrap();
    for r in readers {
        r.await.unwrap();
    }
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(c["documents"], 54);
    std::sync::Arc::try_unwrap(s).ok().unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excess_load_is_shed_with_503_and_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = test_config(dir.path());
    cfg.server.max_in_flight = 1;
    let s = std::sync::Arc::new(Server::start_with(cfg).await);
    s.create_collection("kb").await;
    let text = "A paragraph about load shedding and queues. ".repeat(40);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = s.clone();
        let text = text.clone();
        tasks.push(tokio::spawn(async move {
            let resp = s
                .client
                .post(s.url("/v1/collections/kb/documents"))
                .json(&json!({"documents": [{"id": format!("d{i}"), "text": text}]}))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let retry = resp.headers().get("retry-after").is_some();
            let body: Value = resp.json().await.unwrap();
            (status, retry, body)
        }));
    }
    let mut shed = 0;
    let mut ok = 0;
    for t in tasks {
        let (status, retry, body) = t.await.unwrap();
        match status {
            201 => ok += 1,
            503 => {
                assert!(retry, "503 carries Retry-After");
                assert_eq!(body["error"]["code"], "overloaded");
                shed += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(shed > 0 && ok > 0, "shed {shed}, ok {ok}");
    // Every acknowledged ingest is stored; shed ones are not.
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(c["documents"], ok);
    let m = s.metrics().await;
    assert!(
        m.contains(&format!("ragd_http_requests_shed_total {shed}")),
        "{m}"
    );
    std::sync::Arc::try_unwrap(s).ok().unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_stream_as_server_sent_events() {
    let (_dir, s) = server_with_corpus().await;
    for round in 0..2 {
        let body = s
            .stream(
                "/v1/collections/kb/query",
                json!({"question": "How long should sourdough dough rise?"}),
            )
            .await;
        let events: Vec<&str> = body
            .lines()
            .filter_map(|l| l.strip_prefix("event: "))
            .collect();
        assert_eq!(events.first(), Some(&"citations"), "{body}");
        assert_eq!(events.last(), Some(&"done"), "{body}");
        assert!(events.contains(&"delta"));
        let done = body
            .split("event: done\ndata: ")
            .nth(1)
            .and_then(|d| d.lines().next())
            .unwrap();
        let done: ragd_api::QueryResponse = serde_json::from_str(done).unwrap();
        assert_eq!(done.citations[0].document_id, "bread");
        assert_eq!(done.cached, round == 1, "second round comes from the cache");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_of_text_and_markdown_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("files").await;
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::text(
                "# Lighthouses\n\nA lighthouse keeper trimmed the lamp wick every evening.",
            )
            .file_name("lighthouse.md"),
        )
        .part(
            "file",
            reqwest::multipart::Part::text(
                "Penguins huddle together to survive the Antarctic winter.",
            )
            .file_name("penguins.txt"),
        )
        .text("metadata", r#"{"source": "upload"}"#);
    let resp = s
        .client
        .post(s.url("/v1/collections/files/documents"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let r = s
        .query(
            "files",
            json!({"question": "Who trimmed the lamp wick?", "top_k": 1}),
        )
        .await;
    assert_eq!(cited_ids(&r), vec!["lighthouse.md"]);
    assert_eq!(r["citations"][0]["metadata"]["source"], "upload");
    let (_, d) = s
        .call("GET", "/v1/collections/files/documents/penguins.txt", None)
        .await;
    assert_eq!(d["format"], "text");
    // Other file types are refused.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![0u8, 1, 2]).file_name("image.png"),
    );
    let resp = s
        .client
        .post(s.url("/v1/collections/files/documents"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_endpoints_describe_the_service() {
    let (_dir, s) = server_with_corpus().await;
    s.query("kb", json!({"question": "tennis sets"})).await;
    s.query("kb", json!({"question": "tennis sets"})).await;

    let (status, h) = s.call("GET", "/health", None).await;
    assert_eq!((status, h["status"].as_str()), (200, Some("ok")));

    let (status, r) = s.call("GET", "/ready", None).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["ready"], true);
    let kinds: Vec<&str> = r["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    let expected: &[&str] = if ragkit_tests::shared_backends() {
        &[
            "postgres",
            "qdrant-edge+postgres-log",
            "pocket-encoder",
            "redis",
        ]
    } else {
        &["sqlite", "qdrant-edge", "pocket-encoder"]
    };
    for kind in expected {
        assert!(kinds.contains(kind), "no {kind} backend in {r}");
    }

    let (status, st) = s.call("GET", "/status", None).await;
    assert_eq!(status, 200);
    assert_eq!(st["state"], "ok");
    let pools = st["pools"].as_array().unwrap();
    let meta = pools.iter().find(|p| p["name"] == "metadata").unwrap();
    assert!(meta["max"].as_u64().unwrap() >= 1);
    assert!(meta["size"].as_u64().unwrap() >= 1);
    let cpu = pools.iter().find(|p| p["name"] == "cpu").unwrap();
    assert!(cpu["max"].as_u64().unwrap() >= 1);
    assert_eq!(st["caches"][0]["hits"], 1);
    assert!(st["requests"]["total"].as_u64().unwrap() >= 3);

    let metrics = s.metrics().await;
    for needle in [
        "ragd_http_request_duration_seconds_bucket{",
        "le=\"0.3\"",
        "route=\"/v1/collections/{name}/query\"",
        "ragd_http_requests_in_flight",
        "ragd_query_cache_hits_total 1",
        "ragd_embed_duration_seconds",
        "ragd_vector_search_duration_seconds",
        "ragd_pool_max_connections{pool=\"metadata\"}",
        "ragd_pool_connections{pool=\"metadata\",state=\"in_use\"}",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }

    let (status, api) = s.call("GET", "/openapi.json", None).await;
    assert_eq!(status, 200);
    for path in [
        "/v1/collections",
        "/v1/collections/{name}/query",
        "/v1/collections/{name}/documents/{id}",
        "/status",
    ] {
        assert!(api["paths"][path].is_object(), "openapi lacks {path}");
    }
    assert!(api["components"]["schemas"]["QueryResponse"].is_object());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingests_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(Server::start(dir.path()).await);
    s.create_collection("kb").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            // Half of them re-ingest the same id, racing on one document.
            let id = if i % 2 == 0 { format!("doc-{i}") } else { "shared".to_string() };
            let (status, body) = s
                .call(
                    "POST",
                    "/v1/collections/kb/documents",
                    Some(json!({"documents": [{"id": id, "text": format!("Version {i} of a note about harbour cranes and tides.")}]})),
                )
                .await;
            assert_eq!(status, 201, "{body}");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(c["documents"], 5);
    // The shared document has exactly one version's chunks searchable.
    let r = s
        .query(
            "kb",
            json!({"question": "note about harbour cranes", "top_k": 50, "mode": "dense"}),
        )
        .await;
    let shared = cited_ids(&r).iter().filter(|d| *d == "shared").count();
    assert_eq!(shared, 1, "{r}");
    std::sync::Arc::try_unwrap(s).ok().unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_names_and_metadata_are_refused_or_stored_safely() {
    let (_dir, s) = server_with_corpus().await;
    let docs = "/v1/collections/kb/documents";
    let ingest = |doc: Value| {
        let s = &s;
        async move {
            s.call("POST", docs, Some(json!({ "documents": [doc] })))
                .await
        }
    };
    // Refused with a clear error: control characters, NUL, oversized ids,
    // deep or huge metadata.
    let deep = (0..9).fold(json!(1), |v, _| json!({ "k": v }));
    let refused = [
        json!({"id": "line\nforged: INFO admin logged in", "text": "x"}),
        json!({"id": "nul\u{0}id", "text": "x"}),
        json!({"id": "x".repeat(257), "text": "x"}),
        json!({"id": "ok", "text": "x", "metadata": {"deep": deep}}),
        json!({"id": "ok", "text": "x", "metadata": {"big": "y".repeat(20_000)}}),
        json!({"id": "ok", "text": "x", "metadata": {"k\u{0}": 1}}),
    ];
    for doc in refused {
        let (status, body) = ingest(doc.clone()).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("invalid_field")),
            "{doc:.80}: {body}"
        );
    }
    // 10,000 levels of nesting do not even parse (serde_json's depth limit),
    // so they cannot exhaust ragd's stack. Sent raw: building them as a
    // Value here would exhaust the test's own.
    let nested = format!(
        r#"{{"documents": [{{"id": "n", "text": "x", "metadata": {{"k": {}1{}}}}}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let (status, body) = raw(
        &s,
        "POST",
        docs,
        Some("application/json"),
        nested.into_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "malformed_json");
    // Stored safely and read back unchanged: path tricks, quotes, unicode.
    for id in [
        "../../etc/passwd",
        "a/b?c=d#e",
        "'; DROP TABLE documents; --",
        "ünï 文 🚀",
    ] {
        let (status, body) =
            ingest(json!({"id": id, "text": format!("Document {id} about volcanoes.")})).await;
        assert_eq!(status, 201, "{id}: {body}");
        let path = format!(
            "{docs}/{}",
            id.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
        );
        let (status, got) = s.call("GET", &path, None).await;
        assert_eq!(status, 200, "{id}: {got}");
        assert_eq!(got["id"], id);
    }
    // Collection names with path tricks are refused, not resolved.
    for name in ["..", "../kb", "a b", "kb\n", ""] {
        let (status, body) = s
            .call("POST", "/v1/collections", Some(json!({ "name": name })))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("invalid_field")),
            "{name:?}"
        );
    }
    // Nothing above broke the service.
    let (status, _) = s.call("GET", "/ready", None).await;
    assert_eq!(status, 200);
    s.stop().await;
}

/// Requests that resolved a collection just before another request deleted
/// it answer 404, as if they had come after the delete, never 5xx (the API
/// fuzzer found a search answering 500 "vector store has no collection").
/// Timing decides how many requests land in the window; every round tries
/// searches in each mode, a collection read, an ingest and a document
/// delete against one delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_racing_a_collection_delete_get_404_never_5xx() {
    let (_dir, s) = server_with_corpus().await;
    let s = std::sync::Arc::new(s);
    let mut outcomes = std::collections::BTreeMap::<(String, u16), u32>::new();
    for round in 0..12 {
        let (status, body) = s
            .call("POST", "/v1/collections", Some(json!({"name": "race"})))
            .await;
        assert_eq!(status, 201, "{body}");
        s.ingest(
            "race",
            json!([{"id": "a", "text": "Mount Etna in Sicily is an active volcano."},
                   {"id": "b", "text": "Sourdough rises for hours before baking."}]),
        )
        .await;
        let mut racers = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            racers.push(tokio::spawn(async move {
                let (what, method, path, body) = match i % 4 {
                    0 => (
                        "search",
                        "POST",
                        "/v1/collections/race/search",
                        Some(json!({"question": format!("volcano {round} {i}"), "mode": (["dense", "sparse", "hybrid"][i % 3])})),
                    ),
                    1 => ("get", "GET", "/v1/collections/race", None),
                    2 => (
                        "ingest",
                        "POST",
                        "/v1/collections/race/documents",
                        Some(json!({"documents": [{"id": format!("c{i}"), "text": "Rivers rise after rain."}]})),
                    ),
                    _ => ("delete_document", "DELETE", "/v1/collections/race/documents/b", None),
                };
                let (status, body) = s.call(method, path, body).await;
                assert!(
                    status < 500,
                    "{what} racing a collection delete answered {status}: {body}"
                );
                (what.to_string(), status)
            }));
        }
        let (status, body) = s.call("DELETE", "/v1/collections/race", None).await;
        assert_eq!(status, 204, "{body}");
        for r in racers {
            *outcomes.entry(r.await.unwrap()).or_default() += 1;
        }
    }
    eprintln!("outcomes over 12 rounds: {outcomes:?}");
    let (status, _) = s.call("GET", "/v1/collections/race", None).await;
    assert_eq!(status, 404);
    std::sync::Arc::try_unwrap(s).ok().unwrap().stop().await;
}
