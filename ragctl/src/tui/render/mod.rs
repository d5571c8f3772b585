//! Drawing the console from [`App`] state. Reads state only; never blocks.
//!
//! The main view, top to bottom: title bar, host, containers, ragd
//! replicas, sparklines (host CPU and total req/s), footer (a prompt, the
//! status line of the last action, or the latest container events). The
//! detail view (`detail.rs`) and the logs pane (`logs.rs`) replace it when
//! open; `?` draws the help overlay on top. Narrow terminals get fewer
//! columns; 150 columns and more add a per-row history.
//!
//! Every flagged value is marked with [`FLAG`] as well as drawn in red, so
//! it reads the same without colour (`NO_COLOR`, `--color never`: every
//! cell then loses its colours but keeps its text and bold/reverse) and in
//! a screenshot pasted into an incident channel.

mod detail;
mod logs;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Cell, Clear, HighlightSpacing, Paragraph, Row, Sparkline, Table, TableState, Wrap,
};

use super::layout;
use super::state::{App, ContainerView, Prompt, ReplicaView, Selected, StatusKind, View};
use crate::docker::ContainerInfo;
use crate::ragd::ReplicaRow;
use crate::report::{opt, pools};
use crate::snapshot::Thresholds;
use crate::stats::{human_binary, human_decimal};

/// The keys, as the help overlay lists them.
pub const KEYS: &[(&str, &str)] = &[
    ("q, Esc", "quit (from a detail or the logs: back)"),
    ("Ctrl-C", "quit"),
    ("?, h, F1", "this help (any key closes it)"),
    (
        "↑ ↓, j k, click",
        "select a container or replica (Tab: other table)",
    ),
    ("Enter", "detail: /status, history, container limits"),
    ("l", "logs of the selected container (/ search, n N)"),
    (
        "R",
        "restart it: SIGTERM (ragd drains), then start (also in logs)",
    ),
    (
        "X",
        "stop it: SIGTERM, SIGKILL after --stop-timeout (also in logs)",
    ),
    ("N", "scale its service to N replicas (as ragctl scale)"),
    (
        "s / r",
        "sort containers (cpu, mem, net, name, service) / reverse",
    ),
    ("/", "filter by name, service, project or image"),
    ("p / c", "next compose project / clear filter and project"),
    ("+ / -", "slower / faster refresh (250 ms to 10 s)"),
];

/// The mark of a value over its threshold, beside the red.
pub const FLAG: &str = "!";

fn alert() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// The last `width` points of a history as one line of block characters,
/// scaled to `max` (or to the largest point shown, if larger).
pub fn spark(h: &std::collections::VecDeque<u64>, width: usize, max: u64) -> String {
    const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let pts: Vec<u64> = h
        .iter()
        .skip(h.len().saturating_sub(width))
        .copied()
        .collect();
    let top = pts.iter().copied().max().unwrap_or(0).max(max).max(1);
    let mut out: String = pts
        .iter()
        .map(|&v| {
            let i = ((v as f64 / top as f64) * 8.0).ceil() as usize;
            BARS[i.min(8)]
        })
        .collect();
    while out.chars().count() < width {
        out.insert(0, ' ');
    }
    out
}

/// Width of the per-row history columns, shown from 150 columns on.
const ROW_HISTORY: usize = 12;

/// A value, marked and red when over its threshold.
fn flag(text: String, bad: bool) -> Span<'static> {
    if bad {
        Span::styled(format!("{text}{FLAG}"), alert())
    } else {
        Span::raw(text)
    }
}

fn flagged(text: String, bad: bool) -> Cell<'static> {
    Cell::from(flag(text, bad))
}

/// The selected row: reversed (it survives a monochrome terminal) behind
/// a `▶`.
fn highlight() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// Draw the whole screen.
pub fn draw(app: &App, f: &mut Frame) {
    let area = f.area();
    match app.view {
        View::Main => draw_main(app, f, area),
        View::Detail => detail::draw(app, f, area),
        View::Logs => logs::draw(app, f, area),
    }
    if app.show_help {
        draw_help(app, f, area);
    }
    if !app.color {
        for cell in f.buffer_mut().content.iter_mut() {
            cell.fg = Color::Reset;
            cell.bg = Color::Reset;
        }
    }
}

fn draw_main(app: &App, f: &mut Frame, area: Rect) {
    let a = layout::main(area, app.replicas.len());
    draw_title(app, f, a.title);
    draw_host(app, f, a.host);
    draw_containers(app, f, a.containers);
    draw_replicas(app, f, a.replicas);
    draw_history(app, f, a.history);
    draw_footer(app, f, a.footer);
}

/// The selected row's index among `rows` of one table, and the table
/// state that keeps it on screen.
fn table_state(area: Rect, len: usize, selected: Option<usize>) -> TableState {
    TableState::default()
        .with_offset(layout::offset(area, len, selected))
        .with_selected(selected)
}

fn draw_title(app: &App, f: &mut Frame, area: Rect) {
    let mut spans = vec![
        Span::styled(
            " ragctl top ",
            bold()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::REVERSED),
        ),
        Span::raw(format!(
            " refresh {:.2}s · sort {}{}",
            app.refresh.as_secs_f64(),
            app.sort.label(),
            if app.reverse { " (reversed)" } else { "" }
        )),
    ];
    if let Some(p) = &app.project {
        spans.push(Span::raw(format!(" · project {p}")));
    }
    if !app.filter.is_empty() {
        spans.push(Span::raw(format!(" · filter \"{}\"", app.filter)));
    }
    if app.running > 0 {
        spans.push(Span::styled(
            format!(" · {} action(s) under way", app.running),
            bold().fg(Color::Yellow),
        ));
    }
    f.render_widget(Line::from(spans), area);
    f.render_widget(
        Line::from(Span::styled(
            if area.width >= 110 {
                "↑↓ select  Enter detail  l logs  ? help  q quit "
            } else {
                "? help  q quit "
            },
            Style::new().fg(Color::DarkGray),
        ))
        .alignment(Alignment::Right),
        area,
    );
}

fn draw_host(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.thresholds;
    let line = match &app.host {
        None => Line::from("reading host..."),
        Some(h) => Line::from(vec![
            Span::raw(format!("{} CPUs  CPU ", h.cpus)),
            flag(format!("{:.1}%", h.cpu_percent), t.cpu(h.cpu_percent)).patch_style(bold()),
            Span::raw("  MEM "),
            flag(
                format!(
                    "{} / {} ({:.1}%)",
                    human_binary(h.mem_used_bytes),
                    human_binary(h.mem_total_bytes),
                    h.mem_percent
                ),
                t.mem(h.mem_percent),
            )
            .patch_style(bold()),
            Span::raw(format!(
                "  LOAD {:.2} {:.2} {:.2}",
                h.load1, h.load5, h.load15
            )),
        ]),
    };
    f.render_widget(
        Paragraph::new(line).block(Block::bordered().title(" Host ")),
        area,
    );
}

fn draw_containers(app: &App, f: &mut Frame, area: Rect) {
    let title = format!(" Containers · Docker {} ", app.docker_address);
    let block = Block::bordered().title(title);
    if let Some(why) = &app.docker_error {
        let text = vec![
            Line::from(Span::styled("Docker is unavailable", alert())),
            Line::from(why.clone()),
            Line::from("ragd replicas (from --target) and the host are still shown."),
        ];
        f.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
            area,
        );
        return;
    }
    let visible = app.visible_containers();
    if visible.is_empty() {
        let msg = if !app.docker_seen {
            "listing containers..."
        } else if app.containers.is_empty() {
            "no containers"
        } else {
            "no container matches the filter (c clears it)"
        };
        f.render_widget(Paragraph::new(msg).block(block), area);
        return;
    }
    let cols = Columns {
        wide: area.width >= 120,
        hist: area.width >= 150,
    };
    let selected = match &app.selected {
        Some(Selected::Container(id)) => visible.iter().position(|c| &c.row.info.id == id),
        _ => None,
    };
    let mut state = table_state(area, visible.len(), selected);
    let rows = visible
        .iter()
        .map(|c| container_row(c, &app.thresholds, cols));
    let table = Table::new(rows, container_widths(cols))
        .header(Row::new(container_header(cols)).style(bold()))
        .row_highlight_style(highlight())
        .highlight_symbol("▶")
        .highlight_spacing(HighlightSpacing::Always)
        .block(block);
    f.render_stateful_widget(table, area, &mut state);
}

/// Which optional columns a table shows at the area's width.
#[derive(Clone, Copy)]
struct Columns {
    /// More and longer columns.
    wide: bool,
    /// A per-row history (sparkline).
    hist: bool,
}

fn container_header(cols: Columns) -> Vec<&'static str> {
    let mut header = if cols.wide {
        vec![
            "NAME",
            "SERVICE",
            "STATE",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET RX / TX",
            "BLOCK I/O",
            "PIDS",
        ]
    } else {
        vec![
            "NAME",
            "STATE",
            "CPU %",
            "MEM",
            "MEM %",
            "NET RX/TX",
            "PIDS",
        ]
    };
    if cols.hist {
        header.insert(4, "CPU HISTORY");
    }
    header
}

fn container_widths(cols: Columns) -> Vec<Constraint> {
    let mut widths = if cols.wide {
        vec![
            Constraint::Fill(2),
            Constraint::Fill(1),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(21),
            Constraint::Length(8),
            Constraint::Length(19),
            Constraint::Length(15),
            Constraint::Length(5),
        ]
    } else {
        vec![
            Constraint::Fill(1),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(17),
            Constraint::Length(4),
        ]
    };
    if cols.hist {
        widths.insert(4, Constraint::Length(ROW_HISTORY as u16));
    }
    widths
}

fn container_row(c: &ContainerView, t: &Thresholds, cols: Columns) -> Row<'static> {
    let i = &c.row.info;
    let s = c.row.stats;
    let cpu = flagged(
        opt(s, |s| format!("{:.2}%", s.cpu_percent)),
        s.is_some_and(|s| t.cpu(s.cpu_percent)),
    );
    let memp = flagged(
        opt(s, |s| format!("{:.2}%", s.mem_percent)),
        s.is_some_and(|s| t.mem(s.mem_percent)),
    );
    let net = Cell::from(container_net(c));
    let pids = Cell::from(opt(s, |s| s.pids.to_string()));
    if !cols.wide {
        return Row::new(vec![
            Cell::from(i.name.clone()),
            container_state(i),
            cpu,
            Cell::from(opt(s, |s| human_binary(s.mem_used_bytes))),
            memp,
            net,
            pids,
        ]);
    }
    let mut cells = vec![
        Cell::from(i.name.clone()),
        Cell::from(i.service.clone().unwrap_or_else(|| "-".into())),
        container_state(i),
        cpu,
        Cell::from(opt(s, |s| {
            format!(
                "{} / {}",
                human_binary(s.mem_used_bytes),
                human_binary(s.mem_limit_bytes)
            )
        })),
        memp,
        net,
        Cell::from(opt(s, |s| {
            format!(
                "{} / {}",
                human_decimal(s.block_read_bytes as f64),
                human_decimal(s.block_write_bytes as f64)
            )
        })),
        pids,
    ];
    if cols.hist {
        cells.insert(
            4,
            Cell::from(Span::styled(
                spark(&c.cpu_history, ROW_HISTORY, 1000),
                Style::new().fg(Color::Cyan),
            )),
        );
    }
    Row::new(cells)
}

/// The health status when there is one (it implies running and says
/// more), else the state; yellow unless running and not unhealthy.
fn container_state(i: &ContainerInfo) -> Cell<'static> {
    let state = match &i.health {
        Some(h) if i.running() => h.clone(),
        _ => i.state.clone(),
    };
    if i.running() && i.health.as_deref() != Some("unhealthy") {
        Cell::from(state)
    } else {
        Cell::from(Span::styled(state, Style::new().fg(Color::Yellow)))
    }
}

/// Network rates once two readings exist, else totals since the start.
fn container_net(c: &ContainerView) -> String {
    match (c.row.net_rx_per_sec, c.row.net_tx_per_sec) {
        (Some(rx), Some(tx)) => format!("{}/s / {}/s", human_decimal(rx), human_decimal(tx)),
        _ => opt(c.row.stats, |s| {
            format!(
                "{} / {}",
                human_decimal(s.net_rx_bytes as f64),
                human_decimal(s.net_tx_bytes as f64)
            )
        }),
    }
}

fn draw_replicas(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.thresholds;
    let block =
        Block::bordered().title(format!(" ragd replicas · P95 SLO {:.0} ms ", t.p95_slo_ms));
    if app.replicas.is_empty() {
        f.render_widget(Paragraph::new("probing replicas...").block(block), area);
        return;
    }
    let cols = Columns {
        wide: area.width >= 110,
        hist: area.width >= 150,
    };
    let selected = match &app.selected {
        Some(Selected::Replica(url)) => app.replicas.iter().position(|r| &r.row.url == url),
        _ => None,
    };
    let mut state = table_state(area, app.replicas.len(), selected);
    let rows = app.replicas.iter().map(|view| {
        if view.row.up {
            replica_row(view, t, cols)
        } else {
            down_replica_row(&view.row, cols)
        }
    });
    let mut widths = vec![Constraint::Fill(if cols.wide { 1 } else { 2 })];
    let mut header = vec!["NAME"];
    if cols.wide {
        widths.push(Constraint::Length(8));
        header.push("STATE");
    }
    widths.extend([Constraint::Length(5), Constraint::Length(7)]);
    header.extend(["READY", "REQ/S"]);
    if cols.hist {
        widths.push(Constraint::Length(ROW_HISTORY as u16));
        header.push("HISTORY");
    }
    widths.extend([
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Fill(2),
    ]);
    header.extend(["ERR %", "P95", "HIT %", "INFL", "POOLS in use/max"]);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(bold()))
        .row_highlight_style(highlight())
        .highlight_symbol("▶")
        .highlight_spacing(HighlightSpacing::Always)
        .block(block);
    f.render_stateful_widget(table, area, &mut state);
}

/// A replica that does not answer: DOWN, dashes, and the reason.
fn down_replica_row(r: &ReplicaRow, cols: Columns) -> Row<'static> {
    let mut cells = vec![Cell::from(r.name.clone())];
    if cols.wide {
        cells.push(Cell::from(Span::styled("DOWN", alert())));
    }
    cells.push(Cell::from(Span::styled(
        if cols.wide { "NO" } else { "DOWN" },
        alert(),
    )));
    cells.extend((0..if cols.hist { 6 } else { 5 }).map(|_| Cell::from("-")));
    cells.push(Cell::from(Span::styled(
        r.error.clone().unwrap_or_else(|| "no answer".into()),
        Style::new().fg(Color::DarkGray),
    )));
    Row::new(cells)
}

fn replica_row(view: &ReplicaView, t: &Thresholds, cols: Columns) -> Row<'static> {
    let r = &view.row;
    let state = r.state.clone().unwrap_or_else(|| "up".into());
    let state_cell = if state == "ok" {
        Cell::from(Span::styled(state, Style::new().fg(Color::Green)))
    } else {
        Cell::from(Span::styled(state, Style::new().fg(Color::Yellow)))
    };
    let ready = if r.ready {
        Cell::from(Span::styled("yes", Style::new().fg(Color::Green)))
    } else {
        Cell::from(Span::styled("NO", alert()))
    };
    let saturated = r.pools.iter().any(|p| p.saturated);
    let mut cells = vec![Cell::from(r.name.clone())];
    if cols.wide {
        cells.push(state_cell);
    }
    cells.push(ready);
    cells.push(Cell::from(opt(r.requests_per_sec, |v| format!("{v:.1}"))));
    if cols.hist {
        cells.push(Cell::from(Span::styled(
            spark(&view.rps_history, ROW_HISTORY, 0),
            Style::new().fg(Color::Green),
        )));
    }
    cells.extend([
        flagged(
            opt(r.error_rate, |v| format!("{:.1}%", v * 100.0)),
            r.error_rate.is_some_and(|e| t.errors(e)),
        ),
        flagged(
            opt(r.p95_ms, crate::report::ms),
            r.p95_ms.is_some_and(|p| t.p95(p)),
        ),
        Cell::from(opt(r.cache_hit_ratio, |v| format!("{:.0}%", v * 100.0))),
        Cell::from(opt(r.in_flight, |v| v.to_string())),
        // pools() marks each saturated pool with FLAG itself.
        if saturated {
            Cell::from(Span::styled(pools(&r.pools), alert()))
        } else {
            Cell::from(pools(&r.pools))
        },
    ]);
    Row::new(cells)
}

fn tail(h: &std::collections::VecDeque<u64>, width: u16) -> Vec<u64> {
    let n = width.saturating_sub(2) as usize;
    h.iter().skip(h.len().saturating_sub(n)).copied().collect()
}

fn draw_history(app: &App, f: &mut Frame, area: Rect) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let cpu_now = app.host.map(|h| h.cpu_percent).unwrap_or(0.0);
    let hot = app.thresholds.cpu(cpu_now);
    let cpu = Sparkline::default()
        .block(Block::bordered().title(Line::from(vec![
            Span::raw(" host CPU "),
            flag(format!("{cpu_now:.0}%"), hot),
            Span::raw(" "),
        ])))
        .max(1000)
        .style(Style::new().fg(if hot { Color::Red } else { Color::Cyan }))
        .data(tail(&app.host_cpu_history, left.width));
    f.render_widget(cpu, left);
    let rps_now = app.total_rps_history.back().copied().unwrap_or(0);
    let rps = Sparkline::default()
        .block(Block::bordered().title(format!(" ragd req/s (all replicas) {rps_now} ")))
        .style(Style::new().fg(Color::Green))
        .data(tail(&app.total_rps_history, right.width));
    f.render_widget(rps, right);
}

/// The bottom line: a prompt being answered, else the status of the last
/// action, else the latest container events.
fn draw_footer(app: &App, f: &mut Frame, area: Rect) {
    let line = if let Some(p) = &app.prompt {
        prompt_line(p)
    } else if let Some(s) = &app.status {
        status_line(s)
    } else if app.events.is_empty() {
        Line::from(Span::styled(
            "no container events yet",
            Style::new().fg(Color::DarkGray),
        ))
    } else {
        let ev: Vec<&str> = app.events.iter().rev().map(String::as_str).collect();
        Line::from(vec![
            Span::styled("events: ", bold()),
            Span::raw(ev.join(" · ")),
        ])
    };
    f.render_widget(line, area);
}

/// A prompt as its line reads.
pub(crate) fn prompt_line(p: &Prompt) -> Line<'static> {
    let hint = |s: &str| Span::styled(format!("  {s}"), Style::new().fg(Color::DarkGray));
    match p {
        Prompt::Filter(input) => Line::from(vec![
            Span::styled("filter: ", bold()),
            Span::raw(format!("{input}_")),
            hint("Enter apply · Esc cancel"),
        ]),
        Prompt::Search(input) => Line::from(vec![
            Span::styled("search logs: ", bold()),
            Span::raw(format!("{input}_")),
            hint("Enter find · Esc cancel"),
        ]),
        Prompt::ScaleTo {
            service,
            project,
            current,
            input,
        } => Line::from(vec![
            Span::styled(
                format!(
                    "scale {service}{} ({current} running) to: ",
                    project
                        .as_ref()
                        .map(|p| format!(" in project {p}"))
                        .unwrap_or_default()
                ),
                bold(),
            ),
            Span::raw(format!("{input}_")),
            hint("Enter · Esc cancel"),
        ]),
        Prompt::Confirm(action) => Line::from(vec![
            Span::styled(format!("{} ", action.question()), bold().fg(Color::Yellow)),
            Span::styled("[y/N]", bold().add_modifier(Modifier::REVERSED)),
        ]),
    }
}

/// The status line: `…` under way, `✓` done, `✗` failed (marks that
/// survive without colour).
pub(crate) fn status_line(s: &super::state::StatusLine) -> Line<'static> {
    let (mark, style) = match s.kind {
        StatusKind::Info => ("", Style::new()),
        StatusKind::Busy => ("… ", bold().fg(Color::Yellow)),
        StatusKind::Done => ("✓ ", bold().fg(Color::Green)),
        StatusKind::Error => ("✗ ", alert()),
    };
    Line::from(Span::styled(format!("{mark}{}", s.text), style))
}

fn draw_help(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.thresholds;
    let w = 76.min(area.width);
    let h = (KEYS.len() as u16 + 8).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>16}  "), bold().fg(Color::Cyan)),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(format!(
        "Red and {FLAG}: CPU > {}%, memory > {}%, 5xx > {}%, P95 > {} ms,",
        t.cpu_percent,
        t.mem_percent,
        t.error_rate * 100.0,
        t.p95_slo_ms
    )));
    lines.push(Line::from(
        "a saturated pool (all in use or callers waiting); DOWN, NO.",
    ));
    lines.push(Line::from(
        "Change them with the flags of ragctl top --help.",
    ));
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Keys ")),
        popup,
    );
}
