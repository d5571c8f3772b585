//! The terminal report ([`Report::to_text`]): a heading, the shared
//! tables padded into fixed-width columns, and the verdicts as sentences.
//! [`write_table`] is also what `loadgen compare` prints with.

use std::fmt::Write as _;

use crate::threshold::fmt_num;

use super::Report;
use super::table::{Align, Column, Format, Table, Tables};

impl Report {
    /// The terminal report.
    pub fn to_text(&self) -> String {
        let tables = Tables::of(self);
        let mut o = String::new();
        heading(&mut o, self);
        o.push('\n');
        write_table(&mut o, &tables.transactions, "", true);
        ttfb(&mut o, self);
        if !self.total.errors.is_empty() {
            o.push_str("\nerrors by kind:\n");
            write_table(&mut o, &tables.errors, "  ", false);
        }
        let open = self.meta.model == "open";
        if self.stages.len() > 1 || open {
            o.push('\n');
            write_table(&mut o, &tables.stages, "", true);
            if open {
                o.push_str("(open model: req/s is the achieved arrival rate of the stage)\n");
            }
        }
        resources(&mut o, self, tables.resources.as_ref());
        coordinated_omission(&mut o, self);
        slo_break(&mut o, self);
        thresholds(&mut o, self);
        o
    }
}

/// Write the columns of `t` the terminal shows, each line after `indent`,
/// cells padded to their column's width and one space apart.
pub(super) fn write_table(o: &mut String, t: &Table, indent: &str, header: bool) {
    let shown = t.shown(Format::Terminal);
    let column = |i: usize| &t.columns[i];
    if header {
        line(
            o,
            indent,
            shown
                .iter()
                .map(|&i| (column(i).header.as_str(), column(i))),
        );
    }
    for row in &t.rows {
        line(
            o,
            indent,
            shown.iter().map(|&i| (row[i].text.as_str(), column(i))),
        );
    }
}

fn line<'a>(o: &mut String, indent: &str, cells: impl Iterator<Item = (&'a str, &'a Column)>) {
    o.push_str(indent);
    for (k, (text, c)) in cells.enumerate() {
        if k > 0 {
            o.push(' ');
        }
        let _ = match c.align {
            Align::Left => write!(o, "{text:<w$}", w = c.width),
            Align::Right => write!(o, "{text:>w$}", w = c.width),
        };
    }
    o.push('\n');
}

/// What ran against what, for how long, and how it ended.
fn heading(o: &mut String, r: &Report) {
    let m = &r.meta;
    let _ = writeln!(
        o,
        "\nloadgen: {} ({} model) against {}  —  {:.1}s of {:.1}s planned, {}{}",
        m.profile,
        m.model,
        m.target,
        r.elapsed_s,
        m.planned_s,
        m.stop_reason,
        if m.partial { " (PARTIAL)" } else { "" }
    );
    if m.time_scale != 1.0 || m.user_scale != 1.0 {
        let _ = writeln!(o, "scaled: time x{} users x{}", m.time_scale, m.user_scale);
    }
    if m.instances.len() > 1 {
        let _ = writeln!(
            o,
            "merged from {} instances: {}",
            m.instances.len(),
            m.instances.join(", ")
        );
    }
}

/// Time to first byte of the transactions that streamed.
fn ttfb(o: &mut String, r: &Report) {
    for s in &r.transactions {
        if let Some(t) = &s.ttfb_ms {
            let _ = writeln!(
                o,
                "{:<14} time to first byte (streamed): p50 {} p95 {} p99 {} ms",
                s.name,
                fmt_num(t.p50),
                fmt_num(t.p95),
                fmt_num(t.p99)
            );
        }
    }
}

/// The watched containers per stage, or why there are none.
fn resources(o: &mut String, r: &Report, table: Option<&Table>) {
    let Some(res) = &r.resources else {
        return;
    };
    let watched = res.watch.as_deref().unwrap_or("-");
    match (table, &res.note) {
        (Some(t), _) => {
            let _ = writeln!(
                o,
                "\nresources of {watched} (docker stats; CPU and memory in % of each container's limit):"
            );
            write_table(o, t, "", true);
        }
        (None, Some(note)) => {
            let _ = writeln!(o, "\nWARNING resources: {note}");
        }
        (None, None) => {}
    }
}

fn coordinated_omission(o: &mut String, r: &Report) {
    let co = &r.coordinated_omission;
    let _ = writeln!(
        o,
        "\ncoordinated omission: {}; p99 {} ms corrected vs {} ms uncorrected. {}",
        if co.applied {
            "CORRECTED"
        } else if r.meta.model == "closed" {
            "n/a"
        } else {
            "no correction needed"
        },
        fmt_num(co.p99_corrected_ms),
        fmt_num(co.p99_uncorrected_ms),
        co.note
    );
}

fn slo_break(o: &mut String, r: &Report) {
    if let Some(b) = &r.slo_break {
        let _ = writeln!(
            o,
            "SLO first broke in stage {} ({:?}) at {} {}: {}",
            b.stage + 1,
            b.stage_name,
            fmt_num(b.load),
            b.unit,
            b.failed.join("; ")
        );
    }
}

/// One verdict per line, then the result.
fn thresholds(o: &mut String, r: &Report) {
    if r.thresholds.is_empty() {
        return;
    }
    let _ = writeln!(o, "\nthresholds:");
    for v in &r.thresholds {
        let _ = writeln!(o, "  {v}");
    }
    let _ = writeln!(
        o,
        "\n{}",
        if r.passed {
            "RESULT: PASS"
        } else {
            "RESULT: FAIL (exit status 1)"
        }
    );
}
