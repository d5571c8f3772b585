//! The detail view (`Enter`): everything about the selected container or
//! replica on one screen.
//!
//! Top to bottom: title and keys; the container (identity, figures now)
//! beside its limits (`docker inspect`); the replica's `/status` (version,
//! state, uptime, configuration summary, request counters); its pools with
//! their waits, caches and queues; the history of its figures; the footer.
//! A replica found only through `--target` has no container part, a
//! container that is not a replica no replica part.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};

use super::{FLAG, alert, bold, draw_footer, flag, spark};
use crate::docker::Limits;
use crate::report::ms;
use crate::stats::human_binary;
use crate::tui::state::{App, ContainerView, ReplicaView};

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub(super) fn draw(app: &App, f: &mut Frame, area: Rect) {
    let container = app.selected_container();
    let replica = app.selected_replica();
    let [title, top, status, tables, history, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(if container.is_some() { 8 } else { 0 }),
        Constraint::Length(if replica.is_some() { 6 } else { 0 }),
        Constraint::Min(4),
        Constraint::Length(7),
        Constraint::Length(1),
    ])
    .areas(area);
    let name = container
        .map(|c| c.row.info.name.clone())
        .or(replica.map(|r| r.row.name.clone()))
        .unwrap_or_else(|| "nothing selected".into());
    f.render_widget(
        Line::from(vec![
            Span::styled(
                " ragctl top ",
                bold()
                    .fg(Color::Black)
                    .bg(Color::Cyan)
                    .add_modifier(ratatui::style::Modifier::REVERSED),
            ),
            Span::styled(format!(" detail: {name} "), bold()),
            Span::styled(
                " Esc back · ↑↓ next · l logs · R restart · X stop · N scale",
                dim(),
            ),
        ]),
        title,
    );
    if let Some(c) = container {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
        draw_container(app, c, f, left);
        draw_limits(app.limits.get(&c.row.info.id), f, right);
    }
    match replica {
        Some(r) => {
            draw_status(r, f, status);
            draw_tables(r, f, tables);
        }
        None => f.render_widget(
            Paragraph::new(Span::styled(
                "not a ragd replica: no /status to show (replicas are the containers of --service, and --target URLs)",
                dim(),
            ))
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" ragd ")),
            tables,
        ),
    }
    draw_history(app, container, replica, f, history);
    draw_footer(app, f, footer);
}

fn draw_container(app: &App, c: &ContainerView, f: &mut Frame, area: Rect) {
    let i = &c.row.info;
    let t = &app.thresholds;
    let ports: Vec<String> = i
        .ports
        .iter()
        .map(|p| match p.public {
            Some(public) => format!(
                "{}:{public}->{}/{}",
                p.ip.as_deref().unwrap_or("0.0.0.0"),
                p.private,
                p.proto
            ),
            None => format!("{}/{}", p.private, p.proto),
        })
        .collect();
    let nets: Vec<String> = i
        .networks
        .iter()
        .map(|(n, ip)| format!("{n} {ip}"))
        .collect();
    let compose = match (&i.project, &i.service) {
        (Some(p), Some(s)) => format!(
            "project {p} · service {s}{}",
            i.number.map(|n| format!(" · #{n}")).unwrap_or_default()
        ),
        _ => "not a compose container".into(),
    };
    let figures = match c.row.stats {
        Some(s) => Line::from(vec![
            Span::raw("CPU "),
            flag(format!("{:.2}%", s.cpu_percent), t.cpu(s.cpu_percent)),
            Span::raw("  MEM "),
            flag(
                format!(
                    "{} / {} ({:.2}%)",
                    human_binary(s.mem_used_bytes),
                    human_binary(s.mem_limit_bytes),
                    s.mem_percent
                ),
                t.mem(s.mem_percent),
            ),
            Span::raw(format!("  PIDS {}", s.pids)),
        ]),
        None => Line::from(Span::styled("no readings (not running)", dim())),
    };
    let lines = vec![
        Line::from(vec![
            Span::raw("image "),
            Span::styled(i.image.clone(), bold()),
        ]),
        Line::from(format!("{} · {}", i.state, i.status)),
        Line::from(compose),
        Line::from(format!(
            "ports {}",
            if ports.is_empty() {
                "-".into()
            } else {
                ports.join(", ")
            }
        )),
        Line::from(format!(
            "networks {}",
            if nets.is_empty() {
                "-".into()
            } else {
                nets.join(", ")
            }
        )),
        figures,
    ];
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(format!(
            " Container {} ({}) ",
            i.name,
            i.short_id()
        ))),
        area,
    );
}

fn draw_limits(limits: Option<&Result<Limits, String>>, f: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Limits (docker inspect) ");
    let l = match limits {
        None => {
            f.render_widget(Paragraph::new("reading...").block(block), area);
            return;
        }
        Some(Err(why)) => {
            f.render_widget(
                Paragraph::new(Span::styled(why.clone(), alert()))
                    .wrap(Wrap { trim: true })
                    .block(block),
                area,
            );
            return;
        }
        Some(Ok(l)) => l,
    };
    let none = || "no limit".to_string();
    let lines = vec![
        Line::from(format!(
            "CPUs {}{}{}",
            l.cpus.map_or_else(none, |c| format!("{c:.2}")),
            l.cpu_shares
                .map(|s| format!(" · shares {s}"))
                .unwrap_or_default(),
            l.cpuset
                .as_ref()
                .map(|c| format!(" · on {c}"))
                .unwrap_or_default()
        )),
        Line::from(format!(
            "memory {}{}{}",
            l.memory_bytes.map_or_else(none, human_binary),
            l.memory_reservation_bytes
                .map(|r| format!(" · reserved {}", human_binary(r)))
                .unwrap_or_default(),
            match l.memory_swap_bytes {
                Some(-1) => " · swap unlimited".to_string(),
                Some(s) if s > 0 => format!(" · with swap {}", human_binary(s as u64)),
                _ => String::new(),
            }
        )),
        Line::from(format!(
            "pids {}",
            l.pids.map_or_else(none, |p| p.to_string())
        )),
        Line::from(format!(
            "restart policy {} · restarts {}",
            l.restart_policy, l.restart_count
        )),
        Line::from(format!(
            "stop: {}, SIGKILL after {}",
            l.stop_signal,
            l.stop_timeout
                .map_or("10 s (engine default)".into(), |t| format!("{t} s"))
        )),
        Line::from(format!(
            "started {}",
            l.started_at.as_deref().unwrap_or("-")
        )),
    ];
    f.render_widget(Paragraph::new(lines).block(block), area);
}

/// `/status` in two lines, or why there is none.
fn draw_status(r: &ReplicaView, f: &mut Frame, area: Rect) {
    let row = &r.row;
    let status = r.last.as_ref().and_then(|p| p.status.as_ref());
    let title = format!(" Replica {} ", row.url);
    let lines = match status {
        None => vec![Line::from(Span::styled(
            row.error
                .clone()
                .map(|e| format!("DOWN{FLAG} {e}"))
                .unwrap_or_else(|| "no /status yet".into()),
            alert(),
        ))],
        Some(s) => {
            let c = &s.config;
            vec![
                Line::from(vec![
                    Span::styled(format!("ragd {} ", s.version), bold()),
                    if row.ready {
                        Span::styled("ready", Style::new().fg(Color::Green))
                    } else {
                        Span::styled(format!("NOT READY{FLAG}"), alert())
                    },
                    Span::raw(format!(
                        " · state {} · up {}",
                        s.state.as_str(),
                        uptime(s.uptime_secs)
                    )),
                ]),
                Line::from(format!(
                    "metadata {} · vectors {} · cache {} · generator {} · embedders {}",
                    c.metadata,
                    c.vectors,
                    c.cache,
                    c.generator,
                    // `name=model@digest`: the digest is for machines.
                    c.embedders
                        .iter()
                        .map(|e| e.split('@').next().unwrap_or(e))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Line::from(format!(
                    "listen {} · max_in_flight {} · cpu_threads {}{} · requests {} (in flight {}, shed {}, 5xx {})",
                    c.listen,
                    c.max_in_flight,
                    c.cpu_threads,
                    // Older ragd versions do not report their CPU budget.
                    if c.cpus > 0.0 {
                        format!(" for {} CPUs ({})", c.cpus, c.cpus_source)
                    } else {
                        String::new()
                    },
                    s.requests.total,
                    s.requests.in_flight,
                    s.requests.shed,
                    s.requests.errors_5xx
                )),
            ]
        }
    };
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(title)),
        area,
    );
}

fn uptime(secs: f64) -> String {
    let s = secs as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        _ => format!("{}h{}m", s / 3600, s % 3600 / 60),
    }
}

/// Pools with their waits, caches and queues, from `/status`.
fn draw_tables(r: &ReplicaView, f: &mut Frame, area: Rect) {
    let Some(s) = r.last.as_ref().and_then(|p| p.status.as_ref()) else {
        f.render_widget(Block::bordered().title(" Pools · caches · queues "), area);
        return;
    };
    let [pools, right] =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(area);
    let [caches, queues] =
        Layout::vertical([Constraint::Fill(2), Constraint::Fill(1)]).areas(right);
    let pool_rows = s.pools.iter().map(|p| {
        let saturated = p.waiting > 0 || (p.max > 0 && p.in_use >= p.max);
        let w = p.acquire_wait.as_ref();
        Row::new(vec![
            Cell::from(p.name.clone()),
            Cell::from(p.kind.clone()),
            Cell::from(flag(format!("{}/{}", p.in_use, p.max), saturated)),
            Cell::from(flag(p.waiting.to_string(), p.waiting > 0)),
            Cell::from(w.map_or("-".into(), |w| ms(w.p50_ms))),
            Cell::from(w.map_or("-".into(), |w| ms(w.p99_ms))),
            Cell::from(w.map_or("-".into(), |w| ms(w.max_ms))),
            Cell::from(flag(
                w.map_or("-".into(), |w| w.failed.to_string()),
                w.is_some_and(|w| w.failed > 0),
            )),
        ])
    });
    f.render_widget(
        Table::new(
            pool_rows,
            [
                Constraint::Fill(2),
                Constraint::Fill(2),
                Constraint::Length(8),
                Constraint::Length(5),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(6),
            ],
        )
        .header(
            Row::new(vec![
                "POOL", "KIND", "USE/MAX", "WAIT", "WAIT P50", "P99", "MAX", "FAILED",
            ])
            .style(bold()),
        )
        .block(Block::bordered().title(" Pools (waits since start) ")),
        pools,
    );
    let cache_rows = s.caches.iter().map(|c| {
        let total = c.hits + c.misses;
        Row::new(vec![
            c.name.clone(),
            format!("{}/{}", c.entries, c.max_entries),
            if total > 0 {
                format!("{:.0}%", c.hits as f64 * 100.0 / total as f64)
            } else {
                "-".into()
            },
            total.to_string(),
        ])
    });
    f.render_widget(
        Table::new(
            cache_rows,
            [
                Constraint::Fill(1),
                Constraint::Length(11),
                Constraint::Length(5),
                Constraint::Length(8),
            ],
        )
        .header(Row::new(vec!["CACHE", "ENTRIES", "HIT", "LOOKUPS"]).style(bold()))
        .block(Block::bordered().title(" Caches ")),
        caches,
    );
    let queue_line: Vec<String> = s
        .queues
        .iter()
        .map(|q| format!("{} {}", q.name, q.depth))
        .collect();
    f.render_widget(
        Paragraph::new(if queue_line.is_empty() {
            "none".into()
        } else {
            queue_line.join(" · ")
        })
        .wrap(Wrap { trim: true })
        .block(Block::bordered().title(" Queues ")),
        queues,
    );
}

/// One line per series: label, sparkline, value now (flagged as in the
/// main view).
fn draw_history(
    app: &App,
    c: Option<&ContainerView>,
    r: Option<&ReplicaView>,
    f: &mut Frame,
    area: Rect,
) {
    let t = &app.thresholds;
    let width = area.width.saturating_sub(24) as usize;
    let line = |label: &str, h: &std::collections::VecDeque<u64>, max: u64, now: Span<'static>| {
        Line::from(vec![
            Span::raw(format!("{label:<8}")),
            Span::styled(spark(h, width, max), Style::new().fg(Color::Cyan)),
            Span::raw(" "),
            now,
        ])
    };
    let mut lines = Vec::new();
    if let Some(c) = c {
        let s = c.row.stats;
        lines.push(line(
            "CPU %",
            &c.cpu_history,
            1000,
            flag(
                s.map_or("-".into(), |s| format!("{:.1}", s.cpu_percent)),
                s.is_some_and(|s| t.cpu(s.cpu_percent)),
            ),
        ));
        lines.push(line(
            "MEM %",
            &c.mem_history,
            1000,
            flag(
                s.map_or("-".into(), |s| format!("{:.1}", s.mem_percent)),
                s.is_some_and(|s| t.mem(s.mem_percent)),
            ),
        ));
    }
    if let Some(r) = r {
        let row = &r.row;
        lines.push(line(
            "req/s",
            &r.rps_history,
            0,
            Span::raw(
                row.requests_per_sec
                    .map_or("-".into(), |v| format!("{v:.1}")),
            ),
        ));
        lines.push(line(
            "P95 ms",
            &r.p95_history,
            (t.p95_slo_ms * 10.0) as u64,
            flag(
                row.p95_ms.map_or("-".into(), |v| format!("{v:.0}")),
                row.p95_ms.is_some_and(|p| t.p95(p)),
            ),
        ));
        lines.push(line(
            "5xx %",
            &r.err_history,
            0,
            flag(
                row.error_rate
                    .map_or("-".into(), |v| format!("{:.1}", v * 100.0)),
                row.error_rate.is_some_and(|e| t.errors(e)),
            ),
        ));
    }
    lines.truncate(area.height.saturating_sub(2) as usize);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered().title(format!(" History (one point per reading, last {}) ", width)),
        ),
        area,
    );
}
