//! Capabilities BuildKit announces in its `Ping` answer.
//!
//! `PongResponse` carries two lists of `moby.buildkit.v1.apicaps.APICap { ID,
//! Enabled, Deprecated, DisabledReason, DisabledReasonMsg, DisabledAlternative }`:
//! gateway API caps (`frontend/gateway/pb/caps.go`) and LLB caps
//! (`solver/pb/caps.go`), plus the worker list. Upstream's `apicaps.CapSet.Supports`
//! accepts a cap only if it is listed **and** `Enabled`; [`Caps`] keeps exactly the
//! enabled ids, so "present in the set" means "usable".
//!
//! BuildKit older than the caps mechanism answers with empty lists (Go's nil). As in
//! upstream's `grpcclient.New`, an empty list is replaced by the frozen default set
//! that every BuildKit with a gateway supports ([`DEFAULT_FRONTEND_CAPS`],
//! [`DEFAULT_LLB_CAPS`]); the two lists fall back independently.

use std::collections::BTreeSet;

use crate::gateway::env::WorkerInfo;
use crate::gateway_pb;

/// Gateway API cap ids used by this crate (see `frontend/gateway/pb/caps.go`).
pub mod ids {
    /// `Solve` with a definition.
    pub const SOLVE_BASE: &str = "solve.base";
    /// `ResolveImageConfig`.
    pub const RESOLVE_IMAGE: &str = "resolveimage";
    /// `ReadFile`.
    pub const READ_FILE: &str = "readfile";
    /// `ReadDir`.
    pub const READ_DIR: &str = "readdir";
    /// `StatFile`.
    pub const STAT_FILE: &str = "statfile";
    /// `Return` (otherwise the result goes out as a final `Solve`).
    pub const RETURN_RESULT: &str = "return";
    /// `SolveRequest.cache_imports`.
    pub const IMPORT_CACHES: &str = "importcaches";
    /// `Inputs` and `SolveRequest.frontend_inputs`.
    pub const FRONTEND_INPUTS: &str = "frontend.inputs";
    /// `SolveRequest.evaluate`.
    pub const EVALUATE_SOLVE: &str = "gateway.solve.evaluate";
    /// `Evaluate`.
    pub const EVALUATE: &str = "gateway.evaluate";
    /// `Warn`.
    pub const WARNINGS: &str = "gateway.warnings";
    /// `Result.ref` / `Result.refs` instead of the deprecated string forms.
    pub const PROTO_REF_ARRAY: &str = "proto.refarray";
}

/// Gateway caps assumed when `Ping` lists none (upstream `defaultCaps`, frozen).
pub const DEFAULT_FRONTEND_CAPS: &[&str] = &[
    "solve.base",
    "solve.inlinereturn",
    "resolveimage",
    "readfile",
];

/// LLB caps assumed when `Ping` lists none (upstream `defaultLLBCaps`, frozen;
/// `soruce.http.uidgid` is BuildKit's own spelling).
pub const DEFAULT_LLB_CAPS: &[&str] = &[
    "source.image",
    "source.local",
    "source.local.unique",
    "source.local.sessionid",
    "source.local.includepatterns",
    "source.local.followpaths",
    "source.local.excludepatterns",
    "source.local.sharedkeyhint",
    "source.git",
    "source.git.keepgitdir",
    "source.git.fullurl",
    "source.http",
    "source.http.checksum",
    "source.http.perm",
    "soruce.http.uidgid",
    "source.buildop.llbfilename",
    "exec.meta.base",
    "exec.meta.proxyenv",
    "exec.mount.bind",
    "exec.mount.cache",
    "exec.mount.cache.sharing",
    "exec.mount.selector",
    "exec.mount.tmpfs",
    "exec.mount.secret",
    "constraints",
    "platform",
    "meta.ignorecache",
    "meta.description",
    "meta.exportcache",
];

/// What the connected BuildKit supports, from its `Ping` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// Enabled gateway API caps (`FrontendAPICaps`).
    pub frontend: BTreeSet<String>,
    /// Enabled LLB caps (`LLBCaps`); every cap an op declares in its metadata must be
    /// in here or the solve is refused.
    pub llb: BTreeSet<String>,
    /// Workers as reported by `Ping` (same data as `BUILDKIT_WORKERS`).
    pub workers: Vec<WorkerInfo>,
}

impl Caps {
    /// Whether the gateway API cap `id` is enabled.
    pub fn has_frontend(&self, id: &str) -> bool {
        self.frontend.contains(id)
    }

    /// Whether the LLB cap `id` is enabled.
    pub fn has_llb(&self, id: &str) -> bool {
        self.llb.contains(id)
    }

    /// Interprets a `Ping` answer (see the module docs for the fallback).
    pub fn from_pong(pong: gateway_pb::PongResponse) -> Caps {
        Caps {
            frontend: enabled(&pong.frontend_api_caps, DEFAULT_FRONTEND_CAPS),
            llb: enabled(&pong.llb_caps, DEFAULT_LLB_CAPS),
            workers: pong
                .workers
                .into_iter()
                .map(|w| WorkerInfo {
                    id: w.id,
                    labels: w.labels.into_iter().collect(),
                    platforms: w.platforms.into_iter().map(Into::into).collect(),
                })
                .collect(),
        }
    }
}

fn enabled(
    caps: &[bollard_buildkit_proto::moby::buildkit::v1::apicaps::ApiCap],
    defaults: &[&str],
) -> BTreeSet<String> {
    if caps.is_empty() {
        return defaults.iter().map(|s| (*s).to_owned()).collect();
    }
    caps.iter()
        .filter(|c| c.enabled && !c.id.is_empty())
        .map(|c| c.id.clone())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;
    use bollard_buildkit_proto::moby::buildkit::v1::apicaps::ApiCap;

    fn cap(id: &str, enabled: bool) -> ApiCap {
        ApiCap {
            id: id.into(),
            enabled,
            ..Default::default()
        }
    }

    #[test]
    fn only_enabled_caps_count() {
        let caps = Caps::from_pong(gateway_pb::PongResponse {
            frontend_api_caps: vec![cap("readfile", true), cap("gateway.warnings", false)],
            llb_caps: vec![cap("mergeop", false), cap("exec.mount.cache", true)],
            workers: vec![],
        });
        assert!(caps.has_frontend("readfile"));
        assert!(!caps.has_frontend("gateway.warnings"));
        assert!(!caps.has_llb("mergeop"));
        assert!(caps.has_llb("exec.mount.cache"));
    }

    #[test]
    fn empty_lists_fall_back_independently() {
        let caps = Caps::from_pong(gateway_pb::PongResponse {
            frontend_api_caps: vec![],
            llb_caps: vec![cap("merge", true)],
            workers: vec![],
        });
        assert!(caps.has_frontend("solve.base"));
        assert!(caps.has_frontend("resolveimage"));
        assert!(!caps.has_frontend("return"));
        assert_eq!(caps.llb.len(), 1);
    }
}
