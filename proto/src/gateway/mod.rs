//! The LLBBridge client: how a frontend talks to BuildKit over its stdin/stdout.
//!
//! [`Bridge`] wraps the LLBBridge RPCs (`client.rs`) with what BuildKit's own Go
//! client (`frontend/gateway/grpcclient`) adds on top: the `Ping` handshake and its
//! capabilities, 16 MiB message limits, the flags `Solve` must carry, and cap checks
//! with the same fallbacks. Requests and answers stay protobuf types
//! ([`crate::pb`], [`crate::gateway_pb`]) where the frontend needs their detail.
//!
//! Message size: both directions are limited to 16 MiB on our side (BuildKit's
//! `defaults.DefaultMaxRecvMsgSize`). BuildKit's own LLBBridge server accepts 16 MiB
//! requests only from v0.14 on; v0.13 and older keep grpc-go's 4 MiB receive limit,
//! so a larger `Solve` definition fails there with `ResourceExhausted` (answers such
//! as `ReadFile` may still be up to 16 MiB).

pub mod caps;
mod client;
pub mod env;
pub mod errdefs;
pub mod stdio;
pub mod unsupported;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::{gateway_pb, pb, rpc};
use client::Client;
use stdio::Channel;

/// File metadata returned by `StatFile`/`ReadDir` (fsutil's `Stat`).
pub use bollard_buildkit_proto::fsutil::types::Stat as FileStat;
pub use caps::Caps;
pub use env::{is_gateway, GatewayEnv, Platform, WorkerInfo};

/// Largest gRPC message sent or accepted: 16 MiB, as BuildKit's defaults.
pub const MAX_MESSAGE_SIZE: usize = 16 << 20;

/// How long the first `Ping` may take (upstream's Go client uses 15 s too).
pub const PING_TIMEOUT: Duration = Duration::from_secs(15);

/// A connected LLBBridge client plus what `Ping` told us. Cheap to clone; clones
/// share the one HTTP/2 connection and may issue calls concurrently.
#[derive(Clone)]
pub struct Bridge {
    client: Client,
    caps: Arc<Caps>,
    session_id: String,
}

/// Options of a [`Bridge::solve`] call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SolveOptions {
    /// Caches to import for this solve (`--cache-from`, the `cache-imports` opt).
    /// BuildKit applies cache imports per `Solve` request: without them here the
    /// frontend's graph ignores the user's remote cache.
    pub cache_imports: Vec<CacheImport>,
    /// Compute the result now rather than lazily, so failures surface from this call.
    /// Uses `SolveRequest.evaluate` when BuildKit has `gateway.solve.evaluate`,
    /// otherwise stats `.` in the result as upstream does.
    pub evaluate: bool,
    /// Solve by another frontend (`dockerfile.v0`, `gateway.v0`) instead of (or on
    /// top of) a definition. Upstream also copies its own `cache-imports` and
    /// `cache-from` opts into `frontend_opts` for such calls; do that yourself.
    pub frontend: Option<String>,
    /// Options for `frontend`.
    pub frontend_opts: BTreeMap<String, String>,
}

/// One cache import: `type` (`registry`, `gha`, `local`, …) and its attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheImport {
    /// Cache backend type.
    pub type_: String,
    /// Backend attributes (`ref`, `url`, `scope`, …).
    pub attrs: BTreeMap<String, String>,
}

/// What a [`Bridge::solve`] produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SolveOutput {
    /// The single result reference, for `read_file`/`Return`; `None` when the
    /// result is empty (e.g. `scratch`) or is a map of references.
    pub reference: Option<String>,
    /// Named references (multi-platform results of a frontend solve), empty
    /// otherwise. Keys are the result keys (platform ids); an empty id is a
    /// reference to an empty result.
    pub refs: BTreeMap<String, String>,
    /// Result metadata (for frontend solves: `containerimage.config`, …).
    pub metadata: BTreeMap<String, Vec<u8>>,
}

/// Answer of [`Bridge::resolve_image_config`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvedImage {
    /// Manifest digest the reference resolved to (`sha256:…`).
    pub digest: String,
    /// The image config JSON.
    pub config: Vec<u8>,
    /// The reference actually resolved; a source policy may have rewritten it.
    pub reference: String,
}

impl Bridge {
    /// Connects over stdin/stdout and pings. Call once per process.
    pub async fn connect_stdio() -> Result<Bridge> {
        Bridge::from_channel(stdio::connect_stdio().await?).await
    }

    /// Wraps an already connected channel and pings. The session id (used by
    /// [`Bridge::resolve_image_config`]) is taken from `BUILDKIT_SESSION_ID`; see
    /// [`Bridge::with_session_id`] to set it explicitly.
    pub async fn from_channel(channel: Channel) -> Result<Bridge> {
        let session_id = std::env::var(env::SESSION_ID_VAR).unwrap_or_default();
        let client = Client::new(channel, MAX_MESSAGE_SIZE);
        let pong = tokio::time::timeout(PING_TIMEOUT, client.ping(gateway_pb::PingRequest {}))
            .await
            .map_err(|_| Error::Timeout(format!("no Ping answer within {PING_TIMEOUT:?}")))??;
        Ok(Bridge {
            client,
            caps: Arc::new(Caps::from_pong(pong)),
            session_id,
        })
    }

    /// Replaces the session id taken from the environment.
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Bridge {
        self.session_id = session_id.into();
        self
    }

    /// The capabilities from `Ping`.
    pub fn caps(&self) -> &Caps {
        &self.caps
    }

    /// The session id sent with image resolution.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    fn require(&self, cap: &str) -> Result<()> {
        if self.caps.has_frontend(cap) {
            Ok(())
        } else {
            Err(Error::MissingCap(cap.to_owned()))
        }
    }

    /// Solves a definition (or a frontend call) and returns its reference.
    ///
    /// Like upstream, every LLB cap declared in the definition's op metadata must be
    /// enabled, otherwise [`Error::MissingCap`] is returned before sending anything.
    /// `allow_result_return` and `allow_result_array_ref` are always set so the
    /// answer carries the result in its modern form.
    pub async fn solve(&self, def: pb::Definition, opts: SolveOptions) -> Result<SolveOutput> {
        for meta in def.metadata.values() {
            for cap in meta.caps.keys() {
                if !self.caps.has_llb(cap) {
                    return Err(Error::MissingCap(cap.clone()));
                }
            }
        }
        let evaluate_inline = opts.evaluate && self.caps.has_frontend(caps::ids::EVALUATE_SOLVE);
        let req = gateway_pb::SolveRequest {
            definition: (!def.def.is_empty()).then_some(def),
            frontend: opts.frontend.unwrap_or_default(),
            frontend_opt: opts.frontend_opts.into_iter().collect(),
            allow_result_return: true,
            allow_result_array_ref: true,
            // Servers without `Return` expect the inline-return form.
            exporter_attr: if self.caps.has_frontend(caps::ids::RETURN_RESULT) {
                Vec::new()
            } else {
                b"{}".to_vec()
            },
            cache_imports: opts
                .cache_imports
                .into_iter()
                .map(|c| gateway_pb::CacheOptionsEntry {
                    r#type: c.type_,
                    attrs: c.attrs.into_iter().collect(),
                })
                .collect(),
            evaluate: evaluate_inline,
            ..Default::default()
        };
        let resp = self.client.solve(req).await?;
        let out = solve_output(resp);
        if opts.evaluate && !evaluate_inline {
            for id in out.reference.iter().chain(out.refs.values()) {
                if !id.is_empty() {
                    self.stat_file(id, ".").await?;
                }
            }
        }
        Ok(out)
    }

    /// Reads a file from a solved reference; `range` is `(offset, length)`.
    pub async fn read_file(
        &self,
        reference: &str,
        path: &str,
        range: Option<(i64, i64)>,
    ) -> Result<Vec<u8>> {
        let req = gateway_pb::ReadFileRequest {
            r#ref: reference.to_owned(),
            file_path: path.to_owned(),
            range: range.map(|(offset, length)| gateway_pb::FileRange { offset, length }),
            mount_index: 0,
        };
        Ok(self.client.read_file(req).await?.data)
    }

    /// Stats a path in a solved reference (cap `statfile`).
    pub async fn stat_file(&self, reference: &str, path: &str) -> Result<FileStat> {
        self.require(caps::ids::STAT_FILE)?;
        let req = gateway_pb::StatFileRequest {
            r#ref: reference.to_owned(),
            path: path.to_owned(),
            mount_index: 0,
        };
        self.client
            .stat_file(req)
            .await?
            .stat
            .ok_or_else(|| Error::Protocol(format!("StatFile {path:?} answered without a stat")))
    }

    /// Lists a directory of a solved reference (cap `readdir`); `include_pattern`
    /// is a filepath.Match glob, empty for all entries.
    pub async fn read_dir(
        &self,
        reference: &str,
        path: &str,
        include_pattern: &str,
    ) -> Result<Vec<FileStat>> {
        self.require(caps::ids::READ_DIR)?;
        let req = gateway_pb::ReadDirRequest {
            r#ref: reference.to_owned(),
            dir_path: path.to_owned(),
            include_pattern: include_pattern.to_owned(),
            mount_index: 0,
        };
        Ok(self.client.read_dir(req).await?.entries)
    }

    /// Resolves an image reference to its digest and config.
    ///
    /// `resolve_mode` is `default`, `pull` or `local` (opt `image-resolve-mode`).
    /// Sends `ResolverType` registry (0) like upstream for image sources, and the
    /// session id (BuildKit uses it only for OCI-layout stores; harmless otherwise).
    /// If BuildKit does not echo the reference (older versions), the input is kept.
    pub async fn resolve_image_config(
        &self,
        reference: &str,
        platform: Option<pb::Platform>,
        resolve_mode: &str,
        log_name: &str,
    ) -> Result<ResolvedImage> {
        let req = gateway_pb::ResolveImageConfigRequest {
            r#ref: reference.to_owned(),
            platform,
            resolve_mode: resolve_mode.to_owned(),
            log_name: log_name.to_owned(),
            resolver_type: RESOLVER_TYPE_REGISTRY,
            session_id: self.session_id.clone(),
            ..Default::default()
        };
        self.send_resolve(req).await
    }

    /// Resolves the config of an image in one of the client's OCI layout stores
    /// (`--build-context name=oci-layout:///dir`): `reference` names it by digest,
    /// `store_id` is the store the client attached to the session.
    pub async fn resolve_oci_layout_config(
        &self,
        reference: &str,
        platform: Option<pb::Platform>,
        store_id: &str,
        log_name: &str,
    ) -> Result<ResolvedImage> {
        let req = gateway_pb::ResolveImageConfigRequest {
            r#ref: reference.to_owned(),
            platform,
            log_name: log_name.to_owned(),
            resolver_type: RESOLVER_TYPE_OCI_LAYOUT,
            session_id: self.session_id.clone(),
            store_id: store_id.to_owned(),
            ..Default::default()
        };
        self.send_resolve(req).await
    }

    /// Sends a `ResolveImageConfig` request; the reference BuildKit echoes, else the one
    /// asked for (older versions echo none).
    async fn send_resolve(
        &self,
        req: gateway_pb::ResolveImageConfigRequest,
    ) -> Result<ResolvedImage> {
        let asked = req.r#ref.clone();
        let resp = self.client.resolve_image_config(req).await?;
        Ok(ResolvedImage {
            digest: resp.digest,
            config: resp.config,
            reference: if resp.r#ref.is_empty() {
                asked
            } else {
                resp.r#ref
            },
        })
    }

    /// Forces a lazy reference to be computed, surfacing its build errors now.
    /// Uses `Evaluate` (cap `gateway.evaluate`), else a stat of `.` like upstream.
    pub async fn evaluate(&self, reference: &str) -> Result<()> {
        if self.caps.has_frontend(caps::ids::EVALUATE) {
            let req = gateway_pb::EvaluateRequest {
                r#ref: reference.to_owned(),
            };
            self.client.evaluate(req).await?;
            Ok(())
        } else {
            self.stat_file(reference, ".").await.map(|_| ())
        }
    }

    /// Sends a warning (lint finding, deprecation) to the user. Without the
    /// `gateway.warnings` cap BuildKit has no way to show it, so this is a no-op
    /// returning `Ok` rather than failing the build over a warning.
    pub async fn warn(&self, req: gateway_pb::WarnRequest) -> Result<()> {
        if !self.caps.has_frontend(caps::ids::WARNINGS) {
            return Ok(());
        }
        self.client.warn(req).await?;
        Ok(())
    }

    /// Returns the build result. Exit the process soon after: BuildKit waits for it.
    pub async fn return_result(&self, result: gateway_pb::Result) -> Result<()> {
        let req = gateway_pb::ReturnRequest {
            result: Some(result),
            error: None,
        };
        self.client.r#return(req).await?;
        Ok(())
    }

    /// Returns a build error (see [`errdefs::source_error`] for one that points
    /// at source lines).
    pub async fn return_error(&self, status: rpc::Status) -> Result<()> {
        let req = gateway_pb::ReturnRequest {
            result: None,
            error: Some(status),
        };
        self.client.r#return(req).await?;
        Ok(())
    }

    /// Definitions the client passed as frontend inputs (`context`, `dockerfile`,
    /// named contexts given as LLB); cap `frontend.inputs`.
    pub async fn inputs(&self) -> Result<BTreeMap<String, pb::Definition>> {
        self.require(caps::ids::FRONTEND_INPUTS)?;
        let resp = self.client.inputs(gateway_pb::InputsRequest {}).await?;
        Ok(resp.definitions.into_iter().collect())
    }
}

/// `sourceresolver.ResolverTypeRegistry` (first value of a Go `iota`).
const RESOLVER_TYPE_REGISTRY: i32 = 0;

/// `sourceresolver.ResolverTypeOCILayout` (the next value).
const RESOLVER_TYPE_OCI_LAYOUT: i32 = 1;

/// Flattens every form a `SolveResponse` can take into [`SolveOutput`]: the
/// top-level deprecated `ref` (no `result`), `ref_deprecated`, `ref`, and the two
/// map forms. An empty id means "empty result" and becomes `None`.
fn solve_output(resp: gateway_pb::SolveResponse) -> SolveOutput {
    use gateway_pb::result::Result as R;
    let non_empty = |id: String| (!id.is_empty()).then_some(id);
    let Some(result) = resp.result else {
        return SolveOutput {
            reference: non_empty(resp.r#ref),
            ..Default::default()
        };
    };
    let mut out = SolveOutput {
        metadata: result.metadata.into_iter().collect(),
        ..Default::default()
    };
    match result.result {
        None => out.reference = non_empty(resp.r#ref),
        Some(R::RefDeprecated(id)) => out.reference = non_empty(id),
        Some(R::Ref(r)) => out.reference = non_empty(r.id),
        Some(R::RefsDeprecated(m)) => out.refs = m.refs.into_iter().collect(),
        Some(R::Refs(m)) => out.refs = m.refs.into_iter().map(|(k, r)| (k, r.id)).collect(),
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use gateway_pb::result::Result as R;

    fn with(result: Option<R>, top: &str) -> SolveOutput {
        solve_output(gateway_pb::SolveResponse {
            r#ref: top.into(),
            result: Some(gateway_pb::Result {
                result,
                ..Default::default()
            }),
        })
    }

    #[test]
    fn every_result_form_is_understood() {
        let legacy = solve_output(gateway_pb::SolveResponse {
            r#ref: "old".into(),
            result: None,
        });
        assert_eq!(legacy.reference.as_deref(), Some("old"));
        assert_eq!(
            with(Some(R::RefDeprecated("d".into())), "")
                .reference
                .as_deref(),
            Some("d")
        );
        let r = gateway_pb::Ref {
            id: "r".into(),
            def: None,
        };
        assert_eq!(with(Some(R::Ref(r)), "").reference.as_deref(), Some("r"));
        let empty = gateway_pb::Ref::default();
        assert_eq!(with(Some(R::Ref(empty)), "").reference, None);
        let refs = gateway_pb::RefMap {
            refs: [(
                "linux/amd64".to_owned(),
                gateway_pb::Ref {
                    id: "a".into(),
                    def: None,
                },
            )]
            .into(),
        };
        let out = with(Some(R::Refs(refs)), "");
        assert_eq!(out.reference, None);
        assert_eq!(out.refs["linux/amd64"], "a");
        let dep = gateway_pb::RefMapDeprecated {
            refs: [("p".to_owned(), "b".to_owned())].into(),
        };
        assert_eq!(with(Some(R::RefsDeprecated(dep)), "").refs["p"], "b");
        assert_eq!(with(None, "top").reference.as_deref(), Some("top"));
    }
}
