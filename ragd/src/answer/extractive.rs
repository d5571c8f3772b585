//! The built-in extractive answerer: no model, no network.
//!
//! Every sentence of the retrieved passages is scored by how many of the
//! question's content words it contains (weighted towards rarer, longer
//! words) plus the passage's retrieval score; the best sentences, with
//! near-duplicates removed, form the answer, each followed by the number of
//! the passage it came from.

use std::collections::HashSet;

use async_trait::async_trait;
use futures::stream;
use ragd_api::Citation;
use unicode_segmentation::UnicodeSegmentation;

use super::{AnswerStream, GenerateError, Generator};

/// What the answer says when no passage was retrieved.
pub const NOTHING_FOUND: &str = "I found nothing in this collection that answers the question.";

pub struct Extractive {
    max_sentences: usize,
}

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "i", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "what", "when",
    "where", "which", "who", "why", "with", "you", "your", "my", "we", "our", "there", "their",
    "was", "were", "will", "would", "should", "could", "into", "about", "if", "then", "than",
];

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.unicode_words().map(|w| w.to_lowercase())
}

fn content_words(text: &str) -> HashSet<String> {
    words(text)
        .filter(|w| w.chars().count() > 1 && !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// The prose of a passage, one line: hard-wrapped lines joined, Markdown
/// headings, code blocks and table rows left out (they are not sentences),
/// list markers removed.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_code = !in_code;
            continue;
        }
        if in_code || t.starts_with('#') || t.starts_with('|') {
            continue;
        }
        let t = t
            .strip_prefix("- ")
            .or_else(|| t.strip_prefix("* "))
            .unwrap_or(t);
        if t.is_empty() {
            // A paragraph ends a sentence even without punctuation.
            if !out.is_empty() && !out.ends_with(". ") {
                out.push_str(". ");
            }
            continue;
        }
        out.push_str(t);
        out.push(' ');
    }
    out
}

struct Candidate {
    n: u32,
    text: String,
    score: f32,
    words: HashSet<String>,
}

impl Extractive {
    pub fn new(max_sentences: usize) -> Self {
        Self {
            max_sentences: max_sentences.max(1),
        }
    }

    /// The answer text for `question` from `passages` (synchronous core).
    pub fn answer(&self, question: &str, passages: &[Citation]) -> String {
        if passages.is_empty() {
            return NOTHING_FOUND.to_string();
        }
        let q = content_words(question);
        let mut candidates: Vec<Candidate> = Vec::new();
        for p in passages {
            let prose = prose(&p.text);
            for sentence in prose.unicode_sentences() {
                let sentence = sentence.trim();
                let sw = content_words(sentence);
                if sw.len() < 3 {
                    continue;
                }
                let overlap: f32 = q
                    .intersection(&sw)
                    .map(|w| 1.0 + (w.chars().count() as f32 / 8.0).min(1.0))
                    .sum();
                // Long sentences match more words by chance; damp them.
                let length_penalty = (sw.len() as f32 / 12.0).max(1.0).sqrt();
                candidates.push(Candidate {
                    n: p.n,
                    text: sentence.to_string(),
                    score: overlap / length_penalty + p.score,
                    words: sw,
                });
            }
        }
        if candidates.is_empty() {
            // Passages without full sentences: quote the best passage.
            let p = &passages[0];
            return format!("{} [{}]", p.text.trim(), p.n);
        }
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.n.cmp(&b.n)));
        let mut chosen: Vec<&Candidate> = Vec::new();
        for c in &candidates {
            if chosen.len() >= self.max_sentences {
                break;
            }
            let duplicate = chosen.iter().any(|o| {
                let inter = o.words.intersection(&c.words).count() as f32;
                let union = o.words.union(&c.words).count() as f32;
                union > 0.0 && inter / union > 0.7
            });
            if !duplicate {
                chosen.push(c);
            }
        }
        chosen
            .iter()
            .map(|c| format!("{} [{}]", c.text, c.n))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[async_trait]
impl Generator for Extractive {
    fn kind(&self) -> &'static str {
        "extractive"
    }

    async fn generate(
        &self,
        question: &str,
        passages: &[Citation],
    ) -> Result<AnswerStream, GenerateError> {
        let answer = self.answer(question, passages);
        Ok(Box::pin(stream::iter([Ok(answer)])))
    }

    async fn health(&self) -> Result<(), GenerateError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(n: u32, text: &str, score: f32) -> Citation {
        Citation {
            n,
            document_id: format!("d{n}"),
            chunk_index: 0,
            score,
            heading: String::new(),
            page: None,
            text: text.into(),
            metadata: Default::default(),
        }
    }

    #[test]
    fn picks_the_relevant_sentence_and_cites_it() {
        let passages = [
            passage(
                1,
                "Bananas are yellow fruit. Monkeys like them very much.",
                0.5,
            ),
            passage(
                2,
                "The capital of France is Paris on the Seine. Paris has many museums and parks.",
                0.4,
            ),
        ];
        let a = Extractive::new(1).answer("What is the capital of France?", &passages);
        assert_eq!(a, "The capital of France is Paris on the Seine. [2]");
    }

    #[test]
    fn removes_near_duplicates() {
        let s = "Redis caches query results for ten minutes.";
        let passages = [passage(1, s, 0.9), passage(2, s, 0.8)];
        let a = Extractive::new(3).answer("How long does Redis cache query results?", &passages);
        assert_eq!(a, format!("{s} [1]"));
    }

    #[test]
    fn hard_wrapped_markdown_gives_whole_sentences() {
        let passages = [passage(
            1,
            "## Safety\n\nragd answers 201 only after both\nstores made the ingest durable.\n\n```sh\ncurl x\n```",
            0.5,
        )];
        let a = Extractive::new(1).answer("When does ragd answer 201?", &passages);
        assert_eq!(
            a,
            "ragd answers 201 only after both stores made the ingest durable. [1]"
        );
    }

    #[test]
    fn nothing_retrieved_says_so() {
        assert_eq!(Extractive::new(3).answer("anything", &[]), NOTHING_FOUND);
    }
}
