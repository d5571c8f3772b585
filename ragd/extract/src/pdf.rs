//! PDF: the text layer of each page, with page numbers.
//!
//! `lopdf` parses the file and reads each page's text (`Tj`/`TJ` strings
//! through the fonts' encodings and ToUnicode maps), one page at a time so
//! `max_pages` and `max_output_bytes` hold, with every stream it inflates
//! bounded (no decompression bombs). `pdf-extract` lays text out better, but
//! it pins an older lopdf without those bounds and adds font-program
//! parsers; for indexing, lopdf's reading order is enough.
//!
//! Pages are joined with blank lines and each page's start offset is kept,
//! so a passage can cite its page. PDF text is not Markdown: lines that would
//! read as headings or code fences are escaped. A PDF whose pages hold no
//! text is usually scanned images, which needs OCR: that is
//! [`ExtractError::Empty`].

use lopdf::{Document, LoadOptions, Object};

use crate::output::{Output, needs_escape, too_much_output};
use crate::{ExtractError, Extracted, Limits};

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    // Page content is mostly operators, not text: allow it some room.
    let stream_limit = limits.max_output_bytes.saturating_mul(4).max(1 << 20);
    let options = LoadOptions {
        max_decompressed_size: Some(stream_limit),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(bytes, options)
        .map_err(|e| ExtractError::Corrupt(format!("not a readable PDF: {e}")))?;
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(ExtractError::Corrupt(
            "the PDF has no pages (its page tree is missing or damaged)".into(),
        ));
    }
    if pages.len() > limits.max_pages {
        return Err(ExtractError::TooLarge(format!(
            "the PDF has {} pages, over max_pages = {}",
            pages.len(),
            limits.max_pages
        )));
    }

    let mut out = Output::new(limits);
    let mut starts = Vec::new();
    let mut first_error = None;
    for &number in pages.keys() {
        let mut raw = String::new();
        for chunk in doc.extract_text_chunks_with_limit(&[number], stream_limit) {
            match chunk {
                Ok(text) => raw.push_str(&text),
                Err(e) => {
                    first_error.get_or_insert_with(|| format!("page {number}: {e}"));
                }
            }
            if raw.len() > limits.max_output_bytes {
                return Err(too_much_output(limits.max_output_bytes));
            }
        }
        let page = tidy(&raw);
        if page.is_empty() {
            continue;
        }
        out.end_block();
        starts.push((number, out.text.len()));
        out.push(&page)?;
    }

    if out.text.is_empty() {
        return Err(match first_error {
            Some(e) => ExtractError::Corrupt(format!("no page's text could be read ({e})")),
            None => ExtractError::Empty(
                "no text layer: the PDF may be scanned images; OCR is not supported".into(),
            ),
        });
    }
    Ok(Extracted {
        text: out.finish(),
        pages: starts,
        title: title(&doc),
    })
}

/// A page's text with trailing spaces, control characters and runs of blank
/// lines removed, typographic ligatures spelt out (so "ﬁle" matches
/// "file"), and lines that would read as Markdown syntax escaped.
fn tidy(raw: &str) -> String {
    let mut page = String::with_capacity(raw.len());
    let mut blank_lines = 0;
    for line in raw.lines() {
        let mut line: String = line
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        if line.contains(LIGATURES) {
            line = expand_ligatures(&line);
        }
        let line = line.trim_end();
        if line.is_empty() {
            blank_lines += 1;
            continue;
        }
        if !page.is_empty() {
            page.push_str(if blank_lines > 0 { "\n\n" } else { "\n" });
        }
        blank_lines = 0;
        if needs_escape(line) {
            page.push('\\');
            page.push_str(line.trim_start());
        } else {
            page.push_str(line);
        }
    }
    page
}

const LIGATURES: [char; 7] = [
    '\u{FB00}', '\u{FB01}', '\u{FB02}', '\u{FB03}', '\u{FB04}', '\u{FB05}', '\u{FB06}',
];

fn expand_ligatures(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        match c {
            '\u{FB00}' => out.push_str("ff"),
            '\u{FB01}' => out.push_str("fi"),
            '\u{FB02}' => out.push_str("fl"),
            '\u{FB03}' => out.push_str("ffi"),
            '\u{FB04}' => out.push_str("ffl"),
            '\u{FB05}' | '\u{FB06}' => out.push_str("st"),
            c => out.push(c),
        }
    }
    out
}

/// The Info dictionary's Title, if set.
fn title(doc: &Document) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let (_, info) = doc.dereference(info).ok()?;
    let Object::Dictionary(info) = info else {
        return None;
    };
    let (_, title) = doc.dereference(info.get(b"Title").ok()?).ok()?;
    let title = lopdf::decode_text_string(title).ok()?;
    let title = title.trim();
    (!title.is_empty()).then(|| title.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tidy_page_text() {
        let raw = "  e\u{FB03}cient \u{FB01}le  \n\n\n\n# not a heading\r\nnext\u{0}line\n\n";
        assert_eq!(
            super::tidy(raw),
            "  efficient file\n\n\\# not a heading\nnextline"
        );
    }
}
