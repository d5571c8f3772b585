//! `loadgen eval`: retrieval quality of a ragd collection, per retrieval mode.
//!
//! A questions file (JSON Lines) names, for each question, the document ids
//! a correct answer must cite and optionally phrases its passages should
//! contain. Every question is asked once per mode; the report gives hit@1
//! (the first citation is an expected document), hit@k (one of the first k
//! is), MRR (mean of 1 / rank of the first expected document, 0 when absent),
//! phrase@k, fact@answer, and latency to the last byte.
//!
//! fact@answer judges the answer text rather than the passages: a question
//! may name `answer` phrases (the fact itself: a number, a setting, a
//! command), and it counts as stated when the answer ragd wrote contains
//! any one of them, case-insensitively. Only questions with answer phrases
//! count.
//!
//! File format, one object per line (blank lines and lines starting with
//! `#` are skipped):
//!
//! ```text
//! {"question": "How is the cache invalidated?", "expected": ["ARCHITECTURE.md"], "phrases": ["generation"]}
//! {"question": "How long are answers cached?", "expected": ["CONFIGURATION.md"], "answer": ["600"]}
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ragd_api::{QueryRequest, QueryResponse, RetrievalMode};
use serde::{Deserialize, Serialize};

/// One question of an evaluation set.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub question: String,
    /// Document ids any of which counts as a correct citation.
    pub expected: Vec<String>,
    /// Phrases (case-insensitive) a correct passage contains; optional.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phrases: Vec<String>,
    /// Phrases (case-insensitive) any one of which a correct answer's text
    /// contains: the fact asked for; optional.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answer: Vec<String>,
}

/// Why an evaluation could not be made: a bad questions file (named with
/// the line) or a target that cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A line is not a question object.
    #[error(
        "{}:{line}: {source} (expected {{\"question\": \"...\", \"expected\": [\"doc id\", ...], \"phrases\": [...]}})",
        .path.display()
    )]
    Line {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("{}:{line}: question is empty", .path.display())]
    EmptyQuestion { path: PathBuf, line: usize },
    #[error("{}:{line}: expected must name at least one document id", .path.display())]
    NoExpected { path: PathBuf, line: usize },
    #[error("{}: no questions", .path.display())]
    NoQuestions { path: PathBuf },
    #[error(transparent)]
    Client(#[from] crate::work::ClientError),
    #[error("{0}")]
    Histogram(#[from] hdrhistogram::CreationError),
    /// The request failed or its answer could not be read.
    #[error("{url}: {source}")]
    Request { url: String, source: reqwest::Error },
    /// 404: no such collection (ragd's message says so).
    #[error("{url}: {body}")]
    NotFound { url: String, body: String },
}

/// Read and validate a questions file; errors name the file and line.
pub fn load(path: &Path) -> Result<Vec<Question>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (path, n) = (path.to_path_buf(), i + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let q: Question = serde_json::from_str(line).map_err(|source| EvalError::Line {
            path: path.clone(),
            line: n,
            source,
        })?;
        if q.question.trim().is_empty() {
            return Err(EvalError::EmptyQuestion { path, line: n });
        }
        if q.expected.is_empty() {
            return Err(EvalError::NoExpected { path, line: n });
        }
        out.push(q);
    }
    if out.is_empty() {
        return Err(EvalError::NoQuestions {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// What one answer retrieved: document ids in citation order, passage
/// texts, and the answer text.
#[derive(Debug, Clone, Default)]
pub struct Retrieved {
    pub documents: Vec<String>,
    pub texts: Vec<String>,
    pub answer: String,
}

/// Rank (1-based) of the first expected document among the citations.
pub fn first_rank(q: &Question, r: &Retrieved) -> Option<usize> {
    r.documents
        .iter()
        .position(|d| q.expected.iter().any(|e| e == d))
        .map(|i| i + 1)
}

/// Whether `answer` states the fact: it contains one of the question's
/// answer phrases, case-insensitively. `None` when the question has none.
pub fn states_fact(q: &Question, answer: &str) -> Option<bool> {
    if q.answer.is_empty() {
        return None;
    }
    let answer = answer.to_lowercase();
    Some(
        q.answer
            .iter()
            .any(|p| !p.trim().is_empty() && answer.contains(&p.to_lowercase())),
    )
}

/// Quality figures of one mode.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModeScore {
    pub mode: RetrievalMode,
    pub questions: usize,
    pub hit_at_1: f64,
    pub hit_at_k: f64,
    pub mrr: f64,
    /// Share of questions with phrases whose top-k passages contain all of
    /// them; absent when no question has phrases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phrase_at_k: Option<f64>,
    /// Share of questions with answer phrases whose answer text contains
    /// one of them; absent when no question has answer phrases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fact_at_answer: Option<f64>,
    /// Questions with answer phrases (the denominator of fact@answer).
    #[serde(default)]
    pub fact_questions: usize,
    /// Latency to the last byte of uncached answers, in milliseconds.
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Answers served from ragd's cache (left out of the latency figures).
    pub cached: usize,
    /// Questions whose request failed (counted as misses).
    pub errors: usize,
    /// Questions missed at k, for inspection.
    pub misses: Vec<String>,
    /// Questions with answer phrases whose answer stated none of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fact_misses: Vec<String>,
}

/// Score one mode's results; `k` is the top_k the questions were asked with.
pub fn score(
    mode: RetrievalMode,
    k: usize,
    results: &[(Question, Option<Retrieved>)],
) -> ModeScore {
    let n = results.len().max(1) as f64;
    let mut hit1 = 0usize;
    let mut hitk = 0usize;
    let mut rr = 0.0;
    let mut with_phrases = 0usize;
    let mut phrase_hits = 0usize;
    let mut with_facts = 0usize;
    let mut fact_hits = 0usize;
    let mut fact_misses = Vec::new();
    let mut errors = 0usize;
    let mut misses = Vec::new();
    for (q, r) in results {
        let Some(r) = r else {
            errors += 1;
            misses.push(q.question.clone());
            if !q.answer.is_empty() {
                with_facts += 1;
                fact_misses.push(q.question.clone());
            }
            continue;
        };
        match states_fact(q, &r.answer) {
            Some(true) => {
                with_facts += 1;
                fact_hits += 1;
            }
            Some(false) => {
                with_facts += 1;
                fact_misses.push(q.question.clone());
            }
            None => {}
        }
        match first_rank(q, r) {
            Some(1) => {
                hit1 += 1;
                hitk += 1;
                rr += 1.0;
            }
            Some(rank) if rank <= k => {
                hitk += 1;
                rr += 1.0 / rank as f64;
            }
            _ => misses.push(q.question.clone()),
        }
        if !q.phrases.is_empty() {
            with_phrases += 1;
            let joined = r
                .texts
                .iter()
                .take(k)
                .map(|t| t.to_lowercase())
                .collect::<Vec<_>>()
                .join("\n");
            if q.phrases.iter().all(|p| joined.contains(&p.to_lowercase())) {
                phrase_hits += 1;
            }
        }
    }
    ModeScore {
        mode,
        questions: results.len(),
        hit_at_1: hit1 as f64 / n,
        hit_at_k: hitk as f64 / n,
        mrr: rr / n,
        phrase_at_k: (with_phrases > 0).then(|| phrase_hits as f64 / with_phrases as f64),
        fact_at_answer: (with_facts > 0).then(|| fact_hits as f64 / with_facts as f64),
        fact_questions: with_facts,
        p50_ms: 0.0,
        p95_ms: 0.0,
        cached: 0,
        errors,
        misses,
        fact_misses,
    }
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    pub target: String,
    pub collection: String,
    pub top_k: usize,
    pub modes: Vec<ModeScore>,
}

/// What to evaluate.
pub struct EvalOptions {
    pub target: String,
    pub collection: String,
    pub top_k: usize,
    pub modes: Vec<RetrievalMode>,
    pub timeout: Duration,
}

/// Ask every question in every mode, one at a time.
pub async fn run(questions: &[Question], opts: &EvalOptions) -> Result<EvalReport, EvalError> {
    let client = crate::work::client(opts.timeout, 4)?;
    let url = format!(
        "{}/v1/collections/{}/query",
        opts.target.trim_end_matches('/'),
        opts.collection
    );
    let mut modes = Vec::new();
    for &mode in &opts.modes {
        modes.push(run_mode(&client, &url, mode, questions, opts.top_k).await?);
    }
    Ok(EvalReport {
        target: opts.target.clone(),
        collection: opts.collection.clone(),
        top_k: opts.top_k,
        modes,
    })
}

/// Ask every question in one mode and score the answers.
async fn run_mode(
    client: &reqwest::Client,
    url: &str,
    mode: RetrievalMode,
    questions: &[Question],
    top_k: usize,
) -> Result<ModeScore, EvalError> {
    let mut latency = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
    let mut cached = 0;
    let mut results = Vec::with_capacity(questions.len());
    for (i, q) in questions.iter().enumerate() {
        eprint!("\r{mode}: {}/{}", i + 1, questions.len());
        let (answer, us) = ask(client, url, mode, q, top_k).await?;
        if let Some(r) = &answer {
            if r.cached {
                cached += 1;
            } else {
                let _ = latency.record(us.max(1));
            }
        }
        results.push((
            q.clone(),
            answer.map(|r| Retrieved {
                documents: r.citations.iter().map(|c| c.document_id.clone()).collect(),
                texts: r.citations.into_iter().map(|c| c.text).collect(),
                answer: r.answer,
            }),
        ));
    }
    eprintln!();
    let mut s = score(mode, top_k, &results);
    s.p50_ms = latency.value_at_quantile(0.5) as f64 / 1000.0;
    s.p95_ms = latency.value_at_quantile(0.95) as f64 / 1000.0;
    s.cached = cached;
    Ok(s)
}

/// Ask one question: the answer when it is a success that parses (`None`
/// counts as a miss) and the time to its last byte in microseconds. A 404
/// (no such collection) ends the evaluation.
async fn ask(
    client: &reqwest::Client,
    url: &str,
    mode: RetrievalMode,
    q: &Question,
    top_k: usize,
) -> Result<(Option<QueryResponse>, u64), EvalError> {
    let req = QueryRequest {
        question: q.question.clone(),
        top_k: top_k as u32,
        filter: None,
        mode: Some(mode),
    };
    let request_error = |source| EvalError::Request {
        url: url.to_string(),
        source,
    };
    let started = Instant::now();
    let resp = client
        .post(url)
        .json(&req)
        .send()
        .await
        .map_err(request_error)?;
    let status = resp.status();
    let body = resp.text().await.map_err(request_error)?;
    let us = started.elapsed().as_micros() as u64;
    if status.as_u16() == 404 {
        return Err(EvalError::NotFound {
            url: url.to_string(),
            body,
        });
    }
    let parsed: Option<QueryResponse> = status
        .is_success()
        .then(|| serde_json::from_str(&body).ok())
        .flatten();
    Ok((parsed, us))
}

/// `0.900`, or `-` when there is nothing to measure.
fn ratio(r: Option<f64>) -> String {
    r.map(|p| format!("{p:.3}")).unwrap_or_else(|| "-".into())
}

impl EvalReport {
    /// The terminal table.
    pub fn to_table(&self) -> String {
        let mut s = format!(
            "collection {} at {}, top_k {}\n\n{:<7} {:>9} {:>6} {:>6} {:>6} {:>9} {:>11} {:>8} {:>8} {:>7}\n",
            self.collection,
            self.target,
            self.top_k,
            "mode",
            "questions",
            "hit@1",
            "hit@k",
            "MRR",
            "phrase@k",
            "fact@answer",
            "p50 ms",
            "p95 ms",
            "errors"
        );
        for m in &self.modes {
            s.push_str(&format!(
                "{:<7} {:>9} {:>6.3} {:>6.3} {:>6.3} {:>9} {:>11} {:>8.1} {:>8.1} {:>7}\n",
                m.mode.as_str(),
                m.questions,
                m.hit_at_1,
                m.hit_at_k,
                m.mrr,
                ratio(m.phrase_at_k),
                ratio(m.fact_at_answer),
                m.p50_ms,
                m.p95_ms,
                m.errors
            ));
        }
        let facts = self.modes.first().map_or(0, |m| m.fact_questions);
        if facts > 0 {
            s.push_str(&format!(
                "\n(fact@answer is over the {facts} questions that have answer phrases)\n"
            ));
        }
        if self.modes.iter().any(|m| m.cached > 0) {
            s.push_str("\n(cached answers are left out of the latency columns)\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str, expected: &[&str], phrases: &[&str]) -> Question {
        Question {
            question: text.into(),
            expected: expected.iter().map(|s| s.to_string()).collect(),
            phrases: phrases.iter().map(|s| s.to_string()).collect(),
            answer: Vec::new(),
        }
    }

    fn r(docs: &[&str], texts: &[&str]) -> Option<Retrieved> {
        Some(Retrieved {
            documents: docs.iter().map(|s| s.to_string()).collect(),
            texts: texts.iter().map(|s| s.to_string()).collect(),
            answer: String::new(),
        })
    }

    fn with_answer(mut q: Question, answer: &[&str]) -> Question {
        q.answer = answer.iter().map(|s| s.to_string()).collect();
        q
    }

    fn answered(docs: &[&str], answer: &str) -> Option<Retrieved> {
        let mut r = r(docs, &[]);
        if let Some(r) = &mut r {
            r.answer = answer.into();
        }
        r
    }

    #[test]
    fn fact_at_answer_counts_only_questions_with_answer_phrases() {
        let results = vec![
            // Any one phrase, case-insensitive.
            (
                with_answer(q("a", &["A"], &[]), &["600", "ten minutes"]),
                answered(&["A"], "Results are kept for Ten Minutes [1]."),
            ),
            // The passage may hold it; only the answer text counts.
            (
                with_answer(q("b", &["A"], &[]), &["ttl_secs"]),
                Some(Retrieved {
                    documents: vec!["A".into()],
                    texts: vec!["ttl_secs = 600".into()],
                    answer: "The cache keeps results [1].".into(),
                }),
            ),
            // No answer phrases: not counted either way.
            (q("c", &["A"], &[]), answered(&["A"], "anything")),
            // A failed request with answer phrases is a miss.
            (with_answer(q("d", &["A"], &[]), &["8080"]), None),
            (
                with_answer(q("e", &["B"], &[]), &["check-config"]),
                answered(&["A"], "Run `ragd check-config` [1]."),
            ),
        ];
        let s = score(RetrievalMode::Sparse, 5, &results);
        assert_eq!(s.fact_questions, 4);
        assert_eq!(s.fact_at_answer, Some(0.5));
        assert_eq!(s.fact_misses, vec!["b", "d"]);
        // hit@1 is unchanged by answers: a, b, c hit; d errors; e misses.
        assert!((s.hit_at_1 - 3.0 / 5.0).abs() < 1e-9);
        let none = score(RetrievalMode::Sparse, 5, &results[2..3]);
        assert_eq!((none.fact_at_answer, none.fact_questions), (None, 0));
    }

    #[test]
    fn states_fact_ignores_empty_phrases() {
        let q1 = with_answer(q("x", &["A"], &[]), &["", "  "]);
        assert_eq!(states_fact(&q1, "anything"), Some(false));
        assert_eq!(states_fact(&q("x", &["A"], &[]), "anything"), None);
    }

    #[test]
    fn the_table_and_json_show_fact_at_answer() {
        let results = vec![(
            with_answer(q("a", &["A"], &[]), &["600"]),
            answered(&["A"], "600 [1]"),
        )];
        let report = EvalReport {
            target: "http://127.0.0.1:8080".into(),
            collection: "docs".into(),
            top_k: 5,
            modes: vec![score(RetrievalMode::Sparse, 5, &results)],
        };
        let table = report.to_table();
        assert!(table.contains("fact@answer"), "{table}");
        assert!(table.contains("1.000"), "{table}");
        assert!(
            table.contains("over the 1 questions that have answer phrases"),
            "{table}"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["modes"][0]["fact_at_answer"], 1.0);
        assert_eq!(json["modes"][0]["fact_questions"], 1);
    }

    #[test]
    fn metrics_on_a_hand_checked_set() {
        // ranks: 1, 2, absent, 3 (beyond k=2), request error
        let results = vec![
            (
                q("a", &["A"], &["alpha"]),
                r(&["A", "B"], &["has Alpha", "x"]),
            ),
            (q("b", &["B"], &["beta"]), r(&["A", "B"], &["x", "y"])),
            (q("c", &["C"], &[]), r(&["A", "B"], &["x", "y"])),
            (
                q("d", &["D", "E"], &[]),
                r(&["A", "B", "E"], &["x", "y", "z"]),
            ),
            (q("e", &["A"], &[]), None),
        ];
        let s = score(RetrievalMode::Hybrid, 2, &results);
        assert_eq!(s.questions, 5);
        assert!((s.hit_at_1 - 1.0 / 5.0).abs() < 1e-9);
        assert!((s.hit_at_k - 2.0 / 5.0).abs() < 1e-9);
        // 1 + 1/2 (rank 3 is beyond k and counts 0)
        assert!((s.mrr - 1.5 / 5.0).abs() < 1e-9);
        assert_eq!(s.phrase_at_k, Some(0.5));
        assert_eq!(s.errors, 1);
        assert_eq!(s.misses, vec!["c", "d", "e"]);
    }

    #[test]
    fn bad_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.jsonl");
        std::fs::write(
            &p,
            "# comment\n{\"question\": \"ok\", \"expected\": [\"A\"]}\n{\"question\": \"x\"}\n",
        )
        .unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("q.jsonl:3") && e.contains("expected"), "{e}");
        std::fs::write(&p, "{\"question\": \"x\", \"expected\": []}\n").unwrap();
        assert!(
            load(&p)
                .unwrap_err()
                .to_string()
                .contains(":1: expected must name")
        );
        std::fs::write(&p, "\n# only comments\n").unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("no questions"));
        assert!(
            load(&dir.path().join("missing.jsonl"))
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
    }
}
