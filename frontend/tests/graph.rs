//! Golden tests: every `testdata/graph/*.Dockerfile` draws the stage graph in its snapshots,
//! as mermaid, DOT and JSON (`strata graph --format …`). Options come from a sibling
//! `<case>.args` file, as for the LLB goldens; `INCLUDE`d files live beside the fixtures.

#![allow(clippy::unwrap_used)] // test helpers, not library code

mod fixture_args;
use fixture_args::options_for;

use std::path::Path;
use std::process::Command;

use strata::cli::{graph_with, render_graph, GraphFormat};
use strata::graph::Graph;
use strata::includes::DirLoader;

fn graph(path: &Path) -> Graph {
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let dir = DirLoader(path.parent().unwrap().to_path_buf());
    graph_with(&text, "Dockerfile", &options_for(path), &dir)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn golden_mermaid() {
    insta::glob!("../../testdata/graph", "*.Dockerfile", |path| {
        insta::assert_snapshot!(render_graph(&graph(path), GraphFormat::Mermaid));
    });
}

#[test]
fn golden_dot() {
    insta::glob!("../../testdata/graph", "*.Dockerfile", |path| {
        insta::assert_snapshot!(render_graph(&graph(path), GraphFormat::Dot));
    });
}

#[test]
fn golden_json() {
    insta::glob!("../../testdata/graph", "*.Dockerfile", |path| {
        insta::assert_snapshot!(render_graph(&graph(path), GraphFormat::Json));
    });
}

/// Every wave only uses stages of earlier waves, and each wave's stages use none of each
/// other: what "can run at the same time" means.
#[test]
fn waves_only_look_back() {
    insta::glob!("../../testdata/graph", "*.Dockerfile", |path| {
        let g = graph(path);
        for e in &g.edges {
            assert!(
                g.nodes[e.from].wave < g.nodes[e.to].wave,
                "{}: {} → {}",
                path.display(),
                g.nodes[e.from].name,
                g.nodes[e.to].name
            );
        }
        let listed: usize = g.waves.iter().map(Vec::len).sum();
        assert_eq!(listed, g.nodes.len(), "{}", path.display());
        // The longest chain ends at the target, follows edges and visits one stage per wave
        // up to the target's.
        assert_eq!(g.longest.last(), Some(&g.target));
        assert_eq!(g.longest.len(), g.nodes[g.target].wave + 1);
        for w in g.longest.windows(2) {
            assert!(g.edges.iter().any(|e| e.from == w[0] && e.to == w[1]));
        }
    });
}

/// `strata graph` as a binary: the format flag, and an error naming the file and line.
#[test]
fn the_command_draws_and_locates_errors() {
    let bin = env!("CARGO_BIN_EXE_strata");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/graph/params.Dockerfile"
    );
    let out = Command::new(bin)
        .args(["graph", "--format", "dot", fixture])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("digraph strata {"));

    let dir = std::env::temp_dir().join(format!("strata-graph-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("Dockerfile");
    std::fs::write(&broken, "FROM busybox:local AS a\nFROOM a\n").unwrap();
    let out = Command::new(bin)
        .args(["graph", "--format", "mermaid"])
        .arg(&broken)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Dockerfile:2:"), "{stderr}");
    assert!(out.stdout.is_empty());
}
