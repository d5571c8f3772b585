//! `loadgen run --tui` screens: the live view's state fed fixed records,
//! ticks and keys, drawn into ratatui's TestBackend at fixed sizes and
//! compared with the insta snapshots in `tests/snapshots/`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use loadgen::Profile;
use loadgen::live::render::draw;
use loadgen::live::state::{Ask, Event, Live};
use loadgen::record::{GaugeReading, Gauges, Outcome, Record};
use loadgen::run::RunView;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;

fn view(toml: &str) -> RunView {
    let profile = Profile::parse(Path::new("live.toml"), toml).unwrap();
    let names = profile.scenarios.iter().map(|s| s.name.clone()).collect();
    RunView {
        profile,
        names,
        t0: Instant::now(),
        t0_unix_ms: 1_704_164_645_000,
        user_scale: 1.0,
        gauges: Arc::new(Gauges::default()),
        stop: Arc::new(tokio::sync::watch::channel(None).0),
    }
}

const OPEN: &str = "name = \"steps\"\nmodel = \"open\"\n\
    thresholds = [\"p(95)<300\", \"http_req_failed<0.01\", \"query: p99 < 1s\", \"rps >= 50\"]\n\
    [[stages]]\nname = \"warm\"\nduration = \"10s\"\nrate = 40\n\
    [[stages]]\nname = \"push\"\nduration = \"20s\"\nrate = 40\nramp_to = 120\n\
    [[scenarios]]\nkind = \"health\"\nweight = 1\n\
    [[scenarios]]\nname = \"query\"\nkind = \"status\"\nweight = 2\n";

const CLOSED: &str = "name = \"users\"\nmodel = \"closed\"\n\
    [[stages]]\nname = \"ramp\"\nduration = \"10s\"\nusers = 20\n\
    [[stages]]\nname = \"hold\"\nduration = \"50s\"\nusers = 20\n\
    [[scenarios]]\nkind = \"health\"\n";

/// `n` requests per second for `secs` seconds; the latency grows with
/// time, and from second 14 one in five is shed with 503.
fn feed(live: &mut Live, secs: u64, per_sec: u64) {
    for s in 0..secs {
        for i in 0..per_sec {
            let start = s * 1_000_000 + i * (1_000_000 / per_sec);
            let latency = 2_000 + s * 15_000 + (i % 10) * 3_000;
            let outcome = if s >= 14 && i % 5 == 0 {
                Outcome::Error("http_503_overloaded".into())
            } else if s == 20 && i == 1 {
                Outcome::Error("timeout".into())
            } else {
                Outcome::Ok
            };
            live.apply(Event::Record(Record {
                txn: (i % 3 != 0) as u16,
                stage: (s >= 10) as u16,
                intended_us: start,
                start_us: start + 100,
                first_byte_us: None,
                end_us: start + latency,
                outcome,
            }));
        }
        live.apply(Event::Tick {
            elapsed: Duration::from_secs(s + 1),
            gauges: GaugeReading {
                in_flight: 3 + s / 4,
                sent: (s + 1) * per_sec,
                users: 0,
            },
        });
    }
}

fn screen(live: &Live, w: u16, h: u16) -> TestBackend {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(live, f)).unwrap();
    t.backend().clone()
}

fn open_run() -> Live {
    let v = view(OPEN);
    let mut live = Live::new(&v, "http://127.0.0.1:8080", true);
    feed(&mut live, 22, 50);
    live
}

#[test]
fn open_run_in_its_second_stage() {
    let live = open_run();
    assert_eq!(live.stage(), 1);
    assert_eq!(live.achieved_rate, Some(50.0));
    let fails: Vec<(&str, bool)> = live
        .verdicts
        .iter()
        .map(|v| (v.rule.as_str(), v.pass))
        .collect();
    assert_eq!(
        fails,
        [
            ("p(95)<300", false),
            ("http_req_failed<0.01", false),
            ("query: p99 < 1s", true),
            ("rps >= 50", true),
        ]
    );
    insta::assert_snapshot!(screen(&live, 110, 36));
}

#[test]
fn narrow_terminal() {
    insta::assert_snapshot!(screen(&open_run(), 80, 30));
}

#[test]
fn closed_run_ramping_users() {
    let v = view(CLOSED);
    let mut live = Live::new(&v, "http://127.0.0.1:8080", true);
    for i in 0..30u64 {
        live.apply(Event::Record(Record {
            txn: 0,
            stage: 0,
            intended_us: i * 100_000,
            start_us: i * 100_000,
            first_byte_us: None,
            end_us: i * 100_000 + 4_000,
            outcome: Outcome::Ok,
        }));
    }
    live.apply(Event::Tick {
        elapsed: Duration::from_millis(3_500),
        gauges: GaugeReading {
            in_flight: 6,
            sent: 30,
            users: 6,
        },
    });
    assert_eq!(live.target_load(), 7.0);
    insta::assert_snapshot!(screen(&live, 100, 30));
}

#[test]
fn stopping_then_ended() {
    let mut live = open_run();
    let q = KeyEvent::from(KeyCode::Char('q'));
    assert_eq!(live.apply(Event::Key(q)), Ask::Stop);
    assert!(live.stopping);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        live.apply(Event::Key(ctrl_c)),
        Ask::Quit,
        "a second stop quits"
    );
    assert_eq!(
        live.apply(Event::Key(KeyEvent::from(KeyCode::Char('x')))),
        Ask::Nothing
    );
    live.apply(Event::Ended);
    let text = format!("{:?}", screen(&live, 110, 36).buffer());
    assert!(text.contains("finished"), "{text}");
}

#[test]
fn without_colour_every_mark_stays_and_no_cell_is_coloured() {
    let v = view(OPEN);
    let mut live = Live::new(&v, "http://127.0.0.1:8080", false);
    feed(&mut live, 22, 50);
    let b = screen(&live, 110, 36);
    let buf = b.buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
        "a coloured cell without colour"
    );
    let text: String = buf.content.iter().map(|c| c.symbol()).collect();
    for mark in ["FAIL", "PASS", "errors/s 10 !", "errors 81 (7.36%) !"] {
        assert!(text.contains(mark), "{mark} missing");
    }
    // With colour, FAIL is red.
    let coloured = screen(&open_run(), 110, 36);
    let cells = &coloured.buffer().content;
    let at = (0..cells.len() - 4)
        .find(|&i| (0..4).all(|j| cells[i + j].symbol() == &"FAIL"[j..j + 1]))
        .unwrap();
    assert_eq!(cells[at].fg, Color::Red);
}
