//! SBOMs, end to end: `docker buildx build --sbom=generator=strata-sbom-generator:local`
//! with the `BUILDKIT_SBOM_SCAN_*` build args, built by BuildKit's builtin frontend and by
//! Strata (`BUILDKIT_SYNTAX`) on the same daemon, exported as OCI tarballs; the SPDX
//! documents in each attestation manifest must be the same, and must show what upstream
//! documents: the final image by default, the context and the needed stages when asked,
//! never a stage the target does not need.
//!
//! The generator (`testdata/sbom/generator`, built here from the test bed's
//! `busybox:local`) follows BuildKit's SBOM generator protocol and writes, for each target
//! it was given, its name, its paths, its `/sbom-marker` and the `BUILDKIT_SCAN_*`
//! variables it saw. The fixture is `testdata/sbom/context`. The primary dockerd (containerd
//! image store) exports attestations; `DOCKER_HOST` may name it. Run by `make e2e`.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

/// One `docker` command may take this long.
const TIMEOUT: Duration = Duration::from_secs(600);
/// The generator image the test builds.
const GENERATOR: &str = "strata-sbom-generator:local";
/// What the test bed must provide, and how to get it.
const HINT: &str = "run `make testbed image` (or `make e2e`)";

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/sbom")
}

/// Runs `docker args…`; success and combined output.
fn docker(args: &[&str], log: &Path) -> (bool, String) {
    let mut cmd = Command::new("docker");
    cmd.args(args);
    let run = support::run_logged(cmd, log, TIMEOUT);
    (run.ok, run.log)
}

/// The daemon has Strata's image and the generator (built once, from busybox:local).
fn prerequisites(scratch: &Path) -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let image = support::strata_image_name();
        support::assert_image_present(&image);
        let dir = testdata().join("generator");
        let dir = dir.to_str().expect("utf-8 path");
        let (ok, log) = docker(
            &["build", "-q", "-t", GENERATOR, dir],
            &scratch.join("generator.log"),
        );
        assert!(ok, "building {GENERATOR} failed ({HINT}):\n{log}");
        image
    })
}

/// Builds the fixture with `--sbom` and `args`, with Strata or the builtin frontend, and
/// returns its SPDX documents (the predicates of the attestation manifest) by name.
fn sbom_documents(strata: bool, args: &[&str], scratch: &Path) -> BTreeMap<String, Value> {
    let image = prerequisites(scratch);
    let who = if strata { "strata" } else { "builtin" };
    let tarball = scratch.join(format!("{who}.tar"));
    let output = format!("type=oci,dest={}", tarball.display());
    let syntax = format!("BUILDKIT_SYNTAX={image}");
    let mut cmd: Vec<&str> = vec![
        "buildx",
        "build",
        "--progress=plain",
        "--provenance=false",
        "--sbom=generator=strata-sbom-generator:local",
        "--output",
        &output,
    ];
    if strata {
        cmd.extend(["--build-arg", &syntax]);
    }
    for a in args {
        cmd.extend(["--build-arg", a]);
    }
    let context = testdata().join("context");
    cmd.push(context.to_str().expect("utf-8 path"));
    let (ok, log) = docker(&cmd, &scratch.join(format!("{who}.log")));
    assert!(ok, "{who} build failed:\n{log}");
    if strata {
        assert!(
            log.contains(image),
            "the build did not go through {image}:\n{log}"
        );
    }
    let docs = spdx_documents(&tarball);
    assert!(
        log.contains(
            "[linux/amd64] generating sbom using docker.io/library/strata-sbom-generator:local"
        ),
        "{who}: no generator step in the log:\n{log}"
    );
    docs
}

/// The SPDX predicates of the attestation manifest in an OCI tarball, by document name.
fn spdx_documents(tarball: &Path) -> BTreeMap<String, Value> {
    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut archive = tar::Archive::new(fs::File::open(tarball).expect("open tarball"));
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry.path().expect("path").display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read entry");
        blobs.insert(name, bytes);
    }
    let json = |name: &str| -> Value {
        serde_json::from_slice(blobs.get(name).unwrap_or_else(|| panic!("{name} missing")))
            .expect("JSON")
    };
    let blob = |digest: &Value| -> Value {
        let d = digest.as_str().expect("digest");
        json(&format!(
            "blobs/sha256/{}",
            d.strip_prefix("sha256:").expect("sha256")
        ))
    };
    let index = blob(&json("index.json")["manifests"][0]["digest"]);
    let manifests = index["manifests"].as_array().expect("an image index");
    let attestations: Vec<&Value> = manifests
        .iter()
        .filter(|m| {
            m["annotations"]["vnd.docker.reference.type"].as_str() == Some("attestation-manifest")
        })
        .collect();
    assert_eq!(attestations.len(), 1, "one attestation manifest: {index}");
    let manifest = blob(&attestations[0]["digest"]);
    let mut docs = BTreeMap::new();
    for layer in manifest["layers"].as_array().expect("layers") {
        assert_eq!(
            layer["annotations"]["in-toto.io/predicate-type"].as_str(),
            Some("https://spdx.dev/Document"),
            "{layer}"
        );
        let statement = blob(&layer["digest"]);
        let predicate = statement["predicate"].clone();
        let name = predicate["name"]
            .as_str()
            .expect("document name")
            .to_owned();
        docs.insert(name, predicate);
    }
    docs
}

/// Builds with both frontends, checks they agree, and returns what the generator saw:
/// document name → (its marker, its paths).
fn compare(case: &str, args: &[&str]) -> BTreeMap<String, (String, Vec<String>)> {
    let scratch = support::Scratch::new("e2e-attest-sbom", case);
    let builtin = sbom_documents(false, args, &scratch.0);
    let strata = sbom_documents(true, args, &scratch.0);
    assert_eq!(
        strata.keys().collect::<Vec<_>>(),
        builtin.keys().collect::<Vec<_>>(),
        "{case}: the scanned targets differ"
    );
    for (name, doc) in &builtin {
        assert_eq!(
            &strata[name], doc,
            "{case}: the SPDX document {name} differs"
        );
    }
    builtin
        .iter()
        .map(|(name, doc)| {
            let marker = doc["comment"].as_str().unwrap_or_default().to_owned();
            let files = doc["files"]
                .as_array()
                .expect("files")
                .iter()
                .map(|f| f["fileName"].as_str().unwrap_or_default().to_owned())
                .collect();
            (name.clone(), (marker, files))
        })
        .collect()
}

fn names(seen: &BTreeMap<String, (String, Vec<String>)>) -> Vec<&str> {
    seen.keys().map(String::as_str).collect()
}

/// Without the scan args only the final image is scanned, with the protocol's variables.
#[test]
fn sbom_default_scans_the_final_image() {
    let seen = compare("default", &[]);
    assert_eq!(names(&seen), ["sbom"]);
    assert_eq!(
        seen["sbom"].1,
        [
            "/built.txt",
            "/ctx",
            "/ctx/app.txt",
            "/ctx/sbom-marker",
            "/tools-marker"
        ]
    );
}

/// `BUILDKIT_SBOM_SCAN_CONTEXT=true`: the context as the build sent it (only the paths it
/// copies: `unused.txt` never reaches the generator).
#[test]
fn sbom_scan_context() {
    let seen = compare("context", &["BUILDKIT_SBOM_SCAN_CONTEXT=true"]);
    assert_eq!(names(&seen), ["sbom", "sbom-context"]);
    assert_eq!(seen["sbom-context"].0, "marker: context");
    assert_eq!(seen["sbom-context"].1, ["/app.txt", "/sbom-marker"]);
}

/// `BUILDKIT_SBOM_SCAN_STAGE=true`: every stage the target needs; `unused`, which sets the
/// arg to true itself, is not needed and never scanned.
#[test]
fn sbom_scan_stage_true() {
    let seen = compare("stage-true", &["BUILDKIT_SBOM_SCAN_STAGE=true"]);
    assert_eq!(names(&seen), ["sbom", "sbom-build", "sbom-tools"]);
    assert_eq!(seen["sbom-build"].0, "marker: build");
    assert_eq!(seen["sbom-tools"].0, "marker: tools");
    assert!(seen["sbom-build"].1.contains(&"/built.txt".to_owned()));
}

/// A list of stages scans those named; one the target does not need is not scanned even
/// when listed.
#[test]
fn sbom_scan_stage_list() {
    let seen = compare("stage-list", &["BUILDKIT_SBOM_SCAN_STAGE=tools"]);
    assert_eq!(names(&seen), ["sbom", "sbom-tools"]);
    let seen = compare("stage-unneeded", &["BUILDKIT_SBOM_SCAN_STAGE=build,unused"]);
    assert_eq!(names(&seen), ["sbom", "sbom-build"]);
    assert_eq!(seen["sbom-build"].0, "marker: build");
}
