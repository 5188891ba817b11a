//! Strata: a BuildKit frontend for an extended multi-stage Dockerfile format.
//!
//! The pipeline runs in one direction:
//! bytes → [`syntax`] (AST with spans) → [`instructions`] (typed) → stage plan → LLB.

pub mod cli;
pub mod convert;
pub mod deps;
pub(crate) mod devices;
pub mod elf;
pub(crate) mod epoch;
pub mod error;
pub(crate) mod expand;
pub mod gateway;
pub mod graph;
pub mod image;
pub mod imagefs;
pub mod includes;
pub mod instructions;
pub mod lint;
pub(crate) mod mounts;
pub mod options;
pub mod pipeline;
pub(crate) mod plan;
pub mod platform;
pub(crate) mod policy;
pub mod remote_context;
pub mod resolve;
pub(crate) mod scope;
pub(crate) mod startcheck;
pub mod subrequest;
pub mod syntax;
pub mod template;

/// The version line `strata --version` prints and the release image's labels carry: the
/// crate version and the git revision it was built from (`frontend/build.rs`), so that a
/// platform team can tell which commit a `# syntax=` image runs.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("STRATA_REVISION"),
    ")"
);
