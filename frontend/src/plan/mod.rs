//! The stage graph: which stages the target needs, in what order, and what each one builds
//! on and copies from.
//!
//! Planning happens before any base image is resolved, so only the target's reachable stages
//! cost a `ResolveImageConfig`. Stage references (`FROM <stage>`, `COPY --from`,
//! `RUN --mount from=`) are expanded here with the `ARG`s and `ENV`s the Dockerfile itself
//! declares; the converter then follows the plan instead of deciding again.

use std::collections::{BTreeMap, BTreeSet};

mod names;
mod reads;
mod reference;

use names::StageNames;
use reads::{stage_reads, trigger_refs};
pub(crate) use reference::check_reference;

use crate::error::{Error, Result};
use crate::expand::Lexer;
use crate::instructions::{CommandKind, Lowered};
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

    /// The `store[:tag]@digest` of an `oci-layout://` context: buildx attaches the layout
    /// directory to the session as a content store and names it here.
    pub fn oci_layout(&self) -> Option<&str> {
        let rest = self.value.strip_prefix("oci-layout:")?;
        Some(rest.strip_prefix("//").unwrap_or(rest))
    }

    /// What the config of this context's image is resolved by: the reference of a
    /// `docker-image://` context (not `scratch`), or the whole `oci-layout://…` value,
    /// which the resolver looks up in the client's store.
    pub fn config_reference(&self) -> Option<&str> {
        match self.image() {
            Some("scratch") => None,
            Some(r) => Some(r),
            None => self.oci_layout().map(|_| self.value.as_str()),
        }
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
    /// For each `ONBUILD` trigger the stage runs first (its base stage's `ONBUILD` lines, or
    /// its base image's triggers once resolved), in order, what its `--from`/mount reads.
    pub trigger_reads: Vec<Vec<FromRef>>,
    /// Whether `trigger_reads` holds the base image's triggers (set once it was resolved).
    pub image_triggers_read: bool,
}

impl StagePlan {
    /// Everything the stage reads: its own commands', then its triggers'.
    pub fn all_reads(&self) -> impl Iterator<Item = &FromRef> {
        self.reads
            .values()
            .flatten()
            .chain(self.trigger_reads.iter().flatten())
    }
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
    /// `SOURCE_DATE_EPOCH` in Unix seconds, from the build args or a global `ARG`.
    pub epoch: Option<i64>,
}

impl Plan {
    /// Image references whose config the reachable stages need, deduplicated, in order.
    pub fn base_images(&self) -> Vec<(String, Platform)> {
        let mut out: Vec<(String, Platform)> = Vec::new();
        for &i in &self.order {
            let r = match &self.stages[i].base {
                Base::Image(r) => r.as_str(),
                Base::Context(c) => match c.config_reference() {
                    Some(r) => r,
                    None => continue,
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
            for r in self.stages[i].all_reads() {
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
        // `order` is ascending (file order): a lookup, not a scan per stage.
        self.order.binary_search(&i).is_ok()
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
            for r in stage.all_reads() {
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
    let names = StageNames::new(lowered.stages.iter().map(|s| s.name.as_deref()).collect());

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
        } else if let Some(j) = names.find_exact_before(&base_name, i) {
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
        let (reads, mut deferred_error) = if replaced {
            (BTreeMap::new(), None)
        } else {
            stage_reads(lowered, i, &names, opts, &platform, escape)?
        };
        // A stage built on a stage runs that stage's ONBUILD lines first.
        let mut trigger_reads = Vec::new();
        if let (Base::Stage(j), false) = (&base, replaced) {
            for cmd in &lowered.stages[*j].commands {
                if let CommandKind::OnBuild(expr) = &cmd.kind {
                    // Upstream reads a trigger only in a stage it builds: errors wait too.
                    let (refs, deferred) =
                        match trigger_refs(expr, lowered, i, &names, opts, &platform, escape) {
                            Ok(found) => found,
                            Err(e) => (
                                Vec::new(),
                                Some((lowered.stages[i].from.span, e.to_string())),
                            ),
                        };
                    trigger_reads.push(refs);
                    if deferred_error.is_none() {
                        deferred_error = deferred;
                    }
                }
            }
        }
        stages.push(StagePlan {
            base,
            platform,
            explicit_platform,
            reads,
            replaced,
            deferred_error,
            trigger_reads,
            image_triggers_read: false,
        });
    }

    let target = match &opts.target {
        None => lowered.stages.len() - 1,
        Some(t) => names
            .find(t)
            .ok_or_else(|| Error::Input(format!("target stage {t:?} could not be found")))?,
    };
    let epoch = crate::epoch::resolve(&opts.build_args, &meta_args).map_err(|e| {
        // A value from the file's own global `ARG` (no build arg given) is an error at
        // the default that set it (found by fuzzing: it had no line).
        let from_file = lowered
            .meta_args
            .iter()
            .rev()
            .filter(|a| a.name.text == crate::epoch::BUILD_ARG)
            .find_map(|a| a.default.as_ref());
        match from_file {
            Some(d) if !opts.build_args.contains_key(crate::epoch::BUILD_ARG) => {
                e.relocated(d.span)
            }
            _ => e,
        }
    })?;
    let mut plan = Plan {
        epoch,
        meta_args,
        target,
        order: Vec::new(),
        stages,
        image_spans: BTreeMap::new(),
    };
    plan.settle(lowered)?;
    Ok(plan)
}

impl Plan {
    /// Computes which stages the target needs (`order`) and where each image is first
    /// named, and fails on a deferred error of a needed stage.
    fn settle(&mut self, lowered: &Lowered) -> Result<()> {
        let needed = self.needs(self.target);
        if let Some((span, message)) = needed
            .iter()
            .find_map(|&i| self.stages[i].deferred_error.clone())
        {
            return Err(Error::at(span, message));
        }
        let mut image_spans = BTreeMap::new();
        for &i in &needed {
            let stage = &self.stages[i];
            let platform = &stage.platform;
            if let Base::Image(r) = &stage.base {
                image_spans
                    .entry((r.clone(), platform.clone()))
                    .or_insert(lowered.stages[i].base.span);
            }
            for (ci, refs) in &stage.reads {
                for r in refs {
                    if let FromRef::Image(r) = r {
                        image_spans
                            .entry((r.clone(), platform.clone()))
                            .or_insert(lowered.stages[i].commands[*ci].source.span);
                    }
                }
            }
            // A trigger's image is named by the stage's FROM line (the trigger has no line).
            for r in stage.trigger_reads.iter().flatten() {
                if let FromRef::Image(r) = r {
                    image_spans
                        .entry((r.clone(), platform.clone()))
                        .or_insert(lowered.stages[i].from.span);
                }
            }
        }
        self.order = needed.into_iter().collect();
        self.image_spans = image_spans;
        Ok(())
    }

    /// Adds the reads of the ONBUILD triggers of the needed stages' base images (known only
    /// once resolved, `triggers` gives them) and settles the plan again, as upstream
    /// re-resolves after initialising triggers. Returns whether images the plan now needs
    /// are missing from `resolved` (resolve them and call again).
    pub fn add_image_triggers(
        &mut self,
        lowered: &Lowered,
        opts: &BuildOptions,
        escape: char,
        triggers: impl Fn(&str, &Platform) -> Option<Vec<String>>,
        resolved: &BTreeSet<(String, Platform)>,
    ) -> Result<bool> {
        let names = StageNames::new(lowered.stages.iter().map(|s| s.name.as_deref()).collect());
        let mut changed = false;
        // A stage a trigger makes needed may have an image with triggers too.
        loop {
            let mut grew = false;
            for i in self.order.clone() {
                let stage = &self.stages[i];
                let Base::Image(reference) = &stage.base else {
                    continue;
                };
                if stage.image_triggers_read
                    || stage.replaced
                    || !resolved.contains(&(reference.clone(), stage.platform.clone()))
                {
                    continue;
                }
                let list = triggers(reference, &stage.platform).unwrap_or_default();
                let platform = stage.platform.clone();
                let mut all = Vec::new();
                for expr in &list {
                    let (refs, deferred) =
                        trigger_refs(expr, lowered, i, &names, opts, &platform, escape)?;
                    if let Some((_, message)) = deferred {
                        return Err(Error::at(lowered.stages[i].from.span, message));
                    }
                    all.push(refs);
                }
                grew |= all.iter().any(|r| !r.is_empty());
                self.stages[i].trigger_reads = all;
                self.stages[i].image_triggers_read = true;
            }
            if !grew {
                break;
            }
            changed = true;
            self.settle(lowered)?;
        }
        if !changed {
            return Ok(false);
        }
        Ok(self.base_images().iter().any(|key| !resolved.contains(key)))
    }
}

/// The store and the digest of an `oci-layout://store[:tag]@digest` context (buildx
/// resolves the tag to the digest before sending it; one without is an error, as
/// upstream's).
pub fn split_oci_layout(layout: &str) -> std::result::Result<(&str, &str), String> {
    let (name, digest) = layout
        .split_once('@')
        .ok_or_else(|| format!("oci-layout reference {layout:?} has no digest"))?;
    let store = name.split(':').next().unwrap_or(name);
    if store.is_empty() || !digest.starts_with("sha256:") {
        return Err(format!("could not parse oci-layout reference {layout:?}"));
    }
    Ok((store, digest))
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

/// The predefined platform args and `TARGETSTAGE`, then the global `ARG`s with build-arg
/// overrides.
fn meta_args(
    lowered: &Lowered,
    opts: &BuildOptions,
    lexer: &Lexer,
) -> Result<Vec<(String, String)>> {
    let mut env = opts.predefined_args();
    env.push(("TARGETSTAGE".to_owned(), target_stage(lowered, opts)));
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
            // Declared without a value: nothing changes (a predefined arg or an earlier
            // global keeps its value), as docker/dockerfile 1.19+ does.
            (None, None) => continue,
        };
        env.retain(|(k, _)| *k != name);
        env.push((name, value));
    }
    Ok(env)
}

/// The predefined `TARGETSTAGE` (docker/dockerfile 1.26): the `--target` as given, else the
/// last stage's name, else `default`; a build arg of that name overrides it.
fn target_stage(lowered: &Lowered, opts: &BuildOptions) -> String {
    if let Some(v) = opts.build_args.get("TARGETSTAGE") {
        return v.clone();
    }
    opts.target
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| lowered.stages.last().and_then(|s| s.name.clone()))
        .unwrap_or_else(|| "default".to_owned())
}
