//! PDF text with page numbers.

use ragd_extract::{ExtractError, Format, Limits, extract};

use crate::{err, ok};
use ragd_extract::fixtures::pdf;

fn three_pages() -> Vec<u8> {
    pdf(
        &[
            &["First page text"],
            &["Second page here", "more words on two"],
            &["#1 priority on page three"],
        ],
        Some("Quarterly Report"),
    )
}

#[test]
fn text_and_pages() {
    let x = ok(Format::Pdf, &three_pages());
    let at = |needle: &str| {
        x.text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {:?}", x.text))
    };
    let (one, two, more, three) = (
        at("First page text"),
        at("Second page here"),
        at("more words on two"),
        at("\\#1 priority on page three"),
    );
    assert!(one < two && two < more && more < three, "{:?}", x.text);
    assert_eq!(x.pages.len(), 3, "{:?}", x.pages);
    assert_eq!(x.pages[0], (1, 0));
    assert_eq!(x.pages[1], (2, two));
    assert_eq!(x.pages[2].0, 3);
    // Pages are separated by a blank line.
    assert!(x.text[..two].ends_with("\n\n"), "{:?}", x.text);

    assert_eq!(x.page_at(0), Some(1));
    assert_eq!(x.page_at(one + 5), Some(1));
    assert_eq!(x.page_at(two), Some(2));
    assert_eq!(x.page_at(more + 3), Some(2));
    assert_eq!(x.page_at(three), Some(3));
    assert_eq!(x.page_at(x.text.len()), Some(3));
    assert_eq!(x.page_at(x.text.len() + 1), None);
    assert_eq!(x.title.as_deref(), Some("Quarterly Report"));
}

#[test]
fn too_many_pages() {
    let limits = Limits {
        max_pages: 2,
        ..Limits::default()
    };
    let e = extract(Format::Pdf, &three_pages(), &limits).unwrap_err();
    assert!(
        matches!(e, ExtractError::TooLarge(ref m) if m.contains("max_pages = 2")),
        "{e:?}"
    );
}

#[test]
fn output_bound() {
    let limits = Limits {
        max_output_bytes: 20,
        ..Limits::default()
    };
    let e = extract(Format::Pdf, &three_pages(), &limits).unwrap_err();
    assert!(matches!(e, ExtractError::TooLarge(_)), "{e:?}");
}

#[test]
fn truncated_pdf_is_corrupt() {
    let bytes = three_pages();
    for keep in [bytes.len() / 3, bytes.len() / 2, 40] {
        let e = err(Format::Pdf, &bytes[..keep]);
        assert!(matches!(e, ExtractError::Corrupt(_)), "{keep} bytes: {e:?}");
    }
}

#[test]
fn garbage_after_the_magic_is_corrupt() {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let mut state = 0x2545_4446_u32;
    for _ in 0..4096 {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.push((state >> 16) as u8);
    }
    let e = err(Format::Pdf, &bytes);
    assert!(matches!(e, ExtractError::Corrupt(_)), "{e:?}");
}

#[test]
fn pdf_without_text_is_empty() {
    let e = err(Format::Pdf, &pdf(&[&[]], None));
    assert!(
        matches!(e, ExtractError::Empty(ref m) if m.contains("OCR")),
        "{e:?}"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // Test threads have 2 MiB stacks, like tokio's blocking threads.
    for open in ["[", "<</A ", "("] {
        let mut bytes = b"%PDF-1.4\n1 0 obj\n".to_vec();
        bytes.extend(open.repeat(50_000).as_bytes());
        bytes.extend(b"\nendobj\ntrailer\n<</Root 1 0 R>>\n%%EOF\n");
        let e = err(Format::Pdf, &bytes);
        assert!(matches!(e, ExtractError::Corrupt(_)), "{open}: {e:?}");
    }
}
