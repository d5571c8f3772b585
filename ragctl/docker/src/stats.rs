//! Docker container statistics, computed exactly as `docker stats` does.
//!
//! The engine's `GET /containers/{id}/stats` document is read into the
//! lenient [`StatsSample`] (every field optional, unknown fields ignored), so
//! odd or partial data (a stopped container, cgroup v2 without `percpu_usage`,
//! a missing `networks` map) yields zeros, never a panic.
//!
//! The formulas are those of docker/cli `cli/command/container/stats_helpers.go`:
//! - CPU % = (Δ container total_usage / Δ system_cpu_usage) × online CPUs × 100,
//!   the deltas taken against `precpu_stats` (or the previous sample when
//!   streaming), online CPUs falling back to the length of `percpu_usage`;
//! - memory used = usage − `total_inactive_file` on cgroup v1, usage −
//!   `inactive_file` on cgroup v2 (when smaller than usage), memory % = used /
//!   limit × 100;
//! - network = Σ rx_bytes / tx_bytes over all interfaces;
//! - block I/O = Σ `io_service_bytes_recursive` entries whose op is `read` /
//!   `write` (case-insensitive);
//! - PIDs = `pids_stats.current`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// One stats document as the engine sends it (the fields `docker stats` uses).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct StatsSample {
    /// RFC 3339 time of this reading; used to turn byte counters into rates.
    pub read: Option<String>,
    pub cpu_stats: CpuStats,
    /// The engine's previous reading (empty for the first streamed sample and
    /// for `one-shot` requests).
    pub precpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
    pub networks: Option<HashMap<String, NetworkStats>>,
    pub blkio_stats: BlkioStats,
    pub pids_stats: PidsStats,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CpuStats {
    pub cpu_usage: CpuUsage,
    /// Host CPU time in nanoseconds (all cores), cumulative.
    pub system_cpu_usage: Option<u64>,
    pub online_cpus: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CpuUsage {
    /// Container CPU time in nanoseconds, cumulative.
    pub total_usage: Option<u64>,
    /// Per-core usage; absent on cgroup v2.
    pub percpu_usage: Option<Vec<u64>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct MemoryStats {
    pub usage: Option<u64>,
    pub limit: Option<u64>,
    /// Raw `memory.stat` keys: `total_inactive_file` (v1), `inactive_file` (v2)...
    pub stats: Option<HashMap<String, u64>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct NetworkStats {
    pub rx_bytes: Option<u64>,
    pub tx_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioEntry>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct BlkioEntry {
    pub op: Option<String>,
    pub value: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PidsStats {
    pub current: Option<u64>,
}

/// The figures of one `docker stats` row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerStats {
    pub cpu_percent: f64,
    pub mem_used_bytes: u64,
    pub mem_limit_bytes: u64,
    pub mem_percent: f64,
    /// Cumulative bytes received / sent over all interfaces.
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    /// Cumulative bytes read / written on block devices.
    pub block_read_bytes: u64,
    pub block_write_bytes: u64,
    pub pids: u64,
}

impl StatsSample {
    /// Parse one stats document; `None` when it is not a JSON object at all.
    pub fn from_json(text: &str) -> Option<StatsSample> {
        serde_json::from_str(text).ok()
    }

    /// Convert any serialisable stats value (e.g. bollard's model) leniently.
    /// Goes through a JSON value; [`StatsSample::from_model`] is the direct
    /// way for bollard's own type.
    pub fn from_value<T: Serialize>(v: &T) -> StatsSample {
        serde_json::to_value(v)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// Take the fields `docker stats` uses from bollard's stats document,
    /// field by field (a streamed reading arrives every second per
    /// container, so no round trip through a JSON value). Same result as
    /// [`StatsSample::from_value`] on it.
    pub fn from_model(m: &bollard::models::ContainerStatsResponse) -> StatsSample {
        fn cpu(c: Option<&bollard::models::ContainerCpuStats>) -> CpuStats {
            c.map(|c| CpuStats {
                cpu_usage: c
                    .cpu_usage
                    .as_ref()
                    .map(|u| CpuUsage {
                        total_usage: u.total_usage,
                        percpu_usage: u.percpu_usage.clone(),
                    })
                    .unwrap_or_default(),
                system_cpu_usage: c.system_cpu_usage,
                online_cpus: c.online_cpus,
            })
            .unwrap_or_default()
        }
        StatsSample {
            // The date type depends on bollard's features; its JSON form
            // is the engine's RFC 3339 text in every case.
            read: m
                .read
                .as_ref()
                .and_then(|d| serde_json::to_value(d).ok())
                .and_then(|v| v.as_str().map(str::to_string)),
            cpu_stats: cpu(m.cpu_stats.as_ref()),
            precpu_stats: cpu(m.precpu_stats.as_ref()),
            memory_stats: m
                .memory_stats
                .as_ref()
                .map(|x| MemoryStats {
                    usage: x.usage,
                    limit: x.limit,
                    stats: x.stats.clone(),
                })
                .unwrap_or_default(),
            networks: m.networks.as_ref().map(|n| {
                n.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            NetworkStats {
                                rx_bytes: v.rx_bytes,
                                tx_bytes: v.tx_bytes,
                            },
                        )
                    })
                    .collect()
            }),
            blkio_stats: BlkioStats {
                io_service_bytes_recursive: m
                    .blkio_stats
                    .as_ref()
                    .and_then(|b| b.io_service_bytes_recursive.as_ref())
                    .map(|v| {
                        v.iter()
                            .map(|e| BlkioEntry {
                                op: e.op.clone(),
                                value: e.value,
                            })
                            .collect()
                    }),
            },
            pids_stats: PidsStats {
                current: m.pids_stats.as_ref().and_then(|p| p.current),
            },
        }
    }

    /// The `docker stats` figures, CPU measured against `precpu_stats`.
    pub fn compute(&self) -> ContainerStats {
        self.compute_against(&self.precpu_stats)
    }

    /// The `docker stats` figures, CPU measured against an earlier reading.
    pub fn compute_against(&self, previous: &CpuStats) -> ContainerStats {
        let (mem_used, mem_limit, mem_pct) = memory(&self.memory_stats);
        let (rx, tx) = network(self.networks.as_ref());
        let (br, bw) = block_io(&self.blkio_stats);
        ContainerStats {
            cpu_percent: cpu_percent(previous, &self.cpu_stats),
            mem_used_bytes: mem_used,
            mem_limit_bytes: mem_limit,
            mem_percent: mem_pct,
            net_rx_bytes: rx,
            net_tx_bytes: tx,
            block_read_bytes: br,
            block_write_bytes: bw,
            pids: self.pids_stats.current.unwrap_or(0),
        }
    }
}

/// `calculateCPUPercentUnix`.
pub fn cpu_percent(previous: &CpuStats, now: &CpuStats) -> f64 {
    let cpu_delta = now.cpu_usage.total_usage.unwrap_or(0) as f64
        - previous.cpu_usage.total_usage.unwrap_or(0) as f64;
    let system_delta =
        now.system_cpu_usage.unwrap_or(0) as f64 - previous.system_cpu_usage.unwrap_or(0) as f64;
    let mut online = now.online_cpus.unwrap_or(0) as f64;
    if online == 0.0 {
        online = now.cpu_usage.percpu_usage.as_ref().map_or(0, |v| v.len()) as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        let pct = cpu_delta / system_delta * online * 100.0;
        if pct.is_finite() { pct } else { 0.0 }
    } else {
        0.0
    }
}

/// `calculateMemUsageUnixNoCache` and `calculateMemPercentUnixNoCache`:
/// (used bytes, limit bytes, percent).
pub fn memory(mem: &MemoryStats) -> (u64, u64, f64) {
    let usage = mem.usage.unwrap_or(0);
    let stats = mem.stats.as_ref();
    let used = match stats.and_then(|s| s.get("total_inactive_file")) {
        // cgroup v1
        Some(&v) if v < usage => usage - v,
        _ => match stats.and_then(|s| s.get("inactive_file")) {
            // cgroup v2
            Some(&v) if v < usage => usage - v,
            _ => usage,
        },
    };
    let limit = mem.limit.unwrap_or(0);
    let pct = if limit != 0 {
        used as f64 / limit as f64 * 100.0
    } else {
        0.0
    };
    (used, limit, pct)
}

/// `calculateNetwork`: (rx, tx) summed over interfaces.
pub fn network(nets: Option<&HashMap<String, NetworkStats>>) -> (u64, u64) {
    nets.map_or((0, 0), |n| {
        n.values().fold((0u64, 0u64), |(rx, tx), s| {
            (
                rx.saturating_add(s.rx_bytes.unwrap_or(0)),
                tx.saturating_add(s.tx_bytes.unwrap_or(0)),
            )
        })
    })
}

/// `calculateBlockIO`: (read, write).
pub fn block_io(b: &BlkioStats) -> (u64, u64) {
    let mut read = 0u64;
    let mut write = 0u64;
    for e in b.io_service_bytes_recursive.iter().flatten() {
        let v = e.value.unwrap_or(0);
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read = read.saturating_add(v),
            Some("write") => write = write.saturating_add(v),
            _ => {}
        }
    }
    (read, write)
}

/// Bytes per second between two cumulative counters `secs` apart (0 when
/// the counter went backwards, e.g. after a restart).
pub fn rate(prev: u64, now: u64, secs: f64) -> f64 {
    if secs <= 0.0 || now < prev {
        0.0
    } else {
        (now - prev) as f64 / secs
    }
}

/// `v` with `digits` significant digits, trailing zeros dropped (Go's `%.Ng`
/// for the magnitudes we print).
fn significant(v: f64, digits: i32) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn human(bytes: f64, base: f64, units: &[&str], digits: i32) -> String {
    if !bytes.is_finite() || bytes <= 0.0 {
        return format!("0{}", units[0]);
    }
    let mut v = bytes;
    let mut i = 0;
    while v >= base && i < units.len() - 1 {
        v /= base;
        i += 1;
    }
    format!("{}{}", significant(v, digits), units[i])
}

/// Human size as `docker stats` prints memory: binary units, 4 significant
/// digits (`12.5MiB`).
pub fn human_binary(bytes: u64) -> String {
    human(
        bytes as f64,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB"],
        4,
    )
}

/// Human size as `docker stats` prints network and block I/O: decimal
/// units, 3 significant digits (`1.2kB`, `123MB`).
pub fn human_decimal(bytes: f64) -> String {
    human(bytes, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"], 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_prefers_v1_key_then_v2_then_raw() {
        let mut m = MemoryStats {
            usage: Some(100),
            limit: Some(200),
            stats: Some(HashMap::from([("total_inactive_file".into(), 1)])),
        };
        assert_eq!(memory(&m), (99, 200, 49.5));
        m.stats = Some(HashMap::from([("inactive_file".into(), 2)]));
        assert_eq!(memory(&m).0, 98);
        m.stats = Some(HashMap::from([("inactive_file".into(), 500)]));
        assert_eq!(memory(&m).0, 100);
        m.limit = Some(0);
        assert_eq!(memory(&m).2, 0.0);
    }

    #[test]
    fn empty_document_is_all_zero() {
        let s = StatsSample::from_json("{}").unwrap().compute();
        assert_eq!(s, ContainerStats::default());
        assert!(StatsSample::from_json("[1,2]").is_none());
        let odd = StatsSample::from_json(r#"{"cpu_stats":{"online_cpus":null},"networks":{}}"#);
        assert_eq!(odd.unwrap().compute().cpu_percent, 0.0);
    }

    #[test]
    fn human_units_match_docker() {
        assert_eq!(human_binary(0), "0B");
        assert_eq!(human_binary(1536), "1.5KiB");
        assert_eq!(human_binary(13_107_200), "12.5MiB");
        assert_eq!(human_decimal(1200.0), "1.2kB");
        assert_eq!(human_decimal(999.0), "999B");
        assert_eq!(human_decimal(123_456_789.0), "123MB");
    }
}
