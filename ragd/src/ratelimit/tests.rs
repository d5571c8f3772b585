//! The limiter in this process and in a real Redis (skipped without
//! `RAGKIT_REDIS_URL`, unless `RAGKIT_REQUIRE_SERVICES` is set).

use std::sync::Arc;

use axum::http::Method;

use super::*;
use crate::redis::tests::{cleanup, test_config, test_url, unreachable_config};

/// The client that the API key `name` is.
fn key(name: &str) -> Client {
    Client::Key(name.into())
}

/// A limiter with the same budget for queries and ingests. One request a
/// minute keeps the budget from refilling while a test runs.
fn limiter(per_minute: u32, burst: u32, redis: Option<Arc<Shared>>) -> RateLimiter {
    RateLimiter::new(
        &RateLimitConfig {
            queries_per_minute: per_minute,
            query_burst: burst,
            ingests_per_minute: per_minute,
            ingest_burst: burst,
        },
        redis,
        &Metrics::new(),
    )
}

/// Two connections with one key prefix, as two replicas have.
async fn two_replicas() -> Option<(Arc<Shared>, Arc<Shared>)> {
    let cfg = test_config(&test_url()?);
    let open = || async {
        let s = Shared::open(&cfg, crate::redis::tests::metrics())
            .await
            .unwrap();
        assert!(
            s.wait_up(Duration::from_secs(5)).await,
            "redis at {}",
            cfg.url
        );
        s
    };
    Some((open().await, open().await))
}

#[test]
fn writes_draw_from_the_ingest_budget() {
    let q = "/v1/collections/a/query";
    assert_eq!(Budget::of(&Method::POST, q), Budget::Query);
    assert_eq!(
        Budget::of(&Method::GET, "/v1/collections/a/documents/x"),
        Budget::Query
    );
    assert_eq!(
        Budget::of(&Method::POST, "/v1/collections/a/documents"),
        Budget::Ingest
    );
    assert_eq!(
        Budget::of(&Method::DELETE, "/v1/collections/a/documents/x"),
        Budget::Ingest
    );
    assert_eq!(Budget::of(&Method::POST, "/v1/collections"), Budget::Ingest);
    // Questions in other shapes ask too; a document named "search" is written.
    for asks in ["/v1/collections/a/search", "/v1/chat/completions"] {
        assert_eq!(Budget::of(&Method::POST, asks), Budget::Query);
    }
    assert_eq!(
        Budget::of(&Method::DELETE, "/v1/collections/a/documents/search"),
        Budget::Ingest
    );
}

#[tokio::test]
async fn a_burst_then_refusals_until_the_budget_refills() {
    let rl = limiter(1, 3, None);
    for remaining in [2, 1, 0] {
        let d = rl.check(Budget::Query, &key("c")).await.unwrap();
        assert!(d.allowed && d.local, "{d:?}");
        assert_eq!((d.limit, d.remaining), (3, remaining));
        // Full again after one interval (60 s) per request used.
        assert_eq!(d.reset_secs, 60 * (3 - remaining as u64));
    }
    let d = rl.check(Budget::Query, &key("c")).await.unwrap();
    assert!(!d.allowed);
    assert_eq!(d.remaining, 0);
    // One request a minute: the next one is allowed in (almost) 60 s.
    assert!((59..=60).contains(&d.retry_after_secs), "{d:?}");
    assert!((179..=180).contains(&d.reset_secs), "{d:?}");
    // Another client, and the other budget of the same client, are untouched.
    assert!(rl.check(Budget::Query, &key("d")).await.unwrap().allowed);
    assert!(rl.check(Budget::Ingest, &key("c")).await.unwrap().allowed);
}

#[tokio::test]
async fn no_limit_means_no_decision() {
    let rl = limiter(0, 10, None);
    assert!(!rl.enabled());
    for _ in 0..100 {
        assert_eq!(rl.check(Budget::Query, &key("c")).await, None);
    }
    let only_ingest = RateLimiter::new(
        &RateLimitConfig {
            ingests_per_minute: 5,
            ..RateLimitConfig::default()
        },
        None,
        &Metrics::new(),
    );
    assert!(only_ingest.enabled());
    assert_eq!(only_ingest.check(Budget::Query, &key("c")).await, None);
    assert!(only_ingest.check(Budget::Ingest, &key("c")).await.is_some());
}

#[tokio::test]
async fn the_sustained_rate_holds_after_the_burst() {
    // 6000 a minute = one per 10 ms after a burst of 1: over ~300 ms of
    // back-to-back checks about 30 are allowed, never the ~thousands sent.
    let rl = limiter(6000, 1, None);
    let start = std::time::Instant::now();
    let (mut allowed, mut sent) = (0u32, 0u32);
    while start.elapsed() < Duration::from_millis(300) {
        sent += 1;
        if rl.check(Budget::Query, &key("c")).await.unwrap().allowed {
            allowed += 1;
        }
        tokio::task::yield_now().await;
    }
    let elapsed_ms = start.elapsed().as_millis() as u32;
    assert!(sent > 100, "only {sent} checks");
    // The upper bound is the algorithm's: one at once plus one per 10 ms.
    assert!(
        allowed <= 1 + elapsed_ms / 10 + 1,
        "{allowed} in {elapsed_ms} ms"
    );
    assert!(allowed >= 2, "{allowed}");
}

#[tokio::test]
async fn replicas_share_one_budget_in_redis() {
    let Some((sa, sb)) = two_replicas().await else {
        return;
    };
    let a = limiter(1, 5, Some(sa.clone()));
    let b = limiter(1, 5, Some(sb));
    let client = key(&format!("c{}", std::process::id()));
    for remaining in (0..5).rev() {
        let r = if remaining % 2 == 0 { &a } else { &b };
        let d = r.check(Budget::Query, &client).await.unwrap();
        assert!(d.allowed && !d.local, "{d:?}");
        assert_eq!((d.limit, d.remaining), (5, remaining));
    }
    for r in [&a, &b] {
        let d = r.check(Budget::Query, &client).await.unwrap();
        assert!(!d.allowed, "{d:?}");
        assert!((59..=60).contains(&d.retry_after_secs), "{d:?}");
        assert!((299..=300).contains(&d.reset_secs), "{d:?}");
    }
    // Budgets and clients are separate in Redis too.
    assert!(a.check(Budget::Ingest, &client).await.unwrap().allowed);
    assert!(
        b.check(Budget::Query, &key("someone-else"))
            .await
            .unwrap()
            .allowed
    );
    // The key expires when the budget would be full again.
    let ttl: i64 = sa
        .query(
            "test",
            ::redis::cmd("PTTL").arg(sa.key(&format!("rl:query:{client}"))),
        )
        .await
        .unwrap();
    assert!(ttl > 290_000 && ttl <= 300_000, "{ttl}");
    cleanup(&sa).await;
}

#[tokio::test]
async fn redis_down_counts_locally_and_never_refuses_for_it() {
    let metrics = Metrics::new();
    let down = Shared::open(&unreachable_config(), metrics.redis.clone())
        .await
        .unwrap();
    let rl = RateLimiter::new(
        &RateLimitConfig {
            queries_per_minute: 1,
            query_burst: 2,
            ..RateLimitConfig::default()
        },
        Some(down),
        &metrics,
    );
    let d = rl.check(Budget::Query, &key("c")).await.unwrap();
    assert!(d.allowed && d.local);
    assert!(rl.check(Budget::Query, &key("c")).await.unwrap().allowed);
    // The local budget still holds.
    assert!(!rl.check(Budget::Query, &key("c")).await.unwrap().allowed);
    assert_eq!(metrics.rate_limit_local.get(), 3);
}
