//! `CopyIgnoredFile`: a `COPY`/`ADD` source from the build context that the context's
//! `.dockerignore` excludes, so the build will not find it. Decided as upstream's
//! `validateCopySourcePath` with `moby/patternmatcher`'s `MatchesOrParentMatches`: a source
//! is ignored when a pattern matches it or one of its parent directories; nothing is
//! checked when the file has an exclusion (`!pattern`), which upstream does not try to
//! judge statically.

use crate::convert::paths;

/// The `.dockerignore` of the build context, compiled.
#[derive(Debug, Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

impl Ignore {
    /// The matcher for `patterns` (as read by `pipeline::dockerignore_patterns`); `None`
    /// when the rule cannot run: no patterns, or an exclusion among them.
    pub fn new(patterns: &[String]) -> Option<Ignore> {
        let mut out = Vec::new();
        for p in patterns {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            if p.starts_with('!') {
                return None;
            }
            out.push(Pattern::compile(&paths::clean(p)));
        }
        (!out.is_empty()).then_some(Ignore { patterns: out })
    }

    /// Whether copying `src` (expanded, relative to the context) copies something the
    /// `.dockerignore` excludes. `.` and `/` count only when a pattern excludes every
    /// entry of the root (`*`, `**`, `**/*`), as upstream.
    pub fn excludes(&self, src: &str) -> Option<String> {
        let src = paths::clean(src);
        if src == "." || src == "/" {
            let all = self
                .patterns
                .iter()
                .any(|p| matches!(p.text.as_str(), "*" | "**" | "**/*"));
            if !all {
                return None;
            }
        }
        let parent = match src.rfind('/') {
            Some(0) => "/".to_owned(),
            Some(i) => src[..i].to_owned(),
            None => ".".to_owned(),
        };
        let dirs: Vec<&str> = parent.split('/').collect();
        let hit = self.patterns.iter().any(|p| {
            p.matches(&src)
                || (parent != "." && (1..=dirs.len()).any(|i| p.matches(&dirs[..i].join("/"))))
        });
        hit.then_some(src)
    }
}

/// How a pattern matches, as patternmatcher classifies it.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Exact,
    /// `prefix**`.
    Prefix,
    /// `**suffix`.
    Suffix,
    /// Anything with wildcards: the token list.
    Glob,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`: any run of non-`/`.
    Star,
    /// `?`: one non-`/`.
    One,
    /// `**` followed by more: `(.*/)?`.
    AnyDirs,
    /// `**` at the end: `.*`.
    Rest,
    /// `[...]`: a character class (negated, ranges).
    Class(bool, Vec<(char, char)>),
}

#[derive(Debug)]
struct Pattern {
    text: String,
    kind: Kind,
    tokens: Vec<Token>,
}

impl Pattern {
    fn compile(text: &str) -> Pattern {
        let chars: Vec<char> = text.chars().collect();
        let mut tokens = Vec::new();
        let mut kind = Kind::Exact;
        let mut i = 0;
        while i < chars.len() {
            let first = i == 0;
            let c = chars[i];
            i += 1;
            match c {
                '*' if chars.get(i) == Some(&'*') => {
                    i += 1;
                    if chars.get(i) == Some(&'/') {
                        i += 1;
                    }
                    if i == chars.len() {
                        if kind == Kind::Exact {
                            kind = Kind::Prefix;
                        } else {
                            kind = Kind::Glob;
                        }
                        tokens.push(Token::Rest);
                    } else {
                        kind = Kind::Glob;
                        tokens.push(Token::AnyDirs);
                    }
                    if first {
                        kind = Kind::Suffix;
                    }
                }
                '*' => {
                    kind = Kind::Glob;
                    tokens.push(Token::Star);
                }
                '?' => {
                    kind = Kind::Glob;
                    tokens.push(Token::One);
                }
                '\\' if i < chars.len() => {
                    kind = Kind::Glob;
                    tokens.push(Token::Char(chars[i]));
                    i += 1;
                }
                '[' => {
                    kind = Kind::Glob;
                    let negated = matches!(chars.get(i), Some('^'));
                    if negated {
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    while i < chars.len() && (chars[i] != ']' || ranges.is_empty()) {
                        let lo = chars[i];
                        if chars.get(i + 1) == Some(&'-')
                            && chars.get(i + 2).is_some_and(|c| *c != ']')
                        {
                            ranges.push((lo, chars[i + 2]));
                            i += 3;
                        } else {
                            ranges.push((lo, lo));
                            i += 1;
                        }
                    }
                    i += 1;
                    tokens.push(Token::Class(negated, ranges));
                }
                c => tokens.push(Token::Char(c)),
            }
        }
        Pattern {
            text: text.to_owned(),
            kind,
            tokens,
        }
    }

    fn matches(&self, path: &str) -> bool {
        match self.kind {
            Kind::Exact => path == self.text,
            Kind::Prefix => path.starts_with(&self.text[..self.text.len() - 2]),
            Kind::Suffix => {
                let suffix = &self.text[2..];
                path.ends_with(suffix) || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }
            Kind::Glob => {
                let p: Vec<char> = path.chars().collect();
                glob(&self.tokens, &p)
            }
        }
    }
}

/// The anchored match of `tokens` against all of `s` (backtracking; patterns are short).
fn glob(tokens: &[Token], s: &[char]) -> bool {
    let Some((t, rest)) = tokens.split_first() else {
        return s.is_empty();
    };
    match t {
        Token::Char(c) => s.first() == Some(c) && glob(rest, &s[1..]),
        Token::One => s.first().is_some_and(|c| *c != '/') && glob(rest, &s[1..]),
        Token::Class(negated, ranges) => {
            s.first().is_some_and(|c| {
                let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                inside != *negated
            }) && glob(rest, &s[1..])
        }
        Token::Star => {
            for n in 0..=s.len() {
                if glob(rest, &s[n..]) {
                    return true;
                }
                if s.get(n) == Some(&'/') {
                    break;
                }
            }
            false
        }
        Token::Rest => true,
        Token::AnyDirs => {
            // Nothing, or anything ending with `/`.
            glob(rest, s) || (0..s.len()).any(|n| s[n] == '/' && glob(rest, &s[n + 1..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(p: &[&str]) -> Ignore {
        Ignore::new(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn matches_as_patternmatcher() {
        let i = ignore(&[
            "target",
            "*.log",
            "docs/**",
            "**/secret.txt",
            "a?c",
            "[xy]z",
        ]);
        for yes in [
            "target",
            "target/debug/x",
            "./target",
            "app.log",
            "docs/a/b",
            "secret.txt",
            "deep/down/secret.txt",
            "abc",
            "yz",
            "yz/inner",
        ] {
            assert!(i.excludes(yes).is_some(), "{yes}");
        }
        for no in [
            "src",
            "logs/app.log",
            "targets",
            "docsx",
            "ac",
            "zz",
            ".",
            "/",
        ] {
            assert!(i.excludes(no).is_none(), "{no}");
        }
        assert_eq!(i.excludes("./target/").as_deref(), Some("target"));
        // `**x` with no slash is a plain suffix upstream.
        assert!(ignore(&["**foo"]).excludes("barfoo").is_some());
        // The root only under a pattern excluding everything.
        assert!(ignore(&["*"]).excludes(".").is_some());
        assert!(ignore(&["**/*"]).excludes("/").is_some());
    }

    #[test]
    fn exclusions_or_no_patterns_turn_it_off() {
        assert!(Ignore::new(&["a".into(), "!a/b".into()]).is_none());
        assert!(Ignore::new(&[]).is_none());
    }
}
