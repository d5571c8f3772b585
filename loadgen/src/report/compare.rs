//! `loadgen compare`: the key figures of two reports side by side, per
//! transaction and for all requests, with their deltas, as a terminal
//! table.

use std::fmt::Write as _;

use crate::threshold::{fmt_num, signed};

use super::table::{Table, left, right};
use super::text::write_table;
use super::{Report, Stats};

/// A compared figure: its label and how to read it from stats.
type Figure = (&'static str, fn(&Stats) -> f64);

const FIGURES: [Figure; 6] = [
    ("req/s", |s| s.rps),
    ("p50 ms", |s| s.latency_ms.p50),
    ("p95 ms", |s| s.latency_ms.p95),
    ("p99 ms", |s| s.latency_ms.p99),
    ("max ms", |s| s.latency_ms.max),
    ("err %", |s| s.error_rate),
];

/// `loadgen compare`: deltas of the key figures between two reports.
pub fn compare(base: &Report, new: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "compare: {} ({}) -> {} ({})\n",
        base.meta.profile, base.meta.started, new.meta.profile, new.meta.started
    );
    let mut t = Table::new(vec![
        left("transaction", 14),
        left("metric", 8),
        right("base", 12),
        right("new", 12),
        right("delta", 12),
        right("change", 9),
    ]);
    for name in names(base, new) {
        let (b, n) = (find(base, &name), find(new, &name));
        for (label, f) in FIGURES {
            let (bv, nv) = (b.map(f), n.map(f));
            let cell = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "-".into());
            let (delta, change) = delta(bv, nv);
            t.push(vec![
                name.as_str().into(),
                label.into(),
                cell(bv).into(),
                cell(nv).into(),
                delta.into(),
                change.into(),
            ]);
        }
    }
    write_table(&mut o, &t, "", true);
    let _ = writeln!(
        o,
        "\nthresholds: base {}, new {}",
        if base.passed { "PASS" } else { "FAIL" },
        if new.passed { "PASS" } else { "FAIL" }
    );
    o
}

/// The base's transactions, then the new report's others, then `all`.
fn names(base: &Report, new: &Report) -> Vec<String> {
    let mut names: Vec<String> = base.transactions.iter().map(|t| t.name.clone()).collect();
    for t in &new.transactions {
        if !names.contains(&t.name) {
            names.push(t.name.clone());
        }
    }
    names.push("all".into());
    names
}

fn find<'a>(r: &'a Report, name: &str) -> Option<&'a Stats> {
    if name == "all" {
        Some(&r.total)
    } else {
        r.transactions.iter().find(|t| t.name == name)
    }
}

/// The difference and the relative change (`-` when either is missing, or
/// the base is 0).
fn delta(base: Option<f64>, new: Option<f64>) -> (String, String) {
    match (base, new) {
        (Some(x), Some(y)) => (
            signed(y - x),
            if x != 0.0 {
                format!("{:+.1}%", (y - x) / x * 100.0)
            } else {
                "-".into()
            },
        ),
        _ => ("-".into(), "-".into()),
    }
}
