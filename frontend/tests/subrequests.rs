//! Golden tests of the subrequest answers: every `testdata/subrequests/*.Dockerfile` gives
//! the `frontend.outline` and `frontend.targets` answers (text, and JSON without the
//! base64 `sources`) in its snapshot. Options come from a sibling `<case>.args` file, one
//! argument per line (`--target`, `build`, `--build-arg`, `A=1`); included files live in
//! `testdata/subrequests/inc/`. The `frontend.graph` answers are checked against what
//! `strata graph` prints (the graph goldens pin that).

#![allow(clippy::unwrap_used)] // test helpers, not library code

mod fixture_args;
use fixture_args::options_for;

use std::path::{Path, PathBuf};

use strata::cli::{graph_with, render_graph, GraphFormat};
use strata::includes::DirLoader;
use strata::options::BuildOptions;
use strata::platform::Platform;
use strata::subrequest::{self, graph, Request};

/// One answer as the snapshot shows it.
fn shown(request: Request, text: &str, opts: &BuildOptions, dir: &DirLoader) -> String {
    match subrequest::answer(request, text, "Dockerfile", opts, dir) {
        Ok(reply) => {
            let mut json: serde_json::Value = serde_json::from_slice(&reply.json).unwrap();
            let sources = json
                .as_object_mut()
                .and_then(|o| o.remove("sources"))
                .and_then(|s| s.as_array().map(Vec::len))
                .unwrap_or(0);
            format!(
                "version {}, {sources} source(s)\n--- result.txt\n{}--- result.json\n{}\n",
                reply.version,
                String::from_utf8(reply.text).unwrap(),
                serde_json::to_string_pretty(&json).unwrap()
            )
        }
        Err((e, _)) => format!("error: {e}\n"),
    }
}

#[test]
fn golden_subrequests() {
    insta::glob!("../../testdata/subrequests", "*.Dockerfile", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let opts = options_for(path);
        let dir = DirLoader(path.parent().unwrap().to_path_buf());
        let out = format!(
            "=== frontend.outline\n{}\n=== frontend.targets\n{}",
            shown(Request::Outline, &text, &opts, &dir),
            shown(Request::Targets, &text, &opts, &dir)
        );
        insta::assert_snapshot!(out);
    });
}

/// `frontend.lint` (`--call=check`) for every lint fixture: the warnings in upstream's
/// order (the order its checks run, not by line), and the text upstream's printer makes.
#[test]
fn golden_lint_answers() {
    insta::glob!("../../testdata/lint", "*.Dockerfile", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let mut opts = options_for(path);
        if let Ok(ignore) = std::fs::read_to_string(format!("{}.dockerignore", path.display())) {
            opts.dockerignore = strata::pipeline::dockerignore_patterns(&ignore);
        }
        let dir = DirLoader(path.parent().unwrap().to_path_buf());
        insta::assert_snapshot!(shown(Request::Lint, &text, &opts, &dir));
    });
}

/// The JSON is Go's `MarshalIndent` form byte for byte, which buildx and editors parse.
#[test]
fn outline_json_is_go_formatted() {
    let text = "ARG A=<x>\nFROM busybox:local\nARG A\n";
    let opts = BuildOptions::new(Platform::linux_amd64());
    let reply = subrequest::answer(
        Request::Outline,
        text,
        "Dockerfile",
        &opts,
        &DirLoader(".".into()),
    )
    .unwrap();
    let json = String::from_utf8(reply.json).unwrap();
    assert!(json.starts_with("{\n  \"args\": [\n    {\n      \"name\": \"A\",\n      \"value\": \"\\u003cx\\u003e\",\n"), "{json}");
    assert!(json.ends_with("\n  ]\n}"), "{json}");
}

/// `frontend.graph` (`--call=graph`) answers what `strata graph` prints for the same
/// options, for every subrequest fixture: mermaid text by default, DOT with
/// `STRATA_GRAPH_FORMAT=dot`, the JSON (without its final newline) in `result.json`; a
/// fixture `strata graph` refuses is refused with the same message.
#[test]
fn graph_answers_are_what_strata_graph_prints() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/subrequests");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "Dockerfile"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 5, "{cases:?}");
    let loader = DirLoader(dir.clone());
    for path in &cases {
        let text = std::fs::read_to_string(path).unwrap();
        for (format, want_format) in [
            (None, GraphFormat::Mermaid),
            (Some("dot"), GraphFormat::Dot),
        ] {
            let mut opts = options_for(path);
            if let Some(f) = format {
                opts.build_args
                    .insert(graph::FORMAT_ARG.to_owned(), f.to_owned());
            }
            let offline = graph_with(&text, "Dockerfile", &opts, &loader);
            let answered = subrequest::answer(Request::Graph, &text, "Dockerfile", &opts, &loader);
            match (offline, answered) {
                (Ok(g), Ok(reply)) => {
                    let name = path.display();
                    assert_eq!(
                        String::from_utf8(reply.text).unwrap(),
                        render_graph(&g, want_format),
                        "{name} {format:?}"
                    );
                    let json = render_graph(&g, GraphFormat::Json);
                    assert_eq!(reply.json, json.trim_end().as_bytes(), "{name}");
                    assert_eq!(reply.version, "1.0.0");
                }
                (Err(want), Err((e, _))) => assert!(want.contains(&e.to_string()), "{want} / {e}"),
                (want, got) => panic!(
                    "{}: offline {want:?}, answered {:?}",
                    path.display(),
                    got.map(|r| r.version)
                ),
            }
        }
    }
}

/// The graph of the extensions fixture: one node per stage after `FOR`, `IF` and parameter
/// expansion, the instance named with its arguments, and an edge per use.
#[test]
fn graph_answer_of_the_extensions_fixture() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/subrequests/targets-templates.Dockerfile");
    let text = std::fs::read_to_string(&path).unwrap();
    let loader = DirLoader(path.parent().unwrap().to_path_buf());
    let reply = subrequest::answer(
        Request::Graph,
        &text,
        "Dockerfile",
        &options_for(&path),
        &loader,
    )
    .unwrap_or_else(|(e, _)| panic!("{e}"));
    let g: serde_json::Value = serde_json::from_slice(&reply.json).unwrap();
    let names: Vec<&str> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    let edges: Vec<(u64, u64, &str)> = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].as_u64().unwrap(),
                e["to"].as_u64().unwrap(),
                e["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "base",
            "variant-slim",
            "variant-full",
            "debug",
            "build(GOOS=linux, GOARCH=amd64)",
            "stage-5"
        ]
    );
    assert_eq!(
        edges,
        [
            (0, 1, "from"),
            (0, 2, "from"),
            (0, 3, "from"),
            (4, 5, "copy"),
            (1, 5, "copy")
        ]
    );
    assert_eq!(g["target"], 5);
    assert_eq!(g["longest"], serde_json::json!([0, 1, 5]));
    let text = String::from_utf8(reply.text).unwrap();
    assert!(
        text.contains(
            "\n  s4[\"build(GOOS=linux, GOARCH=amd64)<br/>FROM busybox:local<br/>1 step\"]\n"
        ),
        "{text}"
    );
}
