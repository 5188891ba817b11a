//! The checked-in pictures stay true: `docs/graph/<case>.svg` is exactly what
//! `strata graph` (SVG, the default format) draws for `testdata/graph/<case>.Dockerfile`
//! today, with the options of its `<case>.args`; `docs/graph/timings-<case>.svg` what
//! `strata graph --timings <case>.json` draws for `testdata/graph/timings/<case>.Dockerfile`
//! (each fixture there with a log of the same name). After a change to the layout or the
//! fixtures, `scripts/graph-docs.sh` redraws them (this test with `STRATA_GRAPH_DOCS=write`).

#![allow(clippy::unwrap_used)] // test helpers, not library code

mod fixture_args;
use fixture_args::options_for;

use std::path::{Path, PathBuf};

use strata::cli::{graph_with, render_graph, GraphFormat};
use strata::graph::timings::Timings;
use strata::includes::DirLoader;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `*.Dockerfile` fixtures in `dir` (with `log`, only those with a `.json` log beside
/// them), by name.
fn dockerfiles(dir: &Path, log: bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "Dockerfile"))
        .filter(|p| !log || p.with_extension("json").is_file())
        .collect();
    out.sort();
    out
}

/// Each fixture and the file name of its picture.
fn fixtures() -> Vec<(PathBuf, String)> {
    let stem = |p: &Path| p.file_stem().unwrap().to_string_lossy().into_owned();
    let dir = root().join("testdata/graph");
    let mut out: Vec<(PathBuf, String)> = dockerfiles(&dir, false)
        .into_iter()
        .map(|p| {
            let name = format!("{}.svg", stem(&p));
            (p, name)
        })
        .collect();
    for p in dockerfiles(&dir.join("timings"), true) {
        let name = format!("timings-{}.svg", stem(&p));
        out.push((p, name));
    }
    out
}

/// The SVG `strata graph` draws for the fixture at `path` (with the log beside it, for the
/// ones in `timings/`).
fn svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let dir = DirLoader(path.parent().unwrap().to_path_buf());
    let mut graph = graph_with(&text, "Dockerfile", &options_for(path), &dir)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.parent().is_some_and(|d| d.ends_with("timings")) {
        let log = std::fs::read_to_string(path.with_extension("json")).unwrap();
        let timings = Timings::parse(&log).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        graph
            .apply_timings(&timings)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(graph.timed, "{}: not timed", path.display());
    }
    render_graph(&graph, GraphFormat::Svg)
}

#[test]
fn docs_pictures_are_what_strata_draws() {
    let write = std::env::var("STRATA_GRAPH_DOCS").is_ok_and(|v| v == "write");
    let docs = root().join("docs/graph");
    let cases = fixtures();
    assert!(
        cases.len() >= 5,
        "testdata/graph holds the fixtures: {cases:?}"
    );
    let mut stale = Vec::new();
    for (path, name) in &cases {
        let picture = docs.join(name);
        let drawn = svg(path);
        if write {
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::write(&picture, &drawn).unwrap();
        } else if std::fs::read_to_string(&picture).ok().as_deref() != Some(drawn.as_str()) {
            stale.push(picture.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "not what strata graph draws now (run scripts/graph-docs.sh, look at them, commit): {stale:?}"
    );
    // No picture of a fixture that is gone.
    for entry in std::fs::read_dir(&docs).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".svg") {
            assert!(
                cases.iter().any(|(_, n)| *n == name),
                "docs/graph/{name} has no fixture"
            );
        }
    }
}
