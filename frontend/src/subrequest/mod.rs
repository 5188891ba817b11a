//! BuildKit's frontend subrequests: questions a client asks the frontend instead of a build
//! (`docker buildx build --print=outline` on buildx 0.13 with `BUILDX_EXPERIMENTAL=1`,
//! `--call=outline` on newer buildx).
//!
//! # The protocol (read from moby/buildkit v0.13–v0.14 and docker/buildx v0.13.1)
//!
//! - The client sets the frontend opt `requestid` to the subrequest's name: buildx sends
//!   `frontend.` + the `--print` value, so `--print=outline` → `frontend.outline`,
//!   `targets` → `frontend.targets`, `subrequests.describe` →
//!   `frontend.subrequests.describe`, `lint` → `frontend.lint` (BuildKit ≥ 0.14).
//! - It also sets `frontend.caps=moby.buildkit.frontend.subrequests+forward`: not a
//!   subrequest but the capabilities the client requires of the frontend (see
//!   [`check_caps`]).
//! - The answer is a result without a ref whose metadata holds `result.json` (the
//!   answer, Go `json.MarshalIndent` with two spaces), `result.txt` (the same as text, as
//!   upstream's printer writes it) and `version` (the subrequest's version). buildx prints
//!   `result.json` with its own printer when it knows the version, else `result.txt`.
//! - An unknown `requestid` is answered with BuildKit's typed "unsupported request" error;
//!   buildx 0.13.1 then tries another frontend image for outline/targets only.
//! - buildx 0.29.1 (`--call=outline|targets|check|subrequests.describe`, `--print` kept as a
//!   hidden alias; `check` → `frontend.lint`) prints every answer it knows from
//!   `result.json` with upstream's printers; for lint it unmarshals `LintResults` and prints
//!   `Check complete, N warnings have been found!` then the warnings sorted by file and line
//!   (or the JSON verbatim with `format=json`), prints a `buildError` as its error, and exits
//!   with `result.statuscode`. Docker 28.5's builtin frontend (BuildKit 0.25 ≈
//!   docker/dockerfile 1.19) lists outline, targets and describe in describe, as Strata.
//!
//! - `frontend.graph` (`--call=graph`) is Strata's own: the stage graph as mermaid (or DOT,
//!   SVG) text in `result.txt`, which buildx prints as it prints any method it has no
//!   printer for (see [`graph`]).
//!
//! Each subrequest is a pure function of the prepared pipeline data to a [`Reply`]; the
//! gateway edge (`gateway::serve`) reads the Dockerfile and sends the reply.

pub mod describe;
pub mod graph;
pub mod json;
pub mod lint;
pub mod location;
pub mod outline;
pub mod table;
pub mod targets;

use std::collections::BTreeMap;

use crate::error::{Error, Unsupported};
use crate::includes::{Loader, Sources};
use crate::options::BuildOptions;
use crate::pipeline;

/// `requestid` of the list of subrequests a frontend answers.
pub const DESCRIBE: &str = "frontend.subrequests.describe";
/// `requestid` of the build arguments, secrets and SSH a target uses.
pub const OUTLINE: &str = "frontend.outline";
/// `requestid` of the list of build stages.
pub const TARGETS: &str = "frontend.targets";
/// `requestid` of the lint findings (BuildKit ≥ 0.14, `--call=check`).
pub const LINT: &str = "frontend.lint";
/// `requestid` of the stage graph (`--call=graph`): Strata's own, no upstream frontend
/// answers it.
pub const GRAPH: &str = "frontend.graph";

/// The capabilities a client may require through `frontend.caps`: the ones BuildKit's
/// Dockerfile frontend declares, which Strata implements too (frontend inputs, named
/// contexts, subrequests, and git URLs with a query as the context: buildx asks for
/// `gitquerystring` when it sends `context=https://…/x.git?ref=…`).
pub const FRONTEND_CAPS: &[&str] = &[
    "moby.buildkit.frontend.inputs",
    "moby.buildkit.frontend.subrequests",
    "moby.buildkit.frontend.contexts",
    "moby.buildkit.frontend.gitquerystring",
];

/// A subrequest this frontend knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// [`DESCRIBE`].
    Describe,
    /// [`OUTLINE`].
    Outline,
    /// [`TARGETS`].
    Targets,
    /// [`LINT`].
    Lint,
    /// [`GRAPH`].
    Graph,
}

impl Request {
    /// The subrequest named by a `requestid`, or BuildKit's "unsupported request" error.
    pub fn parse(id: &str) -> Result<Request, Unsupported> {
        match id {
            DESCRIBE => Ok(Request::Describe),
            OUTLINE => Ok(Request::Outline),
            TARGETS => Ok(Request::Targets),
            LINT => Ok(Request::Lint),
            GRAPH => Ok(Request::Graph),
            other => Err(Unsupported::Subrequest(other.to_owned())),
        }
    }
}

/// Checks the capabilities named in `frontend.caps` (`name` or `name+forward`).
///
/// Upstream's Dockerfile frontend tolerates a missing `+forward` capability only when it
/// hands the build to another frontend (`# syntax=`); Strata never forwards, so every
/// capability it lacks is an error (the first one, as upstream reports it).
pub fn check_caps(requested: &[String]) -> Result<(), Unsupported> {
    for cap in requested {
        let name = cap.split_once('+').map_or(cap.as_str(), |(n, _)| n);
        if !FRONTEND_CAPS.contains(&name) {
            return Err(Unsupported::FrontendCap(name.to_owned()));
        }
    }
    Ok(())
}

/// The subrequests `frontend.subrequests.describe` lists: every one Strata answers, in the
/// order of upstream's handlers. Upstream's dockerui answers lint but leaves it out of the
/// list (`describe` in `frontend/dockerui/requests.go` at 1.26); Strata lists it, so a
/// client asking what it may call learns about `--call=check` too. Strata's own graph
/// comes last before describe, so upstream's entries keep their places.
pub const DESCRIBED: &[Request] = &[
    Request::Outline,
    Request::Targets,
    Request::Lint,
    Request::Graph,
    Request::Describe,
];

/// Answers `request` for the Dockerfile `text` (its includes read through `loader`).
///
/// A failure comes with the files read so far when there are any, so the edge can show
/// the offending lines as it does for a failed build.
pub fn answer(
    request: Request,
    text: &str,
    filename: &str,
    opts: &BuildOptions,
    loader: &dyn Loader,
) -> Result<Reply, (Error, Option<Sources>)> {
    let located = |(e, s): (Error, Sources)| (e, Some(s));
    match request {
        Request::Describe => describe::reply(DESCRIBED).map_err(|e| (e, None)),
        Request::Outline => {
            // Upstream's outline runs the build's checks too: a `# check=` that does not
            // parse fails it first, and under `error=true` a finding fails it last.
            let mut report = crate::lint::lint(&crate::lint::Input {
                text,
                filename,
                loader,
                opts,
                images: &crate::convert::BaseImages::new(),
                all_stages: false,
                prepared: None,
            });
            if report.config_failed() {
                if let Some(e) = report.error.take() {
                    return Err((e, Some(report.sources)));
                }
            }
            let p = pipeline::prepare_with(text, filename, opts, loader).map_err(located)?;
            if let Some(e) = report.violation() {
                return Err((e, Some(report.sources.clone())));
            }
            outline::outline(&p, opts)
                .and_then(|o| outline::reply(&o))
                .map_err(|e| (e, Some(p.sources.clone())))
        }
        Request::Targets => {
            let s = pipeline::prepare_stages(text, filename, opts, loader).map_err(located)?;
            targets::reply(&targets::list(&s)).map_err(|e| (e, Some(s.sources.clone())))
        }
        Request::Lint => lint::answer(text, filename, opts, loader),
        Request::Graph => {
            // The format first: a bad value fails before the Dockerfile is even planned.
            let format = graph::text_format(opts).map_err(|e| (e, None))?;
            let p = pipeline::prepare_with(text, filename, opts, loader).map_err(located)?;
            Ok(graph::reply(&crate::graph::Graph::build(&p), format))
        }
    }
}

/// A subrequest's answer: the result metadata BuildKit hands back to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// `result.json`.
    pub json: Vec<u8>,
    /// `result.txt`.
    pub text: Vec<u8>,
    /// `version`: the answering subrequest's version.
    pub version: &'static str,
    /// Further keys a subrequest defines (lint's `result.statuscode`).
    pub extra: BTreeMap<String, Vec<u8>>,
}

impl Reply {
    /// Every metadata entry, keyed as BuildKit's subrequests key them.
    pub fn metadata(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = self.extra.clone();
        out.insert("result.json".to_owned(), self.json.clone());
        out.insert("result.txt".to_owned(), self.text.clone());
        out.insert("version".to_owned(), self.version.as_bytes().to_vec());
        out
    }
}

/// The description BuildKit reads from the comments above a `FROM` or `ARG`: the first
/// comment line that starts with the stage or argument name and a space, minus that
/// prefix (`# build Compiles the app` → `Compiles the app` for stage `build`).
pub fn doc_comment(comments: &[String], name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    comments
        .iter()
        .find_map(|c| c.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BuildKit checks a client's `frontend.caps` against the frontend image's
    /// `moby.buildkit.frontend.caps` label before Strata even starts: the label (in both
    /// places the image is made from) must name exactly what `check_caps` accepts.
    #[test]
    fn the_image_label_declares_the_caps_strata_accepts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for file in ["Dockerfile.frontend", "release/policy.toml"] {
            let text = std::fs::read_to_string(root.join(file)).expect(file);
            let line = text
                .lines()
                .find(|l| l.contains("moby.buildkit.frontend.caps"))
                .unwrap_or_else(|| panic!("{file}: no caps label"));
            let value = line.rsplit('=').next().unwrap_or_default();
            let value = value.trim().trim_end_matches('\\').trim().trim_matches('"');
            let declared: Vec<&str> = value.split(',').collect();
            assert_eq!(declared, FRONTEND_CAPS, "{file}");
        }
    }

    #[test]
    fn request_ids_are_buildx_print_names_with_the_frontend_prefix() {
        assert_eq!(Request::parse("frontend.outline"), Ok(Request::Outline));
        assert_eq!(Request::parse("frontend.targets"), Ok(Request::Targets));
        assert_eq!(
            Request::parse("frontend.subrequests.describe"),
            Ok(Request::Describe)
        );
        assert_eq!(Request::parse("frontend.lint"), Ok(Request::Lint));
        assert_eq!(Request::parse("frontend.graph"), Ok(Request::Graph));
        assert_eq!(
            Request::parse("frontend.caps"),
            Err(Unsupported::Subrequest("frontend.caps".to_owned()))
        );
    }

    /// The list describe sends and the names `parse` knows are one list: every described
    /// request parses back from its definition's name.
    #[test]
    fn every_described_request_parses_from_its_name() {
        for r in DESCRIBED {
            assert_eq!(Request::parse(describe::definition(*r).name), Ok(*r));
        }
        assert!(DESCRIBED.contains(&Request::Graph));
    }

    #[test]
    fn caps_known_to_the_dockerfile_frontend_are_accepted() {
        let ok = [
            "moby.buildkit.frontend.subrequests+forward".to_owned(),
            "moby.buildkit.frontend.contexts".to_owned(),
            "moby.buildkit.frontend.inputs".to_owned(),
        ];
        assert_eq!(check_caps(&ok), Ok(()));
        let bad = [
            "moby.buildkit.frontend.subrequests".to_owned(),
            "moby.buildkit.frontend.telepathy+forward".to_owned(),
        ];
        assert_eq!(
            check_caps(&bad),
            Err(Unsupported::FrontendCap(
                "moby.buildkit.frontend.telepathy".to_owned()
            ))
        );
    }

    #[test]
    fn doc_comment_needs_the_name_then_a_space() {
        let c = vec![
            "syntax=strata:dev".to_owned(),
            "builder Not this one".to_owned(),
            "build Compiles the app".to_owned(),
            "build Not the second".to_owned(),
        ];
        assert_eq!(doc_comment(&c, "build"), "Compiles the app");
        assert_eq!(doc_comment(&c, "bui"), "");
        assert_eq!(doc_comment(&c, ""), "");
        assert_eq!(doc_comment(&["build".to_owned()], "build"), "");
    }

    #[test]
    fn reply_metadata_has_the_three_keys() {
        let r = Reply {
            json: b"{}".to_vec(),
            text: b"x\n".to_vec(),
            version: "1.0.0",
            extra: BTreeMap::new(),
        };
        let m = r.metadata();
        assert_eq!(
            m.keys().collect::<Vec<_>>(),
            ["result.json", "result.txt", "version"]
        );
        assert_eq!(m["version"], b"1.0.0");
    }
}
