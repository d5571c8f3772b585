//! `ragctl top` screens, drawn from fixed state into ratatui's TestBackend
//! at fixed sizes and compared with committed insta snapshots.

use std::collections::BTreeMap;
use std::time::Duration;

use ragctl::docker::{ContainerInfo, PortInfo};
use ragctl::host::HostRow;
use ragctl::ragd::{PoolView, ReplicaRow};
use ragctl::snapshot::Thresholds;
use ragctl::stats::ContainerStats;
use ragctl::tui::render::draw;
use ragctl::tui::state::{App, Event};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

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
        app.replicas.push(ragctl::tui::state::ReplicaView {
            row: r,
            last: None,
            rps_history: (0..30).map(|x| (x * (i as u64 + 1)) % 17).collect(),
        });
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
