//! The checked-in pictures stay true: `docs/graph/<case>.svg` is exactly what
//! `strata graph` (SVG, the default format) draws for `testdata/graph/<case>.Dockerfile`
//! today, with the options of its `<case>.args`. After a change to the layout or the
//! fixtures, `scripts/graph-docs.sh` redraws them (this test with `STRATA_GRAPH_DOCS=write`).

#![allow(clippy::unwrap_used)] // test helpers, not library code

mod fixture_args;
use fixture_args::options_for;

use std::path::{Path, PathBuf};

use strata::cli::{graph_with, render_graph, GraphFormat};
use strata::includes::DirLoader;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The fixtures, by name.
fn fixtures() -> Vec<PathBuf> {
    let dir = root().join("testdata/graph");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "Dockerfile"))
        .collect();
    out.sort();
    out
}

/// The SVG `strata graph` draws for the fixture at `path`.
fn svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let dir = DirLoader(path.parent().unwrap().to_path_buf());
    let graph = graph_with(&text, "Dockerfile", &options_for(path), &dir)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    render_graph(&graph, GraphFormat::Svg)
}

#[test]
fn docs_pictures_are_what_strata_draws() {
    let write = std::env::var("STRATA_GRAPH_DOCS").is_ok_and(|v| v == "write");
    let docs = root().join("docs/graph");
    let cases = fixtures();
    assert!(
        cases.len() >= 3,
        "testdata/graph holds the fixtures: {cases:?}"
    );
    let mut stale = Vec::new();
    for path in &cases {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let picture = docs.join(format!("{stem}.svg"));
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
    let names: Vec<String> = cases
        .iter()
        .map(|p| format!("{}.svg", p.file_stem().unwrap().to_string_lossy()))
        .collect();
    for entry in std::fs::read_dir(&docs).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".svg") {
            assert!(names.contains(&name), "docs/graph/{name} has no fixture");
        }
    }
}
