//! The gateway edge: reads the Dockerfile from BuildKit, runs the pipeline, solves, and
//! returns the result, or an error BuildKit shows with the offending lines.
//!
//! This is the only module that talks to BuildKit, and the only place spans become line
//! numbers.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use prost::Message;
use strata_proto::gateway::{
    caps, errdefs, unsupported, Bridge, CacheImport, GatewayEnv, SolveOptions,
};
use strata_proto::llb::{self, OpMeta};
use strata_proto::{gateway_pb, pb, rpc};

use crate::convert::{DepsFiles, DepsRequest};
use crate::deps;
use crate::error::{Error, Result, Unsupported};
use crate::imagefs::{Entry, ImageFs};
use crate::includes::{self, Loader, Sources};
use crate::library::{WithLibrary, LIBRARY_DIR};
use crate::options::BuildOptions;
use crate::pipeline;
use crate::plan::FromRef;
use crate::platform::Platform;
use crate::policy::{self, Policy, Severity, POLICY_PATH};
use crate::resolve::BridgeResolver;
use crate::startcheck;
use crate::subrequest;

/// A failed build, with the files its spans point into (once we have read them).
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub error: Error,
    /// The Dockerfile and its includes, when the error points into one of them.
    pub sources: Option<Sources>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            error,
            sources: None,
        }
    }
}

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
pub async fn build(
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
    // the context, used instead of the `dockerfile` / `context` locals.
    let mut inputs = if bridge.caps().has_frontend(FRONTEND_INPUTS_CAP) {
        bridge.inputs().await.unwrap_or_default()
    } else {
        BTreeMap::new()
    };
    let (text, ignore, loaded) =
        read_dockerfile(bridge, &opts, inputs.remove("dockerfile")).await?;
    let mut opts = opts;
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
    let cache = cache_imports(&env.opts);
    let mut set = tokio::task::JoinSet::new();
    for (i, target) in targets.into_iter().enumerate() {
        let mut popts = opts.clone();
        if let Some(p) = target {
            popts.platforms = vec![p];
        }
        let (bridge, text, ignore, cache) =
            (bridge.clone(), text.clone(), ignore.clone(), cache.clone());
        let (policy, library) = (policy.clone(), site.library.clone());
        // Lint findings are reported once, by the first platform's build (as upstream).
        let lint_digest = (i == 0).then(|| loaded.clone());
        set.spawn(async move {
            let site = (policy.as_ref(), library.as_path());
            let built = build_for(&bridge, &popts, &text, ignore, cache, site, lint_digest).await;
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
        subrequest::describe::reply(subrequest::DESCRIBED)
    } else {
        let input = if bridge.caps().has_frontend(FRONTEND_INPUTS_CAP) {
            bridge
                .inputs()
                .await
                .unwrap_or_default()
                .remove("dockerfile")
        } else {
            None
        };
        // Lint's `CopyIgnoredFile` needs the context's `.dockerignore`, as upstream's
        // `--call=check` reads it; the other answers do not.
        let mut opts = opts.clone();
        let text = if request == subrequest::Request::Lint {
            let (text, ignore, _) = read_dockerfile(bridge, &opts, input).await?;
            opts.dockerignore = ignore;
            text
        } else {
            read_dockerfile_only(bridge, &opts, input).await?.0
        };
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
}

/// Converts and solves the build for the single target platform in `opts`; with
/// `lint_digest`, lints too (see [`lint`]).
async fn build_for(
    bridge: &Bridge,
    opts: &BuildOptions,
    text: &str,
    ignore: Vec<String>,
    cache: Vec<CacheImport>,
    (policy, library): (Option<&Policy>, &Path),
    lint_digest: Option<String>,
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
    if let Some(digest) = lint_digest {
        lint(bridge, opts, text, &prepared.sources, &images, &digest).await?;
    }
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
    let converted = if provisional.deps_requests.is_empty() {
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
    // Every CHECK of the needed stages runs beside the main solve; the result is returned
    // only once all of them passed.
    let mut checks = tokio::task::JoinSet::new();
    for state in &converted.checks {
        let bridge = bridge.clone();
        let def = llb::marshal(state);
        let cache_imports = cache.clone();
        checks.spawn(async move { solve_now(&bridge, def, cache_imports).await.map(|_| ()) });
    }
    let def = llb::marshal(&converted.state);
    let final_digest = def
        .def
        .last()
        .map(|op| llb::digest_of(op))
        .unwrap_or_default();
    for v in &policy_warnings {
        let (file, lines) = prepared.sources.lines_of(v.span);
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
        &prepared.sources,
    )
    .await
    .map_err(located)?;
    while let Some(done) = checks.join_next().await {
        done.map_err(|e| Error::Input(format!("a CHECK did not finish: {e}")))?
            .map_err(|e| Failure::from(Error::Gateway(e)))?;
    }
    let config = serde_json::to_vec(&converted.image)
        .map_err(|e| Error::Input(format!("image config: {e}")))?;
    Ok(Built {
        platform,
        reference,
        config,
        base_config: converted.base_config,
        epoch: converted.epoch,
    })
}

/// Finds the files of every `COPY --deps` of the build ([`deps`]), level by level: `first`
/// (the requests of the conversion without any `--deps` files) lists the instructions and
/// the filesystems they copy from; those whose source stage needs no unresolved `--deps`
/// itself are solved and read (concurrently), and their files fed to the next conversion,
/// until none is left.
async fn resolve_deps(
    bridge: &Bridge,
    prepared: &pipeline::Prepared,
    opts: &BuildOptions,
    images: &crate::convert::BaseImages,
    ignore: &[String],
    cache: &[CacheImport],
    first: Vec<DepsRequest>,
) -> Result<DepsFiles, Failure> {
    let mut files = DepsFiles::new();
    let mut requests = first;
    loop {
        let pending: Vec<DepsRequest> = requests
            .into_iter()
            .filter(|r| !files.contains_key(&r.key))
            .collect();
        if pending.is_empty() {
            return Ok(files);
        }
        let waiting: std::collections::BTreeSet<usize> = pending.iter().map(|r| r.key.0).collect();
        let plan = &prepared.plan;
        // A source is final once no stage it is made of has a `--deps` still unresolved
        // (an image always is). Sources come before their readers, so some always are.
        let ready: Vec<DepsRequest> = pending
            .into_iter()
            .filter(|r| {
                let read = plan.stages[r.key.0]
                    .reads
                    .get(&r.key.1)
                    .and_then(|reads| reads.first());
                match read {
                    Some(FromRef::Stage(j)) => plan.needs(*j).is_disjoint(&waiting),
                    _ => true,
                }
            })
            .collect();
        if ready.is_empty() {
            return Err(
                Error::Input("COPY --deps: the sources depend on each other".to_owned()).into(),
            );
        }
        let mut set = tokio::task::JoinSet::new();
        for r in ready {
            let (bridge, cache) = (bridge.clone(), cache.to_vec());
            set.spawn(async move {
                let found = deps_of(&bridge, &r, cache).await;
                (r.key, found)
            });
        }
        while let Some(joined) = set.join_next().await {
            let (key, found) =
                joined.map_err(|e| Error::Input(format!("COPY --deps task failed: {e}")))?;
            files.insert(key, found?);
        }
        requests =
            pipeline::convert_with_deps(prepared, opts, images, ignore.to_vec(), &files, false)?
                .deps_requests;
    }
}

/// Solves `def` with `evaluate`, so every step runs now and a failure is reported as that
/// step's; the reference to read the result through ("" for `scratch`, where nothing exists).
async fn solve_now(
    bridge: &Bridge,
    def: pb::Definition,
    cache_imports: Vec<CacheImport>,
) -> strata_proto::Result<String> {
    if def.def.is_empty() {
        return Ok(String::new());
    }
    let out = bridge
        .solve(
            def,
            SolveOptions {
                cache_imports,
                evaluate: true,
                ..Default::default()
            },
        )
        .await?;
    Ok(out.reference.unwrap_or_default())
}

/// Solves one `COPY --deps` source and finds its files; errors point at the path concerned.
async fn deps_of(
    bridge: &Bridge,
    request: &DepsRequest,
    cache_imports: Vec<CacheImport>,
) -> Result<Vec<deps::DepFile>> {
    let def = llb::marshal(&request.source);
    // Built now, so a failing step is reported as itself, never as a missing path.
    let reference = solve_now(bridge, def, cache_imports).await?;
    let fs = BridgeFs::new(bridge, &reference);
    let named: Vec<String> = request.paths.iter().map(|(p, _)| p.clone()).collect();
    let started = std::time::Instant::now();
    let found = deps::closure(&fs, &named).await;
    eprintln!(
        "strata: COPY --deps {}: {} files, {} gateway reads, {} ms",
        named.join(" "),
        found.as_ref().map_or(0, Vec::len),
        fs.calls.load(std::sync::atomic::Ordering::Relaxed),
        started.elapsed().as_millis()
    );
    found.map_err(|e| {
        let span = request.paths.get(e.index()).map(|(_, s)| *s);
        match span {
            Some(span) => Error::at(span, e.message(&named)),
            None => Error::Input(e.message(&named)),
        }
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
        result: Some(result),
        ..Default::default()
    })
}

/// The gateway cap that lets clients pass LLB as frontend inputs.
const FRONTEND_INPUTS_CAP: &str = "frontend.inputs";

/// The entrypoint check ([`startcheck`]) on the solved target: a warning naming the
/// executable and the `CMD`/`ENTRYPOINT` line, or an error under `STRATA_STRICT=1` or the
/// policy's `entrypoint-check` rule at `error`.
///
/// Warnings go through BuildKit's `Warn` (cap `gateway.warnings`), which
/// `docker buildx build` (0.13.1 tested) prints after the build as "1 warning found";
/// a daemon without the cap gets a trivial progress step named after the warning.
async fn start_check(
    bridge: &Bridge,
    opts: &BuildOptions,
    policy: Option<Severity>,
    reference: &str,
    digest: &str,
    converted: &crate::convert::Converted,
    sources: &Sources,
) -> Result<()> {
    if !bridge.caps().has_frontend(caps::ids::STAT_FILE) {
        return Ok(());
    }
    let fs = BridgeFs::new(bridge, reference);
    let Some(finding) = startcheck::check(&fs, &converted.image).await else {
        return Ok(());
    };
    let strict = if policy == Some(Severity::Error) {
        Some("policy entrypoint-check")
    } else if opts
        .build_args
        .get("STRATA_STRICT")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
    {
        Some("STRATA_STRICT is set")
    } else {
        None
    };
    let setting = finding.setting;
    let Some(src) = &converted.start_source else {
        let message = format!(
            "the image cannot start: {setting} (from the base image): {}",
            finding.message
        );
        if let Some(why) = strict {
            return Err(Error::Input(format!("{message} ({why})")));
        }
        warn(bridge, digest, &message, None).await;
        return Ok(());
    };
    if let Some(why) = strict {
        return Err(Error::at(
            src.span,
            format!(
                "the image cannot start: {setting}: {} ({why})",
                finding.message
            ),
        ));
    }
    let (file, line) = sources.line_of(src.span);
    let message = format!(
        "{}:{line}: the image cannot start: {}: {}",
        file.filename,
        src.original.trim(),
        finding.message
    );
    warn(bridge, digest, &message, Some((file, src.lines))).await;
    Ok(())
}

/// Lints the Dockerfile as BuildKit's own frontend does during a build: every finding
/// becomes a warning on the vertex that loaded the Dockerfile (`digest`); under
/// `# check=error=true` the build then fails at the first finding, before anything runs.
async fn lint(
    bridge: &Bridge,
    opts: &BuildOptions,
    text: &str,
    sources: &Sources,
    images: &crate::convert::BaseImages,
    digest: &str,
) -> Result<(), Failure> {
    let report = crate::lint::lint(&crate::lint::Input {
        text,
        filename: &opts.filename,
        loader: sources,
        opts,
        images,
        all_stages: false,
    });
    for (f, req) in report.findings.iter().zip(report.warn_requests(digest)) {
        send_warning(bridge, &report.short(f), req).await;
    }
    let violation = report.violation();
    match report.error.or(violation) {
        Some(error) => Err(Failure {
            error,
            sources: Some(report.sources),
        }),
        None => Ok(()),
    }
}

/// Shows a warning: `Warn` when BuildKit has it, else a named no-op progress step.
async fn warn(
    bridge: &Bridge,
    digest: &str,
    message: &str,
    at: Option<(&std::sync::Arc<llb::SourceFile>, (u32, u32))>,
) {
    let (info, ranges) = match at {
        Some((file, (start, end))) => (
            Some(pb::SourceInfo {
                filename: file.filename.clone(),
                data: file.data.clone(),
                language: file.language.clone(),
                definition: None,
            }),
            vec![llb::line_range(start, end)],
        ),
        None => (None, Vec::new()),
    };
    let req = gateway_pb::WarnRequest {
        digest: digest.to_owned(),
        level: 1,
        short: message.as_bytes().to_vec(),
        detail: Vec::new(),
        url: String::new(),
        info,
        ranges,
    };
    send_warning(bridge, message, req).await;
}

/// Sends one warning (`message` is its short text): `Warn` when BuildKit has it, else a
/// trivial progress step named after it.
async fn send_warning(bridge: &Bridge, message: &str, req: gateway_pb::WarnRequest) {
    eprintln!("strata: WARNING: {message}");
    if bridge.caps().has_frontend(caps::ids::WARNINGS) {
        // buildx (0.13 included) prints these after the build: "1 warning found".
        if let Err(e) = bridge.warn(req).await {
            eprintln!("strata: sending the warning failed: {e}");
        }
        return;
    }
    // Without the cap, a trivial step named after the warning shows it in the progress.
    let step = llb::FileOp::new(llb::State::scratch())
        .mkdir(llb::MkdirAction {
            path: "/warning".to_owned(),
            mode: 0o755,
            ..Default::default()
        })
        .meta(OpMeta::named(format!("WARNING: {message}")))
        .build();
    if let Err(e) = bridge
        .solve(
            llb::marshal(&step),
            SolveOptions {
                evaluate: true,
                ..Default::default()
            },
        )
        .await
    {
        eprintln!("strata: showing the warning failed: {e}");
    }
}

/// A solved reference, as [`startcheck`] and [`deps`] read it.
struct BridgeFs<'a> {
    bridge: &'a Bridge,
    reference: &'a str,
    /// Gateway calls made, for the log.
    calls: std::sync::atomic::AtomicUsize,
}

impl<'a> BridgeFs<'a> {
    fn new(bridge: &'a Bridge, reference: &'a str) -> BridgeFs<'a> {
        BridgeFs {
            bridge,
            reference,
            calls: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn count(&self) {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl ImageFs for BridgeFs<'_> {
    fn stat(&self, path: &str) -> impl std::future::Future<Output = Option<Entry>> {
        let path = path.to_owned();
        async move {
            if self.reference.is_empty() {
                return None;
            }
            self.count();
            let st = self.bridge.stat_file(self.reference, &path).await.ok()?;
            Some(Entry {
                mode: st.mode,
                linkname: st.linkname,
            })
        }
    }

    fn read(
        &self,
        path: &str,
        offset: u64,
        len: u64,
    ) -> impl std::future::Future<Output = Option<Vec<u8>>> {
        let path = path.to_owned();
        async move {
            if self.reference.is_empty() {
                return None;
            }
            self.count();
            let range = (i64::try_from(offset).ok()?, i64::try_from(len).ok()?);
            self.bridge
                .read_file(self.reference, &path, Some(range))
                .await
                .ok()
        }
    }

    fn read_dir(
        &self,
        dir: &str,
    ) -> impl std::future::Future<Output = Option<Vec<(String, Entry)>>> {
        let dir = dir.to_owned();
        async move {
            if self.reference.is_empty() {
                return None;
            }
            self.count();
            let entries = self.bridge.read_dir(self.reference, &dir, "").await.ok()?;
            Some(
                entries
                    .into_iter()
                    .map(|st| {
                        // fsutil names entries by their path below `dir`.
                        let name = st.path.rsplit('/').next().unwrap_or_default().to_owned();
                        let entry = Entry {
                            mode: st.mode,
                            linkname: st.linkname,
                        };
                        (name, entry)
                    })
                    .collect(),
            )
        }
    }
}

/// Prepares the build, fetching the files it `INCLUDE`s from the `dockerfile` local.
///
/// The Dockerfile's own transfer is restricted to its name (`followpaths`), so included
/// files need transfers of their own. Expansion is pure and synchronous, so it runs against
/// the files fetched so far; the paths it asked for and did not have are then fetched in one
/// solve (`followpaths` = exactly those paths), and expansion runs again. That costs one
/// small transfer per level of nesting (none for a file without includes) and never sends
/// the rest of the Dockerfile's directory, which may be the whole build context.
async fn prepare_with_includes(
    bridge: &Bridge,
    opts: &BuildOptions,
    text: &str,
    library: &Path,
) -> Result<pipeline::Prepared, Failure> {
    with_includes(bridge, opts, library, |loader| {
        pipeline::prepare_with(text, &opts.filename, opts, loader).map_err(|(e, s)| (e, Some(s)))
    })
    .await
}

/// Runs `run` (a pure step that reads included files through its loader) until every file
/// it asked for has been fetched; see [`prepare_with_includes`]. `INCLUDE @name` files come
/// from the stage `library` instead.
async fn with_includes<T>(
    bridge: &Bridge,
    opts: &BuildOptions,
    library: &Path,
    run: impl Fn(&dyn Loader) -> Result<T, (Error, Option<Sources>)>,
) -> Result<T, Failure> {
    let fetched = Prefetched::default();
    // `INCLUDE @name` reads the frontend image's own library, never the user's files.
    let loader = WithLibrary {
        dir: library,
        files: &fetched,
    };
    for _ in 0..=includes::MAX_DEPTH + 1 {
        let result = run(&loader);
        let wanted = std::mem::take(&mut *lock(&fetched.wanted));
        if wanted.is_empty() {
            return result.map_err(|(error, sources)| Failure { error, sources });
        }
        let got = fetch_includes(bridge, opts, &wanted).await?;
        lock(&fetched.files).extend(got);
    }
    Err(Error::Input("INCLUDE nests too deeply".to_owned()).into())
}

/// Included files fetched so far; paths asked for but not fetched yet are noted in `wanted`.
#[derive(Default)]
struct Prefetched {
    files: Mutex<BTreeMap<String, Result<String, String>>>,
    wanted: Mutex<Vec<String>>,
}

impl Loader for Prefetched {
    fn load(&self, path: &str) -> Result<String, String> {
        if let Some(r) = lock(&self.files).get(path) {
            return r.clone();
        }
        lock(&self.wanted).push(path.to_owned());
        Err("not fetched yet".to_owned())
    }
}

/// Transfers `paths` from the `dockerfile` local and reads each (a missing one is an `Err`).
async fn fetch_includes(
    bridge: &Bridge,
    opts: &BuildOptions,
    paths: &[String],
) -> Result<Vec<(String, Result<String, String>)>> {
    let local = llb::local(llb::LocalSource {
        name: opts.dockerfile_key.clone(),
        session_id: opts.session_id.clone(),
        shared_key_hint: Some("dockerfile-include".to_owned()),
        follow_paths: paths.to_vec(),
        differ: Some("none".to_owned()),
        meta: OpMeta::named(format!("[internal] load included {}", paths.join(", "))),
        ..Default::default()
    });
    let out = bridge
        .solve(llb::marshal(&local), SolveOptions::default())
        .await?;
    let reference = out.reference.unwrap_or_default();
    let mut got = Vec::new();
    for p in paths {
        let r = bridge
            .read_file(&reference, p, None)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|_| "no such file or directory".to_owned());
        got.push((p.clone(), r));
    }
    Ok(got)
}

/// Locks a mutex whose data stays consistent even if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads the Dockerfile (and its `.dockerignore`) from the client, as BuildKit's own
/// frontend does: one small transfer of just those files.
///
/// Also returns the digest of the vertex that loaded it, which lint warnings point at.
async fn read_dockerfile(
    bridge: &Bridge,
    opts: &BuildOptions,
    input: Option<pb::Definition>,
) -> Result<(String, Vec<String>, String)> {
    let (text, reference, loaded) = read_dockerfile_only(bridge, opts, input).await?;
    let filename = &opts.filename;
    let ignore = match bridge
        .read_file(&reference, &format!("{filename}.dockerignore"), None)
        .await
    {
        Ok(b) => pipeline::dockerignore_patterns(&String::from_utf8_lossy(&b)),
        Err(_) => read_context_dockerignore(bridge, opts).await,
    };
    Ok((text, ignore, loaded))
}

/// Reads just the Dockerfile (subrequests need no `.dockerignore`); also returns the ref
/// of the transfer, which holds `<Dockerfile>.dockerignore` when there is one, and the
/// digest of the vertex that loaded it.
async fn read_dockerfile_only(
    bridge: &Bridge,
    opts: &BuildOptions,
    input: Option<pb::Definition>,
) -> Result<(String, String, String)> {
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
    let loaded = llb::head_digest(&def).unwrap_or_default();
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
    Ok((text, reference, loaded))
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
    // BuildKit's typed errors, so clients can tell "not offered" from a failed build.
    match &f.error {
        Error::Unsupported(Unsupported::Subrequest(name)) => {
            return unsupported::unsupported_subrequest(name)
        }
        Error::Unsupported(Unsupported::FrontendCap(name)) => {
            return unsupported::unsupported_frontend_cap(name)
        }
        _ => {}
    }
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
    let located = f.error.located();
    match &f.sources {
        // One line of message and one source snippet per located problem (several for
        // policy violations), so buildx prints each with its file and lines.
        Some(sources) if !located.is_empty() => {
            let mut lines = Vec::new();
            let mut details = Vec::new();
            for (span, message) in &located {
                let (file, (start, end)) = sources.lines_of(*span);
                lines.push(format!("{}:{}: {}", file.filename, start, message));
                details.push(errdefs::Source {
                    info: Some(pb::SourceInfo {
                        filename: file.filename.clone(),
                        data: file.data.clone(),
                        language: file.language.clone(),
                        definition: None,
                    }),
                    ranges: vec![llb::line_range(start, end)],
                });
            }
            let status = rpc::Status {
                code: tonic_code_unknown(),
                message: lines.join("\n"),
                details: Vec::new(),
            };
            // BuildKit wraps the error once per detail, in order, and buildx prints the
            // outermost source first: attached last to first, the snippets come out in the
            // order of the message's lines.
            details.iter().rev().fold(status, errdefs::with_source)
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
