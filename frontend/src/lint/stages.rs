//! Rules about stages as the build sees them (`IF`/`FOR` resolved): stage names, the
//! variables of `FROM` lines, and a walk through every stage's instructions with its
//! environment (base image `ENV`, `ARG`s, `ENV`s) as upstream dispatches them: undefined
//! variables, shell-form `CMD`/`ENTRYPOINT`, relative `WORKDIR`, repeated `CMD`/…, `EXPOSE`.
//!
//! Every stage is checked, not only those the target needs, as upstream's lint does.

use std::collections::BTreeSet;
use std::convert::Infallible;

use crate::convert::BaseImages;
use crate::expand::{Env, Lexer};
use crate::image::Image;
use crate::instructions::{Command, CommandKind, Form, Lowered, Stage};
use crate::options::BuildOptions;
use crate::plan::{self, Base, Plan};
use crate::platform::Platform;
use crate::resolve;
use crate::scope::{self, NON_ENV_ARGS};
use crate::syntax::{go_quote, Span};

use super::rules::{
    COPY_IGNORED_FILE, DUPLICATE_STAGE_NAME, EXPOSE_INVALID_FORMAT, EXPOSE_PROTO_CASING,
    FROM_PLATFORM_FLAG_CONST_DISALLOWED, INVALID_DEFAULT_ARG_IN_FROM, JSON_ARGS_RECOMMENDED,
    MULTIPLE_INSTRUCTIONS_DISALLOWED, REDUNDANT_TARGET_PLATFORM, RESERVED_STAGE_NAME,
    UNDEFINED_ARG_IN_FROM, UNDEFINED_VAR, WORKDIR_RELATIVE_PATH,
};
use super::Finding;

/// What the stage rules read.
pub struct Context<'a> {
    /// The stages.
    pub lowered: &'a Lowered,
    /// Their graph and the global args.
    pub plan: &'a Plan,
    /// Build args.
    pub opts: &'a BuildOptions,
    /// Known base image configs.
    pub images: &'a BaseImages,
    /// The escape character.
    pub escape: char,
    /// The context's `.dockerignore`, when `CopyIgnoredFile` can judge it.
    pub ignore: Option<&'a super::ignored::Ignore>,
}

impl Context<'_> {
    /// The config of the image stage `i` starts from (a stand-in for one not resolved);
    /// `None` for scratch, a stage, or a named context that is not an image.
    pub fn base_image(&self, i: usize) -> Option<Image> {
        let sp = self.plan.stages.get(i)?;
        let reference = match &sp.base {
            Base::Image(r) => r.as_str(),
            Base::Context(c) => c.image().filter(|r| *r != "scratch")?,
            _ => return None,
        };
        let key = (reference.to_owned(), sp.platform.clone());
        Some(match self.images.get(&key) {
            Some(b) => b.config.clone(),
            None => resolve::offline_image(&sp.platform).config,
        })
    }
}

/// Stage names that mean something else in `FROM`/`--from`.
const RESERVED: &[&str] = &["context", "scratch"];

/// `ReservedStageName` and `DuplicateStageName`.
pub fn check_names(lowered: &Lowered, out: &mut Vec<Finding>) {
    let mut seen = BTreeSet::new();
    for stage in &lowered.stages {
        let Some(name) = &stage.name else { continue };
        if RESERVED.contains(&name.as_str()) {
            out.push(Finding::new(
                &RESERVED_STAGE_NAME,
                format!(
                    "Stage name should not use the same name as reserved stage {}",
                    go_quote(name)
                ),
                stage.from.span,
                stage.from.span,
            ));
        }
        if !seen.insert(name.as_str()) {
            out.push(Finding::new(
                &DUPLICATE_STAGE_NAME,
                format!(
                    "Duplicate stage name {}, stage names should be unique",
                    go_quote(name)
                ),
                stage.from.span,
                stage.from.span,
            ));
        }
    }
}

/// The rules about `FROM` lines, which need no plan (a base name that does not expand to a
/// valid reference stops planning; upstream reports its undeclared args first as well).
pub fn check_from(lowered: &Lowered, opts: &BuildOptions, escape: char, out: &mut Vec<Finding>) {
    let meta = meta_args(lowered, opts, escape, true);
    let defaults = meta_args(lowered, opts, escape, false);
    for stage in &lowered.stages {
        from_line(stage, meta.as_deref(), defaults.as_deref(), escape, out);
    }
}

/// Runs the per-instruction rules over every stage.
pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut ends: Vec<Walk> = Vec::with_capacity(ctx.lowered.stages.len());
    for (i, stage) in ctx.lowered.stages.iter().enumerate() {
        let Some(sp) = ctx.plan.stages.get(i) else {
            break;
        };
        let mut w = match &sp.base {
            Base::Stage(j) => ends.get(*j).cloned().unwrap_or_default(),
            Base::Scratch => Walk::default(),
            _ => match ctx.base_image(i) {
                Some(img) => Walk::on_image(&img),
                None => Walk::default(),
            },
        };
        w.cmd = None;
        w.entrypoint = None;
        w.healthcheck = None;
        if !sp.replaced {
            let lexer = Lexer::new(ctx.escape);
            for cmd in &stage.commands {
                w.command(ctx, &lexer, &sp.platform, cmd, out);
            }
        }
        ends.push(w);
    }
}

/// The variables of a `FROM` line: `UndefinedArgInFrom`, `RedundantTargetPlatform`,
/// `FromPlatformFlagConstDisallowed`, `InvalidDefaultArgInFrom`.
fn from_line(
    stage: &Stage,
    meta: Option<&[(String, String)]>,
    defaults: Option<&[(String, String)]>,
    escape: char,
    out: &mut Vec<Finding>,
) {
    let lexer = Lexer::new(escape);
    let meta = meta.unwrap_or_default();
    let keys: Vec<&str> = meta.iter().map(|(k, _)| k.as_str()).collect();
    let span = stage.from.span;
    let undeclared = |unset: &BTreeSet<String>, at: Span, out: &mut Vec<Finding>| {
        for name in unset {
            let hint = search(name, &keys)
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            out.push(Finding::new(
                &UNDEFINED_ARG_IN_FROM,
                format!("FROM argument '{name}' is not declared{hint}"),
                span,
                at,
            ));
        }
    };
    if let Ok(e) = lexer.expand_word(&stage.base.text, &meta) {
        undeclared(&e.unset, stage.base.span, out);
    }
    if let Some(p) = &stage.platform {
        if let Ok(e) = lexer.expand_word(&p.text, &meta) {
            undeclared(&e.unset, p.span, out);
            let target = Env::get(meta, "TARGETPLATFORM").unwrap_or_default();
            if e.unset.is_empty()
                && e.used.len() == 1
                && e.used.contains("TARGETPLATFORM")
                && e.value == target
            {
                out.push(Finding::new(
                    &REDUNDANT_TARGET_PLATFORM,
                    format!(
                        "Setting platform to predefined {} in FROM is redundant as this is the default behavior",
                        p.text
                    ),
                    span,
                    p.span,
                ));
            }
            if e.used.is_empty() && e.unset.is_empty() {
                if let Some(pl) = Platform::parse(&e.value) {
                    let name = stage.name.as_deref().unwrap_or_default();
                    if !name.contains(&pl.os) && !name.contains(&pl.architecture) {
                        out.push(Finding::new(
                            &FROM_PLATFORM_FLAG_CONST_DISALLOWED,
                            format!(
                                "FROM --platform flag should not use constant value {}",
                                go_quote(&e.value)
                            ),
                            span,
                            p.span,
                        ));
                    }
                }
            }
        }
    }
    if let Some(env) = defaults {
        if let Ok(e) = lexer.expand_word(&stage.base.text, &env) {
            if plan::check_reference(&e.value).is_err() {
                out.push(Finding::new(
                    &INVALID_DEFAULT_ARG_IN_FROM,
                    format!(
                        "Default value for ARG {} results in empty or invalid base image name",
                        stage.base.text
                    ),
                    span,
                    stage.base.span,
                ));
            }
        }
    }
}

/// The global args `FROM` lines see: the platform args, then every global `ARG` with its
/// build arg, else its default, else empty (`with_build_args`); or, for
/// `InvalidDefaultArgInFrom`, as a build without build args sees them (platform args may
/// still be overridden; an `ARG` without default stays unset). `None` when a default does
/// not expand (the build reports that).
fn meta_args(
    lowered: &Lowered,
    opts: &BuildOptions,
    escape: char,
    with_build_args: bool,
) -> Option<Vec<(String, String)>> {
    let lexer = Lexer::new(escape);
    let mut env: Vec<(String, String)> = opts.predefined_args();
    for arg in &lowered.meta_args {
        let name = &arg.name.text;
        let value = match (
            opts.build_args.get(name).filter(|_| with_build_args),
            &arg.default,
        ) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => lexer.expand_word(&d.text, &env).ok()?.value,
            (None, None) if with_build_args => String::new(),
            (None, None) => continue,
        };
        env.retain(|(k, _)| k != name);
        env.push((name.clone(), value));
    }
    Some(env)
}

/// A stage's state as upstream's dispatcher keeps it: what a stage built on it inherits.
#[derive(Clone, Debug, Default)]
struct Walk {
    /// The environment words expand with: base image `ENV`, then `ARG` values and `ENV`s,
    /// each appended (a later one wins), not a `scope::Vars`: `UndefinedVar`'s "did you
    /// mean" takes the first closest name in this order.
    env: Vec<(String, String)>,
    /// `ARG` names declared in this stage and the stages it builds on.
    declared: BTreeSet<String>,
    /// The image has a `SHELL` (its config's, or one set by `SHELL`).
    shell: bool,
    /// A `WORKDIR` was set by the Dockerfile in this stage or one it builds on.
    workdir: bool,
    /// The last `CMD`/`ENTRYPOINT`/`HEALTHCHECK` of this stage (not inherited).
    cmd: Option<Span>,
    entrypoint: Option<Span>,
    healthcheck: Option<Span>,
}

impl Walk {
    fn on_image(img: &Image) -> Walk {
        let env = img
            .config
            .env
            .iter()
            .flatten()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        Walk {
            env,
            shell: img.config.shell.as_ref().is_some_and(|s| !s.is_empty()),
            ..Walk::default()
        }
    }

    /// `UndefinedVar` for the words of one instruction; returns the expanded values
    /// (`None` for a word that does not expand: the build reports it).
    fn expand(
        &self,
        lexer: &Lexer,
        cmd: &Command,
        words: &[(&str, Span)],
        out: &mut Vec<Finding>,
    ) -> Vec<Option<String>> {
        words
            .iter()
            .map(|(text, at)| {
                let e = lexer.expand_word(text, &self.env).ok()?;
                self.undefined(&e.unset, cmd, *at, out);
                Some(e.value)
            })
            .collect()
    }

    fn undefined(&self, unset: &BTreeSet<String>, cmd: &Command, at: Span, out: &mut Vec<Finding>) {
        let keys: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        for name in unset {
            if self.declared.contains(name) || NON_ENV_ARGS.contains(&name.as_str()) {
                continue;
            }
            let hint = search(name, &keys)
                .map(|s| format!(" (did you mean ${s}?)"))
                .unwrap_or_default();
            out.push(Finding::new(
                &UNDEFINED_VAR,
                format!("Usage of undefined variable '${name}'{hint}"),
                cmd.source.span,
                at,
            ));
        }
    }

    fn command(
        &mut self,
        ctx: &Context<'_>,
        lexer: &Lexer,
        platform: &Platform,
        cmd: &Command,
        out: &mut Vec<Finding>,
    ) {
        let span = cmd.source.span;
        match &cmd.kind {
            CommandKind::Arg(decls) => {
                for d in decls {
                    let name = d.name.text.clone();
                    let (value, _) = scope::stage_arg(
                        ctx.opts,
                        &name,
                        d.default.as_ref(),
                        |def| {
                            Ok::<_, Infallible>(
                                self.expand(lexer, cmd, &[(&def.text, def.span)], out)
                                    .pop()
                                    .flatten(),
                            )
                        },
                        &ctx.plan.meta_args,
                    )
                    .unwrap_or_else(|never| match never {});
                    if let Some(v) = value {
                        if scope::is_env_arg(&name) {
                            self.env.push((name.clone(), v));
                        }
                    }
                    self.declared.insert(name);
                }
            }
            CommandKind::Env(pairs) => {
                let words: Vec<(&str, Span)> = pairs
                    .iter()
                    .flat_map(|(k, v)| [(k.text.as_str(), k.span), (v.text.as_str(), v.span)])
                    .collect();
                let values = self.expand(lexer, cmd, &words, out);
                for kv in values.chunks(2) {
                    if let [Some(k), Some(v)] = kv {
                        self.env.push((k.clone(), v.clone()));
                    }
                }
            }
            CommandKind::Label(pairs) => {
                let words: Vec<(&str, Span)> = pairs
                    .iter()
                    .flat_map(|(k, v)| [(k.text.as_str(), k.span), (v.text.as_str(), v.span)])
                    .collect();
                self.expand(lexer, cmd, &words, out);
            }
            CommandKind::Copy(c) => {
                let mut words: Vec<(&str, Span)> = c
                    .sources
                    .iter()
                    .map(|w| (w.text.as_str(), w.span))
                    .collect();
                words.push((&c.dest.text, c.dest.span));
                for f in [&c.chown, &c.chmod, &c.checksum].into_iter().flatten() {
                    words.push((&f.text, f.span));
                }
                let values = self.expand(lexer, cmd, &words, out);
                if let Some(ignore) = ctx.ignore.filter(|_| c.from.is_none()) {
                    copy_ignored(ignore, c, &values[..c.sources.len()], span, out);
                }
                // Heredoc sources whose delimiter is unquoted expand, with `\` escapes.
                let mut raw = Lexer::new('\\');
                raw.skip_process_quotes = true;
                for h in c.heredocs.iter().filter(|h| h.expand) {
                    self.expand(&raw, cmd, &[(&h.body(), h.span)], out);
                }
            }
            CommandKind::Workdir(w) => {
                let path = self
                    .expand(lexer, cmd, &[(&w.text, w.span)], out)
                    .pop()
                    .flatten();
                if let Some(path) = path {
                    if !self.workdir && !is_abs(&path, platform) {
                        out.push(Finding::new(
                            &WORKDIR_RELATIVE_PATH,
                            format!(
                                "Relative workdir {} can have unexpected results if the base image changes",
                                go_quote(&path)
                            ),
                            span,
                            w.span,
                        ));
                    }
                }
                self.workdir = true;
            }
            CommandKind::User(w) | CommandKind::StopSignal(w) => {
                self.expand(lexer, cmd, &[(&w.text, w.span)], out);
            }
            CommandKind::Volume(words) => {
                let words: Vec<(&str, Span)> =
                    words.iter().map(|w| (w.text.as_str(), w.span)).collect();
                self.expand(lexer, cmd, &words, out);
            }
            CommandKind::Run(r) | CommandKind::Check(r) => {
                let words: Vec<(&str, Span)> =
                    r.mounts.iter().map(|m| (m.text.as_str(), m.span)).collect();
                self.expand(lexer, cmd, &words, out);
            }
            CommandKind::Expose(words) => {
                for w in words {
                    if let Ok(ports) = lexer.expand_words(&w.text, &self.env) {
                        for p in ports {
                            expose(&p, span, w.span, out);
                        }
                    }
                }
            }
            CommandKind::Cmd(form) | CommandKind::Entrypoint(form) => {
                let is_cmd = matches!(cmd.kind, CommandKind::Cmd(_));
                let slot = if is_cmd {
                    &mut self.cmd
                } else {
                    &mut self.entrypoint
                };
                used_once(slot, cmd, out);
                if matches!(form, Form::Shell(_)) && !self.shell {
                    out.push(Finding::new(
                        &JSON_ARGS_RECOMMENDED,
                        format!(
                            "JSON arguments recommended for {} to prevent unintended behavior related to OS signals",
                            super::ast::written_keyword_of(&cmd.source.original)
                        ),
                        span,
                        span,
                    ));
                }
            }
            CommandKind::Healthcheck(_) => used_once(&mut self.healthcheck, cmd, out),
            CommandKind::Shell(_) => self.shell = true,
            CommandKind::OnBuild(_) | CommandKind::Maintainer(_) => {}
        }
    }
}

/// `CopyIgnoredFile` for the expanded sources of a `COPY`/`ADD` from the build context
/// (not git or URL sources, not heredocs).
fn copy_ignored(
    ignore: &super::ignored::Ignore,
    c: &crate::instructions::Copy,
    values: &[Option<String>],
    span: Span,
    out: &mut Vec<Finding>,
) {
    let what = if c.is_add { "Add" } else { "Copy" };
    for (word, value) in c.sources.iter().zip(values) {
        let Some(src) = value else { continue };
        let heredoc = !c.heredocs.is_empty() && word.text.starts_with("<<");
        if heredoc
            || !matches!(crate::convert::remote::parse_git_ref(src), Ok(None))
            || crate::convert::remote::is_http(src)
        {
            continue;
        }
        if let Some(cleaned) = ignore.excludes(src) {
            out.push(Finding::new(
                &COPY_IGNORED_FILE,
                format!(
                    "Attempting to {what} file {} that is excluded by .dockerignore",
                    go_quote(&cleaned)
                ),
                span,
                word.span,
            ));
        }
    }
}

/// `MultipleInstructionsDisallowed`, reported at the earlier instruction (the ignored one).
fn used_once(slot: &mut Option<Span>, cmd: &Command, out: &mut Vec<Finding>) {
    if let Some(prev) = slot.replace(cmd.source.span) {
        let mut f = Finding::new(
            &MULTIPLE_INSTRUCTIONS_DISALLOWED,
            format!(
                "Multiple {} instructions should not be used in the same stage because only the last one will be used",
                super::ast::written_keyword_of(&cmd.source.original)
            ),
            prev,
            prev,
        );
        // Upstream reports it while dispatching the later instruction.
        f.trigger = cmd.source.span.start;
        out.push(f);
    }
}

/// Whether a `WORKDIR` path is absolute on the stage's OS.
fn is_abs(path: &str, platform: &Platform) -> bool {
    if platform.os == "windows" {
        let b = path.as_bytes();
        return path.starts_with(['/', '\\'])
            || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':');
    }
    path.starts_with('/')
}

/// `ExposeProtoCasing` and `ExposeInvalidFormat` for one port spec
/// (`[ip:][hostPort:]containerPort[/proto]`), on specs the build accepts.
fn expose(raw: &str, span: Span, at: Span, out: &mut Vec<Finding>) {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (ip, host, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (port, proto) = container.split_once('/').unwrap_or((container, ""));
    let known = matches!(proto.to_lowercase().as_str(), "" | "tcp" | "udp" | "sctp");
    if port.is_empty() || !known {
        return;
    }
    if proto != proto.to_lowercase() {
        out.push(Finding::new(
            &EXPOSE_PROTO_CASING,
            format!("Defined protocol '{raw}' in EXPOSE instruction should be lowercase"),
            span,
            at,
        ));
    }
    if !ip.is_empty() || !host.is_empty() {
        out.push(Finding::new(
            &EXPOSE_INVALID_FORMAT,
            format!(
                "EXPOSE instruction should not define an IP address or host-port mapping, found '{raw}'"
            ),
            span,
            at,
        ));
    }
}

/// Upstream's "did you mean": the first option within fewer than 3 edits of `name`
/// (strictly closer ones win), or none when `name` itself is an option.
pub(super) fn search<'a>(name: &str, options: &[&'a str]) -> Option<&'a str> {
    let mut best = None;
    let mut min = 3;
    for opt in options {
        if *opt == name {
            return None;
        }
        let d = crate::instructions::edit_distance(name, opt);
        if d < min {
            min = d;
            best = Some(*opt);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_as_upstream() {
        assert_eq!(search("FOOO", &["FOO", "BAR"]), Some("FOO"));
        assert_eq!(search("FOO", &["FOO", "FOX"]), None);
        assert_eq!(search("XYZW", &["FOO"]), None);
    }

    #[test]
    fn expose_specs() {
        let rules = |raw: &str| {
            let mut out = Vec::new();
            expose(raw, Span::default(), Span::default(), &mut out);
            out.iter().map(|f| f.rule.name).collect::<Vec<_>>()
        };
        assert!(rules("80").is_empty());
        assert!(rules("80/udp").is_empty());
        assert_eq!(rules("80/TCP"), ["ExposeProtoCasing"]);
        assert_eq!(rules("8080:80"), ["ExposeInvalidFormat"]);
        assert_eq!(
            rules("127.0.0.1:8080:80/UDP"),
            ["ExposeProtoCasing", "ExposeInvalidFormat"]
        );
        assert!(rules("80/http").is_empty(), "the build rejects it");
    }
}
