//! The bounded pool for CPU-heavy work (embedding, vector search and writes).
//!
//! Synchronous engines must never run on the async workers: they would stall
//! every connection. [`CpuPool::run`] admits at most `threads` jobs at once
//! onto tokio's blocking threads and queues the rest; the queue depth and the
//! busy count are reported in `/status` and `/metrics`.
//!
//! Work comes in two lanes ([`Lane`]). Questions run in the interactive lane
//! above. Bulk work (chunking, embedding and writing an ingest's vectors)
//! runs in the batch lane: at most half the pool's threads at once, on
//! threads of their own under Linux's `SCHED_IDLE` policy (nice 19 where
//! that is refused), so a bulk ingest takes the CPU only when questions
//! leave it idle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;

/// Which lane a job runs in (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A request someone waits on: questions, vector searches.
    Interactive,
    /// Bulk work: chunking, embedding and writing the vectors of an ingest.
    Batch,
}

/// The nice value of the batch lane's threads where `SCHED_IDLE` is refused.
const BATCH_NICE: i32 = 19;

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
    /// Moving average of an interactive job's run time (ns, weight 1/8).
    job_ns: Arc<AtomicU64>,
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
            job_ns: Arc::new(AtomicU64::new(0)),
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
        let job_ns = self.job_ns.clone();
        let handle = tokio::task::spawn_blocking(move || {
            // The permit and the busy count are released when the job ends,
            // even if the caller stopped waiting for it.
            let _permit = permit;
            let _busy = BusyGuard(busy);
            let started = std::time::Instant::now();
            let out = job();
            let took = started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
            // Racy read-modify-write: a lost sample only slows the average.
            let avg = job_ns.load(Ordering::Relaxed);
            let next = if avg == 0 {
                took
            } else {
                avg - avg / 8 + took / 8
            };
            job_ns.store(next, Ordering::Relaxed);
            out
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

    /// How long a new interactive job would wait for a slot, estimated
    /// from the jobs waiting and their average run time. What the query
    /// path sheds on (`server.max_queue_wait_ms`): under overload, a
    /// question refused at once beats one answered after the SLO.
    pub fn expected_wait(&self) -> std::time::Duration {
        let waiting = self.waiting.load(Ordering::Relaxed);
        let per_job = self.job_ns.load(Ordering::Relaxed);
        std::time::Duration::from_nanos(waiting.saturating_mul(per_job) / self.threads as u64)
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

/// The batch lane's threads, each lowered by [`lower_priority`].
fn batch_pool(threads: usize) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("ragd-batch-{i}"))
        .start_handler(|_| lower_priority())
        .build()
        .map_err(|e| e.to_string())
}

/// Lower the calling thread's scheduling priority to the batch lane's
/// (Linux: the policy and nice value of a thread are its own; threads it
/// starts inherit them). Best effort: elsewhere, or refused, the batch lane
/// still holds at most half the pool's slots.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id, with a
    // parameter struct that outlives the call.
    unsafe {
        // SCHED_IDLE: the thread runs only when no normal thread wants the
        // core (no privilege needed). Where it is refused, nice 19.
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, BATCH_NICE);
        }
    }
}
