//! End to end: the shipped smoke profile against a real ragd (embedded
//! defaults, in-process), including setup (collection + corpus ingest),
//! every transaction kind, streamed answers and the closed model on goose.

use std::path::PathBuf;
use std::time::Duration;

use loadgen::{Profile, RunOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_profile_passes_against_a_real_ragd() {
    let dir = tempfile::tempdir().unwrap();
    let server = ragkit_tests::Server::start(dir.path()).await;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../profiles/smoke.toml");
    let profile = Profile::load(&path).unwrap();
    let mut o = RunOptions::new(profile, &server.base);
    o.instance = "e2e".into();
    o.max_duration = Some(Duration::from_secs(40));
    let report = run(o).await.unwrap();
    let text = report.to_text();
    println!("{text}");

    // Setup created the collection and ingested the corpus.
    let (status, coll) = server.call("GET", "/v1/collections/docs", None).await;
    assert_eq!(status, 200);
    assert!(coll["documents"].as_u64().unwrap() >= 2, "{coll}");

    assert_eq!(report.meta.stop_reason, "completed", "{text}");
    assert_eq!(report.total.failed, 0, "{:?}", report.total.errors);
    for t in &report.transactions {
        assert!(t.count > 0, "{} ran", t.name);
    }
    let stream = report
        .transactions
        .iter()
        .find(|t| t.name == "query_stream")
        .unwrap();
    let ttfb = stream
        .ttfb_ms
        .as_ref()
        .expect("streamed answers have a time to first byte");
    assert!(
        ttfb.p50 <= stream.latency_ms.p50,
        "first byte before last byte"
    );
    assert!(
        report
            .transactions
            .iter()
            .find(|t| t.name == "query")
            .unwrap()
            .ttfb_ms
            .is_none()
    );
    assert!(report.passed, "{text}");
    assert_eq!(report.stages.len(), 2);
    server.stop().await;
}
