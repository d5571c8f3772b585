//! The built-in extractive answerer: no model, no network.
//!
//! The retrieved passages are cut into answer units that fit their content
//! ([`super::units`]: sentences, list items, table rows, code lines). Each
//! unit is scored by how well it answers the question:
//!
//! - the question's content words it contains, weighted towards words that
//!   are rare among the units and long; words found only in the unit's
//!   context (its headings, table header, TOML section) count half; long
//!   units are damped, as they match more words by chance;
//! - whether it holds the kind of fact the question asks for ([`Want`]): a
//!   number for "how many", a duration for "how long", a port, a setting
//!   name, a command, a status or error code, a path;
//! - the rank of its passage;
//! - penalties for generic openings ("This guide ...") and for sentences
//!   a chunk's edge cut.
//!
//! The best units, near-duplicates removed and none far below the best,
//! form the answer, each followed by the number of the passage it came
//! from. Deterministic: ties go to the earlier passage and unit.

use std::borrow::Cow;

use async_trait::async_trait;
use futures::stream;
use ragd_api::Citation;
use rustc_hash::FxHashMap;
use unicode_segmentation::UnicodeSegmentation;

use super::units::{self, Kind, Unit};
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
    "was", "were", "will", "would", "should", "could", "into", "about", "if", "then", "than", "me",
    "get", "gets", "has", "have", "use", "used", "uses", "much", "many", "long", "need", "want",
    "any", "some", "after", "before", "one", "out",
];

/// Spellings of the same thing, made one term.
const SAME: &[(&str, &str)] = &[
    ("seconds", "secs"),
    ("second", "secs"),
    ("sec", "secs"),
    ("milliseconds", "ms"),
    ("millisecond", "ms"),
    ("maximum", "max"),
    ("largest", "max"),
    ("biggest", "max"),
    ("minimum", "min"),
    ("smallest", "min"),
    ("config", "configuration"),
    ("disable", "off"),
    ("disabled", "off"),
    ("expire", "ttl"),
    ("expires", "ttl"),
    ("expiry", "ttl"),
    ("env", "environment"),
];

/// What the answer makes of a word it looks up: a stop word is dropped; a
/// spelling of [`SAME`] becomes its one term.
enum Lexeme {
    Stop,
    Same(&'static str),
}

/// [`STOPWORDS`] and [`SAME`] in one map, built once: every word of every
/// passage is looked up in it.
///
/// Every set and map here uses FxHash (`rustc-hash`) rather than std's
/// SipHash: an answer hashes each word of its passages, and SipHash was a
/// fifth of the answer's instructions (callgrind). The keys are words of
/// one question and five passages, a few hundred, so the flooding SipHash
/// guards against cannot grow large here.
fn lexicon() -> &'static FxHashMap<&'static str, Lexeme> {
    static MAP: std::sync::LazyLock<FxHashMap<&'static str, Lexeme>> =
        std::sync::LazyLock::new(|| {
            let stop = STOPWORDS.iter().map(|w| (*w, Lexeme::Stop));
            let same = SAME.iter().map(|(w, to)| (*w, Lexeme::Same(to)));
            stop.chain(same).collect()
        });
    &MAP
}

/// A term, by the 64-bit hash of its text (foldhash, fixed seed). The
/// answer only asks whether two terms are the same, so a set of terms
/// needs no string per word: building those strings was half of the term
/// sets' instructions (callgrind, docs/BENCHMARKS.md). Two of the few
/// hundred terms of one answer share a hash with odds of about 1 in 10^14;
/// it would only merge two words in one score.
type Term = u64;

/// A set of [`Term`]s: sorted, without repeats. A unit has a few dozen
/// terms and is asked about the question's few: a sorted `Vec` is built
/// with one sort where a hash set grew and rehashed (a fifth of the term
/// sets' instructions), and answers by binary search.
#[derive(Debug, Default)]
struct Terms(Vec<Term>);

impl Terms {
    fn new(mut terms: Vec<Term>) -> Terms {
        terms.sort_unstable();
        terms.dedup();
        Terms(terms)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn contains(&self, t: &Term) -> bool {
        self.0.binary_search(t).is_ok()
    }

    /// How many terms the two sets share.
    fn shared(&self, other: &Terms) -> usize {
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        let mut n = 0;
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            match x.cmp(y) {
                std::cmp::Ordering::Less => {
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                }
                std::cmp::Ordering::Equal => {
                    n += 1;
                    a.next();
                    b.next();
                }
            }
        }
        n
    }
}

fn term_id(t: &str) -> Term {
    use std::hash::BuildHasher;
    static STATE: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x7261_6764);
    STATE.hash_one(t)
}

/// A word made comparable: a light stem (plurals, -ing, -ed, a final e),
/// one spelling of a few synonyms; stop words give nothing. Numbers stay
/// as they are. `w` is in lower case already; `buf` holds the one term
/// that is not a part of `w` (`-ies` made `-y`).
fn term<'a>(w: &'a str, buf: &'a mut String) -> Option<&'a str> {
    if w.is_empty() {
        return None;
    }
    let mut entry = lexicon().get(w);
    if matches!(entry, Some(Lexeme::Stop)) {
        return None;
    }
    let mut w = w;
    if let Some(cut) = w.strip_suffix("'s") {
        // Only spellings count once the `'s` is gone: `it's` is a term.
        w = cut;
        entry = lexicon().get(w);
    }
    if let Some(Lexeme::Same(to)) = entry {
        return Some(to);
    }
    if w.bytes().any(|c| c.is_ascii_digit()) {
        return Some(w);
    }
    let n = w.len();
    // The suffixes are ASCII, so every cut below is on a char boundary.
    if n > 4 && w.ends_with("ies") {
        // Ends in `y`: none of the cuts below applies.
        buf.clear();
        buf.push_str(&w[..n - 3]);
        buf.push('y');
        return Some(buf);
    }
    let mut s = w;
    if n > 3 && s.ends_with('s') && !s.ends_with("ss") && !s.ends_with("us") && !s.ends_with("is") {
        s = &s[..n - 1];
    }
    let n = s.len();
    if n > 5 && s.ends_with("ing") {
        s = &s[..n - 3];
    } else if n > 4 && s.ends_with("ed") {
        s = &s[..n - 2];
    }
    if s.len() > 4 && s.ends_with('e') {
        s = &s[..s.len() - 1];
    }
    Some(s)
}

/// Calls `f` with each content term of a text, repeats included; an
/// identifier (`max_in_flight`, `retrieval.top_k`) also gives its parts.
fn each_term(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    for w in text.unicode_words() {
        // Most words are ASCII and already in lower case: no copy then.
        let lw: Cow<str> = if !w.is_ascii() {
            Cow::Owned(w.to_lowercase())
        } else if w.bytes().any(|c| c.is_ascii_uppercase()) {
            Cow::Owned(w.to_ascii_lowercase())
        } else {
            Cow::Borrowed(w)
        };
        // Single letters count: `k`, `N` and `X` name things here.
        if let Some(t) = term(&lw, &mut buf) {
            f(t);
        }
        if lw.contains(['_', '.', '-']) && !lw.chars().all(|c| c.is_ascii_digit() || c == '.') {
            for part in lw.split(['_', '.', '-']) {
                if let Some(t) = term(part, &mut buf) {
                    f(t);
                }
            }
        }
    }
}

/// The content terms of a text (see [`each_term`]).
fn terms(text: &str) -> Terms {
    // About a term per six bytes of text: one allocation nearly always.
    let mut out = Vec::with_capacity(text.len() / 6 + 1);
    each_term(text, |t| out.push(term_id(t)));
    Terms::new(out)
}

/// The question's terms, each with the length of its text in characters
/// (longer terms weigh more).
fn question_terms(question: &str) -> FxHashMap<Term, usize> {
    let mut out = FxHashMap::default();
    each_term(question, |t| {
        out.insert(term_id(t), t.chars().count());
    });
    out
}

/// The kinds of fact a question asks for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Want {
    number: bool,
    duration: bool,
    port: bool,
    setting: bool,
    command: bool,
    code: bool,
    path: bool,
}

impl Want {
    fn of(question: &str) -> Want {
        let q = format!(" {} ", question.to_lowercase());
        let has = |ps: &[&str]| ps.iter().any(|p| q.contains(p));
        let duration = has(&[
            "how long",
            "how much time",
            " time ",
            "timeout",
            "time out",
            " ttl",
            "seconds",
            "how often",
            "interval",
            "delay",
            " wait",
            "expire",
            "cooldown",
            "grace",
        ]);
        let port = has(&[" port"]);
        Want {
            number: duration
                || port
                || has(&[
                    "how many",
                    "how much",
                    "how big",
                    "how large",
                    "how fast",
                    "how high",
                    "how low",
                    "how small",
                    "what size",
                    "limit",
                    "default",
                    "maximum",
                    "minimum",
                    " max ",
                    " min ",
                    "at most",
                    "at least",
                    "threshold",
                    "per second",
                    " rate",
                    "percent",
                    "number of",
                    "size",
                    "throughput",
                    "latency",
                ]),
            duration,
            port,
            setting: has(&[
                "setting",
                "option",
                " key",
                "variable",
                "configur",
                "config",
                "parameter",
                " flag",
                "turn off",
                "turn on",
                "switch",
                "enable",
                "disable",
                "how do i set",
                "how do i change",
                "how do i limit",
                "which value",
            ]),
            command: has(&[
                "command",
                "how do i run",
                "how do i start",
                "how do i build",
                "how do i install",
                "how do i check",
                "how do i validate",
                "how do i print",
                "how do i reproduce",
                "how can i run",
                "reproduce",
                "invoke",
                " cli",
                "subcommand",
            ]),
            code: has(&[
                "status code",
                "error code",
                "http status",
                "status does",
                "what status",
                "which status",
                "what error",
                "which error",
                "respond",
                "reply",
                "refuse",
                "reject",
                "what does ragd answer",
                "answered with",
            ]),
            path: has(&[
                "where does",
                "where do",
                "where is",
                "where are",
                "which file",
                "which folder",
                "which directory",
                "what file",
                "what path",
            ]),
        }
    }

    fn any(&self) -> bool {
        self.number || self.setting || self.command || self.code || self.path
    }

    /// How much `unit` holding a fact of a wanted kind multiplies its
    /// score: 1 when it holds none; 2 for a port, command or status code
    /// asked for by name, 1.6 for the others.
    fn boost(&self, unit: &Unit) -> f32 {
        if (self.port && port_in(&unit.text)) || (self.command && command_in(unit)) {
            2.0
        } else if self.met_by(unit) {
            1.6
        } else {
            1.0
        }
    }

    /// Whether `unit` holds a fact of a wanted kind.
    fn met_by(&self, unit: &Unit) -> bool {
        let t = unit.text.as_str();
        let lower = t.to_lowercase();
        let words: Vec<&str> = t.unicode_words().collect();
        let number = words
            .iter()
            .any(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()));
        if self.duration {
            let unitful = words.windows(2).any(|p| {
                p[0].chars().all(|c| c.is_ascii_digit() || c == '.')
                    && matches!(
                        p[1].to_lowercase().as_str(),
                        "s" | "ms"
                            | "sec"
                            | "secs"
                            | "second"
                            | "seconds"
                            | "minute"
                            | "minutes"
                            | "min"
                            | "h"
                            | "hour"
                            | "hours"
                            | "day"
                            | "days"
                    )
            });
            let suffixed = words.iter().any(|w| {
                let w = w.to_lowercase();
                let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                !digits.is_empty()
                    && digits.chars().all(|c| c.is_ascii_digit())
                    && matches!(&w[digits.len()..], "s" | "ms" | "m" | "h" | "min")
            });
            let keyed = number && (lower.contains("_secs") || lower.contains("_ms"));
            if unitful || suffixed || keyed {
                return true;
            }
        }
        if self.port && port_in(t) {
            return true;
        }
        if self.number && !self.duration && !self.port && number {
            return true;
        }
        if self.setting && setting_in(unit) {
            return true;
        }
        if self.command && command_in(unit) {
            return true;
        }
        if self.code
            && words.iter().any(|w| {
                w.len() == 3
                    && (w.starts_with('4') || w.starts_with('5'))
                    && w.chars().all(|c| c.is_ascii_digit())
            })
        {
            return true;
        }
        if self.path && t.contains('/') {
            return true;
        }
        false
    }
}

/// `:8080`, `port 8080`.
fn port_in(t: &str) -> bool {
    let b = t.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b':' && {
            let digits = b[i + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
            (2..=5).contains(&digits)
        }
    }) || t.to_lowercase().contains("port ")
}

/// A setting's name: a code line with a key, a table row, or a code span
/// or word that is an identifier (`ttl_secs`, `RAGD_CACHE__KIND`, `--listen`).
fn setting_in(unit: &Unit) -> bool {
    if matches!(unit.kind, Kind::Code | Kind::Row) {
        return true;
    }
    unit.text.split_whitespace().any(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '_');
        (w.contains('_') && w.len() > 3) || w.starts_with("--") || w.contains('=')
    })
}

/// Programs whose name starts a command line.
const PROGRAMS: &[&str] = &[
    "ragd",
    "loadgen",
    "ragctl",
    "cargo",
    "curl",
    "docker",
    "kubectl",
    "bash",
    "sh",
    "make",
    "python3",
    "psql",
    "redis-cli",
    "git",
    "systemctl",
    "promtool",
];

/// A command: a code line or a code span starting with a program's name.
fn command_in(unit: &Unit) -> bool {
    let starts_command = |s: &str| {
        let s = s.trim_start_matches("$ ");
        let first = s.split_whitespace().next().unwrap_or("");
        let first = first.rsplit('/').next().unwrap_or(first);
        PROGRAMS.contains(&first) || (s.contains(" --") && !s.contains('='))
    };
    let t = unit.text.trim_start_matches('`');
    if unit.kind == Kind::Code && starts_command(t) {
        return true;
    }
    unit.text
        .split('`')
        .skip(1)
        .step_by(2)
        .any(|span| starts_command(span) && span.contains(' '))
}

/// Openings that announce a text instead of stating anything.
const GENERIC: &[&str] = &[
    "this guide",
    "this document",
    "this section",
    "this page",
    "this file",
    "this chapter",
    "contents",
    "see also",
];

/// Whether `text` opens with one of [`GENERIC`], in any case. Its openings
/// are ASCII without a `k` (the one letter a non-ASCII character, the
/// Kelvin sign, lowercases to), so comparing bytes ignoring ASCII case
/// finds what lowercasing the text would, without a string per unit.
fn opens_generically(text: &str) -> bool {
    GENERIC.iter().any(|g| {
        text.as_bytes()
            .get(..g.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(g.as_bytes()))
    })
}

/// A unit with its passage and terms, before scoring.
struct Found<'a> {
    /// 0 for the first passage.
    rank: usize,
    passage: &'a Citation,
    unit: Unit,
    words: Terms,
    /// The question's terms found in its headings, table header, section
    /// or comment: all that scoring reads of them.
    context: Vec<Term>,
}

/// A scored unit.
struct Candidate<'a> {
    n: u32,
    order: usize,
    text: &'a str,
    score: f32,
    words: &'a Terms,
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
        let q = question_terms(question);
        let want = Want::of(question);
        // Units of every passage, with their passage's rank.
        let mut all: Vec<Found> = Vec::new();
        for (rank, p) in passages.iter().enumerate() {
            let heading = terms(&p.heading);
            // A passage's units share a few contexts: each is read once.
            let mut contexts: FxHashMap<String, Vec<Term>> = FxHashMap::default();
            for u in units::units(&p.text) {
                let words = terms(&u.text);
                let enough = match u.kind {
                    Kind::Sentence | Kind::Item => words.len() >= 2,
                    Kind::Row | Kind::Code => !words.is_empty(),
                };
                if !enough {
                    continue;
                }
                let context = match contexts.get(&u.context) {
                    Some(c) => c.clone(),
                    None => {
                        let own = terms(&u.context);
                        let c: Vec<Term> = q
                            .keys()
                            .filter(|w| heading.contains(*w) || own.contains(*w))
                            .copied()
                            .collect();
                        contexts.insert(u.context.clone(), c.clone());
                        c
                    }
                };
                all.push(Found {
                    rank,
                    passage: p,
                    unit: u,
                    words,
                    context,
                });
            }
        }
        if all.is_empty() {
            return fallback(passages);
        }
        // Rarer terms weigh more: document frequency over the units.
        let mut df: FxHashMap<Term, usize> = FxHashMap::default();
        for f in &all {
            for w in q.keys().filter(|w| f.words.contains(*w)) {
                *df.entry(*w).or_default() += 1;
            }
        }
        let count = all.len() as f32;
        // `w` is a term of the question.
        let weight = |w: Term| {
            let idf = ((count + 1.0) / (*df.get(&w).unwrap_or(&0) as f32 + 0.5))
                .ln()
                .clamp(0.3, 3.0);
            (1.0 + (q[&w] as f32 / 8.0).min(1.0)) * idf
        };
        let top_score = passages[0].score;
        let mut candidates: Vec<Candidate> = Vec::with_capacity(all.len());
        for (order, f) in all.iter().enumerate() {
            let (p, u, words) = (f.passage, &f.unit, &f.words);
            let inside: f32 = q
                .keys()
                .filter(|w| words.contains(*w))
                .map(|w| weight(*w))
                .sum();
            let around: f32 = f
                .context
                .iter()
                .filter(|w| !words.contains(*w))
                .map(|w| 0.5 * weight(*w))
                .sum();
            let length_penalty = (words.len() as f32 / 14.0).max(1.0).sqrt();
            let mut lexical = (inside + around) / length_penalty;
            if want.any() && inside + around > 0.0 {
                lexical *= want.boost(u);
            } else if !want.any() && matches!(u.kind, Kind::Code) {
                lexical *= 0.8;
            }
            if opens_generically(&u.text) {
                lexical *= 0.5;
            }
            // A sentence a chunk's edge cut reads as debris: quoted only
            // when nothing whole answers better (0.6 halved such answers
            // on docs/eval without losing a fact).
            if u.cut {
                lexical *= 0.6;
            }
            // The retrieval's ranking: passage rank, and the score relative
            // to the best passage's (any mode's scores are higher-better).
            let rank_prior = 1.0 / (1.0 + 0.7 * f.rank as f32);
            let relative = if top_score > 0.0 {
                (p.score / top_score).clamp(0.0, 1.0)
            } else {
                0.0
            };
            candidates.push(Candidate {
                n: p.n,
                order,
                text: &u.text,
                // A passage ranked lower weighs its words a little less: a
                // 0.2 share of the rank prior stated the most facts of 0 to
                // 0.6 on docs/eval (docs/BENCHMARKS.md).
                score: lexical * (0.8 + 0.2 * rank_prior) + 0.6 * rank_prior + 0.3 * relative,
                words,
            });
        }
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.order.cmp(&b.order)));
        let best = candidates[0].score;
        let mut chosen: Vec<&Candidate> = Vec::new();
        for c in &candidates {
            if chosen.len() >= self.max_sentences || c.score < 0.45 * best {
                break;
            }
            let duplicate = chosen.iter().any(|o| {
                let shared = o.words.shared(c.words);
                let inter = shared as f32;
                let union = (o.words.len() + c.words.len() - shared) as f32;
                (union > 0.0 && inter / union > 0.7) || o.text.contains(c.text)
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

/// Passages with no unit of two words: quote the first passage with
/// readable text, cleaned; never a heading alone or nothing.
fn fallback(passages: &[Citation]) -> String {
    for p in passages {
        let text: Vec<String> = units::units(&p.text).into_iter().map(|u| u.text).collect();
        if !text.is_empty() {
            return format!("{} [{}]", text.join(" "), p.n);
        }
    }
    NOTHING_FOUND.to_string()
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

    fn ids(words: &[&str]) -> Vec<Term> {
        let mut v: Vec<Term> = words.iter().map(|w| term_id(w)).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn terms_are_stems_and_one_spelling_without_stop_words() {
        assert_eq!(terms("Policies").0, ids(&["policy"]));
        assert_eq!(terms("the seconds it's").0, ids(&["secs", "it"]));
        assert_eq!(terms("indexing indexed indexes").0, ids(&["index"]));
        assert_eq!(
            terms("retrieval.top_k").0,
            ids(&["retrieval.top_k", "retrieval", "top", "k"])
        );
        assert!(terms("the and of").is_empty());
    }

    #[test]
    fn generic_openings_in_any_case() {
        assert!(opens_generically("This Guide explains"));
        assert!(opens_generically("CONTENTS"));
        assert!(!opens_generically("This guid"));
        assert!(!opens_generically("Thİs guide"));
        assert!(!opens_generically("In this guide"));
        for g in GENERIC {
            assert!(g.is_ascii() && !g.contains('k') && *g == g.to_lowercase());
        }
    }

    #[test]
    fn term_sets_count_what_they_share() {
        let a = Terms::new(vec![3, 1, 2, 2]);
        let b = Terms::new(vec![4, 2, 3]);
        assert_eq!(a.len(), 3);
        assert!(a.contains(&1) && !b.contains(&1));
        assert_eq!(a.shared(&b), 2);
        assert_eq!(b.shared(&Terms::default()), 0);
    }

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

    #[test]
    fn the_value_beats_a_generic_opening() {
        // Before: the opening sentence shared more words and won.
        let passages = [passage(
            1,
            "This guide provides the cache settings for query results and their time to live.\n\n- Query results are kept for 600 seconds.\n",
            3.0,
        )];
        let a = Extractive::new(1).answer("How long are query results cached?", &passages);
        assert_eq!(a, "Query results are kept for 600 seconds. [1]");
    }

    #[test]
    fn a_table_row_states_the_default() {
        // Before: table rows were left out and the answer was prose only.
        let passages = [passage(
            1,
            "### `[cache]`\n\nThe cache keeps query results; every ingest makes earlier results unreachable.\n\n| Key | Default | Meaning |\n|---|---|---|\n| `kind` | `\"memory\"` | Where results are kept |\n| `ttl_secs` | `600` | Seconds a result is kept |\n",
            2.0,
        )];
        let a = Extractive::new(1).answer(
            "What is the default time to live of cached results in seconds?",
            &passages,
        );
        assert_eq!(a, "`ttl_secs`: `600` — Seconds a result is kept [1]");
    }

    #[test]
    fn a_config_line_answers_which_port() {
        // Before: code blocks were skipped; the answer could not name it.
        let passages = [
            passage(
                1,
                "## Example file\n\nThe example spells out the defaults.\n\n```toml\n[server]\nlisten = \"127.0.0.1:8080\"\nmax_in_flight = 1024\n```\n",
                5.0,
            ),
            passage(
                2,
                "The server listens on an address that operators choose when they deploy it.",
                4.0,
            ),
        ];
        let a = Extractive::new(1).answer("What port does the server listen on?", &passages);
        assert_eq!(a, "`listen = \"127.0.0.1:8080\"` (in `[server]`) [1]");
    }

    #[test]
    fn a_yaml_key_with_its_value() {
        let passages = [passage(
            1,
            "Workers are set in the compose file.\n\n```yaml\nbackend:\n  workers: 8\n  image: api\n```\n",
            1.0,
        )];
        let a = Extractive::new(1).answer("How many workers does the backend run?", &passages);
        assert_eq!(a, "`workers: 8` (in `backend`) [1]");
    }

    #[test]
    fn a_command_line_answers_which_command() {
        let passages = [passage(
            1,
            "## Checking a configuration\n\nIt loads and validates the configuration exactly as serve would.\n\n```sh\nragd -c ragd.toml check-config\n```\n",
            1.0,
        )];
        let a =
            Extractive::new(1).answer("Which command validates a configuration file?", &passages);
        assert_eq!(a, "`ragd -c ragd.toml check-config` [1]");
    }

    #[test]
    fn a_list_item_without_its_checkbox() {
        // Before: `[ ]` and `**` came through in the answer.
        let passages = [passage(
            1,
            "## Checklist\n\n- [ ] **Connection pool**: 20 connections per worker\n- [ ] Enable gzip\n",
            1.0,
        )];
        let a = Extractive::new(1).answer("How many connections does the pool hold?", &passages);
        assert_eq!(a, "Connection pool: 20 connections per worker [1]");
    }

    #[test]
    fn never_debris_a_lone_heading_or_nothing() {
        // Before: `--- .` and a heading alone could be answers.
        let passages = [passage(1, "# Scaling\n\n---\n\n**\n\n- [ ]\n", 1.0)];
        let a = Extractive::new(3).answer("How does it scale?", &passages);
        assert_eq!(a, NOTHING_FOUND);
        let passages = [
            passage(1, "## Scaling\n\n---\n", 1.0),
            passage(2, "## Workers\n\nEight.\n", 0.5),
        ];
        let a = Extractive::new(3).answer("How does it scale?", &passages);
        assert_eq!(a, "Eight. [2]");
        for p in ["---", "**", "[ ]", "#"] {
            assert!(!a.contains(p), "{a}");
        }
    }

    #[test]
    fn a_sentence_cut_by_the_chunk_edge_loses_to_a_whole_one() {
        // Before: the cut sentence shared as many words and came first.
        let passages = [passage(
            1,
            "Relevance uses the cosine of the best passage. A passage found only by the sparse",
            1.0,
        )];
        let a = Extractive::new(1).answer("How is the relevance of a passage found?", &passages);
        assert_eq!(a, "Relevance uses the cosine of the best passage. [1]");
    }

    #[test]
    fn the_same_input_gives_the_same_answer() {
        let passages = [
            passage(1, "Alpha uses 3 workers. Beta uses 3 workers.", 1.0),
            passage(2, "Gamma uses 3 workers.", 1.0),
        ];
        let e = Extractive::new(2);
        let a = e.answer("How many workers?", &passages);
        assert_eq!(a, e.answer("How many workers?", &passages));
        assert_eq!(a, "Alpha uses 3 workers. [1] Beta uses 3 workers. [1]");
    }

    proptest::proptest! {
        /// Any passage text and question (Markdown-ish or not): no panic,
        /// and an answer with something in it whenever a passage has
        /// letters or digits.
        #[test]
        fn any_passage_gives_an_answer_without_panicking(
            question in "[a-zA-Z0-9 ?*`|#:=\\-]{0,60}",
            texts in proptest::collection::vec(
                proptest::string::string_regex("([a-zA-Z0-9 .,:=*`|#\\[\\]_-]{0,40}\\n?){0,12}").unwrap(),
                1..4,
            ),
        ) {
            let passages: Vec<Citation> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| passage(i as u32 + 1, t, 0.5))
                .collect();
            let a = Extractive::new(3).answer(&question, &passages);
            if texts.iter().any(|t| t.chars().any(char::is_alphanumeric)) {
                proptest::prop_assert!(!a.trim().is_empty(), "empty answer for {texts:?}");
            }
        }
    }
}
