//! Exec-form detection: decoding `["a", "b"]` the way upstream's `parseJSON` does (Go's
//! `encoding/json` into `[]any`), keeping the byte range of every string element.
//!
//! A small validating decoder instead of serde_json because we need element spans and Go's exact
//! acceptance rules (lone surrogates become U+FFFD, nesting limit 10000, numbers overflowing
//! float64 are an error). Nesting is tracked with an explicit stack, so hostile input cannot
//! overflow ours.

use super::words::RawWord;

/// Go's `encoding/json` maximum nesting depth.
const MAX_DEPTH: usize = 10_000;

/// Outcome of trying to read a line as a JSON array of strings.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JsonArray {
    /// Valid JSON array of strings: decoded elements with their literal ranges.
    Strings(Vec<RawWord>),
    /// Valid JSON array with a non-string element: upstream reports
    /// "when using JSON array syntax, arrays must be comprised of strings only".
    NotStrings,
    /// Not a JSON array (or not valid JSON): upstream falls back to the non-JSON form.
    NotJson,
}

/// Decodes `rest` (already trimmed on the left) if it is a JSON array.
pub(crate) fn parse_json_array(rest: &str) -> JsonArray {
    let start = rest.len() - rest.trim_start().len();
    if !rest[start..].starts_with('[') {
        return JsonArray::NotJson;
    }
    let mut p = Parser {
        s: rest.as_bytes(),
        src: rest,
        i: start,
    };
    match p.top_array() {
        Some(Elements {
            strings,
            all_strings,
        }) => {
            if all_strings {
                JsonArray::Strings(strings)
            } else {
                JsonArray::NotStrings
            }
        }
        None => JsonArray::NotJson,
    }
}

struct Elements {
    strings: Vec<RawWord>,
    all_strings: bool,
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// The whole input: `[ elem, ... ]` followed only by JSON whitespace.
    fn top_array(&mut self) -> Option<Elements> {
        self.skip_ws();
        if !self.eat(b'[') {
            return None;
        }
        let mut out = Elements {
            strings: Vec::new(),
            all_strings: true,
        };
        self.skip_ws();
        if !self.eat(b']') {
            loop {
                self.skip_ws();
                if self.peek() == Some(b'"') {
                    let start = self.i;
                    let text = self.string()?;
                    out.strings.push(RawWord {
                        text,
                        range: start..self.i,
                    });
                } else {
                    out.all_strings = false;
                    self.value(1)?;
                }
                self.skip_ws();
                if self.eat(b']') {
                    break;
                }
                if !self.eat(b',') {
                    return None;
                }
            }
        }
        self.skip_ws();
        (self.i == self.s.len()).then_some(out)
    }

    /// Validates one value of any kind without recursion; `depth` is the enclosing depth.
    fn value(&mut self, depth: usize) -> Option<()> {
        // Stack of open containers: true = object, false = array.
        let mut stack: Vec<bool> = Vec::new();
        loop {
            // Parse a value start.
            self.skip_ws();
            match self.peek()? {
                b'{' | b'[' => {
                    let is_obj = self.peek() == Some(b'{');
                    self.i += 1;
                    stack.push(is_obj);
                    if depth + stack.len() > MAX_DEPTH {
                        return None;
                    }
                    self.skip_ws();
                    let close = if is_obj { b'}' } else { b']' };
                    if self.eat(close) {
                        stack.pop();
                    } else {
                        if is_obj {
                            self.object_key()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => self.literal("true")?,
                b'f' => self.literal("false")?,
                b'n' => self.literal("null")?,
                _ => self.number()?,
            }
            // After a complete value: close containers or move to the next element.
            loop {
                let Some(&is_obj) = stack.last() else {
                    return Some(());
                };
                self.skip_ws();
                if self.eat(b',') {
                    if is_obj {
                        self.skip_ws();
                        self.object_key()?;
                    }
                    break;
                }
                if self.eat(if is_obj { b'}' } else { b']' }) {
                    stack.pop();
                    continue;
                }
                return None;
            }
        }
    }

    /// `"key" :` inside an object.
    fn object_key(&mut self) -> Option<()> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.string()?;
        self.skip_ws();
        self.eat(b':').then_some(())
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// A JSON number; one overflowing float64 is an error in Go's decoder too.
    fn number(&mut self) -> Option<()> {
        let start = self.i;
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.') {
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        let text = self.src.get(start..self.i)?;
        let v: f64 = text.parse().ok()?;
        v.is_finite().then_some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.src.get(self.i..self.i + 4)?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }

    /// A string literal starting at `"`, decoded.
    fn string(&mut self) -> Option<String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let rest = self.src.get(self.i..)?;
            let c = rest.chars().next()?;
            match c {
                '"' => {
                    self.i += 1;
                    return Some(out);
                }
                '\\' => {
                    self.i += 1;
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return None,
                    }
                }
                c if (c as u32) < 0x20 => return None,
                c => {
                    out.push(c);
                    self.i += c.len_utf8();
                }
            }
        }
    }

    /// After `\u`: four hex digits, combining a valid surrogate pair; a lone surrogate decodes to
    /// U+FFFD (and a following escape is then read on its own), as Go does.
    fn unicode_escape(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if !(0xD800..0xE000).contains(&hi) {
            return char::from_u32(hi);
        }
        if (0xD800..0xDC00).contains(&hi) && self.s[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            if let Some(lo) = self.hex4() {
                if (0xDC00..0xE000).contains(&lo) {
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return char::from_u32(c);
                }
            }
            self.i = save;
        }
        Some('\u{FFFD}')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &str) -> Vec<String> {
        match parse_json_array(s) {
            JsonArray::Strings(ws) => ws.into_iter().map(|w| w.text).collect(),
            other => panic!("{s:?} gave {other:?}"),
        }
    }

    #[test]
    fn decodes_strings_with_ranges() {
        let src = r#"[ "a", "b c" ]"#;
        let JsonArray::Strings(ws) = parse_json_array(src) else {
            panic!("not json")
        };
        assert_eq!(&src[ws[0].range.clone()], "\"a\"");
        assert_eq!(&src[ws[1].range.clone()], "\"b c\"");
        assert_eq!(strings("[]"), Vec::<String>::new());
        assert_eq!(
            strings(r#"["\" \\ \/ \b \f \n \r \t \u0000 \u2603"]"#),
            ["\" \\ / \u{8} \u{c} \n \r \t \0 ☃"]
        );
        assert_eq!(
            strings(r#"["\ud83d\ude00", "\ud800x", "\udc00"]"#),
            ["😀", "\u{FFFD}x", "\u{FFFD}"]
        );
    }

    #[test]
    fn non_strings_and_invalid_json() {
        assert_eq!(
            parse_json_array(r#"[ "echo", [ "nested json" ] ]"#),
            JsonArray::NotStrings
        );
        assert_eq!(
            parse_json_array(r#"["a", 1, {"k": [true, null]}]"#),
            JsonArray::NotStrings
        );
        for bad in [
            "['a']",
            r#"["a""#,
            r#"["a]"#,
            r#"["a",]"#,
            r#"["a"] x"#,
            r#"["a", 1e400]"#,
            r#"["a", 01]"#,
            "[\"a\tb\"]",
            "x",
            r#"["\x"]"#,
        ] {
            assert_eq!(parse_json_array(bad), JsonArray::NotJson, "{bad}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("[{}{}]", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(parse_json_array(&deep), JsonArray::NotJson);
        let ok = format!("[{}{}]", "[".repeat(100), "]".repeat(100));
        assert_eq!(parse_json_array(&ok), JsonArray::NotStrings);
    }
}
