//! Binding variables textually: a `FOR` item or a parameterised stage's values substituted
//! in every text of an instruction (words, flag values, heredoc bodies, displayed text,
//! comments), everywhere an `ARG` would be expanded and nowhere else.

use super::blocks::Node;
use crate::error::{Error, Result};
use crate::expand::Lexer;
use crate::syntax::{Args, Instruction, Span};

pub(super) fn bind_nodes(
    nodes: &[Node],
    name: &str,
    value: &str,
    escape: char,
) -> Result<Vec<Node>> {
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
pub(super) fn bind_all(
    ins: &Instruction,
    env: &[(String, String)],
    escape: char,
) -> Result<Instruction> {
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
