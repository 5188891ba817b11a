//! `frontend.graph`: the build's stage graph as text, inside buildx
//! (`docker buildx build --call=graph .`), the picture `strata graph` draws offline.
//!
//! buildx (0.15 and later, `--call`; 0.13/0.14 `--print` under `BUILDX_EXPERIMENTAL=1`)
//! sends any method name on as `requestid=frontend.<name>` and prints an answer it has no
//! printer for from the metadata: `result.json` with `format=json` (buildx ≥ 0.15), else
//! `result.txt`. The `format=` field never reaches the frontend and buildx refuses any
//! other field (`invalid print field`), so the text format is chosen by a build arg,
//! [`FORMAT_ARG`]: `mermaid` (the default: it pastes into a pull-request comment as it
//! is), `dot` or `svg`. `result.json` is always the graph as `strata graph --format json`
//! writes it. See `docs/graph.md` ("Inside buildx") for what each buildx does.
//!
//! As the outline, the answer depends on the Dockerfile (and its `INCLUDE`s) only: no
//! image is resolved and nothing is solved, so an image's `ONBUILD` triggers add no edge
//! (as offline).

use std::collections::BTreeMap;

use super::Reply;
use crate::error::{Error, Result};
use crate::graph::{Format, Graph};
use crate::options::BuildOptions;

/// Version of the graph answer's format.
pub const VERSION: &str = "1.0.0";

/// The build arg that picks `result.txt`'s format (`--build-arg STRATA_GRAPH_FORMAT=dot`):
/// Strata's own name, as `STRATA_STRICT`, since BuildKit's `BUILDKIT_*` args are upstream's.
pub const FORMAT_ARG: &str = "STRATA_GRAPH_FORMAT";

/// The format [`FORMAT_ARG`] asks for `result.txt` (case-insensitive): mermaid when it is
/// unset or empty, `dot` or `svg`; JSON is `result.json` already, so any other value is an
/// error naming the ones accepted.
pub fn text_format(opts: &BuildOptions) -> Result<Format> {
    let Some(value) = opts.build_args.get(FORMAT_ARG) else {
        return Ok(Format::Mermaid);
    };
    match value.to_ascii_lowercase().as_str() {
        "" | "mermaid" => Ok(Format::Mermaid),
        "dot" => Ok(Format::Dot),
        "svg" => Ok(Format::Svg),
        _ => Err(Error::Input(format!(
            "build arg {FORMAT_ARG}={value}: the graph's text format is mermaid, dot or svg"
        ))),
    }
}

/// The answer for `graph`: the text in `format`, the JSON without its final newline (buildx
/// prints `result.json` with one of its own, as for every other answer).
pub fn reply(graph: &Graph, format: Format) -> Reply {
    let json = Format::Json.render(graph);
    Reply {
        json: json.trim_end_matches('\n').as_bytes().to_vec(),
        text: format.render(graph).into_bytes(),
        version: VERSION,
        extra: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::includes::DirLoader;
    use crate::platform::Platform;

    fn opts(format: Option<&str>) -> BuildOptions {
        let mut o = BuildOptions::new(Platform::linux_amd64());
        if let Some(f) = format {
            o.build_args.insert(FORMAT_ARG.to_owned(), f.to_owned());
        }
        o
    }

    fn graph_of(text: &str) -> Graph {
        let p =
            crate::pipeline::prepare_with(text, "Dockerfile", &opts(None), &DirLoader(".".into()))
                .unwrap_or_else(|(e, _)| panic!("{e}"));
        Graph::build(&p)
    }

    #[test]
    fn the_build_arg_picks_the_text_format() {
        let format = |f| text_format(&opts(f)).ok();
        assert_eq!(format(None), Some(Format::Mermaid));
        assert_eq!(format(Some("")), Some(Format::Mermaid));
        assert_eq!(format(Some("mermaid")), Some(Format::Mermaid));
        assert_eq!(format(Some("DOT")), Some(Format::Dot));
        assert_eq!(format(Some("svg")), Some(Format::Svg));
        let err = text_format(&opts(Some("png"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "build arg STRATA_GRAPH_FORMAT=png: the graph's text format is mermaid, dot or svg"
        );
    }

    #[test]
    fn the_reply_holds_the_renderers_output() {
        let g = graph_of("FROM busybox:local AS a\nFROM a AS b\n");
        let r = reply(&g, Format::Dot);
        assert_eq!(
            String::from_utf8(r.text).unwrap(),
            crate::graph::dot::render(&g)
        );
        let json = String::from_utf8(r.json).unwrap();
        assert_eq!(format!("{json}\n"), crate::graph::json::render(&g));
        assert!(json.ends_with('}'), "{json}");
        assert_eq!(r.version, VERSION);
        let r = reply(&g, Format::Mermaid);
        assert_eq!(
            String::from_utf8(r.text).unwrap(),
            crate::graph::mermaid::render(&g)
        );
    }
}
