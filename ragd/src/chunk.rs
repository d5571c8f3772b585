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

impl Chunker {
    /// Sizes must already be validated (overlap < size).
    pub fn new(cfg: &ChunkingConfig) -> Result<Chunker, String> {
        let config = || {
            ChunkConfig::new(cfg.size)
                .with_overlap(cfg.overlap)
                .map_err(|e| format!("chunking: {e}"))
        };
        Ok(Chunker {
            text: TextSplitter::new(config()?),
            markdown: MarkdownSplitter::new(config()?),
        })
    }

    /// The chunks of `text`, in document order, never empty strings.
    pub fn split(&self, text: &str, format: DocumentFormat) -> Vec<String> {
        let chunks: Vec<String> = match format {
            DocumentFormat::Text => self.text.chunks(text).map(str::to_string).collect(),
            DocumentFormat::Markdown => self.markdown.chunks(text).map(str::to_string).collect(),
        };
        chunks
            .into_iter()
            .filter(|c| !c.trim().is_empty())
            .collect()
    }
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
        let chunks = chunker(120, 0).split(&text, DocumentFormat::Text);
        assert!(chunks.len() > 5);
        for c in &chunks {
            assert!(c.chars().count() <= 120, "chunk too long: {c:?}");
            assert!(c.ends_with('.'), "chunk not cut at a sentence end: {c:?}");
        }
    }

    #[test]
    fn paragraphs_stay_whole_when_they_fit() {
        let text = "First paragraph about apples.\n\nSecond paragraph about pears.";
        let chunks = chunker(40, 0).split(text, DocumentFormat::Text);
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
        let chunks = chunker(30, 10).split(text, DocumentFormat::Text);
        assert!(chunks.len() >= 2);
        let first_tail: Vec<&str> = chunks[0].split(' ').rev().take(1).collect();
        assert!(chunks[1].contains(first_tail[0]), "{chunks:?}");
    }

    #[test]
    fn markdown_splits_on_headings() {
        let md =
            "# Install\n\nRun the installer and wait.\n\n# Usage\n\nCall the tool with a file.";
        let chunks = chunker(50, 0).split(md, DocumentFormat::Markdown);
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        assert!(chunks[0].starts_with("# Install"));
        assert!(chunks[1].starts_with("# Usage"));
    }
}
