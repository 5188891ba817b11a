//! Instruction flags (`--name=value`): which flags each instruction accepts, and the errors
//! for unknown, duplicate or malformed ones, worded as BuildKit words them.

use crate::error::{Error, Result};
use crate::syntax::{Flag, Span};

/// How a flag takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    /// `--link` or `--link=true|false`.
    Bool,
    /// `--from=x`, at most once.
    String,
    /// `--mount=…`, repeatable.
    List,
}

/// A flag's value with the span of the whole flag, for errors about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagValue {
    /// The raw value, not yet expanded.
    pub text: String,
    /// Span of the flag in the source.
    pub span: Span,
}

/// The flags of one instruction, checked against what it accepts.
#[derive(Debug, Default)]
pub struct Flags {
    values: Vec<(String, FlagValue)>,
    bools: Vec<(String, bool)>,
}

impl Flags {
    /// Checks `flags` against `allowed`. (The instruction's keyword is no longer part of the
    /// messages since dockerfile 1.26 words them; the parameter stays for the callers.)
    pub fn parse(_keyword: &str, flags: &[Flag], allowed: &[(&str, FlagKind)]) -> Result<Flags> {
        let mut out = Flags::default();
        for flag in flags {
            let Some(&(_, kind)) = allowed.iter().find(|(n, _)| *n == flag.name) else {
                // dockerfile 1.26 (`instructions/bflag.go`): the flag as written, and the
                // closest allowed one (case-sensitive, fewer than 3 edits) as a suggestion.
                let mut message = format!("unknown flag: --{}", flag.name);
                if let Some(near) = closest_flag(&flag.name, allowed) {
                    message.push_str(&format!(" (did you mean {near}?)"));
                }
                return Err(Error::at(flag.span, message));
            };
            match kind {
                FlagKind::Bool => {
                    let v = match flag.value.as_deref() {
                        None => true,
                        Some(v) if v.eq_ignore_ascii_case("true") => true,
                        Some(v) if v.eq_ignore_ascii_case("false") => false,
                        Some(v) => {
                            return Err(Error::at(
                                flag.span,
                                format!(
                                    "expecting boolean value for flag --{}, not: {v}",
                                    flag.name
                                ),
                            ))
                        }
                    };
                    if out.bools.iter().any(|(n, _)| *n == flag.name) {
                        return Err(Error::at(
                            flag.span,
                            format!("duplicate flag specified: --{}", flag.name),
                        ));
                    }
                    out.bools.push((flag.name.clone(), v));
                }
                FlagKind::String | FlagKind::List => {
                    let Some(value) = &flag.value else {
                        return Err(Error::at(
                            flag.span,
                            format!("missing a value on flag: --{}", flag.name),
                        ));
                    };
                    if kind == FlagKind::String && out.values.iter().any(|(n, _)| *n == flag.name) {
                        return Err(Error::at(
                            flag.span,
                            format!("duplicate flag specified: --{}", flag.name),
                        ));
                    }
                    out.values.push((
                        flag.name.clone(),
                        FlagValue {
                            text: value.clone(),
                            span: flag.span,
                        },
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The value of a string flag.
    pub fn string(&self, name: &str) -> Option<FlagValue> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// Every value of a list flag, in order.
    pub fn list(&self, name: &str) -> Vec<FlagValue> {
        self.values
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A bool flag; absent is false.
    pub fn bool(&self, name: &str) -> bool {
        self.bools.iter().any(|(n, v)| n == name && *v)
    }

    /// A bool flag whose absence means something else than `false` (`ADD --unpack`: the
    /// default depends on the source).
    pub fn opt_bool(&self, name: &str) -> Option<bool> {
        self.bools.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// The allowed flag closest to an unknown `name` (case-sensitive, fewer than 3 edits), as
/// upstream's `suggest.Search` picks it.
fn closest_flag<'a>(name: &str, allowed: &[(&'a str, FlagKind)]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|(n, _)| (super::suggest::distance(name, n), *n))
        .filter(|(d, _)| *d < 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(name: &str, value: Option<&str>) -> Flag {
        Flag {
            name: name.into(),
            value: value.map(Into::into),
            span: Span::default(),
        }
    }

    const COPY: &[(&str, FlagKind)] = &[
        ("from", FlagKind::String),
        ("link", FlagKind::Bool),
        ("exclude", FlagKind::List),
    ];

    #[test]
    fn accepts_known_flags() {
        let f = Flags::parse(
            "copy",
            &[
                flag("from", Some("a")),
                flag("link", None),
                flag("exclude", Some("x")),
                flag("exclude", Some("y")),
            ],
            COPY,
        )
        .unwrap();
        assert_eq!(f.string("from").unwrap().text, "a");
        assert!(f.bool("link"));
        assert_eq!(f.opt_bool("link"), Some(true));
        assert_eq!(f.opt_bool("parents"), None);
        assert_eq!(f.list("exclude").len(), 2);
    }

    #[test]
    fn rejects_bad_flags() {
        let err = |flags: &[Flag]| Flags::parse("copy", flags, COPY).unwrap_err().to_string();
        assert_eq!(
            err(&[flag("lnik", None)]),
            "unknown flag: --lnik (did you mean link?)"
        );
        assert_eq!(err(&[flag("bogus", Some("a"))]), "unknown flag: --bogus");
        assert_eq!(
            err(&[flag("from", Some("a")), flag("from", Some("b"))]),
            "duplicate flag specified: --from"
        );
        assert_eq!(
            err(&[flag("from", None)]),
            "missing a value on flag: --from"
        );
        assert_eq!(
            err(&[flag("link", Some("yes"))]),
            "expecting boolean value for flag --link, not: yes"
        );
    }
}
