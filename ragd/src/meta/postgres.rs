//! PostgreSQL metadata store, shared by every replica, through sqlx.
//!
//! The same model as the SQLite store (collections, documents, chunks), plus
//! the vector log ([`VectorLog`]) that replicas with embedded vector indexes
//! follow. Migrations (`migrations/postgres`) run on open.
//!
//! Every database operation gets its connection through one helper
//! ([`PgStore::acquire`]) that measures how long it waited for the pool, so
//! that `/status` reports real acquisition waits, failures and waiters.
//!
//! Identifiers are stored as `uuid` and metadata as `jsonb`, bound from Rust
//! as text and cast in SQL (sqlx's `uuid`/`json` features are not enabled).

use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hdrhistogram::Histogram;
use ragd_api::{AcquireWait, DocumentFormat, Metadata, PoolStatus};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{ChunkRow, CollectionRow, DocumentRow, MetaError, MetaStore, NewDocument};
use crate::config::{PostgresConfig, redact_url};
use crate::vectors::follower::{LogEntry, VectorLog};
use crate::vectors::{ChunkPoint, Sparse, VectorError};

/// Advisory lock taken by every [`VectorLog::append`] transaction before it
/// draws a sequence number ("ragd_log"), so seqs commit in order.
const LOG_LOCK: i64 = 0x7261_6764_5f6c_6f67;
/// Advisory lock serialising migrations through PgBouncer ("ragd_mig").
const MIGRATE_LOCK: i64 = 0x7261_6764_5f6d_6967;
/// How long [`MetaStore::health`] waits for `SELECT 1`.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts of a transaction that failed on a deadlock or serialization error.
const TX_ATTEMPTS: u32 = 4;
/// Log rows per INSERT: 12 bound parameters each, PostgreSQL allows 65535.
const LOG_BATCH: usize = 4000;
/// An idle connection unused for this long is pinged before it is handed out
/// (connections are pinged by sqlx when released; this catches those that
/// died while idle, e.g. across a PostgreSQL restart).
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// The schema, embedded at build time.
fn migrator() -> Migrator {
    sqlx::migrate!("./migrations/postgres")
}

/// PostgreSQL metadata store and vector log.
pub struct PgStore {
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

/// Why an operation failed, before it is reported as a `MetaError` or a
/// `VectorError`.
#[derive(Debug)]
enum Failure {
    /// No connection could be had from the pool, or another failure
    /// already explained.
    Other(String),
    Sql(sqlx::Error),
    Corrupt(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Other(m) | Failure::Corrupt(m) => f.write_str(m),
            Failure::Sql(e) => write!(f, "{e}"),
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Sql(e)
    }
}

impl Failure {
    /// A deadlock or serialization failure: the transaction may succeed if
    /// run again.
    fn retryable(&self) -> bool {
        match self {
            Failure::Sql(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("40001") | Some("40P01"))
            }
            _ => false,
        }
    }
}

impl From<Failure> for MetaError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Other(m) => MetaError::Backend(m),
            Failure::Sql(e) => MetaError::Backend(format!("postgres: {e}")),
            Failure::Corrupt(m) => MetaError::Corrupt(m),
        }
    }
}

impl From<Failure> for VectorError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Other(m) => VectorError::Backend(format!("postgres: {m}")),
            Failure::Sql(e) => VectorError::Backend(format!("postgres: {e}")),
            Failure::Corrupt(m) => VectorError::Backend(format!("postgres: {m}")),
        }
    }
}

fn verr(e: sqlx::Error) -> VectorError {
    VectorError::Backend(format!("postgres: {e}"))
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

impl PgStore {
    /// Connect, run the migrations and check the connection budget. Fails
    /// within about `acquire_timeout_ms` when PostgreSQL cannot be reached.
    pub async fn open(cfg: &PostgresConfig) -> Result<PgStore, MetaError> {
        let shown = redact_url(&cfg.url);
        let mut opts = PgConnectOptions::from_str(&cfg.url)
            .map_err(|e| MetaError::Backend(format!("invalid PostgreSQL URL {shown}: {e}")))?
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
        let max = cfg.max_connections.max(1);
        let acquire_timeout = Duration::from_millis(cfg.acquire_timeout_ms.max(1));
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
        let pool = match tokio::time::timeout(
            acquire_timeout + Duration::from_secs(5),
            pool_opts.connect_with(opts),
        )
        .await
        {
            Ok(Ok(pool)) => pool,
            Ok(Err(e)) => {
                return Err(MetaError::Backend(format!(
                    "cannot connect to PostgreSQL at {shown} within {} ms: {e}",
                    acquire_timeout.as_millis()
                )));
            }
            Err(_) => {
                return Err(MetaError::Backend(format!(
                    "cannot connect to PostgreSQL at {shown}: no answer within {} ms",
                    acquire_timeout.as_millis() + 5000
                )));
            }
        };
        let store = PgStore {
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
        if let Err(e) = store.migrate(cfg.pgbouncer).await {
            // Closing also ends any session that still holds the migration
            // lock after a failure half-way.
            store.pool.close().await;
            return Err(MetaError::Backend(format!("migrating {shown}: {e}")));
        }
        store.check_budget(cfg).await;
        Ok(store)
    }

    /// Run the migrations, safely when several replicas start at once.
    async fn migrate(&self, pgbouncer: bool) -> Result<(), String> {
        let mut conn = self.acquire().await.map_err(|e| e.to_string())?;
        let mut m = migrator();
        // `run_direct` is what `Migrator::run` calls once it has a
        // connection; called directly, the future stays `Send` (`run`'s
        // `Acquire` bound is "not general enough" inside spawned tasks).
        if !pgbouncer {
            // sqlx's migrator (sqlx-postgres 0.9, `Migrate::lock`) takes the
            // session advisory lock `pg_advisory_lock(<id from the database
            // name>)` before it creates `_sqlx_migrations` or reads what was
            // applied, and releases it at the end: replicas starting together
            // apply each migration exactly once, the others wait (a wait
            // longer than statement_timeout fails this replica's start).
            m.run_direct(None, &mut *conn, false)
                .await
                .map_err(|e| e.to_string())
        } else {
            // Through PgBouncer in transaction mode a session lock may be
            // taken on one server connection and "released" on another, so
            // the whole migration runs in one transaction holding a
            // transaction-scoped advisory lock instead (each migration's own
            // transaction becomes a savepoint).
            m.set_locking(false);
            let mut tx = conn.begin().await.map_err(|e| e.to_string())?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATE_LOCK)
                .persistent(self.persistent)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
            m.run_direct(None, &mut *tx, false)
                .await
                .map_err(|e| e.to_string())?;
            // The migrator names its prepared statements; PgBouncer may give
            // this server connection to another client (another replica's
            // migrator, with the same names) after the commit.
            sqlx::raw_sql("DEALLOCATE ALL")
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())
        }
    }

    /// Warn when the replicas' pools together may exceed what PostgreSQL
    /// accepts.
    async fn check_budget(&self, cfg: &PostgresConfig) {
        let settings = async {
            let mut conn = self.acquire().await?;
            let max: String = sqlx::query_scalar("SHOW max_connections")
                .persistent(self.persistent)
                .fetch_one(&mut *conn)
                .await?;
            let su: String = sqlx::query_scalar("SHOW superuser_reserved_connections")
                .persistent(self.persistent)
                .fetch_one(&mut *conn)
                .await?;
            // PostgreSQL 16 also reserves `reserved_connections`.
            let other: Option<String> =
                sqlx::query_scalar("SELECT current_setting('reserved_connections', true)")
                    .persistent(self.persistent)
                    .fetch_one(&mut *conn)
                    .await?;
            Ok::<_, Failure>((max, su, other))
        };
        let (max, su, other) = match settings.await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("metadata: cannot read PostgreSQL's max_connections: {e}");
                return;
            }
        };
        let num = |s: &str| s.trim().parse::<u32>().unwrap_or(0);
        let reserved = num(&su) + other.as_deref().map(num).unwrap_or(0);
        let per_replica = cfg.max_connections.max(1);
        match connection_budget_warning(cfg.replicas.max(1), per_replica, num(&max), reserved) {
            Some(w) if cfg.pgbouncer => tracing::info!(
                "metadata: {w} (through PgBouncer, its pool size bounds the server connections)"
            ),
            Some(w) => tracing::warn!("metadata: {w}"),
            None => tracing::debug!(
                "metadata: {} replicas × {per_replica} connections fit PostgreSQL's \
                 max_connections {max} − {reserved} reserved",
                cfg.replicas
            ),
        }
    }

    /// A connection for one operation. Through PgBouncer (transaction mode)
    /// the operation runs inside a transaction: sqlx sends a statement's
    /// parse and its execution in two round trips, which PgBouncer may
    /// otherwise hand to two different server connections, and the
    /// statements are unnamed ([`Self::persistent`] false), so nothing
    /// outlives the transaction on the server connection.
    async fn session(&self) -> Result<Session, Failure> {
        let conn = self.acquire().await?;
        if self.persistent {
            Ok(Session::Direct(conn))
        } else {
            Ok(Session::Tx(sqlx::Transaction::begin(conn, None).await?))
        }
    }

    /// Get a connection from the pool, measuring the wait. Every database
    /// operation goes through here.
    async fn acquire(&self) -> Result<PoolConnection<Postgres>, Failure> {
        self.waits.waiting.fetch_add(1, Ordering::Relaxed);
        let guard = Waiting(&self.waits.waiting);
        let start = Instant::now();
        let res = self.pool.acquire().await;
        let waited = start.elapsed();
        drop(guard);
        if let Ok(mut h) = self.waits.hist.lock() {
            h.saturating_record(waited.as_micros() as u64);
        }
        res.map_err(|e| {
            self.waits.failed.fetch_add(1, Ordering::Relaxed);
            let size = self.pool.size();
            let idle = self.pool.num_idle() as u32;
            Failure::Other(format!(
                "no PostgreSQL connection after {} ms ({} of {} in use): {e}",
                waited.as_millis(),
                size.saturating_sub(idle),
                self.max
            ))
        })
    }

    fn acquire_wait(&self) -> AcquireWait {
        let failed = self.waits.failed.load(Ordering::Relaxed);
        let Ok(h) = self.waits.hist.lock() else {
            return AcquireWait {
                failed,
                ..AcquireWait::default()
            };
        };
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return AcquireWait {
                failed,
                ..AcquireWait::default()
            };
        }
        AcquireWait {
            count: h.len(),
            failed,
            p50_ms: ms(h.value_at_quantile(0.5)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }

    /// One attempt of [`MetaStore::put_document`]; returns the replaced
    /// version.
    async fn put_document_once(
        &self,
        key: &str,
        doc: &NewDocument,
        metadata: &str,
    ) -> Result<Option<String>, Failure> {
        let mut conn = self.acquire().await?;
        let mut tx = conn
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await?;
        let version = doc.version.to_string();
        let chunks = doc.chunks.len() as i64;
        let bytes = doc.text.len() as i64;
        let format = format_str(doc.format);
        // Under READ COMMITTED each statement sees what is committed when it
        // starts. Either the row exists and FOR UPDATE locks it (waiting for
        // a concurrent writer, then seeing its version), or it does not and
        // the insert either wins or finds that a concurrent writer inserted
        // it first (ON CONFLICT waits for that writer to commit), in which
        // case the row is locked and updated on the next turn.
        let mut previous = None;
        let mut written = false;
        for _ in 0..10 {
            previous = sqlx::query_scalar::<_, String>(
                "SELECT version::text FROM documents
                 WHERE collection = $1::uuid AND id = $2 FOR UPDATE",
            )
            .bind(key)
            .bind(&doc.id)
            .persistent(self.persistent)
            .fetch_optional(&mut *tx)
            .await?;
            if previous.is_some() {
                sqlx::query(
                    "UPDATE documents SET version = $3::uuid, text = $4, metadata = $5::jsonb,
                        format = $6, chunks = $7, bytes = $8,
                        updated_at = date_trunc('second', now())
                     WHERE collection = $1::uuid AND id = $2",
                )
                .bind(key)
                .bind(&doc.id)
                .bind(&version)
                .bind(&doc.text)
                .bind(metadata)
                .bind(format)
                .bind(chunks)
                .bind(bytes)
                .persistent(self.persistent)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM chunks WHERE collection = $1::uuid AND doc_id = $2")
                    .bind(key)
                    .bind(&doc.id)
                    .persistent(self.persistent)
                    .execute(&mut *tx)
                    .await?;
                written = true;
                break;
            }
            let inserted = sqlx::query(
                "INSERT INTO documents
                    (collection, id, version, text, metadata, format, chunks, bytes, updated_at)
                 VALUES ($1::uuid, $2, $3::uuid, $4, $5::jsonb, $6, $7, $8,
                    date_trunc('second', now()))
                 ON CONFLICT (collection, id) DO NOTHING",
            )
            .bind(key)
            .bind(&doc.id)
            .bind(&version)
            .bind(&doc.text)
            .bind(metadata)
            .bind(format)
            .bind(chunks)
            .bind(bytes)
            .persistent(self.persistent)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                written = true;
                break;
            }
        }
        if !written {
            // Only if the row kept appearing and disappearing under us.
            return Err(Failure::Other(format!(
                "document {:?} is being written and deleted concurrently; try again",
                doc.id
            )));
        }
        if !doc.chunks.is_empty() {
            let ids: Vec<String> = doc.chunks.iter().map(|c| c.point_id.to_string()).collect();
            let idx: Vec<i32> = doc.chunks.iter().map(|c| c.index as i32).collect();
            let texts: Vec<&str> = doc.chunks.iter().map(|c| c.text.as_str()).collect();
            let headings: Vec<&str> = doc.chunks.iter().map(|c| c.heading.as_str()).collect();
            // One statement whatever the number of chunks (no bind limit).
            sqlx::query(
                "INSERT INTO chunks (point_id, collection, doc_id, idx, text, heading)
                 SELECT u.p::uuid, $1::uuid, $2, u.i, u.t, u.h
                 FROM UNNEST($3::text[], $4::int4[], $5::text[], $6::text[]) AS u(p, i, t, h)",
            )
            .bind(key)
            .bind(&doc.id)
            .bind(ids)
            .bind(idx)
            .bind(texts)
            .bind(headings)
            .persistent(self.persistent)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(previous)
    }

    /// One attempt of [`VectorLog::append`].
    async fn append_once(&self, entries: &[LogEntry]) -> Result<i64, Failure> {
        let mut conn = self.acquire().await?;
        let mut tx = conn
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await?;
        // Appends run one at a time: a seq is drawn only under this lock,
        // which is held until the transaction has committed, so seqs become
        // visible in increasing order on every replica.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOG_LOCK)
            .persistent(self.persistent)
            .execute(&mut *tx)
            .await?;
        let mut last = 0i64;
        let mut i = 0;
        while i < entries.len() {
            match &entries[i] {
                LogEntry::Upsert { .. } => {
                    let run = entries[i..]
                        .iter()
                        .take(LOG_BATCH)
                        .take_while(|e| matches!(e, LogEntry::Upsert { .. }))
                        .count();
                    let batch = &entries[i..i + run];
                    i += run;
                    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
                        "INSERT INTO vector_log (collection, op, point_id, doc_id, version,
                            chunk_index, dense, sparse_indices, sparse_values, metadata) ",
                    );
                    let mut bad = None;
                    qb.push_values(batch, |mut b, e| {
                        let LogEntry::Upsert { key, point } = e else {
                            return;
                        };
                        let metadata = serde_json::to_string(&point.metadata).unwrap_or_else(|e| {
                            bad = Some(e.to_string());
                            "{}".into()
                        });
                        b.push_bind(key.clone())
                            .push_bind("upsert")
                            .push_bind(point.id.to_string())
                            .push_unseparated("::uuid")
                            .push_bind(point.doc_id.clone())
                            .push_bind(point.version.to_string())
                            .push_unseparated("::uuid")
                            .push_bind(point.chunk_index as i32)
                            .push_bind(encode_dense(&point.vector))
                            .push_bind(
                                point
                                    .sparse
                                    .indices
                                    .iter()
                                    .map(|&x| x as i32)
                                    .collect::<Vec<i32>>(),
                            )
                            .push_bind(point.sparse.values.clone())
                            .push_bind(metadata)
                            .push_unseparated("::jsonb");
                    });
                    if let Some(e) = bad {
                        return Err(Failure::Corrupt(format!("point metadata: {e}")));
                    }
                    qb.push(" RETURNING seq");
                    let seqs: Vec<i64> = qb
                        .build_query_scalar()
                        .persistent(self.persistent)
                        .fetch_all(&mut *tx)
                        .await?;
                    last = last.max(seqs.into_iter().max().unwrap_or(0));
                }
                LogEntry::CreateCollection { key, dimensions } => {
                    i += 1;
                    last = sqlx::query_scalar(
                        "INSERT INTO vector_log (collection, op, dimensions)
                         VALUES ($1, 'create', $2) RETURNING seq",
                    )
                    .bind(key)
                    .bind(*dimensions as i32)
                    .persistent(self.persistent)
                    .fetch_one(&mut *tx)
                    .await?;
                }
                LogEntry::DropCollection { key } => {
                    i += 1;
                    last = sqlx::query_scalar(
                        "INSERT INTO vector_log (collection, op) VALUES ($1, 'drop') RETURNING seq",
                    )
                    .bind(key)
                    .persistent(self.persistent)
                    .fetch_one(&mut *tx)
                    .await?;
                    // Nothing before a drop matters any more.
                    sqlx::query("DELETE FROM vector_log WHERE collection = $1 AND seq < $2")
                        .bind(key)
                        .bind(last)
                        .persistent(self.persistent)
                        .execute(&mut *tx)
                        .await?;
                }
                LogEntry::DeleteVersion {
                    key,
                    doc_id,
                    version,
                } => {
                    i += 1;
                    last = sqlx::query_scalar(
                        "INSERT INTO vector_log (collection, op, doc_id, version)
                         VALUES ($1, 'delete_version', $2, $3::uuid) RETURNING seq",
                    )
                    .bind(key)
                    .bind(doc_id)
                    .bind(version.to_string())
                    .persistent(self.persistent)
                    .fetch_one(&mut *tx)
                    .await?;
                    // The version's earlier upserts go: replaying them would
                    // only add points this entry removes.
                    sqlx::query(
                        "DELETE FROM vector_log
                         WHERE collection = $1 AND doc_id = $2 AND seq < $3
                           AND op = 'upsert' AND version = $4::uuid",
                    )
                    .bind(key)
                    .bind(doc_id)
                    .bind(last)
                    .bind(version.to_string())
                    .persistent(self.persistent)
                    .execute(&mut *tx)
                    .await?;
                }
                LogEntry::DeleteDocument { key, doc_id, keep } => {
                    i += 1;
                    let keep = keep.map(|k| k.to_string());
                    last = sqlx::query_scalar(
                        "INSERT INTO vector_log (collection, op, doc_id, version)
                         VALUES ($1, 'delete', $2, $3::uuid) RETURNING seq",
                    )
                    .bind(key)
                    .bind(doc_id)
                    .bind(&keep)
                    .persistent(self.persistent)
                    .fetch_one(&mut *tx)
                    .await?;
                    // Earlier upserts of other versions go: this entry deletes
                    // their points anyway (from followers that applied them).
                    // Earlier deletes that kept the same version (or any, when
                    // none is kept now) go too: this entry deletes all they
                    // did. Earlier deletes that kept another version stay: a
                    // follower that applied points of `keep` before them
                    // needs them to remove those points, as history did.
                    sqlx::query(
                        "DELETE FROM vector_log
                         WHERE collection = $1 AND doc_id = $2 AND seq < $3
                           AND ((op = 'upsert' AND version IS DISTINCT FROM $4::uuid)
                             OR (op = 'delete' AND ($4::uuid IS NULL OR version = $4::uuid)))",
                    )
                    .bind(key)
                    .bind(doc_id)
                    .bind(last)
                    .bind(&keep)
                    .persistent(self.persistent)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(last)
    }
}

/// What one operation's statements run on (see [`PgStore::session`]).
enum Session {
    Direct(PoolConnection<Postgres>),
    Tx(sqlx::Transaction<'static, Postgres>),
}

impl Session {
    /// End the operation: commits the PgBouncer transaction. Dropping a
    /// session without finishing it rolls that transaction back.
    async fn finish(self) -> Result<(), Failure> {
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

fn parse_uuid(s: &str) -> Result<Uuid, MetaError> {
    Uuid::parse_str(s).map_err(|e| MetaError::Corrupt(format!("bad uuid {s:?}: {e}")))
}

fn parse_meta(s: &str) -> Result<Metadata, MetaError> {
    serde_json::from_str(s).map_err(|e| MetaError::Corrupt(format!("bad metadata JSON: {e}")))
}

fn format_str(f: DocumentFormat) -> &'static str {
    match f {
        DocumentFormat::Text => "text",
        DocumentFormat::Markdown => "markdown",
    }
}

fn parse_format(s: &str) -> DocumentFormat {
    match s {
        "markdown" => DocumentFormat::Markdown,
        _ => DocumentFormat::Text,
    }
}

fn encode_dense(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn decode_dense(b: &[u8]) -> Option<Vec<f32>> {
    b.len().is_multiple_of(4).then(|| {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

/// RFC 3339 UTC, second precision, like [`super::now_rfc3339`].
macro_rules! rfc3339 {
    ($col:literal) => {
        concat!(
            "to_char(",
            $col,
            " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS ",
            $col
        )
    };
}

fn collection_row(r: &PgRow) -> Result<CollectionRow, MetaError> {
    Ok(CollectionRow {
        key: parse_uuid(r.try_get::<&str, _>("key")?)?,
        name: r.try_get("name")?,
        embedder: r.try_get("embedder")?,
        model: r.try_get("model")?,
        dimensions: r.try_get::<i32, _>("dimensions")? as u32,
        created_at: r.try_get("created_at")?,
    })
}

fn document_row(r: &PgRow) -> Result<DocumentRow, MetaError> {
    Ok(DocumentRow {
        id: r.try_get("id")?,
        version: parse_uuid(r.try_get::<&str, _>("version")?)?,
        text: r.try_get("text")?,
        metadata: parse_meta(r.try_get::<&str, _>("metadata")?)?,
        format: parse_format(r.try_get::<&str, _>("format")?),
        chunks: r.try_get::<i64, _>("chunks")? as u32,
        bytes: r.try_get::<i64, _>("bytes")? as u64,
        updated_at: r.try_get("updated_at")?,
    })
}

fn log_entry(r: &PgRow) -> Result<(u64, LogEntry), VectorError> {
    let seq: i64 = r.try_get("seq").map_err(verr)?;
    let bad = |what: &str| VectorError::Backend(format!("postgres: vector_log seq {seq}: {what}"));
    let get_err = |e: sqlx::Error| bad(&e.to_string());
    let key: String = r.try_get("collection").map_err(get_err)?;
    let op: String = r.try_get("op").map_err(get_err)?;
    let uuid = |col: &str| -> Result<Option<Uuid>, VectorError> {
        r.try_get::<Option<String>, _>(col)
            .map_err(get_err)?
            .map(|s| Uuid::parse_str(&s).map_err(|e| bad(&format!("bad {col}: {e}"))))
            .transpose()
    };
    let need = |what: &str| bad(&format!("{op} without {what}"));
    let entry = match op.as_str() {
        "create" => LogEntry::CreateCollection {
            key,
            dimensions: r
                .try_get::<Option<i32>, _>("dimensions")
                .map_err(get_err)?
                .ok_or_else(|| need("dimensions"))? as u32,
        },
        "drop" => LogEntry::DropCollection { key },
        "delete_version" => LogEntry::DeleteVersion {
            key,
            doc_id: r
                .try_get::<Option<String>, _>("doc_id")
                .map_err(get_err)?
                .ok_or_else(|| need("doc_id"))?,
            version: uuid("version")?.ok_or_else(|| need("version"))?,
        },
        "delete" => LogEntry::DeleteDocument {
            key,
            doc_id: r
                .try_get::<Option<String>, _>("doc_id")
                .map_err(get_err)?
                .ok_or_else(|| need("doc_id"))?,
            keep: uuid("version")?,
        },
        "upsert" => {
            let dense: Vec<u8> = r
                .try_get::<Option<Vec<u8>>, _>("dense")
                .map_err(get_err)?
                .unwrap_or_default();
            let vector =
                decode_dense(&dense).ok_or_else(|| bad("dense is not a whole number of f32"))?;
            let indices: Vec<i32> = r
                .try_get::<Option<Vec<i32>>, _>("sparse_indices")
                .map_err(get_err)?
                .unwrap_or_default();
            let values: Vec<f32> = r
                .try_get::<Option<Vec<f32>>, _>("sparse_values")
                .map_err(get_err)?
                .unwrap_or_default();
            if indices.len() != values.len() {
                return Err(bad("sparse indices and values differ in length"));
            }
            let metadata = match r
                .try_get::<Option<String>, _>("metadata")
                .map_err(get_err)?
            {
                Some(m) => {
                    serde_json::from_str(&m).map_err(|e| bad(&format!("bad metadata JSON: {e}")))?
                }
                None => Metadata::new(),
            };
            LogEntry::Upsert {
                key,
                point: ChunkPoint {
                    id: uuid("point_id")?.ok_or_else(|| need("point_id"))?,
                    doc_id: r
                        .try_get::<Option<String>, _>("doc_id")
                        .map_err(get_err)?
                        .ok_or_else(|| need("doc_id"))?,
                    version: uuid("version")?.ok_or_else(|| need("version"))?,
                    chunk_index: r
                        .try_get::<Option<i32>, _>("chunk_index")
                        .map_err(get_err)?
                        .ok_or_else(|| need("chunk_index"))?
                        as u32,
                    vector,
                    sparse: Sparse {
                        indices: indices.into_iter().map(|x| x as u32).collect(),
                        values,
                    },
                    metadata,
                },
            }
        }
        other => return Err(bad(&format!("unknown op {other:?}"))),
    };
    Ok((seq as u64, entry))
}

#[async_trait]
impl MetaStore for PgStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn shared(&self) -> bool {
        true
    }

    async fn create_collection(&self, c: &CollectionRow) -> Result<(), MetaError> {
        let mut conn = self.session().await?;
        let res = sqlx::query(
            "INSERT INTO collections (key, name, embedder, model, dimensions, created_at)
             VALUES ($1::uuid, $2, $3, $4, $5, $6::timestamptz)",
        )
        .bind(c.key.to_string())
        .bind(&c.name)
        .bind(&c.embedder)
        .bind(&c.model)
        .bind(c.dimensions as i32)
        .bind(&c.created_at)
        .persistent(self.persistent)
        .execute(&mut *conn)
        .await;
        match res {
            Ok(_) => Ok(conn.finish().await?),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(MetaError::CollectionExists(c.name.clone()))
            }
            Err(e) => Err(Failure::Sql(e).into()),
        }
    }

    async fn list_collections(&self) -> Result<Vec<CollectionRow>, MetaError> {
        let mut conn = self.session().await?;
        let sql = concat!(
            "SELECT key::text AS key, name, embedder, model, dimensions, ",
            rfc3339!("created_at"),
            " FROM collections ORDER BY name"
        );
        let rows = sqlx::query(sql)
            .persistent(self.persistent)
            .fetch_all(&mut *conn)
            .await
            .map_err(Failure::Sql)?;
        conn.finish().await?;
        rows.iter().map(collection_row).collect()
    }

    async fn get_collection(&self, name: &str) -> Result<Option<CollectionRow>, MetaError> {
        let mut conn = self.session().await?;
        let sql = concat!(
            "SELECT key::text AS key, name, embedder, model, dimensions, ",
            rfc3339!("created_at"),
            " FROM collections WHERE name = $1"
        );
        let row = sqlx::query(sql)
            .bind(name)
            .persistent(self.persistent)
            .fetch_optional(&mut *conn)
            .await
            .map_err(Failure::Sql)?;
        conn.finish().await?;
        row.as_ref().map(collection_row).transpose()
    }

    async fn delete_collection(&self, key: Uuid) -> Result<bool, MetaError> {
        let mut conn = self.session().await?;
        // Cascades to the documents and their chunks.
        let res = sqlx::query("DELETE FROM collections WHERE key = $1::uuid")
            .bind(key.to_string())
            .persistent(self.persistent)
            .execute(&mut *conn)
            .await
            .map_err(Failure::Sql)?;
        conn.finish().await?;
        Ok(res.rows_affected() > 0)
    }

    async fn collection_counts(&self, key: Uuid) -> Result<(u64, u64), MetaError> {
        let mut conn = self.session().await?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS docs, COALESCE(SUM(chunks), 0)::bigint AS chunks
             FROM documents WHERE collection = $1::uuid",
        )
        .bind(key.to_string())
        .persistent(self.persistent)
        .fetch_one(&mut *conn)
        .await
        .map_err(Failure::Sql)?;
        conn.finish().await?;
        Ok((
            row.try_get::<i64, _>("docs")? as u64,
            row.try_get::<i64, _>("chunks")? as u64,
        ))
    }

    async fn put_document(&self, key: Uuid, doc: &NewDocument) -> Result<Option<Uuid>, MetaError> {
        let key = key.to_string();
        let metadata = serde_json::to_string(&doc.metadata)
            .map_err(|e| MetaError::Backend(format!("metadata: {e}")))?;
        let mut attempt = 1;
        let previous = loop {
            match self.put_document_once(&key, doc, &metadata).await {
                Err(f) if f.retryable() && attempt < TX_ATTEMPTS => {
                    tracing::debug!("put_document {:?}: retrying after {f:?}", doc.id);
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(5 * attempt as u64)).await;
                }
                other => break other?,
            }
        };
        previous.as_deref().map(parse_uuid).transpose()
    }

    async fn get_document(&self, key: Uuid, id: &str) -> Result<Option<DocumentRow>, MetaError> {
        let mut conn = self.session().await?;
        let sql = concat!(
            "SELECT id, version::text AS version, text, metadata::text AS metadata, format,
                chunks, bytes, ",
            rfc3339!("updated_at"),
            " FROM documents WHERE collection = $1::uuid AND id = $2"
        );
        let row = sqlx::query(sql)
            .bind(key.to_string())
            .bind(id)
            .persistent(self.persistent)
            .fetch_optional(&mut *conn)
            .await
            .map_err(Failure::Sql)?;
        conn.finish().await?;
        row.as_ref().map(document_row).transpose()
    }

    async fn document_version(&self, key: Uuid, id: &str) -> Result<Option<Uuid>, MetaError> {
        let mut conn = self.session().await?;
        let v: Option<String> = sqlx::query_scalar(
            "SELECT version::text FROM documents WHERE collection = $1::uuid AND id = $2",
        )
        .bind(key.to_string())
        .bind(id)
        .persistent(self.persistent)
        .fetch_optional(&mut *conn)
        .await
        .map_err(Failure::Sql)?;
        conn.finish().await?;
        v.as_deref().map(parse_uuid).transpose()
    }

    async fn list_documents(&self, key: Uuid) -> Result<Vec<DocumentRow>, MetaError> {
        let mut conn = self.session().await?;
        let sql = concat!(
            "SELECT id, version::text AS version, '' AS text, metadata::text AS metadata,
                format, chunks, bytes, ",
            rfc3339!("updated_at"),
            " FROM documents WHERE collection = $1::uuid ORDER BY id"
        );
        let rows = sqlx::query(sql)
            .bind(key.to_string())
            .persistent(self.persistent)
            .fetch_all(&mut *conn)
            .await
            .map_err(Failure::Sql)?;
        conn.finish().await?;
        rows.iter().map(document_row).collect()
    }

    async fn delete_document(&self, key: Uuid, id: &str) -> Result<Option<Uuid>, MetaError> {
        let mut conn = self.session().await?;
        // Cascades to the chunks.
        let v: Option<String> = sqlx::query_scalar(
            "DELETE FROM documents WHERE collection = $1::uuid AND id = $2
             RETURNING version::text",
        )
        .bind(key.to_string())
        .bind(id)
        .persistent(self.persistent)
        .fetch_optional(&mut *conn)
        .await
        .map_err(Failure::Sql)?;
        conn.finish().await?;
        v.as_deref().map(parse_uuid).transpose()
    }

    async fn chunks_by_points(&self, key: Uuid, ids: &[Uuid]) -> Result<Vec<ChunkRow>, MetaError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let mut conn = self.session().await?;
        let rows = sqlx::query(
            "SELECT c.point_id::text AS point_id, c.doc_id, c.idx, c.text, c.heading,
                d.metadata::text AS metadata
             FROM chunks c JOIN documents d ON d.collection = c.collection AND d.id = c.doc_id
             WHERE c.collection = $1::uuid AND c.point_id = ANY($2::uuid[])",
        )
        .bind(key.to_string())
        .bind(ids)
        .persistent(self.persistent)
        .fetch_all(&mut *conn)
        .await
        .map_err(Failure::Sql)?;
        conn.finish().await?;
        rows.iter()
            .map(|r| {
                Ok(ChunkRow {
                    point_id: parse_uuid(r.try_get::<&str, _>("point_id")?)?,
                    doc_id: r.try_get("doc_id")?,
                    index: r.try_get::<i32, _>("idx")? as u32,
                    text: r.try_get("text")?,
                    heading: r.try_get("heading")?,
                    metadata: parse_meta(r.try_get::<&str, _>("metadata")?)?,
                })
            })
            .collect()
    }

    fn pool_status(&self) -> PoolStatus {
        let size = self.pool.size();
        let idle = self.pool.num_idle() as u32;
        PoolStatus {
            name: "metadata".into(),
            kind: "postgres".into(),
            size,
            idle,
            in_use: size.saturating_sub(idle),
            max: self.max,
            waiting: self.waits.waiting.load(Ordering::Relaxed),
            acquire_wait: Some(self.acquire_wait()),
        }
    }

    async fn health(&self) -> Result<(), MetaError> {
        let probe = async {
            let mut conn = self.session().await?;
            sqlx::query("SELECT 1")
                .persistent(self.persistent)
                .execute(&mut *conn)
                .await?;
            conn.finish().await?;
            Ok::<_, Failure>(())
        };
        let timeout = HEALTH_TIMEOUT.min(self.acquire_timeout + Duration::from_millis(500));
        match tokio::time::timeout(timeout, probe).await {
            Ok(r) => r.map_err(MetaError::from),
            Err(_) => Err(MetaError::Backend(format!(
                "PostgreSQL did not answer SELECT 1 within {} ms",
                timeout.as_millis()
            ))),
        }
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl VectorLog for PgStore {
    async fn append(&self, entries: Vec<LogEntry>) -> Result<u64, VectorError> {
        if entries.is_empty() {
            return self.head().await;
        }
        let mut attempt = 1;
        loop {
            match self.append_once(&entries).await {
                Ok(seq) => return Ok(seq as u64),
                Err(f) if f.retryable() && attempt < TX_ATTEMPTS => {
                    tracing::debug!("vector log append: retrying after {f:?}");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(5 * attempt as u64)).await;
                }
                Err(f) => return Err(f.into()),
            }
        }
    }

    async fn head(&self) -> Result<u64, VectorError> {
        let mut conn = self.session().await?;
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM vector_log")
            .persistent(self.persistent)
            .fetch_one(&mut *conn)
            .await
            .map_err(verr)?;
        conn.finish().await?;
        Ok(head as u64)
    }

    async fn read(&self, after: u64, limit: usize) -> Result<Vec<(u64, LogEntry)>, VectorError> {
        let mut conn = self.session().await?;
        let rows = sqlx::query(
            "SELECT seq, collection, op, point_id::text AS point_id, doc_id,
                version::text AS version, dimensions, chunk_index, dense, sparse_indices,
                sparse_values, metadata::text AS metadata
             FROM vector_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after.min(i64::MAX as u64) as i64)
        .bind(limit.min(i64::MAX as usize) as i64)
        .persistent(self.persistent)
        .fetch_all(&mut *conn)
        .await
        .map_err(verr)?;
        conn.finish().await?;
        rows.iter().map(log_entry).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::Arc;

    use sqlx::{AssertSqlSafe, Executor, PgConnection};

    use super::*;
    use crate::meta::{NewChunk, now_rfc3339};

    #[test]
    fn budget_warning_states_the_formula() {
        let w = connection_budget_warning(3, 80, 200, 3).expect("240 > 197");
        assert_eq!(
            w,
            "3 replicas × 80 connections = 240 > PostgreSQL max_connections 200 − 3 reserved \
             = 197; lower metadata.max_connections or put PgBouncer in front"
        );
        assert_eq!(connection_budget_warning(3, 60, 200, 3), None, "180 <= 197");
        assert_eq!(
            connection_budget_warning(1, 197, 200, 3),
            None,
            "exactly the budget"
        );
        assert!(connection_budget_warning(1, 198, 200, 3).is_some());
        assert!(
            connection_budget_warning(1, 1, 2, 3).is_some(),
            "reserved > max"
        );
    }

    #[test]
    fn dense_vectors_roundtrip_as_little_endian() {
        let v = vec![0.5f32, -1.25, f32::MIN_POSITIVE, 3.0e38];
        let b = encode_dense(&v);
        assert_eq!(&b[..4], &0.5f32.to_le_bytes());
        assert_eq!(decode_dense(&b), Some(v));
        assert_eq!(decode_dense(&[1, 2, 3]), None);
    }

    /// `base` with its database replaced by `name`.
    fn db_url(base: &str, name: &str) -> String {
        let (main, query) = match base.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (base, None),
        };
        let start = main.find("://").map(|i| i + 3).unwrap_or(0);
        let prefix = match main[start..].find('/') {
            Some(slash) => &main[..start + slash],
            None => main,
        };
        match query {
            Some(q) => format!("{prefix}/{name}?{q}"),
            None => format!("{prefix}/{name}"),
        }
    }

    /// Runs `body` with the URL of a fresh database, dropped afterwards
    /// (also when `body` panics). Skips without RAGKIT_PG_URL.
    async fn with_db<F, Fut>(body: F)
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Ok(base) = std::env::var("RAGKIT_PG_URL") else {
            eprintln!("skipped: RAGKIT_PG_URL not set");
            return;
        };
        let name = format!("t_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&base).await.expect("connect");
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create database");
        let result = tokio::spawn(body(db_url(&base, &name))).await;
        admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .await
            .expect("drop database");
        if let Err(e) = result {
            match e.try_into_panic() {
                Ok(p) => std::panic::resume_unwind(p),
                Err(e) => panic!("test task: {e}"),
            }
        }
    }

    fn config(url: &str) -> PostgresConfig {
        let mut cfg: PostgresConfig =
            serde_json::from_value(serde_json::json!({ "url": url })).unwrap();
        cfg.max_connections = 4;
        cfg.acquire_timeout_ms = 5000;
        cfg
    }

    fn collection(name: &str) -> CollectionRow {
        CollectionRow {
            key: Uuid::new_v4(),
            name: name.into(),
            embedder: "minilm".into(),
            model: "all-MiniLM-L6-v2".into(),
            dimensions: 384,
            created_at: now_rfc3339(),
        }
    }

    fn document(id: &str, chunks: usize) -> NewDocument {
        let mut metadata = Metadata::new();
        metadata.insert("lang".into(), "en".into());
        metadata.insert("year".into(), 2024.into());
        NewDocument {
            id: id.into(),
            version: Uuid::new_v4(),
            text: format!("text of {id} with {chunks} chunks"),
            metadata,
            format: DocumentFormat::Markdown,
            chunks: (0..chunks)
                .map(|i| NewChunk {
                    point_id: Uuid::new_v4(),
                    index: i as u32,
                    text: format!("chunk {i} of {id}"),
                    heading: if i == 0 {
                        "Intro".into()
                    } else {
                        String::new()
                    },
                })
                .collect(),
        }
    }

    fn point(doc_id: &str, version: Uuid, i: u32) -> ChunkPoint {
        let mut metadata = Metadata::new();
        metadata.insert("tag".into(), serde_json::json!(["a", "b"]));
        ChunkPoint {
            id: Uuid::new_v4(),
            doc_id: doc_id.into(),
            version,
            chunk_index: i,
            vector: vec![0.25, -0.5, i as f32],
            sparse: Sparse {
                indices: vec![1, u32::MAX, 7 + i],
                values: vec![0.1, 0.2, 0.3],
            },
            metadata,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrations_are_idempotent_and_safe_to_run_concurrently() {
        with_db(|url| async move {
            let cfg = config(&url);
            // Two replicas starting at once, then a restart.
            let (a, b) = tokio::join!(PgStore::open(&cfg), PgStore::open(&cfg));
            let (a, b) = (a.unwrap(), b.unwrap());
            a.close().await;
            b.close().await;
            let c = PgStore::open(&cfg).await.unwrap();
            assert_eq!(c.kind(), "postgres");
            c.health().await.unwrap();
            c.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unreachable_database_fails_fast_with_a_redacted_url() {
        if std::env::var("RAGKIT_PG_URL").is_err() {
            eprintln!("skipped: RAGKIT_PG_URL not set");
            return;
        }
        // Nothing listens on port 1.
        let mut cfg = config("postgres://ragd:s3cret@127.0.0.1:1/nothing");
        cfg.acquire_timeout_ms = 500;
        let t = Instant::now();
        let err = PgStore::open(&cfg).await.err().expect("no server");
        let msg = err.to_string();
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(msg.contains("postgres://ragd@127.0.0.1:1/nothing"), "{msg}");
        assert!(!msg.contains("s3cret"), "{msg}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn documents_put_get_replace_delete() {
        with_db(|url| async move {
            let s = PgStore::open(&config(&url)).await.unwrap();
            let c = collection("kb");
            s.create_collection(&c).await.unwrap();
            let got = s.get_collection("kb").await.unwrap().unwrap();
            assert_eq!(got, c, "created_at round-trips as RFC 3339");
            assert_eq!(s.list_collections().await.unwrap(), vec![c.clone()]);
            assert!(s.get_collection("nope").await.unwrap().is_none());

            let d1 = document("doc", 3);
            assert_eq!(s.put_document(c.key, &d1).await.unwrap(), None);
            let row = s.get_document(c.key, "doc").await.unwrap().unwrap();
            assert_eq!(row.version, d1.version);
            assert_eq!(row.text, d1.text);
            assert_eq!(row.metadata, d1.metadata);
            assert_eq!(row.format, DocumentFormat::Markdown);
            assert_eq!(row.chunks, 3);
            assert_eq!(row.bytes, d1.text.len() as u64);
            assert!(row.updated_at.ends_with('Z'), "{}", row.updated_at);
            assert_eq!(s.collection_counts(c.key).await.unwrap(), (1, 3));

            // Replace: the previous version comes back, old chunks are gone.
            let d2 = document("doc", 2);
            assert_eq!(s.put_document(c.key, &d2).await.unwrap(), Some(d1.version));
            assert_eq!(
                s.document_version(c.key, "doc").await.unwrap(),
                Some(d2.version)
            );
            assert_eq!(s.collection_counts(c.key).await.unwrap(), (1, 2));
            let old: Vec<Uuid> = d1.chunks.iter().map(|c| c.point_id).collect();
            assert!(s.chunks_by_points(c.key, &old).await.unwrap().is_empty());

            s.put_document(c.key, &document("another", 1))
                .await
                .unwrap();
            let list = s.list_documents(c.key).await.unwrap();
            let ids: Vec<&str> = list.iter().map(|d| d.id.as_str()).collect();
            assert_eq!(ids, vec!["another", "doc"]);
            assert!(list.iter().all(|d| d.text.is_empty()));
            assert_eq!(list[1].version, d2.version);

            assert!(s.delete_document(c.key, "doc").await.unwrap().is_some());
            assert!(s.delete_document(c.key, "doc").await.unwrap().is_none());
            assert!(s.get_document(c.key, "doc").await.unwrap().is_none());
            assert_eq!(s.document_version(c.key, "doc").await.unwrap(), None);
            assert_eq!(s.collection_counts(c.key).await.unwrap(), (1, 1));

            assert!(s.delete_collection(c.key).await.unwrap());
            assert!(!s.delete_collection(c.key).await.unwrap());
            assert_eq!(s.collection_counts(c.key).await.unwrap(), (0, 0));
            s.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chunks_by_points_joins_document_metadata() {
        with_db(|url| async move {
            let s = PgStore::open(&config(&url)).await.unwrap();
            let c = collection("kb");
            let other = collection("other");
            s.create_collection(&c).await.unwrap();
            s.create_collection(&other).await.unwrap();
            let d = document("doc", 3);
            s.put_document(c.key, &d).await.unwrap();
            let elsewhere = document("doc", 1);
            s.put_document(other.key, &elsewhere).await.unwrap();

            let mut ids = vec![d.chunks[0].point_id, d.chunks[2].point_id, Uuid::new_v4()];
            // A point of another collection is not returned.
            ids.push(elsewhere.chunks[0].point_id);
            let mut rows = s.chunks_by_points(c.key, &ids).await.unwrap();
            rows.sort_by_key(|r| r.index);
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].point_id, d.chunks[0].point_id);
            assert_eq!(rows[0].doc_id, "doc");
            assert_eq!(rows[0].text, "chunk 0 of doc");
            assert_eq!(rows[0].heading, "Intro");
            assert_eq!(rows[0].metadata, d.metadata);
            assert_eq!(rows[1].index, 2);
            assert_eq!(rows[1].heading, "");
            assert!(s.chunks_by_points(c.key, &[]).await.unwrap().is_empty());
            s.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn collection_names_are_unique() {
        with_db(|url| async move {
            let s = PgStore::open(&config(&url)).await.unwrap();
            s.create_collection(&collection("kb")).await.unwrap();
            match s.create_collection(&collection("kb")).await {
                Err(MetaError::CollectionExists(name)) => assert_eq!(name, "kb"),
                other => panic!("expected CollectionExists, got {other:?}"),
            }
            s.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_puts_of_one_document_from_two_replicas() {
        with_db(|url| async move {
            let cfg = config(&url);
            let a = Arc::new(PgStore::open(&cfg).await.unwrap());
            let b = Arc::new(PgStore::open(&cfg).await.unwrap());
            let c = collection("kb");
            a.create_collection(&c).await.unwrap();
            let key = c.key;
            for round in 0..20 {
                let id = format!("doc{}", round % 4);
                let before = a.document_version(c.key, &id).await.unwrap();
                let (da, db) = (document(&id, 3 + round), document(&id, 7));
                let (ra, rb) = tokio::join!(
                    {
                        let (a, da) = (a.clone(), da.clone());
                        tokio::spawn(async move { a.put_document(key, &da).await })
                    },
                    {
                        let (b, db) = (b.clone(), db.clone());
                        tokio::spawn(async move { b.put_document(key, &db).await })
                    }
                );
                let (pa, pb) = (ra.unwrap().unwrap(), rb.unwrap().unwrap());
                // One went first and replaced `before`; the other replaced it.
                let fin = a.get_document(c.key, &id).await.unwrap().unwrap();
                let winner = if fin.version == da.version {
                    assert_eq!((pb, pa), (before, Some(db.version)), "round {round}");
                    &da
                } else {
                    assert_eq!(fin.version, db.version, "round {round}");
                    assert_eq!((pa, pb), (before, Some(da.version)), "round {round}");
                    &db
                };
                assert_eq!(fin.chunks as usize, winner.chunks.len());
                let ids: Vec<Uuid> = da
                    .chunks
                    .iter()
                    .chain(&db.chunks)
                    .map(|c| c.point_id)
                    .collect();
                let found = a.chunks_by_points(c.key, &ids).await.unwrap();
                assert_eq!(found.len(), winner.chunks.len(), "round {round}");
                assert!(
                    found
                        .iter()
                        .all(|r| winner.chunks.iter().any(|w| w.point_id == r.point_id))
                );
            }
            let docs = a.list_documents(c.key).await.unwrap();
            let total: u64 = docs.iter().map(|d| d.chunks as u64).sum();
            assert_eq!(a.collection_counts(c.key).await.unwrap(), (4, total));
            a.close().await;
            b.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn vector_log_roundtrip() {
        with_db(|url| async move {
            let s = PgStore::open(&config(&url)).await.unwrap();
            assert_eq!(s.head().await.unwrap(), 0);
            assert!(s.read(0, 10).await.unwrap().is_empty());
            let v = Uuid::new_v4();
            let p0 = point("doc", v, 0);
            let p1 = point("doc", v, 1);
            let keep = Uuid::new_v4();
            let last = s
                .append(vec![
                    LogEntry::CreateCollection {
                        key: "k1".into(),
                        dimensions: 3,
                    },
                    LogEntry::Upsert {
                        key: "k1".into(),
                        point: p0.clone(),
                    },
                    LogEntry::Upsert {
                        key: "k1".into(),
                        point: p1.clone(),
                    },
                    LogEntry::DeleteDocument {
                        key: "k1".into(),
                        doc_id: "other".into(),
                        keep: Some(keep),
                    },
                ])
                .await
                .unwrap();
            assert_eq!(s.head().await.unwrap(), last);
            let read = s.read(0, 100).await.unwrap();
            assert_eq!(read.len(), 4);
            assert_eq!(read.last().unwrap().0, last);
            assert!(read.windows(2).all(|w| w[0].0 < w[1].0));
            match &read[0].1 {
                LogEntry::CreateCollection { key, dimensions } => {
                    assert_eq!((key.as_str(), *dimensions), ("k1", 3))
                }
                e => panic!("{e:?}"),
            }
            for (i, want) in [&p0, &p1].into_iter().enumerate() {
                let LogEntry::Upsert { key, point } = &read[1 + i].1 else {
                    panic!("{:?}", read[1 + i]);
                };
                assert_eq!(key, "k1");
                assert_eq!(point.id, want.id);
                assert_eq!(point.doc_id, want.doc_id);
                assert_eq!(point.version, want.version);
                assert_eq!(point.chunk_index, want.chunk_index);
                assert_eq!(point.vector, want.vector);
                assert_eq!(point.sparse, want.sparse, "u32::MAX survives int4");
                assert_eq!(point.metadata, want.metadata);
            }
            match &read[3].1 {
                LogEntry::DeleteDocument {
                    key,
                    doc_id,
                    keep: k,
                } => {
                    assert_eq!(
                        (key.as_str(), doc_id.as_str(), *k),
                        ("k1", "other", Some(keep))
                    )
                }
                e => panic!("{e:?}"),
            }
            // Paging.
            let page = s.read(read[1].0, 2).await.unwrap();
            assert_eq!(
                page.iter().map(|e| e.0).collect::<Vec<_>>(),
                vec![read[2].0, read[3].0]
            );
            // A point without sparse vector or metadata.
            let mut bare = point("bare", v, 0);
            bare.sparse = Sparse::default();
            bare.metadata = Metadata::new();
            bare.vector = vec![];
            let seq = s
                .append(vec![LogEntry::Upsert {
                    key: "k1".into(),
                    point: bare.clone(),
                }])
                .await
                .unwrap();
            assert!(seq > last);
            let got = s.read(last, 10).await.unwrap();
            let LogEntry::Upsert { point: p, .. } = &got[0].1 else {
                panic!()
            };
            assert!(p.sparse.is_empty() && p.metadata.is_empty() && p.vector.is_empty());
            // A large batch goes in several INSERTs.
            let many: Vec<LogEntry> = (0..(LOG_BATCH as u32 + 10))
                .map(|i| LogEntry::Upsert {
                    key: "k2".into(),
                    point: point("big", v, i),
                })
                .collect();
            let end = s.append(many).await.unwrap();
            let all = s.read(seq, 100_000).await.unwrap();
            assert_eq!(all.len(), LOG_BATCH + 10);
            assert_eq!(all.last().unwrap().0, end);
            s.close().await;
        })
        .await;
    }

    /// Apply entries to a model of the index: key -> point id -> (doc, version).
    fn replay(
        entries: &[(u64, LogEntry)],
    ) -> std::collections::BTreeMap<String, std::collections::BTreeMap<Uuid, (String, Uuid)>> {
        let mut index = std::collections::BTreeMap::new();
        for (_, e) in entries {
            match e {
                LogEntry::CreateCollection { key, .. } => {
                    index.entry(key.clone()).or_default();
                }
                LogEntry::DropCollection { key } => {
                    index.remove(key);
                }
                LogEntry::Upsert { key, point } => {
                    index
                        .entry(key.clone())
                        .or_insert_with(std::collections::BTreeMap::new)
                        .insert(point.id, (point.doc_id.clone(), point.version));
                }
                LogEntry::DeleteVersion {
                    key,
                    doc_id,
                    version,
                } => {
                    if let Some(points) = index.get_mut(key) {
                        points.retain(|_, (d, v)| !(d == doc_id && v == version));
                    }
                }
                LogEntry::DeleteDocument { key, doc_id, keep } => {
                    if let Some(points) = index.get_mut(key) {
                        points.retain(|_, (d, v)| d != doc_id || Some(*v) == *keep);
                    }
                }
            }
        }
        index
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn vector_log_compaction_keeps_replay_equal() {
        with_db(|url| async move {
            let s = PgStore::open(&config(&url)).await.unwrap();
            let (v1, v2, v3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
            let up = |doc: &str, v: Uuid, i: u32| LogEntry::Upsert {
                key: "k".into(),
                point: point(doc, v, i),
            };
            let del = |doc: &str, keep: Option<Uuid>| LogEntry::DeleteDocument {
                key: "k".into(),
                doc_id: doc.into(),
                keep,
            };
            let mut history = vec![
                LogEntry::CreateCollection {
                    key: "k".into(),
                    dimensions: 3,
                },
                up("a", v1, 0),
                up("a", v1, 1),
                up("b", v1, 0),
            ];
            // Re-ingest of a: v2 written, then everything but v2 deleted.
            history.extend([up("a", v2, 0), del("a", Some(v2))]);
            // An earlier delete keeping another version must stay: a
            // follower that applied c@v3 #0 before it needs it.
            history.extend([up("c", v3, 0), del("c", Some(v1)), up("c", v3, 1)]);
            history.push(del("c", Some(v3)));
            // b deleted entirely.
            history.push(del("b", None));
            // Another collection, created, filled and dropped.
            history.extend([
                LogEntry::CreateCollection {
                    key: "gone".into(),
                    dimensions: 3,
                },
                LogEntry::Upsert {
                    key: "gone".into(),
                    point: point("x", v1, 0),
                },
            ]);
            history.push(LogEntry::DropCollection { key: "gone".into() });
            // What followers had read after each append.
            let mut prefixes = vec![vec![]];
            for e in &history {
                // Appended in several transactions, as ingests would.
                s.append(vec![e.clone()]).await.unwrap();
                prefixes.push(s.read(0, 1000).await.unwrap());
            }
            let expected: Vec<(u64, LogEntry)> = history
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, e)| (i as u64, e))
                .collect();
            let want = replay(&expected);
            // k: a@v2 #0 and c@v3 #1.
            assert_eq!(want["k"].len(), 2, "{want:?}");
            assert!(!want.contains_key("gone"));

            // A follower that applied what it read at any point, then reads
            // on from there, ends where the full history ends.
            for (i, prefix) in prefixes.iter().enumerate() {
                let after = prefix.last().map(|(seq, _)| *seq).unwrap_or(0);
                let mut seen = prefix.clone();
                seen.extend(s.read(after, 1000).await.unwrap());
                assert_eq!(
                    replay(&seen),
                    want,
                    "follower that stopped after append {i}"
                );
            }

            let log = s.read(0, 1000).await.unwrap();
            assert_eq!(replay(&log), want, "compaction changed the result");
            assert!(log.len() < history.len(), "something was compacted");
            for (_, e) in &log {
                match e {
                    LogEntry::Upsert { key, point } => {
                        assert_ne!(key, "gone", "rows before the drop are gone");
                        assert_ne!(point.doc_id, "b", "b's upserts are compacted");
                        if point.doc_id == "a" {
                            assert_eq!(point.version, v2, "a@v1 is compacted");
                        }
                    }
                    LogEntry::CreateCollection { key, .. } => assert_ne!(key, "gone"),
                    _ => {}
                }
            }
            let gone: Vec<_> =
                log.iter()
                    .filter(|(_, e)| match e {
                        LogEntry::DropCollection { key } => key == "gone",
                        LogEntry::CreateCollection { key, .. } | LogEntry::Upsert { key, .. } => {
                            key == "gone"
                        }
                        LogEntry::DeleteDocument { key, .. }
                        | LogEntry::DeleteVersion { key, .. } => key == "gone",
                    })
                    .collect();
            assert_eq!(gone.len(), 1, "only the drop remains: {gone:?}");

            // Compaction within one append: an upsert and its delete.
            let v4 = Uuid::new_v4();
            let before = s.head().await.unwrap();
            s.append(vec![up("d", v4, 0), del("d", None)])
                .await
                .unwrap();
            let tail = s.read(before, 10).await.unwrap();
            assert_eq!(tail.len(), 1, "{tail:?}");
            assert!(matches!(tail[0].1, LogEntry::DeleteDocument { .. }));
            s.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn vector_log_seqs_commit_in_order_across_replicas() {
        with_db(|url| async move {
            let cfg = config(&url);
            let a = Arc::new(PgStore::open(&cfg).await.unwrap());
            let b = Arc::new(PgStore::open(&cfg).await.unwrap());
            const APPENDS: usize = 40;
            let writer = |s: Arc<PgStore>, name: &'static str| {
                tokio::spawn(async move {
                    let mut seqs = Vec::new();
                    for i in 0..APPENDS {
                        let entries = (0..3)
                            .map(|j| LogEntry::Upsert {
                                key: name.into(),
                                point: point(&format!("{name}{i}"), Uuid::new_v4(), j),
                            })
                            .collect();
                        seqs.push(s.append(entries).await.unwrap());
                    }
                    seqs
                })
            };
            let wa = writer(a.clone(), "a");
            let wb = writer(b.clone(), "b");
            // A follower that only ever asks for what is after the last seq
            // it saw: it misses entries if a smaller seq commits later.
            let reader = {
                let r = Arc::new(PgStore::open(&cfg).await.unwrap());
                tokio::spawn(async move {
                    let mut after = 0;
                    let mut seen = 0;
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while seen < 2 * APPENDS * 3 && Instant::now() < deadline {
                        let head = r.head().await.unwrap();
                        assert!(head >= after);
                        for (seq, _) in r.read(after, 50).await.unwrap() {
                            assert!(seq > after);
                            after = seq;
                            seen += 1;
                        }
                    }
                    r.close().await;
                    seen
                })
            };
            let (sa, sb) = (wa.await.unwrap(), wb.await.unwrap());
            assert!(sa.windows(2).all(|w| w[0] < w[1]));
            assert!(sb.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(
                reader.await.unwrap(),
                2 * APPENDS * 3,
                "the follower saw every entry"
            );
            let all = a.read(0, 10_000).await.unwrap();
            assert_eq!(all.len(), 2 * APPENDS * 3);
            assert_eq!(a.head().await.unwrap(), all.last().unwrap().0);
            a.close().await;
            b.close().await;
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pool_status_reports_acquisition_waits() {
        with_db(|url| async move {
            let mut cfg = config(&url);
            cfg.max_connections = 1;
            cfg.acquire_timeout_ms = 300;
            let s = Arc::new(PgStore::open(&cfg).await.unwrap());
            let st = s.pool_status();
            assert_eq!(
                (st.name.as_str(), st.kind.as_str()),
                ("metadata", "postgres")
            );
            assert_eq!(st.max, 1);
            let before = st.acquire_wait.unwrap().count;
            s.list_collections().await.unwrap();
            s.health().await.unwrap();
            let after = s.pool_status().acquire_wait.unwrap();
            assert_eq!(after.count, before + 2);
            assert_eq!(after.failed, 0);

            // Hold the only connection: the next caller waits, then fails.
            let held = s.acquire().await.unwrap();
            let st = s.pool_status();
            assert_eq!((st.size, st.in_use, st.idle), (1, 1, 0));
            let waiter = {
                let s = s.clone();
                tokio::spawn(async move { s.list_collections().await })
            };
            let mut saw_waiting = false;
            for _ in 0..50 {
                if s.pool_status().waiting == 1 {
                    saw_waiting = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert!(saw_waiting, "a caller waits for the held connection");
            let err = waiter.await.unwrap().unwrap_err();
            assert!(
                err.to_string().contains("no PostgreSQL connection"),
                "{err}"
            );
            let st = s.pool_status();
            assert_eq!(st.waiting, 0);
            let w = st.acquire_wait.unwrap();
            assert_eq!(w.failed, 1);
            assert!(w.max_ms >= 290.0, "{w:?}");
            drop(held);
            // Released: the next caller gets it.
            s.list_collections().await.unwrap();
            assert_eq!(s.pool_status().acquire_wait.unwrap().count, after.count + 3);
            s.close().await;
        })
        .await;
    }
}
