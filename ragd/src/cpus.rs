//! How many CPUs ragd may use: the figure its pools are sized for.
//!
//! In a container started with `docker run --cpus 0.5` (or a Kubernetes CPU
//! limit) the kernel lets the process use half a core's time, whatever the
//! host's core count. `std::thread::available_parallelism` does read the
//! cgroup quota, but rounds it up to whole cores (0.25 becomes 1), so sizing
//! "two threads per core" from it gives a quarter-core replica two CPU
//! threads that throttle each other. [`budget`] reads the quota itself,
//! keeps the fraction, and bounds it by the cores the process may run on
//! (affinity, cpuset). `/status` shows the figure and where it came from
//! (`config.cpus`, `config.cpus_source`).
//!
//! Sources, first that applies:
//! - cgroup v2: `cpu.max` (`QUOTA PERIOD` or `max PERIOD`) of the process's
//!   cgroup and each ancestor, the smallest quota winning;
//! - cgroup v1: `cpu.cfs_quota_us` / `cpu.cfs_period_us` under the `cpu`
//!   controller's mount;
//! - otherwise the cores `available_parallelism` reports.

use std::path::{Path, PathBuf};

/// The CPUs ragd sizes for, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuBudget {
    /// CPUs' worth of time, possibly fractional (0.25 for `--cpus 0.25`).
    pub cpus: f64,
    /// Whole cores the process may run on (affinity, cpuset; quota ignored).
    pub cores: usize,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A CFS quota (cgroup v1 or v2).
    Quota,
    /// No quota: the cores the process may run on.
    Cores,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Quota => "cgroup CPU quota",
            Source::Cores => "cores",
        }
    }
}

impl CpuBudget {
    /// Threads for CPU-heavy work: two per CPU (measured faster than one per
    /// core, see docs/BENCHMARKS.md), rounded up, at least one.
    pub fn cpu_threads(&self) -> usize {
        ((2.0 * self.cpus).ceil() as usize).max(1)
    }

    /// Async worker threads: one per CPU, rounded up, at least one.
    pub fn async_threads(&self) -> usize {
        (self.cpus.ceil() as usize).clamp(1, self.cores.max(1))
    }
}

/// This process's CPU budget (read once from /proc and /sys, then kept).
pub fn budget() -> CpuBudget {
    static BUDGET: std::sync::OnceLock<CpuBudget> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(read_budget)
}

fn read_budget() -> CpuBudget {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let quota = quota_v2(Path::new("/proc/self/cgroup"), Path::new("/sys/fs/cgroup"))
        .or_else(|| quota_v1(Path::new("/sys/fs/cgroup/cpu")))
        .or_else(|| quota_v1(Path::new("/sys/fs/cgroup/cpu,cpuacct")));
    from_parts(quota, cores)
}

/// Combine a quota (CPUs) with the runnable cores.
pub fn from_parts(quota: Option<f64>, cores: usize) -> CpuBudget {
    let cores = cores.max(1);
    match quota {
        Some(q) if q > 0.0 && q < cores as f64 => CpuBudget {
            cpus: q,
            cores,
            source: Source::Quota,
        },
        _ => CpuBudget {
            cpus: cores as f64,
            cores,
            source: Source::Cores,
        },
    }
}

/// Parse `cpu.max`: `"25000 100000"` → 0.25; `"max 100000"` → None.
pub fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut it = text.split_whitespace();
    let quota = it.next()?;
    let period: f64 = it.next().map_or(Some(100_000.0), |p| p.parse().ok())?;
    if quota == "max" || period <= 0.0 {
        return None;
    }
    let quota: f64 = quota.parse().ok()?;
    (quota > 0.0).then_some(quota / period)
}

/// cgroup v2: the smallest `cpu.max` from the process's cgroup up to the root.
fn quota_v2(proc_cgroup: &Path, root: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(proc_cgroup).ok()?;
    // The unified hierarchy's line is `0::/path`.
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mut dir: PathBuf = root.join(rel.trim().trim_start_matches('/'));
    let mut best: Option<f64> = None;
    loop {
        if let Some(q) = std::fs::read_to_string(dir.join("cpu.max"))
            .ok()
            .and_then(|t| parse_cpu_max(&t))
        {
            best = Some(best.map_or(q, |b: f64| b.min(q)));
        }
        if dir == root || !dir.pop() || !dir.starts_with(root) {
            break;
        }
    }
    best
}

/// cgroup v1: `cpu.cfs_quota_us` (-1: none) over `cpu.cfs_period_us`.
fn quota_v1(dir: &Path) -> Option<f64> {
    let read = |f: &str| -> Option<f64> {
        std::fs::read_to_string(dir.join(f))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let quota = read("cpu.cfs_quota_us")?;
    let period = read("cpu.cfs_period_us")?;
    (quota > 0.0 && period > 0.0).then_some(quota / period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_max_is_parsed() {
        assert_eq!(parse_cpu_max("25000 100000\n"), Some(0.25));
        assert_eq!(parse_cpu_max("150000 100000"), Some(1.5));
        assert_eq!(parse_cpu_max("max 100000"), None);
        assert_eq!(parse_cpu_max(""), None);
        assert_eq!(parse_cpu_max("abc 100000"), None);
        assert_eq!(parse_cpu_max("0 100000"), None);
    }

    #[test]
    fn a_quarter_core_gets_one_cpu_thread_not_two() {
        let b = from_parts(Some(0.25), 2);
        assert_eq!(b.source, Source::Quota);
        assert_eq!(b.cpu_threads(), 1);
        assert_eq!(b.async_threads(), 1);
        let b = from_parts(Some(1.5), 4);
        assert_eq!((b.cpu_threads(), b.async_threads()), (3, 2));
        // A quota above the runnable cores does not raise the figure.
        let b = from_parts(Some(8.0), 2);
        assert_eq!((b.cpus, b.source), (2.0, Source::Cores));
        assert_eq!(from_parts(None, 2).cpu_threads(), 4);
    }

    #[test]
    fn the_smallest_quota_on_the_path_wins() {
        let root = tempfile::tempdir().unwrap();
        let leaf = root.path().join("a/b");
        std::fs::create_dir_all(&leaf).unwrap();
        std::fs::write(root.path().join("a/cpu.max"), "50000 100000").unwrap();
        std::fs::write(leaf.join("cpu.max"), "max 100000").unwrap();
        let proc = root.path().join("cgroup");
        std::fs::write(&proc, "0::/a/b\n").unwrap();
        assert_eq!(quota_v2(&proc, root.path()), Some(0.5));
        std::fs::write(&proc, "0::/\n").unwrap();
        assert_eq!(quota_v2(&proc, root.path()), None);
    }
}
