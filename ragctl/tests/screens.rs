//! `ragctl top` screens, drawn from fixed state into ratatui's TestBackend
//! at fixed sizes and compared with committed insta snapshots: the main
//! view, help, filter, and the views that act (selection, detail, logs,
//! confirmation lines, action outcomes), with and without colour.

use std::collections::BTreeMap;
use std::time::Duration;

use ragctl::docker::{ContainerInfo, Limits, PortInfo};
use ragctl::host::HostRow;
use ragctl::ragd::{PoolView, Probe, ReplicaRow, Target};
use ragctl::snapshot::Thresholds;
use ragctl::stats::ContainerStats;
use ragctl::tui::render::draw;
use ragctl::tui::state::{Action, App, Effect, Event, Prompt, ReplicaView, Selected, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::style::Color;

fn container(n: u32, service: &str, state: &str) -> ContainerInfo {
    ContainerInfo {
        id: format!("{service:x<20}{n:044}"),
        name: format!("shop-{service}-{n}"),
        image: format!("{service}:dev"),
        state: state.into(),
        status: if state == "running" {
            "Up 5 minutes".into()
        } else {
            "Exited (0) 1 minute ago".into()
        },
        health: (service == "ragd" && state == "running").then(|| "healthy".into()),
        project: Some("shop".into()),
        service: Some(service.into()),
        number: Some(n),
        oneoff: false,
        ports: vec![PortInfo {
            private: 8080,
            public: Some(49150 + n as u16),
            ip: Some("127.0.0.1".into()),
            proto: "tcp".into(),
        }],
        networks: BTreeMap::from([("shop_default".into(), format!("172.18.0.{n}"))]),
        network_mode: Some("shop_default".into()),
        labels: BTreeMap::new(),
    }
}

fn stats(cpu: f64, mem_mib: u64, limit_mib: u64) -> ContainerStats {
    ContainerStats {
        cpu_percent: cpu,
        mem_used_bytes: mem_mib << 20,
        mem_limit_bytes: limit_mib << 20,
        mem_percent: mem_mib as f64 / limit_mib as f64 * 100.0,
        net_rx_bytes: 1_500_000,
        net_tx_bytes: 2_500_000,
        block_read_bytes: 10_485_760,
        block_write_bytes: 0,
        pids: 12,
    }
}

fn replica(n: u32, rps: f64, p95: f64, up: bool) -> ReplicaRow {
    ReplicaRow {
        name: format!("shop-ragd-{n}"),
        url: format!("http://127.0.0.1:{}", 49150 + n),
        up,
        ready: up,
        state: up.then(|| "ok".into()),
        version: up.then(|| "0.1.0".into()),
        requests_per_sec: up.then_some(rps),
        error_rate: up.then_some(if n == 2 { 0.08 } else { 0.0 }),
        p95_ms: up.then_some(p95),
        cache_hit_ratio: up.then_some(0.42),
        in_flight: up.then_some(3),
        pools: if up {
            vec![
                PoolView {
                    name: "metadata".into(),
                    kind: "sqlite".into(),
                    in_use: if n == 2 { 8 } else { 2 },
                    max: 8,
                    waiting: if n == 2 { 4 } else { 0 },
                    saturated: n == 2,
                },
                PoolView {
                    name: "cpu".into(),
                    kind: "blocking-threads".into(),
                    in_use: 1,
                    max: 2,
                    waiting: 0,
                    saturated: false,
                },
            ]
        } else {
            Vec::new()
        },
        error: (!up).then(|| "connection refused or unreachable".into()),
    }
}

/// A busy deployment: three ragd replicas (one hot, one down), Postgres, Redis.
fn busy_app() -> App {
    let mut app = App::new(
        Thresholds::default(),
        Duration::from_secs(1),
        "unix:///var/run/docker.sock".into(),
    );
    let list = vec![
        container(1, "ragd", "running"),
        container(2, "ragd", "running"),
        container(3, "ragd", "exited"),
        container(1, "postgres", "running"),
        container(1, "redis", "running"),
    ];
    app.apply(Event::Containers(Ok(list)));
    let figures = [
        ("shop-ragd-1", stats(35.5, 180, 1024)),
        ("shop-ragd-2", stats(93.25, 950, 1024)),
        ("shop-postgres-1", stats(4.1, 56, 3072)),
        ("shop-redis-1", stats(0.24, 22, 256)),
    ];
    for v in app.containers.values_mut() {
        if let Some((_, s)) = figures.iter().find(|(n, _)| *n == v.row.info.name) {
            v.row.stats = Some(*s);
            v.row.net_rx_per_sec = Some(12_000.0);
            v.row.net_tx_per_sec = Some(48_500.0);
            let cpu = (s.cpu_percent * 10.0) as u64;
            v.cpu_history = (0..20u64).map(|x| cpu * (x % 5 + 1) / 5).collect();
            let mem = (s.mem_percent * 10.0) as u64;
            v.mem_history = (0..20u64).map(|x| mem * (x % 4 + 2) / 5).collect();
        }
    }
    for (i, r) in [
        replica(1, 120.5, 45.0, true),
        replica(2, 310.0, 420.0, true),
        replica(3, 0.0, 0.0, false),
    ]
    .into_iter()
    .enumerate()
    {
        let mut view = ReplicaView::new(r, None);
        view.rps_history = (0..30).map(|x| (x * (i as u64 + 1)) % 17).collect();
        view.p95_history = (0..30).map(|x| 300 + x * 130 * i as u64).collect();
        view.err_history = (0..30).map(|x| if i == 1 { x * 3 } else { 0 }).collect();
        app.replicas.push(view);
    }
    app.host = Some(HostRow {
        cpus: 2,
        cpu_percent: 64.0,
        mem_used_bytes: 2_400 << 20,
        mem_total_bytes: 15 << 30,
        mem_percent: 15.6,
        load1: 1.5,
        load5: 1.2,
        load15: 0.9,
    });
    app.host_cpu_history = (0..100).map(|x| (x * 37 % 1000) as u64).collect();
    app.total_rps_history = (0..100).map(|x| (x * 13 % 430) as u64).collect();
    app.apply(Event::Docker {
        action: "start".into(),
        name: "shop-ragd-2".into(),
    });
    app.size = (140, 32);
    app
}

fn screen(app: &App, w: u16, h: u16) -> TestBackend {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(app, f)).unwrap();
    t.backend().clone()
}

fn key(app: &mut App, c: KeyCode) {
    app.apply(Event::Key(KeyEvent::from(c)));
}

#[test]
fn busy_deployment_wide() {
    insta::assert_snapshot!(screen(&busy_app(), 140, 32));
}

#[test]
fn very_wide_adds_row_history() {
    insta::assert_snapshot!(screen(&busy_app(), 170, 32));
}

#[test]
fn busy_deployment_narrow() {
    insta::assert_snapshot!(screen(&busy_app(), 80, 24));
}

#[test]
fn thresholds_are_highlighted_in_red() {
    let app = busy_app();
    let b = screen(&app, 140, 32);
    let buf = b.buffer();
    // find "93.25%" (CPU over 80%) and check its style
    let area = buf.area;
    let mut found = false;
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(col) = line.find("93.25%") {
            let cell = &buf[(col as u16, y)];
            assert_eq!(cell.fg, ratatui::style::Color::Red, "CPU > 80% is red");
            found = true;
        }
    }
    assert!(found);
}

#[test]
fn help_overlay() {
    let mut app = busy_app();
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&app, 100, 30));
}

#[test]
fn docker_unreachable_still_shows_replicas_and_host() {
    let mut app = busy_app();
    app.apply(Event::Containers(Err(
        "cannot reach the Docker engine at unix:///var/run/docker.sock: socket /var/run/docker.sock not found".into(),
    )));
    insta::assert_snapshot!(screen(&app, 100, 26));
}

#[test]
fn filter_sort_and_project() {
    let mut app = busy_app();
    key(&mut app, KeyCode::Char('/'));
    for c in "ragd".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('s')); // mem
    key(&mut app, KeyCode::Char('s')); // net
    key(&mut app, KeyCode::Char('s')); // name
    key(&mut app, KeyCode::Char('r'));
    let names: Vec<&str> = app
        .visible_containers()
        .iter()
        .map(|c| c.row.info.name.as_str())
        .collect();
    assert_eq!(names, ["shop-ragd-3", "shop-ragd-2", "shop-ragd-1"]);
    key(&mut app, KeyCode::Char('/'));
    insta::assert_snapshot!(screen(&app, 120, 28));
}

fn id_of(app: &App, name: &str) -> String {
    app.containers
        .values()
        .find(|c| c.row.info.name == name)
        .map(|c| c.row.info.id.clone())
        .unwrap()
}

/// Select the container called `name` with the arrow keys, as a user would.
fn select(app: &mut App, name: &str) {
    let id = id_of(app, name);
    key(app, KeyCode::Home);
    for _ in 0..20 {
        if app.selected == Some(Selected::Container(id.clone())) {
            return;
        }
        key(app, KeyCode::Down);
    }
    panic!("{name} not reachable with the arrows");
}

/// What replica 2 says at /status: a saturated pool with waits, two caches,
/// a queue.
fn status_probe() -> Probe {
    let status: ragd_api::Status = serde_json::from_value(serde_json::json!({
        "version": "0.1.0", "uptime_secs": 3725.0, "state": "ok",
        "config": {"listen": "0.0.0.0:8080", "metadata": "sqlite", "vectors": "edge",
                   "cache": "memory", "generator": "extractive", "embedders": ["default (pocket)"],
                   "max_in_flight": 256, "max_body_bytes": 10485760, "cpu_threads": 4},
        "pools": [
            {"name": "metadata", "kind": "sqlite", "size": 8, "idle": 0, "in_use": 8, "max": 8,
             "waiting": 4, "acquire_wait": {"count": 9120, "failed": 3, "p50_ms": 0.4,
                                            "p99_ms": 41.0, "max_ms": 250.0}},
            {"name": "cpu", "kind": "blocking-threads", "size": 4, "idle": 3, "in_use": 1,
             "max": 4, "waiting": 0}
        ],
        "caches": [
            {"name": "query", "kind": "memory", "entries": 420, "max_entries": 10000,
             "hits": 1800, "misses": 2500, "ttl_secs": 300},
            {"name": "embedding", "kind": "memory", "entries": 90, "max_entries": 5000,
             "hits": 30, "misses": 70, "ttl_secs": 3600}
        ],
        "queues": [{"name": "cpu", "depth": 12}, {"name": "ingest", "depth": 0}],
        "requests": {"total": 48211, "in_flight": 3, "shed": 17, "errors_5xx": 389}
    }))
    .unwrap();
    Probe {
        target: Target {
            name: "shop-ragd-2".into(),
            url: "http://127.0.0.1:49152".into(),
        },
        at: std::time::Instant::now(),
        up: true,
        ready: true,
        ready_body: None,
        status: Some(status),
        scrape: None,
        error: None,
    }
}

fn limits() -> Limits {
    Limits {
        cpus: Some(1.5),
        cpu_shares: None,
        cpuset: None,
        memory_bytes: Some(1 << 30),
        memory_reservation_bytes: Some(256 << 20),
        memory_swap_bytes: Some(-1),
        pids: Some(512),
        restart_policy: "unless-stopped".into(),
        stop_signal: "SIGTERM".into(),
        stop_timeout: Some(30),
        started_at: Some("2026-11-25T09:12:41.51Z".into()),
        restart_count: 1,
    }
}

#[test]
fn arrows_select_rows_and_the_selection_is_drawn() {
    let mut app = busy_app();
    key(&mut app, KeyCode::Down);
    // CPU order: the hottest container first.
    assert_eq!(
        app.selected,
        Some(Selected::Container(id_of(&app, "shop-ragd-2")))
    );
    key(&mut app, KeyCode::Tab);
    assert!(matches!(app.selected, Some(Selected::Replica(_))));
    key(&mut app, KeyCode::Down);
    assert_eq!(
        app.selected,
        Some(Selected::Replica("http://127.0.0.1:49152".into()))
    );
    insta::assert_snapshot!(screen(&app, 140, 32));
}

#[test]
fn a_click_selects_the_row_under_it() {
    let mut app = busy_app();
    let b = screen(&app, 140, 32);
    let buf = b.buffer();
    let (x, y) = (0..32u16)
        .find_map(|y| {
            let line: String = (0..140).map(|x| buf[(x, y)].symbol()).collect();
            line.find("shop-redis-1").map(|_| (10, y))
        })
        .unwrap();
    app.apply(Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: ratatui::crossterm::event::KeyModifiers::NONE,
    }));
    assert_eq!(
        app.selected,
        Some(Selected::Container(id_of(&app, "shop-redis-1")))
    );
    // The replicas' table too.
    let y = (0..32u16)
        .find(|&y| {
            let line: String = (0..140).map(|x| buf[(x, y)].symbol()).collect();
            line.contains("shop-ragd-3") && line.contains("DOWN")
        })
        .unwrap();
    app.apply(Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 5,
        row: y,
        modifiers: ratatui::crossterm::event::KeyModifiers::NONE,
    }));
    assert_eq!(
        app.selected,
        Some(Selected::Replica("http://127.0.0.1:49153".into()))
    );
}

/// Enter on a replica's container: its /status, limits and history.
#[test]
fn detail_of_a_replica() {
    let mut app = busy_app();
    app.replicas[1].last = Some(status_probe());
    select(&mut app, "shop-ragd-2");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Detail);
    let id = id_of(&app, "shop-ragd-2");
    assert_eq!(app.take_effects(), [Effect::Limits(id.clone())]);
    app.apply(Event::Limits {
        id,
        limits: Ok(limits()),
    });
    insta::assert_snapshot!(screen(&app, 140, 40));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Main);
}

#[test]
fn detail_of_a_container_that_is_not_a_replica() {
    let mut app = busy_app();
    select(&mut app, "shop-postgres-1");
    key(&mut app, KeyCode::Enter);
    app.apply(Event::Limits {
        id: id_of(&app, "shop-postgres-1"),
        limits: Err("Docker engine error: engine answered 404: No such container".into()),
    });
    insta::assert_snapshot!(screen(&app, 110, 30));
}

#[test]
fn logs_pane_follows_and_searches() {
    let mut app = busy_app();
    app.size = (120, 24);
    select(&mut app, "shop-ragd-2");
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(app.view, View::Logs);
    let id = id_of(&app, "shop-ragd-2");
    assert_eq!(
        app.take_effects(),
        [Effect::FollowLogs {
            id: id.clone(),
            tail: ragctl::tui::state::LOG_TAIL
        }]
    );
    let lines: Vec<String> = (0..60)
        .map(|i| {
            if i % 13 == 5 {
                format!("2026-11-25T10:00:{i:02}Z  WARN ragd::pg: pool metadata: 4 callers waiting")
            } else {
                format!(
                    "2026-11-25T10:00:{i:02}Z  INFO ragd::http: POST /v1/collections/docs/query 200"
                )
            }
        })
        .collect();
    app.apply(Event::LogLines { id, lines });
    key(&mut app, KeyCode::Char('/'));
    for c in "callers".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.logs.as_ref().unwrap().current, Some(18));
    let b = screen(&app, 120, 24);
    // Every match is reversed, so it shows without colour too.
    let cells = &b.buffer().content;
    // The pane, without the status line below it ("match 2/5 of ...").
    let pane = cells.len() - 120;
    let hits = (0..pane - 7)
        .filter(|&i| (0..7).all(|j| cells[i + j].symbol() == &"callers"[j..j + 1]))
        .collect::<Vec<_>>();
    assert_eq!(hits.len(), 1, "one matching line on screen");
    for i in hits {
        assert!(
            cells[i]
                .modifier
                .contains(ratatui::style::Modifier::REVERSED),
            "{:?}",
            cells[i]
        );
    }
    insta::assert_snapshot!(b);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Main);
    assert_eq!(app.take_effects(), [Effect::StopLogs]);
}

#[test]
fn restart_asks_then_reports() {
    let mut app = busy_app();
    select(&mut app, "shop-ragd-2");
    key(&mut app, KeyCode::Char('R'));
    insta::assert_snapshot!("restart_confirmation", screen(&app, 140, 32));
    // Anything but y cancels.
    key(&mut app, KeyCode::Char('n'));
    assert!(app.prompt.is_none() && app.take_effects().is_empty());
    key(&mut app, KeyCode::Char('R'));
    key(&mut app, KeyCode::Char('y'));
    let action = Action::Restart {
        id: id_of(&app, "shop-ragd-2"),
        name: "shop-ragd-2".into(),
        stop_timeout: 30,
    };
    assert_eq!(app.take_effects(), [Effect::Run(action.clone())]);
    assert_eq!(app.running, 1);
    app.apply(Event::ActionDone {
        action,
        result: Ok("restarted shop-ragd-2".into()),
        seconds: 2.34,
        at: "2026-11-25T10:00:03Z".into(),
    });
    assert_eq!(app.running, 0);
    assert_eq!(
        app.audit,
        ["2026-11-25T10:00:03Z restart shop-ragd-2: ok in 2.3 s (restarted shop-ragd-2)"]
    );
    insta::assert_snapshot!("restart_done", screen(&app, 140, 32));
}

#[test]
fn stop_and_scale_go_through_confirmations() {
    let mut app = busy_app();
    select(&mut app, "shop-redis-1");
    key(&mut app, KeyCode::Char('X'));
    assert!(matches!(
        &app.prompt,
        Some(Prompt::Confirm(Action::Stop { name, .. })) if name == "shop-redis-1"
    ));
    key(&mut app, KeyCode::Esc);
    // N scales the selected container's service: ragd has 2 running.
    select(&mut app, "shop-ragd-1");
    key(&mut app, KeyCode::Char('N'));
    for c in "4x".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Backspace);
    insta::assert_snapshot!("scale_prompt", screen(&app, 140, 32));
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    assert_eq!(
        app.take_effects(),
        [Effect::Run(Action::Scale {
            service: "ragd".into(),
            project: Some("shop".into()),
            from: 2,
            to: 4
        })]
    );
    // A failure is said in the status line and the audit.
    app.apply(Event::ActionDone {
        action: Action::Scale {
            service: "ragd".into(),
            project: Some("shop".into()),
            from: 2,
            to: 4,
        },
        result: Err("1 of 2 steps failed (left for `docker logs`): shop-ragd-4: container exited (code 2) before it was ready".into()),
        seconds: 12.0,
        at: "2026-11-25T10:01:00Z".into(),
    });
    assert!(
        app.audit[0].contains("FAILED after 12.0 s"),
        "{:?}",
        app.audit
    );
    insta::assert_snapshot!("scale_failed", screen(&app, 140, 32));
    // Not a number: said, nothing run.
    key(&mut app, KeyCode::Char('N'));
    for c in "many".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert!(app.prompt.is_none() && app.take_effects().is_empty());
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("not a replica count")
    );
}

#[test]
fn flags_are_marked_and_survive_without_colour() {
    let mut app = busy_app();
    app.color = false;
    let b = screen(&app, 140, 32);
    let buf = b.buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
        "a coloured cell with colour off"
    );
    let text: String = buf.content.iter().map(|c| c.symbol()).collect();
    for mark in [
        "93.25%!",
        "92.77%!",
        "8.0%!",
        "420 ms!",
        "(4 waiting)!",
        "DOWN",
    ] {
        assert!(text.contains(mark), "{mark} is not marked:\n{b}");
    }
    insta::assert_snapshot!(b);
}
