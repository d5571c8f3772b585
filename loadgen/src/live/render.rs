//! Drawing the live view from [`Live`] state. Reads state only.
//!
//! Top to bottom: title bar; the plan (stage, time left, target against
//! achieved load, a progress bar); sparklines of req/s and errors/s;
//! latency percentiles beside errors by kind; transactions; thresholds
//! with PASS/FAIL; a key line. Every verdict is a word as well as a colour
//! (PASS/FAIL), so it reads the same without colour or in a screenshot.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, LineGauge, Paragraph, Row, Sparkline, Table};

use super::state::{Live, RECENT_SECS};
use crate::profile::{Model, fmt_duration};
use crate::report::Pcts;
use crate::threshold::fmt_num;

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

fn pass_fail(pass: bool) -> Span<'static> {
    if pass {
        Span::styled("PASS", bold().fg(Color::Green))
    } else {
        Span::styled(
            "FAIL",
            bold().fg(Color::Red).add_modifier(Modifier::REVERSED),
        )
    }
}

/// Whole seconds, as profiles write durations (`1m30s`).
fn secs(d: std::time::Duration) -> String {
    fmt_duration(std::time::Duration::from_secs(d.as_secs()))
}

/// Draw the whole screen; without colour, every cell keeps its text and
/// modifiers (bold, reversed) and loses its colours.
pub fn draw(live: &Live, f: &mut Frame) {
    let area = f.area();
    let thresholds = (live.verdicts.len() as u16).max(1) + 2;
    let txns = (live.names.len() as u16) + 3;
    let [title, plan, sparks, middle, txn_area, thr_area, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(5),
        Constraint::Min(5),
        Constraint::Length(8),
        Constraint::Length(txns),
        Constraint::Length(thresholds.min(area.height / 3).max(3)),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_title(live, f, title);
    draw_plan(live, f, plan);
    draw_sparks(live, f, sparks);
    let [lat, errs] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(middle);
    draw_latency(live, f, lat);
    draw_errors(live, f, errs);
    draw_transactions(live, f, txn_area);
    draw_thresholds(live, f, thr_area);
    draw_keys(live, f, keys);
    if !live.color {
        for cell in f.buffer_mut().content.iter_mut() {
            cell.fg = Color::Reset;
            cell.bg = Color::Reset;
        }
    }
}

fn draw_title(live: &Live, f: &mut Frame, area: Rect) {
    let p = &live.profile;
    let state = if live.ended {
        "finished"
    } else if live.stopping {
        "stopping: finishing in-flight requests"
    } else {
        "running"
    };
    f.render_widget(
        Line::from(vec![
            Span::styled(" loadgen ", bold().fg(Color::Black).bg(Color::Cyan)),
            Span::raw(format!(
                " {} · {} model · {} · ",
                p.name, p.model, live.target
            )),
            Span::styled(state, bold()),
        ]),
        area,
    );
}

fn draw_plan(live: &Live, f: &mut Frame, area: Rect) {
    let p = &live.profile;
    let (stage, stage_left) = live.stage_info();
    let total_left = live.planned.saturating_sub(live.elapsed);
    let target = live.target_load();
    let load = match p.model {
        Model::Open => Line::from(vec![
            Span::raw("arrival rate  target "),
            Span::styled(format!("{}/s", fmt_num(target)), bold()),
            Span::raw("  achieved "),
            Span::styled(
                live.achieved_rate
                    .map_or("-".into(), |r| format!("{}/s", fmt_num(r))),
                bold(),
            ),
            Span::raw(format!("  in flight {}", live.gauges.in_flight)),
        ]),
        Model::Closed => Line::from(vec![
            Span::raw("users  target "),
            Span::styled(fmt_num(target.round()), bold()),
            Span::raw("  running "),
            Span::styled(live.gauges.users.to_string(), bold()),
            Span::raw(format!("  in flight {}", live.gauges.in_flight)),
        ]),
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(
                format!(
                    "stage {}/{} {}",
                    live.stage() + 1,
                    p.stages.len(),
                    stage.name
                ),
                bold(),
            ),
            Span::raw(format!(
                "  {} left in stage · {} of {} elapsed, {} left",
                secs(stage_left),
                secs(live.elapsed),
                secs(live.planned),
                secs(total_left)
            )),
        ]),
        load,
    ];
    let block = Block::bordered().title(" Plan ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [text, bar] = Layout::vertical([Constraint::Length(2), Constraint::Length(1)]).areas(inner);
    f.render_widget(Paragraph::new(lines), text);
    let ratio = if live.planned.is_zero() {
        1.0
    } else {
        (live.elapsed.as_secs_f64() / live.planned.as_secs_f64()).clamp(0.0, 1.0)
    };
    f.render_widget(
        LineGauge::default()
            .filled_style(Style::new().fg(Color::Cyan))
            .label(format!("{:>3.0}%", ratio * 100.0))
            .ratio(ratio),
        bar,
    );
}

fn draw_sparks(live: &Live, f: &mut Frame, area: Rect) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let per = live.per_second();
    let width = left.width.saturating_sub(2) as usize;
    let tail = |v: Vec<u64>| -> Vec<u64> { v[v.len().saturating_sub(width)..].to_vec() };
    let rps: Vec<u64> = per.iter().map(|(c, _)| *c).collect();
    let errs: Vec<u64> = per.iter().map(|(_, e)| *e).collect();
    let rps_now = rps.last().copied().unwrap_or(0);
    let errs_now = errs.last().copied().unwrap_or(0);
    f.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(format!(" req/s {rps_now} ")))
            .style(Style::new().fg(Color::Green))
            .data(tail(rps)),
        left,
    );
    let title = if errs_now > 0 {
        Span::styled(format!(" errors/s {errs_now} ! "), bold().fg(Color::Red))
    } else {
        Span::raw(format!(" errors/s {errs_now} "))
    };
    f.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(Line::from(title)))
            .style(Style::new().fg(Color::Red))
            .max(rps_now.max(1))
            .data(tail(errs)),
        right,
    );
}

fn ms(v: f64) -> String {
    if v == 0.0 { "-".into() } else { fmt_num(v) }
}

fn draw_latency(live: &Live, f: &mut Frame, area: Rect) {
    let run = Pcts::of(&live.all.latency);
    let recent = &live.recent;
    let row = |name: &'static str, a: f64, b: f64| {
        Row::new(vec![
            Cell::from(name),
            Cell::from(Line::from(ms(a)).alignment(Alignment::Right)),
            Cell::from(Line::from(ms(b)).alignment(Alignment::Right)),
        ])
    };
    let errors = live.all.failed();
    let rate = if live.all.count > 0 {
        errors as f64 * 100.0 / live.all.count as f64
    } else {
        0.0
    };
    let rows = vec![
        row("P50", run.p50, recent.p50),
        row("P95", run.p95, recent.p95),
        row("P99", run.p99, recent.p99),
        row("max", run.max, recent.max),
        Row::new(vec![
            Cell::from("requests"),
            Cell::from(Line::from(live.all.count.to_string()).alignment(Alignment::Right)),
            Cell::from(Line::from(live.recent_count.to_string()).alignment(Alignment::Right)),
        ]),
    ];
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(12),
        ],
    )
    .header(
        Row::new(vec![
            Cell::from("ms"),
            Cell::from(Line::from("run").alignment(Alignment::Right)),
            Cell::from(Line::from(format!("last {RECENT_SECS} s")).alignment(Alignment::Right)),
        ])
        .style(bold()),
    )
    .block(
        Block::bordered()
            .title(" Latency (HDR, from intended start) ")
            .title_bottom(if errors > 0 {
                Line::from(Span::styled(
                    format!(" errors {errors} ({rate:.2}%) ! "),
                    bold().fg(Color::Red),
                ))
            } else {
                Line::from(" errors 0 ")
            }),
    );
    f.render_widget(table, area);
}

fn draw_errors(live: &Live, f: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Errors by kind ");
    if live.all.errors.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled("none", dim())).block(block),
            area,
        );
        return;
    }
    let mut kinds: Vec<(&String, &u64)> = live.all.errors.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let rows = kinds.into_iter().map(|(k, n)| {
        Row::new(vec![
            Cell::from(Span::styled(k.clone(), Style::new().fg(Color::Red))),
            Cell::from(Line::from(n.to_string()).alignment(Alignment::Right)),
        ])
    });
    f.render_widget(
        Table::new(rows, [Constraint::Fill(1), Constraint::Length(8)]).block(block),
        area,
    );
}

fn draw_transactions(live: &Live, f: &mut Frame, area: Rect) {
    let secs = live.elapsed.as_secs_f64().max(0.001);
    let rows = live.names.iter().zip(&live.txns).map(|(name, a)| {
        let p = Pcts::of(&a.latency);
        let errs = if a.failed() > 0 {
            Cell::from(Span::styled(
                format!("{} !", a.failed()),
                bold().fg(Color::Red),
            ))
        } else {
            Cell::from("0")
        };
        Row::new(vec![
            Cell::from(name.clone()),
            Cell::from(a.count.to_string()),
            Cell::from(fmt_num(a.count as f64 / secs)),
            Cell::from(ms(p.p50)),
            Cell::from(ms(p.p95)),
            Cell::from(ms(p.p99)),
            errs,
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(8),
        ],
    )
    .header(
        Row::new(vec![
            "transaction",
            "requests",
            "req/s",
            "P50",
            "P95",
            "P99",
            "errors",
        ])
        .style(bold()),
    )
    .block(Block::bordered().title(" Transactions (run so far, ms) "));
    f.render_widget(table, area);
}

fn draw_thresholds(live: &Live, f: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Thresholds (run so far) ");
    if live.verdicts.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled("none in this profile", dim())).block(block),
            area,
        );
        return;
    }
    let lines: Vec<Line> = live
        .verdicts
        .iter()
        .map(|v| {
            let observed = match v.observed {
                Some(o) => format!("observed {} {}", fmt_num(o), v.unit),
                None if v.skipped => "judged when the run ends".into(),
                None => "no data yet".into(),
            };
            // CPU and memory rules read the containers' figures, which
            // exist once the run has ended.
            let verdict = if v.skipped {
                Span::styled("SKIP", dim())
            } else {
                pass_fail(v.pass)
            };
            Line::from(vec![
                verdict,
                Span::raw(format!("  {:<32} {observed}", v.rule)),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_keys(live: &Live, f: &mut Frame, area: Rect) {
    let text = if live.stopping {
        "q or Ctrl-C again: quit at once"
    } else {
        "q, Esc or Ctrl-C: stop the run (the partial report follows)"
    };
    f.render_widget(Line::from(Span::styled(text, dim())), area);
}
