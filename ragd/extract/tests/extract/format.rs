//! Naming and detecting formats.

use ragd_extract::Format;

#[test]
fn names_and_aliases() {
    for (name, format) in [
        ("text", Format::Text),
        ("TXT", Format::Text),
        ("markdown", Format::Markdown),
        ("md", Format::Markdown),
        ("Html", Format::Html),
        ("htm", Format::Html),
        ("pdf", Format::Pdf),
        ("DOCX", Format::Docx),
        ("csv", Format::Csv),
        ("jsonl", Format::Jsonl),
        ("ndjson", Format::Jsonl),
    ] {
        assert_eq!(Format::from_name(name), Some(format), "{name}");
    }
    for name in ["", "doc", "json", "xlsx", "pdf2"] {
        assert_eq!(Format::from_name(name), None, "{name}");
    }
    // Each canonical name reads back as its format.
    for format in Format::ALL {
        assert_eq!(Format::from_name(format.name()), Some(format));
    }
}

#[test]
fn only_csv_and_jsonl_are_rows() {
    let rows: Vec<Format> = Format::ALL.into_iter().filter(|f| f.is_rows()).collect();
    assert_eq!(rows, [Format::Csv, Format::Jsonl]);
}

#[test]
fn content_types() {
    for (ct, format) in [
        ("text/plain", Format::Text),
        ("text/plain; charset=utf-8", Format::Text),
        ("text/markdown", Format::Markdown),
        ("TEXT/HTML; charset=ISO-8859-1", Format::Html),
        ("application/xhtml+xml", Format::Html),
        ("application/pdf", Format::Pdf),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Format::Docx,
        ),
        ("text/csv", Format::Csv),
        ("application/x-ndjson", Format::Jsonl),
        ("application/jsonl", Format::Jsonl),
        ("application/jsonlines ; charset=utf-8", Format::Jsonl),
    ] {
        assert_eq!(Format::from_content_type(ct), Some(format), "{ct}");
    }
    for ct in [
        "application/octet-stream",
        "application/json",
        "image/png",
        "",
    ] {
        assert_eq!(Format::from_content_type(ct), None, "{ct}");
    }
}

#[test]
fn file_names() {
    for (name, format) in [
        ("notes.txt", Format::Text),
        ("notes.text", Format::Text),
        ("README.md", Format::Markdown),
        ("guide.markdown", Format::Markdown),
        ("index.HTML", Format::Html),
        ("page.htm", Format::Html),
        ("docs/v1.2/report.pdf", Format::Pdf),
        ("C:\\Users\\me\\letter.docx", Format::Docx),
        ("data.csv", Format::Csv),
        ("rows.jsonl", Format::Jsonl),
        ("rows.ndjson", Format::Jsonl),
    ] {
        assert_eq!(Format::from_file_name(name), Some(format), "{name}");
    }
    for name in [
        "Makefile",
        "archive.tar.gz",
        "photo.png",
        "docs.v2/README",
        "",
    ] {
        assert_eq!(Format::from_file_name(name), None, "{name}");
    }
}

#[test]
fn sniffing_magic_bytes() {
    assert_eq!(Format::sniff(b"%PDF-1.7\n%..."), Some(Format::Pdf));
    assert_eq!(Format::sniff(b"PK\x03\x04\x14\x00"), Some(Format::Docx));
    assert_eq!(Format::sniff(b"<!DOCTYPE html><html>"), Some(Format::Html));
    assert_eq!(
        Format::sniff(b"\xEF\xBB\xBF\n  <HTML lang=en>"),
        Some(Format::Html)
    );
    assert_eq!(Format::sniff(b"<html>"), Some(Format::Html));
    for bytes in [
        &b""[..],
        b"%PD",
        b" %PDF-1.4",
        b"PK\x05\x06",
        b"<p>fragment</p>",
        b"<!doctype xml>",
        b"# Title",
        b"a,b,c",
        b"{\"text\": 1}",
    ] {
        assert_eq!(
            Format::sniff(bytes),
            None,
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}
