//! The walk that resolves blocks: it follows the stages in order with the variables each
//! point sees (platform args, global and stage `ARG`s, `ENV`s, a parent stage's `ARG`s and
//! `ENV`s, under the rules of [`crate::scope`] that convert applies too), takes the `IF` arm
//! the build takes, runs every `FOR` body once per item, and records what each block head
//! showed (the facts lint reads).

use std::collections::{BTreeMap, BTreeSet};

use super::bind::bind_nodes;
use super::blocks::{rest_text, Node};
use super::bounds::Budget;
use super::facts::{BlockFact, BlockKind};
use super::{cond, params, MAX_INSTRUCTIONS};
use crate::error::{Error, Result};
use crate::expand::{is_valid_name, Env, ExpandError, Expanded, Lexer};
use crate::options::BuildOptions;
use crate::scope::{self, Vars};
use crate::syntax::{Args, Instruction, Span};

/// A stage as far as the walk has seen it.
#[derive(Clone, Debug, Default)]
struct StageVars {
    /// What a condition sees: the environment of the stage as the build keeps it (the
    /// `ARG` values and `ENV`s so far, a parent stage's included), which a stage built on
    /// this one inherits whole.
    vars: Vars,
    /// Names in `vars` whose value depends on build args or the platform (every `ARG`,
    /// and `ENV`s computed from one or declared in a block chosen by one).
    varying: BTreeSet<String>,
}

pub(super) struct Walker<'a> {
    opts: &'a BuildOptions,
    lexer: Lexer,
    /// Platform args and global `ARG`s.
    pub(super) meta: Vec<(String, String)>,
    stage: Option<StageVars>,
    /// Finished and current stages by name, for `ENV` inheritance and duplicate names.
    stages: BTreeMap<String, StageVars>,
    current_name: Option<String>,
    pub(super) out: Vec<Instruction>,
    /// `FOR` iterations run so far, against [`MAX_INSTRUCTIONS`].
    iterations: usize,
    /// The current stage is a parameterised stage's template: its blocks are left as they
    /// are, to be resolved in each instance once the parameters are bound.
    in_template: bool,
    /// What each evaluated block head showed, for lint.
    pub(super) facts: Vec<BlockFact>,
    /// See [`declared_names`].
    pub(super) declared: BTreeSet<String>,
    /// Inside how many blocks whose choice depends on the inputs (an `IF` arm taken for
    /// these args only): what is declared here varies too.
    uncertain: usize,
    /// Inside how many `FOR`s whose items depend on the inputs: bound values vary, so no
    /// condition here is known for every build.
    varying_loops: usize,
    /// What expansion may still produce (shared with the other passes of one expansion).
    pub(super) budget: Budget,
}

impl<'a> Walker<'a> {
    pub(super) fn new(opts: &'a BuildOptions, escape: char) -> Walker<'a> {
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
            budget: Budget::default(),
        }
    }

    /// The walk's lexer, bounded by what the budget has left: no value it computes can
    /// outgrow the budget before it is counted.
    fn lexer(&self) -> Lexer {
        Lexer {
            max_len: self.budget.remaining(),
            ..self.lexer.clone()
        }
    }

    /// Whether the value of `name` (or whether it is set) at this point depends on build
    /// args or the platform. Every global is (build args override them all).
    fn varies(&self, name: &str) -> bool {
        let set = match &self.stage {
            Some(s) => s.vars.contains(name),
            None => self.meta.iter().any(|(k, _)| k == name),
        };
        match &self.stage {
            _ if !set => self.declared.contains(name),
            Some(s) => s.varying.contains(name),
            None => true,
        }
    }

    /// The value of `cond` for every build, as far as it is known here (the words it
    /// expands are counted against the budget).
    fn known(&mut self, cond: &cond::Cond, span: Span) -> Result<Option<bool>> {
        if self.varying_loops > 0 {
            return Ok(None);
        }
        let mut lexer = self.lexer();
        let known = cond.eval_known(&mut lexer, self.env(), &|n| self.varies(n));
        self.budget
            .charge(self.budget.remaining().saturating_sub(lexer.max_len), span)?;
        Ok(known)
    }

    fn env(&self) -> &dyn Env {
        match &self.stage {
            Some(s) => &s.vars,
            None => &self.meta,
        }
    }

    pub(super) fn walk(&mut self, nodes: &[Node], loops: usize) -> Result<()> {
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
            let known = self.known(&c, head.span)?;
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
            if chosen.is_none() {
                let mut lexer = self.lexer();
                let taken = c.eval(&mut lexer, self.env());
                self.budget.charge(
                    self.budget.remaining().saturating_sub(lexer.max_len),
                    head.span,
                )?;
                if taken.map_err(|e| Error::at(head.span, e))? {
                    chosen = Some((body, all_false && known == Some(true)));
                }
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
            let bound = bind_nodes(body, name, &item, self.lexer.escape, &mut self.budget)?;
            self.walk(&bound, loops + 1)?;
        }
        Ok(())
    }

    /// `FOR NAME IN words…`: the name, the items (words expanded, split on whitespace) and
    /// whether they depend on build args or the platform.
    fn for_items(&mut self, head: &Instruction) -> Result<(String, Vec<String>, bool)> {
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
            let mut lexer = self.lexer();
            lexer.skip_unset_env = false;
            let failed = |e: ExpandError| self.budget.expand_error(w.span, &e, ToString::to_string);
            let probe = lexer.expand_word(&w.text, self.env()).map_err(failed)?;
            if let Some(v) = probe.unset.iter().next() {
                return Err(Error::at(
                    w.span,
                    format!("unknown variable {v} in the FOR list (declare it with ARG)"),
                ));
            }
            varying |= probe.used.iter().any(|n| self.varies(n));
            let words = lexer.expand_words(&w.text, self.env()).map_err(failed)?;
            let bytes = probe.value.len() + words.iter().map(String::len).sum::<usize>();
            self.budget.charge(bytes, w.span)?;
            items.extend(words);
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
            "arg" => self.arg(&ins)?,
            "env" => self.env_(&ins)?,
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
                // A stage built on a stage starts from its environment, `ARG` values
                // included, as BuildKit's state does. Counted twice (the count the walk
                // has always made for an inherited environment, and the bound's tests
                // assume): stages built on stages must not multiply a large value
                // unbounded.
                let bytes: usize = parent.vars.iter().map(|(k, v)| k.len() + v.len()).sum();
                self.budget.charge(2 * bytes, ins.span)?;
                stage.vars = parent.vars.clone();
                stage.varying = parent.varying.clone();
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

    /// The value of an `ARG` default or `ENV` value: `None` when it does not expand (the
    /// error is for a later layer to report), a bound passed is an error here. Counted
    /// against the budget.
    fn counted(
        &mut self,
        got: std::result::Result<Expanded, ExpandError>,
        span: Span,
    ) -> Result<Option<Expanded>> {
        match got {
            Ok(e) => {
                self.budget.charge(e.value.len(), span)?;
                Ok(Some(e))
            }
            Err(ExpandError::TooLong { .. }) => Err(self.budget.exceeded(span)),
            Err(_) => Ok(None),
        }
    }

    /// An `ARG` line, each name in turn (a default sees the names before it). In a stage,
    /// the value is [`scope::stage_arg`]'s; at top level the same rule with the global
    /// scope so far as the fallback: a build arg, else the default, else the value the name
    /// already has (a platform arg or an earlier global keeps it), as the plan computes
    /// the globals. A name that gets no value leaves the environment as it is.
    pub(super) fn arg(&mut self, ins: &Instruction) -> Result<()> {
        let Args::KeyValues(kvs) = &ins.args else {
            return Ok(());
        };
        for kv in kvs {
            let name = kv.key.text.clone();
            // The default is computed (and counted) even when a build arg overrides it.
            let default = match &kv.value {
                Some(v) => {
                    let got = self.lexer().expand_word(&v.text, self.env());
                    Some(self.counted(got, v.span)?.map(|e| e.value))
                }
                None => None,
            };
            let (value, _) =
                scope::stage_arg(self.opts, &name, default, Ok::<_, Error>, &self.meta)?;
            // The copy kept (a global's value in every stage that declares it).
            self.budget
                .charge(value.as_ref().map_or(0, String::len), kv.key.span)?;
            match (&mut self.stage, value) {
                (Some(s), value) => {
                    // A build arg can always override it, even where it has no value.
                    s.varying.insert(name.clone());
                    if let Some(v) = value.filter(|_| scope::is_env_arg(&name)) {
                        s.vars.set(&name, &v);
                    }
                }
                (None, Some(v)) => {
                    self.meta.retain(|(k, _)| *k != name);
                    self.meta.push((name, v));
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    fn env_(&mut self, ins: &Instruction) -> Result<()> {
        let Args::KeyValues(kvs) = &ins.args else {
            return Ok(());
        };
        let Some(stage) = &self.stage else {
            return Ok(());
        };
        // Every pair of one ENV line sees the values before the line, as in BuildKit:
        // all are computed before any is set. Each is counted before the next is computed.
        let mut values = Vec::new();
        for kv in kvs {
            let Some(v) = &kv.value else { continue };
            let lexer = Lexer {
                max_len: self.budget.remaining(),
                ..self.lexer.clone()
            };
            match lexer.expand_word(&v.text, &stage.vars) {
                Ok(value) => {
                    self.budget.charge(value.value.len(), v.span)?;
                    values.push((kv.key.text.clone(), value));
                }
                Err(ExpandError::TooLong { .. }) => return Err(self.budget.exceeded(v.span)),
                // A later layer reports it.
                Err(_) => {}
            }
        }
        let uncertain = self.uncertain + self.varying_loops > 0;
        let varies = |n: &String| match stage.vars.contains(n) {
            true => stage.varying.contains(n),
            false => self.declared.contains(n),
        };
        let mut set = Vec::new();
        for (name, value) in values {
            let varying = uncertain || value.used.iter().chain(&value.unset).any(varies);
            set.push((name, value.value, varying));
        }
        let Some(stage) = &mut self.stage else {
            return Ok(());
        };
        for (name, value, varying) in set {
            stage.vars.set(&name, &value);
            if varying {
                stage.varying.insert(name);
            } else {
                stage.varying.remove(&name);
            }
        }
        Ok(())
    }
}
