//! The graph as a mermaid flowchart, for a pull-request comment or a wiki page
//! (` ```mermaid ` block).
//!
//! Left to right; an included file's stages in a `subgraph` named after it. Edge kinds:
//! `FROM` a solid arrow, `COPY --from` a dotted arrow labelled `copy`, mounts a dotted arrow
//! labelled `mount`, `ONBUILD` a circle-ended line labelled `onbuild`. Classes: `target`,
//! `chain` (the longest chain, with its edges thick), `dimmed` (not needed).

use std::fmt::Write as _;

use super::{EdgeKind, Graph};

/// The graph as mermaid flowchart text.
pub fn render(graph: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for (g, group) in graph.groups.iter().enumerate() {
        let _ = writeln!(out, "  subgraph g{g}[{}]", quote(&group.file));
        for &i in &group.nodes {
            let _ = writeln!(out, "    {}", node(graph, i));
        }
        out.push_str("  end\n");
    }
    for (i, n) in graph.nodes.iter().enumerate() {
        if n.group.is_none() {
            let _ = writeln!(out, "  {}", node(graph, i));
        }
    }
    let chain_edges = graph.chain_edges();
    let mut thick = Vec::new();
    for (k, e) in graph.edges.iter().enumerate() {
        let (from, to) = (&graph.nodes[e.from].id, &graph.nodes[e.to].id);
        let arrow = match e.kind {
            EdgeKind::From => "-->",
            EdgeKind::Copy => "-.->|copy|",
            EdgeKind::Mount => "-.->|mount|",
            EdgeKind::Onbuild => "--o|onbuild|",
        };
        let _ = writeln!(out, "  {from} {arrow} {to}");
        if chain_edges.contains(&(e.from, e.to)) {
            thick.push(k.to_string());
        }
    }
    out.push_str("  classDef target stroke-width:4px\n");
    out.push_str("  classDef chain stroke:#e8590c,stroke-width:3px\n");
    out.push_str("  classDef dimmed fill:#f8f9fa,stroke:#ced4da,color:#adb5bd\n");
    let class = |name: &str, ids: Vec<&str>, out: &mut String| {
        if !ids.is_empty() {
            let _ = writeln!(out, "  class {} {name}", ids.join(","));
        }
    };
    let ids = |f: &dyn Fn(usize) -> bool| -> Vec<&str> {
        (0..graph.nodes.len())
            .filter(|&i| f(i))
            .map(|i| graph.nodes[i].id.as_str())
            .collect()
    };
    let on_chain = graph.chain_nodes();
    class("chain", ids(&|i| on_chain[i]), &mut out);
    class("dimmed", ids(&|i| !graph.nodes[i].needed), &mut out);
    class("target", ids(&|i| i == graph.target), &mut out);
    for (i, n) in graph.nodes.iter().enumerate() {
        if n.needed {
            if let Some(fill) = super::duration_fill(graph, i) {
                let _ = writeln!(out, "  style {} fill:{fill}", n.id);
            }
        }
    }
    if !thick.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#e8590c,stroke-width:3px",
            thick.join(",")
        );
    }
    out
}

/// `s3["name<br/>…"]`.
fn node(graph: &Graph, i: usize) -> String {
    format!(
        "{}[{}]",
        graph.nodes[i].id,
        quote(&super::text_lines(graph, i).join("<br/>"))
    )
}

/// A mermaid quoted label: `"` becomes `#quot;`, and `<`/`>` outside the `<br/>`s are
/// entities, so an image reference never turns into markup.
fn quote(s: &str) -> String {
    let escaped = s
        .replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace("#lt;br/#gt;", "<br/>");
    format!("\"{escaped}\"")
}
