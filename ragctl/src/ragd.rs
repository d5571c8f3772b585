//! Probing ragd replicas over HTTP: `/ready`, `/status` and `/metrics`.
//!
//! A probe never fails as a whole: a replica that does not answer is a
//! [`Probe`] with `up = false` and the reason, so the console can mark it
//! down and keep going. The wire types come from `ragd-api` only.

use std::time::{Duration, Instant};

use ragd_api::{Ready, Status};
use serde::Serialize;

use crate::metrics::{Rates, Scrape};

/// Where a replica lives and what to call it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Target {
    /// Container name, or the URL for targets given with `--target`.
    pub name: String,
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
}

/// One probe of one replica.
#[derive(Debug, Clone)]
pub struct Probe {
    pub target: Target,
    /// When the probe finished; rates are computed between probes.
    pub at: Instant,
    /// The process answered at least one of the three endpoints.
    pub up: bool,
    /// `/ready` said 200 (or `ready: true`).
    pub ready: bool,
    pub ready_body: Option<Ready>,
    pub status: Option<Status>,
    pub scrape: Option<Scrape>,
    /// Why the replica is down or partly unreadable.
    pub error: Option<String>,
}

/// A client with short timeouts: an operator console must not hang on one
/// stuck replica. With an admin API key in [`ragd_api::API_KEY_ENV`] (a ragd
/// with `[auth] enabled` shows `/status` and `/metrics` to admins only),
/// every request sends it as `Authorization: Bearer`.
pub fn client() -> reqwest::Client {
    client_with(Duration::from_secs(1), Some(Duration::from_secs(3)))
}

/// [`client`] with other timeouts: `ingest` waits for uploads that take as
/// long as embedding their text does, and sets a timeout per request.
pub fn client_with(connect: Duration, total: Option<Duration>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = ragd_api::api_key_from_env()
        && let Ok(mut v) = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
    {
        v.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    let mut b = reqwest::Client::builder()
        .default_headers(headers)
        .connect_timeout(connect)
        .no_proxy();
    if let Some(t) = total {
        b = b.timeout(t);
    }
    b.build().unwrap_or_default()
}

/// A transport error in a few words, without the URL (the caller names it).
pub fn short(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused or unreachable".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else if e.is_decode() {
        "unexpected response body".into()
    } else {
        let mut s = e.to_string();
        if let Some(u) = e.url() {
            s = s.replace(&format!(" for url ({u})"), "");
        }
        s
    }
}

/// Probe `/ready`, `/status` and `/metrics` concurrently.
pub async fn probe(client: &reqwest::Client, target: &Target) -> Probe {
    probe_parts(client, target, true).await
}

/// [`probe`], with `/status` only when `with_status` (`top` reads it again
/// only when it may have changed; its pool figures are in `/metrics` too).
pub async fn probe_parts(client: &reqwest::Client, target: &Target, with_status: bool) -> Probe {
    let base = target.url.trim_end_matches('/');
    let ready = async {
        let r = client.get(format!("{base}/ready")).send().await?;
        let code = r.status();
        let body = r.json::<Ready>().await.ok();
        Ok::<_, reqwest::Error>((code.is_success(), body))
    };
    let status = async {
        if !with_status {
            return Ok(None);
        }
        client
            .get(format!("{base}/status"))
            .send()
            .await?
            .error_for_status()?
            .json::<Status>()
            .await
            .map(Some)
    };
    let metrics = async {
        client
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await
    };
    let (ready, status, metrics) = tokio::join!(ready, status, metrics);
    let mut errors = Vec::new();
    let (is_ready, ready_body, ready_ok) = match ready {
        Ok((ok, body)) => (ok && body.as_ref().is_none_or(|b| b.ready), body, true),
        Err(e) => {
            errors.push(format!("/ready: {}", short(&e)));
            (false, None, false)
        }
    };
    let status = status
        .map_err(|e| errors.push(format!("/status: {}", short(&e))))
        .ok()
        .flatten();
    let scrape = metrics
        .map(|t| Scrape::parse(&t))
        .map_err(|e| errors.push(format!("/metrics: {}", short(&e))))
        .ok();
    let up = ready_ok || status.is_some() || scrape.is_some();
    let error = if !up {
        errors
            .first()
            .map(|e| e.split_once(": ").map_or(e.clone(), |x| x.1.to_string()))
    } else if !errors.is_empty() {
        Some(errors.join("; "))
    } else if !is_ready {
        ready_body.as_ref().and_then(|b| {
            let bad: Vec<String> = b
                .backends
                .iter()
                .filter(|x| !x.ok)
                .map(|x| match &x.error {
                    Some(e) => format!("{} ({}): {e}", x.name, x.kind),
                    None => format!("{} ({})", x.name, x.kind),
                })
                .collect();
            (!bad.is_empty()).then(|| format!("not ready: {}", bad.join(", ")))
        })
    } else {
        None
    };
    Probe {
        target: target.clone(),
        at: Instant::now(),
        up,
        ready: is_ready,
        ready_body,
        status,
        scrape,
        error,
    }
}

/// `/status` alone; the error in a few words.
pub async fn status(client: &reqwest::Client, target: &Target) -> Result<Status, String> {
    let base = target.url.trim_end_matches('/');
    client
        .get(format!("{base}/status"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| short(&e))?
        .json::<Status>()
        .await
        .map_err(|e| short(&e))
}

/// One pool's occupancy as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolView {
    pub name: String,
    pub kind: String,
    pub in_use: u32,
    pub max: u32,
    pub waiting: u32,
    /// Every member in use, or callers waiting.
    pub saturated: bool,
}

/// One replica row: what `status --json` prints and `top` draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicaRow {
    pub name: String,
    pub url: String,
    /// `up` (answers), `down` (does not answer).
    pub up: bool,
    pub ready: bool,
    /// ragd's own `state` from `/status`: `ok`, `degraded`, `down`.
    pub state: Option<String>,
    pub version: Option<String>,
    pub requests_per_sec: Option<f64>,
    pub error_rate: Option<f64>,
    pub p95_ms: Option<f64>,
    /// Hit ratio over the interval, or since start when idle.
    pub cache_hit_ratio: Option<f64>,
    pub in_flight: Option<u64>,
    pub pools: Vec<PoolView>,
    pub error: Option<String>,
}

impl ReplicaRow {
    /// Build the row from the latest probe and, for rates, an earlier one.
    pub fn from_probes(prev: Option<&Probe>, now: &Probe) -> ReplicaRow {
        let rates = match (
            prev.and_then(|p| p.scrape.as_ref().map(|s| (p.at, s))),
            &now.scrape,
        ) {
            (Some((t0, s0)), Some(s1)) => {
                let secs = now.at.saturating_duration_since(t0).as_secs_f64();
                (secs > 0.0).then(|| Rates::between(s0, s1, secs))
            }
            _ => None,
        };
        let cumulative_hit = now.status.as_ref().and_then(|s| {
            let (h, m) = s
                .caches
                .iter()
                .fold((0u64, 0u64), |(h, m), c| (h + c.hits, m + c.misses));
            (h + m > 0).then(|| h as f64 / (h + m) as f64)
        });
        // The pools `/status` lists (name, kind, order), with the figures
        // of `/metrics` when it has them: ragd sets those gauges from the
        // same pools on every scrape, and `top` reads `/status` less often.
        let pools = now
            .status
            .as_ref()
            .map(|s| {
                s.pools
                    .iter()
                    .map(|p| {
                        let gauges = now.scrape.as_ref().and_then(|x| x.pools.get(&p.name));
                        let gauge = |state: &str, from_status: u32| {
                            gauges
                                .and_then(|g| g.get(state))
                                .filter(|v| v.is_finite() && **v >= 0.0)
                                .map_or(from_status, |v| *v as u32)
                        };
                        let (in_use, max, waiting) = (
                            gauge("in_use", p.in_use),
                            gauge("max", p.max),
                            gauge("waiting", p.waiting),
                        );
                        PoolView {
                            name: p.name.clone(),
                            kind: p.kind.clone(),
                            in_use,
                            max,
                            waiting,
                            saturated: waiting > 0 || (max > 0 && in_use >= max),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        ReplicaRow {
            name: now.target.name.clone(),
            url: now.target.url.clone(),
            up: now.up,
            ready: now.ready,
            state: now.status.as_ref().map(|s| s.state.to_string()),
            version: now.status.as_ref().map(|s| s.version.clone()),
            requests_per_sec: rates.map(|r| r.requests_per_sec),
            // no requests in the interval: no error rate, rather than 0 %
            error_rate: rates
                .filter(|r| r.requests_per_sec > 0.0)
                .map(|r| r.error_rate),
            p95_ms: rates.and_then(|r| r.p95_secs).map(|s| s * 1000.0),
            cache_hit_ratio: rates.and_then(|r| r.cache_hit_ratio).or(cumulative_hit),
            in_flight: now
                .scrape
                .as_ref()
                .map(|s| s.in_flight.max(0.0) as u64)
                .or(now.status.as_ref().map(|s| s.requests.in_flight)),
            pools,
            error: now.error.clone(),
        }
    }
}
