//! Shell-style word processing (`$VAR`, `${VAR:-x}`, quotes, escapes), as
//! BuildKit's Dockerfile frontend does it.
//!
//! This is our own implementation of the behaviour of upstream's
//! `frontend/dockerfile/shell/lex.go` (`ProcessWord`, `ProcessWords`,
//! `ProcessWordWithMatches`). Dockerfile authors rely on those exact rules, so
//! we follow them rather than POSIX `sh`: only the forms listed below exist,
//! unset variables expand to the empty string, and there is no command
//! substitution, arithmetic, tilde expansion or globbing of file names.
//!
//! # Supported forms
//!
//! | form | result |
//! |------|--------|
//! | `$NAME`, `${NAME}` | value, or empty when unset |
//! | `${NAME:-word}` / `${NAME-word}` | `word` if unset-or-empty / unset |
//! | `${NAME:+word}` / `${NAME+word}` | `word` if set-and-non-empty / set |
//! | `${NAME:?msg}` / `${NAME?msg}` | error `NAME: msg` if unset-or-empty / unset |
//! | `${NAME#pat}` / `${NAME##pat}` | strip shortest / longest matching prefix |
//! | `${NAME%pat}` / `${NAME%%pat}` | strip shortest / longest matching suffix |
//! | `${NAME/pat/repl}` / `${NAME//pat/repl}` | replace first / every match |
//!
//! `word` is itself processed (quotes, escapes, nested `$…`). Patterns use
//! `*` and `?` wildcards and `\` escapes (details in the private `pattern` module);
//! `[...]` is literal, as upstream. Names are letters, digits and `_`; a name
//! starting with a digit is a positional parameter (`$1x` is `$1` then `x`)
//! and `@ * # ? - $ ! 0` are single-character special parameters. Neither
//! kind is ever set in a Dockerfile, so they expand to the empty string.
//!
//! # Which Dockerfile instructions use which options
//!
//! Upstream applies the lexer like this (and so should the stage planner):
//!
//! * Default options, escape from the `# escape=` directive, one word
//!   ([`Lexer::expand_word`]): `ENV` and `LABEL` keys and values, `ARG` names
//!   and defaults, `ADD`/`COPY` sources, destination, `--chown`, `--chmod`,
//!   `--checksum`, `COPY --from`, `WORKDIR`, `USER`, `VOLUME`, `STOPSIGNAL`,
//!   `RUN --mount`/`--network`/… flag values, and `FROM` image names and
//!   `--platform` (against the global `ARG`s only).
//! * Same options, split into several words ([`Lexer::expand_words`]):
//!   `EXPOSE` (each argument may become several ports).
//! * Escape `\` always, [`Lexer::skip_process_quotes`]: the bodies of
//!   `ADD`/`COPY` heredocs whose delimiter is unquoted.
//! * [`Lexer::raw_quotes`] + [`Lexer::skip_unset_env`]: only the progress
//!   display name of `RUN` (on error the original text is shown instead).
//! * Escape `\`, [`Lexer::skip_unset_env`], with and without
//!   [`Lexer::raw_quotes`]: heredoc delimiter detection (`<<EOF` vs `<<"EOF"`);
//!   with [`Lexer::raw_quotes`] + [`Lexer::raw_escapes`] too: splitting a
//!   line into words to find heredocs.
//! * Never expanded by the frontend: `RUN`, `CMD`, `ENTRYPOINT` (shell and
//!   exec form — the container's shell sees the text), `HEALTHCHECK`, `SHELL`,
//!   `ONBUILD`, `MAINTAINER`, and heredoc bodies of `RUN`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use process::Processor;

mod pattern;
mod process;
#[cfg(test)]
mod tests;

/// Where variable values come from. `None` means unset, which is different
/// from set-but-empty for `${A-x}`, `${A+x}` and `${A?x}`.
///
/// Lookups are exact (case-sensitive, as on Linux); an implementation for
/// Windows targets may normalise case itself.
pub trait Env {
    /// The value of `name`, or `None` when it is unset.
    fn get(&self, name: &str) -> Option<&str>;
}

/// A map is the natural store for a stage's `ENV`/`ARG` state.
impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

/// Same as the `BTreeMap` impl, for callers that already hold a `HashMap`.
impl<S: BuildHasher> Env for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

/// An ordered list of definitions; like upstream's env slices, a later entry
/// overrides an earlier one with the same name.
impl Env for [(String, String)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Same as the slice impl (later entries win), so `&vec` can be passed as `&dyn Env`.
impl Env for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<&str> {
        Env::get(self.as_slice(), name)
    }
}

/// Lets a reference be passed where `&dyn Env` is needed even when the
/// referent is unsized: `&list.as_slice()`.
impl<T: Env + ?Sized> Env for &T {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
}

/// An environment in which nothing is set (upstream's `emptyEnvs`), for tests.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NoEnv;

/// Nothing is ever set.
#[cfg(test)]
impl Env for NoEnv {
    fn get(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// Why a word could not be processed. The messages are upstream's; upstream
/// additionally prefixes them with `failed to process "<word>": `, which
/// callers that want identical output should add.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// `${` without its closing `}` (e.g. `${A`, `${A:-x`, `${`).
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    /// `${A/pat` without the `/` that ends the pattern.
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    /// `${}`, `${{…}`, `${:…}`.
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    /// The processed word would be longer than [`Lexer::max_len`] ([`MAX_WORD_LEN`], or
    /// the template layer's budget), so `${A//?/$A}` or `ENV A=$A$A` cannot grow out of
    /// memory.
    #[error("the expanded text is longer than {limit} bytes")]
    TooLong {
        /// The bound, in bytes.
        limit: usize,
    },
    /// An operator that upstream does not support, e.g. `${A:=x}`, `${A.x}`,
    /// `${A:#x}`. Holds the operator text as upstream prints it.
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(String),
    /// `${A?msg}` / `${A:?msg}` with `A` unset (or empty, for `:?`).
    #[error("{name}: {message}")]
    Required {
        /// The variable that was required.
        name: String,
        /// The user's message, or upstream's default text.
        message: String,
    },
    /// A `#`, `%` or `/` pattern with a bad escape such as `\a`.
    #[error("invalid pattern ({pattern}) in substitution: {reason}")]
    InvalidPattern {
        /// The pattern as written (after quote removal and expansion).
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `'` without its closing quote.
    #[error("unexpected end of statement while looking for matching single-quote")]
    UnterminatedSingleQuote,
    /// A `"` without its closing quote.
    #[error("unexpected end of statement while looking for matching double-quote")]
    UnterminatedDoubleQuote,
}

/// The result of [`Lexer::expand_word`]: the processed word plus which
/// variables it referenced, so callers can lint unused or undefined build
/// arguments (upstream's `ProcessWordWithMatches`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expanded {
    /// The word with quotes removed, escapes processed and variables expanded.
    pub value: String,
    /// Names that were looked up and found set (possibly to "").
    pub used: BTreeSet<String>,
    /// Names that were looked up and found unset (includes positional and
    /// special parameters such as `1` or `@`, as upstream reports them).
    pub unset: BTreeSet<String>,
}

/// Word processor configuration, mirroring upstream's `shell.Lex` options.
/// Construct with [`Lexer::new`] and flip the public flags as needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexer {
    /// The escape character: `\` by default, `` ` `` after `# escape=``.
    /// With a backtick, `\` is an ordinary character (Windows paths).
    pub escape: char,
    /// Keep quote characters in the output (quoted text is still protected
    /// from word splitting, and single-quoted text from expansion).
    pub raw_quotes: bool,
    /// Keep escape characters in the output (the escaped character is still
    /// taken literally).
    pub raw_escapes: bool,
    /// Leave references to unset variables as written (`$A`, `${A:-x}`)
    /// instead of expanding them; unset `${A?msg}` is then not an error.
    pub skip_unset_env: bool,
    /// Treat `'` and `"` as ordinary characters (heredoc bodies).
    pub skip_process_quotes: bool,
    /// The longest result (in bytes, of the word and of each `${…}` in it) before
    /// processing stops with [`ExpandError::TooLong`]: [`MAX_WORD_LEN`] by default; the
    /// template layer lowers it to what its budget has left.
    pub max_len: usize,
}

/// The longest word any expansion may produce: 1 MiB. Upstream has no bound, but there
/// `ENV A=$A$A` repeated 28 times asks for 256 MiB of one value and a shared builder runs
/// out of memory; no real build arg, path or command line comes near a mebibyte.
pub const MAX_WORD_LEN: usize = 1 << 20;

/// `\` escape, all options off: what most instructions use.
impl Default for Lexer {
    fn default() -> Self {
        Lexer::new('\\')
    }
}

impl Lexer {
    /// A lexer with the given escape character and all options off.
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset_env: false,
            skip_process_quotes: false,
            max_len: MAX_WORD_LEN,
        }
    }

    /// Processes one word: quotes removed, escapes processed, variables
    /// expanded; whitespace is kept as is (upstream `ProcessWord` /
    /// `ProcessWordWithMatches`).
    pub fn expand_word(&self, word: &str, env: &dyn Env) -> Result<Expanded, ExpandError> {
        if self.is_plain(word) {
            self.fits(word)?;
            return Ok(Expanded {
                value: word.to_owned(),
                ..Expanded::default()
            });
        }
        let mut p = Processor::new(self, word, env);
        let (value, _) = p.until(None, self.raw_escapes)?;
        Ok(Expanded {
            value,
            used: p.used,
            unset: p.unset,
        })
    }

    /// Processes `word` like [`Lexer::expand_word`] and then splits the result
    /// on whitespace that was neither quoted nor escaped (upstream
    /// `ProcessWords`). Whitespace coming from an unquoted expansion does
    /// split; empty words (e.g. from `""`) are dropped.
    pub fn expand_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, ExpandError> {
        if self.is_plain(word) {
            self.fits(word)?;
            let words = word.split(char::is_whitespace).filter(|w| !w.is_empty());
            return Ok(words.map(str::to_owned).collect());
        }
        let mut p = Processor::new(self, word, env);
        let (_, words) = p.until(None, self.raw_escapes)?;
        Ok(words)
    }

    /// Whether processing would give `word` back unchanged: no `$`, quote, escape
    /// character, `<` (a heredoc marker) or leading byte-order mark. Most words of a
    /// Dockerfile are plain, and this skips the character-by-character pass for them
    /// (the results are the same: `tests::plain_words_take_the_short_way_to_the_same_result`).
    fn is_plain(&self, word: &str) -> bool {
        !word.starts_with('\u{feff}')
            && !word
                .chars()
                .any(|c| matches!(c, '$' | '<' | '\'' | '"') || c == self.escape)
    }

    /// [`ExpandError::TooLong`] when `word` is longer than [`Lexer::max_len`].
    fn fits(&self, word: &str) -> Result<(), ExpandError> {
        if word.len() > self.max_len {
            return Err(ExpandError::TooLong {
                limit: self.max_len,
            });
        }
        Ok(())
    }
}

/// Whether `name` is a variable name that `$name` would reference in full:
/// non-empty, only letters, digits and `_`, and not starting with a digit.
/// Upstream accepts any `ARG`/`ENV` key, so this is for linting and for the
/// extended syntax, not a reason to reject standard Dockerfiles.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if is_name_char(c) && !c.is_ascii_digit() => chars.all(is_name_char),
        _ => false,
    }
}

/// Characters allowed in a variable name. Upstream uses Go's
/// `unicode.IsLetter || unicode.IsDigit || '_'`; ASCII is exact, other
/// scripts are approximated with Rust's alphanumeric classes (minus the
/// Latin-1 superscripts and fractions, which Go rejects).
pub(crate) fn is_name_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    c.is_alphanumeric() && !matches!(c, '\u{b2}' | '\u{b3}' | '\u{b9}' | '\u{bc}'..='\u{be}')
}
