//! An in-process fake BuildKit for tests (cargo feature `testing`).
//!
//! [`spawn`] serves a [`FakeBridge`] with bollard's generated `LlbBridgeServer` over
//! a `tokio::io::duplex` pipe and connects a real [`Bridge`] to it through the same
//! code path as stdio ([`crate::gateway::stdio::connect_io`]), so tests exercise the
//! actual HTTP/2 + protobuf wire, message limits included, without BuildKit.
//!
//! Every solved reference has its own filesystem, as in BuildKit, so a read from the wrong
//! reference fails a test: a `Solve` answers a fresh reference `ref-<n>` (unless
//! [`FakeBridge::solve_error`] is set) whose files are the filesystem named by what the
//! definition builds ([`fs_key`]): the progress name of its head op when a filesystem is
//! registered under it (a stage), else the source its head op is built on, following
//! first inputs (`local://context`, `docker-image://docker.io/library/busybox:latest`).
//! A reference that no `Solve` returned (and no [`FakeBridge::with_ref`] names) does not
//! exist. Every request is recorded, and every read (`ReadFile`, `StatFile`, `ReadDir`)
//! with the reference and filesystem it hit ([`Recorded::reads`]), for assertions through
//! [`FakeHandle::recorded`].

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use prost::Message;
use sha2::{Digest, Sha256};
use tonic::codegen::tokio_stream::{self, Stream};
use tonic::{Request, Response, Status};

use crate::gateway::{stdio, Bridge, FileStat, GatewayEnv, MAX_MESSAGE_SIZE};
use crate::gateway_pb::llb_bridge_server::{LlbBridge, LlbBridgeServer};
use crate::{gateway_pb as g, pb, Result};
use bollard_buildkit_proto::moby::buildkit::v1::{apicaps::ApiCap, types::WorkerRecord};

/// The files of one filesystem, by path (no leading `/`); directories are implied by the
/// paths below them.
pub type Files = BTreeMap<String, Vec<u8>>;

/// The filesystem key of the client's local `name` (`local://dockerfile`).
pub fn local_key(name: &str) -> String {
    format!("local://{name}")
}

/// The filesystem key of an image, by its normalised reference
/// (`docker-image://docker.io/library/busybox:local`).
pub fn image_key(reference: &str) -> String {
    format!("docker-image://{reference}")
}

/// The environment BuildKit starts a frontend with, for a test that serves a build:
/// session `sess-1`, and `opts` as `BUILDKIT_FRONTEND_OPT_<i>` (`key=value`).
pub fn gateway_env(opts: &[(&str, &str)]) -> Result<GatewayEnv> {
    let mut vars = vec![("BUILDKIT_SESSION_ID".to_owned(), "sess-1".to_owned())];
    for (i, (k, v)) in opts.iter().enumerate() {
        vars.push((format!("BUILDKIT_FRONTEND_OPT_{i}"), format!("{k}={v}")));
    }
    GatewayEnv::from_vars(vars)
}

/// What the fake BuildKit knows and answers.
#[derive(Clone, Debug)]
pub struct FakeBridge {
    /// Filesystems by key ([`local_key`], [`image_key`], or a stage's progress name): each
    /// solved reference reads the one its definition names.
    pub filesystems: BTreeMap<String, Files>,
    /// References that exist without a `Solve` (id → filesystem key).
    pub refs: BTreeMap<String, String>,
    /// Image configs served by `ResolveImageConfig`, by reference; the digest is
    /// the sha256 of the config.
    pub images: BTreeMap<String, Vec<u8>>,
    /// Definitions served by `Inputs`.
    pub inputs: BTreeMap<String, pb::Definition>,
    /// If set, `Inputs` fails with this message (code `Unknown`).
    pub inputs_error: Option<String>,
    /// The `Ping` answer; [`FakeBridge::new`] enables a modern cap set.
    pub pong: g::PongResponse,
    /// If set, every `Solve` fails with this message (code `Unknown`).
    pub solve_error: Option<String>,
}

/// Which read a [`Read`] was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadKind {
    /// `ReadFile` (whole or ranged).
    File,
    /// `StatFile`.
    Stat,
    /// `ReadDir`.
    Dir,
}

/// One read of a solved reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    /// `ReadFile`, `StatFile` or `ReadDir`.
    pub kind: ReadKind,
    /// The reference asked for.
    pub reference: String,
    /// The key of its filesystem; `None` when the reference does not exist.
    pub fs: Option<String>,
    /// The path asked for, as sent.
    pub path: String,
}

/// Every request the fake received, in arrival order per kind.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    /// Number of `Ping` calls.
    pub pings: usize,
    /// `Solve` requests.
    pub solves: Vec<g::SolveRequest>,
    /// The filesystem key of every reference a `Solve` returned, by reference.
    pub refs: BTreeMap<String, String>,
    /// `ReadFile` requests.
    pub read_files: Vec<g::ReadFileRequest>,
    /// Every read (`ReadFile`, `StatFile`, `ReadDir`) in arrival order, with the filesystem
    /// it hit.
    pub reads: Vec<Read>,
    /// Number of `Inputs` calls.
    pub inputs: usize,
    /// `ResolveImageConfig` requests.
    pub resolves: Vec<g::ResolveImageConfigRequest>,
    /// References passed to `Evaluate`.
    pub evaluates: Vec<String>,
    /// `Warn` requests.
    pub warns: Vec<g::WarnRequest>,
    /// `Return` requests.
    pub returns: Vec<g::ReturnRequest>,
}

impl Recorded {
    /// The reads of filesystem `fs`, as (kind, path), in order.
    pub fn reads_from(&self, fs: &str) -> Vec<(ReadKind, String)> {
        self.reads
            .iter()
            .filter(|r| r.fs.as_deref() == Some(fs))
            .map(|r| (r.kind, r.path.clone()))
            .collect()
    }

    /// The filesystems a read of `path` (any kind) hit, in order (`None`: no such ref).
    pub fn filesystems_read_for(&self, path: &str) -> Vec<Option<String>> {
        self.reads
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.fs.clone())
            .collect()
    }
}

/// Gateway caps the default fake enables (those of a current BuildKit that this
/// crate uses).
pub const FAKE_FRONTEND_CAPS: &[&str] = &[
    "solve.base",
    "resolveimage",
    "resolveimage.resolvemode",
    "readfile",
    "readdir",
    "statfile",
    "return",
    "returnmap",
    "importcaches",
    "proto.refarray",
    "reference.output",
    "frontend.inputs",
    "gateway.solve.evaluate",
    "gateway.evaluate",
    "gateway.warnings",
];

/// LLB caps the default fake enables.
pub const FAKE_LLB_CAPS: &[&str] = &[
    "source.image",
    "source.local",
    "source.local.sessionid",
    "source.local.followpaths",
    "source.local.sharedkeyhint",
    "source.git",
    "source.http",
    "exec.meta.base",
    "exec.mount.bind",
    "exec.mount.cache",
    "exec.mount.secret",
    "exec.mount.ssh",
    "file.base",
    "constraints",
    "platform",
    "meta.description",
    "meta.ignorecache",
    "meta.progressgroup",
    "source.map",
];

impl Default for FakeBridge {
    fn default() -> Self {
        FakeBridge::new()
    }
}

impl FakeBridge {
    /// An empty fake with [`FAKE_FRONTEND_CAPS`], [`FAKE_LLB_CAPS`] and one
    /// `linux/amd64` worker.
    pub fn new() -> FakeBridge {
        let caps = |ids: &[&str]| {
            ids.iter()
                .map(|id| ApiCap {
                    id: (*id).to_owned(),
                    enabled: true,
                    ..Default::default()
                })
                .collect()
        };
        FakeBridge {
            filesystems: BTreeMap::new(),
            refs: BTreeMap::new(),
            images: BTreeMap::new(),
            inputs: BTreeMap::new(),
            inputs_error: None,
            pong: g::PongResponse {
                frontend_api_caps: caps(FAKE_FRONTEND_CAPS),
                llb_caps: caps(FAKE_LLB_CAPS),
                workers: vec![WorkerRecord {
                    id: "fake-worker".into(),
                    platforms: vec![pb::Platform {
                        architecture: "amd64".into(),
                        os: "linux".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            },
            solve_error: None,
        }
    }

    /// Adds a file to the client's `dockerfile` local (the Dockerfile's directory: the
    /// Dockerfile, `<Dockerfile>.dockerignore`, `INCLUDE`d files).
    pub fn with_file(self, path: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        self.with_fs_file(local_key("dockerfile"), path, data)
    }

    /// Adds a file to the client's local `name` (`context` is the build context).
    pub fn with_local_file(
        self,
        name: &str,
        path: impl Into<String>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        self.with_fs_file(local_key(name), path, data)
    }

    /// Adds a file to the filesystem of the image `reference` (normalised, as
    /// `docker.io/library/busybox:local`), which every stage built on it reads.
    pub fn with_image_file(
        self,
        reference: &str,
        path: impl Into<String>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        self.with_fs_file(image_key(reference), path, data)
    }

    /// Adds a file to the filesystem `key` ([`local_key`], [`image_key`], or the progress
    /// name of the op a solved definition ends with).
    pub fn with_fs_file(
        mut self,
        key: impl Into<String>,
        path: impl Into<String>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        let path: String = path.into();
        self.filesystems
            .entry(key.into())
            .or_default()
            .insert(path.trim_start_matches('/').to_owned(), data.into());
        self
    }

    /// Makes reference `id` exist without a `Solve`, reading filesystem `key`.
    pub fn with_ref(mut self, id: impl Into<String>, key: impl Into<String>) -> Self {
        self.refs.insert(id.into(), key.into());
        self
    }

    /// Adds an image config.
    pub fn with_image(mut self, reference: impl Into<String>, config: impl Into<Vec<u8>>) -> Self {
        self.images.insert(reference.into(), config.into());
        self
    }

    /// Enables one more LLB cap (e.g. one a newer BuildKit has).
    pub fn with_llb_cap(mut self, id: &str) -> Self {
        self.pong.llb_caps.push(ApiCap {
            id: id.to_owned(),
            enabled: true,
            ..Default::default()
        });
        self
    }

    /// Adds a frontend input.
    pub fn with_input(mut self, name: impl Into<String>, def: pb::Definition) -> Self {
        self.inputs.insert(name.into(), def);
        self
    }
}

/// Keeps the fake server running and gives access to what it recorded. Dropping
/// it stops the server.
pub struct FakeHandle {
    recorded: Arc<Mutex<Recorded>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeHandle {
    /// A snapshot of every request received so far.
    pub fn recorded(&self) -> Recorded {
        lock(&self.recorded).clone()
    }

    /// The `Return` requests so far: what [`FakeHandle::recorded`] gives without copying
    /// everything else (a benchmark's check after a large build).
    pub fn returns(&self) -> Vec<g::ReturnRequest> {
        lock(&self.recorded).returns.clone()
    }
}

impl Drop for FakeHandle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts `fake` on an in-memory pipe and returns a connected (and pinged)
/// [`Bridge`] with session id `fake-session`. Needs a tokio runtime.
pub async fn spawn(fake: FakeBridge) -> Result<(Bridge, FakeHandle)> {
    spawn_on(fake, &tokio::runtime::Handle::current()).await
}

/// [`spawn`] with the fake served by the runtime `server`: on another thread's runtime,
/// the fake's work stays off the frontend's thread (a benchmark counts that thread alone).
pub async fn spawn_on(
    fake: FakeBridge,
    server: &tokio::runtime::Handle,
) -> Result<(Bridge, FakeHandle)> {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let service = LlbBridgeServer::new(Service {
        refs: Mutex::new(fake.refs.clone()),
        fake,
        recorded: Arc::clone(&recorded),
        next_ref: Mutex::new(0),
    })
    .max_decoding_message_size(MAX_MESSAGE_SIZE)
    .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let server = server.spawn(async move {
        let incoming = tokio_stream::once(Ok::<_, std::io::Error>(server_io));
        // The server ends when the client side of the pipe is dropped; its result
        // carries nothing a test needs.
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming)
            .await;
    });
    let handle = FakeHandle { recorded, server };
    let bridge = Bridge::from_channel(stdio::connect_io(client_io).await?)
        .await?
        .with_session_id("fake-session");
    Ok((bridge, handle))
}

/// Locks a mutex, ignoring poisoning (a panicking test thread must not hide the
/// recorded requests of the others).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Service {
    fake: FakeBridge,
    recorded: Arc<Mutex<Recorded>>,
    /// Every existing reference and its filesystem key.
    refs: Mutex<BTreeMap<String, String>>,
    next_ref: Mutex<u64>,
}

/// The key of the filesystem a solve of `def` gives: the progress name of the op it ends
/// with when `known` has a filesystem by that name (a stage), else the first source found
/// from that op through first inputs that `known` has (else the deepest source found):
/// `local://<name>` or `docker-image://<ref>` (the source identifier, an image's without
/// the `@sha256:…` it is pinned to). Empty for a
/// definition that builds nothing.
pub fn fs_key(def: &pb::Definition, known: &BTreeMap<String, Files>) -> String {
    let ops: BTreeMap<String, pb::Op> = def
        .def
        .iter()
        .filter_map(|bytes| {
            let op = pb::Op::decode(bytes.as_slice()).ok()?;
            Some((crate::llb::digest_of(bytes), op))
        })
        .collect();
    let Some(mut digest) = crate::llb::head_digest(def) else {
        return String::new();
    };
    if let Some(name) = def
        .metadata
        .get(&digest)
        .and_then(|m| m.description.get("llb.customname"))
    {
        if known.contains_key(name) {
            return name.clone();
        }
    }
    let mut deepest = String::new();
    // Bounded: a definition is a DAG, and each step goes one input down.
    for _ in 0..=ops.len() {
        let Some(op) = ops.get(&digest) else { break };
        if let Some(pb::op::Op::Source(src)) = &op.op {
            // An image is pinned to the digest its config was resolved with.
            let unpinned = match src.identifier.split_once('@') {
                Some((name, _)) if src.identifier.starts_with("docker-image://") => name,
                _ => src.identifier.as_str(),
            };
            if known.contains_key(unpinned) {
                return unpinned.to_owned();
            }
            deepest = unpinned.to_owned();
        }
        match op.inputs.first() {
            Some(input) => digest.clone_from(&input.digest),
            None => break,
        }
    }
    deepest
}

impl Service {
    fn record(&self, f: impl FnOnce(&mut Recorded)) {
        f(&mut lock(&self.recorded));
    }

    /// The files of reference `id` and their filesystem's key, recording the read; an
    /// error when no such reference exists (BuildKit's words).
    fn files_of(
        &self,
        kind: ReadKind,
        id: &str,
        path: &str,
    ) -> std::result::Result<&Files, Status> {
        let key = lock(&self.refs).get(id).cloned();
        self.record(|r| {
            r.reads.push(Read {
                kind,
                reference: id.to_owned(),
                fs: key.clone(),
                path: path.to_owned(),
            })
        });
        let key = key.ok_or_else(|| Status::unknown(format!("no such ref: {id}")))?;
        Ok(self.fake.filesystems.get(&key).unwrap_or(&EMPTY))
    }
}

/// The filesystem of a reference whose key names none.
static EMPTY: Files = BTreeMap::new();

/// `path` as a key of [`Files`].
fn clean(path: &str) -> &str {
    path.trim_start_matches("./").trim_matches('/')
}

/// Whether `path` is a directory in `files` (the root, or a prefix of a file's path).
fn is_dir(files: &Files, path: &str) -> bool {
    let p = clean(path);
    p.is_empty() || p == "." || files.keys().any(|k| k.starts_with(&format!("{p}/")))
}

/// BuildKit's error for a path that does not exist in a reference.
fn not_found(path: &str) -> Status {
    Status::unknown(format!("open {path}: no such file or directory"))
}

fn stat(path: &str, size: usize) -> FileStat {
    FileStat {
        path: path.to_owned(),
        mode: 0o644,
        size: i64::try_from(size).unwrap_or(i64::MAX),
        ..Default::default()
    }
}

/// fsutil carries Go's os.FileMode: `ModeDir` is bit 31.
fn dir_stat(path: &str) -> FileStat {
    FileStat {
        path: path.to_owned(),
        mode: (1 << 31) | 0o755,
        ..Default::default()
    }
}

type Reply<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl LlbBridge for Service {
    async fn ping(&self, _: Request<g::PingRequest>) -> Reply<g::PongResponse> {
        self.record(|r| r.pings += 1);
        Ok(Response::new(self.fake.pong.clone()))
    }

    async fn solve(&self, req: Request<g::SolveRequest>) -> Reply<g::SolveResponse> {
        let req = req.into_inner();
        let key = req
            .definition
            .as_ref()
            .map(|d| fs_key(d, &self.fake.filesystems))
            .unwrap_or_default();
        self.record(|r| r.solves.push(req));
        if let Some(msg) = &self.fake.solve_error {
            return Err(Status::unknown(msg.clone()));
        }
        let id = {
            let mut n = lock(&self.next_ref);
            *n += 1;
            format!("ref-{n}")
        };
        lock(&self.refs).insert(id.clone(), key.clone());
        self.record(|r| {
            r.refs.insert(id.clone(), key);
        });
        Ok(Response::new(g::SolveResponse {
            r#ref: String::new(),
            result: Some(g::Result {
                result: Some(g::result::Result::Ref(g::Ref { id, def: None })),
                ..Default::default()
            }),
        }))
    }

    async fn read_file(&self, req: Request<g::ReadFileRequest>) -> Reply<g::ReadFileResponse> {
        let req = req.into_inner();
        self.record(|r| r.read_files.push(req.clone()));
        let files = self.files_of(ReadKind::File, &req.r#ref, &req.file_path)?;
        let data = match files.get(clean(&req.file_path)) {
            Some(data) => data,
            None if is_dir(files, &req.file_path) => {
                return Err(Status::unknown(format!(
                    "{} is not a regular file",
                    req.file_path
                )))
            }
            None => return Err(not_found(&req.file_path)),
        };
        let data = match req.range {
            None => data.clone(),
            Some(range) => {
                let start = usize::try_from(range.offset).unwrap_or(0).min(data.len());
                let len = usize::try_from(range.length).unwrap_or(0);
                data[start..start.saturating_add(len).min(data.len())].to_vec()
            }
        };
        Ok(Response::new(g::ReadFileResponse { data }))
    }

    async fn stat_file(&self, req: Request<g::StatFileRequest>) -> Reply<g::StatFileResponse> {
        let req = req.into_inner();
        let files = self.files_of(ReadKind::Stat, &req.r#ref, &req.path)?;
        let stat = match files.get(clean(&req.path)) {
            Some(data) => stat(&req.path, data.len()),
            None if is_dir(files, &req.path) => dir_stat(&req.path),
            None => return Err(not_found(&req.path)),
        };
        Ok(Response::new(g::StatFileResponse { stat: Some(stat) }))
    }

    async fn read_dir(&self, req: Request<g::ReadDirRequest>) -> Reply<g::ReadDirResponse> {
        let req = req.into_inner();
        let files = self.files_of(ReadKind::Dir, &req.r#ref, &req.dir_path)?;
        if !is_dir(files, &req.dir_path) {
            return Err(not_found(&req.dir_path));
        }
        let prefix = match clean(&req.dir_path) {
            "" | "." => String::new(),
            d => format!("{d}/"),
        };
        // Files directly in the directory, and the directories deeper files imply (once each).
        let mut entries: Vec<FileStat> = Vec::new();
        for (p, data) in files {
            let Some(rest) = p.strip_prefix(&prefix) else {
                continue;
            };
            let entry = match rest.split_once('/') {
                None => stat(rest, data.len()),
                Some((sub, _)) => dir_stat(sub),
            };
            if !entries.iter().any(|e| e.path == entry.path) {
                entries.push(entry);
            }
        }
        Ok(Response::new(g::ReadDirResponse { entries }))
    }

    async fn resolve_image_config(
        &self,
        req: Request<g::ResolveImageConfigRequest>,
    ) -> Reply<g::ResolveImageConfigResponse> {
        let req = req.into_inner();
        self.record(|r| r.resolves.push(req.clone()));
        let config = self
            .fake
            .images
            .get(&req.r#ref)
            .ok_or_else(|| Status::not_found(format!("{}: not found", req.r#ref)))?;
        Ok(Response::new(g::ResolveImageConfigResponse {
            digest: format!("sha256:{}", hex::encode(Sha256::digest(config))),
            config: config.clone(),
            r#ref: req.r#ref,
        }))
    }

    async fn evaluate(&self, req: Request<g::EvaluateRequest>) -> Reply<g::EvaluateResponse> {
        let id = req.into_inner().r#ref;
        self.record(|r| r.evaluates.push(id));
        Ok(Response::new(g::EvaluateResponse {}))
    }

    async fn warn(&self, req: Request<g::WarnRequest>) -> Reply<g::WarnResponse> {
        self.record(|r| r.warns.push(req.into_inner()));
        Ok(Response::new(g::WarnResponse {}))
    }

    async fn r#return(&self, req: Request<g::ReturnRequest>) -> Reply<g::ReturnResponse> {
        self.record(|r| r.returns.push(req.into_inner()));
        Ok(Response::new(g::ReturnResponse {}))
    }

    async fn inputs(&self, _: Request<g::InputsRequest>) -> Reply<g::InputsResponse> {
        self.record(|r| r.inputs += 1);
        if let Some(msg) = &self.fake.inputs_error {
            return Err(Status::unknown(msg.clone()));
        }
        Ok(Response::new(g::InputsResponse {
            definitions: self.fake.inputs.clone().into_iter().collect(),
        }))
    }

    async fn resolve_source_meta(
        &self,
        _: Request<g::ResolveSourceMetaRequest>,
    ) -> Reply<g::ResolveSourceMetaResponse> {
        Err(Status::unimplemented("fake: ResolveSourceMeta"))
    }

    async fn new_container(
        &self,
        _: Request<g::NewContainerRequest>,
    ) -> Reply<g::NewContainerResponse> {
        Err(Status::unimplemented("fake: NewContainer"))
    }

    async fn release_container(
        &self,
        _: Request<g::ReleaseContainerRequest>,
    ) -> Reply<g::ReleaseContainerResponse> {
        Err(Status::unimplemented("fake: ReleaseContainer"))
    }

    type ExecProcessStream =
        Pin<Box<dyn Stream<Item = std::result::Result<g::ExecMessage, Status>> + Send>>;

    async fn exec_process(
        &self,
        _: Request<tonic::Streaming<g::ExecMessage>>,
    ) -> Reply<Self::ExecProcessStream> {
        Err(Status::unimplemented("fake: ExecProcess"))
    }

    async fn read_file_container(
        &self,
        _: Request<g::ReadFileRequest>,
    ) -> Reply<g::ReadFileResponse> {
        Err(Status::unimplemented("fake: ReadFileContainer"))
    }

    async fn read_dir_container(&self, _: Request<g::ReadDirRequest>) -> Reply<g::ReadDirResponse> {
        Err(Status::unimplemented("fake: ReadDirContainer"))
    }

    async fn stat_file_container(
        &self,
        _: Request<g::StatFileRequest>,
    ) -> Reply<g::StatFileResponse> {
        Err(Status::unimplemented("fake: StatFileContainer"))
    }
}
