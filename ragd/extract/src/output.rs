//! Output: the text a converter writes, and the Markdown care it needs.
//!
//! [`Output`] refuses to grow past `max_output_bytes`, so a converter stops
//! as soon as a document turns out too large instead of after building it
//! whole. [`needs_escape`] keeps source text from reading as Markdown syntax
//! (a PDF line starting with `#` is not a heading).

use crate::{ExtractError, Limits};

/// Text being produced, refusing to grow past `max_output_bytes`.
pub(crate) struct Output {
    pub(crate) text: String,
    pub(crate) max: usize,
}

impl Output {
    pub(crate) fn new(limits: &Limits) -> Output {
        Output {
            text: String::new(),
            max: limits.max_output_bytes,
        }
    }

    pub(crate) fn push(&mut self, s: &str) -> Result<(), ExtractError> {
        if self.text.len() + s.len() > self.max {
            return Err(too_much_output(self.max));
        }
        self.text.push_str(s);
        Ok(())
    }

    /// The text, without the whitespace left at its ends.
    pub(crate) fn finish(self) -> String {
        let mut text = self.text;
        text.truncate(text.trim_end().len());
        let lead = text.len() - text.trim_start_matches(['\n', '\r']).len();
        text.drain(..lead);
        text
    }

    /// Ends the current block: the next text starts after a blank line.
    pub(crate) fn end_block(&mut self) {
        let trimmed = self.text.trim_end_matches([' ', '\t', '\n']).len();
        self.text.truncate(trimmed);
        if !self.text.is_empty() {
            self.text.push_str("\n\n");
        }
    }
}

pub(crate) fn too_much_output(max: usize) -> ExtractError {
    ExtractError::TooLarge(format!(
        "the extracted text passes max_output_bytes = {max}"
    ))
}

/// Whether `line`, written at the start of a Markdown line, would read as a
/// heading or a code fence (and so needs a backslash in front).
pub(crate) fn needs_escape(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') || t.starts_with("```") || t.starts_with("~~~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_line_starts() {
        assert!(needs_escape("# x") && needs_escape("  ## x") && needs_escape("```rust"));
        assert!(!needs_escape("C# and F#") && !needs_escape("- item") && !needs_escape(""));
    }
}
