//! The console's state and the one event enum that changes it.
//!
//! Collectors (Docker, replicas, host, keyboard and mouse) and the effects
//! runner only send [`Event`]s; [`App::apply`] is the only place state
//! changes, and drawing reads the state without touching it. What the state
//! wants done outside (read a container's limits, follow its logs, restart
//! it...) it asks for as an [`Effect`] in [`App::effects`], which the
//! console's loop hands to the runner. Everything here is plain data, so
//! tests build an `App`, feed it events and snapshot the screen.
//!
//! One type, several files by job (STYLE.md item 15):
//! - this file: the types, [`App::apply`], and the data collectors' events;
//! - `keys.rs`: keys and mouse, per view and prompt;
//! - `select.rs`: which row is selected, and what it stands for;
//! - `logs.rs`: the logs pane's buffer, scrolling and search;
//! - `actions.rs`: restart, stop and scale, their confirmation, outcome and
//!   audit lines.

mod actions;
mod keys;
mod logs;
mod select;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use crate::docker::{ContainerInfo, Limits};
use crate::host::HostRow;
use crate::ragd::{Probe, ReplicaRow, Target};
use crate::snapshot::{ContainerRow, Thresholds};
use crate::stats::{StatsSample, rate};

pub use actions::{Action, Prompt, StatusKind, StatusLine};
pub use logs::LogsView;
pub use select::Selected;

/// Points of history kept for sparklines.
pub const HISTORY: usize = 120;

/// Log lines asked for when the logs pane opens (`docker logs --tail`).
pub const LOG_TAIL: usize = 500;

/// Everything that can change the console.
#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// The terminal's size (columns, rows), for mouse hit-testing.
    Resize(u16, u16),
    /// A fresh container list, or why Docker cannot be read.
    Containers(Result<Vec<ContainerInfo>, String>),
    /// One streamed stats reading of a container.
    Stats {
        id: String,
        sample: Box<StatsSample>,
        at: Instant,
    },
    /// A container lifecycle event (`start`, `die`, ...), for the log line.
    Docker {
        action: String,
        name: String,
    },
    /// A round of replica probes: the replicas probed (those no longer
    /// targeted go) and one probe of each.
    Round {
        targets: Vec<Target>,
        probes: Vec<Probe>,
    },
    Host(HostRow),
    /// A container's limits, read for the detail view.
    Limits {
        id: String,
        limits: Result<Limits, String>,
    },
    /// Lines from the logs of container `id`.
    LogLines {
        id: String,
        lines: Vec<String>,
    },
    /// The logs of container `id` stopped coming (it stopped, or an error).
    LogsEnded {
        id: String,
        why: String,
    },
    /// An action ended: what it did, or why it failed.
    ActionDone {
        action: Action,
        result: Result<String, String>,
        seconds: f64,
        /// When it ended (RFC 3339, UTC), for the audit line.
        at: String,
    },
}

/// How soon the screen should show what an event changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redraw {
    /// At the next frame (at most 10 a second): what the user did or waits
    /// for (keys, an action's outcome, logs, container events), and the
    /// end of a probing round, which also shows the readings that came in
    /// since the last frame.
    Soon,
    /// One reading among many (a container's stats, the host): shown with
    /// the next round, so the screen is drawn about once per refresh as
    /// `docker stats` draws it, not once per reading.
    WithRound,
}

impl Event {
    /// When the screen should be drawn again after this event.
    pub fn redraw(&self) -> Redraw {
        match self {
            Event::Stats { .. } | Event::Host(_) => Redraw::WithRound,
            _ => Redraw::Soon,
        }
    }
}

/// What the state asks the console's loop to do outside.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Read container `id`'s limits (`docker inspect`).
    Limits(String),
    /// Follow container `id`'s logs from its last `tail` lines.
    FollowLogs { id: String, tail: usize },
    /// Stop following logs.
    StopLogs,
    /// Carry out a confirmed action.
    Run(Action),
}

/// Which screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Containers, replicas, host and history.
    Main,
    /// Everything about the selected container or replica.
    Detail,
    /// The selected container's logs.
    Logs,
}

/// Container sort orders, cycled with `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Cpu,
    Memory,
    Name,
    Service,
    Network,
}

impl SortKey {
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Cpu => "cpu",
            SortKey::Memory => "mem",
            SortKey::Name => "name",
            SortKey::Service => "service",
            SortKey::Network => "net",
        }
    }
    fn next(self) -> SortKey {
        match self {
            SortKey::Cpu => SortKey::Memory,
            SortKey::Memory => SortKey::Network,
            SortKey::Network => SortKey::Name,
            SortKey::Name => SortKey::Service,
            SortKey::Service => SortKey::Cpu,
        }
    }
}

/// A container with what the console remembers about it.
#[derive(Debug, Clone)]
pub struct ContainerView {
    pub row: ContainerRow,
    /// Previous reading, for network rates.
    pub last: Option<(Instant, StatsSample)>,
    /// CPU % × 10, for the sparkline.
    pub cpu_history: VecDeque<u64>,
    /// Memory % × 10.
    pub mem_history: VecDeque<u64>,
}

/// A replica with its last probe (rates are computed against it) and the
/// history of its figures.
#[derive(Debug, Clone)]
pub struct ReplicaView {
    pub row: ReplicaRow,
    pub last: Option<Probe>,
    pub rps_history: VecDeque<u64>,
    /// P95 in ms × 10.
    pub p95_history: VecDeque<u64>,
    /// 5xx share in per mille.
    pub err_history: VecDeque<u64>,
}

impl ReplicaView {
    pub fn new(row: ReplicaRow, last: Option<Probe>) -> ReplicaView {
        ReplicaView {
            row,
            last,
            rps_history: VecDeque::new(),
            p95_history: VecDeque::new(),
            err_history: VecDeque::new(),
        }
    }
}

/// What `top` needs besides state to act: how long a stop may take, and
/// which service `N` scales when the selection names none.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSettings {
    /// Seconds between the stop signal (SIGTERM for ragd) and SIGKILL.
    pub stop_timeout: u32,
    /// The ragd service (`--service`) and project (`--project`).
    pub service: String,
    pub project: Option<String>,
}

impl Default for ActionSettings {
    fn default() -> Self {
        ActionSettings {
            stop_timeout: 30,
            service: "ragd".into(),
            project: None,
        }
    }
}

/// The console.
#[derive(Debug, Clone)]
pub struct App {
    pub thresholds: Thresholds,
    pub refresh: Duration,
    pub docker_address: String,
    /// Why Docker is missing; `None` while it answers.
    pub docker_error: Option<String>,
    /// Whether a container list has arrived yet.
    pub docker_seen: bool,
    pub containers: BTreeMap<String, ContainerView>,
    /// Keyed by URL, kept in target order.
    pub replicas: Vec<ReplicaView>,
    pub host: Option<HostRow>,
    pub host_cpu_history: VecDeque<u64>,
    /// Requests per second over all replicas.
    pub total_rps_history: VecDeque<u64>,
    /// Recent Docker events, newest last.
    pub events: VecDeque<String>,
    pub sort: SortKey,
    pub reverse: bool,
    /// Applied text filter (name, service, project or image contains it).
    pub filter: String,
    /// Only this compose project (cycled with `p`).
    pub project: Option<String>,
    pub show_help: bool,
    pub quit: bool,
    pub view: View,
    /// The selected row (containers first, then replicas), by identity so
    /// it survives re-sorting.
    pub selected: Option<Selected>,
    /// Container limits read for the detail view, by container id.
    pub limits: BTreeMap<String, Result<Limits, String>>,
    /// The logs pane, while open.
    pub logs: Option<LogsView>,
    /// The line being typed or confirmed at the bottom (filter, search,
    /// scale count, "restart X? y/N").
    pub prompt: Option<Prompt>,
    /// The outcome of the last action, or what is under way.
    pub status: Option<StatusLine>,
    /// One line per action ended (when, what, outcome), printed to the
    /// terminal when the console exits.
    pub audit: Vec<String>,
    /// Actions under way.
    pub running: usize,
    /// What the loop should do next (drained by it).
    pub effects: Vec<Effect>,
    pub settings: ActionSettings,
    /// Draw colours (off for NO_COLOR or `--color never`); marks stay.
    pub color: bool,
    /// Terminal size, for mouse hit-testing.
    pub size: (u16, u16),
}

fn push(h: &mut VecDeque<u64>, v: u64) {
    if h.len() == HISTORY {
        h.pop_front();
    }
    h.push_back(v);
}

impl App {
    pub fn new(thresholds: Thresholds, refresh: Duration, docker_address: String) -> App {
        App {
            thresholds,
            refresh,
            docker_address,
            docker_error: None,
            docker_seen: false,
            containers: BTreeMap::new(),
            replicas: Vec::new(),
            host: None,
            host_cpu_history: VecDeque::new(),
            total_rps_history: VecDeque::new(),
            events: VecDeque::new(),
            sort: SortKey::Cpu,
            reverse: false,
            filter: String::new(),
            project: None,
            show_help: false,
            quit: false,
            view: View::Main,
            selected: None,
            limits: BTreeMap::new(),
            logs: None,
            prompt: None,
            status: None,
            audit: Vec::new(),
            running: 0,
            effects: Vec::new(),
            settings: ActionSettings::default(),
            color: true,
            size: (0, 0),
        }
    }

    /// Apply one event. The only place state changes: each arm hands the
    /// event to the method that owns that part of the state.
    pub fn apply(&mut self, ev: Event) {
        match ev {
            Event::Key(k) => self.key(k),
            Event::Mouse(m) => self.mouse(m),
            Event::Resize(w, h) => self.size = (w, h),
            Event::Containers(Err(why)) => self.docker_lost(why),
            Event::Containers(Ok(list)) => self.containers_listed(list),
            Event::Stats { id, sample, at } => self.stats_read(&id, *sample, at),
            Event::Docker { action, name } => self.docker_event(&action, &name),
            Event::Round { targets, probes } => self.round(&targets, probes),
            Event::Host(h) => self.host_read(h),
            Event::Limits { id, limits } => {
                self.limits.insert(id, limits);
            }
            Event::LogLines { id, lines } => self.log_lines(&id, lines),
            Event::LogsEnded { id, why } => self.logs_ended(&id, why),
            Event::ActionDone {
                action,
                result,
                seconds,
                at,
            } => self.action_done(action, result, seconds, &at),
        }
    }

    /// The effects asked for since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    fn docker_lost(&mut self, why: String) {
        self.docker_error = Some(why);
        self.docker_seen = true;
        self.containers.clear();
    }

    /// A fresh list: gone containers are dropped, new ones added, and a
    /// stopped one forgets its readings.
    fn containers_listed(&mut self, list: Vec<ContainerInfo>) {
        self.docker_error = None;
        self.docker_seen = true;
        let ids: BTreeSet<&str> = list.iter().map(|c| c.id.as_str()).collect();
        self.containers.retain(|id, _| ids.contains(id.as_str()));
        for info in list {
            let running = info.running();
            match self.containers.get_mut(&info.id) {
                Some(v) => {
                    v.row.info = info;
                    if !running {
                        v.row.stats = None;
                        v.row.net_rx_per_sec = None;
                        v.row.net_tx_per_sec = None;
                        v.last = None;
                    }
                }
                None => {
                    self.containers.insert(
                        info.id.clone(),
                        ContainerView {
                            row: ContainerRow {
                                info,
                                stats: None,
                                net_rx_per_sec: None,
                                net_tx_per_sec: None,
                            },
                            last: None,
                            cpu_history: VecDeque::new(),
                            mem_history: VecDeque::new(),
                        },
                    );
                }
            }
        }
    }

    /// A stats reading of a running container we know; network rates are
    /// computed against the previous reading.
    fn stats_read(&mut self, id: &str, sample: StatsSample, at: Instant) {
        let Some(v) = self.containers.get_mut(id) else {
            return;
        };
        if !v.row.info.running() {
            return;
        }
        let now = sample.compute();
        // The previous reading's figures are those on the row.
        if let (Some((t0, _)), Some(before)) = (&v.last, &v.row.stats) {
            let secs = at.saturating_duration_since(*t0).as_secs_f64();
            v.row.net_rx_per_sec = Some(rate(before.net_rx_bytes, now.net_rx_bytes, secs));
            v.row.net_tx_per_sec = Some(rate(before.net_tx_bytes, now.net_tx_bytes, secs));
        }
        push(&mut v.cpu_history, (now.cpu_percent * 10.0).round() as u64);
        push(&mut v.mem_history, (now.mem_percent * 10.0).round() as u64);
        v.row.stats = Some(now);
        v.last = Some((at, sample));
    }

    /// The last five container events, for the footer.
    fn docker_event(&mut self, action: &str, name: &str) {
        if self.events.len() == 5 {
            self.events.pop_front();
        }
        self.events.push_back(format!("{name}: {action}"));
    }

    /// A probing round: replicas no longer targeted go, each probe updates
    /// its replica (rates against its previous probe), and the round adds
    /// one point to the total req/s history.
    fn round(&mut self, targets: &[Target], probes: Vec<Probe>) {
        let urls: BTreeSet<&str> = targets.iter().map(|t| t.url.as_str()).collect();
        self.replicas.retain(|r| urls.contains(r.row.url.as_str()));
        for p in probes {
            self.probed(p);
        }
        self.replicas.sort_by(|a, b| a.row.name.cmp(&b.row.name));
        if self
            .replicas
            .iter()
            .any(|r| r.row.requests_per_sec.is_some())
        {
            let total: f64 = self
                .replicas
                .iter()
                .filter_map(|r| r.row.requests_per_sec)
                .sum();
            push(&mut self.total_rps_history, total.round() as u64);
        }
    }

    /// A replica's probe; its rates are computed against its previous one.
    fn probed(&mut self, p: Probe) {
        let idx = self.replicas.iter().position(|r| r.row.url == p.target.url);
        match idx {
            Some(i) => {
                let r = &mut self.replicas[i];
                r.row = ReplicaRow::from_probes(r.last.as_ref(), &p);
                push(
                    &mut r.rps_history,
                    r.row.requests_per_sec.unwrap_or(0.0).round() as u64,
                );
                push(
                    &mut r.p95_history,
                    (r.row.p95_ms.unwrap_or(0.0) * 10.0).round() as u64,
                );
                push(
                    &mut r.err_history,
                    (r.row.error_rate.unwrap_or(0.0) * 1000.0).round() as u64,
                );
                r.last = Some(p);
            }
            None => {
                self.replicas
                    .push(ReplicaView::new(ReplicaRow::from_probes(None, &p), Some(p)));
            }
        }
    }

    fn host_read(&mut self, h: HostRow) {
        push(
            &mut self.host_cpu_history,
            (h.cpu_percent * 10.0).round() as u64,
        );
        self.host = Some(h);
    }

    /// Compose projects seen, in order, for `p`.
    pub fn projects(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .containers
            .values()
            .filter_map(|c| c.row.info.project.clone())
            .collect();
        set.into_iter().collect()
    }

    fn next_project(&self) -> Option<String> {
        let ps = self.projects();
        match &self.project {
            None => ps.first().cloned(),
            Some(cur) => ps
                .iter()
                .position(|p| p == cur)
                .and_then(|i| ps.get(i + 1).cloned()),
        }
    }

    /// Containers after the project and text filters, in the chosen order.
    pub fn visible_containers(&self) -> Vec<&ContainerView> {
        let needle = self.filter.to_lowercase();
        let mut v: Vec<&ContainerView> = self
            .containers
            .values()
            .filter(|c| self.project.is_none() || c.row.info.project == self.project)
            .filter(|c| {
                let i = &c.row.info;
                needle.is_empty()
                    || [
                        Some(&i.name),
                        i.service.as_ref(),
                        i.project.as_ref(),
                        Some(&i.image),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|s| s.to_lowercase().contains(&needle))
            })
            .collect();
        let cpu = |c: &ContainerView| c.row.stats.map_or(-1.0, |s| s.cpu_percent);
        let mem = |c: &ContainerView| c.row.stats.map_or(0, |s| s.mem_used_bytes);
        let net = |c: &ContainerView| {
            c.row.net_rx_per_sec.unwrap_or(0.0) + c.row.net_tx_per_sec.unwrap_or(0.0)
        };
        match self.sort {
            // busiest first
            SortKey::Cpu => v.sort_by(|a, b| cpu(b).total_cmp(&cpu(a))),
            SortKey::Memory => v.sort_by_key(|c| std::cmp::Reverse(mem(c))),
            SortKey::Network => v.sort_by(|a, b| net(b).total_cmp(&net(a))),
            SortKey::Name => v.sort_by(|a, b| a.row.info.name.cmp(&b.row.info.name)),
            SortKey::Service => v.sort_by(|a, b| {
                (&a.row.info.project, &a.row.info.service, a.row.info.number).cmp(&(
                    &b.row.info.project,
                    &b.row.info.service,
                    b.row.info.number,
                ))
            }),
        }
        if self.reverse {
            v.reverse();
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyCode;

    fn key(c: char) -> Event {
        Event::Key(KeyEvent::from(KeyCode::Char(c)))
    }

    #[test]
    fn keys_drive_sort_filter_help_and_quit() {
        let mut app = App::new(Thresholds::default(), Duration::from_secs(1), "x".into());
        app.apply(key('s'));
        assert_eq!(app.sort, SortKey::Memory);
        app.apply(key('/'));
        for c in "ragd".chars() {
            app.apply(key(c));
        }
        // typing q in the filter does not quit
        app.apply(key('q'));
        app.apply(Event::Key(KeyEvent::from(KeyCode::Backspace)));
        app.apply(Event::Key(KeyEvent::from(KeyCode::Enter)));
        assert_eq!(app.filter, "ragd");
        assert!(!app.quit);
        app.apply(key('?'));
        assert!(app.show_help);
        app.apply(key('x'));
        assert!(!app.show_help);
        app.apply(key('-'));
        assert_eq!(app.refresh, Duration::from_millis(500));
        app.apply(key('q'));
        assert!(app.quit);
    }

    #[test]
    fn stats_for_unknown_or_stopped_containers_are_ignored() {
        let mut app = App::new(Thresholds::default(), Duration::from_secs(1), "x".into());
        app.apply(Event::Stats {
            id: "nope".into(),
            sample: Box::default(),
            at: Instant::now(),
        });
        assert!(app.containers.is_empty());
        app.apply(Event::Containers(Err("socket not found".into())));
        assert_eq!(app.docker_error.as_deref(), Some("socket not found"));
    }
}
