//! What a refused profile says: [`ProfileError`] names the file, the key
//! and what was expected. Validators return an [`Invalid`] (key and
//! message), and the caller that knows the file turns it into a
//! [`ProfileError`].

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a profile could not be used: the file, the key and what was expected.
#[derive(Debug)]
pub struct ProfileError {
    pub file: PathBuf,
    /// Dotted path of the offending key (`stages[1].duration`), or empty
    /// when the file as a whole is at fault (unreadable, not TOML).
    pub key: String,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: `{}`: {}",
                self.file.display(),
                self.key,
                self.message
            )
        }
    }
}

impl std::error::Error for ProfileError {}

/// A key a profile got wrong and what was expected, before the file is
/// known.
#[derive(Debug)]
pub(super) struct Invalid {
    key: String,
    message: String,
}

/// Refuse `key` with `message` (an empty key blames the whole file).
pub(super) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl Invalid {
    pub(super) fn in_file(self, file: &Path) -> ProfileError {
        ProfileError {
            file: file.to_path_buf(),
            key: self.key,
            message: self.message,
        }
    }
}
