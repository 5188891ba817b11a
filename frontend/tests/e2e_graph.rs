//! End-to-end `strata graph --timings`: a real build's `--progress=rawjson` log read back.
//!
//! `testdata/graph/timings-e2e/` has stages BuildKit runs in parallel; its `sleep`s make the
//! chain b → c the slowest, while e → f → g is the longest chain by waves. The fixture is
//! built by the Strata image under test (`--build-arg BUILDKIT_SYNTAX=$STRATA_IMAGE`,
//! `--no-cache` so the sleeps really run) with `--progress=rawjson` (buildx writes it to
//! stderr), then the `strata` binary of this build draws the graph with that log: the
//! critical path must be b → c → final, with durations the sleeps make plausible.
//! Needs the test bed and the image (`make testbed image`); run by `make e2e`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

/// The build may take this long (it sleeps about 5 s).
const TIMEOUT: Duration = Duration::from_secs(600);

fn testdata(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(case)
}

/// Builds `dir` with Strata, `--no-cache`, its rawjson progress (stderr) into `log`; the
/// build must succeed within [`TIMEOUT`]. Its stdout goes into the log too, but the build
/// exports to the cache only, so it prints nothing there.
fn build_rawjson(dir: &Path, log: &Path) {
    let mut cmd = Command::new("docker");
    cmd.args(["buildx", "build", "--no-cache", "--progress=rawjson"])
        .arg("--build-arg")
        .arg(format!("BUILDKIT_SYNTAX={}", support::strata_image()))
        .args(["--output", "type=cacheonly"])
        .arg(dir);
    let out = support::run_logged(cmd, log, TIMEOUT);
    let tail: Vec<&str> = out.log.lines().rev().take(20).collect();
    assert!(
        out.ok,
        "the build failed; its last lines, newest first:\n{}",
        tail.join("\n")
    );
}

/// What `strata graph args…` printed: exit status, stdout, stderr.
fn strata_graph(args: &[&Path]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("graph")
        .args(args)
        .output()
        .expect("run strata graph");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `strata graph --format json [--timings log] dockerfile`, which must succeed: the JSON
/// and what it printed on stderr.
fn graph_json(dockerfile: &Path, log: Option<&Path>) -> (Value, String) {
    let mut args: Vec<&Path> = vec![Path::new("--format"), Path::new("json")];
    if let Some(log) = log {
        args.extend([Path::new("--timings"), log]);
    }
    args.push(dockerfile);
    let (ok, stdout, stderr) = strata_graph(&args);
    assert!(ok, "strata graph {args:?} failed:\n{stderr}");
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("strata graph printed no JSON ({e}):\n{stdout}"));
    (json, stderr)
}

/// The names of the nodes `longest` lists.
fn longest(g: &Value) -> Vec<String> {
    g["longest"]
        .as_array()
        .expect("longest")
        .iter()
        .map(|i| name(g, i.as_u64().expect("node index") as usize))
        .collect()
}

fn name(g: &Value, i: usize) -> String {
    g["nodes"][i]["name"]
        .as_str()
        .expect("node name")
        .to_owned()
}

fn index(g: &Value, name: &str) -> usize {
    g["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .position(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

/// A stage's measured time (ms); every stage of this build has one.
fn duration(g: &Value, name: &str) -> u64 {
    g["nodes"][index(g, name)]["duration_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("stage {name} has no duration: {}", g["nodes"]))
}

/// When a stage's steps started and finished (ms from the build's start).
fn span(g: &Value, name: &str) -> (u64, u64) {
    let s = &g["measured"]["spans"][index(g, name)];
    match (s[0].as_u64(), s[1].as_u64()) {
        (Some(a), Some(b)) => (a, b),
        _ => panic!("stage {name} has no span: {s}"),
    }
}

#[test]
fn timings_show_the_chain_of_slow_stages_as_the_critical_path() {
    let dir = testdata("graph/timings-e2e");
    let dockerfile = dir.join("Dockerfile");
    let scratch = support::Scratch::new("e2e-graph", "timings");
    let log = scratch.0.join("progress.json");
    build_rawjson(&dir, &log);

    // Without timings, the longest chain by waves is the quick one.
    let (plain, _) = graph_json(&dockerfile, None);
    assert_eq!(longest(&plain), ["e", "f", "g", "final"]);

    let (g, stderr) = graph_json(&dockerfile, Some(&log));
    assert_eq!(g["timed"], true);
    assert_eq!(
        longest(&g),
        ["b", "c", "final"],
        "critical path; summary:\n{stderr}"
    );
    // Each sleep ran (plus a container start each, well under 20 s on any machine).
    for (stage, slept) in [("a", 1000), ("b", 3000), ("c", 2000), ("d", 1000)] {
        let ms = duration(&g, stage);
        assert!(
            (slept..slept + 20_000).contains(&ms),
            "{stage}: {ms} ms for a {slept} ms sleep"
        );
    }
    for quick in ["e", "f", "g"] {
        assert!(duration(&g, quick) < duration(&g, "b"), "{quick}: {stderr}");
    }
    // c ran after b; final's last step after c; the wall time covers them all.
    let (b, c, fin) = (span(&g, "b"), span(&g, "c"), span(&g, "final"));
    assert!(
        c.0 >= b.1 && fin.1 >= c.1,
        "b {b:?}, c {c:?}, final {fin:?}"
    );
    let wall = g["measured"]["wall_ms"].as_u64().expect("wall_ms");
    assert!(wall >= fin.1 && wall >= 5000, "wall time {wall} ms");
    assert_eq!(g["measured"]["unknown"], serde_json::json!([]));
    assert_eq!(g["measured"]["unfinished"], 0);
    // The summary on stderr: the path stage by stage, then the build's wall time.
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines[0].starts_with("critical path"), "{stderr}");
    let path: Vec<&str> = lines[1..4]
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(path, ["b", "c", "final"], "{stderr}");
    assert!(lines[4].starts_with("wall time "), "{stderr}");
    eprintln!("{stderr}");

    // The same log does not fit another Dockerfile: an error, not an empty picture.
    let other = testdata("e2e/multistage").join("Dockerfile");
    let (ok, _, err) = strata_graph(&[Path::new("--timings"), &log, &other]);
    assert!(!ok, "a log of another build was accepted");
    assert!(
        err.contains("none of this Dockerfile's (base, unused, build, stage-3)"),
        "{err}"
    );
}
