//! What to check and how hard: `# check=skip=A,B;error=true` (the root Dockerfile's
//! parser directive, or a `# check=` comment right above one instruction) and the
//! `BUILDKIT_DOCKERFILE_CHECK` build arg, parsed as upstream's `ParseLintOptions` does.

use std::collections::BTreeMap;

use super::rules::Rule;
use crate::error::{Error, Result};
use crate::syntax::Directive;

/// The build arg that replaces the `# check=` directive (as upstream: it wins outright).
pub const CHECK_BUILD_ARG: &str = "BUILDKIT_DOCKERFILE_CHECK";

/// A parsed check configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckConfig {
    /// `skip=all`: no rule runs.
    pub skip_all: bool,
    /// `skip=A,B`: these rules do not run.
    pub skip: Vec<String>,
    /// `error=true`: any finding fails the build.
    pub error: bool,
    /// `experimental=all`: every experimental rule runs.
    pub experimental_all: bool,
    /// `experimental=A,B`: these experimental rules run.
    pub experimental: Vec<String>,
}

impl CheckConfig {
    /// Parses `skip=…;error=…;experimental=…` (at most three `;`-separated parts, each
    /// `key=value`; whitespace around keys and values is ignored). The errors are upstream's.
    pub fn parse(text: &str) -> Result<CheckConfig, String> {
        let text = text.trim();
        let mut out = CheckConfig::default();
        if text.is_empty() {
            return Ok(out);
        }
        for part in text.splitn(3, ';') {
            let Some((key, value)) = part.split_once('=') else {
                return Err(format!("invalid check option {}", go_q(part)));
            };
            let value = value.trim();
            let list = || value.split(',').map(|r| r.trim().to_owned()).collect();
            match key.trim() {
                "skip" if value == "all" => out.skip_all = true,
                "skip" => out.skip = list(),
                "experimental" if value == "all" => out.experimental_all = true,
                "experimental" => out.experimental = list(),
                "error" => {
                    out.error = parse_bool(value).ok_or_else(|| {
                        format!(
                            "failed to parse check option {}: strconv.ParseBool: parsing {}: invalid syntax",
                            go_q(part),
                            go_q(value)
                        )
                    })?;
                }
                other => return Err(format!("invalid check option {}", go_q(other))),
            }
        }
        Ok(out)
    }

    /// Whether the stable rule `rule` does not run under this configuration.
    pub fn skips(&self, rule: &str) -> bool {
        self.skip_all || self.skip.iter().any(|s| s == rule)
    }

    /// Whether `rule` runs under this configuration, as upstream's `Linter.Run` decides: an
    /// experimental rule only when `experimental=` names it (or is `all`), whatever `skip=`
    /// says; any other rule unless `skip=` names it (or is `all`).
    pub fn runs(&self, rule: &Rule) -> bool {
        if rule.experimental {
            self.experimental_all || self.experimental.iter().any(|s| s == rule.name)
        } else {
            !self.skips(rule.name)
        }
    }

    /// This configuration with `other`'s skips and experimental rules added, as upstream's
    /// `WithMergedConfig` (a `# check=` comment above one instruction); its `error` is
    /// ignored.
    fn merged(&self, other: &CheckConfig) -> CheckConfig {
        let mut out = self.clone();
        out.skip_all |= other.skip_all;
        out.skip.extend(other.skip.iter().cloned());
        out.experimental_all |= other.experimental_all;
        out.experimental.extend(other.experimental.iter().cloned());
        out
    }
}

/// The build's configuration: the `BUILDKIT_DOCKERFILE_CHECK` build arg when given (it
/// replaces the directive, as upstream), else the root file's `# check=` directive, else
/// the defaults (every rule, warnings only). A value that does not parse fails the build,
/// naming the directive's line.
pub fn config(
    directives: &[Directive],
    build_args: &BTreeMap<String, String>,
) -> Result<CheckConfig> {
    if let Some(v) = build_args.get(CHECK_BUILD_ARG) {
        return CheckConfig::parse(v).map_err(|e| {
            Error::Input(format!("failed to parse build-arg:{CHECK_BUILD_ARG}: {e}"))
        });
    }
    match directives.iter().find(|d| d.name == "check") {
        Some(d) => CheckConfig::parse(&d.value)
            .map_err(|e| Error::at(d.span, format!("failed to parse check options: {e}"))),
        None => Ok(CheckConfig::default()),
    }
}

/// The configuration for one instruction: `base` plus the first `# check=` comment among
/// the comments right above it (one that does not parse is ignored, as upstream's
/// `WithMergedConfigFromComments`, docker/dockerfile ≥ 1.21).
pub fn for_comments(base: &CheckConfig, comments: &[String]) -> CheckConfig {
    for c in comments {
        let Some((key, value)) = c.split_once('=') else {
            continue;
        };
        // Upstream matches the comment as a directive line: `name\s*=\s*value`, a name of
        // ASCII letters and digits starting with a letter, any case, a non-empty value.
        let key = key.trim_end();
        let is_name = key.starts_with(|c: char| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric());
        let value = value.trim();
        if !is_name || !key.eq_ignore_ascii_case("check") || value.is_empty() {
            continue;
        }
        // Upstream keeps the value up to the first space.
        let value = value.split(' ').next().unwrap_or_default();
        return match CheckConfig::parse(value) {
            Ok(extra) => base.merged(&extra),
            Err(_) => base.clone(),
        };
    }
    base.clone()
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn go_q(s: &str) -> String {
    crate::syntax::go_quote(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_upstream() {
        let c = CheckConfig::parse(" skip = JSONArgsRecommended, StageNameCasing ; error=true")
            .unwrap();
        assert_eq!(c.skip, ["JSONArgsRecommended", "StageNameCasing"]);
        assert!(c.error && !c.skip_all);
        assert!(c.skips("StageNameCasing") && !c.skips("UndefinedVar"));
        let all = CheckConfig::parse("skip=all;error=false").unwrap();
        assert!(all.skips("anything") && !all.error);
        assert_eq!(CheckConfig::parse("").unwrap(), CheckConfig::default());
        assert_eq!(
            CheckConfig::parse("bogus").unwrap_err(),
            "invalid check option \"bogus\""
        );
        assert_eq!(
            CheckConfig::parse("skip=a;nope=1").unwrap_err(),
            "invalid check option \"nope\""
        );
        assert!(CheckConfig::parse("error=maybe")
            .unwrap_err()
            .contains("strconv.ParseBool: parsing \"maybe\": invalid syntax"));
        assert!(
            CheckConfig::parse("experimental=all")
                .unwrap()
                .experimental_all
        );
    }

    #[test]
    fn the_build_arg_replaces_the_directive() {
        let d = vec![Directive {
            name: "check".into(),
            value: "error=true".into(),
            span: Default::default(),
        }];
        assert!(config(&d, &BTreeMap::new()).unwrap().error);
        let args = BTreeMap::from([(CHECK_BUILD_ARG.to_owned(), "skip=all".to_owned())]);
        let c = config(&d, &args).unwrap();
        assert!(c.skip_all && !c.error);
        let bad = BTreeMap::from([(CHECK_BUILD_ARG.to_owned(), "x".to_owned())]);
        assert!(config(&d, &bad)
            .unwrap_err()
            .to_string()
            .starts_with("failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK"));
    }

    #[test]
    fn comments_only_add_skips() {
        let base = CheckConfig::parse("skip=A;error=true").unwrap();
        let c = for_comments(&base, &["a comment".into(), "check=skip=B".into()]);
        assert!(c.skips("A") && c.skips("B") && c.error);
        let c = for_comments(&base, &["check=skip=all trailing words".into()]);
        assert!(c.skip_all);
        assert_eq!(for_comments(&base, &["check=bad".into()]), base);
        // An empty value is no directive: the next comment is looked at.
        let c = for_comments(&base, &["check=".into(), "check=skip=C".into()]);
        assert!(c.skips("C"));
        let c = for_comments(&base, &["check=experimental=all".into()]);
        assert!(c.experimental_all && !c.skips("B"));
    }

    #[test]
    fn experimental_rules_run_only_when_asked() {
        use super::super::rules::{INVALID_DEFINITION_DESCRIPTION as IDD, STAGE_NAME_CASING};
        let none = CheckConfig::default();
        assert!(!none.runs(&IDD) && none.runs(&STAGE_NAME_CASING));
        // skip= does not reach experimental rules (upstream's `Linter.Run`).
        let c = CheckConfig::parse("skip=all;experimental=InvalidDefinitionDescription").unwrap();
        assert!(c.runs(&IDD) && !c.runs(&STAGE_NAME_CASING));
        let c = CheckConfig::parse("experimental=all").unwrap();
        assert!(c.runs(&IDD));
        let c = CheckConfig::parse("experimental=Other").unwrap();
        assert!(!c.runs(&IDD));
    }
}
