//! The gateway edge: reads the Dockerfile from BuildKit, runs the pipeline, solves, and
//! returns the result, or an error BuildKit shows with the offending lines.
//!
//! This is the only module that talks to BuildKit, and the only place spans become line
//! numbers.

use std::collections::{BTreeMap, HashMap};

use prost::Message;
use strata_proto::gateway::{caps, errdefs, Bridge, CacheImport, GatewayEnv, SolveOptions};
use strata_proto::llb::{self, OpMeta};
use strata_proto::{gateway_pb, pb, rpc};

use crate::error::{Error, Result};
use crate::includes::{self, Loader, Sources};
use crate::options::BuildOptions;
use crate::pipeline;
use crate::platform::Platform;
use crate::resolve::{self, BridgeResolver};
use crate::startcheck;
use crate::syntax::LineIndex;

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
    let (text, ignore) = read_dockerfile(bridge, &opts).await?;
    let prepared = prepare_with_includes(bridge, &opts, &text).await?;
    let located = |error: Error| Failure {
        error,
        sources: Some(prepared.sources.clone()),
    };
    let resolver = BridgeResolver {
        bridge: bridge.clone(),
        mode: opts
            .image_resolve_mode
            .clone()
            .unwrap_or_else(|| "default".to_owned()),
    };
    let images = resolve::resolve_all(&resolver, &prepared.plan)
        .await
        .map_err(located)?;
    let converted = pipeline::convert(&prepared, &opts, &images, ignore).map_err(located)?;
    // Every CHECK of the needed stages runs beside the main solve; the result is returned
    // only once all of them passed.
    let mut checks = tokio::task::JoinSet::new();
    for state in &converted.checks {
        let bridge = bridge.clone();
        let def = llb::marshal(state);
        let cache_imports = cache_imports(&env.opts);
        checks.spawn(async move {
            bridge
                .solve(
                    def,
                    SolveOptions {
                        cache_imports,
                        evaluate: true,
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ())
        });
    }
    let def = llb::marshal(&converted.state);
    let final_digest = def
        .def
        .last()
        .map(|op| llb::digest_of(op))
        .unwrap_or_default();
    let reference = if def.def.is_empty() {
        String::new()
    } else {
        let out = bridge
            .solve(
                def,
                SolveOptions {
                    cache_imports: cache_imports(&env.opts),
                    // Built now, so a failing step is reported as itself and never as a
                    // missing entrypoint when the check below reads the result.
                    evaluate: true,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| Failure::from(Error::Gateway(e)))?;
        out.reference.unwrap_or_default()
    };
    start_check(
        bridge,
        &opts,
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
    let platform = opts.target_platform().clone();
    let mut metadata = HashMap::new();
    let config = serde_json::to_vec(&converted.image)
        .map_err(|e| Error::Input(format!("image config: {e}")))?;
    metadata.insert("containerimage.config".to_owned(), config);
    if let Some(base) = converted.base_config {
        metadata.insert("containerimage.base.config".to_owned(), base);
    }
    let platforms = serde_json::json!({
        "Platforms": [{
            "ID": platform.to_string(),
            "Platform": { "architecture": platform.architecture, "os": platform.os },
        }]
    });
    metadata.insert(
        "refs.platforms".to_owned(),
        platforms.to_string().into_bytes(),
    );
    Ok(gateway_pb::Result {
        metadata,
        result: Some(gateway_pb::result::Result::Ref(gateway_pb::Ref {
            id: reference,
            def: None,
        })),
        ..Default::default()
    })
}

/// The entrypoint check ([`startcheck`]) on the solved target: a warning naming the
/// executable and the `CMD`/`ENTRYPOINT` line, or an error under `STRATA_STRICT=1`.
///
/// Warnings go through BuildKit's `Warn` (cap `gateway.warnings`), which
/// `docker buildx build` (0.13.1 tested) prints after the build as "1 warning found";
/// a daemon without the cap gets a trivial progress step named after the warning.
async fn start_check(
    bridge: &Bridge,
    opts: &BuildOptions,
    reference: &str,
    digest: &str,
    converted: &crate::convert::Converted,
    sources: &Sources,
) -> Result<()> {
    if !bridge.caps().has_frontend(caps::ids::STAT_FILE) {
        return Ok(());
    }
    let fs = BridgeFs { bridge, reference };
    let Some(finding) = startcheck::check(&fs, &converted.image).await else {
        return Ok(());
    };
    let strict = opts
        .build_args
        .get("STRATA_STRICT")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    let setting = finding.setting;
    let Some(src) = &converted.start_source else {
        let message = format!(
            "the image cannot start: {setting} (from the base image): {}",
            finding.message
        );
        if strict {
            return Err(Error::Input(message));
        }
        warn(bridge, digest, &message, None).await;
        return Ok(());
    };
    if strict {
        return Err(Error::at(
            src.span,
            format!(
                "the image cannot start: {setting}: {} (STRATA_STRICT is set)",
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

/// Shows a warning: `Warn` when BuildKit has it, else a named no-op progress step.
async fn warn(
    bridge: &Bridge,
    digest: &str,
    message: &str,
    at: Option<(&std::sync::Arc<llb::SourceFile>, (u32, u32))>,
) {
    eprintln!("strata: WARNING: {message}");
    let (info, ranges) = match at {
        Some((file, (start, end))) => (
            Some(pb::SourceInfo {
                filename: file.filename.clone(),
                data: file.data.clone(),
                language: file.language.clone(),
                definition: None,
            }),
            vec![pb::Range {
                start: Some(pb::Position {
                    line: start as i32,
                    character: 0,
                }),
                end: Some(pb::Position {
                    line: end as i32,
                    character: 0,
                }),
            }],
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

/// The solved result, as [`startcheck`] reads it.
struct BridgeFs<'a> {
    bridge: &'a Bridge,
    reference: &'a str,
}

impl startcheck::ImageFs for BridgeFs<'_> {
    fn stat(&self, path: &str) -> impl std::future::Future<Output = Option<startcheck::Entry>> {
        let path = path.to_owned();
        async move {
            if self.reference.is_empty() {
                return None;
            }
            let st = self.bridge.stat_file(self.reference, &path).await.ok()?;
            Some(startcheck::Entry {
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
            let range = (i64::try_from(offset).ok()?, i64::try_from(len).ok()?);
            self.bridge
                .read_file(self.reference, &path, Some(range))
                .await
                .ok()
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
) -> Result<pipeline::Prepared, Failure> {
    let fetched = Prefetched::default();
    for _ in 0..=includes::MAX_DEPTH + 1 {
        let result = pipeline::prepare_with(text, &opts.filename, opts, &fetched);
        let wanted = std::mem::take(&mut *fetched.wanted.borrow_mut());
        if wanted.is_empty() {
            return result.map_err(|(error, sources)| Failure {
                error,
                sources: Some(sources),
            });
        }
        let got = fetch_includes(bridge, opts, &wanted).await?;
        fetched.files.borrow_mut().extend(got);
    }
    Err(Error::Input("INCLUDE nests too deeply".to_owned()).into())
}

/// Included files fetched so far; paths asked for but not fetched yet are noted in `wanted`.
#[derive(Default)]
struct Prefetched {
    files: std::cell::RefCell<BTreeMap<String, Result<String, String>>>,
    wanted: std::cell::RefCell<Vec<String>>,
}

impl Loader for Prefetched {
    fn load(&self, path: &str) -> Result<String, String> {
        if let Some(r) = self.files.borrow().get(path) {
            return r.clone();
        }
        self.wanted.borrow_mut().push(path.to_owned());
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

/// Reads the Dockerfile (and its `.dockerignore`) from the client, as BuildKit's own
/// frontend does: one small transfer of just those files.
async fn read_dockerfile(bridge: &Bridge, opts: &BuildOptions) -> Result<(String, Vec<String>)> {
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
    let out = bridge
        .solve(llb::marshal(&local), SolveOptions::default())
        .await?;
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
    match (&f.error, &f.sources, f.error.span()) {
        (_, Some(sources), Some(span)) => {
            let (file, span) = sources.locate(span);
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
