//! The gateway edge: reads the Dockerfile from BuildKit, runs the pipeline, solves, and
//! returns the result, or an error BuildKit shows with the offending lines.
//!
//! This is the only module that talks to BuildKit, and the only place spans become line
//! numbers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use prost::Message;
use strata_proto::gateway::{errdefs, Bridge, CacheImport, GatewayEnv, SolveOptions};
use strata_proto::llb::{self, OpMeta, SourceFile};
use strata_proto::{gateway_pb, pb, rpc};

use crate::error::{Error, Result};
use crate::options::BuildOptions;
use crate::pipeline;
use crate::platform::Platform;
use crate::resolve::{self, BridgeResolver};
use crate::syntax::LineIndex;

/// A failed build, with the file its spans point into (once we have read it).
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub error: Error,
    /// The Dockerfile, when the error points into it.
    pub file: Option<Arc<SourceFile>>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure { error, file: None }
    }
}

/// Serves one build request: builds and `Return`s the result or the error.
pub async fn serve(bridge: &Bridge, env: &GatewayEnv) -> strata_proto::Result<()> {
    match build(bridge, env).await {
        Ok(result) => bridge.return_result(result).await,
        Err(failure) => bridge.return_error(failure_status(&failure)).await,
    }
}

/// Builds the request described by `env`.
pub async fn build(bridge: &Bridge, env: &GatewayEnv) -> Result<gateway_pb::Result, Failure> {
    let build_platform = env
        .build_platform()
        .map(|p| Platform::from_pb(&p.clone().into()))
        .unwrap_or_else(Platform::linux_amd64);
    let opts = BuildOptions::from_opts(&env.opts, build_platform, &env.session_id)?;
    if let Some(id) = env.opts.get("requestid").filter(|r| !r.is_empty()) {
        return Err(Error::Input(format!(
            "the {id} subrequest is not supported by this version of Strata"
        ))
        .into());
    }
    // Frontend inputs (cap `frontend.inputs`): LLB the client built for the Dockerfile or
    // the context, used instead of the `dockerfile` / `context` locals.
    let mut inputs = if bridge.caps().has_frontend(FRONTEND_INPUTS_CAP) {
        bridge.inputs().await.unwrap_or_default()
    } else {
        BTreeMap::new()
    };
    let (text, ignore) = read_dockerfile(bridge, &opts, inputs.remove("dockerfile")).await?;
    let mut opts = opts;
    opts.named_inputs = inputs
        .iter()
        .map(|(k, v)| (k.clone(), v.encode_to_vec()))
        .collect();
    if let Some(def) = inputs.remove("context") {
        llb::from_definition(&def).map_err(|e| Error::Input(format!("context input: {e}")))?;
        opts.context_input = Some(def.encode_to_vec());
    }
    opts.merge_op = bridge.caps().has_llb("mergeop");
    for (name, value) in opts.named_contexts.clone() {
        if let Some(local) = value.strip_prefix("local:") {
            let excludes = read_named_dockerignore(bridge, &opts, &name, local).await?;
            opts.named_context_excludes
                .insert(local.to_owned(), excludes);
        }
    }
    // One conversion per target platform (just the pipeline with another target), solved
    // concurrently as BuildKit's own frontend does.
    let targets: Vec<Option<Platform>> = if opts.platforms.is_empty() {
        vec![None]
    } else {
        opts.platforms.iter().cloned().map(Some).collect()
    };
    let cache = cache_imports(&env.opts);
    let mut set = tokio::task::JoinSet::new();
    for (i, target) in targets.into_iter().enumerate() {
        let mut popts = opts.clone();
        if let Some(p) = target {
            popts.platforms = vec![p];
        }
        let (bridge, text, ignore, cache) =
            (bridge.clone(), text.clone(), ignore.clone(), cache.clone());
        set.spawn(async move {
            let built = build_for(&bridge, &popts, &text, ignore, cache).await;
            (i, built)
        });
    }
    let mut built = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (i, one) =
            joined.map_err(|e| Error::Input(format!("platform build task failed: {e}")))?;
        built.push((i, one?));
    }
    built.sort_by_key(|(i, _)| *i);
    let built: Vec<Built> = built.into_iter().map(|(_, b)| b).collect();
    result(&built, opts.multi_platform)
}

/// One platform's solved result.
struct Built {
    platform: Platform,
    reference: String,
    config: Vec<u8>,
    base_config: Option<Vec<u8>>,
}

/// Converts and solves the build for the single target platform in `opts`.
async fn build_for(
    bridge: &Bridge,
    opts: &BuildOptions,
    text: &str,
    ignore: Vec<String>,
    cache: Vec<CacheImport>,
) -> Result<Built, Failure> {
    let prepared = pipeline::prepare(text, &opts.filename, opts).map_err(|error| Failure {
        error,
        file: Some(Arc::new(SourceFile {
            filename: opts.filename.clone(),
            data: text.as_bytes().to_vec(),
            language: "Dockerfile".to_owned(),
        })),
    })?;
    let located = |error: Error| Failure {
        error,
        file: Some(prepared.source.clone()),
    };
    let platform = opts.target_platform().clone();
    let resolver = BridgeResolver {
        bridge: bridge.clone(),
        mode: opts
            .image_resolve_mode
            .clone()
            .unwrap_or_else(|| "default".to_owned()),
        log_prefix: opts.multi_platform.then(|| format!("{platform} internal")),
    };
    let images = resolve::resolve_all(&resolver, &prepared.plan)
        .await
        .map_err(located)?;
    let converted = pipeline::convert(&prepared, opts, &images, ignore).map_err(located)?;
    let def = llb::marshal(&converted.state);
    let reference = if def.def.is_empty() {
        String::new()
    } else {
        let out = bridge
            .solve(
                def,
                SolveOptions {
                    cache_imports: cache,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| Failure::from(Error::Gateway(e)))?;
        out.reference.unwrap_or_default()
    };
    let config = serde_json::to_vec(&converted.image)
        .map_err(|e| Error::Input(format!("image config: {e}")))?;
    Ok(Built {
        platform,
        reference,
        config,
        base_config: converted.base_config,
    })
}

/// The gateway result: one ref (or one per platform when multi-platform) with the image
/// config metadata BuildKit's exporters read and `refs.platforms` listing every platform.
fn result(built: &[Built], multi: bool) -> Result<gateway_pb::Result, Failure> {
    let mut metadata = HashMap::new();
    let mut platforms = Vec::new();
    let mut refs = HashMap::new();
    for b in built {
        let id = b.platform.to_string();
        let (config_key, base_key) = if multi {
            (
                format!("containerimage.config/{id}"),
                format!("containerimage.base.config/{id}"),
            )
        } else {
            (
                "containerimage.config".to_owned(),
                "containerimage.base.config".to_owned(),
            )
        };
        metadata.insert(config_key, b.config.clone());
        if let Some(base) = &b.base_config {
            metadata.insert(base_key, base.clone());
        }
        let mut p = serde_json::json!({
            "architecture": b.platform.architecture,
            "os": b.platform.os,
        });
        if !b.platform.variant.is_empty() {
            p["variant"] = serde_json::json!(b.platform.variant);
        }
        platforms.push(serde_json::json!({ "ID": id, "Platform": p }));
        refs.insert(
            id,
            gateway_pb::Ref {
                id: b.reference.clone(),
                def: None,
            },
        );
    }
    metadata.insert(
        "refs.platforms".to_owned(),
        serde_json::json!({ "Platforms": platforms })
            .to_string()
            .into_bytes(),
    );
    let result = if multi {
        gateway_pb::result::Result::Refs(gateway_pb::RefMap { refs })
    } else {
        let only = refs.into_values().next().unwrap_or_default();
        gateway_pb::result::Result::Ref(only)
    };
    Ok(gateway_pb::Result {
        metadata,
        result: Some(result),
        ..Default::default()
    })
}

/// The gateway cap that lets clients pass LLB as frontend inputs.
const FRONTEND_INPUTS_CAP: &str = "frontend.inputs";

/// Reads the Dockerfile (and its `.dockerignore`) from the client, as BuildKit's own
/// frontend does: one small transfer of just those files.
async fn read_dockerfile(
    bridge: &Bridge,
    opts: &BuildOptions,
    input: Option<pb::Definition>,
) -> Result<(String, Vec<String>)> {
    let filename = opts.filename.clone();
    let mut follow = vec![filename.clone(), format!("{filename}.dockerignore")];
    let base = filename.rsplit('/').next().unwrap_or(&filename);
    if base == "Dockerfile" {
        follow.push("dockerfile".to_owned());
    }
    let local = llb::local(llb::LocalSource {
        name: opts.dockerfile_key.clone(),
        session_id: opts.session_id.clone(),
        shared_key_hint: Some("dockerfile".to_owned()),
        follow_paths: follow,
        differ: Some("none".to_owned()),
        meta: OpMeta::named(format!("[internal] load build definition from {filename}")),
        ..Default::default()
    });
    let def = match input {
        Some(def) => def,
        None => llb::marshal(&local),
    };
    let out = bridge.solve(def, SolveOptions::default()).await?;
    let reference = out.reference.unwrap_or_default();
    let bytes = match bridge.read_file(&reference, &filename, None).await {
        Ok(b) => b,
        Err(first) => {
            if base == "Dockerfile" {
                bridge
                    .read_file(&reference, "dockerfile", None)
                    .await
                    .map_err(|_| first)?
            } else {
                return Err(Error::Input(format!(
                    "failed to read dockerfile {filename}: {first}"
                )));
            }
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if text.trim().is_empty() {
        return Err(Error::Input("the Dockerfile cannot be empty".to_owned()));
    }
    let ignore = match bridge
        .read_file(&reference, &format!("{filename}.dockerignore"), None)
        .await
    {
        Ok(b) => pipeline::dockerignore_patterns(&String::from_utf8_lossy(&b)),
        Err(_) => read_context_dockerignore(bridge, opts).await,
    };
    Ok((text, ignore))
}

/// The `.dockerignore` of a named local context (`--build-context name=dir`), read the way
/// BuildKit reads it: a small transfer of just that file; missing is fine.
async fn read_named_dockerignore(
    bridge: &Bridge,
    opts: &BuildOptions,
    name: &str,
    local: &str,
) -> Result<Vec<String>> {
    let source = llb::local(llb::LocalSource {
        name: local.to_owned(),
        session_id: opts.session_id.clone(),
        shared_key_hint: Some(format!("context:{name}-.dockerignore")),
        follow_paths: vec![".dockerignore".to_owned()],
        differ: Some("none".to_owned()),
        meta: OpMeta::named(format!("[context {name}] load .dockerignore")),
        ..Default::default()
    });
    let out = bridge
        .solve(llb::marshal(&source), SolveOptions::default())
        .await?;
    let reference = out.reference.unwrap_or_default();
    Ok(
        match bridge.read_file(&reference, ".dockerignore", None).await {
            Ok(b) => pipeline::dockerignore_patterns(&String::from_utf8_lossy(&b)),
            Err(_) => Vec::new(),
        },
    )
}

/// `.dockerignore` at the context root; missing is fine.
async fn read_context_dockerignore(bridge: &Bridge, opts: &BuildOptions) -> Vec<String> {
    let local = llb::local(llb::LocalSource {
        name: opts.context_key.clone(),
        session_id: opts.session_id.clone(),
        shared_key_hint: Some("context-.dockerignore".to_owned()),
        follow_paths: vec![".dockerignore".to_owned()],
        differ: Some("none".to_owned()),
        meta: OpMeta::named("[internal] load .dockerignore"),
        ..Default::default()
    });
    let Ok(out) = bridge
        .solve(llb::marshal(&local), SolveOptions::default())
        .await
    else {
        return Vec::new();
    };
    let reference = out.reference.unwrap_or_default();
    match bridge.read_file(&reference, ".dockerignore", None).await {
        Ok(b) => pipeline::dockerignore_patterns(&String::from_utf8_lossy(&b)),
        Err(_) => Vec::new(),
    }
}

/// `--cache-from`, as BuildKit hands it to frontends: the `cache-imports` JSON opt, or the
/// older comma-separated `cache-from` refs.
pub fn cache_imports(opts: &BTreeMap<String, String>) -> Vec<CacheImport> {
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "Type")]
        kind: String,
        #[serde(rename = "Attrs", default)]
        attrs: BTreeMap<String, String>,
    }
    if let Some(json) = opts.get("cache-imports").filter(|s| !s.is_empty()) {
        if let Ok(entries) = serde_json::from_str::<Vec<Entry>>(json) {
            return entries
                .into_iter()
                .map(|e| CacheImport {
                    type_: e.kind,
                    attrs: e.attrs,
                })
                .collect();
        }
    }
    opts.get("cache-from")
        .map(|refs| {
            refs.split(',')
                .filter(|r| !r.is_empty())
                .map(|r| CacheImport {
                    type_: "registry".to_owned(),
                    attrs: [("ref".to_owned(), r.to_owned())].into_iter().collect(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The status BuildKit shows for a failure: located errors carry the Dockerfile and the
/// line range so `docker buildx build` prints the offending lines.
pub fn failure_status(f: &Failure) -> rpc::Status {
    if let Error::Gateway(strata_proto::Error::Status(status)) = &f.error {
        // BuildKit's own error (a failing RUN): pass it through with its details.
        if let Ok(decoded) = rpc::Status::decode(status.details()) {
            if decoded.code != 0 || !decoded.message.is_empty() {
                return decoded;
            }
        }
        return rpc::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: Vec::new(),
        };
    }
    match (&f.error, &f.file, f.error.span()) {
        (_, Some(file), Some(span)) => {
            let text = String::from_utf8_lossy(&file.data);
            let index = LineIndex::new(&text);
            let start = index.line(span.start);
            let end = index.line(span.end.saturating_sub(1).max(span.start));
            let message = format!("{}:{}: {}", file.filename, start, f.error);
            let info = pb::SourceInfo {
                filename: file.filename.clone(),
                data: file.data.clone(),
                language: file.language.clone(),
                definition: None,
            };
            let range = pb::Range {
                start: Some(pb::Position {
                    line: start as i32,
                    character: 0,
                }),
                end: Some(pb::Position {
                    line: end as i32,
                    character: 0,
                }),
            };
            errdefs::source_error(&message, info, vec![range])
        }
        _ => rpc::Status {
            code: tonic_code_unknown(),
            message: f.error.to_string(),
            details: Vec::new(),
        },
    }
}

fn tonic_code_unknown() -> i32 {
    2
}
