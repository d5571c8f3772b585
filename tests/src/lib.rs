//! Test harness: real ragd servers on 127.0.0.1:0, driven over HTTP.
//!
//! Each [`Server`] runs the library's `serve` in the test's runtime, on its
//! own data directory, exactly as the binary does; stopping it goes through
//! the same graceful shutdown as SIGTERM.
//!
//! Backends: with `RAGKIT_TEST_BACKENDS=postgres+redis` (and the servers of
//! `tests/services.sh` in `RAGKIT_PG_URL` / `RAGKIT_REDIS_URL`), every server
//! that a test leaves on the default SQLite store runs on PostgreSQL and the
//! Redis cache instead, in a database and key prefix of its own derived from
//! its data directory (so a restart on the same directory finds its data).
//! `tests/run.sh` runs the HTTP suite both ways.
//!
//! [`docker`]: helpers for tests against the real Docker engine (a ragd
//! image from the debug binary, compose-labelled containers, cleanup on
//! drop), shared by ragctl's and loadgen's tests.

pub mod docker;

use std::path::{Path, PathBuf};

use ragd::Config;
use ragd::config::{CacheConfig, MetadataConfig, PostgresConfig, RedisConfig};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct Server {
    pub base: String,
    /// Sends the harness's admin key when the server has `[auth]` on.
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    /// The admin key the harness made (servers with `[auth] enabled`).
    pub admin_key: Option<String>,
    /// Base URL of `server.admin_listen`, when configured.
    pub admin_base: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Configuration for tests: embedded defaults in `dir`, small body limit.
pub fn test_config(dir: &Path) -> Config {
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.to_path_buf();
    cfg.server.listen = "127.0.0.1:0".parse().unwrap();
    cfg.server.max_body_bytes = 1024 * 1024;
    cfg.server.shutdown_grace_secs = 10;
    // Debug builds run CPU jobs ~10x slower than release: shedding on the
    // CPU queue's expected wait would refuse questions of concurrency
    // tests at random. tests/tests/limits.rs turns it on and tests it.
    cfg.server.max_queue_wait_ms = 0;
    cfg
}

impl Server {
    pub async fn start(dir: &Path) -> Server {
        Server::start_with(test_config(dir)).await
    }

    pub async fn start_with(mut cfg: Config) -> Server {
        if shared_backends() && matches!(cfg.metadata, MetadataConfig::Sqlite { .. }) {
            let name = shared_name(&cfg.storage.data_dir);
            use_shared_backends(&mut cfg, &name).await;
        }
        let data_dir = cfg.storage.data_dir.clone();
        let tls_cert = cfg.server.tls_cert.clone();
        let wants_admin = cfg.server.admin_listen.is_some();
        let app = ragd::App::open(cfg).await.expect("ragd starts");
        let admin_key = match app.auth.enabled() {
            true => Some(bootstrap_admin_key(&app).await),
            false => None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let admin = match wants_admin {
            true => Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
            false => None,
        };
        let admin_base = admin
            .as_ref()
            .map(|l| format!("http://{}", l.local_addr().unwrap()));
        let (tx, rx) = oneshot::channel::<()>();
        let listeners = ragd::Listeners {
            api: listener,
            admin,
        };
        let task = tokio::spawn(async move {
            ragd::serve_with(app, listeners, async move {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        let mut client = reqwest::Client::builder();
        if let Some(key) = &admin_key {
            let mut headers = reqwest::header::HeaderMap::new();
            let value = format!("Bearer {key}").parse().unwrap();
            headers.insert(reqwest::header::AUTHORIZATION, value);
            client = client.default_headers(headers);
        }
        let scheme = match &tls_cert {
            Some(cert) => {
                let pem = std::fs::read(cert).expect("test certificate");
                let cert = reqwest::Certificate::from_pem(&pem).expect("PEM certificate");
                client = client.add_root_certificate(cert);
                "https"
            }
            None => "http",
        };
        Server {
            base: format!("{scheme}://{addr}"),
            client: client.build().unwrap(),
            data_dir,
            admin_key,
            admin_base,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// A new key of `scope`, limited to `collections` (none: all), made
    /// through `POST /v1/keys` with the harness's admin key.
    pub async fn make_key(&self, name: &str, scope: &str, collections: &[&str]) -> String {
        let (s, b) = self
            .call(
                "POST",
                "/v1/keys",
                Some(serde_json::json!({"name": name, "scope": scope, "collections": collections})),
            )
            .await;
        assert_eq!(s, 201, "create key: {b}");
        b["secret"].as_str().expect("secret").to_string()
    }

    /// Like [`Server::call`], with `Authorization: Bearer key` (or none at
    /// all); returns the response's headers too.
    pub async fn call_as(
        &self,
        key: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        // A client of its own: `self.client` sends the admin key.
        let mut client = reqwest::Client::builder();
        if self.base.starts_with("https") {
            client = client.danger_accept_invalid_certs(true);
        }
        let mut req = client.build().unwrap().request(m, self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        )
    }

    /// Graceful stop; returns when every backend is flushed and closed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Send JSON, return (status, parsed body or Null).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(m, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POST `body` to `path` asking for Server-Sent Events; checks the
    /// 200 and the content type, returns the whole stream.
    pub async fn stream(&self, path: &str, body: Value) -> String {
        let resp = self
            .client
            .post(self.url(path))
            .header("accept", "text/event-stream")
            .json(&body)
            .send()
            .await
            .expect("request sent");
        assert_eq!(resp.status(), 200, "{path}");
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        resp.text().await.expect("stream body")
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let resp = self.client.get(self.url("/metrics")).send().await;
        resp.expect("GET /metrics")
            .text()
            .await
            .expect("metrics body")
    }

    pub async fn create_collection(&self, name: &str) {
        let (s, b) = self
            .call(
                "POST",
                "/v1/collections",
                Some(serde_json::json!({"name": name})),
            )
            .await;
        assert_eq!(s, 201, "create collection: {b}");
    }

    pub async fn ingest(&self, collection: &str, docs: Value) -> Value {
        let (s, b) = self
            .call(
                "POST",
                &format!("/v1/collections/{collection}/documents"),
                Some(serde_json::json!({ "documents": docs })),
            )
            .await;
        assert_eq!(s, 201, "ingest: {b}");
        b
    }

    pub async fn query(&self, collection: &str, body: Value) -> Value {
        let (s, b) = self
            .call(
                "POST",
                &format!("/v1/collections/{collection}/query"),
                Some(body),
            )
            .await;
        assert_eq!(s, 200, "query: {b}");
        b
    }
}

/// Configuration for tests with API keys on (`[auth] enabled`): the
/// harness makes an admin key and its client sends it.
pub fn auth_config(dir: &Path) -> Config {
    let mut cfg = test_config(dir);
    cfg.auth.enabled = true;
    cfg
}

/// An admin key written straight into the server's store, as `ragd keys
/// create` does; a fresh name each time, so restarts on one store work.
async fn bootstrap_admin_key(app: &ragd::App) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "harness-admin-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let req = ragd_api::CreateKey {
        name,
        scope: ragd_api::KeyScope::Admin,
        collections: vec![],
        expires_in_secs: None,
    };
    ragd::service::keys::create(app.backends.meta.as_ref(), req)
        .await
        .expect("harness admin key")
        .secret
}

/// A server on a fresh data directory with collection `kb` holding
/// [`corpus`]. Keep the directory alive as long as the server.
pub async fn server_with_corpus() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;
    (dir, s)
}

/// Document ids cited by a query response, in order.
pub fn cited_ids(resp: &Value) -> Vec<String> {
    resp["citations"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["document_id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// One question per document of [`corpus`], with the id it should cite.
pub const CORPUS_QUESTIONS: [(&str, &str); 4] = [
    ("Which volcano in Sicily is active?", "volcano"),
    (
        "How long should sourdough dough rise before baking?",
        "bread",
    ),
    (
        "How many games does it take to win a set in tennis?",
        "tennis",
    ),
    ("What does the borrow checker prevent?", "rust"),
];

/// A small corpus on clearly different topics.
pub fn corpus() -> Value {
    serde_json::json!([
        {"id": "volcano", "metadata": {"topic": "geology", "year": 2020},
         "text": "Volcanoes erupt when magma rises through the crust. Lava flows can destroy villages. Mount Etna in Sicily is one of the most active volcanoes in Europe."},
        {"id": "bread", "metadata": {"topic": "cooking", "year": 2021},
         "text": "To bake sourdough bread, feed the starter the night before. Knead the dough, let it rise for several hours, then bake it in a hot oven until the crust is dark."},
        {"id": "tennis", "metadata": {"topic": "sport", "year": 2022},
         "text": "A tennis match is won by the player who first wins the required number of sets. A set is won by the first player to win six games with a margin of two."},
        {"id": "rust", "metadata": {"topic": "programming", "year": 2022},
         "text": "Rust's borrow checker enforces that a value has either one mutable reference or any number of shared references at a time, which prevents data races at compile time."}
    ])
}

/// A self-signed certificate for 127.0.0.1 and localhost, made with the
/// openssl command line; returns (certificate, key) paths.
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (Debian package openssl) makes the test certificate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// A loopback port free right now (for a process the test starts itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether servers run on PostgreSQL + Redis (`RAGKIT_TEST_BACKENDS`).
pub fn shared_backends() -> bool {
    std::env::var("RAGKIT_TEST_BACKENDS").as_deref() == Ok("postgres+redis")
}

/// The PostgreSQL and Redis URLs of `tests/services.sh`, or `None` after
/// skipping: the one rule of [`ragd::testing`] (with
/// `RAGKIT_REQUIRE_SERVICES` set, as `tests/run.sh` sets it, a missing
/// service fails the test instead).
pub fn shared_services() -> Option<(String, String)> {
    Some((ragd::testing::pg_url()?, ragd::testing::redis_url()?))
}

/// A database / key-prefix name derived from a data directory.
pub fn shared_name(dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    format!("ragkit_{:016x}", h.finish())
}

/// URL of database `name` on the test PostgreSQL, created if missing.
pub async fn pg_database(name: &str) -> String {
    let (admin, _) = shared_services().expect("shared services configured");
    ragd::testing::ensure_database(&admin, name).await
}

/// Point `cfg` at the test PostgreSQL (database `name`) and Redis (key
/// prefix `name`), with the shared Redis cache unless caching is off.
pub async fn use_shared_backends(cfg: &mut Config, name: &str) {
    let (_, redis) = shared_services().expect("shared services configured");
    cfg.metadata = MetadataConfig::Postgres(PostgresConfig {
        url: pg_database(name).await,
        max_connections: 8,
        min_connections: 1,
        acquire_timeout_ms: 5000,
        statement_timeout_ms: 10_000,
        pgbouncer: false,
        replicas: 1,
    });
    cfg.redis = Some(RedisConfig {
        url: redis,
        prefix: name.to_string(),
        timeout_ms: 250,
        embedding_ttl_secs: 600,
    });
    if let CacheConfig::Memory { ttl_secs, .. } = cfg.cache {
        cfg.cache = CacheConfig::Redis { ttl_secs };
    }
}
