//! Instructions → LLB: walks the planned stages in order and turns each instruction into an
//! LLB state transition (exec, file op) and/or an image-config edit.
//!
//! Pure: everything it needs from BuildKit (base image configs) arrives as arguments, so the
//! whole translation is testable without a daemon. The output matches BuildKit's own
//! Dockerfile frontend op for op where we can (same progress names, same cache keys).

mod config;
mod copy;
mod names;
pub mod paths;
mod run;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use strata_proto::llb::{self, Location, OpMeta, SourceFile, State};

use crate::error::{Error, Result};
use crate::expand::{Env, Lexer};
use crate::image::{Image, DEFAULT_PATH};
use crate::instructions::{Command, CommandKind, Lowered, Source};
use crate::options::BuildOptions;
use crate::plan::{Base, FromRef, Plan};
use crate::platform::Platform;

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

/// Everything the converter reads besides the instructions and the plan.
pub struct Inputs<'a> {
    /// The Dockerfile, for source locations on every op.
    pub file: Arc<SourceFile>,
    /// The escape character (`# escape=`).
    pub escape: char,
    /// Build options.
    pub opts: &'a BuildOptions,
    /// Resolved base images.
    pub images: &'a BaseImages,
    /// `.dockerignore` patterns, never sent from the client.
    pub excludes: Vec<String>,
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

/// Which context paths the build reads.
#[derive(Default)]
struct ContextUse {
    paths: BTreeSet<String>,
}

impl ContextUse {
    fn add(&mut self, src: &str) {
        let p = paths::clean(&paths::join("/", src));
        let rel = paths::join(".", &p);
        self.paths.insert(rel);
    }
}

fn context_state(inputs: &Inputs<'_>, used: Option<&ContextUse>) -> State {
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
    pub env: Vec<(String, String)>,
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
}

impl Dispatch {
    pub(crate) fn add_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    pub(crate) fn env_list(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// The environment words expand against.
pub(crate) struct DispatchEnv<'a>(pub &'a [(String, String)]);

impl Env for DispatchEnv<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What converting one stage needs besides the stage itself.
pub(crate) struct StageCtx<'a> {
    pub inputs: &'a Inputs<'a>,
    pub meta_args: &'a [(String, String)],
    pub lexer: Lexer,
    pub context: &'a State,
    pub ignore_cache: bool,
}

impl StageCtx<'_> {
    /// The value of a global (or predefined) ARG, which `ARG NAME` in a stage inherits.
    pub(crate) fn meta_arg(&self, name: &str) -> Option<String> {
        self.meta_args
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// Expands one word against the stage's current environment.
    pub(crate) fn expand(
        &self,
        d: &Dispatch,
        text: &str,
        span: crate::syntax::Span,
    ) -> Result<String> {
        self.lexer
            .expand_word(text, &DispatchEnv(&d.env))
            .map(|e| e.value)
            .map_err(|e| Error::at(span, e.to_string()))
    }

    /// Op metadata for an instruction: progress name and source location.
    pub(crate) fn op_meta(&self, name: String, src: &Source) -> OpMeta {
        let mut meta = OpMeta::named(name).at(Location {
            file: self.inputs.file.clone(),
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
    let lexer = Lexer::new(inputs.escape);
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
                    CommandKind::Run(_) | CommandKind::Copy(_) | CommandKind::Workdir(_)
                )
            })
            .count();
        let ctx = StageCtx {
            inputs,
            meta_args: &plan.meta_args,
            lexer: Lexer::new(inputs.escape),
            context,
            ignore_cache: inputs.opts.ignores_cache(stage.name.as_deref()),
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
                d.args.clear();
                // Image env entries move after inherited ARG values.
                for kv in d.image.config.env.clone().unwrap_or_default() {
                    let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
                    d.add_env(k, v);
                }
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
        for (ci, cmd) in stage.commands.iter().enumerate() {
            let reads = sp.reads.get(&ci).map(Vec::as_slice).unwrap_or(&[]);
            let sources = resolve_reads(reads, &done, &ctx, &d, &cmd.source)?;
            dispatch(&mut d, cmd, &ctx, &sources, used)
                .map_err(|e| with_default_span(e, cmd.source.span))?;
        }
        done[i] = Some(d);
    }
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
    if let Some(time) = crate::epoch::from_build_args(&inputs.opts.build_args)? {
        let inherited = d
            .base_config
            .as_deref()
            .and_then(|raw| serde_json::from_slice::<Image>(raw).ok())
            .map_or(0, |base| base.history.len());
        crate::epoch::stamp(&mut image, inherited, &time);
    }
    let _ = lexer;
    Ok(Converted {
        state: d.fs,
        image,
        base_config: d.base_config,
    })
}

fn with_default_span(e: Error, span: crate::syntax::Span) -> Error {
    match e {
        Error::Input(m) => Error::at(span, m),
        other => other,
    }
}

/// Images named by `COPY --from`/`--mount from=` anywhere: BuildKit counts each as a stage
/// when deciding whether progress names carry a stage name.
fn implicit_images(plan: &Plan) -> BTreeSet<String> {
    plan.stages
        .iter()
        .flat_map(|s| s.reads.values().flatten())
        .filter_map(|r| match r {
            FromRef::Image(i) => Some(i.clone()),
            FromRef::Stage(_) => None,
        })
        .collect()
}

fn resolve_reads(
    reads: &[FromRef],
    done: &[Option<Dispatch>],
    ctx: &StageCtx<'_>,
    d: &Dispatch,
    src: &Source,
) -> Result<Vec<State>> {
    reads
        .iter()
        .map(|r| match r {
            FromRef::Stage(j) => done[*j]
                .as_ref()
                .map(|s| s.fs.clone())
                .ok_or_else(|| Error::at(src.span, "stage was not converted before use")),
            FromRef::Image(reference) => {
                let normalized = llb::normalize_image_reference(reference);
                let mut meta = ctx.op_meta(format!("FROM {normalized}"), src);
                meta.locations.clear();
                // BuildKit's frontend marks these implicit image sources `local` (prefer the
                // daemon's copy) unless `--pull` asked for `pull`; seen in its op digests
                // on dockerd 26.1.5, and needed for Strata's to match (and share cache).
                let mode = match inputs_resolve_mode(ctx) {
                    Some("pull") => "pull",
                    _ => "local",
                };
                Ok(llb::image(llb::ImageSource {
                    reference: reference.clone(),
                    platform: Some(d.platform.to_pb()),
                    resolve_mode: Some(mode.to_owned()),
                    meta,
                    ..Default::default()
                }))
            }
        })
        .collect()
}

fn inputs_resolve_mode<'a>(ctx: &'a StageCtx<'_>) -> Option<&'a str> {
    ctx.inputs.opts.image_resolve_mode.as_deref()
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
    // Base triggers are not inherited (running them is ONBUILD's business).
    image.config.on_build = None;
    if image.env("PATH").is_none() {
        image
            .config
            .env
            .get_or_insert_with(Vec::new)
            .push(format!("PATH={DEFAULT_PATH}"));
    }
    let mut d = Dispatch {
        fs: fs.clone(),
        env: Vec::new(),
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
    };
    for kv in d.image.config.env.clone().unwrap_or_default() {
        let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
        d.add_env(k, v);
    }
    d
}

fn dispatch(
    d: &mut Dispatch,
    cmd: &Command,
    ctx: &StageCtx<'_>,
    reads: &[State],
    used: &mut ContextUse,
) -> Result<()> {
    match &cmd.kind {
        CommandKind::Run(r) => run::dispatch_run(d, r, &cmd.source, ctx, reads, used),
        CommandKind::Copy(c) => copy::dispatch_copy(d, c, &cmd.source, ctx, reads.first(), used),
        CommandKind::Workdir(w) => config::dispatch_workdir(d, w, &cmd.source, ctx),
        other => config::dispatch_config(d, other, ctx),
    }
}
