//! Crash safety: nothing acknowledged is lost (docs/RELIABILITY.md).
//!
//! A real `ragd serve` process takes a stream of concurrent ingests,
//! replacements and deletes of the same ids and is SIGKILLed at a random
//! moment; then it is restarted on the same data and every document is
//! checked:
//! - its text is the one of its last acknowledged write, or of a write sent
//!   after it whose answer the kill cut off (a delete counts as a write of
//!   "absent");
//! - a query for a word only that text holds finds it;
//! - the metadata and the vector store agree: as many vectors as chunks in
//!   the collection, so no orphan chunk or vector survived the crash.
//!
//! `RAGKIT_CRASH_KILLS` sets the number of kills (default 4, as in CI;
//! `tests/bench/crash.sh` runs 50 on embedded defaults and 10 on
//! PostgreSQL + Redis). With `RAGKIT_TEST_BACKENDS=postgres+redis` ragd runs
//! on the test PostgreSQL and Redis.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ragkit_tests::{cited_ids, shared_backends, shared_name, shared_services};
use serde_json::{Value, json};

/// Documents written, each by one writer only, so that the writes of an id
/// are ordered.
const IDS: usize = 16;
/// Concurrent writers.
const WRITERS: usize = 4;
const COLLECTION: &str = "crash";

/// What a write left, or may have left, as a document's state.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Absent,
    Text(String),
}

/// What is known of one id: the state of its last acknowledged write (or
/// what a restart read back), and the writes sent after it that were not
/// acknowledged (any of them may have been applied before the kill).
#[derive(Debug, Clone)]
struct Known {
    acked: State,
    unsure: Vec<State>,
}

impl Known {
    /// `state` is now known to hold (acknowledged, or read back).
    fn settle(&mut self, state: State) {
        self.acked = state;
        self.unsure.clear();
    }

    fn allowed(&self) -> Vec<&State> {
        std::iter::once(&self.acked).chain(&self.unsure).collect()
    }
}

/// The ragd binary next to this test's own executable (target/<profile>/).
fn ragd_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).unwrap().join("ragd");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p ragd)",
        bin.display()
    );
    bin
}

/// The configuration file of the ragd under test.
fn write_config(dir: &Path, port: u16) -> PathBuf {
    let mut toml = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_grace_secs = 5\n\n\
         [storage]\ndata_dir = {:?}\norphan_grace_secs = 0\n\n\
         [log]\nfilter = \"warn\"\n",
        dir.join("data")
    );
    if shared_backends() {
        let (admin, redis) = shared_services().expect("PostgreSQL and Redis");
        let name = shared_name(dir);
        let url = ragd::testing::with_database_name(&admin, &name);
        toml.push_str(&format!(
            "\n[metadata]\nkind = \"postgres\"\nurl = {url:?}\nmax_connections = 8\n\n\
             [redis]\nurl = {redis:?}\nprefix = {name:?}\n\n\
             [cache]\nkind = \"redis\"\nttl_secs = 600\n"
        ));
    }
    let path = dir.join("ragd.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// A `ragd serve` child process, logging to a file.
struct Ragd {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Ragd {
    async fn start(config: &Path, port: u16, log: &Path, http: &reqwest::Client) -> Ragd {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(ragd_bin())
            .args(["--config"])
            .arg(config)
            .arg("serve")
            .env_remove("RAGD_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("ragd starts");
        let mut ragd = Ragd {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = http.get(format!("{}/ready", ragd.base)).send().await
                && r.status().is_success()
            {
                return ragd;
            }
            if let Ok(Some(status)) = ragd.child.try_wait() {
                panic!("ragd exited with {status}:\n{}", ragd.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "ragd not ready after 120 s:\n{}",
                ragd.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no flush, no chance to finish anything.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Ragd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number of kills (`RAGKIT_CRASH_KILLS`, default 4).
fn kills() -> u64 {
    std::env::var("RAGKIT_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

/// What a SIGKILL test runs on: a data directory (with its own PostgreSQL
/// database on shared backends), a free port, the configuration, the log
/// file, an HTTP client; and the first `ragd serve` on them, with
/// `collection` created.
struct Rig {
    _dir: tempfile::TempDir,
    port: u16,
    config: PathBuf,
    log: PathBuf,
    http: reqwest::Client,
}

impl Rig {
    async fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        if shared_backends() {
            ragkit_tests::pg_database(&shared_name(dir.path())).await;
        }
        let port = ragkit_tests::free_port();
        let config = write_config(dir.path(), port);
        let log = dir.path().join("ragd.log");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Rig {
            _dir: dir,
            port,
            config,
            log,
            http,
        }
    }

    async fn start(&self) -> Ragd {
        Ragd::start(&self.config, self.port, &self.log, &self.http).await
    }

    /// The first start, with `collection` created.
    async fn first_start(&self, collection: &str) -> Ragd {
        let ragd = self.start().await;
        let created = self
            .http
            .post(format!("{}/v1/collections", ragd.base))
            .json(&json!({ "name": collection }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
        ragd
    }
}

/// GET `url`, its JSON body.
async fn get_json(http: &reqwest::Client, url: String) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// A small xorshift generator: the test needs no statistical quality, and
/// the seed printed on failure replays the same writes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A word no other write holds (consonants only: no stemmer shortens it).
fn marker(n: u64) -> String {
    const LETTERS: &[u8] = b"bcdfghjklmnpqrtvwxz";
    let mut s = String::from("qz");
    let mut n = n;
    loop {
        s.push(LETTERS[(n % LETTERS.len() as u64) as usize] as char);
        n /= LETTERS.len() as u64;
        if n == 0 {
            return s;
        }
    }
}

/// The text of write number `n`: one to four paragraphs (one to three
/// chunks), holding its marker.
fn text_of(n: u64, rng: &mut Rng) -> String {
    let filler = "Reservoirs are refilled each spring when the snow melts in the \
                  valleys above the dam, and the engineers measure the level daily.";
    let paras = 1 + rng.below(4);
    let mut t = format!("Write {} says {}.", n, marker(n));
    for _ in 0..paras {
        t.push_str("\n\n");
        t.push_str(filler);
        t.push(' ');
        t.push_str(filler);
    }
    t
}

/// One writer: writes its ids in random order until `stop`, recording each
/// write as unsure before it is sent and as acknowledged once answered 2xx.
async fn writer(
    w: usize,
    base: String,
    http: reqwest::Client,
    known: Arc<Mutex<BTreeMap<String, Known>>>,
    counter: Arc<std::sync::atomic::AtomicU64>,
    seed: u64,
    stop: tokio::sync::watch::Receiver<bool>,
) -> (u64, u64) {
    let ids: Vec<String> = (0..IDS)
        .filter(|i| i % WRITERS == w)
        .map(|i| format!("doc-{i}"))
        .collect();
    let mut rng = Rng(seed);
    let (mut acked, mut sent) = (0, 0);
    while !*stop.borrow() {
        let id = &ids[rng.below(ids.len() as u64) as usize];
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (state, req) = if rng.below(10) == 0 {
            let url = format!("{base}/v1/collections/{COLLECTION}/documents/{id}");
            (State::Absent, http.delete(url))
        } else {
            let text = text_of(n, &mut rng);
            let url = format!("{base}/v1/collections/{COLLECTION}/documents");
            let body = json!({"documents": [{"id": id, "text": text}]});
            (State::Text(text), http.post(url).json(&body))
        };
        known
            .lock()
            .unwrap()
            .get_mut(id)
            .unwrap()
            .unsure
            .push(state.clone());
        sent += 1;
        let ok = match req.send().await {
            // A delete of an absent document is acknowledged as 404.
            Ok(r) => r.status().is_success() || (state == State::Absent && r.status() == 404),
            // Never reached ragd (it is down): not a write at all.
            Err(e) if e.is_connect() => {
                known.lock().unwrap().get_mut(id).unwrap().unsure.pop();
                false
            }
            Err(_) => false, // killed under it: unsure stays unsure
        };
        if ok {
            known.lock().unwrap().get_mut(id).unwrap().settle(state);
            acked += 1;
        } else if *stop.borrow() {
            break;
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (acked, sent)
}

/// Read every document back and check it against what is known, then make
/// what was read the new acknowledged state.
async fn verify(
    round: usize,
    base: &str,
    http: &reqwest::Client,
    known: &Mutex<BTreeMap<String, Known>>,
) -> usize {
    let snapshot = known.lock().unwrap().clone();
    let mut present = 0;
    for (id, k) in &snapshot {
        let r = http
            .get(format!("{base}/v1/collections/{COLLECTION}/documents/{id}"))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let state = match status {
            200 => State::Text(body["text"].as_str().unwrap().to_string()),
            404 => State::Absent,
            other => panic!("round {round}: GET {id} answered {other}: {body}"),
        };
        assert!(
            k.allowed().contains(&&state),
            "round {round}: {id} lost an acknowledged write: read {state:?}, \
             acknowledged {:?}, unacknowledged since {:?}",
            k.acked,
            k.unsure
        );
        if let State::Text(text) = &state {
            present += 1;
            let word = text
                .split_whitespace()
                .nth(3)
                .unwrap()
                .trim_end_matches('.');
            let q = json!({"question": word, "mode": "sparse", "top_k": 3});
            let resp: Value = http
                .post(format!("{base}/v1/collections/{COLLECTION}/query"))
                .json(&q)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(
                cited_ids(&resp).contains(id),
                "round {round}: a query for {word:?} does not find {id}: {resp}"
            );
        }
        known.lock().unwrap().get_mut(id).unwrap().settle(state);
    }
    // Metadata and vectors agree (the follower of embedded vectors on
    // PostgreSQL may need a moment to replay the log).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c: Value = http
            .get(format!("{base}/v1/collections/{COLLECTION}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if c["chunks"] == c["vectors"] {
            assert_eq!(c["documents"], json!(present), "round {round}: {c}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "round {round}: metadata and vector store disagree (orphans): {c}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    present
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    if shared_backends() && shared_services().is_none() {
        return;
    }
    let kills = kills() as usize;
    let seed: u64 = std::env::var("RAGKIT_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test: {kills} kills, seed {seed} (RAGKIT_CRASH_SEED replays it)");
    let rig = Rig::new().await;
    let http = rig.http.clone();
    let known = Arc::new(Mutex::new(
        (0..IDS)
            .map(|i| {
                let k = Known {
                    acked: State::Absent,
                    unsure: vec![],
                };
                (format!("doc-{i}"), k)
            })
            .collect::<BTreeMap<_, _>>(),
    ));
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut rng = Rng(seed);
    let (mut total_acked, mut total_sent) = (0, 0);

    let mut ragd = rig.first_start(COLLECTION).await;

    for round in 1..=kills {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                tokio::spawn(writer(
                    w,
                    ragd.base.clone(),
                    http.clone(),
                    known.clone(),
                    counter.clone(),
                    rng.next(),
                    stop_rx.clone(),
                ))
            })
            .collect();
        // Kill at a random moment of the writes: between 0.3 and 2.3 s.
        tokio::time::sleep(Duration::from_millis(300 + rng.below(2000))).await;
        ragd.kill();
        let _ = stop_tx.send(true);
        for t in tasks {
            let (a, s) = t.await.unwrap();
            total_acked += a;
            total_sent += s;
        }
        ragd = rig.start().await;
        let present = verify(round, &ragd.base, &http, &known).await;
        eprintln!(
            "kill {round}/{kills}: {present} documents present and checked; \
             {total_acked} of {total_sent} writes acknowledged so far"
        );
    }
    // Something was written and acknowledged, or the test proved nothing.
    assert!(
        total_acked > 0,
        "no write was acknowledged:\n{}",
        ragd.log_tail()
    );
    let mut report = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::env::temp_dir().join("ragkit-crash-report.txt"))
        .unwrap();
    let backends = if shared_backends() {
        "postgres+redis"
    } else {
        "embedded"
    };
    writeln!(
        report,
        "{backends}: {kills} kills, {total_sent} writes sent, {total_acked} acknowledged, 0 lost (seed {seed})"
    )
    .unwrap();
}

/// The two states a crash can leave, made on purpose (the SIGKILL test above
/// hits them only by chance): the vectors of an ingest that never swapped
/// its metadata in, and the vectors of a document whose delete committed
/// but did not reach the vector store. A restart sweeps both, and the
/// stores agree again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_sweeps_the_vectors_interrupted_writes_left() {
    use ragd::service::{collections, documents};
    if shared_backends() && shared_services().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ragkit_tests::test_config(dir.path());
    cfg.storage.orphan_grace_secs = 0;
    if shared_backends() {
        ragkit_tests::use_shared_backends(&mut cfg, &shared_name(dir.path())).await;
    }
    let counts = |c: ragd_api::Collection| (c.documents, c.chunks, c.vectors.unwrap());

    let app = ragd::App::open(cfg.clone()).await.unwrap();
    let b = &app.backends;
    let create = ragd_api::CreateCollection {
        name: "kb".into(),
        embedder: None,
    };
    collections::create(b, create).await.unwrap();
    let docs: ragd_api::IngestRequest = serde_json::from_value(json!({"documents": [
        {"id": "kept", "text": "Glaciers carve valleys as they slide downhill."},
        {"id": "deleted", "text": "Harbour cranes unload containers from ships."}
    ]}))
    .unwrap();
    documents::ingest(b, "kb", docs).await.unwrap();
    assert_eq!(counts(collections::get(b, "kb").await.unwrap()), (2, 2, 2));
    let row = b.meta.get_collection("kb").await.unwrap().unwrap();

    // 1. An ingest of "kept" wrote its vectors, then the process died
    //    before the metadata swap.
    let version = uuid::Uuid::new_v4();
    b.meta
        .note_pending(row.key, &[("kept", version)])
        .await
        .unwrap();
    let point = ragd::vectors::ChunkPoint {
        id: uuid::Uuid::new_v4(),
        doc_id: "kept".into(),
        version,
        chunk_index: 0,
        vector: vec![0.05; row.dimensions as usize],
        sparse: Default::default(),
        metadata: Default::default(),
    };
    b.vectors.upsert(row.key, vec![point]).await.unwrap();
    // 2. A delete of "deleted" committed, then the process died before
    //    removing its vectors.
    b.meta.delete_document(row.key, "deleted").await.unwrap();
    assert_eq!(
        counts(collections::get(b, "kb").await.unwrap()),
        (1, 1, 3),
        "two orphan vectors"
    );
    app.close().await;
    drop(app);

    let app = ragd::App::open(cfg).await.unwrap();
    let b = &app.backends;
    let deadline = Instant::now() + Duration::from_secs(30);
    while counts(collections::get(b, "kb").await.unwrap()) != (1, 1, 1) {
        assert!(Instant::now() < deadline, "orphans survived the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pending = b.meta.pending_versions(Duration::ZERO, 10).await.unwrap();
    assert!(pending.is_empty(), "{pending:?}");
    let kept = documents::get(b, "kb", "kept").await.unwrap();
    assert!(kept.text.starts_with("Glaciers"));
    app.close().await;
}

/// An asynchronous ingest (`?wait=false`) answered 202 is never dropped:
/// SIGKILLed at a random moment after the 202 (before the job starts,
/// between batches, or mid-batch), ragd resumes the job after a restart,
/// and it ends `succeeded` with every document readable and the stores
/// agreeing. `RAGKIT_CRASH_KILLS` kills (default 4), as above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_job_survives_sigkill() {
    if shared_backends() && shared_services().is_none() {
        return;
    }
    let kills = kills();
    let mut rng = Rng(std::process::id() as u64 * 7919 | 1);
    let rig = Rig::new().await;
    let http = rig.http.clone();
    let mut ragd = rig.first_start("jobs").await;
    const DOCS: u64 = 48; // three batches
    let mut total = 0;
    for round in 0..kills {
        let docs: Vec<Value> = (0..DOCS)
            .map(|i| {
                json!({"id": format!("r{round}-{i}"),
                       "text": format!("Job round {round} document {i}: {}", marker(round * 1000 + i))})
            })
            .collect();
        let resp = http
            .post(format!(
                "{}/v1/collections/jobs/documents?wait=false",
                ragd.base
            ))
            .json(&json!({ "documents": docs }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "{}", ragd.log_tail());
        let job: Value = resp.json().await.unwrap();
        let id = job["id"].as_str().unwrap().to_string();
        // 0 to 1.5 s after the 202: any moment of the job's life.
        tokio::time::sleep(Duration::from_millis(rng.below(1500))).await;
        ragd.kill();
        ragd = rig.start().await;
        let deadline = Instant::now() + Duration::from_secs(120);
        let job = loop {
            let j: Value = get_json(&http, format!("{}/v1/jobs/{id}", ragd.base)).await;
            if j["state"] == "succeeded" || j["state"] == "failed" {
                break j;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} did not end: {j}\n{}",
                ragd.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            job["state"],
            "succeeded",
            "round {round}: {job}\n{}",
            ragd.log_tail()
        );
        assert_eq!(
            (job["done"].as_u64(), job["documents"].as_u64()),
            (Some(DOCS), Some(DOCS))
        );
        for i in [0, DOCS / 2, DOCS - 1] {
            let doc: Value = get_json(
                &http,
                format!("{}/v1/collections/jobs/documents/r{round}-{i}", ragd.base),
            )
            .await;
            assert!(
                doc["text"]
                    .as_str()
                    .is_some_and(|t| t.contains(&marker(round * 1000 + i))),
                "round {round}, document {i}: {doc}"
            );
        }
        total += DOCS;
        // Every job's documents, no more, and as many vectors as chunks
        // (with embedded vectors following PostgreSQL's log, once this
        // replica has caught up).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let c: Value = get_json(&http, format!("{}/v1/collections/jobs", ragd.base)).await;
            assert_eq!(c["documents"].as_u64(), Some(total), "{c}");
            if c["vectors"] == c["chunks"] {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "vectors and chunks disagree: {c}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "job kill {}/{kills}: job {id} resumed and succeeded",
            round + 1
        );
    }
}

/// Vectors the metadata store does not know (an ingest in progress, or what
/// an interrupted write left before the sweep) are never cited, and never
/// leave a query with fewer passages than asked for while known ones
/// remain: a few among the best hits, and more than the first search
/// fetches (so that it must search wider).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_vectors_are_skipped_and_never_crowd_out_passages() {
    use ragd::embed::Lane;
    use ragd::service::{collections, documents, query};
    if shared_backends() && shared_services().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ragkit_tests::test_config(dir.path());
    // The unknown points stand for writes in progress: no sweep meanwhile.
    cfg.storage.orphan_grace_secs = 3600;
    if shared_backends() {
        ragkit_tests::use_shared_backends(&mut cfg, &shared_name(dir.path())).await;
    }
    let app = ragd::App::open(cfg).await.unwrap();
    let b = &app.backends;
    let create = ragd_api::CreateCollection {
        name: "kb".into(),
        embedder: None,
    };
    collections::create(b, create).await.unwrap();
    let docs: Vec<Value> = (0..8)
        .map(|i| json!({"id": format!("d{i}"), "text": format!("Pump {i} of the reservoir moved water at night.")}))
        .collect();
    let docs: ragd_api::IngestRequest =
        serde_json::from_value(json!({ "documents": docs })).unwrap();
    documents::ingest(b, "kb", docs).await.unwrap();
    let row = b.meta.get_collection("kb").await.unwrap().unwrap();
    let question = "Which pump moved water at night?";
    // The question's own vector: unknown points equal to it rank first.
    let vector = b.embedders[&row.embedder]
        .embed(vec![question.to_string()], Lane::Interactive)
        .await
        .unwrap()
        .remove(0);
    let top_k = 3;
    let ask = || {
        let req: ragd_api::QueryRequest =
            serde_json::from_value(json!({"question": question, "top_k": top_k, "mode": "dense"}))
                .unwrap();
        query::search(b, "kb", req)
    };
    let mut unknown = 0;
    // 2: among the best top_k hits; 20: more than a first search fetches
    // (top_k * 2 + 8 = 14).
    for total in [2, 20] {
        let points: Vec<_> = (unknown..total)
            .map(|i| ragd::vectors::ChunkPoint {
                id: uuid::Uuid::new_v4(),
                doc_id: format!("unknown-{i}"),
                version: uuid::Uuid::new_v4(),
                chunk_index: 0,
                vector: vector.clone(),
                sparse: Default::default(),
                metadata: Default::default(),
            })
            .collect();
        unknown = total;
        b.vectors.upsert(row.key, points).await.unwrap();
        let found = ask().await.unwrap();
        let ids: Vec<&str> = found
            .passages
            .iter()
            .map(|p| p.document_id.as_str())
            .collect();
        assert_eq!(ids.len(), top_k, "{total} unknown points: {ids:?}");
        assert!(
            ids.iter().all(|id| id.starts_with('d')),
            "{total} unknown points: an unknown one was cited: {ids:?}"
        );
        let scores: Vec<f32> = found.passages.iter().map(|p| p.score).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "in the order of the search: {scores:?}"
        );
    }
    app.close().await;
}
