//! The graph of small Dockerfiles: nodes, edges, waves, the longest chain.

use super::*;
use crate::options::BuildOptions;
use crate::pipeline::prepare;

/// The graph of `text` (a Dockerfile that includes nothing) built for linux/amd64.
pub(super) fn graph(text: &str) -> Graph {
    Graph::build(
        &prepare(
            text,
            "Dockerfile",
            &BuildOptions::new(crate::platform::Platform::linux_amd64()),
        )
        .unwrap(),
    )
}

#[test]
fn edges_of_every_kind_and_waves() {
    let g = graph(
        "FROM busybox AS a\nRUN a\n\
         FROM busybox AS b\nRUN b\nONBUILD COPY --from=a /a /a\n\
         FROM b AS c\nCOPY --from=a /x /x\n\
         FROM scratch AS unused\n\
         FROM busybox\nRUN --mount=from=c,target=/c true\nCOPY --from=b /y /y\n",
    );
    let edges: Vec<(usize, usize, EdgeKind)> =
        g.edges.iter().map(|e| (e.from, e.to, e.kind)).collect();
    assert_eq!(
        edges,
        vec![
            (1, 2, EdgeKind::From),
            (0, 2, EdgeKind::Copy),
            (0, 2, EdgeKind::Onbuild),
            (2, 4, EdgeKind::Mount),
            (1, 4, EdgeKind::Copy),
        ]
    );
    assert_eq!(g.waves, vec![vec![0, 1, 3], vec![2], vec![4]]);
    assert_eq!(g.target, 4);
    assert!(!g.nodes[3].needed);
    assert!(g.nodes[0].needed);
    assert_eq!(g.longest, vec![1, 2, 4]);
    assert_eq!(g.nodes[4].name, "stage-4");
    assert_eq!(g.nodes[2].base.kind, BaseKind::Stage);
}

#[test]
fn parameterised_instances_show_their_arguments() {
    let g = graph(
        "FROM busybox AS build(GOOS, GOARCH=amd64)\nRUN echo $GOOS\n\
         FROM scratch\nCOPY --from=build(GOOS=linux) / /\n",
    );
    assert_eq!(g.nodes[0].name, "build(GOOS=linux, GOARCH=amd64)");
    assert_eq!(g.nodes[0].steps, 1);
    assert_eq!(
        g.nodes[0].args,
        vec![
            ("GOOS".to_owned(), "linux".to_owned()),
            ("GOARCH".to_owned(), "amd64".to_owned())
        ]
    );
}

#[test]
fn checks_are_listed() {
    let g = graph("FROM busybox\nRUN make\nCHECK make test\n");
    assert_eq!(g.nodes[0].checks, vec!["CHECK make test".to_owned()]);
    assert_eq!(g.nodes[0].label, "");
}
