//! Reading a `docker buildx build --progress=rawjson` log: a stream of BuildKit
//! `client.SolveStatus` objects (one per line since buildx 0.14; indented over many lines by
//! buildx 0.13), each listing vertices again whenever one of them changes. Only the vertices
//! matter here: their digest, progress name, `started`, `completed` and `cached`. Statuses,
//! logs, warnings and any field this reader does not know are skipped.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::StageTimes;

/// One progress update as buildx writes it; everything but the vertices is ignored.
#[derive(Deserialize)]
struct Update {
    #[serde(default)]
    vertexes: Option<Vec<RawVertex>>,
}

/// One vertex as an update lists it (Go's `client.Vertex`, empty fields omitted).
#[derive(Deserialize)]
struct RawVertex {
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    started: Option<String>,
    #[serde(default)]
    completed: Option<String>,
    #[serde(default)]
    cached: Option<bool>,
}

/// Everything the log said about one vertex (one digest), its updates merged.
#[derive(Default)]
struct Vertex {
    /// The progress name, as last given.
    name: String,
    /// When it ran: start → end (`None` while running), keyed by start as BuildKit's own
    /// progress display does, since a vertex may run more than once (a cache miss after a
    /// cache check, a retried step).
    runs: BTreeMap<i64, Option<i64>>,
    /// Whether its last update said it came from the cache.
    cached: bool,
}

/// The merged vertices of a log: stage steps grouped by (platform, label), plus the log's
/// extent.
pub(super) struct Merged {
    /// Stages in order of first appearance.
    pub stages: Vec<StageTimes>,
    /// The first start and the last end of any vertex (nanoseconds since the Unix epoch).
    pub start: i64,
    /// See `start`.
    pub end: i64,
    /// Runs that never completed (a failed or cancelled build), counted as running to `end`.
    pub unfinished: usize,
}

/// Reads `text`, a rawjson log, into per-stage intervals; errors name the line.
pub(super) fn read(text: &str) -> Result<Merged, String> {
    let mut by_digest: HashMap<String, Vertex> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut updates = 0usize;
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    // The line an update starts on, counted on from the previous one's.
    let (mut counted, mut line) = (0usize, 1usize);
    loop {
        let at = next_token(text, stream.byte_offset());
        line += newlines(&text[counted..at]);
        counted = at;
        let value = match stream.next() {
            None => break,
            Some(Err(e)) => {
                // The line the broken update starts on; serde's message says where it broke.
                return Err(format!("line {line}: not a `--progress=rawjson` log ({e})"));
            }
            Some(Ok(v)) => v,
        };
        if !value.is_object() {
            return Err(format!(
                "line {line}: expected a progress update (a JSON object), found {}",
                kind(&value)
            ));
        }
        let update: Update = serde_json::from_value(value)
            .map_err(|e| format!("line {line}: not a BuildKit progress update: {e}"))?;
        updates += 1;
        for v in update.vertexes.into_iter().flatten() {
            let digest = v
                .digest
                .filter(|d| !d.is_empty())
                .ok_or_else(|| format!("line {line}: a vertex without a digest"))?;
            let at = |t: &Option<String>| -> Result<Option<i64>, String> {
                t.as_deref()
                    .map(|t| parse_time(t).ok_or_else(|| format!("line {line}: bad time {t:?}")))
                    .transpose()
            };
            let (started, completed) = (at(&v.started)?, at(&v.completed)?);
            let entry = by_digest.entry(digest.clone()).or_insert_with(|| {
                order.push(digest);
                Vertex::default()
            });
            if let Some(name) = v.name.filter(|n| !n.is_empty()) {
                entry.name = name;
            }
            if let Some(s) = started {
                let end = entry.runs.entry(s).or_insert(None);
                *end = match (*end, completed) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                entry.cached = v.cached.unwrap_or(false);
            }
        }
    }
    if updates == 0 {
        return Err("no progress updates: is this a `--progress=rawjson` log?".to_owned());
    }
    let times = by_digest
        .values()
        .flat_map(|v| v.runs.iter().flat_map(|(s, e)| [Some(*s), *e]))
        .flatten();
    let (start, end) = match (times.clone().min(), times.max()) {
        (Some(s), Some(e)) => (s, e),
        _ => return Err("no build step started in this log".to_owned()),
    };
    let mut stages: Vec<StageTimes> = Vec::new();
    let mut unfinished = 0;
    for digest in &order {
        let v = &by_digest[digest];
        let Some((platform, label)) = step_stage(&v.name) else {
            continue;
        };
        let at = match stages
            .iter()
            .position(|s| s.platform == platform && s.label == label)
        {
            Some(at) => at,
            None => {
                stages.push(StageTimes {
                    platform,
                    label,
                    spans: Vec::new(),
                    steps: 0,
                    cached: 0,
                });
                stages.len() - 1
            }
        };
        let stage = &mut stages[at];
        stage.steps += 1;
        stage.cached += usize::from(v.cached);
        for (&s, &e) in &v.runs {
            unfinished += usize::from(e.is_none());
            stage.spans.push((s, e.unwrap_or(end).max(s)));
        }
    }
    for s in &mut stages {
        s.spans = union(std::mem::take(&mut s.spans));
    }
    Ok(Merged {
        stages,
        start,
        end,
        unfinished,
    })
}

/// What a JSON value is, for an error message.
fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The offset of the first non-whitespace byte at or after `from`.
fn next_token(text: &str, from: usize) -> usize {
    text.get(from..)
        .and_then(|rest| rest.find(|c: char| !c.is_whitespace()))
        .map_or(text.len(), |i| from + i)
}

/// How many line breaks `text` holds.
fn newlines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
}

/// Sorted, disjoint intervals covering the same instants as `spans`.
pub(super) fn union(mut spans: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    spans.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The stage a progress name belongs to: `[label n/m] …` → (None, label), `[n/m] …` (a
/// one-stage build) → (None, ""), `[linux/arm64 label n/m] …` → (Some(platform), label).
/// A cross-compiling step of the builtin frontend, `[linux/amd64->arm64 label n/m]`, counts
/// for the platform it builds for (`linux/arm64`). `[internal] …`, `[auth] …`, `[linux/amd64
/// internal] …` and names without brackets are no stage's: `None`.
pub(super) fn step_stage(name: &str) -> Option<(Option<String>, String)> {
    let inside = name.strip_prefix('[')?.split_once(']')?.0;
    let mut words: Vec<&str> = inside.split_whitespace().collect();
    let count = words.pop()?;
    let (n, m) = count.split_once('/')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(n) || !digits(m) {
        return None;
    }
    let (platform, label) = match words.as_slice() {
        [] => (None, ""),
        [p] if p.contains('/') => (Some(target_platform(p)), ""),
        [label] => (None, *label),
        [p, label] if p.contains('/') => (Some(target_platform(p)), *label),
        _ => return None,
    };
    Some((platform, label.to_owned()))
}

/// The platform a step builds for: `linux/amd64` as is, `linux/amd64->arm64` → `linux/arm64`,
/// `linux/amd64->windows/amd64` → `windows/amd64`.
fn target_platform(p: &str) -> String {
    match p.split_once("->") {
        None => p.to_owned(),
        Some((_, to)) if GOOS.contains(&to.split('/').next().unwrap_or(to)) => to.to_owned(),
        Some((from, to)) => format!("{}/{to}", from.split('/').next().unwrap_or(from)),
    }
}

/// Operating systems Go knows: `->windows/amd64` names a whole platform, `->arm/v7` an
/// architecture and variant.
const GOOS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "illumos",
    "ios",
    "js",
    "linux",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
];

/// An RFC 3339 time as Go writes it (`2026-12-07T20:21:09.19558792Z`, or with an offset
/// `+01:00`) in nanoseconds since the Unix epoch.
pub(super) fn parse_time(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0i64;
    if b[at] == b'.' {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = num(at + 1..at + 1 + digits)? * 10i64.pow(9 - digits as u32);
        at += 1 + digits;
    }
    let offset = match &t[at..] {
        "Z" | "z" => 0,
        zone if zone.len() == 6 && zone.as_bytes()[3] == b':' => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            sign * (num(at + 1..at + 3)? * 3600 + num(at + 4..at + 6)? * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset;
    Some(secs * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
