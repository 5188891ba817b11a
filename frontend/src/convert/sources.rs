//! Where a stage's inputs come from: earlier stages, images named by `--from`, and named
//! contexts (`docker-image://`, local directories, `input:` bake links, git and HTTP URLs),
//! as LLB states.

use std::collections::{BTreeMap, BTreeSet};

use strata_proto::llb::{self, OpMeta, State};

use super::{BaseImage, Dispatch, StageCtx};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::instructions::Source;
use crate::plan::{FromRef, NamedContext, Plan};
use crate::platform::Platform;
use crate::remote_context::{self, Remote};

/// Images named by `COPY --from`/`--mount from=` anywhere: BuildKit counts each as a stage
/// when deciding whether progress names carry a stage name.
pub(super) fn implicit_images(plan: &Plan) -> BTreeSet<String> {
    plan.stages
        .iter()
        .flat_map(|s| s.all_reads())
        .filter_map(|r| match r {
            FromRef::Image(i) => Some(i.clone()),
            FromRef::Context(c) => Some(c.name.clone()),
            FromRef::Stage(_) => None,
        })
        .collect()
}

pub(super) fn resolve_reads(
    reads: &[FromRef],
    done: &[Option<Dispatch>],
    ctx: &StageCtx<'_>,
    d: &Dispatch,
    src: &Source,
) -> Result<Vec<State>> {
    reads
        .iter()
        .map(|r| match r {
            FromRef::Stage(j) => done
                .get(*j)
                .and_then(Option::as_ref)
                .map(|s| s.fs.clone())
                .ok_or_else(|| Error::at(src.span, "stage was not converted before use")),
            FromRef::Context(nc) => named_context_state(nc, &d.platform, ctx)
                .map(|(s, _)| s)
                .map_err(|e| e.relocated(src.span)),
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

/// The filesystem of a named context, and its image config when it is an image whose
/// config was resolved. Like BuildKit, an image context is not pinned to a digest.
pub(super) fn named_context_state(
    nc: &NamedContext,
    platform: &Platform,
    ctx: &StageCtx<'_>,
) -> Result<(State, Option<BaseImage>)> {
    if let Some(reference) = nc.image() {
        if reference == "scratch" {
            return Ok((State::scratch(), None));
        }
        let config = ctx
            .inputs
            .images
            .get(&(reference.to_owned(), platform.clone()))
            .cloned();
        let state = llb::image(llb::ImageSource {
            reference: reference.to_owned(),
            platform: Some(platform.to_pb()),
            meta: OpMeta::named(format!("[context {}] {reference}", nc.name)),
            ..Default::default()
        });
        return Ok((state, config));
    }
    if let Some(layout) = nc.oci_layout() {
        let (store, digest) = crate::plan::split_oci_layout(layout).map_err(Error::Input)?;
        let config = nc.config_reference().and_then(|key| {
            ctx.inputs
                .images
                .get(&(key.to_owned(), platform.clone()))
                .cloned()
        });
        let state = llb::oci_layout(llb::OciLayoutSource {
            reference: format!("{}@{digest}", oci_layout_name(&nc.name)),
            session_id: ctx.inputs.opts.session_id.clone(),
            store_id: store.to_owned(),
            platform: Some(platform.to_pb()),
            meta: OpMeta::named(format!("[context {}] OCI load from client", nc.name)),
        });
        return Ok((state, config));
    }
    if let Some(local) = nc.value.strip_prefix("local:") {
        let state = llb::local(llb::LocalSource {
            name: local.to_owned(),
            session_id: ctx.inputs.opts.session_id.clone(),
            shared_key_hint: Some(format!("context:{}", nc.name)),
            exclude_patterns: ctx
                .inputs
                .opts
                .named_context_excludes
                .get(local)
                .cloned()
                .unwrap_or_default(),
            meta: OpMeta::named(format!("[context {}] load from client", nc.name)),
            ..Default::default()
        });
        return Ok((state, None));
    }
    if let Some(input) = nc.value.strip_prefix("input:") {
        use prost::Message as _;
        let opts = ctx.inputs.opts;
        let bytes = opts
            .named_inputs
            .get(input)
            .ok_or_else(|| Error::Input(format!("invalid input {input} for {}", nc.name)))?;
        let state = strata_proto::pb::Definition::decode(bytes.as_slice())
            .map_err(|e| e.to_string())
            .and_then(|def| llb::from_definition(&def))
            .map_err(|e| Error::Input(format!("input {input}: {e}")))?;
        let config = match opts.input_metadata.get(input) {
            Some(md) => input_image_config(md)
                .map_err(|e| Error::Input(format!("failed to parse input metadata {md}: {e}")))?,
            None => None,
        };
        return Ok((state, config));
    }
    if let Some(state) = remote_named_context(nc)? {
        return Ok((state, None));
    }
    let kind = nc
        .value
        .split_once(':')
        .map_or(nc.value.as_str(), |(k, _)| k);
    Err(Error::Input(format!(
        "unsupported context source {kind} for {}",
        nc.name
    )))
}

/// The name an OCI layout image is labelled with in its source op: the context's name
/// (without its `::platform` suffix) as a normalised reference, without the `:latest` a
/// bare name gets, as upstream labels it (the digest alone picks the image).
fn oci_layout_name(context: &str) -> String {
    let name = context.split("::").next().unwrap_or(context);
    let full = llb::normalize_image_reference(name);
    match full.strip_suffix(":latest") {
        Some(bare) if !name.ends_with(":latest") => bare.to_owned(),
        _ => full,
    }
}

/// A `git` or `http(s)` named context, as upstream reads one: a git URL is a checkout, any
/// other HTTP URL a download named `context` (never unpacked). `Ok(None)` for other kinds.
fn remote_named_context(nc: &NamedContext) -> Result<Option<State>> {
    let kind = nc.value.split_once(':').map(|(k, _)| k);
    let git_kind = kind == Some("git") || kind.is_some_and(|k| k.starts_with("git@"));
    if !git_kind && !matches!(kind, Some("http" | "https")) {
        return Ok(None);
    }
    let invalid = |e: String| Error::Input(format!("invalid git context {}: {e}", nc.value));
    match remote_context::detect(&nc.value).map_err(invalid)? {
        Some(Remote::Git(git)) => Ok(Some(remote_context::git_state(&nc.value, &git, false))),
        Some(Remote::Http(url)) if !git_kind => Ok(Some(remote_context::http_state(
            &url,
            format!("[context {}] {url}", nc.name),
        ))),
        _ => Err(Error::Input(format!("invalid git context {}", nc.value))),
    }
}

/// The image config in an input's metadata: JSON of `name → base64 bytes`, as Go encodes a
/// `map[string][]byte`.
fn input_image_config(md: &str) -> std::result::Result<Option<BaseImage>, String> {
    let map: BTreeMap<String, String> = serde_json::from_str(md).map_err(|e| e.to_string())?;
    let Some(encoded) = map.get("containerimage.config") else {
        return Ok(None);
    };
    let raw = strata_proto::base64::decode(encoded).ok_or("invalid base64")?;
    let config: Image = serde_json::from_slice(&raw).map_err(|e| e.to_string())?;
    Ok(Some(BaseImage {
        digest: None,
        config,
        raw,
    }))
}

/// The resolve mode implicit image sources carry.
fn inputs_resolve_mode<'a>(ctx: &'a StageCtx<'_>) -> Option<&'a str> {
    ctx.inputs.opts.image_resolve_mode.as_deref()
}
