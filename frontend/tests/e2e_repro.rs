//! Reproducible images: the calculator demo (`testdata/e2e/calculator/Dockerfile.multi`)
//! built with `--no-cache`, `SOURCE_DATE_EPOCH=0` and
//! `--output type=docker,dest=…,rewrite-timestamp=true` has one image digest, build after
//! build, and the same one whether Strata or BuildKit's builtin frontend builds it.
//!
//! The builds go to the test bed's primary dockerd (28.5, containerd image store: `DOCKER_HOST`
//! or `/var/run/docker.sock`), whose buildx docker driver offers the `docker`/`oci` exporters
//! with `rewrite-timestamp`. `type=image` cannot be used: dockerd 28.5 forces `unpack=true`,
//! which BuildKit refuses beside `rewrite-timestamp` (moby/moby#51493, after 28.5). The
//! oldest daemon (26.1.5, classic store) has no such exporters, so this suite is not run there.
//!
//! Digests come from the builds themselves: buildx's `--metadata-file`
//! (`containerimage.digest`), checked against the `exporting manifest` progress line and the
//! exported tarball's `index.json`. The config in the tarball must carry the epoch as
//! `created`, also on every history entry the build added. A cached rebuild with
//! `SOURCE_DATE_EPOCH=1` is the negative control: every step comes from the cache, and the
//! digest must still change.
//!
//! Needs the test bed (`make testbed image`); run by `make e2e`.

mod support;

use std::fs;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::c8d::{c8d_host, strata_image};

/// One `docker` command may take this long.
const TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Clone, Copy, PartialEq, Debug)]
enum Frontend {
    Builtin,
    Strata,
}

fn calculator_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/e2e/calculator")
}

/// A path in the temp dir no other run uses.
fn temp_path(what: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    std::env::temp_dir().join(format!(
        "strata-e2e-repro-{}-{nanos}-{what}",
        std::process::id()
    ))
}

/// The demo's Dockerfile as the builtin frontend can read it: without the `CHECK` line
/// (as `scripts/bench.sh` does), kept outside the context.
fn plain_dockerfile() -> PathBuf {
    let text = fs::read_to_string(calculator_dir().join("Dockerfile.multi")).expect("Dockerfile");
    let plain: String = text
        .lines()
        .filter(|l| !l.starts_with("CHECK"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(
        plain.len(),
        text.len(),
        "Dockerfile.multi has no CHECK line"
    );
    let path = temp_path("plain.Dockerfile");
    fs::File::create(&path)
        .and_then(|mut f| f.write_all(plain.as_bytes()))
        .expect("write the plain Dockerfile");
    path
}

/// Runs `docker args…` against that dockerd; success and combined output.
fn docker(args: &[String]) -> (bool, String) {
    let path = temp_path("log");
    let mut cmd = Command::new("docker");
    cmd.args(args)
        .env("DOCKER_HOST", c8d_host())
        .current_dir(calculator_dir());
    let run = support::run_logged(cmd, &path, TIMEOUT);
    let _ = fs::remove_file(&path);
    (run.ok, run.log)
}

/// One exported build: what it reported and how long it took.
struct Export {
    label: String,
    digest: String,
    config: Value,
    steps: usize,
    uncached: Vec<String>,
    secs: f64,
}

/// Builds the calculator with `frontend`, `SOURCE_DATE_EPOCH=epoch` and
/// `--output type=docker,dest=…,rewrite-timestamp=true`; the digest from the metadata
/// file must match the progress log and the tarball's `index.json`.
fn export(
    label: &str,
    frontend: Frontend,
    dockerfile: &Path,
    epoch: i64,
    no_cache: bool,
) -> Export {
    let tarball = temp_path("image.tar");
    let metadata = temp_path("metadata.json");
    let mut args: Vec<String> = ["buildx", "build", "--progress=plain"]
        .map(String::from)
        .into();
    if no_cache {
        args.push("--no-cache".into());
    }
    args.push("--build-arg".into());
    args.push(format!("SOURCE_DATE_EPOCH={epoch}"));
    if frontend == Frontend::Strata {
        args.push("--build-arg".into());
        args.push(format!("BUILDKIT_SYNTAX={}", strata_image()));
    }
    args.push("-f".into());
    args.push(dockerfile.display().to_string());
    args.push("--metadata-file".into());
    args.push(metadata.display().to_string());
    args.push("--output".into());
    args.push(format!(
        "type=docker,dest={},rewrite-timestamp=true",
        tarball.display()
    ));
    args.push(".".into());

    let started = Instant::now();
    let (ok, log) = docker(&args);
    let secs = started.elapsed().as_secs_f64();
    assert!(ok, "{label}: {frontend:?} build failed:\n{log}");
    assert!(
        log.contains(&format!("rewriting layers with source-date-epoch {epoch} ")),
        "{label}: the exporter did not rewrite the layers' timestamps:\n{log}"
    );
    let meta: Value = serde_json::from_slice(&fs::read(&metadata).expect("metadata file"))
        .expect("metadata JSON");
    let _ = fs::remove_file(&metadata);
    let digest = meta["containerimage.digest"]
        .as_str()
        .unwrap_or_else(|| panic!("{label}: no containerimage.digest in {meta}"))
        .to_owned();
    assert!(
        log.contains(&format!("exporting manifest {digest}")),
        "{label}: the progress log does not export manifest {digest}:\n{log}"
    );
    let config_digest = meta["containerimage.config.digest"]
        .as_str()
        .unwrap_or_else(|| panic!("{label}: no containerimage.config.digest in {meta}"))
        .to_owned();
    let (index, config) = read_tarball(&tarball, &config_digest);
    let _ = fs::remove_file(&tarball);
    assert_eq!(
        index["manifests"][0]["digest"].as_str(),
        Some(digest.as_str()),
        "{label}: index.json of the exported tarball: {index}"
    );
    Export {
        label: label.to_owned(),
        digest,
        config,
        steps: steps(&log).len(),
        uncached: uncached_steps(&log),
        secs,
    }
}

/// `index.json` and the config blob of a `type=docker` tarball.
fn read_tarball(path: &Path, config_digest: &str) -> (Value, Value) {
    let blob = format!(
        "blobs/sha256/{}",
        config_digest
            .strip_prefix("sha256:")
            .expect("sha256 digest")
    );
    let mut archive = tar::Archive::new(fs::File::open(path).expect("open tarball"));
    let (mut index, mut config) = (None, None);
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry.path().expect("entry path").display().to_string();
        if name == "index.json" || name == blob {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read entry");
            let value: Value = serde_json::from_slice(&bytes).expect("JSON entry");
            if name == blob {
                config = Some(value);
            } else {
                index = Some(value);
            }
        }
    }
    (
        index.expect("index.json in the tarball"),
        config.unwrap_or_else(|| panic!("{blob} in the tarball")),
    )
}

/// The `[stage i/n] RUN|COPY|WORKDIR …` steps of a plain progress log, as (vertex
/// number, name).
fn steps(log: &str) -> Vec<(String, String)> {
    step_lines(log).0
}

/// The steps of [`steps`] that ran rather than coming from the cache.
fn uncached_steps(log: &str) -> Vec<String> {
    let (steps, cached) = step_lines(log);
    steps
        .into_iter()
        .filter(|(n, _)| !cached.contains(n))
        .map(|(_, s)| s)
        .collect()
}

/// The steps of a plain progress log (see [`steps`]) and the vertex numbers reported `CACHED`.
fn step_lines(log: &str) -> (Vec<(String, String)>, Vec<String>) {
    let mut steps: Vec<(String, String)> = Vec::new();
    let mut cached: Vec<String> = Vec::new();
    for line in log.lines() {
        let Some((num, text)) = line.strip_prefix('#').and_then(|r| r.split_once(' ')) else {
            continue;
        };
        if num.parse::<u32>().is_err() {
            continue;
        }
        let text = text.trim();
        if text == "CACHED" {
            cached.push(num.to_owned());
        } else if text.starts_with('[')
            && ["] RUN ", "] COPY ", "] WORKDIR "]
                .iter()
                .any(|k| text.contains(k))
            && !steps.iter().any(|(n, _)| n == num)
        {
            steps.push((num.to_owned(), text.to_owned()));
        }
    }
    (steps, cached)
}

/// `created` of the image and of every history entry the build added is the epoch;
/// entries inherited from the base image keep their own.
fn assert_epoch(e: &Export, expected: &str) {
    assert_eq!(
        e.config["created"].as_str(),
        Some(expected),
        "{}: created",
        e.label
    );
    let history = e.config["history"].as_array().cloned().unwrap_or_default();
    let added: Vec<&Value> = history
        .iter()
        .filter(|h| h["comment"].as_str() == Some("buildkit.dockerfile.v0"))
        .collect();
    assert!(!added.is_empty(), "{}: no history from the build", e.label);
    for h in added {
        assert_eq!(
            h["created"].as_str(),
            Some(expected),
            "{}: history entry {h}",
            e.label
        );
    }
}

/// Two `--no-cache` Strata builds with `SOURCE_DATE_EPOCH=0` give one digest; the builtin
/// frontend gives the same one; `SOURCE_DATE_EPOCH=1` gives another, with the `apt-get`
/// steps from the cache (docker/dockerfile 1.19+ dates `WORKDIR` directories with the epoch,
/// so those steps and what follows them may run again), and the builtin frontend's epoch-1
/// build right after finds all its steps in the cache and gives the same digest.
#[test]
fn calculator_image_digest_is_reproducible() {
    let multi = calculator_dir().join("Dockerfile.multi");
    let plain = plain_dockerfile();
    let s1 = export("strata #1", Frontend::Strata, &multi, 0, true);
    let b1 = export("builtin", Frontend::Builtin, &plain, 0, true);
    let s2 = export("strata #2", Frontend::Strata, &multi, 0, true);
    let n = export("strata, epoch 1", Frontend::Strata, &multi, 1, false);
    let bn = export("builtin, epoch 1", Frontend::Builtin, &plain, 1, false);
    let _ = fs::remove_file(&plain);

    eprintln!("| build | SOURCE_DATE_EPOCH | cache | image digest | seconds |");
    eprintln!("|---|---|---|---|---:|");
    for (e, epoch, cache) in [
        (&s1, 0, "--no-cache"),
        (&b1, 0, "--no-cache"),
        (&s2, 0, "--no-cache"),
        (&n, 1, "cached"),
        (&bn, 1, "cached"),
    ] {
        eprintln!(
            "| {} | {epoch} | {cache} | {} | {:.1} |",
            e.label, e.digest, e.secs
        );
    }

    for e in [&s1, &b1, &s2] {
        assert_epoch(e, "1970-01-01T00:00:00Z");
        assert!(
            e.uncached.iter().any(|s| s.contains("RUN apt-get")),
            "{}: --no-cache did not run the apt-get step: {:?}",
            e.label,
            e.uncached
        );
    }
    assert_epoch(&n, "1970-01-01T00:00:01Z");
    assert_eq!(
        s1.digest, s2.digest,
        "two --no-cache Strata builds gave different digests"
    );
    assert_eq!(
        s1.digest, b1.digest,
        "Strata and the builtin frontend gave different digests"
    );
    assert_epoch(&bn, "1970-01-01T00:00:01Z");
    assert!(
        n.steps > 0 && !n.uncached.iter().any(|s| s.contains("RUN apt-get")),
        "the epoch-1 rebuild ran the apt-get steps instead of taking them from the cache \
         ({} steps, ran: {:?})",
        n.steps,
        n.uncached
    );
    assert!(
        bn.steps > 0 && bn.uncached.is_empty(),
        "the builtin frontend's epoch-1 build ran steps the Strata build before it had just \
         cached, so their ops differ ({} steps, ran: {:?})",
        bn.steps,
        bn.uncached
    );
    assert_eq!(
        n.digest, bn.digest,
        "Strata and the builtin frontend gave different digests with SOURCE_DATE_EPOCH=1"
    );
    assert_ne!(
        n.digest, s1.digest,
        "SOURCE_DATE_EPOCH=1 gave the same digest as SOURCE_DATE_EPOCH=0"
    );
}
