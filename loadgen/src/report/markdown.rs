//! The Markdown report ([`Report::to_markdown`]): a heading list, the
//! shared tables as pipe tables, and the verdicts.

use std::fmt::Write as _;

use crate::threshold::fmt_num;

use super::Report;
use super::table::{Align, Format, Style, Table, Tables};

impl Report {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let tables = Tables::of(self);
        let mut o = String::new();
        heading(&mut o, self);
        write_table(&mut o, &tables.transactions);
        if !self.total.errors.is_empty() {
            o.push('\n');
            write_table(&mut o, &tables.errors);
        }
        o.push('\n');
        write_table(&mut o, &tables.stages);
        resources(&mut o, self, tables.resources.as_ref());
        notes(&mut o, self);
        if !self.thresholds.is_empty() {
            write_table(&mut o, &tables.thresholds);
            let _ = writeln!(
                o,
                "\n**Result: {}**",
                if self.passed { "PASS" } else { "FAIL" }
            );
        }
        o
    }
}

/// A pipe table of the columns Markdown shows.
fn write_table(o: &mut String, t: &Table) {
    let shown = t.shown(Format::Markdown);
    let headers: Vec<&str> = shown
        .iter()
        .map(|&i| t.columns[i].header.as_str())
        .collect();
    let _ = writeln!(o, "| {} |", headers.join(" | "));
    let rule: Vec<&str> = shown
        .iter()
        .map(|&i| match t.columns[i].align {
            Align::Left => "---",
            Align::Right => "---:",
        })
        .collect();
    let _ = writeln!(o, "|{}|", rule.join("|"));
    for row in &t.rows {
        let cells: Vec<String> = shown
            .iter()
            .map(|&i| {
                let c = &row[i];
                match c.style {
                    Style::Plain => c.text.clone(),
                    Style::Code => format!("`{}`", c.text),
                    Style::Strong => format!("**{}**", c.text),
                }
            })
            .collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
}

fn heading(o: &mut String, r: &Report) {
    let m = &r.meta;
    let _ = writeln!(o, "# loadgen report: {}\n", m.profile);
    let _ = writeln!(
        o,
        "- model: **{}**, target `{}`\n- started {} ({:.1}s of {:.1}s planned, {}{})\n- scale: time x{}, users x{}\n- instances: {}\n",
        m.model,
        m.target,
        m.started,
        r.elapsed_s,
        m.planned_s,
        m.stop_reason,
        if m.partial { ", partial" } else { "" },
        m.time_scale,
        m.user_scale,
        m.instances.join(", ")
    );
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
                "\n**Resources** of `{watched}` (docker stats; CPU and memory in % of each container's limit):\n"
            );
            write_table(o, t);
        }
        (None, Some(note)) => {
            let _ = writeln!(o, "\n**Warning:** resources: {note}");
        }
        (None, None) => {}
    }
}

/// Coordinated omission, and where the SLO first broke.
fn notes(o: &mut String, r: &Report) {
    let co = &r.coordinated_omission;
    let _ = writeln!(
        o,
        "\n**Coordinated omission:** {} (p99 {} ms corrected, {} ms uncorrected)\n",
        co.note,
        fmt_num(co.p99_corrected_ms),
        fmt_num(co.p99_uncorrected_ms)
    );
    if let Some(b) = &r.slo_break {
        let _ = writeln!(
            o,
            "**SLO first broke** in stage {} ({}) at {} {}.\n",
            b.stage + 1,
            b.stage_name,
            fmt_num(b.load),
            b.unit
        );
    }
}
