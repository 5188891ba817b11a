//! Golden tests of the subrequest answers: every `testdata/subrequests/*.Dockerfile` gives
//! the `frontend.outline` and `frontend.targets` answers (text, and JSON without the
//! base64 `sources`) in its snapshot. Options come from a sibling `<case>.args` file, one
//! argument per line (`--target`, `build`, `--build-arg`, `A=1`); included files live in
//! `testdata/subrequests/inc/`.

#![allow(clippy::unwrap_used)] // test helpers, not library code

mod fixture_args;
use fixture_args::options_for;

use strata::includes::DirLoader;
use strata::options::BuildOptions;
use strata::platform::Platform;
use strata::subrequest::{self, Request};

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
