//! Asynchronous ingests as a client meets them: `?wait=false` answers 202
//! with a job (and its `Location`) once the job is durable; the job shows
//! its progress and ends `succeeded`, or `failed` with the reason; bad
//! requests are refused at once, as synchronous ones are; a graceful
//! restart in the middle resumes the job. (The SIGKILL case is in
//! crash.rs.)

use std::time::{Duration, Instant};

use ragkit_tests::Server;
use serde_json::{Value, json};

fn docs(prefix: &str, n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"id": format!("{prefix}{i}"), "text": format!("Entry {i} of the {prefix} ledger: {} crates of apples.", i * 3)}))
            .collect(),
    )
}

async fn submit(s: &Server, collection: &str, documents: Value) -> (u16, Value, Option<String>) {
    let resp = reqwest::Client::new()
        .post(s.url(&format!(
            "/v1/collections/{collection}/documents?wait=false"
        )))
        .json(&json!({ "documents": documents }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (status, resp.json().await.unwrap_or(Value::Null), location)
}

/// Poll a job until it ends (bounded).
async fn ended(s: &Server, id: &str) -> Value {
    // Generous: ingests run at idle CPU priority, and other tests (or a
    // build) may take every core meanwhile.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (status, j) = s.call("GET", &format!("/v1/jobs/{id}"), None).await;
        assert_eq!(status, 200, "{j}");
        if j["state"] == "succeeded" || j["state"] == "failed" {
            return j;
        }
        assert!(Instant::now() < deadline, "job did not end: {j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_job_runs_to_the_end_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("kb").await;
    let (status, job, location) = submit(&s, "kb", docs("orchard-", 40)).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap();
    assert_eq!(location.as_deref(), Some(format!("/v1/jobs/{id}").as_str()));
    assert_eq!(
        (job["collection"].as_str(), job["documents"].as_u64()),
        (Some("kb"), Some(40))
    );
    assert!(
        ["queued", "running"].contains(&job["state"].as_str().unwrap()),
        "{job}"
    );
    let done = ended(&s, id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(
        (done["done"].as_u64(), done.get("error")),
        (Some(40), None),
        "{done}"
    );
    assert!(done["chunks"].as_u64().unwrap() >= 40, "{done}");
    let a = s
        .query("kb", json!({"question": "How many crates of apples are in entry 13 of the orchard ledger?", "mode": "sparse"}))
        .await;
    assert_eq!(a["citations"][0]["document_id"], "orchard-13", "{a}");
    let (status, e) = s.call("GET", "/v1/jobs/no-such-job", None).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("job_not_found")),
        "{e}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_jobs_are_refused_at_once_and_a_job_that_fails_later_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("kb").await;
    // Refused before any job exists, as a synchronous ingest would be.
    let (status, e, _) = submit(&s, "nope", docs("x", 1)).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("collection_not_found")),
        "{e}"
    );
    let (status, e, _) = submit(&s, "kb", json!([{"id": "empty", "text": "  "}])).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("invalid_field")),
        "{e}"
    );
    let (status, e) = s
        .call(
            "POST",
            "/v1/collections/kb/documents?wait=later",
            Some(json!({"documents": docs("x", 1)})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("invalid_field")),
        "{e}"
    );

    // The collection goes away under a long job: it fails, visibly.
    s.create_collection("doomed").await;
    let (status, job, _) = submit(&s, "doomed", docs("d", 400)).await;
    assert_eq!(status, 202, "{job}");
    let (status, _) = s.call("DELETE", "/v1/collections/doomed", None).await;
    assert_eq!(status, 204);
    let end = ended(&s, job["id"].as_str().unwrap()).await;
    assert_eq!(end["state"], "failed", "{end}");
    assert!(
        end["error"]
            .as_str()
            .unwrap()
            .starts_with("collection_not_found"),
        "the error says why: {end}"
    );
    assert!(end["done"].as_u64().unwrap() < 400, "{end}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_a_job_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("kb").await;
    let (status, job, _) = submit(&s, "kb", docs("ledger-", 120)).await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    // Stop while the job runs (eight batches: seconds).
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.stop().await;
    let restarted = Instant::now();
    let s = Server::start(dir.path()).await;
    let end = ended(&s, &id).await;
    // Given back at the stop, so not held until its heartbeat is stale
    // (30 s with shared stores).
    assert!(
        restarted.elapsed() < Duration::from_secs(25),
        "resumed only after {:?}",
        restarted.elapsed()
    );
    assert_eq!(
        (end["state"].as_str(), end["done"].as_u64()),
        (Some("succeeded"), Some(120)),
        "{end}"
    );
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(c["documents"], 120, "{c}");
    assert_eq!(c["vectors"], c["chunks"], "{c}");
    s.stop().await;
}
