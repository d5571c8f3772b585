//! Vector stores: where chunk embeddings live and are searched.
//!
//! The store is an *index*, not the source of truth: the metadata store holds
//! every chunk's text and the id of its point. A search returns point ids and
//! scores; the service joins them with the metadata store, so a point that the
//! metadata store does not know (left over from a crash between the two
//! writes) is never shown to a user.
//!
//! - [`layout`]: vector names and payload fields, the same in every store.
//! - [`edge`]: qdrant-edge in-process, the embedded default.
//! - [`follower`]: an embedded index kept in step with a log in PostgreSQL,
//!   for replicas that share PostgreSQL but no Qdrant server.
//! - [`qdrant`]: a Qdrant server over gRPC, shared by every replica.
//!
//! Every store ranks hits the same way ([`combine`], [`rank`]): by score,
//! ties broken by point id, and a cut at `limit` through a run of equal
//! scores keeps the same points whichever store searched ([`nearest_complete`]).

pub mod edge;
pub mod follower;
pub mod layout;
pub mod qdrant;

use std::cmp::Ordering;
use std::future::Future;

use async_trait::async_trait;
use ragd_api::Metadata;
use serde_json::Value;
use uuid::Uuid;

use crate::cpu::JobPanicked;
use crate::key::CollectionKey;
use crate::pg::PgError;

/// A sparse vector (BM25 term weights): parallel indices and values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl Sparse {
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// A chunk's vectors with the payload used for filtering.
#[derive(Debug, Clone)]
pub struct ChunkPoint {
    pub id: Uuid,
    pub doc_id: String,
    /// Ingest version of the document this chunk belongs to.
    pub version: Uuid,
    pub chunk_index: u32,
    pub vector: Vec<f32>,
    /// BM25 term weights of the chunk (empty: not keyword-searchable).
    pub sparse: Sparse,
    /// Document metadata (a JSON object), filterable by key.
    pub metadata: Metadata,
}

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: Uuid,
    /// Score of the mode searched: cosine, BM25, or fused RRF score.
    pub score: f32,
    /// Cosine similarity to the question, when the dense search found it.
    pub dense: Option<f32>,
}

/// What to search with: the dense vector, the sparse vector, or both
/// (fused by reciprocal rank fusion with constant `rrf_k`).
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub dense: Option<Vec<f32>>,
    pub sparse: Option<Sparse>,
    pub rrf_k: u32,
    /// Weight of the sparse ranking's votes in the fusion (dense: 1).
    pub sparse_weight: f32,
}

/// Best first: higher score, then (among equal scores) the smaller point
/// id. Every store orders hits this way, so equal scores rank alike
/// whichever engine found them.
fn best_first(a: &(Uuid, f32), b: &(Uuid, f32)) -> Ordering {
    b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0))
}

/// Sort (id, score) pairs best first (see [`best_first`]).
pub fn rank(hits: &mut [(Uuid, f32)]) {
    hits.sort_by(best_first);
}

/// Reciprocal rank fusion: each list votes 1 / (k + rank) (rank from 1) for
/// its items; the best summed vote first, ties by point id. Each list may
/// carry a weight that scales its votes.
pub fn rrf(lists: &[(Vec<Uuid>, f32)], k: u32) -> Vec<(Uuid, f32)> {
    let mut scores: Vec<(Uuid, f32)> = Vec::new();
    let mut position: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
    for (list, weight) in lists {
        for (rank, id) in list.iter().enumerate() {
            let vote = weight / (k as f32 + rank as f32 + 1.0);
            match position.get(id) {
                Some(&i) => scores[i].1 += vote,
                None => {
                    position.insert(*id, scores.len());
                    scores.push((*id, vote));
                }
            }
        }
    }
    rank(&mut scores);
    scores
}

/// Most points [`nearest_complete`] asks an engine for.
const MAX_TIE_WIDENING: usize = 10_000;

/// The best `limit` points of one nearest-neighbour search, best first,
/// the same whichever engine ran it.
///
/// Engines cut at `limit` without breaking ties, so when equal scores
/// straddle the cut two engines may keep different points. This asks for
/// one point more than `limit`: if it scores lower than the last one kept
/// (the usual case), the cut is clean. Otherwise it asks `search(n)` for
/// more until the run of scores equal to the one at the cut is complete
/// (the last point returned scores lower, or the engine has no more). Then
/// it ranks with [`rank`] and cuts.
pub async fn nearest_complete<F, Fut>(
    limit: usize,
    mut search: F,
) -> Result<Vec<(Uuid, f32)>, VectorError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<Vec<(Uuid, f32)>, VectorError>>,
{
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut ask = limit + 1;
    loop {
        let mut hits = search(ask).await?;
        let complete =
            hits.len() < ask || ask >= MAX_TIE_WIDENING || hits[ask - 1].1 != hits[limit - 1].1;
        if complete {
            rank(&mut hits);
            hits.truncate(limit);
            return Ok(hits);
        }
        ask = (ask * 2).min(MAX_TIE_WIDENING.max(limit + 1));
    }
}

/// [`nearest_complete`] for engines that are called synchronously.
pub fn nearest_complete_sync(
    limit: usize,
    mut search: impl FnMut(usize) -> Result<Vec<(Uuid, f32)>, VectorError>,
) -> Result<Vec<(Uuid, f32)>, VectorError> {
    futures::executor::block_on(nearest_complete(limit, |n| std::future::ready(search(n))))
}

/// The hits of a search from its dense and sparse results (ids and scores,
/// best first, from [`nearest_complete`]), the same for every store: one
/// list is taken as is (a dense hit keeps its cosine), two are fused by
/// weighted [`rrf`] and cut to `limit`.
pub fn combine(
    dense: Option<Vec<(Uuid, f32)>>,
    sparse: Option<Vec<(Uuid, f32)>>,
    query: &SearchQuery,
    limit: usize,
) -> Vec<Hit> {
    match (dense, sparse) {
        (Some(d), None) => d
            .into_iter()
            .map(|(id, score)| Hit {
                id,
                score,
                dense: Some(score),
            })
            .collect(),
        (None, Some(s)) => s
            .into_iter()
            .map(|(id, score)| Hit {
                id,
                score,
                dense: None,
            })
            .collect(),
        (Some(d), Some(s)) => {
            let cosine: std::collections::HashMap<Uuid, f32> = d.iter().copied().collect();
            let lists = [
                (d.iter().map(|(id, _)| *id).collect(), 1.0),
                (s.iter().map(|(id, _)| *id).collect(), query.sparse_weight),
            ];
            rrf(&lists, query.rrf_k)
                .into_iter()
                .take(limit)
                .map(|(id, score)| Hit {
                    id,
                    score,
                    dense: cosine.get(&id).copied(),
                })
                .collect()
        }
        (None, None) => Vec::new(),
    }
}

/// Metadata filter, validated: every key must match; a list means any-of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetaFilter(pub Vec<(String, FilterValue)>);

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    String(String),
    Integer(i64),
    Bool(bool),
    AnyString(Vec<String>),
    AnyInteger(Vec<i64>),
}

impl MetaFilter {
    /// Validate a user-supplied filter object. The error names the key.
    pub fn parse(filter: &Metadata) -> Result<MetaFilter, (String, String)> {
        let mut out = Vec::with_capacity(filter.len());
        for (key, value) in filter {
            if key.is_empty()
                || key.len() > 64
                || !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err((
                    format!("filter.{key}"),
                    "keys must be 1-64 characters of letters, digits, '_' or '-'".into(),
                ));
            }
            let v = match value {
                Value::String(s) => FilterValue::String(s.clone()),
                Value::Bool(b) => FilterValue::Bool(*b),
                Value::Number(n) if n.is_i64() => FilterValue::Integer(n.as_i64().unwrap_or(0)),
                Value::Array(items) if !items.is_empty() => {
                    if items.iter().all(|i| i.is_string()) {
                        FilterValue::AnyString(
                            items
                                .iter()
                                .filter_map(|i| i.as_str().map(String::from))
                                .collect(),
                        )
                    } else if items.iter().all(|i| i.is_i64()) {
                        FilterValue::AnyInteger(items.iter().filter_map(|i| i.as_i64()).collect())
                    } else {
                        return Err((
                            format!("filter.{key}"),
                            "a list must hold only strings or only integers".into(),
                        ));
                    }
                }
                _ => {
                    return Err((
                        format!("filter.{key}"),
                        "values must be a string, integer, boolean, or a non-empty list of strings or integers".into(),
                    ));
                }
            };
            out.push((key.clone(), v));
        }
        Ok(MetaFilter(out))
    }
}

/// Why a vector operation failed. Messages do not name the store: the
/// caller does ("vector store: ...").
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("collection {0} does not exist")]
    NoSuchCollection(CollectionKey),
    /// The embedded engine (qdrant-edge) refused or failed.
    #[error("{0}")]
    Engine(#[from] qdrant_edge::OperationError),
    /// The embedded engine did not complete a flush (see `edge`).
    #[error("flush did not complete")]
    FlushIncomplete,
    /// A file or directory of the embedded store.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// An engine call on the CPU pool panicked.
    #[error("{0}")]
    Job(#[from] JobPanicked),
    /// A call to the Qdrant server failed.
    #[error("qdrant {url}: {what}: {}", qdrant::describe(source))]
    Qdrant {
        url: String,
        what: String,
        #[source]
        source: qdrant_client::QdrantError,
    },
    /// The Qdrant server answered, but not as ragd needs.
    #[error("qdrant {url}: {problem}")]
    QdrantRefused { url: String, problem: String },
    /// The vector log in PostgreSQL could not be written or read.
    #[error("{0}")]
    Log(#[from] PgError),
    /// A vector log row that does not decode.
    #[error("postgres: vector_log seq {seq}: {what}")]
    LogCorrupt { seq: u64, what: String },
}

/// A vector store backend. Collections are addressed by their
/// [`CollectionKey`], never by their user-visible name.
#[async_trait]
pub trait VectorStore: Send + Sync {
    /// `qdrant-edge`, `qdrant`...
    fn kind(&self) -> &'static str;

    async fn create_collection(
        &self,
        key: CollectionKey,
        dimensions: u32,
    ) -> Result<(), VectorError>;

    /// Remove a collection and all its points. Missing is not an error.
    async fn drop_collection(&self, key: CollectionKey) -> Result<(), VectorError>;

    /// Store `points` durably. Returns once a crash can no longer lose them.
    async fn upsert(&self, key: CollectionKey, points: Vec<ChunkPoint>) -> Result<(), VectorError>;

    /// Delete every point of `doc_id` except those of version `keep`
    /// (`None` deletes them all).
    async fn delete_document(
        &self,
        key: CollectionKey,
        doc_id: &str,
        keep: Option<Uuid>,
    ) -> Result<(), VectorError>;

    /// Delete the points of one version of `doc_id` (and nothing else: a
    /// newer version may be in flight from another replica).
    async fn delete_version(
        &self,
        key: CollectionKey,
        doc_id: &str,
        version: Uuid,
    ) -> Result<(), VectorError>;

    /// Best points for `query`, best first.
    async fn search(
        &self,
        key: CollectionKey,
        query: &SearchQuery,
        limit: usize,
        filter: &MetaFilter,
    ) -> Result<Vec<Hit>, VectorError>;

    /// Points stored in a collection.
    async fn count(&self, key: CollectionKey) -> Result<u64, VectorError>;

    /// Probe the backend.
    async fn health(&self) -> Result<(), VectorError>;

    /// Background work not yet done (e.g. collections waiting for indexing).
    fn pending_work(&self) -> u64 {
        0
    }

    /// Make everything written so far durable and stop background work.
    async fn close(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn rrf_rewards_agreement_and_breaks_ties_by_id() {
        // 1 is first in both lists; 2 and 3 each appear once at rank 2.
        let fused = rrf(&[(vec![id(1), id(3)], 1.0), (vec![id(1), id(2)], 1.0)], 60);
        let order: Vec<Uuid> = fused.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            order,
            vec![id(1), id(2), id(3)],
            "the tie goes to the smaller id"
        );
        assert!((fused[0].1 - 2.0 / 61.0).abs() < 1e-6);
        assert!((fused[1].1 - 1.0 / 62.0).abs() < 1e-6);
        assert_eq!(fused[1].1, fused[2].1, "a tie");
        // An item ranked 2nd in both lists beats one ranked 1st in only one.
        let fused = rrf(&[(vec![id(7), id(8)], 1.0), (vec![id(9), id(8)], 1.0)], 60);
        assert_eq!(fused[0].0, id(8));
        // Weights scale a list's votes: a heavier second list wins the tie.
        let fused = rrf(&[(vec![id(1)], 1.0), (vec![id(2)], 2.0)], 60);
        assert_eq!(fused[0].0, id(2));
        assert!((fused[0].1 - 2.0 / 61.0).abs() < 1e-6);
    }

    /// An engine that holds `scores` (by point id) and, like qdrant, cuts
    /// at the limit in an order of its own among equal scores.
    fn engine(scores: &[(u128, f32)], reversed_ties: bool) -> impl Fn(usize) -> Vec<(Uuid, f32)> {
        let mut all: Vec<(Uuid, f32)> = scores.iter().map(|&(i, s)| (id(i), s)).collect();
        all.sort_by(|a, b| {
            let by_id = if reversed_ties {
                b.0.cmp(&a.0)
            } else {
                a.0.cmp(&b.0)
            };
            b.1.total_cmp(&a.1).then(by_id)
        });
        move |n| all.iter().take(n).copied().collect()
    }

    #[test]
    fn a_cut_through_equal_scores_keeps_the_same_points_on_every_engine() {
        // Five points tie at 5.0 across the cut at 3.
        let scores = [
            (9, 7.0),
            (5, 5.0),
            (3, 5.0),
            (8, 5.0),
            (1, 5.0),
            (2, 5.0),
            (7, 1.0),
        ];
        let mut asked = Vec::new();
        let a = nearest_complete_sync(3, |n| {
            asked.push(n);
            Ok(engine(&scores, false)(n))
        })
        .unwrap();
        let b = nearest_complete_sync(3, |n| Ok(engine(&scores, true)(n))).unwrap();
        assert_eq!(a, b, "both engines keep the same points in the same order");
        let ids: Vec<Uuid> = a.iter().map(|h| h.0).collect();
        assert_eq!(
            ids,
            vec![id(9), id(1), id(2)],
            "best, then the smallest tied ids"
        );
        assert_eq!(asked, vec![4, 8], "widened until the tie run was complete");

        // No tie at the cut: one search, of one point more than the limit.
        let mut asked = Vec::new();
        let got = nearest_complete_sync(1, |n| {
            asked.push(n);
            Ok(engine(&scores, true)(n))
        })
        .unwrap();
        assert_eq!(asked, vec![2]);
        assert_eq!(got, vec![(id(9), 7.0)]);
        // The cut after the whole run: one search; the kept ties rank by id.
        let mut asked = Vec::new();
        let got = nearest_complete_sync(6, |n| {
            asked.push(n);
            Ok(engine(&scores, true)(n))
        })
        .unwrap();
        assert_eq!(asked, vec![7]);
        let ids: Vec<Uuid> = got.iter().map(|h| h.0).collect();
        assert_eq!(ids, [9, 1, 2, 3, 5, 8].map(id));
        // Fewer points than the limit.
        assert_eq!(
            nearest_complete_sync(50, |n| Ok(engine(&scores, false)(n)))
                .unwrap()
                .len(),
            7
        );
        assert!(
            nearest_complete_sync(0, |_| panic!("not searched"))
                .unwrap()
                .is_empty()
        );
    }
}

#[cfg(test)]
mod filter_properties {
    //! Any JSON a client sends as a filter is parsed or refused with the
    //! key it was about: never a panic.
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "\\PC{0,20}".prop_map(Value::String),
            "[\\x00-\\x1f]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("\\PC{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn any_filter_parses_or_names_its_key(
            entries in prop::collection::btree_map("(\\PC{0,70}|[a-z_-]{1,10})", json_value(), 0..5),
        ) {
            let filter: Metadata = entries.into_iter().collect();
            match MetaFilter::parse(&filter) {
                Ok(_) => {}
                Err((field, message)) => {
                    prop_assert!(field.starts_with("filter."), "{field}");
                    prop_assert!(!message.is_empty());
                }
            }
        }
    }
}
