//! Chunking: cut a document into passages small enough for the embedder.
//!
//! `text-splitter` does the cutting: it fills each chunk up to the size limit
//! with the largest semantic units that fit (sections, paragraphs, sentences,
//! then words), so chunks end on natural boundaries; Markdown is split on its
//! structure first (headings, blocks, tables, code fences). Neighbouring
//! chunks share `overlap` characters so a fact cut at a boundary is still
//! whole in one of them.

use ragd_api::DocumentFormat;
use text_splitter::{ChunkConfig, MarkdownSplitter, TextSplitter};

use crate::config::ChunkingConfig;

pub struct Chunker {
    text: TextSplitter<text_splitter::Characters>,
    markdown: MarkdownSplitter<text_splitter::Characters>,
}

/// One passage of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub text: String,
    /// Markdown heading path at the passage's start ("Setup > Linux"); empty
    /// for plain text or before the first heading.
    pub heading: String,
    /// Byte offset of the passage's start in the document's text (what maps
    /// it to a page of a paged source).
    pub offset: usize,
}

impl Chunk {
    /// What is embedded and indexed: the heading path gives a passage its
    /// context ("Linux" alone says little), unless the passage starts with it.
    pub fn indexed_text(&self) -> String {
        let last = self.heading.rsplit(" > ").next().unwrap_or_default();
        if self.heading.is_empty()
            || self
                .text
                .trim_start_matches('#')
                .trim_start()
                .starts_with(last)
        {
            self.text.clone()
        } else {
            format!("{}\n{}", self.heading, self.text)
        }
    }
}

impl Chunker {
    /// Sizes must already be validated (overlap < size).
    pub fn new(cfg: &ChunkingConfig) -> Result<Chunker, text_splitter::ChunkConfigError> {
        let config = || ChunkConfig::new(cfg.size).with_overlap(cfg.overlap);
        Ok(Chunker {
            text: TextSplitter::new(config()?),
            markdown: MarkdownSplitter::new(config()?),
        })
    }

    /// The chunks of `text`, in document order, never empty.
    pub fn split(&self, text: &str, format: DocumentFormat) -> Vec<Chunk> {
        match format {
            DocumentFormat::Text => self
                .text
                .chunk_indices(text)
                .filter(|(_, c)| !c.trim().is_empty())
                .map(|(offset, c)| Chunk {
                    text: c.to_string(),
                    heading: String::new(),
                    offset,
                })
                .collect(),
            // HTML arrives converted (`service::files`); as Markdown otherwise.
            DocumentFormat::Markdown | DocumentFormat::Html => {
                let headings = headings(text);
                let pieces: Vec<(usize, &str)> = self
                    .markdown
                    .chunk_indices(text)
                    .filter(|(_, c)| !c.trim().is_empty())
                    .collect();
                keep_blocks_whole(text, pieces)
                    .into_iter()
                    .map(|(offset, chunk)| Chunk {
                        heading: heading_path(&headings, offset + body_start(&chunk)),
                        text: chunk,
                        offset,
                    })
                    .collect()
            }
        }
    }
}

/// (byte offset, level, title) of every ATX heading outside code fences.
fn headings(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut in_code = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_code = !in_code;
        } else if !in_code && t.starts_with('#') {
            let level = t.chars().take_while(|c| *c == '#').count();
            let title = t[level..].trim();
            if level <= 6 && t[level..].starts_with([' ', '\t']) && !title.is_empty() {
                out.push((
                    offset,
                    level,
                    title.trim_end_matches('#').trim().to_string(),
                ));
            }
        }
        offset += line.len();
    }
    out
}

/// Byte offset of a chunk's first line of body text: headings that open a
/// chunk belong to its path ("# Guide\n\n## Backups\n\ntext" is about
/// "Guide > Backups").
fn body_start(chunk: &str) -> usize {
    let mut at = 0;
    for line in chunk.split_inclusive('\n') {
        let t = line.trim();
        if !(t.is_empty() || t.starts_with('#')) {
            return at;
        }
        at += line.len();
    }
    0
}

/// The path of headings in force at `offset` (a chunk starting with a
/// heading is under that heading).
fn heading_path(headings: &[(usize, usize, String)], offset: usize) -> String {
    let mut stack: Vec<(usize, &str)> = Vec::new();
    for (at, level, title) in headings {
        if *at > offset {
            break;
        }
        while stack.last().is_some_and(|(l, _)| l >= level) {
            stack.pop();
        }
        stack.push((*level, title));
    }
    stack
        .iter()
        .map(|(_, t)| *t)
        .collect::<Vec<_>>()
        .join(" > ")
}

/// Merge neighbouring chunks so that no code fence or table is cut in two:
/// a chunk that opens a fence it does not close, or ends inside a table
/// that the next chunk continues, takes the next chunk in (the merged chunk
/// is the original text between them, so nothing is lost or reordered).
fn keep_blocks_whole(text: &str, pieces: Vec<(usize, &str)>) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, usize)> = Vec::new(); // (start, end) byte ranges
    let mut open = false;
    for (offset, piece) in pieces {
        let end = offset + piece.len();
        let continues_table = out.last().is_some_and(|&(s, e)| {
            text[s..e]
                .trim_end()
                .lines()
                .last()
                .is_some_and(|l| l.trim_start().starts_with('|'))
                && piece.trim_start().starts_with('|')
        });
        match out.last_mut() {
            Some(last) if (open || continues_table) && end > last.1 => last.1 = end,
            _ => out.push((offset, end)),
        }
        let &(s, e) = out.last().expect("just pushed or extended");
        let fences = text[s..e]
            .lines()
            .filter(|l| l.trim_start().starts_with("```"))
            .count();
        open = fences % 2 == 1;
    }
    out.into_iter()
        .map(|(s, e)| (s, text[s..e].to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunker(size: usize, overlap: usize) -> Chunker {
        Chunker::new(&ChunkingConfig { size, overlap }).unwrap()
    }

    #[test]
    fn respects_size_and_sentence_boundaries() {
        let text = "The cat sat on the mat. It was warm there. ".repeat(30);
        let chunks = texts(chunker(120, 0).split(&text, DocumentFormat::Text));
        assert!(chunks.len() > 5);
        for c in &chunks {
            assert!(c.chars().count() <= 120, "chunk too long: {c:?}");
            assert!(c.ends_with('.'), "chunk not cut at a sentence end: {c:?}");
        }
    }

    #[test]
    fn paragraphs_stay_whole_when_they_fit() {
        let text = "First paragraph about apples.\n\nSecond paragraph about pears.";
        let chunks = texts(chunker(40, 0).split(text, DocumentFormat::Text));
        assert_eq!(
            chunks,
            vec![
                "First paragraph about apples.",
                "Second paragraph about pears."
            ]
        );
    }

    #[test]
    fn overlap_repeats_text_between_neighbours() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let chunks = texts(chunker(30, 10).split(text, DocumentFormat::Text));
        assert!(chunks.len() >= 2);
        let first_tail: Vec<&str> = chunks[0].split(' ').rev().take(1).collect();
        assert!(chunks[1].contains(first_tail[0]), "{chunks:?}");
    }

    #[test]
    fn markdown_splits_on_headings() {
        let md =
            "# Install\n\nRun the installer and wait.\n\n# Usage\n\nCall the tool with a file.";
        let chunks = texts(chunker(50, 0).split(md, DocumentFormat::Markdown));
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        assert!(chunks[0].starts_with("# Install"));
        assert!(chunks[1].starts_with("# Usage"));
    }

    #[test]
    fn markdown_chunks_carry_their_heading_path() {
        let md = "# Guide\n\nIntro words here.\n\n## Linux\n\nInstall the package with apt and start it.\n\n### Service\n\nEnable the unit so it starts on boot.\n\n## Windows\n\nRun the installer as administrator please.";
        let chunks = chunker(60, 0).split(md, DocumentFormat::Markdown);
        let find = |needle: &str| {
            chunks
                .iter()
                .find(|c| c.text.contains(needle))
                .unwrap()
                .heading
                .clone()
        };
        assert_eq!(find("Intro"), "Guide");
        assert_eq!(find("apt"), "Guide > Linux");
        assert_eq!(find("unit"), "Guide > Linux > Service");
        assert_eq!(find("administrator"), "Guide > Windows");
        let c = chunks.iter().find(|c| c.text.contains("unit")).unwrap();
        assert!(
            c.indexed_text().starts_with("### Service")
                || c.indexed_text().starts_with("Guide > Linux > Service")
        );
    }

    #[test]
    fn code_blocks_and_tables_are_not_cut() {
        let code: String = (0..12)
            .map(|i| format!("let x{i} = compute({i});\n"))
            .collect();
        let table: String = (0..12)
            .map(|i| format!("| row {i} | value {i} |\n"))
            .collect();
        let md = format!(
            "# Code\n\n```rust\n{code}```\n\n# Table\n\n| a | b |\n|---|---|\n{table}\nAfter the table."
        );
        let chunks = texts(chunker(120, 0).split(&md, DocumentFormat::Markdown));
        for c in &chunks {
            let fences = c.lines().filter(|l| l.starts_with("```")).count();
            assert!(fences % 2 == 0, "fence cut: {c:?}");
        }
        let with_rows: Vec<&String> = chunks.iter().filter(|c| c.contains("| row ")).collect();
        assert_eq!(with_rows.len(), 1, "table split across chunks: {chunks:#?}");
        assert!(with_rows[0].contains("| row 0 |") && with_rows[0].contains("| row 11 |"));
    }

    fn texts(chunks: Vec<Chunk>) -> Vec<String> {
        chunks.into_iter().map(|c| c.text).collect()
    }
}

#[cfg(test)]
mod properties {
    //! Any text, hostile or not, chunks without a panic into non-empty
    //! chunks within the configured size.
    use proptest::prelude::*;

    use super::*;

    fn chunker(size: usize) -> Chunker {
        Chunker::new(&ChunkingConfig {
            size,
            overlap: size / 8,
        })
        .unwrap()
    }

    /// Text with the shapes that break splitters: markdown syntax, long
    /// runs without spaces, control characters, combining marks, emoji.
    fn hostile_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-z ]{0,40}",
            "#{1,7} [A-Za-z]{0,20}\n",
            "```[a-z]{0,5}\n[^`]{0,50}\n```\n",
            "\\|[a-z |-]{0,30}\\|\n",
            "[*_>`~\\[\\]()!-]{0,20}",
            "[\\x00-\\x1f]{0,5}",
            "\\PC{0,30}",
            "x{200,600}",
            "(\u{301}|\u{200d}|🚀|\u{feff}){0,10}",
        ];
        prop::collection::vec(piece, 0..20).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn chunks_are_never_empty_and_never_too_long(
            text in hostile_text(),
            size in 32usize..600,
            markdown in any::<bool>(),
        ) {
            let format = if markdown { DocumentFormat::Markdown } else { DocumentFormat::Text };
            for c in chunker(size).split(&text, format) {
                prop_assert!(!c.text.trim().is_empty());
                // Plain text keeps the bound. The markdown splitter can
                // exceed it (this test found a code fence of 56 characters
                // at size 32); harmless, the model truncates long chunks.
                if !markdown {
                    prop_assert!(c.text.chars().count() <= size, "{} > {size}", c.text.chars().count());
                }
            }
        }
    }
}
