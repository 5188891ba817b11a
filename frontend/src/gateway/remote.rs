//! Where the Dockerfile and the build context come from when they are not the client's
//! `dockerfile` and `context` locals: the client's frontend inputs (LLB it built, e.g.
//! bake's `target:` links or a git URL with a query), or the context given as a URL, which
//! becomes the same two inputs here, as upstream's `dockerui` turns it into states.

use std::collections::BTreeMap;

use strata_proto::gateway::{Bridge, SolveOptions};
use strata_proto::llb;
use strata_proto::pb;

use super::failure::gateway_message;
use crate::error::{Error, Result};
use crate::options::BuildOptions;
use crate::remote_context::{self, Remote, HTTP_FILENAME};

/// The gateway cap that lets clients pass LLB as frontend inputs.
const FRONTEND_INPUTS_CAP: &str = "frontend.inputs";

/// How much of a downloaded context is read to tell an archive from a Dockerfile (as
/// upstream reads).
const SNIFF_LEN: i64 = 1024;

/// The frontend inputs by name, with a URL context added as the `context` input (and as
/// the `dockerfile` input unless `dockerfilekey` keeps the Dockerfile local), and the
/// `context` input narrowed to `contextsubdir`. A downloaded Dockerfile (an HTTP context
/// that is no archive) is named `context`, as upstream names it: `opts.filename` changes.
pub(super) async fn frontend_sources(
    bridge: &Bridge,
    opts: &mut BuildOptions,
) -> Result<BTreeMap<String, pb::Definition>> {
    let mut inputs = frontend_inputs(bridge).await?;
    if let Some((url, remote)) = opts.remote_context.clone() {
        let context = match remote {
            Remote::Git(git) => remote_context::git_state(&url, &git, opts.keep_git_dir),
            Remote::Http(url) => {
                let download = remote_context::http_state(
                    &url,
                    "[internal] load remote build context".to_owned(),
                );
                if is_archive_download(bridge, &download).await? {
                    remote_context::unpacked(&download)
                } else {
                    opts.filename = HTTP_FILENAME.to_owned();
                    download
                }
            }
        };
        let def = llb::marshal(&context);
        if !opts.dockerfile_key_forced {
            inputs.insert("dockerfile".to_owned(), def.clone());
        }
        inputs.insert("context".to_owned(), def);
    }
    if let (Some(dir), Some(def)) = (&opts.context_subdir, inputs.get_mut("context")) {
        let state =
            llb::from_definition(def).map_err(|e| Error::Input(format!("context input: {e}")))?;
        *def = llb::marshal(&remote_context::scoped_to_subdir(&state, dir));
    }
    Ok(inputs)
}

/// Downloads the context and reads its first bytes: an archive is unpacked into the
/// context, anything else is the Dockerfile itself.
async fn is_archive_download(bridge: &Bridge, download: &llb::State) -> Result<bool> {
    let failed = |what: &'static str| {
        move |e: strata_proto::Error| Error::Input(format!("{what}: {}", gateway_message(&e)))
    };
    let out = bridge
        .solve(llb::marshal(download), SolveOptions::default())
        .await
        .map_err(failed("failed to resolve httpcontext"))?;
    let reference = out.reference.unwrap_or_default();
    let header = bridge
        .read_file(&reference, HTTP_FILENAME, Some((0, SNIFF_LEN)))
        .await
        .map_err(failed("failed to read downloaded context"))?;
    Ok(remote_context::is_archive(&header))
}

/// The client's frontend inputs (cap `frontend.inputs`); none on a daemon without the cap.
/// A failed call fails the build, as upstream's: building the client's locals instead
/// would build other files than the client sent.
async fn frontend_inputs(bridge: &Bridge) -> Result<BTreeMap<String, pb::Definition>> {
    if !bridge.caps().has_frontend(FRONTEND_INPUTS_CAP) {
        return Ok(BTreeMap::new());
    }
    bridge.inputs().await.map_err(|e| {
        Error::Input(format!(
            "failed to get frontend inputs: {}",
            gateway_message(&e)
        ))
    })
}
