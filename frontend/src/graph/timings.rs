//! A build's measured stage times, from `docker buildx build --progress=rawjson` (written to
//! stderr: `docker buildx build --progress=rawjson . 2> progress.json`).
//!
//! The log is a stream of BuildKit `SolveStatus` updates (`timings/log.rs`). Each vertex (one LLB
//! op, by digest) is listed again whenever it changes; its updates are merged, and its
//! progress name says which stage it is a step of: `[label n/m] …`, `[n/m] …` in a one-stage
//! build, `[linux/arm64 label n/m] …` in a multi-platform one. `[internal] …`, `[auth] …` and
//! unnumbered vertices (exporting, resolving) are no stage's.
//!
//! A stage's duration is the time its own steps were running: the union of their
//! `[started, completed]` intervals. Not their sum (a stage's steps can overlap: its base
//! image is pulled while the build context is sent), and not its first start to its last end
//! (a `COPY --from` waits for the stage it copies from: that wait is the other stage's
//! time, not this one's). A cached step counts for the instant BuildKit took to find it.
//!
//! The critical path is the one the build took: from the target back, each time to the used
//! stage that finished last, the one the stage above waited for longest. It can differ from
//! the longest chain by waves (a short chain of slow stages beats a long chain of quick
//! ones).
//!
//! A multi-platform build runs every stage once per platform. The graph shows one platform's
//! run: the one whose target finished last, which held the build up. A stage BuildKit ran
//! once for all platforms (`FROM --platform=$BUILDPLATFORM` makes the same steps, so one
//! vertex, named after one platform) has its steps under that platform's name only: such a
//! stage takes its time from whichever platform's name its steps carry.

mod log;

#[cfg(test)]
mod tests;

use serde::Serialize;

use super::{format_ms, Graph};

/// How long each stage took in one build: the stages a rawjson log shows steps of.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timings {
    /// Stages, per platform, in the order the log first shows them.
    pub stages: Vec<StageTimes>,
    /// When the log's first vertex started (nanoseconds since the Unix epoch).
    pub start: i64,
    /// When its last vertex finished (ditto).
    pub end: i64,
    /// Runs the log never shows completing (a failed or cancelled build): they count up to
    /// `end`.
    pub unfinished: usize,
}

/// One stage's steps on one platform.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageTimes {
    /// The platform its names carry (multi-platform builds), the one it builds for.
    pub platform: Option<String>,
    /// Its progress label ([`super::Node::label`]); empty in a one-stage build.
    pub label: String,
    /// When its steps ran: sorted, disjoint `[start, end]` intervals in nanoseconds.
    pub spans: Vec<(i64, i64)>,
    /// How many distinct steps (vertices) it had.
    pub steps: usize,
    /// How many of them came from the cache.
    pub cached: usize,
}

impl StageTimes {
    /// How long its steps ran (nanoseconds).
    pub fn busy(&self) -> i64 {
        self.spans.iter().map(|(s, e)| e - s).sum()
    }
}

/// What a timed graph knows beyond each node's duration, for the summary and for tools
/// (`graph.measured` in `--format json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measured {
    /// The build's wall time: its first step started to its last finished.
    pub wall_ms: u64,
    /// The platform shown, in a multi-platform build (the one that finished last).
    pub platform: Option<String>,
    /// Every platform of a multi-platform build and when its last stage step finished,
    /// in milliseconds from the build's start; empty otherwise.
    pub platforms: Vec<PlatformEnd>,
    /// Per node (by index), when its steps started and finished, in milliseconds from the
    /// build's start; `None` when the log has no step of it.
    pub spans: Vec<Option<[u64; 2]>>,
    /// Stage labels the log has steps of that name no stage of this graph (a log of an
    /// older version of the file?).
    pub unknown: Vec<String>,
    /// Runs the log never shows completing, counted up to its end.
    pub unfinished: usize,
    /// How many steps the shown stages had, and how many of them came from the cache.
    pub steps: usize,
    /// See `steps`.
    pub cached: usize,
}

/// When one platform's stages were done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlatformEnd {
    /// The platform, as the progress names write it.
    pub platform: String,
    /// When its last stage step finished (milliseconds from the build's start).
    pub finished_ms: u64,
}

impl Timings {
    /// Reads a `--progress=rawjson` log: JSON objects one after the other (one per line, or
    /// indented as buildx 0.13 writes them). Fields it does not use are ignored; text that
    /// is not such a stream is an error naming its line.
    pub fn parse(text: &str) -> Result<Timings, String> {
        let merged = log::read(text)?;
        if merged.stages.is_empty() {
            return Err("no stage steps in this log (no `[stage n/m] …` progress name)".to_owned());
        }
        Ok(Timings {
            stages: merged.stages,
            start: merged.start,
            end: merged.end,
            unfinished: merged.unfinished,
        })
    }

    /// Milliseconds from the build's start to `at` (nanoseconds).
    fn ms_from_start(&self, at: i64) -> u64 {
        ns_to_ms(at - self.start)
    }
}

/// Nanoseconds to milliseconds, rounded (negative as 0).
fn ns_to_ms(ns: i64) -> u64 {
    u64::try_from(ns.max(0))
        .unwrap_or(0)
        .saturating_add(500_000)
        / 1_000_000
}

impl Graph {
    /// Gives each node its measured time and makes `longest` the critical path the build
    /// took. An error when no stage of the log is a stage of this graph (the log of another
    /// Dockerfile's build).
    pub fn apply_timings(&mut self, timings: &Timings) -> Result<(), String> {
        let node_of = |label: &str| self.nodes.iter().position(|n| n.label == label);
        let mut unknown: Vec<String> = timings
            .stages
            .iter()
            .filter(|s| node_of(&s.label).is_none())
            .map(|s| shown_label(&s.label))
            .collect();
        unknown.sort();
        unknown.dedup();
        let known: Vec<(usize, &StageTimes)> = timings
            .stages
            .iter()
            .filter_map(|s| node_of(&s.label).map(|i| (i, s)))
            .collect();
        if known.is_empty() {
            let names: Vec<String> = self.nodes.iter().map(|n| shown_label(&n.label)).collect();
            return Err(format!(
                "the log's stages ({}) are none of this Dockerfile's ({}): is it the log of another build?",
                few(&unknown),
                few(&names)
            ));
        }
        // Platforms in log order, each with when its last step finished.
        let mut platforms: Vec<(Option<String>, i64, Option<i64>)> = Vec::new();
        for (i, s) in &known {
            let last = s.spans.last().map_or(timings.start, |sp| sp.1);
            let target_end = (*i == self.target).then_some(last);
            match platforms.iter_mut().find(|p| p.0 == s.platform) {
                Some(p) => {
                    p.1 = p.1.max(last);
                    p.2 = p.2.max(target_end);
                }
                None => platforms.push((s.platform.clone(), last, target_end)),
            }
        }
        // The platform that held the build up: its target finished last (else its last step).
        let shown = platforms
            .iter()
            .max_by_key(|p| (p.2, p.1))
            .and_then(|p| p.0.clone());
        let mut spans: Vec<Option<Vec<(i64, i64)>>> = vec![None; self.nodes.len()];
        let (mut steps, mut cached) = (0, 0);
        for (i, s) in &known {
            if s.platform == shown {
                spans[*i] = Some(s.spans.clone());
                (steps, cached) = (steps + s.steps, cached + s.cached);
            }
        }
        // Steps BuildKit ran once for every platform carry another platform's name.
        for (i, s) in &known {
            if !known.iter().any(|(j, t)| j == i && t.platform == shown) {
                let merged = spans[*i].take().unwrap_or_default();
                spans[*i] = Some(log::union([merged, s.spans.clone()].concat()));
                (steps, cached) = (steps + s.steps, cached + s.cached);
            }
        }
        let mut finished: Vec<Option<i64>> = vec![None; self.nodes.len()];
        let mut measured_spans = vec![None; self.nodes.len()];
        for (i, node) in self.nodes.iter_mut().enumerate() {
            let Some(s) = spans[i].as_ref().filter(|s| !s.is_empty()) else {
                node.duration_ms = None;
                continue;
            };
            let busy: i64 = s.iter().map(|(a, b)| b - a).sum();
            node.duration_ms = Some(ns_to_ms(busy));
            let (first, last) = (s[0].0, s[s.len() - 1].1);
            finished[i] = Some(last);
            measured_spans[i] = Some([timings.ms_from_start(first), timings.ms_from_start(last)]);
        }
        self.longest = self.critical_path(&finished);
        self.timed = true;
        self.measured = Some(Measured {
            wall_ms: timings.ms_from_start(timings.end),
            platform: shown,
            platforms: if platforms.len() > 1 {
                platforms
                    .iter()
                    .filter_map(|(p, last, _)| {
                        Some(PlatformEnd {
                            platform: p.clone()?,
                            finished_ms: timings.ms_from_start(*last),
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            },
            spans: measured_spans,
            unknown,
            unfinished: timings.unfinished,
            steps,
            cached,
        });
        Ok(())
    }

    /// From the target back, each time to the used stage that finished last (`finished`,
    /// per node). A used stage the log has no step of counts as finished before every
    /// measured one; among those, the longest-chain rule (latest wave, more steps, earlier
    /// stage) decides.
    fn critical_path(&self, finished: &[Option<i64>]) -> Vec<usize> {
        self.chain_back(|a, b| finished[a].cmp(&finished[b]).then(self.by_wave(a, b)))
    }
}

/// The first names of a list, for a message: `a, b, c, … (1,000 in all)` past ten.
fn few(names: &[String]) -> String {
    const SHOWN: usize = 10;
    if names.len() <= SHOWN {
        return names.join(", ");
    }
    format!("{}, … ({} in all)", names[..SHOWN].join(", "), names.len())
}

/// A label as a message shows it (a one-stage build's empty one as `(the one stage)`).
fn shown_label(label: &str) -> String {
    if label.is_empty() {
        "(the one stage)".to_owned()
    } else {
        label.to_owned()
    }
}

/// The critical path and the slowest stages, for stderr: what a user reads to decide which
/// stage to split or cache better. Empty for a graph without timings.
pub fn summary(graph: &Graph) -> String {
    use std::fmt::Write as _;
    let Some(m) = graph.measured.as_ref().filter(|_| graph.timed) else {
        return String::new();
    };
    let mut out = String::new();
    let width = graph
        .longest
        .iter()
        .map(|&i| graph.nodes[i].name.chars().count())
        .max()
        .unwrap_or(0);
    // Writing to a String cannot fail.
    if let Some(p) = &m.platform {
        let all: Vec<String> = m
            .platforms
            .iter()
            .map(|e| format!("{} {}", e.platform, format_ms(e.finished_ms)))
            .collect();
        if all.len() > 1 {
            let _ = writeln!(
                out,
                "platform {p}: the one that finished last ({})",
                all.join(", ")
            );
        } else {
            let _ = writeln!(out, "platform {p}");
        }
    }
    out.push_str("critical path");
    out.push_str(" (each stage's own time; when it ran, from the build's start)");
    out.push_str(":\n");
    for &i in &graph.longest {
        let node = &graph.nodes[i];
        let _ = write!(out, "  {:<width$}  ", node.name);
        match (node.duration_ms, m.spans.get(i).copied().flatten()) {
            (Some(ms), Some([from, to])) => {
                let _ = writeln!(
                    out,
                    "{:>8}  {} → {}",
                    format_ms(ms),
                    format_ms(from),
                    format_ms(to)
                );
            }
            _ => out.push_str("not in the log\n"),
        }
    }
    let _ = write!(
        out,
        "wall time {} (first step started to last finished)",
        format_ms(m.wall_ms)
    );
    if m.cached > 0 {
        let _ = write!(out, "; {} of {} steps cached", m.cached, m.steps);
    }
    out.push('\n');
    let mut slowest: Vec<usize> = (0..graph.nodes.len())
        .filter(|&i| graph.nodes[i].duration_ms.is_some())
        .collect();
    slowest.sort_by_key(|&i| (std::cmp::Reverse(graph.nodes[i].duration_ms), i));
    slowest.truncate(3);
    let listed: Vec<String> = slowest
        .iter()
        .filter_map(|&i| {
            let n = &graph.nodes[i];
            Some(format!("{} {}", n.name, format_ms(n.duration_ms?)))
        })
        .collect();
    let _ = writeln!(out, "slowest stages: {}", listed.join(", "));
    if !m.unknown.is_empty() {
        let _ = writeln!(
            out,
            "the log also has steps of stages this Dockerfile does not define: {}",
            few(&m.unknown)
        );
    }
    if m.unfinished > 0 {
        let _ = writeln!(
            out,
            "{} step run(s) never finished in the log (a failed build?): counted up to its end",
            m.unfinished
        );
    }
    out
}
