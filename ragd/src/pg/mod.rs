//! PostgreSQL plumbing shared by everything ragd keeps in PostgreSQL: the
//! metadata store ([`crate::meta::postgres`]) and the vector log that
//! replicas follow ([`crate::vectors::follower::postgres`]).
//!
//! [`Pg`] owns the one connection pool both use and is the only way to a
//! connection:
//! - every acquisition is timed ([`Pg::acquire`]), so `/status` reports real
//!   waits, failures and waiters;
//! - through PgBouncer (transaction mode) each operation runs inside a
//!   transaction with unnamed statements ([`Pg::session`]);
//! - one-statement operations go through [`Pg::fetch_all`] and friends, which
//!   take a session, run the statement and finish the session;
//! - transactions that may hit a deadlock or serialization failure are run
//!   again by [`retry`].
//!
//! The schema (`migrations/postgres`, metadata tables and the vector log)
//! is migrated on open, safely when several replicas start at once
//! ([`migrate`]).

mod migrate;

use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ragd_api::{AcquireWait, PoolStatus};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres};

use crate::config::{PostgresConfig, redact_url};

/// How long [`Pg::health`] waits for `SELECT 1`.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts of a transaction that failed on a deadlock or serialization error.
const TX_ATTEMPTS: u32 = 4;
/// An idle connection unused for this long is pinged before it is handed out
/// (connections are pinged by sqlx when released; this catches those that
/// died while idle, e.g. across a PostgreSQL restart).
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// One statement with its bound arguments.
pub type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Why a PostgreSQL operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("invalid PostgreSQL URL {url}: {source}")]
    Url {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot connect to PostgreSQL at {url} within {ms} ms: {source}")]
    Connect {
        url: String,
        ms: u128,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot connect to PostgreSQL at {url}: no answer within {ms} ms")]
    ConnectTimeout { url: String, ms: u128 },
    #[error("migrating {url}: {source}")]
    Migrate {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No connection could be had from the pool in time.
    #[error("no PostgreSQL connection after {waited_ms} ms ({in_use} of {max} in use): {source}")]
    Acquire {
        waited_ms: u128,
        in_use: u32,
        max: u32,
        #[source]
        source: sqlx::Error,
    },
    #[error("PostgreSQL did not answer SELECT 1 within {0} ms")]
    HealthTimeout(u128),
    #[error("postgres: {0}")]
    Sql(#[from] sqlx::Error),
}

/// An error that [`retry`] may answer by running the transaction again.
pub trait Retryable: std::fmt::Debug {
    /// A deadlock or serialization failure: the transaction may succeed if
    /// run again.
    fn retryable(&self) -> bool;
}

impl Retryable for PgError {
    fn retryable(&self) -> bool {
        match self {
            PgError::Sql(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("40001") | Some("40P01"))
            }
            _ => false,
        }
    }
}

/// The start-up check of the connection budget: `replicas` replicas opening
/// up to `per_replica` connections each must fit in PostgreSQL's
/// `max_connections` minus the connections it reserves. Returns the warning
/// to log when they do not.
pub fn connection_budget_warning(
    replicas: u32,
    per_replica: u32,
    server_max: u32,
    reserved: u32,
) -> Option<String> {
    let wanted = replicas as u64 * per_replica as u64;
    let budget = (server_max as u64).saturating_sub(reserved as u64);
    (wanted > budget).then(|| {
        format!(
            "{replicas} replicas × {per_replica} connections = {wanted} > PostgreSQL \
             max_connections {server_max} − {reserved} reserved = {budget}; lower \
             metadata.max_connections or put PgBouncer in front"
        )
    })
}

/// The pool, and how connections are taken from it.
pub struct Pg {
    pool: PgPool,
    /// Prepared statements are named and kept per connection (direct), or
    /// unnamed and used once inside a transaction (PgBouncer).
    persistent: bool,
    max: u32,
    acquire_timeout: Duration,
    waits: Waits,
}

/// Pool acquisition measurements since start.
struct Waits {
    /// Microseconds waited per acquisition (failed ones included).
    hist: Mutex<Histogram<u64>>,
    failed: AtomicU64,
    /// Callers inside `pool.acquire()` right now.
    waiting: AtomicU32,
}

/// Decrements the waiter count even if the waiting future is dropped.
struct Waiting<'a>(&'a AtomicU32);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pg {
    /// Connect, run the migrations and check the connection budget. Fails
    /// within about `acquire_timeout_ms` when PostgreSQL cannot be reached.
    pub async fn open(cfg: &PostgresConfig) -> Result<Pg, PgError> {
        let shown = redact_url(&cfg.url);
        let max = cfg.max_connections.max(1);
        let acquire_timeout = Duration::from_millis(cfg.acquire_timeout_ms.max(1));
        let pool = connect(cfg, &shown, max, acquire_timeout).await?;
        let pg = Pg {
            pool,
            persistent: !cfg.pgbouncer,
            max,
            acquire_timeout,
            waits: Waits {
                hist: Mutex::new(
                    Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds"),
                ),
                failed: AtomicU64::new(0),
                waiting: AtomicU32::new(0),
            },
        };
        if let Err(source) = migrate::run(&pg, cfg.pgbouncer).await {
            // Closing also ends any session that still holds the migration
            // lock after a failure half-way.
            pg.pool.close().await;
            return Err(PgError::Migrate { url: shown, source });
        }
        migrate::check_budget(&pg, cfg).await;
        Ok(pg)
    }

    /// Whether statements are prepared by name and kept (not through
    /// PgBouncer).
    pub fn persistent(&self) -> bool {
        self.persistent
    }

    /// Get a connection from the pool, measuring the wait. Every database
    /// operation goes through here.
    pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, PgError> {
        self.waits.waiting.fetch_add(1, Ordering::Relaxed);
        let guard = Waiting(&self.waits.waiting);
        let start = Instant::now();
        let res = self.pool.acquire().await;
        let waited = start.elapsed();
        drop(guard);
        if let Ok(mut h) = self.waits.hist.lock() {
            h.saturating_record(waited.as_micros() as u64);
        }
        res.map_err(|source| {
            self.waits.failed.fetch_add(1, Ordering::Relaxed);
            let size = self.pool.size();
            let idle = self.pool.num_idle() as u32;
            PgError::Acquire {
                waited_ms: waited.as_millis(),
                in_use: size.saturating_sub(idle),
                max: self.max,
                source,
            }
        })
    }

    /// A connection for one operation. Through PgBouncer (transaction mode)
    /// the operation runs inside a transaction: sqlx sends a statement's
    /// parse and its execution in two round trips, which PgBouncer may
    /// otherwise hand to two different server connections, and the
    /// statements are unnamed ([`Pg::persistent`] false), so nothing
    /// outlives the transaction on the server connection.
    pub async fn session(&self) -> Result<Session, PgError> {
        let conn = self.acquire().await?;
        if self.persistent {
            Ok(Session::Direct(conn))
        } else {
            Ok(Session::Tx(sqlx::Transaction::begin(conn, None).await?))
        }
    }

    /// A READ COMMITTED transaction on a connection of its own.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, Postgres>, PgError> {
        let conn = self.acquire().await?;
        let begin = sqlx::SqlSafeStr::into_sql_str("BEGIN ISOLATION LEVEL READ COMMITTED");
        Ok(sqlx::Transaction::begin(conn, Some(begin)).await?)
    }

    /// Every row of one statement, run on a session of its own.
    pub async fn fetch_all(&self, q: PgQuery<'_>) -> Result<Vec<PgRow>, PgError> {
        let mut s = self.session().await?;
        let rows = q.persistent(self.persistent).fetch_all(&mut *s).await?;
        s.finish().await?;
        Ok(rows)
    }

    /// The row of one statement, if any, run on a session of its own.
    pub async fn fetch_optional(&self, q: PgQuery<'_>) -> Result<Option<PgRow>, PgError> {
        let mut s = self.session().await?;
        let row = q
            .persistent(self.persistent)
            .fetch_optional(&mut *s)
            .await?;
        s.finish().await?;
        Ok(row)
    }

    /// The one row of one statement, run on a session of its own.
    pub async fn fetch_one(&self, q: PgQuery<'_>) -> Result<PgRow, PgError> {
        let mut s = self.session().await?;
        let row = q.persistent(self.persistent).fetch_one(&mut *s).await?;
        s.finish().await?;
        Ok(row)
    }

    /// Run one statement on a session of its own; returns the rows affected.
    pub async fn execute(&self, q: PgQuery<'_>) -> Result<u64, PgError> {
        let mut s = self.session().await?;
        let done = q.persistent(self.persistent).execute(&mut *s).await?;
        s.finish().await?;
        Ok(done.rows_affected())
    }

    /// The pool's occupancy and measured waits, under the name `name`.
    pub fn pool_status(&self, name: &str) -> PoolStatus {
        let size = self.pool.size();
        let idle = self.pool.num_idle() as u32;
        PoolStatus {
            name: name.into(),
            kind: "postgres".into(),
            size,
            idle,
            in_use: size.saturating_sub(idle),
            max: self.max,
            waiting: self.waits.waiting.load(Ordering::Relaxed),
            acquire_wait: Some(self.acquire_wait()),
        }
    }

    fn acquire_wait(&self) -> AcquireWait {
        let failed = self.waits.failed.load(Ordering::Relaxed);
        let Ok(h) = self.waits.hist.lock() else {
            return AcquireWait {
                failed,
                ..AcquireWait::default()
            };
        };
        if h.is_empty() {
            return AcquireWait {
                failed,
                ..AcquireWait::default()
            };
        }
        let ms = |us: u64| us as f64 / 1000.0;
        AcquireWait {
            count: h.len(),
            failed,
            p50_ms: ms(h.value_at_quantile(0.5)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }

    /// `SELECT 1` within a bounded time.
    pub async fn health(&self) -> Result<(), PgError> {
        let timeout = HEALTH_TIMEOUT.min(self.acquire_timeout + Duration::from_millis(500));
        match tokio::time::timeout(timeout, self.execute(sqlx::query("SELECT 1"))).await {
            Ok(r) => r.map(|_| ()),
            Err(_) => Err(PgError::HealthTimeout(timeout.as_millis())),
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Open the pool described by `cfg` (PgBouncer-safe options when asked).
async fn connect(
    cfg: &PostgresConfig,
    shown: &str,
    max: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, PgError> {
    let mut opts = PgConnectOptions::from_str(&cfg.url)
        .map_err(|source| PgError::Url {
            url: shown.to_string(),
            source,
        })?
        .application_name("ragd");
    if cfg.pgbouncer {
        // PgBouncer in transaction mode hands each transaction to any
        // server connection: startup parameters it does not know are
        // refused (extra_float_digits is one, sent by sqlx by default),
        // and named prepared statements cannot be kept across
        // transactions. (With PgBouncer >= 1.21, `max_prepared_statements`
        // > 0 makes the extended protocol that sqlx uses fully safe.)
        opts = opts.extra_float_digits(None).statement_cache_capacity(0);
        tracing::info!(
            "metadata: connecting through PgBouncer; statement_timeout is not sent \
             (set it on the role: ALTER ROLE ... SET statement_timeout = '{}ms')",
            cfg.statement_timeout_ms
        );
    } else {
        // 0 disables the timeout, as in PostgreSQL.
        opts = opts.options([("statement_timeout", cfg.statement_timeout_ms)]);
    }
    let pool_opts = PgPoolOptions::new()
        .max_connections(max)
        .min_connections(cfg.min_connections.min(max))
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IDLE_AFTER {
                    conn.ping().await?;
                }
                Ok(true)
            })
        });
    // sqlx gives up connecting after acquire_timeout; the outer timeout
    // only guards against a connect that ignores it.
    let outer = acquire_timeout + Duration::from_secs(5);
    match tokio::time::timeout(outer, pool_opts.connect_with(opts)).await {
        Ok(Ok(pool)) => Ok(pool),
        Ok(Err(source)) => Err(PgError::Connect {
            url: shown.to_string(),
            ms: acquire_timeout.as_millis(),
            source,
        }),
        Err(_) => Err(PgError::ConnectTimeout {
            url: shown.to_string(),
            ms: outer.as_millis(),
        }),
    }
}

/// Run `attempt` until it succeeds, fails for good, or has failed on a
/// deadlock or serialization error [`TX_ATTEMPTS`] times.
pub async fn retry<T, E, F, Fut>(what: &str, mut attempt: F) -> Result<T, E>
where
    E: Retryable,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut n = 1;
    loop {
        match attempt().await {
            Err(e) if e.retryable() && n < TX_ATTEMPTS => {
                tracing::debug!("{what}: retrying after {e:?}");
                n += 1;
                tokio::time::sleep(Duration::from_millis(5 * n as u64)).await;
            }
            other => return other,
        }
    }
}

/// What one operation's statements run on (see [`Pg::session`]).
pub enum Session {
    Direct(PoolConnection<Postgres>),
    Tx(sqlx::Transaction<'static, Postgres>),
}

impl Session {
    /// End the operation: commits the PgBouncer transaction. Dropping a
    /// session without finishing it rolls that transaction back.
    pub async fn finish(self) -> Result<(), PgError> {
        match self {
            Session::Direct(_) => Ok(()),
            Session::Tx(tx) => Ok(tx.commit().await?),
        }
    }
}

impl std::ops::Deref for Session {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &Self::Target {
        match self {
            Session::Direct(c) => c,
            Session::Tx(t) => t,
        }
    }
}

impl std::ops::DerefMut for Session {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Session::Direct(c) => &mut *c,
            Session::Tx(t) => &mut *t,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
