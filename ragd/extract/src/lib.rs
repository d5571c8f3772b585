//! Extraction: turn an uploaded file into text ragd's chunker can split.
//!
//! ragd indexes Markdown. This crate converts the other formats users upload
//! into it: the headings of the source become `#` lines, so the chunker's
//! heading paths work for every format, and blocks are separated by blank
//! lines. Tabular formats (CSV, JSON Lines) are different: each row is its own
//! small document, so they go through [`rows`] instead of [`extract`].
//!
//! Every entry point is bounded ([`Limits`]) and never panics: the input size
//! is checked first, output stops growing once it passes its bound, and the
//! third-party parsers run under `catch_unwind` (PDF parsers are known to
//! panic on hostile input); a panic becomes [`ExtractError::Corrupt`].
//!
//! Layout:
//! - [`Format`]: naming and detecting formats (names, Content-Type, file
//!   names, magic bytes).
//! - `html`, `pdf`, `docx`: one converter per document format.
//! - `rows`: CSV and JSON Lines rows.
//! - `output`: the bounded text being written, shared by the converters.

mod docx;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod html;
mod output;
mod pdf;
mod rows;

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::output::Output;

/// A file format ragd can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Html,
    Pdf,
    Docx,
    Csv,
    Jsonl,
}

impl Format {
    /// Every format, in declaration order.
    pub const ALL: [Format; 7] = [
        Format::Text,
        Format::Markdown,
        Format::Html,
        Format::Pdf,
        Format::Docx,
        Format::Csv,
        Format::Jsonl,
    ];

    /// From a name as a user writes it in JSON or a query string: "text" or
    /// "txt", "markdown" or "md", "html" or "htm", "pdf", "docx", "csv",
    /// "jsonl" or "ndjson" (case-insensitive).
    pub fn from_name(s: &str) -> Option<Format> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "text" | "txt" => Format::Text,
            "markdown" | "md" => Format::Markdown,
            "html" | "htm" => Format::Html,
            "pdf" => Format::Pdf,
            "docx" => Format::Docx,
            "csv" => Format::Csv,
            "jsonl" | "ndjson" => Format::Jsonl,
            _ => return None,
        })
    }

    /// From a Content-Type; parameters such as "; charset=utf-8" are ignored.
    /// `application/octet-stream` (and anything unknown) gives `None`.
    pub fn from_content_type(s: &str) -> Option<Format> {
        let essence = s.split(';').next().unwrap_or_default().trim();
        Some(match essence.to_ascii_lowercase().as_str() {
            "text/plain" => Format::Text,
            "text/markdown" | "text/x-markdown" => Format::Markdown,
            "text/html" | "application/xhtml+xml" => Format::Html,
            "application/pdf" => Format::Pdf,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
                Format::Docx
            }
            "text/csv" => Format::Csv,
            "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => Format::Jsonl,
            _ => return None,
        })
    }

    /// From a file name's extension (a path is fine: only its last component
    /// counts).
    pub fn from_file_name(name: &str) -> Option<Format> {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let (_, ext) = base.rsplit_once('.')?;
        // The extensions are the names a user writes (.txt, .md, .htm...).
        Format::from_name(ext)
    }

    /// From the first bytes: `%PDF-` is PDF, a zip (`PK\x03\x04`) is taken
    /// for DOCX ([`extract`] then checks it holds `word/document.xml`), and
    /// `<!doctype html` or `<html` (any case, after whitespace or a BOM) is
    /// HTML. Anything else gives `None`: text formats have no magic bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(b"%PDF-") {
            return Some(Format::Pdf);
        }
        if bytes.starts_with(b"PK\x03\x04") {
            return Some(Format::Docx);
        }
        let start = strip_bom(bytes).trim_ascii_start();
        let starts_with = |prefix: &[u8]| {
            start.len() >= prefix.len() && start[..prefix.len()].eq_ignore_ascii_case(prefix)
        };
        if starts_with(b"<!doctype html") || starts_with(b"<html") {
            return Some(Format::Html);
        }
        None
    }

    /// The canonical name, as [`Format::from_name`] accepts it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    /// Whether one file of this format becomes several documents, one per
    /// row (read it with [`rows`], not [`extract`]).
    pub fn is_rows(self) -> bool {
        matches!(self, Format::Csv | Format::Jsonl)
    }
}

/// Bounds on one extraction (the caller also runs it under a time limit).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted input file.
    pub max_input_bytes: usize,
    /// Largest text produced (for rows: all rows' text together).
    pub max_output_bytes: usize,
    /// Most pages a PDF may have.
    pub max_pages: usize,
    /// Most rows a CSV or JSON Lines file may have.
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 32 << 20,
            max_output_bytes: 8 << 20,
            max_pages: 2000,
            max_rows: 100_000,
        }
    }
}

/// A document's text, as Markdown: headings of the source become
/// `#`..`######` lines so the chunker's heading paths work.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub text: String,
    /// For paged formats (PDF): (page number from 1, byte offset in `text`
    /// where that page starts), ascending. Pages without text are left out.
    /// Empty for unpaged formats.
    pub pages: Vec<(u32, usize)>,
    /// The document's title when the format has one (HTML `<title>`, DOCX
    /// core title, PDF Info Title); else `None`.
    pub title: Option<String>,
}

impl Extracted {
    /// The page that byte `offset` of `text` falls on (`None` for unpaged
    /// text or an offset past the end).
    pub fn page_at(&self, offset: usize) -> Option<u32> {
        if offset > self.text.len() {
            return None;
        }
        page_at(&self.pages, offset)
    }
}

/// The page that byte `offset` falls on, from page starts as in
/// [`Extracted::pages`] (`None` before the first or without pages).
pub fn page_at(pages: &[(u32, usize)], offset: usize) -> Option<u32> {
    let i = pages.partition_point(|&(_, start)| start <= offset);
    pages.get(i.checked_sub(1)?).map(|&(page, _)| page)
}

/// One row of a CSV or JSON Lines file, as its own document.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based row number (CSV: data rows after the header; JSONL: non-blank
    /// lines). Rows without text are skipped, so numbers may have gaps.
    pub number: usize,
    /// CSV: "column: value" lines (header names as keys, empty values left
    /// out). JSONL: the string field "text" if present, else "key: value"
    /// lines of the object's scalar fields.
    pub text: String,
    /// The row's fields as a JSON object; CSV values as strings. For JSONL,
    /// the object minus the "text" string it was given.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// JSONL only: the row's "id" field if it is a string or number.
    pub id: Option<String>,
}

/// Why a file could not be extracted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// Input, output, pages or rows over their bound; says which and its value.
    #[error("too large: {0}")]
    TooLarge(String),
    /// Not a valid file of that format; says what and where.
    #[error("corrupt file: {0}")]
    Corrupt(String),
    /// A valid file with no text to index.
    #[error("no text: {0}")]
    Empty(String),
    /// A format this entry point does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// Extract a document: Text and Markdown pass through after UTF-8 validation
/// (a leading BOM dropped); HTML, PDF and DOCX are converted to Markdown.
/// CSV and JSON Lines are [`ExtractError::Unsupported`]: use [`rows`].
pub fn extract(format: Format, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    check_input(bytes, limits)?;
    let extracted = guarded(format, || match format {
        Format::Text | Format::Markdown => {
            let text = utf8(strip_bom(bytes), format)?;
            let mut out = Output::new(limits);
            out.push(text)?;
            Ok(Extracted {
                text: out.finish(),
                pages: Vec::new(),
                title: None,
            })
        }
        Format::Html => html::extract(bytes, limits),
        Format::Pdf => pdf::extract(bytes, limits),
        Format::Docx => docx::extract(bytes, limits),
        Format::Csv | Format::Jsonl => Err(ExtractError::Unsupported(format!(
            "{} files hold rows: read them with rows(), not extract()",
            format.name()
        ))),
    })?;
    if extracted.text.trim().is_empty() {
        return Err(ExtractError::Empty(format!(
            "the {} document has no text",
            format.name()
        )));
    }
    Ok(extracted)
}

/// The rows of a CSV or JSON Lines file; other formats are
/// [`ExtractError::Unsupported`]: use [`extract`].
pub fn rows(format: Format, bytes: &[u8], limits: &Limits) -> Result<Vec<Row>, ExtractError> {
    check_input(bytes, limits)?;
    guarded(format, || match format {
        Format::Csv => rows::csv(strip_bom(bytes), limits),
        Format::Jsonl => rows::jsonl(strip_bom(bytes), limits),
        _ => Err(ExtractError::Unsupported(format!(
            "{} is a document format: read it with extract(), not rows()",
            format.name()
        ))),
    })
}

/// Runs a converter, turning a panic inside it into `Corrupt`.
fn guarded<T>(
    format: Format,
    f: impl FnOnce() -> Result<T, ExtractError>,
) -> Result<T, ExtractError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ExtractError::Corrupt(format!(
            "the {} parser failed on this file (it panicked)",
            format.name()
        )))
    })
}

fn check_input(bytes: &[u8], limits: &Limits) -> Result<(), ExtractError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(ExtractError::TooLarge(format!(
            "the file is {} bytes, over max_input_bytes = {}",
            bytes.len(),
            limits.max_input_bytes
        )));
    }
    Ok(())
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn utf8(bytes: &[u8], format: Format) -> Result<&str, ExtractError> {
    std::str::from_utf8(bytes).map_err(|e| {
        ExtractError::Corrupt(format!(
            "the {} file is not valid UTF-8 (at byte {})",
            format.name(),
            e.valid_up_to()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_parser_is_corrupt() {
        let result: Result<(), _> = guarded(Format::Pdf, || panic!("hostile input"));
        let e = result.unwrap_err();
        assert!(
            matches!(e, ExtractError::Corrupt(ref m) if m.contains("pdf parser")),
            "{e:?}"
        );
    }
}
