//! End-to-end: provenance attestations and multi-platform OCI exports, Strata against
//! BuildKit's builtin frontend on the test bed's primary dockerd (28.5, containerd image
//! store, so `--output type=oci` carries the attestation manifests).
//!
//! BuildKit writes the SLSA provenance predicate itself, from the frontend's request and
//! from the definitions the frontend solves (`solver/llbsolver/provenance.go`): the two
//! frontends must give the same predicate, field by field, except for what must differ,
//! each listed in [`normalise`] with its reason. Max mode adds the LLB (`buildConfig`) and
//! the source map (`Dockerfile` text, the definition that loaded it, every step's lines).
//!
//! Multi-platform: `--platform linux/amd64,linux/arm64` of `testdata/attest/no-run` (stages
//! that only copy and set config) and `testdata/attest/cross` (a `FROM
//! --platform=$BUILDPLATFORM` stage that runs natively, copied into per-platform targets)
//! must export the same index: manifests per platform, their configs and layers (by the
//! uncompressed `diff_ids` and the blobs' digests: the same contents), and one attestation
//! manifest per platform with its `vnd.docker.reference.*` annotations and predicate. No
//! foreign binary runs, so no emulation is needed.
//!
//! Needs the test bed and `STRATA_IMAGE` (`make e2e`); a missing piece fails the tests.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Map, Value};
use support::c8d::{c8d_host, strata_image};
use support::oci::{Layout, REFERENCE_DIGEST, REFERENCE_TYPE};
use support::Scratch;

/// One `docker buildx build` may take this long before the test gives up on it.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The predicate's timestamps and the build's id: set per build by BuildKit (job start and
/// completion, the job's unique id), never equal between two builds of either frontend.
const PER_BUILD: &[&str] = &["buildStartedOn", "buildFinishedOn", "buildInvocationID"];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Frontend {
    Builtin,
    Strata,
}

#[test]
fn provenance_min_matches_builtin() {
    check_provenance("min");
}

#[test]
fn provenance_max_matches_builtin() {
    let (builtin, _) = check_provenance("max");
    // Max mode's parts, present (so the equality above compared them).
    let p = &builtin["predicate"];
    let steps = p["buildConfig"]["llbDefinition"].as_array().expect("LLB");
    assert!(steps.len() >= 6, "buildConfig has the build's steps: {p}");
    let meta = &p["metadata"]["https://mobyproject.org/buildkit@v1#metadata"];
    let info = &meta["source"]["infos"][0];
    assert_eq!(info["filename"], "Dockerfile", "{meta}");
    assert!(
        info["llbDefinition"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "the Dockerfile's source info has the definition that loaded it: {info}"
    );
    let located = meta["source"]["locations"].as_object().expect("locations");
    assert!(located.len() >= 5, "source locations per step: {meta}");
    let params = &p["invocation"]["parameters"];
    assert_eq!(params["args"]["build-arg:VERSION"], "2.0", "{params}");
    assert_eq!(
        params["secrets"],
        json!([{"id": "token", "optional": true}]),
        "{params}"
    );
}

#[test]
fn multiplatform_without_run_matches_builtin() {
    check_multiplatform("no-run");
}

#[test]
fn multiplatform_cross_build_matches_builtin() {
    check_multiplatform("cross");
}

/// Builds the provenance fixture with both frontends in `mode` and asserts the normalised
/// predicates are equal; returns them (builtin, Strata).
fn check_provenance(mode: &str) -> (Value, Value) {
    let dir = attest_dir().join("provenance");
    let scratch = Scratch::new("e2e-attest", &format!("provenance-{mode}"));
    let args = [
        format!("--provenance=mode={mode}"),
        "--build-arg=VERSION=2.0".to_owned(),
        "--secret=id=token,src=token.txt".to_owned(),
    ];
    warm_up(&dir, &args, &scratch.0);
    let mut out = Vec::new();
    for fe in [Frontend::Builtin, Frontend::Strata] {
        let layout = build(fe, &dir, &args, &scratch.0, &format!("{mode}-{fe:?}"));
        let (_, index) = layout.image_index();
        let image = index["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .find(|m| m["annotations"][REFERENCE_TYPE].is_null())
            .expect("an image manifest")["digest"]
            .as_str()
            .expect("digest")
            .to_owned();
        let statements = layout.statements_for(&image);
        assert_eq!(statements.len(), 1, "{fe:?}: one provenance statement");
        let (layer, statement) = statements.into_iter().next().expect("one");
        assert_eq!(
            layer["annotations"]["in-toto.io/predicate-type"], "https://slsa.dev/provenance/v0.2",
            "{fe:?}: {layer}"
        );
        out.push(statement);
    }
    let strata = out.pop().expect("Strata's");
    let builtin = out.pop().expect("the builtin's");
    let (b, s) = (
        normalise(&builtin, Frontend::Builtin),
        normalise(&strata, Frontend::Strata),
    );
    assert_same(&b, &s, &format!("provenance mode={mode}"));
    (builtin, strata)
}

/// `statement` with what must differ between the frontends taken out, each checked first.
fn normalise(statement: &Value, fe: Frontend) -> Value {
    let mut v = statement.clone();
    let p = &mut v["predicate"];
    let metadata = p["metadata"].as_object_mut().expect("metadata");
    for key in PER_BUILD {
        let value = metadata.remove(*key);
        assert!(
            value
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty()),
            "{fe:?}: metadata.{key} is missing: {statement}"
        );
    }
    // Op digests (`digestMapping` keys) hash the op's exact bytes, and a local source's
    // bytes hold `local.session`/`local.unique`, which provenance drops from the ops it
    // shows but not from the digests: they differ for every build, builtin or not. The
    // step each maps to must agree.
    if let Some(bc) = p.get_mut("buildConfig") {
        steps_only(&mut bc["digestMapping"]);
    }
    let source = &mut p["metadata"]["https://mobyproject.org/buildkit@v1#metadata"]["source"];
    if let Some(infos) = source.get_mut("infos").and_then(Value::as_array_mut) {
        for info in infos {
            steps_only(&mut info["digestMapping"]);
        }
    }
    // The frontend's identity. The builtin runs itself (`dockerfile.v0`); Strata is an
    // image that `dockerfile.v0` hands over to (`BUILDKIT_SYNTAX`): BuildKit records the
    // gateway (`gateway.v0`), the image as `source`/`cmdline` and, in max mode, the build
    // argument that named it; and the image is a material the build pulled.
    let params = &mut p["invocation"]["parameters"];
    let frontend = params
        .as_object_mut()
        .expect("parameters")
        .remove("frontend");
    let image = strata_image();
    let expected = match fe {
        Frontend::Builtin => "dockerfile.v0",
        Frontend::Strata => "gateway.v0",
    };
    assert_eq!(frontend, Some(json!(expected)), "{fe:?}: {statement}");
    if fe == Frontend::Strata {
        let args = params["args"]
            .as_object_mut()
            .expect("Strata has frontend args");
        for key in ["source", "cmdline"] {
            assert_eq!(args.remove(key), Some(json!(image)), "{key}: {statement}");
        }
        if let Some(arg) = args.remove("build-arg:BUILDKIT_SYNTAX") {
            assert_eq!(arg, json!(image), "{statement}");
        }
        if args.is_empty() {
            params.as_object_mut().expect("parameters").remove("args");
        }
        let (name, tag) = image.rsplit_once(':').expect("STRATA_IMAGE has a tag");
        let name = name.rsplit('/').next().expect("a name");
        let materials = p["materials"].as_array_mut().expect("materials");
        let before = materials.len();
        materials.retain(|m| {
            !m["uri"]
                .as_str()
                .unwrap_or("")
                .contains(&format!("{name}@{tag}"))
        });
        assert_eq!(
            materials.len() + 1,
            before,
            "Strata's image {image} is one material: {statement}"
        );
        // Without it a build from no image has none, which BuildKit leaves out.
        if materials.is_empty() {
            p.as_object_mut().expect("predicate").remove("materials");
        }
    }
    v
}

/// Replaces a `digestMapping` object by its sorted step ids.
fn steps_only(mapping: &mut Value) {
    let Some(map) = mapping.as_object() else {
        return;
    };
    let mut steps: Vec<Value> = map.values().cloned().collect();
    steps.sort_by_key(|s| s.as_str().unwrap_or("").to_owned());
    *mapping = Value::Array(steps);
}

/// A builtin build of the fixture whose result is thrown away, so that both compared builds
/// run against the same, warm cache: a max-mode predicate's per-step `layers` name only the
/// layer blobs that existed when the build ran, and a cold first build has none for a step
/// whose blob its own export then makes (seen on a fresh CI daemon: `step1` was null for
/// the builtin and listed for Strata, which came second).
fn warm_up(dir: &Path, args: &[String], scratch: &Path) {
    build(Frontend::Builtin, dir, args, scratch, "warm-up");
}

/// Builds `testdata/attest/<case>` for linux/amd64 and linux/arm64 with both frontends and
/// asserts the two exported indexes have the same structure and contents.
fn check_multiplatform(case: &str) {
    let dir = attest_dir().join(case);
    let scratch = Scratch::new("e2e-attest", case);
    let args = [
        "--platform=linux/amd64,linux/arm64".to_owned(),
        "--provenance=mode=max".to_owned(),
    ];
    warm_up(&dir, &args, &scratch.0);
    let builtin = build(Frontend::Builtin, &dir, &args, &scratch.0, "builtin");
    let strata = build(Frontend::Strata, &dir, &args, &scratch.0, "strata");
    let b = structure(&builtin, Frontend::Builtin);
    let s = structure(&strata, Frontend::Strata);
    let platforms: Vec<&Value> = b["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| &m["platform"])
        .collect();
    assert_eq!(
        platforms,
        [
            &json!({"architecture": "amd64", "os": "linux"}),
            &json!({"architecture": "arm64", "os": "linux"}),
            &json!({"architecture": "unknown", "os": "unknown"}),
            &json!({"architecture": "unknown", "os": "unknown"}),
        ],
        "the builtin's index: two images and their attestations: {b}"
    );
    assert_same(&b, &s, &format!("{case}: the OCI index"));
}

/// The exported index as a comparable value: every descriptor with its media type,
/// platform and annotations; image manifests with their config (timestamps out) and
/// layers; attestation manifests with the platform they refer to and their normalised
/// statements. Manifest and config digests are left out: they hash the timestamps.
fn structure(layout: &Layout, fe: Frontend) -> Value {
    let (desc, index) = layout.image_index();
    assert!(
        desc["annotations"]["org.opencontainers.image.created"].is_string(),
        "{fe:?}: {desc}"
    );
    let listed = index["manifests"].as_array().expect("manifests");
    let platform_of = |digest: &Value| -> Value {
        listed
            .iter()
            .find(|m| m["digest"] == *digest)
            .map(|m| m["platform"].clone())
            .unwrap_or_else(|| panic!("{fe:?}: {digest} is not in the index"))
    };
    let mut manifests = Vec::new();
    for m in listed {
        let digest = m["digest"].as_str().expect("digest");
        let manifest = layout.json(digest);
        let mut annotations = m["annotations"].clone();
        let mut entry = Map::new();
        entry.insert("mediaType".into(), m["mediaType"].clone());
        entry.insert("platform".into(), m["platform"].clone());
        entry.insert(
            "configMediaType".into(),
            manifest["config"]["mediaType"].clone(),
        );
        let layers = manifest["layers"].as_array().expect("layers");
        if annotations[REFERENCE_TYPE] == "attestation-manifest" {
            // The digest of the image it attests (which hashes timestamps): its platform.
            let refers = annotations[REFERENCE_DIGEST].take();
            annotations[REFERENCE_DIGEST] = json!({"platform of": platform_of(&refers)});
            let statements: Vec<Value> = layout
                .statements_for(refers.as_str().expect("digest"))
                .into_iter()
                .map(|(layer, st)| {
                    json!({
                        "mediaType": layer["mediaType"],
                        "annotations": layer["annotations"],
                        "statement": normalise(&st, fe),
                    })
                })
                .collect();
            entry.insert("statements".into(), Value::Array(statements));
        } else {
            let mut config = layout.json(manifest["config"]["digest"].as_str().expect("cfg"));
            untime_config(&mut config, fe);
            entry.insert("config".into(), config);
            let layers: Vec<Value> = layers
                .iter()
                .map(|l| json!({"mediaType": l["mediaType"], "digest": l["digest"], "size": l["size"]}))
                .collect();
            entry.insert("layers".into(), Value::Array(layers));
        }
        entry.insert("annotations".into(), annotations);
        manifests.push(Value::Object(entry));
    }
    json!({"mediaType": index["mediaType"], "manifests": manifests})
}

/// Takes the image config's timestamps out: BuildKit's exporter stamps `created` and each
/// history entry's from the cache records of the layers (or the export's time), not from
/// anything the frontend sent.
fn untime_config(config: &mut Value, fe: Frontend) {
    let map = config.as_object_mut().expect("config object");
    assert!(
        map.remove("created").is_some(),
        "{fe:?}: config without created"
    );
    for h in map
        .get_mut("history")
        .and_then(Value::as_array_mut)
        .expect("history")
    {
        h.as_object_mut().expect("history entry").remove("created");
    }
}

/// Asserts `a == b`, listing every differing path when not.
fn assert_same(builtin: &Value, strata: &Value, what: &str) {
    let mut diffs = Vec::new();
    differences("", builtin, strata, &mut diffs);
    assert!(
        diffs.is_empty(),
        "{what}: Strata differs from the builtin frontend:\n{}",
        diffs.join("\n")
    );
    assert_eq!(builtin, strata, "{what}");
}

/// The JSON paths where `a` and `b` differ, with both values.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differences(&format!("{path}.{k}"), va, vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                differences(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ if a != b => out.push(format!("{path}: builtin {a} / Strata {b}")),
        _ => {}
    }
}

/// Builds `dir` with `fe` into an OCI layout tarball and reads it.
fn build(fe: Frontend, dir: &Path, args: &[String], scratch: &Path, name: &str) -> Layout {
    let dest = scratch.join(format!("{name}.tar"));
    let mut cmd = Command::new("docker");
    cmd.env("DOCKER_HOST", c8d_host())
        .args(["buildx", "build", "--progress=plain"])
        .args(args)
        .arg(format!("--output=type=oci,dest={}", dest.display()));
    if fe == Frontend::Strata {
        cmd.arg(format!("--build-arg=BUILDKIT_SYNTAX={}", strata_image()));
    }
    cmd.arg(".").current_dir(dir);
    let b = support::run_logged(cmd, &scratch.join(format!("{name}.log")), TIMEOUT);
    assert!(b.ok, "{fe:?} build of {} failed:\n{}", dir.display(), b.log);
    if fe == Frontend::Strata {
        // docker.io/<image>, or docker.io/library/<image> for a one-part name.
        let ran = b.log.lines().any(|l| {
            l.contains("resolve image config for docker-image://docker.io/")
                && l.trim_end().ends_with(&format!("/{}", strata_image()))
        });
        assert!(ran, "Strata did not run:\n{}", b.log);
    }
    Layout::read(&dest)
}

fn attest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/attest")
}
