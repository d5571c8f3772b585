//! SQLite metadata store: `<data_dir>/ragd.db`, WAL journal, full sync (an
//! acknowledged ingest survives a power cut), migrations run on open.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use ragd_api::PoolStatus;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{
    ChunkRow, CollectionRow, DocumentRow, MetaError, MetaStore, NewDocument, PendingVersion,
    now_rfc3339, rows, unix_now,
};
use crate::key::CollectionKey;

pub struct SqliteStore {
    pool: SqlitePool,
    max: u32,
}

impl SqliteStore {
    pub async fn open(data_dir: &Path, max_connections: u32) -> Result<SqliteStore, MetaError> {
        std::fs::create_dir_all(data_dir).map_err(|e| MetaError::Open {
            context: format!("cannot create {}", data_dir.display()),
            source: Box::new(e),
        })?;
        let path = data_dir.join("ragd.db");
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let max = max_connections.max(1);
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| MetaError::Open {
                context: format!("cannot open {}", path.display()),
                source: Box::new(e),
            })?;
        super::migrations::sqlite()
            .run(&pool)
            .await
            .map_err(|e| MetaError::Open {
                context: format!("migrating {}", path.display()),
                source: Box::new(e),
            })?;
        Ok(SqliteStore { pool, max })
    }
}

#[async_trait]
impl MetaStore for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn create_collection(&self, c: &CollectionRow) -> Result<(), MetaError> {
        let res = sqlx::query(
            "INSERT INTO collections (key, name, embedder, model, dimensions, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(c.key.to_string())
        .bind(&c.name)
        .bind(&c.embedder)
        .bind(&c.model)
        .bind(c.dimensions as i64)
        .bind(&c.created_at)
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(MetaError::CollectionExists(c.name.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn list_collections(&self) -> Result<Vec<CollectionRow>, MetaError> {
        let rows = sqlx::query("SELECT * FROM collections ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::collection).collect()
    }

    async fn get_collection(&self, name: &str) -> Result<Option<CollectionRow>, MetaError> {
        let row = sqlx::query("SELECT * FROM collections WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::collection).transpose()
    }

    async fn delete_collection(&self, key: CollectionKey) -> Result<bool, MetaError> {
        let res = sqlx::query("DELETE FROM collections WHERE key = ?")
            .bind(key.to_string())
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected() > 0)
    }

    async fn collection_counts(&self, key: CollectionKey) -> Result<(u64, u64), MetaError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS docs, COALESCE(SUM(chunks), 0) AS chunks
             FROM documents WHERE collection = ?",
        )
        .bind(key.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok((
            row.try_get::<i64, _>("docs")? as u64,
            row.try_get::<i64, _>("chunks")? as u64,
        ))
    }

    async fn put_document(
        &self,
        key: CollectionKey,
        doc: &NewDocument,
    ) -> Result<Option<Uuid>, MetaError> {
        let key = key.to_string();
        // IMMEDIATE takes the write lock up front. A deferred transaction
        // that reads first and then writes cannot wait for a concurrent
        // writer (SQLite answers "database is locked" at once instead of
        // using the busy timeout), which failed concurrent ingests.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let previous: Option<String> =
            sqlx::query_scalar("SELECT version FROM documents WHERE collection = ? AND id = ?")
                .bind(&key)
                .bind(&doc.id)
                .fetch_optional(&mut *tx)
                .await?;
        // Deleting the row cascades to its chunks.
        sqlx::query("DELETE FROM documents WHERE collection = ? AND id = ?")
            .bind(&key)
            .bind(&doc.id)
            .execute(&mut *tx)
            .await?;
        let metadata = serde_json::to_string(&doc.metadata)?;
        sqlx::query(
            "INSERT INTO documents
                (collection, id, version, text, metadata, format, chunks, bytes, updated_at, sha256)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key)
        .bind(&doc.id)
        .bind(doc.version.to_string())
        .bind(&doc.text)
        .bind(metadata)
        .bind(rows::format_str(doc.format))
        .bind(doc.chunks.len() as i64)
        .bind(doc.text.len() as i64)
        .bind(now_rfc3339())
        .bind(&doc.sha256)
        .execute(&mut *tx)
        .await?;
        // SQLite allows 32766 bound variables; 7 per row.
        for batch in doc.chunks.chunks(1000) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO chunks (point_id, collection, doc_id, idx, text, heading, page) ",
            );
            qb.push_values(batch, |mut b, c| {
                b.push_bind(c.point_id.to_string())
                    .push_bind(&key)
                    .push_bind(&doc.id)
                    .push_bind(c.index as i64)
                    .push_bind(&c.text)
                    .push_bind(&c.heading)
                    .push_bind(c.page.map(i64::from));
            });
            qb.build().execute(&mut *tx).await?;
        }
        // The new version is referenced now; the one it replaces is pending
        // until its vectors are removed.
        let claimed: Option<i64> = sqlx::query_scalar(
            "DELETE FROM pending_vectors WHERE collection = ? AND doc_id = ? AND version = ?
             RETURNING claimed",
        )
        .bind(&key)
        .bind(&doc.id)
        .bind(doc.version.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if claimed == Some(1) {
            // Dropping `tx` rolls everything back.
            return Err(MetaError::Swept(doc.id.clone()));
        }
        if let Some(old) = &previous {
            note(&mut tx, &key, &doc.id, old).await?;
        }
        tx.commit().await?;
        previous.as_deref().map(rows::parse_uuid).transpose()
    }

    async fn get_document(
        &self,
        key: CollectionKey,
        id: &str,
    ) -> Result<Option<DocumentRow>, MetaError> {
        let row = sqlx::query("SELECT * FROM documents WHERE collection = ? AND id = ?")
            .bind(key.to_string())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::document).transpose()
    }

    async fn document_version(
        &self,
        key: CollectionKey,
        id: &str,
    ) -> Result<Option<Uuid>, MetaError> {
        let row = sqlx::query("SELECT version FROM documents WHERE collection = ? AND id = ?")
            .bind(key.to_string())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        rows::version(row)
    }

    async fn list_documents(
        &self,
        key: CollectionKey,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DocumentRow>, MetaError> {
        let rows = sqlx::query(
            "SELECT id, version, '' AS text, metadata, format, chunks, bytes, updated_at, sha256
             FROM documents WHERE collection = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(key.to_string())
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::document).collect()
    }

    async fn delete_document(
        &self,
        key: CollectionKey,
        id: &str,
    ) -> Result<Option<Uuid>, MetaError> {
        let key = key.to_string();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let version: Option<String> = sqlx::query_scalar(
            "DELETE FROM documents WHERE collection = ? AND id = ? RETURNING version",
        )
        .bind(&key)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(v) = &version {
            note(&mut tx, &key, id, v).await?;
        }
        tx.commit().await?;
        version.as_deref().map(rows::parse_uuid).transpose()
    }

    async fn note_pending(
        &self,
        key: CollectionKey,
        versions: &[(&str, Uuid)],
    ) -> Result<(), MetaError> {
        let key = key.to_string();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (doc_id, version) in versions {
            note(&mut tx, &key, doc_id, &version.to_string()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim_pending(&self, p: &PendingVersion) -> Result<bool, MetaError> {
        let done = sqlx::query(
            "UPDATE pending_vectors SET claimed = 1
             WHERE collection = ? AND doc_id = ? AND version = ?",
        )
        .bind(p.key.to_string())
        .bind(&p.doc_id)
        .bind(p.version.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn clear_pending(
        &self,
        key: CollectionKey,
        doc_id: &str,
        version: Uuid,
    ) -> Result<(), MetaError> {
        sqlx::query(
            "DELETE FROM pending_vectors WHERE collection = ? AND doc_id = ? AND version = ?",
        )
        .bind(key.to_string())
        .bind(doc_id)
        .bind(version.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn pending_versions(
        &self,
        age: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<PendingVersion>, MetaError> {
        let found: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT collection, doc_id, version FROM pending_vectors
             WHERE since <= ? ORDER BY since LIMIT ?",
        )
        .bind(unix_now() - age.as_secs() as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        found
            .into_iter()
            .map(|(key, doc_id, version)| {
                Ok(PendingVersion {
                    key: CollectionKey::from_uuid(rows::parse_uuid(&key)?),
                    doc_id,
                    version: rows::parse_uuid(&version)?,
                })
            })
            .collect()
    }

    async fn chunks_by_points(
        &self,
        key: CollectionKey,
        ids: &[Uuid],
    ) -> Result<Vec<ChunkRow>, MetaError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        // The unary `+` keeps SQLite from using the (collection, doc_id)
        // index for the collection test, which would scan every chunk of the
        // collection (3 ms at 10k chunks) instead of looking up the few
        // point ids by primary key (0.1 ms).
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT c.point_id, c.doc_id, c.idx, c.text, c.heading, c.page, d.metadata
             FROM chunks c JOIN documents d ON d.collection = c.collection AND d.id = c.doc_id
             WHERE +c.collection = ",
        );
        qb.push_bind(key.to_string());
        qb.push(" AND c.point_id IN (");
        let mut sep = qb.separated(", ");
        for id in ids {
            sep.push_bind(id.to_string());
        }
        sep.push_unseparated(")");
        let found = qb.build().fetch_all(&self.pool).await?;
        found.iter().map(rows::chunk).collect()
    }

    fn pool_status(&self) -> PoolStatus {
        let size = self.pool.size();
        let idle = self.pool.num_idle() as u32;
        PoolStatus {
            name: "metadata".into(),
            kind: "sqlite".into(),
            size,
            idle,
            in_use: size.saturating_sub(idle),
            max: self.max,
            waiting: 0,
            acquire_wait: None,
        }
    }

    async fn health(&self) -> Result<(), MetaError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl super::KeyStore for SqliteStore {
    async fn create_key(&self, k: &super::KeyRow) -> Result<(), MetaError> {
        let res = sqlx::query(
            "INSERT INTO api_keys
                (id, name, hash, scope, collections, created_at, expires_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&k.id)
        .bind(&k.name)
        .bind(&k.hash)
        .bind(k.scope.as_str())
        .bind(serde_json::to_string(&k.collections)?)
        .bind(&k.created_at)
        .bind(&k.expires_at)
        .bind(&k.revoked_at)
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(MetaError::KeyExists(k.name.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn list_keys(&self) -> Result<Vec<super::KeyRow>, MetaError> {
        let sql = format!(
            "SELECT {} FROM api_keys ORDER BY name",
            super::keys::KEY_COLUMNS
        );
        let found = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(super::keys::key_row).collect()
    }

    async fn find_key(&self, id: &str) -> Result<Option<super::KeyRow>, MetaError> {
        let sql = format!(
            "SELECT {} FROM api_keys WHERE id = ?",
            super::keys::KEY_COLUMNS
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(super::keys::key_row).transpose()
    }

    async fn revoke_key(&self, name: &str, at: &str) -> Result<Option<super::KeyRow>, MetaError> {
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?")
            .bind(at)
            .bind(name)
            .execute(&self.pool)
            .await?;
        let sql = format!(
            "SELECT {} FROM api_keys WHERE name = ?",
            super::keys::KEY_COLUMNS
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(super::keys::key_row).transpose()
    }
}

#[async_trait]
impl super::JobStore for SqliteStore {
    async fn create_job(&self, j: &ragd_api::Job, sources: &str) -> Result<(), MetaError> {
        sqlx::query(
            "INSERT INTO jobs (id, collection, state, sources, documents, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&j.id)
        .bind(&j.collection)
        .bind(j.state.as_str())
        .bind(sources)
        .bind(j.documents as i64)
        .bind(&j.created_at)
        .bind(&j.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_job(&self, id: &str) -> Result<Option<ragd_api::Job>, MetaError> {
        let sql = format!("SELECT {} FROM jobs WHERE id = ?", super::jobs::JOB_COLUMNS);
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(super::jobs::job_row).transpose()
    }

    async fn claim_job(
        &self,
        owner: &str,
        stale_before: i64,
    ) -> Result<Option<(ragd_api::Job, String)>, MetaError> {
        // One statement: SQLite runs writers one at a time.
        let sql = format!(
            "UPDATE jobs SET state = 'running', owner = ?, heartbeat = ?, updated_at = ?
             WHERE id = (SELECT id FROM jobs
                         WHERE state = 'queued' OR (state = 'running' AND heartbeat < ?)
                         ORDER BY created_at, id LIMIT 1)
             RETURNING {}, sources",
            super::jobs::JOB_COLUMNS
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(unix_now())
            .bind(now_rfc3339())
            .bind(stale_before)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((super::jobs::job_row(&r)?, r.try_get("sources")?))),
        }
    }

    async fn job_progress(
        &self,
        id: &str,
        owner: &str,
        done: u32,
        chunks: u32,
    ) -> Result<bool, MetaError> {
        let res = sqlx::query(
            "UPDATE jobs SET done = ?, chunks = ?, heartbeat = ?, updated_at = ?
             WHERE id = ? AND owner = ? AND state = 'running'",
        )
        .bind(done as i64)
        .bind(chunks as i64)
        .bind(unix_now())
        .bind(now_rfc3339())
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn finish_job(
        &self,
        id: &str,
        owner: &str,
        state: ragd_api::JobState,
        error: Option<&str>,
    ) -> Result<bool, MetaError> {
        let res = sqlx::query(
            "UPDATE jobs SET state = ?, error = ?, sources = '', owner = NULL, updated_at = ?
             WHERE id = ? AND owner = ? AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(error)
        .bind(now_rfc3339())
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn release_job(&self, id: &str, owner: &str) -> Result<(), MetaError> {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', owner = NULL, updated_at = ?
             WHERE id = ? AND owner = ? AND state = 'running'",
        )
        .bind(now_rfc3339())
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn beat_jobs(&self, owner: &str) -> Result<(), MetaError> {
        sqlx::query("UPDATE jobs SET heartbeat = ? WHERE owner = ? AND state = 'running'")
            .bind(unix_now())
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn forget_jobs(&self, before: &str) -> Result<u64, MetaError> {
        let res = sqlx::query(
            "DELETE FROM jobs WHERE state IN ('succeeded', 'failed') AND updated_at < ?",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected())
    }
}

/// Inside `tx`: record that the vectors of `version` may exist unreferenced.
async fn note(
    tx: &mut sqlx::SqliteConnection,
    key: &str,
    doc_id: &str,
    version: &str,
) -> Result<(), MetaError> {
    sqlx::query(
        "INSERT INTO pending_vectors (collection, doc_id, version, since) VALUES (?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(key)
    .bind(doc_id)
    .bind(version)
    .bind(unix_now())
    .execute(&mut *tx)
    .await?;
    Ok(())
}
