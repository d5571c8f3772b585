//! A real `ragd serve` process seen from outside, as an operator's tools see
//! it: JSON logs with one access line per request and the request id on
//! every line of it, `X-Request-Id` echoed, the metric names the dashboards
//! and alerts use present in `/metrics` (and the renamed ones gone), and
//! `ragd probe` exiting 0 or 1.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A running `ragd serve` whose stderr is collected line by line.
struct Ragd {
    child: Child,
    base: String,
    lines: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Ragd {
    fn start(env: &[(&str, &str)]) -> Ragd {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ragd"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env_remove("RAGD_CONFIG")
            .env_remove("RUST_LOG")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("ragd starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = lines.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("ragd listening") {
                    let _ = tx.send(line.clone());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let listening = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("ragd did not start:\n{}", lines.lock().unwrap().join("\n"));
            }
        };
        let v: Value = serde_json::from_str(&listening)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {listening}"));
        let addr = v["addr"].as_str().expect("addr field").to_string();
        Ragd {
            child,
            base: format!("http://{addr}"),
            lines,
            _dir: dir,
        }
    }

    /// The JSON log lines so far (a library printing straight to stderr
    /// would add other lines: they are skipped).
    fn json_lines(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Wait (bounded) until `pred` holds for the log lines.
    fn wait_for(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.json_lines();
            if pred(&lines) {
                return lines;
            }
            if Instant::now() > until {
                panic!(
                    "{what}: not in the log:\n{}",
                    self.lines.lock().unwrap().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Ragd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Send a request with an optional `X-Request-Id`; (status, echoed id, body).
async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    id: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut req = client.request(method, url);
    if let Some(id) = id {
        req = req.header("x-request-id", id);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let echoed = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        echoed,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn access_lines(lines: &[Value]) -> Vec<&Value> {
    lines
        .iter()
        .filter(|l| l["target"] == "ragd::access")
        .collect()
}

/// The request id of the `request` span a log line was written in.
fn span_id(line: &Value) -> Option<&str> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "request")?["request_id"]
        .as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_one_access_line_per_request_and_its_id() {
    // ragd=debug: the query pipeline's debug line (inside the request) too.
    let r = Ragd::start(&[
        ("RAGD_LOG__FORMAT", "json"),
        (
            "RAGD_LOG__FILTER",
            "info,ragd=debug,sqlx=warn,qdrant_edge=error",
        ),
    ]);
    let c = reqwest::Client::new();
    let u = |p: &str| format!("{}{p}", r.base);
    use reqwest::Method;

    let (s, id, _) = call(&c, Method::GET, &u("/health"), Some("probe-1"), None).await;
    assert_eq!((s, id.as_str()), (200, "probe-1"));
    let (s, id, b) = call(
        &c,
        Method::POST,
        &u("/v1/collections"),
        Some("create-2"),
        Some(json!({"name": "kb"})),
    )
    .await;
    assert_eq!((s, id.as_str()), (201, "create-2"), "{b}");
    let (s, _, b) = call(
        &c,
        Method::POST,
        &u("/v1/collections/kb/documents"),
        Some("ingest-3"),
        Some(json!({"documents": [{"id": "etna", "text": "Mount Etna in Sicily is one of the most active volcanoes in Europe."}]})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, id, b) = call(
        &c,
        Method::POST,
        &u("/v1/collections/kb/query"),
        Some("query-4"),
        Some(json!({"question": "Which volcano is active in Sicily?"})),
    )
    .await;
    assert_eq!((s, id.as_str()), (200, "query-4"), "{b}");
    // A hostile id (spaces, a forged JSON fragment) is replaced, not logged.
    let hostile = "x\" , \"status\": 200 ";
    let (s, generated, _) = call(&c, Method::GET, &u("/nope"), Some(hostile), None).await;
    assert_eq!(s, 404);
    assert_eq!(generated.len(), 32, "{generated}");
    assert!(generated.bytes().all(|b| b.is_ascii_hexdigit()));
    let (_, fresh, _) = call(&c, Method::GET, &u("/health"), None, None).await;
    assert_eq!(fresh.len(), 32);
    assert_ne!(fresh, generated);

    let lines = r.wait_for("six access lines", |l| access_lines(l).len() >= 6);
    let access = access_lines(&lines);
    assert_eq!(access.len(), 6, "{access:#?}");
    let expect = [
        ("probe-1", "GET", "/health", 200),
        ("create-2", "POST", "/v1/collections", 201),
        ("ingest-3", "POST", "/v1/collections/{name}/documents", 201),
        ("query-4", "POST", "/v1/collections/{name}/query", 200),
        (generated.as_str(), "GET", "unmatched", 404),
        (fresh.as_str(), "GET", "/health", 200),
    ];
    for (line, (id, method, route, status)) in access.iter().zip(expect) {
        assert_eq!(line["request_id"], id, "{line}");
        assert_eq!(line["method"], method, "{line}");
        assert_eq!(line["route"], route, "{line}");
        assert_eq!(line["status"], status, "{line}");
        assert!(line["duration_ms"].as_f64().unwrap() >= 0.0, "{line}");
        assert_eq!(span_id(line), Some(id), "{line}");
    }
    // Every line written while serving the query carries its id: at least
    // the retrieval debug line and the access line.
    let of_query: Vec<_> = lines
        .iter()
        .filter(|l| span_id(l) == Some("query-4"))
        .collect();
    assert!(
        of_query.iter().any(|l| l["message"] == "retrieval"),
        "no retrieval line in the query's span: {of_query:#?}"
    );
    // The hostile value reached no log line, escaped or not.
    let raw = r.lines.lock().unwrap().join("\n");
    assert!(
        !raw.contains("status\\\": 200") && !raw.contains("x\\\" ,"),
        "{raw}"
    );
}

/// Metric names a live ragd must export after issue 15.
const NEW_NAMES: [&str; 15] = [
    "ragd_http_requests_total",
    "ragd_http_request_duration_seconds_bucket",
    "ragd_http_requests_in_flight",
    "ragd_pool_connections",
    "ragd_pool_max_connections",
    "ragd_query_cache_hits_total",
    "ragd_redis_up",
    "ragd_build_info",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
    "ragd_queue_depth",
];

/// Renamed or restructured: must be gone.
const OLD_NAMES: [&str; 4] = [
    "ragd_redis_seconds",
    "ragd_redis_errors",
    "ragd_redis_skipped",
    "ragd_redis_in_flight",
];

/// Series (sample) names of an OpenMetrics text.
fn sample_names(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_use_the_new_names_and_the_dashboards_find_theirs() {
    let r = Ragd::start(&[("RAGD_LOG__FORMAT", "json")]);
    let c = reqwest::Client::new();
    for _ in 0..3 {
        let resp = c.get(format!("{}/status", r.base)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    let text = c
        .get(format!("{}/metrics", r.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let names = sample_names(&text);
    for n in NEW_NAMES {
        assert!(names.iter().any(|s| s == n), "{n} missing in\n{text}");
    }
    for n in OLD_NAMES {
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with(n) || l.contains(&format!(" {n} "))),
            "{n} still exported:\n{text}"
        );
    }
    assert!(
        !text.contains("state=\"max\""),
        "a limit as a state:\n{text}"
    );
    assert!(
        text.contains("ragd_pool_max_connections{pool=\"metadata\"}"),
        "{text}"
    );
    let build = text
        .lines()
        .find(|l| l.starts_with("ragd_build_info{"))
        .unwrap();
    assert!(
        build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION")))
            && build.ends_with(" 1"),
        "{build}"
    );
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} has no value"))
    };
    assert!(value("process_resident_memory_bytes") > 1e6);
    assert!(value("process_open_fds") >= 3.0);
    assert!(value("process_max_fds") >= value("process_open_fds"));
    assert_eq!(text.matches("# EOF").count(), 1, "one EOF, at the end");
    assert!(text.trim_end().ends_with("# EOF"));

    // The dashboards' and alert rules' names, against this live ragd.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let check = root.join("dashboards/check.py");
    match Command::new("python3")
        .arg(&check)
        .args(["--scrape", &r.base])
        .output()
    {
        Ok(out) => {
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "check.py --scrape failed:\n{said}");
            assert!(said.contains("are exported"), "{said}");
        }
        Err(e) => eprintln!("python3 not available ({e}): check.py --scrape skipped"),
    }
}

fn probe(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ragd"))
        .arg("probe")
        .args(args)
        .env_remove("RAGD_CONFIG")
        .output()
        .expect("ragd probe runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn probe_exits_0_on_a_healthy_ragd_and_1_otherwise() {
    let r = Ragd::start(&[("RAGD_LOG__FORMAT", "json")]);
    let (code, out, err) = probe(&[&r.base]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("healthy: ") && out.contains("/health: HTTP 200"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    let (code, out, err) = probe(&["--ready", &r.base]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("/ready: HTTP 200"), "{out}");
    // Its request shows in the access log like any other.
    r.wait_for("the probe's access line", |l| {
        access_lines(l).iter().any(|a| a["route"] == "/ready")
    });
    let base = r.base.clone();
    drop(r);
    let started = Instant::now();
    let (code, out, err) = probe(&["--timeout", "2", &base]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.starts_with("unhealthy: ") && err.contains("cannot connect"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let (code, _, err) = probe(&["https://127.0.0.1:1"]);
    assert_eq!(code, 1);
    assert!(err.contains("no TLS"), "{err}");
}
