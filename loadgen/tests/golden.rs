//! Reports and error messages, byte for byte: every rendering of a few
//! fixed runs (terminal, Markdown, HTML, JSON, compare, merge) and every
//! profile, threshold and report-file error are compared with the files in
//! `tests/golden/`. A refactor that changes a byte fails here.
//!
//! After an intended change of output, rewrite the files with
//! `LOADGEN_BLESS=1 cargo test -p loadgen --test golden` and review the diff.

mod common;

use std::path::PathBuf;

use loadgen::Profile;
use loadgen::record::{Outcome, Record};
use loadgen::report::{Meta, Report, StagePlan, compare, merge};
use loadgen::stats::RunAcc;

const T0_MS: u64 = 1_704_164_645_000;

/// Compare `actual` with `tests/golden/{name}`, or write it when blessing.
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("LOADGEN_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with LOADGEN_BLESS=1)", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the golden file at line {}:\nexpected: {:?}\nactual:   {:?}",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

fn ms(v: f64) -> u64 {
    (v * 1000.0) as u64
}

/// A deterministic open-model run: a calm first stage, a second stage that
/// breaks the latency SLO with overload errors, streamed answers on one
/// transaction and some requests sent behind schedule.
fn open_records() -> Vec<Record> {
    (0..150u64)
        .map(|i| {
            let stage = if i < 60 { 0 } else { 1 };
            let intended = if stage == 0 {
                i as f64 * 30.0
            } else {
                2000.0 + (i - 60) as f64 * 20.0
            };
            let lag = if i % 17 == 0 {
                25.0
            } else {
                (i % 5) as f64 * 0.3
            };
            let base = 5.0 + ((i * 37) % 50) as f64 + (i % 3) as f64 * 0.25;
            let latency = if stage == 0 { base } else { base * 9.0 + 40.0 };
            let txn = (i % 3) as u16;
            let start = intended + lag;
            let outcome = if stage == 1 && i % 7 == 0 {
                Outcome::Error("http_503_overloaded".into())
            } else if i % 29 == 0 {
                Outcome::Error("timeout".into())
            } else {
                Outcome::Ok
            };
            Record {
                txn,
                stage,
                intended_us: ms(intended),
                start_us: ms(start),
                first_byte_us: (txn == 1).then(|| ms(start + latency / 3.0)),
                end_us: ms(start + latency),
                outcome,
            }
        })
        .collect()
}

fn open_meta() -> Meta {
    Meta {
        profile: "golden-open".into(),
        profile_path: "profiles/golden-open.toml".into(),
        model: "open".into(),
        target: "http://127.0.0.1:9".into(),
        time_scale: 1.0,
        user_scale: 0.5,
        instances: vec!["a".into()],
        started: "2024-01-02T03:04:05+00:00".into(),
        started_unix_ms: T0_MS,
        ended_unix_ms: T0_MS + 4_500,
        planned_s: 4.0,
        stop_reason: "completed".into(),
        partial: false,
        thresholds: [
            "p95 < 300ms",
            "query: error_rate < 10%",
            "rps >= 5",
            "ttfb_p95 < 1s",
            "health: p99 <= 1s",
            "success_rate > 95%",
        ]
        .map(String::from)
        .to_vec(),
        test_plan: String::new(),
        stages: vec![
            StagePlan {
                name: "warm".into(),
                start_s: 0.0,
                end_s: 2.0,
                load_from: 10.0,
                load_to: 10.0,
            },
            StagePlan {
                name: "ramp & <break>".into(),
                start_s: 2.0,
                end_s: 4.0,
                load_from: 10.0,
                load_to: 40.0,
            },
        ],
    }
}

fn names() -> Vec<String> {
    ["query", "query_stream", "health"]
        .map(String::from)
        .to_vec()
}

fn open_report() -> Report {
    let mut acc = RunAcc::new(T0_MS, names(), 2);
    for r in open_records() {
        acc.add(&r);
    }
    Report::build(open_meta(), &acc)
}

/// A closed run cut short, merged from two instances, scaled, no thresholds.
fn closed_report() -> Report {
    let mut acc = RunAcc::new(T0_MS, vec!["health".into(), "ingest".into()], 1);
    for i in 0..40u64 {
        let start = i as f64 * 50.0;
        acc.add(&Record {
            txn: (i % 2) as u16,
            stage: 0,
            intended_us: ms(start),
            start_us: ms(start),
            first_byte_us: None,
            end_us: ms(start + 2.0 + (i % 9) as f64 * 1.5),
            outcome: if i == 13 {
                Outcome::Error("connect".into())
            } else {
                Outcome::Ok
            },
        });
    }
    let meta = Meta {
        profile: "golden-closed".into(),
        profile_path: "profiles/golden-closed.toml".into(),
        model: "closed".into(),
        target: "https://ragd.example:8443".into(),
        time_scale: 0.1,
        user_scale: 1.0,
        instances: vec!["pod-0".into(), "pod-1".into()],
        started: "2024-01-02T03:04:05+00:00".into(),
        started_unix_ms: T0_MS,
        ended_unix_ms: T0_MS + 2_100,
        planned_s: 3.0,
        stop_reason: "interrupted".into(),
        partial: true,
        thresholds: vec![],
        test_plan: "4,1s;4,2s".into(),
        stages: vec![StagePlan {
            name: "hold".into(),
            start_s: 0.0,
            end_s: 3.0,
            load_from: 0.0,
            load_to: 4.0,
        }],
    };
    Report::build(meta, &acc)
}

/// A closed run in two stages where nothing completed: every threshold
/// fails for want of data.
fn empty_report() -> Report {
    let acc = RunAcc::new(T0_MS, vec!["query".into()], 2);
    let meta = Meta {
        profile: "golden-empty".into(),
        profile_path: "golden-empty.toml".into(),
        model: "closed".into(),
        target: "http://127.0.0.1:9".into(),
        time_scale: 1.0,
        user_scale: 1.0,
        instances: vec!["x".into()],
        started: "2024-01-02T03:04:05+00:00".into(),
        started_unix_ms: T0_MS,
        ended_unix_ms: T0_MS + 1_000,
        planned_s: 2.0,
        stop_reason: "max_duration".into(),
        partial: true,
        thresholds: ["p95 < 1s", "query: rps > 1", "mean < 5ms"]
            .map(String::from)
            .to_vec(),
        test_plan: "2,1s;0,1s".into(),
        stages: vec![
            StagePlan {
                name: "up".into(),
                start_s: 0.0,
                end_s: 1.0,
                load_from: 0.0,
                load_to: 2.0,
            },
            StagePlan {
                name: "down".into(),
                start_s: 1.0,
                end_s: 2.0,
                load_from: 2.0,
                load_to: 0.0,
            },
        ],
    };
    Report::build(meta, &acc)
}

fn renderings(name: &str, r: &Report) {
    golden(&format!("{name}.txt"), &r.to_text());
    golden(&format!("{name}.md"), &r.to_markdown());
    golden(&format!("{name}.html"), &r.to_html());
    golden(&format!("{name}.csv"), &loadgen::report::per_second(r));
    golden(
        &format!("{name}.json"),
        &serde_json::to_string_pretty(r).unwrap(),
    );
}

#[test]
fn open_report_renderings() {
    renderings("open", &open_report());
}

#[test]
fn closed_report_renderings() {
    renderings("closed", &closed_report());
}

#[test]
fn empty_report_renderings() {
    renderings("empty", &empty_report());
}

#[test]
fn compare_and_merge() {
    let (open, closed) = (open_report(), closed_report());
    let mut out = compare(&open, &closed);
    out.push_str("----\n");
    out.push_str(&compare(&closed, &empty_report()));
    golden("compare.txt", &out);

    // Two halves of the open run, merged.
    let (mut a, mut b) = (
        RunAcc::new(T0_MS, names(), 2),
        RunAcc::new(T0_MS + 700, names(), 2),
    );
    for (i, r) in open_records().iter().enumerate() {
        if i % 2 == 0 {
            a.add(r);
        } else {
            let mut r = r.clone();
            for t in [&mut r.intended_us, &mut r.start_us, &mut r.end_us] {
                *t -= 700_000.min(*t);
            }
            b.add(&r);
        }
    }
    let mut ma = open_meta();
    ma.user_scale = 0.25;
    let mut mb = ma.clone();
    mb.instances = vec!["b".into()];
    mb.started_unix_ms += 700;
    mb.stop_reason = "max_requests".into();
    let merged = merge(&[Report::build(ma, &a), Report::build(mb, &b)]).unwrap();
    golden("merged.txt", &merged.to_text());
    golden(
        "merged.json",
        &serde_json::to_string_pretty(&merged).unwrap(),
    );
}

/// Error messages of report files, merging, thresholds and durations.
#[test]
fn report_and_rule_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().display().to_string();
    let mut out = String::new();
    let mut line = |what: &str, e: String| {
        out.push_str(&format!("{what}: {}\n", e.replace(&tmp, "<tmp>")));
    };
    let r = open_report();
    line(
        "write .txt",
        loadgen::write_report_file(&r, &dir.path().join("r.txt"))
            .unwrap_err()
            .to_string(),
    );
    line(
        "write into a missing directory",
        loadgen::write_report_file(&r, &dir.path().join("no/r.json"))
            .unwrap_err()
            .to_string(),
    );
    line(
        "read a missing file",
        loadgen::read_report(&dir.path().join("missing.json"))
            .unwrap_err()
            .to_string(),
    );
    let bad = common::write(dir.path(), "bad.json", "{\"schema\": 3}");
    line(
        "read not a report",
        loadgen::read_report(&bad).unwrap_err().to_string(),
    );
    let mut json: serde_json::Value = serde_json::to_value(&r).unwrap();
    json["schema"] = "loadgen-report/0".into();
    let old = common::write(dir.path(), "old.json", &json.to_string());
    line(
        "read an old schema",
        loadgen::read_report(&old).unwrap_err().to_string(),
    );
    line("merge nothing", merge(&[]).unwrap_err().to_string());
    line(
        "merge different profiles",
        merge(&[r.clone(), closed_report()])
            .unwrap_err()
            .to_string(),
    );
    let mut old = r.clone();
    old.schema = "loadgen-report/0".into();
    line(
        "merge an old schema",
        merge(&[r.clone(), old]).unwrap_err().to_string(),
    );
    let mut broken = r.clone();
    broken.total.hist.latency = "not base64!".into();
    line(
        "merge a broken histogram",
        merge(&[r.clone(), broken]).unwrap_err().to_string(),
    );
    let mut broken = r.clone();
    broken.timeline[0].hist = "AAAA".into();
    line(
        "merge an undecodable histogram",
        merge(&[r.clone(), broken]).unwrap_err().to_string(),
    );
    for rule in [
        "p95 300ms",
        "p42 < 1s",
        "p95 < fast",
        "error_rate < 0.1",
        "error_rate < x%",
        "error_rate < 101%",
        "rps > lots",
        ": p95 < 1s",
        "query p95 < 1s",
        "p95 < 300",
        "min<10",
        "p(42)<300",
        "http_req_failed<5",
        "http_req_duration{name:query}: p(95)<300",
    ] {
        line(
            &format!("threshold {rule:?}"),
            rule.parse::<loadgen::threshold::Threshold>()
                .unwrap_err()
                .to_string(),
        );
    }
    for d in ["", "2 minutes", "m", "-1", "5x", "1.2.3s"] {
        line(
            &format!("duration {d:?}"),
            loadgen::profile::parse_duration(d).unwrap_err().to_string(),
        );
    }
    line(
        "hdr log missing",
        loadgen::hdrlog::read(&dir.path().join("missing.hlog"))
            .err()
            .expect("fails")
            .to_string(),
    );
    let not_log = common::write(dir.path(), "x.hlog", "#[StartTime: 1 (x)]\nnot,a,log\n");
    line(
        "hdr log garbage",
        loadgen::hdrlog::read(&not_log)
            .err()
            .expect("fails")
            .to_string(),
    );
    let eval = common::write(
        dir.path(),
        "q.jsonl",
        "{\"question\": \"\", \"expected\": [\"A\"]}\n",
    );
    line(
        "eval empty question",
        loadgen::eval::load(&eval).unwrap_err().to_string(),
    );
    golden("errors.txt", &out);
}

const QUESTIONS: &str = "# a comment\nWhat is ragd?\n\nHow does the cache work?\n";

/// Every refusal of a profile, and the typed value of a full one.
#[test]
fn profile_errors_and_values() {
    let dir = tempfile::tempdir().unwrap();
    common::write(dir.path(), "questions.txt", QUESTIONS);
    common::write(dir.path(), "empty.txt", "# nothing\n\n");
    common::write(
        dir.path(),
        "long.txt",
        &format!("short\n{}\n", "x".repeat(5000)),
    );
    let open = "model = \"open\"\nquestions = \"questions.txt\"\n";
    let closed = "model = \"closed\"\nquestions = \"questions.txt\"\n";
    let ostage = "[[stages]]\nduration = \"1s\"\nrate = 10\n";
    let cstage = "[[stages]]\nduration = \"1s\"\nusers = 2\n";
    let health = "[[scenarios]]\nkind = \"health\"\n";
    let query = "[[scenarios]]\nkind = \"query\"\n";
    let cases: Vec<String> = vec![
        format!("{open}{ostage}{health}colour = 3\n"),
        "model = [\n".into(),
        format!("{open}timeout = 5\n{ostage}{health}"),
        format!("model = \"sideways\"\n{ostage}{health}"),
        format!("{ostage}{health}"),
        format!("{open}collection = \"\"\n{ostage}{health}"),
        format!(
            "{open}collection = \"{}\"\n{ostage}{health}",
            "c".repeat(65)
        ),
        format!("{open}timeout = \"soon\"\n{ostage}{health}"),
        format!("{open}timeout = \"0s\"\n{ostage}{health}"),
        format!("{closed}[think_time]\nmin = \"x\"\n{cstage}{health}"),
        format!("{closed}[think_time]\nmin = \"2s\"\nmax = \"1s\"\n{cstage}{health}"),
        format!("{open}max_requests = 0\n{ostage}{health}"),
        format!("{open}max_in_flight = -4\n{ostage}{health}"),
        format!("{open}ingest_ids = 0\n{ostage}{health}"),
        format!("{closed}{health}"),
        format!("{open}{health}"),
        format!("{open}[[stages]]\nrate = 1\n{health}"),
        format!("{open}[[stages]]\nduration = \"2 minutes\"\nrate = 1\n{health}"),
        format!("{closed}[[stages]]\nduration = \"1s\"\nusers = 1\nrate = 3\n{health}"),
        format!("{closed}[[stages]]\nduration = \"1s\"\nusers = 1\nramp_to = 3\n{health}"),
        format!("{closed}[[stages]]\nduration = \"1s\"\nusers = -3\n{health}"),
        format!("{closed}[[stages]]\nduration = \"1s\"\n{health}"),
        format!("{open}[[stages]]\nduration = \"1s\"\nusers = 5\n{health}"),
        format!("{open}[[stages]]\nduration = \"1s\"\nrate = -1.5\n{health}"),
        format!("{open}[[stages]]\nduration = \"1s\"\nrate = nan\n{health}"),
        format!("{open}[[stages]]\nduration = \"1s\"\n{health}"),
        format!("{open}[[stages]]\nduration = \"1s\"\nrate = 1\nramp_to = -2\n{health}"),
        format!("{closed}[[stages]]\nduration = \"1s\"\nusers = 0\n{health}"),
        format!("{open}[[stages]]\nduration = \"0s\"\nrate = 1\n{health}"),
        format!("{open}{ostage}"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"search\"\n"),
        format!("{open}{ostage}[[scenarios]]\nweight = 2\n"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"health\"\nweight = 1000001\n"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"query\"\ntop_k = 0\n"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"query\"\ntop_k = 51\n"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"health\"\nstream = true\n"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"status\"\ntop_k = 3\nunique = true\n"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"ingest\"\nunique = false\n"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"health\"\nname = \"all\"\n"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"health\"\nname = \"a b\"\n"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"health\"\nname = \"a:b\"\n"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"health\"\nname = \"\"\n"),
        format!("{open}{ostage}{health}{health}"),
        format!("{open}{ostage}[[scenarios]]\nkind = \"health\"\nweight = 0\n"),
        format!("model = \"open\"\nquestions = \"nope.txt\"\n{ostage}{health}"),
        format!("model = \"open\"\nquestions = \"long.txt\"\n{ostage}{health}"),
        format!("model = \"open\"\nquestions = \"empty.txt\"\n{ostage}{query}"),
        format!("model = \"open\"\n{ostage}{query}"),
        format!("{open}thresholds = [\"p95 < fast\"]\n{ostage}{health}"),
        format!("{open}thresholds = [\"p95 < 1s\", \"query: p95 < 1s\"]\n{ostage}{health}"),
        format!("{open}stop_on_breach = true\n{ostage}{health}"),
    ];
    let tmp = dir.path().display().to_string();
    let mut out = String::new();
    for (i, text) in cases.iter().enumerate() {
        let path = common::write(dir.path(), &format!("bad{i}.toml"), text);
        let e = Profile::load(&path).expect_err(&format!("case {i} must fail:\n{text}"));
        out.push_str(&format!(
            "{i}: key {:?}: {}\n",
            e.key,
            e.to_string().replace(&tmp, "<tmp>")
        ));
    }
    let e = Profile::load(&dir.path().join("missing.toml")).unwrap_err();
    out.push_str(&format!(
        "missing: {}\n",
        e.to_string().replace(&tmp, "<tmp>")
    ));
    golden("profile-errors.txt", &out);

    // Values, defaults included.
    let mut values = String::new();
    for (name, text) in [
        (
            "full.toml",
            "name = \"full\"\ndescription = \"d\"\nsource = \"s\"\nmodel = \"open\"\ncollection = \"c\"\n\
             questions = \"questions.txt\"\ntimeout = \"1m30s\"\nmax_requests = 7\nmax_in_flight = 3\n\
             thresholds = [\"p95 < 300ms\", \"q: rps >= 2\"]\nstop_on_breach = true\ningest_ids = 4\n\
             [setup]\ncorpus = \"corpus\"\n\
             [[stages]]\nname = \"a\"\nduration = \"500ms\"\nrate = 2.5\n\
             [[stages]]\nduration = \"2m\"\nrate = 1\nramp_to = 9\n\
             [[scenarios]]\nname = \"q\"\nkind = \"query\"\nweight = 3\nstream = true\ntop_k = 7\nunique = true\n\
             [[scenarios]]\nkind = \"ingest\"\nweight = 0\n",
        ),
        (
            "defaults.toml",
            "model = \"closed\"\n[think_time]\nmax = \"1s\"\n[[stages]]\nduration = \"90\"\nusers = 3\n\
             [[stages]]\nduration = \"0s\"\nusers = 0\n[[scenarios]]\nkind = \"status\"\n",
        ),
    ] {
        let p = common::write(dir.path(), name, text);
        let p = Profile::load(&p).unwrap();
        values.push_str(&format!("{p:#?}\n").replace(&tmp, "<tmp>"));
        let s = p.scaled(0.5, 0.3);
        values.push_str(&format!(
            "scaled: {:?} planned {:?} peak {} arrivals {}\n",
            s.stages,
            s.planned(),
            s.peak(),
            s.planned_arrivals()
        ));
    }
    golden("profile-values.txt", &values);
}

/// `loadgen check` on the shipped profiles.
#[test]
fn check_output() {
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
        .args(["--time-scale", "0.5"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text =
        String::from_utf8_lossy(&out.stdout).replace(&dir.display().to_string(), "<profiles>");
    golden("check.txt", &text);
}

/// Errors of a run that cannot start, of a workload's target and of
/// evaluation files.
#[tokio::test]
async fn run_and_eval_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().display().to_string();
    let mut out = String::new();
    let mut line = |what: &str, e: String| {
        out.push_str(&format!("{what}: {}\n", e.replace(&tmp, "<tmp>")));
    };
    let p = common::profile(
        dir.path(),
        "p.toml",
        "model = \"open\"\n[[stages]]\nduration = \"1s\"\nrate = 1\n[[scenarios]]\nkind = \"health\"\n",
    );
    let run_err = |f: &dyn Fn(&mut loadgen::RunOptions)| {
        let mut o = loadgen::RunOptions::new(p.clone(), "http://127.0.0.1:9");
        f(&mut o);
        o
    };
    for (what, o) in [
        ("time scale 0", run_err(&|o| o.time_scale = 0.0)),
        ("user scale -1", run_err(&|o| o.user_scale = -1.0)),
        ("user scale inf", run_err(&|o| o.user_scale = f64::INFINITY)),
        ("ftp target", run_err(&|o| o.target = "ftp://x/".into())),
    ] {
        line(what, loadgen::run(o).await.expect_err("fails").to_string());
    }
    for base in ["http://exa mple", "unix://x", "http://[::1", "https://"] {
        line(
            &format!("workload {base:?}"),
            loadgen::work::Workload::new(&p, base, "i")
                .err()
                .expect("fails")
                .to_string(),
        );
    }
    line(
        "corpus missing",
        loadgen::run::read_corpus(&dir.path().join("nope"))
            .unwrap_err()
            .to_string(),
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("blank.md"), "  \n").unwrap();
    std::fs::write(empty.join("other.rs"), "fn main() {}").unwrap();
    line(
        "corpus empty",
        loadgen::run::read_corpus(&empty).unwrap_err().to_string(),
    );
    for (name, text) in [
        ("missing.jsonl", None),
        ("bad.jsonl", Some("{\"question\": \"x\"}\n")),
        (
            "noexp.jsonl",
            Some("# c\n\n{\"question\": \"x\", \"expected\": []}\n"),
        ),
        ("none.jsonl", Some("# only comments\n")),
    ] {
        let path = dir.path().join(name);
        if let Some(t) = text {
            std::fs::write(&path, t).unwrap();
        }
        line(
            &format!("eval {name}"),
            loadgen::eval::load(&path).unwrap_err().to_string(),
        );
    }
    golden("run-errors.txt", &out);
}
