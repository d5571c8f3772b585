//! Carrying out what the console's state asks for ([`Effect`]s): reading a
//! container's limits, following its logs, restarting or stopping it,
//! scaling a service. Each runs in a task of its own and reports back as
//! an [`Event`], so the screen keeps drawing while Docker works.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::state::{Action, Effect, Event};
use crate::docker::{self, LineSplitter, LogsFrom};
use crate::error::Error;
use crate::scale;

/// What actions need besides the action itself.
#[derive(Debug, Clone)]
pub struct Context {
    /// ragd's port inside its containers (scale waits for `/ready` on it).
    pub port: u16,
    /// How long each new replica may take to answer `/ready` when scaling.
    pub ready_timeout: Duration,
    /// Seconds between SIGTERM and SIGKILL for replicas scaled away.
    pub stop_timeout: u32,
}

/// Runs effects, one task each; the logs stream is replaced when another
/// container's logs are opened and ends when the pane closes.
pub struct Runner {
    tx: mpsc::Sender<Event>,
    ctx: Context,
    logs: Option<JoinHandle<()>>,
}

impl Runner {
    pub fn new(tx: mpsc::Sender<Event>, ctx: Context) -> Runner {
        Runner {
            tx,
            ctx,
            logs: None,
        }
    }

    pub fn run(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        match effect {
            Effect::Limits(id) => {
                tokio::spawn(async move {
                    let limits = match docker::connect().await {
                        Ok(d) => docker::limits(&d, &id).await,
                        Err(e) => Err(e),
                    }
                    .map_err(|e| e.to_string());
                    let _ = tx.send(Event::Limits { id, limits }).await;
                });
            }
            Effect::FollowLogs { id, tail } => {
                self.stop_logs();
                self.logs = Some(tokio::spawn(follow_logs(tx, id, tail)));
            }
            Effect::StopLogs => self.stop_logs(),
            Effect::Run(action) => {
                let ctx = self.ctx.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let result = carry_out(&action, &ctx).await;
                    let _ = tx
                        .send(Event::ActionDone {
                            action,
                            result,
                            seconds: started.elapsed().as_secs_f64(),
                            at: now_rfc3339(),
                        })
                        .await;
                });
            }
        }
    }

    fn stop_logs(&mut self) {
        if let Some(h) = self.logs.take() {
            h.abort();
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop_logs();
    }
}

/// The current time, RFC 3339 in UTC to the second, for audit lines.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Stream container `id`'s logs as [`Event::LogLines`] (a batch per chunk)
/// until the stream ends, then say why. A container that starts again
/// within a few seconds (a restart) is followed on: the pane shows the
/// old process draining and the new one starting.
pub async fn follow_logs(tx: mpsc::Sender<Event>, id: String, tail: usize) {
    let why = match docker::connect().await {
        Err(e) => e.to_string(),
        Ok(d) => {
            let mut from = LogsFrom::Tail(tail);
            // The last lines sent: a stream reopened from the second it
            // ended may repeat some.
            let mut recent: std::collections::VecDeque<String> = Default::default();
            loop {
                match follow_once(&tx, &d, &id, from, &mut recent).await {
                    Followed::Gone => return,
                    Followed::Failed(why) => break why,
                    Followed::Closed => {
                        let ended = chrono::Utc::now().timestamp();
                        if !started_again(&d, &id).await {
                            break "the container stopped (its log stream closed)".into();
                        }
                        from = LogsFrom::Since(ended);
                    }
                }
            }
        }
    };
    let _ = tx.send(Event::LogsEnded { id, why }).await;
}

/// How one logs stream ended.
enum Followed {
    /// The console is gone.
    Gone,
    Failed(String),
    /// The engine closed the stream: the container's process stopped.
    Closed,
}

async fn follow_once(
    tx: &mpsc::Sender<Event>,
    d: &bollard::Docker,
    id: &str,
    from: LogsFrom,
    recent: &mut std::collections::VecDeque<String>,
) -> Followed {
    let mut stream = docker::logs(d, id, from).boxed();
    let mut lines = LineSplitter::default();
    loop {
        match stream.next().await {
            Some(Ok(chunk)) => {
                let batch: Vec<String> = lines
                    .push(&chunk)
                    .into_iter()
                    .filter(|l| !recent.contains(l))
                    .collect();
                for l in &batch {
                    if recent.len() == 50 {
                        recent.pop_front();
                    }
                    recent.push_back(l.clone());
                }
                if !batch.is_empty()
                    && tx
                        .send(Event::LogLines {
                            id: id.to_string(),
                            lines: batch,
                        })
                        .await
                        .is_err()
                {
                    return Followed::Gone;
                }
            }
            Some(Err(e)) => return Followed::Failed(e.to_string()),
            None => return Followed::Closed,
        }
    }
}

/// Whether the container runs again within 5 s (`docker restart` stops,
/// then starts).
async fn started_again(d: &bollard::Docker, id: &str) -> bool {
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        match docker::running(d, id).await {
            Ok(true) => return true,
            Ok(false) => {}
            Err(_) => return false,
        }
    }
    false
}

/// Carry out one action through the Docker API: what it did, or why not.
pub async fn carry_out(action: &Action, ctx: &Context) -> Result<String, String> {
    let d = docker::connect().await.map_err(|e| e.to_string())?;
    match action {
        Action::Restart {
            id,
            name,
            stop_timeout,
        } => docker::restart(&d, id, *stop_timeout)
            .await
            .map(|()| format!("restarted {name}"))
            .map_err(|e| e.to_string()),
        Action::Stop {
            id,
            name,
            stop_timeout,
        } => docker::stop(&d, id, *stop_timeout)
            .await
            .map(|()| format!("stopped {name}"))
            .map_err(|e| e.to_string()),
        Action::Scale {
            service,
            project,
            to,
            ..
        } => {
            let req = scale::ScaleRequest {
                service: service.clone(),
                replicas: *to,
                project: project.clone(),
                port: ctx.port,
                ready_timeout: ctx.ready_timeout,
                stop_timeout: ctx.stop_timeout,
            };
            let outcome = async {
                let plan = scale::plan(&d, &req).await?;
                let steps = scale::execute(&d, &plan, &req).await?;
                Ok::<_, Error>((plan, steps))
            }
            .await
            .map_err(|e| e.to_string())?;
            let (plan, steps) = outcome;
            let failed: Vec<String> = steps
                .iter()
                .filter(|s| !s.ok)
                .map(|s| format!("{}: {}", s.name, s.error.as_deref().unwrap_or("?")))
                .collect();
            if failed.is_empty() {
                Ok(format!(
                    "scaled {service} {} -> {} ({} created, {} started, {} removed)",
                    plan.current,
                    plan.desired,
                    plan.create.len(),
                    plan.start.len(),
                    plan.remove.len()
                ))
            } else {
                Err(format!(
                    "{} of {} steps failed (left for `docker logs`): {}",
                    failed.len(),
                    steps.len(),
                    failed.join("; ")
                ))
            }
        }
    }
}
