//! The slice of upstream's shell lexer (`shell.Lex.ProcessWords`) that heredoc detection needs.
//!
//! Upstream finds heredocs by running its shell word splitter over the whole logical line with an
//! empty environment and "skip unset variables", so `$X` / `${X:-y}` come back as written, then
//! matching each word against `<<WORD`. Its quirks decide which lines have heredocs (an unmatched
//! quote disables detection, `<< EOF` is one word, ...), so this follows it closely, including its
//! shared word buffer that a nested `${...}` clears. The escape character here is always `\`,
//! whatever the `escape` directive says, as upstream hard-codes it.

/// Options for one lexing run.
#[derive(Clone, Copy)]
pub(crate) struct LexOptions {
    /// Keep quote characters in the output (`RawQuotes`).
    pub raw_quotes: bool,
    /// Keep escape characters in the output (`RawEscapes`).
    pub raw_escapes: bool,
}

/// The escape character upstream's heredoc lexers use.
const ESCAPE: char = '\\';

/// How deeply `${...}` may nest before lexing gives up with an error. Upstream recurses without
/// limit (Go stacks grow); we must not overflow ours on hostile input.
const MAX_NESTING: usize = 64;

/// Splits `input` into words as `ProcessWords` does with an empty environment and
/// `SkipUnsetEnv`; `Err` carries upstream's error text.
pub(crate) fn process_words(input: &str, opts: LexOptions) -> Result<Vec<String>, String> {
    let mut lx = Lexer {
        chars: input.chars().collect(),
        pos: 0,
        raw_quotes: opts.raw_quotes,
        raw_escapes: opts.raw_escapes,
        words_buf: String::new(),
        depth: 0,
    };
    let raw = lx.raw_escapes;
    lx.stop_on(None, raw).map(|(_, words)| words)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    raw_quotes: bool,
    raw_escapes: bool,
    /// Upstream shares one word buffer across nested calls; nested `${...}` resets it.
    words_buf: String,
    /// Current `${...}` nesting.
    depth: usize,
}

/// Upstream's per-call `wordsStruct` (its buffer lives in the lexer).
struct Words {
    words: Vec<String>,
    in_word: bool,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn add_char(&mut self, w: &mut Words, ch: char) {
        if ch.is_whitespace() {
            if w.in_word && !self.words_buf.is_empty() {
                w.words.push(std::mem::take(&mut self.words_buf));
                w.in_word = false;
            }
        } else {
            self.add_raw_char(w, ch);
        }
    }

    fn add_raw_char(&mut self, w: &mut Words, ch: char) {
        self.words_buf.push(ch);
        w.in_word = true;
    }

    fn add_string(&mut self, w: &mut Words, s: &str) {
        for ch in s.chars() {
            self.add_char(w, ch);
        }
    }

    fn add_raw_string(&mut self, w: &mut Words, s: &str) {
        self.words_buf.push_str(s);
        w.in_word = true;
    }

    fn get_words(&mut self, mut w: Words) -> Vec<String> {
        if !self.words_buf.is_empty() {
            w.words.push(std::mem::take(&mut self.words_buf));
        }
        w.words
    }

    /// `processStopOn`: temporarily switches raw-escape mode, restoring it on every path.
    fn stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), String> {
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let r = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        r
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), String> {
        let mut result = String::new();
        self.words_buf.clear();
        let mut w = Words {
            words: Vec::new(),
            in_word: false,
        };
        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.next();
                let words = self.get_words(w);
                return Ok((result, words));
            }
            match ch {
                '$' => {
                    let tmp = self.dollar()?;
                    result.push_str(&tmp);
                    self.add_string(&mut w, &tmp);
                }
                '<' => {
                    let tmp = self.possible_heredoc();
                    result.push_str(&tmp);
                    self.add_raw_string(&mut w, &tmp);
                }
                '\'' => {
                    let tmp = self.single_quote()?;
                    result.push_str(&tmp);
                    self.add_raw_string(&mut w, &tmp);
                }
                '"' => {
                    let tmp = self.double_quote()?;
                    result.push_str(&tmp);
                    self.add_raw_string(&mut w, &tmp);
                }
                _ => {
                    self.next();
                    if ch == ESCAPE {
                        if self.raw_escapes {
                            self.add_raw_char(&mut w, ch);
                            result.push(ch);
                        }
                        let Some(escaped) = self.next() else {
                            break;
                        };
                        self.add_raw_char(&mut w, escaped);
                        result.push(escaped);
                    } else {
                        self.add_char(&mut w, ch);
                        result.push(ch);
                    }
                }
            }
        }
        if let Some(stop) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        let words = self.get_words(w);
        Ok((result, words))
    }

    fn single_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let open = self.next();
        if self.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                }
                Some('\'') => {
                    if self.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let open = self.next();
        if self.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    )
                }
                Some('"') => {
                    self.next();
                    if self.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    out.push_str(&v);
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or(ESCAPE);
                    if ch == ESCAPE {
                        if self.raw_escapes {
                            out.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some('"' | '$' | ESCAPE) => ch = self.next().unwrap_or(ESCAPE),
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    /// `$name`, `${name}`, `${name<op>word}`: with every variable unset and skipped, these come
    /// back (nearly) as written; malformed forms are errors.
    fn dollar(&mut self) -> Result<String, String> {
        if self.depth >= MAX_NESTING {
            return Err("variable substitutions nested too deeply".into());
        }
        self.depth += 1;
        let r = self.dollar_inner();
        self.depth -= 1;
        r
    }

    fn dollar_inner(&mut self) -> Result<String, String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(format!("${name}"));
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            Some(_) => {}
        }
        let name = self.name();
        let ch = self.next();
        let ch_str = |c: Option<char>| c.map_or('\u{FFFD}', |c| c).to_string();
        match ch {
            Some('}') => Ok(format!("${{{name}}}")),
            Some(':' | '+' | '-' | '?' | '#' | '%') => {
                let mut chs = ch_str(ch);
                let mut op = ch;
                let null_is_unset = ch == Some(':');
                if null_is_unset {
                    op = self.next();
                    chs.push_str(&ch_str(op));
                }
                let raw = matches!(op, Some('#' | '%'));
                if null_is_unset && raw {
                    return Err(format!("unsupported modifier ({chs}) in substitution"));
                }
                let word = match self.stop_on(Some('}'), raw) {
                    Ok((word, _)) => word,
                    Err(e) => {
                        if self.peek().is_none() {
                            return Err("syntax error: missing '}'".into());
                        }
                        return Err(e);
                    }
                };
                Ok(format!("${{{name}{chs}{word}}}"))
            }
            Some('/') => {
                if self.peek() == Some('/') {
                    self.next();
                }
                let pattern = match self.stop_on(Some('/'), true) {
                    Ok((p, _)) => p,
                    Err(e) => {
                        if self.peek().is_none() {
                            return Err("syntax error: missing '/' in ${}".into());
                        }
                        return Err(e);
                    }
                };
                let replacement = match self.stop_on(Some('}'), true) {
                    Ok((r, _)) => r,
                    Err(e) => {
                        if self.peek().is_none() {
                            return Err("syntax error: missing '}'".into());
                        }
                        return Err(e);
                    }
                };
                Ok(format!("${{{name}/{pattern}/{replacement}}}"))
            }
            other => Err(format!(
                "unsupported modifier ({}) in substitution",
                ch_str(other)
            )),
        }
    }

    /// `processName`: digits, one special parameter, or letters/digits/underscores.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_go_digit(ch) {
                while let Some(d) = self.peek().filter(|&c| is_go_digit(c)) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphabetic() && !is_go_digit(ch) && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    /// `<` alone, or `<<` plus any blanks after it (kept in the same word, so `<< EOF` is one
    /// word).
    fn possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut out = String::from("<<");
        while let Some(c) = self.peek().filter(|c| matches!(c, '\t' | '\r' | ' ')) {
            out.push(c);
            self.next();
        }
        out
    }
}

/// Go's `unicode.IsDigit` (category Nd); ASCII plus the common decimal-digit blocks is close
/// enough for variable names, which is all this is used for.
fn is_go_digit(c: char) -> bool {
    c.is_ascii_digit() || is_nd(c)
}

/// Non-ASCII decimal digits: each Nd block is a run of ten starting at a code point ending in 0
/// or 6; approximated by the blocks most likely in practice.
fn is_nd(c: char) -> bool {
    let u = c as u32;
    [
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
        0x0D66, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x17E0, 0x1810, 0xFF10,
    ]
    .iter()
    .any(|&b| (b..b + 10).contains(&u))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: LexOptions = LexOptions {
        raw_quotes: true,
        raw_escapes: true,
    };
    const COOKED: LexOptions = LexOptions {
        raw_quotes: false,
        raw_escapes: false,
    };

    #[test]
    fn raw_words_keep_quotes_and_escapes() {
        assert_eq!(
            process_words(r#"RUN cat <<"EOF" > 'a b' \x"#, RAW).unwrap_or_default(),
            ["RUN", "cat", "<<\"EOF\"", ">", "'a b'", "\\x"]
        );
        assert_eq!(
            process_words("COPY << EOF /x", RAW).unwrap_or_default(),
            ["COPY", "<< EOF", "/x"]
        );
    }

    #[test]
    fn cooked_words_strip_quotes() {
        assert_eq!(
            process_words(r#"e'o'"f""#, COOKED).unwrap_or_default(),
            ["eof"]
        );
        assert_eq!(
            process_words("$A ${B} ${C:-x}", COOKED).unwrap_or_default(),
            ["$A", "${B}", "${C:-x}"]
        );
    }

    #[test]
    fn errors() {
        assert!(process_words("'abc", RAW).is_err());
        assert!(process_words("\"abc", RAW).is_err());
        assert!(process_words("${", RAW).is_err());
        assert!(process_words("${}", RAW).is_err());
        assert!(process_words("${a!}", RAW).is_err());
        assert!(process_words("${a:-x", RAW).is_err());
    }

    #[test]
    fn nested_substitution_resets_the_shared_word_buffer() {
        // Upstream quirk: text before a `${x:-y}` in the same word is lost.
        assert_eq!(
            process_words("foo${a:-b}", COOKED).unwrap_or_default(),
            ["${a:-b}"]
        );
    }

    #[test]
    fn digits() {
        assert!(is_go_digit('7'));
        assert!(is_go_digit('٣'));
        assert!(!is_go_digit('x'));
    }
}
