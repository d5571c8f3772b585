//! `--metrics-listen ADDR`: loadgen's own Prometheus endpoint while a run
//! goes on, so Grafana can put the load beside the server's metrics.
//!
//! A [`Consumer`] of the run's records. Series (OpenMetrics, as
//! `prometheus-client` writes them):
//!
//! - `loadgen_requests_total{transaction,outcome}`: completed requests;
//!   `outcome` is `ok` or the error kind (`http_503_overloaded`, `timeout`...).
//! - `loadgen_request_duration_seconds{transaction}`: latency histogram,
//!   from the intended start to the last byte (what thresholds judge).
//! - `loadgen_in_flight`, `loadgen_users` (closed model), `loadgen_target_load`
//!   (planned users or arrivals/s now), `loadgen_stage` (1-based index of the
//!   current stage).
//! - `loadgen_stage_start_timestamp_seconds{stage,index}`: when each stage
//!   began (Unix seconds), set as it begins: the dashboard's stage
//!   annotations read it.
//! - `loadgen_run_info{profile,model,target,instance}`: always 1.
//!
//! The listener is bound before the run starts (a taken port fails at
//! once); gauges are refreshed every second and at each scrape's next tick.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::task::JoinHandle;

use crate::record::{Outcome, Record, RecordRx};
use crate::run::{Consumer, ConsumerError, RunView};
use crate::schedule::{load_at, stage_at, stage_bounds};

/// Latency buckets in seconds, as ragd's (0.3 s is the guides' P95 target),
/// so a dashboard compares loadgen's view with the server's bucket for bucket.
pub const LATENCY_BUCKETS: [f64; 17] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
    60.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    transaction: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TxnLabel {
    transaction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: String,
    index: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    profile: String,
    model: String,
    target: String,
    instance: String,
}

/// The series, registered once.
struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<TxnLabel, Histogram>,
    in_flight: Gauge,
    users: Gauge,
    target_load: Gauge<f64, std::sync::atomic::AtomicU64>,
    stage: Gauge,
    stage_start: Family<StageLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    run_info: Family<RunLabels, Gauge>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("loadgen");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Completed requests by transaction and outcome (ok or the error kind)",
            requests.clone(),
        );
        let duration = Family::<TxnLabel, Histogram>::new_with_constructor(
            (|| Histogram::new(LATENCY_BUCKETS)) as fn() -> Histogram,
        );
        registry.register(
            "request_duration_seconds",
            "Latency from the intended start to the last byte",
            duration.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight",
            "Requests sent, not yet answered",
            in_flight.clone(),
        );
        let users = Gauge::default();
        registry.register("users", "Closed model: users running", users.clone());
        let target_load = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "target_load",
            "Planned load now: users (closed model) or arrivals per second (open model)",
            target_load.clone(),
        );
        let stage = Gauge::default();
        registry.register("stage", "1-based index of the current stage", stage.clone());
        let stage_start =
            Family::<StageLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "stage_start_timestamp_seconds",
            "When each stage began, Unix seconds (set as it begins)",
            stage_start.clone(),
        );
        let run_info = Family::<RunLabels, Gauge>::default();
        registry.register(
            "run_info",
            "The run being played (always 1)",
            run_info.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
            in_flight,
            users,
            target_load,
            stage,
            stage_start,
            run_info,
        }
    }

    fn record(&self, r: &Record, names: &[String]) {
        let transaction = names.get(r.txn as usize).cloned().unwrap_or_default();
        let outcome = match &r.outcome {
            Outcome::Ok => "ok".to_string(),
            Outcome::Error(kind) => kind.clone(),
        };
        self.requests
            .get_or_create(&RequestLabels {
                transaction: transaction.clone(),
                outcome,
            })
            .inc();
        self.duration
            .get_or_create(&TxnLabel { transaction })
            .observe(r.latency_us() as f64 / 1e6);
    }

    /// The gauges as of now: in flight, users, planned load, stage, and
    /// the start of every stage begun so far.
    fn refresh(&self, run: &RunView) {
        let g = run.gauges.read();
        let elapsed = run.t0.elapsed();
        let p = &run.profile;
        self.in_flight.set(g.in_flight as i64);
        self.users.set(g.users as i64);
        self.target_load.set(load_at(p, elapsed.min(p.planned())));
        let current = stage_at(&p.stages, elapsed);
        self.stage.set(current as i64 + 1);
        for (i, (start, _)) in stage_bounds(&p.stages).into_iter().enumerate() {
            if i > current {
                break;
            }
            self.stage_start
                .get_or_create(&StageLabels {
                    stage: p.stages[i].name.clone(),
                    index: i as u32 + 1,
                })
                .set(run.t0_unix_ms as f64 / 1000.0 + start.as_secs_f64());
        }
    }

    fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Why the endpoint could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("--metrics-listen {addr}: {source}")]
pub struct BindError {
    pub addr: SocketAddr,
    pub source: std::io::Error,
}

/// The endpoint, bound and waiting for the run.
pub struct Exporter {
    listener: std::net::TcpListener,
    /// This loadgen's instance name, for `loadgen_run_info`.
    instance: String,
    target: String,
}

impl Exporter {
    /// Bind `addr` now, so a taken port or a bad address fails before the run.
    pub fn bind(addr: SocketAddr, target: &str, instance: &str) -> Result<Exporter, BindError> {
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| BindError { addr, source })?;
        Ok(Exporter {
            listener,
            instance: instance.to_string(),
            target: target.to_string(),
        })
    }

    /// The address bound (the port chosen for `:0`).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl Consumer for Exporter {
    fn name(&self) -> &'static str {
        "metrics endpoint"
    }

    fn start(
        self: Box<Self>,
        run: RunView,
        mut rx: RecordRx,
    ) -> JoinHandle<Result<(), ConsumerError>> {
        let metrics = Arc::new(Mutex::new(Metrics::new()));
        {
            let m = metrics.lock().unwrap_or_else(|p| p.into_inner());
            m.run_info
                .get_or_create(&RunLabels {
                    profile: run.profile.name.clone(),
                    model: run.profile.model.to_string(),
                    target: self.target.clone(),
                    instance: self.instance.clone(),
                })
                .set(1);
            m.refresh(&run);
        }
        let server = tokio::net::TcpListener::from_std(self.listener)
            .map(|l| tokio::spawn(serve(l, metrics.clone())));
        tokio::spawn(async move {
            let server = server.map_err(|e| ConsumerError::Write {
                path: "metrics endpoint".into(),
                source: e,
            })?;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut batch = Vec::with_capacity(256);
            loop {
                tokio::select! {
                    // Whatever has come, under one lock.
                    n = rx.recv_many(&mut batch, 256) => {
                        if n == 0 {
                            break;
                        }
                        let m = metrics.lock().unwrap_or_else(|p| p.into_inner());
                        for r in batch.drain(..) {
                            m.record(&r, &run.names);
                        }
                    }
                    _ = tick.tick() => metrics
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .refresh(&run),
                }
            }
            metrics
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .refresh(&run);
            server.abort();
            Ok(())
        })
    }
}

/// Answer `GET /metrics` (any other path: 404) until aborted; the
/// connections go with it (they live in its `JoinSet`).
async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Mutex<Metrics>>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let metrics = metrics.clone();
        connections.spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let metrics = metrics.clone();
                async move {
                    let resp = if req.uri().path() == "/metrics" {
                        let body = metrics.lock().unwrap_or_else(|p| p.into_inner()).encode();
                        Response::builder()
                            .header(
                                "content-type",
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            )
                            .body(Full::new(Bytes::from(body)))
                    } else {
                        Response::builder()
                            .status(StatusCode::NOT_FOUND)
                            .body(Full::new(Bytes::from_static(b"loadgen serves /metrics\n")))
                    };
                    Ok::<_, std::convert::Infallible>(resp.expect("static response parts"))
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
