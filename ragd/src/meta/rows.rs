//! Rows of the metadata tables, decoded once for both stores.
//!
//! SQLite and PostgreSQL select the same columns in the same shapes: keys,
//! versions and point ids as text, metadata as JSON text, counts as 64-bit
//! integers and times as RFC 3339 text (PostgreSQL casts in its SQL). Each
//! store only says how to read a text and an integer column ([`Columns`]).

use ragd_api::{DocumentFormat, Metadata};
use sqlx::Row;
use uuid::Uuid;

use super::{ChunkRow, CollectionRow, DocumentRow, MetaError};
use crate::key::CollectionKey;

/// A row of either database, read as the two column types the tables use.
pub trait Columns {
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
}

impl Columns for sqlx::sqlite::SqliteRow {
    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.try_get(col)
    }
    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        self.try_get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(col)
    }
}

impl Columns for sqlx::postgres::PgRow {
    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.try_get(col)
    }
    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        self.try_get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        // `page` is INT4 in PostgreSQL.
        Ok(self.try_get::<Option<i32>, _>(col)?.map(i64::from))
    }
}

pub fn parse_uuid(s: &str) -> Result<Uuid, MetaError> {
    Uuid::parse_str(s).map_err(|e| MetaError::Corrupt(format!("bad uuid {s:?}: {e}")))
}

fn parse_key(s: &str) -> Result<CollectionKey, MetaError> {
    parse_uuid(s).map(CollectionKey::from_uuid)
}

fn parse_meta(s: &str) -> Result<Metadata, MetaError> {
    serde_json::from_str(s).map_err(|e| MetaError::Corrupt(format!("bad metadata JSON: {e}")))
}

/// How a document's format is stored.
pub fn format_str(f: DocumentFormat) -> &'static str {
    match f {
        DocumentFormat::Text => "text",
        // HTML is stored as the Markdown it was converted to.
        DocumentFormat::Markdown | DocumentFormat::Html => "markdown",
    }
}

fn parse_format(s: &str) -> DocumentFormat {
    match s {
        "markdown" => DocumentFormat::Markdown,
        _ => DocumentFormat::Text,
    }
}

/// `key, name, embedder, model, dimensions, created_at`.
pub fn collection(r: &impl Columns) -> Result<CollectionRow, MetaError> {
    Ok(CollectionRow {
        key: parse_key(&r.text("key")?)?,
        name: r.text("name")?,
        embedder: r.text("embedder")?,
        model: r.text("model")?,
        dimensions: r.int("dimensions")? as u32,
        created_at: r.text("created_at")?,
    })
}

/// `id, version, text, metadata, format, chunks, bytes, updated_at, sha256`.
pub fn document(r: &impl Columns) -> Result<DocumentRow, MetaError> {
    Ok(DocumentRow {
        id: r.text("id")?,
        version: parse_uuid(&r.text("version")?)?,
        text: r.text("text")?,
        metadata: parse_meta(&r.text("metadata")?)?,
        format: parse_format(&r.text("format")?),
        chunks: r.int("chunks")? as u32,
        bytes: r.int("bytes")? as u64,
        updated_at: r.text("updated_at")?,
        sha256: r.opt_text("sha256")?,
    })
}

/// `point_id, doc_id, idx, text, heading, page, metadata` (the document's).
pub fn chunk(r: &impl Columns) -> Result<ChunkRow, MetaError> {
    Ok(ChunkRow {
        point_id: parse_uuid(&r.text("point_id")?)?,
        doc_id: r.text("doc_id")?,
        index: r.int("idx")? as u32,
        text: r.text("text")?,
        heading: r.text("heading")?,
        page: r.opt_int("page")?.and_then(|p| u32::try_from(p).ok()),
        metadata: parse_meta(&r.text("metadata")?)?,
    })
}

/// A version column (of `RETURNING version` or a lookup), if a row came back.
pub fn version(r: Option<impl Columns>) -> Result<Option<Uuid>, MetaError> {
    r.map(|r| parse_uuid(&r.text("version")?)).transpose()
}
