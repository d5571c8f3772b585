//! The shipped profiles say what the guides say, and bad profiles are
//! refused with the file, the key and the expected form.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use loadgen::Profile;
use loadgen::profile::{Kind, Model};
use loadgen::threshold::Metric;

fn shipped(name: &str) -> Profile {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../profiles")
        .join(format!("{name}.toml"));
    Profile::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_profile_is_found_without_its_extension_as_people_type_it() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    let bare = Profile::load(&dir.join("1000-users")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bare.name, shipped("1000-users").name);
    // A name that is neither is still an error naming what was asked.
    let e = Profile::load(&dir.join("no-such-profile")).unwrap_err();
    assert!(e.to_string().contains("no-such-profile"), "{e}");
}

fn mins(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

#[test]
fn thousand_users_replays_the_k6_stages() {
    let p = shipped("1000-users");
    assert_eq!(p.model, Model::Closed);
    let st: Vec<(Duration, u64)> = p.stages.iter().map(|s| (s.duration, s.users)).collect();
    assert_eq!(
        st,
        vec![
            (mins(2), 100),
            (mins(3), 300),
            (mins(5), 500),
            (mins(5), 800),
            (mins(5), 1000),
            (mins(10), 1000)
        ]
    );
    assert_eq!(p.planned(), mins(30));
    let th: Vec<&str> = p.thresholds.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        th,
        [
            "p95 < 300ms",
            "success_rate > 95%",
            "sustained load: rps >= 500",
            "cpu < 80%",
            "memory < 80%"
        ]
    );
    // seeds/000's "CPU and memory under 80%", on compose/scale-out.yml's
    // replicas (docker-compose -p ragd).
    let w = p.resources.as_ref().expect("[resources]");
    assert_eq!(
        (w.project.as_str(), w.service.as_deref()),
        ("ragd", Some("ragd"))
    );
    assert!(p.questions.len() >= 20, "a realistic question set");
    assert!(p.think_max >= p.think_min && !p.think_max.is_zero());
}

#[test]
fn ten_k_users_ramps_to_ten_thousand_and_holds() {
    let p = shipped("10k-users");
    assert_eq!(p.model, Model::Closed);
    assert_eq!(p.peak(), 10_000.0);
    assert_eq!(p.stages.last().unwrap().users, 10_000);
    assert_eq!(
        p.stages[p.stages.len() - 2].users,
        10_000,
        "held after the ramp"
    );
    let m: Vec<(Metric, f64)> = p.thresholds.iter().map(|t| (t.metric, t.limit)).collect();
    assert_eq!(
        m,
        [
            (Metric::Latency(950), 200.0),
            (Metric::Latency(990), 500.0),
            (Metric::ErrorRate, 0.1)
        ]
    );
}

#[test]
fn five_thousand_per_minute_is_an_open_model_with_the_artillery_mix() {
    let p = shipped("5000-users-per-minute");
    assert_eq!(p.model, Model::Open);
    let st: Vec<(u64, f64)> = p
        .stages
        .iter()
        .map(|s| (s.duration.as_secs(), s.rate))
        .collect();
    assert_eq!(st, [(60, 100.0), (300, 150.0), (60, 200.0)]);
    assert!(p.stages.iter().all(|s| s.rate == s.ramp_to));
    assert_eq!(p.planned_arrivals(), 63_000.0);
    let mix: Vec<(Kind, u32)> = p.scenarios.iter().map(|s| (s.kind, s.weight)).collect();
    assert_eq!(
        mix,
        [(Kind::Health, 20), (Kind::Query, 50), (Kind::Status, 30)]
    );
    let th: Vec<&str> = p.thresholds.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(th, ["p95 < 2s", "error_rate < 0.1%"]);
}

#[test]
fn stress_goes_beyond_1000_and_stops_on_breach_and_smoke_is_short() {
    let p = shipped("stress");
    assert!(p.stop_on_breach);
    assert!(
        p.scenarios
            .iter()
            .any(|s| s.kind == Kind::Query && s.unique),
        "some questions bypass the cache"
    );
    assert!(p.peak() > 1000.0);
    assert!(!p.thresholds.is_empty());
    let s = shipped("smoke");
    assert!(s.planned() <= Duration::from_secs(10), "a few seconds");
    let kinds: Vec<Kind> = s.scenarios.iter().map(|s| s.kind).collect();
    for k in [Kind::Query, Kind::Ingest, Kind::Health, Kind::Status] {
        assert!(kinds.contains(&k), "smoke covers {k:?}");
    }
}

#[test]
fn scaling_compresses_time_and_users() {
    let p = shipped("1000-users").scaled(1.0 / 60.0, 0.1);
    assert!(
        (p.planned().as_secs_f64() - 30.0).abs() < 0.01,
        "{:?}",
        p.planned()
    );
    assert_eq!(p.peak(), 100.0);
    let o = shipped("5000-users-per-minute").scaled(0.1, 0.5);
    assert_eq!(o.stages[0].rate, 50.0);
    assert_eq!(o.stages[1].duration, Duration::from_secs(30));
}

/// Each bad profile names the file, the key and the expected form.
#[test]
fn bad_profiles_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let head = "model = \"open\"\nquestions = \"questions.txt\"\n";
    let stage = "[[stages]]\nduration = \"1s\"\nrate = 10\n";
    let scen = "[[scenarios]]\nkind = \"health\"\n";
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!("{head}{stage}{scen}colour = 3\n"),
            "colour",
            "unknown field",
        ),
        (
            format!("model = \"sideways\"\n{stage}{scen}"),
            "model",
            "expected \"closed\"",
        ),
        (format!("{stage}{scen}"), "model", "missing"),
        (
            format!("{head}[[stages]]\nduration = \"2 minutes\"\nrate = 1\n{scen}"),
            "stages[0].duration",
            "\"2m\"",
        ),
        (
            format!("{head}[[stages]]\nduration = \"1s\"\n{scen}"),
            "stages[0].rate",
            "arrivals per second",
        ),
        (
            format!("{head}[[stages]]\nduration = \"1s\"\nusers = 5\n{scen}"),
            "stages[0].users",
            "closed-model",
        ),
        (
            format!("{head}{stage}[[scenarios]]\nkind = \"search\"\n"),
            "scenarios[0].kind",
            "\"query\", \"ingest\", \"health\", \"status\"",
        ),
        (
            format!("{head}{stage}[[scenarios]]\nkind = \"health\"\nunique = true\n"),
            "scenarios[0].unique",
            "only `query` scenarios",
        ),
        (
            format!("{head}{stage}[[scenarios]]\nkind = \"query\"\ntop_k = 51\n"),
            "scenarios[0].top_k",
            "expected 1 to 50",
        ),
        (
            format!("{head}thresholds = [\"p95 < fast\"]\n{stage}{scen}"),
            "thresholds[0]",
            "METRIC OP VALUE",
        ),
        (
            format!("{head}thresholds = [\"query: p95 < 1s\"]\n{stage}{scen}"),
            "thresholds[0]",
            "neither a scenario (health) nor a stage",
        ),
        (
            format!("model = \"open\"\n{stage}[[scenarios]]\nkind = \"query\"\n"),
            "questions",
            "question set",
        ),
        (
            format!("model = \"open\"\nquestions = \"nope.txt\"\n{stage}{scen}"),
            "questions",
            "cannot read",
        ),
        (
            format!("{head}{stage}"),
            "scenarios",
            "at least one [[scenarios]]",
        ),
        (format!("{head}{scen}"), "stages", "at least one [[stages]]"),
        (
            format!(
                "model = \"closed\"\n[think_time]\nmin = \"2s\"\nmax = \"1s\"\n[[stages]]\nduration = \"1s\"\nusers = 1\n{scen}"
            ),
            "think_time.max",
            "at least think_time.min",
        ),
        (
            format!("{head}timeout = 5\n{stage}{scen}"),
            "timeout",
            "invalid type",
        ),
        (
            format!("{head}{stage}{scen}[resources]\nservice = \"ragd\"\n"),
            "resources.project",
            "missing; expected the compose project",
        ),
        (
            format!("{head}{stage}{scen}[resources]\nproject = \"ragd\"\nservice = \"a/b\"\n"),
            "resources.service",
            "expected a compose name",
        ),
        (
            format!("{head}{stage}{scen}[resources]\nproject = \"ragd\"\nservices = \"ragd\"\n"),
            "services",
            "unknown field",
        ),
        (
            format!("{head}thresholds = [\"health: cpu < 80%\"]\n{stage}{scen}"),
            "thresholds[0]",
            "CPU and memory rules are judged per stage, not per transaction",
        ),
        (
            format!("{head}thresholds = [\"cpu < 80\"]\n{stage}{scen}"),
            "thresholds[0]",
            "percentage of the container's limit",
        ),
    ];
    for (i, (text, key, expect)) in cases.iter().enumerate() {
        let path = common::write(dir.path(), &format!("bad{i}.toml"), text);
        let err = Profile::load(&path).expect_err(&format!("case {i} must fail:\n{text}"));
        let msg = err.to_string();
        assert!(
            msg.starts_with(&path.display().to_string()),
            "case {i} names the file: {msg}"
        );
        assert!(msg.contains(key), "case {i} names the key {key:?}: {msg}");
        assert!(msg.contains(expect), "case {i} says {expect:?}: {msg}");
    }
}

#[test]
fn the_check_command_validates_every_shipped_profile() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../profiles");
    let mut args = vec!["check".to_string()];
    for n in [
        "1000-users",
        "10k-users",
        "5000-users-per-minute",
        "stress",
        "smoke",
    ] {
        args.push(dir.join(format!("{n}.toml")).display().to_string());
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(&args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1000-users (closed model), 30m planned"),
        "{stdout}"
    );
    assert!(stdout.contains("about 63000 requests"), "{stdout}");

    // A bad one: exit status 2 and the file, key and form on stderr.
    let tmp = tempfile::tempdir().unwrap();
    let bad = common::write(
        tmp.path(),
        "bad.toml",
        "model = \"closed\"\n[[stages]]\nduration = \"1s\"\nusers = -3\n[[scenarios]]\nkind = \"health\"\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("check")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml")
            && stderr.contains("stages[0].users")
            && stderr.contains("0 or more"),
        "{stderr}"
    );
}
