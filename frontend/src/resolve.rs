//! Base image resolution: the one thing conversion needs from BuildKit, behind a small
//! trait so the pipeline runs (and is tested) without a daemon. The BuildKit side is
//! `gateway::resolve`; the offline stand-ins (`strata llb`, `strata policy check`, tests)
//! are here, pure.

use std::future::Future;

use crate::convert::{BaseImage, BaseImages};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::plan::Plan;
use crate::platform::Platform;

/// Finds the config of a base image.
pub trait ImageResolver: Clone + Send + Sync + 'static {
    /// Resolves `reference` for `platform`.
    fn resolve(
        &self,
        reference: String,
        platform: Platform,
    ) -> impl Future<Output = Result<BaseImage>> + Send;
}

/// For `strata llb` without BuildKit: every image is a one-layer image with a default
/// `PATH`, so the printed graph has the shape a real build has.
#[derive(Clone)]
pub struct OfflineResolver;

impl ImageResolver for OfflineResolver {
    async fn resolve(&self, _reference: String, platform: Platform) -> Result<BaseImage> {
        Ok(offline_image(&platform))
    }
}

/// The stand-in every image is offline: one layer, default `PATH`, the given platform.
pub fn offline_image(platform: &Platform) -> BaseImage {
    let mut config = Image::empty(platform);
    config.rootfs.diff_ids.push("sha256:offline".to_owned());
    let raw = serde_json::to_vec(&config).unwrap_or_default();
    BaseImage {
        digest: None,
        config,
        raw,
    }
}

/// Offline stand-ins for every image `plan` needs, without a runtime (fuzzing, tests).
pub fn offline_images(plan: &Plan) -> BaseImages {
    plan.base_images()
        .into_iter()
        .map(|(reference, platform)| {
            let image = offline_image(&platform);
            ((reference, platform), image)
        })
        .collect()
}

/// Resolves every base image the plan needs, all at once.
pub async fn resolve_all<R: ImageResolver>(resolver: &R, plan: &Plan) -> Result<BaseImages> {
    let mut images = BaseImages::new();
    resolve_missing(resolver, plan, &mut images).await?;
    Ok(images)
}

/// Resolves the images the plan needs that `images` lacks, all at once, into `images`.
pub async fn resolve_missing<R: ImageResolver>(
    resolver: &R,
    plan: &Plan,
    images: &mut BaseImages,
) -> Result<()> {
    let mut set = tokio::task::JoinSet::new();
    for (reference, platform) in plan.base_images() {
        if images.contains_key(&(reference.clone(), platform.clone())) {
            continue;
        }
        let r = resolver.clone();
        set.spawn(async move {
            let image = r.resolve(reference.clone(), platform.clone()).await;
            ((reference, platform), image)
        });
    }
    while let Some(joined) = set.join_next().await {
        let (key, image) =
            joined.map_err(|e| Error::Input(format!("image resolution task failed: {e}")))?;
        let image = match (image, plan.image_spans.get(&key)) {
            (Ok(image), _) => image,
            // BuildKit's own words, on the line that named the image.
            (Err(Error::Gateway(strata_proto::Error::Status(status))), Some(span)) => {
                return Err(Error::at(*span, format!("{}: {}", key.0, status.message())));
            }
            (Err(e), _) => return Err(e),
        };
        images.insert(key, image);
    }
    Ok(())
}
