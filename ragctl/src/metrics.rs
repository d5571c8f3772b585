//! ragd's `/metrics` (OpenMetrics text): parsing and rates between scrapes.
//!
//! A [`Scrape`] keeps only what the console shows: API request counters by
//! status class, the API latency histogram summed over routes, cache
//! counters, in-flight requests and pool gauges. Operations routes
//! (`/health`, `/ready`, `/metrics`, `/status`) are left out of request
//! counts and latency so the console's own polling does not dilute them.
//! [`Rates::between`] turns two scrapes into req/s, error rate, P95 and cache
//! hit ratio, the way Prometheus' `rate()` and `histogram_quantile()` would.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Routes that are the console's own traffic, not the service's.
const OPS_ROUTES: [&str; 4] = ["/health", "/ready", "/metrics", "/status"];

/// The parts of one `/metrics` answer that the console uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scrape {
    /// API requests since start (all statuses).
    pub requests: f64,
    /// API requests answered with a 5xx status since start.
    pub errors_5xx: f64,
    /// Cumulative latency buckets `(le, count)` summed over API routes,
    /// sorted by `le`; the last is `+Inf`.
    pub buckets: Vec<(f64, f64)>,
    pub cache_hits: f64,
    pub cache_misses: f64,
    pub in_flight: f64,
    /// `ragd_pool_connections{pool,state}`: pool → state → value, with the
    /// limit `ragd_pool_max_connections{pool}` as state `max`.
    pub pools: BTreeMap<String, BTreeMap<String, f64>>,
}

/// One sample line: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse OpenMetrics / Prometheus text. Comment lines, blank lines and lines
/// that do not parse are skipped, never fatal.
pub fn parse_samples(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if rest.starts_with('{') {
        let mut chars = rest.char_indices().skip(1).peekable();
        let mut key = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '}' => {
                    end = Some(i);
                    break;
                }
                ',' | ' ' => {}
                '=' => {
                    // value in quotes, with \" \\ \n escapes
                    let (_, q) = chars.next()?;
                    if q != '"' {
                        return None;
                    }
                    let mut val = String::new();
                    loop {
                        let (_, c) = chars.next()?;
                        match c {
                            '\\' => {
                                let (_, e) = chars.next()?;
                                val.push(if e == 'n' { '\n' } else { e });
                            }
                            '"' => break,
                            c => val.push(c),
                        }
                    }
                    labels.push((std::mem::take(&mut key), val));
                }
                c => key.push(c),
            }
        }
        rest = &rest[end? + 1..];
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name,
        labels,
        value,
    })
}

fn is_api_route(s: &Sample) -> bool {
    s.label("route").is_none_or(|r| !OPS_ROUTES.contains(&r))
}

impl Scrape {
    /// Build the summary from `/metrics` text.
    pub fn parse(text: &str) -> Scrape {
        let mut s = Scrape::default();
        let mut buckets: Vec<(f64, f64)> = Vec::new();
        for m in parse_samples(text) {
            if !m.value.is_finite() && m.name != "ragd_http_request_duration_seconds_bucket" {
                continue;
            }
            match m.name.as_str() {
                "ragd_http_requests_total" if is_api_route(&m) => {
                    s.requests += m.value;
                    if m.label("status").is_some_and(|c| c.starts_with('5')) {
                        s.errors_5xx += m.value;
                    }
                }
                "ragd_http_request_duration_seconds_bucket" if is_api_route(&m) => {
                    let Some(le) = m.label("le").and_then(parse_le) else {
                        continue;
                    };
                    if !m.value.is_finite() {
                        continue;
                    }
                    match buckets.iter_mut().find(|(b, _)| *b == le) {
                        Some((_, c)) => *c += m.value,
                        None => buckets.push((le, m.value)),
                    }
                }
                "ragd_query_cache_hits_total" => s.cache_hits += m.value,
                "ragd_query_cache_misses_total" => s.cache_misses += m.value,
                "ragd_http_requests_in_flight" => s.in_flight += m.value,
                "ragd_pool_connections" => {
                    if let (Some(p), Some(st)) = (m.label("pool"), m.label("state")) {
                        *s.pools
                            .entry(p.to_string())
                            .or_default()
                            .entry(st.to_string())
                            .or_default() += m.value;
                    }
                }
                "ragd_pool_max_connections" => {
                    if let Some(p) = m.label("pool") {
                        *s.pools
                            .entry(p.to_string())
                            .or_default()
                            .entry("max".to_string())
                            .or_default() += m.value;
                    }
                }
                _ => {}
            }
        }
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        s.buckets = buckets;
        s
    }
}

fn parse_le(v: &str) -> Option<f64> {
    match v {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        v => v.parse().ok().filter(|x: &f64| !x.is_nan()),
    }
}

/// `histogram_quantile(q, buckets)` over cumulative `(le, count)` buckets
/// sorted by `le`: linear interpolation inside the bucket holding the rank;
/// a rank in the `+Inf` bucket answers the highest finite bound. `None` when
/// there were no observations.
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total;
    let mut prev_le = 0.0;
    let mut prev_count = 0.0;
    for &(le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(prev_le);
            }
            let in_bucket = count - prev_count;
            if in_bucket <= 0.0 {
                return Some(le);
            }
            return Some(prev_le + (le - prev_le) * (rank - prev_count) / in_bucket);
        }
        prev_le = le;
        prev_count = count;
    }
    Some(prev_le)
}

/// What changed between two scrapes of one replica.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub requests_per_sec: f64,
    /// 5xx / all API requests in the interval (0 when there were none).
    pub error_rate: f64,
    /// P95 of API requests in the interval, seconds; `None` without requests.
    pub p95_secs: Option<f64>,
    /// Cache hits / lookups in the interval; `None` without lookups.
    pub cache_hit_ratio: Option<f64>,
}

impl Rates {
    /// Rates from `prev` to `now`, `secs` apart. Counters that went backwards
    /// (a restart) count from zero, as Prometheus does.
    pub fn between(prev: &Scrape, now: &Scrape, secs: f64) -> Rates {
        let d = |a: f64, b: f64| if b >= a { b - a } else { b };
        let reqs = d(prev.requests, now.requests);
        let errs = d(prev.errors_5xx, now.errors_5xx);
        let restarted = now.requests < prev.requests;
        let buckets: Vec<(f64, f64)> = now
            .buckets
            .iter()
            .map(|&(le, c)| {
                let p = if restarted {
                    0.0
                } else {
                    prev.buckets
                        .iter()
                        .find(|(l, _)| *l == le)
                        .map_or(0.0, |x| x.1)
                };
                (le, d(p, c))
            })
            .collect();
        let hits = d(prev.cache_hits, now.cache_hits);
        let misses = d(prev.cache_misses, now.cache_misses);
        Rates {
            requests_per_sec: if secs > 0.0 { reqs / secs } else { 0.0 },
            error_rate: if reqs > 0.0 {
                (errs / reqs).min(1.0)
            } else {
                0.0
            },
            p95_secs: quantile(0.95, &buckets),
            cache_hit_ratio: if hits + misses > 0.0 {
                Some(hits / (hits + misses))
            } else {
                None
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP ragd_http_requests HTTP requests by route and status
# TYPE ragd_http_requests counter
ragd_http_requests_total{method="POST",route="/v1/collections/{name}/query",status="200"} 90
ragd_http_requests_total{method="POST",route="/v1/collections/{name}/query",status="503"} 10
ragd_http_requests_total{method="GET",route="/status",status="200"} 1000
ragd_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/v1/collections/{name}/query"} 50
ragd_http_request_duration_seconds_bucket{le="0.3",method="POST",route="/v1/collections/{name}/query"} 100
ragd_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/collections/{name}/query"} 100
ragd_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/status"} 1000
ragd_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/status"} 1000
ragd_query_cache_hits_total 30
ragd_query_cache_misses_total 70
ragd_http_requests_in_flight 3
ragd_pool_connections{pool="metadata",state="in_use"} 2
ragd_pool_max_connections{pool="metadata"} 8
garbage line here
# EOF
"#;

    #[test]
    fn parses_and_ignores_ops_routes() {
        let s = Scrape::parse(TEXT);
        assert_eq!(s.requests, 100.0);
        assert_eq!(s.errors_5xx, 10.0);
        assert_eq!(
            s.buckets,
            vec![(0.1, 50.0), (0.3, 100.0), (f64::INFINITY, 100.0)]
        );
        assert_eq!(s.in_flight, 3.0);
        assert_eq!(s.pools["metadata"]["max"], 8.0);
    }

    #[test]
    fn rates_between_scrapes() {
        let prev = Scrape::default();
        let now = Scrape::parse(TEXT);
        let r = Rates::between(&prev, &now, 10.0);
        assert_eq!(r.requests_per_sec, 10.0);
        assert!((r.error_rate - 0.1).abs() < 1e-12);
        // rank 95 of 100: in (0.1, 0.3], 45 of 50 along
        assert!((r.p95_secs.unwrap() - 0.28).abs() < 1e-9);
        assert_eq!(r.cache_hit_ratio, Some(0.3));
        let idle = Rates::between(&now, &now, 1.0);
        assert_eq!(idle.p95_secs, None);
        assert_eq!(idle.cache_hit_ratio, None);
    }

    #[test]
    fn quantile_edge_cases() {
        assert_eq!(quantile(0.95, &[]), None);
        assert_eq!(quantile(0.95, &[(f64::INFINITY, 0.0)]), None);
        assert_eq!(
            quantile(0.95, &[(1.0, 0.0), (f64::INFINITY, 5.0)]),
            Some(1.0)
        );
    }
}
