//! The stage graph: which stages the target needs, in what order, and what each one builds
//! on and copies from.
//!
//! Planning happens before any base image is resolved, so only the target's reachable stages
//! cost a `ResolveImageConfig`. Stage references (`FROM <stage>`, `COPY --from`,
//! `RUN --mount from=`) are expanded here with the `ARG`s and `ENV`s the Dockerfile itself
//! declares; the converter then follows the plan instead of deciding again.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::expand::{Lexer, NoEnv};
use crate::instructions::{CommandKind, Lowered};
use crate::mounts;
use crate::options::BuildOptions;
use crate::platform::Platform;
use crate::syntax::Span;

/// What a stage starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// `FROM scratch`.
    Scratch,
    /// `FROM <earlier stage>`.
    Stage(usize),
    /// `FROM <image reference>` (expanded, as written by the user).
    Image(String),
    /// A named build context (`--build-context name=…`) standing in for the image, or
    /// for the whole stage when it has the stage's name.
    Context(NamedContext),
}

/// A `context:<name>` build option that replaces an image or stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedContext {
    /// The name as matched, with its `::<platform>` suffix when the option had one.
    pub name: String,
    /// The option's value: `docker-image://…`, `local:<name>`, …
    pub value: String,
}

impl NamedContext {
    /// The image reference of a `docker-image://` context.
    pub fn image(&self) -> Option<&str> {
        let rest = self.value.strip_prefix("docker-image:")?;
        Some(rest.strip_prefix("//").unwrap_or(rest))
    }
}

/// A stage or image that a `COPY --from` / `RUN --mount from=` reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FromRef {
    /// An earlier stage.
    Stage(usize),
    /// An image reference.
    Image(String),
    /// A named build context.
    Context(NamedContext),
}

/// The plan for one stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagePlan {
    /// What it starts from.
    pub base: Base,
    /// Its platform (`FROM --platform`, else the target platform).
    pub platform: Platform,
    /// Whether `FROM --platform` set the platform explicitly.
    pub explicit_platform: bool,
    /// For each command index, the stages/images it reads (one per `--from`/mount), in order.
    pub reads: BTreeMap<usize, Vec<FromRef>>,
    /// A named context has the stage's name: the context is the stage, its commands
    /// never run.
    pub replaced: bool,
    /// A reference to a later stage: an error only if this stage is built, as in BuildKit.
    pub deferred_error: Option<(Span, String)>,
}

/// The whole plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Global `ARG` values and the predefined platform args: what `FROM` lines see and what
    /// a stage's `ARG NAME` (without default) inherits.
    pub meta_args: Vec<(String, String)>,
    /// The stage to build.
    pub target: usize,
    /// Stages the target needs (itself included), in file order, which is dispatch order.
    pub order: Vec<usize>,
    /// One plan per stage of the file (unreachable ones included, never converted).
    pub stages: Vec<StagePlan>,
    /// Where each image the build needs is first named (a `FROM`, `COPY --from` or mount),
    /// so a failure to resolve it points at that line.
    pub image_spans: BTreeMap<(String, Platform), Span>,
}

impl Plan {
    /// Image references whose config the reachable stages need, deduplicated, in order.
    pub fn base_images(&self) -> Vec<(String, Platform)> {
        let mut out: Vec<(String, Platform)> = Vec::new();
        for &i in &self.order {
            let r = match &self.stages[i].base {
                Base::Image(r) => r.as_str(),
                Base::Context(c) => match c.image() {
                    Some(r) if r != "scratch" => r,
                    _ => continue,
                },
                _ => continue,
            };
            let key = (r.to_owned(), self.stages[i].platform.clone());
            if !out.contains(&key) {
                out.push(key);
            }
        }
        // Images read by `COPY --from`/mounts are resolved too, so a missing one fails with
        // its line before anything runs (as BuildKit's frontend does).
        for &i in &self.order {
            for r in self.stages[i].reads.values().flatten() {
                if let FromRef::Image(r) = r {
                    let key = (r.clone(), self.stages[i].platform.clone());
                    if !out.contains(&key) {
                        out.push(key);
                    }
                }
            }
        }
        out
    }

    /// Whether stage `i` is built.
    pub fn is_reachable(&self, i: usize) -> bool {
        self.order.contains(&i)
    }

    /// Stage `i` and every stage it builds on or reads from, directly or not: what must be
    /// final before its filesystem is.
    pub fn needs(&self, i: usize) -> BTreeSet<usize> {
        let mut needed = BTreeSet::new();
        let mut todo = vec![i];
        while let Some(j) = todo.pop() {
            let Some(stage) = self.stages.get(j) else {
                continue;
            };
            if !needed.insert(j) {
                continue;
            }
            if let Base::Stage(k) = stage.base {
                todo.push(k);
            }
            for r in stage.reads.values().flatten() {
                if let FromRef::Stage(k) = r {
                    todo.push(*k);
                }
            }
        }
        needed
    }
}

/// Plans the build of `lowered` under `opts`.
pub fn plan(lowered: &Lowered, opts: &BuildOptions, escape: char) -> Result<Plan> {
    let lexer = Lexer::new(escape);
    let meta_args = meta_args(lowered, opts, &lexer)?;
    let names: Vec<Option<&str>> = lowered.stages.iter().map(|s| s.name.as_deref()).collect();

    let mut stages = Vec::with_capacity(lowered.stages.len());
    for (i, stage) in lowered.stages.iter().enumerate() {
        // Duplicate stage names are accepted, as BuildKit 0.13 does: references find the last.
        let base_name = lexer
            .expand_word(&stage.base.text, &meta_args)
            .map_err(|e| Error::at(stage.base.span, e.to_string()))?
            .value;
        if base_name.is_empty() {
            return Err(Error::at(
                stage.base.span,
                format!("base name ({}) should not be blank", stage.base.text),
            ));
        }
        let explicit =
            match &stage.platform {
                Some(p) => {
                    let text = lexer
                        .expand_word(&p.text, &meta_args)
                        .map_err(|e| Error::at(p.span, e.to_string()))?
                        .value;
                    Some(Platform::parse(&text).ok_or_else(|| {
                        Error::at(p.span, format!("failed to parse platform {text}"))
                    })?)
                }
                None => None,
            };
        let context_platform = explicit
            .clone()
            .unwrap_or_else(|| opts.target_platform().clone());
        let own = stage
            .name
            .as_deref()
            .and_then(|n| named_context(opts, n, &context_platform));
        let replaced = own.is_some();
        // `FROM` matches stage names exactly (they are stored lower-cased), unlike `--from`.
        let base = if let Some(c) = own {
            Base::Context(c)
        } else if base_name.eq_ignore_ascii_case("scratch") {
            Base::Scratch
        } else if let Some(j) = names[..i]
            .iter()
            .rposition(|n| *n == Some(base_name.as_str()))
        {
            Base::Stage(j)
        } else if let Some(c) = named_context(opts, &base_name, &context_platform) {
            Base::Context(c)
        } else {
            check_reference(&base_name).map_err(|m| Error::at(stage.base.span, m))?;
            Base::Image(base_name)
        };
        let (platform, explicit_platform) = match explicit {
            Some(p) => (p, true),
            None => match &base {
                Base::Stage(j) => {
                    let parent: &StagePlan = &stages[*j];
                    (parent.platform.clone(), parent.explicit_platform)
                }
                _ => (opts.target_platform().clone(), false),
            },
        };
        let (reads, deferred_error) = if replaced {
            (BTreeMap::new(), None)
        } else {
            stage_reads(lowered, i, &names, opts, &platform, &lexer)?
        };
        stages.push(StagePlan {
            base,
            platform,
            explicit_platform,
            reads,
            replaced,
            deferred_error,
        });
    }

    let target = match &opts.target {
        None => lowered.stages.len() - 1,
        Some(t) => find_stage(&names, t)
            .ok_or_else(|| Error::Input(format!("target stage {t:?} could not be found")))?,
    };
    let mut needed = BTreeSet::new();
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if !needed.insert(i) {
            continue;
        }
        if let Base::Stage(j) = stages[i].base {
            todo.push(j);
        }
        for r in stages[i].reads.values().flatten() {
            if let FromRef::Stage(j) = r {
                todo.push(*j);
            }
        }
    }
    if let Some((span, message)) = needed
        .iter()
        .find_map(|&i| stages[i].deferred_error.clone())
    {
        return Err(Error::at(span, message));
    }
    let mut image_spans = BTreeMap::new();
    for &i in &needed {
        let platform = &stages[i].platform;
        if let Base::Image(r) = &stages[i].base {
            image_spans
                .entry((r.clone(), platform.clone()))
                .or_insert(lowered.stages[i].base.span);
        }
        for (ci, refs) in &stages[i].reads {
            for r in refs {
                if let FromRef::Image(r) = r {
                    image_spans
                        .entry((r.clone(), platform.clone()))
                        .or_insert(lowered.stages[i].commands[*ci].source.span);
                }
            }
        }
    }
    Ok(Plan {
        meta_args,
        target,
        order: needed.into_iter().collect(),
        stages,
        image_spans,
    })
}

/// The named context for `name` (an image reference or stage name), as BuildKit looks it
/// up: by the familiar form of the reference without `:latest`, first with the
/// `::<platform>` suffix, then without. `scratch` and `context` are never replaced.
pub fn named_context(opts: &BuildOptions, name: &str, platform: &Platform) -> Option<NamedContext> {
    if opts.named_contexts.is_empty()
        || name.eq_ignore_ascii_case("scratch")
        || name.eq_ignore_ascii_case("context")
    {
        return None;
    }
    let full = strata_proto::llb::normalize_image_reference(name);
    let familiar = full
        .strip_prefix("docker.io/library/")
        .or_else(|| full.strip_prefix("docker.io/"))
        .unwrap_or(&full);
    let familiar = familiar.strip_suffix(":latest").unwrap_or(familiar);
    [format!("{familiar}::{platform}"), familiar.to_owned()]
        .into_iter()
        .find_map(|key| {
            opts.named_contexts.get(&key).map(|value| NamedContext {
                name: key.clone(),
                value: value.clone(),
            })
        })
}

/// Rejects references Docker cannot parse, with BuildKit's wording (`FROM BASE` for a stage
/// `base`, or an unexpanded `COPY --from=$X`, end up here).
pub(crate) fn check_reference(reference: &str) -> std::result::Result<(), String> {
    let bad = |why: &str| {
        format!("failed to parse stage name {reference:?}: invalid reference format{why}")
    };
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest {
        let ok = d.split_once(':').is_some_and(|(algo, hex)| {
            !algo.is_empty()
                && algo
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
                && hex.len() >= 32
                && hex.chars().all(|c| c.is_ascii_hexdigit())
        });
        if !ok {
            return Err(bad(""));
        }
    }
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(c) => (&name[..last_slash + c], Some(&name[last_slash + c + 1..])),
        None => (name, None),
    };
    if let Some(t) = tag {
        let mut chars = t.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !first_ok
            || t.len() > 128
            || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(bad(""));
        }
    }
    let mut parts: Vec<&str> = repo.split('/').collect();
    if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        let domain = parts.remove(0);
        let (host, port) = domain.split_once(':').unwrap_or((domain, "0"));
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
            || !port.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad(""));
        }
    }
    for part in &parts {
        if !part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(bad(""));
        }
        if part.chars().any(|c| c.is_ascii_uppercase()) {
            let path = strata_proto::llb::normalize_image_reference(reference);
            let path = path.strip_prefix("docker.io/").unwrap_or(&path);
            let path = path.split(['@']).next().unwrap_or(path);
            let path = match path.rfind(':') {
                Some(c) if c > path.rfind('/').unwrap_or(0) => &path[..c],
                _ => path,
            };
            return Err(bad(&format!(
                ": repository name ({path}) must be lowercase"
            )));
        }
        if !is_path_component(part) {
            return Err(bad(""));
        }
    }
    Ok(())
}

/// A repository path component: lower-case alphanumerics joined by `.`, `_`, `__` or `-`s.
fn is_path_component(part: &str) -> bool {
    let bytes = part.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut sep = String::new();
    for &b in bytes {
        if alnum(b) {
            let ok = sep.is_empty()
                || sep == "."
                || sep == "_"
                || sep == "__"
                || sep.bytes().all(|c| c == b'-');
            if !ok {
                return false;
            }
            sep.clear();
        } else if b"._-".contains(&b) {
            sep.push(b as char);
        } else {
            return false;
        }
    }
    true
}

/// A stage by name (case-insensitive) among `names`; with duplicate names the last one
/// wins, as in BuildKit (its stages live in a map keyed by name).
fn find_stage(names: &[Option<&str>], name: &str) -> Option<usize> {
    names
        .iter()
        .rposition(|n| n.is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// The predefined platform args, then the global `ARG`s with build-arg overrides. A global
/// `ARG` with neither a default nor a build arg leaves the scope as it is (dockerfile 1.26
/// `buildMetaArgs`): `ARG TARGETARCH` keeps the predefined value, an unknown name stays unset.
fn meta_args(
    lowered: &Lowered,
    opts: &BuildOptions,
    lexer: &Lexer,
) -> Result<Vec<(String, String)>> {
    let mut env = opts.predefined_args();
    for arg in &lowered.meta_args {
        let name = arg.name.text.clone();
        let value = match (opts.build_args.get(&name), &arg.default) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => {
                lexer
                    .expand_word(&d.text, &env)
                    .map_err(|e| Error::at(d.span, e.to_string()))?
                    .value
            }
            (None, None) => continue,
        };
        env.retain(|(k, _)| *k != name);
        env.push((name, value));
    }
    Ok(env)
}

/// Per command index, the stages and images it reads.
type Reads = BTreeMap<usize, Vec<FromRef>>;

/// Stage `i`'s `COPY --from` and `RUN --mount from=` references, resolved. Neither is
/// expanded: dockerfile 1.26 refuses a `COPY --from` that word processing would change
/// (`toCommand`), and a mount `from` with a variable.
fn stage_reads(
    lowered: &Lowered,
    i: usize,
    names: &[Option<&str>],
    opts: &BuildOptions,
    platform: &Platform,
    lexer: &Lexer,
) -> Result<(Reads, Option<(Span, String)>)> {
    let stage = &lowered.stages[i];
    let current = stage.name.clone().unwrap_or_else(|| format!("stage-{i}"));
    let mut reads = BTreeMap::new();
    let mut deferred: Option<(Span, String)> = None;
    // `Err` for a reference to this stage or a later one; `target` is set for mounts.
    let resolve = |text: &str, target: Option<&str>| -> std::result::Result<FromRef, String> {
        let index = match text.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => find_stage(names, text),
        };
        match index {
            Some(j) if j < i => Ok(FromRef::Stage(j)),
            Some(j) if j == i => Err(format!("circular dependency detected on stage: {current}")),
            Some(_) => Err(match target {
                Some(t) => format!(
                    "cannot mount from stage {text:?} to {t:?}, stage needs to be defined before current command"
                ),
                None => format!(
                    "cannot copy from stage {text:?}, it needs to be defined before current stage {current:?}"
                ),
            }),
            None => Ok(match named_context(opts, text, platform) {
                Some(c) => FromRef::Context(c),
                None => {
                    check_reference(text)?;
                    FromRef::Image(text.to_owned())
                }
            }),
        }
    };
    for (ci, cmd) in stage.commands.iter().enumerate() {
        let mut found = Vec::new();
        match &cmd.kind {
            CommandKind::Copy(c) => {
                // An empty `--from=` means the build context.
                if let Some(from) = c.from.as_ref().filter(|f| !f.text.is_empty()) {
                    let processed = lexer.expand_word(&from.text, &NoEnv).map(|e| e.value);
                    if processed.as_deref() != Ok(from.text.as_str()) {
                        let message = match processed {
                            Err(e) => e.to_string(),
                            Ok(_) => "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround".to_owned(),
                        };
                        deferred.get_or_insert((from.span, message));
                        continue;
                    }
                    match resolve(&from.text, None) {
                        Ok(r) => found.push(r),
                        Err(m) => {
                            deferred.get_or_insert((from.span, m));
                        }
                    }
                }
            }
            CommandKind::Run(r) | CommandKind::Check(r) => {
                for m in &r.mounts {
                    let Some(from) =
                        mounts::raw_field(&m.text, &["from"]).filter(|f| !f.is_empty())
                    else {
                        continue;
                    };
                    if from.contains('$') {
                        return Err(Error::at(
                            m.span,
                            "'from' doesn't support variable expansion, define alias stage instead",
                        ));
                    }
                    let target = mounts::raw_field(&m.text, &["target", "dst", "destination"])
                        .unwrap_or_default();
                    match resolve(&from, Some(&target)) {
                        Ok(r) => found.push(r),
                        Err(msg) => {
                            deferred.get_or_insert((m.span, msg));
                        }
                    }
                }
            }
            _ => {}
        }
        if !found.is_empty() {
            reads.insert(ci, found);
        }
    }
    Ok((reads, deferred))
}
