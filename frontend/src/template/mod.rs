//! Compile-time templating: `IF` / `ELSE IF` / `ELSE` / `END` and `FOR NAME IN … / END`,
//! resolved between include expansion and lowering, so every later layer sees one static
//! instruction list (and BuildKit one static DAG).
//!
//! The instructions that survive are the parsed ones, with their spans: errors and LLB
//! source locations keep pointing at the lines as written (inside a `FOR` body, at the body
//! line every iteration came from).
//!
//! Conditions are evaluated with the variables the instruction at that point would see:
//! before the first `FROM`, the build and target platform args (`BUILDPLATFORM`,
//! `TARGETARCH`, …) and the global `ARG`s declared so far; inside a stage, the stage's
//! `ARG`s (build arg, else default, else the global value) and `ENV`s declared so far,
//! plus the `ENV`s of a parent stage named in `FROM`. A base image's own `ENV` is not
//! known at this point and is not visible.
//!
//! A `FOR` body is instantiated once per item by substituting the loop variable in every
//! word, flag value, heredoc body and the original text of each instruction, with the
//! Dockerfile lexer in a mode that keeps quotes and escapes and leaves every other variable
//! as written (`skip_unset_env`): `$PY` and `${PY}` (and `${PY:-x}`, …) become the item,
//! except inside single quotes or after an escape character, exactly where an `ARG` would
//! not be expanded either.

pub mod cond;
pub mod facts;
mod params;

pub use facts::{BlockFact, BlockKind};
pub use params::signature;

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::expand::{is_valid_name, Lexer};
use crate::options::BuildOptions;
use crate::syntax::{Args, Dockerfile, Instruction, Span};

/// How deep `IF`/`FOR` blocks may nest: a bound on hostile input.
pub const MAX_NESTING: usize = 64;

/// How many instructions expansion may produce: nested `FOR`s multiply.
pub const MAX_INSTRUCTIONS: usize = 100_000;

/// Resolves every `IF` and `FOR` of `file` under `opts`, then instantiates parameterised
/// stages; a file without them is unchanged. Returns the instance name to build when the
/// `--target` names a parameterised stage (`build(GOOS=linux)`).
pub fn expand(file: &mut Dockerfile, opts: &BuildOptions) -> Result<Option<String>> {
    expand_recording(file, opts, &mut Vec::new())
}

/// [`expand`], also appending to `facts` what each evaluated block head showed (for lint:
/// arms no build can take, loops that never have items, empty blocks).
pub fn expand_recording(
    file: &mut Dockerfile,
    opts: &BuildOptions,
    facts: &mut Vec<BlockFact>,
) -> Result<Option<String>> {
    conditionals(file, opts, facts)?;
    let globals = global_vars(file, opts);
    let target = params::expand(
        &mut file.instructions,
        opts.target.as_deref(),
        file.escape,
        &globals,
    )?;
    // Blocks inside parameterised stages were left for their instances, where the
    // parameters are now bound (and declared as ARGs): resolve them now.
    conditionals(file, opts, facts)?;
    Ok(target)
}

/// Resolves the `IF` and `FOR` blocks of `file` under `opts` but instantiates no
/// parameterised stage: their definitions stay as written (blocks inside them too), which
/// is how `frontend.targets` lists them.
pub fn resolve_blocks(file: &mut Dockerfile, opts: &BuildOptions) -> Result<()> {
    conditionals(file, opts, &mut Vec::new())
}

/// Every name an `ARG`, `ENV` or `FOR` of the file declares, in any arm: a name outside
/// this set can never be set, so `defined(NAME)` is known false for every build.
fn declared_names(instructions: &[Instruction]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for ins in instructions {
        match (&*ins.keyword, &ins.args) {
            ("arg" | "env", Args::KeyValues(kvs)) => {
                out.extend(kvs.iter().map(|kv| kv.key.text.clone()));
            }
            ("for", Args::Words(w)) => out.extend(w.first().map(|w| w.text.clone())),
            _ => {}
        }
    }
    out
}

/// What a `FROM` line sees: the platform args and the global `ARG`s (build arg, else
/// default), once the prelude's `IF`s are resolved.
fn global_vars(file: &Dockerfile, opts: &BuildOptions) -> Vec<(String, String)> {
    let mut w = Walker::new(opts, file.escape);
    for ins in file.instructions.iter().take_while(|i| i.keyword != "from") {
        if ins.keyword == "arg" {
            w.arg(ins);
        }
    }
    w.meta
}

fn conditionals(
    file: &mut Dockerfile,
    opts: &BuildOptions,
    facts: &mut Vec<BlockFact>,
) -> Result<()> {
    if !file
        .instructions
        .iter()
        .any(|i| matches!(i.keyword.as_str(), "if" | "else" | "end" | "for"))
    {
        return Ok(());
    }
    let instructions = std::mem::take(&mut file.instructions);
    let mut pos = 0;
    let (nodes, stop) = block(&instructions, &mut pos, None, 0)?;
    if let Some(stop) = stop {
        return Err(Error::at(
            stop.keyword_span,
            format!("{} without IF or FOR", stop.keyword.to_uppercase()),
        ));
    }
    let mut w = Walker::new(opts, file.escape);
    w.declared = declared_names(&instructions);
    let walked = w.walk(&nodes, 0);
    // What was learnt before an error is still true (lint reports both).
    facts.append(&mut w.facts);
    walked?;
    file.instructions = w.out;
    Ok(())
}

/// A block structure: plain instructions, `IF` chains and `FOR` loops.
#[derive(Clone, Debug)]
enum Node {
    Ins(Instruction),
    If {
        /// Each `IF` / `ELSE IF` instruction with the block it guards.
        arms: Vec<(Instruction, Vec<Node>)>,
        otherwise: Vec<Node>,
        /// `[ELSE,] END`, kept so a deferred block can be written back out.
        closers: Vec<Instruction>,
    },
    For {
        head: Instruction,
        body: Vec<Node>,
        /// `END`.
        closers: Vec<Instruction>,
    },
}

impl Node {
    /// The instructions the node was read from, in order (for a block left for later).
    fn flatten(&self, out: &mut Vec<Instruction>) {
        match self {
            Node::Ins(i) => out.push(i.clone()),
            Node::If {
                arms,
                otherwise,
                closers,
            } => {
                for (head, body) in arms {
                    out.push(head.clone());
                    body.iter().for_each(|n| n.flatten(out));
                }
                if let [else_, _] = closers.as_slice() {
                    out.push(else_.clone());
                    otherwise.iter().for_each(|n| n.flatten(out));
                }
                out.extend(closers.last().cloned());
            }
            Node::For {
                head,
                body,
                closers,
            } => {
                out.push(head.clone());
                body.iter().for_each(|n| n.flatten(out));
                out.extend(closers.iter().cloned());
            }
        }
    }
}

fn is_else_if(ins: &Instruction) -> bool {
    matches!(&ins.args, Args::Words(w) if w.first().is_some_and(|w| w.text.eq_ignore_ascii_case("if")))
}

/// Reads nodes until `ELSE`/`END` (returned) or the end of the file (an error when inside
/// the block opened by `opener`).
fn block(
    ins: &[Instruction],
    pos: &mut usize,
    opener: Option<&Instruction>,
    depth: usize,
) -> Result<(Vec<Node>, Option<Instruction>)> {
    let mut nodes = Vec::new();
    while let Some(i) = ins.get(*pos) {
        *pos += 1;
        match i.keyword.as_str() {
            "else" | "end" => return Ok((nodes, Some(i.clone()))),
            "if" | "for" if depth >= MAX_NESTING => {
                return Err(Error::at(
                    i.keyword_span,
                    format!("IF/FOR blocks nest deeper than {MAX_NESTING} levels"),
                ))
            }
            "if" => nodes.push(if_chain(ins, pos, i, depth)?),
            "for" => {
                let (body, stop) = block(ins, pos, Some(i), depth + 1)?;
                match stop {
                    Some(s) if s.keyword == "end" => {
                        check_bare(&s)?;
                        nodes.push(Node::For {
                            head: i.clone(),
                            body,
                            closers: vec![s],
                        })
                    }
                    Some(s) => {
                        return Err(Error::at(s.keyword_span, "ELSE inside FOR without an IF"))
                    }
                    None => return Err(unclosed(i)),
                }
            }
            _ => nodes.push(Node::Ins(i.clone())),
        }
    }
    match opener {
        Some(o) => Err(unclosed(o)),
        None => Ok((nodes, None)),
    }
}

fn if_chain(
    ins: &[Instruction],
    pos: &mut usize,
    head: &Instruction,
    depth: usize,
) -> Result<Node> {
    let mut arms = Vec::new();
    let mut current = head.clone();
    loop {
        let (body, stop) = block(ins, pos, Some(head), depth + 1)?;
        let Some(stop) = stop else {
            return Err(unclosed(head));
        };
        arms.push((current, body));
        if stop.keyword == "end" {
            check_bare(&stop)?;
            return Ok(Node::If {
                arms,
                otherwise: Vec::new(),
                closers: vec![stop],
            });
        }
        if is_else_if(&stop) {
            current = stop;
            continue;
        }
        check_bare(&stop)?;
        let (otherwise, end) = block(ins, pos, Some(head), depth + 1)?;
        return match end {
            Some(e) if e.keyword == "end" => {
                check_bare(&e)?;
                Ok(Node::If {
                    arms,
                    otherwise,
                    closers: vec![stop, e],
                })
            }
            Some(e) => Err(Error::at(e.keyword_span, "ELSE after ELSE in the same IF")),
            None => Err(unclosed(head)),
        };
    }
}

fn unclosed(opener: &Instruction) -> Error {
    Error::at(
        opener.keyword_span,
        format!(
            "{} is never closed: add END after its block",
            opener.keyword.to_uppercase()
        ),
    )
}

/// `ELSE` and `END` take no arguments.
fn check_bare(ins: &Instruction) -> Result<()> {
    if ins.flags.is_empty() && matches!(&ins.args, Args::Empty) {
        return Ok(());
    }
    if let Args::Words(w) = &ins.args {
        if w.is_empty() && ins.flags.is_empty() {
            return Ok(());
        }
    }
    Err(Error::at(
        ins.span,
        format!("{} takes no arguments", ins.keyword.to_uppercase()),
    ))
}

/// The words after the keyword (after `IF` for `ELSE IF`), joined, as condition text.
fn rest_text(ins: &Instruction, skip: usize) -> Result<String> {
    if let Some(f) = ins.flags.first() {
        return Err(Error::at(
            f.span,
            format!("{} takes no flags", ins.keyword.to_uppercase()),
        ));
    }
    Ok(match &ins.args {
        Args::Words(w) => w
            .iter()
            .skip(skip)
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        Args::Empty => String::new(),
        _ => return Err(Error::at(ins.span, "malformed IF/FOR line")),
    })
}

/// A stage as far as the walk has seen it.
#[derive(Clone, Debug, Default)]
struct StageVars {
    /// `ENV`s, inherited by stages built on this one.
    envs: Vec<(String, String)>,
    /// What a condition sees: `ARG`s and `ENV`s, later entries win.
    vars: Vec<(String, String)>,
    /// Names in `vars` whose value depends on build args or the platform (every `ARG`,
    /// and `ENV`s computed from one or declared in a block chosen by one).
    varying: BTreeSet<String>,
    /// The names of `envs` among them, inherited with `envs`.
    varying_envs: BTreeSet<String>,
}

struct Walker<'a> {
    opts: &'a BuildOptions,
    lexer: Lexer,
    /// Platform args and global `ARG`s.
    meta: Vec<(String, String)>,
    stage: Option<StageVars>,
    /// Finished and current stages by name, for `ENV` inheritance and duplicate names.
    stages: BTreeMap<String, StageVars>,
    current_name: Option<String>,
    out: Vec<Instruction>,
    /// `FOR` iterations run so far, against [`MAX_INSTRUCTIONS`].
    iterations: usize,
    /// The current stage is a parameterised stage's template: its blocks are left as they
    /// are, to be resolved in each instance once the parameters are bound.
    in_template: bool,
    /// What each evaluated block head showed, for lint.
    facts: Vec<BlockFact>,
    /// See [`declared_names`].
    declared: BTreeSet<String>,
    /// Inside how many blocks whose choice depends on the inputs (an `IF` arm taken for
    /// these args only): what is declared here varies too.
    uncertain: usize,
    /// Inside how many `FOR`s whose items depend on the inputs: bound values vary, so no
    /// condition here is known for every build.
    varying_loops: usize,
}

impl<'a> Walker<'a> {
    fn new(opts: &'a BuildOptions, escape: char) -> Walker<'a> {
        let meta = opts.predefined_args();
        Walker {
            opts,
            lexer: Lexer::new(escape),
            meta,
            stage: None,
            stages: BTreeMap::new(),
            current_name: None,
            out: Vec::new(),
            iterations: 0,
            in_template: false,
            facts: Vec::new(),
            declared: BTreeSet::new(),
            uncertain: 0,
            varying_loops: 0,
        }
    }

    /// Whether the value of `name` (or whether it is set) at this point depends on build
    /// args or the platform. Every global is (build args override them all).
    fn varies(&self, name: &str) -> bool {
        let set = match &self.stage {
            Some(s) => s.vars.iter().any(|(k, _)| k == name),
            None => self.meta.iter().any(|(k, _)| k == name),
        };
        match &self.stage {
            _ if !set => self.declared.contains(name),
            Some(s) => s.varying.contains(name),
            None => true,
        }
    }

    /// The value of `cond` for every build, as far as it is known here.
    fn known(&self, cond: &cond::Cond) -> Option<bool> {
        if self.varying_loops > 0 {
            return None;
        }
        cond.eval_known(&self.lexer, self.env(), &|n| self.varies(n))
    }

    fn env(&self) -> &Vec<(String, String)> {
        match &self.stage {
            Some(s) => &s.vars,
            None => &self.meta,
        }
    }

    fn walk(&mut self, nodes: &[Node], loops: usize) -> Result<()> {
        for node in nodes {
            match node {
                Node::Ins(ins) => self.emit(ins.clone(), loops)?,
                Node::If { .. } | Node::For { .. } if self.in_template => {
                    // A template stage's blocks wait for its parameters (see `expand`).
                    let mut flat = Vec::new();
                    node.flatten(&mut flat);
                    for ins in flat {
                        self.emit(ins, loops)?;
                    }
                }
                Node::If {
                    arms,
                    otherwise,
                    closers,
                } => self.walk_if(arms, otherwise, closers, loops)?,
                Node::For { head, body, .. } => {
                    let (name, items, varying) = self.for_items(head)?;
                    self.facts.push(BlockFact {
                        kind: BlockKind::For,
                        head: head.span,
                        condition: String::new(),
                        empty_body: body.is_empty(),
                        always: (!varying && self.varying_loops == 0).then_some(!items.is_empty()),
                        shadowed: false,
                    });
                    self.varying_loops += usize::from(varying);
                    let walked = self.walk_loop(head, body, &name, items, loops);
                    self.varying_loops -= usize::from(varying);
                    walked?;
                }
            }
        }
        Ok(())
    }

    /// Walks the arm of an `IF` chain the build takes, recording what every arm showed.
    fn walk_if(
        &mut self,
        arms: &[(Instruction, Vec<Node>)],
        otherwise: &[Node],
        closers: &[Instruction],
        loops: usize,
    ) -> Result<()> {
        let mut chosen: Option<(&[Node], bool)> = None;
        // Every arm so far is known false / some arm so far is known true.
        let (mut all_false, mut any_true) = (true, false);
        for (head, body) in arms {
            let else_if = head.keyword == "else";
            let text = rest_text(head, usize::from(else_if));
            let parsed = text.and_then(|t| {
                let c = cond::parse(&t).map_err(|e| Error::at(head.span, e))?;
                Ok((t, c))
            });
            let (text, c) = match parsed {
                Ok(p) => p,
                // Arms after the one taken are never evaluated: no error from them.
                Err(_) if chosen.is_some() => continue,
                Err(e) => return Err(e),
            };
            let known = self.known(&c);
            self.facts.push(BlockFact {
                kind: if else_if {
                    BlockKind::ElseIf
                } else {
                    BlockKind::If
                },
                head: head.span,
                condition: text,
                empty_body: body.is_empty(),
                always: known,
                shadowed: any_true,
            });
            if chosen.is_none()
                && c.eval(&self.lexer, self.env())
                    .map_err(|e| Error::at(head.span, e))?
            {
                chosen = Some((body, all_false && known == Some(true)));
            }
            all_false &= known == Some(false);
            any_true |= known == Some(true);
        }
        if let [else_, _] = closers {
            self.facts.push(BlockFact {
                kind: BlockKind::Else,
                head: else_.span,
                condition: String::new(),
                empty_body: otherwise.is_empty(),
                always: all_false.then_some(true),
                shadowed: any_true,
            });
        }
        let (body, fixed) = chosen.unwrap_or((otherwise, all_false));
        self.uncertain += usize::from(!fixed);
        let walked = self.walk(body, loops);
        self.uncertain -= usize::from(!fixed);
        walked
    }

    /// Runs a `FOR` body once per item, the loop variable bound.
    fn walk_loop(
        &mut self,
        head: &Instruction,
        body: &[Node],
        name: &str,
        items: Vec<String>,
        loops: usize,
    ) -> Result<()> {
        for item in items {
            // Empty nested loops emit nothing but still cost: bound them too.
            self.iterations += 1;
            if self.iterations > MAX_INSTRUCTIONS {
                return Err(Error::at(
                    head.span,
                    format!("FOR expansion runs more than {MAX_INSTRUCTIONS} iterations"),
                ));
            }
            let bound = bind_nodes(body, name, &item, self.lexer.escape)?;
            self.walk(&bound, loops + 1)?;
        }
        Ok(())
    }

    /// `FOR NAME IN words…`: the name, the items (words expanded, split on whitespace) and
    /// whether they depend on build args or the platform.
    fn for_items(&self, head: &Instruction) -> Result<(String, Vec<String>, bool)> {
        rest_text(head, 0)?;
        let words = match &head.args {
            Args::Words(w) => w.as_slice(),
            _ => &[],
        };
        let bad = || Error::at(head.span, "FOR needs the form FOR NAME IN word…");
        let (Some(name), Some(kw)) = (words.first(), words.get(1)) else {
            return Err(bad());
        };
        if !kw.text.eq_ignore_ascii_case("in") || !is_valid_name(&name.text) {
            return Err(bad());
        }
        let mut items = Vec::new();
        let mut varying = false;
        for w in &words[2..] {
            let mut lexer = self.lexer.clone();
            lexer.skip_unset_env = false;
            let probe = lexer
                .expand_word(&w.text, self.env())
                .map_err(|e| Error::at(w.span, e.to_string()))?;
            if let Some(v) = probe.unset.iter().next() {
                return Err(Error::at(
                    w.span,
                    format!("unknown variable {v} in the FOR list (declare it with ARG)"),
                ));
            }
            varying |= probe.used.iter().any(|n| self.varies(n));
            items.extend(
                lexer
                    .expand_words(&w.text, self.env())
                    .map_err(|e| Error::at(w.span, e.to_string()))?,
            );
        }
        Ok((name.text.clone(), items, varying))
    }

    /// Outputs an instruction and records what it declares.
    fn emit(&mut self, ins: Instruction, loops: usize) -> Result<()> {
        if self.out.len() >= MAX_INSTRUCTIONS {
            return Err(Error::at(
                ins.span,
                format!("IF/FOR expansion produces more than {MAX_INSTRUCTIONS} instructions"),
            ));
        }
        match ins.keyword.as_str() {
            "from" => self.from(&ins, loops)?,
            "arg" => self.arg(&ins),
            "env" => self.env_(&ins),
            _ => {}
        }
        self.out.push(ins);
        Ok(())
    }

    fn from(&mut self, ins: &Instruction, loops: usize) -> Result<()> {
        self.finish_stage();
        let words: &[crate::syntax::Word] = match &ins.args {
            Args::Words(w) => w,
            _ => &[],
        };
        let mut stage = StageVars::default();
        self.in_template = params::is_definition(ins);
        if let Some(base) = words.first() {
            if let Some(parent) = self.stages.get(&base.text.to_ascii_lowercase()) {
                stage.envs = parent.envs.clone();
                stage.vars = parent.envs.clone();
                stage.varying_envs = parent.varying_envs.clone();
                stage.varying = parent.varying_envs.clone();
            }
        }
        if let [_, as_kw, name] = words {
            if as_kw.text.eq_ignore_ascii_case("as") {
                let name = name.text.to_ascii_lowercase();
                if loops > 0 && self.stages.contains_key(&name) {
                    {
                        return Err(Error::at(
                            ins.span,
                            format!(
                                "duplicate stage name {name:?} from FOR: an earlier stage or iteration already defines it"
                            ),
                        ));
                    }
                }
                self.current_name = Some(name);
            }
        }
        self.stage = Some(stage);
        Ok(())
    }

    fn finish_stage(&mut self) {
        if let (Some(stage), Some(name)) = (self.stage.take(), self.current_name.take()) {
            self.stages.insert(name, stage);
        }
    }

    fn arg(&mut self, ins: &Instruction) {
        let Args::KeyValues(kvs) = &ins.args else {
            return;
        };
        for kv in kvs {
            let name = kv.key.text.clone();
            let default = kv.value.as_ref().and_then(|v| {
                self.lexer
                    .expand_word(&v.text, self.env())
                    .ok()
                    .map(|e| e.value)
            });
            let global = match &self.stage {
                Some(_) => self.meta.get_last(&name),
                None => None,
            };
            let value = self
                .opts
                .build_args
                .get(&name)
                .cloned()
                .or(default)
                .or(global);
            let vars = match &mut self.stage {
                Some(s) => {
                    // A build arg can always override it.
                    s.varying.insert(name.clone());
                    &mut s.vars
                }
                None => &mut self.meta,
            };
            vars.retain(|(k, _)| *k != name);
            if let Some(v) = value {
                vars.push((name, v));
            }
        }
    }

    fn env_(&mut self, ins: &Instruction) {
        let Args::KeyValues(kvs) = &ins.args else {
            return;
        };
        let Some(stage) = &self.stage else {
            return;
        };
        // Every pair of one ENV line sees the values before the line, as in BuildKit.
        let before = stage.vars.clone();
        let uncertain = self.uncertain + self.varying_loops > 0;
        let varies = |n: &String| match before.iter().any(|(k, _)| k == n) {
            true => stage.varying.contains(n),
            false => self.declared.contains(n),
        };
        let mut set = Vec::new();
        for kv in kvs {
            let Some(v) = &kv.value else { continue };
            let Ok(value) = self.lexer.expand_word(&v.text, &before) else {
                continue;
            };
            let varying = uncertain || value.used.iter().chain(&value.unset).any(varies);
            set.push((kv.key.text.clone(), value.value, varying));
        }
        let Some(stage) = &mut self.stage else {
            return;
        };
        for (name, value, varying) in set {
            stage.vars.push((name.clone(), value.clone()));
            stage.envs.push((name.clone(), value));
            if varying {
                stage.varying.insert(name.clone());
                stage.varying_envs.insert(name);
            } else {
                stage.varying.remove(&name);
                stage.varying_envs.remove(&name);
            }
        }
    }
}

trait LastValue {
    fn get_last(&self, name: &str) -> Option<String>;
}

impl LastValue for Vec<(String, String)> {
    fn get_last(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn bind_nodes(nodes: &[Node], name: &str, value: &str, escape: char) -> Result<Vec<Node>> {
    nodes
        .iter()
        .map(|n| {
            Ok(match n {
                Node::Ins(i) => Node::Ins(bind(i, name, value, escape)?),
                Node::If {
                    arms,
                    otherwise,
                    closers,
                } => Node::If {
                    arms: arms
                        .iter()
                        .map(|(h, b)| {
                            Ok((
                                bind(h, name, value, escape)?,
                                bind_nodes(b, name, value, escape)?,
                            ))
                        })
                        .collect::<Result<_>>()?,
                    otherwise: bind_nodes(otherwise, name, value, escape)?,
                    closers: closers.clone(),
                },
                Node::For {
                    head,
                    body,
                    closers,
                } => Node::For {
                    head: bind(head, name, value, escape)?,
                    body: bind_nodes(body, name, value, escape)?,
                    closers: closers.clone(),
                },
            })
        })
        .collect()
}

/// Substitutes the loop variable in one instruction's texts.
struct Binder {
    shell: Lexer,
    literal: Lexer,
    env: Vec<(String, String)>,
}

impl Binder {
    fn text(&self, text: &mut String, span: Span, quotes: bool) -> Result<()> {
        if !self.env.iter().any(|(n, _)| text.contains(n.as_str())) {
            return Ok(());
        }
        let lexer = if quotes { &self.shell } else { &self.literal };
        *text = lexer
            .expand_word(text, &self.env)
            .map_err(|e| {
                Error::at(
                    span,
                    format!(
                        "binding {}: {e}",
                        self.env
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?
            .value;
        Ok(())
    }

    fn args(&self, args: &mut Args) -> Result<()> {
        match args {
            Args::Words(words) => {
                for w in words {
                    self.text(&mut w.text, w.span, true)?;
                }
            }
            Args::Json(words) => {
                for w in words {
                    self.text(&mut w.text, w.span, false)?;
                }
            }
            Args::Shell(w) => self.text(&mut w.text, w.span, true)?,
            Args::KeyValues(kvs) => {
                for kv in kvs {
                    self.text(&mut kv.key.text, kv.key.span, true)?;
                    if let Some(v) = &mut kv.value {
                        self.text(&mut v.text, v.span, true)?;
                    }
                }
            }
            Args::Healthcheck { cmd, .. } => {
                if let Some(c) = cmd {
                    self.args(c)?;
                }
            }
            Args::OnBuild(inner) => self.instruction(inner)?,
            Args::Empty => {}
        }
        Ok(())
    }

    fn instruction(&self, ins: &mut Instruction) -> Result<()> {
        for f in &mut ins.flags {
            if let Some(v) = &mut f.value {
                self.text(v, f.span, false)?;
            }
        }
        for h in &mut ins.heredocs {
            self.text(&mut h.content, h.span, false)?;
        }
        self.args(&mut ins.args)?;
        // The original text is only shown (progress names); keep it if it does not lex.
        let mut original = ins.original.clone();
        if self.text(&mut original, ins.span, true).is_ok() {
            ins.original = original;
        }
        // Comments only describe (`# variant-${V} …` above a generated stage, read by the
        // subrequests): bound as plain text, kept as written if they do not lex.
        for c in &mut ins.comments {
            let mut bound = c.clone();
            if self.text(&mut bound, ins.span, false).is_ok() {
                *c = bound;
            }
        }
        Ok(())
    }
}

fn bind(ins: &Instruction, name: &str, value: &str, escape: char) -> Result<Instruction> {
    bind_all(ins, &[(name.to_owned(), value.to_owned())], escape)
}

/// Substitutes every variable of `env` (and nothing else) in one instruction's texts.
fn bind_all(ins: &Instruction, env: &[(String, String)], escape: char) -> Result<Instruction> {
    let mut shell = Lexer::new(escape);
    shell.raw_quotes = true;
    shell.raw_escapes = true;
    shell.skip_unset_env = true;
    let mut literal = shell.clone();
    literal.skip_process_quotes = true;
    let b = Binder {
        shell,
        literal,
        env: env.to_vec(),
    };
    let mut ins = ins.clone();
    b.instruction(&mut ins)?;
    Ok(ins)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::platform::Platform;
    use crate::syntax;

    fn run(text: &str, args: &[(&str, &str)]) -> Result<Vec<String>> {
        let mut opts = BuildOptions::new(Platform::linux_amd64());
        for (k, v) in args {
            opts.build_args.insert((*k).to_owned(), (*v).to_owned());
        }
        let mut f = syntax::parse(text);
        expand(&mut f, &opts)?;
        Ok(f.instructions.iter().map(|i| i.original.clone()).collect())
    }

    fn line_of(text: &str, e: &Error) -> u32 {
        syntax::LineIndex::new(text).line(e.span().unwrap().start)
    }

    #[test]
    fn top_level_if_picks_one_arm() {
        let text = "ARG MODE=release\nIF ${MODE} == debug\nFROM a\nELSE IF ${TARGETARCH} == amd64\nFROM b\nELSE\nFROM c\nEND\nRUN x\n";
        assert_eq!(
            run(text, &[]).unwrap(),
            ["ARG MODE=release", "FROM b", "RUN x"]
        );
        assert_eq!(run(text, &[("MODE", "debug")]).unwrap()[1], "FROM a");
        assert_eq!(run(text, &[("TARGETARCH", "arm64")]).unwrap()[1], "FROM c");
    }

    #[test]
    fn stage_if_sees_stage_args_and_envs_so_far() {
        let text = "FROM a\nARG X=1\nENV Y=${X}2\nIF ${Y} == 12 && !defined(Z)\nRUN yes\nEND\nIF defined(TARGETARCH)\nRUN no\nEND\n";
        assert_eq!(
            run(text, &[]).unwrap(),
            ["FROM a", "ARG X=1", "ENV Y=${X}2", "RUN yes"]
        );
        let e = run("FROM a\nIF $TARGETARCH == amd64\nRUN x\nEND\n", &[]).unwrap_err();
        assert!(e.to_string().contains("unknown variable TARGETARCH"), "{e}");
        let ok = run(
            "ARG V=g\nFROM a\nARG TARGETARCH\nARG V\nIF $TARGETARCH$V == amd64g\nRUN x\nEND\n",
            &[],
        );
        assert_eq!(ok.unwrap().last().unwrap(), "RUN x");
    }

    #[test]
    fn stages_inherit_parent_envs() {
        let text = "FROM a AS p\nENV K=v\nFROM p\nIF $K == v\nRUN k\nEND\n";
        assert_eq!(run(text, &[]).unwrap().last().unwrap(), "RUN k");
    }

    #[test]
    fn for_instantiates_each_item() {
        let text = "ARG PYS=\"3.11 3.12\"\nFOR PY IN ${PYS} 3.13\nFROM python:${PY}-slim AS test-$PY\nIF $PY != 3.12\nRUN echo '$PY' \\$PY $PY\nEND\nEND\n";
        assert_eq!(
            run(text, &[]).unwrap(),
            [
                "ARG PYS=\"3.11 3.12\"",
                "FROM python:3.11-slim AS test-3.11",
                "RUN echo '$PY' \\$PY 3.11",
                "FROM python:3.12-slim AS test-3.12",
                "FROM python:3.13-slim AS test-3.13",
                "RUN echo '$PY' \\$PY 3.13",
            ]
        );
    }

    #[test]
    fn for_binds_comments_so_they_describe_each_stage() {
        let text = "FOR V IN slim full\n# variant-${V} The ${V} image, it's $OTHER\nFROM a AS variant-${V}\nEND\n";
        let mut f = syntax::parse(text);
        expand(&mut f, &BuildOptions::new(Platform::linux_amd64())).unwrap();
        let comments: Vec<&str> = f
            .instructions
            .iter()
            .map(|i| i.comments[0].as_str())
            .collect();
        assert_eq!(
            comments,
            [
                "variant-slim The slim image, it's $OTHER",
                "variant-full The full image, it's $OTHER"
            ]
        );
    }

    #[test]
    fn nested_for_binds_both() {
        let text = "FROM a\nFOR A IN x y\nFOR B IN 1 2\nRUN echo $A$B $OTHER\nEND\nEND\n";
        assert_eq!(
            run(text, &[]).unwrap()[1..],
            [
                "RUN echo x1 $OTHER",
                "RUN echo x2 $OTHER",
                "RUN echo y1 $OTHER",
                "RUN echo y2 $OTHER"
            ]
        );
    }

    #[test]
    fn errors_name_their_line() {
        let cases: &[(&str, u32, &str)] = &[
            ("FROM a\nIF a == a\nRUN x\n", 2, "IF is never closed"),
            ("FROM a\nFOR X IN 1\nRUN x\n", 2, "FOR is never closed"),
            ("FROM a\nEND\n", 2, "END without IF"),
            ("FROM a\nIF a == a\nELSE\nELSE\nEND\n", 4, "ELSE after ELSE"),
            ("FROM a\nIF $NOPE == a\nEND\n", 2, "unknown variable NOPE"),
            (
                "FOR X IN 1 1\nFROM a AS s-$X\nEND\n",
                2,
                "duplicate stage name",
            ),
            ("FROM a\nFOR X 1\nEND\n", 2, "FOR NAME IN"),
            ("FROM a\nFOR X IN $L\nEND\n", 2, "unknown variable L"),
            ("FROM a\nIF a == a\nEND x\n", 3, "END takes no arguments"),
        ];
        for (text, line, msg) in cases {
            let e = run(text, &[]).unwrap_err();
            assert_eq!(line_of(text, &e), *line, "{text}: {e}");
            assert!(e.to_string().contains(msg), "{text}: {e}");
        }
    }

    #[test]
    fn parameterised_stages_instantiate_once_per_value_set() {
        let text = "FROM a AS b(X, Y=2)\nRUN $X$Y\nFROM b(X=1) AS c\nCOPY --from=b(Y=2, X=1) /a /a\nCOPY --from=b(X=3) /a /a\n";
        assert_eq!(
            run(text, &[]).unwrap(),
            [
                "FROM a AS b(X, Y=2)",
                "ARG X=1 Y=2",
                "RUN 12",
                "FROM a AS b(X, Y=2)",
                "ARG X=3 Y=2",
                "RUN 32",
                "FROM b(X=1) AS c",
                "COPY --from=b(Y=2, X=1) /a /a",
                "COPY --from=b(X=3) /a /a",
            ]
        );
        let mut f = syntax::parse(text);
        expand(&mut f, &BuildOptions::new(Platform::linux_amd64())).unwrap();
        let names: Vec<String> = f
            .instructions
            .iter()
            .filter(|i| i.keyword == "from")
            .map(|i| match &i.args {
                Args::Words(w) => w
                    .iter()
                    .map(|w| w.text.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            })
            .collect();
        assert_eq!(
            names,
            ["a AS b.x-1.y-2", "a AS b.x-3.y-2", "b.x-1.y-2 AS c"]
        );
        assert_eq!(
            f.instructions[7].flags[0].value.as_deref(),
            Some("b.x-1.y-2")
        );
        let e = run("FROM a AS b(X)\nFROM b(Y=1)\n", &[]).unwrap_err();
        assert!(e.to_string().contains("unknown parameter Y"), "{e}");
    }

    #[test]
    fn empty_nested_loops_are_bounded() {
        let items = vec!["x"; 1000].join(" ");
        let text = format!(
            "FROM a\nFOR A IN {items}\nFOR B IN {items}\nFOR C IN {items}\nEND\nEND\nEND\n"
        );
        let e = run(&text, &[]).unwrap_err();
        assert!(e.to_string().contains("iterations"), "{e}");
    }

    #[test]
    fn blocks_in_templates_see_the_parameters() {
        let text = "FROM a AS t(OS, N=2)\nIF ${OS} == linux && defined(N)\nRUN linux\nELSE\nRUN other-$OS\nEND\nFOR I IN 1 $N\nRUN i$I\nEND\nFROM scratch\nCOPY --from=t(OS=linux) /a /a\nCOPY --from=t(OS=mac, N=3) /a /a\n";
        let got = run(text, &[]).unwrap();
        let runs: Vec<&str> = got
            .iter()
            .map(String::as_str)
            .filter(|o| o.starts_with("RUN"))
            .collect();
        assert_eq!(
            runs,
            [
                "RUN linux",
                "RUN i1",
                "RUN i2",
                "RUN other-mac",
                "RUN i1",
                "RUN i3"
            ]
        );
    }

    #[test]
    fn reference_arguments_expand_with_the_global_args() {
        let text = "ARG OS=linux\nFROM a AS t(OS)\nRUN $OS\nFROM t(OS=${OS}-${TARGETARCH})\nCOPY --from=t(OS=${OS}) /a /a\n";
        let got = run(text, &[("OS", "mac")]).unwrap();
        let runs: Vec<&str> = got
            .iter()
            .map(String::as_str)
            .filter(|o| o.starts_with("RUN") || o.starts_with("COPY"))
            .collect();
        assert_eq!(
            runs,
            [
                "RUN mac-amd64",
                "RUN mac",
                // Progress names show the values.
                "COPY --from=t(OS=mac) /a /a",
            ]
        );
        // A stage's own ARG is not visible to a reference: only what FROM lines see.
        let e = run(
            "FROM a AS t(OS)\nFROM a\nARG V=1\nCOPY --from=t(OS=$V) /a /a\n",
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown variable V"), "{e}");
        assert_eq!(
            line_of(
                "FROM a AS t(OS)\nFROM a\nARG V=1\nCOPY --from=t(OS=$V) /a /a\n",
                &e
            ),
            4
        );
    }

    #[test]
    fn self_referencing_templates_are_bounded() {
        let text = "FROM a AS t(X)\nCOPY --from=t(X=${X}x) /a /a\nFROM t(X=1)\n";
        let e = run(text, &[]).unwrap_err();
        assert!(e.to_string().contains("instances"), "{e}");
    }

    fn facts(text: &str) -> Vec<(BlockKind, u32, Option<bool>, bool, bool)> {
        let mut f = syntax::parse(text);
        let mut facts = Vec::new();
        expand_recording(
            &mut f,
            &BuildOptions::new(Platform::linux_amd64()),
            &mut facts,
        )
        .unwrap();
        let index = syntax::LineIndex::new(text);
        facts
            .iter()
            .map(|b| {
                (
                    b.kind,
                    index.line(b.head.start),
                    b.always,
                    b.shadowed,
                    b.empty_body,
                )
            })
            .collect()
    }

    #[test]
    fn facts_know_what_no_build_can_change() {
        use BlockKind::*;
        // Literals, an ENV of literals, and a name no instruction declares are fixed.
        let text = "FROM a\nENV E=1\nIF a == b\nRUN x\nELSE IF $E == 1\nRUN y\nELSE\nRUN z\nEND\nIF defined(NOPE)\nEND\n";
        assert_eq!(
            facts(text),
            [
                (If, 3, Some(false), false, false),
                (ElseIf, 5, Some(true), false, false),
                (Else, 7, None, true, false),
                (If, 10, Some(false), false, true),
            ]
        );
        // ARGs (and ENVs made from them, or set in an arm an ARG chose) vary.
        let text = "FROM a\nARG M=x\nENV E=$M\nIF $M == y || $E == y\nENV F=1\nELSE\nENV F=2\nEND\nIF $F == 1\nRUN f\nEND\nIF defined(M)\nRUN m\nEND\n";
        let got = facts(text);
        assert!(got.iter().all(|f| f.2.is_none() || f.0 == Else), "{got:?}");
    }

    #[test]
    fn facts_of_loops() {
        use BlockKind::*;
        // A constant list binds constants: each iteration's IF is known.
        let text = "FROM a\nFOR X IN a b\nIF $X == c\nRUN x\nEND\nEND\nFOR Y IN\nRUN y\nEND\n";
        assert_eq!(
            facts(text),
            [
                (For, 2, Some(true), false, false),
                (If, 3, Some(false), false, false),
                (If, 3, Some(false), false, false),
                (For, 7, Some(false), false, false),
            ]
        );
        // A list from an ARG varies, and so does everything bound from it.
        let text = "ARG L=\"a b\"\nFROM a\nARG L\nFOR X IN $L\nIF $X == c\nEND\nEND\n";
        assert_eq!(
            facts(text),
            [
                (For, 4, None, false, false),
                (If, 5, None, false, true),
                (If, 5, None, false, true),
            ]
        );
    }

    #[test]
    fn without_templates_nothing_changes() {
        let text = "FROM a\nRUN $X\n";
        let mut f = syntax::parse(text);
        expand(&mut f, &BuildOptions::new(Platform::linux_amd64())).unwrap();
        assert_eq!(f, syntax::parse(text));
    }
}
