//! ragd's schema in PostgreSQL (`migrations/postgres`: the metadata tables
//! and the vector log), applied on open, and the start-up check that the
//! replicas' pools fit the server's `max_connections`.

use sqlx::Connection;

use super::{Pg, connection_budget_warning};
use crate::config::PostgresConfig;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Advisory lock serialising migrations through PgBouncer ("ragd_mig").
const MIGRATE_LOCK: i64 = 0x7261_6764_5f6d_6967;

/// Run the migrations, safely when several replicas start at once.
pub(super) async fn run(pg: &Pg, pgbouncer: bool) -> Result<(), BoxError> {
    let mut conn = pg.acquire().await?;
    let mut m = crate::meta::migrations::postgres();
    // `run_direct` is what `Migrator::run` calls once it has a connection;
    // called directly, the future stays `Send` (`run`'s `Acquire` bound is
    // "not general enough" inside spawned tasks).
    if !pgbouncer {
        // sqlx's migrator (sqlx-postgres 0.9, `Migrate::lock`) takes the
        // session advisory lock `pg_advisory_lock(<id from the database
        // name>)` before it creates `_sqlx_migrations` or reads what was
        // applied, and releases it at the end: replicas starting together
        // apply each migration exactly once, the others wait (a wait longer
        // than statement_timeout fails this replica's start).
        return Ok(m.run_direct(None, &mut *conn, false).await?);
    }
    // Through PgBouncer in transaction mode a session lock may be taken on
    // one server connection and "released" on another, so the whole
    // migration runs in one transaction holding a transaction-scoped
    // advisory lock instead (each migration's own transaction becomes a
    // savepoint).
    m.set_locking(false);
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATE_LOCK)
        .persistent(pg.persistent())
        .execute(&mut *tx)
        .await?;
    m.run_direct(None, &mut *tx, false).await?;
    // The migrator names its prepared statements; PgBouncer may give this
    // server connection to another client (another replica's migrator,
    // with the same names) after the commit.
    sqlx::raw_sql("DEALLOCATE ALL").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Warn when the replicas' pools together may exceed what PostgreSQL
/// accepts.
pub(super) async fn check_budget(pg: &Pg, cfg: &PostgresConfig) {
    let settings = async {
        let one = |sql: &'static str| async move {
            let row = pg.fetch_one(sqlx::query(sql)).await?;
            sqlx::Row::try_get::<Option<String>, _>(&row, 0).map_err(super::PgError::from)
        };
        let max = one("SHOW max_connections").await?;
        let su = one("SHOW superuser_reserved_connections").await?;
        // PostgreSQL 16 also reserves `reserved_connections`.
        let other = one("SELECT current_setting('reserved_connections', true)").await?;
        Ok::<_, super::PgError>((max, su, other))
    };
    let (max, su, other) = match settings.await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("metadata: cannot read PostgreSQL's max_connections: {e}");
            return;
        }
    };
    let num = |s: &Option<String>| s.as_deref().and_then(|s| s.trim().parse::<u32>().ok());
    let max = num(&max).unwrap_or(0);
    let reserved = num(&su).unwrap_or(0) + num(&other).unwrap_or(0);
    let per_replica = cfg.max_connections.max(1);
    match connection_budget_warning(cfg.replicas.max(1), per_replica, max, reserved) {
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
