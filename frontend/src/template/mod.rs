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
//! plus the `ARG`s and `ENV`s of a parent stage named in `FROM` (the rules of `scope.rs`,
//! which convert follows too). A base image's own `ENV` is not known at
//! this point and is not visible.
//!
//! A `FOR` body is instantiated once per item by substituting the loop variable in every
//! word, flag value, heredoc body and the original text of each instruction, with the
//! Dockerfile lexer in a mode that keeps quotes and escapes and leaves every other variable
//! as written (`skip_unset_env`): `$PY` and `${PY}` (and `${PY:-x}`, …) become the item,
//! except inside single quotes or after an escape character, exactly where an `ARG` would
//! not be expanded either.

mod bind;
mod blocks;
mod bounds;
pub mod cond;
pub mod facts;
mod params;
#[cfg(test)]
mod tests;
mod walk;

pub use bounds::{
    MAX_ARGUMENT, MAX_BYTES, MAX_INSTANCES, MAX_INSTANCE_NAME, MAX_INSTRUCTIONS, MAX_NESTING,
};
pub use facts::{BlockFact, BlockKind};
pub use params::signature;

use std::collections::BTreeSet;

use blocks::block;
use bounds::Budget;
use walk::Walker;

use crate::error::{Error, Result};
use crate::options::BuildOptions;
use crate::syntax::{Args, Dockerfile, Instruction};

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
    // One budget for every pass (see `bounds`).
    let mut budget = Budget::default();
    conditionals(file, opts, facts, &mut budget)?;
    let globals = global_vars(file, opts, &mut budget)?;
    let target = params::expand(
        &mut file.instructions,
        opts.target.as_deref(),
        file.escape,
        &globals,
        &mut budget,
    )?;
    // Blocks inside parameterised stages were left for their instances, where the
    // parameters are now bound (and declared as ARGs): resolve them now.
    conditionals(file, opts, facts, &mut budget)?;
    Ok(target)
}

/// Resolves the `IF` and `FOR` blocks of `file` under `opts` but instantiates no
/// parameterised stage: their definitions stay as written (blocks inside them too), which
/// is how `frontend.targets` lists them.
pub fn resolve_blocks(file: &mut Dockerfile, opts: &BuildOptions) -> Result<()> {
    conditionals(file, opts, &mut Vec::new(), &mut Budget::default())
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
fn global_vars(
    file: &Dockerfile,
    opts: &BuildOptions,
    budget: &mut Budget,
) -> Result<Vec<(String, String)>> {
    let mut w = Walker::new(opts, file.escape);
    w.budget = std::mem::take(budget);
    let mut walked = Ok(());
    for ins in file.instructions.iter().take_while(|i| i.keyword != "from") {
        if ins.keyword == "arg" {
            walked = w.arg(ins);
            if walked.is_err() {
                break;
            }
        }
    }
    *budget = std::mem::take(&mut w.budget);
    walked.map(|()| w.meta)
}

/// Resolves the `IF`/`FOR` blocks of `file` (those of parameterised stages' templates
/// are kept as written), counting what they produce against `budget`.
fn conditionals(
    file: &mut Dockerfile,
    opts: &BuildOptions,
    facts: &mut Vec<BlockFact>,
    budget: &mut Budget,
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
    w.budget = std::mem::take(budget);
    let walked = w.walk(&nodes, 0);
    *budget = std::mem::take(&mut w.budget);
    // What was learnt before an error is still true (lint reports both).
    facts.append(&mut w.facts);
    walked?;
    file.instructions = w.out;
    Ok(())
}
