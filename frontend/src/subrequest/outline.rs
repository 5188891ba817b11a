//! `frontend.outline`: the build arguments, secrets and SSH sockets the target uses, so a
//! user (or an IDE) knows what a build of that target can be given.
//!
//! Which arguments count is upstream's rule (`dockerfile2llb/outline.go`, v0.13): the
//! stages the target needs (itself, its base stages, the stages it copies or mounts from)
//! each contribute the global `ARG`s their `FROM` line expands (and those the default of
//! such an `ARG` expands, transitively) and every `ARG` they declare. A stage `ARG NAME`
//! without default that inherits a global one reports the global declaration; one that
//! inherits a predefined platform arg (`ARG TARGETARCH`) is not reported. Secrets and SSH
//! ids come from `RUN --mount=type=secret|ssh` (and Strata's `CHECK`) of those stages.
//! The first stage to report a name wins, visiting the target, then its base chain, then
//! the stages it reads; the lists are then ordered by file and line.
//!
//! Unlike upstream, no base image is resolved: the answer depends on the Dockerfile only.
//! So a `--mount` value naming a variable set only by a base image's `ENV` expands it
//! empty here (BuildKit would see the image's value).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use strata_proto::json::Location;

use super::json::to_go_json;
use super::location::{self, source_list};
use super::table::{self, Rows};
use super::{doc_comment, Reply};
use crate::error::{Error, Result};
use crate::expand::Lexer;
use crate::instructions::{CommandKind, Source};
use crate::mounts::{self, MountType};
use crate::options::BuildOptions;
use crate::pipeline::Prepared;
use crate::plan::{Base, FromRef};
use crate::scope::{self, ArgOrigin, Vars};
use crate::syntax::Span;

/// Version of the outline answer's format.
pub const VERSION: &str = "1.0.0";

/// `outline.Outline`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outline {
    /// The target stage's name (empty for an unnamed stage).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The comment above its `FROM`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Build arguments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
    /// Secret ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    /// SSH ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh: Vec<Secret>,
    /// Every file of the build, root first (Go's `[][]byte`: base64).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// `outline.Arg`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Arg {
    /// The name.
    pub name: String,
    /// The comment above its `ARG` that starts with the name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Its value for this build (build arg, else default), empty when none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Its `ARG` instruction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// `outline.Secret` and `outline.SSH` (same fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Secret {
    /// The id.
    pub name: String,
    /// `required=true` on the first mount that uses it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// That mount's instruction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// What one `ARG` declaration tells the outline.
#[derive(Clone, Debug)]
struct ArgInfo {
    arg: Arg,
    /// Global `ARG`s its default expanded (only globals have these).
    deps: BTreeSet<String>,
}

/// What one stage uses, before stages are combined.
#[derive(Clone, Debug, Default)]
struct StageUse {
    /// Argument names in the order first used.
    used: Vec<String>,
    /// The stage's own `ARG` declarations (a later one of the same name wins).
    args: BTreeMap<String, ArgInfo>,
    /// Secret ids in order, the first mount of each.
    secrets: Vec<Secret>,
    /// SSH ids in order, the first mount of each.
    ssh: Vec<Secret>,
}

impl StageUse {
    fn mark(&mut self, name: &str) {
        if !self.used.iter().any(|u| u == name) {
            self.used.push(name.to_owned());
        }
    }
}

/// The outline of the target of `p` (planned with `opts`).
pub fn outline(p: &Prepared, opts: &BuildOptions) -> Result<Outline> {
    let lexer = Lexer::new(p.escape);
    let globals = global_args(p, opts, &lexer)?;
    let n = p.lowered.stages.len();
    let mut uses: Vec<StageUse> = vec![StageUse::default(); n];
    let mut envs: Vec<Vars> = vec![Vars::default(); n];
    // Plan order is file order, so a base stage is done before the stages built on it.
    for &i in &p.plan.order {
        let (u, env) = stage_use(p, opts, &lexer, i, &envs)?;
        uses[i] = u;
        envs[i] = env;
    }
    let mut c = Collector::default();
    c.visit(p, &globals, &uses, p.plan.target);
    let by_place = |a: &Option<Location>| a.as_ref().map(location::sort_key).unwrap_or_default();
    c.args.sort_by_key(|a| by_place(&a.location));
    c.secrets.sort_by_key(|s| by_place(&s.location));
    c.ssh.sort_by_key(|s| by_place(&s.location));

    let stage = &p.lowered.stages[p.plan.target];
    let stage_name = stage.name.clone().unwrap_or_default();
    // A parameterised target (`build(GOOS=linux)`) is shown as asked for and described
    // by the comment naming its definition.
    let (name, key) = match &opts.target {
        Some(t) if t.contains('(') => {
            let key = t
                .split('(')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            (t.clone(), key)
        }
        _ => (stage_name.clone(), stage_name),
    };
    Ok(Outline {
        description: doc_comment(&stage.from.comments, &key),
        name,
        args: c.args,
        secrets: c.secrets,
        ssh: c.ssh,
        sources: source_list(&p.sources),
    })
}

/// The answer: JSON, and text as upstream's `PrintOutline` writes it.
pub fn reply(o: &Outline) -> Result<Reply> {
    Ok(Reply {
        json: to_go_json(o)?,
        text: text(o).into_bytes(),
        version: VERSION,
        extra: BTreeMap::new(),
    })
}

fn text(o: &Outline) -> String {
    let mut out = String::new();
    if !o.name.is_empty() || !o.description.is_empty() {
        let name = if o.name.is_empty() {
            "(default)"
        } else {
            &o.name
        };
        let mut rows: Rows = vec![table::row(&["TARGET:", name])];
        if !o.description.is_empty() {
            rows.push(table::row(&["DESCRIPTION:", &o.description]));
        }
        out.push_str(&table::render(&rows, 1));
        out.push('\n');
    }
    if !o.args.is_empty() {
        let mut rows: Rows = vec![table::row(&["BUILD ARG", "VALUE", "DESCRIPTION"])];
        rows.extend(
            o.args
                .iter()
                .map(|a| table::row(&[&a.name, &a.value, &a.description])),
        );
        out.push_str(&table::render(&rows, 3));
        out.push('\n');
    }
    for (title, list) in [("SECRET", &o.secrets), ("SSH", &o.ssh)] {
        if list.is_empty() {
            continue;
        }
        let mut rows: Rows = vec![table::row(&[title, "REQUIRED"])];
        rows.extend(
            list.iter()
                .map(|s| table::row(&[&s.name, if s.required { "true" } else { "" }])),
        );
        out.push_str(&table::render(&rows, 3));
        out.push('\n');
    }
    out
}

fn location(p: &Prepared, src: &Source) -> Location {
    location::lines(&p.sources, src.span, src.lines)
}

fn expand(lexer: &Lexer, text: &str, span: Span, env: &Vars) -> Result<String> {
    lexer
        .expand_word(text, env)
        .map(|e| e.value)
        .map_err(|e| Error::at(span, e.to_string()))
}

/// The global `ARG`s: value for this build and the globals each default expands.
fn global_args(
    p: &Prepared,
    opts: &BuildOptions,
    lexer: &Lexer,
) -> Result<BTreeMap<String, ArgInfo>> {
    let mut env: Vars = opts.predefined_args().into_iter().collect();
    let mut out = BTreeMap::new();
    for (decl, src) in p.lowered.meta_args.iter().zip(&p.lowered.meta_sources) {
        let name = decl.name.text.clone();
        let (value, deps) = match (opts.build_args.get(&name), &decl.default) {
            (Some(v), _) => (v.clone(), BTreeSet::new()),
            (None, Some(d)) => {
                let e = lexer
                    .expand_word(&d.text, &env)
                    .map_err(|e| Error::at(d.span, e.to_string()))?;
                (e.value, e.used)
            }
            // Declared without a value: shown empty, but the name keeps the value it has
            // (a platform arg's, an earlier global's), as the plan's globals and
            // dockerfile 1.26's `buildMetaArgs` keep it.
            (None, None) => (String::new(), BTreeSet::new()),
        };
        if opts.build_args.contains_key(&name) || decl.default.is_some() {
            env.set(&name, &value);
        }
        let arg = Arg {
            description: doc_comment(&src.comments, &name),
            name: name.clone(),
            value,
            location: Some(location(p, src)),
        };
        out.insert(name, ArgInfo { arg, deps });
    }
    Ok(out)
}

/// What stage `i` uses, and its environment (from the Dockerfile alone) at its end.
fn stage_use(
    p: &Prepared,
    opts: &BuildOptions,
    lexer: &Lexer,
    i: usize,
    envs: &[Vars],
) -> Result<(StageUse, Vars)> {
    let mut u = StageUse::default();
    let planned = &p.plan.stages[i];
    // A named context stands in for the whole stage: nothing of it is built.
    if planned.replaced {
        return Ok((u, Vars::default()));
    }
    let stage = &p.lowered.stages[i];
    let meta = &p.plan.meta_args;
    let from_words = std::iter::once((&stage.base.text, stage.base.span))
        .chain(stage.platform.iter().map(|f| (&f.text, f.span)));
    for (text, span) in from_words {
        let e = lexer
            .expand_word(text, meta)
            .map_err(|e| Error::at(span, e.to_string()))?;
        e.used.iter().for_each(|n| u.mark(n));
    }
    let mut env = match planned.base {
        Base::Stage(j) => envs.get(j).cloned().unwrap_or_default(),
        _ => Vars::default(),
    };
    // Built on a stage, the stage runs that stage's ONBUILD triggers first, placed at its
    // `FROM` line (as upstream's outline shows an `ONBUILD ARG`).
    let triggers = match planned.base {
        Base::Stage(j) => parent_triggers(&p.lowered.stages[j], stage)?,
        _ => Vec::new(),
    };
    for cmd in triggers.iter().chain(&stage.commands) {
        match &cmd.kind {
            CommandKind::Arg(decls) => {
                // Names expand against the environment before the instruction; then the
                // declarations apply in order, each default expanded against the
                // environment with the ones before it (`ARG A=1 B=$A` gives B=1), as
                // dockerfile 1.26's `dispatchArg` does.
                let mut named = Vec::new();
                for d in decls {
                    named.push((d, expand(lexer, &d.name.text, d.name.span, &env)?));
                }
                for (d, name) in named {
                    let (value, origin) = scope::stage_arg(
                        opts,
                        &name,
                        d.default.as_ref(),
                        |w| expand(lexer, &w.text, w.span, &env).map(Some),
                        meta,
                    )?;
                    // An `ARG NAME` that inherits a global's value reports the global.
                    let inherited = origin == ArgOrigin::Global && value.is_some();
                    if !inherited {
                        let arg = Arg {
                            description: doc_comment(&cmd.source.comments, &d.name.text),
                            name: name.clone(),
                            value: value.clone().unwrap_or_default(),
                            location: Some(location(p, &cmd.source)),
                        };
                        u.args.insert(
                            name.clone(),
                            ArgInfo {
                                arg,
                                deps: BTreeSet::new(),
                            },
                        );
                    }
                    u.mark(&name);
                    if let Some(v) = value {
                        if scope::is_env_arg(&name) {
                            env.set(&name, &v);
                        }
                    }
                }
            }
            CommandKind::Env(pairs) => {
                let mut expanded = Vec::new();
                for (k, v) in pairs {
                    expanded.push((
                        expand(lexer, &k.text, k.span, &env)?,
                        expand(lexer, &v.text, v.span, &env)?,
                    ));
                }
                for (k, v) in expanded {
                    env.set(&k, &v);
                }
            }
            CommandKind::Run(r) | CommandKind::Check(r) => {
                for m in &r.mounts {
                    // Each value expanded on its own, as a build parses it.
                    let spec = mounts::parse_with(&m.text, |v| {
                        expand(lexer, v, m.span, &env).map_err(|e| e.to_string())
                    })
                    .map_err(|e| Error::at(m.span, e))?;
                    let list = match spec.kind {
                        MountType::Secret => &mut u.secrets,
                        MountType::Ssh => &mut u.ssh,
                        _ => continue,
                    };
                    let id = spec.id.unwrap_or_default();
                    if !list.iter().any(|s| s.name == id) {
                        list.push(Secret {
                            name: id,
                            required: spec.required,
                            location: Some(location(p, &cmd.source)),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok((u, env))
}

/// The ONBUILD triggers of `parent` as commands of `stage`: at its `FROM` line (words and
/// all, since a trigger's text is not in the file), without comments.
fn parent_triggers(
    parent: &crate::instructions::Stage,
    stage: &crate::instructions::Stage,
) -> Result<Vec<crate::instructions::Command>> {
    let mut out = Vec::new();
    for c in &parent.commands {
        let CommandKind::OnBuild(trigger) = &c.kind else {
            continue;
        };
        let mut cmd = crate::instructions::lower_trigger(trigger)
            .map_err(|e| Error::at(stage.from.span, e.to_string()))?;
        cmd.source.span = stage.from.span;
        cmd.source.lines = stage.from.lines;
        cmd.source.comments = Vec::new();
        let at = stage.from.span;
        match &mut cmd.kind {
            CommandKind::Arg(decls) => {
                for d in decls {
                    d.name.span = at;
                    if let Some(w) = &mut d.default {
                        w.span = at;
                    }
                }
            }
            CommandKind::Env(pairs) => {
                for (k, v) in pairs {
                    k.span = at;
                    v.span = at;
                }
            }
            CommandKind::Run(r) | CommandKind::Check(r) => {
                for m in &mut r.mounts {
                    m.span = at;
                }
            }
            _ => {}
        }
        out.push(cmd);
    }
    Ok(out)
}

/// Combines stages the way upstream does: first report of a name wins.
#[derive(Default)]
struct Collector {
    stages: BTreeSet<usize>,
    arg_names: BTreeSet<String>,
    args: Vec<Arg>,
    secrets: Vec<Secret>,
    ssh: Vec<Secret>,
}

impl Collector {
    fn visit(
        &mut self,
        p: &Prepared,
        globals: &BTreeMap<String, ArgInfo>,
        uses: &[StageUse],
        i: usize,
    ) {
        // A stage seen before adds nothing new: every name it reports is taken already.
        if !self.stages.insert(i) {
            return;
        }
        let u = &uses[i];
        let info = |name: &str| u.args.get(name).or_else(|| globals.get(name));
        // Used names, plus the globals their defaults expand, transitively.
        let mut names: Vec<String> = Vec::new();
        let mut todo: Vec<String> = u.used.iter().rev().cloned().collect();
        while let Some(name) = todo.pop() {
            if names.contains(&name) {
                continue;
            }
            if let Some(a) = info(&name) {
                todo.extend(a.deps.iter().rev().cloned());
            }
            names.push(name);
        }
        for name in names {
            if let Some(a) = info(&name) {
                if self.arg_names.insert(name) {
                    self.args.push(a.arg.clone());
                }
            }
        }
        for (mine, all) in [(&u.secrets, &mut self.secrets), (&u.ssh, &mut self.ssh)] {
            for s in mine {
                if !all.iter().any(|t| t.name == s.name) {
                    all.push(s.clone());
                }
            }
        }
        let planned = &p.plan.stages[i];
        if let Base::Stage(j) = planned.base {
            self.visit(p, globals, uses, j);
        }
        for r in planned.all_reads() {
            if let FromRef::Stage(j) = r {
                self.visit(p, globals, uses, *j);
            }
        }
    }
}

#[cfg(test)]
mod tests;
