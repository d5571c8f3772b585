//! Acting from the console: restart (`R`), stop (`X`) and scale (`N`).
//!
//! Every action goes through a confirmation line ("restart X? y/N"); `y`
//! asks the loop to carry it out ([`Effect::Run`]), anything else cancels.
//! While it runs, the status line says so; when it ends, the status line
//! gives the outcome and an audit line (when, what, how it ended) is kept
//! for the terminal's history: the console prints them when it exits.

use super::{App, Effect};

/// Something `top` can do to the deployment.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `docker restart`: the stop signal (SIGTERM, ragd drains), SIGKILL
    /// after the stop timeout, then start.
    Restart {
        id: String,
        name: String,
        stop_timeout: u32,
    },
    /// `docker stop`: the stop signal, SIGKILL after the stop timeout.
    Stop {
        id: String,
        name: String,
        stop_timeout: u32,
    },
    /// `ragctl scale SERVICE=N`, through the same code.
    Scale {
        service: String,
        project: Option<String>,
        from: u32,
        to: u32,
    },
}

impl Action {
    /// `restart shop-ragd-2`, `scale ragd (project shop) 1 -> 3`.
    pub fn describe(&self) -> String {
        match self {
            Action::Restart { name, .. } => format!("restart {name}"),
            Action::Stop { name, .. } => format!("stop {name}"),
            Action::Scale {
                service,
                project,
                from,
                to,
            } => format!("scale {service}{} {from} -> {to}", in_project(project)),
        }
    }

    /// The question the confirmation line asks.
    pub fn question(&self) -> String {
        match self {
            Action::Restart {
                name, stop_timeout, ..
            } => format!(
                "Restart {name}? Its stop signal first (SIGTERM: ragd drains in-flight requests), SIGKILL after {stop_timeout} s, then start."
            ),
            Action::Stop {
                name, stop_timeout, ..
            } => format!(
                "Stop {name}? Its stop signal first (SIGTERM: ragd drains in-flight requests), SIGKILL after {stop_timeout} s."
            ),
            Action::Scale {
                service,
                project,
                from,
                to,
            } => format!(
                "Scale {service}{} from {from} to {to} replicas (as `ragctl scale {service}={to}`)?",
                in_project(project)
            ),
        }
    }

    /// What the status line says while it runs.
    fn under_way(&self) -> String {
        match self {
            Action::Restart { name, .. } => format!("restarting {name} (SIGTERM, draining)..."),
            Action::Stop { name, .. } => format!("stopping {name} (SIGTERM, draining)..."),
            Action::Scale { service, to, .. } => {
                format!("scaling {service} to {to}, waiting for /ready...")
            }
        }
    }
}

fn in_project(p: &Option<String>) -> String {
    p.as_ref()
        .map(|p| format!(" (project {p})"))
        .unwrap_or_default()
}

/// The line being typed or confirmed at the bottom of the screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// `/` in the main view: the container filter being typed.
    Filter(String),
    /// `/` in the logs: the search being typed.
    Search(String),
    /// `N`: the replica count being typed for a service.
    ScaleTo {
        service: String,
        project: Option<String>,
        current: u32,
        input: String,
    },
    /// An action waiting for `y`.
    Confirm(Action),
}

/// How the status line reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    /// An action is under way.
    Busy,
    Done,
    Error,
}

/// The status line: what happened last.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusLine {
    pub kind: StatusKind,
    pub text: String,
}

impl StatusLine {
    pub fn info(text: impl Into<String>) -> StatusLine {
        StatusLine {
            kind: StatusKind::Info,
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> StatusLine {
        StatusLine {
            kind: StatusKind::Error,
            text: text.into(),
        }
    }
}

impl App {
    /// `R` / `X`: ask to restart or stop the selected container.
    pub(super) fn ask_container_action(&mut self, restart: bool) {
        let Some(c) = self.selected_container() else {
            self.status = Some(StatusLine::error(
                "no container selected: choose one with the arrows (a --target replica has none)",
            ));
            return;
        };
        let (id, name) = (c.row.info.id.clone(), c.row.info.name.clone());
        let stop_timeout = self.settings.stop_timeout;
        self.prompt = Some(Prompt::Confirm(if restart {
            Action::Restart {
                id,
                name,
                stop_timeout,
            }
        } else {
            Action::Stop {
                id,
                name,
                stop_timeout,
            }
        }));
    }

    /// `N`: ask for the replica count of the selected container's compose
    /// service (else `--service`, in `--project`).
    pub(super) fn ask_scale(&mut self) {
        let (service, project) = match self.selected_container() {
            Some(c) if c.row.info.service.is_some() => {
                (c.row.info.service.clone(), c.row.info.project.clone())
            }
            _ => (
                Some(self.settings.service.clone()),
                self.settings.project.clone(),
            ),
        };
        let service = service.unwrap_or_default();
        let current = self
            .containers
            .values()
            .filter(|c| {
                let i = &c.row.info;
                i.service.as_deref() == Some(&service)
                    && (project.is_none() || i.project == project)
                    && !i.oneoff
                    && i.running()
            })
            .count() as u32;
        self.prompt = Some(Prompt::ScaleTo {
            service,
            project,
            current,
            input: String::new(),
        });
    }

    /// Enter on the scale prompt: a count makes the confirmation line.
    pub(super) fn scale_entered(
        &mut self,
        service: String,
        project: Option<String>,
        current: u32,
        input: &str,
    ) {
        match input.trim().parse::<u32>() {
            Ok(to) if to <= 1000 => {
                self.prompt = Some(Prompt::Confirm(Action::Scale {
                    service,
                    project,
                    from: current,
                    to,
                }));
            }
            _ => {
                self.status = Some(StatusLine::error(format!(
                    "scale: {:?} is not a replica count (0 to 1000)",
                    input.trim()
                )));
            }
        }
    }

    /// The answer to a confirmation line: `y` runs the action.
    pub(super) fn confirmed(&mut self, action: Action, yes: bool) {
        if !yes {
            self.status = Some(StatusLine::info(format!(
                "cancelled: {}",
                action.describe()
            )));
            return;
        }
        self.running += 1;
        self.status = Some(StatusLine {
            kind: StatusKind::Busy,
            text: action.under_way(),
        });
        self.effects.push(Effect::Run(action));
    }

    /// An action ended: the status line and the audit say how.
    pub(super) fn action_done(
        &mut self,
        action: Action,
        result: Result<String, String>,
        seconds: f64,
        at: &str,
    ) {
        self.running = self.running.saturating_sub(1);
        let (kind, text) = match &result {
            Ok(what) => (StatusKind::Done, format!("{what} in {seconds:.1} s")),
            Err(why) => (
                StatusKind::Error,
                format!("{} failed after {seconds:.1} s: {why}", action.describe()),
            ),
        };
        self.audit.push(format!(
            "{at} {}: {}",
            action.describe(),
            match &result {
                Ok(what) => format!("ok in {seconds:.1} s ({what})"),
                Err(why) => format!("FAILED after {seconds:.1} s: {why}"),
            }
        ));
        self.status = Some(StatusLine { kind, text });
    }
}
