//! DOCX: a Word document to Markdown.
//!
//! A DOCX file is a zip archive (read with `zip`) whose body is
//! `word/document.xml`, streamed with `quick-xml`. Paragraphs (`w:p`) are
//! made of runs whose text is in `w:t` (`w:tab` is a tab, `w:br` a line
//! break). A paragraph styled `Heading1`..`Heading6` (or `heading 1`, or
//! `Title`) becomes a `#` heading, one with numbering (`w:numPr`) a `- `
//! list item, and each table row (`w:tr`) a line of cells joined by ` | `.
//! The title is `dc:title` from `docProps/core.xml`.
//!
//! Zip bombs: an entry whose declared or actual unpacked size passes
//! 4 × `max_output_bytes` is refused before more of it is read.

use std::io::{Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use zip::ZipArchive;
use zip::result::ZipError;

use crate::output::{Output, needs_escape, too_much_output};
use crate::{ExtractError, Extracted, Limits};

type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let mut zip = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ExtractError::Corrupt(format!("not a DOCX: not a zip archive ({e})")))?;
    let xml_cap = limits.max_output_bytes.saturating_mul(4);
    let body = read_entry(&mut zip, "word/document.xml", xml_cap)?.ok_or_else(|| {
        ExtractError::Corrupt("not a DOCX: the zip has no word/document.xml".into())
    })?;
    let mut doc = Body::new(limits);
    parse(&body, "word/document.xml", |event| doc.event(event))?;
    // A broken or missing core.xml costs the title, not the document.
    let title = read_entry(&mut zip, "docProps/core.xml", 1 << 20)
        .ok()
        .flatten()
        .and_then(|core| core_title(&core));
    Ok(Extracted {
        text: doc.out.finish(),
        pages: Vec::new(),
        title,
    })
}

/// The entry `name` as text, `None` if the archive has no such entry.
fn read_entry(zip: &mut Archive, name: &str, cap: usize) -> Result<Option<String>, ExtractError> {
    let file = match zip.by_name(name) {
        Ok(file) => file,
        Err(ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(ExtractError::Corrupt(format!("cannot read {name}: {e}"))),
    };
    let too_large = || {
        ExtractError::TooLarge(format!(
            "{name} unpacks to more than {cap} bytes (4 × max_output_bytes)"
        ))
    };
    if file.size() > cap as u64 {
        return Err(too_large());
    }
    let mut xml = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut xml)
        .map_err(|e| ExtractError::Corrupt(format!("cannot unpack {name}: {e}")))?;
    if xml.len() > cap {
        return Err(too_large());
    }
    let xml = String::from_utf8(xml)
        .map_err(|_| ExtractError::Corrupt(format!("{name} is not UTF-8 XML")))?;
    Ok(Some(xml.trim_start_matches('\u{FEFF}').to_string()))
}

/// Streams the events of `xml` to `f`; malformed XML is `Corrupt`.
fn parse(
    xml: &str,
    name: &str,
    mut f: impl FnMut(Event) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => return Ok(()),
            Ok(event) => f(event)?,
            Err(e) => {
                return Err(ExtractError::Corrupt(format!(
                    "{name} is not well-formed XML (at byte {}): {e}",
                    reader.error_position()
                )));
            }
        }
    }
}

/// What the last line written was, to separate lines of lists and tables
/// with one newline and everything else with a blank line.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Paragraph,
    ListItem,
    TableRow,
}

#[derive(Default)]
struct Paragraph {
    heading: Option<usize>,
    list: bool,
    level: usize,
    text: String,
}

/// The state of a walk through `word/document.xml`.
struct Body {
    out: Output,
    last: Option<Kind>,
    /// Open paragraphs (a text box's paragraphs sit inside another one).
    paragraphs: Vec<Paragraph>,
    runs: usize,
    in_text: bool,
    /// Depth inside content not to read (`mc:Fallback` repeats `mc:Choice`).
    skip: usize,
    tables: usize,
    /// Cells of the current row of the outermost table, and the open cell.
    row: Vec<String>,
    cell: Option<String>,
}

impl Body {
    fn new(limits: &Limits) -> Body {
        Body {
            out: Output::new(limits),
            last: None,
            paragraphs: Vec::new(),
            runs: 0,
            in_text: false,
            skip: 0,
            tables: 0,
            row: Vec::new(),
            cell: None,
        }
    }

    fn event(&mut self, event: Event) -> Result<(), ExtractError> {
        match event {
            Event::Start(_) | Event::End(_) | Event::Empty(_) if self.skip > 0 => match event {
                Event::Start(_) => self.skip += 1,
                Event::End(_) => self.skip -= 1,
                _ => {}
            },
            Event::Start(e) if e.local_name().as_ref() == "Fallback" => self.skip = 1,
            Event::Start(e) => self.open(&e),
            Event::Empty(e) => {
                self.open(&e);
                self.close(e.local_name().as_ref())?;
            }
            Event::End(e) => self.close(e.local_name().as_ref())?,
            Event::Text(t) if self.in_text => self.push(&t.xml10_content())?,
            Event::CData(t) if self.in_text => self.push(&t.xml10_content())?,
            Event::GeneralRef(r) if self.in_text => {
                if let Some(c) = resolve(&r) {
                    self.push(c.encode_utf8(&mut [0; 4]))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn open(&mut self, e: &BytesStart) {
        let in_run = self.runs > 0;
        let name = e.local_name();
        let paragraph = self.paragraphs.last_mut();
        match (name.as_ref(), paragraph) {
            ("p", _) => self.paragraphs.push(Paragraph::default()),
            ("r", _) => self.runs += 1,
            ("t", Some(_)) => self.in_text = true,
            ("tab", Some(p)) if in_run => p.text.push('\t'),
            ("br" | "cr", Some(p)) if in_run => p.text.push('\n'),
            ("pStyle", Some(p)) => p.heading = val(e).as_deref().and_then(heading_level),
            ("numPr", Some(p)) => p.list = true,
            ("ilvl", Some(p)) => p.level = val(e).and_then(|v| v.parse().ok()).unwrap_or(0),
            ("tbl", _) => self.tables += 1,
            ("tr", _) if self.tables == 1 => self.row.clear(),
            ("tc", _) if self.tables == 1 => self.cell = Some(String::new()),
            _ => {}
        }
    }

    fn close(&mut self, name: &str) -> Result<(), ExtractError> {
        match name {
            "p" => {
                if let Some(p) = self.paragraphs.pop() {
                    self.paragraph(p)?;
                }
            }
            "r" => self.runs = self.runs.saturating_sub(1),
            "t" => self.in_text = false,
            "tc" if self.tables == 1 => {
                let cell = self.cell.take().unwrap_or_default();
                self.row.push(cell);
            }
            "tr" if self.tables == 1 => {
                let row = std::mem::take(&mut self.row);
                if row.iter().any(|c| !c.is_empty()) {
                    self.line(Kind::TableRow, &row.join(" | "))?;
                }
            }
            "tbl" => self.tables = self.tables.saturating_sub(1),
            _ => {}
        }
        Ok(())
    }

    fn push(&mut self, text: &str) -> Result<(), ExtractError> {
        if let Some(p) = self.paragraphs.last_mut() {
            if p.text.len() + text.len() > self.out.max {
                return Err(too_much_output(self.out.max));
            }
            p.text.push_str(text);
        }
        Ok(())
    }

    /// Writes a finished paragraph, or adds it to the open table cell.
    fn paragraph(&mut self, p: Paragraph) -> Result<(), ExtractError> {
        let text = p.text.trim();
        if text.is_empty() {
            return Ok(());
        }
        if let Some(cell) = &mut self.cell {
            if !cell.is_empty() {
                cell.push(' ');
            }
            cell.push_str(&one_line(text));
            return Ok(());
        }
        if let Some(level) = p.heading {
            self.line(
                Kind::Paragraph,
                &format!("{} {}", "#".repeat(level), one_line(text)),
            )
        } else if p.list {
            let indent = "  ".repeat(p.level.min(8));
            self.line(Kind::ListItem, &format!("{indent}- {}", one_line(text)))
        } else {
            let lines: Vec<String> = text
                .lines()
                .map(|l| match needs_escape(l) {
                    true => format!("\\{}", l.trim_start()),
                    false => l.to_string(),
                })
                .collect();
            self.line(Kind::Paragraph, &lines.join("\n"))
        }
    }

    fn line(&mut self, kind: Kind, line: &str) -> Result<(), ExtractError> {
        if self.last == Some(kind) && kind != Kind::Paragraph {
            self.out.push("\n")?;
        } else {
            self.out.end_block();
        }
        self.last = Some(kind);
        let text = match kind {
            Kind::Paragraph => line.to_string(),
            // A row or item must not read as a heading or fence either.
            _ if needs_escape(line) => format!("\\{}", line.trim_start()),
            _ => line.to_string(),
        };
        self.out.push(&text)
    }
}

/// The `w:val` attribute of an element.
fn val(e: &BytesStart) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == "val")
        .map(|a| a.value.into_owned())
}

/// The heading level of a paragraph style: `Heading1`, `heading 1`,
/// `Heading_1`... give 1, `Title` 1; levels past 6 are 6.
fn heading_level(style: &str) -> Option<usize> {
    let style: String = style
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    if style == "title" {
        return Some(1);
    }
    let level: usize = style.strip_prefix("heading")?.parse().ok()?;
    (level >= 1).then(|| level.min(6))
}

/// A character or predefined entity reference (`&#65;`, `&amp;`).
fn resolve(r: &BytesRef) -> Option<char> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Some(c);
    }
    Some(match r.as_ref() {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `dc:title` from `docProps/core.xml`.
fn core_title(xml: &str) -> Option<String> {
    let mut title: Option<String> = None;
    let mut done = false;
    let _ = parse(xml, "docProps/core.xml", |event| {
        match event {
            Event::Start(e) if !done && e.local_name().as_ref() == "title" => {
                title = Some(String::new())
            }
            Event::End(e) if e.local_name().as_ref() == "title" => done = true,
            Event::Text(t) if !done => {
                if let Some(s) = &mut title {
                    s.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) if !done => {
                if let (Some(s), Some(c)) = (&mut title, resolve(&r)) {
                    s.push(c);
                }
            }
            _ => {}
        }
        Ok(())
    });
    let title = one_line(&title?);
    (!title.is_empty()).then_some(title)
}
