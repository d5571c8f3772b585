//! The host panel: CPU, memory and load average from sysinfo.

use std::time::Duration;

use serde::Serialize;
use sysinfo::System;

/// One reading of the machine ragctl runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct HostRow {
    pub cpus: usize,
    pub cpu_percent: f64,
    pub mem_used_bytes: u64,
    pub mem_total_bytes: u64,
    pub mem_percent: f64,
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
}

/// Keeps a `System` between readings so CPU usage is measured over the
/// interval since the previous call.
pub struct HostSampler {
    /// `None` when the platform is not supported: readings are then zero.
    sys: Option<System>,
}

impl Default for HostSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl HostSampler {
    pub fn new() -> HostSampler {
        let mut sys = System::new().ok();
        if let Some(s) = sys.as_mut() {
            s.refresh_cpu_usage();
            s.refresh_memory();
        }
        HostSampler { sys }
    }

    /// A reading; CPU usage covers the time since the previous `sample` (or
    /// `new`), so the first call should come at least 200 ms later.
    pub fn sample(&mut self) -> HostRow {
        let Some(sys) = self.sys.as_mut() else {
            return HostRow::default();
        };
        sys.refresh_cpu_usage();
        sys.refresh_memory();
        let load = System::load_average().unwrap_or_default();
        let total = sys.total_memory();
        let used = sys.used_memory();
        HostRow {
            cpus: sys.cpus().len(),
            cpu_percent: f64::from(sys.global_cpu_usage()),
            mem_used_bytes: used,
            mem_total_bytes: total,
            mem_percent: if total > 0 {
                used as f64 / total as f64 * 100.0
            } else {
                0.0
            },
            load1: load.one,
            load5: load.five,
            load15: load.fifteen,
        }
    }

    /// A reading measured over `interval` (blocking).
    pub fn sample_over(interval: Duration) -> HostRow {
        let mut s = HostSampler::new();
        std::thread::sleep(interval.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL));
        s.sample()
    }
}
