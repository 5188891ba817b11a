//! End-to-end subrequests: `BUILDX_EXPERIMENTAL=1 docker buildx build --print=…` (buildx
//! 0.13.1 on the test bed) answered by Strata.
//!
//! - Plain Dockerfiles of `testdata/subrequests/` (`outline-*.Dockerfile`) are asked
//!   `outline`, `targets` and `subrequests.describe` of BuildKit's builtin frontend and of
//!   Strata (`--build-arg BUILDKIT_SYNTAX=$STRATA_IMAGE`); the JSON answers must be equal
//!   byte for byte and so must the text buildx prints.
//! - Dockerfiles using Strata's extensions (`targets-*.Dockerfile`: INCLUDE, IF/FOR,
//!   parameterised stages) are asked Strata only; its answer must be the one the offline
//!   pipeline gives (the golden tests in `subrequests.rs` pin that one).
//! - `--print=lint`: the builtin frontend of BuildKit 0.13 refuses it ("unsupported
//!   request"); Strata answers, and buildx prints the offline answer's text.
//!
//! Options for a fixture come from its `<case>.args` file, as in the golden tests.
//! Needs the test bed and the image: `make testbed image`, then `make e2e`.

#![allow(clippy::unwrap_used)] // test helpers, not library code

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use strata::includes::DirLoader;
use strata::options::BuildOptions;
use strata::platform::Platform;
use strata::subrequest::{self, Request};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/subrequests")
}

/// The frontend image under test, checked once.
fn strata_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let image = support::strata_image_name();
        support::assert_image_present(&image);
        image
    })
}

/// A fixture's `.args`: `--target x` / `--build-arg K=V` pairs, as buildx arguments.
fn fixture_args(case: &str) -> Vec<String> {
    std::fs::read_to_string(dir().join(format!("{case}.args")))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Frontend {
    Builtin,
    Strata,
}

/// What `--print` wrote: exit status, stdout (the answer) and stderr (progress, errors).
struct Printed {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// `docker buildx build --print=<what>` of fixture `case` with `frontend`.
fn print(case: &str, frontend: Frontend, what: &str) -> Printed {
    let mut cmd = Command::new("docker");
    cmd.env("BUILDX_EXPERIMENTAL", "1")
        .args(["buildx", "build", "--progress=plain"])
        .arg(format!("--print={what}"))
        .args(fixture_args(case))
        .arg("-f")
        .arg(format!("{case}.Dockerfile"));
    if frontend == Frontend::Strata {
        cmd.arg("--build-arg")
            .arg(format!("BUILDKIT_SYNTAX={}", strata_image()));
    }
    let out = cmd
        .arg(".")
        .current_dir(dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker buildx: {e}"));
    Printed {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asks both frontends and requires equal answers (JSON and text).
fn same_as_builtin(case: &str, request: &str) {
    for what in [format!("{request},format=json"), request.to_owned()] {
        let builtin = print(case, Frontend::Builtin, &what);
        assert!(builtin.ok, "builtin --print={what}: {}", builtin.stderr);
        let strata = print(case, Frontend::Strata, &what);
        assert!(strata.ok, "strata --print={what}: {}", strata.stderr);
        assert!(
            strata.stderr.contains(strata_image()),
            "the answer came from Strata's image: {}",
            strata.stderr
        );
        assert!(!strata.stdout.trim().is_empty(), "an answer was printed");
        assert_eq!(
            strata.stdout, builtin.stdout,
            "{case}: --print={what} differs from the builtin frontend's"
        );
    }
}

/// Strata's JSON answer for an extension fixture, against the offline pipeline's.
fn same_as_offline(case: &str, request: Request, name: &str) {
    let printed = print(case, Frontend::Strata, &format!("{name},format=json"));
    assert!(printed.ok, "strata --print={name}: {}", printed.stderr);
    let offline = String::from_utf8(offline_answer(case, request).json).unwrap();
    assert_eq!(
        printed.stdout.trim_end(),
        offline,
        "{case}: --print={name} differs from the offline answer"
    );
}

/// The answer the offline pipeline gives for fixture `case`, with the options buildx sends.
fn offline_answer(case: &str, request: Request) -> subrequest::Reply {
    let mut opts = BTreeMap::new();
    let args = fixture_args(case);
    for pair in args.chunks(2) {
        match pair {
            [flag, value] if flag == "--target" => {
                opts.insert("target".to_owned(), value.clone());
            }
            [flag, value] if flag == "--build-arg" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                opts.insert(format!("build-arg:{k}"), v.to_owned());
            }
            other => panic!("{case}.args: unexpected {other:?}"),
        }
    }
    // buildx passes BUILDKIT_SYNTAX on as a build arg; no fixture reads it.
    opts.insert(
        "build-arg:BUILDKIT_SYNTAX".to_owned(),
        strata_image().to_owned(),
    );
    let opts = BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").unwrap();
    let text = std::fs::read_to_string(dir().join(format!("{case}.Dockerfile"))).unwrap();
    let filename = format!("{case}.Dockerfile");
    subrequest::answer(request, &text, &filename, &opts, &DirLoader(dir()))
        .unwrap_or_else(|(e, _)| panic!("{case}: {e}"))
}

#[test]
fn outline_basic_matches_builtin() {
    same_as_builtin("outline-basic", "outline");
}

#[test]
fn outline_deps_matches_builtin() {
    same_as_builtin("outline-deps", "outline");
}

#[test]
fn outline_target_matches_builtin() {
    same_as_builtin("outline-target", "outline");
}

#[test]
fn targets_match_builtin() {
    for case in ["outline-basic", "outline-deps", "outline-target"] {
        same_as_builtin(case, "targets");
    }
}

#[test]
fn describe_matches_builtin() {
    same_as_builtin("outline-basic", "subrequests.describe");
}

#[test]
fn lint_is_answered_by_strata() {
    // The builtin frontend answers lint since BuildKit 0.14 (dockerd 26.1's 0.13 did not:
    // "unsupported request frontend.lint"); lint's rules are compared elsewhere.
    let printed = print("outline-basic", Frontend::Builtin, "lint");
    let oldest = printed.stderr.contains("unsupported request frontend.lint");
    assert!(
        printed.ok || oldest,
        "builtin --print=lint: {}",
        printed.stderr
    );
    let printed = print("lint-findings", Frontend::Strata, "lint");
    let offline = offline_answer("lint-findings", Request::Lint);
    assert_eq!(offline.extra["result.statuscode"], b"1");
    let text = String::from_utf8(offline.text).unwrap();
    assert!(text.contains("WARNING: FromAsCasing"), "{text}");
    // buildx 0.29 renders the answer's `result.json` itself (a "Check complete" header, and
    // every snippet under the main Dockerfile's name) and exits 1 for findings; buildx
    // 0.13 printed `result.txt` as it is. Either way: the same warnings, in order.
    let warnings = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("WARNING: "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        warnings(&printed.stdout),
        warnings(&text),
        "{}",
        printed.stdout
    );
    if printed.stdout.starts_with("Check complete") {
        assert!(!printed.ok, "buildx exits 1 for lint findings");
        assert!(
            printed
                .stdout
                .starts_with("Check complete, 3 warnings have been found!"),
            "{}",
            printed.stdout
        );
    } else {
        assert!(printed.ok, "strata --print=lint: {}", printed.stderr);
        assert_eq!(printed.stdout.trim_end(), text.trim_end());
    }
}

#[test]
fn targets_of_extensions_match_offline() {
    for case in [
        "targets-include",
        "targets-templates",
        "targets-params-default",
    ] {
        same_as_offline(case, Request::Targets, "targets");
    }
}

#[test]
fn outline_of_extensions_matches_offline() {
    for case in [
        "targets-include",
        "targets-templates",
        "targets-params-default",
    ] {
        same_as_offline(case, Request::Outline, "outline");
    }
}
