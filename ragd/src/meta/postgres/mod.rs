//! PostgreSQL metadata store, shared by every replica: the same model as
//! the SQLite store (collections, documents, chunks) on the pool and schema
//! of [`crate::pg`].
//!
//! Identifiers are stored as `uuid` and metadata as `jsonb`, bound from Rust
//! as text and cast in SQL, and read back as text (see [`super::rows`]);
//! sqlx's `uuid`/`json` features are not enabled.

use std::sync::Arc;

use async_trait::async_trait;
use ragd_api::PoolStatus;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{
    ChunkRow, CollectionRow, DocumentRow, MetaError, MetaStore, NewDocument, PendingVersion,
    now_rfc3339, rows, unix_now,
};
use crate::key::CollectionKey;
use crate::pg::{Pg, PgError, PgQuery, Retryable, retry};

/// Times a put looks for the row again when it keeps appearing and
/// disappearing under it (a concurrent writer and deleter).
const PUT_TURNS: usize = 10;

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

/// The columns [`rows::collection`] reads.
const COLLECTION_COLUMNS: &str = concat!(
    "key::text AS key, name, embedder, model, dimensions::int8 AS dimensions, ",
    rfc3339!("created_at")
);

/// PostgreSQL metadata store.
pub struct PgStore {
    pg: Arc<Pg>,
}

impl PgStore {
    /// The store on an open pool (migrated by [`Pg::open`]).
    pub fn new(pg: Arc<Pg>) -> PgStore {
        PgStore { pg }
    }

    /// One attempt of [`MetaStore::put_document`]; returns the replaced
    /// version.
    async fn put_document_once(
        &self,
        key: &str,
        doc: &NewDocument,
        metadata: &str,
    ) -> Result<Option<String>, MetaError> {
        let mut tx = self.pg.begin().await?;
        let previous = self.swap_document_row(&mut tx, key, doc, metadata).await?;
        if !doc.chunks.is_empty() {
            let ids: Vec<String> = doc.chunks.iter().map(|c| c.point_id.to_string()).collect();
            let idx: Vec<i32> = doc.chunks.iter().map(|c| c.index as i32).collect();
            let texts: Vec<&str> = doc.chunks.iter().map(|c| c.text.as_str()).collect();
            let headings: Vec<&str> = doc.chunks.iter().map(|c| c.heading.as_str()).collect();
            let pages: Vec<Option<i32>> = doc
                .chunks
                .iter()
                .map(|c| c.page.and_then(|p| i32::try_from(p).ok()))
                .collect();
            // One statement whatever the number of chunks (no bind limit).
            sqlx::query(
                "INSERT INTO chunks (point_id, collection, doc_id, idx, text, heading, page)
                 SELECT u.p::uuid, $1::uuid, $2, u.i, u.t, u.h, u.g
                 FROM UNNEST($3::text[], $4::int4[], $5::text[], $6::text[], $7::int4[])
                    AS u(p, i, t, h, g)",
            )
            .bind(key)
            .bind(&doc.id)
            .bind(ids)
            .bind(idx)
            .bind(texts)
            .bind(headings)
            .bind(pages)
            .persistent(self.pg.persistent())
            .execute(&mut *tx)
            .await
            .map_err(PgError::from)?;
        }
        // The new version is referenced now; the one it replaces is pending
        // until its vectors are removed.
        // The row lock of the DELETE orders this against a concurrent
        // claim: whichever commits first wins.
        let claimed = sqlx::query_scalar::<_, bool>(
            "DELETE FROM pending_vectors
             WHERE collection = $1::uuid AND doc_id = $2 AND version = $3::uuid
             RETURNING claimed",
        )
        .bind(key)
        .bind(&doc.id)
        .bind(doc.version.to_string())
        .persistent(self.pg.persistent())
        .fetch_optional(&mut *tx)
        .await
        .map_err(PgError::from)?;
        if claimed == Some(true) {
            // Dropping `tx` rolls everything back.
            return Err(MetaError::Swept(doc.id.clone()));
        }
        if let Some(old) = &previous {
            self.note(&mut tx, key, &doc.id, old).await?;
        }
        tx.commit().await.map_err(PgError::from)?;
        Ok(previous)
    }

    /// Inside `tx`: record that the vectors of `version` may exist
    /// unreferenced.
    async fn note(
        &self,
        tx: &mut sqlx::PgConnection,
        key: &str,
        doc_id: &str,
        version: &str,
    ) -> Result<(), MetaError> {
        sqlx::query(
            "INSERT INTO pending_vectors (collection, doc_id, version)
             VALUES ($1::uuid, $2, $3::uuid) ON CONFLICT DO NOTHING",
        )
        .bind(key)
        .bind(doc_id)
        .bind(version)
        .persistent(self.pg.persistent())
        .execute(&mut *tx)
        .await
        .map_err(PgError::from)?;
        Ok(())
    }

    /// One attempt of [`MetaStore::delete_document`].
    async fn delete_document_once(&self, key: &str, id: &str) -> Result<Option<String>, MetaError> {
        let mut tx = self.pg.begin().await?;
        // Cascades to the chunks.
        let version = sqlx::query_scalar::<_, String>(
            "DELETE FROM documents WHERE collection = $1::uuid AND id = $2
             RETURNING version::text",
        )
        .bind(key)
        .bind(id)
        .persistent(self.pg.persistent())
        .fetch_optional(&mut *tx)
        .await
        .map_err(PgError::from)?;
        if let Some(v) = &version {
            self.note(&mut tx, key, id, v).await?;
        }
        tx.commit().await.map_err(PgError::from)?;
        Ok(version)
    }

    /// One attempt of [`MetaStore::note_pending`].
    async fn note_pending_once(
        &self,
        key: &str,
        versions: &[(&str, Uuid)],
    ) -> Result<(), MetaError> {
        let mut tx = self.pg.begin().await?;
        for (doc_id, version) in versions {
            self.note(&mut tx, key, doc_id, &version.to_string())
                .await?;
        }
        tx.commit().await.map_err(PgError::from)?;
        Ok(())
    }

    /// Inside `tx`: make the document's row the new version (without
    /// chunks), returning the version it had.
    ///
    /// Under READ COMMITTED each statement sees what is committed when it
    /// starts. Either the row exists and FOR UPDATE locks it (waiting for a
    /// concurrent writer, then seeing its version), or it does not and the
    /// insert either wins or finds that a concurrent writer inserted it
    /// first (ON CONFLICT waits for that writer to commit), in which case
    /// the row is locked and updated on the next turn.
    async fn swap_document_row<'a>(
        &self,
        tx: &mut sqlx::PgConnection,
        key: &'a str,
        doc: &'a NewDocument,
        metadata: &'a str,
    ) -> Result<Option<String>, MetaError> {
        let persistent = self.pg.persistent();
        let version = doc.version.to_string();
        let (chunks, bytes) = (doc.chunks.len() as i64, doc.text.len() as i64);
        let format = rows::format_str(doc.format);
        // The document row's values, $1 to $9, for the update and the insert.
        let row = |q: PgQuery<'a>| {
            q.bind(key)
                .bind(&doc.id)
                .bind(version.clone())
                .bind(&doc.text)
                .bind(metadata)
                .bind(format)
                .bind(chunks)
                .bind(bytes)
                .bind(&doc.sha256)
        };
        for _ in 0..PUT_TURNS {
            let previous = sqlx::query_scalar::<_, String>(
                "SELECT version::text FROM documents
                 WHERE collection = $1::uuid AND id = $2 FOR UPDATE",
            )
            .bind(key)
            .bind(&doc.id)
            .persistent(persistent)
            .fetch_optional(&mut *tx)
            .await
            .map_err(PgError::from)?;
            if previous.is_some() {
                row(sqlx::query(
                    "UPDATE documents SET version = $3::uuid, text = $4, metadata = $5::jsonb,
                        format = $6, chunks = $7, bytes = $8, sha256 = $9,
                        updated_at = date_trunc('second', now())
                     WHERE collection = $1::uuid AND id = $2",
                ))
                .persistent(persistent)
                .execute(&mut *tx)
                .await
                .map_err(PgError::from)?;
                sqlx::query("DELETE FROM chunks WHERE collection = $1::uuid AND doc_id = $2")
                    .bind(key)
                    .bind(&doc.id)
                    .persistent(persistent)
                    .execute(&mut *tx)
                    .await
                    .map_err(PgError::from)?;
                return Ok(previous);
            }
            let inserted = row(sqlx::query(
                "INSERT INTO documents
                    (collection, id, version, text, metadata, format, chunks, bytes, sha256,
                     updated_at)
                 VALUES ($1::uuid, $2, $3::uuid, $4, $5::jsonb, $6, $7, $8, $9,
                    date_trunc('second', now()))
                 ON CONFLICT (collection, id) DO NOTHING",
            ))
            .persistent(persistent)
            .execute(&mut *tx)
            .await
            .map_err(PgError::from)?
            .rows_affected();
            if inserted == 1 {
                return Ok(None);
            }
        }
        Err(MetaError::Contended(doc.id.clone()))
    }
}

/// The chunk columns [`rows::chunk`] reads, joined with their document.
const CHUNK_QUERY: &str = "SELECT c.point_id::text AS point_id, c.doc_id, c.idx::int8 AS idx,
        c.text, c.heading, c.page, d.metadata::text AS metadata
     FROM chunks c JOIN documents d ON d.collection = c.collection AND d.id = c.doc_id
     WHERE c.collection = $1::uuid AND c.point_id = ANY($2::uuid[])";

#[async_trait]
impl MetaStore for PgStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn create_collection(&self, c: &CollectionRow) -> Result<(), MetaError> {
        let res = self
            .pg
            .execute(
                sqlx::query(
                    "INSERT INTO collections (key, name, embedder, model, dimensions, created_at)
                     VALUES ($1::uuid, $2, $3, $4, $5, $6::timestamptz)",
                )
                .bind(c.key.to_string())
                .bind(&c.name)
                .bind(&c.embedder)
                .bind(&c.model)
                .bind(c.dimensions as i32)
                .bind(&c.created_at),
            )
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(PgError::Sql(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                Err(MetaError::CollectionExists(c.name.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn list_collections(&self) -> Result<Vec<CollectionRow>, MetaError> {
        let sql = format!("SELECT {COLLECTION_COLUMNS} FROM collections ORDER BY name");
        let found = self
            .pg
            .fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .await?;
        found.iter().map(rows::collection).collect()
    }

    async fn get_collection(&self, name: &str) -> Result<Option<CollectionRow>, MetaError> {
        let sql = format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE name = $1");
        let row = self
            .pg
            .fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name))
            .await?;
        row.as_ref().map(rows::collection).transpose()
    }

    async fn delete_collection(&self, key: CollectionKey) -> Result<bool, MetaError> {
        // Cascades to the documents and their chunks. The cascade locks the
        // collection's rows in another order than a concurrent ingest does,
        // so PostgreSQL may pick this statement as a deadlock's victim
        // (found by the collection-delete race test): run it again.
        let key = key.to_string();
        let deleted = retry("delete_collection", || {
            self.pg.execute(
                sqlx::query("DELETE FROM collections WHERE key = $1::uuid").bind(key.as_str()),
            )
        })
        .await?;
        Ok(deleted > 0)
    }

    async fn collection_counts(&self, key: CollectionKey) -> Result<(u64, u64), MetaError> {
        let row = self
            .pg
            .fetch_one(
                sqlx::query(
                    "SELECT COUNT(*) AS docs, COALESCE(SUM(chunks), 0)::bigint AS chunks
                     FROM documents WHERE collection = $1::uuid",
                )
                .bind(key.to_string()),
            )
            .await?;
        use sqlx::Row;
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
        let metadata = serde_json::to_string(&doc.metadata)?;
        let previous = retry("put_document", || {
            self.put_document_once(&key, doc, &metadata)
        })
        .await?;
        previous.as_deref().map(rows::parse_uuid).transpose()
    }

    async fn get_document(
        &self,
        key: CollectionKey,
        id: &str,
    ) -> Result<Option<DocumentRow>, MetaError> {
        let sql = concat!(
            "SELECT id, version::text AS version, text, metadata::text AS metadata, format,
                chunks, bytes, sha256, ",
            rfc3339!("updated_at"),
            " FROM documents WHERE collection = $1::uuid AND id = $2"
        );
        let row = self
            .pg
            .fetch_optional(sqlx::query(sql).bind(key.to_string()).bind(id))
            .await?;
        row.as_ref().map(rows::document).transpose()
    }

    async fn document_version(
        &self,
        key: CollectionKey,
        id: &str,
    ) -> Result<Option<Uuid>, MetaError> {
        let row: Option<PgRow> = self
            .pg
            .fetch_optional(
                sqlx::query(
                    "SELECT version::text AS version FROM documents
                     WHERE collection = $1::uuid AND id = $2",
                )
                .bind(key.to_string())
                .bind(id),
            )
            .await?;
        rows::version(row)
    }

    async fn list_documents(
        &self,
        key: CollectionKey,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DocumentRow>, MetaError> {
        // `COLLATE "C"`: byte order, as SQLite sorts, whatever the
        // database's locale (a cursor must mean the same on both).
        let sql = concat!(
            "SELECT id, version::text AS version, '' AS text, metadata::text AS metadata,
                format, chunks, bytes, sha256, ",
            rfc3339!("updated_at"),
            " FROM documents WHERE collection = $1::uuid AND id COLLATE \"C\" > $2
              ORDER BY id COLLATE \"C\" LIMIT $3"
        );
        let found = self
            .pg
            .fetch_all(
                sqlx::query(sql)
                    .bind(key.to_string())
                    .bind(after.unwrap_or(""))
                    .bind(limit as i64),
            )
            .await?;
        found.iter().map(rows::document).collect()
    }

    async fn delete_document(
        &self,
        key: CollectionKey,
        id: &str,
    ) -> Result<Option<Uuid>, MetaError> {
        let key = key.to_string();
        let version = retry("delete_document", || self.delete_document_once(&key, id)).await?;
        version.as_deref().map(rows::parse_uuid).transpose()
    }

    async fn note_pending(
        &self,
        key: CollectionKey,
        versions: &[(&str, Uuid)],
    ) -> Result<(), MetaError> {
        let key = key.to_string();
        retry("note_pending", || self.note_pending_once(&key, versions)).await
    }

    async fn claim_pending(&self, p: &PendingVersion) -> Result<bool, MetaError> {
        let done = self
            .pg
            .execute(
                sqlx::query(
                    "UPDATE pending_vectors SET claimed = true
                     WHERE collection = $1::uuid AND doc_id = $2 AND version = $3::uuid",
                )
                .bind(p.key.to_string())
                .bind(&p.doc_id)
                .bind(p.version.to_string()),
            )
            .await?;
        Ok(done == 1)
    }

    async fn clear_pending(
        &self,
        key: CollectionKey,
        doc_id: &str,
        version: Uuid,
    ) -> Result<(), MetaError> {
        self.pg
            .execute(
                sqlx::query(
                    "DELETE FROM pending_vectors
                     WHERE collection = $1::uuid AND doc_id = $2 AND version = $3::uuid",
                )
                .bind(key.to_string())
                .bind(doc_id)
                .bind(version.to_string()),
            )
            .await?;
        Ok(())
    }

    async fn pending_versions(
        &self,
        age: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<PendingVersion>, MetaError> {
        let found = self
            .pg
            .fetch_all(
                sqlx::query(
                    "SELECT collection::text AS collection, doc_id, version::text AS version
                     FROM pending_vectors
                     WHERE since <= now() - make_interval(secs => $1::float8)
                     ORDER BY since LIMIT $2",
                )
                .bind(age.as_secs_f64())
                .bind(limit as i64),
            )
            .await?;
        use sqlx::Row;
        found
            .iter()
            .map(|r| {
                Ok(PendingVersion {
                    key: CollectionKey::from_uuid(rows::parse_uuid(
                        &r.try_get::<String, _>("collection")?,
                    )?),
                    doc_id: r.try_get("doc_id")?,
                    version: rows::parse_uuid(&r.try_get::<String, _>("version")?)?,
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
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let found = self
            .pg
            .fetch_all(sqlx::query(CHUNK_QUERY).bind(key.to_string()).bind(ids))
            .await?;
        found.iter().map(rows::chunk).collect()
    }

    fn pool_status(&self) -> PoolStatus {
        self.pg.pool_status("metadata")
    }

    async fn health(&self) -> Result<(), MetaError> {
        Ok(self.pg.health().await?)
    }

    async fn close(&self) {
        self.pg.close().await;
    }
}

impl Retryable for MetaError {
    fn retryable(&self) -> bool {
        matches!(self, MetaError::Postgres(e) if e.retryable())
    }
}

#[async_trait]
impl super::KeyStore for PgStore {
    async fn create_key(&self, k: &super::KeyRow) -> Result<(), MetaError> {
        let res = self
            .pg
            .execute(
                sqlx::query(
                    "INSERT INTO api_keys
                        (id, name, hash, scope, collections, created_at, expires_at, revoked_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&k.id)
                .bind(&k.name)
                .bind(&k.hash)
                .bind(k.scope.as_str())
                .bind(serde_json::to_string(&k.collections)?)
                .bind(&k.created_at)
                .bind(&k.expires_at)
                .bind(&k.revoked_at),
            )
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(PgError::Sql(sqlx::Error::Database(e))) if e.is_unique_violation() => {
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
        let found = self
            .pg
            .fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .await?;
        found.iter().map(super::keys::key_row).collect()
    }

    async fn find_key(&self, id: &str) -> Result<Option<super::KeyRow>, MetaError> {
        let sql = format!(
            "SELECT {} FROM api_keys WHERE id = $1",
            super::keys::KEY_COLUMNS
        );
        let row = self
            .pg
            .fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id))
            .await?;
        row.as_ref().map(super::keys::key_row).transpose()
    }

    async fn revoke_key(&self, name: &str, at: &str) -> Result<Option<super::KeyRow>, MetaError> {
        let sql = format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2)
             WHERE name = $1 RETURNING {}",
            super::keys::KEY_COLUMNS
        );
        let row = self
            .pg
            .fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).bind(at))
            .await?;
        row.as_ref().map(super::keys::key_row).transpose()
    }
}

#[async_trait]
impl super::JobStore for PgStore {
    async fn create_job(&self, j: &ragd_api::Job, sources: &str) -> Result<(), MetaError> {
        self.pg
            .execute(
                sqlx::query(
                    "INSERT INTO jobs
                        (id, collection, state, sources, documents, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&j.id)
                .bind(&j.collection)
                .bind(j.state.as_str())
                .bind(sources)
                .bind(j.documents as i64)
                .bind(&j.created_at)
                .bind(&j.updated_at),
            )
            .await?;
        Ok(())
    }

    async fn get_job(&self, id: &str) -> Result<Option<ragd_api::Job>, MetaError> {
        let sql = format!(
            "SELECT {} FROM jobs WHERE id = $1",
            super::jobs::JOB_COLUMNS
        );
        let row = self
            .pg
            .fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id))
            .await?;
        row.as_ref().map(super::jobs::job_row).transpose()
    }

    async fn claim_job(
        &self,
        owner: &str,
        stale_before: i64,
    ) -> Result<Option<(ragd_api::Job, String)>, MetaError> {
        // SKIP LOCKED: two replicas claiming at once take different jobs.
        let sql = format!(
            "UPDATE jobs SET state = 'running', owner = $1, heartbeat = $2, updated_at = $3
             WHERE id = (SELECT id FROM jobs
                         WHERE state = 'queued' OR (state = 'running' AND heartbeat < $4)
                         ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING {}, sources",
            super::jobs::JOB_COLUMNS
        );
        let row = self
            .pg
            .fetch_optional(
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(owner)
                    .bind(unix_now())
                    .bind(now_rfc3339())
                    .bind(stale_before),
            )
            .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let sources: String = sqlx::Row::try_get(&r, "sources").map_err(PgError::from)?;
                Ok(Some((super::jobs::job_row(&r)?, sources)))
            }
        }
    }

    async fn job_progress(
        &self,
        id: &str,
        owner: &str,
        done: u32,
        chunks: u32,
    ) -> Result<bool, MetaError> {
        let n = self
            .pg
            .execute(
                sqlx::query(
                    "UPDATE jobs SET done = $1, chunks = $2, heartbeat = $3, updated_at = $4
                     WHERE id = $5 AND owner = $6 AND state = 'running'",
                )
                .bind(done as i64)
                .bind(chunks as i64)
                .bind(unix_now())
                .bind(now_rfc3339())
                .bind(id)
                .bind(owner),
            )
            .await?;
        Ok(n == 1)
    }

    async fn finish_job(
        &self,
        id: &str,
        owner: &str,
        state: ragd_api::JobState,
        error: Option<&str>,
    ) -> Result<bool, MetaError> {
        let n = self
            .pg
            .execute(
                sqlx::query(
                    "UPDATE jobs SET state = $1, error = $2, sources = '', owner = NULL,
                        updated_at = $3
                     WHERE id = $4 AND owner = $5 AND state = 'running'",
                )
                .bind(state.as_str())
                .bind(error)
                .bind(now_rfc3339())
                .bind(id)
                .bind(owner),
            )
            .await?;
        Ok(n == 1)
    }

    async fn release_job(&self, id: &str, owner: &str) -> Result<(), MetaError> {
        self.pg
            .execute(
                sqlx::query(
                    "UPDATE jobs SET state = 'queued', owner = NULL, updated_at = $1
                     WHERE id = $2 AND owner = $3 AND state = 'running'",
                )
                .bind(now_rfc3339())
                .bind(id)
                .bind(owner),
            )
            .await?;
        Ok(())
    }

    async fn beat_jobs(&self, owner: &str) -> Result<(), MetaError> {
        self.pg
            .execute(
                sqlx::query(
                    "UPDATE jobs SET heartbeat = $1 WHERE owner = $2 AND state = 'running'",
                )
                .bind(unix_now())
                .bind(owner),
            )
            .await?;
        Ok(())
    }

    async fn forget_jobs(&self, before: &str) -> Result<u64, MetaError> {
        let n = self
            .pg
            .execute(
                sqlx::query(
                    "DELETE FROM jobs
                     WHERE state IN ('succeeded', 'failed') AND updated_at < $1",
                )
                .bind(before),
            )
            .await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
