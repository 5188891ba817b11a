//! `strata llb`: the LLB a Dockerfile becomes, printed as readable JSON with its image
//! config, without BuildKit (base images are stand-ins; see
//! [`crate::resolve::OfflineResolver`]). `COPY --deps` needs the source's files, which only
//! a build has: offline it copies the named paths only, and the output carries a `notes`
//! entry saying so.

use std::path::PathBuf;

use clap::Args;

use crate::includes::Loader;
use crate::options::BuildOptions;
use crate::pipeline;
use crate::resolve::{self, OfflineResolver};

use super::common::{located, BuildFlags, Local, Output};

/// `strata llb`'s arguments: the Dockerfile and what a build would be given.
#[derive(Debug, Args)]
pub struct LlbArgs {
    /// The Dockerfile.
    pub dockerfile: PathBuf,
    /// What a build would be given.
    #[command(flatten)]
    pub build: BuildFlags,
}

/// Runs `strata llb`: the JSON on stdout, or an error message (exit 1).
pub(crate) async fn run(args: LlbArgs) -> Result<Output, String> {
    let path = &args.dockerfile;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let opts = args.build.options()?;
    let local = Local::new(path);
    let json = llb_json_with(&text, &local.name, &opts, &local.loader(&args.build.lib)).await?;
    Ok(Output {
        stdout: format!("{json}\n"),
        ..Output::default()
    })
}

/// The readable LLB and image config of `text` (what `strata llb` prints and the LLB
/// goldens snapshot), its `INCLUDE`s read through `loader`. Errors name the file (the
/// Dockerfile or an included one) and line they point at.
pub async fn llb_json_with(
    text: &str,
    filename: &str,
    opts: &BuildOptions,
    loader: &dyn Loader,
) -> Result<String, String> {
    let prepared = pipeline::prepare_with(text, filename, opts, loader)
        .map_err(|(e, sources)| located(&e, &sources))?;
    let located = |e| located(&e, &prepared.sources);
    let images = resolve::resolve_all(&OfflineResolver, &prepared.plan)
        .await
        .map_err(located)?;
    let converted = pipeline::convert(&prepared, opts, &images, Vec::new()).map_err(located)?;
    let mut out = serde_json::json!({
        "llb": strata_proto::llb::dump(&converted.state),
        "image": converted.image,
    });
    if !converted.deps_requests.is_empty() {
        // Without BuildKit there are no files to read the libraries from: say so rather
        // than print a graph that silently lacks them.
        out["notes"] = converted
            .deps_requests
            .iter()
            .map(|r| {
                let line = r.paths.first().map_or_else(String::new, |(_, span)| {
                    let (file, line) = prepared.sources.line_of(*span);
                    format!("{}:{line}: ", file.filename)
                });
                serde_json::Value::from(format!(
                    "{line}COPY --deps: offline, only the named paths are copied; a build adds the interpreter and libraries they need, found in the source's files"
                ))
            })
            .collect();
    }
    if !converted.checks.is_empty() {
        // CHECKs are solved beside the target, not part of it: one graph each.
        out["checks"] = converted
            .checks
            .iter()
            .map(strata_proto::llb::dump)
            .collect();
    }
    serde_json::to_string_pretty(&out).map_err(|e| e.to_string())
}
