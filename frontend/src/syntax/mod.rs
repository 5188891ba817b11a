//! Dockerfile syntax: bytes → logical lines → AST with byte spans. Never fails, never does I/O.
//!
//! This reproduces the behaviour of BuildKit's Dockerfile parser (`frontend/dockerfile/parser`):
//! parser directives, comments, line continuations, per-keyword argument splitting, JSON exec
//! form and heredocs. Where upstream would return an error we return the best tree we can plus an
//! `Error` [`Diagnostic`]. Keywords are not validated, so extension instructions parse as generic
//! words and later layers decide what they mean.

mod ast;
mod directives;
pub mod dump;
mod heredoc;
mod instruction;
mod json;
mod logical;
mod parser;
mod quote;
mod shlex;
mod span;
#[cfg(test)]
mod tests;
mod words;

pub use ast::{
    Args, Diagnostic, Directive, Dockerfile, Flag, Heredoc, Instruction, KeyValue, Severity, Word,
};
pub use dump::dump;
pub use quote::go_quote;
pub use span::{LineIndex, Span};

/// Parses Dockerfile text. Never fails and never panics: problems become [`Diagnostic`]s.
///
/// A leading byte-order mark is skipped; spans stay relative to `source` as given (so they start
/// at 3 after a BOM).
pub fn parse(source: &str) -> Dockerfile {
    parser::parse_source(source)
}

/// Parses raw Dockerfile bytes, as the frontend receives them from the build context.
///
/// Valid UTF-8 (with or without BOM) parses exactly like [`parse`], spans indexing `bytes`.
/// Invalid UTF-8 is replaced with U+FFFD (`String::from_utf8_lossy`) and reported as a warning spanning
/// the first replacement char; spans then index the replaced text, which matches `bytes` only up to that
/// point. (Upstream passes the bytes through; they can only matter inside arguments.)
pub fn parse_bytes(bytes: &[u8]) -> Dockerfile {
    match std::str::from_utf8(bytes) {
        Ok(s) => parse(s),
        Err(e) => {
            let text = String::from_utf8_lossy(bytes);
            let mut df = parse(&text);
            let at = e.valid_up_to();
            df.diagnostics.insert(
                0,
                Diagnostic {
                    span: Span::new(at, at + '\u{FFFD}'.len_utf8()),
                    message:
                        "Dockerfile is not valid UTF-8; invalid bytes were replaced with U+FFFD"
                            .into(),
                    severity: Severity::Warning,
                    rule: None,
                },
            );
            df
        }
    }
}

/// Whether `text` (a shell-form command) is exactly one heredoc marker, as upstream's
/// `MustParseHeredoc` decides whether `RUN <<EOF` / `RUN << EOF` runs the body itself.
pub fn is_heredoc_word(text: &str) -> bool {
    heredoc::parse_heredoc_word(text).ok().flatten().is_some()
}

/// A hint for an instruction with too many arguments when one after the first starts with
/// `#`: the writer meant a trailing comment, which Dockerfiles do not have (a `#` starts a
/// comment only at the start of a line). Empty otherwise, so callers append it as is.
pub fn trailing_comment_hint(words: &[Word]) -> &'static str {
    if words.iter().skip(1).any(|w| w.text.starts_with('#')) {
        " (Dockerfiles have no trailing comments: a `#` after an instruction is one of its \
         arguments; put the comment on a line of its own above it)"
    } else {
        ""
    }
}
