//! The pool against a live PostgreSQL (see [`crate::testing`]): migrations,
//! fast failure, measured acquisition waits; and the connection budget.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::testing::{pg_url, with_database};

/// A small pool on `url`.
pub(crate) fn config(url: &str) -> PostgresConfig {
    let mut cfg: PostgresConfig =
        serde_json::from_value(serde_json::json!({ "url": url })).unwrap();
    cfg.max_connections = 4;
    cfg.acquire_timeout_ms = 5000;
    cfg
}

#[test]
fn budget_warning_states_the_formula() {
    let w = connection_budget_warning(3, 80, 200, 3).expect("240 > 197");
    assert_eq!(
        w,
        "3 replicas × 80 connections = 240 > PostgreSQL max_connections 200 − 3 reserved \
         = 197; lower metadata.max_connections or put PgBouncer in front"
    );
    assert_eq!(connection_budget_warning(3, 60, 200, 3), None, "180 <= 197");
    assert_eq!(
        connection_budget_warning(1, 197, 200, 3),
        None,
        "exactly the budget"
    );
    assert!(connection_budget_warning(1, 198, 200, 3).is_some());
    assert!(
        connection_budget_warning(1, 1, 2, 3).is_some(),
        "reserved > max"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_safe_to_run_concurrently() {
    with_database(|url| async move {
        let cfg = config(&url);
        // Two replicas starting at once, then a restart.
        let (a, b) = tokio::join!(Pg::open(&cfg), Pg::open(&cfg));
        let (a, b) = (a.unwrap(), b.unwrap());
        a.close().await;
        b.close().await;
        let c = Pg::open(&cfg).await.unwrap();
        c.health().await.unwrap();
        c.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_fails_fast_with_a_redacted_url() {
    if pg_url().is_none() {
        return;
    }
    // Nothing listens on port 1.
    let mut cfg = config("postgres://ragd:s3cret@127.0.0.1:1/nothing");
    cfg.acquire_timeout_ms = 500;
    let t = Instant::now();
    let err = Pg::open(&cfg).await.err().expect("no server");
    let msg = err.to_string();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(msg.contains("postgres://ragd@127.0.0.1:1/nothing"), "{msg}");
    assert!(!msg.contains("s3cret"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_status_reports_acquisition_waits() {
    with_database(|url| async move {
        let mut cfg = config(&url);
        cfg.max_connections = 1;
        cfg.acquire_timeout_ms = 300;
        let s = Arc::new(Pg::open(&cfg).await.unwrap());
        let st = s.pool_status("metadata");
        assert_eq!(
            (st.name.as_str(), st.kind.as_str()),
            ("metadata", "postgres")
        );
        assert_eq!(st.max, 1);
        let before = st.acquire_wait.unwrap().count;
        s.fetch_all(sqlx::query("SELECT 1")).await.unwrap();
        s.health().await.unwrap();
        let after = s.pool_status("metadata").acquire_wait.unwrap();
        assert_eq!(after.count, before + 2);
        assert_eq!(after.failed, 0);

        // Hold the only connection: the next caller waits, then fails.
        let held = s.acquire().await.unwrap();
        let st = s.pool_status("metadata");
        assert_eq!((st.size, st.in_use, st.idle), (1, 1, 0));
        let waiter = {
            let s = s.clone();
            tokio::spawn(async move { s.fetch_all(sqlx::query("SELECT 1")).await })
        };
        let mut saw_waiting = false;
        for _ in 0..50 {
            if s.pool_status("metadata").waiting == 1 {
                saw_waiting = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(saw_waiting, "a caller waits for the held connection");
        let err = waiter.await.unwrap().unwrap_err();
        assert!(
            err.to_string().contains("no PostgreSQL connection"),
            "{err}"
        );
        let st = s.pool_status("metadata");
        assert_eq!(st.waiting, 0);
        let w = st.acquire_wait.unwrap();
        assert_eq!(w.failed, 1);
        assert!(w.max_ms >= 290.0, "{w:?}");
        drop(held);
        // Released: the next caller gets it.
        s.fetch_all(sqlx::query("SELECT 1")).await.unwrap();
        assert_eq!(
            s.pool_status("metadata").acquire_wait.unwrap().count,
            after.count + 3
        );
        s.close().await;
    })
    .await;
}
