//! A build's measured stage times, from `docker buildx build --progress=rawjson`. (Being
//! written.)

use super::Graph;

/// How long each stage took in one build.
#[derive(Clone, Debug, Default)]
pub struct Timings {}

impl Timings {
    /// Reads a `--progress=rawjson` log.
    pub fn parse(_text: &str) -> Result<Timings, String> {
        Err("timings are not read yet".to_owned())
    }
}

impl Graph {
    /// Gives each node its measured time and makes `longest` the critical path the build
    /// took.
    pub fn apply_timings(&mut self, _timings: &Timings) {}
}

/// The critical path and the slowest stages, for stderr.
pub fn summary(_graph: &Graph) -> String {
    String::new()
}
