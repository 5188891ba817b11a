//! The one error type of `strata-proto`.
//!
//! Every fallible call in this crate returns [`Result`]. The variants keep the layer
//! an error came from apart, because the frontend reacts differently to each: a
//! [`Error::Status`] from BuildKit (a failed solve, a missing file) is a build error
//! to report to the user, while [`Error::Transport`] means the stdio connection
//! itself is gone and nothing more can be sent.

/// Everything that can go wrong while talking to BuildKit.
#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// The HTTP/2 connection over stdin/stdout could not be set up or broke.
    #[error("gateway transport: {0}")]
    Transport(#[from] hyper::Error),

    /// BuildKit answered an RPC with a gRPC error status. The status keeps its code,
    /// message and binary details (which may carry `errdefs.Source`, see
    /// [`crate::gateway::errdefs::sources_from_tonic`]).
    #[error("BuildKit: {}: {}", .0.code().description(), .0.message())]
    Status(#[from] tonic::Status),

    /// A protobuf message (for example a detail inside a status) did not decode.
    #[error("protobuf decode: {0}")]
    Decode(#[from] prost::DecodeError),

    /// A JSON payload (`BUILDKIT_WORKERS`, an error detail) did not parse.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// BuildKit answered, but not the way the protocol says it should.
    #[error("gateway protocol: {0}")]
    Protocol(String),

    /// The call needs a gateway capability that this BuildKit does not enable.
    #[error("BuildKit does not support the `{0}` capability")]
    MissingCap(String),

    /// The environment BuildKit set for the frontend process is malformed.
    #[error("gateway environment: {0}")]
    Env(String),

    /// BuildKit did not answer in time (only used for the initial `Ping`).
    #[error("timed out: {0}")]
    Timeout(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
