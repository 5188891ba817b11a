//! `InvalidBaseImagePlatform`: a base image whose config says another OS or architecture
//! than the stage is built for (a single-platform image of another architecture).
//! Needs the resolved image, so only a build (or `--call=check` when BuildKit resolved the
//! image) can report it; offline stand-ins always match. As upstream, only the stages the
//! target needs are checked.

use crate::plan::Base;
use crate::platform::Platform;

use super::rules::INVALID_BASE_IMAGE_PLATFORM;
use super::stages::Context;
use super::Finding;

/// Checks every reachable stage that starts from a resolved image.
pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for (i, stage) in ctx.lowered.stages.iter().enumerate() {
        let Some(sp) = ctx.plan.stages.get(i) else {
            break;
        };
        if !ctx.plan.is_reachable(i) {
            continue;
        }
        let reference = match &sp.base {
            Base::Image(r) => r.as_str(),
            Base::Context(c) => match c.image() {
                Some(r) if r != "scratch" => r,
                _ => continue,
            },
            _ => continue,
        };
        let Some(base) = ctx.images.get(&(reference.to_owned(), sp.platform.clone())) else {
            continue;
        };
        // An image without layers is built on as scratch: upstream checks nothing.
        if base.config.rootfs.diff_ids.is_empty() {
            continue;
        }
        let actual = image_platform(
            &base.config.os,
            &base.config.architecture,
            base.config.variant.as_deref(),
        );
        if actual.os == sp.platform.os && actual.architecture == sp.platform.architecture {
            continue;
        }
        out.push(Finding::new(
            &INVALID_BASE_IMAGE_PLATFORM,
            format!(
                "Base image {reference} was pulled with platform {}, expected {} for current build",
                crate::syntax::go_quote(&actual.to_string()),
                crate::syntax::go_quote(&sp.platform.to_string())
            ),
            stage.from.span,
            stage.from.span,
        ));
    }
}

/// An image config's platform, normalised as containerd's `platforms.Normalize`.
fn image_platform(os: &str, arch: &str, variant: Option<&str>) -> Platform {
    let text = match variant.filter(|v| !v.is_empty()) {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    };
    Platform::parse(&text).unwrap_or(Platform {
        os: os.to_owned(),
        architecture: arch.to_owned(),
        variant: variant.unwrap_or_default().to_owned(),
    })
}
