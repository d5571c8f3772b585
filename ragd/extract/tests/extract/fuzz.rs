//! Arbitrary and mangled inputs: every entry point returns (never panics)
//! and stays within `max_output_bytes`.

use std::sync::LazyLock;

use proptest::prelude::*;
use ragd_extract::{ExtractError, Format, Limits, extract, rows};

use ragd_extract::fixtures::{docx, para, pdf};

/// Valid files to mangle, with their formats: parsers get further into
/// these than into noise.
static SAMPLES: LazyLock<Vec<(Format, Vec<u8>)>> = LazyLock::new(|| {
    let docx_body = [para(Some("Heading1"), "h"), para(None, "p &amp; q")].concat();
    vec![
        (Format::Pdf, pdf(&[&["one", "two"], &["three"]], Some("t"))),
        (Format::Docx, docx(&docx_body, Some("t"))),
        (
            Format::Html,
            b"<!doctype html><title>t</title><h1>h</h1><ul><li>a<pre>x</pre><table><tr><td>1"
                .to_vec(),
        ),
        (Format::Csv, b"a,b\n1,\"2\n3\"\n".to_vec()),
        (
            Format::Jsonl,
            b"{\"id\": 1, \"text\": \"x\"}\n{\"a\": [1, {\"b\": null}]}\n".to_vec(),
        ),
    ]
});

/// A format and bytes to read as it: noise, noise behind magic bytes, or a
/// valid sample of that format with a few bytes changed and its end cut.
fn input() -> impl Strategy<Value = (Format, Vec<u8>)> {
    let format = prop::sample::select(Format::ALL.to_vec());
    let magic = prop::sample::select(vec![&b"%PDF-1.4\n"[..], b"PK\x03\x04", b"<html>", b""]);
    let noise = || prop::collection::vec(any::<u8>(), 0..2048);
    prop_oneof![
        1 => (format.clone(), noise()),
        1 => (format, magic, noise()).prop_map(|(f, m, rest)| (f, [m, &rest].concat())),
        4 => (
            0..SAMPLES.len(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
            any::<prop::sample::Index>(),
        )
            .prop_map(|(sample, edits, cut)| {
                let (format, mut bytes) = SAMPLES[sample].clone();
                for (at, byte) in edits {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
                bytes.truncate(cut.index(bytes.len() + 1).max(bytes.len() / 2));
                (format, bytes)
            }),
    ]
}

/// Only the PDF parser may panic (caught, as Corrupt); anywhere else a
/// panic is a bug in this crate.
fn check_error(format: Format, e: &ExtractError) -> Result<(), TestCaseError> {
    if format != Format::Pdf {
        prop_assert!(
            !e.to_string().contains("panicked"),
            "{}: {e}",
            format.name()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_and_respects_bounds(
        (format, bytes) in input(),
        max_output_bytes in prop_oneof![16usize..256, 256usize..65536],
    ) {
        let limits = Limits { max_output_bytes, ..Limits::default() };
        match extract(format, &bytes, &limits) {
            Ok(x) => {
                prop_assert!(x.text.len() <= max_output_bytes);
                prop_assert!(!x.text.trim().is_empty());
                prop_assert!(x.pages.windows(2).all(|w| w[0].1 <= w[1].1));
                prop_assert!(x.pages.iter().all(|&(_, start)| start <= x.text.len()));
            }
            Err(e) => check_error(format, &e)?,
        }
        match rows(format, &bytes, &limits) {
            Ok(rows) => {
                let total: usize = rows.iter().map(|r| r.text.len()).sum();
                prop_assert!(total <= max_output_bytes);
                prop_assert!(rows.windows(2).all(|w| w[0].number < w[1].number));
            }
            Err(e) => check_error(format, &e)?,
        }
    }
}
