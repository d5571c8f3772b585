//! Measurements of ragd's parts in isolation (`ragd bench-embed`), the peer
//! figures that docs/BENCHMARKS.md compares the whole service against.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::cpu::CpuPool;
use crate::embed::pocket::PocketEmbedder;
use crate::embed::{EmbedError, Lane};

/// Why a measurement could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("embedder: {0}")]
    Embed(#[from] EmbedError),
    #[error("a measuring task failed: {0}")]
    Task(String),
    #[error("merging histograms: {0}")]
    Histogram(#[from] hdrhistogram::AdditionError),
}

/// Result of an embedder-alone run.
#[derive(Debug, Serialize)]
pub struct EmbedReport {
    pub threads: usize,
    /// Questions per model call.
    pub batch: usize,
    pub seconds: f64,
    pub embeds: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The same work submitted through ragd's [`CpuPool`] from `tasks` async
/// tasks, as the query path does: the cost of the pool hand-off.
pub fn embed_throughput_pool(
    tasks: usize,
    threads: usize,
    duration: Duration,
) -> Result<EmbedReport, BenchError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    rt.block_on(async move {
        use crate::embed::Embedder;
        let pool = Arc::new(CpuPool::new(threads));
        let embedder = Arc::new(PocketEmbedder::new(pool)?);
        embedder
            .embed(vec!["warm up".into()], Lane::Interactive)
            .await?;
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks.max(1))
            .map(|t| {
                let embedder = embedder.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut h =
                        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let q = format!("What did the reservoir report ({t}-{i})?");
                        let t0 = Instant::now();
                        if embedder.embed(vec![q], Lane::Interactive).await.is_err() {
                            break;
                        }
                        let _ = h.record(t0.elapsed().as_micros() as u64);
                    }
                    h
                })
            })
            .collect();
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
        for h in handles {
            let h = h.await.map_err(|e| BenchError::Task(e.to_string()))?;
            all.add(&h)?;
        }
        let secs = started.elapsed().as_secs_f64();
        Ok(EmbedReport {
            threads,
            batch: 1,
            seconds: secs,
            embeds: all.len(),
            per_second: all.len() as f64 / secs,
            p50_ms: all.value_at_quantile(0.5) as f64 / 1000.0,
            p99_ms: all.value_at_quantile(0.99) as f64 / 1000.0,
        })
    })
}

/// Embed one short question at a time on `threads` threads for `duration`,
/// as a query does, and report the throughput the embedder alone allows.
/// With `batch` > 1, each call embeds that many questions (the ceiling a
/// micro-batching server could reach); `embeds` counts questions.
///
/// With `texts`, each call embeds the next `batch` of those texts (in
/// rotation) instead of made-up questions: with an ingest's chunks and its
/// batch size, the chunk rate the embedder alone allows an ingest.
pub fn embed_throughput(
    threads: usize,
    batch: usize,
    duration: Duration,
    texts: Option<Arc<Vec<String>>>,
) -> Result<EmbedReport, BenchError> {
    let batch = batch.max(1);
    let texts = texts.filter(|t| !t.is_empty());
    let embedder = Arc::new(PocketEmbedder::new(Arc::new(CpuPool::new(1)))?);
    // Warm up (first call initialises the model).
    embedder.embed_blocking(&["warm up".to_string()])?;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads.max(1))
        .map(|t| {
            let embedder = embedder.clone();
            let stop = stop.clone();
            let texts = texts.clone();
            std::thread::spawn(move || {
                let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
                let mut i = 0u64;
                // Threads start at different places of the texts.
                let mut next = t * 7919;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let qs: Vec<String> = (0..batch)
                        .map(|b| match &texts {
                            Some(texts) => {
                                next += 1;
                                texts[next % texts.len()].clone()
                            }
                            None => format!("What did the reservoir report ({t}-{i}-{b})?"),
                        })
                        .collect();
                    let t0 = Instant::now();
                    if embedder.embed_blocking(&qs).is_err() {
                        break;
                    }
                    let us = t0.elapsed().as_micros() as u64;
                    // One record per question, each with its call's latency.
                    let _ = h.record_n(us, batch as u64);
                }
                h
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
    for h in handles {
        let h = h
            .join()
            .map_err(|_| BenchError::Task("embed thread panicked".into()))?;
        all.add(&h)?;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(EmbedReport {
        threads,
        batch,
        seconds: secs,
        embeds: all.len(),
        per_second: all.len() as f64 / secs,
        p50_ms: all.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: all.value_at_quantile(0.99) as f64 / 1000.0,
    })
}
