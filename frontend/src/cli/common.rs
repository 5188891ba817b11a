//! What every command shares: the flags read as the frontend options a build would be
//! given, the Dockerfile's directory as the place its `INCLUDE`s come from, an error
//! located at its file and line, and the [`Output`] a command ends with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::Error;
use crate::gateway::library::{WithLibrary, LIBRARY_DIR};
use crate::includes::{DirLoader, Sources};
use crate::options::BuildOptions;
use crate::platform::Platform;

/// What a command printed and how it exits, for commands whose exit status says more
/// than success or failure (`strata lint`, `strata policy check`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
    /// The process exit status.
    pub code: u8,
}

/// The flags every command takes to say what a build would be given, and where
/// `INCLUDE @name` reads from: one declaration, so the commands cannot drift apart.
#[derive(Debug, Args)]
pub struct BuildFlags {
    /// The stage to build (default: the last).
    #[arg(long)]
    pub target: Option<String>,
    /// A build arg, `NAME=value` (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// Target platform(s), comma-separated (default linux/amd64).
    #[arg(long)]
    pub platform: Option<String>,
    /// Any other frontend option BuildKit would pass, `KEY=value` (repeatable), e.g.
    /// `--opt add-hosts=db=10.0.0.2` or `--opt context:base=docker-image://alpine`.
    #[arg(long = "opt", value_name = "KEY=VALUE")]
    pub opts: Vec<String>,
    /// The stage library `INCLUDE @name` reads from.
    #[arg(long, value_name = "DIR", default_value = LIBRARY_DIR)]
    pub lib: PathBuf,
}

impl BuildFlags {
    /// The options a build given these flags would have (see [`build_options`]).
    pub(crate) fn options(&self) -> Result<BuildOptions, String> {
        build_options(
            &self.opts,
            self.target.as_deref(),
            self.platform.as_deref(),
            &self.build_args,
        )
    }
}

/// The flags that say what a build would be given (`--opt KEY=value`s, which the others
/// override, `--target`, `--platform`, `--build-arg NAME=value`s, a later one winning) as
/// the frontend opts BuildKit would send, parsed as the gateway parses them (so that the
/// commands and a build agree); or the message of a malformed one.
fn build_options(
    extra: &[String],
    target: Option<&str>,
    platform: Option<&str>,
    build_args: &[String],
) -> Result<BuildOptions, String> {
    let mut raw = BTreeMap::new();
    for kv in extra {
        let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
        raw.insert(k.to_owned(), v.to_owned());
    }
    if let Some(t) = target {
        raw.insert("target".to_owned(), t.to_owned());
    }
    if let Some(p) = platform {
        raw.insert("platform".to_owned(), p.to_owned());
    }
    for arg in build_args {
        let (k, v) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        raw.insert(format!("build-arg:{k}"), v.to_owned());
    }
    BuildOptions::from_opts(&raw, Platform::linux_amd64(), "").map_err(|e| e.to_string())
}

/// A Dockerfile on disk: the name its spans carry and the directory its `INCLUDE`s are
/// read from (the build context a user would give).
pub(crate) struct Local {
    /// The file name, as a build names the Dockerfile.
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    files: DirLoader,
}

impl Local {
    /// The Dockerfile at `path`.
    pub(crate) fn new(path: &Path) -> Local {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Local {
            name,
            files: DirLoader(dir.clone()),
            dir,
        }
    }

    /// The loader for its `INCLUDE`s: files beside it, `@name` from the stage library `lib`.
    pub(crate) fn loader<'a>(&'a self, lib: &'a Path) -> WithLibrary<'a, DirLoader> {
        WithLibrary {
            dir: lib,
            files: &self.files,
        }
    }
}

/// `file:line: message` for an error with a span, else the message alone.
pub(crate) fn located(e: &Error, sources: &Sources) -> String {
    match e.span() {
        Some(span) => {
            let (file, line) = sources.line_of(span);
            format!("{}:{line}: {e}", file.filename)
        }
        None => e.to_string(),
    }
}
