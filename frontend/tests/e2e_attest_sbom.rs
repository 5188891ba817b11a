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

/// Per platform, then by document name: the SPDX documents of one build.
type Documents = BTreeMap<String, BTreeMap<String, Value>>;

/// Builds the fixture (`-f <dockerfile>` in `testdata/sbom/context`) with `--sbom`, the
/// CLI flags `flags` and the build args `args`, with Strata or the builtin frontend, and
/// returns the SPDX documents of its attestation manifests.
fn sbom_documents(
    strata: bool,
    dockerfile: &str,
    flags: &[&str],
    args: &[&str],
    scratch: &Path,
) -> Documents {
    let image = prerequisites(scratch);
    let who = if strata { "strata" } else { "builtin" };
    let tarball = scratch.join(format!("{who}.tar"));
    let output = format!("type=oci,dest={}", tarball.display());
    let syntax = format!("BUILDKIT_SYNTAX={image}");
    let context = testdata().join("context");
    let file = context.join(dockerfile);
    let mut cmd: Vec<&str> = vec![
        "buildx",
        "build",
        "--progress=plain",
        "--provenance=false",
        "--sbom=generator=strata-sbom-generator:local",
        "--output",
        &output,
        "-f",
        file.to_str().expect("utf-8 path"),
    ];
    cmd.extend_from_slice(flags);
    if strata {
        cmd.extend(["--build-arg", &syntax]);
    }
    for a in args {
        cmd.extend(["--build-arg", a]);
    }
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
    for platform in docs.keys() {
        let step = format!(
            "[{platform}] generating sbom using docker.io/library/strata-sbom-generator:local"
        );
        assert!(
            log.contains(&step),
            "{who}: no step {step:?} in the log:\n{log}"
        );
    }
    docs
}

/// The SPDX predicates of each attestation manifest in an OCI tarball, by the platform of
/// the image manifest it refers to (`os/arch`), then by document name.
fn spdx_documents(tarball: &Path) -> BTreeMap<String, BTreeMap<String, Value>> {
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
    let platform_of = |digest: &Value| -> String {
        let image = manifests
            .iter()
            .find(|m| &m["digest"] == digest)
            .unwrap_or_else(|| panic!("no image manifest {digest} in {index}"));
        format!(
            "{}/{}",
            image["platform"]["os"].as_str().unwrap_or_default(),
            image["platform"]["architecture"]
                .as_str()
                .unwrap_or_default()
        )
    };
    let mut out = BTreeMap::new();
    for m in manifests {
        if m["annotations"]["vnd.docker.reference.type"].as_str() != Some("attestation-manifest") {
            continue;
        }
        let platform = platform_of(&m["annotations"]["vnd.docker.reference.digest"]);
        let manifest = blob(&m["digest"]);
        let mut docs = BTreeMap::new();
        for layer in manifest["layers"].as_array().expect("layers") {
            assert_eq!(
                layer["annotations"]["in-toto.io/predicate-type"].as_str(),
                Some("https://spdx.dev/Document"),
                "{layer}"
            );
            let predicate = blob(&layer["digest"])["predicate"].clone();
            let name = predicate["name"]
                .as_str()
                .expect("document name")
                .to_owned();
            docs.insert(name, predicate);
        }
        assert!(
            out.insert(platform.clone(), docs).is_none(),
            "two attestation manifests for {platform}: {index}"
        );
    }
    out
}

/// Builds with both frontends, checks they agree document for document, and returns the
/// builtin frontend's documents.
fn compare(case: &str, dockerfile: &str, flags: &[&str], args: &[&str]) -> Documents {
    let scratch = support::Scratch::new("e2e-attest-sbom", case);
    let builtin = sbom_documents(false, dockerfile, flags, args, &scratch.0);
    let strata = sbom_documents(true, dockerfile, flags, args, &scratch.0);
    let shape = |d: &Documents| -> Vec<(String, Vec<String>)> {
        d.iter()
            .map(|(p, docs)| (p.clone(), docs.keys().cloned().collect()))
            .collect()
    };
    assert_eq!(
        shape(&strata),
        shape(&builtin),
        "{case}: the platforms or scanned targets differ"
    );
    for (platform, docs) in &builtin {
        for (name, doc) in docs {
            assert_eq!(
                &strata[platform][name], doc,
                "{case}: the SPDX document {name} of {platform} differs"
            );
        }
    }
    builtin
}

/// [`compare`] of the single-platform fixture; its only platform's documents.
fn compare_one(case: &str, args: &[&str]) -> BTreeMap<String, Value> {
    let mut docs = compare(case, "Dockerfile", &[], args);
    assert_eq!(docs.keys().collect::<Vec<_>>(), ["linux/amd64"], "{case}");
    docs.remove("linux/amd64").unwrap_or_default()
}

fn names(docs: &BTreeMap<String, Value>) -> Vec<&str> {
    docs.keys().map(String::as_str).collect()
}

/// The marker the generator found in a document's target.
fn marker(doc: &Value) -> &str {
    doc["comment"].as_str().unwrap_or_default()
}

/// The paths the generator found in a document's target.
fn files(doc: &Value) -> Vec<&str> {
    doc["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["fileName"].as_str().unwrap_or_default())
        .collect()
}

/// Without the scan args only the final image is scanned, with the protocol's variables.
#[test]
fn sbom_default_scans_the_final_image() {
    let docs = compare_one("default", &[]);
    assert_eq!(names(&docs), ["sbom"]);
    assert_eq!(
        files(&docs["sbom"]),
        [
            "/built.txt",
            "/ctx",
            "/ctx/app.txt",
            "/ctx/sbom-marker",
            "/tools-marker"
        ]
    );
    assert_eq!(
        docs["sbom"]["creationInfo"]["comment"],
        "BUILDKIT_SCAN_DESTINATION=/run/out/ BUILDKIT_SCAN_SOURCE=/run/src/core/sbom BUILDKIT_SCAN_type=sbom"
    );
}

/// `BUILDKIT_SBOM_SCAN_CONTEXT=true`: the context as the build sent it (only the paths it
/// copies: `unused.txt` never reaches the generator).
#[test]
fn sbom_scan_context() {
    let docs = compare_one("context", &["BUILDKIT_SBOM_SCAN_CONTEXT=true"]);
    assert_eq!(names(&docs), ["sbom", "sbom-context"]);
    assert_eq!(marker(&docs["sbom-context"]), "marker: context");
    assert_eq!(files(&docs["sbom-context"]), ["/app.txt", "/sbom-marker"]);
    assert!(docs["sbom"]["creationInfo"]["comment"]
        .as_str()
        .is_some_and(|env| env.contains("BUILDKIT_SCAN_SOURCE_EXTRAS=/run/src/extras")));
}

/// `BUILDKIT_SBOM_SCAN_STAGE=true`: every stage the target needs; `unused`, which sets the
/// arg to true itself, is not needed and never scanned.
#[test]
fn sbom_scan_stage_true() {
    let docs = compare_one("stage-true", &["BUILDKIT_SBOM_SCAN_STAGE=true"]);
    assert_eq!(names(&docs), ["sbom", "sbom-build", "sbom-tools"]);
    assert_eq!(marker(&docs["sbom-build"]), "marker: build");
    assert_eq!(marker(&docs["sbom-tools"]), "marker: tools");
    assert!(files(&docs["sbom-build"]).contains(&"/built.txt"));
}

/// A list of stages scans those named; one the target does not need is not scanned even
/// when listed.
#[test]
fn sbom_scan_stage_list() {
    let docs = compare_one("stage-list", &["BUILDKIT_SBOM_SCAN_STAGE=tools"]);
    assert_eq!(names(&docs), ["sbom", "sbom-tools"]);
    let docs = compare_one("stage-unneeded", &["BUILDKIT_SBOM_SCAN_STAGE=build,unused"]);
    assert_eq!(names(&docs), ["sbom", "sbom-build"]);
    assert_eq!(marker(&docs["sbom-build"]), "marker: build");
}

/// Two platforms (the stage cross-builds with `FROM --platform=$BUILDPLATFORM`): each
/// image gets its own attestation manifest, scanned from its own stage.
#[test]
fn sbom_per_platform() {
    let docs = compare(
        "multi-platform",
        "Dockerfile.multi",
        &["--platform", "linux/amd64,linux/arm64"],
        &[],
    );
    assert_eq!(
        docs.keys().collect::<Vec<_>>(),
        ["linux/amd64", "linux/arm64"]
    );
    for (platform, docs) in &docs {
        assert_eq!(
            names(docs),
            ["sbom", "sbom-build", "sbom-context"],
            "{platform}"
        );
        let arch = platform.trim_start_matches("linux/");
        assert_eq!(marker(&docs["sbom-build"]), format!("marker: build-{arch}"));
    }
}
