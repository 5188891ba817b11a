//! Which stages and images each command (and each ONBUILD trigger) of a stage reads:
//! `COPY --from` and `RUN --mount=from=`, resolved as docker/dockerfile 1.26 resolves them.

use std::collections::BTreeMap;

use super::names::StageNames;
use super::{check_reference, named_context, FromRef};
use crate::error::{Error, Result};
use crate::expand::Lexer;
use crate::instructions::{CommandKind, Lowered};
use crate::mounts;
use crate::options::BuildOptions;
use crate::platform::Platform;
use crate::syntax::Span;

/// A reference that is an error only if its stage is built: where, and the message.
pub(super) type Deferred = Option<(Span, String)>;

/// Per command index, the stages and images it reads.
pub(super) type Reads = BTreeMap<usize, Vec<FromRef>>;

/// Stage `i`'s `COPY --from` and `RUN --mount from=` references, resolved. Upstream expands
/// neither: a variable in either is refused outright (Strata's template layer has already
/// replaced the ones it gives a meaning, in `FOR` bodies and parameterised stages).
pub(super) fn stage_reads(
    lowered: &Lowered,
    i: usize,
    names: &StageNames<'_>,
    opts: &BuildOptions,
    platform: &Platform,
    escape: char,
) -> Result<(Reads, Deferred)> {
    let mut reads = BTreeMap::new();
    let mut deferred: Deferred = None;
    for (ci, cmd) in lowered.stages[i].commands.iter().enumerate() {
        let (found, d) = command_reads(cmd, i, names, opts, platform, escape)?;
        if deferred.is_none() {
            deferred = d;
        }
        if !found.is_empty() {
            reads.insert(ci, found);
        }
    }
    Ok((reads, deferred))
}

/// One command's references in stage `i`, and the first deferred error (a reference to
/// this stage or a later one: an error only if the stage is built).
fn command_reads(
    cmd: &crate::instructions::Command,
    i: usize,
    names: &StageNames<'_>,
    opts: &BuildOptions,
    platform: &Platform,
    escape: char,
) -> Result<(Vec<FromRef>, Deferred)> {
    let current = names
        .name(i)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("stage-{i}"));
    let mut deferred: Option<(Span, String)> = None;
    // `Err` for a reference to this stage or a later one; `target` is set for mounts.
    let resolve = |text: &str, target: Option<&str>| -> std::result::Result<FromRef, String> {
        let index = match text.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => names.find(text),
        };
        match index {
            Some(j) if j < i => Ok(FromRef::Stage(j)),
            Some(j) if j == i => Err(format!("circular dependency detected on stage: {current}")),
            Some(_) => Err(match target {
                Some(t) => format!(
                    "cannot mount from stage {text:?} to {t:?}, stage needs to be defined before current command"
                ),
                None => format!(
                    "cannot copy from stage {text:?}, it needs to be defined before current stage {current:?}"
                ),
            }),
            None => Ok(match named_context(opts, text, platform) {
                Some(c) => FromRef::Context(c),
                None => {
                    check_reference(text)?;
                    FromRef::Image(text.to_owned())
                }
            }),
        }
    };
    let mut found = Vec::new();
    match &cmd.kind {
        CommandKind::Copy(c) => {
            // An empty `--from=` means the build context.
            if let Some(from) = c.from.as_ref().filter(|f| !f.text.is_empty()) {
                // docker/dockerfile 1.26 refuses anything its lexer would change (a
                // variable, quotes, escapes) in every stage, built or not.
                let lexed = Lexer::new(escape)
                    .expand_word(&from.text, &Vec::<(String, String)>::new())
                    .map(|e| e.value);
                if lexed.as_deref() != Ok(from.text.as_str()) {
                    return Err(Error::at(
                        from.span,
                        "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
                    ));
                }
                match resolve(&from.text, None) {
                    Ok(r) => found.push(r),
                    Err(m) => {
                        deferred.get_or_insert((from.span, m));
                    }
                }
            }
        }
        CommandKind::Run(r) | CommandKind::Check(r) => {
            for m in &r.mounts {
                let Some(from) = mounts::raw_field(&m.text, &["from"]).filter(|f| !f.is_empty())
                else {
                    continue;
                };
                if mounts::from_has_variable(&from) {
                    return Err(Error::at(
                        m.span,
                        "'from' doesn't support variable expansion, define alias stage instead",
                    ));
                }
                let target = mounts::raw_field(&m.text, &["target", "dst", "destination"])
                    .unwrap_or_default();
                match resolve(&from, Some(&target)) {
                    Ok(r) => found.push(r),
                    Err(msg) => {
                        deferred.get_or_insert((m.span, msg));
                    }
                }
            }
        }
        _ => {}
    }
    Ok((found, deferred))
}

/// What one ONBUILD trigger of stage `i` reads, resolved as upstream resolves a trigger's
/// `--from` (a stage by name or index anywhere in the file, else an image or named
/// context), and a deferred error for a stage that is not defined before `i`. Errors are
/// located at stage `i`'s `FROM` line: the trigger has no line of its own.
pub(super) fn trigger_refs(
    expr: &str,
    lowered: &Lowered,
    i: usize,
    names: &StageNames<'_>,
    opts: &BuildOptions,
    platform: &Platform,
    escape: char,
) -> Result<(Vec<FromRef>, Deferred)> {
    let at = lowered.stages[i].from.span;
    let cmd = crate::instructions::lower_trigger(expr).map_err(|e| e.relocated(at))?;
    let (found, deferred) =
        command_reads(&cmd, i, names, opts, platform, escape).map_err(|e| e.relocated(at))?;
    Ok((found, deferred.map(|(_, m)| (at, m))))
}
