//! Per-client request rate limit (`[rate_limit]`), in fixed one-minute
//! windows.
//!
//! With `[redis]`, one budget is shared by every replica: each request does
//! `INCR {prefix}:rl:{client}:{minute}` + `EXPIRE 120` in one pipeline.
//! Without it, or while Redis is down, requests are counted in this process
//! (each replica then allows the full budget: degraded, never stricter).
//! Redis trouble never refuses a request.
//!
//! The client is the value of `rate_limit.client_header` when the request
//! has it, else the peer IP address, else `anonymous`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use prometheus_client::metrics::counter::Counter;

use crate::config::RateLimitConfig;
use crate::metrics::Metrics;
use crate::redis::Shared;

/// Seconds a window's Redis counter is kept (two windows).
const KEY_TTL_SECS: u64 = 120;

/// A request over the limit: retry after this many seconds (the end of the
/// current window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub limit: u32,
    pub retry_after_secs: u64,
}

/// A request within the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub limit: u32,
    /// Requests left in this window (as counted where it was counted).
    pub remaining: u32,
    /// Counted in this process because Redis was down (or not configured).
    pub local: bool,
}

pub struct RateLimiter {
    limit: u32,
    header: String,
    redis: Option<Arc<Shared>>,
    /// (minute, count per client) of the current window.
    local: Mutex<(u64, HashMap<String, u32>)>,
    local_checks: Counter,
}

impl RateLimiter {
    pub fn new(
        cfg: &RateLimitConfig,
        redis: Option<Arc<Shared>>,
        metrics: &Metrics,
    ) -> RateLimiter {
        RateLimiter {
            limit: cfg.requests_per_minute,
            header: cfg.client_header.to_ascii_lowercase(),
            redis,
            local: Mutex::new((0, HashMap::new())),
            local_checks: metrics.rate_limit_local.clone(),
        }
    }

    /// Whether requests are limited at all (`requests_per_minute > 0`).
    pub fn enabled(&self) -> bool {
        self.limit > 0
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// `local` or `redis` (where requests are counted when all is well).
    pub fn kind(&self) -> &'static str {
        if self.redis.is_some() {
            "redis"
        } else {
            "local"
        }
    }

    /// Who sent a request: the client header, else the peer IP, else
    /// `anonymous`. Long or unusual header values are hashed, so keys stay
    /// short and printable.
    pub fn client_id(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> String {
        if !self.header.is_empty()
            && let Some(v) = headers.get(self.header.as_str())
        {
            let bytes = v.as_bytes();
            let plain = !bytes.is_empty()
                && bytes.len() <= 64
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(b));
            return if plain {
                format!("h:{}", String::from_utf8_lossy(bytes))
            } else {
                format!("h#{}", &crate::cache::digest(&[bytes])[..32])
            };
        }
        match peer {
            Some(ip) => format!("ip:{ip}"),
            None => "anonymous".into(),
        }
    }

    /// Count one request of `client` now.
    pub async fn check(&self, client: &str) -> Result<Allowed, Limited> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.check_at(client, now).await
    }

    /// Count one request of `client` at `now` (Unix seconds).
    pub async fn check_at(&self, client: &str, now: u64) -> Result<Allowed, Limited> {
        if !self.enabled() {
            return Ok(Allowed {
                limit: 0,
                remaining: u32::MAX,
                local: true,
            });
        }
        let minute = now / 60;
        let retry_after_secs = (60 - now % 60).max(1);
        let (count, local) = match self.count_in_redis(client, minute).await {
            Some(n) => (n, false),
            None => (self.count_locally(client, minute), true),
        };
        if count > self.limit as u64 {
            Err(Limited {
                limit: self.limit,
                retry_after_secs,
            })
        } else {
            Ok(Allowed {
                limit: self.limit,
                remaining: (self.limit as u64 - count) as u32,
                local,
            })
        }
    }

    async fn count_in_redis(&self, client: &str, minute: u64) -> Option<u64> {
        let shared = self.redis.as_ref()?;
        let key = shared.key(&format!("rl:{client}:{minute}"));
        let mut pipe = ::redis::pipe();
        pipe.cmd("INCR")
            .arg(&key)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(KEY_TTL_SECS)
            .ignore();
        shared
            .query_pipe::<(u64,)>("rate_limit", &pipe)
            .await
            .ok()
            .map(|(n,)| n)
    }

    fn count_locally(&self, client: &str, minute: u64) -> u64 {
        if self.redis.is_some() {
            self.local_checks.inc();
        }
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        if local.0 != minute {
            local.0 = minute;
            local.1.clear();
        }
        let n = local.1.entry(client.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        *n as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::tests::{test_config, test_url};

    fn limiter(limit: u32, redis: Option<Arc<Shared>>) -> RateLimiter {
        RateLimiter::new(
            &RateLimitConfig {
                requests_per_minute: limit,
                client_header: "X-Client-Id".into(),
            },
            redis,
            &Metrics::new(),
        )
    }

    #[tokio::test]
    async fn local_windows() {
        let rl = limiter(3, None);
        assert_eq!(rl.kind(), "local");
        let t = 60 * 1000 + 15;
        for i in 0..3 {
            let a = rl.check_at("c", t).await.unwrap();
            assert_eq!(a.remaining, 2 - i);
        }
        let l = rl.check_at("c", t + 5).await.unwrap_err();
        assert_eq!(
            l,
            Limited {
                limit: 3,
                retry_after_secs: 40
            }
        );
        // Another client has its own budget.
        assert!(rl.check_at("d", t).await.is_ok());
        // The next minute starts afresh.
        assert!(rl.check_at("c", t + 45).await.is_ok());
    }

    #[tokio::test]
    async fn off_allows_everything() {
        let rl = limiter(0, None);
        assert!(!rl.enabled());
        for _ in 0..100 {
            assert!(rl.check("c").await.is_ok());
        }
    }

    #[test]
    fn client_ids() {
        let rl = limiter(1, None);
        let mut h = HeaderMap::new();
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(rl.client_id(&h, Some(ip)), "ip:10.1.2.3");
        assert_eq!(rl.client_id(&h, None), "anonymous");
        h.insert("x-client-id", "team-a".parse().unwrap());
        assert_eq!(rl.client_id(&h, Some(ip)), "h:team-a");
        h.insert("x-client-id", "has spaces: and {braces}".parse().unwrap());
        let id = rl.client_id(&h, Some(ip));
        assert!(id.starts_with("h#") && id.len() == 34, "{id}");
    }

    #[tokio::test]
    async fn replicas_share_one_budget_in_redis() {
        let Some(url) = test_url() else { return };
        let cfg = test_config(&url);
        let metrics = Metrics::new();
        let open = || async {
            let s = Shared::open(&cfg, metrics.redis.clone()).await.unwrap();
            assert!(s.wait_up(std::time::Duration::from_secs(5)).await);
            s
        };
        let a = limiter(5, Some(open().await));
        let b = limiter(5, Some(open().await));
        let t = 60 * 2000 + 1;
        for i in 0..5 {
            let r = if i % 2 == 0 { &a } else { &b };
            let ok = r.check_at("c", t).await.unwrap();
            assert!(!ok.local);
            assert_eq!(ok.remaining, 4 - i);
        }
        assert_eq!(
            b.check_at("c", t).await.unwrap_err(),
            Limited {
                limit: 5,
                retry_after_secs: 59
            }
        );
        assert!(a.check_at("c", t).await.is_err());
        assert!(a.check_at("other", t).await.is_ok());
        assert!(a.check_at("c", t + 60).await.is_ok());
        // The counter expires.
        let shared = a.redis.as_ref().unwrap();
        let ttl: i64 = shared
            .query(
                "test",
                ::redis::cmd("TTL").arg(shared.key(&format!("rl:c:{}", t / 60))),
            )
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 120, "{ttl}");
        crate::redis::tests::cleanup(shared).await;
    }

    #[tokio::test]
    async fn redis_down_counts_locally_and_never_refuses_for_it() {
        let cfg = crate::redis::tests::unreachable_config();
        let metrics = Metrics::new();
        let shared = Shared::open(&cfg, metrics.redis.clone()).await.unwrap();
        let rl = RateLimiter::new(
            &RateLimitConfig {
                requests_per_minute: 2,
                client_header: "x-client-id".into(),
            },
            Some(shared),
            &metrics,
        );
        let t = 60 * 3000;
        let ok = rl.check_at("c", t).await.unwrap();
        assert!(ok.local);
        assert!(rl.check_at("c", t).await.is_ok());
        assert!(rl.check_at("c", t).await.is_err());
        assert_eq!(metrics.rate_limit_local.get(), 3);
    }
}
