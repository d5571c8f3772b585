//! Collections: a named set of documents whose vectors all come from one
//! embedding model, fixed when the collection is created.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/collections`
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCollection {
    /// 1-64 characters: letters, digits, `-`, `_`, `.`; starts with a letter or digit.
    pub name: String,
    /// Name of an embedder from ragd's configuration (`[embedders.NAME]`).
    /// Defaults to `default`. The model behind it is recorded and fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder: Option<String>,
}

/// A collection as ragd reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Collection {
    pub name: String,
    /// Configured embedder name used for this collection.
    pub embedder: String,
    /// Identity of the model that produced the stored vectors.
    pub model: String,
    /// Vector dimensions of that model.
    pub dimensions: u32,
    /// Number of documents stored.
    pub documents: u64,
    /// Number of chunks stored (metadata store).
    pub chunks: u64,
    /// Points in the vector store, in `GET /v1/collections/{name}` only
    /// (a list does not count every collection's vectors). Equal to
    /// `chunks` once no write is in flight and the orphan sweep has run
    /// after a crash (with embedded vectors on PostgreSQL: once this
    /// replica has followed the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vectors: Option<u64>,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// `GET /v1/collections?limit=&after=`: one page, in name order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CollectionList {
    pub collections: Vec<Collection>,
    /// The cursor of the next page (`?after=` this); absent on the last.
    /// A key limited to collections sees only its own, so its pages may
    /// hold fewer than `limit`: follow `next` until it is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `?limit=&after=` of the list routes: cursor (keyset) pagination, stable
/// while documents are added or removed (a page starts strictly after the
/// last name or id of the one before; nothing is skipped or repeated).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to [`MAX_PAGE_LIMIT`] (default [`DEFAULT_PAGE_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Start after this name or id (the `next` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Items of a list page when `limit` is not given.
pub const DEFAULT_PAGE_LIMIT: u32 = 100;
/// Largest accepted `limit`.
pub const MAX_PAGE_LIMIT: u32 = 1000;
