//! Human output of `ragctl status`: aligned plain-text tables.

use std::fmt::Write;

use crate::host::HostRow;
use crate::ragd::ReplicaRow;
use crate::snapshot::{ContainerRow, DockerSection, Snapshot};
use crate::stats::{human_binary, human_decimal};

/// Left-aligned columns separated by two spaces; the header row first.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Milliseconds with the precision that matters: `0.42 ms`, `4.2 ms`, `420 ms`.
pub fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.2} ms")
    } else if v < 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

pub fn pct(v: f64) -> String {
    format!("{v:.2}%")
}

pub fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

/// The pools column: `metadata 2/8, cpu 0/2 (3 waiting)`.
pub fn pools(p: &[crate::ragd::PoolView]) -> String {
    if p.is_empty() {
        return "-".into();
    }
    p.iter()
        .map(|p| {
            let mut s = format!("{} {}/{}", p.name, p.in_use, p.max);
            if p.waiting > 0 {
                let _ = write!(s, " ({} waiting)", p.waiting);
            }
            if p.saturated {
                s.push('!');
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole `status` report: host, containers, ragd replicas, alerts.
pub fn status_text(s: &Snapshot) -> String {
    let mut out = String::new();
    host_section(&mut out, &s.host);
    containers_section(&mut out, &s.docker);
    out.push('\n');
    replicas_section(&mut out, &s.replicas);
    out.push('\n');
    alerts_section(&mut out, &s.alerts);
    out
}

fn host_section(out: &mut String, h: &HostRow) {
    let _ = writeln!(
        out,
        "HOST  {} CPUs  CPU {:.1}%  MEM {} / {} ({:.1}%)  LOAD {:.2} {:.2} {:.2}\n",
        h.cpus,
        h.cpu_percent,
        human_binary(h.mem_used_bytes),
        human_binary(h.mem_total_bytes),
        h.mem_percent,
        h.load1,
        h.load5,
        h.load15
    );
}

/// The containers table, or why there is none.
fn containers_section(out: &mut String, d: &DockerSection) {
    let _ = writeln!(out, "CONTAINERS  (Docker engine at {})", d.address);
    if let Some(e) = &d.error {
        let _ = writeln!(
            out,
            "  Docker unavailable: {e}\n  (ragd replicas and host are shown; containers are not)"
        );
        return;
    }
    if d.containers.is_empty() {
        let _ = writeln!(out, "  no containers");
        return;
    }
    let mut rows = vec![
        [
            "NAME",
            "PROJECT",
            "SERVICE",
            "STATE",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS",
            "HEALTH",
        ]
        .map(String::from)
        .to_vec(),
    ];
    rows.extend(d.containers.iter().map(container_row));
    out.push_str(&table(&rows));
}

fn container_row(c: &ContainerRow) -> Vec<String> {
    let i = &c.info;
    let (cpu, mem, memp, net, blk, pids) = match &c.stats {
        Some(st) => (
            pct(st.cpu_percent),
            format!(
                "{} / {}",
                human_binary(st.mem_used_bytes),
                human_binary(st.mem_limit_bytes)
            ),
            pct(st.mem_percent),
            format!(
                "{} / {}",
                human_decimal(st.net_rx_bytes as f64),
                human_decimal(st.net_tx_bytes as f64)
            ),
            format!(
                "{} / {}",
                human_decimal(st.block_read_bytes as f64),
                human_decimal(st.block_write_bytes as f64)
            ),
            st.pids.to_string(),
        ),
        None => Default::default(),
    };
    vec![
        i.name.clone(),
        i.project.clone().unwrap_or_else(|| "-".into()),
        i.service.clone().unwrap_or_else(|| "-".into()),
        i.state.clone(),
        cpu,
        mem,
        memp,
        net,
        blk,
        pids,
        i.health.clone().unwrap_or_else(|| "-".into()),
    ]
}

/// The replicas table, then a line for each replica that is down.
fn replicas_section(out: &mut String, replicas: &[ReplicaRow]) {
    out.push_str("RAGD REPLICAS\n");
    let mut rows = vec![
        [
            "NAME",
            "URL",
            "STATE",
            "READY",
            "REQ/S",
            "ERR %",
            "P95 MS",
            "HIT %",
            "IN-FLIGHT",
            "POOLS (in use/max)",
        ]
        .map(String::from)
        .to_vec(),
    ];
    rows.extend(replicas.iter().map(replica_row));
    out.push_str(&table(&rows));
    for r in replicas.iter().filter(|r| !r.up) {
        let _ = writeln!(
            out,
            "  {} is down: {}",
            r.name,
            r.error.as_deref().unwrap_or("no answer")
        );
    }
}

fn replica_row(r: &ReplicaRow) -> Vec<String> {
    vec![
        r.name.clone(),
        r.url.clone(),
        if r.up {
            r.state.clone().unwrap_or_else(|| "up".into())
        } else {
            "DOWN".into()
        },
        if r.ready { "yes" } else { "no" }.into(),
        opt(r.requests_per_sec, |v| format!("{v:.1}")),
        opt(r.error_rate, |v| format!("{:.1}%", v * 100.0)),
        opt(r.p95_ms, |v| ms(v).trim_end_matches(" ms").to_string()),
        opt(r.cache_hit_ratio, |v| format!("{:.0}%", v * 100.0)),
        opt(r.in_flight, |v| v.to_string()),
        pools(&r.pools),
    ]
}

fn alerts_section(out: &mut String, alerts: &[String]) {
    if alerts.is_empty() {
        out.push_str("ALERTS  none\n");
    } else {
        out.push_str("ALERTS\n");
        for a in alerts {
            let _ = writeln!(out, "  ! {a}");
        }
    }
}
