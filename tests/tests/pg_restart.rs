//! PostgreSQL stopped and started under a running ragd: unready with a clear
//! 503 while it is down, recovered without a restart, nothing acknowledged
//! lost. A test binary of its own (cargo runs test binaries one at a time),
//! because it stops the PostgreSQL that other suites use.

use std::time::{Duration, Instant};

use ragkit_tests::{Server, cited_ids, corpus, shared_services, test_config, use_shared_backends};
use serde_json::json;

fn pg_ctl(action: &str) {
    let cmd = std::env::var("RAGKIT_PG_CTL")
        .expect("RAGKIT_PG_CTL names the pg_ctl command of tests/services.sh");
    let extra = if action == "stop" { " -m fast" } else { "" };
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{cmd} {action}{extra}"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run pg_ctl");
    assert!(status.success(), "pg_ctl {action} failed");
}

/// Starts PostgreSQL again even if the test fails half-way.
struct RestartOnDrop;
impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        let cmd = std::env::var("RAGKIT_PG_CTL").unwrap_or_default();
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{cmd} status >/dev/null || {cmd} start"))
            .stdout(std::process::Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_makes_ragd_unready_then_it_recovers_by_itself() {
    if shared_services().is_none() || ragd::testing::service_url("RAGKIT_PG_CTL").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = test_config(dir.path());
    let name = ragkit_tests::shared_name(dir.path());
    use_shared_backends(&mut cfg, &name).await;
    // Every query must reach the stores for this test.
    cfg.cache = ragd::config::CacheConfig::Off;
    if let ragd::config::MetadataConfig::Postgres(pg) = &mut cfg.metadata {
        pg.acquire_timeout_ms = 1000;
    }
    let s = Server::start_with(cfg).await;
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    let q = json!({"question": "Which volcano in Sicily is active?", "top_k": 1});
    assert_eq!(cited_ids(&s.query("kb", q.clone()).await), vec!["volcano"]);

    let _guard = RestartOnDrop;
    pg_ctl("stop");

    let (code, ready) = s.call("GET", "/ready", None).await;
    assert_eq!(code, 503, "{ready}");
    let meta = ready["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "metadata")
        .unwrap();
    assert_eq!(meta["ok"], false, "{ready}");
    let t = Instant::now();
    let (code, body) = s
        .call("POST", "/v1/collections/kb/query", Some(q.clone()))
        .await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["error"]["code"], "backend_unavailable", "{body}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "fails fast: {:?}",
        t.elapsed()
    );
    let (code, body) = s
        .call(
            "POST",
            "/v1/collections/kb/documents",
            Some(json!({"documents": [{"id": "lost", "text": "Written while the database is down."}]})),
        )
        .await;
    assert_eq!(
        code, 503,
        "an ingest that cannot be stored is refused: {body}"
    );
    let (_, status) = s.call("GET", "/status", None).await;
    assert_eq!(status["state"], "down", "{status}");

    pg_ctl("start");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, ready) = s.call("GET", "/ready", None).await;
        if code == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered: {ready}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Everything acknowledged before is still there; the refused ingest is not.
    assert_eq!(cited_ids(&s.query("kb", q).await), vec!["volcano"]);
    let (code, _) = s
        .call("GET", "/v1/collections/kb/documents/lost", None)
        .await;
    assert_eq!(code, 404);
    s.ingest(
        "kb",
        json!([{"id": "after", "text": "Written after the database came back."}]),
    )
    .await;
    let (_, coll) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(coll["documents"], 5, "{coll}");
    // Pool waits were measured.
    let (_, status) = s.call("GET", "/status", None).await;
    let pool = status["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "metadata")
        .unwrap()
        .clone();
    assert_eq!(pool["kind"], "postgres", "{pool}");
    assert!(
        pool["acquire_wait"]["count"].as_u64().unwrap() > 0,
        "{pool}"
    );
    assert!(
        pool["acquire_wait"]["failed"].as_u64().unwrap() > 0,
        "{pool}"
    );
    let metrics = s.metrics().await;
    for needle in [
        "ragd_pool_acquire_wait_seconds{pool=\"metadata\",quantile=\"0.99\"}",
        "ragd_pool_acquires_total{pool=\"metadata\",result=\"failed\"}",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }
    s.stop().await;
}
