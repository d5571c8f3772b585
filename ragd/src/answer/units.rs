//! Answer units: the pieces of a passage an extractive answer may quote.
//!
//! A passage is Markdown (or plain text) and holds more than prose, so it is
//! cut by what each part is:
//!
//! - prose paragraphs (hard-wrapped lines joined) into sentences;
//! - list items, one unit each (a long item is cut into its sentences);
//! - table rows, one unit each, written `first cell: second cell — ...`,
//!   with the header's words as context (a long row gives one unit per
//!   sentence of its last cell, each after the other cells);
//! - code block lines, one unit each (a TOML, YAML or JSON key with its
//!   value, a command), with the TOML section or the parent keys as context
//!   and in the quoted text.
//!
//! Headings are never units: their words are context of the units under
//! them. Markdown debris (rules, emphasis markers, checklist brackets, link
//! targets, stray backticks) is cleaned away, and a unit with nothing
//! readable left is dropped.

use super::sentences::sentences;

/// What a unit was cut from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sentence,
    Item,
    Row,
    Code,
}

/// One quotable piece of a passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub kind: Kind,
    /// What the answer quotes, cleaned of Markdown debris.
    pub text: String,
    /// Words about the unit that are not in it: the headings above it, a
    /// table's header, a code line's section, parent keys or comment. They
    /// count in scoring but are not quoted.
    pub context: String,
    /// A sentence the passage's edge cut (a chunk starts or ends inside
    /// it): it begins in lower case or ends without punctuation.
    pub cut: bool,
}

/// Items longer than this are cut into their sentences.
const LONG_ITEM: usize = 280;
/// Table rows longer than this have their last cell cut into sentences.
const LONG_ROW: usize = 400;

/// Cut a passage into units, in reading order.
pub fn units(passage: &str) -> Vec<Unit> {
    let mut c = Cutter::default();
    let lines: Vec<&str> = passage.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i];
        let t = raw.trim();
        i += 1;
        if let Some(fence) = c.fence.clone() {
            if t.starts_with(fence.as_str()) {
                c.end_code();
            } else {
                c.code_line(raw);
            }
            continue;
        }
        if t.starts_with("```") || t.starts_with("~~~") {
            c.flush();
            c.fence = Some(t[..3].to_string());
            continue;
        }
        if t.is_empty() {
            c.flush();
            continue;
        }
        if let Some(h) = heading(t) {
            c.flush();
            c.set_heading(h.0, h.1);
            continue;
        }
        if is_rule(t) {
            c.flush();
            continue;
        }
        if t.starts_with('|') {
            c.flush();
            // A header row is the one a separator row follows.
            if lines.get(i).is_some_and(|n| is_separator_row(n.trim())) {
                c.table_header = cells(t).join(" ");
                i += 1;
            } else if !is_separator_row(t) {
                c.row(t);
            }
            continue;
        }
        if let Some(item) = list_item(t) {
            c.flush();
            c.item = Some(item.to_string());
            continue;
        }
        let t = t.strip_prefix('>').map(str::trim).unwrap_or(t);
        match &mut c.item {
            Some(item) => {
                item.push(' ');
                item.push_str(t);
            }
            None => {
                c.paragraph.push_str(t);
                c.paragraph.push(' ');
            }
        }
    }
    c.flush();
    let mut out = c.out;
    mark_cut(&mut out);
    out
}

/// Mark the first and last units when they are sentences the passage's
/// edges cut.
fn mark_cut(units: &mut [Unit]) {
    if let Some(first) = units.first_mut() {
        first.cut |= first.kind == Kind::Sentence
            && first.text.chars().next().is_some_and(char::is_lowercase);
    }
    if let Some(last) = units.last_mut() {
        last.cut |= last.kind == Kind::Sentence
            && !last
                .text
                .trim_end()
                .ends_with(['.', '!', '?', ':', ';', ')', '"', '`', '\'']);
    }
}

/// The state of one passage's cutting.
#[derive(Default)]
struct Cutter {
    out: Vec<Unit>,
    /// Headings above the current line, by level.
    headings: Vec<(usize, String)>,
    paragraph: String,
    item: Option<String>,
    table_header: String,
    /// The opening fence of the code block being read.
    fence: Option<String>,
    /// The TOML `[section]` of the code block being read.
    section: Option<String>,
    /// YAML/JSON parent keys with their indentation.
    parents: Vec<(usize, String)>,
    /// A comment line, context of the code line that follows it.
    comment: String,
    /// The last paragraph before a code block: it says what the block is.
    lead: String,
}

impl Cutter {
    fn context(&self) -> String {
        self.headings
            .iter()
            .map(|(_, h)| h.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn push(&mut self, kind: Kind, text: String, context: String) {
        if readable(&text) {
            self.out.push(Unit {
                kind,
                text,
                context,
                cut: false,
            });
        }
    }

    fn set_heading(&mut self, level: usize, text: String) {
        self.headings.retain(|(l, _)| *l < level);
        self.headings.push((level, text));
        self.table_header.clear();
        self.lead.clear();
    }

    /// End the paragraph or list item being read.
    fn flush(&mut self) {
        let context = self.context();
        if let Some(item) = self.item.take() {
            let item = clean_inline(&item);
            if item.chars().count() > LONG_ITEM {
                for s in sentences(&item) {
                    self.push(Kind::Item, s.trim().to_string(), context.clone());
                }
            } else {
                self.push(Kind::Item, item, context.clone());
            }
        }
        if !self.paragraph.is_empty() {
            let p = clean_inline(&std::mem::take(&mut self.paragraph));
            self.lead = p.clone();
            let mut joined: Vec<String> = Vec::new();
            for s in sentences(&p).map(str::trim) {
                // "That is why ..." needs the sentence it refers to.
                match joined.last_mut() {
                    Some(last) if refers_back(s) => {
                        last.push(' ');
                        last.push_str(s);
                    }
                    _ => joined.push(s.to_string()),
                }
            }
            for s in joined {
                self.push(Kind::Sentence, s, context.clone());
            }
        }
    }

    fn row(&mut self, line: &str) {
        let cells: Vec<String> = cells(line).into_iter().filter(|c| !c.is_empty()).collect();
        let context = format!("{} {}", self.context(), self.table_header);
        let text = match cells.as_slice() {
            [] => return,
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first}: {}", rest.join(" — ")),
        };
        if text.chars().count() <= LONG_ROW || cells.len() < 2 {
            self.push(Kind::Row, text, context);
            return;
        }
        // A long last cell is cut into sentences, each quoted after the
        // row's other cells (the key and its default stay in every unit).
        let (last, head) = cells.split_last().expect("two cells");
        let lead = match head {
            [first] => format!("{first}:"),
            [first, middle @ ..] => format!("{first}: {} —", middle.join(" — ")),
            [] => unreachable!("two cells"),
        };
        for sentence in sentences(last) {
            let sentence = sentence.trim();
            if !sentence.is_empty() {
                self.push(Kind::Row, format!("{lead} {sentence}"), context.clone());
            }
        }
    }

    fn end_code(&mut self) {
        self.fence = None;
        self.section = None;
        self.parents.clear();
        self.comment.clear();
    }

    fn code_line(&mut self, raw: &str) {
        let t = raw.trim();
        if t.is_empty() {
            self.comment.clear();
            return;
        }
        let indent = raw.len() - raw.trim_start().len();
        // A TOML section, also commented out (`# [embedders.tei]`).
        let uncommented = t.trim_start_matches(['#', '/']).trim();
        let section = uncommented.split(" #").next().unwrap_or("").trim();
        if section.starts_with('[')
            && section.ends_with(']')
            && section.len() > 2
            && !section.contains(',')
            && !section.contains('"')
        {
            self.section = Some(section.to_string());
            self.parents.clear();
            return;
        }
        let comment_only = t.starts_with('#') || t.starts_with("//");
        if comment_only && !(uncommented.contains('=') || uncommented.contains(": ")) {
            self.comment = uncommented.to_string();
            return;
        }
        while self.parents.last().is_some_and(|(i, _)| *i >= indent) {
            self.parents.pop();
        }
        let code = collapse(t);
        let body = code
            .split(" #")
            .next()
            .unwrap_or(code.as_str())
            .trim_end_matches(',');
        let opens = body.ends_with(':') || body.ends_with('{') || body.ends_with('[');
        let key = body
            .split([':', '='])
            .next()
            .unwrap_or("")
            .trim()
            .trim_start_matches("- ")
            .trim_matches(['"', '\'', ' ']);
        let parent_path = if self.parents.is_empty() {
            None
        } else {
            Some(
                self.parents
                    .iter()
                    .map(|(_, k)| k.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
            )
        };
        let bare = body
            .trim_end_matches(['{', '[', ':', ' ', '='])
            .trim_start_matches("- ")
            .trim_matches(['"', '\'']);
        if opens && !key.is_empty() && bare == key {
            // `server:` or `"limits": {` opens a map: context, not an answer.
            self.parents.push((indent, key.to_string()));
            return;
        }
        let place = self.section.clone().or(parent_path);
        let quoted = if code.contains('`') {
            code.clone()
        } else {
            format!("`{code}`")
        };
        let text = match &place {
            Some(p) => format!("{quoted} (in `{p}`)"),
            None => quoted,
        };
        let comment = std::mem::take(&mut self.comment);
        let context = format!("{} {} {comment}", self.context(), self.lead);
        self.push(Kind::Code, text, context);
    }
}

/// Sentences that only make sense after the one before them.
fn refers_back(sentence: &str) -> bool {
    [
        "That is why",
        "This is why",
        "That is because",
        "This is because",
        "Hence",
        "Therefore",
    ]
    .iter()
    .any(|p| sentence.starts_with(p))
}

/// `## Title` → (2, "Title").
fn heading(t: &str) -> Option<(usize, String)> {
    let level = t.bytes().take_while(|&b| b == b'#').count();
    if (1..=6).contains(&level) && t[level..].starts_with(' ') {
        Some((level, clean_inline(&t[level..])))
    } else {
        None
    }
}

/// `---`, `***`, `___`, `===` (rules and setext underlines).
fn is_rule(t: &str) -> bool {
    let mut marks = t.chars().filter(|c| !c.is_whitespace());
    let Some(m) = marks.next().filter(|m| matches!(m, '-' | '*' | '_' | '=')) else {
        return false;
    };
    let mut n = 1;
    for c in marks {
        if c != m {
            return false;
        }
        n += 1;
    }
    n >= 3
}

/// `|---|:--:|`.
fn is_separator_row(t: &str) -> bool {
    t.starts_with('|') && t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// The cleaned cells of a table row.
fn cells(t: &str) -> Vec<String> {
    let inner = t.trim().trim_start_matches('|').trim_end_matches('|');
    // A `|` inside a code span is not a cell border.
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut in_code = false;
    for ch in inner.chars() {
        match ch {
            '`' => {
                in_code = !in_code;
                cell.push(ch);
            }
            '|' if !in_code => out.push(std::mem::take(&mut cell)),
            _ => cell.push(ch),
        }
    }
    out.push(cell);
    out.iter().map(|c| clean_inline(c)).collect()
}

/// The text of a list item line without its marker (`- `, `* `, `+ `,
/// `1. `, `1) `), or `None` when the line is not one.
fn list_item(t: &str) -> Option<&str> {
    for m in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(m) {
            return Some(rest);
        }
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(r);
        }
    }
    None
}

/// Runs of whitespace made one space.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    if s.is_ascii() {
        // The ASCII characters `char::is_whitespace` (and so
        // `split_whitespace`) calls white space: `\t` to `\r`, and space.
        let ws = |b: u8| matches!(b, b'\t'..=b'\r' | b' ');
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            while i < bytes.len() && ws(bytes[i]) {
                i += 1;
            }
            let start = i;
            while i < bytes.len() && !ws(bytes[i]) {
                i += 1;
            }
            if start < i {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&s[start..i]);
            }
        }
    } else {
        for w in s.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
        }
    }
    out
}

/// Inline Markdown made plain text: checklist brackets, emphasis markers
/// (`**`, `__`), link targets and image markers outside code spans go, an
/// unmatched backtick goes, `<br>` becomes a space; code spans stay as
/// they are.
pub fn clean_inline(s: &str) -> String {
    // Most prose holds none of the characters every rule starts at: then
    // only the white space changes (checked against `marked_up` by the
    // test `plain_prose_is_only_collapsed`).
    if !s.contains(MARKUP) {
        return collapse(s);
    }
    marked_up(s)
}

/// Where each rule of [`clean_inline`] starts: code spans, emphasis,
/// `<br>`, brackets of checklists and links.
const MARKUP: [char; 5] = ['`', '*', '_', '<', '['];

/// [`clean_inline`] of text that may hold markup.
fn marked_up(s: &str) -> String {
    let s = collapse(s);
    let s = strip_checklist(&s);
    let ticks = s.matches('`').count();
    let mut out = String::with_capacity(s.len());
    let parts: Vec<&str> = s.split('`').collect();
    for (i, part) in parts.iter().enumerate() {
        let last_unmatched = ticks % 2 == 1 && i == parts.len() - 1;
        if i % 2 == 1 && !last_unmatched {
            out.push('`');
            out.push_str(part);
            out.push('`');
        } else {
            out.push_str(&plain(part));
        }
    }
    collapse(&out)
}

/// `[ ] `, `[x] ` at the start of an item.
fn strip_checklist(s: &str) -> &str {
    for m in ["[ ] ", "[x] ", "[X] ", "[ ]", "[x]", "[X]"] {
        if let Some(rest) = s.strip_prefix(m) {
            return rest.trim_start();
        }
    }
    s
}

/// Text outside code spans without Markdown markup.
fn plain(s: &str) -> String {
    // Most prose holds no markup: every rule below starts at one of these.
    if !s.contains(MARKUP) {
        return s.to_string();
    }
    let s = s
        .replace("**", "")
        .replace("__", "")
        .replace("<br>", " ")
        .replace("<br/>", " ")
        .replace("<br />", " ")
        .replace("[ ]", "")
        .replace("[x]", "");
    // `![alt](url)` and `[text](url)` → alt, text.
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(open) = rest.find('[') {
        let (before, after) = rest.split_at(open);
        let before = before.strip_suffix('!').unwrap_or(before);
        out.push_str(before);
        let after = &after[1..];
        match after.find("](") {
            Some(close) if !after[..close].contains('[') => {
                let target = &after[close + 2..];
                match target.find(')') {
                    Some(end) => {
                        out.push_str(&after[..close]);
                        rest = &target[end + 1..];
                    }
                    None => {
                        out.push('[');
                        rest = after;
                    }
                }
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Something to read: a letter or digit, and not a lone heading marker,
/// rule or bracket.
fn readable(text: &str) -> bool {
    let two_alnum = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .nth(1)
        .is_some();
    two_alnum && !text.starts_with('#') && !is_rule(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The ASCII fast path of `collapse` is `split_whitespace`'s.
        #[test]
        fn collapse_is_split_whitespace_joined(s in "[a .\t\n\r\x0b\x0c\u{a0}\u{2003}é]{0,30}") {
            prop_assert_eq!(collapse(&s), s.split_whitespace().collect::<Vec<_>>().join(" "));
        }

        /// Text without markup characters takes a short way through
        /// `clean_inline`: to the same place as the long one.
        #[test]
        fn plain_prose_is_only_collapsed(s in "[a .!x\t\n\\]()#>-]{0,40}") {
            prop_assert_eq!(clean_inline(&s), marked_up(&s));
        }
    }

    fn texts(passage: &str) -> Vec<(Kind, String)> {
        units(passage)
            .into_iter()
            .map(|u| (u.kind, u.text))
            .collect()
    }

    #[test]
    fn prose_is_cut_into_sentences_across_hard_wraps() {
        assert_eq!(
            texts("ragd answers 201 only after\nboth stores agree. Then it returns.\n"),
            vec![
                (
                    Kind::Sentence,
                    "ragd answers 201 only after both stores agree.".into()
                ),
                (Kind::Sentence, "Then it returns.".into()),
            ]
        );
    }

    #[test]
    fn a_sentence_that_refers_back_keeps_the_one_before() {
        assert_eq!(
            texts("The model reads 128 tokens. That is why size defaults to 480. Next."),
            vec![
                (
                    Kind::Sentence,
                    "The model reads 128 tokens. That is why size defaults to 480.".into()
                ),
                (Kind::Sentence, "Next.".into()),
            ]
        );
    }

    #[test]
    fn sentences_cut_by_the_passage_edges_are_marked() {
        let u = units("the end of a sentence. A whole one. And a cut");
        let cut: Vec<bool> = u.iter().map(|u| u.cut).collect();
        assert_eq!(cut, vec![true, false, true]);
        assert!(!units("A whole one.")[0].cut);
    }

    #[test]
    fn code_lines_are_units_with_their_toml_section() {
        let u = units(
            "## Example\n\n```toml\n[cache]\nkind = \"memory\"\nttl_secs = 600   # ten minutes\n\n# [generator]\n# model = \"llama3.2\"\n```\n",
        );
        let t: Vec<&str> = u.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            t,
            vec![
                "`kind = \"memory\"` (in `[cache]`)",
                "`ttl_secs = 600 # ten minutes` (in `[cache]`)",
                "`# model = \"llama3.2\"` (in `[generator]`)",
            ]
        );
        assert!(u.iter().all(|u| u.kind == Kind::Code));
        assert!(u[0].context.contains("Example"));
    }

    #[test]
    fn yaml_and_json_keys_carry_their_parents() {
        let u = units(
            "```yaml\nserver:\n  port: 8080\n  limits:\n    workers: 8\nimage: ragd\n```\n\n```json\n{\n  \"retry\": {\n    \"max_attempts\": 3\n  }\n}\n```",
        );
        let t: Vec<&str> = u.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            t,
            vec![
                "`port: 8080` (in `server`)",
                "`workers: 8` (in `server.limits`)",
                "`image: ragd`",
                "`\"max_attempts\": 3` (in `retry`)",
            ]
        );
    }

    #[test]
    fn table_rows_are_units_with_the_header_as_context() {
        let u = units(
            "### `[cache]`\n\n| Key | Default | Meaning |\n|---|---|---|\n| `ttl_secs` | `600` | Seconds a **result** is kept |\n",
        );
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].kind, Kind::Row);
        assert_eq!(u[0].text, "`ttl_secs`: `600` — Seconds a result is kept");
        assert!(u[0].context.contains("Default") && u[0].context.contains("[cache]"));
    }

    #[test]
    fn a_long_row_keeps_its_key_in_every_sentence() {
        let meaning = "Uncached questions are refused while the queue is long. ".repeat(8)
            + "Zero turns it off.";
        let u = units(&format!(
            "| Key | Default | Meaning |\n|---|---|---|\n| `max_queue_wait_ms` | `50` | {meaning} |\n"
        ));
        assert_eq!(u.len(), 9);
        assert_eq!(u[8].text, "`max_queue_wait_ms`: `50` — Zero turns it off.");
    }

    #[test]
    fn list_items_are_units_without_markers_or_checkboxes() {
        assert_eq!(
            texts(
                "- [ ] **Workers**: 8 per container\n- [x] Pool size\n  of 20 connections\n1. Run `ragd demo`\n"
            ),
            vec![
                (Kind::Item, "Workers: 8 per container".into()),
                (Kind::Item, "Pool size of 20 connections".into()),
                (Kind::Item, "Run `ragd demo`".into()),
            ]
        );
    }

    #[test]
    fn debris_and_headings_are_never_units() {
        let u = units(
            "# Title\n\n---\n\n**\n\n- [ ]\n\n***\n\n| | |\n|---|---|\n\n[](#top)\n\n## Only a heading\n",
        );
        assert_eq!(u, vec![]);
    }

    #[test]
    fn links_keep_their_text_and_stray_backticks_go() {
        assert_eq!(
            clean_inline("See [BENCHMARKS.md](BENCHMARKS.md) and `ragd` and a stray ` tick"),
            "See BENCHMARKS.md and `ragd` and a stray tick"
        );
        // `__` inside a code span is part of a name.
        assert_eq!(
            clean_inline("set `RAGD_CACHE__KIND` __now__"),
            "set `RAGD_CACHE__KIND` now"
        );
    }
}
