//! The bounded pool for CPU-heavy work (embedding, vector search and writes).
//!
//! Synchronous engines must never run on the async workers: they would stall
//! every connection. [`CpuPool::run`] admits at most `threads` jobs at once
//! onto tokio's blocking threads and queues the rest; the queue depth and the
//! busy count are reported in `/status` and `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;

/// A job that panicked; the panic is contained and reported as an error.
#[derive(Debug, thiserror::Error)]
#[error("CPU job failed: {0}")]
pub struct JobPanicked(pub String);

pub struct CpuPool {
    permits: Arc<Semaphore>,
    threads: usize,
    /// Jobs waiting for a permit.
    waiting: AtomicU64,
    /// Jobs running now.
    busy: Arc<AtomicU64>,
}

impl CpuPool {
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        Self {
            permits: Arc::new(Semaphore::new(threads)),
            threads,
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
