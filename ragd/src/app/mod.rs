//! The running service, opened once at start-up and shared by every
//! request. It has two parts, along the seam between what a request does
//! and how requests are let in:
//!
//! - [`Backends`] ([`backends`]): what requests use: the stores,
//!   embedders, generator and caches, and the [`Topology`] they form.
//!   Services ([`crate::service`]) take only this.
//! - [`Runtime`] ([`runtime`]): the HTTP runtime around requests:
//!   admission, rate limits, request counters, shutdown.
//!
//! [`App::open`] ([`open`]) builds both from the configuration, the only
//! place that chooses backends; [`status`] builds `/status`, `/ready` and
//! the gauges of `/metrics` from them, in one place.

pub mod backends;
mod open;
pub mod runtime;
pub mod status;

use std::sync::Arc;
use std::time::Instant;

pub use backends::{Backends, Topology};
pub use open::{StartError, open_meta};
pub use runtime::Runtime;

use crate::config::Config;
use crate::metrics::Metrics;

/// Everything a running ragd holds.
pub struct App {
    /// The configuration ragd started with (for `/status` and the server).
    pub config: Config,
    pub backends: Arc<Backends>,
    pub runtime: Runtime,
    /// API keys: verifies the caller of each request (`[auth]`).
    pub auth: crate::auth::Auth,
    /// The metrics registry both parts record into.
    pub metrics: Arc<Metrics>,
    started: Instant,
}

impl App {
    /// Seconds since start.
    pub fn uptime_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Flush and close every backend (called after the server drained).
    pub async fn close(&self) {
        self.backends.close().await;
    }
}
