//! Against the real Docker engine: a ragd image built here from the
//! workspace's ragd binary (no pulls), replicas with compose labels,
//! `ragctl scale` up and down, `ragctl status --json`.
//!
//! Skipped (with a message) only when there is no Docker socket. Everything
//! created carries a unique project name and is removed on drop, also when
//! an assertion fails (the image, container and cleanup helpers are
//! `ragkit_tests::docker`, shared with loadgen's Docker tests).

mod common;

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::NetworkCreateRequest;
use bollard::query_parameters::InspectContainerOptions;
use ragkit_tests::docker::{
    Cleanup, build_image, docker_present, project_containers, ready, skip_message, start_replica,
    wait_ready,
};
use serde_json::{Value, json};

use common::{ragctl, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_runs_even_when_a_test_fails() {
    if !docker_present() {
        eprintln!("{}", skip_message());
        return;
    }
    let project = format!("ragctlfail{}", std::process::id());
    let network = format!("{project}_default");
    let d = Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .expect("Docker answers");
    let (p, n) = (project.clone(), network.clone());
    let failed = tokio::spawn(async move {
        let _cleanup = Cleanup {
            project: p,
            network: n.clone(),
            image: "ragctl-test-none:none".into(),
        };
        let d = Docker::connect_with_defaults()
            .unwrap()
            .negotiate_version()
            .await
            .unwrap();
        let net: NetworkCreateRequest = serde_json::from_value(json!({"Name": n})).unwrap();
        d.create_network(net).await.expect("network");
        panic!("deliberate failure after creating {n}");
    })
    .await;
    assert!(failed.is_err(), "the task panicked");
    let left = d
        .inspect_network(
            &network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await;
    assert!(left.is_err(), "network {network} was left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_and_status_against_real_docker() {
    if !docker_present() {
        eprintln!("{}", skip_message());
        return;
    }
    let started = Instant::now();
    let project = format!("ragctltest{}", std::process::id());
    let network = format!("{project}_default");
    let repo = "ragctl-test-ragd".to_string();
    let tag = project.clone();
    let image = format!("{repo}:{tag}");
    let _cleanup = Cleanup {
        project: project.clone(),
        network: network.clone(),
        image: image.clone(),
    };
    let d = Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .expect("Docker answers");
    build_image(&d, &repo, &tag).await;

    // The network and first replica, as `docker compose up` would create them.
    let net: NetworkCreateRequest = serde_json::from_value(json!({
        "Name": network,
        "Labels": {"com.docker.compose.project": project, "com.docker.compose.network": "default"}
    }))
    .unwrap();
    d.create_network(net).await.expect("network");
    let first = format!("{project}-ragd-1");
    ragkit_tests::docker::start_ragd_with(
        &d,
        &project,
        &network,
        &image,
        json!({
            "Labels": {
                "com.docker.compose.config-hash": "cafe0123",
                "com.docker.compose.version": "2.29.0"
            },
            "NetworkingConfig": {"EndpointsConfig": {network.clone(): {"Aliases": ["ragd", first]}}}
        }),
    )
    .await;
    let list = project_containers(&d, &project).await;
    let url1 = list[0].url_for_port(8080).expect("published port");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(&url1).await {
        assert!(
            Instant::now() < deadline,
            "first replica not ready at {url1}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Dry run changes nothing.
    let o = ragctl(
        &["--project", &project, "scale", "ragd=3", "--dry-run"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = stdout(&o);
    assert!(plan.contains(&format!("create {project}-ragd-2")), "{plan}");
    assert!(plan.contains(&format!("create {project}-ragd-3")), "{plan}");
    assert!(plan.contains("dry run"), "{plan}");
    assert_eq!(project_containers(&d, &project).await.len(), 1);

    // Unknown service: clear error naming the known ones.
    let o = ragctl(&["--project", &project, "scale", "nosuch=2"], &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unknown service `nosuch`"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("ragd"), "{}", stderr(&o));

    // Scale up to 3 and wait for /ready.
    let t0 = Instant::now();
    let o = ragctl(&["--project", &project, "scale", "ragd=3"], &[]);
    assert!(
        o.status.success(),
        "scale up failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    eprintln!(
        "scale ragd=3 took {:.1} s:\n{}",
        t0.elapsed().as_secs_f64(),
        stdout(&o)
    );
    let list = project_containers(&d, &project).await;
    let names: Vec<&str> = list.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            first.clone(),
            format!("{project}-ragd-2"),
            format!("{project}-ragd-3")
        ]
    );
    for (i, c) in list.iter().enumerate() {
        assert!(c.running(), "{} is {}", c.name, c.state);
        assert_eq!(c.service.as_deref(), Some("ragd"));
        assert_eq!(c.number, Some(i as u32 + 1));
        assert!(!c.oneoff);
        assert_eq!(c.labels["com.docker.compose.config-hash"], "cafe0123");
        assert_eq!(c.image, image);
        let url = c.url_for_port(8080).expect("published port");
        assert!(ready(&url).await, "{} not ready at {url}", c.name);
        let v = serde_json::to_value(
            d.inspect_container(&c.id, None::<InspectContainerOptions>)
                .await
                .unwrap(),
        )
        .unwrap();
        let aliases = v["NetworkSettings"]["Networks"][&network]["Aliases"].to_string();
        assert!(aliases.contains("\"ragd\""), "{}: {aliases}", c.name);
        assert!(
            aliases.contains(&format!("\"{}\"", c.name)),
            "{}: {aliases}",
            c.name
        );
    }

    // Status shows real CPU and memory for each replica.
    let o = ragctl(
        &[
            "--project",
            &project,
            "status",
            "--json",
            "--interval",
            "0.5",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["docker"]["reachable"], true);
    let cs = v["docker"]["containers"].as_array().unwrap();
    assert_eq!(cs.len(), 3, "{v}");
    for c in cs {
        let s = &c["stats"];
        assert!(s["mem_used_bytes"].as_u64().unwrap() > 1_000_000, "{c}");
        assert!(
            s["mem_limit_bytes"].as_u64().unwrap() > s["mem_used_bytes"].as_u64().unwrap(),
            "{c}"
        );
        assert!(s["cpu_percent"].as_f64().unwrap() >= 0.0, "{c}");
        assert!(s["pids"].as_u64().unwrap() >= 1, "{c}");
    }
    let rs = v["replicas"].as_array().unwrap();
    assert_eq!(rs.len(), 3, "{v}");
    assert!(
        rs.iter().all(|r| r["up"] == true && r["ready"] == true),
        "{v}"
    );

    // Scale down to 1: the highest numbers go first.
    let o = ragctl(
        &[
            "--project",
            &project,
            "scale",
            "ragd=1",
            "--stop-timeout",
            "10",
        ],
        &[],
    );
    assert!(
        o.status.success(),
        "scale down failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    let list = project_containers(&d, &project).await;
    let names: Vec<&str> = list.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, [first.as_str()]);
    assert!(ready(&url1).await);

    // To 0 and back: the first replica is kept stopped, and is what the
    // scale-up starts again and clones.
    let scale = |n: &str| {
        ragctl(
            &[
                "--project",
                &project,
                "scale",
                &format!("ragd={n}"),
                "--stop-timeout",
                "10",
            ],
            &[],
        )
    };
    let o = scale("0");
    assert!(
        o.status.success(),
        "scale to 0 failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(stdout(&o).contains("kept, stopped"), "{}", stdout(&o));
    let list = project_containers(&d, &project).await;
    assert_eq!(list.len(), 1);
    assert!(!list[0].running(), "{:?}", list[0]);
    assert!(!ready(&url1).await, "a replica scaled to 0 answers no more");
    let o = scale("2");
    assert!(
        o.status.success(),
        "scale 0 -> 2 failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    let list = project_containers(&d, &project).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.iter().all(|c| c.running()), "{list:?}");
    eprintln!("docker test took {:.1} s", started.elapsed().as_secs_f64());
}

async fn inspect_state(d: &Docker, id: &str) -> Value {
    let v = serde_json::to_value(
        d.inspect_container(id, None::<InspectContainerOptions>)
            .await
            .unwrap(),
    )
    .unwrap();
    v["State"].clone()
}

/// `ragctl top`'s actions against the real engine, through the same path
/// as the console: keys into the state, the effects it asks for carried
/// out by the runner's functions, their events applied back. The logs
/// pane follows the container's real logs; a restart from it sends SIGTERM
/// first (ragd logs that it drains) and the pane follows on to the new
/// process; stop ends it with exit code 0 (drained, not killed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_restarts_stops_and_reads_logs_against_real_docker() {
    use ragctl::snapshot::Thresholds;
    use ragctl::tui::effects::{self, Context};
    use ragctl::tui::state::{Action, App, Effect, Event, StatusKind, View};
    use ratatui::crossterm::event::{KeyCode, KeyEvent};

    if !docker_present() {
        eprintln!("{}", skip_message());
        return;
    }
    let project = format!("ragctltop{}", std::process::id());
    let network = format!("{project}_default");
    let repo = "ragctl-test-ragd".to_string();
    let image = format!("{repo}:{project}");
    let _cleanup = Cleanup {
        project: project.clone(),
        network: network.clone(),
        image: image.clone(),
    };
    let d = Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .expect("Docker answers");
    build_image(&d, &repo, &project).await;
    let id = start_replica(&d, &project, &network, &image).await;
    let started_before = inspect_state(&d, &id).await["StartedAt"].clone();

    let mut app = App::new(Thresholds::default(), Duration::from_secs(1), "test".into());
    app.size = (140, 40);
    app.settings.stop_timeout = 20;
    app.apply(Event::Containers(
        Ok(project_containers(&d, &project).await),
    ));
    let key = |app: &mut App, c: KeyCode| app.apply(Event::Key(KeyEvent::from(c)));
    key(&mut app, KeyCode::Down);
    assert_eq!(app.selected_container().unwrap().row.info.id, id);
    let ctx = Context {
        port: 8080,
        ready_timeout: Duration::from_secs(60),
        stop_timeout: 20,
    };

    // Enter: the detail reads the container's real limits.
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Detail);
    assert_eq!(app.take_effects(), [Effect::Limits(id.clone())]);
    let limits = ragctl::docker::limits(&d, &id).await.unwrap();
    assert_eq!(limits.memory_bytes, Some(1 << 30));
    assert_eq!(limits.pids, Some(512));
    assert_eq!(limits.stop_signal, "SIGTERM");
    key(&mut app, KeyCode::Esc);

    // l: the logs pane follows the container's logs.
    key(&mut app, KeyCode::Char('l'));
    let effects = app.take_effects();
    let Some(Effect::FollowLogs { id: logs_id, tail }) = effects.first().cloned() else {
        panic!("{effects:?}");
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let follow = tokio::spawn(effects::follow_logs(tx, logs_id, tail));
    let next_event = async |rx: &mut tokio::sync::mpsc::Receiver<Event>| {
        tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("a log event within 60 s")
            .expect("the stream says why it ends")
    };
    let lines = |app: &App| app.logs.as_ref().unwrap().lines.clone();
    while !lines(&app).iter().any(|l| l.contains("ragd listening")) {
        let ev = next_event(&mut rx).await;
        app.apply(ev);
    }
    assert!(
        lines(&app).iter().all(|l| !l.contains('\x1b')),
        "escape sequences reach the pane"
    );

    // R, y from the logs pane: restart through the console's path while
    // watching; SIGTERM first, ragd drains.
    key(&mut app, KeyCode::Char('R'));
    key(&mut app, KeyCode::Char('y'));
    let effects = app.take_effects();
    let [Effect::Run(action @ Action::Restart { .. })] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    let t0 = Instant::now();
    let result = effects::carry_out(action, &ctx).await;
    app.apply(Event::ActionDone {
        action: action.clone(),
        result,
        seconds: t0.elapsed().as_secs_f64(),
        at: effects::now_rfc3339(),
    });
    let status = app.status.clone().unwrap();
    assert_eq!(status.kind, StatusKind::Done, "{}", status.text);
    assert!(
        status
            .text
            .starts_with(&format!("restarted {project}-ragd-1 in "))
    );
    assert!(
        app.audit[0].contains(&format!("restart {project}-ragd-1: ok in ")),
        "{:?}",
        app.audit
    );
    let state = inspect_state(&d, &id).await;
    assert_eq!(state["Running"], true, "{state}");
    assert_ne!(state["StartedAt"], started_before, "it started again");
    wait_ready(&d, &project).await;
    // The pane shows the old process draining and, followed on across the
    // restart, the new one listening.
    let listening = |app: &App| {
        lines(app)
            .iter()
            .filter(|l| l.contains("ragd listening"))
            .count()
    };
    while listening(&app) < 2 {
        let ev = next_event(&mut rx).await;
        app.apply(ev);
    }
    let drained = lines(&app)
        .iter()
        .position(|l| l.contains("shutting down: draining in-flight requests"))
        .expect("the drain is in the logs");
    let second_start = lines(&app)
        .iter()
        .rposition(|l| l.contains("ragd listening"))
        .unwrap();
    assert!(drained < second_start, "{:?}", lines(&app));
    assert_eq!(app.logs.as_ref().unwrap().ended, None, "still following");

    // X, y, still from the logs: stop; ragd exits 0 on SIGTERM, long
    // before the SIGKILL timeout, and the pane says the stream ended.
    key(&mut app, KeyCode::Char('X'));
    key(&mut app, KeyCode::Char('y'));
    let effects = app.take_effects();
    let [Effect::Run(action @ Action::Stop { .. })] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    let t0 = Instant::now();
    let result = effects::carry_out(action, &ctx).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    let state = inspect_state(&d, &id).await;
    assert_eq!(state["Running"], false, "{state}");
    assert_eq!(
        state["ExitCode"], 0,
        "drained and exited, not killed: {state}"
    );
    while app.logs.as_ref().unwrap().ended.is_none() {
        let ev = next_event(&mut rx).await;
        app.apply(ev);
    }
    follow.await.unwrap();
    assert_eq!(
        app.logs.as_ref().unwrap().ended.as_deref(),
        Some("the container stopped (its log stream closed)")
    );
    assert!(
        lines(&app)
            .iter()
            .filter(|l| l.contains("shutting down: draining"))
            .count()
            >= 2
    );
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.take_effects(), [Effect::StopLogs]);

    // Acting on a container that is gone says why.
    let gone = Action::Restart {
        id: "0000000000000000000000000000000000000000000000000000000000000000".into(),
        name: "gone".into(),
        stop_timeout: 1,
    };
    let err = effects::carry_out(&gone, &ctx).await.unwrap_err();
    assert!(
        err.contains("404") || err.contains("No such container"),
        "{err}"
    );
}
