//! Text and Markdown pass through; the entry points refuse what they do not
//! handle and inputs over the bound.

use ragd_extract::{ExtractError, Format, Limits, extract, rows};

use crate::{err, ok};

#[test]
fn text_and_markdown_pass_through() {
    let md = "# Title\n\nSome *text*.\n\n    indented code\n";
    let x = ok(Format::Markdown, md.as_bytes());
    assert_eq!(x.text, md.trim_end());
    assert_eq!((x.pages.len(), x.title.clone()), (0, None));
    let x = ok(Format::Text, "\u{FEFF}plain text\n".as_bytes());
    assert_eq!(x.text, "plain text");
}

#[test]
fn invalid_utf8_text_is_corrupt() {
    let e = err(Format::Text, b"ok \xC3\x28 broken");
    assert!(
        matches!(e, ExtractError::Corrupt(ref m) if m.contains("byte 3")),
        "{e:?}"
    );
}

#[test]
fn blank_text_is_empty() {
    for format in [Format::Text, Format::Markdown] {
        let e = err(format, b" \n\t\n");
        assert!(matches!(e, ExtractError::Empty(_)), "{e:?}");
    }
}

#[test]
fn wrong_entry_point_is_unsupported() {
    for format in [Format::Csv, Format::Jsonl] {
        let e = err(format, b"a\n1\n");
        assert!(
            matches!(e, ExtractError::Unsupported(ref m) if m.contains("rows()")),
            "{e:?}"
        );
    }
    for format in [
        Format::Text,
        Format::Markdown,
        Format::Html,
        Format::Pdf,
        Format::Docx,
    ] {
        let e = rows(format, b"a\n1\n", &Limits::default()).unwrap_err();
        assert!(
            matches!(e, ExtractError::Unsupported(ref m) if m.contains("extract()")),
            "{e:?}"
        );
    }
}

#[test]
fn input_and_output_bounds() {
    let limits = Limits {
        max_input_bytes: 8,
        ..Limits::default()
    };
    let e = extract(Format::Text, b"123456789", &limits).unwrap_err();
    assert!(
        matches!(e, ExtractError::TooLarge(ref m) if m.contains("max_input_bytes = 8")),
        "{e:?}"
    );
    let e = rows(Format::Csv, b"a\n1\n2\n3\n4\n", &limits).unwrap_err();
    assert!(matches!(e, ExtractError::TooLarge(_)), "{e:?}");
    assert!(extract(Format::Text, b"12345678", &limits).is_ok());

    let limits = Limits {
        max_output_bytes: 8,
        ..Limits::default()
    };
    let e = extract(Format::Markdown, b"123456789", &limits).unwrap_err();
    assert!(
        matches!(e, ExtractError::TooLarge(ref m) if m.contains("max_output_bytes = 8")),
        "{e:?}"
    );
    let e = extract(Format::Html, b"<p>1234</p><p>5678</p>", &limits).unwrap_err();
    assert!(matches!(e, ExtractError::TooLarge(_)), "{e:?}");
}
