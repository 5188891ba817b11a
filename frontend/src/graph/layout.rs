//! Positions for the SVG picture ([`super::svg`]): waves as columns read left to right, a
//! box per stage sized from its text, edges as smooth paths through the gaps, a box
//! behind each included file's stages.
//!
//! Columns and their order come from `order.rs` (big waves wrapped into
//! sub-columns); here each slot gets its height, each column its x, and the slots their
//! y: each column is pulled towards the positions of its neighbours (a least-squares fit
//! that keeps the order and the gaps, solved exactly by pooling adjacent violators), a few
//! sweeps down and up. Edge paths are in `route.rs`. Text is measured as a
//! monospace font of [`FONT_SIZE`] px would draw it (no font files needed), so boxes fit
//! their text in any monospace font.

use super::order::{self, Net, Slot};
use super::{route, text_lines, Graph};

/// Font size of all text, px.
pub const FONT_SIZE: f64 = 12.0;
/// The advance of one character of a monospace font at [`FONT_SIZE`] (0.6 em, a little
/// over most monospace fonts' 0.55–0.602 em).
pub const CHAR_W: f64 = 7.4;
/// Distance between text lines.
pub const LINE_H: f64 = 16.0;
/// The longest text line a box shows, in characters; longer ones end in `…`.
pub const MAX_CHARS: usize = 40;
/// Space around everything.
pub const MARGIN: f64 = 16.0;
/// Room for the title line (the longest chain or critical path).
pub const TITLE_H: f64 = 24.0;
/// Room for the legend row.
pub const LEGEND_H: f64 = 26.0;
/// Room for the wave labels above the columns.
pub const WAVE_LABEL_H: f64 = 22.0;
/// Text padding inside a box.
const PAD_X: f64 = 8.0;
/// See [`PAD_X`].
const PAD_Y: f64 = 6.0;
/// The narrowest box.
const MIN_BOX_W: f64 = 80.0;
/// Vertical gap between slots of a column.
const GAP_Y: f64 = 14.0;
/// Height of an edge's pass through a column.
const DUMMY_H: f64 = 2.0;
/// Gap between the columns of two waves.
const WAVE_GAP: f64 = 72.0;
/// Gap between the sub-columns of a wrapped wave.
const SUB_GAP: f64 = 40.0;
/// Room above a group's first stage in a column, for its label.
const GROUP_HEAD: f64 = 22.0;
/// Room below a group's last stage in a column.
const GROUP_PAD: f64 = 8.0;
/// How far a group box reaches left and right of its column.
const GROUP_MX: f64 = 10.0;
/// Rounds of vertical placement (each one sweep down and one up).
const PLACE_ROUNDS: usize = 4;

/// An axis-aligned rectangle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// Right edge.
    pub fn right(&self) -> f64 {
        self.x + self.w
    }
    /// Bottom edge.
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }
    /// Whether the two share any area (touching edges do not count).
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }
    /// Whether `other` lies inside (edges may touch).
    pub fn contains(&self, other: &Rect) -> bool {
        self.x <= other.x
            && other.right() <= self.right()
            && self.y <= other.y
            && other.bottom() <= self.bottom()
    }
    /// Whether the point lies strictly inside.
    pub fn holds(&self, (px, py): (f64, f64)) -> bool {
        self.x < px && px < self.right() && self.y < py && py < self.bottom()
    }
}

/// One text line of a box: what is shown, and whether it was cut (then the full text is
/// in the box's tooltip).
#[derive(Clone, Debug, PartialEq)]
pub struct TextLine {
    /// The shown text, at most [`MAX_CHARS`] characters.
    pub text: String,
    /// Whether `text` was cut short with `…`.
    pub cut: bool,
}

/// A stage's box.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeBox {
    /// Where it is.
    pub rect: Rect,
    /// Its text lines, top to bottom (the name first).
    pub lines: Vec<TextLine>,
    /// The full text lines ([`text_lines`]), for the tooltip.
    pub full: Vec<String>,
}

/// One piece of a path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Seg {
    /// A straight line to the point.
    Line((f64, f64)),
    /// A cubic Bézier curve: two control points, then the end point.
    Cubic((f64, f64), (f64, f64), (f64, f64)),
}

/// A path: a start point and the pieces after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    /// Where it starts.
    pub start: (f64, f64),
    /// What follows.
    pub segs: Vec<Seg>,
}

impl Path {
    /// Where it ends.
    pub fn end(&self) -> (f64, f64) {
        match self.segs.last() {
            Some(Seg::Line(p) | Seg::Cubic(_, _, p)) => *p,
            None => self.start,
        }
    }
}

/// The piece of drawing between two adjacent columns that one or more edges share.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// Its path, from the left column's slot to the right column's.
    pub path: Path,
    /// The kind of the edges along it.
    pub kind: super::EdgeKind,
    /// The stage its edges lead to (an arrowhead when it ends at that stage's box).
    pub target: usize,
    /// Whether it ends at the target's box (not in a pass point).
    pub arrow: bool,
    /// Whether an edge of the longest chain runs along it.
    pub chain: bool,
}

/// A box behind an included file's stages (one per column segment when one box around
/// them all would cover other stages).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupBox {
    /// Index into [`Graph::groups`].
    pub group: usize,
    /// Where it is.
    pub rect: Rect,
    /// The shown label (the file name, cut with `…` to fit).
    pub label: String,
    /// Where the label's text sits (its baseline is `bottom - 4`).
    pub label_rect: Rect,
}

/// A wave's band of columns and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct WaveBand {
    /// Left edge of its first column.
    pub x: f64,
    /// Right edge of its last column.
    pub right: f64,
    /// The label, `wave 3` (with the stage and column count when wrapped).
    pub label: String,
}

/// Where everything goes.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Total width and height.
    pub size: (f64, f64),
    /// Where the columns start (below title, legend and wave labels).
    pub top: f64,
    /// One box per stage, by node index.
    pub nodes: Vec<NodeBox>,
    /// The drawn pieces of edges.
    pub links: Vec<Link>,
    /// Per graph edge, the links it runs along, source first.
    pub routes: Vec<Vec<usize>>,
    /// Group boxes.
    pub groups: Vec<GroupBox>,
    /// Per wave, its band.
    pub waves: Vec<WaveBand>,
    /// Per column, its left edge and width.
    pub columns: Vec<(f64, f64)>,
}

impl Layout {
    /// Edge `e`'s whole path, from its source's box to its target's.
    pub fn edge_path(&self, e: usize) -> Path {
        let mut links = self.routes[e].iter().map(|&l| &self.links[l].path);
        let mut path = links.next().cloned().unwrap_or(Path {
            start: (0.0, 0.0),
            segs: Vec::new(),
        });
        for p in links {
            path.segs.extend(p.segs.iter().copied());
        }
        path
    }
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub fn truncate(text: &str, max: usize) -> TextLine {
    if text.chars().count() <= max {
        return TextLine {
            text: text.to_owned(),
            cut: false,
        };
    }
    let mut shown: String = text.chars().take(max.saturating_sub(1)).collect();
    shown.push('…');
    TextLine {
        text: shown,
        cut: true,
    }
}

/// The width text of `chars` characters takes.
pub fn text_width(chars: usize) -> f64 {
    chars as f64 * CHAR_W
}

/// Lays `graph` out: title, legend and wave labels on top, the columns below.
pub fn layout(graph: &Graph) -> Layout {
    let net = order::arrange(graph);
    let n = graph.nodes.len();
    let mut nodes: Vec<NodeBox> = (0..n)
        .map(|i| {
            let full = text_lines(graph, i);
            let lines: Vec<TextLine> = full.iter().map(|l| truncate(l, MAX_CHARS)).collect();
            let chars = lines.iter().map(|l| l.text.chars().count()).max();
            let w = (text_width(chars.unwrap_or(0)) + 2.0 * PAD_X).max(MIN_BOX_W);
            let h = lines.len() as f64 * LINE_H + 2.0 * PAD_Y;
            NodeBox {
                rect: Rect {
                    x: 0.0,
                    y: 0.0,
                    w,
                    h,
                },
                lines,
                full,
            }
        })
        .collect();
    let group_of: Vec<Option<usize>> = net
        .slots
        .iter()
        .map(|s| match *s {
            Slot::Node(i) => graph.nodes[i].group,
            Slot::Dummy { .. } => None,
        })
        .collect();
    let heights: Vec<f64> = net
        .slots
        .iter()
        .map(|s| match *s {
            Slot::Node(i) => nodes[i].rect.h,
            Slot::Dummy { .. } => DUMMY_H,
        })
        .collect();
    // Columns left to right.
    let top = MARGIN + TITLE_H + LEGEND_H + WAVE_LABEL_H;
    let mut columns = Vec::with_capacity(net.layers.len());
    let mut x = MARGIN + GROUP_MX;
    for (l, layer) in net.layers.iter().enumerate() {
        if l > 0 {
            x += if net.wave_of_layer[l] == net.wave_of_layer[l - 1] {
                SUB_GAP
            } else {
                WAVE_GAP
            };
        }
        let w = layer
            .iter()
            .filter(|&&s| s < n)
            .map(|&s| nodes[s].rect.w)
            .fold(MIN_BOX_W, f64::max);
        columns.push((x, w));
        x += w;
    }
    let mut width = x + GROUP_MX + MARGIN;
    // Slots top to bottom.
    let ys = place_y(&net, &heights, &group_of, top);
    let mut bottom = top;
    for (s, slot) in net.slots.iter().enumerate() {
        let extra = if group_of[s].is_some() {
            GROUP_PAD
        } else {
            0.0
        };
        bottom = bottom.max(ys[s] + heights[s] + extra);
        if let Slot::Node(i) = *slot {
            let (cx, cw) = columns[net.layer_of[s]];
            let r = &mut nodes[i].rect;
            r.x = cx + (cw - r.w) / 2.0;
            r.y = ys[s];
        }
    }
    let centers: Vec<f64> = (0..net.slots.len())
        .map(|s| ys[s] + heights[s] / 2.0)
        .collect();
    let (links, routes) = route::links(graph, &net, &nodes, &centers, &columns);
    let groups = group_boxes(graph, &net, &nodes, &columns);
    let waves = wave_bands(graph, &net, &columns);
    width = width.max(MARGIN * 2.0 + legend_width());
    Layout {
        size: (width.ceil(), (bottom + MARGIN).ceil()),
        top,
        nodes,
        links,
        routes,
        groups,
        waves,
        columns,
    }
}

/// The legend's entries: a sample line (or box) and its words.
pub const LEGEND: [&str; 7] = [
    "FROM",
    "COPY --from",
    "mount",
    "ONBUILD",
    "longest chain", // "critical path" when timed: as long
    "target",
    "not needed",
];

/// Width of one legend entry's sample.
pub const LEGEND_SAMPLE: f64 = 30.0;
/// The gap after a legend entry.
pub const LEGEND_SPACE: f64 = 18.0;

/// The legend row's width.
pub fn legend_width() -> f64 {
    LEGEND
        .iter()
        .map(|t| LEGEND_SAMPLE + 6.0 + text_width(t.chars().count()) + LEGEND_SPACE)
        .sum()
}

/// Each slot's top y: stacked with gaps (and room for group labels), then pulled towards
/// its neighbours' centres, column by column, down and up.
fn place_y(net: &Net, heights: &[f64], group_of: &[Option<usize>], top: f64) -> Vec<f64> {
    let slots = net.slots.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); slots];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); slots];
    for &(a, b, _) in &net.links {
        down[a].push(b);
        up[b].push(a);
    }
    // Offsets: the least distance from a column's first slot's top to each slot's top.
    let mut offset = vec![0.0; slots];
    for layer in &net.layers {
        let mut at = 0.0;
        for (k, &s) in layer.iter().enumerate() {
            if k > 0 {
                let p = layer[k - 1];
                at += heights[p] + GAP_Y;
                if group_of[p].is_some() && group_of[p] != group_of[s] {
                    at += GROUP_PAD;
                }
                if group_of[s].is_some() && group_of[p] != group_of[s] {
                    at += GROUP_HEAD;
                }
            }
            offset[s] = at;
        }
    }
    // Start: each column stacked and centred on 0; a wrapped wave's sub-columns start
    // level with its first (their boxes a grid), centred on that one's boxes.
    let mut y = vec![0.0; slots];
    let n = net
        .slots
        .iter()
        .filter(|s| matches!(s, Slot::Node(_)))
        .count();
    let mut level = 0.0;
    for (l, layer) in net.layers.iter().enumerate() {
        let first = l == 0 || net.wave_of_layer[l - 1] != net.wave_of_layer[l];
        if !net.wrapped(l) || first {
            let last = layer.iter().rev().find(|&&s| !net.wrapped(l) || s < n);
            level = last.map_or(0.0, |&s| (offset[s] + heights[s]) / 2.0);
        }
        for &s in layer {
            y[s] = offset[s] - level;
        }
    }
    // A wrapped wave's sub-columns stay as stacked, centred together: a tidy block.
    let count = net.layers.len();
    let free = |l: &usize| !net.wrapped(*l);
    for _ in 0..PLACE_ROUNDS {
        for l in (1..count).filter(free) {
            fit_column(&net.layers[l], &up, heights, &offset, &mut y);
        }
        for l in (0..count.saturating_sub(1)).rev().filter(free) {
            fit_column(&net.layers[l], &down, heights, &offset, &mut y);
        }
    }
    // Shift everything below `top`, group labels included.
    let least = (0..slots)
        .map(|s| {
            y[s] - if group_of[s].is_some() {
                GROUP_HEAD
            } else {
                0.0
            }
        })
        .fold(f64::INFINITY, f64::min);
    let shift = if least.is_finite() { top - least } else { 0.0 };
    // Whole pixels keep the SVG short and the text crisp.
    y.iter().map(|v| (v + shift).round()).collect()
}

/// Moves a column's slots as near as the order and gaps allow to the mean centre of their
/// neighbours in `nbrs` (a slot without neighbours wants to stay): the least-squares fit
/// of `y - offset` as a non-decreasing sequence (pool adjacent violators).
fn fit_column(
    layer: &[usize],
    nbrs: &[Vec<usize>],
    heights: &[f64],
    offset: &[f64],
    y: &mut [f64],
) {
    let wanted: Vec<f64> = layer
        .iter()
        .map(|&s| {
            let ns = &nbrs[s];
            let top = if ns.is_empty() {
                y[s]
            } else {
                let c = ns.iter().map(|&x| y[x] + heights[x] / 2.0).sum::<f64>() / ns.len() as f64;
                c - heights[s] / 2.0
            };
            top - offset[s]
        })
        .collect();
    // Blocks of (sum, count), their means non-decreasing.
    let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(wanted.len());
    for &w in &wanted {
        blocks.push((w, 1));
        while blocks.len() >= 2 {
            let (s2, c2) = blocks[blocks.len() - 1];
            let (s1, c1) = blocks[blocks.len() - 2];
            if s1 / c1 as f64 <= s2 / c2 as f64 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = (s1 + s2, c1 + c2);
        }
    }
    let mut k = 0;
    for (sum, c) in blocks {
        let mean = sum / c as f64;
        for _ in 0..c {
            let s = layer[k];
            y[s] = mean + offset[s];
            k += 1;
        }
    }
}

/// A box per group: around all its stages when that covers no other stage and no other
/// group's box, else one per column segment of its stages.
fn group_boxes(
    graph: &Graph,
    net: &Net,
    nodes: &[NodeBox],
    columns: &[(f64, f64)],
) -> Vec<GroupBox> {
    let n = graph.nodes.len();
    // Per group, its segments: each run of its stages in a column.
    let segments: Vec<Vec<Rect>> = (0..graph.groups.len())
        .map(|g| {
            let mut out = Vec::new();
            for (l, layer) in net.layers.iter().enumerate() {
                let mut run: Option<(f64, f64)> = None;
                for &s in layer {
                    let member = s < n && graph.nodes[s].group == Some(g);
                    if member {
                        let r = nodes[s].rect;
                        run = Some(run.map_or((r.y, r.bottom()), |(t, _)| (t, r.bottom())));
                    } else if let Some((t, b)) = run.take() {
                        out.push(segment_rect(columns[l], t, b));
                    }
                }
                if let Some((t, b)) = run {
                    out.push(segment_rect(columns[l], t, b));
                }
            }
            out
        })
        .collect();
    let mut done: Vec<GroupBox> = Vec::new();
    for (g, segs) in segments.iter().enumerate() {
        let Some(first) = segs.first() else { continue };
        let union = segs.iter().fold(*first, |u, r| {
            let x = u.x.min(r.x);
            let y = u.y.min(r.y);
            Rect {
                x,
                y,
                w: u.right().max(r.right()) - x,
                h: u.bottom().max(r.bottom()) - y,
            }
        });
        let clean = segs.len() == 1
            || (nodes
                .iter()
                .enumerate()
                .all(|(i, b)| graph.nodes[i].group == Some(g) || !union.overlaps(&b.rect))
                && done.iter().all(|d| !union.overlaps(&d.rect))
                && segments[g + 1..]
                    .iter()
                    .flatten()
                    .all(|r| !union.overlaps(r)));
        let rects = if clean { vec![union] } else { segs.clone() };
        for rect in rects {
            let label = truncate(
                &graph.groups[g].file,
                ((rect.w - 12.0) / CHAR_W).floor().max(1.0) as usize,
            );
            let label_rect = Rect {
                x: rect.x + 6.0,
                y: rect.y + 3.0,
                w: text_width(label.text.chars().count()),
                h: GROUP_HEAD - 6.0,
            };
            done.push(GroupBox {
                group: g,
                rect,
                label: label.text,
                label_rect,
            });
        }
    }
    done
}

/// The box around a run of a group's stages in one column, from the top of the first to
/// the bottom of the last.
fn segment_rect((cx, cw): (f64, f64), top: f64, bottom: f64) -> Rect {
    Rect {
        x: cx - GROUP_MX,
        y: top - GROUP_HEAD,
        w: cw + 2.0 * GROUP_MX,
        h: bottom - top + GROUP_HEAD + GROUP_PAD,
    }
}

/// Each wave's band and label.
fn wave_bands(graph: &Graph, net: &Net, columns: &[(f64, f64)]) -> Vec<WaveBand> {
    (0..graph.waves.len())
        .map(|w| {
            let cols: Vec<usize> = (0..columns.len())
                .filter(|&l| net.wave_of_layer[l] == w)
                .collect();
            let x = cols.first().map_or(0.0, |&l| columns[l].0);
            let right = cols.last().map_or(0.0, |&l| columns[l].0 + columns[l].1);
            let mut label = format!("wave {}", w + 1);
            if cols.len() > 1 {
                label.push_str(&format!(
                    " · {} stages in {} columns",
                    graph.waves[w].len(),
                    cols.len()
                ));
            }
            let fit = ((right - x) / CHAR_W).floor().max(1.0) as usize;
            WaveBand {
                x,
                right,
                label: truncate(&label, fit).text,
            }
        })
        .collect()
}
