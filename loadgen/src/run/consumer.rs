//! Consumers of a run's records besides the collector: the live view,
//! the Prometheus exporter, the per-request CSV (STYLE.md item 8: the
//! engine emits raw records, everything else consumes them).
//!
//! Each consumer gets its own copy of every record on a channel, and a
//! [`RunView`] of what records cannot say (the plan as scaled, the start
//! instant, the live gauges, the stop switch). The channel closes when the
//! run ends; the run then waits for each consumer to finish (a file
//! flushed, a terminal restored) before it returns.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::profile::Profile;
use crate::record::{Gauges, RecordRx};

/// What a consumer knows about the run besides its records.
#[derive(Clone)]
pub struct RunView {
    /// The profile as played (scaled; closed-model stages in whole seconds).
    pub profile: Profile,
    /// Transaction names, indexed by `Record::txn`.
    pub names: Vec<String>,
    /// The instant record times count from.
    pub t0: Instant,
    /// The same instant as a Unix time in milliseconds.
    pub t0_unix_ms: u64,
    /// The run's `--user-scale` (throughput thresholds scale with it).
    pub user_scale: f64,
    pub gauges: Arc<Gauges>,
    /// Send a reason (`interrupted`) to stop the run; the partial report is
    /// built as for Ctrl-C.
    pub stop: Arc<watch::Sender<Option<String>>>,
}

/// Why a consumer failed while the run went on. The run's report is
/// still built; the binary prints these and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    /// The live view lost its terminal.
    #[error("live view: {0}")]
    Terminal(std::io::Error),
    /// The task itself panicked or was cancelled.
    #[error("{name}: {source}")]
    Task {
        name: &'static str,
        source: tokio::task::JoinError,
    },
}

/// Something that consumes a run's records.
pub trait Consumer: Send {
    /// Name in error messages (`live view`, `requests CSV`...).
    fn name(&self) -> &'static str;
    /// Start consuming: records arrive on `rx` until the run ends.
    fn start(self: Box<Self>, run: RunView, rx: RecordRx) -> JoinHandle<Result<(), ConsumerError>>;
}
