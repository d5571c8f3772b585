//! CPU and memory of the target's containers (`[resources]`, `--watch`)
//! and the `cpu` / `memory` thresholds judged on them.
//!
//! Against the real Docker engine: a ragd container built here from the
//! workspace's debug binary (no pulls; `ragkit_tests::docker`), labelled as
//! compose labels a `ragd` service, published on 127.0.0.1 only, held to
//! 0.2 CPU. A light load passes `cpu < 80%` and `memory < 80%`; a
//! CPU-heavy one (ingests: every document embedded) fails `cpu < 50%` on
//! purpose. Skipped (with a message) only when there is no Docker socket;
//! everything created is removed on drop, also when an assertion fails.
//!
//! Without Docker: an engine that cannot be reached, and resource rules
//! with nothing watched, leave the rules not judged and the run passing,
//! each said once on stderr; the shipped 1000-users profile against a
//! host-process ragd.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestServer, profile};
use loadgen::report::{NOT_WATCHED, Report, merge};
use loadgen::resources::Watch;
use loadgen::{Profile, RunOptions, run};
use ragkit_tests::docker::{
    Cleanup, build_image, connect, create_network, docker_present, skip_message, start_ragd,
    wait_ready,
};
use serde_json::{Value, json};

fn loadgen(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    c.args(args)
        .env_remove("LOADGEN_TARGET")
        .env_remove("LOADGEN_INSTANCE")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("loadgen runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An engine that does not answer: the run completes, says so once on
/// stderr and in the report, and the rules are not judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_engine_leaves_the_rules_not_judged() {
    let srv = TestServer::start(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = loadgen(
        &[
            "quick",
            &format!("{}/health", srv.base),
            "--rate",
            "20",
            "--duration",
            "2s",
            "--threshold",
            "cpu < 80%",
            "--threshold",
            "p95 < 1s",
            "--watch",
            "shop/ragd",
            "--quiet",
            "--report",
            out.to_str().unwrap(),
        ],
        &[("DOCKER_HOST", "unix:///nonexistent/loadgen-test.sock")],
    );
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.matches("not measured").count(),
        1,
        "said once: {stderr}"
    );
    assert!(
        stderr.contains("cannot reach the Docker engine at unix:///nonexistent/loadgen-test.sock"),
        "{stderr}"
    );
    assert!(
        stdout.contains("WARNING resources: cannot reach"),
        "{stdout}"
    );
    assert!(stdout.contains("SKIP  cpu < 80%"), "{stdout}");
    assert!(stdout.contains("RESULT: PASS"), "{stdout}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["resources"]["watch"], "shop/ragd");
    assert!(
        v["resources"]["note"]
            .as_str()
            .unwrap()
            .contains("cannot reach the Docker engine"),
        "{}",
        v["resources"]
    );
    assert_eq!(v["thresholds"][0]["skipped"], true);
    assert_eq!(v["thresholds"][0]["pass"], true);
    assert!(v["thresholds"][1].get("skipped").is_none());
    assert_eq!(v["passed"], true);
}

/// Resource rules with nothing watched: not judged, one warning, exit 0;
/// a report without resource rules and without a watch has no
/// `resources` key at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_rules_without_a_watch_warn_once_and_pass() {
    let srv = TestServer::start(Duration::ZERO).await;
    let url = format!("{}/health", srv.base);
    let base = [
        "quick",
        &url,
        "--rate",
        "20",
        "--duration",
        "1s",
        "--quiet",
        "--json",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--threshold",
        "cpu < 80%",
        "--threshold",
        "memory.max < 90%",
    ]);
    let o = loadgen(&args, &[]);
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.matches("not judged").count(),
        1,
        "one warning: {stderr}"
    );
    assert!(stderr.contains(NOT_WATCHED), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["resources"]["watch"], Value::Null);
    assert_eq!(v["resources"]["note"], NOT_WATCHED);
    for t in v["thresholds"].as_array().unwrap() {
        assert_eq!(t["skipped"], true, "{t}");
        assert_eq!(t["note"], format!("not judged: {NOT_WATCHED}"), "{t}");
    }
    let o = loadgen(&base, &[]);
    let v: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert!(v.get("resources").is_none(), "{v}");
}

/// The shipped 1000-users profile, its resource rules and `[resources]`
/// included, against ragd as a host process: the run works, the resource
/// rules are reported as not judged. (Its corpus is swapped for one small
/// file and the plan compressed, to stay within seconds.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_1000_users_profile_runs_against_a_host_ragd() {
    let dir = tempfile::tempdir().unwrap();
    let server = ragkit_tests::Server::start(dir.path()).await;
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(
        corpus.join("ragd.md"),
        "# ragd\n\nragd answers questions about documents with citations.\n",
    )
    .unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../profiles/1000-users");
    let mut p = Profile::load(&path).unwrap();
    assert!(p.resources.is_some(), "the profile watches compose's ragd");
    p.setup_corpus = Some(corpus);
    let mut o = RunOptions::new(p, &server.base);
    o.instance = "host".into();
    o.time_scale = 0.004;
    o.user_scale = 0.004;
    // The profile's ragd/ragd, made unique: a compose stack of that name
    // running here must not be measured by this test.
    o.watch = Some(
        format!("loadgen-none-{}/ragd", std::process::id())
            .parse()
            .unwrap(),
    );
    o.max_duration = Some(Duration::from_secs(30));
    let report = run(o).await.unwrap();
    let text = report.to_text();
    assert!(report.total.count > 0, "{text}");
    let res = report.resources.as_ref().expect("resources section");
    assert!(
        res.note
            .as_deref()
            .unwrap()
            .contains("no running container of compose service \"ragd\""),
        "{res:?}"
    );
    for rule in ["cpu < 80%", "memory < 80%"] {
        let v = report.thresholds.iter().find(|v| v.rule == rule).unwrap();
        assert!(v.skipped && v.pass, "{v:?}");
    }
    assert!(text.contains("SKIP  cpu < 80%"), "{text}");
    assert!(
        report
            .to_markdown()
            .contains("| `cpu < 80%` | not judged |  | NOT JUDGED |")
    );
    server.stop().await;
}

/// Light load passes, heavy load fails `cpu < 50%`, against one ragd
/// container held to 0.2 CPU; the report carries its figures, and a merge
/// keeps and re-judges them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_and_memory_of_a_ragd_container_are_judged() {
    if !docker_present() {
        eprintln!("{}", skip_message());
        return;
    }
    let started = Instant::now();
    let project = format!("loadgenres{}", std::process::id());
    let cleanup = Cleanup::new(&project, "loadgen-test-ragd");
    let d = connect().await;
    build_image(&d, "loadgen-test-ragd", &project).await;
    create_network(&d, &project, &cleanup.network).await;
    let id = start_ragd(
        &d,
        &project,
        &cleanup.network,
        &cleanup.image,
        json!({"Memory": 1_073_741_824i64}),
    )
    .await;
    let url = wait_ready(&d, &project).await;
    // Started without a CPU limit (loading the model is slow at 0.2 CPU),
    // then held to 0.2 CPU as `docker update --cpus 0.2` does.
    let update: ragkit_docker::bollard::models::ContainerUpdateBody =
        serde_json::from_value(json!({"NanoCpus": 200_000_000i64})).unwrap();
    d.update_container(&id, update)
        .await
        .expect("docker update");
    let name = format!("{project}-ragd-1");
    let dir = tempfile::tempdir().unwrap();

    // Light: a few health probes a second, through the command line's --watch.
    let light = common::write(
        dir.path(),
        "light.toml",
        "name = \"light\"\nmodel = \"open\"\nthresholds = [\"cpu < 80%\", \"memory < 80%\"]\n[[stages]]\nname = \"calm\"\nduration = \"8s\"\nrate = 4\n[[scenarios]]\nkind = \"health\"\n",
    );
    let out = dir.path().join("light.json");
    let watch = format!("{project}/ragd");
    let o = loadgen(
        &[
            "run",
            light.to_str().unwrap(),
            "--target",
            &url,
            "--watch",
            &watch,
            "--quiet",
            "--report",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    eprintln!("{stdout}");
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    let light: Report = loadgen::read_report(&out).unwrap();
    let res = light.resources.as_ref().unwrap();
    assert_eq!(res.watch.as_deref(), Some(watch.as_str()));
    assert_eq!(res.containers.len(), 1, "{res:?}");
    assert_eq!(res.containers[0].name, name);
    assert_eq!(res.containers[0].cpu_limit_cores, Some(0.2));
    assert_eq!(res.containers[0].mem_limit_bytes, Some(1 << 30));
    let calm = &res.stages[0].containers[0];
    assert!(calm.samples >= 3, "about one a second: {calm:?}");
    assert!(calm.mem_pct.mean > 0.5, "ragd holds its model: {calm:?}");
    for v in &light.thresholds {
        assert!(v.pass && !v.skipped && v.observed.is_some(), "{v:?}");
        assert_eq!(v.note, format!("worst: {name} in \"calm\""));
    }
    assert!(
        stdout.contains(&format!("resources of {watch} (docker stats")),
        "{stdout}"
    );
    assert!(stdout.contains(&name), "{stdout}");

    // Heavy: 6 users without a pause, asking questions no cache has seen
    // and ingesting documents: every one embedded, on 0.2 CPU.
    let heavy = profile(
        dir.path(),
        "heavy.toml",
        "name = \"heavy\"\nmodel = \"closed\"\ncollection = \"res\"\nquestions = \"questions.txt\"\ntimeout = \"10s\"\nthresholds = [\"cpu < 50%\", \"memory < 80%\", \"busy: memory.max < 50%\"]\n[[stages]]\nname = \"busy\"\nduration = \"10s\"\nusers = 6\n[[scenarios]]\nkind = \"query\"\nunique = true\nweight = 3\n[[scenarios]]\nkind = \"ingest\"\n",
    );
    let mut o = RunOptions::new(heavy, &url);
    o.instance = "heavy".into();
    o.watch = Some(watch.parse::<Watch>().unwrap());
    o.max_duration = Some(Duration::from_secs(25));
    let report = run(o).await.unwrap();
    let text = report.to_text();
    eprintln!("{text}");
    assert!(!report.passed, "{text}");
    let verdict = |rule: &str| report.thresholds.iter().find(|v| v.rule == rule).unwrap();
    let cpu = verdict("cpu < 50%");
    assert!(!cpu.pass && !cpu.skipped, "{cpu:?}");
    assert!(cpu.observed.unwrap() >= 50.0, "{cpu:?}");
    assert!(verdict("memory < 80%").pass, "{text}");
    assert!(
        verdict("busy: memory.max < 50%").observed.is_some(),
        "{text}"
    );
    let res = report.resources.as_ref().unwrap();
    let busy = &res.stages[0];
    assert_eq!(busy.stage, "busy");
    assert_eq!(busy.containers[0].name, name);
    assert!(busy.containers[0].cpu_pct.mean >= 50.0, "{busy:?}");
    assert!(
        busy.containers[0].cpu_cores.mean <= 0.25,
        "held to 0.2 CPU: {busy:?}"
    );
    let all = busy.all.as_ref().unwrap();
    assert_eq!(all.replicas, 1);
    // The stage's verdicts say so, and where the SLO first broke.
    assert!(
        report.stages[0]
            .verdicts
            .iter()
            .any(|v| v.rule == "cpu < 50%" && !v.pass),
        "{text}"
    );
    assert_eq!(report.slo_break.as_ref().unwrap().stage_name, "busy");
    assert!(report.elapsed_s < 20.0, "bounded: {text}");
    assert!(text.contains("FAIL  cpu < 50%"), "{text}");
    let md = report.to_markdown();
    assert!(md.contains("**Resources** of"), "{md}");
    assert!(md.contains(&format!("`{name}`")), "{md}");

    // Merged (two instances that watched the same container): the figures
    // survive, each reading counted once, and are judged again.
    let merged = merge(&[report.clone(), report.clone()]).unwrap();
    let mres = merged.resources.as_ref().unwrap();
    assert_eq!(mres.stages, res.stages);
    assert!(!merged.passed);
    assert_eq!(
        merged
            .thresholds
            .iter()
            .find(|v| v.rule == "cpu < 50%")
            .unwrap()
            .observed,
        cpu.observed
    );
    assert_eq!(mres.samples, res.samples, "each reading once");
    let json = serde_json::to_string(&merged).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    let bres = back.resources.as_ref().unwrap();
    assert_eq!(
        (&bres.samples, &bres.containers),
        (&mres.samples, &mres.containers)
    );
    drop(cleanup);
    eprintln!(
        "resources test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
