//! Report files: writing a report in the format its file name asks for,
//! reading a JSON report back, and [`ReportError`], what can go wrong with
//! report files and merging them.

use std::path::{Path, PathBuf};

use crate::hdrlog;
use crate::stats::DecodeError;

use super::{Report, SCHEMA};

/// Why a report could not be written, read or merged.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file name's extension names no report format.
    #[error(
        "{}: unknown report format; expected a file name ending in .json, .md, .html, .hlog or .csv",
        .path.display()
    )]
    UnknownFormat { path: PathBuf },
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not JSON, or not a report's JSON.
    #[error("{}: not a loadgen JSON report ({SCHEMA}): {source}", .path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A report of another schema version.
    #[error("{}: schema {found:?}, expected {SCHEMA:?}", .path.display())]
    Schema { path: PathBuf, found: String },
    #[error("nothing to merge")]
    NothingToMerge,
    /// A report to merge is of another schema version.
    #[error("{profile}: schema {found:?}, expected {SCHEMA:?}")]
    MergeSchema { profile: String, found: String },
    /// Reports of different profiles (or models) do not merge.
    #[error(
        "reports of different profiles: {first_profile:?} ({first_model}) and {profile:?} ({model})"
    )]
    Incompatible {
        first_profile: String,
        first_model: String,
        profile: String,
        model: String,
    },
    /// A histogram embedded in a report does not decode.
    #[error(transparent)]
    Histogram(#[from] DecodeError),
}

/// Write a report in the format its file name asks for: `.json`, `.md`,
/// `.html`, `.hlog` (HDR interval log) or `.csv` (one row per second).
pub fn write_report_file(report: &Report, path: &Path) -> Result<(), ReportError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let res = match ext {
        "json" => std::fs::write(
            path,
            serde_json::to_string_pretty(report).expect("report serializes"),
        ),
        "md" => std::fs::write(path, report.to_markdown()),
        "html" | "htm" => std::fs::write(path, report.to_html()),
        "hlog" => hdrlog::write(report, path),
        "csv" => std::fs::write(path, super::per_second(report)),
        _ => {
            return Err(ReportError::UnknownFormat {
                path: path.to_path_buf(),
            });
        }
    };
    res.map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Read a JSON report written by `--report out.json`.
pub fn read_report(path: &Path) -> Result<Report, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let r: Report = serde_json::from_str(&text).map_err(|source| ReportError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    if r.schema != SCHEMA {
        return Err(ReportError::Schema {
            path: path.to_path_buf(),
            found: r.schema,
        });
    }
    Ok(r)
}
