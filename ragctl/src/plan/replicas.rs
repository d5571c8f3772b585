//! `ragctl plan sweep --replicas 1,2,3`: the USL over replicas, measured on
//! real containers, and the replica count it recommends.
//!
//! For each count the service is scaled through the Docker API (the path
//! `ragctl scale` takes, waiting for every new replica's `/ready`), then a
//! closed-model load that saturates the replicas runs: `clients_per_replica
//! × count` clients sending queries back to back, through `--url` (a load
//! balancer) or, without one, spread evenly over the replicas' published
//! ports. Each step records throughput, P95, mean latency and every
//! replica's CPU and memory, the CPU as the mean over the step (the
//! difference of two engine readings, `docker stats`' arithmetic) and as a
//! share of the container's CPU limit.
//!
//! The fit is the same USL with N = replicas: σ is what replicas contend for
//! (the cores they share, a database), κ what they must keep coherent. The
//! recommended count is the smallest whose fitted throughput covers the
//! demand of `--users` with think time `--think-time` plus the headroom
//! (interactive response-time law, X = N / (Z + R)). `fit_on` fits on some
//! counts and predicts the others: the check that the plan holds.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::Docker;
use serde::{Deserialize, Serialize};

use super::{Load, Question, http_client, measure, probe};
use crate::docker::{self, ContainerInfo};
use crate::error::Error;
use crate::scale::{self, ScaleRequest};
use crate::stats::StatsSample;
use crate::usl::{self, Fit, Usl};

/// What a replica sweep does.
#[derive(Debug, Clone)]
pub struct ReplicaSweep {
    /// Service, project, port and timeouts; `replicas` is set per step.
    pub scale: ScaleRequest,
    /// Replica counts, in the order measured.
    pub counts: Vec<u32>,
    /// A load balancer in front of the replicas; `None`: spread the clients
    /// over the replicas' own published ports.
    pub target: Option<String>,
    pub load: Load,
    pub clients_per_replica: u32,
    /// Load before each measured step, not counted (connections, caches).
    pub warmup: Duration,
    pub step: Duration,
}

/// One replica's use of its container during a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerUse {
    pub name: String,
    /// `docker stats` CPU %: 100 = one core, mean over the step.
    pub cpu_percent: f64,
    /// The container's CPU limit in cores, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<f64>,
    /// `cpu_percent` as a share of the limit (of the online CPUs without one).
    pub cpu_percent_of_limit: f64,
    pub mem_used_bytes: u64,
    pub mem_limit_bytes: u64,
    /// `docker stats` MEM %: of the container's limit (the host's without one).
    pub mem_percent: f64,
}

/// One replica count, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaPoint {
    pub replicas: u32,
    /// Closed-loop clients during the step.
    pub clients: u32,
    /// Successful requests per second.
    pub throughput: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_ms: Option<f64>,
    #[serde(default)]
    pub errors: u64,
    /// Every replica, as the engine saw it during the step.
    #[serde(default)]
    pub containers: Vec<ContainerUse>,
}

impl ReplicaPoint {
    /// Mean CPU % of limit over the replicas.
    pub fn cpu_percent_of_limit(&self) -> Option<f64> {
        mean(self.containers.iter().map(|c| c.cpu_percent_of_limit))
    }

    /// Highest memory % of limit among the replicas.
    pub fn mem_percent_max(&self) -> Option<f64> {
        self.containers
            .iter()
            .map(|c| c.mem_percent)
            .reduce(f64::max)
    }
}

fn mean(it: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, sum) = it.fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| sum / n as f64)
}

/// The file `plan sweep --replicas` writes and `plan fit` reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicaSweepFile {
    /// Always `replicas`: tells `plan fit` what N is.
    pub axis: String,
    pub service: String,
    pub clients_per_replica: u32,
    pub step_secs: f64,
    pub points: Vec<ReplicaPoint>,
}

/// Whether `text` is a replica sweep file (`"axis": "replicas"`).
pub fn parse_file(text: &str) -> Option<Result<ReplicaSweepFile, String>> {
    let v: serde_json::Value = serde_json::from_str(text.trim_start()).ok()?;
    (v.get("axis").and_then(serde_json::Value::as_str) == Some("replicas"))
        .then(|| serde_json::from_value(v).map_err(|e| format!("not a replica sweep file: {e}")))
}

/// The running replicas of the service, lowest number first.
async fn replicas(d: &Docker, req: &ScaleRequest) -> Result<Vec<ContainerInfo>, Error> {
    let mut list: Vec<ContainerInfo> = docker::list(d, req.project.as_deref())
        .await?
        .into_iter()
        .filter(|c| c.running() && !c.oneoff && c.service.as_deref() == Some(req.service.as_str()))
        .collect();
    list.sort_by_key(|c| (c.number.unwrap_or(0), c.name.clone()));
    Ok(list)
}

/// One engine reading per replica, taken together.
async fn readings(d: &Docker, list: &[ContainerInfo]) -> Vec<Option<StatsSample>> {
    futures::future::join_all(list.iter().map(|c| docker::stats_once(d, &c.id)))
        .await
        .into_iter()
        .map(Result::ok)
        .collect()
}

/// Each replica's use between two readings.
async fn usage(
    d: &Docker,
    list: &[ContainerInfo],
    before: &[Option<StatsSample>],
    after: &[Option<StatsSample>],
) -> Vec<ContainerUse> {
    let mut out = Vec::new();
    for ((c, b), a) in list.iter().zip(before).zip(after) {
        let (Some(b), Some(a)) = (b, a) else { continue };
        let s = a.compute_against(&b.cpu_stats);
        let cpu_limit = docker::limits(d, &c.id).await.ok().and_then(|l| l.cpus);
        let online = a.cpu_stats.online_cpus.map_or(1.0, f64::from).max(1.0);
        out.push(ContainerUse {
            name: c.name.clone(),
            cpu_percent: s.cpu_percent,
            cpu_limit,
            cpu_percent_of_limit: s.cpu_percent / cpu_limit.unwrap_or(online),
            mem_used_bytes: s.mem_used_bytes,
            mem_limit_bytes: s.mem_limit_bytes,
            mem_percent: s.mem_percent,
        });
    }
    out
}

/// Scale to each count, saturate, measure. `progress` hears each phase
/// (`scaling to 3`, ...) and each finished point.
pub async fn sweep(
    s: &ReplicaSweep,
    mut phase: impl FnMut(&str),
    mut progress: impl FnMut(&ReplicaPoint),
) -> Result<ReplicaSweepFile, Error> {
    let d = docker::connect().await?;
    let client = http_client()?;
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut points = Vec::new();
    for &count in &s.counts {
        phase(&format!("scaling {} to {count}", s.scale.service));
        let started = Instant::now();
        let req = ScaleRequest {
            replicas: count,
            ..s.scale.clone()
        };
        let plan = scale::plan(&d, &req).await?;
        let steps = scale::execute(&d, &plan, &req).await?;
        if let Some(bad) = steps.iter().find(|st| !st.ok) {
            return Err(Error::Plan(format!(
                "scaling {} to {count} failed at {}: {}",
                req.service,
                bad.name,
                bad.error.as_deref().unwrap_or("?")
            )));
        }
        let list = replicas(&d, &req).await?;
        // Replicas kept from an earlier count (or started by hand) may
        // still be starting: every one answers /ready before the load.
        for c in &list {
            scale::wait_ready(&d, &c.id, req.port, req.ready_timeout)
                .await
                .map_err(|e| Error::Plan(format!("{}: {e}", c.name)))?;
        }
        if list.len() != count as usize {
            return Err(Error::Plan(format!(
                "asked for {count} replicas of {}, {} run",
                req.service,
                list.len()
            )));
        }
        let bases: Vec<String> = match &s.target {
            Some(t) => vec![t.clone()],
            None => list
                .iter()
                .map(|c| {
                    c.url_for_port(req.port).ok_or_else(|| {
                        Error::Plan(format!(
                            "{} publishes no port for {}: pass --url of a load balancer, or publish the port",
                            c.name, req.port
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        for b in &bases {
            probe(&client, b, &s.load).await?;
        }
        phase(&format!(
            "{count} ready in {:.1} s; warming up {:.0} s",
            started.elapsed().as_secs_f64(),
            s.warmup.as_secs_f64()
        ));
        let clients = s.clients_per_replica.max(1) * count;
        if !s.warmup.is_zero() {
            measure(&client, &bases, &s.load, clients, s.warmup, &counter).await;
        }
        phase(&format!(
            "measuring {count} replicas: {clients} clients for {:.0} s",
            s.step.as_secs_f64()
        ));
        let before = readings(&d, &list).await;
        let m = measure(&client, &bases, &s.load, clients, s.step, &counter).await;
        let after = readings(&d, &list).await;
        let p = ReplicaPoint {
            replicas: count,
            clients,
            throughput: m.throughput,
            p95_ms: m.p95_ms,
            mean_ms: m.mean_ms,
            errors: m.errors,
            containers: usage(&d, &list, &before, &after).await,
        };
        progress(&p);
        points.push(p);
    }
    Ok(ReplicaSweepFile {
        axis: "replicas".into(),
        service: s.scale.service.clone(),
        clients_per_replica: s.clients_per_replica,
        step_secs: s.step.as_secs_f64(),
        points,
    })
}

/// The replica count for the capacity question.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// Requests per second the users make: N / (Z + R), R the lowest
    /// measured mean latency (the highest demand).
    pub demand_rps: f64,
    /// Demand plus headroom: what the replicas must sustain.
    pub required_rps: f64,
    pub replicas: u32,
    pub fitted_throughput: f64,
    /// Demand over fitted capacity at that count.
    pub utilisation: f64,
    /// P95 measured at saturation with that many replicas, if measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saturated_p95_ms: Option<f64>,
    pub notes: Vec<String>,
}

/// One count: measured (if it was) against the model.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub replicas: u32,
    pub measured: Option<f64>,
    pub fitted: f64,
    /// Whether this point was among those fitted (false: a prediction).
    pub in_fit: bool,
    /// (fitted − measured) / measured.
    pub error: Option<f64>,
    pub p95_ms: Option<f64>,
    pub cpu_percent_of_limit: Option<f64>,
    pub mem_percent_max: Option<f64>,
}

/// The whole replica plan.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaPlan {
    pub service: String,
    /// `usl`, or `amdahl` (κ held at 0) when fewer than 4 counts were fitted.
    pub model: String,
    pub fit: Fit,
    /// Counts the model was fitted on.
    pub fitted_on: Vec<u32>,
    pub peak_replicas: f64,
    pub peak_throughput: f64,
    pub rows: Vec<Row>,
    pub question: Option<Question>,
    pub recommendation: Option<Recommendation>,
}

/// Fewest distinct replica counts a fit takes (three parameters).
pub const MIN_COUNTS: usize = 3;

/// Fit (on `fit_on`, or every point) and size.
pub fn build(
    file: &ReplicaSweepFile,
    fit_on: Option<&[u32]>,
    question: Option<Question>,
) -> Result<ReplicaPlan, Error> {
    let chosen: Vec<&ReplicaPoint> = file
        .points
        .iter()
        .filter(|p| fit_on.is_none_or(|f| f.contains(&p.replicas)))
        .collect();
    let distinct: BTreeSet<u32> = chosen.iter().map(|p| p.replicas).collect();
    if distinct.len() < MIN_COUNTS {
        return Err(Error::Plan(format!(
            "a fit over replicas needs at least {MIN_COUNTS} different replica counts; got {} ({}). Sweep more counts (--replicas 1,2,3,4)",
            distinct.len(),
            distinct
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let xy: Vec<(f64, f64)> = chosen
        .iter()
        .map(|p| (f64::from(p.replicas), p.throughput))
        .collect();
    // Three counts give three equations for three parameters: the USL would
    // pass through the noise of each point and bend at random (a run of
    // tests/bench/plan-validate.sh: 1-3 replicas fitted that way predicted
    // 6 replicas 32% low). Curvature (κ) is fitted only from four counts up.
    let amdahl = distinct.len() < 4;
    let fit = if amdahl {
        usl::fit_amdahl(&xy, MIN_COUNTS)?
    } else {
        usl::fit_with(&xy, MIN_COUNTS)?
    };
    let m = fit.model;
    let max_count = file.points.iter().map(|p| p.replicas).max().unwrap_or(1);
    let mut rows: Vec<Row> = file
        .points
        .iter()
        .map(|p| {
            let f = m.throughput(f64::from(p.replicas));
            Row {
                replicas: p.replicas,
                measured: Some(p.throughput),
                fitted: f,
                in_fit: distinct.contains(&p.replicas),
                error: (p.throughput > 0.0).then(|| (f - p.throughput) / p.throughput),
                p95_ms: p.p95_ms,
                cpu_percent_of_limit: p.cpu_percent_of_limit(),
                mem_percent_max: p.mem_percent_max(),
            }
        })
        .collect();
    let recommendation = question
        .map(|q| recommend(&m, file, &q, max_count))
        .transpose()?;
    // Counts the plan speaks of but nobody measured: predictions only.
    if let Some(r) = &recommendation {
        for n in 1..=r.replicas.max(max_count) {
            if !rows.iter().any(|row| row.replicas == n) {
                rows.push(Row {
                    replicas: n,
                    measured: None,
                    fitted: m.throughput(f64::from(n)),
                    in_fit: false,
                    error: None,
                    p95_ms: None,
                    cpu_percent_of_limit: None,
                    mem_percent_max: None,
                });
            }
        }
    }
    rows.sort_by_key(|r| r.replicas);
    Ok(ReplicaPlan {
        service: file.service.clone(),
        model: if amdahl {
            "amdahl (κ = 0: fewer than 4 counts)".into()
        } else {
            "usl".into()
        },
        fit,
        fitted_on: distinct.into_iter().collect(),
        peak_replicas: m.peak_concurrency(),
        peak_throughput: m.peak_throughput(),
        rows,
        question,
        recommendation,
    })
}

/// Replicas to cover the demand with headroom; an error when the fitted
/// curve never gets there.
fn recommend(
    m: &Usl,
    file: &ReplicaSweepFile,
    q: &Question,
    max_measured: u32,
) -> Result<Recommendation, Error> {
    let r_s = file
        .points
        .iter()
        .filter_map(|p| p.mean_ms)
        .fold(f64::INFINITY, f64::min);
    let r_s = if r_s.is_finite() { r_s / 1000.0 } else { 0.0 };
    let demand = q.users / (q.think_time_s + r_s);
    let required = demand * (1.0 + q.headroom);
    let limit = m.peak_concurrency().min(1000.0) as u32;
    let Some(n) = (1..=limit.max(1)).find(|&n| m.throughput(f64::from(n)) >= required) else {
        return Err(Error::Plan(format!(
            "{} users at think time {} s make {:.0} req/s ({:.0} with headroom), but the fitted curve peaks at {:.0} req/s with {} replicas: more replicas of this deployment cannot carry it. Remove the shared bottleneck (σ = {:.3}, κ = {:.2e}) first",
            q.users,
            q.think_time_s,
            demand,
            required,
            m.peak_throughput(),
            m.peak_concurrency(),
            m.sigma,
            m.kappa
        )));
    };
    let fitted = m.throughput(f64::from(n));
    let saturated_p95 = file
        .points
        .iter()
        .find(|p| p.replicas == n)
        .and_then(|p| p.p95_ms);
    let mut notes = Vec::new();
    if n > max_measured {
        notes.push(format!(
            "{n} replicas is beyond the largest count measured ({max_measured}): a prediction; measure it (--replicas ...,{n}) before relying on it"
        ));
    }
    match saturated_p95 {
        Some(p) if p > q.p95_target_ms => notes.push(format!(
            "P95 at saturation with {n} replicas was {p:.0} ms (> {} ms); at {:.0} % of capacity it should be lower: check with a load test at the planned load",
            q.p95_target_ms,
            demand / fitted * 100.0
        )),
        Some(p) => notes.push(format!(
            "P95 was {p:.0} ms at saturation with {n} replicas under {} clients each; many users arriving at random queue deeper (measured: docs/BENCHMARKS.md): check the P95 with a load test at the planned load",
            file.clients_per_replica
        )),
        None => {}
    }
    Ok(Recommendation {
        demand_rps: demand,
        required_rps: required,
        replicas: n,
        fitted_throughput: fitted,
        utilisation: demand / fitted,
        saturated_p95_ms: saturated_p95,
        notes,
    })
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.0}%"))
}

/// The table of measured against fitted (or predicted) throughput.
pub fn table_rows(p: &ReplicaPlan) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "replicas",
            "measured X",
            "fitted X",
            "error",
            "P95 ms",
            "CPU/limit",
            "mem max",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in &p.rows {
        rows.push(vec![
            r.replicas.to_string(),
            r.measured.map_or_else(|| "-".into(), |x| format!("{x:.1}")),
            format!(
                "{:.1}{}",
                r.fitted,
                if r.in_fit { "" } else { " (predicted)" }
            ),
            r.error
                .map_or_else(|| "-".into(), |e| format!("{:+.1}%", e * 100.0)),
            r.p95_ms.map_or_else(|| "-".into(), |v| format!("{v:.1}")),
            pct(r.cpu_percent_of_limit),
            pct(r.mem_percent_max),
        ]);
    }
    rows
}

/// Lines about the model and the recommendation.
pub fn summary_lines(p: &ReplicaPlan) -> Vec<String> {
    let m = p.fit.model;
    let mut out = vec![
        format!(
            "{} over replicas of {} (fitted on {}; R² {:.4}): σ={:.4} κ={:.3e} λ={:.1} req/s per replica",
            if p.model == "usl" {
                "USL".to_string()
            } else {
                "Amdahl's law (κ held at 0: fewer than 4 counts)".to_string()
            },
            p.service,
            p.fitted_on
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            p.fit.r_squared,
            m.sigma,
            m.kappa,
            m.lambda
        ),
        if p.peak_replicas.is_finite() {
            format!(
                "peak: {:.0} req/s at {:.0} replicas; past that, replicas cost throughput",
                p.peak_throughput, p.peak_replicas
            )
        } else {
            format!(
                "no peak: throughput approaches {} as replicas grow",
                if p.peak_throughput.is_finite() {
                    format!("{:.0} req/s", p.peak_throughput)
                } else {
                    "linear growth".into()
                }
            )
        },
    ];
    let predicted: Vec<&Row> = p
        .rows
        .iter()
        .filter(|r| !r.in_fit && r.measured.is_some())
        .collect();
    if !predicted.is_empty() {
        let worst = predicted
            .iter()
            .filter_map(|r| r.error)
            .map(f64::abs)
            .fold(0.0, f64::max);
        out.push(format!(
            "predicted {} measured count(s) left out of the fit ({}): worst error {:.1}%",
            predicted.len(),
            predicted
                .iter()
                .map(|r| r.replicas.to_string())
                .collect::<Vec<_>>()
                .join(","),
            worst * 100.0
        ));
    }
    if let (Some(q), Some(r)) = (&p.question, &p.recommendation) {
        out.push(format!(
            "for {} users, think time {} s, P95 < {} ms, headroom {:.0}%: demand {:.0} req/s (+headroom {:.0})",
            q.users,
            q.think_time_s,
            q.p95_target_ms,
            q.headroom * 100.0,
            r.demand_rps,
            r.required_rps
        ));
        out.push(format!(
            "recommended: {} replicas ({:.0} req/s fitted, {:.0}% used at the demand)",
            r.replicas,
            r.fitted_throughput,
            r.utilisation * 100.0
        ));
        for n in &r.notes {
            out.push(format!("  note: {n}"));
        }
    }
    out
}

/// Table, terminal chart and recommendation.
pub fn text(p: &ReplicaPlan) -> String {
    let mut out = String::new();
    for l in summary_lines(p).iter().take(2) {
        out += l;
        out.push('\n');
    }
    out.push('\n');
    out += &crate::report::table(&table_rows(p));
    out.push('\n');
    out += &super::svg::terminal(p, 60, 14);
    for l in summary_lines(p).iter().skip(2) {
        out += l;
        out.push('\n');
    }
    out
}

/// The same as Markdown.
pub fn markdown(p: &ReplicaPlan) -> String {
    let mut out = String::from("## Capacity plan over replicas\n\n");
    for l in summary_lines(p) {
        out += &format!("- {}\n", l.trim());
    }
    out.push('\n');
    let rows = table_rows(p);
    out += &format!(
        "| {} |\n|{}\n",
        rows[0].join(" | "),
        "---:|".repeat(rows[0].len())
    );
    for r in &rows[1..] {
        out += &format!("| {} |\n", r.join(" | "));
    }
    out += &format!("\n```\n{}```\n", super::svg::terminal(p, 60, 14));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(points: &[(u32, f64, f64)]) -> ReplicaSweepFile {
        ReplicaSweepFile {
            axis: "replicas".into(),
            service: "ragd".into(),
            clients_per_replica: 8,
            step_secs: 10.0,
            points: points
                .iter()
                .map(|&(n, x, p95)| ReplicaPoint {
                    replicas: n,
                    clients: 8 * n,
                    throughput: x,
                    p95_ms: Some(p95),
                    mean_ms: Some(p95 / 2.0),
                    errors: 0,
                    containers: vec![],
                })
                .collect(),
        }
    }

    fn question(users: f64, think: f64) -> Question {
        Question {
            users,
            think_time_s: think,
            p95_target_ms: 300.0,
            headroom: 0.2,
            db_hold_ms: None,
            redis_hold_ms: None,
        }
    }

    #[test]
    fn fits_on_three_counts_and_predicts_the_rest() {
        let truth = Usl {
            sigma: 0.1,
            kappa: 0.01,
            lambda: 100.0,
        };
        let pts: Vec<(u32, f64, f64)> = (1..=6)
            .map(|n| (n, truth.throughput(f64::from(n)), 20.0))
            .collect();
        // Four counts: the USL with its curvature.
        let p = build(&file(&pts), Some(&[1, 2, 3, 4]), None).unwrap();
        assert_eq!(p.fitted_on, vec![1, 2, 3, 4]);
        assert_eq!(p.model, "usl");
        let predicted: Vec<&Row> = p.rows.iter().filter(|r| !r.in_fit).collect();
        assert_eq!(predicted.len(), 2);
        for r in predicted {
            assert!(r.error.unwrap().abs() < 0.01, "{r:?}");
        }
        // Three counts: Amdahl's law, κ held at 0, whatever the noise.
        let noisy = [(1, 42.7, 1.0), (2, 82.4, 1.0), (3, 114.0, 1.0)];
        let p = build(&file(&noisy), None, None).unwrap();
        assert!(p.model.starts_with("amdahl"), "{}", p.model);
        assert_eq!(p.fit.model.kappa, 0.0);
    }

    #[test]
    fn recommends_the_smallest_count_that_covers_demand() {
        let truth = Usl {
            sigma: 0.05,
            kappa: 0.0,
            lambda: 100.0,
        };
        let pts: Vec<(u32, f64, f64)> = (1..=4)
            .map(|n| (n, truth.throughput(f64::from(n)), 20.0))
            .collect();
        // 1000 users thinking 4.99 s + 10 ms: 200 req/s, 240 with headroom.
        let p = build(&file(&pts), None, Some(question(1000.0, 4.99))).unwrap();
        let r = p.recommendation.unwrap();
        assert!((r.demand_rps - 200.0).abs() < 1e-6, "{r:?}");
        // X(2) = 190.5 < 240 <= X(3) = 272.7
        assert_eq!(r.replicas, 3, "{r:?}");
        // Beyond the peak of a coherency-bound curve: a clear error.
        let bent = Usl {
            sigma: 0.3,
            kappa: 0.1,
            lambda: 100.0,
        };
        let pts: Vec<(u32, f64, f64)> = (1..=4)
            .map(|n| (n, bent.throughput(f64::from(n)), 20.0))
            .collect();
        let e = build(&file(&pts), None, Some(question(10_000.0, 1.0))).unwrap_err();
        assert!(e.to_string().contains("cannot carry it"), "{e}");
    }

    #[test]
    fn too_few_counts_is_a_clear_error() {
        let e = build(&file(&[(1, 10.0, 1.0), (2, 19.0, 1.0)]), None, None).unwrap_err();
        assert!(e.to_string().contains("at least 3"), "{e}");
        let f = file(&[(1, 10.0, 1.0), (2, 19.0, 1.0), (3, 27.0, 1.0)]);
        assert!(build(&f, Some(&[1, 2]), None).is_err());
    }

    #[test]
    fn files_round_trip_and_are_recognised() {
        let f = file(&[(1, 10.0, 1.0), (2, 19.0, 1.0), (3, 27.0, 1.0)]);
        let text = serde_json::to_string(&f).unwrap();
        let back = parse_file(&text).unwrap().unwrap();
        assert_eq!(back.points, f.points);
        assert!(parse_file(r#"{"points":[]}"#).is_none());
        assert!(parse_file(r#"{"axis":"replicas"}"#).unwrap().is_err());
    }
}
