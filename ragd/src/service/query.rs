//! Queries: the one pipeline that both the JSON and the SSE handlers
//! render.
//!
//! validate → cache lookup → embed the question (through the embedding
//! cache) → search → join chunk texts from the metadata store → write the
//! answer → check its citations → store the response in the cache.
//!
//! [`query`] runs every step up to the start of the answer and returns an
//! [`Outcome`]: a cached response, or an [`Answering`] holding the
//! citations and the answer as it is written. Reading the answer to its end
//! ([`Answering::next_piece`] then [`Answering::finish`]) runs the remaining
//! steps; [`Answering::collect`] does both for a whole response, and
//! [`Outcome::into_events`] turns either outcome into the events a stream
//! sends. A new step is added here, once, whichever way the response goes
//! out.
//!
//! The caches never fail a query: when Redis cannot be reached a lookup is
//! a miss and the result is computed as without cache.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tracing::{Instrument, info_span};

use futures::stream::{self, BoxStream, StreamExt};
use ragd_api::{
    Citation, MAX_TOP_K, QueryRequest, QueryResponse, QueryTimings, RetrievalMode, SearchResponse,
};

use super::{embedder_for, ms_since, resolve, unless_deleted};
use crate::answer::AnswerStream;
use crate::app::Backends;
use crate::cache::Ticket;
use crate::embed::{EmbedError, Embedder, Lane};
use crate::error::ApiError;
use crate::meta::{ChunkRow, CollectionRow};
use crate::vectors::{Hit, MetaFilter, SearchQuery};

/// Most points one retrieval asks the vector store for.
const MAX_SEARCH_LIMIT: usize = 2000;

/// Largest accepted question in bytes.
pub const MAX_QUESTION_BYTES: usize = 4096;

/// What [`query`] found: a response from the cache, or an answer being
/// written.
pub enum Outcome {
    /// A cached response, marked `cached`, with this request's total time.
    Cached(QueryResponse),
    /// Passages retrieved now; the answer is being written.
    Fresh(Answering),
}

/// One event of a streamed response, in the order they are sent:
/// `Citations`, `Delta`..., then `Done` or `Failed`.
pub enum QueryEvent {
    Citations(Vec<Citation>),
    Delta(String),
    Done(QueryResponse),
    /// The answer could not be finished (the citations were sent).
    Failed(ApiError),
}

impl Outcome {
    /// The whole response (reads a fresh answer to its end).
    pub async fn collect(self) -> Result<QueryResponse, ApiError> {
        match self {
            Outcome::Cached(r) => Ok(r),
            Outcome::Fresh(a) => a.collect().await,
        }
    }

    /// The events a stream sends for this outcome. A cached response is one
    /// delta with the whole answer.
    pub fn into_events(self) -> BoxStream<'static, QueryEvent> {
        match self {
            Outcome::Cached(r) => stream::iter([
                QueryEvent::Citations(r.citations.clone()),
                QueryEvent::Delta(r.answer.clone()),
                QueryEvent::Done(r),
            ])
            .boxed(),
            Outcome::Fresh(a) => {
                let citations = QueryEvent::Citations(a.citations.clone());
                let rest = stream::unfold(Some(a), |state| async move {
                    let mut a = state?;
                    Some(match a.next_piece().await {
                        Some(Ok(text)) => (QueryEvent::Delta(text), Some(a)),
                        Some(Err(e)) => (QueryEvent::Failed(e), None),
                        None => (QueryEvent::Done(a.finish().await), None),
                    })
                });
                stream::once(async move { citations }).chain(rest).boxed()
            }
        }
    }
}

/// An answer being written from retrieved passages, and what to do once it
/// is complete.
pub struct Answering {
    /// The passages the answer cites as `[n]`.
    pub citations: Vec<Citation>,
    pieces: AnswerStream,
    answer: String,
    backends: Arc<Backends>,
    mode: RetrievalMode,
    ticket: Ticket,
    embed_ms: f64,
    search_ms: f64,
    started: Instant,
    generate_started: Instant,
}

impl Answering {
    /// The next piece of the answer as it is written; `None` at the end.
    pub async fn next_piece(&mut self) -> Option<Result<String, ApiError>> {
        let piece = self.pieces.next().await?;
        Some(match piece {
            Ok(text) => {
                self.answer.push_str(&text);
                Ok(text)
            }
            Err(e) => Err(e.into()),
        })
    }

    /// The response, once every piece was read: the answer with its
    /// citation markers checked, the timings; stored in the cache.
    pub async fn finish(self) -> QueryResponse {
        let b = self.backends;
        let generate_ms = ms_since(self.generate_started);
        b.metrics.generate_duration.observe(generate_ms / 1000.0);
        let answer = crate::answer::check_citations(&self.answer, self.citations.len());
        let resp = QueryResponse {
            answer,
            mode: self.mode,
            citations: self.citations,
            timings: QueryTimings {
                embed_ms: self.embed_ms,
                search_ms: self.search_ms,
                generate_ms,
                total_ms: ms_since(self.started),
            },
            cached: false,
        };
        if self.ticket.storable() {
            b.cache
                .put(self.ticket, Arc::new(resp.clone()))
                .instrument(info_span!("cache", op = "put"))
                .await;
        }
        resp
    }

    /// Read the whole answer, then [`finish`](Answering::finish).
    pub async fn collect(mut self) -> Result<QueryResponse, ApiError> {
        while let Some(piece) = self.next_piece().await {
            piece?;
        }
        Ok(self.finish().await)
    }
}

/// A validated query.
struct Prepared {
    question: String,
    /// What is embedded and matched: the question, after its context.
    retrieval_text: String,
    top_k: usize,
    filter: MetaFilter,
    mode: RetrievalMode,
    /// Question, top_k, filter and mode, canonically serialised: the cache key.
    canonical: String,
}

/// Ask `req` of `collection`: every step up to the start of the answer.
/// Errors before the first byte of a response are returned here.
pub async fn query(
    b: &Arc<Backends>,
    collection: &str,
    req: QueryRequest,
) -> Result<Outcome, ApiError> {
    query_in_context(b, collection, req, None).await
}

/// [`query`], with `context` (an earlier turn of a conversation) added to
/// what is retrieved with: the answer is still written for the question.
pub async fn query_in_context(
    b: &Arc<Backends>,
    collection: &str,
    req: QueryRequest,
    context: Option<&str>,
) -> Result<Outcome, ApiError> {
    let started = Instant::now();
    let p = prepare(b, req, context)?;
    let (hit, ticket) = b
        .cache
        .get(collection, p.canonical.clone())
        .instrument(info_span!("cache", op = "get"))
        .await;
    if let Some(r) = hit {
        b.metrics.cache_hits.inc();
        let mut r = QueryResponse::clone(&r);
        r.cached = true;
        r.timings.total_ms = ms_since(started);
        return Ok(Outcome::Cached(r));
    }
    b.metrics.cache_misses.inc();
    shed_when_saturated(b)?;
    let r = retrieve(b, collection, &p).await?;
    let generate_started = Instant::now();
    let pieces = if r.irrelevant {
        let text = crate::answer::NOTHING_RELEVANT.to_string();
        stream::iter([Ok(text)]).boxed()
    } else {
        b.generator
            .generate(&p.question, &r.citations)
            .instrument(info_span!("generate", passages = r.citations.len()))
            .await?
    };
    Ok(Outcome::Fresh(Answering {
        citations: r.citations,
        pieces,
        answer: String::new(),
        backends: b.clone(),
        mode: p.mode,
        ticket,
        embed_ms: r.embed_ms,
        search_ms: r.search_ms,
        started,
        generate_started,
    }))
}

/// Retrieval only (`POST .../search`): the passages a query would cite,
/// no answer. Not cached: nothing is generated, so there is little to save.
pub async fn search(
    b: &Arc<Backends>,
    collection: &str,
    req: QueryRequest,
) -> Result<SearchResponse, ApiError> {
    let started = Instant::now();
    let p = prepare(b, req, None)?;
    shed_when_saturated(b)?;
    let r = retrieve(b, collection, &p).await?;
    Ok(SearchResponse {
        passages: r.citations,
        mode: p.mode,
        timings: QueryTimings {
            embed_ms: r.embed_ms,
            search_ms: r.search_ms,
            generate_ms: 0.0,
            total_ms: ms_since(started),
        },
    })
}

/// Refuse an uncached question at once while the CPU queue already holds
/// more work than `server.max_queue_wait_ms`: it would only be answered
/// late, and make every question behind it late too.
fn shed_when_saturated(b: &Backends) -> Result<(), ApiError> {
    let Some(limit) = b.max_queue_wait else {
        return Ok(());
    };
    let wait = b.cpu.expected_wait();
    if wait <= limit {
        return Ok(());
    }
    b.metrics.shed.inc();
    Err(ApiError::Saturated {
        wait_ms: wait.as_millis() as u64,
        limit_ms: limit.as_millis() as u64,
    })
}

fn prepare(b: &Backends, req: QueryRequest, context: Option<&str>) -> Result<Prepared, ApiError> {
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
    let mode = req.mode.unwrap_or(b.retrieval.mode);
    let context = context.map(str::trim).filter(|c| !c.is_empty());
    let retrieval_text = match context {
        // Bounded like the question, cut on a character boundary.
        Some(c) => {
            let mut end = c.len().min(MAX_QUESTION_BYTES);
            while !c.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}\n{question}", &c[..end])
        }
        None => question.clone(),
    };
    // serde_json maps are ordered, so equal filters serialise equally.
    let canonical = serde_json::json!([question, req.top_k, req.filter, mode, context]).to_string();
    Ok(Prepared {
        canonical,
        retrieval_text,
        question,
        top_k: req.top_k as usize,
        filter,
        mode,
    })
}

/// Retrieval result: numbered passages and their timings.
struct Retrieved {
    citations: Vec<Citation>,
    /// Passages were found but none is relevant enough to answer from
    /// (best cosine below `retrieval.min_relevance`).
    irrelevant: bool,
    embed_ms: f64,
    search_ms: f64,
}

async fn retrieve(b: &Backends, collection: &str, p: &Prepared) -> Result<Retrieved, ApiError> {
    let coll = resolve(b, collection).await?;
    let retrieved = retrieve_from(b, &coll, p).await;
    unless_deleted(b, &coll, retrieved).await
}

async fn retrieve_from(
    b: &Backends,
    coll: &CollectionRow,
    p: &Prepared,
) -> Result<Retrieved, ApiError> {
    // Also refuses a collection whose embedder changed, in every mode.
    let embedder = embedder_for(b, coll)?;
    let t = Instant::now();
    let query = search_query(b, coll, embedder.as_ref(), p).await?;
    let embed_ms = ms_since(t);
    let t = Instant::now();
    let found = search_joined(b, coll, &query, p).await?;
    b.metrics.search_duration.observe(t.elapsed().as_secs_f64());
    let search_ms = ms_since(t);
    // Relevance is judged on cosine similarity, the one score with a fixed
    // scale; BM25 and RRF scores depend on the corpus.
    let best_cosine = found
        .iter()
        .filter_map(|(h, _)| h.dense)
        .fold(None, |m: Option<f32>, c| Some(m.map_or(c, |m| m.max(c))));
    let irrelevant = best_cosine.is_some_and(|c| c < b.retrieval.min_relevance);
    let citations = found
        .into_iter()
        .enumerate()
        .map(|(i, (hit, c))| Citation {
            n: i as u32 + 1,
            document_id: c.doc_id,
            chunk_index: c.index,
            score: hit.score,
            heading: c.heading,
            page: c.page,
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

/// The vectors to search with in the query's mode: the question embedded
/// (dense, through the embedding cache) and its BM25 vector (sparse).
async fn search_query(
    b: &Backends,
    coll: &CollectionRow,
    embedder: &dyn Embedder,
    p: &Prepared,
) -> Result<SearchQuery, ApiError> {
    let dense = match p.mode {
        RetrievalMode::Sparse => None,
        RetrievalMode::Dense | RetrievalMode::Hybrid => {
            Some(embed_question(b, coll, embedder, p).await?)
        }
    };
    let sparse = match p.mode {
        RetrievalMode::Dense => None,
        RetrievalMode::Sparse | RetrievalMode::Hybrid => Some(b.bm25.query(&p.retrieval_text)),
    };
    Ok(SearchQuery {
        dense,
        sparse,
        rrf_k: b.retrieval.rrf_k,
        sparse_weight: b.retrieval.sparse_weight,
    })
}

/// The question's dense vector, from the embedding cache or the
/// collection's embedder.
async fn embed_question(
    b: &Backends,
    coll: &CollectionRow,
    embedder: &dyn Embedder,
    p: &Prepared,
) -> Result<Vec<f32>, ApiError> {
    let model = embedder.model().to_string();
    if let Some(vector) = b
        .embedding_cache
        .get(&model, embedder.dimensions(), &p.retrieval_text)
        .instrument(info_span!("cache", op = "embedding_get"))
        .await
    {
        return Ok(vector);
    }
    let t = Instant::now();
    let vector = embedder
        .embed(vec![p.retrieval_text.clone()], Lane::Interactive)
        .instrument(info_span!("embed", embedder = %coll.embedder, texts = 1))
        .await?
        .pop()
        .ok_or(EmbedError::Count { got: 0, want: 1 })?;
    b.metrics
        .embed_duration
        .get_or_create(&crate::metrics::NameLabel {
            name: coll.embedder.clone(),
        })
        .observe(t.elapsed().as_secs_f64());
    b.embedding_cache
        .put(&model, &p.retrieval_text, &vector)
        .instrument(info_span!("cache", op = "embedding_put"))
        .await;
    Ok(vector)
}

/// The best `top_k` hits that the metadata store knows, with their chunks.
///
/// Points of ingests in progress (vectors written, metadata not yet
/// committed) and leftovers of interrupted writes are in the index but
/// unknown to the metadata store: they are skipped, never shown. Fetch more
/// than top_k so they cannot crowd out committed passages, and widen the
/// search while skipped points leave fewer than top_k.
///
/// The join reads the best top_k hits first and the rest of them only when
/// some were skipped: nearly always every hit is known, and reading the
/// chunks of all the fetched hits was most of the metadata store's work
/// per query.
async fn search_joined(
    b: &Backends,
    coll: &CollectionRow,
    query: &SearchQuery,
    p: &Prepared,
) -> Result<Vec<(Hit, ChunkRow)>, ApiError> {
    let started = Instant::now();
    let mut limit = p.top_k * 2 + 8;
    let mut vector_ms = 0.0;
    loop {
        let t = Instant::now();
        let hits = b
            .vectors
            .search(coll.key, query, limit, &p.filter)
            .instrument(info_span!("search", store = "vectors", limit))
            .await?;
        vector_ms += ms_since(t);
        let exhausted = hits.len() < limit;
        let (best, rest) = hits.split_at(p.top_k.min(hits.len()));
        let mut found = join(b, coll, best).await?;
        if found.len() < p.top_k && !rest.is_empty() {
            found.extend(join(b, coll, rest).await?);
        }
        found.truncate(p.top_k);
        if found.len() == p.top_k || exhausted || limit >= MAX_SEARCH_LIMIT {
            let join_ms = ms_since(started) - vector_ms;
            tracing::debug!(vector_ms, join_ms, "retrieval");
            return Ok(found);
        }
        limit = (limit * 4).min(MAX_SEARCH_LIMIT);
    }
}

/// `hits` with their chunks, in the same order; hits the metadata store
/// does not know are left out.
async fn join(
    b: &Backends,
    coll: &CollectionRow,
    hits: &[Hit],
) -> Result<Vec<(Hit, ChunkRow)>, ApiError> {
    if hits.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<_> = hits.iter().map(|h| h.id).collect();
    let mut rows: HashMap<_, _> = b
        .meta
        .chunks_by_points(coll.key, &ids)
        .instrument(info_span!("join", store = "metadata", points = ids.len()))
        .await?
        .into_iter()
        .map(|c| (c.point_id, c))
        .collect();
    Ok(hits
        .iter()
        .filter_map(|h| rows.remove(&h.id).map(|c| (*h, c)))
        .collect())
}
