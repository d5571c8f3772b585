//! Sentences of a text, as `unicode-segmentation`'s `unicode_sentences`
//! gives them, but fast for ASCII text.
//!
//! The crate finds each character's sentence class (UAX #29) by a binary
//! search in its Unicode tables and keeps a four-part state per character:
//! `callgrind` put it at a quarter of an uncached question's instructions
//! (0.52 M of 2.06 M, docs/BENCHMARKS.md). Most passages are ASCII, where
//! the classes fit a 128-entry table. [`sentences`] runs the same state
//! machine as the crate (UAX #29 rules SB1-SB11 in its four-part form, so
//! the same boundaries, quirks included) over bytes with that table, and
//! hands any text that is not all ASCII to the crate. The test
//! `same_sentences_as_the_crate` checks the two agree on arbitrary ASCII.

use unicode_segmentation::UnicodeSegmentation;

/// The sentences of `text` that hold a letter or a digit, each with the
/// spaces that follow it (as `unicode_sentences`).
pub fn sentences(text: &str) -> Box<dyn Iterator<Item = &str> + '_> {
    if text.is_ascii() {
        Box::new(Ascii::new(text).filter(|s| s.bytes().any(|b| b.is_ascii_alphanumeric())))
    } else {
        Box::new(text.unicode_sentences())
    }
}

/// UAX #29 sentence classes of the ASCII characters (there are no `Sep`,
/// `OLetter`, `Extend` or `Format` characters in ASCII).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Any,
    Cr,
    Lf,
    Sp,
    STerm,
    Close,
    SContinue,
    ATerm,
    Numeric,
    Upper,
    Lower,
}

const fn class_of(b: u8) -> Class {
    match b {
        b'\t' | 0x0b | 0x0c | b' ' => Class::Sp,
        b'\n' => Class::Lf,
        b'\r' => Class::Cr,
        b'!' | b'?' => Class::STerm,
        b'"' | b'\'' | b'(' | b')' | b'[' | b']' | b'{' | b'}' => Class::Close,
        b',' | b'-' | b':' | b';' => Class::SContinue,
        b'.' => Class::ATerm,
        b'0'..=b'9' => Class::Numeric,
        b'A'..=b'Z' => Class::Upper,
        b'a'..=b'z' => Class::Lower,
        _ => Class::Any,
    }
}

static CLASSES: [Class; 128] = {
    let mut t = [Class::Any; 128];
    let mut b = 0;
    while b < 128 {
        t[b] = class_of(b as u8);
        b += 1;
    }
    t
};

/// What the state remembers of a run of characters: runs of `Close` and
/// of `Sp` count as one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Sot,
    Other,
    Cr,
    Lf,
    ATerm,
    UpperLower,
    Close,
    Sp,
    STerm,
}

/// The last four parts read, newest last.
#[derive(Debug, Clone, Copy)]
struct State([Part; 4]);

impl State {
    fn next(self, class: Class) -> State {
        let p = self.0;
        match (p[3], class) {
            (Part::Close, Class::Close) | (Part::Sp, Class::Sp) => self,
            _ => State([
                p[1],
                p[2],
                p[3],
                match class {
                    Class::Cr => Part::Cr,
                    Class::Lf => Part::Lf,
                    Class::ATerm => Part::ATerm,
                    Class::Upper | Class::Lower => Part::UpperLower,
                    Class::Close => Part::Close,
                    Class::Sp => Part::Sp,
                    Class::STerm => Part::STerm,
                    Class::Any | Class::SContinue | Class::Numeric => Part::Other,
                },
            ]),
        }
    }

    fn last(self) -> Part {
        self.0[3]
    }

    /// The part before a trailing `Sp*` and `Close*` (`SATerm Close* Sp*`
    /// ends in it when it is a terminator).
    fn before_close_sp(self) -> Part {
        let mut i = if self.0[3] == Part::Sp { 2 } else { 3 };
        if self.0[i] == Part::Close {
            i -= 1;
        }
        self.0[i]
    }

    /// SB8: `ATerm Close* Sp* × ( ¬(OLetter | Upper | Lower | ParaSep |
    /// SATerm) )* Lower`, looking ahead from the current character.
    fn sb8(self, ahead: &[u8]) -> bool {
        if self.before_close_sp() != Part::ATerm {
            return false;
        }
        for &b in ahead {
            match CLASSES[b as usize] {
                Class::Lower => return true,
                Class::Upper | Class::Cr | Class::Lf | Class::STerm | Class::ATerm => {
                    return false;
                }
                _ => {}
            }
        }
        false
    }

    /// `SATerm Close* Sp*` (SB8a, SB10).
    fn after_terminator(self) -> bool {
        matches!(self.before_close_sp(), Part::STerm | Part::ATerm)
    }

    /// SB9: `SATerm Close*`.
    fn sb9(self) -> bool {
        let i = if self.0[3] == Part::Close { 2 } else { 3 };
        matches!(self.0[i], Part::STerm | Part::ATerm)
    }

    /// SB11: `SATerm Close* Sp* ParaSep? ÷`.
    fn sb11(self) -> bool {
        let mut i = if matches!(self.0[3], Part::Cr | Part::Lf) {
            2
        } else {
            3
        };
        if self.0[i] == Part::Sp {
            i -= 1;
        }
        if self.0[i] == Part::Close {
            i -= 1;
        }
        matches!(self.0[i], Part::STerm | Part::ATerm)
    }
}

/// The sentence boundaries of ASCII text: byte offsets, the first 0 and
/// the last the text's length (none for an empty text).
struct Breaks<'a> {
    text: &'a [u8],
    pos: usize,
    state: State,
    done: bool,
}

impl Iterator for Breaks<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.pos < self.text.len() {
            let at = self.pos;
            let class = CLASSES[self.text[at] as usize];
            let before = self.state;
            self.pos += 1;
            self.state = before.next(class);
            let last = before.last();
            // Inside a sentence's words (after a letter, digit or other
            // non-terminator) no rule below breaks: the common case.
            if matches!(last, Part::Other | Part::UpperLower) {
                continue;
            }
            // SB1
            if last == Part::Sot {
                return Some(at);
            }
            // SB3
            if class == Class::Lf && last == Part::Cr {
                continue;
            }
            // SB4
            if matches!(last, Part::Cr | Part::Lf) {
                return Some(at);
            }
            // SB6, SB7
            if class == Class::Numeric && last == Part::ATerm
                || class == Class::Upper && last == Part::ATerm && before.0[2] == Part::UpperLower
            {
                continue;
            }
            // SB8
            if before.sb8(&self.text[at..]) {
                continue;
            }
            // SB8a
            if matches!(class, Class::SContinue | Class::STerm | Class::ATerm)
                && before.after_terminator()
            {
                continue;
            }
            // SB9
            if matches!(class, Class::Close | Class::Sp | Class::Cr | Class::Lf) && before.sb9() {
                continue;
            }
            // SB10
            if matches!(class, Class::Sp | Class::Cr | Class::Lf) && before.after_terminator() {
                continue;
            }
            // SB11
            if before.sb11() {
                return Some(at);
            }
            // SB998: no break.
        }
        // SB2
        if self.done || self.state.last() == Part::Sot {
            return None;
        }
        self.done = true;
        Some(self.pos)
    }
}

/// The sentences of ASCII text, every one (`split_sentence_bounds`).
struct Ascii<'a> {
    text: &'a str,
    breaks: Breaks<'a>,
    start: Option<usize>,
}

impl<'a> Ascii<'a> {
    fn new(text: &'a str) -> Ascii<'a> {
        Ascii {
            text,
            breaks: Breaks {
                text: text.as_bytes(),
                pos: 0,
                state: State([Part::Sot; 4]),
                done: false,
            },
            start: None,
        }
    }
}

impl<'a> Iterator for Ascii<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let start = match self.start {
            Some(s) => s,
            None => self.breaks.next()?,
        };
        let end = self.breaks.next()?;
        self.start = Some(end);
        // Offsets of ASCII text are character boundaries.
        self.text.get(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn crate_bounds(s: &str) -> Vec<&str> {
        s.split_sentence_bounds().collect()
    }

    #[test]
    fn ordinary_prose() {
        let t = "Set top_k to 5. It is the default! Is it? Yes (mostly.) e.g. this one.  Mr. Smith said 3.5 is fine.\nNew line";
        assert_eq!(Ascii::new(t).collect::<Vec<_>>(), crate_bounds(t));
        assert_eq!(
            sentences(t).collect::<Vec<_>>(),
            t.unicode_sentences().collect::<Vec<_>>()
        );
        assert_eq!(sentences("").count(), 0);
        assert_eq!(sentences("... -- !").count(), 0, "no letter, no sentence");
    }

    #[test]
    fn text_beyond_ascii_goes_to_the_crate() {
        let t = "Café au lait. Ça va? Oui — très bien.";
        assert_eq!(
            sentences(t).collect::<Vec<_>>(),
            t.unicode_sentences().collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_repository_s_docs_split_as_the_crate_splits_them() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut checked = 0;
        for dir in ["docs", "docs/eval"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(e.path()) else {
                    continue;
                };
                for para in text.split("\n\n").filter(|p| p.is_ascii()) {
                    assert_eq!(
                        Ascii::new(para).collect::<Vec<_>>(),
                        crate_bounds(para),
                        "{}",
                        e.path().display()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "only {checked} paragraphs read");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Any ASCII text, weighted to the characters the rules are about.
        #[test]
        fn same_sentences_as_the_crate(s in "[aZ0 .!?\"'(),:;\t\r\n\x0b\x0c\\[\\]{}#*bY9-]{0,40}") {
            prop_assert_eq!(Ascii::new(&s).collect::<Vec<_>>(), crate_bounds(&s));
            prop_assert_eq!(
                sentences(&s).collect::<Vec<_>>(),
                s.unicode_sentences().collect::<Vec<_>>()
            );
        }

        #[test]
        fn same_sentences_on_any_ascii(s in "[\\x00-\\x7f]{0,80}") {
            prop_assert_eq!(Ascii::new(&s).collect::<Vec<_>>(), crate_bounds(&s));
        }
    }
}
