//! Queries: cache → embed the question (through the embedding cache) →
//! search → join chunk texts from the metadata store → write the answer.
//!
//! The caches never fail a query: when Redis cannot be reached a lookup is
//! a miss and the result is computed as without cache.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use ragd_api::{Citation, MAX_TOP_K, QueryRequest, QueryResponse, QueryTimings, RetrievalMode};

use super::{embedder_for, ms_since, resolve};
use crate::answer::AnswerStream;
use crate::app::App;
use crate::cache::Ticket;
use crate::error::ApiError;
use crate::vectors::{MetaFilter, SearchQuery};

/// Most points one retrieval asks the vector store for.
const MAX_SEARCH_LIMIT: usize = 2000;

/// Largest accepted question in bytes.
pub const MAX_QUESTION_BYTES: usize = 4096;

/// A validated query.
pub struct Prepared {
    pub question: String,
    pub top_k: usize,
    pub filter: MetaFilter,
    pub mode: RetrievalMode,
    /// Question, top_k, filter and mode, canonically serialised: the cache key.
    pub canonical: String,
    /// Set by [`cached`]: what the cache lookup saw, to store the result with.
    pub ticket: Option<Ticket>,
}

pub fn prepare(app: &App, req: QueryRequest) -> Result<Prepared, ApiError> {
    let question = req.question.trim().to_string();
    if question.is_empty() {
        return Err(ApiError::invalid("question", "must not be empty"));
    }
    if question.len() > MAX_QUESTION_BYTES {
        return Err(ApiError::invalid(
            "question",
            format!("must be at most {MAX_QUESTION_BYTES} bytes"),
        ));
    }
    if req.top_k == 0 || req.top_k > MAX_TOP_K {
        return Err(ApiError::invalid(
            "top_k",
            format!("must be 1 to {MAX_TOP_K}, got {}", req.top_k),
        ));
    }
    let filter = match &req.filter {
        Some(f) => MetaFilter::parse(f).map_err(|(field, msg)| ApiError::invalid(field, msg))?,
        None => MetaFilter::default(),
    };
    let mode = req.mode.unwrap_or(app.config.retrieval.mode);
    // serde_json maps are ordered, so equal filters serialise equally.
    let canonical = serde_json::json!([question, req.top_k, req.filter, mode]).to_string();
    Ok(Prepared {
        canonical,
        ticket: None,
        question,
        top_k: req.top_k as usize,
        filter,
        mode,
    })
}

/// A cached answer, marked as such, if there is one. On a miss, remembers
/// in `p` what the lookup saw, for [`finish`] to store the result with.
pub async fn cached(
    app: &App,
    collection: &str,
    p: &mut Prepared,
    started: Instant,
) -> Option<QueryResponse> {
    let (hit, ticket) = app.cache.get(collection, p.canonical.clone()).await;
    p.ticket = Some(ticket);
    match hit {
        Some(r) => {
            app.metrics.cache_hits.inc();
            let mut r = QueryResponse::clone(&r);
            r.cached = true;
            r.timings.total_ms = ms_since(started);
            Some(r)
        }
        None => {
            app.metrics.cache_misses.inc();
            None
        }
    }
}

/// Retrieval result: numbered passages and their timings.
pub struct Retrieved {
    pub citations: Vec<Citation>,
    /// Passages were found but none is relevant enough to answer from
    /// (best cosine below `retrieval.min_relevance`).
    pub irrelevant: bool,
    pub embed_ms: f64,
    pub search_ms: f64,
}

pub async fn retrieve(app: &App, collection: &str, p: &Prepared) -> Result<Retrieved, ApiError> {
    let coll = resolve(app, collection).await?;
    let embedder = embedder_for(app, &coll)?;

    let t = Instant::now();
    let dense = match p.mode {
        RetrievalMode::Sparse => None,
        RetrievalMode::Dense | RetrievalMode::Hybrid => {
            let model = embedder.model().to_string();
            let dims = embedder.dimensions();
            match app.embedding_cache.get(&model, dims, &p.question).await {
                Some(vector) => Some(vector),
                None => {
                    let vector = embedder
                        .embed(vec![p.question.clone()])
                        .await?
                        .pop()
                        .ok_or_else(|| ApiError::backend("embedder", "returned no vector"))?;
                    app.metrics
                        .embed_duration
                        .get_or_create(&crate::metrics::NameLabel {
                            name: coll.embedder.clone(),
                        })
                        .observe(t.elapsed().as_secs_f64());
                    app.embedding_cache.put(&model, &p.question, &vector).await;
                    Some(vector)
                }
            }
        }
    };
    let sparse = match p.mode {
        RetrievalMode::Dense => None,
        RetrievalMode::Sparse | RetrievalMode::Hybrid => Some(app.bm25.query(&p.question)),
    };
    let query = SearchQuery {
        dense,
        sparse,
        rrf_k: app.config.retrieval.rrf_k,
        sparse_weight: app.config.retrieval.sparse_weight,
    };
    let embed_ms = ms_since(t);

    // Points of ingests in progress (vectors written, metadata not yet
    // committed) and leftovers of interrupted writes are in the index but
    // unknown to the metadata store: they are skipped, never shown. Fetch
    // more than top_k so they cannot crowd out committed passages, and widen
    // the search while skipped points leave fewer than top_k.
    let t = Instant::now();
    let key = coll.key.to_string();
    let mut limit = p.top_k * 2 + 8;
    let mut vector_ms = 0.0;
    let found = loop {
        let tv = Instant::now();
        let hits = app.vectors.search(&key, &query, limit, &p.filter).await?;
        vector_ms += ms_since(tv);
        let ids: Vec<_> = hits.iter().map(|h| h.id).collect();
        let mut rows: HashMap<_, _> = app
            .meta
            .chunks_by_points(coll.key, &ids)
            .await?
            .into_iter()
            .map(|c| (c.point_id, c))
            .collect();
        let exhausted = hits.len() < limit;
        let found: Vec<_> = hits
            .iter()
            .filter_map(|h| rows.remove(&h.id).map(|c| (*h, c)))
            .take(p.top_k)
            .collect();
        if found.len() == p.top_k || exhausted || limit >= MAX_SEARCH_LIMIT {
            break found;
        }
        limit = (limit * 4).min(MAX_SEARCH_LIMIT);
    };
    app.metrics
        .search_duration
        .observe(t.elapsed().as_secs_f64());
    let search_ms = ms_since(t);
    tracing::debug!(vector_ms, join_ms = search_ms - vector_ms, "retrieval");

    // Relevance is judged on cosine similarity, the one score with a fixed
    // scale; BM25 and RRF scores depend on the corpus.
    let best_cosine = found
        .iter()
        .filter_map(|(h, _)| h.dense)
        .fold(None, |m: Option<f32>, c| Some(m.map_or(c, |m| m.max(c))));
    let irrelevant = best_cosine.is_some_and(|c| c < app.config.retrieval.min_relevance);
    let citations = found
        .into_iter()
        .enumerate()
        .map(|(i, (hit, c))| Citation {
            n: i as u32 + 1,
            document_id: c.doc_id,
            chunk_index: c.index,
            score: hit.score,
            heading: c.heading,
            text: c.text,
            metadata: c.metadata,
        })
        .collect();
    Ok(Retrieved {
        citations,
        irrelevant,
        embed_ms,
        search_ms,
    })
}

/// Start writing the answer for retrieved passages.
pub async fn answer_stream(
    app: &App,
    p: &Prepared,
    r: &Retrieved,
) -> Result<AnswerStream, ApiError> {
    if r.irrelevant {
        let text = crate::answer::NOTHING_RELEVANT.to_string();
        return Ok(Box::pin(futures::stream::iter([Ok(text)])));
    }
    Ok(app.generator.generate(&p.question, &r.citations).await?)
}

/// Finish a computed query: build the response and cache it.
pub async fn finish(
    app: &App,
    p: Prepared,
    r: Retrieved,
    answer: String,
    generate_ms: f64,
    started: Instant,
) -> QueryResponse {
    app.metrics.generate_duration.observe(generate_ms / 1000.0);
    let answer = crate::answer::check_citations(&answer, r.citations.len());
    let resp = QueryResponse {
        answer,
        mode: p.mode,
        citations: r.citations,
        timings: QueryTimings {
            embed_ms: r.embed_ms,
            search_ms: r.search_ms,
            generate_ms,
            total_ms: ms_since(started),
        },
        cached: false,
    };
    if let Some(ticket) = p.ticket
        && ticket.storable()
    {
        app.cache.put(ticket, Arc::new(resp.clone())).await;
    }
    resp
}

/// The whole query, not streamed.
pub async fn query(
    app: &App,
    collection: &str,
    req: QueryRequest,
) -> Result<QueryResponse, ApiError> {
    let started = Instant::now();
    let mut p = prepare(app, req)?;
    if let Some(r) = cached(app, collection, &mut p, started).await {
        return Ok(r);
    }
    let r = retrieve(app, collection, &p).await?;
    let t = Instant::now();
    let mut stream = answer_stream(app, &p, &r).await?;
    let mut answer = String::new();
    while let Some(piece) = stream.next().await {
        answer.push_str(&piece?);
    }
    let generate_ms = ms_since(t);
    Ok(finish(app, p, r, answer, generate_ms, started).await)
}
