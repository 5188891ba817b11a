//! Shell patterns for `${A#p}`, `${A%p}` and `${A/p/r}`, with upstream's
//! semantics.
//!
//! Upstream turns a pattern into a Go regular expression and lets Go's
//! leftmost-first matcher decide; we reproduce those results without a regex
//! engine:
//!
//! * `*` is any run of characters and `?` any one character — neither
//!   matches a newline, as Go's `.` does not. `*` is greedy for `##`, `%%`
//!   and `/`, lazy for `#` and `%`.
//! * `\*`, `\?`, `\\` are literal; `\}` and `\/` are `}` and `/`; any other
//!   escape is an error. The escape here is always `\`, whatever the
//!   Dockerfile's escape character.
//! * Everything else, including `[` and `]`, is literal (no bracket
//!   expressions, as upstream).
//! * `%`/`%%` reverse the value and the pattern and trim a prefix, exactly as
//!   upstream does, which decides which suffix "shortest" picks.
//! * In `${A//p/r}` a `$0` or `${0}` in `r` (which can only come from an
//!   escaped `\$` or a variable's value) stands for the matched text, `$$`
//!   for `$`, and other `$name` references for nothing — Go's template rules.
//!   `${A/p/r}` (first match only) inserts `r` literally.
//!
//! Matching is a dynamic program over (pattern position, text position):
//! O(pattern × text) time, no recursion, so hostile input cannot blow the
//! stack or take exponential time.

use super::{is_name_char, ExpandError};

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `?`
    Any,
    /// `*` (consecutive stars are merged; that never changes a result)
    Star,
}

/// Compiles `pattern`, or explains what is wrong with it.
fn compile(pattern: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let tok = match c {
            '*' => Tok::Star,
            '?' => Tok::Any,
            '\\' => match chars.peek() {
                // `\}` and `\/` only protect the `${…}` syntax.
                Some('}' | '/') => continue,
                _ => match chars.next() {
                    Some(e @ ('*' | '?' | '\\')) => Tok::Lit(e),
                    Some(e) => return Err(format!("invalid escape '\\{e}'")),
                    None => return Err("invalid escape '\\' at end of pattern".to_owned()),
                },
            },
            c => Tok::Lit(c),
        };
        if !(tok == Tok::Star && toks.last() == Some(&Tok::Star)) {
            toks.push(tok);
        }
    }
    Ok(toks)
}

fn invalid(pattern: &str, reason: String) -> ExpandError {
    ExpandError::InvalidPattern {
        pattern: pattern.to_owned(),
        reason,
    }
}

/// For every start position `s` in `text` (0..=len), the end of the match of
/// `toks` beginning at `s` that Go's leftmost-first matcher would report, or
/// `None` if the pattern does not match there.
fn match_ends(toks: &[Tok], text: &[char], greedy: bool) -> Vec<Option<usize>> {
    let n = text.len();
    // After the last token, a match starting at `t` ends at `t`.
    let mut next: Vec<Option<usize>> = (0..=n).map(Some).collect();
    for tok in toks.iter().rev() {
        let mut cur = vec![None; n + 1];
        match *tok {
            Tok::Lit(l) => {
                for (t, &c) in text.iter().enumerate() {
                    if c == l {
                        cur[t] = next[t + 1];
                    }
                }
            }
            Tok::Any => {
                for (t, &c) in text.iter().enumerate() {
                    if c != '\n' {
                        cur[t] = next[t + 1];
                    }
                }
            }
            Tok::Star => {
                // From `t` the star may stop at any `j` in `t..=m`, where `m`
                // is the next newline (or the end). Greedy takes the largest
                // `j` that lets the rest match, lazy the smallest. Walking
                // right to left, both are maintained per newline-free run.
                let mut largest = None;
                let mut smallest = None;
                for t in (0..=n).rev() {
                    if text.get(t) == Some(&'\n') {
                        largest = None;
                        smallest = None;
                    }
                    if let Some(end) = next[t] {
                        smallest = Some(end);
                        largest = largest.or(Some(end));
                    }
                    cur[t] = if greedy { largest } else { smallest };
                }
            }
        }
        next = cur;
    }
    next
}

/// `${A#pat}` (`longest` false) and `${A##pat}` (`longest` true).
pub(super) fn trim_prefix(
    pattern: &str,
    value: &str,
    longest: bool,
) -> Result<String, ExpandError> {
    let toks = compile(pattern).map_err(|r| invalid(pattern, r))?;
    let text: Vec<char> = value.chars().collect();
    let ends = match_ends(&toks, &text, longest);
    Ok(match ends.first().copied().flatten() {
        Some(end) => text.get(end..).unwrap_or_default().iter().collect(),
        None => value.to_owned(),
    })
}

/// `${A%pat}` (`longest` false) and `${A%%pat}` (`longest` true), done as
/// upstream does: trim the prefix of the reversed value with the reversed
/// pattern.
pub(super) fn trim_suffix(
    pattern: &str,
    value: &str,
    longest: bool,
) -> Result<String, ExpandError> {
    let toks = compile(&reverse_pattern(pattern)).map_err(|r| invalid(pattern, r))?;
    let text: Vec<char> = value.chars().rev().collect();
    let ends = match_ends(&toks, &text, longest);
    Ok(match ends.first().copied().flatten() {
        Some(end) => text.get(end..).unwrap_or_default().iter().rev().collect(),
        None => value.to_owned(),
    })
}

/// Reverses a pattern, keeping each `\x` escape pair in order.
fn reverse_pattern(pattern: &str) -> String {
    let mut units: Vec<String> = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let mut unit = c.to_string();
        if c == '\\' {
            if let Some(e) = chars.next() {
                unit.push(e);
            }
        }
        units.push(unit);
    }
    units.into_iter().rev().collect()
}

/// `${A/pat/repl}` (`all` false) and `${A//pat/repl}` (`all` true); a result longer
/// than `max_len` bytes stops as soon as it is ([`ExpandError::TooLong`]).
pub(super) fn replace(
    pattern: &str,
    value: &str,
    repl: &str,
    all: bool,
    max_len: usize,
) -> Result<String, ExpandError> {
    let toks = compile(pattern).map_err(|r| invalid(pattern, r))?;
    let text: Vec<char> = value.chars().collect();
    let ends = match_ends(&toks, &text, true);
    let n = text.len();
    let slice = |from: usize, to: usize| text.get(from..to).unwrap_or_default().iter();
    let find_from =
        |from: usize| (from..=n).find_map(|s| ends.get(s).copied().flatten().map(|e| (s, e)));

    let mut out = String::new();
    if !all {
        return Ok(match find_from(0) {
            Some((s, e)) => {
                out.extend(slice(0, s));
                out.push_str(repl);
                out.extend(slice(e, n));
                out
            }
            None => value.to_owned(),
        });
    }

    // Go's ReplaceAllString loop, including its empty-match rules.
    let mut last_end = 0;
    let mut search = 0;
    while search <= n {
        if out.len() > max_len {
            return Err(ExpandError::TooLong { limit: max_len });
        }
        let Some((s, e)) = find_from(search) else {
            break;
        };
        out.extend(slice(last_end, s));
        // No replacement for an empty match right after the previous match.
        if e > last_end || s == 0 {
            let matched: String = slice(s, e).collect();
            expand_template(&mut out, repl, &matched);
        }
        last_end = e;
        let width = usize::from(search < n);
        search = if search + width > e {
            search + width
        } else if search + 1 > e {
            search + 1
        } else {
            e
        };
    }
    out.extend(slice(last_end, n));
    Ok(out)
}

/// Appends `template` with Go's `Regexp.Expand` rules for a pattern whose
/// only group is the whole match.
fn expand_template(out: &mut String, template: &str, matched: &str) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match template_ref(rest) {
            Some((name, after)) => {
                if name == "0" {
                    out.push_str(matched);
                }
                rest = after;
            }
            // Malformed reference: the `$` is literal.
            None => out.push('$'),
        }
    }
    out.push_str(rest);
}

/// Parses `name` or `{name}` at the start of `s`; returns the name and the
/// text after it.
fn template_ref(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len = body
        .char_indices()
        .find(|&(_, c)| !is_name_char(c))
        .map_or(body.len(), |(i, _)| i);
    if len == 0 {
        return None;
    }
    let (name, mut after) = body.split_at(len);
    if braced {
        after = after.strip_prefix('}')?;
    }
    Some((name, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leftmost-first by definition: try the alternatives in priority order
    /// (greedy star: longest first; lazy: shortest first) and take the first
    /// complete match. Exponential, fine for tiny inputs.
    fn reference(toks: &[Tok], text: &[char], t: usize, greedy: bool) -> Option<usize> {
        let Some((first, rest)) = toks.split_first() else {
            return Some(t);
        };
        match *first {
            Tok::Lit(l) => (text.get(t) == Some(&l))
                .then(|| reference(rest, text, t + 1, greedy))
                .flatten(),
            Tok::Any => (text.get(t).is_some_and(|&c| c != '\n'))
                .then(|| reference(rest, text, t + 1, greedy))
                .flatten(),
            Tok::Star => {
                let run = text[t..].iter().take_while(|&&c| c != '\n').count();
                let mut stops: Vec<usize> = (t..=t + run).collect();
                if greedy {
                    stops.reverse();
                }
                stops
                    .into_iter()
                    .find_map(|j| reference(rest, text, j, greedy))
            }
        }
    }

    #[test]
    fn dynamic_program_agrees_with_backtracking() {
        let mut state: u64 = 42;
        let mut next = move |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % n
        };
        const TEXT: &[char] = &['a', 'b', 'a', '\n', 'c'];
        for _ in 0..3000 {
            let toks: Vec<Tok> = (0..next(6))
                .map(|_| match next(5) {
                    0 | 1 => Tok::Star,
                    2 => Tok::Any,
                    _ => Tok::Lit(TEXT[next(TEXT.len())]),
                })
                .collect();
            let text: Vec<char> = (0..next(9)).map(|_| TEXT[next(TEXT.len())]).collect();
            for greedy in [false, true] {
                let ends = match_ends(&toks, &text, greedy);
                for (s, got) in ends.iter().enumerate() {
                    let want = reference(&toks, &text, s, greedy);
                    assert_eq!(*got, want, "{toks:?} {text:?} from {s} greedy={greedy}");
                }
            }
        }
    }

    #[test]
    fn compile_rules() {
        use Tok::*;
        assert_eq!(compile("a**?"), Ok(vec![Lit('a'), Star, Any]));
        assert_eq!(
            compile("\\*\\?\\\\"),
            Ok(vec![Lit('*'), Lit('?'), Lit('\\')])
        );
        assert_eq!(compile("\\}\\/"), Ok(vec![Lit('}'), Lit('/')]));
        assert_eq!(compile("[x]"), Ok(vec![Lit('['), Lit('x'), Lit(']')]));
        assert!(compile("\\x").is_err());
        assert!(compile("x\\").is_err());
        assert_eq!(reverse_pattern("a\\*c*"), "*c\\*a");
        assert_eq!(reverse_pattern("ab\\"), "\\ba");
    }

    #[test]
    fn go_template_rules() {
        let run = |t: &str| {
            let mut out = String::new();
            expand_template(&mut out, t, "M");
            out
        };
        assert_eq!(run("x$0y"), "x");
        assert_eq!(run("x$0 y"), "xM y");
        assert_eq!(run("${0}y"), "My");
        assert_eq!(run("$$0"), "$0");
        assert_eq!(run("$00"), "");
        assert_eq!(run("$1 $name"), " ");
        assert_eq!(run("$0a"), "");
        assert_eq!(run("${0"), "${0");
        assert_eq!(run("$ $-"), "$ $-");
        assert_eq!(run("end$"), "end$");
    }
}
