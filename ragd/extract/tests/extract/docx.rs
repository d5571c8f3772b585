//! DOCX to Markdown.

use ragd_extract::{ExtractError, Format, Limits, extract};

use crate::{err, ok};
use ragd_extract::fixtures::{docx, para, zip};

fn list_item(level: u8, text: &str) -> String {
    format!(
        r#"<w:p><w:pPr><w:numPr><w:ilvl w:val="{level}"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>"#
    )
}

fn cell(text: &str) -> String {
    format!("<w:tc><w:tcPr/>{}</w:tc>", para(None, text))
}

fn body() -> String {
    let table = format!(
        "<w:tbl><w:tblPr/><w:tr>{}{}</w:tr><w:tr>{}{}</w:tr></w:tbl>",
        cell("a"),
        cell("b"),
        cell("c"),
        cell("d")
    );
    [
        para(Some("Title"), "The Title"),
        para(Some("Heading1"), "Heading"),
        para(None, "A normal paragraph &amp; more."),
        list_item(0, "item"),
        list_item(0, "second item"),
        list_item(1, "sub item"),
        para(Some("heading 2"), "Sub"),
        table,
        // Tab stops in the paragraph properties are not tabs in the text.
        r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t>left</w:t><w:tab/><w:t>right</w:t><w:br/><w:t>next line</w:t></w:r></w:p>"#.into(),
        // mc:Fallback repeats mc:Choice and must not be read twice.
        r#"<w:p><w:r><mc:AlternateContent xmlns:mc="urn:mc"><mc:Choice Requires="wps"><w:t>chosen</w:t></mc:Choice><mc:Fallback><w:t>fallback</w:t></mc:Fallback></mc:AlternateContent></w:r></w:p>"#.into(),
        para(None, "   "),
        para(None, "# hash at the start"),
    ]
    .concat()
}

#[test]
fn document_to_markdown() {
    let x = ok(Format::Docx, &docx(&body(), Some("Doc &amp; Title")));
    let expected = "# The Title

# Heading

A normal paragraph & more.

- item
- second item
  - sub item

## Sub

a | b
c | d

left\tright
next line

chosen

\\# hash at the start";
    assert_eq!(x.text, expected);
    assert_eq!(x.title.as_deref(), Some("Doc & Title"));
    assert!(x.pages.is_empty());
}

#[test]
fn title_is_optional() {
    let x = ok(Format::Docx, &docx(&para(None, "hello"), None));
    assert_eq!(x.text, "hello");
    assert_eq!(x.title, None);
}

#[test]
fn not_a_zip_is_corrupt() {
    let e = err(Format::Docx, b"PK\x03\x04 but not really a zip archive");
    assert!(
        matches!(e, ExtractError::Corrupt(ref m) if m.contains("zip")),
        "{e:?}"
    );
}

#[test]
fn zip_without_document_is_corrupt() {
    let e = err(Format::Docx, &zip(&[("hello.txt", "hi")]));
    assert!(
        matches!(e, ExtractError::Corrupt(ref m) if m.contains("word/document.xml")),
        "{e:?}"
    );
}

#[test]
fn malformed_xml_is_corrupt() {
    let e = err(
        Format::Docx,
        &zip(&[("word/document.xml", "<w:document><w:body><w:p></w:body>")]),
    );
    assert!(
        matches!(e, ExtractError::Corrupt(ref m) if m.contains("XML")),
        "{e:?}"
    );
}

#[test]
fn empty_document_is_empty() {
    let e = err(Format::Docx, &docx("<w:p/><w:p><w:r/></w:p>", Some("T")));
    assert!(matches!(e, ExtractError::Empty(_)), "{e:?}");
}

#[test]
fn oversized_xml_is_refused() {
    // 100 bytes of output allow 400 bytes of XML; this body unpacks to more.
    let limits = Limits {
        max_output_bytes: 100,
        ..Limits::default()
    };
    let body = para(None, &"word ".repeat(200));
    let e = extract(Format::Docx, &docx(&body, None), &limits).unwrap_err();
    assert!(
        matches!(e, ExtractError::TooLarge(ref m) if m.contains("word/document.xml")),
        "{e:?}"
    );
}
