//! A bulk ingest must not starve questions: query latency with writers
//! flooding ragd stays within 2x of its latency on a quiet server.
//!
//! A measurement, so not part of `tests/run.sh` (speed is measured in
//! benchmarks, not in timed tests): `bash tests/bench/isolation.sh` runs it
//! alone, on a quiet machine. Last figures in docs/RELIABILITY.md. What makes it hold: writes take at most
//! `server.max_ingests_in_flight` slots, and their embedding runs in the
//! CPU pool's batch lane (half the threads, at nice 10), see `ragd::cpu`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ragkit_tests::{Server, corpus, test_config};
use serde_json::json;

/// The 95th percentile of `n` uncached questions asked one after another.
async fn p95_of_questions(s: &Server, round: &str, n: usize) -> Duration {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        // Distinct questions: every one is embedded and searched.
        s.query(
            "kb",
            json!({"question": format!("{round} {i}: which volcano erupts in Sicily?")}),
        )
        .await;
        times.push(t.elapsed());
    }
    times.sort();
    times[(n * 95).div_ceil(100) - 1]
}

fn document(writer: usize, n: u64) -> serde_json::Value {
    let text: Vec<String> = (0..40)
        .map(|p| format!("Paragraph {p} of report {writer}-{n}: the river dam held during the spring migration of geese, engineers said, and the reservoir rose by {p} centimetres."))
        .collect();
    json!([{ "id": format!("bulk-{writer}-{n}"), "text": text.join("\n\n") }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by tests/bench/isolation.sh on a quiet machine"]
async fn questions_stay_fast_while_writers_flood_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = test_config(dir.path());
    // Questions embedded by the bundled model: they need the CPU as much
    // as the ingests do.
    cfg.retrieval.mode = ragd_api::RetrievalMode::Dense;
    let s = Arc::new(Server::start_with(cfg).await);
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    p95_of_questions(&s, "warm-up", 10).await;
    let quiet = p95_of_questions(&s, "quiet", 60).await;

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (s, stop, acked) = (s.clone(), stop.clone(), acked.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (status, _) = s
                        .call(
                            "POST",
                            "/v1/collections/kb/documents",
                            Some(json!({ "documents": document(w, n) })),
                        )
                        .await;
                    if status == 201 {
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    // Let the flood reach the CPU pool before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, status) = s.call("GET", "/status", None).await;
    let writing = status["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "http-writes-in-flight")
        .map(|p| p["in_use"].as_u64().unwrap())
        .unwrap();
    let flooded = p95_of_questions(&s, "flooded", 60).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let during = acked.load(Ordering::Relaxed);
    eprintln!("query p95: quiet {quiet:?}, flooded {flooded:?}; {during} ingests acknowledged");
    assert!(writing >= 1, "no write was in flight when measuring began");
    assert!(during >= 8, "the flood did not run ({during} ingests)");
    // 2x, with a floor of 10 ms under the quiet figure so that a very fast
    // quiet run does not turn scheduler noise into a failure.
    let bound = quiet.max(Duration::from_millis(10)) * 2;
    assert!(
        flooded <= bound,
        "query p95 {flooded:?} while flooded, over 2x the quiet {quiet:?}"
    );
    Arc::try_unwrap(s).ok().unwrap().stop().await;
}
