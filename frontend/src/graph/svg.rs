//! The graph as a standalone SVG picture, laid out by [`super::layout`] (no graphviz).
//!
//! Waves are columns read left to right, labelled on top. Each stage is a box with its
//! [`super::text_lines`] (the name bold; lines too long end in `…`, the full text is the
//! box's tooltip). Edge kinds: `FROM` solid, `COPY --from` dashed, mounts dotted,
//! `ONBUILD` dash-dot, each with an arrowhead; a legend on top says so. The longest chain
//! (with `--timings`, the critical path) is orange, edges and borders; the target has a
//! double border; stages the target does not need are grey and faded; measured stages are
//! filled by their duration ([`super::duration_fill`]). An included file's stages sit on a
//! labelled rounded box.

use std::fmt::Write as _;

use super::layout::{
    self, legend_width, text_width, truncate, Layout, Path, Seg, CHAR_W, FONT_SIZE, LEGEND,
    LEGEND_SAMPLE, LEGEND_SPACE, LINE_H, MARGIN, TITLE_H,
};
use super::{duration_fill, format_ms, EdgeKind, Graph};

/// Colour of edges and borders.
const INK: &str = "#495057";
/// Colour of what the target does not need.
const DIM: &str = "#adb5bd";
/// Colour of the longest chain.
const CHAIN: &str = "#e8590c";
/// How stages and edges look, by class (see [`node`] and [`edges`]): written once, not
/// on each of a thousand boxes.
const STYLE: &str = "<style>
.n text { fill: #212529; }
.n rect { fill: #ffffff; stroke: #495057; stroke-width: 1.2; }
.n .b { font-weight: bold; }
.n.dim { opacity: 0.6; }
.n.dim rect { fill: #f1f3f5; stroke: #adb5bd; stroke-width: 1; }
.n.dim text { fill: #868e96; }
.n.chain rect { stroke: #e8590c; stroke-width: 2.5; }
.n rect.t { fill: none; }
.e { fill: none; stroke: #495057; stroke-width: 1.2; }
.e.dim { stroke: #adb5bd; }
.e.chain { stroke: #e8590c; stroke-width: 2.5; }
.copy { stroke-dasharray: 6 4; }
.mount { stroke-dasharray: 1.5 3; }
.onbuild { stroke-dasharray: 8 3 2 3; }
</style>
";
/// The font: any monospace one (text is measured as monospace).
const FONT: &str = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace";

/// The graph as an SVG document.
pub fn render(graph: &Graph) -> String {
    let l = layout::layout(graph);
    let (w, h) = l.size;
    let mut out = String::with_capacity(512 + graph.nodes.len() * 600);
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{FONT}\" font-size=\"{FONT_SIZE}\">"
    );
    out.push_str("<defs>\n");
    for (id, colour) in [("arrow", INK), ("arrow-dim", DIM), ("arrow-chain", CHAIN)] {
        let _ = writeln!(
            out,
            "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{colour}\"/></marker>"
        );
    }
    out.push_str(STYLE);
    out.push_str("</defs>\n");
    let _ = writeln!(out, "<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>");
    title(&mut out, graph, w);
    legend(&mut out, graph.timed);
    for band in &l.waves {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#868e96\">{}</text>",
            num((band.x + band.right) / 2.0),
            num(l.top - 8.0),
            esc(&band.label)
        );
    }
    groups(&mut out, graph, &l);
    edges(&mut out, graph, &l);
    for (i, &chain) in graph.chain_nodes().iter().enumerate() {
        node(&mut out, graph, &l, i, chain);
    }
    out.push_str("</svg>\n");
    out
}

/// The title line: the longest chain (the critical path when timed) and its length.
fn title(out: &mut String, graph: &Graph, width: f64) {
    let names: Vec<&str> = graph
        .longest
        .iter()
        .map(|&i| graph.nodes[i].name.as_str())
        .collect();
    let chain = names.join(" → ");
    let full = if graph.timed {
        let total: u64 = graph
            .longest
            .iter()
            .filter_map(|&i| graph.nodes[i].duration_ms)
            .sum();
        match &graph.measured {
            Some(m) => format!(
                "critical path: {chain} (total {}; build wall time {}{})",
                format_ms(total),
                format_ms(m.wall_ms),
                m.platform
                    .as_ref()
                    .map_or_else(String::new, |p| format!("; platform {p}"))
            ),
            None => format!("critical path: {chain} (total {})", format_ms(total)),
        }
    } else {
        let n = graph.longest.len();
        let s = if n == 1 { "" } else { "s" };
        format!("longest chain: {chain} ({n} stage{s})")
    };
    let fit = ((width - 2.0 * MARGIN) / CHAR_W).floor().max(1.0) as usize;
    let shown = truncate(&full, fit);
    let _ = writeln!(
        out,
        "<text x=\"{MARGIN}\" y=\"{}\" font-weight=\"bold\" fill=\"#212529\"><title>{}</title>{}</text>",
        num(MARGIN + TITLE_H - 10.0),
        esc(&full),
        esc(&shown.text)
    );
}

/// The legend row under the title (`timed`: the chain is the critical path).
fn legend(out: &mut String, timed: bool) {
    let y = MARGIN + TITLE_H + 8.0;
    let mut x = MARGIN;
    out.push_str("<g class=\"legend\" fill=\"#495057\">\n");
    for (k, text) in LEGEND.iter().enumerate() {
        let mid = y + 5.0;
        match k {
            0..=3 => {
                let kind = [
                    EdgeKind::From,
                    EdgeKind::Copy,
                    EdgeKind::Mount,
                    EdgeKind::Onbuild,
                ][k];
                let _ = writeln!(
                    out,
                    "<path class=\"e{}\" d=\"M{},{} H{}\" marker-end=\"url(#arrow)\"/>",
                    kind_class(kind),
                    num(x),
                    num(mid),
                    num(x + LEGEND_SAMPLE)
                );
            }
            4 => {
                let _ = writeln!(
                    out,
                    "<path class=\"e chain\" d=\"M{},{} H{}\" marker-end=\"url(#arrow-chain)\"/>",
                    num(x),
                    num(mid),
                    num(x + LEGEND_SAMPLE)
                );
            }
            5 => {
                let _ = writeln!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"12\" rx=\"3\" fill=\"#ffffff\" stroke=\"{INK}\" stroke-width=\"1.2\"/><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"6\" rx=\"1\" fill=\"none\" stroke=\"{INK}\" stroke-width=\"1.2\"/>",
                    num(x + 4.0),
                    num(y - 1.0),
                    num(LEGEND_SAMPLE - 8.0),
                    num(x + 7.0),
                    num(y + 2.0),
                    num(LEGEND_SAMPLE - 14.0)
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"12\" rx=\"3\" fill=\"#f1f3f5\" stroke=\"{DIM}\" opacity=\"0.6\"/>",
                    num(x + 4.0),
                    num(y - 1.0),
                    num(LEGEND_SAMPLE - 8.0)
                );
            }
        }
        // A measured build's chain is the critical path it took (as long to write).
        let text = if k == 4 && timed {
            "critical path"
        } else {
            text
        };
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            num(x + LEGEND_SAMPLE + 6.0),
            num(y + 9.0),
            esc(text)
        );
        x += LEGEND_SAMPLE + 6.0 + text_width(text.chars().count()) + LEGEND_SPACE;
    }
    debug_assert!(x <= MARGIN + legend_width() + 0.5);
    out.push_str("</g>\n");
}

/// The group boxes, behind everything else.
fn groups(out: &mut String, graph: &Graph, l: &Layout) {
    for g in &l.groups {
        let r = g.rect;
        let _ = writeln!(
            out,
            "<g class=\"group\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"10\" fill=\"#e7f5ff\" stroke=\"#74c0fc\" stroke-dasharray=\"5 3\"/><text x=\"{}\" y=\"{}\" fill=\"#1c7ed6\" font-style=\"italic\">{}</text></g>",
            esc(&graph.groups[g.group].file),
            num(r.x),
            num(r.y),
            num(r.w),
            num(r.h),
            num(g.label_rect.x),
            num(g.label_rect.bottom() - 4.0),
            esc(&g.label)
        );
    }
}

/// The edges: dimmed ones first, the longest chain last (on top). Their look is in
/// [`STYLE`]: classes `e` (edge), `copy`/`mount`/`onbuild` (the dash), `dim`, `chain`.
fn edges(out: &mut String, graph: &Graph, l: &Layout) {
    let mut order: Vec<usize> = (0..l.links.len()).collect();
    order.sort_by_key(|&k| {
        let link = &l.links[k];
        (link.chain, graph.nodes[link.target].needed)
    });
    for k in order {
        let link = &l.links[k];
        let (class, marker) = if link.chain {
            (" chain", "arrow-chain")
        } else if !graph.nodes[link.target].needed {
            (" dim", "arrow-dim")
        } else {
            ("", "arrow")
        };
        let end = if link.arrow {
            format!(" marker-end=\"url(#{marker})\"")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<path class=\"e{}{class}\" d=\"{}\"{end}/>",
            kind_class(link.kind),
            path_data(&link.path),
        );
    }
}

/// The class of an edge kind (its dash pattern in [`STYLE`]).
fn kind_class(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::From => "",
        EdgeKind::Copy => " copy",
        EdgeKind::Mount => " mount",
        EdgeKind::Onbuild => " onbuild",
    }
}

/// A path's `d` attribute.
fn path_data(p: &Path) -> String {
    let mut d = format!("M{},{}", num(p.start.0), num(p.start.1));
    for s in &p.segs {
        match *s {
            Seg::Line((x, y)) => {
                let _ = write!(d, " L{},{}", num(x), num(y));
            }
            Seg::Cubic((ax, ay), (bx, by), (x, y)) => {
                let _ = write!(
                    d,
                    " C{},{} {},{} {},{}",
                    num(ax),
                    num(ay),
                    num(bx),
                    num(by),
                    num(x),
                    num(y)
                );
            }
        }
    }
    d
}

/// Stage `i`'s box: border (orange on the longest chain, double for the target), fill
/// (by duration when timed, grey when not needed), its text, its full text as tooltip.
/// Their look is in [`STYLE`]: classes `n` (node), `dim`, `chain`, `t` (the target's inner
/// border), `b` (the bold name).
fn node(out: &mut String, graph: &Graph, l: &Layout, i: usize, on_chain: bool) {
    let node = &graph.nodes[i];
    let b = &l.nodes[i];
    let r = b.rect;
    let mut class = String::from("n");
    if !node.needed {
        class.push_str(" dim");
    }
    if on_chain {
        class.push_str(" chain");
    }
    let _ = write!(
        out,
        "<g id=\"{}\" class=\"{class}\"><title>{}</title>",
        esc(&node.id),
        esc(&b.full.join("\n"))
    );
    // A measured stage's colour, as a style: it wins over the class's fill.
    let fill = duration_fill(graph, i)
        .filter(|_| node.needed)
        .map_or_else(String::new, |f| format!(" style=\"fill:{f}\""));
    let _ = write!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"5\"{fill}/>",
        num(r.x),
        num(r.y),
        num(r.w),
        num(r.h)
    );
    if i == graph.target {
        let _ = write!(
            out,
            "<rect class=\"t\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\"/>",
            num(r.x + 3.0),
            num(r.y + 3.0),
            num(r.w - 6.0),
            num(r.h - 6.0)
        );
    }
    for (k, line) in b.lines.iter().enumerate() {
        let bold = if k == 0 { " class=\"b\"" } else { "" };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\"{bold}>{}</text>",
            num(r.x + 8.0),
            num(r.y + 6.0 + LINE_H * (k as f64 + 1.0) - 4.0),
            esc(&line.text)
        );
    }
    out.push_str("</g>\n");
}

/// A coordinate with at most one decimal, no trailing `.0`.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// `s` safe in XML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}
