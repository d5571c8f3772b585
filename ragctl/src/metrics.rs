//! ragd's `/metrics` (OpenMetrics text): parsing and rates between scrapes.
//!
//! A [`Scrape`] keeps only what the console shows: API request counters by
//! status class, the API latency histogram summed over routes, cache
//! counters, in-flight requests and pool gauges. Operations routes
//! (`/health`, `/ready`, `/metrics`, `/status`) are left out of request
//! counts and latency so the console's own polling does not dilute them.
//! [`Rates::between`] turns two scrapes into req/s, error rate, P95 and cache
//! hit ratio, the way Prometheus' `rate()` and `histogram_quantile()` would.

use std::borrow::Cow;
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
    text.lines()
        .filter_map(|line| {
            let l = split_line(line)?;
            let mut labels = Vec::new();
            for kv in Labels(l.labels) {
                let (k, v) = kv.ok()?;
                labels.push((k.to_string(), v.into_owned()));
            }
            Some(Sample {
                name: l.name.to_string(),
                labels,
                value: l.value,
            })
        })
        .collect()
}

/// One sample line, borrowed: the name, the text between the label
/// braces (empty without labels) and the value.
struct Line<'a> {
    name: &'a str,
    labels: &'a str,
    value: f64,
}

/// Cut a line into name, labels and value without copying anything; the
/// labels are read only for the series the console keeps.
fn split_line(line: &str) -> Option<Line<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = "";
    if let Some(inner) = rest.strip_prefix('{') {
        let end = labels_end(inner)?;
        labels = &inner[..end];
        rest = &inner[end + 1..];
    }
    let value = match rest.split_whitespace().next()? {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Line {
        name,
        labels,
        value,
    })
}

/// Where the label block's closing brace is in `s` (the text after `{`):
/// braces inside quoted values (`route="/v1/collections/{name}"`) do not
/// count.
fn labels_end(s: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// The `key="value"` pairs of a label block, values unescaped (`\"`,
/// `\\`, `\n`) only when they hold an escape. `Err` ends a block that
/// does not parse.
struct Labels<'a>(&'a str);

impl<'a> Iterator for Labels<'a> {
    type Item = Result<(&'a str, Cow<'a, str>), ()>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.0.trim_start_matches([',', ' ']);
        if s.is_empty() {
            return None;
        }
        // A trailing word without `=` is no label (as before: ignored).
        let Some((key, rest)) = s.split_once('=') else {
            self.0 = "";
            return None;
        };
        let Some(rest) = rest.strip_prefix('"') else {
            self.0 = "";
            return Some(Err(()));
        };
        let mut escaped = false;
        let mut has_escape = false;
        let mut close = None;
        for (i, b) in rest.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' => {
                    escaped = true;
                    has_escape = true;
                }
                b'"' => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            self.0 = "";
            return Some(Err(()));
        };
        let raw = &rest[..close];
        self.0 = &rest[close + 1..];
        let value = if has_escape {
            let mut v = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('n') => v.push('\n'),
                        Some(e) => v.push(e),
                        None => {}
                    }
                } else {
                    v.push(c);
                }
            }
            Cow::Owned(v)
        } else {
            Cow::Borrowed(raw)
        };
        Some(Ok((key.trim(), value)))
    }
}

/// The labels the summary reads, taken in one pass over a label block
/// (the first of a repeated key counts). `None` when the block does not
/// parse: the line is skipped.
#[derive(Default)]
struct Picked<'a> {
    route: Option<Cow<'a, str>>,
    status: Option<Cow<'a, str>>,
    le: Option<Cow<'a, str>>,
    pool: Option<Cow<'a, str>>,
    state: Option<Cow<'a, str>>,
}

impl<'a> Picked<'a> {
    fn from(labels: &'a str) -> Option<Picked<'a>> {
        let mut p = Picked::default();
        for kv in Labels(labels) {
            let (k, v) = kv.ok()?;
            let slot = match k {
                "route" => &mut p.route,
                "status" => &mut p.status,
                "le" => &mut p.le,
                "pool" => &mut p.pool,
                "state" => &mut p.state,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(v);
            }
        }
        Some(p)
    }

    /// Not one of the operations routes (the console's own polling).
    fn api_route(&self) -> bool {
        self.route
            .as_deref()
            .is_none_or(|r| !OPS_ROUTES.contains(&r))
    }
}

impl Scrape {
    /// Build the summary from `/metrics` text. Only the lines of the series
    /// kept are looked into (a ragd answer has some 140 samples, most of
    /// them other histograms), each label block is read once, and nothing
    /// is copied but pool names.
    pub fn parse(text: &str) -> Scrape {
        const KEPT: [&str; 5] = [
            "ragd_http_request",
            "ragd_query_cache_hits_total",
            "ragd_query_cache_misses_total",
            "ragd_pool_connections",
            "ragd_pool_max_connections",
        ];
        let mut s = Scrape::default();
        let mut buckets: Vec<(f64, f64)> = Vec::new();
        for line in text.lines() {
            let t = line.trim_start();
            if !KEPT.iter().any(|k| t.starts_with(k)) {
                continue;
            }
            let Some(m) = split_line(t) else {
                continue;
            };
            let Some(l) = Picked::from(m.labels) else {
                continue;
            };
            if !m.value.is_finite() && m.name != "ragd_http_request_duration_seconds_bucket" {
                continue;
            }
            match m.name {
                "ragd_http_requests_total" if l.api_route() => {
                    s.requests += m.value;
                    if l.status.is_some_and(|c| c.starts_with('5')) {
                        s.errors_5xx += m.value;
                    }
                }
                "ragd_http_request_duration_seconds_bucket" if l.api_route() => {
                    let Some(le) = l.le.and_then(|v| parse_le(&v)) else {
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
                    if let (Some(p), Some(st)) = (l.pool, l.state) {
                        *pool_entry(&mut s.pools, &p, &st) += m.value;
                    }
                }
                "ragd_pool_max_connections" => {
                    if let Some(p) = l.pool {
                        *pool_entry(&mut s.pools, &p, "max") += m.value;
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

/// `pools[pool][state]`, created at 0 the first time only.
fn pool_entry<'m>(
    pools: &'m mut BTreeMap<String, BTreeMap<String, f64>>,
    pool: &str,
    state: &str,
) -> &'m mut f64 {
    if !pools.contains_key(pool) {
        pools.insert(pool.to_string(), BTreeMap::new());
    }
    let states = pools.get_mut(pool).expect("inserted above");
    if !states.contains_key(state) {
        states.insert(state.to_string(), 0.0);
    }
    states.get_mut(state).expect("inserted above")
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
    fn labels_with_braces_escapes_and_odd_lines() {
        let text = "x{route=\"/v1/c/{name}/q\",msg=\"a \\\"b\\\" \\\\ c\\nd\"} 3\n\
                    y 4 1700000000\n\
                    z{a=\"1\",junk} 5\n\
                    broken{a=\"1} 6\n\
                    nolabel{a=1} 7\n";
        let s = parse_samples(text);
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!(s[0].label("route"), Some("/v1/c/{name}/q"));
        assert_eq!(s[0].label("msg"), Some("a \"b\" \\ c\nd"));
        assert_eq!(s[0].value, 3.0);
        assert_eq!((s[1].name.as_str(), s[1].value), ("y", 4.0));
        assert_eq!(s[2].labels, vec![("a".to_string(), "1".to_string())]);
        // The summary reads the same lines the general parser does.
        let scrape = Scrape::parse(
            "ragd_pool_connections{pool=\"meta\\\"data\",state=\"in_use\"} 2\n\
             ragd_pool_connections{pool=\"meta\\\"data\",state=\"in_use\"} 1\n\
             ragd_pool_max_connections{pool=\"broken} 9\n",
        );
        assert_eq!(scrape.pools["meta\"data"]["in_use"], 3.0);
        assert_eq!(scrape.pools.len(), 1);
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
