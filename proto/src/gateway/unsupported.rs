//! BuildKit's typed "unsupported" errors, which let a client tell "this frontend does not
//! offer that" apart from a failed build and react (buildx falls back to another frontend
//! image for an unsupported `frontend.outline`/`frontend.targets`).
//!
//! # What BuildKit expects (read from moby/buildkit v0.13, `solver/errdefs`)
//!
//! - `errdefs.Subrequest { string name = 1; }` for a `requestid` the frontend does not
//!   answer (`NewUnsupportedSubrequestError`), message `unsupported request <name>`. The
//!   Dockerfile frontend returns it without a code, so it travels as `Unknown`.
//! - `errdefs.FrontendCap { string name = 1; }` for a capability named in the
//!   `frontend.caps` option that the frontend lacks (`NewUnsupportedFrontendCapError`),
//!   message `unsupported frontend capability <name>`, wrapped with code `Unimplemented`
//!   (`frontend/dockerfile/builder/caps.go`).
//! - Both are registered with `typeurl` as `errdefs.<Name>+json` under
//!   `github.com/moby/buildkit`, so the `Any` value is the Go `encoding/json` form of the
//!   message: `{"name":"…"}` (see [`super::errdefs`] for why JSON).

use serde::Serialize;

use super::errdefs::Any;
use crate::rpc;

/// Type URL of `errdefs.Subrequest` (JSON value).
pub const SUBREQUEST_TYPE_URL: &str = "github.com/moby/buildkit/errdefs.Subrequest+json";

/// Type URL of `errdefs.FrontendCap` (JSON value).
pub const FRONTEND_CAP_TYPE_URL: &str = "github.com/moby/buildkit/errdefs.FrontendCap+json";

/// gRPC `Unknown`: what a Go error without a code becomes.
const CODE_UNKNOWN: i32 = 2;

/// gRPC `Unimplemented`.
const CODE_UNIMPLEMENTED: i32 = 12;

/// The JSON body both messages share.
#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

fn typed(code: i32, message: String, type_url: &str, name: &str) -> rpc::Status {
    // Invariant: a struct of one string always serialises.
    let value = serde_json::to_vec(&Named { name }).unwrap_or_default();
    rpc::Status {
        code,
        message,
        details: vec![Any {
            type_url: type_url.to_owned(),
            value,
        }],
    }
}

/// The status for a subrequest (`requestid`) this frontend does not answer.
pub fn unsupported_subrequest(name: &str) -> rpc::Status {
    typed(
        CODE_UNKNOWN,
        format!("unsupported request {name}"),
        SUBREQUEST_TYPE_URL,
        name,
    )
}

/// The status for a `frontend.caps` capability this frontend does not have.
pub fn unsupported_frontend_cap(name: &str) -> rpc::Status {
    typed(
        CODE_UNIMPLEMENTED,
        format!("unsupported frontend capability {name}"),
        FRONTEND_CAP_TYPE_URL,
        name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subrequest_error_is_typed_like_buildkit() {
        let st = unsupported_subrequest("frontend.lint");
        assert_eq!(st.code, 2);
        assert_eq!(st.message, "unsupported request frontend.lint");
        assert_eq!(st.details.len(), 1);
        assert_eq!(st.details[0].type_url, SUBREQUEST_TYPE_URL);
        assert_eq!(st.details[0].value, br#"{"name":"frontend.lint"}"#);
    }

    #[test]
    fn frontend_cap_error_is_unimplemented() {
        let st = unsupported_frontend_cap("moby.buildkit.frontend.magic");
        assert_eq!(st.code, 12);
        assert_eq!(
            st.message,
            "unsupported frontend capability moby.buildkit.frontend.magic"
        );
        assert_eq!(st.details[0].type_url, FRONTEND_CAP_TYPE_URL);
        assert_eq!(
            st.details[0].value,
            br#"{"name":"moby.buildkit.frontend.magic"}"#
        );
    }
}
