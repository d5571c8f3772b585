//! Engine tests against a tiny local server: open-model rate accuracy,
//! stage timing, coordinated-omission correction under a stall, threshold
//! verdicts, error kinds, partial reports, merging, and the closed model
//! on goose's test plan.

mod common;

use std::time::Duration;

use common::{TestServer, profile};
use loadgen::record::Record;
use loadgen::report::{Report, merge};
use loadgen::stats::RunAcc;
use loadgen::{RunOptions, run};

fn opts(p: loadgen::Profile, base: &str) -> RunOptions {
    let mut o = RunOptions::new(p, base);
    o.instance = "test".into();
    o.setup = false;
    o
}

/// Achieved arrival rate within 2% of the target, counted from the actual
/// send times of the raw records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_hits_its_arrival_rate_within_two_percent() {
    let srv = TestServer::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let p = profile(
        dir.path(),
        "rate.toml",
        "model = \"open\"\nmax_in_flight = 200\n[[stages]]\nduration = \"3s\"\nrate = 200\n[[scenarios]]\nkind = \"health\"\n",
    );
    let (tap, mut rx) = loadgen::record::channel();
    let mut o = opts(p, &srv.base);
    o.tap = Some(tap);
    let report = run(o).await.unwrap();
    let mut recs: Vec<Record> = Vec::new();
    while let Ok(r) = rx.try_recv() {
        recs.push(r);
    }
    assert_eq!(recs.len(), 600, "3 s at 200/s");
    assert_eq!(report.total.count, 600);
    assert_eq!(report.total.failed, 0, "{:?}", report.total.errors);
    let first = recs.iter().map(|r| r.start_us).min().unwrap();
    let last = recs.iter().map(|r| r.start_us).max().unwrap();
    let achieved = 599.0 / ((last - first) as f64 / 1e6);
    assert!(
        (achieved - 200.0).abs() / 200.0 < 0.02,
        "achieved {achieved:.2}/s"
    );
    let reported = report.stages[0].achieved_arrival_rate.unwrap();
    assert!(
        (reported - 200.0).abs() / 200.0 < 0.02,
        "reported {reported:.2}/s"
    );
    assert_eq!(report.meta.stop_reason, "completed");
    assert!(report.passed, "no thresholds: nothing fails");
}

/// Two constant stages: each gets exactly its share of arrivals, and the
/// second starts on time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_stages_start_on_time_with_their_rates() {
    let srv = TestServer::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let p = profile(
        dir.path(),
        "stages.toml",
        "model = \"open\"\n[[stages]]\nname = \"slow\"\nduration = \"1s\"\nrate = 50\n\
         [[stages]]\nname = \"fast\"\nduration = \"1s\"\nrate = 150\n\
         [[stages]]\nname = \"ramp\"\nduration = \"1s\"\nrate = 0\nramp_to = 100\n[[scenarios]]\nkind = \"health\"\n",
    );
    let report = run(opts(p, &srv.base)).await.unwrap();
    let counts: Vec<u64> = report.stages.iter().map(|s| s.stats.count).collect();
    assert_eq!(counts, [50, 150, 50]);
    let second_starts = report.stages[1].first_send_us.unwrap() as f64 / 1e6;
    assert!(
        (1.0..1.1).contains(&second_starts),
        "stage 2 started at {second_starts} s"
    );
    let third_starts = report.stages[2].first_send_us.unwrap() as f64 / 1e6;
    assert!(
        (2.0..2.1).contains(&third_starts),
        "stage 3 started at {third_starts} s"
    );
    assert!(
        (2.5..6.0).contains(&report.elapsed_s),
        "{}",
        report.elapsed_s
    );
}

/// The server stalls for 800 ms while only 4 requests may be in flight:
/// arrivals pile up behind them. Counting from the intended start exposes
/// the queue; counting from the send would hide it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_up_as_coordinated_omission_correction() {
    let srv = TestServer::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let p = profile(
        dir.path(),
        "stall.toml",
        "model = \"open\"\nmax_in_flight = 4\nthresholds = [\"p90 < 100ms\"]\n\
         [[stages]]\nduration = \"2s\"\nrate = 200\n[[scenarios]]\nkind = \"health\"\n",
    );
    let stall = srv.stall.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stall.send_replace(true);
        tokio::time::sleep(Duration::from_millis(800)).await;
        stall.send_replace(false);
    });
    let report = run(opts(p, &srv.base)).await.unwrap();
    let co = &report.coordinated_omission;
    assert_eq!(report.total.count, 400);
    assert!(co.applied, "{co:?}");
    assert!(co.late_percent > 20.0, "{co:?}");
    assert!(co.max_lag_ms > 400.0, "{co:?}");
    let corrected = &report.total.latency_ms;
    let uncorrected = &report.total.service_ms;
    assert!(corrected.p90 > 200.0, "corrected p90 {}", corrected.p90);
    assert!(
        uncorrected.p90 < corrected.p90 / 2.0,
        "uncorrected p90 {} vs {}",
        uncorrected.p90,
        corrected.p90
    );
    // The SLO is judged on corrected latency, so the stall fails it.
    assert!(!report.passed);
    assert!(report.to_text().contains("coordinated omission: CORRECTED"));
}

/// Thresholds on both sides, with margins, errors by kind and the JSON
/// report; then the same through the binary: exit status 1 on FAIL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_verdicts_and_exit_status() {
    let srv = TestServer::start(Duration::from_millis(5)).await;
    let dir = tempfile::tempdir().unwrap();
    let text = "model = \"open\"\nquestions = \"questions.txt\"\n\
        thresholds = [\"p95 < 5s\", \"rps >= 1\", \"query: error_rate < 0.1%\", \"error_rate < 0.1%\", \"health: p50 < 1us\"]\n\
        [[stages]]\nduration = \"1s\"\nrate = 60\n\
        [[scenarios]]\nkind = \"query\"\nweight = 2\n\
        [[scenarios]]\nkind = \"health\"\nweight = 1\n\
        [[scenarios]]\nkind = \"status\"\nweight = 1\n";
    let p = profile(dir.path(), "verdicts.toml", text);
    let report = run(opts(p, &srv.base)).await.unwrap();
    let pass: Vec<bool> = report.thresholds.iter().map(|v| v.pass).collect();
    assert_eq!(
        pass,
        [true, true, true, false, false],
        "{:#?}",
        report.thresholds
    );
    assert!(report.thresholds[0].margin.unwrap() > 4000.0);
    assert!(report.thresholds[4].margin.unwrap() < 0.0);
    assert!(!report.passed);
    let status = report
        .transactions
        .iter()
        .find(|t| t.name == "status")
        .unwrap();
    assert_eq!(
        status.errors.get("http_503_overloaded"),
        Some(&status.count),
        "{:?}",
        status.errors
    );
    assert!(status.count > 0);
    let query = report
        .transactions
        .iter()
        .find(|t| t.name == "query")
        .unwrap();
    assert_eq!(query.failed, 0);
    assert!(
        query.latency_ms.p50 >= 5.0,
        "latency includes the 5 ms delay: {}",
        query.latency_ms.p50
    );
    let text_report = report.to_text();
    assert!(text_report.contains("RESULT: FAIL"), "{text_report}");
    assert!(text_report.contains("http_503_overloaded"));

    // The same profile through the binary, with every report format.
    let path = dir.path().join("verdicts.toml");
    let json = dir.path().join("out.json");
    let md = dir.path().join("out.md");
    let html = dir.path().join("out.html");
    let hlog = dir.path().join("out.hlog");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"));
    cmd.args([
        "run",
        path.to_str().unwrap(),
        "--target",
        &srv.base,
        "--no-setup",
        "--json",
        "--quiet",
    ]);
    for f in [&json, &md, &html, &hlog] {
        cmd.arg("--report").arg(f);
    }
    let out = cmd.output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Report = serde_json::from_slice(&out.stdout).expect("--json prints the report");
    assert_eq!(printed.schema, "loadgen-report/1");
    assert!(!printed.passed);
    let written = loadgen::read_report(&json).unwrap();
    assert_eq!(written.total.count, printed.total.count);
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("| `p95 < 5s` |")
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<svg")
            && page.contains("Latency percentiles over time")
            && page.contains("Throughput over time")
    );
    let log = loadgen::hdrlog::read(&hlog).unwrap();
    let logged: u64 = log.iter().map(|(_, iv)| iv.count).sum();
    assert_eq!(
        logged, printed.total.count,
        "the interval log holds every request"
    );

    // Passing thresholds exit 0.
    let ok = dir.path().join("ok.toml");
    std::fs::write(
        &ok,
        text.replace(", \"error_rate < 0.1%\", \"health: p50 < 1us\"", ""),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            ok.to_str().unwrap(),
            "--target",
            &srv.base,
            "--no-setup",
            "--quiet",
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("RESULT: PASS") && stdout.contains("PASS  p95 < 5s"),
        "{stdout}"
    );
}

/// A stop in the middle (what Ctrl-C sends) ends the run cleanly with a
/// partial report; the binary exits 130 on SIGINT and still prints it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interruption_gives_a_partial_report() {
    let srv = TestServer::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let p = profile(
        dir.path(),
        "long.toml",
        "model = \"open\"\n[[stages]]\nduration = \"60s\"\nrate = 50\n[[scenarios]]\nkind = \"health\"\n",
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(None);
    let mut o = opts(p, &srv.base);
    o.stop = Some(stop_rx);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let _ = stop_tx.send(Some("interrupted".into()));
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stop_tx);
    });
    let started = std::time::Instant::now();
    let report = run(o).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(report.meta.partial);
    assert_eq!(report.meta.stop_reason, "interrupted");
    assert!(
        (30..=70).contains(&report.total.count),
        "{}",
        report.total.count
    );

    let path = dir.path().join("long.toml");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            path.to_str().unwrap(),
            "--target",
            &srv.base,
            "--no-setup",
            "--quiet",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("interrupted (PARTIAL)"), "{stdout}");

    // Bounds: --max-requests stops the run by itself.
    let mut o = opts(Profile_load(&path), &srv.base);
    o.max_requests = Some(20);
    let r = run(o).await.unwrap();
    assert_eq!(r.total.count, 20);
    assert_eq!(r.meta.stop_reason, "max_requests");
}

#[allow(non_snake_case)]
fn Profile_load(p: &std::path::Path) -> loadgen::Profile {
    loadgen::Profile::load(p).unwrap()
}

/// Splitting one run's records over two "processes" and merging their JSON
/// reports gives exactly the single-process report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_equals_a_single_process_run() {
    let srv = TestServer::start(Duration::from_millis(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let p = profile(
        dir.path(),
        "merge.toml",
        "model = \"open\"\nquestions = \"questions.txt\"\nthresholds = [\"p95 < 1s\", \"error_rate < 50%\"]\n\
         [[stages]]\nduration = \"1s\"\nrate = 100\n[[stages]]\nduration = \"1s\"\nrate = 0\nramp_to = 200\n\
         [[scenarios]]\nkind = \"query\"\nweight = 3\n[[scenarios]]\nkind = \"health\"\nweight = 1\n[[scenarios]]\nkind = \"status\"\nweight = 1\n",
    );
    let (tap, mut rx) = loadgen::record::channel();
    let mut o = opts(p, &srv.base);
    o.tap = Some(tap);
    let single = run(o).await.unwrap();
    let mut recs = Vec::new();
    while let Ok(r) = rx.try_recv() {
        recs.push(r);
    }
    assert_eq!(recs.len() as u64, single.total.count);

    let names: Vec<String> = single.transactions.iter().map(|t| t.name.clone()).collect();
    let new_acc = || {
        RunAcc::new(
            single.meta.started_unix_ms,
            names.clone(),
            single.stages.len(),
        )
    };
    let (mut a, mut b, mut whole) = (new_acc(), new_acc(), new_acc());
    for (i, r) in recs.iter().enumerate() {
        whole.add(r);
        if i % 3 == 0 { a.add(r) } else { b.add(r) }
    }
    let rebuilt = Report::build(single.meta.clone(), &whole);
    assert_eq!(
        rebuilt, single,
        "the report is a pure function of the records"
    );

    let mut ma = single.meta.clone();
    ma.instances = vec!["a".into()];
    let mut mb = single.meta.clone();
    mb.instances = vec!["b".into()];
    // Each "process" ran half the load: --user-scale 0.5 halves its plan.
    for m in [&mut ma, &mut mb] {
        m.user_scale = 0.5;
        for st in &mut m.stages {
            st.load_from /= 2.0;
            st.load_to /= 2.0;
        }
    }
    let ra = Report::build(ma, &a);
    let rb = Report::build(mb, &b);
    // Through JSON files, as `loadgen merge` reads them.
    let pa = dir.path().join("a.json");
    let pb = dir.path().join("b.json");
    loadgen::write_report_file(&ra, &pa).unwrap();
    loadgen::write_report_file(&rb, &pb).unwrap();
    let merged = merge(&[
        loadgen::read_report(&pa).unwrap(),
        loadgen::read_report(&pb).unwrap(),
    ])
    .unwrap();
    assert_eq!(merged.total, single.total);
    assert_eq!(merged.transactions, single.transactions);
    assert_eq!(merged.stages, single.stages);
    assert_eq!(merged.timeline, single.timeline);
    assert_eq!(merged.thresholds, single.thresholds);
    assert_eq!(merged.meta.instances, ["a", "b"]);
    assert_eq!(merged.meta.user_scale, 1.0, "two halves make the whole run");
    assert_ne!(ra.total.count, single.total.count);

    // HDR interval logs merge to the same per-second histograms.
    let ha = dir.path().join("a.hlog");
    let hb = dir.path().join("b.hlog");
    loadgen::write_report_file(&ra, &ha).unwrap();
    loadgen::write_report_file(&rb, &hb).unwrap();
    let logs = loadgen::hdrlog::merge_logs(&[ha, hb]).unwrap();
    let per_second: Vec<(u64, u64)> = logs.iter().map(|(t, iv)| (*t, iv.count)).collect();
    let expected: Vec<(u64, u64)> = single.timeline.iter().map(|i| (i.t, i.count)).collect();
    assert_eq!(per_second, expected);
    for ((_, iv), s) in logs.iter().zip(&single.timeline) {
        assert_eq!(loadgen::stats::encode(&iv.latency), s.hist);
    }

    // `loadgen compare` shows the deltas.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["compare", pa.to_str().unwrap(), pb.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("p95 ms") && text.contains("req/s") && text.contains('%'),
        "{text}"
    );
}

/// The closed model on goose's test plan: users ramp 0 -> 2 -> hold -> 6,
/// and throughput follows the user count stage by stage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_model_follows_goose_test_plan() {
    let srv = TestServer::start(Duration::from_millis(2)).await;
    let dir = tempfile::tempdir().unwrap();
    let p = profile(
        dir.path(),
        "closed.toml",
        "model = \"closed\"\nthresholds = [\"p95 < 2s\"]\n[think_time]\nmin = \"40ms\"\nmax = \"60ms\"\n\
         [[stages]]\nduration = \"1s\"\nusers = 2\n[[stages]]\nduration = \"2s\"\nusers = 2\n\
         [[stages]]\nduration = \"1s\"\nusers = 6\n[[stages]]\nduration = \"2s\"\nusers = 6\n\
         [[scenarios]]\nkind = \"health\"\n",
    );
    let report = run(opts(p, &srv.base)).await.unwrap();
    assert_eq!(report.meta.test_plan, "2,1;2,2;6,1;6,2;0,0");
    assert_eq!(report.meta.stop_reason, "completed", "{}", report.to_text());
    assert_eq!(report.total.failed, 0, "{:?}", report.total.errors);
    let two = report.stages[1].stats.rps;
    let six = report.stages[3].stats.rps;
    // ~2 users / ~55 ms per cycle = ~36 req/s; 6 users: ~3x that.
    assert!(two > 15.0, "2 users: {two} req/s");
    assert!(six > two * 1.8, "6 users: {six} req/s vs 2 users: {two}");
    assert!(
        (5.0..12.0).contains(&report.elapsed_s),
        "elapsed {}",
        report.elapsed_s
    );
    assert!(report.passed);
    assert!(!report.coordinated_omission.applied);

    // Through the binary: goose's own notes must not leak into --json.
    let short = dir.path().join("short.toml");
    std::fs::write(
        &short,
        "model = \"closed\"\n[[stages]]\nduration = \"1s\"\nusers = 1\n[[scenarios]]\nkind = \"health\"\n",
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            short.to_str().unwrap(),
            "--target",
            &srv.base,
            "--no-setup",
            "--json",
            "--quiet",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is only the JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(printed.meta.model, "closed");
    assert!(printed.total.count > 0);
}

/// `stop_on_breach`: stage 2 (the server slows down) breaks the SLO; the
/// run stops there and the report names the stage and its load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_on_breach_names_the_stage_where_the_slo_broke() {
    let srv = TestServer::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let p = profile(
        dir.path(),
        "breach.toml",
        "model = \"open\"\nmax_in_flight = 2\nthresholds = [\"p95 < 100ms\"]\nstop_on_breach = true\n\
         [[stages]]\nname = \"easy\"\nduration = \"1s\"\nrate = 20\n\
         [[stages]]\nname = \"hard\"\nduration = \"1s\"\nrate = 40\n\
         [[stages]]\nname = \"never\"\nduration = \"5s\"\nrate = 40\n[[scenarios]]\nkind = \"health\"\n",
    );
    let stall = srv.stall.clone();
    tokio::spawn(async move {
        // Stall the middle of stage 2 (t0 is a few ms after this starts).
        tokio::time::sleep(Duration::from_millis(1300)).await;
        stall.send_replace(true);
        tokio::time::sleep(Duration::from_millis(500)).await;
        stall.send_replace(false);
    });
    let report = run(opts(p, &srv.base)).await.unwrap();
    assert_eq!(
        report.meta.stop_reason,
        "slo_breach",
        "{}",
        report.to_text()
    );
    assert!(report.meta.partial);
    let b = report.slo_break.as_ref().expect("a stage broke the SLO");
    assert_eq!((b.stage, b.stage_name.as_str(), b.load), (1, "hard", 40.0));
    assert!(report.stages[0].verdicts.iter().all(|v| v.pass));
    assert!(
        report.stages[2].stats.count < 100,
        "stopped early in stage 3: {}",
        report.stages[2].stats.count
    );
    assert!(report.elapsed_s < 5.0, "{}", report.elapsed_s);
    assert!(
        report
            .to_text()
            .contains("SLO first broke in stage 2 (\"hard\") at 40 arrivals/s"),
        "{}",
        report.to_text()
    );
}

/// Each closed-model user keeps one connection alive for all its requests,
/// the open model at most `max_in_flight`; when the server ends
/// connections (`Connection: close` every 3rd response) loadgen opens new
/// ones and no request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_kept_alive_and_reopened_when_closed() {
    let dir = tempfile::tempdir().unwrap();
    let closed = profile(
        dir.path(),
        "closed.toml",
        "model = \"closed\"\n[think_time]\nmin = \"5ms\"\nmax = \"10ms\"\n\
         [[stages]]\nduration = \"2s\"\nusers = 4\n[[scenarios]]\nkind = \"health\"\n",
    );
    let open = profile(
        dir.path(),
        "open.toml",
        "model = \"open\"\nmax_in_flight = 8\n\
         [[stages]]\nduration = \"1s\"\nrate = 300\n[[scenarios]]\nkind = \"health\"\n",
    );

    // Kept alive: one connection per user (plus the start-up check's).
    let srv = common::ConnServer::start(0).await;
    let report = run(opts(closed.clone(), &srv.base)).await.unwrap();
    assert_eq!(report.total.failed, 0, "{:?}", report.total.errors);
    assert!(report.total.count > 200, "{} requests", report.total.count);
    let conns = srv.connections.load(std::sync::atomic::Ordering::Relaxed);
    assert!(conns <= 5, "{conns} connections for 4 users");
    drop(srv);

    let srv = common::ConnServer::start(0).await;
    let report = run(opts(open.clone(), &srv.base)).await.unwrap();
    assert_eq!(report.total.failed, 0, "{:?}", report.total.errors);
    assert_eq!(report.total.count, 300);
    let conns = srv.connections.load(std::sync::atomic::Ordering::Relaxed);
    assert!(conns <= 9, "{conns} connections for max_in_flight = 8");
    drop(srv);

    // Closed by the server every 3rd response: reopened, nothing fails.
    for p in [closed, open] {
        let srv = common::ConnServer::start(3).await;
        let report = run(opts(p, &srv.base)).await.unwrap();
        assert_eq!(report.total.failed, 0, "{:?}", report.total.errors);
        let conns = srv.connections.load(std::sync::atomic::Ordering::Relaxed);
        let reqs = srv.requests.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            conns * 3 >= reqs,
            "{conns} connections for {reqs} requests, 3 per connection"
        );
        assert!(report.total.count > 200, "{} requests", report.total.count);
    }
}

/// Thousands of users: goose's set-up before its clock starts stays short,
/// so the first stage's users send from its first moments. (When goose
/// built one HTTP client per user, ~2 ms each, 2000 users began their
/// ramp 4 s late and the ramp stage showed no request at all.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_users_start_their_first_stage_on_time() {
    let srv = common::ConnServer::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let p = profile(
        dir.path(),
        "many.toml",
        "model = \"closed\"\n[think_time]\nmin = \"1s\"\nmax = \"1s\"\n\
         [[stages]]\nname = \"ramp\"\nduration = \"2s\"\nusers = 1500\n\
         [[stages]]\nname = \"hold\"\nduration = \"1s\"\nusers = 1500\n\
         [[scenarios]]\nkind = \"health\"\n",
    );
    let report = run(opts(p, &srv.base)).await.unwrap();
    assert_eq!(report.total.failed, 0, "{:?}", report.total.errors);
    let ramp = &report.stages[0];
    // A linear ramp to 1500 users with 1 s of think time sends ~1500
    // requests in its 2 s; a late start sends none.
    assert!(
        ramp.stats.count > 300,
        "ramp stage: {} requests",
        ramp.stats.count
    );
    let first = ramp.first_send_us.expect("the ramp sent requests");
    assert!(
        first < 1_000_000,
        "first request {first} µs after the start"
    );
}
