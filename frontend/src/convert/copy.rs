//! `COPY` and `ADD` → a file op with one copy action per source.

use strata_proto::llb::{Chown, CopyAction, FileOp, MkfileAction, State, UserRef};

use super::names::uppercase_cmd;
use super::{paths, ContextUse, Dispatch, DispatchEnv, StageCtx};
use crate::error::{Error, Result};
use crate::expand::Lexer;
use crate::instructions::{Copy, Source};

pub(crate) fn dispatch_copy(
    d: &mut Dispatch,
    c: &Copy,
    src: &Source,
    ctx: &StageCtx<'_>,
    from: Option<&State>,
    used: &mut ContextUse,
) -> Result<()> {
    let keyword = if c.is_add { "ADD" } else { "COPY" };
    let heredoc_names: Vec<&str> = c.heredocs.iter().map(|h| h.name.as_str()).collect();
    let mut sources = Vec::new();
    for w in &c.sources {
        if is_heredoc_marker(&w.text, &heredoc_names) {
            continue;
        }
        let s = ctx.expand(d, &w.text, w.span)?;
        if is_url(&s) {
            let msg = if c.is_add {
                "ADD of remote URLs is not supported yet".to_owned()
            } else {
                "source can't be a URL for COPY".to_owned()
            };
            return Err(Error::at(w.span, msg));
        }
        sources.push(s);
    }
    if c.parents {
        return Err(Error::at(src.span, "COPY --parents is not supported yet"));
    }
    let dest_text = ctx.expand(d, &c.dest.text, c.dest.span)?;
    let owner = match &c.chown {
        Some(f) => Some(parse_chown(&ctx.expand(d, &f.text, f.span)?)),
        None => None,
    };
    // BuildKit ignores a --chmod it cannot parse; so do we.
    let mode = match &c.chmod {
        Some(f) => u32::from_str_radix(&ctx.expand(d, &f.text, f.span)?, 8).ok(),
        None => None,
    };
    let excludes = c
        .excludes
        .iter()
        .map(|f| ctx.expand(d, &f.text, f.span))
        .collect::<Result<Vec<_>>>()?;
    let source_state = match from {
        Some(s) => s.clone(),
        None => {
            for s in &sources {
                used.add(s);
            }
            ctx.context.clone()
        }
    };
    let dest = paths::copy_dest(&d.dir, &dest_text);
    let mut op = FileOp::new(d.fs.clone());
    for s in &sources {
        op = op.copy(
            &source_state,
            CopyAction {
                src: paths::copy_source(s),
                dest: dest.clone(),
                owner: owner.clone(),
                mode,
                follow_symlink: true,
                dir_copy_contents: true,
                attempt_unpack_docker_compatibility: c.is_add,
                create_dest_path: true,
                allow_wildcard: true,
                allow_empty_wildcard: true,
                exclude_patterns: excludes.clone(),
                ..Default::default()
            },
        );
    }
    for h in &c.heredocs {
        let content = if h.expand {
            let mut lexer = Lexer::new('\\');
            lexer.skip_process_quotes = true;
            lexer
                .expand_word(&h.body(), &DispatchEnv(&d.env))
                .map_err(|e| Error::at(h.span, e.to_string()))?
                .value
        } else {
            h.body()
        };
        let doc = FileOp::new(State::scratch())
            .mkfile(MkfileAction {
                path: format!("/{}", h.name),
                mode: 0o644,
                data: content.into_bytes(),
                ..Default::default()
            })
            .build();
        op = op.copy(
            &doc,
            CopyAction {
                src: h.name.clone(),
                dest: dest.clone(),
                owner: owner.clone(),
                mode,
                create_dest_path: true,
                ..Default::default()
            },
        );
    }
    let mut lexer = Lexer::new(ctx.inputs.escape);
    lexer.skip_unset_env = false;
    let original = src.original.trim();
    let shown = lexer
        .expand_word(original, &DispatchEnv(&d.env))
        .map(|e| e.value)
        .unwrap_or_else(|_| original.to_owned());
    let name = d.names.next(&uppercase_cmd(&shown));
    d.fs = op.meta(ctx.op_meta(name, src)).build();

    let mut history = keyword.to_owned();
    if let Some(f) = &c.chown {
        history.push_str(&format!(" --chown={}", f.text));
    }
    if let Some(f) = &c.chmod {
        history.push_str(&format!(" --chmod={}", f.text));
    }
    for s in &sources {
        history.push(' ');
        history.push_str(s);
    }
    for h in &c.heredocs {
        history.push_str(&format!(" <<{}", h.name));
    }
    history.push(' ');
    history.push_str(&dest_text);
    history.push_str(" # buildkit");
    d.image.add_history(history, false);
    Ok(())
}

fn is_heredoc_marker(word: &str, names: &[&str]) -> bool {
    let Some(rest) = word.strip_prefix("<<") else {
        return false;
    };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let rest = rest.trim_matches(|c| c == '"' || c == '\'');
    names.contains(&rest)
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://")
        || s.starts_with("https://")
        || s.starts_with("git@")
        || s.starts_with("git://")
}

/// `--chown=user[:group]`: numbers and `root` are ids, anything else a name looked up in
/// the destination's `/etc/passwd` / `/etc/group`.
pub(crate) fn parse_chown(s: &str) -> Chown {
    let part = |p: &str| -> Option<UserRef> {
        if p.is_empty() {
            None
        } else if let Ok(id) = p.parse::<u32>() {
            Some(UserRef::Id(id))
        } else if p == "root" {
            Some(UserRef::Id(0))
        } else {
            Some(UserRef::Name(p.to_owned()))
        }
    };
    match s.split_once(':') {
        Some((u, g)) => Chown {
            user: part(u),
            group: part(g),
        },
        None => Chown {
            user: part(s),
            group: None,
        },
    }
}
