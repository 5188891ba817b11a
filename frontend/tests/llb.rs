//! Golden tests: every `testdata/llb/*.Dockerfile` converts to the readable LLB and image
//! config in its snapshot, and every `testdata/errors/*.Dockerfile` fails with the error
//! (and line) in its snapshot. Options come from a sibling `<case>.args` file, one CLI
//! argument per line (`--target`, `build`, `--build-arg`, `A=1`).

#![allow(clippy::unwrap_used)] // test helpers, not library code

mod fixture_args;
use fixture_args::options_for;

use std::path::Path;

use strata::cli::llb_json_with;
use strata::includes::DirLoader;

fn convert(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    // INCLUDEd files live beside the fixtures (never named `*.Dockerfile`).
    let dir = DirLoader(
        path.parent()
            .expect("fixture has a directory")
            .to_path_buf(),
    );
    rt.block_on(llb_json_with(&text, "Dockerfile", &options_for(path), &dir))
}

#[test]
fn golden_llb() {
    insta::glob!("../../testdata/llb", "*.Dockerfile", |path| {
        let out = convert(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        insta::assert_snapshot!(out);
    });
}

#[test]
fn golden_errors() {
    insta::glob!("../../testdata/errors", "*.Dockerfile", |path| {
        let err = match convert(path) {
            Ok(_) => panic!("{} converted but must fail", path.display()),
            Err(e) => e,
        };
        // `Dockerfile:3: …`, or the included file the error is in.
        assert!(
            err.split(':')
                .nth(1)
                .is_some_and(|l| l.parse::<u32>().is_ok()),
            "error names file and line: {err}"
        );
        insta::assert_snapshot!(err);
    });
}

/// The same input gives byte-identical LLB every time (cache keys depend on it).
#[test]
fn conversion_is_deterministic() {
    insta::glob!("../../testdata/llb", "*.Dockerfile", |path| {
        assert_eq!(convert(path), convert(path), "{}", path.display());
    });
}
