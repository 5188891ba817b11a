//! The two small pattern languages of a policy file: value globs (`*` matches any run of
//! characters, everything else is literal, the whole value must match) and flag patterns
//! (`RUN --network=host`). Both are parsed once, when the policy is read, so a typo fails
//! the policy file rather than silently matching nothing.

use std::fmt;

use serde::Deserialize;

use crate::instructions::{EXTENSION_KEYWORDS, KEYWORDS};

/// An anchored glob: `*` matches any (possibly empty) run of characters, nothing else is
/// special. `https://git.corp/*` matches `https://git.corp/team/app`; `*` matches anything.
///
/// A glob and not a regex: label values and flag values are short literal strings, a
/// leading/trailing/middle wildcard covers what policies ask of them, and the frontend
/// stays free of a regex engine.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub struct Glob(String);

impl Glob {
    /// The glob written as `pattern`.
    pub fn new(pattern: impl Into<String>) -> Glob {
        Glob(pattern.into())
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether all of `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        let mut parts = self.0.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = value.strip_prefix(first) else {
            return false;
        };
        let middle: Vec<&str> = parts.collect();
        let Some((last, middle)) = middle.split_last() else {
            // No `*`: the prefix was the whole pattern.
            return rest.is_empty();
        };
        for part in middle {
            match rest.find(part) {
                Some(i) => rest = &rest[i + part.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

impl From<String> for Glob {
    fn from(s: String) -> Glob {
        Glob(s)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A forbidden flag: `[KEYWORD ]--name[=value-glob]`, e.g. `RUN --network=host`,
/// `--security=insecure` (any instruction), `COPY --chmod` (with any value).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct FlagPattern {
    /// The instruction, upper-case, or `None` for any instruction.
    pub keyword: Option<String>,
    /// The flag name without `--`.
    pub name: String,
    /// The value the flag must have to be forbidden, or `None` for any value.
    pub value: Option<Glob>,
    /// The pattern as written, for messages.
    pub text: String,
}

impl FlagPattern {
    /// Whether `--name[=value]` on instruction `keyword` is what this pattern forbids. A
    /// bare flag (`--link`) matches only a pattern without a value.
    pub fn matches(&self, keyword: &str, name: &str, value: Option<&str>) -> bool {
        self.keyword
            .as_deref()
            .is_none_or(|k| k.eq_ignore_ascii_case(keyword))
            && self.name == name
            && match (&self.value, value) {
                (None, _) => true,
                (Some(glob), Some(v)) => glob.matches(v),
                (Some(_), None) => false,
            }
    }
}

impl TryFrom<String> for FlagPattern {
    type Error = String;

    fn try_from(text: String) -> Result<FlagPattern, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (keyword, flag) = match words.as_slice() {
            [flag] => (None, *flag),
            [keyword, flag] => (Some(*keyword), *flag),
            _ => {
                return Err(format!(
                    "forbidden flag {text:?}: write `[INSTRUCTION ]--name[=value]`, e.g. \"RUN --network=host\""
                ))
            }
        };
        if let Some(k) = keyword {
            let lower = k.to_ascii_lowercase();
            if !KEYWORDS.contains(&lower.as_str()) && !EXTENSION_KEYWORDS.contains(&lower.as_str())
            {
                return Err(format!(
                    "forbidden flag {text:?}: {k:?} is not a Dockerfile instruction"
                ));
            }
        }
        let Some(flag) = flag.strip_prefix("--").filter(|f| !f.is_empty()) else {
            return Err(format!(
                "forbidden flag {text:?}: the flag must start with `--`, e.g. \"--network=host\""
            ));
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(Glob::new(v))),
            None => (flag, None),
        };
        if name.is_empty() {
            return Err(format!("forbidden flag {text:?}: the flag has no name"));
        }
        Ok(FlagPattern {
            keyword: keyword.map(str::to_ascii_uppercase),
            name: name.to_owned(),
            value,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_anchored_and_only_star_is_special() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("https://git.corp/*", "https://git.corp/a/b", true),
            ("https://git.corp/*", "https://github.com/x", false),
            ("*-team", "platform-team", true),
            ("*-team", "platform-teams", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("v?.*", "v1.2", false),
            ("v?.*", "v?.2", true),
            ("**", "x", true),
        ];
        for (pattern, value, want) in cases {
            assert_eq!(
                Glob::new(pattern).matches(value),
                want,
                "{pattern} ~ {value}"
            );
        }
    }

    #[test]
    fn flag_patterns_parse_and_match() {
        let p = FlagPattern::try_from("run --network=host".to_owned()).unwrap();
        assert_eq!(p.keyword.as_deref(), Some("RUN"));
        assert!(p.matches("RUN", "network", Some("host")));
        assert!(!p.matches("RUN", "network", Some("none")));
        assert!(!p.matches("CHECK", "network", Some("host")));
        let any = FlagPattern::try_from("--security=insecure".to_owned()).unwrap();
        assert!(any.matches("RUN", "security", Some("insecure")));
        assert!(any.matches("CHECK", "security", Some("insecure")));
        let bare = FlagPattern::try_from("COPY --chmod".to_owned()).unwrap();
        assert!(bare.matches("COPY", "chmod", Some("755")));
        let globbed = FlagPattern::try_from("RUN --mount=type=ssh*".to_owned()).unwrap();
        assert!(globbed.matches("RUN", "mount", Some("type=ssh,id=x")));
        assert!(!globbed.matches("RUN", "mount", None));
    }

    #[test]
    fn bad_flag_patterns_say_why() {
        for (text, why) in [
            ("RUNN --network=host", "not a Dockerfile instruction"),
            ("RUN network=host", "must start with `--`"),
            ("RUN --=x", "has no name"),
            ("RUN --a --b", "write `[INSTRUCTION ]--name[=value]`"),
            ("", "write `[INSTRUCTION ]--name[=value]`"),
        ] {
            let e = FlagPattern::try_from(text.to_owned()).unwrap_err();
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }
}
