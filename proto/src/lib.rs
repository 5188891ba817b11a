//! The wire layer of Strata: BuildKit protocol types, a typed LLB graph builder and the
//! LLBBridge client over stdio.
//!
//! Architecture invariant: nothing in this crate knows about Dockerfiles.

pub mod base64;
pub mod error;
pub mod gateway;
pub mod json;
pub mod llb;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};

/// `google.rpc.Status` and friends, for returning errors to BuildKit.
pub use bollard_buildkit_proto::google::rpc;
/// The LLBBridge gateway API (`moby.buildkit.v1.frontend`).
pub use bollard_buildkit_proto::moby::buildkit::v1::frontend as gateway_pb;
/// LLB op types (`pb` package of BuildKit's protos).
pub use bollard_buildkit_proto::pb;
