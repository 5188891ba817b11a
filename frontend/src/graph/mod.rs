//! The stage graph as people look at it (`strata graph`, the `frontend.graph` subrequest):
//! one node per stage after `INCLUDE`, `IF`/`FOR` and parameter expansion, an edge per way a
//! stage uses another, the waves BuildKit can run together, and the chain that holds the
//! target up.
//!
//! [`Graph::build`] reads a [`Prepared`] build (pure: nothing is resolved or solved); the
//! renderers turn a graph into text: [`json`], [`dot`], [`mermaid`] and [`svg`] (laid out by
//! [`layout`], no graphviz needed). [`timings`] reads a build's `--progress=rawjson` log and
//! gives each stage its measured time and the graph the critical path the build really took.

pub mod dot;
pub mod json;
pub mod layout;
pub mod mermaid;
mod order;
mod route;
pub mod svg;
pub mod timings;

#[cfg(test)]
mod layout_tests;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::instructions::{CommandKind, Stage};
use crate::pipeline::Prepared;
use crate::plan::{self, FromRef};

/// The picture of one build's stages.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Graph {
    /// One node per stage of the file, in file order: node `i` is stage `i`.
    pub nodes: Vec<Node>,
    /// How stages use each other, from the stage used to the stage using it; one edge per
    /// (from, to, kind), in the order the file first makes it.
    pub edges: Vec<Edge>,
    /// The included files that define stages, in inclusion order, with their stages.
    pub groups: Vec<Group>,
    /// The stage built (`--target`, else the last).
    pub target: usize,
    /// Stages by wave: wave 0 needs no other stage, wave `n` only stages of earlier waves,
    /// so each wave's stages can run at the same time. Every stage has a wave, needed or not.
    pub waves: Vec<Vec<usize>>,
    /// The longest chain of needed stages ending at the target (first stage first): the
    /// stages that cannot overlap, so the least the build waits for. With timings, the
    /// critical path the build actually took.
    pub longest: Vec<usize>,
    /// Whether node durations and `longest` come from a measured build ([`timings`]).
    pub timed: bool,
    /// What else the measured build showed: wall time, platforms, each stage's span
    /// ([`timings::Measured`]); absent (and not in the JSON) without timings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<timings::Measured>,
}

/// One stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Node {
    /// An identifier safe in DOT and mermaid: `s<index>`.
    pub id: String,
    /// The stage's name as people read it: its `AS` name, a parameterised instance as
    /// `build(GOOS=linux, GOARCH=amd64)`, an unnamed stage as `stage-<index>`.
    pub name: String,
    /// The name BuildKit's progress shows for the stage's steps (`[label 2/5] RUN …`): its
    /// `AS` name (an instance's generated one) or `stage-<index>`.
    pub label: String,
    /// A parameterised instance's arguments, in parameter order; empty otherwise. JSON
    /// shows them as an object, `{"GOOS": "linux", "GOARCH": "amd64"}`, in that order.
    #[serde(serialize_with = "args_as_object")]
    pub args: Vec<(String, String)>,
    /// What it starts from.
    pub base: BaseLabel,
    /// Its instructions after `FROM`.
    pub steps: usize,
    /// Its `CHECK` commands, as written.
    pub checks: Vec<String>,
    /// Images its `COPY --from`/`--mount from=` read (stages are edges instead).
    pub images: Vec<String>,
    /// The group (index into [`Graph::groups`]) of the included file that defines it.
    pub group: Option<usize>,
    /// Whether the target needs it; the others are drawn dimmed.
    pub needed: bool,
    /// A named build context replaces it: its instructions never run.
    pub replaced: bool,
    /// Its wave (see [`Graph::waves`]).
    pub wave: usize,
    /// The file that defines it and the line of its `FROM`.
    pub file: String,
    /// See `file`.
    pub line: u32,
    /// How long its steps ran in a measured build, in milliseconds ([`timings`]).
    pub duration_ms: Option<u64>,
}

/// What a stage starts from, as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BaseLabel {
    /// What kind of thing it is.
    pub kind: BaseKind,
    /// The image reference, stage name or context name.
    pub text: String,
}

/// The kinds of base.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BaseKind {
    /// `FROM scratch`.
    Scratch,
    /// An image.
    Image,
    /// An earlier stage (also drawn as a `from` edge).
    Stage,
    /// A named build context (`--build-context`).
    Context,
}

/// One way a stage uses another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The stage used.
    pub from: usize,
    /// The stage using it.
    pub to: usize,
    /// How.
    pub kind: EdgeKind,
}

/// The ways a stage uses another, each drawn differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// `FROM <stage>`: builds on it.
    From,
    /// `COPY --from` / `ADD --from`: copies files out of it.
    Copy,
    /// `RUN --mount=from=` (or a `CHECK`'s): mounts it for one command.
    Mount,
    /// An `ONBUILD` trigger of its base reads it.
    Onbuild,
}

/// The stages an included file defines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The file's name as `INCLUDE` gave it.
    pub file: String,
    /// Its stages (node indices), in file order.
    pub nodes: Vec<usize>,
}

/// The formats a graph is written in: one list, shared by `strata graph --format` and the
/// `frontend.graph` subrequest, so both render alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A standalone SVG picture (no graphviz needed).
    #[default]
    Svg,
    /// Graphviz DOT, to render elsewhere.
    Dot,
    /// A mermaid flowchart, e.g. for a pull-request comment.
    Mermaid,
    /// The graph as JSON, for tools.
    Json,
}

impl Format {
    /// `graph` written in this format.
    pub fn render(self, graph: &Graph) -> String {
        match self {
            Format::Svg => svg::render(graph),
            Format::Dot => dot::render(graph),
            Format::Mermaid => mermaid::render(graph),
            Format::Json => json::render(graph),
        }
    }
}

impl Graph {
    /// The graph of `prepared`: its stages, their uses of each other, waves and the
    /// longest chain to the target.
    pub fn build(prepared: &Prepared) -> Graph {
        let stages = &prepared.lowered.stages;
        let plan = &prepared.plan;
        let single = stages.len() == 1;
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of_file: Vec<Option<usize>> = Vec::new();
        let mut line_indexes: Vec<Option<crate::syntax::LineIndex>> = Vec::new();
        let mut nodes = Vec::with_capacity(stages.len());
        let mut edges: Vec<Edge> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut add_edge = |edges: &mut Vec<Edge>, from: usize, to: usize, kind: EdgeKind| {
            if from < to && seen.insert((from, to, kind)) {
                edges.push(Edge { from, to, kind });
            }
        };
        for (i, stage) in stages.iter().enumerate() {
            let sp = &plan.stages[i];
            let (file, local) = prepared.sources.locate(stage.from.span);
            let file_index = prepared.sources.index_of(stage.from.span);
            // One line index per file: `Sources::line_of` would index the file per stage.
            if line_indexes.len() <= file_index {
                line_indexes.resize_with(file_index + 1, || None);
            }
            let line = line_indexes[file_index]
                .get_or_insert_with(|| {
                    crate::syntax::LineIndex::new(&String::from_utf8_lossy(&file.data))
                })
                .line(local.start);
            let group = if file_index == 0 {
                None
            } else {
                if group_of_file.len() <= file_index {
                    group_of_file.resize(file_index + 1, None);
                }
                let g = *group_of_file[file_index].get_or_insert_with(|| {
                    groups.push(Group {
                        file: file.filename.clone(),
                        nodes: Vec::new(),
                    });
                    groups.len() - 1
                });
                groups[g].nodes.push(i);
                Some(g)
            };
            let label = stage.name.clone().unwrap_or_else(|| format!("stage-{i}"));
            let args = instance_args(stage);
            let name = match (&args, template_name(stage)) {
                (Some(args), Some(t)) => format!(
                    "{t}({})",
                    args.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => label.clone(),
            };
            let base = match &sp.base {
                plan::Base::Scratch => BaseLabel {
                    kind: BaseKind::Scratch,
                    text: "scratch".to_owned(),
                },
                plan::Base::Stage(j) => {
                    add_edge(&mut edges, *j, i, EdgeKind::From);
                    BaseLabel {
                        kind: BaseKind::Stage,
                        // Shown as the stage it names is (an instance with its arguments).
                        text: nodes
                            .get(*j)
                            .map_or_else(|| format!("stage-{j}"), |n: &Node| n.name.clone()),
                    }
                }
                plan::Base::Image(r) => BaseLabel {
                    kind: BaseKind::Image,
                    text: r.clone(),
                },
                plan::Base::Context(c) => BaseLabel {
                    kind: BaseKind::Context,
                    text: c.name.clone(),
                },
            };
            let mut images = Vec::new();
            let note_image = |images: &mut Vec<String>, r: &FromRef| match r {
                FromRef::Image(r) if !images.contains(r) => images.push(r.clone()),
                FromRef::Context(c) if !images.contains(&c.name) => images.push(c.name.clone()),
                _ => {}
            };
            for (ci, reads) in &sp.reads {
                let kind = match stage.commands.get(*ci).map(|c| &c.kind) {
                    Some(CommandKind::Copy(_)) => EdgeKind::Copy,
                    _ => EdgeKind::Mount,
                };
                for r in reads {
                    match r {
                        FromRef::Stage(j) => add_edge(&mut edges, *j, i, kind),
                        other => note_image(&mut images, other),
                    }
                }
            }
            for r in sp.trigger_reads.iter().flatten() {
                match r {
                    FromRef::Stage(j) => add_edge(&mut edges, *j, i, EdgeKind::Onbuild),
                    other => note_image(&mut images, other),
                }
            }
            let synthetic = usize::from(args.is_some());
            let checks = stage
                .commands
                .iter()
                .filter(|c| matches!(c.kind, CommandKind::Check(_)))
                .map(|c| c.source.original.trim().to_owned())
                .collect();
            nodes.push(Node {
                id: format!("s{i}"),
                name,
                label: if single { String::new() } else { label },
                args: args.unwrap_or_default(),
                base,
                steps: stage.commands.len() - synthetic,
                checks,
                images,
                group,
                needed: plan.is_reachable(i),
                replaced: sp.replaced,
                wave: 0,
                file: file.filename.clone(),
                line,
                duration_ms: None,
            });
        }
        let mut graph = Graph {
            nodes,
            edges,
            groups,
            target: plan.target,
            waves: Vec::new(),
            longest: Vec::new(),
            timed: false,
            measured: None,
        };
        graph.assign_waves();
        graph.longest = graph.longest_chain();
        graph
    }

    /// Whether each node is on [`Graph::longest`], by node index: every renderer marks them.
    pub fn chain_nodes(&self) -> Vec<bool> {
        let mut on = vec![false; self.nodes.len()];
        for &i in &self.longest {
            on[i] = true;
        }
        on
    }

    /// The (from, to) pairs of consecutive stages on [`Graph::longest`]: an edge between
    /// them is drawn as part of the chain.
    pub fn chain_edges(&self) -> std::collections::HashSet<(usize, usize)> {
        self.longest.windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// The stages node `i` uses directly (each once, ascending).
    pub fn deps(&self, i: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .edges
            .iter()
            .filter(|e| e.to == i)
            .map(|e| e.from)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Gives every node its wave: one past the latest wave of the stages it uses.
    fn assign_waves(&mut self) {
        let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for e in &self.edges {
            incoming[e.to].push(e.from);
        }
        let mut waves: Vec<Vec<usize>> = Vec::new();
        for (i, from) in incoming.iter().enumerate() {
            // Edges only point forward (`from < to`), so every dep already has its wave.
            let wave = from
                .iter()
                .map(|&j| self.nodes[j].wave + 1)
                .max()
                .unwrap_or(0);
            self.nodes[i].wave = wave;
            if waves.len() <= wave {
                waves.resize(wave + 1, Vec::new());
            }
            waves[wave].push(i);
        }
        self.waves = waves;
    }

    /// From the target back, each time the used stage of the latest wave (more steps,
    /// then the earlier stage, breaking ties): a longest chain ending at the target.
    fn longest_chain(&self) -> Vec<usize> {
        self.chain_back(|a, b| self.by_wave(a, b))
    }

    /// The longest-chain order of two used stages: the later wave, then more steps, then
    /// the earlier stage ranks higher.
    fn by_wave(&self, a: usize, b: usize) -> std::cmp::Ordering {
        let (na, nb) = (&self.nodes[a], &self.nodes[b]);
        na.wave
            .cmp(&nb.wave)
            .then(na.steps.cmp(&nb.steps))
            .then(b.cmp(&a))
    }

    /// The chain ending at the target, first stage first: from the target back, each time
    /// to the used stage `rank` puts highest. The offline longest chain and the measured
    /// critical path differ only in `rank`.
    fn chain_back(&self, rank: impl Fn(usize, usize) -> std::cmp::Ordering) -> Vec<usize> {
        let mut chain = vec![self.target];
        let mut at = self.target;
        while let Some(&next) = self.deps(at).iter().max_by(|&&a, &&b| rank(a, b)) {
            chain.push(next);
            at = next;
        }
        chain.reverse();
        chain
    }
}

/// Arguments as a JSON object, in their order.
fn args_as_object<S: serde::Serializer>(
    args: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(args.iter().map(|(k, v)| (k, v)))
}

/// A parameterised instance's arguments: the template layer puts them in an `ARG` on the
/// instance's own `FROM` span, first of its commands (`template/params.rs`), where no
/// written `ARG` can be.
fn instance_args(stage: &Stage) -> Option<Vec<(String, String)>> {
    let first = stage.commands.first()?;
    let CommandKind::Arg(decls) = &first.kind else {
        return None;
    };
    if first.source.span != stage.from.span {
        return None;
    }
    Some(
        decls
            .iter()
            .map(|d| {
                let v = d
                    .default
                    .as_ref()
                    .map(|w| w.text.clone())
                    .unwrap_or_default();
                (d.name.text.clone(), unquote(&v))
            })
            .collect(),
    )
}

/// The template name of an instance: its `FROM` line as written, `… AS build(GOOS, …)`.
fn template_name(stage: &Stage) -> Option<String> {
    let original = &stage.from.original;
    let lower = original.to_ascii_lowercase();
    let at = lower.rfind(" as ")?;
    let rest = original[at + 4..].trim();
    let name = rest.split('(').next()?.trim();
    (!name.is_empty() && rest.contains('(')).then(|| name.to_owned())
}

/// An argument value as the template layer quoted it (`'a b'`, `'it'"'"'s'`) read back.
fn unquote(v: &str) -> String {
    match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace("'\"'\"'", "'"),
        None => v.to_owned(),
    }
}

/// The lines a node shows, in every format: its name (the target marked), its base, its
/// step count, each `CHECK`, and its measured time when there is one.
pub fn text_lines(graph: &Graph, i: usize) -> Vec<String> {
    let node = &graph.nodes[i];
    let mut lines = Vec::with_capacity(3 + node.checks.len());
    if i == graph.target {
        lines.push(format!("{} (target)", node.name));
    } else {
        lines.push(node.name.clone());
    }
    lines.push(match node.base.kind {
        BaseKind::Scratch => "FROM scratch".to_owned(),
        BaseKind::Image | BaseKind::Stage => format!("FROM {}", node.base.text),
        BaseKind::Context if node.replaced => format!("context {} (replaces it)", node.base.text),
        BaseKind::Context => format!("FROM context {}", node.base.text),
    });
    // A stage a named context replaces runs none of its steps.
    if !node.replaced {
        lines.push(match node.steps {
            1 => "1 step".to_owned(),
            n => format!("{n} steps"),
        });
    }
    lines.extend(node.checks.iter().cloned());
    if let Some(ms) = node.duration_ms {
        lines.push(format_ms(ms));
    }
    lines
}

/// A duration as people read it: `850 ms`, `12.3 s`, `4 m 05 s`.
pub fn format_ms(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} m {:02} s", ms / 60_000, (ms / 1000) % 60),
    }
}

/// Timed graphs colour each needed stage by its share of the slowest stage's time, from
/// pale yellow (quick) to red (the slowest); `None` when the graph has no timings.
pub fn duration_fill(graph: &Graph, i: usize) -> Option<&'static str> {
    const SCALE: [&str; 5] = ["#fff9db", "#ffec99", "#ffc078", "#ff8787", "#fa5252"];
    let ms = graph.nodes[i].duration_ms?;
    let max = graph
        .nodes
        .iter()
        .filter_map(|n| n.duration_ms)
        .max()
        .unwrap_or(0)
        .max(1);
    let step = ((ms as f64 / max as f64) * (SCALE.len() - 1) as f64).round() as usize;
    Some(SCALE[step.min(SCALE.len() - 1)])
}
