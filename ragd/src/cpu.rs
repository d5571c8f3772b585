//! The bounded pool for CPU-heavy work (embedding, vector search and writes).
//!
//! Synchronous engines must never run on the async workers: they would stall
//! every connection. [`CpuPool::run`] admits at most `threads` jobs at once
//! onto tokio's blocking threads and queues the rest; the queue depth and the
//! busy count are reported in `/status` and `/metrics`.
//!
//! Work comes in two lanes ([`Lane`]). Questions run in the interactive lane
//! above. Bulk work (embedding an ingest's chunks) runs in the batch lane:
//! at most half the pool's threads at once, on threads of their own that
//! the kernel schedules at a lower priority (nice 10), so a bulk ingest
//! takes the CPU only when questions leave it idle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;

/// Which lane a job runs in (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A request someone waits on: questions, vector searches.
    Interactive,
    /// Bulk work: embedding the chunks of an ingest.
    Batch,
}

/// The nice value of the batch lane's threads.
const BATCH_NICE: i32 = 10;

/// A job that panicked; the panic is contained and reported as an error.
#[derive(Debug, thiserror::Error)]
#[error("CPU job failed: {0}")]
pub struct JobPanicked(pub String);

pub struct CpuPool {
    permits: Arc<Semaphore>,
    threads: usize,
    /// The batch lane: its own low-priority threads, built on first use.
    batch: std::sync::OnceLock<Result<rayon::ThreadPool, String>>,
    batch_permits: Arc<Semaphore>,
    batch_threads: usize,
    /// Batch jobs waiting for a permit.
    batch_waiting: AtomicU64,
    /// Batch jobs running now.
    batch_busy: Arc<AtomicU64>,
    /// Jobs waiting for a permit.
    waiting: AtomicU64,
    /// Jobs running now.
    busy: Arc<AtomicU64>,
}

impl CpuPool {
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let batch_threads = (threads / 2).max(1);
        Self {
            permits: Arc::new(Semaphore::new(threads)),
            threads,
            batch: std::sync::OnceLock::new(),
            batch_permits: Arc::new(Semaphore::new(batch_threads)),
            batch_threads,
            batch_waiting: AtomicU64::new(0),
            batch_busy: Arc::new(AtomicU64::new(0)),
            waiting: AtomicU64::new(0),
            busy: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Run `job` on a blocking thread once one of the pool's slots is free.
    pub async fn run<T, F>(&self, job: F) -> Result<T, JobPanicked>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let permit = permit.map_err(|_| JobPanicked("pool closed".into()))?;
        let busy = self.busy.clone();
        busy.fetch_add(1, Ordering::Relaxed);
        let handle = tokio::task::spawn_blocking(move || {
            // The permit and the busy count are released when the job ends,
            // even if the caller stopped waiting for it.
            let _permit = permit;
            let _busy = BusyGuard(busy);
            job()
        });
        handle.await.map_err(|e| {
            let msg = match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into()),
                Err(e) => e.to_string(),
            };
            tracing::error!(%msg, "CPU job panicked");
            JobPanicked(msg)
        })
    }

    /// Run `job` in `lane`: [`CpuPool::run`] or [`CpuPool::run_batch`].
    pub async fn run_in<T, F>(&self, lane: Lane, job: F) -> Result<T, JobPanicked>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match lane {
            Lane::Interactive => self.run(job).await,
            Lane::Batch => self.run_batch(job).await,
        }
    }

    /// Run `job` in the batch lane once one of its slots is free.
    pub async fn run_batch<T, F>(&self, job: F) -> Result<T, JobPanicked>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let threads = match self.batch.get_or_init(|| batch_pool(self.batch_threads)) {
            Ok(p) => p,
            // No low-priority threads (never seen): the interactive lane.
            Err(_) => return self.run(job).await,
        };
        self.batch_waiting.fetch_add(1, Ordering::Relaxed);
        let permit = self.batch_permits.clone().acquire_owned().await;
        self.batch_waiting.fetch_sub(1, Ordering::Relaxed);
        let permit = permit.map_err(|_| JobPanicked("pool closed".into()))?;
        let busy = self.batch_busy.clone();
        busy.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = tokio::sync::oneshot::channel();
        threads.spawn(move || {
            let _permit = permit;
            let _busy = BusyGuard(busy);
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            let _ = tx.send(out);
        });
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(p)) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                tracing::error!(%msg, "CPU batch job panicked");
                Err(JobPanicked(msg))
            }
            Err(_) => Err(JobPanicked("batch job dropped".into())),
        }
    }

    pub fn batch_threads(&self) -> usize {
        self.batch_threads
    }
    pub fn batch_busy(&self) -> u64 {
        self.batch_busy.load(Ordering::Relaxed)
    }
    pub fn batch_waiting(&self) -> u64 {
        self.batch_waiting.load(Ordering::Relaxed)
    }

    pub fn threads(&self) -> usize {
        self.threads
    }
    pub fn busy(&self) -> u64 {
        self.busy.load(Ordering::Relaxed)
    }
    pub fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::Relaxed)
    }
}

struct BusyGuard(Arc<AtomicU64>);
impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The batch lane's threads, each lowered to nice [`BATCH_NICE`].
fn batch_pool(threads: usize) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("ragd-batch-{i}"))
        .start_handler(|_| lower_priority())
        .build()
        .map_err(|e| e.to_string())
}

/// Lower the calling thread's scheduling priority (Linux: `setpriority` on
/// a thread id sets that thread only). Best effort: elsewhere, or refused,
/// the batch lane still holds at most half the pool's slots.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, BATCH_NICE);
    }
}
