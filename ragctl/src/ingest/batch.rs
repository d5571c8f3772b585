//! Grouping the files to send into uploads: in id order, at most
//! [`MAX_FILES`] files and [`MAX_BYTES`] per batch. A file larger than
//! [`MAX_BYTES`] goes alone (ragd may then answer 413 for it: that file's
//! failure).

use super::walk::FileEntry;

/// Files per upload at most.
pub const MAX_FILES: usize = 16;
/// Bytes of file content per upload at most (a larger file goes alone).
pub const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// `files` cut into batches, order kept.
pub fn batches(files: Vec<FileEntry>) -> Vec<Vec<FileEntry>> {
    let mut out = Vec::new();
    let mut current: Vec<FileEntry> = Vec::new();
    let mut bytes = 0u64;
    for f in files {
        let full = current.len() >= MAX_FILES || bytes.saturating_add(f.bytes) > MAX_BYTES;
        if !current.is_empty() && full {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes = bytes.saturating_add(f.bytes);
        current.push(f);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}
