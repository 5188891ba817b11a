//! The gateway edge: everything that talks to BuildKit (the LLBBridge client of
//! `strata_proto::gateway`), reads the frontend's own files (policy, stage library) or the
//! client's (Dockerfile, `.dockerignore`, `INCLUDE`d files), and the one place spans become
//! line numbers for BuildKit. The rest of the crate is pure and sees only
//! [`BuildOptions`](crate::options::BuildOptions), parsed once by `serve`.
//!
//! One file per job:
//! - `serve`: a build request from start to `Return`, one conversion per platform, and
//!   subrequest answers;
//! - `remote`: the frontend inputs, and a context given as a URL (git, HTTP) as the same
//!   inputs;
//! - `sources`: the Dockerfile, `.dockerignore`s and `INCLUDE`d files from the client;
//! - `solve`: solves (the build, its `CHECK`s, `COPY --deps` sources) and the entrypoint check;
//! - `fs`: `BridgeFs`, an [`ImageFs`](crate::imagefs::ImageFs) over a solved ref;
//! - `warn`: warnings (`Warn`, or a named step on a daemon without it), lint findings;
//! - `failure`: a failed build as the `google.rpc.Status` buildx prints;
//! - `resolve`: base image configs through `ResolveImageConfig`;
//! - `sbom`: the SBOM generator run on each platform's result, attached as an attestation;
//! - `library`: the stage library in the frontend image's own filesystem.

mod failure;
mod fs;
pub(crate) mod library;
mod remote;
mod resolve;
mod sbom;
mod serve;
mod solve;
mod sources;
mod stats;
mod warn;

pub use serve::{is_gateway, serve, serve_stdio, serve_with, Site};
pub use stats::ProcessStart;

/// A file as BuildKit's `SourceInfo`: the text buildx shows the lines of, for an error
/// (`failure`) or a warning (`warn`).
fn source_info(file: &strata_proto::llb::SourceFile) -> strata_proto::pb::SourceInfo {
    strata_proto::pb::SourceInfo {
        filename: file.filename.clone(),
        data: file.data.clone(),
        language: file.language.clone(),
        definition: None,
    }
}

#[cfg(test)]
mod tests;
