//! The command line, for people: `strata llb` prints the LLB a Dockerfile becomes, without
//! BuildKit (base images are stand-ins; see [`crate::resolve::OfflineResolver`]);
//! `strata lint` prints its lint findings ([`crate::lint::cli`]). `COPY --deps` needs the
//! source's files, which only a build has: offline it copies the named paths only, and the
//! output carries a `notes` entry saying so.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::includes::{DirLoader, Loader, NoFiles, Sources};
use crate::options::BuildOptions;
use crate::pipeline;
use crate::platform::Platform;
use crate::resolve::{self, OfflineResolver};

/// Strata, a BuildKit frontend. BuildKit runs it as `# syntax=`; people run these commands.
#[derive(Debug, Parser)]
#[command(name = "strata", version = crate::VERSION, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the LLB graph (readable JSON) and image config a Dockerfile converts to.
    Llb {
        /// The Dockerfile.
        dockerfile: PathBuf,
        /// The stage to build (default: the last).
        #[arg(long)]
        target: Option<String>,
        /// A build arg, `NAME=value` (repeatable).
        #[arg(long = "build-arg", value_name = "NAME=VALUE")]
        build_args: Vec<String>,
        /// Target platform(s), comma-separated (default linux/amd64).
        #[arg(long)]
        platform: Option<String>,
        /// Any other frontend option BuildKit would pass, `KEY=value` (repeatable), e.g.
        /// `--opt add-hosts=db=10.0.0.2` or `--opt context:base=docker-image://alpine`.
        #[arg(long = "opt", value_name = "KEY=VALUE")]
        opts: Vec<String>,
        /// The stage library `INCLUDE @name` reads from.
        #[arg(long, value_name = "DIR", default_value = crate::gateway::library::LIBRARY_DIR)]
        lib: PathBuf,
    },
    /// A platform team's policy, applied offline (see `policy_cli`).
    Policy {
        /// What to do with it.
        #[command(subcommand)]
        command: crate::policy_cli::PolicyCommand,
    },
    /// Print lint findings (BuildKit's build checks and Strata's own), offline.
    Lint(crate::lint::cli::LintArgs),
}

/// What a command printed and how it exits, for commands whose exit status says more
/// than success or failure (`strata lint`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
    /// The process exit status.
    pub code: u8,
}

/// Runs a CLI command: its output and exit status, or an error message (exit 1).
pub async fn run(cli: Cli) -> Result<Output, String> {
    match cli.command {
        Command::Lint(args) => Ok(crate::lint::cli::run(&args)),
        Command::Llb {
            dockerfile,
            target,
            build_args,
            platform,
            opts: extra,
            lib,
        } => {
            let text = std::fs::read_to_string(&dockerfile)
                .map_err(|e| format!("{}: {e}", dockerfile.display()))?;
            // The flags become the frontend opts BuildKit would send, parsed the same way.
            let mut raw = std::collections::BTreeMap::new();
            for kv in extra {
                let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
                raw.insert(k.to_owned(), v.to_owned());
            }
            if let Some(t) = target {
                raw.insert("target".to_owned(), t);
            }
            if let Some(p) = platform {
                raw.insert("platform".to_owned(), p);
            }
            for arg in build_args {
                let (k, v) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
                raw.insert(format!("build-arg:{k}"), v.to_owned());
            }
            let opts = BuildOptions::from_opts(&raw, Platform::linux_amd64(), "")
                .map_err(|e| e.to_string())?;
            let name = dockerfile
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let dir = dockerfile
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            let files = DirLoader(dir);
            let loader = crate::gateway::library::WithLibrary {
                dir: &lib,
                files: &files,
            };
            let json = llb_json_with(&text, &name, &opts, &loader).await?;
            Ok(Output {
                stdout: format!("{json}\n"),
                ..Output::default()
            })
        }
        Command::Policy { command } => {
            let report = crate::policy_cli::run(command).await;
            Ok(Output {
                stdout: report.stdout,
                stderr: report.stderr,
                code: report.code,
            })
        }
    }
}

/// The readable LLB and image config of `text`: what golden tests snapshot.
pub async fn llb_json(text: &str, filename: &str, opts: &BuildOptions) -> Result<String, String> {
    llb_json_with(text, filename, opts, &NoFiles).await
}

/// [`llb_json`] for a Dockerfile whose `INCLUDE`s are read through `loader`. Errors name
/// the file (the Dockerfile or an included one) and line they point at.
pub async fn llb_json_with(
    text: &str,
    filename: &str,
    opts: &BuildOptions,
    loader: &dyn Loader,
) -> Result<String, String> {
    let located = |e: crate::error::Error, sources: &Sources| match e.span() {
        Some(span) => {
            let (file, line) = sources.line_of(span);
            format!("{}:{line}: {e}", file.filename)
        }
        None => e.to_string(),
    };
    let prepared = pipeline::prepare_with(text, filename, opts, loader)
        .map_err(|(e, sources)| located(e, &sources))?;
    let located = |e| located(e, &prepared.sources);
    let images = resolve::resolve_all(&OfflineResolver, &prepared.plan)
        .await
        .map_err(located)?;
    let converted = pipeline::convert(&prepared, opts, &images, Vec::new()).map_err(located)?;
    let mut out = serde_json::json!({
        "llb": strata_proto::llb::dump(&converted.state),
        "image": converted.image,
    });
    if !converted.deps_requests.is_empty() {
        // Without BuildKit there are no files to read the libraries from: say so rather
        // than print a graph that silently lacks them.
        out["notes"] = converted
            .deps_requests
            .iter()
            .map(|r| {
                let line = r.paths.first().map_or_else(String::new, |(_, span)| {
                    let (file, line) = prepared.sources.line_of(*span);
                    format!("{}:{line}: ", file.filename)
                });
                serde_json::Value::from(format!(
                    "{line}COPY --deps: offline, only the named paths are copied; a build adds the interpreter and libraries they need, found in the source's files"
                ))
            })
            .collect();
    }
    if !converted.checks.is_empty() {
        // CHECKs are solved beside the target, not part of it: one graph each.
        out["checks"] = converted
            .checks
            .iter()
            .map(strata_proto::llb::dump)
            .collect();
    }
    serde_json::to_string_pretty(&out).map_err(|e| e.to_string())
}
