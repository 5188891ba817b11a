//! The stage graph: which stages the target needs, in what order, and what each one builds
//! on and copies from.
//!
//! Planning happens before any base image is resolved, so only the target's reachable stages
//! cost a `ResolveImageConfig`. Stage references (`FROM <stage>`, `COPY --from`,
//! `RUN --mount from=`) are expanded here with the `ARG`s and `ENV`s the Dockerfile itself
//! declares; the converter then follows the plan instead of deciding again.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::expand::Lexer;
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
}

/// A stage or image that a `COPY --from` / `RUN --mount from=` reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FromRef {
    /// An earlier stage.
    Stage(usize),
    /// An image reference.
    Image(String),
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
}

impl Plan {
    /// Image references whose config the reachable stages need, deduplicated, in order.
    pub fn base_images(&self) -> Vec<(String, Platform)> {
        let mut out: Vec<(String, Platform)> = Vec::new();
        for &i in &self.order {
            if let Base::Image(r) = &self.stages[i].base {
                let key = (r.clone(), self.stages[i].platform.clone());
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
        out
    }

    /// Whether stage `i` is built.
    pub fn is_reachable(&self, i: usize) -> bool {
        self.order.contains(&i)
    }
}

/// Plans the build of `lowered` under `opts`.
pub fn plan(lowered: &Lowered, opts: &BuildOptions, escape: char) -> Result<Plan> {
    let lexer = Lexer::new(escape);
    let meta_args = meta_args(lowered, opts, &lexer)?;
    let names: Vec<Option<&str>> = lowered.stages.iter().map(|s| s.name.as_deref()).collect();

    let mut stages = Vec::with_capacity(lowered.stages.len());
    for (i, stage) in lowered.stages.iter().enumerate() {
        if let Some(name) = &stage.name {
            if names[..i].contains(&Some(name.as_str())) {
                return Err(Error::at(
                    stage.from.span,
                    format!("duplicate stage name {name:?}"),
                ));
            }
        }
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
        // `FROM` matches stage names exactly (they are stored lower-cased), unlike `--from`.
        let base = if base_name.eq_ignore_ascii_case("scratch") {
            Base::Scratch
        } else if let Some(j) = names[..i]
            .iter()
            .position(|n| *n == Some(base_name.as_str()))
        {
            Base::Stage(j)
        } else {
            check_reference(&base_name).map_err(|m| Error::at(stage.base.span, m))?;
            Base::Image(base_name)
        };
        let (platform, explicit_platform) = match &stage.platform {
            Some(p) => {
                let text = lexer
                    .expand_word(&p.text, &meta_args)
                    .map_err(|e| Error::at(p.span, e.to_string()))?
                    .value;
                let platform = Platform::parse(&text)
                    .ok_or_else(|| Error::at(p.span, format!("failed to parse platform {text}")))?;
                (platform, true)
            }
            None => match &base {
                Base::Stage(j) => {
                    let parent: &StagePlan = &stages[*j];
                    (parent.platform.clone(), parent.explicit_platform)
                }
                _ => (opts.target_platform().clone(), false),
            },
        };
        let (reads, deferred_error) = stage_reads(lowered, i, &names, opts, &meta_args, &lexer)?;
        stages.push(StagePlan {
            base,
            platform,
            explicit_platform,
            reads,
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
    Ok(Plan {
        meta_args,
        target,
        order: needed.into_iter().collect(),
        stages,
    })
}

/// Rejects references Docker cannot parse, with BuildKit's wording: an upper-case
/// repository (`FROM BASE` when the stage is `base`) is the common case.
fn check_reference(reference: &str) -> std::result::Result<(), String> {
    let normalized = strata_proto::llb::normalize_image_reference(reference);
    let path = normalized.strip_prefix("docker.io/").unwrap_or(&normalized);
    let name = path.split('@').next().unwrap_or(path);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let repo = match name[last_slash..].rfind(':') {
        Some(c) => &name[..last_slash + c],
        None => name,
    };
    if repo.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "failed to parse stage name {reference:?}: invalid reference format: repository name ({repo}) must be lowercase"
        ));
    }
    if reference.chars().any(char::is_whitespace) {
        return Err(format!(
            "failed to parse stage name {reference:?}: invalid reference format"
        ));
    }
    Ok(())
}

/// A stage by name (case-insensitive) among `names`.
fn find_stage(names: &[Option<&str>], name: &str) -> Option<usize> {
    names
        .iter()
        .position(|n| n.is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// The predefined platform args, then the global `ARG`s with build-arg overrides.
fn meta_args(
    lowered: &Lowered,
    opts: &BuildOptions,
    lexer: &Lexer,
) -> Result<Vec<(String, String)>> {
    let mut env: Vec<(String, String)> = Vec::new();
    for (k, v) in opts
        .build_platform
        .args("BUILD")
        .into_iter()
        .chain(opts.target_platform().args("TARGET"))
    {
        let v = opts.build_args.get(&k).cloned().unwrap_or(v);
        env.push((k, v));
    }
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
            (None, None) => String::new(),
        };
        env.retain(|(k, _)| *k != name);
        env.push((name, value));
    }
    Ok(env)
}

/// Per command index, the stages and images it reads.
type Reads = BTreeMap<usize, Vec<FromRef>>;

/// Stage `i`'s `COPY --from` and `RUN --mount from=` references, resolved.
fn stage_reads(
    lowered: &Lowered,
    i: usize,
    names: &[Option<&str>],
    opts: &BuildOptions,
    meta_args: &[(String, String)],
    lexer: &Lexer,
) -> Result<(Reads, Option<(Span, String)>)> {
    let stage = &lowered.stages[i];
    let current = stage.name.clone().unwrap_or_else(|| format!("stage-{i}"));
    // The variables the Dockerfile itself declares up to each command.
    let mut env: Vec<(String, String)> = Vec::new();
    let mut reads = BTreeMap::new();
    let mut deferred: Option<(Span, String)> = None;
    let resolve = |text: &str| -> std::result::Result<FromRef, String> {
        if let Ok(n) = text.parse::<usize>() {
            return if n < i {
                Ok(FromRef::Stage(n))
            } else {
                Err(format!("cannot copy from stage {text:?}, it needs to be defined before current stage {current:?}"))
            };
        }
        match find_stage(names, text) {
            Some(j) if j < i => Ok(FromRef::Stage(j)),
            Some(_) => Err(format!(
                "cannot copy from stage {text:?}, it needs to be defined before current stage {current:?}"
            )),
            None => Ok(FromRef::Image(text.to_owned())),
        }
    };
    for (ci, cmd) in stage.commands.iter().enumerate() {
        let mut found = Vec::new();
        match &cmd.kind {
            CommandKind::Arg(decls) => {
                for d in decls {
                    let name = d.name.text.clone();
                    let value = opts.build_args.get(&name).cloned().or_else(|| {
                        d.default
                            .as_ref()
                            .and_then(|w| lexer.expand_word(&w.text, &env).ok().map(|e| e.value))
                            .or_else(|| {
                                meta_args
                                    .iter()
                                    .find(|(k, _)| *k == name)
                                    .map(|(_, v)| v.clone())
                            })
                    });
                    if let Some(v) = value {
                        env.retain(|(k, _)| *k != name);
                        env.push((name, v));
                    }
                }
            }
            CommandKind::Env(pairs) => {
                let snapshot = env.clone();
                for (k, v) in pairs {
                    let k = lexer
                        .expand_word(&k.text, &snapshot)
                        .map(|e| e.value)
                        .unwrap_or_default();
                    let v = lexer
                        .expand_word(&v.text, &snapshot)
                        .map(|e| e.value)
                        .unwrap_or_default();
                    env.retain(|(x, _)| *x != k);
                    env.push((k, v));
                }
            }
            CommandKind::Copy(c) => {
                if let Some(from) = &c.from {
                    let text = lexer
                        .expand_word(&from.text, &env)
                        .map_err(|e| Error::at(from.span, e.to_string()))?
                        .value;
                    if text.is_empty() {
                        return Err(Error::at(
                            from.span,
                            "--from requires a stage name, index or image",
                        ));
                    }
                    match resolve(&text) {
                        Ok(r) => found.push(r),
                        Err(m) => {
                            deferred.get_or_insert((from.span, m));
                        }
                    }
                }
            }
            CommandKind::Run(r) => {
                for m in &r.mounts {
                    let text = lexer
                        .expand_word(&m.text, &env)
                        .map_err(|e| Error::at(m.span, e.to_string()))?
                        .value;
                    let spec = mounts::parse(&text).map_err(|msg| Error::at(m.span, msg))?;
                    if let Some(from) = &spec.from {
                        match resolve(from) {
                            Ok(r) => found.push(r),
                            Err(msg) => {
                                deferred.get_or_insert((m.span, msg));
                            }
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
