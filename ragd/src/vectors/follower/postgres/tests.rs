//! The vector log against a live PostgreSQL (see [`crate::testing`]): what
//! goes in comes out in order, compaction keeps every replay equal, and
//! sequence numbers commit in order across replicas.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::pg::tests::config;
use crate::testing::with_database;

/// The log on a fresh pool.
async fn open(url: &str) -> PgLog {
    PgLog::new(Arc::new(Pg::open(&config(url)).await.unwrap()))
}

/// Collection keys of the tests, by number.
fn k(n: u128) -> CollectionKey {
    CollectionKey::from_uuid(Uuid::from_u128(n))
}

fn point(doc_id: &str, version: Uuid, i: u32) -> ChunkPoint {
    let mut metadata = Metadata::new();
    metadata.insert("tag".into(), serde_json::json!(["a", "b"]));
    ChunkPoint {
        id: Uuid::new_v4(),
        doc_id: doc_id.into(),
        version,
        chunk_index: i,
        vector: vec![0.25, -0.5, i as f32],
        sparse: Sparse {
            indices: vec![1, u32::MAX, 7 + i],
            values: vec![0.1, 0.2, 0.3],
        },
        metadata,
    }
}

#[test]
fn dense_vectors_roundtrip_as_little_endian() {
    let v = vec![0.5f32, -1.25, f32::MIN_POSITIVE, 3.0e38];
    let b = encode_dense(&v);
    assert_eq!(&b[..4], &0.5f32.to_le_bytes());
    assert_eq!(decode_dense(&b), Some(v));
    assert_eq!(decode_dense(&[1, 2, 3]), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vector_log_roundtrip() {
    with_database(|url| async move {
        let s = open(&url).await;
        assert_eq!(s.head().await.unwrap(), 0);
        assert!(s.read(0, 10).await.unwrap().is_empty());
        let v = Uuid::new_v4();
        let p0 = point("doc", v, 0);
        let p1 = point("doc", v, 1);
        let keep = Uuid::new_v4();
        let last = s
            .append(vec![
                LogEntry::CreateCollection {
                    key: k(1),
                    dimensions: 3,
                },
                LogEntry::Upsert {
                    key: k(1),
                    point: p0.clone(),
                },
                LogEntry::Upsert {
                    key: k(1),
                    point: p1.clone(),
                },
                LogEntry::DeleteDocument {
                    key: k(1),
                    doc_id: "other".into(),
                    keep: Some(keep),
                },
            ])
            .await
            .unwrap();
        assert_eq!(s.head().await.unwrap(), last);
        let read = s.read(0, 100).await.unwrap();
        assert_eq!(read.len(), 4);
        assert_eq!(read.last().unwrap().0, last);
        assert!(read.windows(2).all(|w| w[0].0 < w[1].0));
        match &read[0].1 {
            LogEntry::CreateCollection { key, dimensions } => {
                assert_eq!((*key, *dimensions), (k(1), 3))
            }
            e => panic!("{e:?}"),
        }
        for (i, want) in [&p0, &p1].into_iter().enumerate() {
            let LogEntry::Upsert { key, point } = &read[1 + i].1 else {
                panic!("{:?}", read[1 + i]);
            };
            assert_eq!(*key, k(1));
            assert_eq!(point.id, want.id);
            assert_eq!(point.doc_id, want.doc_id);
            assert_eq!(point.version, want.version);
            assert_eq!(point.chunk_index, want.chunk_index);
            assert_eq!(point.vector, want.vector);
            assert_eq!(point.sparse, want.sparse, "u32::MAX survives int4");
            assert_eq!(point.metadata, want.metadata);
        }
        match &read[3].1 {
            LogEntry::DeleteDocument {
                key,
                doc_id,
                keep: kept,
            } => {
                assert_eq!((*key, doc_id.as_str(), *kept), (k(1), "other", Some(keep)))
            }
            e => panic!("{e:?}"),
        }
        // Paging.
        let page = s.read(read[1].0, 2).await.unwrap();
        assert_eq!(
            page.iter().map(|e| e.0).collect::<Vec<_>>(),
            vec![read[2].0, read[3].0]
        );
        // A point without sparse vector or metadata.
        let mut bare = point("bare", v, 0);
        bare.sparse = Sparse::default();
        bare.metadata = Metadata::new();
        bare.vector = vec![];
        let seq = s
            .append(vec![LogEntry::Upsert {
                key: k(1),
                point: bare.clone(),
            }])
            .await
            .unwrap();
        assert!(seq > last);
        let got = s.read(last, 10).await.unwrap();
        let LogEntry::Upsert { point: p, .. } = &got[0].1 else {
            panic!()
        };
        assert!(p.sparse.is_empty() && p.metadata.is_empty() && p.vector.is_empty());
        // A large batch goes in several INSERTs.
        let many: Vec<LogEntry> = (0..(LOG_BATCH as u32 + 10))
            .map(|i| LogEntry::Upsert {
                key: k(2),
                point: point("big", v, i),
            })
            .collect();
        let end = s.append(many).await.unwrap();
        let all = s.read(seq, 100_000).await.unwrap();
        assert_eq!(all.len(), LOG_BATCH + 10);
        assert_eq!(all.last().unwrap().0, end);
        s.pg.close().await;
    })
    .await;
}

/// Apply entries to a model of the index: key -> point id -> (doc, version).
fn replay(entries: &[(u64, LogEntry)]) -> BTreeMap<CollectionKey, BTreeMap<Uuid, (String, Uuid)>> {
    let mut index = BTreeMap::new();
    for (_, e) in entries {
        match e {
            LogEntry::CreateCollection { key, .. } => {
                index.entry(*key).or_default();
            }
            LogEntry::DropCollection { key } => {
                index.remove(key);
            }
            LogEntry::Upsert { key, point } => {
                index
                    .entry(*key)
                    .or_insert_with(BTreeMap::new)
                    .insert(point.id, (point.doc_id.clone(), point.version));
            }
            LogEntry::DeleteVersion {
                key,
                doc_id,
                version,
            } => {
                if let Some(points) = index.get_mut(key) {
                    points.retain(|_, (d, v)| !(d == doc_id && v == version));
                }
            }
            LogEntry::DeleteDocument { key, doc_id, keep } => {
                if let Some(points) = index.get_mut(key) {
                    points.retain(|_, (d, v)| d != doc_id || Some(*v) == *keep);
                }
            }
        }
    }
    index
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vector_log_compaction_keeps_replay_equal() {
    with_database(|url| async move {
        let s = open(&url).await;
        let (v1, v2, v3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let up = |doc: &str, v: Uuid, i: u32| LogEntry::Upsert {
            key: k(3),
            point: point(doc, v, i),
        };
        let del = |doc: &str, keep: Option<Uuid>| LogEntry::DeleteDocument {
            key: k(3),
            doc_id: doc.into(),
            keep,
        };
        let mut history = vec![
            LogEntry::CreateCollection {
                key: k(3),
                dimensions: 3,
            },
            up("a", v1, 0),
            up("a", v1, 1),
            up("b", v1, 0),
        ];
        // Re-ingest of a: v2 written, then everything but v2 deleted.
        history.extend([up("a", v2, 0), del("a", Some(v2))]);
        // An earlier delete keeping another version must stay: a
        // follower that applied c@v3 #0 before it needs it.
        history.extend([up("c", v3, 0), del("c", Some(v1)), up("c", v3, 1)]);
        history.push(del("c", Some(v3)));
        // b deleted entirely.
        history.push(del("b", None));
        // Another collection, created, filled and dropped.
        history.extend([
            LogEntry::CreateCollection {
                key: k(4),
                dimensions: 3,
            },
            LogEntry::Upsert {
                key: k(4),
                point: point("x", v1, 0),
            },
        ]);
        history.push(LogEntry::DropCollection { key: k(4) });
        // What followers had read after each append.
        let mut prefixes = vec![vec![]];
        for e in &history {
            // Appended in several transactions, as ingests would.
            s.append(vec![e.clone()]).await.unwrap();
            prefixes.push(s.read(0, 1000).await.unwrap());
        }
        let expected: Vec<(u64, LogEntry)> = history
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, e)| (i as u64, e))
            .collect();
        let want = replay(&expected);
        // k: a@v2 #0 and c@v3 #1.
        assert_eq!(want[&k(3)].len(), 2, "{want:?}");
        assert!(!want.contains_key(&k(4)));

        // A follower that applied what it read at any point, then reads
        // on from there, ends where the full history ends.
        for (i, prefix) in prefixes.iter().enumerate() {
            let after = prefix.last().map(|(seq, _)| *seq).unwrap_or(0);
            let mut seen = prefix.clone();
            seen.extend(s.read(after, 1000).await.unwrap());
            assert_eq!(
                replay(&seen),
                want,
                "follower that stopped after append {i}"
            );
        }

        let log = s.read(0, 1000).await.unwrap();
        assert_eq!(replay(&log), want, "compaction changed the result");
        assert!(log.len() < history.len(), "something was compacted");
        for (_, e) in &log {
            match e {
                LogEntry::Upsert { key, point } => {
                    assert_ne!(*key, k(4), "rows before the drop are gone");
                    assert_ne!(point.doc_id, "b", "b's upserts are compacted");
                    if point.doc_id == "a" {
                        assert_eq!(point.version, v2, "a@v1 is compacted");
                    }
                }
                LogEntry::CreateCollection { key, .. } => assert_ne!(*key, k(4)),
                _ => {}
            }
        }
        let gone: Vec<_> = log
            .iter()
            .filter(|(_, e)| match e {
                LogEntry::DropCollection { key } => *key == k(4),
                LogEntry::CreateCollection { key, .. } | LogEntry::Upsert { key, .. } => {
                    *key == k(4)
                }
                LogEntry::DeleteDocument { key, .. } | LogEntry::DeleteVersion { key, .. } => {
                    *key == k(4)
                }
            })
            .collect();
        assert_eq!(gone.len(), 1, "only the drop remains: {gone:?}");

        // Compaction within one append: an upsert and its delete.
        let v4 = Uuid::new_v4();
        let before = s.head().await.unwrap();
        s.append(vec![up("d", v4, 0), del("d", None)])
            .await
            .unwrap();
        let tail = s.read(before, 10).await.unwrap();
        assert_eq!(tail.len(), 1, "{tail:?}");
        assert!(matches!(tail[0].1, LogEntry::DeleteDocument { .. }));
        s.pg.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vector_log_seqs_commit_in_order_across_replicas() {
    with_database(|url| async move {
        let a = Arc::new(open(&url).await);
        let b = Arc::new(open(&url).await);
        const APPENDS: usize = 40;
        let writer = |s: Arc<PgLog>, name: &'static str, key: CollectionKey| {
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..APPENDS {
                    let entries = (0..3)
                        .map(|j| LogEntry::Upsert {
                            key,
                            point: point(&format!("{name}{i}"), Uuid::new_v4(), j),
                        })
                        .collect();
                    seqs.push(s.append(entries).await.unwrap());
                }
                seqs
            })
        };
        let wa = writer(a.clone(), "a", k(10));
        let wb = writer(b.clone(), "b", k(11));
        // A follower that only ever asks for what is after the last seq
        // it saw: it misses entries if a smaller seq commits later.
        let reader = {
            let r = Arc::new(open(&url).await);
            tokio::spawn(async move {
                let mut after = 0;
                let mut seen = 0;
                let deadline = Instant::now() + Duration::from_secs(60);
                while seen < 2 * APPENDS * 3 && Instant::now() < deadline {
                    let head = r.head().await.unwrap();
                    assert!(head >= after);
                    for (seq, _) in r.read(after, 50).await.unwrap() {
                        assert!(seq > after);
                        after = seq;
                        seen += 1;
                    }
                }
                r.pg.close().await;
                seen
            })
        };
        let (sa, sb) = (wa.await.unwrap(), wb.await.unwrap());
        assert!(sa.windows(2).all(|w| w[0] < w[1]));
        assert!(sb.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            reader.await.unwrap(),
            2 * APPENDS * 3,
            "the follower saw every entry"
        );
        let all = a.read(0, 10_000).await.unwrap();
        assert_eq!(all.len(), 2 * APPENDS * 3);
        assert_eq!(a.head().await.unwrap(), all.last().unwrap().0);
        a.pg.close().await;
        b.pg.close().await;
    })
    .await;
}
