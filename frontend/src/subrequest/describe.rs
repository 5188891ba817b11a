//! `frontend.subrequests.describe`: the subrequests this frontend answers, each described
//! the way upstream's definitions describe them (name, version, options, metadata keys).

use crate::error::Result;
use serde::Serialize;

use super::json::to_go_json;
use super::table::{self, Rows};
use super::{Reply, Request};

/// Version of the describe answer's format.
pub const VERSION: &str = "1.0.0";

/// `subrequests.Request`: one subrequest's definition. Go writes every field, `null` for
/// a nil list, hence the `Option`s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Definition {
    /// The `requestid`.
    pub name: &'static str,
    /// Version of its answer's format.
    pub version: &'static str,
    /// Always `rpc`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What it answers.
    pub description: &'static str,
    /// Frontend opts it reads.
    pub opts: Option<Vec<Named>>,
    /// Frontend inputs it reads (none).
    pub inputs: Option<Vec<Named>>,
    /// Metadata keys of its answer.
    pub metadata: Option<Vec<Named>>,
    /// Refs of its answer (none).
    pub refs: Option<Vec<Named>>,
}

/// `subrequests.Named`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Named {
    /// The name.
    pub name: &'static str,
    /// Its meaning (upstream leaves most empty).
    pub description: &'static str,
}

fn named(name: &'static str, description: &'static str) -> Named {
    Named { name, description }
}

fn results(with_status: bool) -> Option<Vec<Named>> {
    let mut keys = vec![named("result.json", ""), named("result.txt", "")];
    if with_status {
        keys.push(named("result.statuscode", ""));
    }
    Some(keys)
}

/// The definition of one subrequest, with upstream's names, versions and descriptions.
pub fn definition(r: Request) -> Definition {
    let rpc = |name, description, opts, metadata| Definition {
        name,
        version: "1.0.0",
        kind: "rpc",
        description,
        opts,
        inputs: None,
        metadata,
        refs: None,
    };
    match r {
        Request::Outline => rpc(
            super::OUTLINE,
            "List all parameters current build target supports",
            Some(vec![named("target", "Target build stage")]),
            results(false),
        ),
        Request::Targets => rpc(
            super::TARGETS,
            "List all targets current build supports",
            Some(Vec::new()),
            results(false),
        ),
        Request::Lint => rpc(
            super::LINT,
            "Lint a Dockerfile",
            Some(Vec::new()),
            results(true),
        ),
        Request::Graph => rpc(
            super::GRAPH,
            "Draw the stage graph of current build target",
            Some(vec![
                named("target", "Target build stage"),
                named(
                    "build-arg:STRATA_GRAPH_FORMAT",
                    "Format of result.txt: mermaid (default), dot or svg",
                ),
            ]),
            results(false),
        ),
        Request::Describe => rpc(
            super::DESCRIBE,
            "List available subrequest types",
            None,
            results(false),
        ),
    }
}

/// The describe answer for the subrequests in `supported` (in that order).
pub fn reply(supported: &[Request]) -> Result<Reply> {
    let list: Vec<Definition> = supported.iter().map(|r| definition(*r)).collect();
    let mut rows: Rows = vec![table::row(&["NAME", "VERSION", "DESCRIPTION"])];
    for d in &list {
        let short = d.name.strip_prefix("frontend.").unwrap_or(d.name);
        rows.push(table::row(&[short, d.version, d.description]));
    }
    Ok(Reply {
        json: to_go_json(&list)?,
        text: table::render(&rows, 1).into_bytes(),
        version: VERSION,
        extra: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_like_the_dockerfile_frontend() {
        let r = reply(crate::subrequest::DESCRIBED).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.json).unwrap();
        assert_eq!(v[0]["name"], "frontend.outline");
        assert_eq!(v[0]["opts"][0]["name"], "target");
        assert_eq!(v[0]["inputs"], serde_json::Value::Null);
        assert_eq!(v[1]["opts"], serde_json::json!([]));
        assert_eq!(v[2]["name"], "frontend.lint");
        assert_eq!(v[2]["opts"], serde_json::json!([]));
        assert_eq!(v[3]["name"], "frontend.graph");
        assert_eq!(v[3]["opts"][1]["name"], "build-arg:STRATA_GRAPH_FORMAT");
        assert_eq!(v[3]["metadata"].as_array().map(Vec::len), Some(2));
        assert_eq!(v[4]["name"], "frontend.subrequests.describe");
        assert_eq!(v[4]["opts"], serde_json::Value::Null);
        assert_eq!(v[4]["metadata"][1]["name"], "result.txt");
        assert_eq!(
            String::from_utf8(r.text).unwrap(),
            "NAME                 VERSION DESCRIPTION\n\
             outline              1.0.0   List all parameters current build target supports\n\
             targets              1.0.0   List all targets current build supports\n\
             lint                 1.0.0   Lint a Dockerfile\n\
             graph                1.0.0   Draw the stage graph of current build target\n\
             subrequests.describe 1.0.0   List available subrequest types\n"
        );
        assert_eq!(r.version, "1.0.0");
    }

    #[test]
    fn the_graph_option_names_the_build_arg_read() {
        let d = definition(Request::Graph);
        let opts = d.opts.unwrap();
        let arg = format!("build-arg:{}", crate::subrequest::graph::FORMAT_ARG);
        assert_eq!(opts[1].name, arg);
    }

    #[test]
    fn lint_answers_carry_a_status_code() {
        let d = definition(Request::Lint);
        assert_eq!(d.name, "frontend.lint");
        assert_eq!(d.metadata.unwrap()[2].name, "result.statuscode");
    }
}
