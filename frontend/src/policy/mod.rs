//! A platform team's build policy: rules every Dockerfile built with this frontend image
//! must follow, read from `/etc/strata/policy.toml` in the image (no file, no policy).
//!
//! This module holds the rules and their TOML form; [`check`] applies them to a planned
//! and converted build, purely, so the gateway (before anything is solved) and
//! `strata policy check` (offline) give the same findings. The schema is documented in
//! `docs/policy.md`.

pub mod check;
mod pattern;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

pub use check::{before_resolve, check, enforce, Bases};
pub use pattern::{FlagPattern, Glob};

/// Where the frontend image carries its policy.
pub const POLICY_PATH: &str = "/etc/strata/policy.toml";

/// What a violated rule does: stop the build, or show a warning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The build fails before anything runs.
    #[default]
    Error,
    /// The build goes on; the finding is shown as a frontend warning.
    Warn,
}

/// The rules, by the name a violation reports and the policy file uses as table name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// Base images must start with an allowed prefix.
    AllowedBaseImages,
    /// Base images must be pinned by digest.
    BaseImageDigest,
    /// The final image must not run as root.
    NonRootUser,
    /// The final image must carry labels with matching values.
    RequiredLabels,
    /// Some instruction flags are not allowed.
    ForbiddenFlags,
    /// `ADD <url>` must have `--checksum`.
    AddChecksum,
}

impl Rule {
    /// The rule's name in messages and in the policy file.
    pub fn name(self) -> &'static str {
        match self {
            Rule::AllowedBaseImages => "allowed-base-images",
            Rule::BaseImageDigest => "base-image-digest",
            Rule::NonRootUser => "non-root-user",
            Rule::RequiredLabels => "required-labels",
            Rule::ForbiddenFlags => "forbidden-flags",
            Rule::AddChecksum => "add-checksum",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed policy file. Every rule is optional: a missing table means the rule is off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Policy {
    /// `[allowed-base-images]`.
    pub allowed_base_images: Option<AllowedBaseImages>,
    /// `[base-image-digest]`.
    pub base_image_digest: Option<Switch>,
    /// `[non-root-user]`.
    pub non_root_user: Option<Switch>,
    /// `[required-labels]`.
    pub required_labels: Option<RequiredLabels>,
    /// `[forbidden-flags]`.
    pub forbidden_flags: Option<ForbiddenFlags>,
    /// `[add-checksum]`.
    pub add_checksum: Option<Switch>,
    /// `[entrypoint-check]`.
    pub entrypoint_check: Option<Switch>,
}

/// A rule with nothing to configure but its severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    /// `error` (default) or `warn`.
    #[serde(default)]
    pub severity: Severity,
}

/// `[allowed-base-images]`: `prefixes = ["registry.corp/", "debian:"]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedBaseImages {
    /// `error` (default) or `warn`.
    #[serde(default)]
    pub severity: Severity,
    /// An image is allowed when the reference as written, or its normalised form
    /// (`docker.io/library/debian:bookworm`), starts with one of these.
    pub prefixes: Vec<String>,
}

/// `[required-labels]` with a `[required-labels.labels]` table of name = value glob.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredLabels {
    /// `error` (default) or `warn`.
    #[serde(default)]
    pub severity: Severity,
    /// Label name → the glob its value must match (`*` for any value).
    pub labels: BTreeMap<String, Glob>,
}

/// `[forbidden-flags]`: `flags = ["RUN --network=host", "--security=insecure"]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForbiddenFlags {
    /// `error` (default) or `warn`.
    #[serde(default)]
    pub severity: Severity,
    /// The forbidden flags.
    pub flags: Vec<FlagPattern>,
}

impl Policy {
    /// Parses a policy file's text. The error names the line and column (and quotes the
    /// offending part) the way the `toml` crate reports them.
    pub fn parse(text: &str) -> Result<Policy, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }

    /// Reads the policy at `path`: `Ok(None)` when there is no such file (no policy),
    /// an error naming the file when it cannot be read or parsed. A broken policy must
    /// fail builds, never let them through unchecked.
    pub fn load(path: &Path) -> Result<Option<Policy>, String> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| format!("policy {}: not UTF-8", path.display()))?;
                Policy::parse(&text)
                    .map(Some)
                    .map_err(|e| format!("policy {}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("policy {}: {e}", path.display())),
        }
    }

    /// The severity of the entrypoint check's finding, when the policy has the rule.
    pub fn entrypoint_check(&self) -> Option<Severity> {
        self.entrypoint_check.map(|s| s.severity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_rule() {
        let p = Policy::parse(
            r#"
[allowed-base-images]
prefixes = ["registry.corp/", "debian:"]

[base-image-digest]
severity = "warn"

[non-root-user]

[required-labels]
severity = "error"
[required-labels.labels]
"org.opencontainers.image.source" = "https://git.corp/*"
team = "*"

[forbidden-flags]
flags = ["RUN --network=host", "--security=insecure"]

[add-checksum]
severity = "warn"

[entrypoint-check]
"#,
        )
        .unwrap();
        let allowed = p.allowed_base_images.unwrap();
        assert_eq!(allowed.severity, Severity::Error);
        assert_eq!(allowed.prefixes, ["registry.corp/", "debian:"]);
        assert_eq!(p.base_image_digest.unwrap().severity, Severity::Warn);
        assert_eq!(p.non_root_user.unwrap().severity, Severity::Error);
        let labels = p.required_labels.unwrap();
        assert_eq!(labels.labels["team"], Glob::new("*"));
        let flags = p.forbidden_flags.unwrap();
        assert_eq!(flags.flags.len(), 2);
        assert_eq!(flags.flags[1].keyword, None);
        assert_eq!(p.add_checksum.unwrap().severity, Severity::Warn);
        assert_eq!(p.entrypoint_check, Some(Switch::default()));
    }

    #[test]
    fn an_empty_file_has_no_rules() {
        assert_eq!(Policy::parse("").unwrap(), Policy::default());
        assert_eq!(Policy::parse("# nothing\n").unwrap(), Policy::default());
    }

    #[test]
    fn mistakes_are_errors_with_their_line() {
        for (text, want) in [
            ("[allowed-base-image]\nprefixes = []\n", "unknown field"),
            ("[non-root-user]\nseverity = \"fatal\"\n", "unknown variant"),
            ("[allowed-base-images]\n", "missing field `prefixes`"),
            (
                "[forbidden-flags]\nflags = [\"RUN network=host\"]\n",
                "must start with `--`",
            ),
            (
                "[non-root-user]\nseverity = \"warn\"\nextra = 1\n",
                "line 3",
            ),
            ("[add-checksum\n", "line 1"),
        ] {
            let e = Policy::parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_missing_file_is_no_policy_and_a_broken_one_an_error() {
        let dir = std::env::temp_dir().join(format!("strata-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Policy::load(&dir.join("absent.toml")).unwrap(), None);
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[nope]\n").unwrap();
        let e = Policy::load(&bad).unwrap_err();
        assert!(e.starts_with(&format!("policy {}: ", bad.display())), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
