//! Failures: a failed build, and the `google.rpc.Status` BuildKit shows for it (with
//! `errdefs.Source` details, so `docker buildx build` prints the offending lines).

use prost::Message;
use strata_proto::gateway::{errdefs, unsupported};
use strata_proto::{llb, rpc};

use super::source_info;
use crate::error::{Error, Unsupported};
use crate::includes::Sources;

/// A failed build, with the files its spans point into (once we have read them).
#[derive(Debug)]
pub(crate) struct Failure {
    /// What went wrong.
    pub(crate) error: Error,
    /// The Dockerfile and its includes, when the error points into one of them.
    pub(crate) sources: Option<Sources>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            error,
            sources: None,
        }
    }
}

/// The status BuildKit shows for a failure: located errors carry the Dockerfile and the
/// line range so `docker buildx build` prints the offending lines.
pub(crate) fn failure_status(f: &Failure) -> rpc::Status {
    // BuildKit's typed errors, so clients can tell "not offered" from a failed build.
    match &f.error {
        Error::Unsupported(Unsupported::Subrequest(name)) => {
            return unsupported::unsupported_subrequest(name)
        }
        Error::Unsupported(Unsupported::FrontendCap(name)) => {
            return unsupported::unsupported_frontend_cap(name)
        }
        _ => {}
    }
    if let Error::Gateway(strata_proto::Error::Status(status)) = &f.error {
        // BuildKit's own error (a failing RUN): pass it through with its details.
        if let Ok(decoded) = rpc::Status::decode(status.details()) {
            if decoded.code != 0 || !decoded.message.is_empty() {
                return decoded;
            }
        }
        return rpc::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: Vec::new(),
        };
    }
    let located = f.error.located();
    match &f.sources {
        // One line of message and one source snippet per located problem (several for
        // policy violations), so buildx prints each with its file and lines.
        Some(sources) if !located.is_empty() => {
            let mut lines = Vec::new();
            let mut details = Vec::new();
            for (span, message) in &located {
                let (file, (start, end)) = sources.lines_of(*span);
                lines.push(format!("{}:{}: {}", file.filename, start, message));
                details.push(errdefs::Source {
                    info: Some(source_info(file)),
                    ranges: vec![llb::line_range(start, end)],
                });
            }
            let status = rpc::Status {
                code: tonic_code_unknown(),
                message: lines.join("\n"),
                details: Vec::new(),
            };
            // BuildKit wraps the error once per detail, in order, and buildx prints the
            // outermost source first: attached last to first, the snippets come out in the
            // order of the message's lines.
            details.iter().rev().fold(status, errdefs::with_source)
        }
        _ => rpc::Status {
            code: tonic_code_unknown(),
            message: f.error.to_string(),
            details: Vec::new(),
        },
    }
}

fn tonic_code_unknown() -> i32 {
    2
}

/// BuildKit's own words for a failed call (a status's message), else the error's text.
pub(super) fn gateway_message(e: &strata_proto::Error) -> String {
    match e {
        strata_proto::Error::Status(status) => status.message().to_owned(),
        other => other.to_string(),
    }
}
