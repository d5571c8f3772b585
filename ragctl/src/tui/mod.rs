//! `ragctl top`: the live console, to look and to act.
//!
//! - [`state`]: the `App` state, the one `Event` enum that changes it, and
//!   the `Effect`s it asks for (read limits, follow logs, restart, stop,
//!   scale).
//! - [`render`]: `draw(&App, &mut Frame)`, reading state only.
//! - [`layout`]: where the tables are, for drawing and for mouse clicks.
//! - [`effects`]: carrying out effects, each reporting back as an event.
//! - this module: the collectors (Docker list + events + one stats stream
//!   per running container, as `docker stats` does; replica probes; host;
//!   keyboard and mouse), each a task feeding the event channel, and the
//!   loop that applies events, hands effects to the runner and redraws:
//!   within 100 ms of what the user does, once per probing round for the
//!   readings ([`state::Redraw`]), never when nothing changed. A
//!   [`TerminalGuard`] plus a panic hook put the terminal back however the
//!   console ends; then the audit lines of the actions taken are printed,
//!   so they stay in the terminal's history.

pub mod effects;
pub mod layout;
pub mod render;
pub mod state;

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, event, execute, terminal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::docker::{self, ContainerInfo};
use crate::error::Error;
use crate::host::HostSampler;
use crate::ragd;
use crate::snapshot::{Scope, Thresholds};
use state::{ActionSettings, App, Event, Redraw, View};

/// The shortest time between two frames.
const FRAME: Duration = Duration::from_millis(100);

/// How `top` looks and acts, from its flags.
#[derive(Debug, Clone)]
pub struct TopOptions {
    pub thresholds: Thresholds,
    /// Between replica and host readings (250 ms to 10 s).
    pub refresh: Duration,
    /// Colours on (off for NO_COLOR / `--color never`).
    pub color: bool,
    /// Seconds between SIGTERM and SIGKILL for restart, stop and scale down.
    pub stop_timeout: u32,
    /// How long a new replica may take to answer `/ready` when scaling.
    pub ready_timeout: Duration,
}

/// Raw mode, the alternate screen and mouse reports for as long as it lives.
pub struct TerminalGuard;

fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        event::DisableMouseCapture,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
}

impl TerminalGuard {
    pub fn new() -> io::Result<TerminalGuard> {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            hook(info);
        }));
        terminal::enable_raw_mode()?;
        if let Err(e) = execute!(
            io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide,
            event::EnableMouseCapture
        ) {
            restore_terminal();
            return Err(e);
        }
        Ok(TerminalGuard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Run the console until the user quits; then print the audit lines of
/// the actions taken on stderr.
pub async fn run(scope: Scope, opts: TopOptions) -> Result<(), Error> {
    let refresh = opts
        .refresh
        .clamp(Duration::from_millis(250), Duration::from_secs(10));
    let (tx, mut rx) = mpsc::channel::<Event>(4096);
    let (refresh_tx, refresh_rx) = watch::channel(refresh);
    let (containers_tx, containers_rx) = watch::channel(Vec::<ContainerInfo>::new());
    // The replica whose detail is on screen: its /status is read every round.
    let (detail_tx, detail_rx) = watch::channel(None::<String>);
    let mut tasks = vec![
        tokio::spawn(docker_collector(
            tx.clone(),
            scope.project.clone(),
            containers_tx,
            refresh_rx.clone(),
        )),
        tokio::spawn(replica_collector(
            tx.clone(),
            scope.clone(),
            containers_rx,
            detail_rx,
            refresh_rx.clone(),
        )),
        tokio::spawn(host_collector(tx.clone(), refresh_rx)),
    ];
    let stop_keys = Arc::new(AtomicBool::new(false));
    // The keyboard and mouse thread. It wakes once a second when nothing
    // happens (to see the stop flag), not ten times; top does not wait
    // for it when quitting (the process ends right after).
    {
        let tx = tx.clone();
        let stop = stop_keys.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_secs(1)) {
                    Ok(true) => {
                        let ev = match event::read() {
                            Ok(event::Event::Key(k)) => Event::Key(k),
                            Ok(event::Event::Mouse(m)) => Event::Mouse(m),
                            Ok(event::Event::Resize(w, h)) => Event::Resize(w, h),
                            _ => continue,
                        };
                        if tx.blocking_send(ev).is_err() {
                            break;
                        }
                    }
                    Ok(false) => {}
                    Err(_) => break,
                }
            }
        });
    }
    let mut runner = effects::Runner::new(
        tx.clone(),
        effects::Context {
            port: scope.port,
            ready_timeout: opts.ready_timeout,
            stop_timeout: opts.stop_timeout,
        },
    );
    drop(tx);

    let mut app = App::new(opts.thresholds, refresh, docker::engine_address());
    app.color = opts.color;
    app.settings = ActionSettings {
        stop_timeout: opts.stop_timeout,
        service: scope.service.clone(),
        project: scope.project.clone(),
    };
    if let Ok((w, h)) = terminal::size() {
        app.size = (w, h);
    }
    let result = async {
        let guard = TerminalGuard::new().map_err(|e| {
            Error::Usage(format!(
                "ragctl top needs an interactive terminal ({e}); use `ragctl status` in scripts"
            ))
        })?;
        let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))
            .map_err(|e| Error::Usage(format!("terminal: {e}")))?;
        // Drawing is scheduled, not ticked: nothing wakes the loop while
        // nothing changes. What the user did shows within a frame (100
        // ms); readings wait for the end of the probing round, so a
        // screen of 12 containers is drawn about once per refresh, not
        // once per stats reading (12 a second).
        let mut last_draw = Instant::now();
        let mut next_draw: Option<Instant> = Some(last_draw);
        loop {
            let draw_at = async {
                match next_draw {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => {
                        let when = match ev.redraw() {
                            Redraw::Soon => last_draw + FRAME,
                            // At the latest a round and a quarter after
                            // the last frame, should a round be slow.
                            Redraw::WithRound => last_draw + app.refresh.min(Duration::from_secs(1)) * 5 / 4,
                        };
                        app.apply(ev);
                        for effect in app.take_effects() {
                            runner.run(effect);
                        }
                        next_draw = Some(next_draw.map_or(when, |t| t.min(when)));
                    }
                    None => break,
                },
                _ = draw_at => {
                    term.draw(|f| render::draw(&app, f))
                        .map_err(|e| Error::Usage(format!("terminal: {e}")))?;
                    last_draw = Instant::now();
                    next_draw = None;
                }
            }
            if app.quit {
                break;
            }
            if *refresh_tx.borrow() != app.refresh {
                let _ = refresh_tx.send(app.refresh);
            }
            let shown = match app.view {
                View::Detail => app.selected_replica().map(|r| r.row.url.clone()),
                _ => None,
            };
            if *detail_tx.borrow() != shown {
                let _ = detail_tx.send(shown);
            }
        }
        drop(guard);
        Ok::<(), Error>(())
    }
    .await;
    stop_keys.store(true, Ordering::Relaxed);
    for t in tasks.drain(..) {
        t.abort();
    }
    drop(runner);
    for line in &app.audit {
        eprintln!("ragctl top: {line}");
    }
    if app.running > 0 {
        eprintln!(
            "ragctl top: {} action(s) were still under way when top quit; Docker carries them on (see `docker ps`)",
            app.running
        );
    }
    result
}

/// How often the container list is read again while the engine's event
/// stream is alive (every lifecycle event reads it at once): a safety net
/// only. `docker stats` never reads it again.
const SAFETY_LIST: Duration = Duration::from_secs(10);

/// Keeps the container list fresh (on every lifecycle event, and every
/// [`SAFETY_LIST`] as a safety net) and one stats stream per running
/// container.
async fn docker_collector(
    tx: mpsc::Sender<Event>,
    project: Option<String>,
    containers_tx: watch::Sender<Vec<ContainerInfo>>,
    refresh: watch::Receiver<Duration>,
) {
    let mut streams: HashMap<String, JoinHandle<()>> = HashMap::new();
    loop {
        let d = match docker::connect().await {
            Ok(d) => d,
            Err(e) => {
                if tx
                    .send(Event::Containers(Err(e.to_string())))
                    .await
                    .is_err()
                {
                    return;
                }
                let _ = containers_tx.send(Vec::new());
                tokio::time::sleep(Duration::from_secs(3)).await;
                continue;
            }
        };
        let mut events = docker::container_events(&d).boxed();
        let mut events_alive = true;
        loop {
            match docker::list(&d, project.as_deref()).await {
                Ok(list) => {
                    streams.retain(|id, h| {
                        let keep =
                            !h.is_finished() && list.iter().any(|c| &c.id == id && c.running());
                        if !keep {
                            h.abort();
                        }
                        keep
                    });
                    for c in list.iter().filter(|c| c.running()) {
                        if !streams.contains_key(&c.id) {
                            streams.insert(
                                c.id.clone(),
                                tokio::spawn(stats_stream(tx.clone(), d.clone(), c.id.clone())),
                            );
                        }
                    }
                    let _ = containers_tx.send(list.clone());
                    if tx.send(Event::Containers(Ok(list))).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    for (_, h) in streams.drain() {
                        h.abort();
                    }
                    let _ = tx.send(Event::Containers(Err(e.to_string()))).await;
                    break;
                }
            }
            // Wait for a lifecycle event, which asks for a fresh list; the
            // timer is a safety net against events missed, a short one
            // only while the event stream is down.
            let wait = if events_alive {
                SAFETY_LIST
            } else {
                (*refresh.borrow()).max(Duration::from_secs(2))
            };
            let timer = tokio::time::sleep(wait);
            tokio::pin!(timer);
            loop {
                tokio::select! {
                    ev = events.next(), if events_alive => match ev {
                        Some(Ok((action, _id, name))) => {
                            // The engine filters these out already; an
                            // engine that does not is no reason to list.
                            if action.starts_with("exec_") || action == "top" {
                                continue;
                            }
                            let _ = tx.send(Event::Docker { action, name }).await;
                        }
                        _ => events_alive = false,
                    },
                    _ = &mut timer => {}
                }
                break;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn stats_stream(tx: mpsc::Sender<Event>, d: bollard::Docker, id: String) {
    let mut s = docker::stats_stream(&d, &id).boxed();
    while let Some(Ok(sample)) = s.next().await {
        let ev = Event::Stats {
            id: id.clone(),
            sample: Box::new(sample),
            at: Instant::now(),
        };
        if tx.send(ev).await.is_err() {
            return;
        }
    }
}

/// How long a replica's `/status` is shown before it is read again, when
/// nothing says it changed.
const STATUS_EVERY: Duration = Duration::from_secs(10);

/// A replica's last `/status`, when it was read, and what `/ready` said
/// then.
struct KnownStatus {
    at: Instant,
    status: ragd_api::Status,
    ready: ReadySign,
}

/// What `/ready` says: ready, and each backend's health. ragd's `state`
/// in `/status` follows from the same backends.
type ReadySign = (bool, Vec<(String, bool)>);

fn ready_sign(p: &ragd::Probe) -> ReadySign {
    (
        p.ready,
        p.ready_body
            .as_ref()
            .map(|b| b.backends.iter().map(|x| (x.name.clone(), x.ok)).collect())
            .unwrap_or_default(),
    )
}

/// Probes every replica once per refresh interval; the round goes to the
/// console as one event, which is also when the screen is drawn.
///
/// `/ready` and `/metrics` are read every round. `/status` is read again
/// only when it may say something new: the replica's detail is on screen,
/// `/ready` changed (readiness or a backend's health, which ragd's state
/// follows from), the replica was down or is new, or [`STATUS_EVERY`]
/// passed; otherwise the last one stands in. Its pool figures, the ones
/// that move, come from `/metrics` every round all the same.
async fn replica_collector(
    tx: mpsc::Sender<Event>,
    scope: Scope,
    containers: watch::Receiver<Vec<ContainerInfo>>,
    detail: watch::Receiver<Option<String>>,
    refresh: watch::Receiver<Duration>,
) {
    let client = ragd::client();
    let mut known: HashMap<String, KnownStatus> = HashMap::new();
    loop {
        let targets = scope.targets(&containers.borrow());
        let shown = detail.borrow().clone();
        let started = Instant::now();
        let probes = futures::future::join_all(targets.iter().map(|t| {
            let cached = known
                .get(&t.url)
                .filter(|k| k.at.elapsed() < STATUS_EVERY && shown.as_ref() != Some(&t.url));
            let client = &client;
            async move {
                let mut p = ragd::probe_parts(client, t, cached.is_none()).await;
                let Some(k) = cached else {
                    return (p, true);
                };
                if !p.up {
                    return (p, false);
                }
                if ready_sign(&p) == k.ready {
                    p.status = Some(k.status.clone());
                    return (p, false);
                }
                match ragd::status(client, t).await {
                    Ok(s) => p.status = Some(s),
                    Err(e) => {
                        let why = format!("/status: {e}");
                        p.error = Some(match p.error.take() {
                            Some(x) => format!("{x}; {why}"),
                            None => why,
                        });
                    }
                }
                (p, true)
            }
        }))
        .await;
        known.retain(|url, _| targets.iter().any(|t| &t.url == url));
        let probes: Vec<ragd::Probe> = probes
            .into_iter()
            .map(|(p, read)| {
                match (&p.status, p.up) {
                    (Some(s), true) if read => {
                        known.insert(
                            p.target.url.clone(),
                            KnownStatus {
                                at: Instant::now(),
                                status: s.clone(),
                                ready: ready_sign(&p),
                            },
                        );
                    }
                    (Some(_), true) => {}
                    _ => {
                        known.remove(&p.target.url);
                    }
                }
                p
            })
            .collect();
        if tx.send(Event::Round { targets, probes }).await.is_err() {
            return;
        }
        let wait = *refresh.borrow();
        tokio::time::sleep(wait.saturating_sub(started.elapsed())).await;
    }
}

async fn host_collector(tx: mpsc::Sender<Event>, refresh: watch::Receiver<Duration>) {
    let mut sampler = HostSampler::new();
    loop {
        let wait = *refresh.borrow();
        tokio::time::sleep(wait.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL)).await;
        if tx.send(Event::Host(sampler.sample())).await.is_err() {
            return;
        }
    }
}
