//! The Dockerfile, its `.dockerignore`s and the files it `INCLUDE`s, read from the client
//! through small transfers of just those files (`followpaths`), as BuildKit's own frontend
//! reads them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use strata_proto::gateway::{Bridge, SolveOptions};
use strata_proto::llb::{self, OpMeta};
use strata_proto::pb;

use super::failure::{gateway_message, Failure};
use super::library::WithLibrary;
use crate::error::{Error, Result};
use crate::includes::{self, Loader, Sources};
use crate::options::BuildOptions;
use crate::pipeline;

/// Prepares the build, fetching the files it `INCLUDE`s from the `dockerfile` local.
///
/// The Dockerfile's own transfer is restricted to its name (`followpaths`), so included
/// files need transfers of their own. Expansion is pure and synchronous, so it runs against
/// the files fetched so far; the paths it asked for and did not have are then fetched in one
/// solve (`followpaths` = exactly those paths), and expansion runs again. That costs one
/// small transfer per level of nesting (none for a file without includes) and never sends
/// the rest of the Dockerfile's directory, which may be the whole build context.
pub(super) async fn prepare_with_includes(
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
pub(super) async fn with_includes<T>(
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

/// Reads each of `paths` (a missing one is an `Err`) from where the Dockerfile came from:
/// the ref of a frontend input or URL context, else a transfer from the `dockerfile` local.
async fn fetch_includes(
    bridge: &Bridge,
    opts: &BuildOptions,
    paths: &[String],
) -> Result<Vec<(String, Result<String, String>)>> {
    let reference = match &opts.include_ref {
        Some(reference) => reference.clone(),
        None => transfer_includes(bridge, opts, paths).await?,
    };
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

/// Transfers just `paths` from the `dockerfile` local; returns the ref holding them.
async fn transfer_includes(
    bridge: &Bridge,
    opts: &BuildOptions,
    paths: &[String],
) -> Result<String> {
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
    Ok(out.reference.unwrap_or_default())
}

/// Locks a mutex whose data stays consistent even if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The Dockerfile as read from the client (or a frontend input, or a URL context).
pub(super) struct Dockerfile {
    /// Its text.
    pub text: String,
    /// The `.dockerignore` patterns of the context (none for a context that is not the
    /// client's directory, as upstream: it sends such a context whole).
    pub ignore: Vec<String>,
    /// The definition that loaded it: lint warnings point at its vertex, and the
    /// Dockerfile's source info carries it (see [`llb::set_source_definition`]).
    pub loaded: pb::Definition,
    /// The solved ref it came from when that was a frontend input (a URL context
    /// included): `INCLUDE`d files are read from the same place.
    pub include_ref: Option<String>,
}

/// Reads the Dockerfile and the context's `.dockerignore`: `<Dockerfile>.dockerignore`
/// beside it, else the one at the root of the client's `context` local (none when the
/// context is not local), as BuildKit's own frontend does: one small transfer of just
/// those files.
pub(super) async fn read_dockerfile(
    bridge: &Bridge,
    opts: &BuildOptions,
    input: Option<pb::Definition>,
    local_context: bool,
) -> Result<Dockerfile> {
    let (mut dockerfile, reference) = read(bridge, opts, input).await?;
    if local_context {
        let beside = format!("{}.dockerignore", opts.filename);
        dockerfile.ignore = match read_ignore_file(bridge, &reference, &beside, &beside).await? {
            Some(patterns) => patterns,
            None => read_context_dockerignore(bridge, opts).await?,
        };
    }
    Ok(dockerfile)
}

/// Reads just the Dockerfile (subrequests need no `.dockerignore`).
pub(super) async fn read_dockerfile_only(
    bridge: &Bridge,
    opts: &BuildOptions,
    input: Option<pb::Definition>,
) -> Result<Dockerfile> {
    Ok(read(bridge, opts, input).await?.0)
}

/// Reads the Dockerfile from the `dockerfile` local (a transfer of just it and its
/// `.dockerignore`) or from `input`; also returns the ref it was read from.
async fn read(
    bridge: &Bridge,
    opts: &BuildOptions,
    input: Option<pb::Definition>,
) -> Result<(Dockerfile, String)> {
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
    let from_input = input.is_some();
    let def = match input {
        Some(def) => def,
        None => llb::marshal(&local),
    };
    let out = bridge.solve(def.clone(), SolveOptions::default()).await?;
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
    let dockerfile = Dockerfile {
        text,
        ignore: Vec::new(),
        loaded: def,
        include_ref: from_input.then(|| reference.clone()),
    };
    Ok((dockerfile, reference))
}

/// The `.dockerignore` of a named local context (`--build-context name=dir`), read the way
/// BuildKit reads it: a small transfer of just that file; missing is fine.
pub(super) async fn read_named_dockerignore(
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
    let what = format!(".dockerignore of context {name}");
    Ok(read_ignore_file(bridge, &reference, ".dockerignore", &what)
        .await?
        .unwrap_or_default())
}

/// `.dockerignore` at the context root; missing is no excludes, as upstream's (which fails
/// when the transfer does); unreadable is an error.
async fn read_context_dockerignore(bridge: &Bridge, opts: &BuildOptions) -> Result<Vec<String>> {
    let local = llb::local(llb::LocalSource {
        name: opts.context_key.clone(),
        session_id: opts.session_id.clone(),
        shared_key_hint: Some("context-.dockerignore".to_owned()),
        follow_paths: vec![".dockerignore".to_owned()],
        differ: Some("none".to_owned()),
        meta: OpMeta::named("[internal] load .dockerignore"),
        ..Default::default()
    });
    let out = bridge
        .solve(llb::marshal(&local), SolveOptions::default())
        .await?;
    let reference = out.reference.unwrap_or_default();
    Ok(
        read_ignore_file(bridge, &reference, ".dockerignore", ".dockerignore")
            .await?
            .unwrap_or_default(),
    )
}

/// The patterns of the ignore file at `path` in `reference`; `None` when there is no such
/// file. Any other failure (a directory, an I/O error) is an error naming `what`: building
/// without the excludes would send files the user meant to keep out.
async fn read_ignore_file(
    bridge: &Bridge,
    reference: &str,
    path: &str,
    what: &str,
) -> Result<Option<Vec<String>>> {
    match bridge.read_file(reference, path, None).await {
        Ok(b) => Ok(Some(pipeline::dockerignore_patterns(
            &String::from_utf8_lossy(&b),
        ))),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(Error::Input(format!(
            "failed to read {what}: {}",
            gateway_message(&e)
        ))),
    }
}

/// gRPC's `NOT_FOUND` status code.
const GRPC_NOT_FOUND: i32 = 5;

/// Whether BuildKit said the file does not exist: its `ReadFile` passes the `open` error's
/// text on (`ENOENT`, or `ENOTDIR` when a parent is a file; Go's `fs.ErrNotExist`), code
/// `Unknown`; a transfer that produced no filesystem at all is an "empty ref".
fn is_missing(e: &strata_proto::Error) -> bool {
    match e {
        strata_proto::Error::Status(status) => {
            let m = status.message();
            status.code() as i32 == GRPC_NOT_FOUND
                || m.ends_with("no such file or directory")
                || m.ends_with("not a directory")
                || m.ends_with("file does not exist")
                || m.starts_with("empty ref")
        }
        _ => false,
    }
}
