//! Solves: the build with its cache imports, each `CHECK` beside it, the sources of
//! `COPY --deps` (and their closure read through [`BridgeFs`]), and the entrypoint check
//! on the result.

use strata_proto::gateway::{caps, Bridge, CacheImport, SolveOptions};
use strata_proto::{llb, pb};

use super::failure::Failure;
use super::fs::BridgeFs;
use super::warn::warn;
use crate::convert::{DepsFiles, DepsRequest};
use crate::deps;
use crate::error::{Error, Result};
use crate::includes::Sources;
use crate::options::BuildOptions;
use crate::pipeline;
use crate::plan::FromRef;
use crate::policy::Severity;
use crate::startcheck;

/// Finds the files of every `COPY --deps` of the build ([`deps`]), level by level: `first`
/// (the requests of the conversion without any `--deps` files) lists the instructions and
/// the filesystems they copy from; those whose source stage needs no unresolved `--deps`
/// itself are solved and read (concurrently), and their files fed to the next conversion,
/// until none is left.
pub(super) async fn resolve_deps(
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
pub(super) async fn solve_now(
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

/// The entrypoint check ([`startcheck`]) on the solved target: a warning naming the
/// executable and the `CMD`/`ENTRYPOINT` line, or an error under `STRATA_STRICT=1` or the
/// policy's `entrypoint-check` rule at `error`. A daemon without `StatFile` cannot run it:
/// a warning says so, or an error when the check must pass.
///
/// Warnings go through BuildKit's `Warn` (cap `gateway.warnings`), which
/// `docker buildx build` (0.13.1 tested) prints after the build as "1 warning found";
/// a daemon without the cap gets a trivial progress step named after the warning.
pub(super) async fn start_check(
    bridge: &Bridge,
    opts: &BuildOptions,
    policy: Option<Severity>,
    reference: &str,
    digest: &str,
    converted: &crate::convert::Converted,
    sources: &Sources,
) -> Result<()> {
    let strict = if policy == Some(Severity::Error) {
        Some("policy entrypoint-check")
    } else if opts.strict {
        Some("STRATA_STRICT is set")
    } else {
        None
    };
    if !bridge.caps().has_frontend(caps::ids::STAT_FILE) {
        // Nothing to check in an image that starts nothing; else the user must learn that
        // the check they may rely on did not run.
        let config = &converted.image.config;
        let starts = [&config.entrypoint, &config.cmd]
            .iter()
            .any(|argv| argv.as_ref().is_some_and(|a| !a.is_empty()));
        if !starts {
            return Ok(());
        }
        let why = "BuildKit does not offer StatFile (cap statfile)";
        if let Some(strict) = strict {
            return Err(Error::Input(format!(
                "the entrypoint check cannot run: {why} ({strict})"
            )));
        }
        warn(
            bridge,
            digest,
            &format!("the entrypoint check did not run: {why}"),
            None,
        )
        .await;
        return Ok(());
    }
    let fs = BridgeFs::new(bridge, reference);
    let Some(finding) = startcheck::check(&fs, &converted.image).await else {
        return Ok(());
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
