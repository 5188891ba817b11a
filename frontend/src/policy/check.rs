//! The policy's rules applied to one planned and converted build. Pure: it reads the stages
//! the target needs (never unreachable ones), their instructions as written, and the final
//! image config the converter produced (base image config included), so the gateway can
//! stop a build before anything is solved and `strata policy check` can run offline.

use crate::convert::Converted;
use crate::error::Error;
use crate::image::Image;
use crate::instructions::{Command, CommandKind, Lowered, Source};
use crate::options::BuildOptions;
use crate::pipeline::Prepared;
use crate::plan::{Base, FromRef, NamedContext, Plan};
use crate::syntax::Span;

use super::{Policy, Rule, Severity};

/// How much is known about the base images' configs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bases {
    /// Resolved by BuildKit: their `USER` and labels are the real ones.
    Resolved,
    /// Offline stand-ins (`strata policy check`): what only a base image could set is
    /// unknown, and findings that hinge on it are warnings saying so.
    Unknown,
}

/// One broken rule, at the instruction that breaks it (or the final stage's `FROM`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which rule.
    pub rule: Rule,
    /// What it does to the build.
    pub severity: Severity,
    /// Where.
    pub span: Span,
    /// What is wrong and what would satisfy the rule.
    pub message: String,
}

impl Violation {
    /// `rule: message`, what every front end prints after the location.
    pub fn text(&self) -> String {
        format!("{}: {}", self.rule, self.message)
    }
}

/// Every violation of `policy` by the build, in source order. The entrypoint check is not
/// among them: it needs the built filesystem, so the gateway applies that rule after the
/// solve ([`Policy::entrypoint_check`]).
pub fn check(
    policy: &Policy,
    prepared: &Prepared,
    converted: &Converted,
    bases: Bases,
) -> Vec<Violation> {
    let (lowered, plan) = (&prepared.lowered, &prepared.plan);
    let mut out = check_images(policy, prepared);
    if let Some(rule) = &policy.non_root_user {
        out.extend(non_root(
            rule.severity,
            lowered,
            plan,
            &converted.image,
            bases,
        ));
    }
    if let Some(rule) = &policy.required_labels {
        let chain = chain(lowered, plan);
        let labels = converted.image.config.labels.clone().unwrap_or_default();
        for (name, glob) in &rule.labels {
            let set_at = label_source(lowered, &chain, name);
            let span = set_at.map_or(final_from(lowered, plan), |s| s.span);
            let (severity, message) = match labels.get(name) {
                Some(value) if glob.matches(value) => continue,
                Some(value) => (
                    rule.severity,
                    format!(
                        "label {name:?} is {value:?}, which does not match {:?}: set `LABEL {name}=<value matching {:?}>`",
                        glob.as_str(),
                        glob.as_str()
                    ),
                ),
                None if bases == Bases::Unknown && root_is_image(plan, &chain) => (
                    Severity::Warn,
                    format!(
                        "the Dockerfile does not set label {name:?} and whether the base image sets it is not known offline (the build checks it): add `LABEL {name}=<value matching {:?}>`",
                        glob.as_str()
                    ),
                ),
                None => (
                    rule.severity,
                    format!(
                        "the final image has no label {name:?}: add `LABEL {name}=<value matching {:?}>` to the final stage",
                        glob.as_str()
                    ),
                ),
            };
            out.push(Violation {
                rule: Rule::RequiredLabels,
                severity,
                span,
                message,
            });
        }
    }
    if let Some(rule) = &policy.forbidden_flags {
        for source in sources(lowered, plan) {
            for flag in &source.flags {
                for pattern in &rule.flags {
                    if pattern.matches(&source.keyword, &flag.name, flag.value.as_deref()) {
                        let written = match &flag.value {
                            Some(v) => format!("--{}={v}", flag.name),
                            None => format!("--{}", flag.name),
                        };
                        out.push(Violation {
                            rule: Rule::ForbiddenFlags,
                            severity: rule.severity,
                            span: source.span,
                            message: format!(
                                "{} {written} is forbidden (policy: {:?}): remove the flag",
                                source.keyword, pattern.text
                            ),
                        });
                    }
                }
            }
        }
    }
    if let Some(rule) = &policy.add_checksum {
        for d in converted.downloads.iter().filter(|d| !d.checksum) {
            out.push(Violation {
                rule: Rule::AddChecksum,
                severity: rule.severity,
                span: d.span,
                message: format!(
                    "ADD {} has no --checksum: add `--checksum=sha256:<hex digest of the file>`",
                    d.url
                ),
            });
        }
    }
    out.sort_by_key(|v| (v.span.start, v.rule));
    out
}

/// The rules on image references alone (allowed prefixes, digests): they need only the
/// plan, so the gateway applies them before resolving anything, and an image the policy
/// forbids is never even looked up.
pub fn check_images(policy: &Policy, prepared: &Prepared) -> Vec<Violation> {
    let (lowered, plan) = (&prepared.lowered, &prepared.plan);
    let mut out = Vec::new();
    if let Some(rule) = &policy.allowed_base_images {
        for (image, span) in images(lowered, plan) {
            let normalized = strata_proto::llb::normalize_image_reference(&image);
            let allowed = rule
                .prefixes
                .iter()
                .any(|p| image.starts_with(p.as_str()) || normalized.starts_with(p.as_str()));
            if !allowed {
                let list = rule
                    .prefixes
                    .iter()
                    .map(|p| format!("{p:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                out.push(Violation {
                    rule: Rule::AllowedBaseImages,
                    severity: rule.severity,
                    span,
                    message: format!(
                        "image {image:?} is not allowed: use an image whose reference starts with one of {list}"
                    ),
                });
            }
        }
    }
    if let Some(rule) = &policy.base_image_digest {
        for (image, span) in images(lowered, plan) {
            if !image.contains("@sha256:") {
                let name = image.split('@').next().unwrap_or(&image);
                out.push(Violation {
                    rule: Rule::BaseImageDigest,
                    severity: rule.severity,
                    span,
                    message: format!(
                        "image {image:?} is not pinned by digest: write it as \"{name}@sha256:<digest>\""
                    ),
                });
            }
        }
    }
    out.sort_by_key(|v| (v.span.start, v.rule));
    out
}

/// The policy before any base image is resolved: when an image rule is broken at `error`,
/// the build stops here, and an image the policy forbids is never looked up. So that the
/// user still sees everything to fix at once, the other rules are then checked as
/// `strata policy check` does, on offline stand-ins for the base images (what would
/// hinge on their configs is left out).
pub fn before_resolve(
    policy: &Policy,
    prepared: &Prepared,
    opts: &BuildOptions,
) -> Result<(), Error> {
    if enforce(check_images(policy, prepared)).is_ok() {
        return Ok(());
    }
    let images = crate::resolve::offline_images(&prepared.plan);
    let all = match crate::pipeline::convert(prepared, opts, &images, Vec::new()) {
        Ok(converted) => check(policy, prepared, &converted, Bases::Unknown),
        Err(_) => check_images(policy, prepared),
    };
    enforce(all).map(|_| ())
}

/// Splits violations into what stops the build (every error, as one [`Error::Several`],
/// each message `policy <rule>: …`) and the warnings to show.
pub fn enforce(violations: Vec<Violation>) -> Result<Vec<Violation>, Error> {
    let (errors, warnings): (Vec<Violation>, Vec<Violation>) = violations
        .into_iter()
        .partition(|v| v.severity == Severity::Error);
    if errors.is_empty() {
        return Ok(warnings);
    }
    Err(Error::Several(
        errors
            .iter()
            .map(|v| (v.span, format!("policy {}", v.text())))
            .collect(),
    ))
}

/// Every image reference the needed stages build on or read (`FROM`, `COPY --from`,
/// `RUN --mount from=`, named contexts that are images), with the instruction naming it.
fn images(lowered: &Lowered, plan: &Plan) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    for &i in &plan.order {
        let (stage, sp) = (&lowered.stages[i], &plan.stages[i]);
        match &sp.base {
            Base::Image(r) => out.push((r.clone(), stage.from.span)),
            Base::Context(c) => {
                if let Some(r) = context_image(c) {
                    out.push((r, stage.from.span));
                }
            }
            Base::Scratch | Base::Stage(_) => {}
        }
        if sp.replaced {
            continue;
        }
        for (ci, reads) in &sp.reads {
            let Some(cmd) = stage.commands.get(*ci) else {
                continue;
            };
            for r in reads {
                if let Some(image) = read_image(r) {
                    out.push((image, cmd.source.span));
                }
            }
        }
        // What an ONBUILD trigger reads is named by the stage's FROM line.
        for r in sp.trigger_reads.iter().flatten() {
            if let Some(image) = read_image(r) {
                out.push((image, stage.from.span));
            }
        }
    }
    out
}

/// The image a `COPY --from`/mount/trigger read names, if it is one.
fn read_image(r: &FromRef) -> Option<String> {
    match r {
        FromRef::Image(r) => Some(r.clone()).filter(|r| r != "scratch"),
        FromRef::Context(c) => context_image(c),
        FromRef::Stage(_) => None,
    }
}

/// The image a named context stands for, as the image rules see it: a `docker-image://`
/// reference, or an OCI layout image as `oci-layout://<context name>@<digest>` (an image
/// from the client's directory is an image too: an allow-list of base images must not be
/// bypassed with `--build-context base=oci-layout://…`; allow it with the prefix
/// `oci-layout://`).
fn context_image(c: &NamedContext) -> Option<String> {
    if let Some(r) = c.image() {
        return Some(r.to_owned()).filter(|r| r != "scratch");
    }
    let (_, digest) = crate::plan::split_oci_layout(c.oci_layout()?).ok()?;
    let name = c.name.split("::").next().unwrap_or(&c.name);
    Some(format!("oci-layout://{name}@{digest}"))
}

/// The `FROM` and every instruction of the needed stages whose commands run.
fn sources<'a>(lowered: &'a Lowered, plan: &Plan) -> Vec<&'a Source> {
    let mut out = Vec::new();
    for &i in &plan.order {
        let stage = &lowered.stages[i];
        out.push(&stage.from);
        if !plan.stages[i].replaced {
            out.extend(stage.commands.iter().map(|c| &c.source));
        }
    }
    out
}

/// The final stage and the stages it builds on (`FROM <stage>`), final stage first.
fn chain(lowered: &Lowered, plan: &Plan) -> Vec<usize> {
    let mut out = vec![plan.target];
    let mut i = plan.target;
    while let Base::Stage(j) = plan.stages[i].base {
        if out.contains(&j) || j >= lowered.stages.len() {
            break;
        }
        out.push(j);
        i = j;
    }
    out
}

/// The commands of `chain` (final stage first) from the last one back, as they apply.
fn latest_first<'a>(lowered: &'a Lowered, chain: &'a [usize]) -> impl Iterator<Item = &'a Command> {
    chain
        .iter()
        .flat_map(move |&i| lowered.stages[i].commands.iter().rev())
}

/// The `FROM` line of the final stage: where findings about the whole image point.
fn final_from(lowered: &Lowered, plan: &Plan) -> Span {
    lowered.stages[plan.target].from.span
}

/// Whether the first stage of the chain starts from an image (whose config is inherited).
fn root_is_image(plan: &Plan, chain: &[usize]) -> bool {
    let root = chain.last().copied().unwrap_or(plan.target);
    match &plan.stages[root].base {
        Base::Image(_) => true,
        Base::Context(c) => c.image().is_some_and(|r| r != "scratch"),
        Base::Scratch | Base::Stage(_) => false,
    }
}

/// The last `LABEL` of the chain that sets `name` (keys compared as written, unquoted).
fn label_source<'a>(lowered: &'a Lowered, chain: &'a [usize], name: &str) -> Option<&'a Source> {
    latest_first(lowered, chain)
        .find(|c| match &c.kind {
            CommandKind::Label(pairs) => pairs
                .iter()
                .any(|(k, _)| k.text.trim_matches(|c| c == '"' || c == '\'') == name),
            _ => false,
        })
        .map(|c| &c.source)
}

/// `""`, `root`, `0` and any `<root>:<group>` run as root.
fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or_default().trim();
    name.is_empty() || name == "root" || name.parse::<u64>() == Ok(0)
}

/// The non-root rule on the final image's effective user.
fn non_root(
    severity: Severity,
    lowered: &Lowered,
    plan: &Plan,
    image: &Image,
    bases: Bases,
) -> Option<Violation> {
    let user = image.config.user.as_deref().unwrap_or_default();
    if !is_root(user) {
        return None;
    }
    let chain = chain(lowered, plan);
    let fix = "add `USER <non-root user>` (e.g. `USER 65532`) to the final stage";
    let set_at = latest_first(lowered, &chain).find(|c| matches!(c.kind, CommandKind::User(_)));
    let shown = if user.is_empty() { "root" } else { user };
    if let Some(cmd) = set_at {
        return Some(Violation {
            rule: Rule::NonRootUser,
            severity,
            span: cmd.source.span,
            message: format!("the final stage runs as {shown:?}, which is root: {fix}"),
        });
    }
    let root = chain.last().copied().unwrap_or(plan.target);
    let base = match &plan.stages[root].base {
        Base::Image(r) => Some(r.as_str()),
        Base::Context(c) => c.image().filter(|r| *r != "scratch"),
        Base::Scratch | Base::Stage(_) => None,
    };
    let (severity, message) = match (base, bases) {
        (Some(image), Bases::Unknown) => (
            Severity::Warn,
            format!(
                "the final stage sets no USER and the user of base image {image:?} is not known offline (the build checks it): {fix}"
            ),
        ),
        (Some(image), Bases::Resolved) => (
            severity,
            format!("the final stage sets no USER and base image {image:?} runs as {shown:?}, which is root: {fix}"),
        ),
        (None, _) => (
            severity,
            format!("the final stage sets no USER, so it runs as root: {fix}"),
        ),
    };
    Some(Violation {
        rule: Rule::NonRootUser,
        severity,
        span: final_from(lowered, plan),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::BaseImage;
    use crate::options::BuildOptions;
    use crate::pipeline;
    use crate::platform::Platform;
    use crate::resolve::offline_images;

    const POLICY: &str = r#"
[allowed-base-images]
prefixes = ["registry.corp/", "docker.io/library/debian:"]
[base-image-digest]
severity = "warn"
[non-root-user]
[required-labels.labels]
team = "*"
"org.opencontainers.image.source" = "https://git.corp/*"
[forbidden-flags]
flags = ["RUN --network=host", "--security=insecure"]
[add-checksum]
"#;

    fn run_with(
        dockerfile: &str,
        policy: &str,
        bases: Bases,
        base_user: Option<&str>,
    ) -> Vec<String> {
        let policy = Policy::parse(policy).unwrap();
        let opts = BuildOptions::new(Platform::linux_amd64());
        let prepared = pipeline::prepare(dockerfile, "Dockerfile", &opts).unwrap();
        let mut images = offline_images(&prepared.plan);
        for image in images.values_mut() {
            let BaseImage { config, .. } = image;
            config.config.user = base_user.map(str::to_owned);
            if base_user.is_some() {
                config
                    .config
                    .labels
                    .get_or_insert_with(Default::default)
                    .insert("team".to_owned(), "from-base".to_owned());
            }
        }
        let converted = pipeline::convert(&prepared, &opts, &images, Vec::new()).unwrap();
        check(&policy, &prepared, &converted, bases)
            .iter()
            .map(|v| {
                let (_, line) = prepared.sources.line_of(v.span);
                let sev = match v.severity {
                    Severity::Error => "E",
                    Severity::Warn => "W",
                };
                format!("{line} {sev} {}", v.text())
            })
            .collect()
    }

    fn run(dockerfile: &str) -> Vec<String> {
        run_with(dockerfile, POLICY, Bases::Resolved, None)
    }

    const COMPLIANT: &str = "FROM registry.corp/base@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa AS build\nRUN make\n\
        FROM debian:bookworm@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nCOPY --from=build /app /app\n\
        LABEL team=payments org.opencontainers.image.source=https://git.corp/pay/app\n\
        ADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 https://x.corp/f /f\n\
        USER 10001\n";

    /// An image from the client's OCI layout is held to the allow-list like any other.
    #[test]
    fn an_oci_layout_base_is_an_image_the_allow_list_sees() {
        let mut opts = BuildOptions::new(Platform::linux_amd64());
        let layout = format!("oci-layout://k3b9x2:v1@sha256:{}", "a".repeat(64));
        opts.named_contexts.insert("base".to_owned(), layout);
        let text =
            "FROM base\nLABEL team=t org.opencontainers.image.source=https://git.corp/x\nUSER 1\n";
        let prepared = pipeline::prepare(text, "Dockerfile", &opts).unwrap();
        let images = offline_images(&prepared.plan);
        let converted = pipeline::convert(&prepared, &opts, &images, Vec::new()).unwrap();
        let found: Vec<String> = check(
            &Policy::parse(POLICY).unwrap(),
            &prepared,
            &converted,
            Bases::Resolved,
        )
        .iter()
        .map(|v| v.text())
        .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains(&format!(
                "\"oci-layout://base@sha256:{}\" is not allowed",
                "a".repeat(64)
            )),
            "{found:?}"
        );
        let allowed = POLICY.replace("\"registry.corp/\"", "\"oci-layout://\"");
        let policy = Policy::parse(&allowed).unwrap();
        assert!(check(&policy, &prepared, &converted, Bases::Resolved).is_empty());
    }

    #[test]
    fn a_compliant_dockerfile_has_no_violation() {
        assert_eq!(run(COMPLIANT), Vec::<String>::new());
    }

    #[test]
    fn each_rule_reports_its_line_and_the_fix() {
        let got = run("FROM alpine:3.19 AS build\nRUN --network=host make\n\
            FROM debian:bookworm\nCOPY --from=build /app /app\nCOPY --from=busybox /bin/sh /sh\n\
            LABEL org.opencontainers.image.source=https://github.com/x\n\
            ARG FILE=f\nADD https://x.corp/$FILE /f\nUSER root:root\n");
        assert_eq!(
            got,
            [
                "1 E allowed-base-images: image \"alpine:3.19\" is not allowed: use an image whose reference starts with one of \"registry.corp/\", \"docker.io/library/debian:\"",
                "1 W base-image-digest: image \"alpine:3.19\" is not pinned by digest: write it as \"alpine:3.19@sha256:<digest>\"",
                "2 E forbidden-flags: RUN --network=host is forbidden (policy: \"RUN --network=host\"): remove the flag",
                "3 W base-image-digest: image \"debian:bookworm\" is not pinned by digest: write it as \"debian:bookworm@sha256:<digest>\"",
                "3 E required-labels: the final image has no label \"team\": add `LABEL team=<value matching \"*\">` to the final stage",
                "5 E allowed-base-images: image \"busybox\" is not allowed: use an image whose reference starts with one of \"registry.corp/\", \"docker.io/library/debian:\"",
                "5 W base-image-digest: image \"busybox\" is not pinned by digest: write it as \"busybox@sha256:<digest>\"",
                "6 E required-labels: label \"org.opencontainers.image.source\" is \"https://github.com/x\", which does not match \"https://git.corp/*\": set `LABEL org.opencontainers.image.source=<value matching \"https://git.corp/*\">`",
                "8 E add-checksum: ADD https://x.corp/f has no --checksum: add `--checksum=sha256:<hex digest of the file>`",
                "9 E non-root-user: the final stage runs as \"root:root\", which is root: add `USER <non-root user>` (e.g. `USER 65532`) to the final stage",
            ]
        );
    }

    #[test]
    fn unreachable_stages_are_not_checked() {
        let got = run(&format!(
            "FROM alpine AS unused\nRUN --network=host x\nADD https://x/y /y\n{COMPLIANT}"
        ));
        assert_eq!(got, Vec::<String>::new());
    }

    #[test]
    fn the_user_comes_from_the_chain_or_the_base_image() {
        let only = "[non-root-user]\n";
        // Set in an earlier stage the final one builds on: that USER line is named.
        let df = "FROM registry.corp/a AS base\nUSER 0\nFROM base\nRUN x\n";
        assert_eq!(
            run_with(df, only, Bases::Resolved, None),
            ["2 E non-root-user: the final stage runs as \"0\", which is root: add `USER <non-root user>` (e.g. `USER 65532`) to the final stage"]
        );
        // Not set anywhere: the base image's config decides.
        let df = "FROM registry.corp/a\nRUN x\n";
        assert_eq!(
            run_with(df, only, Bases::Resolved, Some("app")),
            Vec::<String>::new()
        );
        assert_eq!(
            run_with(df, only, Bases::Resolved, Some("0:0")),
            ["1 E non-root-user: the final stage sets no USER and base image \"registry.corp/a\" runs as \"0:0\", which is root: add `USER <non-root user>` (e.g. `USER 65532`) to the final stage"]
        );
        // Offline the base image's user is unknown: a warning that says so.
        assert_eq!(
            run_with(df, only, Bases::Unknown, None),
            ["1 W non-root-user: the final stage sets no USER and the user of base image \"registry.corp/a\" is not known offline (the build checks it): add `USER <non-root user>` (e.g. `USER 65532`) to the final stage"]
        );
        // scratch runs as root, known offline too.
        assert_eq!(
            run_with("FROM scratch\nCOPY a /a\n", only, Bases::Unknown, None),
            ["1 E non-root-user: the final stage sets no USER, so it runs as root: add `USER <non-root user>` (e.g. `USER 65532`) to the final stage"]
        );
        // A non-root USER (by name or number, with a group) passes.
        for user in ["app", "1000", "1000:0", "nobody:nogroup"] {
            let df = format!("FROM scratch\nUSER {user}\n");
            assert_eq!(
                run_with(&df, only, Bases::Unknown, None),
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn labels_may_come_from_the_base_image() {
        let policy = "[required-labels.labels]\nteam = \"*\"\n";
        let df = "FROM registry.corp/a\nRUN x\n";
        assert_eq!(
            run_with(df, policy, Bases::Resolved, Some("app")),
            Vec::<String>::new()
        );
        assert_eq!(
            run_with(df, policy, Bases::Unknown, None),
            ["1 W required-labels: the Dockerfile does not set label \"team\" and whether the base image sets it is not known offline (the build checks it): add `LABEL team=<value matching \"*\">`"]
        );
    }

    #[test]
    fn flags_match_as_written_on_any_instruction() {
        let policy = "[forbidden-flags]\nseverity = \"warn\"\nflags = [\"--mount=type=ssh*\", \"COPY --chmod\"]\n";
        let df = "FROM scratch\nCOPY --chmod=755 a /a\nUSER 1\n";
        assert_eq!(
            run_with(df, policy, Bases::Resolved, None),
            ["2 W forbidden-flags: COPY --chmod=755 is forbidden (policy: \"COPY --chmod\"): remove the flag"]
        );
    }

    #[test]
    fn a_flag_the_parser_rejects_is_still_matched_at_the_flag_level() {
        // `RUN --security` is an unknown flag for BuildKit 0.13's syntax (lowering fails
        // first); the rule reads flags as written, so it holds should the flag be accepted.
        let policy =
            Policy::parse("[forbidden-flags]\nflags = [\"--security=insecure\"]\n").unwrap();
        let opts = BuildOptions::new(Platform::linux_amd64());
        let mut prepared =
            pipeline::prepare("FROM scratch\nRUN x\nUSER 1\n", "Dockerfile", &opts).unwrap();
        let run = &mut prepared.lowered.stages[0].commands[0].source;
        run.flags.push(crate::syntax::Flag {
            name: "security".to_owned(),
            value: Some("insecure".to_owned()),
            span: run.span,
        });
        let images = offline_images(&prepared.plan);
        let converted = pipeline::convert(&prepared, &opts, &images, Vec::new()).unwrap();
        let got = check(&policy, &prepared, &converted, Bases::Resolved);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].text(),
            "forbidden-flags: RUN --security=insecure is forbidden (policy: \"--security=insecure\"): remove the flag"
        );
    }

    #[test]
    fn images_match_prefixes_as_written_or_normalised() {
        let policy =
            "[allowed-base-images]\nprefixes = [\"docker.io/library/\", \"127.0.0.1:5000/\"]\n";
        let df = "FROM debian:bookworm AS a\nFROM 127.0.0.1:5000/x/y:1 AS b\nFROM b\nCOPY --from=a / /\n";
        assert_eq!(
            run_with(df, policy, Bases::Resolved, None),
            Vec::<String>::new()
        );
        let df = "FROM ghcr.io/x/y\n";
        assert_eq!(run_with(df, policy, Bases::Resolved, None).len(), 1);
    }

    #[test]
    fn errors_stop_the_build_together_and_warnings_pass() {
        let v = |rule, severity, start| Violation {
            rule,
            severity,
            span: Span {
                start,
                end: start + 1,
            },
            message: "m".to_owned(),
        };
        let warnings = enforce(vec![v(Rule::BaseImageDigest, Severity::Warn, 1)]).unwrap();
        assert_eq!(warnings.len(), 1);
        let e = enforce(vec![
            v(Rule::AllowedBaseImages, Severity::Error, 1),
            v(Rule::BaseImageDigest, Severity::Warn, 2),
            v(Rule::NonRootUser, Severity::Error, 9),
        ])
        .unwrap_err();
        assert_eq!(
            e.located(),
            [
                (
                    Span { start: 1, end: 2 },
                    "policy allowed-base-images: m".to_owned()
                ),
                (
                    Span { start: 9, end: 10 },
                    "policy non-root-user: m".to_owned()
                ),
            ]
        );
        assert_eq!(e.span(), Some(Span { start: 1, end: 2 }));
    }

    #[test]
    fn root_detection() {
        for (user, root) in [
            ("", true),
            ("root", true),
            ("0", true),
            ("0:0", true),
            ("root:wheel", true),
            ("000", true),
            ("1000", false),
            ("app", false),
            ("rooty", false),
        ] {
            assert_eq!(is_root(user), root, "{user:?}");
        }
    }
}
