//! The graph as Graphviz DOT, for people who render it elsewhere (`dot -Tsvg`).
//!
//! Waves read left to right (`rankdir=LR`, each wave `rank=same`); an included file's
//! stages sit in a cluster named after it. Edge kinds: `FROM` solid, `COPY --from` dashed,
//! mounts dotted, `ONBUILD` dashed with an open diamond; the longest chain is thick and
//! orange, stages the target does not need are grey, the target has a double border.

use std::fmt::Write as _;

use super::{EdgeKind, Graph};

/// The graph as a DOT `digraph`.
pub fn render(graph: &Graph) -> String {
    let mut out = String::new();
    out.push_str("digraph strata {\n");
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=11];\n");
    out.push_str("  graph [fontname=\"Helvetica\", fontsize=12];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    let on_chain = graph.chain_nodes();
    for (g, group) in graph.groups.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{g} {{");
        let _ = writeln!(out, "    label={};", quote(&group.file));
        out.push_str("    style=\"rounded,dashed\"; color=\"#868e96\";\n");
        for &i in &group.nodes {
            let _ = writeln!(out, "    {};", node_line(graph, i, on_chain[i]));
        }
        ranks(&mut out, "    ", graph, |i| graph.nodes[i].group == Some(g));
        out.push_str("  }\n");
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        if node.group.is_none() {
            let _ = writeln!(out, "  {};", node_line(graph, i, on_chain[i]));
        }
    }
    ranks(&mut out, "  ", graph, |i| graph.nodes[i].group.is_none());
    let chain_edges = graph.chain_edges();
    for e in &graph.edges {
        let (from, to) = (&graph.nodes[e.from].id, &graph.nodes[e.to].id);
        let mut attrs = match e.kind {
            EdgeKind::From => "style=solid".to_owned(),
            EdgeKind::Copy => "style=dashed, label=\"copy\"".to_owned(),
            EdgeKind::Mount => "style=dotted, label=\"mount\"".to_owned(),
            EdgeKind::Onbuild => "style=dashed, arrowhead=odiamond, label=\"onbuild\"".to_owned(),
        };
        if chain_edges.contains(&(e.from, e.to)) {
            attrs.push_str(", penwidth=3, color=\"#e8590c\"");
        } else if !graph.nodes[e.to].needed {
            attrs.push_str(", color=\"#adb5bd\", fontcolor=\"#adb5bd\"");
        }
        let _ = writeln!(out, "  {from} -> {to} [{attrs}];");
    }
    out.push_str("}\n");
    out
}

/// `s3 [label=…, …]` for node `i`.
fn node_line(graph: &Graph, i: usize, on_chain: bool) -> String {
    let node = &graph.nodes[i];
    let mut attrs = vec![format!(
        "label={}",
        quote(&super::text_lines(graph, i).join("\n"))
    )];
    if i == graph.target {
        attrs.push("peripheries=2".to_owned());
    }
    if on_chain {
        attrs.push("color=\"#e8590c\", penwidth=2".to_owned());
    }
    if !node.needed {
        attrs.push("fontcolor=\"#adb5bd\", color=\"#ced4da\", fillcolor=\"#f8f9fa\"".to_owned());
    } else if let Some(fill) = super::duration_fill(graph, i) {
        attrs.push(format!("fillcolor=\"{fill}\""));
    }
    format!("{} [{}]", node.id, attrs.join(", "))
}

/// `{ rank=same; … }` per wave, for the nodes `keep` selects.
fn ranks(out: &mut String, indent: &str, graph: &Graph, keep: impl Fn(usize) -> bool) {
    for wave in &graph.waves {
        let ids: Vec<&str> = wave
            .iter()
            .filter(|&&i| keep(i))
            .map(|&i| graph.nodes[i].id.as_str())
            .collect();
        if ids.len() > 1 {
            let _ = writeln!(out, "{indent}{{ rank=same; {}; }}", ids.join("; "));
        }
    }
}

/// A DOT string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
