//! Word splitters for a logical line, each mirroring one of upstream's helpers.
//!
//! All of them return byte ranges relative to the `&str` they are given, so the caller can map
//! them back to source spans. None of them allocate per char beyond the word text itself.

use std::ops::Range;

/// A word cut out of a line: its text (as the splitter defines it) and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawWord {
    /// The word's text.
    pub text: String,
    /// Byte range in the input line.
    pub range: Range<usize>,
}

/// Upstream's `reWhitespace`: `[\t\v\f\r ]+` (ASCII only, no newline).
pub(crate) fn is_re_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\u{0b}' | '\u{0c}' | '\r' | ' ')
}

/// `strings.TrimSpace` as a range: Go's `unicode.IsSpace` is the Unicode White_Space property,
/// the same set as `char::is_whitespace`.
pub(crate) fn trim_space_range(s: &str) -> Range<usize> {
    let start = s.len() - s.trim_start().len();
    let end = s.trim_end().len().max(start);
    start..end
}

/// Upstream's `reWhitespace.Split(s, -1)` for a trimmed string: words separated by runs of ASCII
/// whitespace (`parseStringsWhitespaceDelimited`). Callers pass `strings.TrimSpace`d text, so
/// Go's empty leading/trailing pieces cannot occur.
pub(crate) fn split_ascii_whitespace_runs(s: &str) -> Vec<RawWord> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        if is_re_whitespace(c) {
            if let Some(st) = start.take() {
                out.push(RawWord {
                    text: s[st..i].to_owned(),
                    range: st..i,
                });
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push(RawWord {
            text: s[st..].to_owned(),
            range: st..s.len(),
        });
    }
    out
}

/// Upstream's `reWhitespace.Split(s, 2)`: the text before the first ASCII whitespace run and the
/// range of everything after that run (`None` when there is no whitespace).
pub(crate) fn split_first_ascii_whitespace(s: &str) -> (Range<usize>, Option<Range<usize>>) {
    let Some(sep) = s.find(is_re_whitespace) else {
        return (0..s.len(), None);
    };
    let after = s[sep..]
        .find(|c: char| !is_re_whitespace(c))
        .map_or(s.len(), |n| sep + n);
    (0..sep, Some(after..s.len()))
}

/// Result of [`extract_flags`].
pub(crate) struct FlagSplit {
    /// Flag words, quotes and escapes processed, in order.
    pub flags: Vec<RawWord>,
    /// Where the remaining (non-flag) text starts in the input.
    pub rest_start: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Spaces,
    Word,
    Quote,
}

/// Upstream's `extractBuilderFlags`: leading words starting with `--` are flags; a bare `--` ends
/// them. Quotes are removed and the escape character escapes the next char, inside or outside
/// quotes. (Upstream walks bytes and re-encodes each as a rune, mangling non-ASCII text; we walk
/// chars.)
pub(crate) fn extract_flags(line: &str, escape: char) -> FlagSplit {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let n = chars.len();
    let mut flags = Vec::new();
    let mut phase = Phase::Spaces;
    let mut buf = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word_start = 0;
    let mut i = 0;
    loop {
        let at_end = i >= n;
        let (pos, mut ch) = chars.get(i).copied().unwrap_or((line.len(), '\0'));
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                i += 1;
                continue;
            }
            let next_is_dash = chars.get(i + 1).is_some_and(|&(_, c)| c == '-');
            if ch != '-' || !next_is_dash {
                return FlagSplit {
                    flags,
                    rest_start: pos,
                };
            }
            phase = Phase::Word;
            word_start = pos;
        }
        if at_end {
            if buf != "--" && (blank_ok || !buf.is_empty()) {
                flags.push(RawWord {
                    text: std::mem::take(&mut buf),
                    range: word_start..line.len(),
                });
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if buf == "--" {
                    return FlagSplit {
                        flags,
                        rest_start: pos,
                    };
                }
                if blank_ok || !buf.is_empty() {
                    flags.push(RawWord {
                        text: std::mem::take(&mut buf),
                        range: word_start..pos,
                    });
                }
                buf.clear();
                blank_ok = false;
                i += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                i += 1;
                continue;
            }
            if ch == escape {
                if i + 1 == n {
                    i += 1;
                    continue;
                }
                i += 1;
                ch = chars[i].1;
            }
            buf.push(ch);
            i += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
            i += 1;
            continue;
        }
        if ch == escape {
            if i + 1 == n {
                phase = Phase::Word;
                i += 1;
                continue;
            }
            i += 1;
            ch = chars[i].1;
        }
        buf.push(ch);
        i += 1;
    }
    FlagSplit {
        flags,
        rest_start: line.len(),
    }
}

/// Upstream's `parseWords` (used by ENV, LABEL, ARG): whitespace-separated words where quoted
/// sections may contain spaces. Quotes and escapes are kept in the text; only an escape character
/// at the very end of the line is dropped.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<RawWord> {
    let chars: Vec<(usize, char)> = rest.char_indices().collect();
    let n = chars.len();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut buf = String::new();
    let mut word_start = 0;
    let mut i = 0;
    loop {
        let at_end = i >= n;
        let (pos, mut ch) = chars.get(i).copied().unwrap_or((rest.len(), '\0'));
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                i += 1;
                continue;
            }
            phase = Phase::Word;
            word_start = pos;
        }
        if at_end {
            if blank_ok || !buf.is_empty() {
                words.push(RawWord {
                    text: std::mem::take(&mut buf),
                    range: word_start..rest.len(),
                });
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !buf.is_empty() {
                    words.push(RawWord {
                        text: std::mem::take(&mut buf),
                        range: word_start..pos,
                    });
                }
                buf.clear();
                blank_ok = false;
                i += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if i + 1 == n {
                    i += 1;
                    continue;
                }
                buf.push(ch);
                i += 1;
                ch = chars[i].1;
            }
            buf.push(ch);
            i += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if i + 1 == n {
                phase = Phase::Word;
                i += 1;
                continue;
            }
            i += 1;
            buf.push(ch);
            ch = chars[i].1;
        }
        buf.push(ch);
        i += 1;
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(ws: &[RawWord]) -> Vec<&str> {
        ws.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn parse_words_keeps_quotes_and_escapes() {
        let line = r#"foo bar 'abc xyz' "a b"=c d\ e"#;
        let ws = parse_words(line, '\\');
        assert_eq!(
            texts(&ws),
            ["foo", "bar", "'abc xyz'", r#""a b"=c"#, r"d\ e"]
        );
        for w in &ws {
            assert_eq!(&line[w.range.clone()], w.text);
        }
        assert_eq!(
            texts(&parse_words("föo bàr \"âbc xÿz\"", '\\')),
            ["föo", "bàr", "\"âbc xÿz\""]
        );
    }

    #[test]
    fn parse_words_drops_trailing_escape() {
        let ws = parse_words(r"a b\", '\\');
        assert_eq!(texts(&ws), ["a", "b"]);
        assert_eq!(ws[1].range, 2..4);
    }

    #[test]
    fn flags_are_processed_and_double_dash_ends_them() {
        let s = extract_flags(r#"--a=1 --b="x y" --c -- --d foo"#, '\\');
        assert_eq!(texts(&s.flags), ["--a=1", "--b=x y", "--c"]);
        assert_eq!(s.flags[1].range, 6..15);
        assert_eq!(s.rest_start, 22);
        let s = extract_flags("--link", '\\');
        assert_eq!(texts(&s.flags), ["--link"]);
        assert_eq!(s.rest_start, 6);
        let s = extract_flags("-x --y", '\\');
        assert!(s.flags.is_empty());
        assert_eq!(s.rest_start, 0);
        let s = extract_flags("--", '\\');
        assert!(s.flags.is_empty());
    }

    #[test]
    fn whitespace_runs() {
        let ws = split_ascii_whitespace_runs("a \t b\u{a0}c");
        assert_eq!(texts(&ws), ["a", "b\u{a0}c"]);
        assert_eq!(split_first_ascii_whitespace("RUN  x y"), (0..3, Some(5..8)));
        assert_eq!(split_first_ascii_whitespace("RUN"), (0..3, None));
        assert_eq!(trim_space_range("  a b \n"), 2..5);
        assert_eq!(trim_space_range("   "), 3..3);
    }
}
