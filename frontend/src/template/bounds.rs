//! The bounds of template expansion. `IF`/`FOR` blocks and parameterised stages turn a
//! small file into a larger one; hostile or mistaken input (a loop in a loop in a loop, a
//! template that references itself with a growing argument, `${A//?/$A}`) must not take
//! the time or memory of a shared builder. Every bound is checked before the text that
//! would pass it exists, and fails the build at the line that would pass it (for an
//! instance, with the chain of instances that led there). Documented in docs/format.md
//! ("Expansion limits").

use crate::error::{Error, Result};
use crate::expand::ExpandError;
use crate::syntax::{Args, Instruction, Span};

/// How deep `IF`/`FOR` blocks may nest.
pub const MAX_NESTING: usize = 64;

/// How many instructions expansion may produce (and `FOR` iterations it may run): nested
/// `FOR`s multiply.
pub const MAX_INSTRUCTIONS: usize = 100_000;

/// How many bytes of instruction text expansion may produce in all, counting every copy
/// it makes (each `FOR` iteration, each instance, every variable value it computes): a
/// bound on memory and, as every byte is written once, on time.
pub const MAX_BYTES: usize = 32 << 20;

/// How many instances of parameterised stages a build may create.
pub const MAX_INSTANCES: usize = 1000;

/// The longest value of one parameterised-stage argument, in bytes.
pub const MAX_ARGUMENT: usize = 1024;

/// The longest generated instance name (`build.goos-linux.goarch-amd64`), in bytes.
pub const MAX_INSTANCE_NAME: usize = 4096;

/// What expansion has produced so far, against [`MAX_BYTES`]; one per expansion, shared
/// by its passes.
#[derive(Debug, Default)]
pub(super) struct Budget {
    used: usize,
    /// The chain of instances whose body is being expanded, as shown in errors
    /// ([`chain`]); empty outside instances.
    pub(super) within: String,
}

impl Budget {
    /// Bytes still allowed: the bound for any one text computed next.
    pub(super) fn remaining(&self) -> usize {
        MAX_BYTES.saturating_sub(self.used)
    }

    /// Counts `bytes` produced for the text at `span`; past the bound, the error.
    pub(super) fn charge(&mut self, bytes: usize, span: Span) -> Result<()> {
        self.used = self.used.saturating_add(bytes);
        if self.used > MAX_BYTES {
            return Err(self.exceeded(span));
        }
        Ok(())
    }

    /// Counts an instruction produced (a copy bound for a `FOR` item or an instance).
    pub(super) fn charge_instruction(&mut self, ins: &Instruction) -> Result<()> {
        self.charge(size(ins), ins.span)
    }

    /// The error for the text at `span` passing [`MAX_BYTES`].
    pub(super) fn exceeded(&self, span: Span) -> Error {
        Error::at(
            span,
            format!(
                "IF/FOR blocks and parameterised stages expand to more than {} MiB of instructions{}",
                MAX_BYTES >> 20,
                self.in_chain()
            ),
        )
    }

    /// `; instances: a → b` when inside an instance, else nothing.
    pub(super) fn in_chain(&self) -> String {
        if self.within.is_empty() {
            String::new()
        } else {
            format!("; instances: {}", self.within)
        }
    }

    /// `expand`'s error at `span` as a template error: a bound the lexer hit is this
    /// budget's, anything else stays as `describe` words it.
    pub(super) fn expand_error(
        &self,
        span: Span,
        e: &ExpandError,
        describe: impl FnOnce(&ExpandError) -> String,
    ) -> Error {
        match e {
            ExpandError::TooLong { .. } => self.exceeded(span),
            other => Error::at(span, describe(other)),
        }
    }
}

/// The bytes of text an instruction holds: what a copy of it costs.
pub(super) fn size(ins: &Instruction) -> usize {
    let flags: usize = ins
        .flags
        .iter()
        .map(|f| f.name.len() + f.value.as_ref().map_or(0, String::len))
        .sum();
    let heredocs: usize = ins.heredocs.iter().map(|h| h.content.len()).sum();
    let comments: usize = ins.comments.iter().map(String::len).sum();
    ins.original.len() + flags + heredocs + comments + args_size(&ins.args)
}

fn args_size(args: &Args) -> usize {
    match args {
        Args::Words(w) | Args::Json(w) => w.iter().map(|w| w.text.len()).sum(),
        Args::Shell(w) => w.text.len(),
        Args::KeyValues(kvs) => kvs
            .iter()
            .map(|kv| kv.key.text.len() + kv.value.as_ref().map_or(0, |v| v.text.len()))
            .sum(),
        Args::Healthcheck { cmd, .. } => cmd.as_deref().map_or(0, args_size),
        Args::OnBuild(inner) => size(inner),
        Args::Empty => 0,
    }
}

/// An instance as errors show it: `tool(GOOS=linux)`, long values cut to their start
/// and length (`tool(GOOS=aaaaaaaaaaaa…[2048 bytes])`).
pub(super) fn instance(name: &str, values: &[(String, String)]) -> String {
    let list = values
        .iter()
        .map(|(k, v)| format!("{k}={}", short(v)))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{name}({list})")
}

/// A value for a message: as it is up to 16 bytes, else its first 12 characters and its
/// length.
fn short(v: &str) -> String {
    if v.len() <= 16 {
        return v.to_owned();
    }
    let start: String = v.chars().take(12).collect();
    format!("{start}…[{} bytes]", v.len())
}

/// A chain of instances, outermost first, joined with arrows; a long one keeps its first
/// two and last three links (`a → b → … 20 more … → x → y → z`).
pub(super) fn chain(links: &[String]) -> String {
    const HEAD: usize = 2;
    const TAIL: usize = 3;
    if links.len() <= HEAD + TAIL + 1 {
        return links.join(" → ");
    }
    let hidden = links.len() - HEAD - TAIL;
    let mut shown: Vec<String> = links[..HEAD].to_vec();
    shown.push(format!("… {hidden} more …"));
    shown.extend_from_slice(&links[links.len() - TAIL..]);
    shown.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_and_values_are_shortened() {
        let links: Vec<String> = (1..=10).map(|i| format!("t(N={i})")).collect();
        assert_eq!(
            chain(&links),
            "t(N=1) → t(N=2) → … 5 more … → t(N=8) → t(N=9) → t(N=10)"
        );
        assert_eq!(chain(&links[..6]), links[..6].join(" → "));
        let long = "é".repeat(20);
        let values = [("A".to_owned(), long), ("B".to_owned(), "x".to_owned())];
        assert_eq!(
            instance("t", &values),
            format!("t(A={}…[40 bytes], B=x)", "é".repeat(12))
        );
    }

    #[test]
    fn the_budget_fails_past_its_bound_with_the_chain() {
        let mut b = Budget::default();
        assert!(b.charge(MAX_BYTES, Span::default()).is_ok());
        assert_eq!(b.remaining(), 0);
        b.within = "t(N=1) → t(N=2)".to_owned();
        let e = b.charge(1, Span::default()).unwrap_err().to_string();
        assert_eq!(
            e,
            "IF/FOR blocks and parameterised stages expand to more than 32 MiB of instructions; instances: t(N=1) → t(N=2)"
        );
    }
}
