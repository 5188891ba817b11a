//! End-to-end: the release image runs on every platform it ships.
//!
//! `make e2e-release` builds the release image (scripts/frontend-image.sh: every platform
//! cross-compiled here, assembled by Strata itself under release/policy.toml), pushes it to
//! the test bed's registry and runs this file with
//! - `STRATA_RELEASE_IMAGE`: the pushed index, e.g. `127.0.0.1:5000/strata:0.1.0`;
//! - `STRATA_RELEASE_PLATFORMS`: the platforms it must hold, e.g. `linux/amd64 linux/arm64`.
//!
//! The checks: the index lists exactly those platforms, each with the frontend and OCI
//! labels, and carries the OCI annotations; on every platform (foreign ones under
//! qemu-user, registered by scripts/testbed.sh) `docker run --platform P` of `lint`, `llb`
//! and `policy check` on fixtures prints byte for byte what this checkout's native binary
//! prints, with the same exit code; and the release policy refuses an image without its
//! labels.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{run_logged, Scratch};

/// One `docker` command may take this long (a first pull of a foreign platform included).
const TIMEOUT: Duration = Duration::from_secs(300);

/// The labels every platform's config must carry, and the annotations the index must carry.
const OCI_KEYS: &[&str] = &[
    "org.opencontainers.image.version",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.source",
    "org.opencontainers.image.licenses",
];

/// The commands run on every platform, from `testdata/` (relative paths, so that the file
/// names in the output are the same in the container and here). Each exercises a different
/// part: lint findings (text and JSON, with an error), the LLB of a multi-stage build, of
/// FOR and parameterised stages, of two target platforms, and a policy with violations.
const COMMANDS: &[&[&str]] = &[
    &["--version"],
    &["lint", "lint/casing.Dockerfile"],
    &["lint", "--format", "json", "lint/casing.Dockerfile"],
    &["llb", "e2e/calculator/Dockerfile.multi"],
    &["llb", "bench/template/Dockerfile"],
    &[
        "llb",
        "--platform",
        "linux/arm64,linux/s390x",
        "e2e/calculator/Dockerfile.multi",
    ],
    &[
        "policy",
        "check",
        "--policy",
        "platform/policy.toml",
        "platform/cases/several/Dockerfile",
    ],
];

fn release_image() -> String {
    std::env::var("STRATA_RELEASE_IMAGE")
        .expect("STRATA_RELEASE_IMAGE is not set: run `make e2e-release`")
}

fn release_platforms() -> BTreeSet<String> {
    let platforms: BTreeSet<String> = std::env::var("STRATA_RELEASE_PLATFORMS")
        .expect("STRATA_RELEASE_PLATFORMS is not set: run `make e2e-release`")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert!(
        platforms.contains("linux/amd64") && platforms.contains("linux/arm64"),
        "the release holds at least linux/amd64 and linux/arm64: {platforms:?}"
    );
    platforms
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// Runs `docker args…`; its stdout, or a panic with the log.
fn docker(scratch: &Scratch, name: &str, args: &[&str]) -> String {
    let mut cmd = Command::new("docker");
    cmd.args(args);
    let out = run_logged(cmd, &scratch.0.join(format!("{name}.log")), TIMEOUT);
    assert!(out.ok, "docker {args:?} failed:\n{}", out.log);
    out.log
}

/// The platform of an index entry as `os/arch[/variant]`; None for an attestation manifest.
fn entry_platform(entry: &Value) -> Option<String> {
    let kind = &entry["annotations"]["vnd.docker.reference.type"];
    if kind == "attestation-manifest" {
        return None;
    }
    let p = &entry["platform"];
    let mut s = format!(
        "{}/{}",
        p["os"].as_str().expect("platform.os"),
        p["architecture"].as_str().expect("platform.architecture")
    );
    if let Some(v) = p["variant"].as_str() {
        s = format!("{s}/{v}");
    }
    Some(s)
}

/// The index on the registry lists each release platform once (and nothing else but
/// attestations), carries the OCI annotations, and each platform's image config has the
/// frontend labels BuildKit reads and the OCI labels, with this checkout's version.
#[test]
fn the_index_holds_every_platform_with_labels_and_annotations() {
    let image = release_image();
    let want = release_platforms();
    let scratch = Scratch::new("e2e-release", "index");
    let raw = docker(
        &scratch,
        "raw",
        &["buildx", "imagetools", "inspect", "--raw", &image],
    );
    let index: Value = serde_json::from_str(&raw).expect("the index is JSON");
    assert_eq!(
        index["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{raw}"
    );
    let listed: Vec<String> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .filter_map(entry_platform)
        .collect();
    let listed_set: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(
        listed.len(),
        listed_set.len(),
        "a platform twice: {listed:?}"
    );
    assert_eq!(listed_set, want, "the index's platforms");

    let version = native(&["--version"]).stdout;
    let (number, revision) = parse_version(&version);
    for key in OCI_KEYS {
        let value = index["annotations"][key].as_str().unwrap_or_else(|| {
            panic!(
                "index annotation {key} is missing: {}",
                index["annotations"]
            )
        });
        assert!(!value.is_empty(), "{key} is empty");
    }
    assert_eq!(
        index["annotations"]["org.opencontainers.image.version"],
        number
    );
    assert_eq!(
        index["annotations"]["org.opencontainers.image.revision"],
        revision
    );

    let configs = docker(
        &scratch,
        "configs",
        &[
            "buildx",
            "imagetools",
            "inspect",
            "--format",
            "{{json .Image}}",
            &image,
        ],
    );
    let configs: Value = serde_json::from_str(&configs).expect("the configs are JSON");
    for platform in &want {
        let config = &configs[platform.as_str()];
        let labels = &config["config"]["Labels"];
        assert_eq!(
            labels["moby.buildkit.frontend.network.none"], "true",
            "{platform}"
        );
        let caps = labels["moby.buildkit.frontend.caps"]
            .as_str()
            .unwrap_or_else(|| panic!("{platform}: no caps label: {config}"));
        for cap in ["inputs", "subrequests", "contexts"] {
            assert!(
                caps.split(',')
                    .any(|c| c == format!("moby.buildkit.frontend.{cap}")),
                "{platform}: caps {caps}"
            );
        }
        assert_eq!(labels["org.opencontainers.image.version"], number);
        assert_eq!(labels["org.opencontainers.image.revision"], revision);
        assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
        assert_eq!(config["config"]["Entrypoint"][0], "/strata", "{platform}");
        let arch = platform.split('/').nth(1).expect("arch");
        assert_eq!(config["architecture"], arch, "{platform}");
    }
}

/// What a command printed and how it ended.
#[derive(Debug, PartialEq)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The native binary of this checkout, run in `testdata/`.
fn native(args: &[&str]) -> Outcome {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .current_dir(testdata())
        .output()
        .expect("run strata");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The release image's binary for `platform`, with `testdata/` mounted as its working dir.
fn in_container(image: &str, platform: &str, args: &[&str]) -> Outcome {
    let mount = format!(
        "{}:/w:ro",
        testdata().canonicalize().expect("testdata").display()
    );
    let out = Command::new("docker")
        .args(["run", "--rm", "--pull=missing", "--platform", platform])
        .args(["-v", &mount, "-w", "/w", image])
        .args(args)
        .output()
        .expect("run docker");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `strata 0.1.0 (0123456789ab)\n` → ("0.1.0", "0123456789ab").
fn parse_version(line: &str) -> (String, String) {
    let rest = line
        .trim_end()
        .strip_prefix("strata ")
        .unwrap_or_else(|| panic!("version line: {line:?}"));
    let (number, revision) = rest
        .split_once(" (")
        .unwrap_or_else(|| panic!("version line: {line:?}"));
    let revision = revision
        .strip_suffix(')')
        .unwrap_or_else(|| panic!("version line: {line:?}"));
    (number.to_owned(), revision.to_owned())
}

/// Every platform's binary prints exactly what the native one prints, for every command
/// (stdout, stderr and exit code). All differences are collected before failing.
#[test]
fn every_platform_prints_what_the_native_binary_prints() {
    let image = release_image();
    let mut failures = Vec::new();
    let mut compared = 0;
    for args in COMMANDS {
        let expected = native(args);
        assert!(
            !expected.stdout.is_empty() || !expected.stderr.is_empty(),
            "strata {args:?} prints nothing: a comparison of nothing proves nothing"
        );
        for platform in release_platforms() {
            let got = in_container(&image, &platform, args);
            compared += 1;
            if got != expected {
                failures.push(format!(
                    "{platform}: strata {}\n  native:    {expected:?}\n  container: {got:?}",
                    args.join(" ")
                ));
            }
        }
    }
    eprintln!("e2e-release: {compared} runs compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The seed that builds the release image carries release/policy.toml: Dockerfile.frontend
/// without its revision label is refused at the final stage's FROM, and nothing is built.
#[test]
fn the_release_policy_refuses_an_image_without_its_labels() {
    let scratch = Scratch::new("e2e-release", "policy");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = fs::read_to_string(root.join("Dockerfile.frontend")).expect("Dockerfile.frontend");
    let stripped: String = text
        .lines()
        .filter(|l| !l.contains("org.opencontainers.image.revision="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(
        stripped, text,
        "Dockerfile.frontend sets the revision label"
    );
    let dockerfile = scratch.0.join("Dockerfile");
    fs::write(&dockerfile, stripped).expect("write Dockerfile");
    let seed = std::env::var("STRATA_SEED").unwrap_or_else(|_| "strata:seed".to_owned());
    let mut cmd = Command::new("docker");
    cmd.args([
        "buildx",
        "build",
        "--progress=plain",
        "--output=type=cacheonly",
    ])
    .arg("-f")
    .arg(&dockerfile)
    .args(["--build-arg", &format!("BUILDKIT_SYNTAX={seed}")])
    .args(["--build-arg", "VERSION=1.2.3", "--build-arg", "SOURCE=x"])
    .arg(&root);
    let out = run_logged(cmd, &scratch.0.join("build.log"), TIMEOUT);
    assert!(
        !out.ok,
        "the build without a revision label passed:\n{}",
        out.log
    );
    assert!(
        out.log.contains(
            "policy required-labels: the final image has no label \"org.opencontainers.image.revision\""
        ),
        "{}",
        out.log
    );
}
