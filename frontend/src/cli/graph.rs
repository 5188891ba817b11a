//! `strata graph`: a picture of a Dockerfile's stages, offline. One node per stage after
//! `INCLUDE`, `IF`/`FOR` and parameter expansion, laid out in waves; with `--timings`, each
//! stage coloured by how long a real build spent in it and the critical path that build
//! took (read from `docker buildx build --progress=rawjson`).

use std::path::PathBuf;

use clap::Args;

use crate::graph::{self, Graph};
use crate::includes::Loader;
use crate::options::BuildOptions;
use crate::pipeline;

use super::common::{located, BuildFlags, Local, Output};

/// The output formats (the graph module's list, named for the CLI).
pub use crate::graph::Format as GraphFormat;

/// `strata graph`'s arguments: the Dockerfile, what a build would be given, the format.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The Dockerfile.
    pub dockerfile: PathBuf,
    /// What a build would be given.
    #[command(flatten)]
    pub build: BuildFlags,
    /// The output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: GraphFormat,
    /// A `docker buildx build --progress=rawjson` log of this build: colour the stages by
    /// their measured time and draw the critical path the build took.
    #[arg(long, value_name = "PROGRESS.JSON")]
    pub timings: Option<PathBuf>,
    /// Write the picture to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `strata graph`: the picture on stdout or in `--output` (with `--timings`, the critical path on
/// stderr), or an error message (exit 1).
pub(crate) fn run(args: &GraphArgs) -> Result<Output, String> {
    let path = &args.dockerfile;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let opts = args.build.options()?;
    let local = Local::new(path);
    let mut graph = graph_with(&text, &local.name, &opts, &local.loader(&args.build.lib))?;
    let mut stderr = String::new();
    if let Some(t) = &args.timings {
        let log = std::fs::read_to_string(t).map_err(|e| format!("{}: {e}", t.display()))?;
        let timings =
            graph::timings::Timings::parse(&log).map_err(|e| format!("{}: {e}", t.display()))?;
        graph
            .apply_timings(&timings)
            .map_err(|e| format!("{}: {e}", t.display()))?;
        stderr = graph::timings::summary(&graph);
    }
    let mut stdout = render(&graph, args.format);
    if let Some(out) = &args.output {
        std::fs::write(out, &stdout).map_err(|e| format!("{}: {e}", out.display()))?;
        stdout.clear();
    }
    Ok(Output {
        stdout,
        stderr,
        code: 0,
    })
}

/// The graph of `text` (the file called `filename`), its `INCLUDE`s read through
/// `loader`; errors name the file and line they point at.
pub fn graph_with(
    text: &str,
    filename: &str,
    opts: &BuildOptions,
    loader: &dyn Loader,
) -> Result<Graph, String> {
    let prepared = pipeline::prepare_with(text, filename, opts, loader)
        .map_err(|(e, sources)| located(&e, &sources))?;
    Ok(Graph::build(&prepared))
}

/// `graph` in `format`.
pub fn render(graph: &Graph, format: GraphFormat) -> String {
    format.render(graph)
}
