//! The image config BuildKit's exporter writes: Docker's image JSON (an OCI image config plus
//! Docker's `Healthcheck`, `OnBuild` and `Shell`).
//!
//! Our own serde types rather than `oci-spec`: the OCI types lack the Docker-only fields that
//! a plain Dockerfile sets (`HEALTHCHECK`, `ONBUILD`, `SHELL`), and we must round-trip them
//! from base images exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

/// The `PATH` BuildKit gives Linux images that set none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A whole image config document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Image author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// CPU architecture.
    #[serde(default)]
    pub architecture: String,
    /// CPU variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Operating system.
    #[serde(default)]
    pub os: String,
    /// Runtime configuration.
    #[serde(default)]
    pub config: ImageConfig,
    /// Layer digests; BuildKit's exporter fills them in.
    #[serde(default)]
    pub rootfs: RootFs,
    /// One entry per instruction that built the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

/// Runtime defaults for containers started from the image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    /// `USER`.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub user: Option<String>,
    /// `EXPOSE`: `"80/tcp": {}`.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    /// `ENV`, as `KEY=value` in definition order.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub env: Option<Vec<String>>,
    /// `ENTRYPOINT`.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub entrypoint: Option<Vec<String>>,
    /// `CMD`.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub cmd: Option<Vec<String>>,
    /// `VOLUME`.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub volumes: Option<BTreeMap<String, Empty>>,
    /// `WORKDIR`.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub working_dir: Option<String>,
    /// `LABEL`.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub labels: Option<BTreeMap<String, String>>,
    /// `STOPSIGNAL`.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub stop_signal: Option<String>,
    /// Windows-only escaping hint; kept for round-tripping.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub args_escaped: Option<bool>,
    /// `HEALTHCHECK`.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub healthcheck: Option<HealthConfig>,
    /// `ONBUILD` triggers, run when another build uses this image as a base.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub on_build: Option<Vec<String>>,
    /// `SHELL`.
    #[serde(default, skip_serializing_if = "go_omitempty")]
    pub shell: Option<Vec<String>>,
}

/// Docker's `HEALTHCHECK` settings; durations in nanoseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", cmd]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    /// Time between checks.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    /// Time one check may take.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    /// Grace period after start.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    /// Interval during the start period.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    /// Failures before unhealthy.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

/// Go's `omitempty` on the config fields BuildKit's frontend writes: `None`, `""`, an empty
/// list or map and `false` are all left out, so a base image's `"User": ""` is not echoed.
fn go_omitempty<T: OmitEmpty>(v: &Option<T>) -> bool {
    v.as_ref().is_none_or(OmitEmpty::is_empty)
}

/// Values Go's `encoding/json` counts as empty.
trait OmitEmpty {
    fn is_empty(&self) -> bool;
}

impl OmitEmpty for String {
    fn is_empty(&self) -> bool {
        str::is_empty(self)
    }
}

impl<T> OmitEmpty for Vec<T> {
    fn is_empty(&self) -> bool {
        <[T]>::is_empty(self)
    }
}

impl<K, V> OmitEmpty for BTreeMap<K, V> {
    fn is_empty(&self) -> bool {
        BTreeMap::is_empty(self)
    }
}

impl OmitEmpty for bool {
    fn is_empty(&self) -> bool {
        !*self
    }
}

impl OmitEmpty for HealthConfig {
    fn is_empty(&self) -> bool {
        false
    }
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// Serialises as `{}`, the value type of Docker's port and volume sets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// The image's layer list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Uncompressed layer digests.
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

impl Default for RootFs {
    fn default() -> RootFs {
        RootFs {
            kind: "layers".to_owned(),
            diff_ids: Vec::new(),
        }
    }
}

/// One history entry: what built a layer (or an empty config step).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The instruction, e.g. `RUN /bin/sh -c make # buildkit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Free text; BuildKit writes `buildkit.dockerfile.v0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// True when the step added no layer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

impl Image {
    /// The config of `FROM scratch`: nothing but the platform and a default `PATH`.
    pub fn empty(platform: &Platform) -> Image {
        Image {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            variant: (!platform.variant.is_empty()).then(|| platform.variant.clone()),
            config: ImageConfig {
                env: Some(vec![format!("PATH={DEFAULT_PATH}")]),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// The value of env var `key` in the config.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.config.env.iter().flatten().rev().find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            (k == key).then_some(v)
        })
    }

    /// Sets env var `key`, replacing an earlier value in place (order is kept).
    pub fn set_env(&mut self, key: &str, value: &str) {
        let env = self.config.env.get_or_insert_with(Vec::new);
        let entry = format!("{key}={value}");
        match env
            .iter_mut()
            .find(|kv| kv.split_once('=').map_or(kv.as_str(), |(k, _)| k) == key)
        {
            Some(slot) => *slot = entry,
            None => env.push(entry),
        }
    }

    /// Appends a history entry the way BuildKit's frontend does.
    pub fn add_history(&mut self, created_by: String, empty_layer: bool) {
        self.history.push(History {
            created_by: Some(created_by),
            comment: Some("buildkit.dockerfile.v0".to_owned()),
            empty_layer,
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_fields_are_omitted_like_go() {
        let json = r#"{"architecture":"amd64","os":"linux","config":{"User":"","WorkingDir":"","Cmd":[],"Env":["A=1"],"ArgsEscaped":false}}"#;
        let img: Image = serde_json::from_str(json).unwrap();
        let out = serde_json::to_value(&img).unwrap();
        assert_eq!(out["config"], serde_json::json!({"Env": ["A=1"]}));
    }

    #[test]
    fn env_set_replaces_in_place() {
        let mut img = Image::empty(&Platform::linux_amd64());
        img.set_env("A", "1");
        img.set_env("PATH", "/bin");
        assert_eq!(img.config.env.as_deref().unwrap(), ["PATH=/bin", "A=1"]);
        assert_eq!(img.env("A"), Some("1"));
        assert_eq!(img.env("B"), None);
    }

    #[test]
    fn round_trips_docker_fields() {
        let json = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"],"Healthcheck":{"Test":["CMD","true"],"Interval":1000},"OnBuild":["RUN x"],"Shell":["/bin/bash","-c"],"ExposedPorts":{"80/tcp":{}}},"rootfs":{"type":"layers","diff_ids":["sha256:a"]},"history":[{"created_by":"x","empty_layer":true}]}"#;
        let img: Image = serde_json::from_str(json).unwrap();
        let back: serde_json::Value = serde_json::to_value(&img).unwrap();
        let orig: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, orig);
    }
}
