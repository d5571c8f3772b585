//! The vector log in PostgreSQL (table `vector_log`, created by the schema
//! of [`crate::pg`]), on the same pool as the metadata store.
//!
//! Appends serialise on an advisory lock held until commit, so sequence
//! numbers become visible in increasing order on every replica. Each append
//! also compacts: entries that a new delete or drop makes pointless are
//! removed in the same transaction (replaying what remains gives the same
//! index, see [`VectorLog`]).

use std::sync::Arc;

use async_trait::async_trait;
use ragd_api::Metadata;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::log::{LogEntry, VectorLog};
use crate::key::CollectionKey;
use crate::pg::{Pg, PgError, retry};
use crate::vectors::{ChunkPoint, Sparse, VectorError};

/// Advisory lock taken by every append transaction before it draws a
/// sequence number ("ragd_log"), so seqs commit in order.
const LOG_LOCK: i64 = 0x7261_6764_5f6c_6f67;
/// Log rows per INSERT: 12 bound parameters each, PostgreSQL allows 65535.
pub const LOG_BATCH: usize = 4000;

/// The log in PostgreSQL.
pub struct PgLog {
    pg: Arc<Pg>,
}

impl PgLog {
    /// The log on an open pool (migrated by [`Pg::open`]).
    pub fn new(pg: Arc<Pg>) -> PgLog {
        PgLog { pg }
    }

    /// One attempt of [`VectorLog::append`].
    async fn append_once(&self, entries: &[LogEntry]) -> Result<i64, PgError> {
        let mut tx = self.pg.begin().await?;
        let w = Writer {
            persistent: self.pg.persistent(),
        };
        // Appends run one at a time: a seq is drawn only under this lock,
        // which is held until the transaction has committed.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOG_LOCK)
            .persistent(w.persistent)
            .execute(&mut *tx)
            .await?;
        let mut last = 0i64;
        let mut i = 0;
        while i < entries.len() {
            if let LogEntry::Upsert { .. } = &entries[i] {
                let run = entries[i..]
                    .iter()
                    .take(LOG_BATCH)
                    .take_while(|e| matches!(e, LogEntry::Upsert { .. }))
                    .count();
                last = last.max(w.upserts(&mut tx, &entries[i..i + run]).await?);
                i += run;
            } else {
                last = w.one(&mut tx, &entries[i]).await?;
                i += 1;
            }
        }
        tx.commit().await?;
        Ok(last)
    }
}

/// Writes entries inside an append's transaction.
struct Writer {
    persistent: bool,
}

impl Writer {
    /// Insert a run of upserts in one statement; returns the highest seq.
    async fn upserts(&self, tx: &mut PgConnection, batch: &[LogEntry]) -> Result<i64, PgError> {
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
            "INSERT INTO vector_log (collection, op, point_id, doc_id, version,
                chunk_index, dense, sparse_indices, sparse_values, metadata) ",
        );
        qb.push_values(batch, |mut b, e| {
            let LogEntry::Upsert { key, point } = e else {
                return;
            };
            // A JSON object always serialises.
            let metadata = serde_json::Value::Object(point.metadata.clone()).to_string();
            b.push_bind(key.to_string())
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
        qb.push(" RETURNING seq");
        let seqs: Vec<i64> = qb
            .build_query_scalar()
            .persistent(self.persistent)
            .fetch_all(&mut *tx)
            .await?;
        Ok(seqs.into_iter().max().unwrap_or(0))
    }

    /// Insert one entry other than an upsert, and compact what it makes
    /// pointless; returns its seq.
    async fn one(&self, tx: &mut PgConnection, entry: &LogEntry) -> Result<i64, PgError> {
        match entry {
            LogEntry::Upsert { .. } => self.upserts(tx, std::slice::from_ref(entry)).await,
            LogEntry::CreateCollection { key, dimensions } => {
                let q = sqlx::query(
                    "INSERT INTO vector_log (collection, op, dimensions)
                     VALUES ($1, 'create', $2) RETURNING seq",
                )
                .bind(key.to_string())
                .bind(*dimensions as i32);
                self.seq(tx, q).await
            }
            LogEntry::DropCollection { key } => self.drop_collection(tx, *key).await,
            LogEntry::DeleteVersion {
                key,
                doc_id,
                version,
            } => self.delete_version(tx, *key, doc_id, *version).await,
            LogEntry::DeleteDocument { key, doc_id, keep } => {
                self.delete_document(tx, *key, doc_id, *keep).await
            }
        }
    }

    /// Run an INSERT ... RETURNING seq.
    async fn seq(&self, tx: &mut PgConnection, q: crate::pg::PgQuery<'_>) -> Result<i64, PgError> {
        let row = q.persistent(self.persistent).fetch_one(&mut *tx).await?;
        Ok(row.try_get("seq")?)
    }

    async fn exec(&self, tx: &mut PgConnection, q: crate::pg::PgQuery<'_>) -> Result<(), PgError> {
        q.persistent(self.persistent).execute(&mut *tx).await?;
        Ok(())
    }

    async fn drop_collection(
        &self,
        tx: &mut PgConnection,
        key: CollectionKey,
    ) -> Result<i64, PgError> {
        let key = key.to_string();
        let q = sqlx::query(
            "INSERT INTO vector_log (collection, op) VALUES ($1, 'drop') RETURNING seq",
        )
        .bind(&key);
        let seq = self.seq(tx, q).await?;
        // Nothing before a drop matters any more.
        let q = sqlx::query("DELETE FROM vector_log WHERE collection = $1 AND seq < $2")
            .bind(&key)
            .bind(seq);
        self.exec(tx, q).await?;
        Ok(seq)
    }

    async fn delete_version(
        &self,
        tx: &mut PgConnection,
        key: CollectionKey,
        doc_id: &str,
        version: Uuid,
    ) -> Result<i64, PgError> {
        let (key, version) = (key.to_string(), version.to_string());
        let q = sqlx::query(
            "INSERT INTO vector_log (collection, op, doc_id, version)
             VALUES ($1, 'delete_version', $2, $3::uuid) RETURNING seq",
        )
        .bind(&key)
        .bind(doc_id)
        .bind(&version);
        let seq = self.seq(tx, q).await?;
        // The version's earlier upserts go: replaying them would only add
        // points this entry removes.
        let q = sqlx::query(
            "DELETE FROM vector_log
             WHERE collection = $1 AND doc_id = $2 AND seq < $3
               AND op = 'upsert' AND version = $4::uuid",
        )
        .bind(&key)
        .bind(doc_id)
        .bind(seq)
        .bind(&version);
        self.exec(tx, q).await?;
        Ok(seq)
    }

    async fn delete_document(
        &self,
        tx: &mut PgConnection,
        key: CollectionKey,
        doc_id: &str,
        keep: Option<Uuid>,
    ) -> Result<i64, PgError> {
        let key = key.to_string();
        let keep = keep.map(|k| k.to_string());
        let q = sqlx::query(
            "INSERT INTO vector_log (collection, op, doc_id, version)
             VALUES ($1, 'delete', $2, $3::uuid) RETURNING seq",
        )
        .bind(&key)
        .bind(doc_id)
        .bind(&keep);
        let seq = self.seq(tx, q).await?;
        // Earlier upserts of other versions go: this entry deletes their
        // points anyway (from followers that applied them). Earlier deletes
        // that kept the same version (or any, when none is kept now) go too:
        // this entry deletes all they did. Earlier deletes that kept another
        // version stay: a follower that applied points of `keep` before them
        // needs them to remove those points, as history did.
        let q = sqlx::query(
            "DELETE FROM vector_log
             WHERE collection = $1 AND doc_id = $2 AND seq < $3
               AND ((op = 'upsert' AND version IS DISTINCT FROM $4::uuid)
                 OR (op = 'delete' AND ($4::uuid IS NULL OR version = $4::uuid)))",
        )
        .bind(&key)
        .bind(doc_id)
        .bind(seq)
        .bind(&keep);
        self.exec(tx, q).await?;
        Ok(seq)
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

/// Decodes one `vector_log` row.
struct LogRow<'r> {
    row: &'r PgRow,
    seq: u64,
    op: String,
}

impl<'r> LogRow<'r> {
    fn bad(&self, what: impl Into<String>) -> VectorError {
        VectorError::LogCorrupt {
            seq: self.seq,
            what: what.into(),
        }
    }

    fn need(&self, column: &str) -> VectorError {
        self.bad(format!("{} without {column}", self.op))
    }

    /// A nullable column.
    fn get<T>(&self, column: &str) -> Result<Option<T>, VectorError>
    where
        T: for<'a> sqlx::Decode<'a, Postgres> + sqlx::Type<Postgres>,
    {
        self.row
            .try_get::<Option<T>, _>(column)
            .map_err(|e| self.bad(e.to_string()))
    }

    /// A column the entry's op must have.
    fn must<T>(&self, column: &str) -> Result<T, VectorError>
    where
        T: for<'a> sqlx::Decode<'a, Postgres> + sqlx::Type<Postgres>,
    {
        self.get(column)?.ok_or_else(|| self.need(column))
    }

    fn uuid(&self, column: &str) -> Result<Option<Uuid>, VectorError> {
        self.get::<String>(column)?
            .map(|s| Uuid::parse_str(&s).map_err(|e| self.bad(format!("bad {column}: {e}"))))
            .transpose()
    }

    fn entry(&self, key: CollectionKey) -> Result<LogEntry, VectorError> {
        Ok(match self.op.as_str() {
            "create" => LogEntry::CreateCollection {
                key,
                dimensions: self.must::<i32>("dimensions")? as u32,
            },
            "drop" => LogEntry::DropCollection { key },
            "delete_version" => LogEntry::DeleteVersion {
                key,
                doc_id: self.must("doc_id")?,
                version: self.uuid("version")?.ok_or_else(|| self.need("version"))?,
            },
            "delete" => LogEntry::DeleteDocument {
                key,
                doc_id: self.must("doc_id")?,
                keep: self.uuid("version")?,
            },
            "upsert" => LogEntry::Upsert {
                key,
                point: self.point()?,
            },
            other => return Err(self.bad(format!("unknown op {other:?}"))),
        })
    }

    fn point(&self) -> Result<ChunkPoint, VectorError> {
        let dense: Vec<u8> = self.get("dense")?.unwrap_or_default();
        let vector =
            decode_dense(&dense).ok_or_else(|| self.bad("dense is not a whole number of f32"))?;
        let indices: Vec<i32> = self.get("sparse_indices")?.unwrap_or_default();
        let values: Vec<f32> = self.get("sparse_values")?.unwrap_or_default();
        if indices.len() != values.len() {
            return Err(self.bad("sparse indices and values differ in length"));
        }
        let metadata = match self.get::<String>("metadata")? {
            Some(m) => {
                serde_json::from_str(&m).map_err(|e| self.bad(format!("bad metadata JSON: {e}")))?
            }
            None => Metadata::new(),
        };
        Ok(ChunkPoint {
            id: self
                .uuid("point_id")?
                .ok_or_else(|| self.need("point_id"))?,
            doc_id: self.must("doc_id")?,
            version: self.uuid("version")?.ok_or_else(|| self.need("version"))?,
            chunk_index: self.must::<i32>("chunk_index")? as u32,
            vector,
            sparse: Sparse {
                indices: indices.into_iter().map(|x| x as u32).collect(),
                values,
            },
            metadata,
        })
    }
}

fn log_entry(row: &PgRow) -> Result<(u64, LogEntry), VectorError> {
    let seq: i64 = row.try_get("seq").map_err(PgError::from)?;
    let mut r = LogRow {
        row,
        seq: seq as u64,
        op: String::new(),
    };
    r.op = r.must("op")?;
    let key = r.must::<String>("collection")?;
    let key = key
        .parse::<CollectionKey>()
        .map_err(|e| r.bad(format!("bad collection key {key:?}: {e}")))?;
    Ok((seq as u64, r.entry(key)?))
}

#[async_trait]
impl VectorLog for PgLog {
    async fn append(&self, entries: Vec<LogEntry>) -> Result<u64, VectorError> {
        if entries.is_empty() {
            return self.head().await;
        }
        let seq = retry("vector log append", || self.append_once(&entries)).await?;
        Ok(seq as u64)
    }

    async fn head(&self) -> Result<u64, VectorError> {
        let row = self
            .pg
            .fetch_one(sqlx::query(
                "SELECT COALESCE(MAX(seq), 0) AS head FROM vector_log",
            ))
            .await?;
        let head: i64 = row.try_get("head").map_err(PgError::from)?;
        Ok(head as u64)
    }

    async fn read(&self, after: u64, limit: usize) -> Result<Vec<(u64, LogEntry)>, VectorError> {
        let rows = self
            .pg
            .fetch_all(
                sqlx::query(
                    "SELECT seq, collection, op, point_id::text AS point_id, doc_id,
                        version::text AS version, dimensions, chunk_index, dense,
                        sparse_indices, sparse_values, metadata::text AS metadata
                     FROM vector_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after.min(i64::MAX as u64) as i64)
                .bind(limit.min(i64::MAX as usize) as i64),
            )
            .await?;
        rows.iter().map(log_entry).collect()
    }
}

#[cfg(test)]
mod tests;
