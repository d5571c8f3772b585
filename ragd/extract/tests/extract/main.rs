//! Tests of ragd-extract, one module per format. Fixtures (PDF, DOCX) are
//! built in memory by `ragd_extract::fixtures` (the dev-dependency on this
//! crate turns its `fixtures` feature on), so no binary files are committed.

mod docx;
mod format;
mod fuzz;
mod html;
mod pdf;
mod rows;
mod text;

use ragd_extract::{ExtractError, Extracted, Format, Limits, extract};

/// Extracts with the default limits, failing the test on an error.
fn ok(format: Format, bytes: &[u8]) -> Extracted {
    extract(format, bytes, &Limits::default())
        .unwrap_or_else(|e| panic!("{} extraction failed: {e}", format.name()))
}

/// Extracts with the default limits, failing the test on success.
fn err(format: Format, bytes: &[u8]) -> ExtractError {
    match extract(format, bytes, &Limits::default()) {
        Ok(x) => panic!("{} extraction should fail, got {:?}", format.name(), x.text),
        Err(e) => e,
    }
}
