//! Several ragd replicas on one PostgreSQL + Redis (tests/services.sh):
//! what one replica acknowledges, every other one answers; Redis faults
//! degrade without failing a query.

use std::time::{Duration, Instant};

use ragkit_tests::{Server, cited_ids, corpus, shared_services, test_config, use_shared_backends};
use serde_json::{Value, json};

/// A replica of deployment `name` (shared database and key prefix) on its own
/// data directory.
async fn replica(name: &str, dir: &tempfile::TempDir) -> Server {
    let mut cfg = test_config(dir.path());
    use_shared_backends(&mut cfg, name).await;
    Server::start_with(cfg).await
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        uuid_like(std::time::SystemTime::now(), std::process::id())
    )
}

fn uuid_like(t: std::time::SystemTime, pid: u32) -> String {
    let nanos = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}{:x}", nanos, pid)
}

async fn ask(s: &Server, question: &str) -> Value {
    s.query("kb", json!({"question": question, "top_k": 2}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_replica_acknowledges_every_replica_answers() {
    if shared_services().is_none() {
        return;
    }
    let name = unique("replicas");
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = replica(&name, &da).await;
    let b = replica(&name, &db).await;

    // A collection created through A exists on B.
    a.create_collection("kb").await;
    let (s, body) = b.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(s, 200, "{body}");

    // A document ingested through A is answered by B.
    a.ingest("kb", corpus()).await;
    let q = "How does the borrow checker prevent data races?";
    let r = ask(&b, q).await;
    assert_eq!(
        cited_ids(&r).first().map(String::as_str),
        Some("rust"),
        "{r}"
    );
    assert_eq!(r["cached"], false);
    // B's answer is in the shared cache: A serves it without computing.
    let r = ask(&a, q).await;
    assert_eq!(r["cached"], true, "the shared cache serves replica A: {r}");

    // A delete through B removes the document everywhere, cache included.
    let (s, body) = b
        .call("DELETE", "/v1/collections/kb/documents/rust", None)
        .await;
    assert_eq!(s, 204, "{body}");
    for (i, s) in [&a, &b].into_iter().enumerate() {
        let r = ask(s, q).await;
        if i == 0 {
            assert_eq!(
                r["cached"], false,
                "no stale cache entry after a delete: {r}"
            );
        }
        assert!(
            !cited_ids(&r).contains(&"rust".to_string()),
            "deleted document still cited by {}: {r}",
            s.base
        );
    }

    // A re-ingest through B replaces the text A answers from.
    b.ingest(
        "kb",
        json!([{"id": "tennis", "text": "Pickleball is played with paddles on a small court with a low net."}]),
    )
    .await;
    let r = ask(&a, "What is pickleball played with?").await;
    assert_eq!(
        cited_ids(&r).first().map(String::as_str),
        Some("tennis"),
        "{r}"
    );
    assert!(
        r["citations"][0]["text"]
            .as_str()
            .unwrap()
            .contains("paddles"),
        "{r}"
    );
    let (_, doc) = a
        .call("GET", "/v1/collections/kb/documents/tennis", None)
        .await;
    assert!(
        doc["text"].as_str().unwrap().starts_with("Pickleball"),
        "{doc}"
    );

    // Counts agree.
    let (_, ca) = a.call("GET", "/v1/collections/kb", None).await;
    let (_, cb) = b.call("GET", "/v1/collections/kb", None).await;
    assert_eq!(ca["documents"], 3, "{ca}");
    assert_eq!(ca["documents"], cb["documents"]);
    assert_eq!(ca["chunks"], cb["chunks"]);

    // A collection deleted through A is gone on B; re-created, it is empty.
    let (s, _) = a.call("DELETE", "/v1/collections/kb", None).await;
    assert_eq!(s, 204);
    let (s, body) = b
        .call(
            "POST",
            "/v1/collections/kb/query",
            Some(json!({"question": q})),
        )
        .await;
    assert_eq!(s, 404, "{body}");
    b.create_collection("kb").await;
    let r = ask(&a, q).await;
    assert!(
        cited_ids(&r).is_empty(),
        "a re-created collection starts empty: {r}"
    );
    assert_eq!(r["cached"], false, "{r}");

    // A third replica started later rebuilds its index from the log.
    a.ingest("kb", corpus()).await;
    let dc = tempfile::tempdir().unwrap();
    let c = replica(&name, &dc).await;
    let r = c
        .query(
            "kb",
            json!({"question": "Which volcano in Sicily is active?", "top_k": 1}),
        )
        .await;
    assert_eq!(cited_ids(&r), vec!["volcano".to_string()], "{r}");

    a.stop().await;
    b.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingests_through_two_replicas_keep_one_consistent_version() {
    if shared_services().is_none() {
        return;
    }
    let name = unique("race");
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = replica(&name, &da).await;
    let b = replica(&name, &db).await;
    a.create_collection("kb").await;
    // Both replicas rewrite the same document at the same time, in bursts;
    // after each burst exactly one version must be stored and searchable.
    // (Without the cross-replica document lock, one replica deleted the
    // other's new vectors: the document vanished from search.)
    for burst in 0..3 {
        // Both replicas rewrite the same document ids at the same time.
        let mut tasks = Vec::new();
        for round in 0..12 {
            for (i, s) in [&a, &b].into_iter().enumerate() {
                let text = format!(
                    "Version {burst}-{round}-{i}. Glaciers carve valleys as they move slowly downhill under their own weight."
                );
                let client = s.client.clone();
                let url = s.url("/v1/collections/kb/documents");
                tasks.push(tokio::spawn(async move {
                    let r = client
                        .post(url)
                        .json(&json!({"documents": [{"id": "glacier", "text": text}]}))
                        .send()
                        .await
                        .unwrap();
                    r.status().as_u16()
                }));
            }
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 201);
        }
        // Exactly one version survives, with its chunks, on both replicas.
        let (_, doc) = a
            .call("GET", "/v1/collections/kb/documents/glacier", None)
            .await;
        let text = doc["text"].as_str().unwrap().to_string();
        for s in [&a, &b] {
            let r = s
                .query("kb", json!({"question": "How do glaciers carve valleys?", "top_k": 10, "mode": "sparse"}))
                .await;
            let cites = r["citations"].as_array().unwrap();
            assert_eq!(
                cites.len(),
                1,
                "one version's single chunk, not several: {r}"
            );
            assert_eq!(cites[0]["text"].as_str().unwrap(), text, "{r}");
        }
    }
    a.stop().await;
    b.stop().await;
}

/// A private redis-server on a free loopback port, killed and restarted at will.
struct PrivateRedis {
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    fn start(port: u16) -> PrivateRedis {
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (tests/services.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateRedis { child: Some(child) }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_mid_load_fails_no_query() {
    if shared_services().is_none() {
        return;
    }
    let port = ragkit_tests::free_port();
    let mut redis = PrivateRedis::start(port);
    let name = unique("redisfault");
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = test_config(dir.path());
    use_shared_backends(&mut cfg, &name).await;
    cfg.redis.as_mut().unwrap().url = format!("redis://127.0.0.1:{port}/");
    let s = std::sync::Arc::new(Server::start_with(cfg).await);
    s.create_collection("kb").await;
    s.ingest("kb", corpus()).await;

    let questions = [
        "How does the borrow checker prevent data races?",
        "Which volcano in Sicily is active?",
        "How do you bake sourdough bread?",
        "How is a tennis set won?",
    ];
    // Bounded load: 4 workers for at most 8 s, ending when the test says so.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let s = s.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut cached) = (0u32, Vec::new(), 0u32);
            let deadline = Instant::now() + Duration::from_secs(8);
            let mut i = w;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
                let (status, body) = s
                    .call(
                        "POST",
                        "/v1/collections/kb/query",
                        Some(json!({"question": questions[i % questions.len()]})),
                    )
                    .await;
                if status == 200 {
                    ok += 1;
                    if body["cached"] == true {
                        cached += 1;
                    }
                } else {
                    failed.push(format!("{status} {body}"));
                }
                i += 1;
            }
            (ok, failed, cached)
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    redis.kill();
    // While Redis is down: serving, but degraded.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (code, status) = s.call("GET", "/status", None).await;
    assert_eq!(code, 200);
    assert_eq!(status["state"], "degraded", "{status}");
    let (code, ready) = s.call("GET", "/ready", None).await;
    assert_eq!(code, 200, "Redis is optional: still ready: {ready}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let _redis = PrivateRedis::start(port);
    // It reconnects by itself.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, status) = s.call("GET", "/status", None).await;
        if status["state"] == "ok" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never reconnected to Redis: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give the load a moment on the restarted Redis, then stop it.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut failed) = (0, Vec::new());
    for w in workers {
        let (o, f, _) = w.await.unwrap();
        ok += o;
        failed.extend(f);
    }
    assert!(
        failed.is_empty(),
        "{} failed queries, first: {:?}",
        failed.len(),
        failed.first()
    );
    assert!(ok > 20, "load ran: {ok} queries");
    // The restarted (empty) Redis caches again.
    let q = json!({"question": "How is a tennis set won?", "top_k": 3});
    s.query("kb", q.clone()).await;
    let r = s.query("kb", q).await;
    assert_eq!(r["cached"], true, "cache works again after reconnect: {r}");
    match std::sync::Arc::try_unwrap(s) {
        Ok(s) => s.stop().await,
        Err(_) => panic!("server still shared"),
    }
}

/// PgBouncer in transaction mode in front of the test PostgreSQL.
struct PgBouncer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PgBouncer {
    fn start(pg_url: &str) -> Option<PgBouncer> {
        let bin = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        // postgres://user@host:port/db
        let rest = pg_url.split_once("://").unwrap().1;
        let (user, rest) = rest.split_once('@').unwrap();
        let hostport = rest.split('/').next().unwrap();
        let (host, port) = hostport.split_once(':').unwrap();
        let dir = tempfile::tempdir().unwrap();
        let listen = ragkit_tests::free_port();
        let ini = format!(
            "[databases]\n* = host={host} port={port}\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {listen}\n\
             auth_type = trust\nauth_file = {dir}/users.txt\npool_mode = transaction\n\
             default_pool_size = 4\nmax_client_conn = 200\n\
             ignore_startup_parameters = extra_float_digits\n\
             unix_socket_dir =\nlogfile = {dir}/pgbouncer.log\n",
            dir = dir.path().display()
        );
        std::fs::write(dir.path().join("pgbouncer.ini"), ini).unwrap();
        std::fs::write(dir.path().join("users.txt"), format!("\"{user}\" \"\"\n")).unwrap();
        // PgBouncer refuses to run as root.
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let mut cmd = if root {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--", bin]);
            c
        } else {
            std::process::Command::new(bin)
        };
        let child = cmd
            .arg(dir.path().join("pgbouncer.ini"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", listen)).is_err() {
            assert!(Instant::now() < deadline, "pgbouncer did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(PgBouncer {
            child,
            port: listen,
            _dir: dir,
        })
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_work_behind_pgbouncer_in_transaction_mode() {
    if shared_services().is_none() {
        return;
    }
    let name = unique("bouncer");
    // The database must exist before PgBouncer forwards to it.
    let direct = ragkit_tests::pg_database(&name).await;
    let Some(bouncer) = PgBouncer::start(&direct) else {
        ragd::testing::skip("pgbouncer is not installed");
        return;
    };
    let via_bouncer = direct.replace(
        &direct
            .split('@')
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string(),
        &format!("127.0.0.1:{}", bouncer.port),
    );
    let mut servers = Vec::new();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    for d in &dirs {
        let mut cfg = test_config(d.path());
        use_shared_backends(&mut cfg, &name).await;
        if let ragd::config::MetadataConfig::Postgres(pg) = &mut cfg.metadata {
            pg.url = via_bouncer.clone();
            pg.pgbouncer = true;
            // More connections per replica than PgBouncer has server
            // connections: transactions must share them.
            pg.max_connections = 8;
        }
        servers.push(Server::start_with(cfg).await);
    }
    let (a, b) = (&servers[0], &servers[1]);
    a.create_collection("kb").await;
    // Concurrent ingests and queries through both replicas.
    let mut tasks = Vec::new();
    for (i, doc) in corpus().as_array().unwrap().iter().enumerate() {
        let s = if i % 2 == 0 { a } else { b };
        let (client, url) = (s.client.clone(), s.url("/v1/collections/kb/documents"));
        let doc = doc.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"documents": [doc]}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    for s in [a, b] {
        let r = ask(s, "Which volcano in Sicily is active?").await;
        assert_eq!(
            cited_ids(&r).first().map(String::as_str),
            Some("volcano"),
            "{r}"
        );
        let (_, c) = s.call("GET", "/v1/collections/kb", None).await;
        assert_eq!(c["documents"], 4, "{c}");
    }
    for s in servers {
        s.stop().await;
    }
}
