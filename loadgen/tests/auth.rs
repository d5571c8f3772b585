//! loadgen against a ragd with API keys: with `RAGKIT_API_KEY` set, every
//! request (setup, measured load, the start-up check) carries the key. Its
//! own test binary, because it sets a process-wide environment variable.

use std::path::PathBuf;
use std::time::Duration;

use loadgen::{Profile, RunOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_sends_the_api_key_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let server = ragkit_tests::Server::start_with(ragkit_tests::auth_config(dir.path())).await;
    // Auth is on: a request without a key is refused.
    let (status, _, _) = server.call_as(None, "GET", "/v1/collections", None).await;
    assert_eq!(status, 401);
    // Setup creates the collection, so the run needs an admin key.
    let key = server.make_key("loadgen", "admin", &[]).await;
    // SAFETY: the only test of this binary; nothing else reads the
    // environment concurrently.
    unsafe { std::env::set_var(ragd_api::API_KEY_ENV, &key) };

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../profiles/smoke.toml");
    let mut o = RunOptions::new(Profile::load(&path).unwrap(), &server.base);
    o.instance = "auth".into();
    o.max_duration = Some(Duration::from_secs(40));
    let report = run(o).await.unwrap();
    assert_eq!(report.meta.stop_reason, "completed", "{}", report.to_text());
    assert_eq!(report.total.failed, 0, "{:?}", report.total.errors);
    assert!(report.total.count > 0);
    let (status, coll) = server.call("GET", "/v1/collections/docs", None).await;
    assert_eq!(status, 200);
    assert!(coll["documents"].as_u64().unwrap() >= 2, "{coll}");
}
