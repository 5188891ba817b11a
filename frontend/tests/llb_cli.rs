//! `strata llb` as a binary: what a shell pipeline does to it.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Stdio};

/// `strata llb … | head -c 1` closes the pipe after one byte: the rest of the output has
/// nowhere to go, and that must end the program quietly, not with a panic.
#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    // Far more output than a pipe buffers, so the write is still going when the pipe closes.
    let dir = std::env::temp_dir().join(format!("strata-llb-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dockerfile = dir.join("Dockerfile");
    let runs: String = (0..2000).map(|i| format!("RUN echo step-{i}\n")).collect();
    std::fs::write(&dockerfile, format!("FROM busybox:local\n{runs}")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("llb")
        .arg(&dockerfile)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"{", "the LLB JSON starts");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

/// `strata --version` names the crate version and the commit it was built from, as
/// `git rev-parse --short=12 HEAD` of this checkout gives it (the test suite runs in one).
#[test]
fn version_names_the_git_revision() {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(head.status.success(), "the tests run in a git checkout");
    let head = String::from_utf8(head.stdout).unwrap();
    let expected = match std::env::var("STRATA_REVISION") {
        Ok(given) if !given.is_empty() => given,
        _ => head.trim().to_owned(),
    };
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("strata {} ({expected})\n", env!("CARGO_PKG_VERSION"))
    );
}
