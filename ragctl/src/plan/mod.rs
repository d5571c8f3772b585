//! `ragctl plan`: from load-test measurements to a capacity plan.
//!
//! 1. Read `(concurrency, throughput[, p95])` points (JSON written by
//!    `ragctl plan sweep`, or CSV `concurrency,throughput[,p95_ms]`).
//! 2. Fit the USL ([`crate::usl`]): σ, κ, λ, peak concurrency and throughput.
//! 3. Per replica, the operating point is the highest concurrency whose
//!    predicted P95 stays under the target: mean latency R(n) = n / X(n)
//!    (Little's law on the fitted curve) times the measured P95/mean ratio
//!    at that concurrency (interpolated between measured steps), never past
//!    the peak.
//! 4. For N users with think time Z, the interactive response-time law gives
//!    the demand X = N / (Z + R); replicas = ⌈X (1 + headroom) / X(n)⌉, and
//!    connections by Little's law L = X × hold time (a connection held for the
//!    whole request unless `--db-hold-ms` / `--redis-hold-ms` say otherwise).
//!
//! [`sweep`] measures the points: closed-loop clients at each concurrency
//! level against a ragd query endpoint.
//!
//! Over replicas instead of concurrency: [`replicas`] scales the service to
//! each count through the Docker API, saturates it and fits the same law
//! with N = replicas; [`svg`] draws that plan (SVG, HTML, terminal).

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::usl::{self, Fit, Usl};

pub mod replicas;
pub mod svg;

/// One load step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Concurrent clients (closed loop) during the step.
    pub concurrency: f64,
    /// Successful requests per second.
    pub throughput: f64,
    /// Measured 95th percentile latency in ms, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PointsFile {
    List(Vec<Point>),
    Wrapped { points: Vec<Point> },
}

/// Read and concatenate the points of several files.
pub fn read_all(paths: &[std::path::PathBuf]) -> Result<Vec<Point>, Error> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(read_points(p)?);
    }
    Ok(out)
}

/// Read points from JSON (a list, `{"points": [...]}`, or a loadgen report)
/// or CSV.
pub fn read_points(path: &Path) -> Result<Vec<Point>, Error> {
    let file_err = |reason: String| Error::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    parse_points(&text).map_err(file_err)
}

/// Parse points from JSON or CSV text.
pub fn parse_points(text: &str) -> Result<Vec<Point>, String> {
    let t = text.trim_start();
    if t.starts_with('{')
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(t)
        && v.get("schema")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|s| s.starts_with("loadgen-report/"))
    {
        return loadgen_points(&v);
    }
    if t.starts_with('[') || t.starts_with('{') {
        return match serde_json::from_str::<PointsFile>(t) {
            Ok(PointsFile::List(p)) | Ok(PointsFile::Wrapped { points: p }) => Ok(p),
            Err(e) => Err(format!(
                "not a list of {{\"concurrency\", \"throughput\", \"p95_ms\"}} points: {e}"
            )),
        };
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let num = |k: usize| f.get(k).and_then(|v| v.parse::<f64>().ok());
        match (num(0), num(1)) {
            (Some(n), Some(x)) => out.push(Point {
                concurrency: n,
                throughput: x,
                p95_ms: num(2),
                errors: None,
            }),
            _ if i == 0 => continue, // header
            _ => {
                return Err(format!(
                    "line {}: expected concurrency,throughput[,p95_ms], got `{line}`",
                    i + 1
                ));
            }
        }
    }
    Ok(out)
}

/// Points from a loadgen JSON report (`loadgen-report/1`): one per stage
/// that held its load steady (`load_from == load_to`) and completed
/// requests. Concurrency is the mean number of requests in flight by
/// Little's law, N = X × R (stage req/s × mean latency), which is the user
/// count when users do not think; throughput is the stage's req/s and P95
/// its `latency_ms.p95`.
pub fn loadgen_points(v: &serde_json::Value) -> Result<Vec<Point>, String> {
    let stages = v
        .get("stages")
        .and_then(serde_json::Value::as_array)
        .ok_or("loadgen report without `stages`")?;
    let f = |s: &serde_json::Value, p: &str| s.pointer(p).and_then(serde_json::Value::as_f64);
    let mut out = Vec::new();
    for s in stages {
        let (Some(from), Some(to), Some(rps)) =
            (f(s, "/load_from"), f(s, "/load_to"), f(s, "/rps"))
        else {
            continue;
        };
        if from != to || rps <= 0.0 || f(s, "/ok").unwrap_or(1.0) <= 0.0 {
            continue;
        }
        let concurrency = match f(s, "/latency_ms/mean") {
            Some(mean) if mean > 0.0 => rps * mean / 1000.0,
            _ => to,
        };
        out.push(Point {
            concurrency,
            throughput: rps,
            p95_ms: f(s, "/latency_ms/p95"),
            errors: s.get("failed").and_then(serde_json::Value::as_u64),
        });
    }
    Ok(out)
}

/// The capacity question.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Question {
    pub users: f64,
    /// Seconds a user waits between requests.
    pub think_time_s: f64,
    pub p95_target_ms: f64,
    /// Fraction of spare capacity, e.g. 0.2.
    pub headroom: f64,
    /// How long a request holds a DB connection; `None`: the whole request.
    pub db_hold_ms: Option<f64>,
    pub redis_hold_ms: Option<f64>,
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct Capacity {
    /// Concurrency per replica at the operating point.
    pub per_replica_concurrency: f64,
    pub per_replica_throughput: f64,
    pub mean_latency_ms: f64,
    pub predicted_p95_ms: f64,
    /// Whether the P95 came from measured P95/mean ratios or an assumption.
    pub p95_basis: String,
    pub demand_rps: f64,
    pub replicas: u64,
    pub db_connections_per_replica: u64,
    pub db_connections_total: u64,
    pub redis_connections_per_replica: u64,
    pub redis_connections_total: u64,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    pub points: Vec<Point>,
    pub fit: Fit,
    pub peak_concurrency: f64,
    pub peak_throughput: f64,
    /// `contention` (σ dominates), `coherency` (κ dominates) or `linear`.
    pub constraint: String,
    pub question: Option<Question>,
    pub capacity: Option<Capacity>,
}

/// P95/mean ratio at concurrency `n`, interpolated from measured steps.
fn p95_ratio(points: &[Point], n: f64) -> Option<f64> {
    let mut r: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| {
            let mean_ms = p.concurrency / p.throughput * 1000.0;
            let ratio = p.p95_ms? / mean_ms;
            (ratio.is_finite() && ratio > 0.0).then_some((p.concurrency, ratio.max(1.0)))
        })
        .collect();
    if r.is_empty() {
        return None;
    }
    r.sort_by(|a, b| a.0.total_cmp(&b.0));
    if n <= r[0].0 {
        return Some(r[0].1);
    }
    for w in r.windows(2) {
        let ((n0, r0), (n1, r1)) = (w[0], w[1]);
        if n <= n1 {
            return Some(if n1 > n0 {
                r0 + (r1 - r0) * (n - n0) / (n1 - n0)
            } else {
                r1
            });
        }
    }
    r.last().map(|x| x.1)
}

/// Ratio assumed when no step reports a P95.
pub const ASSUMED_P95_RATIO: f64 = 2.0;

/// Answer the capacity question with a fitted model.
pub fn capacity(m: &Usl, points: &[Point], q: &Question) -> Result<Capacity, Error> {
    let measured = points.iter().any(|p| p.p95_ms.is_some());
    let p95 = |n: f64| m.latency(n) * 1000.0 * p95_ratio(points, n).unwrap_or(ASSUMED_P95_RATIO);
    if p95(1.0) > q.p95_target_ms {
        return Err(Error::Plan(format!(
            "a P95 under {} ms is out of reach: even one request at a time is predicted at {:.0} ms",
            q.p95_target_ms,
            p95(1.0)
        )));
    }
    let cap = m.peak_concurrency().min(1e6);
    // Largest n in [1, cap] with p95(n) <= target, by bisection (p95 grows with n).
    let (mut lo, mut hi) = (1.0_f64, cap.max(1.0));
    if p95(hi) <= q.p95_target_ms {
        lo = hi;
    } else {
        for _ in 0..100 {
            let mid = (lo + hi) / 2.0;
            if p95(mid) <= q.p95_target_ms {
                lo = mid;
            } else {
                hi = mid;
            }
        }
    }
    let n = lo.floor().max(1.0);
    let x = m.throughput(n);
    let r = m.latency(n);
    let demand = q.users / (q.think_time_s + r);
    let replicas = ((demand * (1.0 + q.headroom)) / x).ceil().max(1.0);
    let per_replica_rps = demand / replicas;
    let conns = |hold_ms: Option<f64>| {
        let per = match hold_ms {
            Some(h) => per_replica_rps * h / 1000.0,
            None => per_replica_rps * r,
        };
        (per * (1.0 + q.headroom)).ceil().max(1.0) as u64
    };
    let db = conns(q.db_hold_ms);
    let redis = conns(q.redis_hold_ms);
    Ok(Capacity {
        per_replica_concurrency: n,
        per_replica_throughput: x,
        mean_latency_ms: r * 1000.0,
        predicted_p95_ms: p95(n),
        p95_basis: if measured {
            "measured P95/mean ratio per step".into()
        } else {
            format!("assumed P95 = {ASSUMED_P95_RATIO} x mean (no step reported a P95)")
        },
        demand_rps: demand,
        replicas: replicas as u64,
        db_connections_per_replica: db,
        db_connections_total: db * replicas as u64,
        redis_connections_per_replica: redis,
        redis_connections_total: redis * replicas as u64,
    })
}

/// Fit and, if asked, size.
pub fn build(points: Vec<Point>, question: Option<Question>) -> Result<PlanReport, Error> {
    let xy: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.concurrency, p.throughput))
        .collect();
    let fit = usl::fit(&xy)?;
    let m = fit.model;
    let capacity = question.map(|q| capacity(&m, &points, &q)).transpose()?;
    Ok(PlanReport {
        peak_concurrency: m.peak_concurrency(),
        peak_throughput: m.peak_throughput(),
        constraint: if m.sigma == 0.0 && m.kappa == 0.0 {
            "linear".into()
        } else if m.sigma >= m.kappa {
            "contention".into()
        } else {
            "coherency".into()
        },
        points,
        fit,
        question,
        capacity,
    })
}

fn num(v: f64) -> String {
    if !v.is_finite() {
        "unbounded".into()
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// The table of measured against fitted throughput.
fn rows(r: &PlanReport) -> Vec<Vec<String>> {
    let m = r.fit.model;
    let mut rows = vec![
        ["N", "measured X", "fitted X", "error", "P95 ms"]
            .map(String::from)
            .to_vec(),
    ];
    for p in &r.points {
        let f = m.throughput(p.concurrency);
        rows.push(vec![
            num(p.concurrency),
            num(p.throughput),
            num(f),
            if p.throughput > 0.0 {
                format!("{:+.1}%", (f - p.throughput) / p.throughput * 100.0)
            } else {
                "-".into()
            },
            p.p95_ms.map(num).unwrap_or_else(|| "-".into()),
        ]);
    }
    rows
}

fn model_line(r: &PlanReport) -> String {
    let m = r.fit.model;
    format!(
        "USL fit ({} points, R² {:.4}): σ={:.6} κ={:.6e} λ={:.4} req/s",
        r.points.len(),
        r.fit.r_squared,
        m.sigma,
        m.kappa,
        m.lambda
    )
}

fn peak_line(r: &PlanReport) -> String {
    format!(
        "peak: {} concurrent requests, {} req/s ({}-constrained)",
        num(r.peak_concurrency),
        num(r.peak_throughput),
        r.constraint
    )
}

/// A character grid for the terminal charts: `y` from 0 (bottom) to
/// `max_y` (top row), `n` from 0 (left) to `max_n`.
pub(crate) struct Canvas {
    pub grid: Vec<Vec<char>>,
    pub width: usize,
    pub height: usize,
    max_n: f64,
    max_y: f64,
}

impl Canvas {
    pub fn new(width: usize, height: usize, max_n: f64, max_y: f64) -> Canvas {
        Canvas {
            grid: vec![vec![' '; width]; height],
            width,
            height,
            max_n,
            max_y,
        }
    }

    /// Rows up from the bottom for `y`.
    pub fn row_of(&self, y: f64) -> usize {
        ((y / self.max_y * (self.height as f64 - 1.0)).round() as usize).min(self.height - 1)
    }

    pub fn col_of(&self, n: f64) -> usize {
        ((n / self.max_n * (self.width as f64 - 1.0)).round() as usize).min(self.width - 1)
    }

    /// The `n` at the middle of column `col`.
    pub fn n_at(&self, col: usize) -> f64 {
        (col as f64 + 0.5) / self.width as f64 * self.max_n
    }

    pub fn put(&mut self, n: f64, y: f64, ch: char) {
        self.put_in_column(self.col_of(n), y, ch);
    }

    pub fn put_in_column(&mut self, col: usize, y: f64, ch: char) {
        let row = self.height - 1 - self.row_of(y);
        self.grid[row][col] = ch;
    }

    /// The grid with its y axis (`top` at the top row, 0 at the bottom) and
    /// the x axis line.
    pub fn rows(&self, top: &str) -> String {
        let mut out = String::new();
        for (i, line) in self.grid.iter().enumerate() {
            let label = match i {
                0 => top,
                i if i == self.height - 1 => "0",
                _ => "",
            };
            let _ = writeln!(
                out,
                "{label:>8} |{}",
                line.iter().collect::<String>().trim_end()
            );
        }
        let _ = writeln!(out, "{:>8} +{}", "", "-".repeat(self.width));
        out
    }
}

/// Terminal chart: `*` fitted curve, `X` measured, `@` peak.
pub fn chart(r: &PlanReport, width: usize, height: usize) -> String {
    let m = r.fit.model;
    let max_n_meas = r.points.iter().map(|p| p.concurrency).fold(1.0, f64::max);
    let peak_n = r.peak_concurrency;
    let max_n = if peak_n.is_finite() {
        max_n_meas.max(peak_n * 1.2)
    } else {
        max_n_meas
    } * 1.05;
    let max_x = r
        .points
        .iter()
        .map(|p| p.throughput)
        .chain((0..width).map(|c| m.throughput((c as f64 + 1.0) / width as f64 * max_n)))
        .fold(1.0, f64::max)
        * 1.1;
    let mut c = Canvas::new(width, height, max_n, max_x);
    for col in 0..width {
        let y = m.throughput(c.n_at(col));
        c.put_in_column(col, y, '*');
    }
    for p in &r.points {
        c.put(p.concurrency, p.throughput, 'X');
    }
    if peak_n.is_finite() && peak_n <= max_n {
        c.put(peak_n, r.peak_throughput, '@');
    }
    let mut out = c.rows(&num(max_x));
    let _ = writeln!(
        out,
        "{:>8}  0{:>w$}",
        "",
        format!("N = {}", num(max_n)),
        w = width - 1
    );
    let _ = writeln!(out, "{:>8}  * fitted   X measured   @ peak", "");
    out
}

fn capacity_lines(q: &Question, c: &Capacity) -> Vec<String> {
    let hold = |h: Option<f64>| match h {
        Some(ms) => format!("held {ms} ms per request"),
        None => "upper bound: one per in-flight request".into(),
    };
    vec![
        format!(
            "capacity for {} users, think time {} s, P95 < {} ms, headroom {:.0}%:",
            num(q.users),
            q.think_time_s,
            q.p95_target_ms,
            q.headroom * 100.0
        ),
        format!(
            "  per replica: {} concurrent requests -> {} req/s, mean {:.1} ms, P95 ≈ {:.1} ms ({})",
            num(c.per_replica_concurrency),
            num(c.per_replica_throughput),
            c.mean_latency_ms,
            c.predicted_p95_ms,
            c.p95_basis
        ),
        format!(
            "  demand: {} req/s (Little: N / (Z + R))",
            num(c.demand_rps)
        ),
        format!("  ragd replicas:     {}", c.replicas),
        format!(
            "  DB connections:    {} per replica, {} total ({})",
            c.db_connections_per_replica,
            c.db_connections_total,
            hold(q.db_hold_ms)
        ),
        format!(
            "  Redis connections: {} per replica, {} total ({})",
            c.redis_connections_per_replica,
            c.redis_connections_total,
            hold(q.redis_hold_ms)
        ),
    ]
}

/// Table, chart and sizing for a terminal.
pub fn text(r: &PlanReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", model_line(r));
    let _ = writeln!(out, "{}\n", peak_line(r));
    out += &crate::report::table(&rows(r));
    out.push('\n');
    out += &chart(r, 60, 16);
    if let (Some(q), Some(c)) = (&r.question, &r.capacity) {
        out.push('\n');
        for l in capacity_lines(q, c) {
            let _ = writeln!(out, "{l}");
        }
    }
    out
}

/// The same as Markdown, for incident notes and docs.
pub fn markdown(r: &PlanReport) -> String {
    let mut out = String::from("## Capacity plan\n\n");
    let _ = writeln!(out, "{}  \n{}\n", model_line(r), peak_line(r));
    let rows = rows(r);
    let _ = writeln!(out, "| {} |", rows[0].join(" | "));
    let _ = writeln!(out, "|{}", "---:|".repeat(rows[0].len()));
    for row in &rows[1..] {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    let _ = writeln!(out, "\n```\n{}```", chart(r, 60, 16));
    if let (Some(q), Some(c)) = (&r.question, &r.capacity) {
        out.push('\n');
        for l in capacity_lines(q, c) {
            let _ = writeln!(
                out,
                "{}",
                if l.starts_with("  ") {
                    format!("- {}", l.trim())
                } else {
                    format!("**{l}**\n")
                }
            );
        }
    }
    out
}

/// A query with the server's defaults for everything but the question and,
/// if given, the retrieval mode (built through serde so fields added to the
/// API type keep their defaults).
fn query_body(
    question: &str,
    mode: Option<ragd_api::RetrievalMode>,
) -> Result<ragd_api::QueryRequest, Error> {
    let mut q: ragd_api::QueryRequest =
        serde_json::from_value(serde_json::json!({ "question": question }))
            .map_err(|e| Error::Usage(format!("cannot build a query request: {e}")))?;
    q.mode = mode;
    Ok(q)
}

/// The queries a sweep sends.
#[derive(Debug, Clone)]
pub struct Load {
    pub collection: String,
    /// Questions asked in turn (at least one).
    pub questions: Vec<String>,
    /// Make every question distinct so the cache does not answer.
    pub unique: bool,
    /// Retrieval mode; the server's default when `None`.
    pub mode: Option<ragd_api::RetrievalMode>,
}

impl Load {
    fn first_question(&self) -> &str {
        self.questions.first().map_or("", String::as_str)
    }

    fn url(&self, base: &str) -> String {
        format!(
            "{}/v1/collections/{}/query",
            base.trim_end_matches('/'),
            self.collection
        )
    }
}

/// What a sweep measures.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub target: String,
    pub load: Load,
    pub levels: Vec<u32>,
    pub step: Duration,
}

/// One measured step of closed-loop load.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub throughput: f64,
    pub p95_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub errors: u64,
}

/// The HTTP client of the sweeps (no proxy, enough idle connections).
pub(crate) fn http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .pool_max_idle_per_host(1024)
        .build()
        .map_err(|e| Error::Usage(e.to_string()))
}

/// One query, failing fast with what the server said (a wrong target or
/// collection shows here, not as a sweep of errors).
pub(crate) async fn probe(client: &reqwest::Client, base: &str, load: &Load) -> Result<(), Error> {
    let url = load.url(base);
    let probe = client
        .post(&url)
        .json(&query_body(load.first_question(), load.mode)?)
        .send()
        .await
        .map_err(|e| Error::Usage(format!("{url}: {e}")))?;
    if !probe.status().is_success() {
        let code = probe.status();
        let body = probe.text().await.unwrap_or_default();
        return Err(Error::Usage(format!("{url} answered {code}: {body}")));
    }
    Ok(())
}

/// `clients` closed-loop clients send queries back to back for `step`,
/// client `i` to `bases[i % bases.len()]` (several bases: the load spread
/// evenly over replicas without a load balancer). Throughput counts
/// successful answers; latency goes into an HDR histogram.
pub(crate) async fn measure(
    client: &reqwest::Client,
    bases: &[String],
    load: &Load,
    clients: u32,
    step: Duration,
    counter: &Arc<std::sync::atomic::AtomicU64>,
) -> Measured {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients.max(1) as usize)
        .map(|i| {
            let client = client.clone();
            let url = load.url(&bases[i % bases.len().max(1)]);
            let stop = stop.clone();
            let counter = counter.clone();
            let load = load.clone();
            tokio::spawn(async move {
                let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
                let mut errors = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let k = counter.fetch_add(1, Ordering::Relaxed);
                    let q = &load.questions[k as usize % load.questions.len().max(1)];
                    let question = if load.unique {
                        format!("{q} #{k}")
                    } else {
                        q.clone()
                    };
                    let Ok(body) = query_body(&question, load.mode) else {
                        errors += 1;
                        break;
                    };
                    let t0 = Instant::now();
                    let ok = client
                        .post(&url)
                        .json(&body)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if ok {
                        let _ = h.record((t0.elapsed().as_micros() as u64).max(1));
                    } else {
                        errors += 1;
                    }
                }
                (h, errors)
            })
        })
        .collect();
    tokio::time::sleep(step).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
    let mut errors = 0;
    for w in workers {
        if let Ok((h, e)) = w.await {
            let _ = all.add(&h);
            errors += e;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    Measured {
        throughput: all.len() as f64 / secs,
        p95_ms: (!all.is_empty()).then(|| all.value_at_quantile(0.95) as f64 / 1000.0),
        mean_ms: (!all.is_empty()).then(|| all.mean() / 1000.0),
        errors,
    }
}

/// Closed-loop sweep over concurrency levels against one ragd (or a load
/// balancer): at each level, that many clients for `step`. `progress` is
/// told about each finished step.
pub async fn sweep(s: &Sweep, mut progress: impl FnMut(&Point)) -> Result<Vec<Point>, Error> {
    let client = http_client()?;
    probe(&client, &s.target, &s.load).await?;
    let mut points = Vec::new();
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let bases = [s.target.clone()];
    for &level in &s.levels {
        let m = measure(&client, &bases, &s.load, level, s.step, &counter).await;
        let p = Point {
            concurrency: f64::from(level),
            throughput: m.throughput,
            p95_ms: m.p95_ms,
            errors: Some(m.errors),
        };
        progress(&p);
        points.push(p);
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_csv_with_header_and_json() {
        let p = parse_points("concurrency,throughput,p95_ms\n1,65,20\n18,996\n").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].p95_ms, Some(20.0));
        assert_eq!(p[1].p95_ms, None);
        assert!(parse_points("1,65\nfoo,bar\n").is_err());
        let j = parse_points(r#"{"points":[{"concurrency":1,"throughput":5}]}"#).unwrap();
        assert_eq!(j[0].throughput, 5.0);
        assert!(parse_points(r#"[{"n":1}]"#).is_err());
    }

    #[test]
    fn loadgen_report_stages_become_points() {
        let r = r#"{"schema":"loadgen-report/1","stages":[
            {"name":"ramp","load_from":0,"load_to":10,"rps":50,"ok":100,"failed":0,"latency_ms":{"p95":30,"mean":20}},
            {"name":"10 users","load_from":10,"load_to":10,"rps":100,"ok":1000,"failed":2,"latency_ms":{"p95":150,"mean":100}},
            {"name":"20 users","load_from":20,"load_to":20,"rps":0,"ok":0,"failed":0,"latency_ms":{"p95":0,"mean":0}}]}"#;
        let p = parse_points(r).unwrap();
        assert_eq!(p.len(), 1);
        // Little: 100 req/s x 0.1 s = 10 in flight
        assert!((p[0].concurrency - 10.0).abs() < 1e-9);
        assert_eq!(p[0].p95_ms, Some(150.0));
        assert_eq!(p[0].errors, Some(2));
    }

    #[test]
    fn capacity_follows_littles_law() {
        let m = Usl {
            sigma: 0.0,
            kappa: 0.0,
            lambda: 100.0,
        }; // 10 ms per request, linear
        let pts = [Point {
            concurrency: 1.0,
            throughput: 100.0,
            p95_ms: Some(20.0),
            errors: None,
        }];
        let q = Question {
            users: 1000.0,
            think_time_s: 0.99,
            p95_target_ms: 300.0,
            headroom: 0.0,
            db_hold_ms: None,
            redis_hold_ms: Some(1.0),
        };
        // kappa = 0: peak is unbounded, capped at 1e6 concurrency
        let c = capacity(&m, &pts, &q).unwrap();
        // demand = 1000 / (0.99 + 0.01) = 1000 req/s
        assert!((c.demand_rps - 1000.0).abs() < 1e-6, "{c:?}");
        assert_eq!(c.replicas, 1);
        let q2 = Question {
            p95_target_ms: 10.0,
            ..q
        };
        assert!(capacity(&m, &pts, &q2).is_err());
    }
}
