//! Deterministic LLB across processes: the `strata llb` binary, run twice as separate
//! processes on the same Dockerfile and options, prints the same op digests.
//!
//! A remote build cache only helps when every run (every CI runner, every process) emits
//! byte-identical ops; anything seeded per process (hash map order, random ids, the clock)
//! would show up here as differing digests. Each run also gets a different environment
//! and working directory, which must not matter either.
//!
//! Covered: every `testdata/llb/*.Dockerfile` (with its `.args`) and every Dockerfile under
//! `testdata/e2e/` and `testdata/compat/` (with the case's `--build-arg`/`--target` args).

#![allow(clippy::unwrap_used)] // test helpers, not library code

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// `strata llb` flags from a `testdata/llb/<case>.args` file (flag and value on separate
/// lines) or an e2e `args` file (`--flag value` or `--flag=value` per line).
fn flags(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            continue;
        }
        match line.split_once([' ', '=']) {
            Some((flag, value)) if flag.starts_with("--") && !flag.contains('=') => {
                out.push(flag.to_owned());
                out.push(value.trim().to_owned());
            }
            _ => out.push(line.to_owned()),
        }
    }
    out.retain(|a| !a.is_empty());
    out
}

/// Every Dockerfile under `dir` (recursively), sorted.
fn dockerfiles(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            dockerfiles(&p, out);
        } else if name == "Dockerfile" || name.starts_with("Dockerfile.") {
            out.push(p);
        }
    }
}

/// All cases: (Dockerfile, `strata llb` flags).
fn cases() -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let llb = testdata().join("llb");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&llb)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
        .collect();
    fixtures.sort();
    for f in fixtures {
        let args = flags(&f.with_extension("args"));
        out.push((f, args));
    }
    let mut e2e = Vec::new();
    dockerfiles(&testdata().join("e2e"), &mut e2e);
    if testdata().join("compat").is_dir() {
        dockerfiles(&testdata().join("compat"), &mut e2e);
    }
    for f in e2e {
        let args = flags(&f.parent().unwrap().join("args"))
            .chunks(2)
            .filter(|kv| matches!(kv[0].as_str(), "--build-arg" | "--target" | "--platform"))
            .flatten()
            .cloned()
            .collect();
        out.push((f, args));
    }
    out
}

/// Runs `strata llb` in its own process; `run` varies the environment and directory.
/// `None` when the conversion fails (error cases), with the error text.
fn llb_digests(dockerfile: &Path, args: &[String], run: usize) -> Result<Vec<String>, String> {
    let cwd = std::env::temp_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("llb")
        .args(args)
        .arg(dockerfile)
        .current_dir(if run == 0 { testdata() } else { cwd })
        .env(
            format!("STRATA_DETERMINISM_RUN_{run}"),
            "x".repeat(run * 7 + 1),
        )
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ops = json["llb"].as_array().unwrap();
    Ok(ops
        .iter()
        .map(|op| op["digest"].as_str().unwrap().to_owned())
        .collect())
}

#[test]
fn llb_digests_are_equal_across_processes() {
    let cases = cases();
    assert!(cases.len() > 15, "found only {} cases", cases.len());
    let mut failed = Vec::new();
    for (file, args) in &cases {
        let first = llb_digests(file, args, 0);
        let second = llb_digests(file, args, 1);
        assert_eq!(
            first,
            second,
            "{} {:?}: the two processes disagree",
            file.display(),
            args
        );
        match first {
            Ok(digests) => assert!(!digests.is_empty(), "{}: no ops", file.display()),
            Err(e) => failed.push(format!("{}: {}", file.display(), e.trim())),
        }
    }
    // Failing is deterministic too (checked above); the llb fixtures and the e2e success
    // cases must convert. (compat cases may name features still being built.)
    let unexpected: Vec<&String> = failed
        .iter()
        .filter(|f| !f.contains("/errors/") && !f.contains("/compat/"))
        .collect();
    assert!(unexpected.is_empty(), "failed to convert: {unexpected:#?}");
}
