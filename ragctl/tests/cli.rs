//! The ragctl binary as a user meets it: help, errors, status without Docker
//! and against a live ragd, plan from a file.

mod common;

use common::{Ragd, free_port, ragctl, stderr, stdout};
use serde_json::Value;

const NO_DOCKER: (&str, &str) = ("DOCKER_HOST", "unix:///nonexistent/ragctl-test.sock");

#[test]
fn help_teaches() {
    let o = ragctl(&["--help"], &[]);
    assert!(o.status.success());
    let h = stdout(&o);
    for want in [
        "top",
        "status",
        "scale",
        "plan",
        "DOCKER_HOST",
        "Examples:",
        "--target",
    ] {
        assert!(h.contains(want), "help lacks {want}:\n{h}");
    }
    let h = stdout(&ragctl(&["scale", "--help"], &[]));
    for want in [
        "SERVICE=N",
        "SIGTERM",
        "--dry-run",
        "--stop-timeout",
        "/ready",
    ] {
        assert!(h.contains(want), "scale help lacks {want}:\n{h}");
    }
}

#[test]
fn bad_scale_spec_is_a_usage_error() {
    let o = ragctl(&["scale", "ragd"], &[NO_DOCKER]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected SERVICE=N"), "{}", stderr(&o));
}

#[test]
fn scale_with_unreachable_engine_says_why() {
    let o = ragctl(&["scale", "ragd=2"], &[NO_DOCKER]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("cannot reach the Docker engine at unix:///nonexistent/ragctl-test.sock"),
        "{e}"
    );
}

#[test]
fn status_without_docker_and_with_ragd_down() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let o = ragctl(
        &["status", "--json", "--interval", "0.2", "--target", &dead],
        &[NO_DOCKER],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["docker"]["reachable"], false);
    assert!(
        v["docker"]["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach the Docker engine")
    );
    assert_eq!(v["replicas"][0]["url"], dead.as_str());
    assert_eq!(v["replicas"][0]["up"], false);
    assert!(v["alerts"].to_string().contains("down"), "{}", v["alerts"]);
    assert!(v["host"]["cpus"].as_u64().unwrap() >= 1);
    assert!(v["host"]["mem_total_bytes"].as_u64().unwrap() > 0);
    // human output says the same
    let o = ragctl(
        &["status", "--interval", "0.2", "--target", &dead],
        &[NO_DOCKER],
    );
    let t = stdout(&o);
    assert!(t.contains("Docker unavailable: cannot reach"), "{t}");
    assert!(t.contains("DOWN"), "{t}");
    // --check: the same report, and exit status 1 because an alert fires.
    let o = ragctl(
        &[
            "status",
            "--check",
            "--json",
            "--interval",
            "0.2",
            "--target",
            &dead,
        ],
        &[NO_DOCKER],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("one JSON report, no second error");
    assert!(v["alerts"].to_string().contains("down"), "{v}");
    assert!(stderr(&o).contains("alert(s) firing"), "{}", stderr(&o));
}

#[test]
fn status_reads_a_live_ragd() {
    let ragd = Ragd::start();
    let o = ragctl(
        &[
            "status",
            "--json",
            "--interval",
            "0.5",
            "--target",
            &ragd.url,
        ],
        &[NO_DOCKER],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let r = &v["replicas"][0];
    assert_eq!(r["up"], true, "{r}");
    assert_eq!(r["ready"], true, "{r}");
    assert_eq!(r["state"], "ok");
    assert_eq!(
        r["requests_per_sec"], 0.0,
        "the console's own polling is not counted"
    );
    // Nothing fires on a healthy replica: --check exits 0.
    let o = ragctl(
        // (the host's CPU alert off: other tests may load it meanwhile)
        &[
            "status",
            "--check",
            "--cpu-alert",
            "100",
            "--mem-alert",
            "100",
            "--interval",
            "0.2",
            "--target",
            &ragd.url,
        ],
        &[NO_DOCKER],
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let pools = r["pools"].as_array().unwrap();
    assert!(
        pools
            .iter()
            .any(|p| p["name"] == "metadata" && p["max"].as_u64() > Some(0)),
        "{r}"
    );
}

#[test]
fn plan_fit_from_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("points.csv");
    std::fs::write(
        &csv,
        "concurrency,throughput,p95_ms\n1,65,20\n18,996,40\n36,1652,50\n72,1853,90\n108,1829,140\n144,1775,200\n216,1702,300\n",
    )
    .unwrap();
    let p = csv.to_str().unwrap();
    let o = ragctl(
        &[
            "plan",
            "fit",
            p,
            "--users",
            "5000",
            "--think-time",
            "2",
            "--p95",
            "150",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let t = stdout(&o);
    for want in [
        "USL fit (7 points",
        "peak:",
        "ragd replicas:",
        "DB connections:",
        "* fitted",
    ] {
        assert!(t.contains(want), "plan lacks {want}:\n{t}");
    }
    let o = ragctl(
        &["plan", "fit", p, "--users", "5000", "--format", "json"],
        &[],
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["capacity"]["replicas"].as_u64().unwrap() >= 1);
    let o = ragctl(&["plan", "fit", p, "--format", "markdown"], &[]);
    assert!(stdout(&o).contains("| N | measured X |"), "{}", stdout(&o));
    // too few points
    std::fs::write(&csv, "1,65\n18,996\n").unwrap();
    let o = ragctl(&["plan", "fit", p], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("at least 6"), "{}", stderr(&o));
}

#[test]
fn completions_and_man_pages() {
    for shell in ["bash", "zsh", "fish"] {
        let o = ragctl(&["completions", shell], &[]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        for cmd in ["top", "status", "scale", "plan"] {
            assert!(stdout(&o).contains(cmd), "{shell} completions lack {cmd}");
        }
    }
    let o = ragctl(&["completions", "csh"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("possible values"), "{}", stderr(&o));
    let o = ragctl(&["man"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(".TH ragctl 1"), "{}", stdout(&o));
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let o = ragctl(&["man", "--out-dir", pages.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for page in ["ragctl.1", "ragctl-top.1", "ragctl-plan-fit.1"] {
        let text = std::fs::read_to_string(pages.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    let o = ragctl(&["man", "--out-dir", "/dev/null/x"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/dev/null/x"), "{}", stderr(&o));
}
