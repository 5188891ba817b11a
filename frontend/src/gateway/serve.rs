//! Serving a build request: options parsed once, the policy loaded, the sources read, one
//! conversion and solve per target platform, and the result (or the failure) returned to
//! BuildKit; a subrequest (`requestid`) is answered instead of building.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use prost::Message;
use strata_proto::gateway::{Bridge, CacheImport, GatewayEnv};
use strata_proto::{gateway_pb, llb, pb};

use super::failure::{failure_status, Failure};
use super::library::LIBRARY_DIR;
use super::remote::frontend_sources;
use super::resolve::BridgeResolver;
use super::sbom::{scanner, Scanner};
use super::solve::{resolve_deps, solve_now, start_check};
use super::sources::{
    prepare_with_includes, read_dockerfile, read_dockerfile_only, read_named_dockerignore,
    with_includes,
};
use super::stats::ProcessStart;
use super::warn::{lint, warn};
use crate::error::Error;
use crate::options::BuildOptions;
use crate::pipeline;
use crate::platform::Platform;
use crate::policy::{self, Policy, POLICY_PATH};
use crate::subrequest;

/// What the frontend image ships beside the binary for a platform team: its policy file
/// and its stage library (paths, so tests can point elsewhere).
#[derive(Clone, Debug)]
pub struct Site {
    /// The policy file; no file means no policy.
    pub policy: PathBuf,
    /// The directory `INCLUDE @name` reads from.
    pub library: PathBuf,
}

impl Default for Site {
    fn default() -> Site {
        Site {
            policy: PathBuf::from(POLICY_PATH),
            library: PathBuf::from(LIBRARY_DIR),
        }
    }
}

/// Whether BuildKit started this process as its frontend (the gateway environment is set).
pub fn is_gateway() -> bool {
    strata_proto::gateway::is_gateway()
}

/// Serves the one build request of a frontend process, over stdin/stdout: what `main`
/// runs when [`is_gateway`] says BuildKit started us.
/// With the build arg `STRATA_STATS=1`, it then prints its own cost on stderr (see
/// `gateway/stats.rs`), counted from `started`.
pub async fn serve_stdio(started: ProcessStart) -> anyhow::Result<()> {
    let env = GatewayEnv::from_process()?;
    let bridge = Bridge::connect_stdio().await?;
    serve(&bridge, &env).await?;
    if super::stats::wanted(&env.opts) {
        eprintln!("{}", super::stats::line(started));
    }
    Ok(())
}

/// Serves one build request: builds and `Return`s the result or the error.
pub async fn serve(bridge: &Bridge, env: &GatewayEnv) -> strata_proto::Result<()> {
    serve_with(bridge, env, &Site::default()).await
}

/// [`serve`] with the policy and stage library of `site`.
pub async fn serve_with(
    bridge: &Bridge,
    env: &GatewayEnv,
    site: &Site,
) -> strata_proto::Result<()> {
    match build(bridge, env, site).await {
        Ok(result) => bridge.return_result(result).await,
        Err(failure) => bridge.return_error(failure_status(&failure)).await,
    }
}

/// Builds the request described by `env`.
pub(crate) async fn build(
    bridge: &Bridge,
    env: &GatewayEnv,
    site: &Site,
) -> Result<gateway_pb::Result, Failure> {
    let build_platform = env
        .build_platform()
        .map(|p| Platform::from_pb(&p.clone().into()))
        .unwrap_or_else(Platform::linux_amd64);
    let opts = BuildOptions::from_opts(&env.opts, build_platform, &env.session_id)?;
    subrequest::check_caps(&opts.frontend_caps).map_err(Error::from)?;
    if let Some(id) = &opts.request_id {
        return answer_subrequest(bridge, &opts, id, &site.library).await;
    }
    // A broken policy fails every build: it must never let one through unchecked.
    let policy = Policy::load(&site.policy).map_err(Error::Input)?;
    // Frontend inputs (cap `frontend.inputs`): LLB the client built for the Dockerfile or
    // the context, used instead of the `dockerfile` / `context` locals; a URL context
    // becomes the same inputs.
    let mut opts = opts;
    let mut inputs = frontend_sources(bridge, &mut opts).await?;
    let local_context = !inputs.contains_key("context");
    let dockerfile =
        read_dockerfile(bridge, &opts, inputs.remove("dockerfile"), local_context).await?;
    let (text, ignore, loaded) = (dockerfile.text, dockerfile.ignore, dockerfile.loaded);
    opts.include_ref = dockerfile.include_ref;
    opts.dockerignore = ignore.clone();
    opts.named_inputs = inputs
        .iter()
        .map(|(k, v)| (k.clone(), v.encode_to_vec()))
        .collect();
    if let Some(def) = inputs.remove("context") {
        llb::from_definition(&def).map_err(|e| Error::Input(format!("context input: {e}")))?;
        opts.context_input = Some(def.encode_to_vec());
    }
    opts.merge_op = bridge.caps().has_llb("mergeop");
    opts.llb_caps = Some(bridge.caps().llb.clone());
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
    let cache = cache_imports(&opts);
    // The SBOM generator is resolved once, before anything is built: one that cannot run
    // fails the build early, as upstream's.
    let scanner = match &opts.sbom {
        Some(request) => Some(std::sync::Arc::new(scanner(bridge, &opts, request).await?)),
        None => None,
    };
    let mut set = tokio::task::JoinSet::new();
    for (i, target) in targets.into_iter().enumerate() {
        let mut popts = opts.clone();
        if let Some(p) = target {
            popts.platforms = vec![p];
        }
        let (bridge, text, ignore, cache) =
            (bridge.clone(), text.clone(), ignore.clone(), cache.clone());
        let (policy, library, scanner) = (policy.clone(), site.library.clone(), scanner.clone());
        // Lint findings are reported once, by the first platform's build (as upstream).
        let (loaded, first) = (loaded.clone(), i == 0);
        set.spawn(async move {
            let site = (policy.as_ref(), library.as_path(), scanner.as_deref());
            let read = (&loaded, first);
            let built = build_for(&bridge, &popts, &text, ignore, cache, site, read).await;
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

/// Answers a subrequest (`requestid`, e.g. `docker buildx build --print=outline`) instead
/// of building: a result without a ref whose metadata is the answer.
async fn answer_subrequest(
    bridge: &Bridge,
    opts: &BuildOptions,
    id: &str,
    library: &Path,
) -> Result<gateway_pb::Result, Failure> {
    let request = subrequest::Request::parse(id).map_err(Error::from)?;
    let reply = if request == subrequest::Request::Describe {
        subrequest::describe::reply(subrequest::DESCRIBED)?
    } else {
        let mut opts = opts.clone();
        let mut inputs = frontend_sources(bridge, &mut opts).await?;
        let local_context = !inputs.contains_key("context");
        let input = inputs.remove("dockerfile");
        // Lint's `CopyIgnoredFile` needs the context's `.dockerignore`, as upstream's
        // `--call=check` reads it; the other answers do not.
        let dockerfile = if request == subrequest::Request::Lint {
            read_dockerfile(bridge, &opts, input, local_context).await?
        } else {
            read_dockerfile_only(bridge, &opts, input).await?
        };
        opts.dockerignore = dockerfile.ignore;
        opts.include_ref = dockerfile.include_ref;
        let text = dockerfile.text;
        with_includes(bridge, &opts, library, |loader| {
            subrequest::answer(request, &text, &opts.filename, &opts, loader)
        })
        .await?
    };
    Ok(gateway_pb::Result {
        metadata: reply.metadata().into_iter().collect(),
        result: Some(gateway_pb::result::Result::Ref(gateway_pb::Ref::default())),
        ..Default::default()
    })
}

/// One platform's solved result.
struct Built {
    platform: Platform,
    reference: String,
    config: Vec<u8>,
    base_config: Option<Vec<u8>>,
    epoch: Option<i64>,
    /// The SBOM generator's output for this platform, when one was asked for.
    sbom: Option<gateway_pb::Attestation>,
}

/// Converts and solves the build for the single target platform in `opts`. `loaded` is the
/// definition that read the Dockerfile: the build's source info for the file carries it,
/// as upstream's does (max-mode provenance shows it); with `linted`, lints too (see [`lint`]),
/// its warnings on that definition's vertex.
async fn build_for(
    bridge: &Bridge,
    opts: &BuildOptions,
    text: &str,
    ignore: Vec<String>,
    cache: Vec<CacheImport>,
    (policy, library, scanner): (Option<&Policy>, &Path, Option<&Scanner>),
    (loaded, linted): (&pb::Definition, bool),
) -> Result<Built, Failure> {
    let mut prepared = prepare_with_includes(bridge, opts, text, library).await?;
    let sources = prepared.sources.clone();
    let located = |error: Error| Failure {
        error,
        sources: Some(sources.clone()),
    };
    if let Some(p) = policy {
        // Forbidden or unpinned images stop the build before they are even looked up.
        policy::before_resolve(p, &prepared, opts).map_err(located)?;
    }
    let platform = opts.target_platform().clone();
    let resolver = BridgeResolver {
        bridge: bridge.clone(),
        mode: opts
            .image_resolve_mode
            .clone()
            .unwrap_or_else(|| "default".to_owned()),
        log_prefix: opts.multi_platform.then(|| format!("{platform} internal")),
    };
    // The images' ONBUILD triggers may name more stages (and images): the plan learns them.
    let images = pipeline::resolve_images(&resolver, &mut prepared, opts)
        .await
        .map_err(located)?;
    if linted {
        let digest = llb::head_digest(loaded).unwrap_or_default();
        lint(bridge, opts, text, &prepared, &images, &digest).await?;
    }
    // Only lint reads the file as parsed; an empty one takes its place (memory: the
    // conversion below is the frontend's busiest moment).
    prepared.parsed = std::sync::Arc::new(crate::syntax::parse(""));
    // One conversion without `COPY --deps` files: the policy reads it (`--deps` only adds
    // files, so its config, users and downloads are final), its `--deps` requests are the
    // first ones to resolve, and without any it is the build.
    let provisional =
        pipeline::convert(&prepared, opts, &images, ignore.clone()).map_err(located)?;
    // The policy, before anything runs (`COPY --deps` sources included): errors stop the
    // build, warnings are shown below.
    let policy_warnings = match policy {
        Some(p) => policy::enforce(policy::check(
            p,
            &prepared,
            &provisional,
            policy::Bases::Resolved,
        ))
        .map_err(located)?,
        None => Vec::new(),
    };
    let mut converted = if provisional.deps_requests.is_empty() {
        provisional
    } else {
        let deps = resolve_deps(
            bridge,
            &prepared,
            opts,
            &images,
            &ignore,
            &cache,
            provisional.deps_requests,
        )
        .await
        .map_err(|failure| match failure.sources {
            Some(_) => failure,
            None => located(failure.error),
        })?;
        pipeline::convert_with_deps(&prepared, opts, &images, ignore, &deps, true)
            .map_err(located)?
    };
    // From here on the build needs the sources, the image config and the marshalled
    // graphs: the file's AST, stages and plan go now, and the final LLB state once it is
    // marshalled, so the solve request is encoded (the frontend's peak memory) without them.
    drop(prepared);
    // Every CHECK of the needed stages runs beside the main solve; the result is returned
    // only once all of them passed.
    // The Dockerfile's source info names the definition that loaded it (a definition
    // without a located op has no source info, and nothing to name it in).
    let with_loaded = |mut def: pb::Definition| {
        llb::set_source_definition(&mut def, &opts.filename, text.as_bytes(), loaded);
        def
    };
    let mut checks = tokio::task::JoinSet::new();
    for state in &converted.checks {
        let bridge = bridge.clone();
        let def = with_loaded(llb::marshal(state));
        let cache_imports = cache.clone();
        checks.spawn(async move { solve_now(&bridge, def, cache_imports).await.map(|_| ()) });
    }
    // The SBOM generator scans the target's state: kept only when there is one to run.
    let core = scanner.map(|_| converted.state.clone());
    let def = with_loaded(llb::marshal(&std::mem::replace(
        &mut converted.state,
        llb::State::scratch(),
    )));
    let final_digest = def
        .def
        .last()
        .map(|op| llb::digest_of(op))
        .unwrap_or_default();
    for v in &policy_warnings {
        let (file, lines) = sources.lines_of(v.span);
        let message = format!("{}:{}: policy {}", file.filename, lines.0, v.text());
        warn(bridge, &final_digest, &message, Some((file, lines))).await;
    }
    // Built now, so a failing step is reported as itself and never as a missing
    // entrypoint when the check below reads the result.
    let reference = solve_now(bridge, def, cache)
        .await
        .map_err(|e| Failure::from(Error::Gateway(e)))?;
    start_check(
        bridge,
        opts,
        policy.and_then(Policy::entrypoint_check),
        &reference,
        &final_digest,
        &converted,
        &sources,
    )
    .await
    .map_err(located)?;
    while let Some(done) = checks.join_next().await {
        done.map_err(|e| Error::Input(format!("a CHECK did not finish: {e}")))?
            .map_err(|e| Failure::from(Error::Gateway(e)))?;
    }
    let sbom = match (scanner, core) {
        (Some(scanner), Some(core)) => {
            let id = platform.to_string();
            Some(scanner.scan(bridge, &id, &core, &converted.sbom).await?)
        }
        _ => None,
    };
    let config = serde_json::to_vec(&converted.image)
        .map_err(|e| Error::Input(format!("image config: {e}")))?;
    Ok(Built {
        platform,
        reference,
        config,
        base_config: converted.base_config,
        epoch: converted.epoch,
        sbom,
    })
}

/// The gateway result: one ref (or one per platform when multi-platform) with the image
/// config metadata BuildKit's exporters read and `refs.platforms` listing every platform.
fn result(built: &[Built], multi: bool) -> Result<gateway_pb::Result, Failure> {
    let mut metadata = HashMap::new();
    let mut platforms = Vec::new();
    let mut refs = HashMap::new();
    let mut attestations = HashMap::new();
    for b in built {
        let id = b.platform.to_string();
        if let Some(sbom) = &b.sbom {
            attestations.insert(
                id.clone(),
                gateway_pb::Attestations {
                    attestation: vec![sbom.clone()],
                },
            );
        }
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
        // The exporter's epoch (BuildKit reads it since 0.11), as upstream's `dockerui` sends it.
        if let Some(epoch) = b.epoch {
            let key = if multi {
                format!("source.date.epoch/{id}")
            } else {
                "source.date.epoch".to_owned()
            };
            metadata.insert(key, epoch.to_string().into_bytes());
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
        attestations,
        result: Some(result),
    })
}

/// `--cache-from` sources as the gateway's cache imports.
fn cache_imports(opts: &BuildOptions) -> Vec<CacheImport> {
    opts.cache_imports
        .iter()
        .map(|c| CacheImport {
            type_: c.kind.clone(),
            attrs: c.attrs.clone(),
        })
        .collect()
}
