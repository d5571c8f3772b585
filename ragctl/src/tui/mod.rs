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
//!   loop that applies events, hands effects to the runner and redraws at
//!   most every 100 ms. A [`TerminalGuard`] plus a panic hook put the
//!   terminal back however the console ends; then the audit lines of the
//!   actions taken are printed, so they stay in the terminal's history.

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
use state::{ActionSettings, App, Event};

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
            refresh_rx.clone(),
        )),
        tokio::spawn(host_collector(tx.clone(), refresh_rx)),
    ];
    let stop_keys = Arc::new(AtomicBool::new(false));
    let keys = {
        let tx = tx.clone();
        let stop = stop_keys.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(100)) {
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
        })
    };
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
        let mut frame = tokio::time::interval(Duration::from_millis(100));
        frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut dirty = true;
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => {
                        app.apply(ev);
                        for effect in app.take_effects() {
                            runner.run(effect);
                        }
                        dirty = true;
                    }
                    None => break,
                },
                _ = frame.tick() => {
                    if dirty {
                        term.draw(|f| render::draw(&app, f))
                            .map_err(|e| Error::Usage(format!("terminal: {e}")))?;
                        dirty = false;
                    }
                }
            }
            if app.quit {
                break;
            }
            if *refresh_tx.borrow() != app.refresh {
                let _ = refresh_tx.send(app.refresh);
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
    let _ = keys.join();
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

/// Keeps the container list fresh (on every event, and every refresh as a
/// safety net) and one stats stream per running container.
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
            let wait = (*refresh.borrow()).max(Duration::from_secs(2));
            tokio::select! {
                ev = events.next(), if events_alive => match ev {
                    Some(Ok((action, _id, name))) => {
                        if action.starts_with("exec_") || action == "top" {
                            continue;
                        }
                        let _ = tx.send(Event::Docker { action, name }).await;
                    }
                    _ => events_alive = false,
                },
                _ = tokio::time::sleep(wait) => {}
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

/// Probes every replica once per refresh interval.
async fn replica_collector(
    tx: mpsc::Sender<Event>,
    scope: Scope,
    containers: watch::Receiver<Vec<ContainerInfo>>,
    refresh: watch::Receiver<Duration>,
) {
    let client = ragd::client();
    loop {
        let targets = scope.targets(&containers.borrow());
        if tx.send(Event::Targets(targets.clone())).await.is_err() {
            return;
        }
        let started = Instant::now();
        let probes =
            futures::future::join_all(targets.iter().map(|t| ragd::probe(&client, t))).await;
        for p in probes {
            if tx.send(Event::Probe(Box::new(p))).await.is_err() {
                return;
            }
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
