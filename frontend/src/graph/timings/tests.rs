//! Timings read from small hand-written rawjson logs (`testdata/graph/timings/`): merged
//! updates, cached steps, multi-platform names, the critical path the build took, and the
//! errors a wrong or broken log gives.

use super::log::{parse_time, step_stage};
use super::*;
use crate::graph::tests::graph;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../testdata/graph/timings/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The graph of `<case>.Dockerfile` timed by `<log>`.
fn timed(case: &str, log: &str) -> Graph {
    let mut g = graph(&fixture(&format!("{case}.Dockerfile")));
    let t = Timings::parse(&fixture(log)).unwrap_or_else(|e| panic!("{log}: {e}"));
    g.apply_timings(&t).unwrap_or_else(|e| panic!("{log}: {e}"));
    g
}

fn node(g: &Graph, name: &str) -> usize {
    g.nodes
        .iter()
        .position(|n| n.name == name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

fn names(g: &Graph, chain: &[usize]) -> Vec<String> {
    chain.iter().map(|&i| g.nodes[i].name.clone()).collect()
}

/// One log line listing one vertex.
fn vertex(digest: &str, name: &str, started: &str, completed: &str) -> String {
    let mut v = serde_json::json!({ "digest": digest, "name": name });
    if !started.is_empty() {
        v["started"] = format!("2026-12-07T20:00:{started}Z").into();
    }
    if !completed.is_empty() {
        v["completed"] = format!("2026-12-07T20:00:{completed}Z").into();
    }
    format!("{}\n", serde_json::json!({ "vertexes": [v] }))
}

#[test]
fn the_critical_path_is_the_one_the_build_waited_for() {
    let g = timed("critical", "critical.json");
    // By waves, b → c → final is longest; the build waited for `slow`.
    let untimed = graph(&fixture("critical.Dockerfile"));
    assert_eq!(names(&g, &untimed.longest), ["b", "c", "stage-3"]);
    assert_eq!(names(&g, &g.longest), ["slow", "stage-3"]);
    assert!(g.timed);
    let ms = |n: &str| g.nodes[node(&g, n)].duration_ms;
    assert_eq!(ms("slow"), Some(5000));
    // b's cached FROM (an instant) and its RUN.
    assert_eq!(ms("b"), Some(1000));
    assert_eq!(ms("c"), Some(1000));
    // Two COPY steps back to back: 0.1 s + 0.2 s.
    assert_eq!(ms("stage-3"), Some(300));
    let m = g.measured.as_ref().unwrap();
    assert_eq!(m.wall_ms, 5900);
    assert_eq!(m.spans[node(&g, "c")], Some([1300, 2300]));
    assert!(m.unknown.is_empty() && m.platform.is_none() && m.platforms.is_empty());
}

#[test]
fn the_summary_lists_the_path_the_wall_time_and_the_slowest() {
    let g = timed("critical", "critical.json");
    assert_eq!(
        summary(&g),
        "critical path (each stage's own time; when it ran, from the build's start):\n  \
         slow        5.0 s  300 ms → 5.3 s\n  \
         stage-3    300 ms  5.3 s → 5.6 s\n\
         wall time 5.9 s (first step started to last finished); 1 of 6 steps cached\n\
         slowest stages: slow 5.0 s, b 1.0 s, c 1.0 s\n"
    );
    assert_eq!(summary(&graph("FROM busybox\n")), "");
}

#[test]
fn repeated_updates_of_a_vertex_are_merged_by_digest() {
    let log = [
        vertex("sha256:1", "[a 1/2] RUN x", "", ""),
        vertex("sha256:1", "[a 1/2] RUN x", "01", ""),
        vertex("sha256:2", "[a 2/2] RUN y", "02", ""),
        vertex("sha256:1", "[a 1/2] RUN x", "01", "03"),
        vertex("sha256:2", "[a 2/2] RUN y", "02", "04"),
        // Listed again once done, as buildx does when a status of it changes.
        vertex("sha256:1", "[a 1/2] RUN x", "01", "03"),
    ]
    .concat();
    let t = Timings::parse(&log).unwrap();
    assert_eq!(t.stages.len(), 1);
    let a = &t.stages[0];
    assert_eq!((a.label.as_str(), a.steps, a.cached), ("a", 2, 0));
    // Overlapping steps count once: 1 s → 4 s.
    assert_eq!(a.busy(), 3_000_000_000);
    assert_eq!(t.unfinished, 0);
}

#[test]
fn a_vertex_run_twice_counts_both_runs() {
    // A cache check, then the real run (BuildKit restarts the vertex).
    let log = [
        vertex("sha256:1", "[a 1/1] RUN x", "01", "01.5"),
        vertex("sha256:1", "[a 1/1] RUN x", "03", "04"),
    ]
    .concat();
    let t = Timings::parse(&log).unwrap();
    assert_eq!(t.stages[0].spans.len(), 2);
    assert_eq!(t.stages[0].busy(), 1_500_000_000);
}

#[test]
fn cached_steps_take_no_time() {
    let cached = |d: &str, n: &str, at: &str| {
        let line = vertex(d, n, at, at);
        line.replace("\"name\"", "\"cached\":true,\"name\"")
    };
    let log = [
        cached("sha256:1", "[a 1/2] FROM busybox", "01"),
        cached("sha256:2", "[a 2/2] RUN x", "01"),
        vertex("sha256:3", "[stage-1 1/1] COPY --from=a / /", "01", "02"),
    ]
    .concat();
    let t = Timings::parse(&log).unwrap();
    assert_eq!((t.stages[0].steps, t.stages[0].cached), (2, 2));
    let mut g = graph("FROM busybox AS a\nRUN x\nFROM scratch\nCOPY --from=a / /\n");
    g.apply_timings(&t).unwrap();
    assert_eq!(g.nodes[0].duration_ms, Some(0));
    let m = g.measured.as_ref().unwrap();
    assert_eq!((m.steps, m.cached), (3, 2));
    assert_eq!(g.nodes[1].duration_ms, Some(1000));
    assert_eq!(g.longest, vec![0, 1]);
}

#[test]
fn a_multi_platform_build_shows_the_platform_that_finished_last() {
    let g = timed("multiplatform", "multiplatform.json");
    let m = g.measured.as_ref().unwrap();
    assert_eq!(m.platform.as_deref(), Some("linux/arm64"));
    assert_eq!(
        m.platforms,
        vec![
            PlatformEnd {
                platform: "linux/amd64".into(),
                finished_ms: 1400
            },
            PlatformEnd {
                platform: "linux/arm64".into(),
                finished_ms: 3500
            },
        ]
    );
    // arm64's own run of `a`, not amd64's 1 s.
    assert_eq!(g.nodes[node(&g, "a")].duration_ms, Some(3000));
    // `tool` ran once for both platforms, under amd64's name.
    assert_eq!(g.nodes[node(&g, "tool")].duration_ms, Some(500));
    assert_eq!(g.nodes[node(&g, "stage-2")].duration_ms, Some(300));
    assert_eq!(names(&g, &g.longest), ["a", "stage-2"]);
    assert!(summary(&g).starts_with(
        "platform linux/arm64: the one that finished last (linux/amd64 1.4 s, linux/arm64 3.5 s)\n\
         critical path (each stage's own time; when it ran, from the build's start):\n"
    ));
}

#[test]
fn buildx_0_13_writes_indented_objects_and_a_one_stage_build_has_no_label() {
    let g = timed("one-stage", "one-stage-buildx013.json");
    assert_eq!(g.nodes[0].label, "");
    assert_eq!(g.nodes[0].duration_ms, Some(2000));
    let m = g.measured.as_ref().unwrap();
    // Times with a zone offset: 21:00+01:00 is 20:00Z; the build took 2.2 s.
    assert_eq!(m.wall_ms, 2200);
    assert_eq!(m.spans[0], Some([100, 2200]));
}

#[test]
fn a_log_of_another_dockerfile_is_an_error() {
    let t = Timings::parse(&fixture("critical.json")).unwrap();
    let mut g = graph("FROM busybox AS x\nRUN x\nFROM busybox AS y\nCOPY --from=x / /\n");
    let err = g.apply_timings(&t).unwrap_err();
    assert_eq!(
        err,
        "the log's stages (b, c, slow, stage-3) are none of this Dockerfile's (x, y): is it the log of another build?"
    );
    assert!(!g.timed && g.nodes.iter().all(|n| n.duration_ms.is_none()));
}

#[test]
fn long_lists_of_stages_are_cut_in_messages() {
    let log: String = (0..12)
        .map(|i| {
            vertex(
                &format!("sha256:{i}"),
                &format!("[s{i:02} 1/1] RUN x"),
                "01",
                "02",
            )
        })
        .collect();
    let mut g = graph("FROM busybox AS x\nRUN x\n");
    let err = g.apply_timings(&Timings::parse(&log).unwrap()).unwrap_err();
    assert_eq!(
        err,
        "the log's stages (s00, s01, s02, s03, s04, s05, s06, s07, s08, s09, … (12 in all)) \
         are none of this Dockerfile's ((the one stage)): is it the log of another build?"
    );
}

#[test]
fn stages_the_file_does_not_define_are_named_in_the_summary() {
    let log = [
        vertex("sha256:1", "[a 1/1] RUN x", "01", "02"),
        vertex("sha256:2", "[gone 1/1] RUN y", "01", "03"),
    ]
    .concat();
    let mut g = graph("FROM busybox AS a\nRUN x\nFROM scratch\nCOPY --from=a / /\n");
    g.apply_timings(&Timings::parse(&log).unwrap()).unwrap();
    assert_eq!(g.measured.as_ref().unwrap().unknown, ["gone"]);
    assert!(summary(&g).contains("stages this Dockerfile does not define: gone\n"));
    // The target has no step in this log.
    assert!(summary(&g).contains("stage-1  not in the log\n"));
}

#[test]
fn a_step_that_never_finished_runs_to_the_end_of_the_log() {
    let log = [
        vertex("sha256:1", "[a 1/1] RUN x", "01", ""),
        vertex("sha256:2", "[b 1/1] RUN y", "01", "05"),
    ]
    .concat();
    let t = Timings::parse(&log).unwrap();
    assert_eq!(t.unfinished, 1);
    assert_eq!(t.stages[0].busy(), 4_000_000_000);
}

#[test]
fn malformed_logs_are_errors_naming_the_line() {
    let good = vertex("sha256:1", "[a 1/1] RUN x", "01", "02");
    let err = |text: &str| Timings::parse(text).unwrap_err();
    let broken = format!("{good}{good}{{\"vertexes\":[{{\"digest\":\n");
    assert_eq!(
        err(&broken),
        "line 3: not a `--progress=rawjson` log (EOF while parsing a value at line 4 column 0)"
    );
    assert!(
        err("#0 building with \"default\" instance using docker driver\n")
            .starts_with("line 1: not a `--progress=rawjson` log (")
    );
    assert_eq!(
        err(&format!("{good}\n[1, 2]\n")),
        "line 3: expected a progress update (a JSON object), found an array"
    );
    assert!(err(&format!("{good}{{\"vertexes\":{{}}}}\n"))
        .starts_with("line 2: not a BuildKit progress update: "));
    assert_eq!(
        err(&good.replace("20:00:02", "20:00:2")),
        "line 1: bad time \"2026-12-07T20:00:2Z\""
    );
    assert_eq!(
        err("{\"vertexes\":[{\"name\":\"[a 1/1] RUN x\"}]}\n"),
        "line 1: a vertex without a digest"
    );
    assert_eq!(
        err(""),
        "no progress updates: is this a `--progress=rawjson` log?"
    );
    assert_eq!(
        err(&vertex(
            "sha256:1",
            "[internal] load .dockerignore",
            "01",
            "02"
        )),
        "no stage steps in this log (no `[stage n/m] …` progress name)"
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let log = "{\"vertexes\":[{\"digest\":\"sha256:1\",\"name\":\"[a 1/1] RUN x\",\
               \"started\":\"2026-12-07T20:00:01Z\",\"completed\":\"2026-12-07T20:00:02Z\",\
               \"progressGroup\":{\"id\":\"g\"},\"future\":[1]}],\"somethingNew\":{}}\n";
    assert_eq!(Timings::parse(log).unwrap().stages[0].busy(), 1_000_000_000);
}

#[test]
fn progress_names_say_which_stage_a_step_is_of() {
    let s = |n: &str| step_stage(n).map(|(p, l)| (p.unwrap_or_default(), l));
    let pair = |p: &str, l: &str| Some((p.to_owned(), l.to_owned()));
    assert_eq!(s("[build 2/5] RUN make"), pair("", "build"));
    assert_eq!(s("[build  1/12] FROM x"), pair("", "build"));
    assert_eq!(s("[3/3] COPY . ."), pair("", ""));
    assert_eq!(s("[s 1/3] ONBUILD COPY a b"), pair("", "s"));
    assert_eq!(
        s("[linux/arm64 build 2/3] RUN x"),
        pair("linux/arm64", "build")
    );
    assert_eq!(s("[linux/arm/v7 1/2] RUN x"), pair("linux/arm/v7", ""));
    assert_eq!(
        s("[build.goos-linux.goarch-amd64 1/2] RUN x"),
        pair("", "build.goos-linux.goarch-amd64")
    );
    // The builtin frontend's cross-compiling steps count for the platform built for.
    assert_eq!(
        s("[linux/amd64->arm64 build 2/3] RUN x"),
        pair("linux/arm64", "build")
    );
    assert_eq!(
        s("[linux/amd64->arm/v7 build 2/3] RUN x"),
        pair("linux/arm/v7", "build")
    );
    assert_eq!(
        s("[linux/amd64->windows/amd64 b 1/1] RUN x"),
        pair("windows/amd64", "b")
    );
    for other in [
        "[internal] load build definition from Dockerfile",
        "[auth] library/busybox:pull token for registry-1.docker.io",
        "[linux/amd64 internal] load metadata for docker.io/library/busybox:latest",
        "exporting to image",
        "[a b c 1/2] RUN x",
        "[a x/2] RUN x",
        "[a 1/] RUN x",
        "",
    ] {
        assert_eq!(s(other), None, "{other}");
    }
}

#[test]
fn times_are_rfc3339_as_go_writes_them() {
    let base = parse_time("2026-12-07T20:21:09Z").unwrap();
    assert_eq!(base, 1_796_674_869_000_000_000);
    assert_eq!(
        parse_time("2026-12-07T20:21:09.19558792Z"),
        Some(base + 195_587_920)
    );
    assert_eq!(parse_time("2026-12-07T21:21:09+01:00"), Some(base));
    assert_eq!(
        parse_time("2026-12-07T15:21:09.5-05:00"),
        Some(base + 500_000_000)
    );
    assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_time("2024-02-29T00:00:00Z"),
        Some(1_709_164_800_000_000_000)
    );
    for bad in [
        "",
        "2026-12-07",
        "2026-12-07T20:21:09",
        "2026-13-07T20:21:09Z",
        "2026-12-07T20:21:09.Z",
        "2026-12-07T20:21:09.1234567890Z",
        "2026-12-07T20:21:09+0100",
        "2026-12-07T2x:21:09Z",
    ] {
        assert_eq!(parse_time(bad), None, "{bad}");
    }
}
