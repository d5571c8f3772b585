//! The standard `process_*` series (the names every Prometheus client
//! library exports): CPU time, resident and virtual memory, open and maximum
//! file descriptors, start time. Read from `/proc/self` through the `procfs`
//! crate at each scrape; on other systems the series are absent.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

/// Handles on the process series, refreshed by [`ProcessMetrics::refresh`].
#[derive(Default)]
pub struct ProcessMetrics {
    /// User plus system CPU time, in seconds.
    cpu: Counter<f64, AtomicU64>,
    resident: Gauge,
    virtual_memory: Gauge,
    open_fds: Gauge,
    max_fds: Gauge,
    start_time: Gauge<f64, AtomicU64>,
}

impl ProcessMetrics {
    /// Register the series (Linux only; elsewhere nothing is registered).
    pub fn register(&self, r: &mut Registry) {
        if !cfg!(target_os = "linux") {
            return;
        }
        r.register_with_unit(
            "process_cpu",
            "Total user and system CPU time spent, in seconds",
            Unit::Seconds,
            self.cpu.clone(),
        );
        r.register_with_unit(
            "process_resident_memory",
            "Resident memory size, in bytes",
            Unit::Bytes,
            self.resident.clone(),
        );
        r.register_with_unit(
            "process_virtual_memory",
            "Virtual memory size, in bytes",
            Unit::Bytes,
            self.virtual_memory.clone(),
        );
        r.register(
            "process_open_fds",
            "Open file descriptors",
            self.open_fds.clone(),
        );
        r.register(
            "process_max_fds",
            "Most file descriptors the process may open (soft limit)",
            self.max_fds.clone(),
        );
        r.register_with_unit(
            "process_start_time",
            "Start time of the process since the Unix epoch, in seconds",
            Unit::Seconds,
            self.start_time.clone(),
        );
    }

    /// Read `/proc/self` and set every series. A file that cannot be read
    /// leaves its series at the last value (never fails the scrape).
    pub fn refresh(&self) {
        #[cfg(target_os = "linux")]
        self.refresh_linux();
    }

    #[cfg(target_os = "linux")]
    fn refresh_linux(&self) {
        use procfs::process::{LimitValue, Process};
        let Ok(me) = Process::myself() else {
            return;
        };
        let ticks = procfs::ticks_per_second().max(1) as f64;
        if let Ok(stat) = me.stat() {
            let cpu = (stat.utime + stat.stime) as f64 / ticks;
            // The counter follows the kernel's cumulative figure.
            let now = self.cpu.get();
            if cpu > now {
                self.cpu.inc_by(cpu - now);
            }
            self.resident
                .set((stat.rss * procfs::page_size()).min(i64::MAX as u64) as i64);
            self.virtual_memory
                .set(stat.vsize.min(i64::MAX as u64) as i64);
            if let Ok(boot) = procfs::boot_time_secs() {
                self.start_time
                    .set(boot as f64 + stat.starttime as f64 / ticks);
            }
        }
        if let Ok(n) = me.fd_count() {
            self.open_fds.set(n as i64);
        }
        if let Ok(limits) = me.limits() {
            let max = match limits.max_open_files.soft_limit {
                LimitValue::Value(v) => v.min(i64::MAX as u64) as i64,
                LimitValue::Unlimited => i64::MAX,
            };
            self.max_fds.set(max);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn process_series_are_read_from_proc() {
        let m = ProcessMetrics::default();
        let mut r = Registry::default();
        m.register(&mut r);
        m.refresh();
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &r).unwrap();
        for name in [
            "process_cpu_seconds_total ",
            "process_resident_memory_bytes ",
            "process_virtual_memory_bytes ",
            "process_open_fds ",
            "process_max_fds ",
            "process_start_time_seconds ",
        ] {
            assert!(out.contains(name), "{name} missing in\n{out}");
        }
        assert!(m.resident.get() > 0, "{out}");
        assert!(m.open_fds.get() >= 3, "{out}");
        let start = m.start_time.get();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(start > now - 86_400.0 && start <= now + 2.0, "{start}");
    }
}
