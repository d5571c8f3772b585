//! The interfaces people already have clients for, end to end on a real
//! ragd: retrieval only (`/search`), cursor pagination of the lists, and
//! the OpenAI-compatible `/v1/models` and `/v1/chat/completions` (JSON and
//! streamed). `tests/openai/client.sh` drives the same routes with
//! OpenAI's own Python client.

use std::collections::BTreeSet;

use ragkit_tests::{CORPUS_QUESTIONS, Server, cited_ids, server_with_corpus};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_returns_the_passages_a_query_cites_without_an_answer() {
    let (_dir, s) = server_with_corpus().await;
    for (question, want) in CORPUS_QUESTIONS {
        let body = json!({"question": question, "top_k": 3, "mode": "hybrid"});
        let (status, found) = s
            .call("POST", "/v1/collections/kb/search", Some(body.clone()))
            .await;
        assert_eq!(status, 200, "{found}");
        assert!(found.get("answer").is_none(), "{found}");
        assert_eq!(found["mode"], "hybrid");
        assert_eq!(found["timings"]["generate_ms"], 0.0);
        let passages = found["passages"].as_array().unwrap();
        assert!(!passages.is_empty() && passages.len() <= 3, "{found}");
        assert_eq!(passages[0]["document_id"], want, "{question}: {found}");
        assert_eq!(passages[0]["n"], 1);
        assert!(passages[0]["text"].as_str().is_some_and(|t| !t.is_empty()));
        let asked = s.query("kb", body).await;
        let searched: Vec<String> = passages
            .iter()
            .map(|p| p["document_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(searched, cited_ids(&asked), "{question}");
    }
    let (status, e) = s
        .call(
            "POST",
            "/v1/collections/nope/search",
            Some(json!({"question": "q"})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("collection_not_found"))
    );
    let (status, e) = s
        .call(
            "POST",
            "/v1/collections/kb/search",
            Some(json!({"question": ""})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("invalid_field")),
        "{e}"
    );
    s.stop().await;
}

/// Every id of the collection's document list, following `next`.
async fn all_pages(s: &Server, limit: u32) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/collections/kb/documents?limit={limit}&after={a}"),
            None => format!("/v1/collections/kb/documents?limit={limit}"),
        };
        let (status, page) = s.call("GET", &path, None).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let docs = page["documents"].as_array().unwrap();
        assert!(docs.len() <= limit as usize);
        ids.extend(docs.iter().map(|d| d["id"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => return (ids, pages),
        }
        assert!(pages < 100, "pagination does not end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_paged_by_cursor_and_stable_while_documents_are_added() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("kb").await;
    let docs: Vec<Value> = (0..23)
        .map(
            |i| json!({"id": format!("d{i:02}"), "text": format!("Note number {i} about paging.")}),
        )
        .collect();
    s.ingest("kb", Value::Array(docs)).await;

    let (ids, pages) = all_pages(&s, 10).await;
    let want: Vec<String> = (0..23).map(|i| format!("d{i:02}")).collect();
    assert_eq!((ids.clone(), pages), (want.clone(), 3));
    // Without a limit, one page of the default size holds them all.
    let (_, whole) = s.call("GET", "/v1/collections/kb/documents", None).await;
    assert_eq!(whole["documents"].as_array().unwrap().len(), 23);
    assert!(whole.get("next").is_none(), "{whole}");

    // Documents added before and after the cursor while paging: the pages
    // still hold every document that was there, once each, in order.
    let (_, first) = s
        .call("GET", "/v1/collections/kb/documents?limit=10", None)
        .await;
    let cursor = first["next"].as_str().unwrap().to_string();
    s.ingest(
        "kb",
        json!([{"id": "a-early", "text": "Added before the cursor."},
               {"id": "d05x", "text": "Also before it."},
               {"id": "d15x", "text": "Added after the cursor."}]),
    )
    .await;
    let mut seen: Vec<String> = first["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    let mut after = cursor;
    loop {
        let (_, page) = s
            .call(
                "GET",
                &format!("/v1/collections/kb/documents?limit=10&after={after}"),
                None,
            )
            .await;
        seen.extend(
            page["documents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_string()),
        );
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a document was listed twice: {seen:?}"
    );
    for id in &want {
        assert!(unique.contains(id), "{id} was skipped: {seen:?}");
    }
    assert!(
        unique.contains("d15x"),
        "a document added past the cursor is on a later page"
    );

    for bad in ["limit=0", "limit=1001", "limit=ten", "after=x&limit=-1"] {
        let (status, e) = s
            .call("GET", &format!("/v1/collections/kb/documents?{bad}"), None)
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (422, Some("invalid_field")),
            "{bad}: {e}"
        );
    }

    // Collections page the same way, by name.
    for name in ["b-two", "c-three"] {
        s.create_collection(name).await;
    }
    let (_, p1) = s.call("GET", "/v1/collections?limit=2", None).await;
    let names = |p: &Value| -> Vec<String> {
        p["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&p1), ["b-two", "c-three"]);
    assert_eq!(p1["next"], "c-three");
    let (_, p2) = s
        .call("GET", "/v1/collections?limit=2&after=c-three", None)
        .await;
    assert_eq!(names(&p2), ["kb"]);
    assert!(p2.get("next").is_none(), "{p2}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_are_the_collections() {
    let (_dir, s) = server_with_corpus().await;
    s.create_collection("other").await;
    let (status, m) = s.call("GET", "/v1/models", None).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["object"], "list");
    let ids: Vec<&str> = m["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["kb", "other"]);
    assert_eq!(m["data"][0]["object"], "model");
    assert!(
        m["data"][0]["created"].as_u64().unwrap() > 1_700_000_000,
        "{m}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_answer_the_last_user_turn_with_citations() {
    let (_dir, s) = server_with_corpus().await;
    let (status, c) = s
        .call(
            "POST",
            "/v1/chat/completions",
            Some(json!({
                "model": "kb:hybrid",
                "temperature": 0.2, "max_tokens": 200, "user": "ignored fields are fine",
                "messages": [
                    {"role": "system", "content": "Answer from the documents."},
                    {"role": "user", "content": "Tell me about Sicily."},
                    {"role": "assistant", "content": "Sicily has Mount Etna [1]."},
                    {"role": "user", "content": "Which volcano in Sicily is active?"}
                ]
            })),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["object"], "chat.completion");
    assert!(c["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(c["model"], "kb:hybrid");
    assert_eq!(c["choices"][0]["message"]["role"], "assistant");
    assert_eq!(c["choices"][0]["finish_reason"], "stop");
    let answer = c["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        answer.contains("Etna") && answer.contains("[1]"),
        "{answer}"
    );
    assert_eq!(c["citations"][0]["document_id"], "volcano", "{c}");
    let usage = &c["usage"];
    assert_eq!(usage["prompt_tokens"], 4 + 4 + 5 + 6);
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        )
    );

    // Refusals, in the error envelope.
    let ask = |model: &str, messages: Value| json!({"model": model, "messages": messages});
    let user = json!([{"role": "user", "content": "q?"}]);
    for (body, want) in [
        (ask("nope", user.clone()), (404, "collection_not_found")),
        (ask("kb:fast", user.clone()), (422, "invalid_field")),
        (
            ask(
                "kb",
                json!([{"role": "system", "content": "only a system turn"}]),
            ),
            (422, "invalid_field"),
        ),
        (json!({"messages": user}), (422, "invalid_field")),
    ] {
        let (status, e) = s
            .call("POST", "/v1/chat/completions", Some(body.clone()))
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str().unwrap_or("")),
            want,
            "{body}: {e}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_chat_completion_is_openai_chunks_then_done() {
    let (_dir, s) = server_with_corpus().await;
    let body = s
        .stream(
            "/v1/chat/completions",
            json!({
                "model": "kb",
                "stream": true,
                "messages": [{"role": "user", "content": "What does the borrow checker prevent?"}]
            }),
        )
        .await;
    let data: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"), "{body}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(chunks.len() >= 3, "role, text, stop: {body}");
    let id = &chunks[0]["id"];
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(&c["id"], id, "one id for the whole stream");
    }
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[0]["citations"][0]["document_id"], "rust", "{body}");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(text.contains("[1]"), "{text}");
    // The same answer as the JSON form.
    let (_, whole) = s
        .call(
            "POST",
            "/v1/chat/completions",
            Some(json!({"model": "kb", "messages": [{"role": "user", "content": "What does the borrow checker prevent?"}]})),
        )
        .await;
    assert_eq!(whole["choices"][0]["message"]["content"], text.as_str());
    s.stop().await;
}
