//! The block structure of a file: `IF`/`ELSE IF`/`ELSE`/`END` chains and `FOR … / END`
//! loops read into a tree of [`Node`]s (with their nesting bound), before anything is
//! evaluated.

use super::MAX_NESTING;
use crate::error::{Error, Result};
use crate::syntax::{Args, Instruction};

/// A block structure: plain instructions, `IF` chains and `FOR` loops.
#[derive(Clone, Debug)]
pub(super) enum Node {
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
    pub(super) fn flatten(&self, out: &mut Vec<Instruction>) {
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
pub(super) fn block(
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
pub(super) fn rest_text(ins: &Instruction, skip: usize) -> Result<String> {
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
