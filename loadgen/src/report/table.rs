//! The tables the terminal and Markdown reports share, built once from a
//! [`Report`] ([`Tables::of`]): columns (header, alignment, terminal
//! width) and rows of cells already formatted. `text.rs` pads them into
//! fixed-width columns, `markdown.rs` writes pipe tables; `compare.rs`
//! builds a table of its own for the terminal.
//!
//! The resources table (the watched containers per stage) is shown the
//! same way in both.
//!
//! A few columns exist in one format only ([`Column::only`]): the
//! terminal's SLO column and compact load column, and the two req/s
//! columns of the stage table, which the renderings computed differently
//! before they shared a model (see `stages` below). They are kept apart so
//! both reports keep their bytes.

use crate::threshold::{fmt_num, signed};

use super::Report;

/// Where a table is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Terminal,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    pub align: Align,
    /// Minimum width in the terminal (wider cells are not cut).
    pub width: usize,
    /// The one format that shows this column; `None`: both.
    pub only: Option<Format>,
}

/// How Markdown sets a cell off; the terminal shows plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    /// A name or rule, shown as code.
    Code,
    /// Something to notice (a failed verdict), shown in bold.
    Strong,
}

#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub style: Style,
}

impl Cell {
    pub fn code(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            style: Style::Code,
        }
    }
    pub fn strong(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            style: Style::Strong,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell {
            text,
            style: Style::Plain,
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<Column>,
    /// One cell per column, shown or not.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(columns: Vec<Column>) -> Table {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len(), "one cell per column");
        self.rows.push(row);
    }

    /// Indices of the columns `format` shows, in order.
    pub fn shown(&self, format: Format) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&i| self.columns[i].only.is_none_or(|f| f == format))
            .collect()
    }
}

/// A left-aligned column.
pub fn left(header: &str, width: usize) -> Column {
    Column {
        header: header.into(),
        align: Align::Left,
        width,
        only: None,
    }
}

/// A right-aligned column.
pub fn right(header: &str, width: usize) -> Column {
    Column {
        align: Align::Right,
        ..left(header, width)
    }
}

impl Column {
    /// Shown in `format` only.
    pub fn only(self, format: Format) -> Column {
        Column {
            only: Some(format),
            ..self
        }
    }
}

/// The tables of one report.
pub struct Tables {
    /// Figures per transaction, then all requests.
    pub transactions: Table,
    /// Failed requests by transaction and kind.
    pub errors: Table,
    /// Figures per stage.
    pub stages: Table,
    /// Threshold verdicts (Markdown; the terminal writes them as sentences).
    pub thresholds: Table,
    /// The watched containers per stage; `None` without samples.
    pub resources: Option<Table>,
}

impl Tables {
    pub fn of(r: &Report) -> Tables {
        Tables {
            transactions: transactions(r),
            errors: errors(r),
            stages: stages(r),
            thresholds: thresholds(r),
            resources: resources(r),
        }
    }
}

fn transactions(r: &Report) -> Table {
    let mut t = Table::new(vec![
        left("transaction", 14),
        right("count", 8),
        right("req/s", 9),
        right("p50 ms", 9),
        right("p90 ms", 9),
        right("p95 ms", 9),
        right("p99 ms", 9),
        right("max ms", 9),
        right("errors", 8),
    ]);
    for s in r.transactions.iter().chain(std::iter::once(&r.total)) {
        let l = &s.latency_ms;
        t.push(vec![
            s.name.as_str().into(),
            s.count.to_string().into(),
            format!("{:.1}", s.rps).into(),
            fmt_num(l.p50).into(),
            fmt_num(l.p90).into(),
            fmt_num(l.p95).into(),
            fmt_num(l.p99).into(),
            fmt_num(l.max).into(),
            s.failed.to_string().into(),
        ]);
    }
    t
}

fn errors(r: &Report) -> Table {
    let mut t = Table::new(vec![
        left("transaction", 14),
        left("error kind", 34),
        right("count", 0),
    ]);
    for s in &r.transactions {
        for (kind, n) in &s.errors {
            t.push(vec![
                s.name.as_str().into(),
                Cell::code(kind.as_str()),
                n.to_string().into(),
            ]);
        }
    }
    t
}

/// Figures per stage. The formats part on three columns:
/// - load: Markdown always writes `from→to`; the terminal a single number
///   when the stage holds its load, under the unit (`users`, `rate/s`);
/// - req/s: Markdown shows the achieved send rate whenever one was
///   measured (closed runs too), the terminal only for the open model,
///   where it is the rate the stage asked for, and completions per second
///   otherwise;
/// - SLO: the terminal only.
fn stages(r: &Report) -> Table {
    let open = r.meta.model == "open";
    let unit = if open { "rate/s" } else { "users" };
    let mut t = Table::new(vec![
        left("stage", 22),
        right("load", 0).only(Format::Markdown),
        right(unit, 13).only(Format::Terminal),
        right("count", 8),
        right("req/s", 0).only(Format::Markdown),
        right("req/s", 9).only(Format::Terminal),
        right("p95 ms", 9),
        right("err %", 9),
        right("SLO", 7).only(Format::Terminal),
    ]);
    for s in &r.stages {
        let range = format!("{}→{}", fmt_num(s.load_from), fmt_num(s.load_to));
        let load = if s.load_from == s.load_to {
            fmt_num(s.load_to)
        } else {
            range.clone()
        };
        let achieved = s.achieved_arrival_rate.unwrap_or(s.stats.rps);
        let rate = match s.achieved_arrival_rate {
            Some(a) if open => a,
            _ => s.stats.rps,
        };
        let slo = if s.verdicts.is_empty() {
            "-"
        } else if s.verdicts.iter().all(|v| v.pass) {
            "ok"
        } else {
            "BROKEN"
        };
        t.push(vec![
            s.stats.name.as_str().into(),
            range.into(),
            load.into(),
            s.stats.count.to_string().into(),
            format!("{achieved:.1}").into(),
            format!("{rate:.1}").into(),
            fmt_num(s.stats.latency_ms.p95).into(),
            format!("{:.2}", s.stats.error_rate).into(),
            slo.into(),
        ]);
    }
    t
}

/// CPU and memory per stage: each container, then (with several) all of
/// them summed second by second; percentages of the limits.
fn resources(r: &Report) -> Option<Table> {
    let res = r.resources.as_ref().filter(|x| x.measured())?;
    let mut t = Table::new(vec![
        left("stage", 22),
        left("container", 24),
        right("samples", 7),
        right("cpu mean", 8),
        right("cpu max", 8),
        right("mem mean", 8),
        right("mem max", 8),
        right("cores", 6),
        right("memory", 9),
    ]);
    let pct = |v: f64| format!("{v:.1}%");
    let mem = |v: f64| ragkit_docker::stats::human_binary(v.max(0.0) as u64);
    for s in &res.stages {
        for c in &s.containers {
            t.push(vec![
                s.stage.as_str().into(),
                Cell::code(c.name.as_str()),
                c.samples.to_string().into(),
                pct(c.cpu_pct.mean).into(),
                pct(c.cpu_pct.max).into(),
                pct(c.mem_pct.mean).into(),
                pct(c.mem_pct.max).into(),
                format!("{:.2}", c.cpu_cores.mean).into(),
                mem(c.mem_bytes.mean).into(),
            ]);
        }
        if let Some(a) = s.all.as_ref().filter(|_| s.containers.len() > 1) {
            t.push(vec![
                s.stage.as_str().into(),
                format!("all {} replicas", s.containers.len()).into(),
                a.seconds.to_string().into(),
                pct(a.cpu_pct.mean).into(),
                pct(a.cpu_pct.max).into(),
                pct(a.mem_pct.mean).into(),
                pct(a.mem_pct.max).into(),
                format!("{:.2}", a.cpu_cores.mean).into(),
                mem(a.mem_bytes.mean).into(),
            ]);
        }
    }
    Some(t)
}

fn thresholds(r: &Report) -> Table {
    let mut t = Table::new(vec![
        left("threshold", 0),
        right("observed", 0),
        right("margin", 0),
        left("verdict", 0),
    ]);
    for v in &r.thresholds {
        let observed = v
            .observed
            .map(|x| format!("{} {}", fmt_num(x), v.unit))
            .unwrap_or_else(|| {
                if v.skipped {
                    "not judged".into()
                } else {
                    "no data".into()
                }
            });
        let margin = v
            .margin
            .map(|x| format!("{} {}", signed(x), v.unit))
            .unwrap_or_default();
        t.push(vec![
            Cell::code(v.rule.as_str()),
            observed.into(),
            margin.into(),
            if v.skipped {
                "NOT JUDGED".into()
            } else if v.pass {
                "PASS".into()
            } else {
                Cell::strong("FAIL")
            },
        ]);
    }
    t
}
