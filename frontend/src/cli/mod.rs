//! The command line, for people: BuildKit runs Strata as `# syntax=`, people run these
//! commands on a Dockerfile on disk, offline. One file per command: `strata llb`
//! (`llb.rs`), `strata lint` (`lint.rs`), `strata policy check` (`policy.rs`), `strata graph`
//! (`graph.rs`); what they share (flags
//! read as a build's options, `INCLUDE`s from the Dockerfile's directory, located errors,
//! [`Output`]) is in `common.rs`.

mod common;
mod graph;
mod lint;
mod llb;
mod policy;

use clap::{Parser, Subcommand};

pub use common::Output;
pub use graph::{graph_with, render as render_graph, GraphArgs, GraphFormat};
pub use lint::{Format, LintArgs};
pub use llb::{llb_json_with, LlbArgs};
pub use policy::{CheckArgs, PolicyCommand};

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
    Llb(LlbArgs),
    /// Check a Dockerfile against a platform team's policy, offline.
    Policy {
        /// What to do with it.
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Print lint findings (BuildKit's build checks and Strata's own), offline.
    Lint(LintArgs),
    /// Draw the stage graph (SVG, DOT, mermaid or JSON), offline; `--timings` colours it
    /// with a real build's times.
    Graph(GraphArgs),
}

/// Runs a CLI command: its output and exit status, or an error message (exit 1).
pub async fn run(cli: Cli) -> Result<Output, String> {
    match cli.command {
        Command::Llb(args) => llb::run(args).await,
        Command::Lint(args) => Ok(lint::run(&args)),
        Command::Graph(args) => graph::run(&args),
        Command::Policy { command } => Ok(policy::run(command).await),
    }
}
