//! The lexer proper: one left-to-right pass over a word, producing the
//! processed text and its word-split form. Structured like upstream's
//! `shellWord` so that edge cases (what is consumed when, which errors win)
//! come out the same.

use std::collections::BTreeSet;

use super::{is_name_char, pattern, Env, ExpandError, Lexer};

/// POSIX special parameters: `$@`, `$#`, … are one character long.
fn is_special_param(c: char) -> bool {
    matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}

/// Whitespace for `<< EOF`: upstream keeps it attached to the `<<`.
fn is_heredoc_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r')
}

/// Accumulates the word-split view of the output for [`Lexer::expand_words`].
#[derive(Default)]
struct Words {
    done: Vec<String>,
    buf: String,
    in_word: bool,
}

impl Words {
    /// A character that splits words if it is whitespace.
    fn push_splitting(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.done.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.push_literal(c);
        }
    }

    /// A character that is part of the current word even if it is whitespace.
    fn push_literal(&mut self, c: char) {
        self.buf.push(c);
        self.in_word = true;
    }

    fn push_str_splitting(&mut self, s: &str) {
        s.chars().for_each(|c| self.push_splitting(c));
    }

    fn push_str_literal(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.done.push(self.buf);
        }
        self.done
    }
}

/// One pass over one word: a character cursor plus the lookups made so far.
pub(super) struct Processor<'a> {
    lexer: &'a Lexer,
    env: &'a dyn Env,
    chars: Vec<char>,
    pos: usize,
    pub(super) used: BTreeSet<String>,
    pub(super) unset: BTreeSet<String>,
}

impl<'a> Processor<'a> {
    pub(super) fn new(lexer: &'a Lexer, word: &str, env: &'a dyn Env) -> Self {
        // Go's text/scanner silently drops a leading byte-order mark.
        let word = word.strip_prefix('\u{feff}').unwrap_or(word);
        Processor {
            lexer,
            env,
            chars: word.chars().collect(),
            pos: 0,
            used: BTreeSet::new(),
            unset: BTreeSet::new(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Whether output of `len` bytes is within [`Lexer::max_len`].
    fn fits(&self, len: usize) -> Result<(), ExpandError> {
        let limit = self.lexer.max_len;
        if len > limit {
            return Err(ExpandError::TooLong { limit });
        }
        Ok(())
    }

    fn lookup(&mut self, name: &str) -> Option<&'a str> {
        let env = self.env;
        let value = env.get(name);
        if value.is_some() {
            self.used.insert(name.to_owned());
        } else {
            self.unset.insert(name.to_owned());
        }
        value
    }

    /// Processes up to (and consuming) `stop`, or to the end when `stop` is
    /// `None`. Returns the processed text and its word-split form.
    pub(super) fn until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let mut out = String::new();
        let mut words = Words::default();
        let quotes = !self.lexer.skip_process_quotes;
        while let Some(c) = self.peek() {
            self.fits(out.len())?;
            if Some(c) == stop {
                self.bump();
                return Ok((out, words.finish()));
            }
            match c {
                '$' => {
                    let s = self.dollar()?;
                    out.push_str(&s);
                    words.push_str_splitting(&s);
                }
                '<' => {
                    let s = self.heredoc_marker();
                    out.push_str(&s);
                    words.push_str_literal(&s);
                }
                '\'' if quotes => {
                    let s = self.single_quoted()?;
                    out.push_str(&s);
                    words.push_str_literal(&s);
                }
                '"' if quotes => {
                    let s = self.double_quoted(raw_escapes)?;
                    out.push_str(&s);
                    words.push_str_literal(&s);
                }
                _ => {
                    self.bump();
                    if c == self.lexer.escape {
                        if raw_escapes {
                            out.push(c);
                            words.push_literal(c);
                        }
                        // An escape at the very end is dropped.
                        let Some(escaped) = self.bump() else { break };
                        out.push(escaped);
                        words.push_literal(escaped);
                    } else {
                        out.push(c);
                        words.push_splitting(c);
                    }
                }
            }
        }
        self.fits(out.len())?;
        match stop {
            None => Ok((out, words.finish())),
            Some('/') => Err(ExpandError::MissingSlash),
            Some(_) => Err(ExpandError::MissingBrace),
        }
    }

    /// `'…'`: everything literal up to the next `'`; there is no escape.
    fn single_quoted(&mut self) -> Result<String, ExpandError> {
        self.bump();
        let raw = self.lexer.raw_quotes;
        let mut out = String::new();
        if raw {
            out.push('\'');
        }
        loop {
            match self.bump() {
                None => return Err(ExpandError::UnterminatedSingleQuote),
                Some('\'') => {
                    if raw {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// `"…"`: `$` expands; the escape character escapes only `"`, `$` and
    /// itself and is kept literally before anything else.
    fn double_quoted(&mut self, raw_escapes: bool) -> Result<String, ExpandError> {
        self.bump();
        let raw = self.lexer.raw_quotes;
        let escape = self.lexer.escape;
        let mut out = String::new();
        if raw {
            out.push('"');
        }
        loop {
            self.fits(out.len())?;
            match self.peek() {
                None => return Err(ExpandError::UnterminatedDoubleQuote),
                Some('"') => {
                    self.bump();
                    if raw {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let s = self.dollar()?;
                    out.push_str(&s);
                }
                Some(mut c) => {
                    self.bump();
                    if c == escape {
                        if raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            // Reported as an unterminated quote next round.
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == escape => {
                                self.bump();
                                c = n;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    /// `<` or `<<` plus following blanks, kept together so that `<< EOF`
    /// stays one word when splitting.
    fn heredoc_marker(&mut self) -> String {
        self.bump();
        if self.peek() != Some('<') {
            return "<".to_owned();
        }
        self.bump();
        let mut out = "<<".to_owned();
        while let Some(c) = self.peek().filter(|c| is_heredoc_space(*c)) {
            out.push(c);
            self.bump();
        }
        out
    }

    /// A variable or parameter name; empty if there is none at the cursor.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && c.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.bump();
                }
                return name;
            }
            if name.is_empty() && is_special_param(c) {
                self.bump();
                return c.to_string();
            }
            if !is_name_char(c) {
                break;
            }
            name.push(c);
            self.bump();
        }
        name
    }

    /// Everything starting at a `$`.
    fn dollar(&mut self) -> Result<String, ExpandError> {
        self.bump();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(match self.lookup(&name) {
                Some(v) => v.to_owned(),
                None if self.lexer.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.bump();
        match self.peek() {
            None => return Err(ExpandError::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandError::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        // Upstream reports "unsupported modifier (\u{fffd})" here.
        let Some(op) = self.bump() else {
            return Err(ExpandError::MissingBrace);
        };
        match op {
            '}' => Ok(match self.lookup(&name) {
                Some(v) => v.to_owned(),
                None if self.lexer.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            ':' => {
                let Some(op) = self.bump() else {
                    return Err(ExpandError::MissingBrace);
                };
                self.modifier(&name, op, true)
            }
            '+' | '-' | '?' | '#' | '%' => self.modifier(&name, op, false),
            '/' => self.replace(&name),
            other => Err(ExpandError::UnsupportedModifier(other.to_string())),
        }
    }

    /// `${name<op>word}` and `${name:<op>word}`; the cursor is after `<op>`.
    fn modifier(&mut self, name: &str, op: char, colon: bool) -> Result<String, ExpandError> {
        let text = if colon {
            format!(":{op}")
        } else {
            op.to_string()
        };
        let is_pattern = op == '#' || op == '%';
        if colon && is_pattern {
            return Err(ExpandError::UnsupportedModifier(text));
        }
        let word = self.nested('}', is_pattern)?;
        let found = self.lookup(name);
        if found.is_none() && self.lexer.skip_unset_env {
            return Ok(format!("${{{name}{text}{word}}}"));
        }
        let set = found.is_some();
        let value = found.unwrap_or("");
        // `${A-x}` treats only unset as missing, `${A:-x}` empty too.
        let missing = !set || (colon && value.is_empty());
        match op {
            '-' if missing => Ok(word),
            '-' => Ok(value.to_owned()),
            '+' if missing => Ok(String::new()),
            '+' => Ok(word),
            '?' if !set => Err(required(name, word, "is not allowed to be unset")),
            '?' if missing => Err(required(name, word, "is not allowed to be empty")),
            '?' => Ok(value.to_owned()),
            '#' | '%' => {
                let (longest, pat) = match word.strip_prefix(op) {
                    Some(rest) => (true, rest),
                    None => (false, word.as_str()),
                };
                if op == '#' {
                    pattern::trim_prefix(pat, value, longest)
                } else {
                    pattern::trim_suffix(pat, value, longest)
                }
            }
            _ => Err(ExpandError::UnsupportedModifier(text)),
        }
    }

    /// `${name/pat/repl}` and `${name//pat/repl}`; the cursor is after the
    /// first `/`.
    fn replace(&mut self, name: &str) -> Result<String, ExpandError> {
        let all = self.peek() == Some('/');
        if all {
            self.bump();
        }
        let pat = self.nested('/', true)?;
        let repl = self.nested('}', true)?;
        match self.lookup(name) {
            // Upstream prints a single '/' here even for `//` (a bug we do
            // not reproduce: the text is shown to users).
            None if self.lexer.skip_unset_env => {
                let slashes = if all { "//" } else { "/" };
                Ok(format!("${{{name}{slashes}{pat}/{repl}}}"))
            }
            value => pattern::replace(&pat, value.unwrap_or(""), &repl, all, self.lexer.max_len),
        }
    }

    /// The word inside `${…}` up to `stop`. Any failure that ran into the end
    /// of input is reported as the missing terminator, as upstream does.
    fn nested(&mut self, stop: char, raw_escapes: bool) -> Result<String, ExpandError> {
        match self.until(Some(stop), raw_escapes) {
            Ok((s, _)) => Ok(s),
            Err(e @ ExpandError::TooLong { .. }) => Err(e),
            Err(_) if self.peek().is_none() => Err(if stop == '/' {
                ExpandError::MissingSlash
            } else {
                ExpandError::MissingBrace
            }),
            Err(e) => Err(e),
        }
    }
}

fn required(name: &str, word: String, default: &str) -> ExpandError {
    let message = if word.is_empty() {
        default.to_owned()
    } else {
        word
    };
    ExpandError::Required {
        name: name.to_owned(),
        message,
    }
}
