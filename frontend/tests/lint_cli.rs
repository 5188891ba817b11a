//! `strata lint`, run as users run it: the built binary, offline, on files on disk. Output
//! lines, JSON and exit statuses (0 findings printed but nothing fails, 1 the build would
//! fail or `--strict` saw a finding, 2 usage or IO errors).

#![allow(clippy::unwrap_used)] // test helpers, not library code

use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch directory removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str, files: &[(&str, &str)]) -> Dir {
        let dir = std::env::temp_dir().join(format!("strata-lint-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn strata(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

const WARNS: &str = "FROM busybox:local as base\nINCLUDE steps.inc\nCMD echo hi\n";

#[test]
fn findings_are_printed_sorted_and_do_not_fail() {
    let d = Dir::new(
        "warns",
        &[("Dockerfile", WARNS), ("steps.inc", "ENV A 1\n")],
    );
    let r = strata(&d.0, &["Dockerfile"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "Dockerfile:1:20: FromAsCasing: 'as' and 'FROM' keywords' casing do not match\n\
         Dockerfile:3:1: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals\n\
         steps.inc:1:5: LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format\n"
    );
    assert_eq!(r.stderr, "");
    // --strict fails on any finding, as `docker build --check` does.
    assert_eq!(strata(&d.0, &["--strict", "Dockerfile"]).code, 1);
}

#[test]
fn paths_are_shown_as_given() {
    let d = Dir::new(
        "paths",
        &[("sub/Dockerfile", WARNS), ("sub/steps.inc", "ENV A 1\n")],
    );
    let r = strata(&d.0, &["sub/Dockerfile"]);
    let files: Vec<&str> = r
        .stdout
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(files, ["sub/Dockerfile", "sub/Dockerfile", "sub/steps.inc"]);
}

#[test]
fn stage_library_files_keep_their_at_name() {
    let d = Dir::new(
        "lib",
        &[
            ("Dockerfile", "FROM busybox:local\nINCLUDE @tools\n"),
            ("lib/tools.Dockerfile", "RUN true\nENV A 1\n"),
        ],
    );
    let r = strata(&d.0, &["--lib", "lib", "Dockerfile"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            0,
            "@tools:2:5: LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format\n"
        )
    );
}

#[test]
fn a_clean_dockerfile_prints_nothing() {
    let d = Dir::new(
        "clean",
        &[("Dockerfile", "FROM busybox:local\nCMD [\"sh\"]\n")],
    );
    let r = strata(&d.0, &["Dockerfile"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    let r = strata(&d.0, &["--format", "json", "Dockerfile"]);
    assert_eq!((r.code, r.stdout.trim()), (0, "[]"));
}

#[test]
fn json_has_one_object_per_finding() {
    let d = Dir::new("json", &[("Dockerfile", WARNS), ("steps.inc", "ENV A 1\n")]);
    let r = strata(&d.0, &["--format=json", "Dockerfile"]);
    assert_eq!(r.code, 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let first = &v[0];
    assert_eq!(first["file"], "Dockerfile");
    assert_eq!(
        (
            &first["line"],
            &first["column"],
            &first["end_line"],
            &first["end_column"]
        ),
        (&1.into(), &20.into(), &1.into(), &22.into())
    );
    assert_eq!(first["rule"], "FromAsCasing");
    assert_eq!(first["severity"], "warning");
    assert_eq!(
        first["url"],
        "https://docs.docker.com/go/dockerfile/rule/from-as-casing/"
    );
    assert_eq!(v.as_array().unwrap().len(), 3);
}

/// An error with no place in the file (an unknown `--target`) has no position in the JSON,
/// rather than a `line: 0` that an editor would show at a line that does not exist.
#[test]
fn an_unlocated_error_has_no_position() {
    let d = Dir::new(
        "unlocated",
        &[("Dockerfile", "FROM busybox:local AS app\nCMD [\"sh\"]\n")],
    );
    let r = strata(
        &d.0,
        &["--format", "json", "--target", "nosuch", "Dockerfile"],
    );
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{
            "file": "Dockerfile",
            "rule": null,
            "message": "target stage \"nosuch\" could not be found",
            "severity": "error",
            "url": null,
            "description": null,
        }])
    );
    let r = strata(&d.0, &["--target", "nosuch", "Dockerfile"]);
    assert_eq!(
        r.stdout,
        "Dockerfile: error: target stage \"nosuch\" could not be found\n"
    );
}

#[test]
fn error_true_makes_findings_errors_and_fails() {
    let text = format!("# check=error=true\n{WARNS}");
    let d = Dir::new(
        "error",
        &[("Dockerfile", &text), ("steps.inc", "ENV A=1\n")],
    );
    let r = strata(&d.0, &["--format", "json", "Dockerfile"]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == "error"));
    // The build arg does the same (and wins over the directive).
    let d = Dir::new(
        "error-arg",
        &[("Dockerfile", WARNS), ("steps.inc", "ENV A=1\n")],
    );
    let args = [
        "--build-arg",
        "BUILDKIT_DOCKERFILE_CHECK=error=true",
        "Dockerfile",
    ];
    assert_eq!(strata(&d.0, &args).code, 1);
    let args = [
        "--build-arg",
        "BUILDKIT_DOCKERFILE_CHECK=skip=all",
        "Dockerfile",
    ];
    let r = strata(&d.0, &args);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
}

#[test]
fn build_args_and_target_are_the_builds() {
    let text = "FROM scratch AS app\nCMD [\"/app\"]\nFROM busybox:local\n";
    let d = Dir::new("target", &[("Dockerfile", text)]);
    let r = strata(&d.0, &["Dockerfile"]);
    assert_eq!(r.stdout, "", "the default target is fine");
    let r = strata(&d.0, &["--target", "app", "Dockerfile"]);
    assert!(
        r.stdout
            .starts_with("Dockerfile:2:6: CmdToolNotInstalled: CMD runs \"/app\""),
        "{}",
        r.stdout
    );
    // A build error without a place names the file only.
    let r = strata(&d.0, &["--target", "nope", "Dockerfile"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout,
        "Dockerfile: error: target stage \"nope\" could not be found\n"
    );

    // Without a value for TAG the build fails; with one it builds (and the default is
    // still reported, as upstream does).
    let d = Dir::new("args", &[("Dockerfile", "ARG TAG\nFROM alpine:${TAG}\n")]);
    let r = strata(&d.0, &["Dockerfile"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("\nDockerfile:2:6: error: failed to parse stage name \"alpine:\""),
        "{}",
        r.stdout
    );
    let r = strata(&d.0, &["--build-arg", "TAG=3.19", "Dockerfile"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        "Dockerfile:2:6: InvalidDefaultArgInFrom: Default value for ARG alpine:${TAG} results in empty or invalid base image name\n"
    );
}

#[test]
fn a_dockerfile_that_does_not_build_fails_with_its_line() {
    let d = Dir::new("broken", &[("Dockerfile", "FROM busybox:local\nRUNN x\n")]);
    let r = strata(&d.0, &["Dockerfile"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout,
        "Dockerfile:2:1: error: unknown instruction: RUNN (did you mean RUN?)\n"
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let d = Dir::new("io", &[]);
    let r = strata(&d.0, &["missing/Dockerfile"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("strata lint: missing/Dockerfile: "),
        "{}",
        r.stderr
    );
    assert_eq!(strata(&d.0, &["--format", "xml", "Dockerfile"]).code, 2);
    assert_eq!(strata(&d.0, &[]).code, 2);
}

/// A `.dockerignore` that exists but cannot be read (here: a directory) stops `strata lint`
/// with its path, as it stops a build; the findings would otherwise quietly lack
/// `CopyIgnoredFile`. A missing one is no excludes.
#[test]
fn an_unreadable_dockerignore_is_an_error_not_no_excludes() {
    let d = Dir::new(
        "unreadable-ignore",
        &[
            ("Dockerfile", "FROM busybox:local\nCOPY . /app\n"),
            (".dockerignore/x", ""),
        ],
    );
    let r = strata(&d.0, &["Dockerfile"]);
    assert_eq!(r.code, 2, "stdout {} stderr {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("failed to read") && r.stderr.contains(".dockerignore"),
        "{}",
        r.stderr
    );
    std::fs::remove_dir_all(d.0.join(".dockerignore")).unwrap();
    let r = strata(&d.0, &["Dockerfile"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
}
