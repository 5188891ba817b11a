//! Lint: findings about a Dockerfile that builds but could be better (BuildKit's build
//! checks, with upstream's rule names and messages, plus Strata's own rules about its
//! extensions). Pure: the input is the text, a [`Loader`] for `INCLUDE`s, the build options
//! and whatever base image configs are known; the output is a [`Report`].
//!
//! Three callers share [`lint`]: `strata lint` (offline, `crate::cli`), the gateway build (warnings
//! through BuildKit's `Warn`, or a failure under `# check=error=true`: `gateway::warn`), and
//! the `frontend.lint` subrequest (`subrequest::lint::results`).
//!
//! It runs the pipeline's own steps (includes → `IF`/`FOR` → lowering → plan) on its own
//! copy, each as far as it gets: syntactic rules look at every instruction as written (the
//! arms a build does not take included), stage rules at the stages the build would see, and
//! Strata's template rules at the facts `template` recorded while resolving blocks.

mod ast;
mod baseplatform;
mod blocks;
mod directives;
mod ignored;
mod include;
pub mod order;
pub mod rules;
mod stages;
mod starttool;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use strata_proto::llb::SourceFile;

use crate::convert::BaseImages;
use crate::error::Error;
use crate::includes::{self, Loader, Sources};
use crate::instructions;
use crate::options::BuildOptions;
use crate::plan;
use crate::syntax::{self, LineIndex, Span};
use crate::template;

pub use directives::{CheckConfig, CHECK_BUILD_ARG};
pub use rules::Rule;

/// How a finding counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported; the build goes on.
    Warning,
    /// `# check=error=true`: the build fails on it.
    Error,
}

/// One rule broken at one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Which rule.
    pub rule: &'static Rule,
    /// What is wrong here (upstream's message text for upstream rules).
    pub message: String,
    /// The whole instruction (its lines are the finding's lines, as upstream reports them).
    pub span: Span,
    /// The exact text at fault inside it (a word, a flag), for the column.
    pub at: Span,
    /// Warning, or error under `error=true`.
    pub severity: Severity,
    /// Where the instruction whose processing reports it upstream starts: `span`'s start,
    /// but the later instruction for `MultipleInstructionsDisallowed` (see
    /// [`order::upstream_key`]).
    pub trigger: u32,
}

impl Finding {
    fn new(rule: &'static Rule, message: impl Into<String>, span: Span, at: Span) -> Finding {
        Finding {
            rule,
            message: message.into(),
            span,
            at,
            severity: Severity::Warning,
            trigger: span.start,
        }
    }
}

/// Everything [`lint`] needs.
pub struct Input<'a> {
    /// The root Dockerfile's text.
    pub text: &'a str,
    /// Its name (what findings call it).
    pub filename: &'a str,
    /// Reads `INCLUDE`d files.
    pub loader: &'a dyn Loader,
    /// Build args, target, platform.
    pub opts: &'a BuildOptions,
    /// Base image configs already resolved (their `ENV` and `SHELL` matter to some rules);
    /// any image not in here is assumed to set only `PATH`, like `strata llb`'s stand-ins.
    pub images: &'a BaseImages,
    /// Check the instructions of every stage, as upstream's `--call=check` does without a
    /// target; `false`: only the stages the target needs, as a build (or `--call=check
    /// --target`) dispatches them. Rules about how instructions are written, stage names
    /// and `FROM` lines look at every stage either way, as upstream's.
    pub all_stages: bool,
    /// The build's own pass over the file, which succeeded: lint then does not parse,
    /// expand, lower or plan it again, and checks what the build will convert.
    pub prepared: Option<&'a crate::pipeline::Prepared>,
}

/// The outcome of [`lint`].
#[derive(Debug)]
pub struct Report {
    /// Every file read, for locating findings.
    pub sources: Sources,
    /// The check configuration in force.
    pub config: CheckConfig,
    /// Findings left after `skip`, ordered by file (root first), line, column, rule.
    pub findings: Vec<Finding>,
    /// Why the Dockerfile would not build, if it would not; linting stopped there (a bad
    /// `# check=` value stops it before any rule runs).
    pub error: Option<Error>,
    /// A line index per file of `sources`, built once for locating many findings.
    indexes: Vec<LineIndex>,
    /// The `# check=` directive (or `BUILDKIT_DOCKERFILE_CHECK`) did not parse: `error`
    /// is that, and no rule ran.
    config_failed: bool,
    /// When `error` is an instruction that does not parse: that instruction.
    parse_failed: Option<Span>,
}

/// A finding located in its file, as `strata lint --format json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Located {
    /// The file, as the build names it (`Dockerfile`, `stages/base.inc`).
    pub file: String,
    /// Where in the file; `None` (no fields in the JSON, as upstream omits a warning's
    /// `location`) for an error that has no place in it, such as an unknown `--target`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub at: Option<Position>,
    /// The rule's name; `None` for the error that stops the build.
    pub rule: Option<&'static str>,
    /// What is wrong.
    pub message: String,
    /// `warning` or `error`.
    pub severity: Severity,
    /// The rule's documentation.
    pub url: Option<&'static str>,
    /// The rule's one-sentence description.
    pub description: Option<&'static str>,
}

/// The text at fault: 1-based lines, 1-based columns in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Line of the text at fault.
    pub line: u32,
    /// Column of its first character.
    pub column: u32,
    /// Last line of the text at fault.
    pub end_line: u32,
    /// Column just past it.
    pub end_column: u32,
}

impl Report {
    /// The failure `# check=error=true` asks for: upstream's message naming every rule
    /// broken, located at the first finding. `None` when the build may go on.
    pub fn violation(&self) -> Option<Error> {
        let first = self.findings.first().filter(|_| self.config.error)?;
        let mut names: Vec<&str> = Vec::new();
        for f in &self.findings {
            if !names.contains(&f.rule.name) {
                names.push(f.rule.name);
            }
        }
        Some(Error::at(
            first.span,
            format!("lint violation found for rules: {}", names.join(", ")),
        ))
    }

    /// upstream's short warning text: `Rule: message (line N)`, naming the file too when the
    /// finding is in an included one.
    pub fn short(&self, f: &Finding) -> String {
        let (file, start, _) = self.lines(f.span);
        if self.sources.index_of(f.span) == 0 {
            format!("{}: {} (line {start})", f.rule.name, f.message)
        } else {
            format!(
                "{}: {} (line {start} of {})",
                f.rule.name, f.message, file.filename
            )
        }
    }

    /// The file of a span and its 1-based lines (first, last), as BuildKit ranges count.
    pub fn lines(&self, span: Span) -> (&Arc<SourceFile>, u32, u32) {
        let (file, local) = self.sources.locate(span);
        let index = &self.indexes[self.sources.index_of(span)];
        let end = local.end.saturating_sub(1).max(local.start);
        (file, index.line(local.start), index.line(end))
    }

    /// Every finding (and the stopping error last, if any) with file, line and column.
    pub fn located(&self) -> Vec<Located> {
        let mut out: Vec<Located> = self
            .findings
            .iter()
            .map(|f| {
                let mut l = self.locate(f.at, f.message.clone(), f.severity);
                l.rule = Some(f.rule.name);
                l.url = f.rule.url;
                l.description = Some(f.rule.description);
                l
            })
            .collect();
        if let Some(e) = &self.error {
            let mut l = match e.span() {
                Some(span) => self.locate(span, e.to_string(), Severity::Error),
                None => Located {
                    file: self.sources.root().filename.clone(),
                    at: None,
                    rule: None,
                    message: e.to_string(),
                    severity: Severity::Error,
                    url: None,
                    description: None,
                },
            };
            l.rule = None;
            out.push(l);
        }
        out
    }

    fn locate(&self, span: Span, message: String, severity: Severity) -> Located {
        let (file, local) = self.sources.locate(span);
        let index = &self.indexes[self.sources.index_of(span)];
        let (line, column) = index.line_col(local.start);
        let (end_line, end_column) = index.line_col(local.end.max(local.start));
        Located {
            file: file.filename.clone(),
            at: Some(Position {
                line,
                column,
                end_line,
                end_column,
            }),
            rule: None,
            message,
            severity,
            url: None,
            description: None,
        }
    }

    /// Whether [`Report::error`] is that of a `# check=` configuration that does not parse,
    /// which upstream reports before anything else (a build, `--call=outline`).
    pub fn config_failed(&self) -> bool {
        self.config_failed
    }

    /// When [`Report::error`] is an instruction that does not parse: the whole instruction
    /// (upstream reports such an error there, as "dockerfile parse error on line N: …").
    pub fn parse_failed(&self) -> Option<Span> {
        self.parse_failed
    }

    /// Whether the build must fail because of lint (`error=true` and a finding).
    pub fn fails(&self) -> bool {
        self.config.error && !self.findings.is_empty()
    }
}

/// Lints a Dockerfile; see the module docs. Never fails: a Dockerfile that would not build
/// gives the findings made up to that point and [`Report::error`].
pub fn lint(input: &Input<'_>) -> Report {
    let (sources, file) = match input.prepared {
        Some(p) => (
            p.sources.clone(),
            Ok(std::borrow::Cow::Borrowed(&*p.parsed)),
        ),
        None => {
            let (sources, file) = includes::expand(input.text, input.filename, input.loader);
            (sources, file.map(std::borrow::Cow::Owned))
        }
    };
    let indexes = sources
        .files()
        .map(|f| LineIndex::new(&String::from_utf8_lossy(&f.data)))
        .collect();
    let mut report = Report {
        sources,
        config: CheckConfig::default(),
        findings: Vec::new(),
        error: None,
        indexes,
        config_failed: false,
        parse_failed: None,
    };
    let file = match file {
        Ok(f) => f,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    match directives::config(&file.directives, &input.opts.build_args) {
        Ok(c) => report.config = c,
        Err(e) => {
            report.error = Some(e);
            report.config_failed = true;
            return report;
        }
    }
    let mut raw = Vec::new();
    let error = run_rules(
        input,
        &report.sources,
        &file,
        &mut raw,
        &mut report.parse_failed,
    )
    .err();
    report.error = error;
    report.findings = finish(&report.config, &report.sources, &file, raw);
    report
}

/// Runs every rule, stopping (with the build's error) where the pipeline would.
fn run_rules(
    input: &Input<'_>,
    sources: &Sources,
    file: &syntax::Dockerfile,
    out: &mut Vec<Finding>,
    parse_failed: &mut Option<Span>,
) -> Result<(), Error> {
    ast::check(file, out);
    if let Some(d) = file
        .diagnostics
        .iter()
        .find(|d| d.severity == syntax::Severity::Error)
    {
        return Err(Error::at(d.span, d.message.clone()));
    }
    let heads: BTreeMap<u32, &syntax::Instruction> = file
        .instructions
        .iter()
        .map(|i| (i.span.start, i))
        .collect();
    let written = |start: u32| {
        let ins = heads.get(&start)?;
        let skip = if ins.keyword == "else" { 2 } else { 1 };
        let words: Vec<&str> = ins.original.split_whitespace().skip(skip).collect();
        Some(words.join(" "))
    };
    // The build's pass when it is given (it succeeded), else the same steps here, which
    // stop at the build's error with the findings made before it.
    let (lowered, instance) = match input.prepared {
        Some(p) => {
            blocks::check(&p.facts, &written, out);
            (Cow::Borrowed(&p.lowered), p.instance.clone())
        }
        None => {
            let mut expanded = file.clone();
            let mut facts = Vec::new();
            let instance = template::expand_recording(&mut expanded, input.opts, &mut facts);
            blocks::check(&facts, &written, out);
            let instance = instance?;
            let lowered = instructions::lower(&expanded).inspect_err(|e| {
                *parse_failed = failing_instruction(&expanded, e);
            })?;
            (Cow::Owned(lowered), instance)
        }
    };
    let lowered = &*lowered;
    stages::check_names(lowered, out);
    stages::check_from(lowered, input.opts, file.escape, out);
    let mut opts = input.opts.clone();
    match instance {
        Some(target) => opts.target = Some(target),
        // The build made this check already.
        None if input.prepared.is_some() => {}
        None => crate::pipeline::template_target(
            input.opts,
            &crate::pipeline::templates(file),
            lowered,
        )?,
    }
    let plan = match input.prepared {
        Some(p) => Cow::Borrowed(&p.plan),
        None => Cow::Owned(plan::plan(lowered, &opts, file.escape)?),
    };
    let plan = &*plan;
    let ignore = ignored::Ignore::new(&input.opts.dockerignore);
    let ctx = stages::Context {
        lowered,
        plan,
        opts: &opts,
        images: input.images,
        escape: file.escape,
        ignore: ignore.as_ref(),
    };
    stages::check(&ctx, out);
    baseplatform::check(&ctx, out);
    if !input.all_stages {
        only_dispatched(lowered, plan, out);
    }
    include::check(sources, lowered, plan, out);
    starttool::check(&ctx, out);
    Ok(())
}

/// The instruction whose parsing failed with `e` (upstream's `instructions.Parse` wraps
/// such an error as a `parseError`; its "no build stage in current context" it does not).
fn failing_instruction(file: &syntax::Dockerfile, e: &Error) -> Option<Span> {
    let span = e.span()?;
    if e.to_string().contains("no build stage in current context") {
        return None;
    }
    file.instructions
        .iter()
        .find(|i| i.span.start <= span.start && span.start < i.span.end.max(i.span.start + 1))
        .map(|i| i.span)
}

/// Drops the findings of upstream's dispatch pass (and `ast`'s as-written findings of the
/// same rules) about instructions of stages the target does not need: upstream dispatches
/// only those. An instruction some needed stage has (a `FOR` body) stays.
fn only_dispatched(lowered: &instructions::Lowered, plan: &plan::Plan, out: &mut Vec<Finding>) {
    let mut needed = BTreeSet::new();
    let mut unneeded = BTreeSet::new();
    for (i, stage) in lowered.stages.iter().enumerate() {
        let set = if plan.is_reachable(i) {
            &mut needed
        } else {
            &mut unneeded
        };
        set.extend(stage.commands.iter().map(|c| c.source.span.start));
    }
    out.retain(|f| {
        order::upstream_key(f).0 != order::DISPATCH
            || !unneeded.contains(&f.trigger)
            || needed.contains(&f.trigger)
    });
}

/// Drops duplicates (a `FOR` body is checked once per item) and skipped rules, applies
/// `error=true`, and sorts.
fn finish(
    config: &CheckConfig,
    sources: &Sources,
    file: &syntax::Dockerfile,
    raw: Vec<Finding>,
) -> Vec<Finding> {
    // `# check=` comments right above an instruction, by where it starts.
    let comments: BTreeMap<u32, &[String]> = file
        .instructions
        .iter()
        .filter(|i| i.comments.iter().any(|c| c.contains('=')))
        .map(|i| (i.span.start, i.comments.as_slice()))
        .collect();
    let mut seen = BTreeSet::new();
    let mut out: Vec<(usize, Finding)> = Vec::new();
    for mut f in raw {
        let key = (f.rule.name, f.span.start, f.span.end, f.at.start, f.at.end);
        if !seen.insert((key, f.message.clone())) {
            continue;
        }
        // Upstream merges an instruction's `# check=` comment only where it checks that
        // instruction (parsing it, its `FROM` line, dispatching it: the instruction that
        // triggers the finding); casing, stage names, default args, base platforms and empty
        // continuation lines are checked with the file's configuration alone.
        let own = comments
            .get(&f.trigger)
            .filter(|_| order::uses_instruction_comments(&f));
        let runs = match own {
            Some(c) => directives::for_comments(config, c).runs(f.rule),
            None => config.runs(f.rule),
        };
        if !runs {
            continue;
        }
        if config.error {
            f.severity = Severity::Error;
        }
        out.push((sources.index_of(f.at), f));
    }
    out.sort_by(|(fa, a), (fb, b)| {
        (fa, a.at.start, a.rule.name, &a.message).cmp(&(fb, b.at.start, b.rule.name, &b.message))
    });
    out.into_iter().map(|(_, f)| f).collect()
}
