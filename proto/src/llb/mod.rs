//! A typed builder for BuildKit's LLB graph.
//!
//! Every value here is immutable: building an op returns a new [`State`] that points at the
//! op's output, and the graph is the web of `Arc`s between them. [`marshal`] turns the graph
//! reachable from one state into a `pb::Definition` deterministically: ops deduplicated by the
//! sha256 of their bytes, inputs before their users, the terminal op last.
//!
//! This module knows LLB and nothing else: no Dockerfile concepts appear here.

mod dump;
mod exec;
mod file;
mod import;
mod marshal;
mod merge;
mod meta;
mod source;
mod state;

pub use dump::{dump, dump_definition};
pub use exec::{
    CacheSharing, ClientMount, Device, Exec, ExecOutputs, Mount, MountKind, NetMode, SecretEnv,
    SecurityMode,
};
pub use file::{
    Chown, CopyAction, FileOp, MkdirAction, MkfileAction, RmAction, SymlinkAction, UserRef,
};
pub use import::from_definition;
pub use marshal::{digest_of, encode_op, head_digest, marshal, set_source_definition};
pub use merge::merge;
pub use meta::{line_range, OpMeta, SourceFile, SourceLines};
pub use source::{
    git, http, image, local, normalize_image_reference, oci_layout, GitSource, HttpSource,
    ImageSource, LocalSource, OciLayoutSource,
};
pub use state::State;

/// A target platform (`os/arch[/variant]`), as ops and image configs name it.
pub type Platform = crate::pb::Platform;
