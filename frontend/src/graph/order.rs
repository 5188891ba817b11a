//! Columns and the order inside them, for the SVG layout ([`super::layout`]).
//!
//! Each wave is a column, read left to right. An edge that skips columns passes through
//! each column between its ends at a point of its own (a dummy slot, Sugiyama style), so
//! it runs through a gap and never through a box; edges of one kind into one stage share
//! those points (they run as a bundle once they meet). A wave of more than [`WRAP`] stages
//! is wrapped into several sub-columns side by side inside its band, so a wave of
//! hundreds of independent stages stays about as tall as it is wide instead of one
//! endless column: its boxes form a grid, read down then right, and the edges leaving an
//! inner sub-column run down the gap beside it and on below the grid. The order inside each column comes from barycenter sweeps (each slot
//! goes near the mean position of its neighbours in the column before or after), which
//! keeps crossings down; an included file's stages stay together in each column so its
//! group box holds them alone. Everything is deterministic: ties keep the previous order,
//! which starts as file order.

use std::collections::HashMap;

use super::{EdgeKind, Graph};

/// The most stages a wave shows in one column before it is wrapped into sub-columns.
pub(crate) const WRAP: usize = 24;

/// Barycenter sweeps (down then up) per round.
const SWEEPS: usize = 4;

/// What sits at one place in a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A stage's box (node index).
    Node(usize),
    /// The point where the edges of `kind` into stage `target` cross this column.
    Dummy {
        /// The stage those edges lead to.
        target: usize,
        /// Their kind.
        kind: EdgeKind,
    },
}

/// The columns with their slots in order, and the links between slots of adjacent
/// columns that make up the edges.
#[derive(Clone, Debug)]
pub(crate) struct Net {
    /// Slot `i < nodes` is `Slot::Node(i)`; dummies follow.
    pub slots: Vec<Slot>,
    /// The column of each slot.
    pub layer_of: Vec<usize>,
    /// The wave each column belongs to.
    pub wave_of_layer: Vec<usize>,
    /// Each column's slots, top to bottom.
    pub layers: Vec<Vec<usize>>,
    /// `(from slot, to slot, kind)`, `to` in the column right after `from`'s; each once.
    pub links: Vec<(usize, usize, EdgeKind)>,
    /// Per graph edge, the links it runs along, source first.
    pub routes: Vec<Vec<usize>>,
}

/// The columns of `graph`: waves, the big ones wrapped, ordered to keep crossings down.
pub(crate) fn arrange(graph: &Graph) -> Net {
    let n = graph.nodes.len();
    let waves = graph.waves.len();
    // Round 1: one column per wave, to find a good order of each wave's stages.
    let layer_of: Vec<usize> = graph.nodes.iter().map(|node| node.wave).collect();
    let mut net = Net::build(graph, &layer_of, (0..waves).collect(), graph.waves.clone());
    net.sweep_rounds(graph, SWEEPS);
    // Round 2: big waves wrapped into sub-columns, filled top to bottom then left to right
    // in that order; sweeps again place the dummies and settle each sub-column.
    let mut layer_of = vec![0; n];
    let mut wave_of_layer = Vec::new();
    let mut order: Vec<Vec<usize>> = Vec::new();
    for wave in 0..waves {
        let stages: Vec<usize> = net.layers[wave]
            .iter()
            .copied()
            .filter(|&s| s < n)
            .collect();
        for chunk in stages.chunks(rows_for(stages.len()).max(1)) {
            for &i in chunk {
                layer_of[i] = order.len();
            }
            wave_of_layer.push(wave);
            order.push(chunk.to_vec());
        }
        if stages.is_empty() {
            wave_of_layer.push(wave);
            order.push(Vec::new());
        }
    }
    let mut net = Net::build(graph, &layer_of, wave_of_layer, order);
    net.sweep_rounds(graph, SWEEPS / 2);
    net
}

/// How many stages each sub-column of a wave of `count` stages holds: all of them up to
/// [`WRAP`]; beyond, about √(3·count) (a band about as tall as it is wide, as boxes are
/// about three times wider than tall), balanced over the sub-columns.
pub(crate) fn rows_for(count: usize) -> usize {
    if count <= WRAP {
        return count;
    }
    let rows = ((3 * count) as f64).sqrt().ceil() as usize;
    let rows = rows.max(WRAP);
    let columns = count.div_ceil(rows);
    count.div_ceil(columns)
}

/// Slots that move together while a column is ordered: their mean barycenter, the place
/// of the first, and each one's (barycenter, place, slot).
type Unit = (f64, usize, Vec<(f64, usize, usize)>);

impl Net {
    /// The net for stages placed in columns `layer_of`, each column's stages in `order`.
    fn build(
        graph: &Graph,
        layer_of: &[usize],
        wave_of_layer: Vec<usize>,
        order: Vec<Vec<usize>>,
    ) -> Net {
        let mut net = Net {
            slots: (0..graph.nodes.len()).map(Slot::Node).collect(),
            layer_of: layer_of.to_vec(),
            wave_of_layer,
            layers: order,
            links: Vec::new(),
            routes: Vec::with_capacity(graph.edges.len()),
        };
        let mut dummies: HashMap<(usize, usize, EdgeKind), usize> = HashMap::new();
        let mut link_ids: HashMap<(usize, usize, EdgeKind), usize> = HashMap::new();
        for e in &graph.edges {
            let (lu, lv) = (layer_of[e.from], layer_of[e.to]);
            let mut route = Vec::with_capacity(lv.saturating_sub(lu));
            let mut prev = e.from;
            for layer in lu + 1..lv {
                let key = (layer, e.to, e.kind);
                let d = match dummies.get(&key) {
                    Some(&d) => d,
                    None => {
                        let d = net.slots.len();
                        net.slots.push(Slot::Dummy {
                            target: e.to,
                            kind: e.kind,
                        });
                        net.layer_of.push(layer);
                        net.layers[layer].push(d);
                        dummies.insert(key, d);
                        d
                    }
                };
                route.push(net.link(&mut link_ids, prev, d, e.kind));
                prev = d;
            }
            route.push(net.link(&mut link_ids, prev, e.to, e.kind));
            net.routes.push(route);
        }
        net
    }

    /// The link `(from, to, kind)`, made once.
    fn link(
        &mut self,
        ids: &mut HashMap<(usize, usize, EdgeKind), usize>,
        from: usize,
        to: usize,
        kind: EdgeKind,
    ) -> usize {
        *ids.entry((from, to, kind)).or_insert_with(|| {
            self.links.push((from, to, kind));
            self.links.len() - 1
        })
    }

    /// Whether column `l` is one of several sub-columns of a wrapped wave.
    pub(crate) fn wrapped(&self, l: usize) -> bool {
        let w = self.wave_of_layer[l];
        (l > 0 && self.wave_of_layer[l - 1] == w) || self.wave_of_layer.get(l + 1) == Some(&w)
    }

    /// `rounds` of a downward then an upward barycenter sweep, then a last downward one.
    fn sweep_rounds(&mut self, graph: &Graph, rounds: usize) {
        let mut up: Vec<Vec<usize>> = vec![Vec::new(); self.slots.len()];
        let mut down: Vec<Vec<usize>> = vec![Vec::new(); self.slots.len()];
        for &(a, b, _) in &self.links {
            down[a].push(b);
            up[b].push(a);
        }
        let mut pos = vec![0.0; self.slots.len()];
        for layer in &self.layers {
            Self::note_positions(layer, &mut pos);
        }
        let count = self.layers.len();
        for round in 0..=rounds {
            for l in 1..count {
                self.reorder(graph, l, &up, &mut pos);
            }
            if round < rounds {
                for l in (0..count.saturating_sub(1)).rev() {
                    self.reorder(graph, l, &down, &mut pos);
                }
            }
        }
    }

    /// Each slot's place in its column as a fraction of the column (columns differ in
    /// length).
    fn note_positions(layer: &[usize], pos: &mut [f64]) {
        let len = layer.len().max(1) as f64;
        for (k, &s) in layer.iter().enumerate() {
            pos[s] = (k as f64 + 0.5) / len;
        }
    }

    /// Orders column `l` by the mean position of each slot's neighbours in `nbrs` (a slot
    /// without any keeps its place); an included file's stages move as one block.
    fn reorder(&mut self, graph: &Graph, l: usize, nbrs: &[Vec<usize>], pos: &mut [f64]) {
        let layer = &self.layers[l];
        let bary = |s: usize| -> f64 {
            let ns = &nbrs[s];
            if ns.is_empty() {
                pos[s]
            } else {
                ns.iter().map(|&x| pos[x]).sum::<f64>() / ns.len() as f64
            }
        };
        // Units: one per group present in the column (its stages), one per other slot.
        let mut units: Vec<Unit> = Vec::new();
        let mut unit_of_group: HashMap<usize, usize> = HashMap::new();
        for (k, &s) in layer.iter().enumerate() {
            let entry = (bary(s), k, s);
            let group = match self.slots[s] {
                Slot::Node(i) => graph.nodes[i].group,
                Slot::Dummy { .. } => None,
            };
            match group.and_then(|g| unit_of_group.get(&g).copied()) {
                Some(u) => units[u].2.push(entry),
                None => {
                    if let Some(g) = group {
                        unit_of_group.insert(g, units.len());
                    }
                    units.push((0.0, k, vec![entry]));
                }
            }
        }
        for unit in &mut units {
            unit.0 = unit.2.iter().map(|e| e.0).sum::<f64>() / unit.2.len() as f64;
            unit.2
                .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        units.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut ordered: Vec<usize> = units.iter().flat_map(|u| u.2.iter().map(|e| e.2)).collect();
        if self.wrapped(l) {
            // A wrapped wave reads down each sub-column, then on to the next, in the
            // order round 1 found, its boxes a grid; the edges passing through run below
            // them, in the order the sweep found.
            let n = graph.nodes.len();
            let stages = layer.iter().copied().filter(|&s| s < n);
            let passes: Vec<usize> = ordered.iter().copied().filter(|&s| s >= n).collect();
            ordered = stages.chain(passes).collect();
        }
        Self::note_positions(&ordered, pos);
        self.layers[l] = ordered;
    }
}
