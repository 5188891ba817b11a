//! Per-op metadata that is not part of the op's digest: progress names, cache control,
//! capabilities and source locations.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A file whose lines ops can point at, so BuildKit can show the source of a failing step.
///
/// Ops share one `Arc<SourceFile>` per file; [`crate::llb::marshal`] lists each file once.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Name shown to the user (e.g. `Dockerfile`).
    pub filename: String,
    /// The file's bytes, so BuildKit can print the lines around an error.
    pub data: Vec<u8>,
    /// Language hint for the UI (`Dockerfile`).
    pub language: String,
}

/// Lines of a [`SourceFile`] that produced an op: 1-based, inclusive `(start, end)` ranges.
/// [`crate::llb::marshal`] turns them into the definition's source map (`pb.Location`s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLines {
    /// The file the ranges refer to.
    pub file: Arc<SourceFile>,
    /// 1-based inclusive line ranges.
    pub ranges: Vec<(u32, u32)>,
}

/// The range BuildKit's source maps and error details use for 1-based lines `start..=end`
/// (whole lines: character 0).
pub fn line_range(start: u32, end: u32) -> crate::pb::Range {
    let at = |line: u32| crate::pb::Position {
        line: line as i32,
        character: 0,
    };
    crate::pb::Range {
        start: Some(at(start)),
        end: Some(at(end)),
    }
}

/// Metadata attached to one op. It travels in `Definition.metadata` keyed by the op digest, so
/// changing it never changes an op's cache key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpMeta {
    /// `llb.customname` and friends: what progress output calls this step.
    pub description: BTreeMap<String, String>,
    /// Re-run this op even when a cache record exists (`--no-cache`).
    pub ignore_cache: bool,
    /// LLB capabilities the op relies on; BuildKit checks them against the worker.
    pub caps: BTreeSet<String>,
    /// Where in the user's files this op came from.
    pub locations: Vec<SourceLines>,
    /// Groups several ops under one progress line.
    pub progress_group: Option<(String, String)>,
}

impl OpMeta {
    /// Metadata whose progress line reads `name`.
    pub fn named(name: impl Into<String>) -> OpMeta {
        let mut meta = OpMeta::default();
        meta.description
            .insert("llb.customname".to_owned(), name.into());
        meta
    }

    /// Adds a source location.
    pub fn at(mut self, location: SourceLines) -> OpMeta {
        self.locations.push(location);
        self
    }

    /// Adds a capability requirement.
    pub fn cap(mut self, cap: &str) -> OpMeta {
        self.caps.insert(cap.to_owned());
        self
    }

    /// Merges another op's metadata into this one, for ops that deduplicate into one digest;
    /// `is_new` says whether a location of `other` is not among this one's yet (and records
    /// it): the caller keeps a set, as thousands of stages `FROM` one image share one op.
    pub(crate) fn merge(&mut self, other: &OpMeta, mut is_new: impl FnMut(&SourceLines) -> bool) {
        for (k, v) in &other.description {
            self.description
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        self.ignore_cache |= other.ignore_cache;
        self.caps.extend(other.caps.iter().cloned());
        for loc in &other.locations {
            if is_new(loc) {
                self.locations.push(loc.clone());
            }
        }
        if self.progress_group.is_none() {
            self.progress_group.clone_from(&other.progress_group);
        }
    }
}
