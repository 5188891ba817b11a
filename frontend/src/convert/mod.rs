//! Instructions → LLB: walks the planned stages in order and turns each instruction into an
//! LLB state transition (exec, file op) and/or an image-config edit.
//!
//! Pure: everything it needs from BuildKit (base image configs) arrives as arguments, so the
//! whole translation is testable without a daemon. The output matches BuildKit's own
//! Dockerfile frontend op for op where we can (same progress names, same cache keys).

mod chmod;
mod config;
mod copy;
mod names;
pub mod paths;
pub mod remote;
mod run;
mod sbom;
mod sources;

pub use sbom::ScanTargets;
use sources::{implicit_images, named_context_state, resolve_reads};

use std::collections::{BTreeMap, BTreeSet};

use strata_proto::llb::{self, OpMeta, SourceLines, State};

use crate::error::{Error, Result};
use crate::expand::Lexer;
use crate::image::{Image, DEFAULT_PATH};
use crate::includes::Sources;
use crate::instructions::{Command, CommandKind, Lowered, Source};
use crate::options::BuildOptions;
use crate::plan::{Base, FromRef, Plan};
use crate::platform::Platform;
use crate::scope::Vars;
use crate::syntax::Span;

/// A resolved base image: what `ResolveImageConfig` told us.
#[derive(Clone, Debug)]
pub struct BaseImage {
    /// Manifest digest to pin the source op to, when the daemon gave one.
    pub digest: Option<String>,
    /// The parsed config.
    pub config: Image,
    /// The config bytes, passed on as `containerimage.base.config`.
    pub raw: Vec<u8>,
}

/// Base image configs by (reference as written after expansion, platform).
pub type BaseImages = BTreeMap<(String, Platform), BaseImage>;

/// Where a `COPY --deps` instruction stands: (stage index, command index in the stage).
/// Stable across conversions of one prepared build, unlike spans (a `FOR` body's
/// instructions share theirs).
pub type DepsKey = (usize, usize);

/// The files each `COPY --deps` instruction copies besides its named paths, found by the
/// gateway edge in the source's filesystem ([`crate::deps::closure`]).
pub type DepsFiles = BTreeMap<DepsKey, Vec<crate::deps::DepFile>>;

/// What a `COPY --deps` instruction needs the edge to find out: which files of `source`
/// its named paths need.
#[derive(Clone, Debug)]
pub struct DepsRequest {
    /// The instruction.
    pub key: DepsKey,
    /// The filesystem it copies from (`--from`).
    pub source: State,
    /// The named paths, absolute, each with the span of its word.
    pub paths: Vec<(String, Span)>,
}

/// Everything the converter reads besides the instructions and the plan.
pub struct Inputs<'a> {
    /// The Dockerfile and its included files, for source locations on every op.
    pub sources: Sources,
    /// The escape character (`# escape=`).
    pub escape: char,
    /// Build options.
    pub opts: &'a BuildOptions,
    /// Resolved base images.
    pub images: &'a BaseImages,
    /// `.dockerignore` patterns, never sent from the client.
    pub excludes: Vec<String>,
    /// The files of `COPY --deps` instructions found so far.
    pub deps: &'a DepsFiles,
    /// Whether `deps` has every instruction's files. If not, an instruction without them
    /// copies only its named paths (the CLI, and the edge's provisional conversions); if
    /// so, one without them is an error.
    pub deps_complete: bool,
}

/// The target stage as LLB plus its image config.
#[derive(Clone, Debug)]
pub struct Converted {
    /// The target's filesystem.
    pub state: State,
    /// The target's image config.
    pub image: Image,
    /// The unmodified config of the target's base image (`containerimage.base.config`).
    pub base_config: Option<Vec<u8>>,
    /// One state per `CHECK` of every stage the target needs: solving it runs the check.
    /// None of them is part of `state`; the build must solve them all before returning.
    pub checks: Vec<State>,
    /// The instruction that set the command the image starts with (the last `ENTRYPOINT`
    /// when there is one, else the last `CMD`) in the target or a stage it builds on;
    /// `None` when it came from the base image or was never set.
    pub start_source: Option<Source>,
    /// Every `ADD <http url>` of the stages the target needs, URLs expanded: what the
    /// policy's `add-checksum` rule reads.
    pub downloads: Vec<Download>,
    /// Every `COPY --deps` of the needed stages, in conversion order.
    pub deps_requests: Vec<DepsRequest>,
    /// `SOURCE_DATE_EPOCH` in Unix seconds, for the exporter (`source.date.epoch`).
    pub epoch: Option<i64>,
    /// What an SBOM generator scans besides `state` (empty unless an SBOM was asked for).
    pub sbom: ScanTargets,
}

/// One `ADD` of an HTTP(S) URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// The URL, expanded.
    pub url: String,
    /// Whether `--checksum` pins the content.
    pub checksum: bool,
    /// The `ADD` instruction (the `FROM` line for an `ONBUILD` trigger's).
    pub span: crate::syntax::Span,
}

/// Converts the target stage of `lowered` as planned.
pub fn convert(lowered: &Lowered, plan: &Plan, inputs: &Inputs<'_>) -> Result<Converted> {
    // BuildKit sends only the context paths the build uses; we learn them by converting
    // once against a provisional context, then convert for real.
    let mut used = ContextUse::default();
    convert_with(
        lowered,
        plan,
        inputs,
        &context_state(inputs, None),
        &mut used,
    )?;
    let context = context_state(inputs, Some(&used));
    convert_with(lowered, plan, inputs, &context, &mut ContextUse::default())
}

/// Which context paths the build reads, and (as it goes) which `COPY --deps` there are.
#[derive(Default)]
struct ContextUse {
    paths: BTreeSet<String>,
    deps: Vec<DepsRequest>,
}

impl ContextUse {
    fn add(&mut self, src: &str) {
        let p = paths::clean(&paths::join("/", src));
        let rel = paths::join(".", &p);
        self.paths.insert(rel);
    }
}

fn context_state(inputs: &Inputs<'_>, used: Option<&ContextUse>) -> State {
    if let Some(bytes) = &inputs.opts.context_input {
        use prost::Message as _;
        // The edge checked the input decodes; a broken one gives an empty context.
        if let Ok(state) = strata_proto::pb::Definition::decode(bytes.as_slice())
            .map_err(|e| e.to_string())
            .and_then(|def| llb::from_definition(&def))
        {
            return state;
        }
    }
    let follow_paths = match used {
        Some(u) if !u.paths.contains(".") => u.paths.iter().cloned().collect(),
        _ => Vec::new(),
    };
    llb::local(llb::LocalSource {
        name: inputs.opts.context_key.clone(),
        session_id: inputs.opts.session_id.clone(),
        shared_key_hint: Some("context".to_owned()),
        exclude_patterns: inputs.excludes.clone(),
        follow_paths,
        meta: OpMeta::named("[internal] load build context"),
        ..Default::default()
    })
}

/// A stage being converted: its filesystem, config and the state instructions see.
#[derive(Clone, Debug)]
pub(crate) struct Dispatch {
    /// The filesystem so far.
    pub fs: State,
    /// The image config so far.
    pub image: Image,
    /// The environment processes see: image env, `ENV`, and `ARG` values. A redefined key
    /// moves to the end, as in BuildKit (unlike the image config, which replaces in place).
    pub env: Vars,
    /// The working directory processes see.
    pub dir: String,
    /// The user processes run as.
    pub user: String,
    /// `ARG`s declared in this stage, with their values.
    pub args: Vec<(String, Option<String>)>,
    /// Whether this stage set `CMD` (an `ENTRYPOINT` otherwise clears an inherited one).
    pub cmd_set: bool,
    /// The stage's platform.
    pub platform: Platform,
    /// Base image config passed through to the result.
    pub base_config: Option<Vec<u8>>,
    /// Progress-name prefix state.
    pub names: names::StepNames,
    /// This stage's `CHECK`s, as states that run them.
    pub checks: Vec<State>,
    /// This stage's `ADD <http url>`s.
    pub downloads: Vec<Download>,
    /// The last `CMD` and `ENTRYPOINT` instructions seen (inherited from a parent stage).
    pub start_sources: (Option<Source>, Option<Source>),
}

impl Dispatch {
    pub(crate) fn add_env(&mut self, key: &str, value: &str) {
        self.env.set(key, value);
    }

    pub(crate) fn env_list(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// What converting one stage needs besides the stage itself.
pub(crate) struct StageCtx<'a> {
    pub inputs: &'a Inputs<'a>,
    pub meta_args: &'a [(String, String)],
    pub lexer: Lexer,
    pub context: &'a State,
    pub ignore_cache: bool,
    /// `SOURCE_DATE_EPOCH` (Unix seconds): the mtime of directories `WORKDIR` creates.
    pub epoch: Option<i64>,
}

impl StageCtx<'_> {
    /// Expands one word against the stage's current environment.
    pub(crate) fn expand(
        &self,
        d: &Dispatch,
        text: &str,
        span: crate::syntax::Span,
    ) -> Result<String> {
        self.lexer
            .expand_word(text, &d.env)
            .map(|e| e.value)
            .map_err(|e| Error::at(span, e.to_string()))
    }

    /// Fails at `span` when the daemon lacks the LLB cap `cap` that `feature` needs, as
    /// BuildKit would refuse the op (unlocated) if it were sent. Offline (no caps known)
    /// everything is allowed.
    pub(crate) fn need_cap(&self, cap: &str, feature: &str, span: Span) -> Result<()> {
        if self.inputs.opts.has_llb_cap(cap) {
            return Ok(());
        }
        Err(Error::at(
            span,
            format!(
                "requested experimental feature {cap} ({feature}) is not supported by build server, please update BuildKit"
            ),
        ))
    }

    /// Op metadata for an instruction: progress name and source location.
    pub(crate) fn op_meta(&self, name: String, src: &Source) -> OpMeta {
        let mut meta = OpMeta::named(name).at(SourceLines {
            file: self.inputs.sources.locate(src.span).0.clone(),
            ranges: vec![src.lines],
        });
        meta.ignore_cache = self.ignore_cache;
        meta
    }
}

fn convert_with(
    lowered: &Lowered,
    plan: &Plan,
    inputs: &Inputs<'_>,
    context: &State,
    used: &mut ContextUse,
) -> Result<Converted> {
    let n_states = lowered.stages.len() + implicit_images(plan).len();
    let mut done: Vec<Option<Dispatch>> = vec![None; lowered.stages.len()];
    for &i in &plan.order {
        let stage = &lowered.stages[i];
        let sp = &plan.stages[i];
        let stage_label = if n_states == 1 {
            String::new()
        } else {
            stage.name.clone().unwrap_or_else(|| format!("stage-{i}"))
        };
        let counted = stage
            .commands
            .iter()
            .filter(|c| {
                matches!(
                    c.kind,
                    CommandKind::Run(_)
                        | CommandKind::Check(_)
                        | CommandKind::Copy(_)
                        | CommandKind::Workdir(_)
                )
            })
            .count();
        let ctx = StageCtx {
            inputs,
            meta_args: &plan.meta_args,
            lexer: Lexer::new(inputs.escape),
            context,
            ignore_cache: inputs.opts.ignores_cache(stage.name.as_deref()),
            epoch: plan.epoch,
        };
        let mut d = match &sp.base {
            Base::Stage(j) => {
                let parent = done[*j].clone().ok_or_else(|| {
                    Error::at(
                        stage.base.span,
                        "base stage was not converted before its child",
                    )
                })?;
                let mut d = parent;
                d.names = names::StepNames::new(stage_label, counted);
                d.cmd_set = false;
                // The base stage's ARGs stay: its child's `RUN` history names them too
                // (docker/dockerfile ≥ 1.9 initialises a stage's build args from its base).
                d.checks.clear();
                d.downloads.clear();
                // Image env entries move after inherited ARG values.
                for kv in d.image.config.env.clone().unwrap_or_default() {
                    let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
                    d.add_env(k, v);
                }
                d
            }
            Base::Context(nc) => {
                let (fs, config) = named_context_state(nc, &sp.platform, &ctx)
                    .map_err(|e| e.relocated(stage.from.span))?;
                let total = if sp.replaced { 0 } else { counted + 1 };
                let mut d = from_image(
                    config.as_ref(),
                    &fs,
                    sp.platform.clone(),
                    stage_label,
                    total,
                );
                // The context's config is the stage's; there is no base image to report.
                d.base_config = None;
                // FROM counts as a step, but the context's own op carries its name.
                d.names = names::StepNames::new(d.names.label().to_owned(), total);
                d.names.skip();
                d
            }
            Base::Scratch => from_image(
                None,
                &State::scratch(),
                sp.platform.clone(),
                stage_label,
                counted,
            ),
            Base::Image(reference) => {
                let key = (reference.clone(), sp.platform.clone());
                let base = inputs.images.get(&key).ok_or_else(|| {
                    Error::at(
                        stage.base.span,
                        format!("base image {reference:?} was not resolved"),
                    )
                })?;
                let mut names = names::StepNames::new(stage_label.clone(), counted + 1);
                if inputs.opts.multi_platform {
                    names.set_platform(sp.platform.to_string());
                }
                let scratch_like = base.config.rootfs.diff_ids.is_empty()
                    && base.config.history.iter().all(|h| h.empty_layer);
                let fs = if scratch_like {
                    State::scratch()
                } else {
                    let normalized = llb::normalize_image_reference(reference);
                    let shown = match &base.digest {
                        Some(dg) if !normalized.contains('@') => format!("{normalized}@{dg}"),
                        _ => normalized,
                    };
                    let mut meta = ctx.op_meta(names.next(&format!("FROM {shown}")), &stage.from);
                    meta.description.insert(
                        "com.docker.dockerfile.v1.command".to_owned(),
                        stage.from.original.trim().to_owned(),
                    );
                    llb::image(llb::ImageSource {
                        reference: reference.clone(),
                        digest: base.digest.clone(),
                        platform: Some(sp.platform.to_pb()),
                        resolve_mode: inputs
                            .opts
                            .image_resolve_mode
                            .clone()
                            .filter(|m| m == "pull" || m == "local"),
                        meta,
                    })
                };
                let mut d = from_image(
                    Some(base),
                    &fs,
                    sp.platform.clone(),
                    stage_label,
                    counted + 1,
                );
                d.names = names;
                d
            }
        };
        // The base's ONBUILD triggers run first, as if written right after FROM; the
        // stage's own ONBUILD lines then start a fresh list.
        if inputs.opts.multi_platform {
            d.names.set_platform(sp.platform.to_string());
        }
        if sp.replaced {
            // A named context with this stage's name is the stage: nothing runs.
            done[i] = Some(d);
            continue;
        }
        let triggers = d.image.config.on_build.take().unwrap_or_default();
        if !triggers.is_empty() {
            d.names.add_total(triggers.len());
        }
        d.names.set_onbuild(true);
        for (k, trigger) in triggers.iter().enumerate() {
            let reads = sp.trigger_reads.get(k).map(Vec::as_slice).unwrap_or(&[]);
            run_trigger(&mut d, trigger, stage, reads, &done, &ctx, used)
                .map_err(|e| e.relocated(stage.from.span))?;
        }
        d.names.set_onbuild(false);
        for (ci, cmd) in stage.commands.iter().enumerate() {
            let reads = sp.reads.get(&ci).map(Vec::as_slice).unwrap_or(&[]);
            let sources = resolve_reads(reads, &done, &ctx, &d, &cmd.source)?;
            dispatch(&mut d, cmd, &ctx, &sources, used, Some((i, ci)))
                .map_err(|e| with_default_span(e, cmd.source.span))?;
        }
        done[i] = Some(d);
    }
    let checks = plan
        .order
        .iter()
        .filter_map(|&i| done[i].as_ref())
        .flat_map(|d| d.checks.iter().cloned())
        .collect();
    let downloads = plan
        .order
        .iter()
        .filter_map(|&i| done[i].as_ref())
        .flat_map(|d| d.downloads.iter().cloned())
        .collect();
    let sbom = match inputs.opts.sbom {
        Some(_) => sbom::scan_targets(lowered, plan, &done, context, inputs.opts),
        None => ScanTargets::default(),
    };
    let d = done[plan.target]
        .take()
        .ok_or_else(|| Error::Input("target stage was not converted".to_owned()))?;
    let mut image = d.image;
    if !inputs.opts.labels.is_empty() {
        let labels = image.config.labels.get_or_insert_with(BTreeMap::new);
        labels.extend(inputs.opts.labels.clone());
    }
    if !inputs.opts.platforms.is_empty() {
        let p = inputs.opts.target_platform();
        image.os.clone_from(&p.os);
        image.architecture.clone_from(&p.architecture);
        image.variant = (!p.variant.is_empty()).then(|| p.variant.clone());
    }
    if let Some(time) = plan.epoch.map(crate::epoch::rfc3339) {
        let inherited = d
            .base_config
            .as_deref()
            .and_then(|raw| serde_json::from_slice::<Image>(raw).ok())
            .map_or(0, |base| base.history.len());
        crate::epoch::stamp(&mut image, inherited, &time);
    }
    let start_source = if image
        .config
        .entrypoint
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        d.start_sources.1
    } else {
        d.start_sources.0
    };
    Ok(Converted {
        state: d.fs,
        image,
        base_config: d.base_config,
        checks,
        start_source,
        downloads,
        deps_requests: std::mem::take(&mut used.deps),
        epoch: plan.epoch,
        sbom,
    })
}

/// Parses and dispatches one ONBUILD trigger in stage `stage`, reading what the plan found
/// its `--from`/mounts name (`reads`). Its ops point at the `FROM` line (the trigger's own
/// text is not in the Dockerfile).
fn run_trigger(
    d: &mut Dispatch,
    trigger: &str,
    stage: &crate::instructions::Stage,
    reads: &[FromRef],
    done: &[Option<Dispatch>],
    ctx: &StageCtx<'_>,
    used: &mut ContextUse,
) -> Result<()> {
    let mut cmd = crate::instructions::lower_trigger(trigger)?;
    cmd.source.span = stage.from.span;
    cmd.source.lines = stage.from.lines;
    let wanted = match &cmd.kind {
        CommandKind::Copy(c) => usize::from(c.from.as_ref().is_some_and(|f| !f.text.is_empty())),
        CommandKind::Run(r) => r
            .mounts
            .iter()
            .filter(|m| crate::mounts::raw_field(&m.text, &["from"]).is_some_and(|f| !f.is_empty()))
            .count(),
        _ => 0,
    };
    if wanted != reads.len() {
        // Only a named context's image can bring triggers the plan never saw.
        return Err(Error::at(
            stage.from.span,
            "an ONBUILD trigger of a named context's image reads another stage or image: not supported by Strata",
        ));
    }
    let sources = resolve_reads(reads, done, ctx, d, &cmd.source)?;
    dispatch(d, &cmd, ctx, &sources, used, None)
}

/// Moves an error to `span` (a trigger's errors are reported at its stage's `FROM` line).
fn with_default_span(e: Error, span: crate::syntax::Span) -> Error {
    match e {
        Error::Input(m) => Error::at(span, m),
        other => other,
    }
}

/// A fresh dispatch state on an image (or scratch when `base` is `None`).
fn from_image(
    base: Option<&BaseImage>,
    fs: &State,
    platform: Platform,
    label: String,
    total: usize,
) -> Dispatch {
    let mut image = match base {
        Some(b) => {
            let mut img = b.config.clone();
            img.created = None;
            img
        }
        None => {
            let mut img = Image::empty(&platform);
            img.config.working_dir = Some("/".to_owned());
            img
        }
    };
    if image.env("PATH").is_none() {
        image
            .config
            .env
            .get_or_insert_with(Vec::new)
            .push(format!("PATH={DEFAULT_PATH}"));
    }
    let mut d = Dispatch {
        fs: fs.clone(),
        env: Vars::default(),
        dir: image
            .config
            .working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".to_owned()),
        user: image.config.user.clone().unwrap_or_default(),
        args: Vec::new(),
        cmd_set: false,
        platform,
        base_config: base.map(|b| b.raw.clone()),
        names: names::StepNames::new(label, total),
        image,
        checks: Vec::new(),
        downloads: Vec::new(),
        start_sources: (None, None),
    };
    for kv in d.image.config.env.clone().unwrap_or_default() {
        let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
        d.add_env(k, v);
    }
    d
}

/// Converts one instruction; `key` places it in the file (`None` for an `ONBUILD`
/// trigger, which has no place of its own).
fn dispatch(
    d: &mut Dispatch,
    cmd: &Command,
    ctx: &StageCtx<'_>,
    reads: &[State],
    used: &mut ContextUse,
    key: Option<DepsKey>,
) -> Result<()> {
    match &cmd.kind {
        CommandKind::Cmd(_) => d.start_sources.0 = Some(cmd.source.clone()),
        CommandKind::Entrypoint(_) => {
            // An ENTRYPOINT resets an inherited CMD (unless this stage sets one later).
            d.start_sources = (None, Some(cmd.source.clone()));
        }
        _ => {}
    }
    match &cmd.kind {
        CommandKind::Run(r) => run::dispatch_run(d, r, &cmd.source, ctx, reads, used),
        CommandKind::Check(r) => run::dispatch_check(d, r, &cmd.source, ctx, reads, used),
        CommandKind::Copy(c) => {
            copy::dispatch_copy(d, c, &cmd.source, ctx, reads.first(), used, key)
        }
        CommandKind::Workdir(w) => config::dispatch_workdir(d, w, &cmd.source, ctx),
        other => config::dispatch_config(d, other, ctx),
    }
}

#[cfg(test)]
mod tests;
