//! Base image configs from BuildKit (`ResolveImageConfig`): the gateway side of
//! [`ImageResolver`].

use strata_proto::gateway::Bridge;

use crate::convert::BaseImage;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::platform::Platform;
use crate::resolve::ImageResolver;

/// Resolves through BuildKit's `ResolveImageConfig`.
#[derive(Clone)]
pub(crate) struct BridgeResolver {
    /// The connection.
    pub(crate) bridge: Bridge,
    /// `image-resolve-mode`: `default`, `pull` or `local`.
    pub(crate) mode: String,
    /// Replaces `internal` in the progress line (`linux/arm64 internal`) so the lines of
    /// a multi-platform build say which platform they load for.
    pub(crate) log_prefix: Option<String>,
}

impl ImageResolver for BridgeResolver {
    async fn resolve(&self, reference: String, platform: Platform) -> Result<BaseImage> {
        let prefix = self.log_prefix.as_deref().unwrap_or("internal");
        let resolved = if let Some(layout) = reference.strip_prefix("oci-layout://") {
            // An image in the client's OCI layout store (`NamedContext::config_reference`).
            let (store, digest) = crate::plan::split_oci_layout(layout).map_err(Error::Input)?;
            let by_digest = format!("{store}@{digest}");
            let log_name = format!("[{prefix}] load metadata for oci-layout://{by_digest}");
            self.bridge
                .resolve_oci_layout_config(&by_digest, Some(platform.to_pb()), store, &log_name)
                .await?
        } else {
            let normalized = strata_proto::llb::normalize_image_reference(&reference);
            let log_name = format!("[{prefix}] load metadata for {normalized}");
            self.bridge
                .resolve_image_config(&normalized, Some(platform.to_pb()), &self.mode, &log_name)
                .await?
        };
        let config: Image = serde_json::from_slice(&resolved.config)
            .map_err(|e| Error::Input(format!("{reference}: invalid image config: {e}")))?;
        Ok(BaseImage {
            digest: (!resolved.digest.is_empty()).then_some(resolved.digest),
            config,
            raw: resolved.config,
        })
    }
}
