//! The PostgreSQL metadata store against a live server (see
//! [`crate::testing`]), one fresh database per test.

use std::sync::Arc;

use ragd_api::{DocumentFormat, Metadata};

use super::*;
use crate::meta::{NewChunk, now_rfc3339};
use crate::pg::tests::config;
use crate::testing::with_database;

/// The store on a fresh pool.
async fn open(url: &str) -> PgStore {
    PgStore::new(Arc::new(Pg::open(&config(url)).await.unwrap()))
}

fn collection(name: &str) -> CollectionRow {
    CollectionRow {
        key: CollectionKey::random(),
        name: name.into(),
        embedder: "minilm".into(),
        model: "all-MiniLM-L6-v2".into(),
        dimensions: 384,
        created_at: now_rfc3339(),
    }
}

fn document(id: &str, chunks: usize) -> NewDocument {
    let mut metadata = Metadata::new();
    metadata.insert("lang".into(), "en".into());
    metadata.insert("year".into(), 2024.into());
    NewDocument {
        id: id.into(),
        version: Uuid::new_v4(),
        text: format!("text of {id} with {chunks} chunks"),
        metadata,
        format: DocumentFormat::Markdown,
        sha256: format!("{:064x}", chunks),
        chunks: (0..chunks)
            .map(|i| NewChunk {
                point_id: Uuid::new_v4(),
                index: i as u32,
                text: format!("chunk {i} of {id}"),
                heading: if i == 0 {
                    "Intro".into()
                } else {
                    String::new()
                },
                page: (i > 0).then_some(i as u32),
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_put_get_replace_delete() {
    with_database(|url| async move {
        let s = open(&url).await;
        let c = collection("kb");
        s.create_collection(&c).await.unwrap();
        let got = s.get_collection("kb").await.unwrap().unwrap();
        assert_eq!(got, c, "created_at round-trips as RFC 3339");
        assert_eq!(s.list_collections().await.unwrap(), vec![c.clone()]);
        assert!(s.get_collection("nope").await.unwrap().is_none());

        let d1 = document("doc", 3);
        assert_eq!(s.put_document(c.key, &d1).await.unwrap(), None);
        let row = s.get_document(c.key, "doc").await.unwrap().unwrap();
        assert_eq!(row.version, d1.version);
        assert_eq!(row.text, d1.text);
        assert_eq!(row.metadata, d1.metadata);
        assert_eq!(row.format, DocumentFormat::Markdown);
        assert_eq!(row.chunks, 3);
        assert_eq!(row.sha256.as_deref(), Some(d1.sha256.as_str()));
        assert_eq!(row.bytes, d1.text.len() as u64);
        assert!(row.updated_at.ends_with('Z'), "{}", row.updated_at);
        assert_eq!(s.collection_counts(c.key).await.unwrap(), (1, 3));

        // Replace: the previous version comes back, old chunks are gone.
        let d2 = document("doc", 2);
        assert_eq!(s.put_document(c.key, &d2).await.unwrap(), Some(d1.version));
        assert_eq!(
            s.document_version(c.key, "doc").await.unwrap(),
            Some(d2.version)
        );
        assert_eq!(s.collection_counts(c.key).await.unwrap(), (1, 2));
        let old: Vec<Uuid> = d1.chunks.iter().map(|c| c.point_id).collect();
        assert!(s.chunks_by_points(c.key, &old).await.unwrap().is_empty());

        s.put_document(c.key, &document("another", 1))
            .await
            .unwrap();
        let list = s.list_documents(c.key, None, 100).await.unwrap();
        let ids: Vec<&str> = list.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, vec!["another", "doc"]);
        assert!(list.iter().all(|d| d.text.is_empty()));
        assert_eq!(list[1].version, d2.version);
        assert_eq!(list[1].sha256.as_deref(), Some(d2.sha256.as_str()));
        // Pages: one past the cursor, in byte order.
        let page = s.list_documents(c.key, Some("another"), 1).await.unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].id, "doc");
        let points: Vec<Uuid> = d2.chunks.iter().map(|c| c.point_id).collect();
        let mut pages: Vec<Option<u32>> = s
            .chunks_by_points(c.key, &points)
            .await
            .unwrap()
            .iter()
            .map(|c| c.page)
            .collect();
        pages.sort();
        assert_eq!(pages, [None, Some(1)], "chunk pages round-trip");

        assert!(s.delete_document(c.key, "doc").await.unwrap().is_some());
        assert!(s.delete_document(c.key, "doc").await.unwrap().is_none());
        assert!(s.get_document(c.key, "doc").await.unwrap().is_none());
        assert_eq!(s.document_version(c.key, "doc").await.unwrap(), None);
        assert_eq!(s.collection_counts(c.key).await.unwrap(), (1, 1));

        assert!(s.delete_collection(c.key).await.unwrap());
        assert!(!s.delete_collection(c.key).await.unwrap());
        assert_eq!(s.collection_counts(c.key).await.unwrap(), (0, 0));
        s.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_by_points_joins_document_metadata() {
    with_database(|url| async move {
        let s = open(&url).await;
        let c = collection("kb");
        let other = collection("other");
        s.create_collection(&c).await.unwrap();
        s.create_collection(&other).await.unwrap();
        let d = document("doc", 3);
        s.put_document(c.key, &d).await.unwrap();
        let elsewhere = document("doc", 1);
        s.put_document(other.key, &elsewhere).await.unwrap();

        let mut ids = vec![d.chunks[0].point_id, d.chunks[2].point_id, Uuid::new_v4()];
        // A point of another collection is not returned.
        ids.push(elsewhere.chunks[0].point_id);
        let mut rows = s.chunks_by_points(c.key, &ids).await.unwrap();
        rows.sort_by_key(|r| r.index);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].point_id, d.chunks[0].point_id);
        assert_eq!(rows[0].doc_id, "doc");
        assert_eq!(rows[0].text, "chunk 0 of doc");
        assert_eq!(rows[0].heading, "Intro");
        assert_eq!(rows[0].metadata, d.metadata);
        assert_eq!(rows[1].index, 2);
        assert_eq!(rows[1].heading, "");
        assert!(s.chunks_by_points(c.key, &[]).await.unwrap().is_empty());
        s.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_names_are_unique() {
    with_database(|url| async move {
        let s = open(&url).await;
        s.create_collection(&collection("kb")).await.unwrap();
        match s.create_collection(&collection("kb")).await {
            Err(MetaError::CollectionExists(name)) => assert_eq!(name, "kb"),
            other => panic!("expected CollectionExists, got {other:?}"),
        }
        s.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_of_one_document_from_two_replicas() {
    with_database(|url| async move {
        let a = Arc::new(open(&url).await);
        let b = Arc::new(open(&url).await);
        let c = collection("kb");
        a.create_collection(&c).await.unwrap();
        let key = c.key;
        for round in 0..20 {
            let id = format!("doc{}", round % 4);
            let before = a.document_version(c.key, &id).await.unwrap();
            let (da, db) = (document(&id, 3 + round), document(&id, 7));
            let (ra, rb) = tokio::join!(
                {
                    let (a, da) = (a.clone(), da.clone());
                    tokio::spawn(async move { a.put_document(key, &da).await })
                },
                {
                    let (b, db) = (b.clone(), db.clone());
                    tokio::spawn(async move { b.put_document(key, &db).await })
                }
            );
            let (pa, pb) = (ra.unwrap().unwrap(), rb.unwrap().unwrap());
            // One went first and replaced `before`; the other replaced it.
            let fin = a.get_document(c.key, &id).await.unwrap().unwrap();
            let winner = if fin.version == da.version {
                assert_eq!((pb, pa), (before, Some(db.version)), "round {round}");
                &da
            } else {
                assert_eq!(fin.version, db.version, "round {round}");
                assert_eq!((pa, pb), (before, Some(da.version)), "round {round}");
                &db
            };
            assert_eq!(fin.chunks as usize, winner.chunks.len());
            let ids: Vec<Uuid> = da
                .chunks
                .iter()
                .chain(&db.chunks)
                .map(|c| c.point_id)
                .collect();
            let found = a.chunks_by_points(c.key, &ids).await.unwrap();
            assert_eq!(found.len(), winner.chunks.len(), "round {round}");
            assert!(
                found
                    .iter()
                    .all(|r| winner.chunks.iter().any(|w| w.point_id == r.point_id))
            );
        }
        let docs = a.list_documents(c.key, None, 100).await.unwrap();
        let total: u64 = docs.iter().map(|d| d.chunks as u64).sum();
        assert_eq!(a.collection_counts(c.key).await.unwrap(), (4, total));
        a.close().await;
        b.close().await;
    })
    .await;
}
