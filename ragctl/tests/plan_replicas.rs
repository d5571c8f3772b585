//! `ragctl plan sweep --replicas` against the real Docker engine: a ragd
//! image built here (no pulls), replicas limited to a fifth of a core each,
//! scaled 1 → 2 → 3 through the Docker API, saturated, measured, fitted.
//!
//! Each replica runs `ragd demo` on a small folder bind-mounted read-only,
//! so a clone answers the same collection as the replica it was cloned
//! from (shared-nothing: its own index). Skipped (with a message) only when
//! there is no Docker socket; everything created is removed on drop.

mod common;

use ragkit_tests::docker as dk;
use serde_json::{Value, json};

/// One replica running `ragd demo` on `docs`, limited to `nano_cpus`.
async fn start_demo_replica(
    d: &bollard::Docker,
    project: &str,
    network: &str,
    image: &str,
    docs: &std::path::Path,
    nano_cpus: i64,
) {
    dk::start_ragd_with(
        d,
        project,
        network,
        image,
        json!({
            "Cmd": ["demo", "--docs", "/docs", "--listen", "0.0.0.0:8080", "--data-dir", "/data"],
            "Env": ["RAGD_RETRIEVAL__MODE=sparse", "RUST_LOG=warn,qdrant_edge=error"],
            "HostConfig": {
                "Binds": [format!("{}:/docs:ro", docs.display())],
                "NanoCpus": nano_cpus,
                "Memory": 536_870_912i64,
                "PidsLimit": 512
            }
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_sweep_scales_measures_fits_and_draws() {
    if !dk::docker_present() {
        eprintln!("{}", dk::skip_message());
        return;
    }
    let d = dk::connect().await;
    let project = format!("ragctl-sweep-{}", std::process::id());
    let repo = "ragkit-sweep-test";
    let cleanup = dk::Cleanup::new(&project, repo);
    dk::build_image(&d, repo, &project).await;
    dk::create_network(&d, &project, &cleanup.network).await;
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    for (name, text) in [
        (
            "scaling.md",
            "# Scaling\n\nAdd replicas behind the load balancer when the P95 latency grows. Each replica sizes its thread pools from its CPU limit.\n",
        ),
        (
            "cache.md",
            "# Cache\n\nThe query cache answers repeated questions without retrieval. Unique questions bypass it.\n",
        ),
    ] {
        std::fs::write(docs.join(name), text).unwrap();
    }
    // The container's user must read the bind-mounted folder.
    for p in [dir.path(), &docs] {
        std::process::Command::new("chmod")
            .args(["755", &p.display().to_string()])
            .status()
            .unwrap();
    }
    start_demo_replica(
        &d,
        &project,
        &cleanup.network,
        &cleanup.image,
        &docs,
        200_000_000,
    )
    .await;
    let url = dk::wait_ready(&d, &project).await;
    // ragd sized its pools for its quota (a fifth of a core), not for the
    // host's cores nor for std's rounded-up figure of one core.
    let status: Value = reqwest::get(format!("{url}/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let config = &status["config"];
    assert_eq!(config["cpus"].as_f64(), Some(0.2), "{config:#}");
    assert_eq!(config["cpus_source"], "cgroup CPU quota", "{config:#}");
    assert_eq!(config["cpu_threads"], 1, "{config:#}");
    assert_eq!(config["async_threads"], 1, "{config:#}");

    let out = dir.path().join("sweep.json");
    let svg = dir.path().join("plan.svg");
    let o = tokio::task::spawn_blocking({
        let (project, out, svg) = (project.clone(), out.clone(), svg.clone());
        move || {
            common::ragctl(
                &[
                    "-p",
                    &project,
                    "plan",
                    "sweep",
                    "--replicas",
                    "1,2,3",
                    "--collection",
                    "docs",
                    "--unique",
                    "--mode",
                    "sparse",
                    "--clients-per-replica",
                    "4",
                    "--warmup",
                    "1",
                    "--step",
                    "4",
                    "--ready-timeout",
                    "90",
                    "--users",
                    "50",
                    "--think-time",
                    "1",
                    "--out",
                    &out.display().to_string(),
                    "--chart",
                    &svg.display().to_string(),
                ],
                &[],
            )
        }
    })
    .await
    .unwrap();
    let (stdout, stderr) = (common::stdout(&o), common::stderr(&o));
    assert!(o.status.success(), "sweep failed:\n{stdout}\n{stderr}");
    eprintln!("{stderr}\n{stdout}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(file["axis"], "replicas");
    let points = file["points"].as_array().unwrap();
    let x: Vec<f64> = points
        .iter()
        .map(|p| p["throughput"].as_f64().unwrap())
        .collect();
    assert_eq!(x.len(), 3, "{file:#}");
    // Each replica is capped at a fifth of a core: three carry more than one.
    assert!(
        x[1] > x[0] && x[2] > 1.4 * x[0],
        "throughput did not rise with replicas: {x:?}\n{stderr}"
    );
    for (i, p) in points.iter().enumerate() {
        let containers = p["containers"].as_array().unwrap();
        assert_eq!(containers.len(), i + 1, "{p:#}");
        for c in containers {
            assert_eq!(c["cpu_limit"].as_f64(), Some(0.2), "{c:#}");
            let cpu = c["cpu_percent_of_limit"].as_f64().unwrap();
            assert!(cpu > 20.0 && cpu < 150.0, "CPU % of limit {cpu}: {c:#}");
            assert_eq!(c["mem_limit_bytes"].as_u64(), Some(536_870_912), "{c:#}");
            assert!(c["mem_used_bytes"].as_u64().unwrap() > 0, "{c:#}");
        }
        assert!(p["p95_ms"].as_f64().unwrap() > 0.0);
    }
    // The plan printed after the sweep, and its chart.
    assert!(stdout.contains("over replicas of ragd"), "{stdout}");
    assert!(stdout.contains("recommended:"), "{stdout}");
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg") && chart.contains("recommended"));

    // Fitting the written file again gives the same answer, and --fit-on
    // with too few counts says why.
    let again = common::ragctl(
        &[
            "plan",
            "fit",
            &out.display().to_string(),
            "--format",
            "json",
        ],
        &[],
    );
    assert!(again.status.success(), "{}", common::stderr(&again));
    let plan: Value = serde_json::from_str(&common::stdout(&again)).unwrap();
    assert_eq!(plan["rows"].as_array().unwrap().len(), 3);
    let few = common::ragctl(
        &["plan", "fit", &out.display().to_string(), "--fit-on", "1,2"],
        &[],
    );
    assert!(!few.status.success());
    assert!(
        common::stderr(&few).contains("at least 3 different replica counts"),
        "{}",
        common::stderr(&few)
    );
    drop(cleanup);
}
