//! Binding variables textually: a `FOR` item or a parameterised stage's values substituted
//! in every text of an instruction (words, flag values, heredoc bodies, displayed text,
//! comments), everywhere an `ARG` would be expanded and nowhere else.

use super::blocks::Node;
use super::bounds::Budget;
use crate::error::Result;
use crate::expand::{ExpandError, Lexer};
use crate::syntax::{Args, Instruction, Span};

/// `nodes` with `name` bound to `value` in every instruction (block heads too), each copy
/// counted against `budget`.
pub(super) fn bind_nodes(
    nodes: &[Node],
    name: &str,
    value: &str,
    escape: char,
    budget: &mut Budget,
) -> Result<Vec<Node>> {
    let env = [(name.to_owned(), value.to_owned())];
    let one = |i: &Instruction, budget: &mut Budget| bind_all(i, &env, escape, budget);
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        out.push(match n {
            Node::Ins(i) => Node::Ins(one(i, budget)?),
            Node::If {
                arms,
                otherwise,
                closers,
            } => {
                let mut bound = Vec::with_capacity(arms.len());
                for (h, b) in arms {
                    bound.push((one(h, budget)?, bind_nodes(b, name, value, escape, budget)?));
                }
                Node::If {
                    arms: bound,
                    otherwise: bind_nodes(otherwise, name, value, escape, budget)?,
                    closers: closers.clone(),
                }
            }
            Node::For {
                head,
                body,
                closers,
            } => Node::For {
                head: one(head, budget)?,
                body: bind_nodes(body, name, value, escape, budget)?,
                closers: closers.clone(),
            },
        });
    }
    Ok(out)
}

/// Substitutes variables in one instruction's texts, within what the budget has left.
struct Binder<'a> {
    shell: Lexer,
    literal: Lexer,
    env: &'a [(String, String)],
    /// Bytes the bound texts may still take: no text is computed past it.
    left: usize,
    budget: &'a Budget,
}

impl Binder<'_> {
    /// `text` with the variables bound (`None`: it names none of them, unchanged).
    fn bound(
        &mut self,
        text: &str,
        quotes: bool,
    ) -> std::result::Result<Option<String>, ExpandError> {
        if !self.env.iter().any(|(n, _)| text.contains(n.as_str())) {
            return Ok(None);
        }
        let lexer = if quotes {
            &mut self.shell
        } else {
            &mut self.literal
        };
        lexer.max_len = self.left;
        let value = lexer.expand_word(text, &self.env)?.value;
        self.left = self.left.saturating_sub(value.len());
        Ok(Some(value))
    }

    fn text(&mut self, text: &mut String, span: Span, quotes: bool) -> Result<()> {
        match self.bound(text, quotes) {
            Ok(Some(v)) => *text = v,
            Ok(None) => {}
            Err(e) => {
                let names = self
                    .env
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(self
                    .budget
                    .expand_error(span, &e, |e| format!("binding {names}: {e}")));
            }
        }
        Ok(())
    }

    /// Like [`Binder::text`] for text that is only shown: kept as written if it does not
    /// lex, but a bound is still a bound.
    fn shown(&mut self, text: &mut String, span: Span, quotes: bool) -> Result<()> {
        match self.bound(text, quotes) {
            Ok(Some(v)) => *text = v,
            Err(ExpandError::TooLong { .. }) => return Err(self.budget.exceeded(span)),
            Ok(None) | Err(_) => {}
        }
        Ok(())
    }

    fn args(&mut self, args: &mut Args) -> Result<()> {
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

    fn instruction(&mut self, ins: &mut Instruction) -> Result<()> {
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
        self.shown(&mut ins.original, ins.span, true)?;
        // Comments only describe (`# variant-${V} …` above a generated stage, read by the
        // subrequests): bound as plain text, kept as written if they do not lex.
        for c in &mut ins.comments {
            self.shown(c, ins.span, false)?;
        }
        Ok(())
    }
}

/// Substitutes every variable of `env` (and nothing else) in one instruction's texts; the
/// copy is counted against `budget`.
pub(super) fn bind_all(
    ins: &Instruction,
    env: &[(String, String)],
    escape: char,
    budget: &mut Budget,
) -> Result<Instruction> {
    let mut shell = Lexer::new(escape);
    shell.raw_quotes = true;
    shell.raw_escapes = true;
    shell.skip_unset_env = true;
    let mut literal = shell.clone();
    literal.skip_process_quotes = true;
    let mut b = Binder {
        shell,
        literal,
        env,
        left: budget.remaining(),
        budget,
    };
    let mut ins = ins.clone();
    b.instruction(&mut ins)?;
    budget.charge_instruction(&ins)?;
    Ok(ins)
}
