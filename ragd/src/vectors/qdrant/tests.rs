//! Unit tests of the Qdrant store that need no server: requests, filters,
//! payloads and hits are built as the embedded store builds them.

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
