//! Real documents in: every format ragd reads, uploaded as a user would
//! (multipart, file name = id), round-trips to a cited answer; PDF
//! citations carry their page; bad files are refused with a clear error
//! and leave nothing behind. Fixtures are made here (no binary files in
//! the repository): see `ragd_extract::fixtures`.

use ragd_extract::fixtures;
use ragkit_tests::Server;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// Upload `files` (name, content type, bytes) to collection `kb`.
async fn upload(s: &Server, files: Vec<(&str, &str, Vec<u8>)>) -> (u16, Value) {
    let mut form = Form::new();
    for (name, ct, bytes) in files {
        form = form.part(
            "file",
            Part::bytes(bytes)
                .file_name(name.to_string())
                .mime_str(ct)
                .unwrap(),
        );
    }
    let resp = reqwest::Client::new()
        .post(s.url("/v1/collections/kb/documents"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn ask(s: &Server, question: &str) -> Value {
    s.query(
        "kb",
        json!({"question": question, "top_k": 3, "mode": "hybrid"}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_round_trips_to_a_cited_answer() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("kb").await;
    let html = "<!doctype html><html><head><title>Lighthouse keeping</title>\
        <script>var x = 'never indexed';</script></head><body>\
        <h1>Lighthouses</h1><h2>Lamps</h2>\
        <p>The Fresnel lens of the Skerryvore lighthouse is lit at dusk &amp; dawn.</p>\
        <ul><li>Keepers trim the wick every four hours.</li></ul></body></html>";
    let pdf = fixtures::pdf(
        &[
            &["Orchard report.", "Apples are picked in September."],
            &["Pear trees need pruning in late winter, before the buds swell."],
            &["Cherry blossoms open in April in the northern valleys."],
        ],
        Some("Orchard report"),
    );
    let docx = fixtures::docx(
        &[
            fixtures::para(Some("Heading1"), "Glassblowing"),
            fixtures::para(
                None,
                "Molten glass is gathered on a blowpipe at 1100 degrees Celsius.",
            ),
        ]
        .concat(),
        None,
    );
    let csv = b"city,river\nVienna,Danube\nCologne,Rhine\n".to_vec();
    let jsonl =
        b"{\"id\":\"amber\",\"text\":\"Baltic amber is fossilised pine resin.\",\"kind\":\"gem\"}\n".to_vec();
    let (status, r) = upload(
        &s,
        vec![
            ("web/lighthouse.html", "text/html", html.as_bytes().to_vec()),
            ("reports/orchard.pdf", "application/pdf", pdf),
            // No useful content type: the extension decides.
            ("glass.docx", "application/octet-stream", docx),
            ("rivers.csv", "text/csv", csv),
            ("gems.jsonl", "application/octet-stream", jsonl),
        ],
    )
    .await;
    assert_eq!(status, 201, "{r}");
    let ids: Vec<&str> = r["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "web/lighthouse.html",
            "reports/orchard.pdf",
            "glass.docx",
            "rivers.csv#1",
            "rivers.csv#2",
            "gems.jsonl#amber"
        ]
    );

    // HTML: headings feed the heading path, scripts are not indexed.
    let a = ask(&s, "When is the Skerryvore lens lit?").await;
    assert_eq!(
        a["citations"][0]["document_id"], "web/lighthouse.html",
        "{a}"
    );
    assert_eq!(a["citations"][0]["heading"], "Lighthouses > Lamps", "{a}");
    let (_, doc) = s
        .call(
            "GET",
            "/v1/collections/kb/documents/web%2Flighthouse.html",
            None,
        )
        .await;
    let text = doc["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("# Lighthouses") && !text.contains("never indexed"),
        "{doc}"
    );
    assert_eq!(doc["metadata"]["title"], "Lighthouse keeping", "{doc}");
    assert_eq!(doc["format"], "markdown");

    // PDF: the citation says which page.
    let a = ask(&s, "When should pear trees be pruned?").await;
    let top = &a["citations"][0];
    assert_eq!(top["document_id"], "reports/orchard.pdf", "{a}");
    assert!(top["text"].as_str().unwrap().contains("Pear"), "{a}");
    let pages: Vec<u64> = a["citations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["document_id"] == "reports/orchard.pdf")
        .filter_map(|c| c["page"].as_u64())
        .collect();
    assert!(!pages.is_empty(), "PDF citations carry a page: {a}");
    let (_, doc) = s
        .call(
            "GET",
            "/v1/collections/kb/documents/reports%2Forchard.pdf",
            None,
        )
        .await;
    assert_eq!(doc["metadata"]["title"], "Orchard report", "{doc}");
    // Small pages share a chunk: the one holding "Pear" starts on page 1 or 2.
    assert!(pages.iter().all(|p| (1..=3).contains(p)), "{pages:?}");

    // DOCX: headings kept.
    let a = ask(&s, "At what temperature is molten glass gathered?").await;
    assert_eq!(a["citations"][0]["document_id"], "glass.docx", "{a}");
    assert_eq!(a["citations"][0]["heading"], "Glassblowing", "{a}");

    // CSV and JSON Lines: a document per row, fields as metadata.
    let a = ask(&s, "Which river flows through Cologne?").await;
    assert_eq!(a["citations"][0]["document_id"], "rivers.csv#2", "{a}");
    assert_eq!(a["citations"][0]["metadata"]["river"], "Rhine", "{a}");
    let a = ask(&s, "What is Baltic amber made of?").await;
    assert_eq!(a["citations"][0]["document_id"], "gems.jsonl#amber", "{a}");
    assert_eq!(a["citations"][0]["metadata"]["kind"], "gem", "{a}");

    // JSON with "format": "html" is converted the same way.
    s.ingest(
        "kb",
        json!([{"id": "inline", "format": "html", "text": "<h1>Kites</h1><p>Box kites fly in steady wind.</p>"}]),
    )
    .await;
    let (_, doc) = s
        .call("GET", "/v1/collections/kb/documents/inline", None)
        .await;
    assert!(
        doc["text"].as_str().unwrap().starts_with("# Kites"),
        "{doc}"
    );

    // The list reports what was sent: the SHA-256 of the file's bytes.
    let (_, list) = s.call("GET", "/v1/collections/kb/documents", None).await;
    let pdf_row = list["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "reports/orchard.pdf")
        .unwrap();
    assert_eq!(
        pdf_row["sha256"].as_str().map(str::len),
        Some(64),
        "{pdf_row}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_are_refused_by_name_and_nothing_of_their_request_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path()).await;
    s.create_collection("kb").await;
    let good = (
        "good.md",
        "text/markdown",
        b"# Fine\n\nA good file.".to_vec(),
    );
    let mut truncated = fixtures::pdf(&[&["Half a report."]], None);
    truncated.truncate(truncated.len() / 2);
    for (bad, want_status) in [
        (("broken.pdf", "application/pdf", truncated), 422),
        (
            (
                "not-a-zip.docx",
                "application/octet-stream",
                b"PK\x03\x04 nope".to_vec(),
            ),
            422,
        ),
        (
            ("scan.pdf", "application/pdf", fixtures::pdf(&[&[]], None)),
            422,
        ),
        (
            ("photo.png", "image/png", vec![0x89, b'P', b'N', b'G']),
            415,
        ),
        (
            (
                "tool.exe",
                "application/octet-stream",
                b"MZ\x90\x00".to_vec(),
            ),
            415,
        ),
        (("latin1.txt", "text/plain", vec![0xe9, 0x74, 0xe9]), 422),
        (("ragged.csv", "text/csv", b"a,b\n1,2,3\n".to_vec()), 422),
    ] {
        let name = bad.0;
        let (status, e) = upload(&s, vec![good.clone(), bad]).await;
        assert_eq!(status, want_status, "{name}: {e}");
        let message = e["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(name), "the error names the file: {e}");
    }
    // None of those requests left anything, not even their good file.
    let (_, list) = s.call("GET", "/v1/collections/kb/documents", None).await;
    assert_eq!(list["documents"], json!([]), "{list}");
    let (status, _) = upload(&s, vec![good]).await;
    assert_eq!(status, 201);
    s.stop().await;
}
