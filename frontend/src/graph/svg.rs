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
    self, legend_width, text_width, truncate, Layout, Path, Rect, Seg, CHAR_W, FONT_SIZE, LEGEND,
    LEGEND_SAMPLE, LEGEND_SPACE, LINE_H, MARGIN, TITLE_H,
};
use super::{duration_fill, format_ms, EdgeKind, Graph};

/// Colour of edges and borders.
const INK: &str = "#495057";
/// Colour of what the target does not need.
const DIM: &str = "#adb5bd";
/// Colour of the longest chain.
const CHAIN: &str = "#e8590c";
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
    let mut on_chain = vec![false; graph.nodes.len()];
    for &i in &graph.longest {
        on_chain[i] = true;
    }
    for (i, &chain) in on_chain.iter().enumerate() {
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
                    "<path d=\"M{},{} H{}\" fill=\"none\" stroke=\"{INK}\" stroke-width=\"1.5\"{} marker-end=\"url(#arrow)\"/>",
                    num(x),
                    num(mid),
                    num(x + LEGEND_SAMPLE),
                    dash(kind)
                );
            }
            4 => {
                let _ = writeln!(
                    out,
                    "<path d=\"M{},{} H{}\" fill=\"none\" stroke=\"{CHAIN}\" stroke-width=\"3\" marker-end=\"url(#arrow-chain)\"/>",
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

/// The edges: dimmed ones first, the longest chain last (on top).
fn edges(out: &mut String, graph: &Graph, l: &Layout) {
    let mut order: Vec<usize> = (0..l.links.len()).collect();
    order.sort_by_key(|&k| {
        let link = &l.links[k];
        (link.chain, graph.nodes[link.target].needed)
    });
    for k in order {
        let link = &l.links[k];
        let (colour, marker, width) = if link.chain {
            (CHAIN, "arrow-chain", "2.5")
        } else if !graph.nodes[link.target].needed {
            (DIM, "arrow-dim", "1.2")
        } else {
            (INK, "arrow", "1.2")
        };
        let end = if link.arrow {
            format!(" marker-end=\"url(#{marker})\"")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\"{}{end}/>",
            path_data(&link.path),
            dash(link.kind)
        );
    }
}

/// The dash pattern of an edge kind.
fn dash(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::From => "",
        EdgeKind::Copy => " stroke-dasharray=\"6 4\"",
        EdgeKind::Mount => " stroke-dasharray=\"1.5 3\"",
        EdgeKind::Onbuild => " stroke-dasharray=\"8 3 2 3\"",
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
fn node(out: &mut String, graph: &Graph, l: &Layout, i: usize, on_chain: bool) {
    let node = &graph.nodes[i];
    let b = &l.nodes[i];
    let r = b.rect;
    let (stroke, width) = if on_chain {
        (CHAIN, "2.5")
    } else if node.needed {
        (INK, "1.2")
    } else {
        (DIM, "1")
    };
    let fill = if node.needed {
        duration_fill(graph, i).unwrap_or("#ffffff")
    } else {
        "#f1f3f5"
    };
    let text_fill = if node.needed { "#212529" } else { "#868e96" };
    let faded = if node.needed { "" } else { " opacity=\"0.6\"" };
    let _ = write!(
        out,
        "<g id=\"{}\" class=\"stage\"{faded}><title>{}</title>",
        esc(&node.id),
        esc(&b.full.join("\n"))
    );
    rect(out, r, fill, stroke, width);
    if i == graph.target {
        let inner = Rect {
            x: r.x + 3.0,
            y: r.y + 3.0,
            w: r.w - 6.0,
            h: r.h - 6.0,
        };
        rect(out, inner, "none", stroke, width);
    }
    for (k, line) in b.lines.iter().enumerate() {
        let weight = if k == 0 { " font-weight=\"bold\"" } else { "" };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" fill=\"{text_fill}\"{weight}>{}</text>",
            num(r.x + 8.0),
            num(r.y + 6.0 + LINE_H * (k as f64 + 1.0) - 4.0),
            esc(&line.text)
        );
    }
    out.push_str("</g>\n");
}

/// One rounded rectangle.
fn rect(out: &mut String, r: Rect, fill: &str, stroke: &str, width: &str) {
    let _ = write!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"5\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>",
        num(r.x),
        num(r.y),
        num(r.w),
        num(r.h)
    );
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
