//! Edge paths for the SVG layout ([`super::layout`]): each link between slots of
//! adjacent columns leaves a box at its right side (or a pass point at the column's left
//! edge), runs straight to the column's right edge, curves through the gap (a cubic Bézier
//! whose control points sit mid-gap, so the curve stays in the gap) and runs straight to
//! the next box's left side or on through the next column at its pass point. Boxes never
//! lie on a path: inside a column a path only runs along its own slot's height.
//!
//! Where several links leave (or enter) one box, they leave at points spread over its
//! height, in the order of the slots they go to, so they do not cross at the box.

use super::layout::{Link, NodeBox, Path, Seg};
use super::order::{Net, Slot};
use super::{EdgeKind, Graph};

/// The least distance between two points where edges leave or enter a box.
const MIN_PORT_GAP: f64 = 8.0;

/// The drawn links of `net` and, per graph edge, the links it runs along. `centers` is
/// each slot's vertical centre, `columns` each column's left edge and width.
pub(crate) fn links(
    graph: &Graph,
    net: &Net,
    nodes: &[NodeBox],
    centers: &[f64],
    columns: &[(f64, f64)],
) -> (Vec<Link>, Vec<Vec<usize>>) {
    let n = graph.nodes.len();
    // Port heights: per link, where it leaves its source box and enters its target box.
    let mut out_port = vec![0.0; net.links.len()];
    let mut in_port = vec![0.0; net.links.len()];
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, &(a, b, _)) in net.links.iter().enumerate() {
        if a < n {
            outgoing[a].push(k);
        }
        if b < n {
            incoming[b].push(k);
        }
    }
    for i in 0..n {
        let r = nodes[i].rect;
        spread(
            &mut outgoing[i],
            |k| centers[net.links[k].1],
            r.y,
            r.h,
            &mut out_port,
            net,
        );
        spread(
            &mut incoming[i],
            |k| centers[net.links[k].0],
            r.y,
            r.h,
            &mut in_port,
            net,
        );
    }
    let chain = graph.chain_edges();
    let mut chain_link = vec![false; net.links.len()];
    for (e, route) in net.routes.iter().enumerate() {
        let edge = &graph.edges[e];
        if chain.contains(&(edge.from, edge.to)) {
            for &k in route {
                chain_link[k] = true;
            }
        }
    }
    let links = net
        .links
        .iter()
        .enumerate()
        .map(|(k, &(a, b, kind))| {
            let layer = net.layer_of[a];
            let (lx, lw) = columns[layer];
            let right = lx + lw;
            let next_x = columns[layer + 1].0;
            let start = if a < n {
                (nodes[a].rect.right(), out_port[k])
            } else {
                (lx, centers[a])
            };
            let mut segs = Vec::with_capacity(3);
            if start.0 < right {
                segs.push(Seg::Line((right, start.1)));
            }
            let end_y = if b < n { in_port[k] } else { centers[b] };
            let mid = (right + next_x) / 2.0;
            segs.push(Seg::Cubic((mid, start.1), (mid, end_y), (next_x, end_y)));
            if b < n && nodes[b].rect.x > next_x {
                segs.push(Seg::Line((nodes[b].rect.x, end_y)));
            }
            let target = match net.slots[b] {
                Slot::Node(i) => i,
                Slot::Dummy { target, .. } => target,
            };
            Link {
                path: Path { start, segs },
                kind,
                target,
                arrow: b < n,
                chain: chain_link[k],
            }
        })
        .collect();
    (links, net.routes.clone())
}

/// Spreads the links `ks` of one box over its height (top `y`, height `h`), ordered by
/// the centre of the slot at their other end (`other`), then by kind; writes each one's
/// height into `port`.
fn spread(
    ks: &mut [usize],
    other: impl Fn(usize) -> f64,
    y: f64,
    h: f64,
    port: &mut [f64],
    net: &Net,
) {
    ks.sort_by(|&p, &q| {
        other(p)
            .total_cmp(&other(q))
            .then(net.links[p].2.cmp(&net.links[q].2))
            .then(p.cmp(&q))
    });
    // The middle 70% of the box, so paths do not hug its corners.
    let (from, span) = (y + h * 0.15, h * 0.7);
    // Too many to keep arrowheads apart: one point per kind, the edges meet there.
    let crowded = ks.len() > 1 && span < MIN_PORT_GAP * (ks.len() - 1) as f64;
    let mut kinds: Vec<EdgeKind> = Vec::new();
    let slot: Vec<usize> = ks
        .iter()
        .enumerate()
        .map(|(j, &k)| {
            if !crowded {
                return j;
            }
            let kind = net.links[k].2;
            kinds.iter().position(|&x| x == kind).unwrap_or_else(|| {
                kinds.push(kind);
                kinds.len() - 1
            })
        })
        .collect();
    let count = if crowded { kinds.len() } else { ks.len() };
    for (&k, &j) in ks.iter().zip(&slot) {
        port[k] = if count == 1 {
            y + h / 2.0
        } else {
            from + span * j as f64 / (count - 1) as f64
        };
    }
}
