//! End-to-end caching: what CI relies on, through real `docker buildx build` runs.
//!
//! - the registry round trip: build with Strata, push with inline cache, empty the builder
//!   cache (`docker buildx prune -af`) and drop the image, rebuild with `--cache-from`:
//!   every `RUN`/`COPY`/`WORKDIR` step reports `CACHED` (registry and local importers);
//! - `registry`/`local` cache *export* where the daemon offers it (it reports which);
//! - `RUN --mount=type=cache` persisting across builds (`id`, `sharing`, `mode`/`uid`/`gid`,
//!   `from`/`source`), both frontends;
//! - `--no-cache` and `--no-cache-filter` re-running the same steps as the builtin frontend;
//! - `SOURCE_DATE_EPOCH` giving the same image ID on two `--no-cache` builds.
//!
//! Build contexts live in `testdata/cache/`. Builds pass a fresh `NONCE` so no earlier run,
//! and no concurrent session on the same daemon, can have warmed the steps under test.
//! Needs the test bed (`make testbed image`); run by `make e2e`.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// One `docker` command may take this long.
const TIMEOUT: Duration = Duration::from_secs(600);

/// The registry the test bed runs.
const REGISTRY: &str = "127.0.0.1:5000";

/// What buildx says when the docker driver cannot export a cache backend.
const NO_CACHE_EXPORT: &str = "Cache export is not supported for the docker driver";

fn testdata(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(case)
}

/// A value no other build has used: this process, this test and the clock.
fn nonce(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{tag}-{}-{nanos}", std::process::id())
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Frontend {
    Builtin,
    Strata,
}

use support::Logged as Run;

/// Runs `docker args…` in `dir`, output into a temp file, killed after [`TIMEOUT`].
fn docker(dir: &Path, args: &[String]) -> Run {
    let path = std::env::temp_dir().join(format!("strata-e2e-cache-{}.log", nonce("log")));
    let mut cmd = Command::new("docker");
    cmd.args(args).current_dir(dir);
    let run = support::run_logged(cmd, &path, TIMEOUT);
    let _ = fs::remove_file(&path);
    run
}

/// `docker buildx build --progress=plain` of `dir` with `frontend` and `args`.
fn build(dir: &Path, frontend: Frontend, args: &[&str]) -> Run {
    let mut all: Vec<String> = vec!["buildx".into(), "build".into(), "--progress=plain".into()];
    if frontend == Frontend::Strata {
        all.push("--build-arg".into());
        all.push(format!("BUILDKIT_SYNTAX={}", support::strata_image()));
    }
    all.extend(args.iter().map(|a| (*a).to_owned()));
    all.push(".".into());
    docker(dir, &all)
}

/// Like [`build`], and the build must succeed.
fn build_ok(dir: &Path, frontend: Frontend, args: &[&str]) -> String {
    let r = build(dir, frontend, args);
    assert!(
        r.ok,
        "{frontend:?} build of {} {args:?} failed:\n{}",
        dir.display(),
        r.log
    );
    r.log
}

/// A Dockerfile step in a plain progress log: `[stage i/n] RUN …` and whether it came from
/// the cache (`CACHED`, or its layers extracted from an imported cache).
#[derive(Debug, Clone, PartialEq)]
struct Step {
    name: String,
    cached: bool,
}

/// The `RUN`/`COPY`/`ADD`/`WORKDIR` steps of a `--progress=plain` log, in vertex order.
fn steps(log: &str) -> Vec<Step> {
    let mut out: Vec<(u32, Step)> = Vec::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let Some((num, text)) = rest.split_once(' ') else {
            continue;
        };
        let Ok(n) = num.parse::<u32>() else {
            continue;
        };
        // A hit in an imported cache whose layers are needed (Strata evaluates its result
        // and reads it, e.g. for the entrypoint check) is shown on BuildKit 0.25 as the
        // layers being pulled and extracted instead of `CACHED`: it ran nothing either.
        if text.trim() == "CACHED" || text.starts_with("extracting sha256:") {
            if let Some((_, s)) = out.iter_mut().find(|(m, _)| *m == n) {
                s.cached = true;
            }
            continue;
        }
        if out.iter().any(|(m, _)| *m == n) || !is_step_name(text) {
            continue;
        }
        out.push((
            n,
            Step {
                name: text.trim().to_owned(),
                cached: false,
            },
        ));
    }
    out.into_iter().map(|(_, s)| s).collect()
}

/// `[build 2/5] RUN …`, `[3/3] COPY …`: a numbered Dockerfile step that runs something.
fn is_step_name(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('[') else {
        return false;
    };
    let Some((label, rest)) = inner.split_once("] ") else {
        return false;
    };
    let counter = label.rsplit(' ').next().unwrap_or_default();
    let numbered = counter
        .split_once('/')
        .is_some_and(|(a, b)| a.trim().parse::<u32>().is_ok() && b.parse::<u32>().is_ok());
    numbered
        && ["RUN ", "COPY ", "ADD ", "WORKDIR "]
            .iter()
            .any(|k| rest.starts_with(k))
}

/// Every step in `log` is `CACHED`, and there are `expected` of them.
fn assert_all_cached(log: &str, expected: usize, what: &str) {
    let s = steps(log);
    let missed: Vec<&Step> = s.iter().filter(|s| !s.cached).collect();
    assert!(
        s.len() == expected && missed.is_empty(),
        "{what}: expected {expected} steps all CACHED, got {} steps, not cached: {missed:#?}\n{log}",
        s.len()
    );
    eprintln!("{what}: {}/{} steps CACHED", s.len(), s.len());
}

/// Empties the builder cache (for everyone on this daemon: only ever called once per test).
fn prune() {
    let r = docker(
        Path::new("."),
        &["buildx".into(), "prune".into(), "-af".into()],
    );
    assert!(r.ok, "docker buildx prune -af failed:\n{}", r.log);
}

fn remove_image(reference: &str) {
    let _ = docker(
        Path::new("."),
        &["image".into(), "rm".into(), "-f".into(), reference.into()],
    );
}

/// The roundtrip case has 7 steps: WORKDIR, COPY, RUN, COPY, RUN in `build`; COPY, RUN after.
const ROUNDTRIP_STEPS: usize = 7;

/// Builds `testdata/cache/roundtrip` with Strata and pushes it to `reference` using
/// `push_args`; the steps that use the nonce must really run.
fn build_and_push(nonce: &str, push_args: &[&str]) -> String {
    let dir = testdata("cache/roundtrip");
    let arg = format!("NONCE={nonce}");
    let mut args = vec!["--build-arg", &arg];
    args.extend_from_slice(push_args);
    let log = build_ok(&dir, Frontend::Strata, &args);
    let ran: Vec<Step> = steps(&log)
        .into_iter()
        .filter(|s| s.name.contains(" RUN ") && s.cached)
        .collect();
    assert!(
        ran.is_empty(),
        "the first build found RUN steps cached: {ran:?}"
    );
    assert!(log.contains("pushing"), "nothing was pushed:\n{log}");
    log
}

/// Rebuilds the roundtrip case from a clean builder with `cache_from` only.
fn rebuild_from(nonce: &str, cache_from: &str) -> String {
    let dir = testdata("cache/roundtrip");
    let arg = format!("NONCE={nonce}");
    build_ok(
        &dir,
        Frontend::Strata,
        &[
            "--build-arg",
            &arg,
            "--cache-from",
            cache_from,
            "--output",
            "type=cacheonly",
        ],
    )
}

/// CI's round trip: `--cache-to type=inline` and a pushed image; then, from an empty
/// builder cache, `--cache-from type=registry` and `--cache-from type=local` (an OCI
/// layout holding the same image) each bring back every step.
#[test]
fn inline_cache_round_trip_through_the_registry() {
    let n = nonce("inline");
    let reference = format!("{REGISTRY}/strata-e2e/cache:{n}");
    let output = format!("type=image,name={reference},push=true");
    build_and_push(&n, &["--cache-to", "type=inline", "--output", &output]);

    prune();
    remove_image(&reference);
    let log = rebuild_from(&n, &format!("type=registry,ref={reference}"));
    assert!(
        log.contains(&format!("importing cache manifest from {reference}")),
        "the registry cache was not imported:\n{log}"
    );
    assert_all_cached(&log, ROUNDTRIP_STEPS, "--cache-from type=registry");

    let layout = std::env::temp_dir().join(format!("strata-e2e-oci-{n}"));
    oci_layout_from_registry(&reference, &layout);
    prune();
    let log = rebuild_from(&n, &format!("type=local,src={}", layout.display()));
    let _ = fs::remove_dir_all(&layout);
    assert!(
        log.contains("importing cache manifest from local:"),
        "the local cache was not imported:\n{log}"
    );
    assert_all_cached(&log, ROUNDTRIP_STEPS, "--cache-from type=local");
}

/// The older spelling: `--build-arg BUILDKIT_INLINE_CACHE=1`, `--push -t`, and a bare
/// `--cache-from <ref>`.
#[test]
fn buildkit_inline_cache_build_arg_round_trip() {
    let n = nonce("inline-arg");
    let reference = format!("{REGISTRY}/strata-e2e/cache:{n}");
    build_and_push(
        &n,
        &[
            "--build-arg",
            "BUILDKIT_INLINE_CACHE=1",
            "--push",
            "-t",
            &reference,
        ],
    );
    prune();
    remove_image(&reference);
    let log = rebuild_from(&n, &reference);
    assert_all_cached(
        &log,
        ROUNDTRIP_STEPS,
        "BUILDKIT_INLINE_CACHE=1 + --cache-from",
    );
}

/// `registry` (mode=max, to the test bed's registry) and `local` cache export, each a round
/// trip: export with Strata, prune, rebuild from that cache alone, every step `CACHED`. The
/// test bed's primary daemon (Docker 28.5.2, containerd image store) exports both with the
/// default `docker` driver; a daemon that cannot (the classic store says
/// [`NO_CACHE_EXPORT`]) fails the test rather than skipping it.
#[test]
fn registry_and_local_cache_round_trip() {
    let n = nonce("export");
    let reference = format!("{REGISTRY}/strata-e2e/cache:{n}-cache");
    let dir = std::env::temp_dir().join(format!("strata-e2e-cache-{n}"));
    let backends = [
        (
            format!("type=registry,ref={reference},mode=max"),
            format!("type=registry,ref={reference}"),
        ),
        (
            format!("type=local,dest={},mode=max", dir.display()),
            format!("type=local,src={}", dir.display()),
        ),
    ];
    let roundtrip = testdata("cache/roundtrip");
    for (i, (to, from)) in backends.iter().enumerate() {
        let n = format!("{n}-{i}");
        let arg = format!("NONCE={n}");
        let r = build(
            &roundtrip,
            Frontend::Strata,
            &[
                "--build-arg",
                &arg,
                "--cache-to",
                to,
                "--output",
                "type=cacheonly",
            ],
        );
        assert!(
            r.ok,
            "--cache-to {to} failed (the primary daemon must export it; {NO_CACHE_EXPORT:?} means \
             a classic image store):\n{}",
            r.log
        );
        prune();
        let log = rebuild_from(&n, from);
        assert_all_cached(&log, ROUNDTRIP_STEPS, &format!("--cache-from {from}"));
    }
    assert!(
        dir.join("index.json").is_file(),
        "the local cache export wrote an OCI layout at {}",
        dir.display()
    );
    let _ = fs::remove_dir_all(&dir);
}

/// Copies `reference` from the test bed's registry into an OCI image layout at `dir`
/// (`index.json` tagged `latest`), the form `--cache-from type=local,src=` reads.
fn oci_layout_from_registry(reference: &str, dir: &Path) {
    let (repo, tag) = reference
        .strip_prefix(&format!("{REGISTRY}/"))
        .and_then(|r| r.rsplit_once(':'))
        .expect("registry reference");
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).expect("layout dir");
    let get = |url: String, dest: &Path, accept: &str| {
        let out = Command::new("curl")
            .args(["-fsS", "-H", accept, "-o"])
            .arg(dest)
            .arg(&url)
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "GET {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let accept = "Accept: application/vnd.docker.distribution.manifest.v2+json, \
                  application/vnd.oci.image.manifest.v1+json, \
                  application/vnd.oci.image.index.v1+json";
    let manifest_path = dir.join("manifest.json");
    let fetch = |what: &str| -> (Vec<u8>, Value) {
        get(
            format!("http://{REGISTRY}/v2/{repo}/manifests/{what}"),
            &manifest_path,
            accept,
        );
        let bytes = fs::read(&manifest_path).expect("manifest");
        fs::remove_file(&manifest_path).expect("move manifest");
        let json = serde_json::from_slice(&bytes).expect("manifest JSON");
        (bytes, json)
    };
    let (mut manifest_bytes, mut manifest) = fetch(tag);
    // Docker 28 pushes an index (the image and its provenance attestation): take the image.
    if manifest["mediaType"] == "application/vnd.oci.image.index.v1+json" {
        let image = manifest["manifests"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["platform"]["os"] == "linux"))
            .and_then(|m| m["digest"].as_str())
            .expect("an image manifest in the index")
            .to_owned();
        (manifest_bytes, manifest) = fetch(&image);
    }
    let digest = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&manifest_bytes))
    };
    fs::write(blobs.join(&digest), &manifest_bytes).expect("write manifest");
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    for d in std::iter::once(&manifest["config"]).chain(layers.iter()) {
        let dg = d["digest"].as_str().expect("blob digest");
        let hexpart = dg.strip_prefix("sha256:").expect("sha256 digest");
        get(
            format!("http://{REGISTRY}/v2/{repo}/blobs/{dg}"),
            &blobs.join(hexpart),
            "Accept: */*",
        );
    }
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": manifest["mediaType"],
            "digest": format!("sha256:{digest}"),
            "size": manifest_bytes.len(),
            "annotations": { "org.opencontainers.image.ref.name": "latest" },
        }],
    });
    fs::write(dir.join("index.json"), index.to_string()).expect("index.json");
}

/// What build steps printed: the text of `#N 0.123 text` progress lines.
fn printed(log: &str) -> impl Iterator<Item = &str> {
    log.lines().filter_map(|l| {
        let (num, rest) = l.strip_prefix('#')?.split_once(' ')?;
        num.parse::<u32>().ok()?;
        let (time, text) = rest.split_once(' ')?;
        time.parse::<f64>().ok()?;
        Some(text.trim_end())
    })
}

/// `RUN --mount=type=cache` keeps its contents from one build to the next, whatever the
/// sharing mode; `mode`/`uid`/`gid` set the directory; `from`/`source` seed it; nothing
/// of it lands in the image; `--no-cache` starts them fresh. Same for both frontends.
#[test]
fn cache_mounts_persist_across_builds() {
    let dir = testdata("cache/mounts");
    let mut no_cache_keeps = Vec::new();
    for frontend in [Frontend::Builtin, Frontend::Strata] {
        let ids: Vec<String> = (1..=3)
            .map(|i| nonce(&format!("{frontend:?}{i}")))
            .collect();
        let run = |i: usize, extra: &[&str]| {
            let arg = format!("RUN_ID={}", ids[i]);
            let mut args = vec!["--build-arg", arg.as_str(), "--output", "type=cacheonly"];
            args.extend_from_slice(extra);
            build_ok(&dir, frontend, &args)
        };
        let first = run(0, &[]);
        assert!(
            printed(&first).any(|l| l == "perm: 750 1234 2345"),
            "{frontend:?}: mode/uid/gid not applied:\n{first}"
        );
        assert!(
            printed(&first).any(|l| l == "image: 0"),
            "{frontend:?}: cache mount content leaked into the image:\n{first}"
        );
        let second = run(1, &[]);
        let pair = format!("{} {}", ids[0], ids[1]);
        for want in [
            "shared: ",
            "private: ",
            "locked: ",
            "noid: ",
            "from: seeded ",
        ] {
            let label = want.trim_end();
            let line = printed(&second)
                .find(|l| l.starts_with(want))
                .unwrap_or_else(|| panic!("{frontend:?}: no {label:?} line:\n{second}"));
            assert!(
                line.contains(&pair),
                "{frontend:?}: the {label} cache mount did not keep the first build's \
                 write ({pair:?}):\n{line}"
            );
        }
        // Upstream gives `--no-cache` builds fresh cache mounts; Strata must do the same.
        let third = run(2, &["--no-cache"]);
        let shared = printed(&third)
            .find(|l| l.starts_with("shared: "))
            .unwrap_or_else(|| panic!("{frontend:?}: no shared line:\n{third}"))
            .to_owned();
        assert!(shared.contains(&ids[2]), "{frontend:?}: {shared}");
        no_cache_keeps.push(shared.contains(&ids[1]));
        eprintln!("{frontend:?} --no-cache: {shared}");
    }
    assert_eq!(
        no_cache_keeps[0], no_cache_keeps[1],
        "--no-cache and cache mounts: builtin kept old contents = {}, Strata = {}",
        no_cache_keeps[0], no_cache_keeps[1]
    );
}

/// `--no-cache` re-runs every step; `--no-cache-filter=<stage>` re-runs that stage's steps
/// and keeps the others; the CACHED pattern equals the builtin frontend's.
#[test]
fn no_cache_and_no_cache_filter_behave_as_upstream() {
    let dir = testdata("cache/control");
    let mut patterns = Vec::new();
    for frontend in [Frontend::Builtin, Frontend::Strata] {
        let n = nonce(&format!("{frontend:?}"));
        let arg = format!("NONCE={n}");
        let run = |extra: &[&str]| {
            let mut args = vec!["--build-arg", arg.as_str(), "--output", "type=cacheonly"];
            args.extend_from_slice(extra);
            let log = build_ok(&dir, frontend, &args);
            steps(&log)
                .into_iter()
                .map(|s| Step {
                    name: s.name.replace(&n, "NONCE"),
                    cached: s.cached,
                })
                .collect::<Vec<Step>>()
        };
        run(&[]);
        let warm = run(&[]);
        assert!(
            warm.len() == 7 && warm.iter().all(|s| s.cached),
            "{frontend:?}: warm rebuild not fully cached: {warm:#?}"
        );
        let none = run(&["--no-cache"]);
        assert!(
            none.len() == 7 && none.iter().all(|s| !s.cached),
            "{frontend:?}: --no-cache left steps cached: {none:#?}"
        );
        let filtered = run(&["--no-cache-filter", "mid"]);
        for s in &filtered {
            let in_mid = s.name.starts_with("[mid ");
            let upstream = s.name.starts_with("[base ") || s.name.starts_with("[other ");
            assert!(
                (!in_mid || !s.cached) && (!upstream || s.cached),
                "{frontend:?}: --no-cache-filter=mid: wrong for {s:?} in {filtered:#?}"
            );
        }
        eprintln!("{frontend:?} --no-cache-filter=mid: {filtered:?}");
        patterns.push(filtered);
    }
    let mut a = patterns[0].clone();
    let mut b = patterns[1].clone();
    let key = |s: &Step| s.name.clone();
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(a, b, "--no-cache-filter: builtin vs Strata");
}

/// `docker image inspect` of `reference`.
fn inspect(reference: &str) -> Value {
    let out = Command::new("docker")
        .args(["image", "inspect", reference])
        .output()
        .expect("docker image inspect");
    assert!(out.status.success(), "inspect {reference}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    v[0].clone()
}

/// `SOURCE_DATE_EPOCH=0`: two `--no-cache` Strata builds give the same image ID, equal to
/// the builtin frontend's, with `created` and the new history at the epoch. (`type=image`
/// cannot rewrite layer times on dockerd, so the case keeps to layers whose bytes are fixed;
/// see testdata/cache/reproducible. The calculator demo, `RUN` layers and all, exported with
/// `rewrite-timestamp`, is `e2e_repro.rs`.)
#[test]
fn source_date_epoch_gives_reproducible_images() {
    let dir = testdata("cache/reproducible");
    let tag = nonce("repro");
    let mut ids = Vec::new();
    let mut loaded = Vec::new();
    for (frontend, i) in [
        (Frontend::Strata, 1),
        (Frontend::Strata, 2),
        (Frontend::Builtin, 1),
    ] {
        let reference = format!("strata-e2e/repro:{tag}-{frontend:?}-{i}").to_lowercase();
        // No `rewrite-timestamp`: with dockerd's `unpack=true` the containerd store refuses
        // it for `type=image`. No provenance: its attestation names the frontend, so the
        // index digest (the image ID in the containerd store) would differ by frontend.
        let output = format!("type=image,name={reference}");
        build_ok(
            &dir,
            frontend,
            &[
                "--no-cache",
                "--provenance=false",
                "--build-arg",
                "SOURCE_DATE_EPOCH=0",
                "--output",
                &output,
            ],
        );
        let img = inspect(&reference);
        loaded.push(reference.clone());
        assert_eq!(
            img["Created"], "1970-01-01T00:00:00Z",
            "{frontend:?}: created"
        );
        ids.push(img["Id"].as_str().unwrap_or_default().to_owned());
        let history = Command::new("docker")
            .args([
                "history",
                "--no-trunc",
                "--format",
                "{{.CreatedAt}}|{{.CreatedBy}}",
            ])
            .arg(&reference)
            .output()
            .expect("docker history");
        let text = String::from_utf8_lossy(&history.stdout).into_owned();
        for line in text
            .lines()
            .filter(|l| l.contains("buildkit") || l.contains("ENV"))
        {
            assert!(
                line.starts_with("1970-01-01"),
                "{frontend:?}: history entry not at the epoch: {line}"
            );
        }
    }
    for r in &loaded {
        remove_image(r);
    }
    eprintln!("image IDs (strata, strata, builtin): {ids:?}");
    assert_eq!(ids[0], ids[1], "two --no-cache Strata builds differ");
    assert_eq!(ids[0], ids[2], "Strata and the builtin frontend differ");
}
