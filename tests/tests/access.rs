//! Access to ragd end to end: API keys and their scopes, collection-limited
//! keys, revocation (on one replica and across two sharing PostgreSQL), the
//! admin listener, CORS and TLS. Runs on embedded defaults and, with
//! `RAGKIT_TEST_BACKENDS=postgres+redis` (tests/run.sh), on PostgreSQL.

use std::time::{Duration, Instant};

use ragkit_tests::{Server, auth_config, shared_services, use_shared_backends};
use serde_json::{Value, json};

/// A server with `[auth] enabled`, collections `a` and `b` (one document
/// each); its client sends the harness's admin key.
async fn guarded() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(auth_config(dir.path())).await;
    for c in ["a", "b"] {
        s.create_collection(c).await;
        s.ingest(
            c,
            json!([{"id": "etna", "text": "Mount Etna in Sicily is an active volcano."}]),
        )
        .await;
    }
    (dir, s)
}

fn ask() -> Option<Value> {
    Some(json!({"question": "Which volcano is active?"}))
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_valid_key_the_api_answers_401_with_a_bearer_challenge() {
    let (_dir, s) = guarded().await;
    // Well-formed but unknown, malformed, wrong scheme, nothing at all.
    let unknown = "rgk_0123456789ab_".to_string() + &"0".repeat(64);
    for key in [None, Some(unknown.as_str()), Some("letmein")] {
        for (m, path, body) in [
            ("GET", "/v1/collections", None),
            ("POST", "/v1/collections/a/query", ask()),
            ("GET", "/v1/keys", None),
            ("GET", "/metrics", None),
            ("GET", "/status", None),
            ("GET", "/v1/no/such/route", None),
        ] {
            let (status, b, h) = s.call_as(key, m, path, body).await;
            assert_eq!(status, 401, "{m} {path} with {key:?}: {b}");
            assert_eq!(code(&b), "unauthenticated", "{b}");
            let challenge = h.get("www-authenticate").expect("WWW-Authenticate");
            assert!(challenge.to_str().unwrap().starts_with("Bearer"));
        }
    }
    // The open routes stay open.
    for path in ["/health", "/ready", "/openapi.json"] {
        let (status, _, _) = s.call_as(None, "GET", path, None).await;
        assert_eq!(status, 200, "{path}");
    }
    // The admin key reads everything.
    let admin = s.admin_key.clone().unwrap();
    for path in ["/metrics", "/status", "/v1/keys", "/v1/collections"] {
        let (status, b, _) = s.call_as(Some(&admin), "GET", path, None).await;
        assert_eq!(status, 200, "{path}: {b}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_scope_does_what_it_may_and_gets_403_beyond() {
    let (_dir, s) = guarded().await;
    let query = s.make_key("reader", "query", &[]).await;
    let ingest = s.make_key("writer", "ingest", &[]).await;
    let doc = || Some(json!({"documents": [{"id": "x", "text": "Sourdough bread rises slowly."}]}));
    let new_collection = || Some(json!({"name": "c"}));

    // query: ask and read.
    let (st, b, _) = s
        .call_as(Some(&query), "POST", "/v1/collections/a/query", ask())
        .await;
    assert_eq!(st, 200, "{b}");
    for path in [
        "/v1/collections/a",
        "/v1/collections/a/documents",
        "/v1/collections/a/documents/etna",
    ] {
        let (st, b, _) = s.call_as(Some(&query), "GET", path, None).await;
        assert_eq!(st, 200, "{path}: {b}");
    }
    for (m, path, body) in [
        ("POST", "/v1/collections/a/documents", doc()),
        ("DELETE", "/v1/collections/a/documents/etna", None),
        ("POST", "/v1/collections", new_collection()),
        ("DELETE", "/v1/collections/a", None),
        ("GET", "/v1/keys", None),
        ("GET", "/metrics", None),
        ("GET", "/status", None),
    ] {
        let (st, b, _) = s.call_as(Some(&query), m, path, body).await;
        assert_eq!(
            (st, code(&b)),
            (403, "forbidden"),
            "query key: {m} {path}: {b}"
        );
    }

    // ingest: also write and delete documents.
    let (st, b, _) = s
        .call_as(Some(&ingest), "POST", "/v1/collections/a/documents", doc())
        .await;
    assert_eq!(st, 201, "{b}");
    let (st, b, _) = s
        .call_as(
            Some(&ingest),
            "DELETE",
            "/v1/collections/a/documents/x",
            None,
        )
        .await;
    assert_eq!(st, 204, "{b}");
    for (m, path, body) in [
        ("POST", "/v1/collections", new_collection()),
        ("DELETE", "/v1/collections/b", None),
        (
            "POST",
            "/v1/keys",
            Some(json!({"name": "mine", "scope": "admin"})),
        ),
        ("GET", "/metrics", None),
    ] {
        let (st, b, _) = s.call_as(Some(&ingest), m, path, body).await;
        assert_eq!(
            (st, code(&b)),
            (403, "forbidden"),
            "ingest key: {m} {path}: {b}"
        );
    }

    // admin: also collections and keys.
    let admin = s.admin_key.clone().unwrap();
    let (st, b, _) = s
        .call_as(Some(&admin), "POST", "/v1/collections", new_collection())
        .await;
    assert_eq!(st, 201, "{b}");
    let (st, b, _) = s
        .call_as(Some(&admin), "DELETE", "/v1/collections/c", None)
        .await;
    assert_eq!(st, 204, "{b}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_limited_key_cannot_tell_whether_other_collections_exist() {
    let (_dir, s) = guarded().await;
    let key = s.make_key("only-a", "ingest", &["a"]).await;
    let (st, b, _) = s
        .call_as(Some(&key), "POST", "/v1/collections/a/query", ask())
        .await;
    assert_eq!(st, 200, "{b}");
    // `b` exists, `zzz` does not: the same answer, byte for byte.
    let mut answers = vec![];
    for c in ["b", "zzz"] {
        for (m, path, body) in [
            ("POST", format!("/v1/collections/{c}/query"), ask()),
            ("GET", format!("/v1/collections/{c}"), None),
            ("GET", format!("/v1/collections/{c}/documents/etna"), None),
            (
                "POST",
                format!("/v1/collections/{c}/documents"),
                Some(json!({"documents": []})),
            ),
            ("POST", format!("/v1/collections/{c}/search"), ask()),
            // The OpenAI route names the collection in its body.
            (
                "POST",
                "/v1/chat/completions".to_string(),
                Some(json!({"model": c, "messages": [{"role": "user", "content": "q"}]})),
            ),
        ] {
            let (st, b, _) = s.call_as(Some(&key), m, &path, body).await;
            assert_eq!((st, code(&b)), (403, "forbidden"), "{m} {path}: {b}");
            answers.push((m, path.replace(c, "C"), b));
        }
    }
    let (on_b, on_zzz) = answers.split_at(answers.len() / 2);
    assert_eq!(
        on_b, on_zzz,
        "an existing and a missing collection look the same"
    );
    // The list shows its own collection only; a missing own one is a 404.
    let (st, b, _) = s.call_as(Some(&key), "GET", "/v1/collections", None).await;
    assert_eq!(st, 200);
    let names: Vec<&str> = b["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a"]);
    let (st, b, _) = s.call_as(Some(&key), "GET", "/v1/models", None).await;
    assert_eq!(st, 200);
    assert_eq!(b["data"].as_array().map(Vec::len), Some(1), "{b}");
    assert_eq!(b["data"][0]["id"], "a");
    let other = s.make_key("only-gone", "query", &["gone"]).await;
    let (st, b, _) = s
        .call_as(Some(&other), "GET", "/v1/collections/gone", None)
        .await;
    assert_eq!((st, code(&b)), (404, "collection_not_found"), "{b}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_listed_without_secrets_and_a_revoked_key_stops_working() {
    let (_dir, s) = guarded().await;
    let key = s.make_key("temp", "query", &[]).await;
    assert!(
        key.starts_with("rgk_") && key.len() >= 4 + 12 + 1 + 32,
        "{key}"
    );
    let (st, b, _) = s.call_as(Some(&key), "GET", "/v1/collections", None).await;
    assert_eq!(st, 200, "{b}");
    let (st, list) = s.call("GET", "/v1/keys", None).await;
    assert_eq!(st, 200);
    let text = list.to_string();
    assert!(
        text.contains("\"temp\"") && !text.contains(&key[17..]),
        "{text}"
    );
    let (st, status) = s.call("GET", "/status", None).await;
    assert_eq!(st, 200);
    assert!(!status.to_string().contains(&key[17..]));
    // Same name again: 409; bad input: 422; unknown key: 404.
    let (st, b) = s
        .call(
            "POST",
            "/v1/keys",
            Some(json!({"name": "temp", "scope": "query"})),
        )
        .await;
    assert_eq!((st, code(&b)), (409, "key_exists"), "{b}");
    let (st, b) = s
        .call(
            "POST",
            "/v1/keys",
            Some(json!({"name": "x", "scope": "root"})),
        )
        .await;
    assert_eq!(st, 422, "{b}");
    let (st, b) = s.call("DELETE", "/v1/keys/nobody", None).await;
    assert_eq!((st, code(&b)), (404, "key_not_found"), "{b}");
    // Revoked through this replica: refused at once.
    let (st, b) = s.call("DELETE", "/v1/keys/temp", None).await;
    assert_eq!(st, 200, "{b}");
    assert!(b["revoked_at"].is_string(), "{b}");
    let (st, b, _) = s.call_as(Some(&key), "GET", "/v1/collections", None).await;
    assert_eq!((st, code(&b)), (401, "unauthenticated"), "{b}");
    // An expired key is refused like a revoked one.
    let (st, b) = s
        .call(
            "POST",
            "/v1/keys",
            Some(json!({"name": "brief", "scope": "query", "expires_in_secs": 1})),
        )
        .await;
    assert_eq!(st, 201, "{b}");
    let brief = b["secret"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (st, _, _) = s
            .call_as(Some(&brief), "GET", "/v1/collections", None)
            .await;
        if st == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "an expired key still works");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgresql_share_keys_and_a_revocation_reaches_both() {
    if shared_services().is_none() {
        return;
    }
    let name = format!("ragkit_access_{}", std::process::id());
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut replicas = vec![];
    for d in [&d1, &d2] {
        let mut cfg = auth_config(d.path());
        use_shared_backends(&mut cfg, &name).await;
        replicas.push(Server::start_with(cfg).await);
    }
    let (r1, r2) = (&replicas[0], &replicas[1]);
    let key = r1
        .make_key(&format!("shared-{}", std::process::id()), "query", &[])
        .await;
    let (st, b, _) = r2.call_as(Some(&key), "GET", "/v1/collections", None).await;
    assert_eq!(
        st, 200,
        "a key made through one replica works on the other: {b}"
    );
    let (st, b) = r1
        .call(
            "DELETE",
            &format!("/v1/keys/shared-{}", std::process::id()),
            None,
        )
        .await;
    assert_eq!(st, 200, "{b}");
    // r2 remembered the key; it must stop within auth.cache_secs (5 s).
    let started = Instant::now();
    loop {
        let (st, _, _) = r2.call_as(Some(&key), "GET", "/v1/collections", None).await;
        if st == 401 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5 + 5),
            "revoked key still works on the other replica"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for r in replicas {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_serves_operations_without_keys_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = auth_config(dir.path());
    cfg.server.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    let s = Server::start_with(cfg).await;
    let admin = s.admin_base.clone().expect("admin listener");
    let plain = reqwest::Client::new();
    for path in ["/metrics", "/status", "/health", "/ready"] {
        let r = plain.get(format!("{admin}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} on the admin listener");
    }
    let r = plain
        .get(format!("{admin}/v1/collections"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "no API on the admin listener");
    let (st, _, _) = s.call_as(None, "GET", "/metrics", None).await;
    assert_eq!(st, 401, "the main listener still wants a key");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_allows_the_configured_origin_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = auth_config(dir.path());
    cfg.server.cors_origins = vec!["https://app.example".into()];
    let s = Server::start_with(cfg).await;
    let plain = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        plain
            .request(reqwest::Method::OPTIONS, s.url("/v1/collections/a/query"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let r = preflight("https://app.example").await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    let methods = h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(methods.contains("post"), "{methods}");
    let headers = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(headers.contains("authorization"), "{headers}");
    let r = preflight("https://evil.example").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // An actual request from the origin carries the header, 401 or not.
    let r = plain
        .get(s.url("/v1/collections"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = ragkit_tests::self_signed(certs.path());
    let mut cfg = auth_config(dir.path());
    cfg.server.tls_cert = Some(cert);
    cfg.server.tls_key = Some(key);
    let s = Server::start_with(cfg).await;
    assert!(s.base.starts_with("https://"), "{}", s.base);
    // The harness's client trusts the certificate and sends the admin key.
    s.create_collection("kb").await;
    let (st, b) = s.call("GET", "/v1/collections", None).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["collections"][0]["name"], "kb");
    // A client that does not trust it refuses; plain HTTP gets no answer.
    let strict = reqwest::Client::new();
    assert!(strict.get(s.url("/health")).send().await.is_err());
    let http = s.base.replacen("https://", "http://", 1);
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let r = plain.get(format!("{http}/health")).send().await;
    assert!(r.is_err() || r.unwrap().status() != 200);
    s.stop().await;
}
