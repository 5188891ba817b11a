//! An in-process fake BuildKit for tests (cargo feature `testing`).
//!
//! [`spawn`] serves a [`FakeBridge`] with bollard's generated `LlbBridgeServer` over
//! a `tokio::io::duplex` pipe and connects a real [`Bridge`] to it through the same
//! code path as stdio ([`crate::gateway::stdio::connect_io`]), so tests exercise the
//! actual HTTP/2 + protobuf wire, message limits included, without BuildKit.
//!
//! The fake is deliberately simple: files are looked up by path whatever reference
//! is asked for, every `Solve` succeeds with a fresh reference `ref-<n>` (unless
//! [`FakeBridge::solve_error`] is set), and every request is recorded for
//! assertions through [`FakeHandle::recorded`].

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};
use tonic::codegen::tokio_stream::{self, Stream};
use tonic::{Request, Response, Status};

use crate::gateway::{stdio, Bridge, FileStat, MAX_MESSAGE_SIZE};
use crate::gateway_pb::llb_bridge_server::{LlbBridge, LlbBridgeServer};
use crate::{gateway_pb as g, pb, Result};
use bollard_buildkit_proto::moby::buildkit::v1::{apicaps::ApiCap, types::WorkerRecord};

/// What the fake BuildKit knows and answers.
#[derive(Clone, Debug)]
pub struct FakeBridge {
    /// Files served by `ReadFile`/`StatFile`/`ReadDir`, by path (any reference).
    pub files: BTreeMap<String, Vec<u8>>,
    /// Image configs served by `ResolveImageConfig`, by reference; the digest is
    /// the sha256 of the config.
    pub images: BTreeMap<String, Vec<u8>>,
    /// Definitions served by `Inputs`.
    pub inputs: BTreeMap<String, pb::Definition>,
    /// The `Ping` answer; [`FakeBridge::new`] enables a modern cap set.
    pub pong: g::PongResponse,
    /// If set, every `Solve` fails with this message (code `Unknown`).
    pub solve_error: Option<String>,
}

/// Every request the fake received, in arrival order per kind.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    /// Number of `Ping` calls.
    pub pings: usize,
    /// `Solve` requests.
    pub solves: Vec<g::SolveRequest>,
    /// `ReadFile` requests.
    pub read_files: Vec<g::ReadFileRequest>,
    /// `ResolveImageConfig` requests.
    pub resolves: Vec<g::ResolveImageConfigRequest>,
    /// References passed to `Evaluate`.
    pub evaluates: Vec<String>,
    /// `Warn` requests.
    pub warns: Vec<g::WarnRequest>,
    /// `Return` requests.
    pub returns: Vec<g::ReturnRequest>,
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
            files: BTreeMap::new(),
            images: BTreeMap::new(),
            inputs: BTreeMap::new(),
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

    /// Adds a file.
    pub fn with_file(mut self, path: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.into(), data.into());
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
}

impl Drop for FakeHandle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts `fake` on an in-memory pipe and returns a connected (and pinged)
/// [`Bridge`] with session id `fake-session`. Needs a tokio runtime.
pub async fn spawn(fake: FakeBridge) -> Result<(Bridge, FakeHandle)> {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let service = LlbBridgeServer::new(Service {
        fake,
        recorded: Arc::clone(&recorded),
        next_ref: Mutex::new(0),
    })
    .max_decoding_message_size(MAX_MESSAGE_SIZE)
    .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let server = tokio::spawn(async move {
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
    next_ref: Mutex<u64>,
}

impl Service {
    fn record(&self, f: impl FnOnce(&mut Recorded)) {
        f(&mut lock(&self.recorded));
    }

    fn file(&self, path: &str) -> std::result::Result<&Vec<u8>, Status> {
        let key = path.trim_start_matches('/');
        self.fake
            .files
            .get(path)
            .or_else(|| self.fake.files.get(key))
            .ok_or_else(|| Status::not_found(format!("{path}: no such file or directory")))
    }
}

fn stat(path: &str, size: usize) -> FileStat {
    FileStat {
        path: path.to_owned(),
        mode: 0o644,
        size: i64::try_from(size).unwrap_or(i64::MAX),
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
        self.record(|r| r.solves.push(req.into_inner()));
        if let Some(msg) = &self.fake.solve_error {
            return Err(Status::unknown(msg.clone()));
        }
        let id = {
            let mut n = lock(&self.next_ref);
            *n += 1;
            format!("ref-{n}")
        };
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
        let data = self.file(&req.file_path)?;
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
        let path = req.into_inner().path;
        if path == "." || path == "/" {
            return Ok(Response::new(g::StatFileResponse {
                stat: Some(FileStat {
                    path,
                    // fsutil carries Go's os.FileMode: ModeDir is bit 31.
                    mode: (1 << 31) | 0o755,
                    ..Default::default()
                }),
            }));
        }
        let data = self.file(&path)?;
        Ok(Response::new(g::StatFileResponse {
            stat: Some(stat(&path, data.len())),
        }))
    }

    async fn read_dir(&self, req: Request<g::ReadDirRequest>) -> Reply<g::ReadDirResponse> {
        let dir = req.into_inner().dir_path;
        let prefix = match dir.trim_matches('/') {
            "" | "." => String::new(),
            d => format!("{d}/"),
        };
        // Files directly in `dir`, and the directories deeper files imply (once each).
        let mut entries: Vec<FileStat> = Vec::new();
        for (p, data) in &self.fake.files {
            let Some(rest) = p.trim_start_matches('/').strip_prefix(&prefix) else {
                continue;
            };
            let entry = match rest.split_once('/') {
                None => stat(rest, data.len()),
                Some((sub, _)) => FileStat {
                    path: sub.to_owned(),
                    mode: (1 << 31) | 0o755,
                    ..Default::default()
                },
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
