//! A Qdrant server over gRPC (qdrant-client), shared by every replica.
//!
//! Same contract as the embedded [`EdgeStore`](super::edge::EdgeStore):
//! - one Qdrant collection per ragd collection key, named
//!   `<collection_prefix><key>`, with the dense vector [`DENSE`] (cosine) and
//!   the sparse vector [`SPARSE`] (BM25 term frequencies, IDF applied by
//!   Qdrant at query time);
//! - the same payload: `{"doc_id", "version", "chunk", "meta": {...}}`, so a
//!   filter key `k` matches `meta.k`;
//! - the same filter semantics (every key must match; a list is any-of;
//!   strings match exactly, never as full text);
//! - the same search: dense and sparse are two nearest-neighbour queries
//!   (sent in one batch), a hybrid search fuses them here with [`rrf`].
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

pub use super::edge::{DENSE, SPARSE};
use super::{
    ChunkPoint, FilterValue, Hit, MetaFilter, SearchQuery, Sparse, VectorError, VectorStore,
    combine,
};
use crate::config::{QdrantConfig, redact_url};

/// Payload fields with a keyword index: deletes and re-ingests filter on them.
const INDEXED_FIELDS: [&str; 2] = ["doc_id", "version"];

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
        let fail = {
            let url = url.clone();
            move |m: String| VectorError::Backend(format!("qdrant {url}: {m}"))
        };
        let api_key = match &cfg.api_key_env {
            Some(var) => match std::env::var(var) {
                Ok(key) if !key.is_empty() => Some(key),
                _ => {
                    return Err(fail(format!(
                        "environment variable {var} (vectors.api_key_env) is not set"
                    )));
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
            .map_err(|e| fail(describe(&e)))?;
        let store = QdrantStore {
            client,
            url,
            prefix: cfg.collection_prefix.clone(),
        };
        let reply = store.client.health_check().await.map_err(|e| {
            fail(format!(
                "health check failed (is vectors.url the gRPC port, usually 6334?): {}",
                describe(&e)
            ))
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
    pub fn collection_name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Keys of the ragd collections on the server (Qdrant collections
    /// whose name starts with the prefix).
    pub async fn keys(&self) -> Result<Vec<String>, VectorError> {
        let list = self
            .client
            .list_collections()
            .await
            .map_err(|e| self.backend("list collections", &e))?;
        let mut keys: Vec<String> = list
            .collections
            .into_iter()
            .filter_map(|c| c.name.strip_prefix(&self.prefix).map(String::from))
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn backend(&self, what: &str, e: &QdrantError) -> VectorError {
        VectorError::Backend(format!("qdrant {}: {what}: {}", self.url, describe(e)))
    }

    /// An error on collection `key`: a missing collection is reported as
    /// such, like the embedded store does.
    fn collection_error(&self, key: &str, what: &str, e: &QdrantError) -> VectorError {
        if is_missing_collection(e) {
            VectorError::NoSuchCollection(key.to_string())
        } else {
            self.backend(&format!("{what} {}", self.collection_name(key)), e)
        }
    }

    /// Delete the points of collection `key` that match `filter`, waiting
    /// until the deletion is applied.
    async fn delete_where(&self, key: &str, filter: Filter) -> Result<(), VectorError> {
        let name = self.collection_name(key);
        self.client
            .delete_points(DeletePointsBuilder::new(&name).points(filter).wait(true))
            .await
            .map_err(|e| self.collection_error(key, "delete from", &e))?;
        Ok(())
    }

    /// An existing collection (created by another replica) must have the
    /// layout this store would have created.
    async fn check_layout(&self, name: &str, dimensions: u32) -> Result<(), VectorError> {
        let info = self
            .client
            .collection_info(name)
            .await
            .map_err(|e| self.backend(&format!("collection info {name}"), &e))?;
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
        let mismatch = |m: String| {
            VectorError::Backend(format!(
                "qdrant {}: collection {name} already exists with another layout: {m}",
                self.url
            ))
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
}

/// A readable error: the gRPC code and message, without the metadata dump
/// of `QdrantError`'s own `Display`.
fn describe(e: &QdrantError) -> String {
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

/// The payload of a point, as the embedded store writes it.
fn payload(p: &ChunkPoint) -> Payload {
    let mut map = serde_json::Map::new();
    map.insert("doc_id".into(), p.doc_id.clone().into());
    map.insert("version".into(), p.version.to_string().into());
    map.insert("chunk".into(), p.chunk_index.into());
    map.insert("meta".into(), serde_json::Value::Object(p.metadata.clone()));
    Payload::from(map)
}

fn to_point(p: ChunkPoint) -> PointStruct {
    let payload = payload(&p);
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
        let field = format!("meta.{key}");
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
    let mut filter = Filter::must([keyword("doc_id", doc_id.to_string())]);
    if let Some(v) = keep {
        filter.must_not = vec![keyword("version", v.to_string())];
    }
    filter
}

/// Points of one version of a document.
fn version_filter(doc_id: &str, version: Uuid) -> Filter {
    Filter::must([
        keyword("doc_id", doc_id.to_string()),
        keyword("version", version.to_string()),
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

    async fn create_collection(&self, key: &str, dimensions: u32) -> Result<(), VectorError> {
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
                _ => return Err(self.backend(&format!("create collection {name}"), &e)),
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
                .map_err(|e| self.collection_error(key, &format!("index {field} of"), &e))?;
        }
        Ok(())
    }

    async fn drop_collection(&self, key: &str) -> Result<(), VectorError> {
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
                _ => Err(self.backend(&format!("delete collection {name}"), &e)),
            },
        }
    }

    async fn upsert(&self, key: &str, points: Vec<ChunkPoint>) -> Result<(), VectorError> {
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
                .map_err(|e| self.collection_error(key, "upsert into", &e))?;
            points = rest;
        }
        Ok(())
    }

    async fn delete_document(
        &self,
        key: &str,
        doc_id: &str,
        keep: Option<Uuid>,
    ) -> Result<(), VectorError> {
        self.delete_where(key, delete_filter(doc_id, keep)).await
    }

    async fn delete_version(
        &self,
        key: &str,
        doc_id: &str,
        version: Uuid,
    ) -> Result<(), VectorError> {
        self.delete_where(key, version_filter(doc_id, version))
            .await
    }

    async fn search(
        &self,
        key: &str,
        query: &SearchQuery,
        limit: usize,
        filter: &MetaFilter,
    ) -> Result<Vec<Hit>, VectorError> {
        let name = self.collection_name(key);
        let filter = to_filter(filter);
        let mut requests = Vec::with_capacity(2);
        let want_dense = query.dense.is_some();
        if let Some(v) = &query.dense {
            requests.push(nearest(
                &name,
                DENSE,
                VectorInput::new_dense(v.clone()),
                limit,
                &filter,
            ));
        }
        let want_sparse = matches!(&query.sparse, Some(s) if !s.is_empty());
        if want_sparse && let Some(s) = &query.sparse {
            requests.push(nearest(
                &name,
                SPARSE,
                sparse_input(s.clone()),
                limit,
                &filter,
            ));
        }
        if requests.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut results = if requests.len() == 1 {
            let request = requests.pop().expect("one request");
            let response = self
                .client
                .query(request)
                .await
                .map_err(|e| self.collection_error(key, "search", &e))?;
            vec![scored(response.result)]
        } else {
            let response = self
                .client
                .query_batch(QueryBatchPointsBuilder::new(&name, requests))
                .await
                .map_err(|e| self.collection_error(key, "search", &e))?;
            response
                .result
                .into_iter()
                .map(|r| scored(r.result))
                .collect()
        }
        .into_iter();
        let dense = if want_dense { results.next() } else { None };
        let sparse = if want_sparse { results.next() } else { None };
        if (want_dense && dense.is_none()) || (want_sparse && sparse.is_none()) {
            return Err(VectorError::Backend(format!(
                "qdrant {}: search {name}: fewer results than queries",
                self.url
            )));
        }
        Ok(combine(dense, sparse, query, limit))
    }

    async fn count(&self, key: &str) -> Result<u64, VectorError> {
        let name = self.collection_name(key);
        let response = self
            .client
            .count(CountPointsBuilder::new(&name).exact(true))
            .await
            .map_err(|e| self.collection_error(key, "count", &e))?;
        Ok(response.result.map(|r| r.count).unwrap_or(0))
    }

    async fn health(&self) -> Result<(), VectorError> {
        self.client
            .health_check()
            .await
            .map(|_| ())
            .map_err(|e| self.backend("health check", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdrant_client::qdrant::PointId;
    use qdrant_client::qdrant::condition::ConditionOneOf;
    use qdrant_client::qdrant::points_selector::PointsSelectorOneOf;
    use qdrant_client::qdrant::vector::Vector as VectorKind;
    use qdrant_client::qdrant::vectors::VectorsOptions;
    use serde_json::json;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// (key, match) of each condition of a filter's `must` list.
    fn matches(conds: &[Condition]) -> Vec<(String, MatchValue)> {
        conds
            .iter()
            .map(|c| match &c.condition_one_of {
                Some(ConditionOneOf::Field(f)) => (
                    f.key.clone(),
                    f.r#match
                        .clone()
                        .and_then(|m| m.match_value)
                        .expect("a match condition"),
                ),
                other => panic!("not a field condition: {other:?}"),
            })
            .collect()
    }

    fn parse(v: serde_json::Value) -> MetaFilter {
        MetaFilter::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn an_empty_filter_matches_everything() {
        assert!(to_filter(&MetaFilter::default()).is_none());
    }

    #[test]
    fn filters_match_metadata_keys_like_the_embedded_store() {
        let f = to_filter(&parse(json!({
            "city": "New York",
            "topic": "geology",
            "year": 2020,
            "draft": false,
            "tags": ["a b", "c"],
            "n": [1, -2],
        })))
        .unwrap();
        assert!(f.should.is_empty() && f.must_not.is_empty() && f.min_should.is_none());
        let mut got = matches(&f.must);
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![
                // A string with a space is an exact keyword, not full text.
                ("meta.city".into(), MatchValue::Keyword("New York".into())),
                ("meta.draft".into(), MatchValue::Boolean(false)),
                (
                    "meta.n".into(),
                    MatchValue::Integers(RepeatedIntegers {
                        integers: vec![1, -2]
                    })
                ),
                (
                    "meta.tags".into(),
                    MatchValue::Keywords(RepeatedStrings {
                        strings: vec!["a b".into(), "c".into()]
                    })
                ),
                ("meta.topic".into(), MatchValue::Keyword("geology".into())),
                ("meta.year".into(), MatchValue::Integer(2020)),
            ]
        );
    }

    #[test]
    fn version_filter_matches_doc_and_version() {
        let v = id(9);
        let f = version_filter("doc one", v);
        assert_eq!(
            matches(&f.must),
            vec![
                ("doc_id".into(), MatchValue::Keyword("doc one".into())),
                ("version".into(), MatchValue::Keyword(v.to_string()))
            ]
        );
        assert!(f.must_not.is_empty());
    }

    #[test]
    fn delete_filter_keeps_one_version() {
        let v = id(7);
        let f = delete_filter("doc one", Some(v));
        assert_eq!(
            matches(&f.must),
            vec![("doc_id".into(), MatchValue::Keyword("doc one".into()))]
        );
        assert_eq!(
            matches(&f.must_not),
            vec![("version".into(), MatchValue::Keyword(v.to_string()))]
        );
        let f = delete_filter("d", None);
        assert_eq!(f.must.len(), 1);
        assert!(f.must_not.is_empty() && f.should.is_empty());
        // It is sent as a filter selector.
        let request = DeletePointsBuilder::new("c")
            .points(delete_filter("d", None))
            .wait(true)
            .build();
        assert!(request.wait == Some(true));
        assert!(matches!(
            request.points.and_then(|p| p.points_selector_one_of),
            Some(PointsSelectorOneOf::Filter(_))
        ));
    }

    fn chunk(sparse: Sparse) -> ChunkPoint {
        let mut metadata = serde_json::Map::new();
        metadata.insert("topic".into(), json!("geology"));
        metadata.insert("year".into(), json!(2020));
        metadata.insert("tags".into(), json!(["a", "b"]));
        metadata.insert("nested".into(), json!({"x": 1.5, "ok": true, "none": null}));
        ChunkPoint {
            id: id(1),
            doc_id: "volcano".into(),
            version: id(2),
            chunk_index: 3,
            vector: vec![0.5, 0.25],
            sparse,
            metadata,
        }
    }

    #[test]
    fn points_carry_the_embedded_payload_and_named_vectors() {
        let p = to_point(chunk(Sparse {
            indices: vec![4, 9],
            values: vec![1.0, 2.0],
        }));
        assert_eq!(
            p.id.clone().and_then(|i| i.point_id_options),
            Some(PointIdOptions::Uuid(id(1).to_string()))
        );
        let payload = serde_json::Value::from(Payload::from(p.payload.clone()));
        assert_eq!(
            payload,
            json!({
                "doc_id": "volcano",
                "version": id(2).to_string(),
                "chunk": 3,
                "meta": {"topic": "geology", "year": 2020, "tags": ["a", "b"],
                         "nested": {"x": 1.5, "ok": true, "none": null}},
            })
        );
        let Some(VectorsOptions::Vectors(named)) = p.vectors.and_then(|v| v.vectors_options) else {
            panic!("named vectors expected");
        };
        let mut names: Vec<&String> = named.vectors.keys().collect();
        names.sort();
        assert_eq!(names, vec![SPARSE, DENSE]);
        match named.vectors[DENSE].vector.clone() {
            Some(VectorKind::Dense(d)) => assert_eq!(d.data, vec![0.5, 0.25]),
            other => panic!("dense expected: {other:?}"),
        }
        match named.vectors[SPARSE].vector.clone() {
            Some(VectorKind::Sparse(s)) => {
                assert_eq!(s.indices, vec![4, 9]);
                assert_eq!(s.values, vec![1.0, 2.0]);
            }
            other => panic!("sparse expected: {other:?}"),
        }
    }

    #[test]
    fn an_empty_sparse_vector_is_left_out() {
        let p = to_point(chunk(Sparse::default()));
        let Some(VectorsOptions::Vectors(named)) = p.vectors.and_then(|v| v.vectors_options) else {
            panic!("named vectors expected");
        };
        assert_eq!(named.vectors.keys().collect::<Vec<_>>(), vec![DENSE]);
    }

    #[test]
    fn collections_are_created_with_the_embedded_layout() {
        let c = create_request("ragd_k", 384).build();
        assert_eq!(c.collection_name, "ragd_k");
        let Some(VectorsConfigKind::ParamsMap(m)) = c.vectors_config.and_then(|v| v.config) else {
            panic!("named dense vector expected");
        };
        assert_eq!(m.map.len(), 1);
        assert_eq!(m.map[DENSE].size, 384);
        assert_eq!(m.map[DENSE].distance, Distance::Cosine as i32);
        let sparse = c.sparse_vectors_config.unwrap();
        assert_eq!(sparse.map.len(), 1);
        assert_eq!(sparse.map[SPARSE].modifier, Some(Modifier::Idf as i32));
        // Deprecated since Qdrant 1.19 in favour of `payload.memory`, which
        // older servers do not know; every server still honours it.
        #[allow(deprecated)]
        let on_disk = c.on_disk_payload;
        assert_eq!(on_disk, Some(true));
        assert_eq!(c.strict_mode_config.and_then(|s| s.enabled), Some(false));
    }

    #[test]
    fn searches_ask_for_ids_and_scores_only() {
        let filter = to_filter(&parse(json!({"topic": "x"})));
        let q = nearest(
            "c",
            SPARSE,
            sparse_input(Sparse {
                indices: vec![1],
                values: vec![1.0],
            }),
            7,
            &filter,
        );
        assert_eq!(q.collection_name, "c");
        assert_eq!(q.using.as_deref(), Some(SPARSE));
        assert_eq!(q.limit, Some(7));
        assert!(q.filter.is_some());
        assert!(q.query.is_some());
        let q = nearest("c", DENSE, VectorInput::new_dense(vec![1.0]), 3, &None);
        assert!(q.filter.is_none());
        assert_eq!(q.using.as_deref(), Some(DENSE));
    }

    #[test]
    fn scored_points_keep_uuid_ids_in_order() {
        let point = |id: PointIdOptions, score: f32| ScoredPoint {
            id: Some(PointId {
                point_id_options: Some(id),
            }),
            score,
            ..Default::default()
        };
        let got = scored(vec![
            point(PointIdOptions::Uuid(id(3).to_string()), 0.9),
            point(PointIdOptions::Num(5), 0.8),
            point(PointIdOptions::Uuid(id(1).to_string()), 0.7),
        ]);
        assert_eq!(got, vec![(id(3), 0.9), (id(1), 0.7)]);
    }

    fn query() -> SearchQuery {
        SearchQuery {
            dense: None,
            sparse: None,
            rrf_k: 60,
            sparse_weight: 1.0,
        }
    }

    #[test]
    fn hits_are_built_like_the_embedded_store() {
        let d = vec![(id(1), 0.9), (id(2), 0.8)];
        let s = vec![(id(3), 7.0), (id(1), 5.0)];
        let dense = combine(Some(d.clone()), None, &query(), 10);
        assert_eq!(
            dense[0],
            Hit {
                id: id(1),
                score: 0.9,
                dense: Some(0.9)
            }
        );
        let sparse = combine(None, Some(s.clone()), &query(), 10);
        assert_eq!(
            sparse[1],
            Hit {
                id: id(1),
                score: 5.0,
                dense: None
            }
        );
        let hybrid = combine(Some(d), Some(s), &query(), 2);
        assert_eq!(hybrid.len(), 2, "fused list cut to the limit");
        assert_eq!(hybrid[0].id, id(1), "found by both");
        assert!((hybrid[0].score - (1.0 / 61.0 + 1.0 / 62.0)).abs() < 1e-6);
        assert_eq!(hybrid[0].dense, Some(0.9));
        // id 3 (sparse rank 1) beats id 2 (dense rank 2); the dense search
        // did not find it, so it has no cosine.
        assert_eq!(hybrid[1].id, id(3));
        assert_eq!(hybrid[1].dense, None);
        assert!(combine(None, None, &query(), 5).is_empty());
    }

    #[test]
    fn version_check() {
        assert!(version_supported("1.10.0"));
        assert!(version_supported("1.16.3"));
        assert!(version_supported("2.0.0"));
        assert!(!version_supported("1.9.7"));
        assert!(version_supported("dev"));
    }

    #[tokio::test]
    async fn open_fails_with_the_url_when_nothing_answers() {
        // A port that was free a moment ago: connection refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = QdrantConfig {
            url: format!("http://127.0.0.1:{port}"),
            api_key_env: None,
            collection_prefix: "ragd_".into(),
            timeout_ms: 2000,
        };
        let err = QdrantStore::open(&cfg).await.err().expect("open fails");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("qdrant http://127.0.0.1:{port}")),
            "{msg}"
        );
        assert!(msg.contains("health check failed"), "{msg}");
    }

    #[tokio::test]
    async fn open_fails_when_the_api_key_variable_is_unset() {
        let cfg = QdrantConfig {
            url: "http://user:secret@127.0.0.1:1".into(),
            api_key_env: Some("RAGD_TEST_SURELY_UNSET_QDRANT_KEY".into()),
            collection_prefix: "ragd_".into(),
            timeout_ms: 2000,
        };
        let msg = QdrantStore::open(&cfg)
            .await
            .err()
            .expect("open fails")
            .to_string();
        assert!(msg.contains("RAGD_TEST_SURELY_UNSET_QDRANT_KEY"), "{msg}");
        assert!(!msg.contains("secret"), "password redacted: {msg}");
    }
}
