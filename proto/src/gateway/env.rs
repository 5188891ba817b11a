//! The environment BuildKit gives a gateway frontend process.
//!
//! BuildKit's gateway (`frontend/gateway/gateway.go`) starts the frontend image's
//! entrypoint with these variables on top of the image's own `Env`:
//!
//! - `BUILDKIT_FRONTEND_OPT_<i>=<key>=<value>`, one per frontend option. `<i>` is an
//!   arbitrary counter, the value holds `key=value`; it is split on the first `=`
//!   (a value without `=` is a key with an empty value, as upstream's
//!   `grpcclient.opts()` does).
//! - `BUILDKIT_SESSION_ID`: the client session, needed for `llb.Local` sources and
//!   for secrets/ssh.
//! - `BUILDKIT_WORKERS`: JSON of Go's `[]client.WorkerInfo`. That struct has no JSON
//!   tags, so the keys are the Go field names `ID`, `Labels`, `Platforms`; each
//!   platform is an OCI `Platform` with keys `architecture`, `os`, `variant`,
//!   `os.version`, `os.features`.
//! - `BUILDKIT_EXPORTEDPRODUCT`: the product name used in capability errors.
//!
//! Parsing is separated from reading the process environment ([`GatewayEnv::from_vars`])
//! so it can be tested without touching global state.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::pb;

/// Prefix of the variables that carry frontend options.
pub const FRONTEND_OPT_PREFIX: &str = "BUILDKIT_FRONTEND_OPT_";
/// Variable carrying the client session id.
pub const SESSION_ID_VAR: &str = "BUILDKIT_SESSION_ID";
/// Variable carrying the JSON worker list.
pub const WORKERS_VAR: &str = "BUILDKIT_WORKERS";
/// Variable carrying the exported product name.
pub const EXPORTED_PRODUCT_VAR: &str = "BUILDKIT_EXPORTEDPRODUCT";

/// What BuildKit told the frontend process through its environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayEnv {
    /// Frontend options (`filename`, `build-arg:FOO`, `target`, `cache-imports`, …).
    pub opts: BTreeMap<String, String>,
    /// The client session id; empty when BuildKit did not set one.
    pub session_id: String,
    /// The workers BuildKit can schedule on; the first platform of the first worker
    /// is BUILDPLATFORM.
    pub workers: Vec<WorkerInfo>,
    /// Product name for capability error messages (e.g. `buildkit`, `docker`).
    pub exported_product: String,
}

/// One BuildKit worker, as serialised into `BUILDKIT_WORKERS` (and as derived from
/// the `Ping` answer, see [`crate::gateway::Caps::workers`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Worker id.
    #[serde(rename = "ID", default, deserialize_with = "null_as_default")]
    pub id: String,
    /// Worker labels (`org.mobyproject.buildkit.worker.*`).
    #[serde(rename = "Labels", default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// Platforms the worker can run, native first.
    #[serde(rename = "Platforms", default, deserialize_with = "null_as_default")]
    pub platforms: Vec<Platform>,
}

/// An OCI platform with the OCI JSON field names; convertible to and from
/// [`pb::Platform`] so the frontend can put it into LLB directly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, …).
    #[serde(default)]
    pub architecture: String,
    /// Operating system (`linux`, `windows`).
    #[serde(default)]
    pub os: String,
    /// CPU variant (`v7`, `v8`); empty when none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    /// OS version (Windows only).
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    /// OS features (Windows only).
    #[serde(
        rename = "os.features",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub os_features: Vec<String>,
}

impl From<Platform> for pb::Platform {
    fn from(p: Platform) -> Self {
        pb::Platform {
            architecture: p.architecture,
            os: p.os,
            variant: p.variant,
            os_version: p.os_version,
            os_features: p.os_features,
        }
    }
}

impl From<pb::Platform> for Platform {
    fn from(p: pb::Platform) -> Self {
        Platform {
            architecture: p.architecture,
            os: p.os,
            variant: p.variant,
            os_version: p.os_version,
            os_features: p.os_features,
        }
    }
}

/// Go's `encoding/json` writes `null` for nil maps and slices; treat it as empty.
fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl GatewayEnv {
    /// Reads the current process environment. Variables whose name or value is not
    /// UTF-8 are skipped (none of BuildKit's are).
    ///
    /// Fails only if `BUILDKIT_WORKERS` is present but not valid JSON: upstream's Go
    /// client silently drops the worker list then, which would make the frontend
    /// pick a wrong BUILDPLATFORM without telling anyone.
    pub fn from_process() -> Result<GatewayEnv> {
        GatewayEnv::from_vars(process_vars())
    }

    /// Parses the given `(name, value)` pairs as BuildKit's gateway environment.
    /// Unrelated variables are ignored. Fails only on malformed `BUILDKIT_WORKERS`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<GatewayEnv> {
        let mut env = GatewayEnv::default();
        for (name, value) in vars {
            if name.starts_with(FRONTEND_OPT_PREFIX) {
                let (key, val) = value.split_once('=').unwrap_or((value.as_str(), ""));
                env.opts.insert(key.to_owned(), val.to_owned());
            } else if name == SESSION_ID_VAR {
                env.session_id = value;
            } else if name == EXPORTED_PRODUCT_VAR {
                env.exported_product = value;
            } else if name == WORKERS_VAR {
                if value.trim().is_empty() {
                    continue;
                }
                env.workers = serde_json::from_str::<Option<Vec<WorkerInfo>>>(&value)
                    .map_err(|e| Error::Env(format!("{WORKERS_VAR} is not a worker list: {e}")))?
                    .unwrap_or_default();
            }
        }
        Ok(env)
    }

    /// The build platform: the first platform of the first worker, if any.
    pub fn build_platform(&self) -> Option<&Platform> {
        self.workers.first().and_then(|w| w.platforms.first())
    }
}

/// Whether BuildKit started this process as a gateway frontend, judged from the
/// process environment (see [`is_gateway_vars`] for the rule).
pub fn is_gateway() -> bool {
    is_gateway_vars(process_vars())
}

/// The rule behind [`is_gateway`]: BuildKit's gateway always sets
/// `BUILDKIT_SESSION_ID` and `BUILDKIT_WORKERS` (even if empty) and normally at least
/// one `BUILDKIT_FRONTEND_OPT_*` (`source`, `cmdline`). The presence of any of them
/// means "talk gRPC on stdio"; their absence means a human ran the binary, and the
/// frontend must not write gRPC frames to a terminal.
pub fn is_gateway_vars(vars: impl IntoIterator<Item = (String, String)>) -> bool {
    vars.into_iter().any(|(name, _)| {
        name == SESSION_ID_VAR || name == WORKERS_VAR || name.starts_with(FRONTEND_OPT_PREFIX)
    })
}

/// The process environment as UTF-8 pairs; `std::env::vars` would panic on
/// non-UTF-8 entries, so those are skipped instead.
fn process_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn opts_split_on_first_equals() {
        let env = GatewayEnv::from_vars(vars(&[
            ("BUILDKIT_FRONTEND_OPT_0", "build-arg:A=b=c"),
            ("BUILDKIT_FRONTEND_OPT_7", "filename=Dockerfile"),
            ("BUILDKIT_FRONTEND_OPT_3", "no-cache"),
            ("BUILDKIT_FRONTEND_OPT_4", "empty="),
            ("PATH", "/usr/bin"),
        ]))
        .unwrap();
        assert_eq!(env.opts["build-arg:A"], "b=c");
        assert_eq!(env.opts["filename"], "Dockerfile");
        assert_eq!(env.opts["no-cache"], "");
        assert_eq!(env.opts["empty"], "");
        assert_eq!(env.opts.len(), 4);
    }

    #[test]
    fn session_product_and_workers() {
        let workers = r#"[{"ID":"w0","Labels":{"org.mobyproject.buildkit.worker.executor":"oci"},
            "Platforms":[{"architecture":"amd64","os":"linux"},
                         {"architecture":"arm","os":"linux","variant":"v7"}]},
            {"ID":"w1","Labels":null,"Platforms":null}]"#;
        let env = GatewayEnv::from_vars(vars(&[
            ("BUILDKIT_SESSION_ID", "sess-1"),
            ("BUILDKIT_EXPORTEDPRODUCT", "docker"),
            ("BUILDKIT_WORKERS", workers),
        ]))
        .unwrap();
        assert_eq!(env.session_id, "sess-1");
        assert_eq!(env.exported_product, "docker");
        assert_eq!(env.workers.len(), 2);
        assert_eq!(env.workers[0].id, "w0");
        assert_eq!(env.workers[0].labels.len(), 1);
        assert_eq!(env.workers[0].platforms[1].variant, "v7");
        assert!(env.workers[1].platforms.is_empty());
        let bp = env.build_platform().unwrap();
        assert_eq!(
            (bp.os.as_str(), bp.architecture.as_str()),
            ("linux", "amd64")
        );
        let pbp: pb::Platform = bp.clone().into();
        assert_eq!(pbp.architecture, "amd64");
    }

    #[test]
    fn workers_null_or_missing_is_empty_but_garbage_fails() {
        assert!(GatewayEnv::from_vars(vars(&[("BUILDKIT_WORKERS", "null")]))
            .unwrap()
            .workers
            .is_empty());
        assert!(GatewayEnv::from_vars(vars(&[("BUILDKIT_WORKERS", "")]))
            .unwrap()
            .workers
            .is_empty());
        assert!(matches!(
            GatewayEnv::from_vars(vars(&[("BUILDKIT_WORKERS", "{oops")])),
            Err(Error::Env(_))
        ));
    }

    #[test]
    fn platform_json_uses_oci_names() {
        let p = Platform {
            architecture: "amd64".into(),
            os: "windows".into(),
            os_version: "10.0.17763".into(),
            ..Platform::default()
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"architecture":"amd64","os":"windows","os.version":"10.0.17763"}"#
        );
    }

    #[test]
    fn gateway_detection() {
        assert!(!is_gateway_vars(vars(&[
            ("PATH", "/bin"),
            ("HOME", "/root")
        ])));
        assert!(is_gateway_vars(vars(&[("BUILDKIT_SESSION_ID", "")])));
        assert!(is_gateway_vars(vars(&[("BUILDKIT_WORKERS", "[]")])));
        assert!(is_gateway_vars(vars(&[(
            "BUILDKIT_FRONTEND_OPT_0",
            "source=x"
        )])));
    }
}
