//! Answer quality through HTTP: retrieval modes, heading paths, the
//! "nothing relevant" answer, citation numbering.

use ragkit_tests::{Server, cited_ids, server_with_corpus as server};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_retrieval_mode_finds_the_document() {
    let (_dir, s) = server().await;
    for mode in ["dense", "sparse", "hybrid"] {
        let r = s
            .query(
                "kb",
                json!({"question": "How do I bake sourdough bread?", "mode": mode, "top_k": 3}),
            )
            .await;
        assert_eq!(r["mode"], mode);
        assert_eq!(cited_ids(&r)[0], "bread", "{mode}: {r}");
        let ns: Vec<u64> = r["citations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["n"].as_u64().unwrap())
            .collect();
        assert_eq!(
            ns,
            (1..=ns.len() as u64).collect::<Vec<_>>(),
            "citations numbered 1..n"
        );
    }
    // The default mode is the configured one (sparse), and modes are
    // cached separately.
    let r = s
        .query(
            "kb",
            json!({"question": "How do I bake sourdough bread?", "top_k": 3}),
        )
        .await;
    assert_eq!(
        (r["mode"].as_str(), r["cached"].as_bool()),
        (Some("sparse"), Some(true))
    );
    // Sparse finds exact rare terms that dense similarity may not rank first.
    let r = s
        .query(
            "kb",
            json!({"question": "Etna", "mode": "sparse", "top_k": 1}),
        )
        .await;
    assert_eq!(cited_ids(&r), vec!["volcano"]);
    let (status, body) = s
        .call(
            "POST",
            "/v1/collections/kb/query",
            Some(json!({"question": "x", "mode": "fuzzy"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_field"))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrelated_question_gets_a_plain_nothing_found_answer() {
    let (_dir, s) = server().await;
    // Dense and hybrid judge relevance by cosine similarity.
    for mode in ["dense", "hybrid"] {
        let r = s
            .query(
                "kb",
                json!({"question": "What is the airspeed velocity of an unladen swallow?", "mode": mode}),
            )
            .await;
        let answer = r["answer"].as_str().unwrap();
        assert_eq!(
            answer, "I could not find anything relevant to this question in the collection.",
            "{mode}"
        );
        assert!(!answer.contains('['), "no citation markers: {answer}");
        // A related question on the same server still gets a cited answer.
        let r = s
            .query(
                "kb",
                json!({"question": "Which volcano in Sicily is active?", "mode": mode}),
            )
            .await;
        assert!(r["answer"].as_str().unwrap().contains("[1]"), "{r}");
    }
    // Sparse retrieval finds nothing when no word is shared, and says so.
    let r = s
        .query(
            "kb",
            json!({"question": "unladen swallow airspeed", "mode": "sparse"}),
        )
        .await;
    assert_eq!(r["citations"], json!([]));
    assert_eq!(
        r["answer"],
        "I found nothing in this collection that answers the question."
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markdown_passages_cite_their_heading_path() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("md").await;
    let filler = "Keep a written record of each step, who did it and when, so that the next person can follow it. ";
    let md = format!(
        "# Operations guide\n\n## Backups\n\nSnapshots of the data directory are taken every night at two o'clock. {f}{f}\n\n## Upgrades\n\nStop the service, replace the binary, then start it again. {f}{f}",
        f = filler
    );
    s.ingest(
        "md",
        json!([{"id": "ops.md", "format": "markdown", "text": md}]),
    )
    .await;
    let r = s
        .query(
            "md",
            json!({"question": "When are snapshots taken?", "top_k": 1}),
        )
        .await;
    assert_eq!(
        r["citations"][0]["heading"], "Operations guide > Backups",
        "{r}"
    );
    assert!(
        r["citations"][0]["text"]
            .as_str()
            .unwrap()
            .contains("two o'clock")
    );
    s.stop().await;
}
