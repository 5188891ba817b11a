//! The LLBBridge client: how a frontend talks to BuildKit over its stdin/stdout.
//!
//! [`Bridge`] wraps bollard's generated `LlbBridgeClient` with what BuildKit's own Go
//! client (`frontend/gateway/grpcclient`) adds on top: the `Ping` handshake and its
//! capabilities, 16 MiB message limits, the flags `Solve` must carry, and cap checks
//! with the same fallbacks. Requests and answers stay protobuf types
//! ([`crate::pb`], [`crate::gateway_pb`]) where the frontend needs their detail.
//!
//! Message size: both directions are limited to 16 MiB on our side (BuildKit's
//! `defaults.DefaultMaxRecvMsgSize`). BuildKit's own LLBBridge server accepts 16 MiB
//! requests only from v0.14 on; v0.13 and older keep grpc-go's 4 MiB receive limit,
//! so a larger `Solve` definition fails there with `ResourceExhausted` (answers such
//! as `ReadFile` may still be up to 16 MiB).

pub mod caps;
pub mod env;
pub mod errdefs;
pub mod stdio;

pub use caps::Caps;
pub use env::{is_gateway, GatewayEnv, Platform, WorkerInfo};
