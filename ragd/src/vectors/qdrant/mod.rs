//! A Qdrant server over gRPC (qdrant-client), shared by every replica.
//!
//! Same contract as the embedded [`EdgeStore`](super::edge::EdgeStore):
//! - one Qdrant collection per ragd collection key, named
//!   `<collection_prefix><key>`, with the dense vector [`DENSE`] (cosine) and
//!   the sparse vector [`SPARSE`] (BM25 term frequencies, IDF applied by
//!   Qdrant at query time);
//! - the same payload ([`super::layout`]), so a filter key `k` matches
//!   `meta.k`;
//! - the same filter semantics (every key must match; a list is any-of;
//!   strings match exactly, never as full text);
//! - the same search: dense and sparse are two nearest-neighbour queries
//!   (sent in one batch), ranked and cut like every store's
//!   ([`super::nearest_complete`]); a hybrid search fuses them here with
//!   [`super::rrf`].
//!
//! Writes use `wait=true`: an upsert or delete returns once Qdrant has
//! applied it, so every replica's next search sees it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use qdrant_client::qdrant::r#match::MatchValue;
use qdrant_client::qdrant::point_id::PointIdOptions;
use qdrant_client::qdrant::vectors_config::Config as VectorsConfigKind;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
    DeleteCollectionBuilder, DeletePointsBuilder, Distance, FieldType, Filter, Modifier,
    NamedVectors, PointStruct, Query, QueryBatchPointsBuilder, QueryPoints, QueryPointsBuilder,
    RepeatedIntegers, RepeatedStrings, ScoredPoint, SparseVectorParamsBuilder,
    SparseVectorsConfigBuilder, StrictModeConfig, UpsertPointsBuilder, Vector, VectorInput,
    VectorParamsBuilder, VectorsConfigBuilder,
};
use qdrant_client::{Payload, Qdrant, QdrantError};
use uuid::Uuid;

use super::layout::{self, DENSE, INDEXED_FIELDS, SPARSE};
use super::{
    ChunkPoint, FilterValue, Hit, MetaFilter, SearchQuery, Sparse, VectorError, VectorStore,
    combine, nearest_complete,
};
use crate::config::{QdrantConfig, redact_url};
use crate::key::CollectionKey;

/// Points per upsert request (keeps each gRPC message well under the limit).
const UPSERT_BATCH: usize = 256;

pub struct QdrantStore {
    client: Qdrant,
    /// The server URL without its password, for error messages.
    url: String,
    prefix: String,
}

/// gRPC status codes (tonic::Code) this module tells apart.
const CODE_NOT_FOUND: i32 = 5;

impl QdrantStore {
    /// Connect to the server in `cfg` and check that it answers. A failed
    /// first health check is an error naming the URL: the caller decides
    /// whether to retry or stop.
    pub async fn open(cfg: &QdrantConfig) -> Result<Arc<QdrantStore>, VectorError> {
        let url = redact_url(&cfg.url);
        let api_key = match &cfg.api_key_env {
            Some(var) => match std::env::var(var) {
                Ok(key) if !key.is_empty() => Some(key),
                _ => {
                    return Err(VectorError::QdrantRefused {
                        url,
                        problem: format!(
                            "environment variable {var} (vectors.api_key_env) is not set"
                        ),
                    });
                }
            },
            None => None,
        };
        let timeout = Duration::from_millis(cfg.timeout_ms.max(1));
        // The client's own compatibility check blocks a thread and prints to
        // stdout: the version is checked below instead.
        let client = Qdrant::from_url(&cfg.url)
            .api_key(api_key)
            .timeout(timeout)
            .connect_timeout(timeout)
            .skip_compatibility_check()
            .build()
            .map_err(|source| VectorError::Qdrant {
                url: url.clone(),
                what: "client".into(),
                source,
            })?;
        let store = QdrantStore {
            client,
            url,
            prefix: cfg.collection_prefix.clone(),
        };
        let reply = store.client.health_check().await.map_err(|e| {
            store.backend(
                "health check failed (is vectors.url the gRPC port, usually 6334?)",
                e,
            )
        })?;
        let version = reply.version;
        if !version_supported(&version) {
            tracing::warn!(url = %store.url, %version, "Qdrant server older than 1.10: the Query API ragd uses may be missing");
        } else {
            tracing::info!(url = %store.url, %version, "connected to Qdrant");
        }
        Ok(Arc::new(store))
    }

    /// The Qdrant collection holding ragd collection `key`.
    pub fn collection_name(&self, key: CollectionKey) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Keys of the ragd collections on the server (Qdrant collections
    /// whose name starts with the prefix).
    pub async fn keys(&self) -> Result<Vec<CollectionKey>, VectorError> {
        let list = self
            .client
            .list_collections()
            .await
            .map_err(|e| self.backend("list collections", e))?;
        let mut keys: Vec<CollectionKey> = list
            .collections
            .into_iter()
            .filter_map(|c| c.name.strip_prefix(&self.prefix)?.parse().ok())
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn backend(&self, what: &str, source: QdrantError) -> VectorError {
        VectorError::Qdrant {
            url: self.url.clone(),
            what: what.to_string(),
            source,
        }
    }

    /// An error on collection `key`: a missing collection is reported as
    /// such, like the embedded store does.
    fn collection_error(&self, key: CollectionKey, what: &str, e: QdrantError) -> VectorError {
        if is_missing_collection(&e) {
            VectorError::NoSuchCollection(key)
        } else {
            self.backend(&format!("{what} {}", self.collection_name(key)), e)
        }
    }

    /// Delete the points of collection `key` that match `filter`, waiting
    /// until the deletion is applied.
    async fn delete_where(&self, key: CollectionKey, filter: Filter) -> Result<(), VectorError> {
        let name = self.collection_name(key);
        self.client
            .delete_points(DeletePointsBuilder::new(&name).points(filter).wait(true))
            .await
            .map_err(|e| self.collection_error(key, "delete from", e))?;
        Ok(())
    }

    /// An existing collection (created by another replica) must have the
    /// layout this store would have created.
    async fn check_layout(&self, name: &str, dimensions: u32) -> Result<(), VectorError> {
        let info = self
            .client
            .collection_info(name)
            .await
            .map_err(|e| self.backend(&format!("collection info {name}"), e))?;
        let params = info.result.and_then(|i| i.config).and_then(|c| c.params);
        let dense = params
            .as_ref()
            .and_then(|p| p.vectors_config.as_ref())
            .and_then(|v| v.config.as_ref())
            .and_then(|c| match c {
                VectorsConfigKind::ParamsMap(m) => m.map.get(DENSE).cloned(),
                VectorsConfigKind::Params(_) => None,
            });
        let sparse = params
            .as_ref()
            .and_then(|p| p.sparse_vectors_config.as_ref())
            .and_then(|s| s.map.get(SPARSE).cloned());
        let mismatch = |m: String| VectorError::QdrantRefused {
            url: self.url.clone(),
            problem: format!("collection {name} already exists with another layout: {m}"),
        };
        match dense {
            Some(d) if d.size == dimensions as u64 && d.distance == Distance::Cosine as i32 => {}
            Some(d) => {
                return Err(mismatch(format!(
                    "vector {DENSE:?} has {} dimensions and distance {}, want {dimensions} and cosine",
                    d.size, d.distance
                )));
            }
            None => return Err(mismatch(format!("no vector named {DENSE:?}"))),
        }
        match sparse {
            Some(s) if s.modifier == Some(Modifier::Idf as i32) => Ok(()),
            Some(_) => Err(mismatch(format!(
                "sparse vector {SPARSE:?} has no IDF modifier"
            ))),
            None => Err(mismatch(format!("no sparse vector named {SPARSE:?}"))),
        }
    }
    /// Run nearest-neighbour queries on collection `key` (one request, or
    /// one batch); one (id, score) list per query, in order.
    async fn query_all(
        &self,
        key: CollectionKey,
        name: &str,
        mut requests: Vec<QueryPoints>,
    ) -> Result<Vec<Vec<(Uuid, f32)>>, VectorError> {
        let want = requests.len();
        let results = match want {
            0 => return Ok(Vec::new()),
            1 => {
                let request = requests.pop().expect("one request");
                let response = self
                    .client
                    .query(request)
                    .await
                    .map_err(|e| self.collection_error(key, "search", e))?;
                vec![scored(response.result)]
            }
            _ => self
                .client
                .query_batch(QueryBatchPointsBuilder::new(name, requests))
                .await
                .map_err(|e| self.collection_error(key, "search", e))?
                .result
                .into_iter()
                .map(|r| scored(r.result))
                .collect(),
        };
        if results.len() != want {
            return Err(VectorError::QdrantRefused {
                url: self.url.clone(),
                problem: format!("search {name}: fewer results than queries"),
            });
        }
        Ok(results)
    }
}

/// A readable error: the gRPC code and message, without the metadata dump
/// of `QdrantError`'s own `Display`.
pub(crate) fn describe(e: &QdrantError) -> String {
    match e {
        QdrantError::ResponseError { status } => {
            format!("{:?}: {}", status.code(), status.message())
        }
        QdrantError::ResourceExhaustedError {
            status,
            retry_after_seconds,
        } => format!(
            "resource exhausted: {} (retry after {retry_after_seconds} s)",
            status.message()
        ),
        other => other.to_string(),
    }
}

fn is_missing_collection(e: &QdrantError) -> bool {
    match e {
        QdrantError::ResponseError { status } => {
            let message = status.message();
            status.code() as i32 == CODE_NOT_FOUND
                || (message.contains("Collection") && message.contains("doesn't exist"))
        }
        _ => false,
    }
}

/// The Query API (used for every search) exists from Qdrant 1.10.
fn version_supported(version: &str) -> bool {
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => major > 1 || (major == 1 && minor >= 10),
        // An unknown version string: let the requests decide.
        _ => true,
    }
}

/// The request creating collection `name`.
fn create_request(name: &str, dimensions: u32) -> CreateCollectionBuilder {
    let mut dense = VectorsConfigBuilder::default();
    dense.add_named_vector_params(
        DENSE,
        VectorParamsBuilder::new(dimensions as u64, Distance::Cosine),
    );
    let mut sparse = SparseVectorsConfigBuilder::default();
    sparse.add_named_vector_params(
        SPARSE,
        SparseVectorParamsBuilder::default().modifier(Modifier::Idf),
    );
    CreateCollectionBuilder::new(name)
        .vectors_config(dense)
        .sparse_vectors_config(sparse)
        // Deprecated since Qdrant 1.19 (`payload.memory`), but understood by
        // every server version.
        .on_disk_payload(true)
        // Filters may name any metadata key, so they cannot all be indexed:
        // a strict-mode default (e.g. on Qdrant Cloud) would reject them.
        .strict_mode_config(StrictModeConfig {
            enabled: Some(false),
            ..Default::default()
        })
}

fn to_point(p: ChunkPoint) -> PointStruct {
    let payload = Payload::from(layout::payload(&p));
    let mut vectors = NamedVectors::default().add_vector(DENSE, Vector::new_dense(p.vector));
    if !p.sparse.is_empty() {
        vectors = vectors.add_vector(
            SPARSE,
            Vector::new_sparse(p.sparse.indices, p.sparse.values),
        );
    }
    PointStruct::new(p.id.to_string(), vectors, payload)
}

fn keyword(field: &str, value: String) -> Condition {
    // Not `Condition::matches(field, String)`: that turns a string with
    // whitespace into a full-text match.
    Condition::matches(field, MatchValue::Keyword(value))
}

/// The metadata filter as a Qdrant filter (`None`: match everything).
fn to_filter(filter: &MetaFilter) -> Option<Filter> {
    if filter.0.is_empty() {
        return None;
    }
    let conds = filter.0.iter().map(|(key, v)| {
        let field = layout::meta_field(key);
        let m = match v {
            FilterValue::String(s) => MatchValue::Keyword(s.clone()),
            FilterValue::Integer(i) => MatchValue::Integer(*i),
            FilterValue::Bool(b) => MatchValue::Boolean(*b),
            FilterValue::AnyString(v) => {
                MatchValue::Keywords(RepeatedStrings { strings: v.clone() })
            }
            FilterValue::AnyInteger(v) => MatchValue::Integers(RepeatedIntegers {
                integers: v.clone(),
            }),
        };
        Condition::matches(field, m)
    });
    Some(Filter::must(conds))
}

/// Points of `doc_id` except those of version `keep`.
fn delete_filter(doc_id: &str, keep: Option<Uuid>) -> Filter {
    let mut filter = Filter::must([keyword(layout::DOC_ID, doc_id.to_string())]);
    if let Some(v) = keep {
        filter.must_not = vec![keyword(layout::VERSION, v.to_string())];
    }
    filter
}

/// Points of one version of a document.
fn version_filter(doc_id: &str, version: Uuid) -> Filter {
    Filter::must([
        keyword(layout::DOC_ID, doc_id.to_string()),
        keyword(layout::VERSION, version.to_string()),
    ])
}

fn nearest(
    collection: &str,
    using: &str,
    input: VectorInput,
    limit: usize,
    filter: &Option<Filter>,
) -> QueryPoints {
    let mut q = QueryPointsBuilder::new(collection)
        .query(Query::new_nearest(input))
        .using(using)
        .limit(limit as u64)
        .with_payload(false)
        .with_vectors(false);
    if let Some(f) = filter {
        q = q.filter(f.clone());
    }
    q.build()
}

/// (point id, score) of each result; points with a numeric id are not ours.
fn scored(points: Vec<ScoredPoint>) -> Vec<(Uuid, f32)> {
    points
        .into_iter()
        .filter_map(|p| match p.id?.point_id_options? {
            PointIdOptions::Uuid(s) => Uuid::parse_str(&s).ok().map(|id| (id, p.score)),
            PointIdOptions::Num(_) => None,
        })
        .collect()
}

fn sparse_input(s: Sparse) -> VectorInput {
    VectorInput::new_sparse(s.indices, s.values)
}

#[async_trait]
impl VectorStore for QdrantStore {
    fn kind(&self) -> &'static str {
        "qdrant"
    }

    async fn create_collection(
        &self,
        key: CollectionKey,
        dimensions: u32,
    ) -> Result<(), VectorError> {
        let name = self.collection_name(key);
        if let Err(e) = self
            .client
            .create_collection(create_request(&name, dimensions))
            .await
        {
            // Another replica may have created it first (Qdrant reports that
            // as an error whose code varies by version): fine if it exists
            // with the same layout.
            match self.client.collection_exists(&name).await {
                Ok(true) => self.check_layout(&name, dimensions).await?,
                _ => return Err(self.backend(&format!("create collection {name}"), e)),
            }
        }
        for field in INDEXED_FIELDS {
            // Creating an index that exists is a no-op.
            self.client
                .create_field_index(
                    CreateFieldIndexCollectionBuilder::new(&name, field, FieldType::Keyword)
                        .wait(true),
                )
                .await
                .map_err(|e| self.collection_error(key, &format!("index {field} of"), e))?;
        }
        Ok(())
    }

    async fn drop_collection(&self, key: CollectionKey) -> Result<(), VectorError> {
        let name = self.collection_name(key);
        match self
            .client
            .delete_collection(DeleteCollectionBuilder::new(&name))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_missing_collection(&e) => Ok(()),
            Err(e) => match self.client.collection_exists(&name).await {
                Ok(false) => Ok(()),
                _ => Err(self.backend(&format!("delete collection {name}"), e)),
            },
        }
    }

    async fn upsert(&self, key: CollectionKey, points: Vec<ChunkPoint>) -> Result<(), VectorError> {
        if points.is_empty() {
            return Ok(());
        }
        let name = self.collection_name(key);
        let mut points: Vec<PointStruct> = points.into_iter().map(to_point).collect();
        while !points.is_empty() {
            let rest = points.split_off(points.len().min(UPSERT_BATCH));
            self.client
                .upsert_points(UpsertPointsBuilder::new(&name, points).wait(true))
                .await
                .map_err(|e| self.collection_error(key, "upsert into", e))?;
            points = rest;
        }
        Ok(())
    }

    async fn delete_document(
        &self,
        key: CollectionKey,
        doc_id: &str,
        keep: Option<Uuid>,
    ) -> Result<(), VectorError> {
        self.delete_where(key, delete_filter(doc_id, keep)).await
    }

    async fn delete_version(
        &self,
        key: CollectionKey,
        doc_id: &str,
        version: Uuid,
    ) -> Result<(), VectorError> {
        self.delete_where(key, version_filter(doc_id, version))
            .await
    }

    async fn search(
        &self,
        key: CollectionKey,
        query: &SearchQuery,
        limit: usize,
        filter: &MetaFilter,
    ) -> Result<Vec<Hit>, VectorError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let name = self.collection_name(key);
        let filter = to_filter(filter);
        let mut inputs = Vec::with_capacity(2);
        if let Some(v) = &query.dense {
            inputs.push((DENSE, VectorInput::new_dense(v.clone())));
        }
        if let Some(s) = query.sparse.as_ref().filter(|s| !s.is_empty()) {
            inputs.push((SPARSE, sparse_input(s.clone())));
        }
        // Both lists in one round trip; a list whose cut falls inside a run
        // of equal scores is asked again, alone, for more.
        let requests = inputs
            .iter()
            .map(|(using, input)| nearest(&name, using, input.clone(), limit, &filter))
            .collect();
        let mut firsts = self.query_all(key, &name, requests).await?.into_iter();
        let name = name.as_str();
        let mut lists = Vec::with_capacity(inputs.len());
        for (using, input) in &inputs {
            let mut first = firsts.next();
            let list = nearest_complete(limit, |n| {
                let ready = first.take();
                let request = nearest(name, using, input.clone(), n, &filter);
                async move {
                    match ready {
                        Some(r) => Ok(r),
                        None => Ok(self.query_all(key, name, vec![request]).await?.remove(0)),
                    }
                }
            })
            .await?;
            lists.push((*using, list));
        }
        let mut take = |using: &str| {
            lists
                .iter()
                .position(|(u, _)| *u == using)
                .map(|i| lists.swap_remove(i).1)
        };
        let dense = take(DENSE);
        let sparse = take(SPARSE);
        Ok(combine(dense, sparse, query, limit))
    }

    async fn count(&self, key: CollectionKey) -> Result<u64, VectorError> {
        let name = self.collection_name(key);
        let response = self
            .client
            .count(CountPointsBuilder::new(&name).exact(true))
            .await
            .map_err(|e| self.collection_error(key, "count", e))?;
        Ok(response.result.map(|r| r.count).unwrap_or(0))
    }

    async fn health(&self) -> Result<(), VectorError> {
        self.client
            .health_check()
            .await
            .map(|_| ())
            .map_err(|e| self.backend("health check", e))
    }
}

#[cfg(test)]
mod tests;
