//! The outputs beside the report, as a user meets them: `loadgen quick`
//! with per-request and per-second CSV, the Prometheus endpoint while a run
//! goes on, completions and man pages, and the errors of each.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{TestServer, profile};
use loadgen::RunOptions;
use loadgen::export::Exporter;
use loadgen::report::Report;

async fn loadgen(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .env_remove("LOADGEN_TARGET")
        .env_remove("NO_COLOR")
        .output()
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_runs_write_every_format() {
    let srv = TestServer::start(Duration::from_millis(2)).await;
    let dir = tempfile::tempdir().unwrap();
    let req = dir.path().join("requests.csv");
    let sec = dir.path().join("seconds.csv");
    let json = dir.path().join("run.json");
    let url = format!("{}/health", srv.base);
    let o = loadgen(&[
        "quick",
        &url,
        "--rate",
        "100",
        "--duration",
        "2s",
        "--json",
        "--threshold",
        "p(95)<1000",
        "--threshold",
        "http_req_failed<0.01",
        "--requests-csv",
        req.to_str().unwrap(),
        "--report",
        sec.to_str().unwrap(),
        "--report",
        json.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let printed: Report = serde_json::from_slice(&o.stdout).expect("--json prints the report");
    assert_eq!(printed.meta.profile, "quick");
    assert_eq!(printed.meta.model, "open");
    assert_eq!(printed.total.count, 200, "2 s at 100/s");
    assert!(printed.passed);
    assert_eq!(printed.thresholds[0].rule, "p(95)<1000");

    // One row per request, agreeing with the report.
    let (header, rows) = csv_rows(&req);
    assert_eq!(header, loadgen::requests_csv::HEADER);
    assert_eq!(rows.len() as u64, printed.total.count);
    assert!(
        rows.iter()
            .all(|r| r[1] == "health" && r[2] == "quick" && r[7] == "true" && r[8].is_empty())
    );
    let max: f64 = rows
        .iter()
        .map(|r| r[3].parse::<f64>().unwrap())
        .fold(0.0, f64::max);
    assert!(
        (max - printed.total.latency_ms.max).abs() <= max * 0.002,
        "CSV max {max} ms, report max {} ms",
        printed.total.latency_ms.max
    );
    let first: f64 = rows[0][0].parse().unwrap();
    assert!(
        first >= printed.meta.started_unix_ms as f64 && first < printed.meta.ended_unix_ms as f64,
        "{first} within the run"
    );

    // One row per second, summing to the total.
    let (header, rows) = csv_rows(&sec);
    assert_eq!(header, loadgen::report::PER_SECOND_HEADER);
    let sum: u64 = rows.iter().map(|r| r[4].parse::<u64>().unwrap()).sum();
    assert_eq!(sum, printed.total.count);
    assert!(rows.iter().all(|r| r[2] == "quick" && r[3] == "100.00"));
    assert_eq!(
        loadgen::read_report(&json).unwrap().total.count,
        printed.total.count
    );

    // Closed model on a query URL, the table on stdout.
    let url = format!("{}/v1/collections/docs/query", srv.base);
    let o = loadgen(&[
        "quick",
        &url,
        "--users",
        "3",
        "--duration",
        "2s",
        "--question",
        "What is ragd?",
        "--threshold",
        "query: error_rate < 1%",
    ])
    .await;
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    assert!(out.contains("quick (closed model)"), "{out}");
    assert!(out.contains("PASS  query: error_rate < 1%"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_refuses_what_it_cannot_do() {
    let srv = TestServer::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let health = format!("{}/health", srv.base);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![srv.base.clone()], "say what to load with the path"),
        (
            vec![format!("{}/v2/ask", srv.base)],
            "does not know the path \"/v2/ask\"",
        ),
        (
            vec![
                health.clone(),
                "--rate".into(),
                "5".into(),
                "--users".into(),
                "5".into(),
            ],
            "cannot be used with",
        ),
        (
            vec![health.clone(), "--threshold".into(), "p95 < 300".into()],
            "has no unit",
        ),
        (
            vec![health.clone(), "--stream".into()],
            "apply to a query URL",
        ),
        (
            vec![health.clone(), "--duration".into(), "soon".into()],
            "expected a duration",
        ),
        (
            vec![
                health.clone(),
                "--requests-csv".into(),
                dir.path().join("no/such/dir.csv").display().to_string(),
            ],
            "no/such/dir.csv",
        ),
        (
            vec![health.clone(), "--report".into(), "out.txt".into()],
            "expected a file name ending in .json, .md, .html, .hlog or .csv",
        ),
        // stderr is a pipe here: no terminal to draw on.
        (
            vec![health.clone(), "--tui".into()],
            "--tui draws on stderr",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["quick".to_string()];
        all.extend(args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let o = loadgen(&refs).await;
        assert_eq!(o.status.code(), Some(2), "{all:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(want),
            "{all:?}: {}",
            text(&o.stderr)
        );
    }
    // A taken port fails before any request is sent.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let before = srv.hits.load(std::sync::atomic::Ordering::Relaxed);
    let o = loadgen(&["quick", &health, "--metrics-listen", &addr]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(&format!("--metrics-listen {addr}")),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(srv.hits.load(std::sync::atomic::Ordering::Relaxed), before);
}

/// The value of the first sample line of `series` (name and labels, as
/// written) in an OpenMetrics text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .trim()
            .split(' ')
            .next()?
            .parse()
            .ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_follows_the_run() {
    let srv = TestServer::start(Duration::from_millis(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let p = profile(
        dir.path(),
        "two.toml",
        "model = \"open\"\n[[stages]]\nname = \"first\"\nduration = \"2s\"\nrate = 40\n\
         [[stages]]\nname = \"second\"\nduration = \"2s\"\nrate = 80\n\
         [[scenarios]]\nkind = \"health\"\nweight = 3\n[[scenarios]]\nkind = \"status\"\n",
    );
    let exporter = Exporter::bind("127.0.0.1:0".parse().unwrap(), &srv.base, "t1").unwrap();
    let url = format!("http://{}/metrics", exporter.local_addr().unwrap());
    let mut o = RunOptions::new(p, &srv.base);
    o.setup = false;
    o.instance = "t1".into();
    o.consumers.push(Box::new(exporter));
    let run = tokio::spawn(loadgen::run::run_full(o));
    let client = reqwest::Client::new();
    let scrape = |at: u64| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            tokio::time::sleep(Duration::from_millis(at)).await;
            let r = client.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/openmetrics-text")
            );
            r.text().await.unwrap()
        }
    };
    let first = scrape(1500).await;
    let second = scrape(1500).await;
    let finished = run.await.unwrap().unwrap();
    assert!(finished.consumer_errors.is_empty());
    let report = finished.report;

    assert_eq!(sample(&first, "loadgen_stage "), Some(1.0), "{first}");
    assert_eq!(sample(&second, "loadgen_stage "), Some(2.0), "{second}");
    assert_eq!(
        sample(&first, "loadgen_target_load "),
        Some(40.0),
        "{first}"
    );
    let ok = "loadgen_requests_total{transaction=\"health\",outcome=\"ok\"}";
    let shed = "loadgen_requests_total{transaction=\"status\",outcome=\"http_503_overloaded\"}";
    let (ok1, ok2) = (sample(&first, ok).unwrap(), sample(&second, ok).unwrap());
    assert!(ok1 > 20.0 && ok2 > ok1, "{ok1} then {ok2}");
    assert!(sample(&second, shed).unwrap() > 5.0, "{second}");
    let le = "loadgen_request_duration_seconds_bucket{le=\"0.3\",transaction=\"health\"}";
    assert!(sample(&second, le).unwrap() >= ok2, "{second}");
    let started = |stage: &str, index: u32| {
        sample(
            &second,
            &format!(
                "loadgen_stage_start_timestamp_seconds{{stage=\"{stage}\",index=\"{index}\"}}"
            ),
        )
        .unwrap()
    };
    let t0 = report.meta.started_unix_ms as f64 / 1000.0;
    assert!((started("first", 1) - t0).abs() < 0.01);
    assert!((started("second", 2) - (t0 + 2.0)).abs() < 0.01);
    assert!(
        sample(
            &first,
            "loadgen_stage_start_timestamp_seconds{stage=\"second\""
        )
        .is_none()
    );
    assert!(second.contains(&format!(
        "loadgen_run_info{{profile=\"two\",model=\"open\",target=\"{}\",instance=\"t1\"}} 1",
        srv.base
    )));
    // The endpoint goes when the run has ended.
    assert!(client.get(&url).send().await.is_err());
}

#[tokio::test]
async fn completions_and_man_pages() {
    for shell in ["bash", "zsh", "fish"] {
        let o = loadgen(&["completions", shell]).await;
        assert_eq!(o.status.code(), Some(0));
        for cmd in ["run", "quick", "merge", "metrics-listen"] {
            assert!(text(&o.stdout).contains(cmd), "{shell} lacks {cmd}");
        }
    }
    let o = loadgen(&["man"]).await;
    assert!(text(&o.stdout).contains(".TH loadgen 1"));
    let dir = tempfile::tempdir().unwrap();
    let o = loadgen(&["man", "--out-dir", dir.path().to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for page in ["loadgen.1", "loadgen-run.1", "loadgen-quick.1"] {
        assert!(dir.path().join(page).is_file(), "{page}");
    }
    let o = loadgen(&["completions", "tcsh"]).await;
    assert_eq!(o.status.code(), Some(2));
}
