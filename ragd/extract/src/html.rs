//! HTML: a web page to Markdown.
//!
//! The page is read with `html5gum`, a tokenizer that follows the WHATWG
//! HTML spec (entities, raw-text elements, malformed markup), is fuzzed, has
//! no unsafe code and, with default features off, no dependencies at all.
//! Turning a page into text needs its tags and decoded text in order, not a
//! DOM: `scraper` or `html5ever` would add a tree builder, string interning
//! and CSS selectors (a dozen crates) to produce the same stream, and `tl` is
//! neither spec-conformant nor actively maintained.
//!
//! The conversion is a small state machine over that stream: `h1`..`h6`
//! become `#` lines, block elements end paragraphs (blank lines), `li` gives
//! `- item` lines, table rows give cells joined by ` | `, `pre` gives fenced
//! code blocks, and running text has its whitespace collapsed. `script`,
//! `style`, `noscript`, `template`, `iframe` and the page head are dropped,
//! except for `<title>`, which becomes [`Extracted::title`].

use html5gum::{DefaultEmitter, Token, Tokenizer};

use crate::output::{Output, needs_escape, too_much_output};
use crate::{ExtractError, Extracted, Format, Limits, strip_bom, utf8};

/// Elements whose content is never text to index.
const SKIPPED: &str = "script style noscript template iframe";
/// Elements that may sit in `<head>`; any other start tag ends it.
const HEAD: &str = "head title meta link base style script noscript template";
/// Elements that start and end a paragraph.
const BLOCKS: &str = "p div section article header footer nav main aside blockquote form \
    fieldset figure figcaption address hr dl table details summary center caption legend body";
/// Elements that start and end a line.
const LINES: &str = "li tr dt dd br option";

/// Whether element `name` is one of the space-separated `names`.
fn is(name: &[u8], names: &str) -> bool {
    names.split_ascii_whitespace().any(|n| n.as_bytes() == name)
}

const LINE: u8 = 1;
const BLOCK: u8 = 2;

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let html = utf8(strip_bom(bytes), Format::Html)?;
    let mut emitter = DefaultEmitter::default();
    // Switch to raw text after <script>, <style>, <title>... as a browser does.
    emitter.naively_switch_states(true);
    let mut w = Writer::new(limits);
    for token in Tokenizer::new_with_emitter(html, emitter) {
        let Ok(token) = token;
        match token {
            Token::StartTag(tag) => w.start(&tag.name)?,
            Token::EndTag(tag) => w.end(&tag.name)?,
            Token::String(s) => w.text(&String::from_utf8_lossy(&s.value))?,
            _ => {}
        }
    }
    w.flush_pre()?;
    Ok(Extracted {
        text: w.out.finish(),
        pages: Vec::new(),
        title: w.title,
    })
}

struct Writer {
    out: Output,
    title: Option<String>,
    /// Text of the `<title>` being read, if one is open.
    title_buf: Option<String>,
    in_head: bool,
    /// Depth inside elements whose content is dropped.
    skip: usize,
    /// Depth inside `<pre>`, and its text so far.
    pre: usize,
    pre_buf: String,
    /// Break (`LINE` or `BLOCK`) to write before the next text.
    pending: u8,
    /// Whitespace came since the last word.
    space: bool,
    /// What starts the next line: `## ` for a heading, `- ` for a list item.
    prefix: String,
    heading: bool,
    lists: usize,
    /// Inside a table cell: breaks become spaces.
    cell: bool,
    cells_in_row: usize,
    /// The next word opens a new cell and needs ` | ` before it.
    cell_sep: bool,
}

impl Writer {
    fn new(limits: &Limits) -> Writer {
        Writer {
            out: Output::new(limits),
            title: None,
            title_buf: None,
            in_head: false,
            skip: 0,
            pre: 0,
            pre_buf: String::new(),
            pending: 0,
            space: false,
            prefix: String::new(),
            heading: false,
            lists: 0,
            cell: false,
            cells_in_row: 0,
            cell_sep: false,
        }
    }

    fn start(&mut self, name: &[u8]) -> Result<(), ExtractError> {
        if is(name, SKIPPED) {
            self.skip += 1;
        }
        if self.skip > 0 {
            return Ok(());
        }
        if name == b"head" {
            self.in_head = true;
        } else if !is(name, HEAD) {
            self.in_head = false;
        }
        match name {
            b"title" => self.title_buf = Some(String::new()),
            b"pre" => {
                if self.pre == 0 {
                    self.brk(BLOCK);
                }
                self.pre += 1;
            }
            b"br" if self.pre > 0 => self.pre_text("\n")?,
            b"ul" | b"ol" => {
                self.brk(if self.lists > 0 { LINE } else { BLOCK });
                self.lists += 1;
            }
            b"li" => {
                self.brk(LINE);
                if !self.cell {
                    let depth = self.lists.saturating_sub(1).min(8);
                    self.prefix = format!("{}- ", "  ".repeat(depth));
                }
            }
            b"tr" => {
                self.cell = false;
                self.brk(LINE);
                self.cells_in_row = 0;
            }
            b"td" | b"th" => {
                self.cell = true;
                self.cell_sep = self.cells_in_row > 0;
                self.cells_in_row += 1;
            }
            _ => {
                if let Some(level) = heading_level(name) {
                    self.brk(BLOCK);
                    self.heading = true;
                    if !self.cell {
                        self.prefix = format!("{} ", "#".repeat(level));
                    }
                } else {
                    self.block_boundary(name);
                }
            }
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8]) -> Result<(), ExtractError> {
        if is(name, SKIPPED) {
            self.skip = self.skip.saturating_sub(1);
            return Ok(());
        }
        if self.skip > 0 {
            return Ok(());
        }
        match name {
            b"head" => self.in_head = false,
            b"title" => {
                if let Some(buf) = self.title_buf.take() {
                    let title = collapse(&buf);
                    if self.title.is_none() && !title.is_empty() {
                        self.title = Some(title);
                    }
                }
            }
            b"pre" => {
                self.pre = self.pre.saturating_sub(1);
                if self.pre == 0 {
                    self.flush_pre()?;
                }
            }
            b"ul" | b"ol" => {
                self.lists = self.lists.saturating_sub(1);
                self.brk(if self.lists > 0 { LINE } else { BLOCK });
            }
            b"li" => {
                self.prefix.clear();
                self.brk(LINE);
            }
            b"td" | b"th" => self.cell = false,
            b"tr" => {
                self.cell = false;
                self.brk(LINE);
            }
            _ => {
                if heading_level(name).is_some() {
                    self.heading = false;
                    self.prefix.clear();
                    self.brk(BLOCK);
                } else {
                    self.block_boundary(name);
                }
            }
        }
        Ok(())
    }

    fn block_boundary(&mut self, name: &[u8]) {
        if is(name, BLOCKS) {
            self.brk(BLOCK);
        } else if is(name, LINES) {
            self.brk(LINE);
        }
    }

    fn text(&mut self, s: &str) -> Result<(), ExtractError> {
        if self.skip > 0 {
            return Ok(());
        }
        if let Some(buf) = &mut self.title_buf {
            if buf.len() < 4096 {
                buf.push_str(s);
            }
            return Ok(());
        }
        if self.in_head {
            return Ok(());
        }
        if self.pre > 0 {
            return self.pre_text(s);
        }
        for (i, word) in s.split(is_space).enumerate() {
            if i > 0 {
                self.space = true;
            }
            if !word.is_empty() {
                self.word(word)?;
            }
        }
        Ok(())
    }

    /// Asks for a line (`LINE`) or paragraph (`BLOCK`) break before the
    /// next text; inside a table cell or heading it is only a space, and
    /// inside a list only a line break (so `<li><p>` keeps the list tight).
    fn brk(&mut self, kind: u8) {
        if self.pre > 0 {
            return;
        }
        if self.cell || (self.heading && kind == LINE) {
            self.space = true;
        } else if self.lists > 0 {
            self.pending = self.pending.max(LINE);
        } else {
            self.pending = self.pending.max(kind);
        }
    }

    fn word(&mut self, word: &str) -> Result<(), ExtractError> {
        self.write_pending();
        let line_start = self.out.text.is_empty() || self.out.text.ends_with('\n');
        if line_start {
            let prefix = std::mem::take(&mut self.prefix);
            self.out.push(&prefix)?;
            if prefix.is_empty() && needs_escape(word) {
                self.out.push("\\")?;
            }
        } else if self.cell_sep {
            self.out.push(" | ")?;
        } else if self.space {
            self.out.push(" ")?;
        }
        self.cell_sep = false;
        self.space = false;
        self.out.push(word)
    }

    fn write_pending(&mut self) {
        match std::mem::take(&mut self.pending) {
            BLOCK => self.out.end_block(),
            LINE => {
                let text = &mut self.out.text;
                text.truncate(text.trim_end_matches([' ', '\t']).len());
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
            }
            _ => {}
        }
    }

    fn pre_text(&mut self, s: &str) -> Result<(), ExtractError> {
        // A newline right after <pre> is not content (HTML spec).
        let s = match self.pre_buf.is_empty() {
            true => s.strip_prefix('\n').unwrap_or(s),
            false => s,
        };
        if self.out.text.len() + self.pre_buf.len() + s.len() > self.out.max {
            return Err(too_much_output(self.out.max));
        }
        self.pre_buf.push_str(s);
        Ok(())
    }

    /// Writes the `<pre>` text read so far as a fenced code block, with a
    /// fence longer than any run of backticks inside it.
    fn flush_pre(&mut self) -> Result<(), ExtractError> {
        let code = std::mem::take(&mut self.pre_buf);
        let code = code.trim_end();
        if code.trim().is_empty() {
            return Ok(());
        }
        let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        self.pending = BLOCK;
        self.write_pending();
        self.out.push(&format!("{fence}\n{code}\n{fence}"))?;
        self.brk(BLOCK);
        Ok(())
    }
}

fn heading_level(name: &[u8]) -> Option<usize> {
    match name {
        [b'h', d @ b'1'..=b'6'] => Some((d - b'0') as usize),
        _ => None,
    }
}

/// HTML whitespace, plus the no-break space (`&nbsp;`), which separates
/// words just the same.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C' | '\u{A0}')
}

fn collapse(s: &str) -> String {
    s.split(is_space)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
