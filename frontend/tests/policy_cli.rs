//! `strata policy check`, the built binary run offline: every platform case's findings
//! and exit status (`offline-*` keys of its `expect`), and the usage errors (exit 2).

mod platform;

use std::path::Path;
use std::process::{Command, Output};

use platform::{case_dirs, platform_dir, Case, TRUSTED_REPO};

/// A made-up digest: offline nothing is resolved, the reference only has to be pinned.
fn pinned_base() -> String {
    format!("{TRUSTED_REPO}@sha256:{}", "a".repeat(64))
}

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("run strata")
}

fn check(policy: &Path, dockerfile: &Path) -> Output {
    let base = format!("BASE={}", pinned_base());
    let lib = platform_dir().join("lib");
    strata(&[
        "policy",
        "check",
        "--policy",
        &policy.to_string_lossy(),
        "--lib",
        &lib.to_string_lossy(),
        "--build-arg",
        &base,
        &dockerfile.to_string_lossy(),
    ])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_case_gives_its_findings_and_exit_status() {
    let policy = platform_dir().join("policy.toml");
    let dirs = case_dirs();
    assert!(dirs.len() >= 10, "{dirs:?}");
    for dir in dirs {
        let case = Case::load(&dir);
        let name = case.name();
        let out = check(&policy, &dir.join("Dockerfile"));
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        let exit: i32 = case
            .expected("offline-exit")
            .first()
            .unwrap_or_else(|| panic!("{name}: expect has no offline-exit"))
            .parse()
            .expect("a number");
        assert_eq!(
            out.status.code(),
            Some(exit),
            "{name}: stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines,
            case.expected("offline-line"),
            "{name}: stderr:\n{stderr}"
        );
    }
}

#[test]
fn errors_inside_a_library_file_name_it() {
    let policy = platform_dir().join("policy.toml");
    let out = check(
        &policy,
        &platform_dir().join("cases/library-error/Dockerfile"),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("strata: @broken:3: COPY requires at least two arguments"),
        "{stderr}"
    );
}

#[test]
fn warnings_alone_exit_zero_and_are_marked() {
    let dockerfile = platform_dir().join("warn/Dockerfile");
    let out = check(&platform_dir().join("warn-policy.toml"), &dockerfile);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("Dockerfile:2: base-image-digest: warning: image \"{TRUSTED_REPO}:platform\" is not pinned by digest: write it as \"{TRUSTED_REPO}:platform@sha256:<digest>\"\n")
    );
    assert_eq!(
        text(&out.stderr),
        "strata: 0 policy error(s), 1 warning(s)\n"
    );
    // The same file under the strict policy is an error.
    let out = check(&platform_dir().join("policy.toml"), &dockerfile);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn unreadable_or_broken_inputs_exit_two() {
    let scratch = std::env::temp_dir().join(format!("strata-policy-cli-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let dockerfile = platform_dir().join("cases/compliant/Dockerfile");

    let missing = scratch.join("missing.toml");
    let out = check(&missing, &dockerfile);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!("strata: no policy file at {}\n", missing.display())
    );

    let broken = scratch.join("broken.toml");
    std::fs::write(&broken, "[non-root-user]\nseverity = \"fatal\"\n").expect("write");
    let out = check(&broken, &dockerfile);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "strata: policy {}: TOML parse error at line 2",
            broken.display()
        )) && stderr.contains("unknown variant `fatal`, expected `error` or `warn`"),
        "{stderr}"
    );

    let out = check(&platform_dir().join("policy.toml"), &scratch.join("nope"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nope: No such file"));

    // clap's own usage errors exit 2 too.
    let out = strata(&["policy", "check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("<DOCKERFILE>"));
    std::fs::remove_dir_all(&scratch).expect("clean up");
}

#[test]
fn only_the_target_s_stages_are_checked() {
    let scratch = std::env::temp_dir().join(format!("strata-policy-target-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let dockerfile = scratch.join("Dockerfile");
    std::fs::write(
        &dockerfile,
        "ARG BASE\nFROM alpine AS debug\nRUN --network=host true\n\
         FROM ${BASE} AS release\nLABEL team=t org.opencontainers.image.source=https://git.example.com/t\nUSER 1\n",
    )
    .expect("write");
    let policy = platform_dir().join("policy.toml");
    let base = format!("BASE={}", pinned_base());
    let run = |target: &str| {
        strata(&[
            "policy",
            "check",
            "--policy",
            &policy.to_string_lossy(),
            "--build-arg",
            &base,
            "--target",
            target,
            &dockerfile.to_string_lossy(),
        ])
    };
    assert_eq!(run("release").status.code(), Some(0));
    let debug = run("debug");
    assert_eq!(debug.status.code(), Some(1));
    let stdout = text(&debug.stdout);
    assert!(
        stdout.contains("Dockerfile:2: allowed-base-images"),
        "{stdout}"
    );
    assert!(stdout.contains("Dockerfile:3: forbidden-flags"), "{stdout}");
    std::fs::remove_dir_all(&scratch).expect("clean up");
}
