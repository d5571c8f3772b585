//! `ragctl ingest` as a user meets it, against a real ragd process: a first
//! run, a second that skips everything unchanged, a third after an edit,
//! per-file failures, Ctrl-C and resuming, usage errors, help; and the
//! batching rule on its own.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Ragd, free_port, ragctl, stderr, stdout};
use ragctl::ingest::batch::{MAX_BYTES, MAX_FILES, batches};
use ragctl::ingest::plan::sha256_bytes;
use ragctl::ingest::walk::FileEntry;
use serde_json::{Value, json};

/// A blocking HTTP call to ragd: (status, JSON body or Null).
fn http(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let mut req = match method {
            "GET" => c.get(url),
            _ => c.post(url),
        };
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("ragd answers");
        let status = r.status().as_u16();
        let v = r.json::<Value>().await.unwrap_or(Value::Null);
        (status, v)
    })
}

/// Every document of a collection as (id, sha256), following `next`.
fn listed(ragd: &Ragd, collection: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!(
            "{}/v1/collections/{collection}/documents?limit=1000",
            ragd.url
        );
        if let Some(a) = &after {
            url.push_str(&format!("&after={}", encode(a)));
        }
        let (status, v) = http("GET", &url, None);
        assert_eq!(status, 200, "{v}");
        for d in v["documents"].as_array().unwrap() {
            out.push((
                d["id"].as_str().unwrap().to_string(),
                d["sha256"].as_str().map(str::to_string),
            ));
        }
        match v["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => return out,
        }
    }
}

/// Percent-encode a query value (ids hold `/`).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ids(docs: &[(String, Option<String>)]) -> Vec<&str> {
    docs.iter().map(|(id, _)| id.as_str()).collect()
}

fn write(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `ragctl --target URL ingest ARGS...`
fn ingest(ragd_url: &str, args: &[&str]) -> Output {
    let mut all = vec!["--target", ragd_url, "ingest"];
    all.extend_from_slice(args);
    ragctl(&all, &[])
}

/// The `--json` summary of a run.
fn summary(o: &Output) -> Value {
    serde_json::from_str(&stdout(o))
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(o), stderr(o)))
}

/// A tree with nested Markdown and text files, a hidden file, a hidden
/// folder, a .gitignored folder and a file of an unknown format.
fn docs_tree(root: &Path) {
    write(
        root,
        "guide/intro.md",
        "# Lighthouse keeping\n\nThe keeper of the Skerryvore lighthouse winds the clockwork \
         lens every four hours and logs the fog signal in the brass ledger.\n",
    );
    write(
        root,
        "guide/deep/setup.md",
        "# Setting up the apiary\n\nPlace the beehives facing south-east, on stands, away \
         from the orchard sprayers.\n",
    );
    write(
        root,
        "notes.txt",
        "Sourdough starter: feed it rye flour and water at a one to one ratio each morning.\n",
    );
    write(root, ".secret.md", "# Hidden\n\nThis must never be sent.\n");
    write(root, ".cache/cached.md", "# Cached\n\nNor this.\n");
    write(root, ".gitignore", "build/\n");
    write(
        root,
        "build/generated.md",
        "# Generated\n\nIgnored by .gitignore.\n",
    );
    write(root, "data.bin", [0u8, 1, 2, 3, 255]);
}

#[test]
fn ingests_then_skips_unchanged_then_sends_only_the_edited_file() {
    let ragd = Ragd::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    docs_tree(root);
    let d = root.to_str().unwrap();

    // 1: everything readable, collection created
    let o = ingest(
        &ragd.url,
        &[d, "--collection", "docs", "--create", "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&o);
    assert_eq!(s["created"], true, "{s}");
    assert_eq!(s["found"], 3, "{s}");
    assert_eq!(s["skipped"], 0, "{s}");
    assert_eq!(s["ingested"], 3, "{s}");
    assert_eq!(s["documents"], 3, "{s}");
    assert!(s["chunks"].as_u64().unwrap() >= 3, "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    assert_eq!(s["failures"], json!([]), "{s}");
    assert!(s["elapsed_secs"].as_f64().unwrap() > 0.0, "{s}");
    assert!(s["files_per_sec"].as_f64().unwrap() > 0.0, "{s}");
    assert!(s["chunks_per_sec"].as_f64().unwrap() > 0.0, "{s}");

    // ids are the paths relative to DIR; hidden, ignored and .bin left out;
    // ragd holds each file's SHA-256
    let docs = listed(&ragd, "docs");
    assert_eq!(
        ids(&docs),
        ["guide/deep/setup.md", "guide/intro.md", "notes.txt"]
    );
    for (id, sha) in &docs {
        let bytes = std::fs::read(root.join(id)).unwrap();
        assert_eq!(sha.as_deref(), Some(sha256_bytes(&bytes).as_str()), "{id}");
    }

    // the content is searchable and cited by its relative path
    let (status, v) = http(
        "POST",
        &format!("{}/v1/collections/docs/query", ragd.url),
        Some(json!({"question": "How often does the lighthouse keeper wind the clockwork lens?"})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["citations"][0]["document_id"], "guide/intro.md",
        "{:#}",
        v["citations"]
    );

    // 2: nothing changed, nothing sent (text output)
    let o = ingest(&ragd.url, &[d, "--collection", "docs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    for want in [
        "found             3 files",
        "unchanged         3 skipped",
        "ingested          0 files: 0 documents, 0 chunks",
        "failed            0",
        "files/s",
        "chunks/s",
    ] {
        assert!(t.contains(want), "lacks {want:?}:\n{t}");
    }
    // the same as JSON
    let s = summary(&ingest(&ragd.url, &[d, "--collection", "docs", "--json"]));
    assert_eq!(
        (&s["found"], &s["skipped"], &s["to_send"], &s["ingested"]),
        (&json!(3), &json!(3), &json!(0), &json!(0)),
        "{s}"
    );

    // 3: one file edited: only it is sent, and ragd's hash follows
    let edited = write(
        root,
        "notes.txt",
        "Sourdough starter: feed it rye flour, twice a day in summer.\n",
    );
    let s = summary(&ingest(&ragd.url, &[d, "--collection", "docs", "--json"]));
    assert_eq!(s["skipped"], 2, "{s}");
    assert_eq!(s["to_send"], 1, "{s}");
    assert_eq!(s["ingested"], 1, "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    let docs = listed(&ragd, "docs");
    let notes = docs.iter().find(|(id, _)| id == "notes.txt").unwrap();
    assert_eq!(
        notes.1.as_deref(),
        Some(sha256_bytes(&std::fs::read(&edited).unwrap()).as_str())
    );
    assert_eq!(docs.len(), 3);

    // --dry-run: says what it would do, sends nothing
    let rewritten = "# Lighthouse keeping\n\nRewritten.\n";
    write(root, "guide/intro.md", rewritten);
    let o = ingest(&ragd.url, &[d, "--collection", "docs", "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(t.contains("send  guide/intro.md"), "{t}");
    assert!(t.contains("changed"), "{t}");
    assert!(t.contains("skip  notes.txt"), "{t}");
    assert!(t.contains("nothing was sent"), "{t}");
    let s = summary(&ingest(
        &ragd.url,
        &[d, "--collection", "docs", "--dry-run", "--json"],
    ));
    assert_eq!(s["dry_run"], true);
    assert_eq!(s["to_send"], 1, "{s}");
    let planned = s["planned"].as_array().unwrap();
    assert!(planned.contains(&json!({
        "path": "guide/intro.md", "bytes": rewritten.len(), "action": "send", "reason": "changed"
    })), "{s}");
    let after = listed(&ragd, "docs");
    assert_eq!(docs, after, "a dry run changed the collection");

    // --force sends everything again, changed or not
    let s = summary(&ingest(
        &ragd.url,
        &[d, "--collection", "docs", "--force", "--json"],
    ));
    assert_eq!(
        (&s["skipped"], &s["ingested"]),
        (&json!(0), &json!(3)),
        "{s}"
    );

    // a single file: its name is its id
    let s = summary(&ingest(
        &ragd.url,
        &[
            root.join("guide/deep/setup.md").to_str().unwrap(),
            "--collection",
            "single",
            "--create",
            "--json",
        ],
    ));
    assert_eq!(s["ingested"], 1, "{s}");
    assert_eq!(ids(&listed(&ragd, "single")), ["setup.md"]);

    // --glob picks the files instead of the extensions (hidden and ignored
    // files stay out)
    let s = summary(&ingest(
        &ragd.url,
        &[
            d,
            "--collection",
            "globbed",
            "--create",
            "--glob",
            "guide/**",
            "--dry-run",
            "--json",
        ],
    ));
    let paths: Vec<&str> = s["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["guide/deep/setup.md", "guide/intro.md"], "{s}");
    assert_eq!(s["would_create"], true, "{s}");
    let s = summary(&ingest(
        &ragd.url,
        &[
            d,
            "--collection",
            "x",
            "--create",
            "--glob",
            "!guide/**",
            "--dry-run",
            "--json",
        ],
    ));
    assert_eq!(s["found"], 1, "only notes.txt: {s}");
}

#[test]
fn failures_are_attributed_to_their_files_and_the_good_ones_still_go_in() {
    let ragd = Ragd::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "a.txt",
        "Alpha: the first file, perfectly fine text.\n",
    );
    write(root, "b.md", "# Bravo\n\nThe second file, fine Markdown.\n");
    write(root, "c.txt", "Charlie: the third file, fine too.\n");
    // not UTF-8: ragd refuses it (422)
    write(root, "bad.txt", [b'o', b'k', b' ', 0xff, 0xfe, 0xfd, b'\n']);
    // a format ragd does not read: picked only because of --glob '*' (415)
    write(root, "blob.bin", [0u8, 159, 146, 150, 1, 2, 3]);
    let d = root.to_str().unwrap();

    // all five in one batch; ragd refuses it, so they go again one by one
    let o = ingest(
        &ragd.url,
        &[
            d,
            "--collection",
            "mixed",
            "--create",
            "--glob",
            "*",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let s = summary(&o);
    assert_eq!(s["found"], 5, "{s}");
    assert_eq!(s["ingested"], 3, "{s}");
    assert_eq!(s["failed"], 2, "{s}");
    let failures = s["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{s}");
    let bad = &failures[0];
    assert_eq!(bad["path"], "bad.txt", "{s}");
    assert_eq!(bad["status"], 422, "{s}");
    assert!(!bad["code"].as_str().unwrap().is_empty(), "{s}");
    assert!(
        bad["message"].as_str().unwrap().contains("UTF-8"),
        "ragd's own reason: {s}"
    );
    let blob = &failures[1];
    assert_eq!(blob["path"], "blob.bin", "{s}");
    assert_eq!(blob["status"], 415, "{s}");
    assert_eq!(blob["code"], "unsupported_media_type", "{s}");
    // only one JSON document on stdout, the error line on stderr
    assert!(
        stderr(&o).contains("[ingest_failed]: 2 of 5 files failed"),
        "{}",
        stderr(&o)
    );
    assert_eq!(ids(&listed(&ragd, "mixed")), ["a.txt", "b.md", "c.txt"]);

    // again, as text: the good ones are skipped, the bad ones fail again,
    // each as `path: reason`
    let o = ingest(&ragd.url, &[d, "--collection", "mixed", "--glob", "*"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(t.contains("unchanged         3 skipped"), "{t}");
    assert!(t.contains("failed            2"), "{t}");
    let lines: Vec<&str> = t.lines().filter(|l| l.starts_with("  bad.txt: ")).collect();
    assert_eq!(lines.len(), 1, "{t}");
    assert!(
        lines[0].contains("UTF-8") && lines[0].contains("422"),
        "{t}"
    );
    assert!(
        t.lines()
            .any(|l| l.starts_with("  blob.bin: ") && l.contains("415 unsupported_media_type")),
        "{t}"
    );
}

#[test]
fn ctrl_c_finishes_the_batches_in_flight_and_a_second_run_resumes() {
    let ragd = Ragd::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let files = 20 * MAX_FILES;
    for i in 0..files {
        write(
            root,
            &format!("part{:02}/note{i:04}.txt", i / 100),
            format!(
                "Note number {i} of the logbook: the tide rose {i} centimetres above the mark.\n"
            ),
        );
    }
    let d = root.to_str().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ragctl"))
        .args([
            "--target",
            &ragd.url,
            "ingest",
            d,
            "--collection",
            "log",
            "--create",
        ])
        .args(["--concurrency", "1", "--json"])
        .env_remove("RAGCTL_TARGET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ctrl-C once the first batch is in
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, v) = http("GET", &format!("{}/v1/collections/log", ragd.url), None);
        if status == 200 && v["documents"].as_u64() > Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "nothing ingested within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let s = summary(&o);
    assert_eq!(s["interrupted"], true, "{s}");
    let done = s["ingested"].as_u64().unwrap() as usize;
    assert!(done >= MAX_FILES && done < files, "{s}");
    assert_eq!(done % MAX_FILES, 0, "whole batches only: {s}");
    assert_eq!(
        s["not_sent"].as_u64().unwrap() as usize,
        files - done,
        "{s}"
    );
    assert_eq!(s["failed"], 0, "{s}");
    assert!(stderr(&o).contains("run the same command again to resume"));
    assert_eq!(listed(&ragd, "log").len(), done);

    // the same command again picks up where it stopped
    let o = ingest(&ragd.url, &[d, "--collection", "log", "--create", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&o);
    assert_eq!(s["skipped"].as_u64().unwrap() as usize, done, "{s}");
    assert_eq!(
        s["ingested"].as_u64().unwrap() as usize,
        files - done,
        "{s}"
    );
    assert_eq!(listed(&ragd, "log").len(), files);
}

#[test]
fn usage_errors_say_what_to_do() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.md", "# A\n\ntext\n");
    let d = dir.path().to_str().unwrap();

    // DIR missing
    let o = ingest(&dead, &["/nonexistent/ragctl-docs", "--collection", "docs"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/nonexistent/ragctl-docs: no such file or folder"),
        "{}",
        stderr(&o)
    );

    // --collection missing
    let o = ingest(&dead, &[d]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--collection"), "{}", stderr(&o));

    // a glob that does not parse
    let o = ingest(&dead, &[d, "--collection", "docs", "--glob", "a[b"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--glob 'a[b'"), "{}", stderr(&o));

    // ragd not there
    let o = ingest(&dead, &[d, "--collection", "docs"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("cannot reach ragd at {dead}")),
        "{}",
        stderr(&o)
    );

    // the collection does not exist and --create was not given
    let ragd = Ragd::start();
    let o = ingest(&ragd.url, &[d, "--collection", "nosuch", "--json"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let want = format!(
        "collection nosuch does not exist on {}: create it with --create",
        ragd.url
    );
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    let v = summary(&o);
    assert_eq!(v["error"]["code"], "collection_not_found", "{v}");
    // and nothing was created
    let (status, _) = http("GET", &format!("{}/v1/collections/nosuch", ragd.url), None);
    assert_eq!(status, 404);
}

#[test]
fn help_teaches_with_examples() {
    let o = ragctl(&["ingest", "--help"], &[]);
    assert!(o.status.success());
    let h = stdout(&o);
    for want in [
        "Examples:",
        "ragctl ingest ./docs --collection docs --create",
        "--dry-run",
        "--glob",
        "--concurrency",
        "--force",
        "--json",
        ".gitignore",
        "SHA-256",
        "Ctrl-C",
        "Retry-After",
        "RAGKIT_API_KEY",
        "130",
    ] {
        assert!(h.contains(want), "ingest help lacks {want}:\n{h}");
    }
    let h = stdout(&ragctl(&["--help"], &[]));
    assert!(h.contains("ingest"), "{h}");
}

fn entry(id: &str, bytes: u64) -> FileEntry {
    FileEntry {
        path: PathBuf::from(id),
        id: id.into(),
        bytes,
    }
}

#[test]
fn batches_hold_at_most_16_files_and_8_mib_and_a_big_file_goes_alone() {
    let sizes = |bs: &[Vec<FileEntry>]| bs.iter().map(Vec::len).collect::<Vec<_>>();
    let small: Vec<FileEntry> = (0..40).map(|i| entry(&format!("f{i:02}"), 100)).collect();
    let bs = batches(small);
    assert_eq!(sizes(&bs), [MAX_FILES, MAX_FILES, 8]);
    assert_eq!(bs[2][0].id, "f32", "order is kept");

    let mib = 1024 * 1024;
    let bs = batches((0..5).map(|i| entry(&format!("m{i}"), 3 * mib)).collect());
    assert_eq!(sizes(&bs), [2, 2, 1]);
    assert!(
        bs.iter()
            .all(|b| b.iter().map(|f| f.bytes).sum::<u64>() <= MAX_BYTES)
    );

    let bs = batches(vec![
        entry("a", 10),
        entry("huge", 3 * MAX_BYTES),
        entry("b", 10),
        entry("c", MAX_BYTES - 10),
        entry("d", 11),
    ]);
    let names: Vec<Vec<&str>> = bs
        .iter()
        .map(|b| b.iter().map(|f| f.id.as_str()).collect())
        .collect();
    assert_eq!(names, [vec!["a"], vec!["huge"], vec!["b", "c"], vec!["d"]]);
    assert!(batches(Vec::new()).is_empty());
}

#[test]
fn a_csv_file_stored_as_row_documents_is_skipped_until_it_changes() {
    let ragd = Ragd::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "cities.csv",
        "city,river\nVienna,Danube\nCologne,Rhine\n",
    );
    let d = root.to_str().unwrap();
    let args = [d, "--collection", "rows", "--create", "--json"];
    let s = summary(&ingest(&ragd.url, &args));
    assert_eq!(
        (&s["ingested"], &s["failed"]),
        (&json!(1), &json!(0)),
        "{s}"
    );
    // ragd keeps the rows as documents cities.csv#1, #2.
    let stored = listed(&ragd, "rows");
    assert_eq!(ids(&stored), ["cities.csv#1", "cities.csv#2"], "{stored:?}");
    let s = summary(&ingest(&ragd.url, &args));
    assert_eq!(
        (&s["skipped"], &s["ingested"]),
        (&json!(1), &json!(0)),
        "{s}"
    );
    write(
        root,
        "cities.csv",
        "city,river\nVienna,Danube\nCologne,Rhine\nParis,Seine\n",
    );
    let s = summary(&ingest(&ragd.url, &args));
    assert_eq!(
        (&s["skipped"], &s["ingested"]),
        (&json!(0), &json!(1)),
        "{s}"
    );
}
