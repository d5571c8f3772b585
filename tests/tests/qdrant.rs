//! The Qdrant server vector store (`vectors.kind = "qdrant"`) against a real
//! server: set `QDRANT_URL` to its gRPC URL (e.g. `http://127.0.0.1:6334`)
//! and, if it needs one, `QDRANT_API_KEY`. Without `QDRANT_URL` every test
//! prints "skipped: QDRANT_URL not set" and passes.
//!
//! Each test works under a collection prefix of its own and drops what it
//! created (a failed test may leave `ragdtest_*` collections behind).
//!
//! What is checked: the same HTTP queries (three modes, every kind of
//! filter) cite the same documents as on the embedded store; re-ingest and
//! delete leave exactly the live chunks in Qdrant; two stores on one server
//! see each other's writes; and, below HTTP, the same points and searches
//! give the same hits and scores as qdrant-edge.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ragd::config::{QdrantConfig, VectorsConfig};
use ragd::cpu::CpuPool;
use ragd::key::CollectionKey;
use ragd::vectors::edge::EdgeStore;
use ragd::vectors::qdrant::QdrantStore;
use ragd::vectors::{ChunkPoint, Hit, MetaFilter, SearchQuery, Sparse, VectorError, VectorStore};
use ragkit_tests::{CORPUS_QUESTIONS, Server, cited_ids, corpus, test_config};
use serde_json::{Value, json};

/// A Qdrant configuration with a prefix no other test uses, or `None`
/// (and the skip notice) without `QDRANT_URL`.
fn qdrant_config() -> Option<QdrantConfig> {
    let Some(url) = std::env::var("QDRANT_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("skipped: QDRANT_URL not set");
        return None;
    };
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Some(QdrantConfig {
        url,
        api_key_env: std::env::var("QDRANT_API_KEY")
            .ok()
            .map(|_| "QDRANT_API_KEY".to_string()),
        collection_prefix: format!(
            "ragdtest_{}_{nanos:x}_{}_",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ),
        timeout_ms: 20_000,
    })
}

async fn open(cfg: &QdrantConfig) -> Arc<QdrantStore> {
    QdrantStore::open(cfg)
        .await
        .expect("Qdrant at QDRANT_URL answers")
}

/// Drop every collection under the test's prefix.
async fn cleanup(cfg: &QdrantConfig) {
    let store = open(cfg).await;
    for key in store.keys().await.expect("list collections") {
        store.drop_collection(key).await.expect("drop collection");
    }
}

/// The hyphenated form of uuid `n`.
fn uuid_text(n: u128) -> String {
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A uuid (the tests crate names no `uuid` dependency: serde infers it).
fn uuid<T: serde::de::DeserializeOwned>(n: u128) -> T {
    serde_json::from_value(json!(uuid_text(n))).expect("a uuid")
}

/// Collection key `n`.
fn key(n: u128) -> CollectionKey {
    uuid_text(n).parse().expect("a collection key")
}

fn filter(v: Value) -> MetaFilter {
    MetaFilter::parse(v.as_object().expect("an object")).expect("a valid filter")
}

/// The corpus with metadata of every filterable kind: strings (one with a
/// space), integers, booleans, arrays, a float.
fn rich_corpus() -> Value {
    let extra = [
        (
            "volcano",
            json!({"public": true, "city": "New York", "tags": ["lava", "etna"], "score": 1.0}),
        ),
        (
            "bread",
            json!({"public": false, "city": "Paris", "tags": ["oven"]}),
        ),
        (
            "tennis",
            json!({"public": true, "city": "New Delhi", "tags": ["sets", "games"]}),
        ),
        (
            "rust",
            json!({"public": false, "city": "New York", "tags": []}),
        ),
    ];
    let mut docs = corpus();
    for doc in docs.as_array_mut().unwrap() {
        let id = doc["id"].as_str().unwrap().to_string();
        let (_, add) = extra.iter().find(|(i, _)| *i == id).unwrap();
        let meta = doc["metadata"].as_object_mut().unwrap();
        for (k, v) in add.as_object().unwrap() {
            meta.insert(k.clone(), v.clone());
        }
    }
    docs
}

/// Filters of every kind, with the documents a dense query keeps.
fn filter_cases() -> Vec<(Value, Vec<&'static str>)> {
    vec![
        (json!({"topic": "cooking"}), vec!["bread"]),
        (json!({"year": 2022}), vec!["rust", "tennis"]),
        (json!({"year": [2020, 2021]}), vec!["bread", "volcano"]),
        (json!({"public": true}), vec!["tennis", "volcano"]),
        (json!({"public": false}), vec!["bread", "rust"]),
        // Exact match, never full text: "New" matches nothing.
        (json!({"city": "New York"}), vec!["rust", "volcano"]),
        (json!({"city": "New"}), vec![]),
        (
            json!({"city": ["Paris", "New Delhi"]}),
            vec!["bread", "tennis"],
        ),
        (
            json!({"topic": ["sport", "geology"]}),
            vec!["tennis", "volcano"],
        ),
        // An array in the metadata matches if any element does.
        (json!({"tags": "lava"}), vec!["volcano"]),
        (json!({"tags": ["oven", "games"]}), vec!["bread", "tennis"]),
        // Types must agree.
        (json!({"year": "2020"}), vec![]),
        (json!({"score": 1}), vec![]),
        (json!({"missing": "x"}), vec![]),
        (
            json!({"topic": "programming", "public": false, "year": 2022}),
            vec!["rust"],
        ),
        (json!({"topic": "programming", "public": true}), vec![]),
    ]
}

fn sorted_unique(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_queries_cite_the_same_documents_as_the_embedded_store() {
    let Some(q) = qdrant_config() else { return };
    let edge_dir = tempfile::tempdir().unwrap();
    let qdrant_dir = tempfile::tempdir().unwrap();
    let edge = Server::start(edge_dir.path()).await;
    let mut cfg = test_config(qdrant_dir.path());
    cfg.vectors = VectorsConfig::Qdrant(q.clone());
    let remote = Server::start_with(cfg).await;
    for s in [&edge, &remote] {
        s.create_collection("kb").await;
        s.ingest("kb", rich_corpus()).await;
    }
    let (_, status) = remote.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(status["documents"], 4);

    for mode in ["dense", "sparse", "hybrid"] {
        for (question, want) in CORPUS_QUESTIONS {
            let body = json!({"question": question, "top_k": 3, "mode": mode});
            let r = remote.query("kb", body.clone()).await;
            let e = edge.query("kb", body).await;
            assert_eq!(r["mode"], mode);
            assert_eq!(
                cited_ids(&r).first().map(String::as_str),
                Some(want),
                "{mode} {question}: {r}"
            );
            assert_eq!(
                cited_ids(&r),
                cited_ids(&e),
                "{mode} {question}: same citations as embedded"
            );
        }
    }

    for (f, want) in filter_cases() {
        // Dense retrieval keeps every passage the filter lets through.
        let body = json!({"question": "volcano lava bread tennis rust", "top_k": 50, "filter": f, "mode": "dense"});
        let r = remote.query("kb", body.clone()).await;
        let e = edge.query("kb", body).await;
        assert_eq!(sorted_unique(cited_ids(&r)), want, "filter {f}: {r}");
        assert_eq!(
            cited_ids(&r),
            cited_ids(&e),
            "filter {f}: same citations as embedded"
        );
        for mode in ["sparse", "hybrid"] {
            let body = json!({"question": "volcano lava sourdough tennis borrow", "top_k": 10, "filter": f, "mode": mode});
            let r = remote.query("kb", body.clone()).await;
            let e = edge.query("kb", body).await;
            assert_eq!(
                cited_ids(&r),
                cited_ids(&e),
                "{mode} filter {f}: same citations as embedded"
            );
            for id in cited_ids(&r) {
                assert!(
                    want.contains(&id.as_str()),
                    "{mode} filter {f} let {id} through"
                );
            }
        }
    }
    edge.stop().await;
    remote.stop().await;
    cleanup(&q).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reingest_replaces_and_delete_removes_points_in_qdrant() {
    let Some(q) = qdrant_config() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = test_config(dir.path());
    cfg.vectors = VectorsConfig::Qdrant(q.clone());
    let s = Server::start_with(cfg).await;
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    let store = open(&q).await;
    let keys = store.keys().await.unwrap();
    assert_eq!(
        keys.len(),
        1,
        "one Qdrant collection per ragd collection: {keys:?}"
    );
    let key = keys[0];
    let chunks = |c: &Value| c["chunks"].as_u64().unwrap();
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(store.count(key).await.unwrap(), chunks(&c));

    // Re-ingest: the old version's points are gone, the new one's served.
    let r = s
        .ingest(
            "kb",
            json!([{"id": "volcano", "metadata": {"topic": "geology"},
                    "text": "Glaciers carve deep U-shaped valleys as they slowly move downhill."}]),
        )
        .await;
    assert_eq!(r["documents"][0]["replaced"], true);
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(
        store.count(key).await.unwrap(),
        chunks(&c),
        "no stale points"
    );
    for mode in ["dense", "sparse", "hybrid"] {
        let r = s
            .query("kb", json!({"question": "Which volcano in Sicily is active? Etna", "top_k": 10, "mode": mode}))
            .await;
        for c in r["citations"].as_array().unwrap() {
            assert!(
                !c["text"].as_str().unwrap().contains("Etna"),
                "{mode}: old chunk served: {c}"
            );
        }
        let r = s
            .query(
                "kb",
                json!({"question": "How do glaciers carve valleys?", "top_k": 1, "mode": mode}),
            )
            .await;
        assert_eq!(cited_ids(&r), vec!["volcano"], "{mode}");
    }

    // Delete: its points leave Qdrant.
    let (status, _) = s
        .call("DELETE", "/v1/collections/kb/documents/tennis", None)
        .await;
    assert_eq!(status, 204);
    let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(store.count(key).await.unwrap(), chunks(&c));
    for mode in ["dense", "sparse", "hybrid"] {
        let r = s
            .query("kb", json!({"question": "How many games to win a set in tennis?", "top_k": 10, "mode": mode}))
            .await;
        assert!(
            !cited_ids(&r).contains(&"tennis".to_string()),
            "{mode}: {r}"
        );
    }

    // Deleting the collection drops the Qdrant collection.
    let (status, _) = s.call("DELETE", "/v1/collections/kb", None).await;
    assert_eq!(status, 204);
    assert_eq!(store.keys().await.unwrap(), Vec::<CollectionKey>::new());
    s.stop().await;
    cleanup(&q).await;
}

/// Deterministic pseudo-random numbers in [-1, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

const DIMS: u32 = 8;

/// Three chunks of each of six documents, metadata of every kind.
fn points() -> Vec<ChunkPoint> {
    let mut rng = Lcg(7);
    let topics = ["geology", "cooking", "sport"];
    let cities = ["New York", "Paris", "New Delhi"];
    let mut out = Vec::new();
    for d in 0..6u32 {
        let meta = json!({
            "topic": topics[d as usize % 3],
            "year": 2020 + (d % 3),
            "public": d % 2 == 0,
            "city": cities[(d as usize / 2) % 3],
            "tags": [format!("t{d}"), format!("t{}", d + 1)],
            "score": 1.0,
        });
        for c in 0..3u32 {
            let terms: Vec<u32> = (0..4).map(|i| (d * 7 + c * 3 + i * 5) % 23).collect();
            let mut terms = terms;
            terms.sort();
            terms.dedup();
            out.push(ChunkPoint {
                id: uuid(((d as u128) << 8) | c as u128 | 1 << 64),
                doc_id: format!("doc {d}"),
                version: uuid(1000 + d as u128),
                chunk_index: c,
                vector: (0..DIMS).map(|_| rng.next()).collect(),
                sparse: Sparse {
                    values: terms.iter().map(|t| 1.0 + (*t % 3) as f32).collect(),
                    indices: terms,
                },
                metadata: meta.as_object().unwrap().clone(),
            });
        }
    }
    out
}

fn queries() -> Vec<(&'static str, SearchQuery)> {
    let mut rng = Lcg(99);
    let dense: Vec<f32> = (0..DIMS).map(|_| rng.next()).collect();
    let sparse = Sparse {
        indices: vec![0, 5, 12],
        values: vec![1.0, 1.0, 1.0],
    };
    let q = |d: Option<Vec<f32>>, s: Option<Sparse>| SearchQuery {
        dense: d,
        sparse: s,
        rrf_k: 60,
        sparse_weight: 0.5,
    };
    vec![
        ("dense", q(Some(dense.clone()), None)),
        ("sparse", q(None, Some(sparse.clone()))),
        ("hybrid", q(Some(dense.clone()), Some(sparse))),
        (
            "hybrid, empty sparse",
            q(Some(dense), Some(Sparse::default())),
        ),
        ("nothing", q(None, None)),
    ]
}

/// Twelve points with the same vectors (every search scores them alike),
/// written in an order unrelated to their ids.
fn tied_points() -> Vec<ChunkPoint> {
    (0..12u128)
        .map(|i| ChunkPoint {
            id: uuid((i * 7919) % 12 + 100),
            doc_id: format!("tie {i}"),
            version: uuid(2000),
            chunk_index: 0,
            vector: (0..DIMS).map(|d| if d == 0 { 1.0 } else { 0.5 }).collect(),
            // The terms of the sparse query of `queries`.
            sparse: Sparse {
                indices: vec![0, 5, 12],
                values: vec![1.0, 1.0, 1.0],
            },
            metadata: serde_json::Map::new(),
        })
        .collect()
}

/// The hits of every query mode over [`tied_points`], cut at 5 through the
/// run of twelve equal scores, in collection `key(3)` of `s`.
async fn tied_hits(s: &dyn VectorStore) -> Vec<(&'static str, Vec<Hit>)> {
    let k = key(3);
    s.create_collection(k, DIMS).await.unwrap();
    s.upsert(k, tied_points()).await.unwrap();
    let mut out = Vec::new();
    for (name, query) in queries() {
        if name == "nothing" {
            continue;
        }
        let hits = s
            .search(k, &query, 5, &MetaFilter::default())
            .await
            .unwrap();
        out.push((name, hits));
    }
    out
}

fn assert_same_hits(what: &str, edge: &[Hit], remote: &[Hit]) {
    let ids = |h: &[Hit]| h.iter().map(|h| h.id.to_string()).collect::<Vec<_>>();
    assert_eq!(ids(remote), ids(edge), "{what}: same ids in the same order");
    for (e, r) in edge.iter().zip(remote) {
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * a.abs().max(1.0);
        assert!(
            close(e.score, r.score),
            "{what}: score {} vs {}",
            r.score,
            e.score
        );
        match (e.dense, r.dense) {
            (Some(a), Some(b)) => assert!(close(a, b), "{what}: cosine {b} vs {a}"),
            (None, None) => {}
            other => panic!("{what}: dense score {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_give_the_same_hits_and_scores_as_qdrant_edge() {
    let Some(q) = qdrant_config() else { return };
    let dir = tempfile::tempdir().unwrap();
    let edge = EdgeStore::open(dir.path(), Arc::new(CpuPool::new(2)), 2000)
        .await
        .unwrap();
    let remote = open(&q).await;
    assert_eq!(remote.kind(), "qdrant");
    remote.health().await.unwrap();
    let key = key(1);
    for s in [&*edge as &dyn VectorStore, &*remote] {
        s.create_collection(key, DIMS).await.unwrap();
        s.upsert(key, points()).await.unwrap();
    }
    assert_eq!(remote.count(key).await.unwrap(), 18);
    assert_eq!(edge.count(key).await.unwrap(), 18);

    let mut filters = vec![json!({})];
    filters.extend(
        [
            json!({"topic": "cooking"}),
            json!({"year": 2021}),
            json!({"year": [2020, 2022]}),
            json!({"public": true}),
            json!({"public": false}),
            json!({"city": "New York"}),
            json!({"city": "New"}),
            json!({"city": ["Paris", "New Delhi"]}),
            json!({"tags": "t3"}),
            json!({"tags": ["t1", "t5"]}),
            json!({"year": "2020"}),
            json!({"score": 1}),
            json!({"nope": 1}),
            json!({"topic": "sport", "public": false}),
        ]
        .into_iter(),
    );
    for f in &filters {
        let mf = filter(f.clone());
        for (name, query) in queries() {
            for limit in [3, 50] {
                let what = format!("{name}, limit {limit}, filter {f}");
                let e = edge.search(key, &query, limit, &mf).await.unwrap();
                let r = remote.search(key, &query, limit, &mf).await.unwrap();
                assert_same_hits(&what, &e, &r);
            }
        }
    }
    // A cut through a run of equal scores keeps the same points.
    for ((name, e), (_, r)) in tied_hits(&*edge)
        .await
        .into_iter()
        .zip(tied_hits(&*remote).await)
    {
        assert_same_hits(&format!("{name}, five of twelve tied points"), &e, &r);
    }
    // Sanity: filters do cut (a dense search returns every allowed chunk).
    let (_, dense) = &queries()[0];
    let all = remote
        .search(key, dense, 50, &MetaFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 18);
    let cooking = remote
        .search(key, dense, 50, &filter(json!({"topic": "cooking"})))
        .await
        .unwrap();
    assert_eq!(cooking.len(), 6);
    let none = remote
        .search(key, dense, 50, &filter(json!({"city": "New"})))
        .await
        .unwrap();
    assert!(none.is_empty());

    // Deletes keep exactly one version, as on the embedded store.
    let mut v2 = points();
    v2.truncate(2);
    for p in &mut v2 {
        p.id = uuid(p.id.as_u128() ^ 0xffff);
        p.version = uuid(5000);
    }
    for s in [&*edge as &dyn VectorStore, &*remote] {
        s.upsert(key, v2.clone()).await.unwrap();
        s.delete_document(key, "doc 0", Some(uuid(5000)))
            .await
            .unwrap();
        assert_eq!(
            s.count(key).await.unwrap(),
            17,
            "{}: doc 0 now has 2 chunks",
            s.kind()
        );
        s.delete_document(key, "doc 5", None).await.unwrap();
        assert_eq!(s.count(key).await.unwrap(), 14, "{}", s.kind());
    }
    for (name, query) in queries() {
        let e = edge
            .search(key, &query, 50, &MetaFilter::default())
            .await
            .unwrap();
        let r = remote
            .search(key, &query, 50, &MetaFilter::default())
            .await
            .unwrap();
        assert_same_hits(&format!("{name} after deletes"), &e, &r);
    }
    edge.close().await;
    cleanup(&q).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_server_share_collections() {
    let Some(q) = qdrant_config() else { return };
    let a = open(&q).await;
    let b = open(&q).await;
    let key = key(2);
    // Replicas may race to create the same collection: both succeed.
    let (ra, rb) = tokio::join!(
        a.create_collection(key, DIMS),
        b.create_collection(key, DIMS)
    );
    ra.unwrap();
    rb.unwrap();
    b.create_collection(key, DIMS)
        .await
        .expect("creating again is fine");
    let err = b
        .create_collection(key, DIMS + 1)
        .await
        .expect_err("another layout");
    assert!(err.to_string().contains("another layout"), "{err}");
    assert_eq!(a.keys().await.unwrap(), vec![key]);

    a.upsert(key, points()).await.unwrap();
    // Writes wait for Qdrant: the other store sees them at once.
    assert_eq!(b.count(key).await.unwrap(), 18);
    for (name, query) in queries() {
        let ha = a
            .search(key, &query, 5, &MetaFilter::default())
            .await
            .unwrap();
        let hb = b
            .search(key, &query, 5, &MetaFilter::default())
            .await
            .unwrap();
        assert_same_hits(name, &ha, &hb);
        if name != "nothing" {
            assert!(!hb.is_empty(), "{name}");
        }
    }
    let (_, hybrid) = &queries()[2];
    for h in b
        .search(key, hybrid, 18, &MetaFilter::default())
        .await
        .unwrap()
    {
        if let Some(c) = h.dense {
            assert!((-1.0..=1.0).contains(&c), "cosine {c}");
        }
    }
    b.delete_document(key, "doc 1", None).await.unwrap();
    assert_eq!(a.count(key).await.unwrap(), 15);

    a.drop_collection(key).await.unwrap();
    b.drop_collection(key)
        .await
        .expect("missing is not an error");
    let (_, dense) = &queries()[0];
    assert!(matches!(
        b.search(key, dense, 5, &MetaFilter::default()).await,
        Err(VectorError::NoSuchCollection(_))
    ));
    assert!(matches!(
        b.upsert(key, points()).await,
        Err(VectorError::NoSuchCollection(_))
    ));
    assert!(matches!(
        b.count(key).await,
        Err(VectorError::NoSuchCollection(_))
    ));
    assert!(matches!(
        b.delete_document(key, "doc 1", None).await,
        Err(VectorError::NoSuchCollection(_))
    ));
    cleanup(&q).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_a_dead_url_does_not_start() {
    // Runs without Qdrant: nothing listens on a port that was just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = test_config(dir.path());
    let url = format!("http://127.0.0.1:{port}");
    cfg.vectors = VectorsConfig::Qdrant(QdrantConfig {
        url: url.clone(),
        api_key_env: None,
        collection_prefix: "ragd_".into(),
        timeout_ms: 2000,
    });
    let err = match ragd::App::open(cfg).await {
        Ok(_) => panic!("ragd started without its Qdrant server"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains(&url), "the error names the URL: {err}");
}

/// The expectations above, checked on the embedded store alone (runs
/// without Qdrant): a failure with Qdrant is then Qdrant's difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expectations_hold_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("kb").await;
    s.ingest("kb", rich_corpus()).await;
    for (f, want) in filter_cases() {
        let body = json!({"question": "volcano lava bread tennis rust", "top_k": 50, "filter": f, "mode": "dense"});
        let r = s.query("kb", body).await;
        assert_eq!(sorted_unique(cited_ids(&r)), want, "filter {f}: {r}");
    }
    s.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let edge = EdgeStore::open(dir.path(), Arc::new(CpuPool::new(2)), 2000)
        .await
        .unwrap();
    let key = key(1);
    edge.create_collection(key, DIMS).await.unwrap();
    edge.upsert(key, points()).await.unwrap();
    let (_, dense) = &queries()[0];
    let count = |f: Value| {
        let edge = edge.clone();
        let dense = dense.clone();
        async move {
            edge.search(key, &dense, 50, &filter(f))
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(count(json!({})).await, 18);
    assert_eq!(count(json!({"topic": "cooking"})).await, 6);
    assert_eq!(count(json!({"city": "New York"})).await, 6);
    assert_eq!(count(json!({"city": "New"})).await, 0);
    assert_eq!(count(json!({"tags": ["t1", "t5"]})).await, 12);
    assert_eq!(count(json!({"score": 1})).await, 0);
    for (name, query) in queries() {
        let hits = edge
            .search(key, &query, 5, &MetaFilter::default())
            .await
            .unwrap();
        if name != "nothing" {
            assert!(!hits.is_empty(), "{name}");
        }
    }
    let mut v2 = points();
    v2.truncate(2);
    for p in &mut v2 {
        p.id = uuid(p.id.as_u128() ^ 0xffff);
        p.version = uuid(5000);
    }
    edge.upsert(key, v2).await.unwrap();
    edge.delete_document(key, "doc 0", Some(uuid(5000)))
        .await
        .unwrap();
    assert_eq!(edge.count(key).await.unwrap(), 17);
    edge.delete_document(key, "doc 5", None).await.unwrap();
    assert_eq!(edge.count(key).await.unwrap(), 14);
    // Equal scores rank by point id, and a cut through them keeps the
    // smallest ids: what Qdrant must match.
    let smallest: Vec<String> = (100..105).map(uuid_text).collect();
    for (name, hits) in tied_hits(&*edge).await {
        let ids: Vec<String> = hits.iter().map(|h| h.id.to_string()).collect();
        assert_eq!(ids, smallest, "{name}");
        if name == "dense" || name == "sparse" {
            assert!(
                hits.windows(2).all(|w| w[0].score == w[1].score),
                "{name}: tied"
            );
        }
    }
    edge.close().await;
}
