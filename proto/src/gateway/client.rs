//! The LLBBridge RPCs the frontend calls, over a [`Channel`].
//!
//! bollard's generated `LlbBridgeClient` lives behind its `grpc` feature, which turns on
//! tonic's default features: the HTTP/2 server, axum, the pooled and balanced client
//! channel. The frontend needs none of that, so it calls tonic's generic unary client
//! with the method paths from BuildKit's `gateway.proto` itself. The messages stay
//! bollard's ([`crate::gateway_pb`]).

use http::uri::{PathAndQuery, Uri};
use tonic::client::Grpc;

use super::stdio::{Channel, GATEWAY_URI};
use crate::error::{Error, Result};
use crate::gateway_pb as g;

/// An LLBBridge client; cheap to clone, clones share the connection.
#[derive(Clone, Debug)]
pub(super) struct Client {
    grpc: Grpc<Channel>,
}

/// Declares one unary RPC per line: method name, request, response, gRPC path.
macro_rules! rpcs {
    ($($(#[$doc:meta])* $name:ident($req:ty) -> $resp:ty = $path:literal;)*) => {
        impl Client {
            $(
                $(#[$doc])*
                pub(super) async fn $name(&self, req: $req) -> Result<$resp> {
                    self.unary(PathAndQuery::from_static($path), req).await
                }
            )*
        }
    };
}

rpcs! {
    /// The handshake: BuildKit's capabilities and workers.
    ping(g::PingRequest) -> g::PongResponse = "/moby.buildkit.v1.frontend.LLBBridge/Ping";
    /// Solves a definition or a frontend call.
    solve(g::SolveRequest) -> g::SolveResponse = "/moby.buildkit.v1.frontend.LLBBridge/Solve";
    /// Reads a file of a solved reference.
    read_file(g::ReadFileRequest) -> g::ReadFileResponse =
        "/moby.buildkit.v1.frontend.LLBBridge/ReadFile";
    /// Stats a path of a solved reference.
    stat_file(g::StatFileRequest) -> g::StatFileResponse =
        "/moby.buildkit.v1.frontend.LLBBridge/StatFile";
    /// Lists a directory of a solved reference.
    read_dir(g::ReadDirRequest) -> g::ReadDirResponse =
        "/moby.buildkit.v1.frontend.LLBBridge/ReadDir";
    /// Resolves an image reference to its digest and config.
    resolve_image_config(g::ResolveImageConfigRequest) -> g::ResolveImageConfigResponse =
        "/moby.buildkit.v1.frontend.LLBBridge/ResolveImageConfig";
    /// Forces a lazy reference to be computed.
    evaluate(g::EvaluateRequest) -> g::EvaluateResponse =
        "/moby.buildkit.v1.frontend.LLBBridge/Evaluate";
    /// Sends a warning to the user.
    warn(g::WarnRequest) -> g::WarnResponse = "/moby.buildkit.v1.frontend.LLBBridge/Warn";
    /// Returns the build result or error.
    r#return(g::ReturnRequest) -> g::ReturnResponse =
        "/moby.buildkit.v1.frontend.LLBBridge/Return";
    /// The client's frontend inputs.
    inputs(g::InputsRequest) -> g::InputsResponse =
        "/moby.buildkit.v1.frontend.LLBBridge/Inputs";
}

impl Client {
    /// A client sending and accepting messages of up to `max_message_size` bytes.
    pub(super) fn new(channel: Channel, max_message_size: usize) -> Client {
        let grpc = Grpc::with_origin(channel, Uri::from_static(GATEWAY_URI))
            .max_decoding_message_size(max_message_size)
            .max_encoding_message_size(max_message_size);
        Client { grpc }
    }

    /// One unary call. A connection that cannot take a request is a transport error;
    /// everything after that, BuildKit's answer included, comes back as a status.
    async fn unary<Req, Resp>(&self, path: PathAndQuery, req: Req) -> Result<Resp>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = self.grpc.clone();
        grpc.ready().await.map_err(Error::Transport)?;
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        let resp = grpc.unary(tonic::Request::new(req), path, codec).await?;
        Ok(resp.into_inner())
    }
}
