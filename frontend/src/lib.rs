//! Strata: a BuildKit frontend for an extended multi-stage Dockerfile format.
//!
//! The pipeline runs in one direction:
//! bytes → [`syntax`] (AST with spans) → instructions (typed) → stage plan → LLB.

pub mod expand;
pub mod syntax;
