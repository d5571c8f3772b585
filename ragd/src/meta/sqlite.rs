//! SQLite metadata store: `<data_dir>/ragd.db`, WAL journal, full sync (an
//! acknowledged ingest survives a power cut), migrations run on open.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use ragd_api::{DocumentFormat, Metadata, PoolStatus};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{ChunkRow, CollectionRow, DocumentRow, MetaError, MetaStore, NewDocument, now_rfc3339};

pub struct SqliteStore {
    pool: SqlitePool,
    max: u32,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    pub async fn open(data_dir: &Path, max_connections: u32) -> Result<SqliteStore, MetaError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            MetaError::Backend(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let path = data_dir.join("ragd.db");
        let opts = SqliteConnectOptions::from_str("sqlite://")
            .map_err(MetaError::from)?
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
            .map_err(|e| MetaError::Backend(format!("cannot open {}: {e}", path.display())))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| MetaError::Backend(format!("migrating {}: {e}", path.display())))?;
        Ok(SqliteStore { pool, max })
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

fn collection_row(r: &sqlx::sqlite::SqliteRow) -> Result<CollectionRow, MetaError> {
    Ok(CollectionRow {
        key: parse_uuid(r.try_get::<&str, _>("key")?)?,
        name: r.try_get("name")?,
        embedder: r.try_get("embedder")?,
        model: r.try_get("model")?,
        dimensions: r.try_get::<i64, _>("dimensions")? as u32,
        created_at: r.try_get("created_at")?,
    })
}

fn document_row(r: &sqlx::sqlite::SqliteRow) -> Result<DocumentRow, MetaError> {
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
        rows.iter().map(collection_row).collect()
    }

    async fn get_collection(&self, name: &str) -> Result<Option<CollectionRow>, MetaError> {
        let row = sqlx::query("SELECT * FROM collections WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(collection_row).transpose()
    }

    async fn delete_collection(&self, key: Uuid) -> Result<bool, MetaError> {
        let res = sqlx::query("DELETE FROM collections WHERE key = ?")
            .bind(key.to_string())
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected() > 0)
    }

    async fn collection_counts(&self, key: Uuid) -> Result<(u64, u64), MetaError> {
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

    async fn put_document(&self, key: Uuid, doc: &NewDocument) -> Result<Option<Uuid>, MetaError> {
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
        let metadata = serde_json::to_string(&doc.metadata)
            .map_err(|e| MetaError::Backend(format!("metadata: {e}")))?;
        sqlx::query(
            "INSERT INTO documents (collection, id, version, text, metadata, format, chunks, bytes, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key)
        .bind(&doc.id)
        .bind(doc.version.to_string())
        .bind(&doc.text)
        .bind(metadata)
        .bind(format_str(doc.format))
        .bind(doc.chunks.len() as i64)
        .bind(doc.text.len() as i64)
        .bind(now_rfc3339())
        .execute(&mut *tx)
        .await?;
        // SQLite allows 32766 bound variables; 6 per row.
        for batch in doc.chunks.chunks(1000) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO chunks (point_id, collection, doc_id, idx, text, heading) ",
            );
            qb.push_values(batch, |mut b, c| {
                b.push_bind(c.point_id.to_string())
                    .push_bind(&key)
                    .push_bind(&doc.id)
                    .push_bind(c.index as i64)
                    .push_bind(&c.text)
                    .push_bind(&c.heading);
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        previous.as_deref().map(parse_uuid).transpose()
    }

    async fn get_document(&self, key: Uuid, id: &str) -> Result<Option<DocumentRow>, MetaError> {
        let row = sqlx::query("SELECT * FROM documents WHERE collection = ? AND id = ?")
            .bind(key.to_string())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(document_row).transpose()
    }

    async fn document_version(&self, key: Uuid, id: &str) -> Result<Option<Uuid>, MetaError> {
        let v: Option<String> =
            sqlx::query_scalar("SELECT version FROM documents WHERE collection = ? AND id = ?")
                .bind(key.to_string())
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        v.as_deref().map(parse_uuid).transpose()
    }

    async fn list_documents(&self, key: Uuid) -> Result<Vec<DocumentRow>, MetaError> {
        let rows = sqlx::query(
            "SELECT id, version, '' AS text, metadata, format, chunks, bytes, updated_at
             FROM documents WHERE collection = ? ORDER BY id",
        )
        .bind(key.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_row).collect()
    }

    async fn delete_document(&self, key: Uuid, id: &str) -> Result<Option<Uuid>, MetaError> {
        let v: Option<String> = sqlx::query_scalar(
            "DELETE FROM documents WHERE collection = ? AND id = ? RETURNING version",
        )
        .bind(key.to_string())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        v.as_deref().map(parse_uuid).transpose()
    }

    async fn chunks_by_points(&self, key: Uuid, ids: &[Uuid]) -> Result<Vec<ChunkRow>, MetaError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        // The unary `+` keeps SQLite from using the (collection, doc_id)
        // index for the collection test, which would scan every chunk of the
        // collection (3 ms at 10k chunks) instead of looking up the few
        // point ids by primary key (0.1 ms).
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT c.point_id, c.doc_id, c.idx, c.text, c.heading, d.metadata
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
        let rows = qb.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(ChunkRow {
                    point_id: parse_uuid(r.try_get::<&str, _>("point_id")?)?,
                    doc_id: r.try_get("doc_id")?,
                    index: r.try_get::<i64, _>("idx")? as u32,
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
