//! End-to-end: Strata as a platform team's frontend. The test builds a derived frontend
//! image from `testdata/platform/Dockerfile.derived` (`FROM $STRATA_IMAGE` plus
//! `policy.toml` and the stage library `lib/`) through `docker buildx build`, pushes the
//! trusted base image to the test bed's registry (so it can be pinned by digest), and
//! builds every `testdata/platform/cases/<case>/` with `BUILDKIT_SYNTAX=<derived image>`:
//! each rule's Dockerfile is rejected with its line named, the compliant one (which
//! INCLUDEs `@runtime` from the library) builds. The case files are described in
//! `platform/mod.rs`; the same cases run offline in `policy_cli.rs`.
//!
//! Needs the test bed and `STRATA_IMAGE` (`make e2e` does both).

mod platform;
mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
use support::Scratch;

use platform::{case_dirs, platform_dir, Case, TRUSTED_REPO};

/// One `docker` command may take this long before the test gives up on it.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The images the cases are built with.
struct Setup {
    /// The derived frontend with the strict policy.
    derived: String,
    /// The derived frontend with `warn-policy.toml`.
    lenient: String,
    /// The trusted base image, pinned: `127.0.0.1:5000/…@sha256:…`.
    base: String,
}

macro_rules! cases {
    ($($test:ident => $dir:literal),* $(,)?) => {
        const CASES: &[&str] = &[$($dir),*];
        $(
            #[test]
            fn $test() {
                check_case($dir);
            }
        )*
    };
}

cases! {
    platform_compliant => "compliant",
    platform_allowed_base_images => "allowed-base-images",
    platform_base_image_digest => "base-image-digest",
    platform_non_root_user => "non-root-user",
    platform_non_root_base => "non-root-base",
    platform_required_labels => "required-labels",
    platform_forbidden_flags => "forbidden-flags",
    platform_add_checksum => "add-checksum",
    platform_entrypoint_check => "entrypoint-check",
    platform_several => "several",
    platform_library_error => "library-error",
}

#[test]
fn platform_every_case_directory_has_a_test() {
    let on_disk: Vec<String> = case_dirs()
        .iter()
        .map(|d| d.file_name().expect("named").to_string_lossy().into_owned())
        .collect();
    let mut listed: Vec<String> = CASES.iter().map(|c| (*c).to_owned()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "tests/e2e_platform.rs must list every case"
    );
}

/// A warn-level finding is a frontend warning: buildx prints it, the build goes on.
#[test]
fn platform_warnings_are_shown_and_the_build_goes_on() {
    let setup = setup();
    let dir = platform_dir().join("warn");
    let scratch = Scratch::new("e2e-platform", "warn");
    let b = build(&setup.lenient, &dir, &[], &scratch.0.join("lenient.log"));
    assert!(b.ok, "the lenient build failed:\n{}", b.log);
    for text in [
        "1 warning found",
        &format!("Dockerfile:2: policy base-image-digest: image \"{TRUSTED_REPO}:platform\" is not pinned by digest"),
    ] {
        assert!(b.log.contains(text), "the log lacks {text:?}:\n{}", b.log);
    }
    // The strict frontend rejects the same file.
    let b = build(&setup.derived, &dir, &[], &scratch.0.join("strict.log"));
    assert!(!b.ok, "the strict build succeeded:\n{}", b.log);
    assert!(
        b.log.lines().any(|l| l.trim() == "Dockerfile:2"),
        "{}",
        b.log
    );
}

fn check_case(dir: &str) {
    let setup = setup();
    let case = Case::load(&platform_dir().join("cases").join(dir));
    let name = case.name();
    let scratch = Scratch::new("e2e-platform", &name);
    let tar = scratch.0.join("rootfs.tar");
    let output = [
        "--output".to_owned(),
        format!("type=tar,dest={}", tar.display()),
    ];
    let b = build(
        &setup.derived,
        &case.dir,
        &output,
        &scratch.0.join("build.log"),
    );
    let ran = format!(
        "resolve image config for docker-image://docker.io/{}",
        setup.derived
    );
    assert!(
        b.log.contains(&ran),
        "{name}: the derived frontend did not run:\n{}",
        b.log
    );
    let failures = case.expected("fails-with");
    if !failures.is_empty() {
        assert!(
            !b.ok,
            "{name}: the build succeeded but must fail:\n{}",
            b.log
        );
        let file = case
            .expected("file")
            .first()
            .copied()
            .unwrap_or("Dockerfile");
        for line in case.expected("line") {
            let header = format!("{file}:{line}");
            assert!(
                b.log.lines().any(|l| l.trim() == header),
                "{name}: no `{header}` source snippet in the output:\n{}",
                b.log
            );
        }
        for text in failures {
            assert!(
                b.log.contains(text),
                "{name}: the output lacks {text:?}:\n{}",
                b.log
            );
        }
        return;
    }
    assert!(b.ok, "{name}: the build failed:\n{}", b.log);
    let paths = tar_paths(&tar);
    for p in case.expected("present") {
        assert!(
            paths.contains(&p.to_owned()),
            "{name}: the rootfs lacks {p:?}: {paths:?}"
        );
    }
    let users = case.expected("image-user");
    let labels = case.expected("image-label");
    if users.is_empty() && labels.is_empty() {
        return;
    }
    let tag = format!("strata-e2e-platform/case-{name}:{}", std::process::id());
    let load = ["--load".to_owned(), "-t".to_owned(), tag.clone()];
    let b = build(
        &setup.derived,
        &case.dir,
        &load,
        &scratch.0.join("load.log"),
    );
    assert!(b.ok, "{name}: the --load build failed:\n{}", b.log);
    let config = docker(&["image", "inspect", "--format", "{{json .Config}}", &tag]);
    let _ = docker(&["image", "rm", "-f", &tag]);
    let config: serde_json::Value = serde_json::from_str(config.trim()).expect("config JSON");
    for user in users {
        assert_eq!(config["User"], user, "{name}: {config}");
    }
    for label in labels {
        let (k, v) = label.split_once('=').expect("image-label: key=value");
        assert_eq!(config["Labels"][k], v, "{name}: {config}");
    }
}

/// Pushes the trusted base and builds both derived frontends, once per test process.
fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let strata = support::strata_image_name();
        docker(&["image", "inspect", "--format", "{{.Id}}", &strata]);
        let tagged = format!("{TRUSTED_REPO}:platform");
        docker(&["tag", "busybox:local", &tagged]);
        let pushed = docker(&["push", &tagged]);
        let digest = pushed
            .split_whitespace()
            .find(|w| w.starts_with("sha256:"))
            .unwrap_or_else(|| panic!("no digest in the push output:\n{pushed}"));
        let name: String = strata
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let derive = |policy: &str, tag: &str| {
            let image = format!("strata-e2e-platform/{name}:{tag}");
            let log = std::env::temp_dir().join(format!(
                "strata-e2e-platform-{}-derive-{tag}.log",
                std::process::id()
            ));
            let mut cmd = Command::new("docker");
            cmd.args([
                "buildx",
                "build",
                "--progress=plain",
                "--load",
                "-t",
                &image,
            ])
            .args(["--build-arg", &format!("STRATA_IMAGE={strata}")])
            .args(["--build-arg", &format!("POLICY={policy}")])
            .args(["-f", "Dockerfile.derived", "."])
            .current_dir(platform_dir());
            let b = run_logged(cmd, &log);
            let _ = fs::remove_file(&log);
            assert!(
                b.ok,
                "building the derived frontend {image} failed:\n{}",
                b.log
            );
            image
        };
        Setup {
            derived: derive("policy.toml", "policy"),
            lenient: derive("warn-policy.toml", "warn"),
            base: format!("{TRUSTED_REPO}@{digest}"),
        }
    })
}

/// Builds `dir` (context and Dockerfile) with `frontend` and the pinned `BASE`.
fn build(frontend: &str, dir: &Path, output: &[String], log: &Path) -> Built {
    let mut cmd = Command::new("docker");
    cmd.args(["buildx", "build", "--progress=plain"])
        .args(["--build-arg", &format!("BUILDKIT_SYNTAX={frontend}")])
        .args(["--build-arg", &format!("BASE={}", setup().base)])
        .args(output)
        .arg(".")
        .current_dir(dir);
    run_logged(cmd, log)
}

/// Runs `docker args…`, panicking with its output unless it succeeds; returns stdout.
fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker: {e}; run `make testbed image` first"));
    assert!(
        out.status.success(),
        "`docker {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

use support::Logged as Built;

/// Runs `cmd` with its output into `log_path`, killed after [`TIMEOUT`].
fn run_logged(cmd: Command, log_path: &Path) -> Built {
    support::run_logged(cmd, log_path, TIMEOUT)
}

/// The paths in an exported rootfs tar, as [`support::tar_entries`] names them.
fn tar_paths(path: &Path) -> Vec<String> {
    let mut out = BTreeSet::new();
    support::tar_entries(path, |name, _| {
        out.insert(name);
    });
    out.into_iter().collect()
}
