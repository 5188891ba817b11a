//! `COPY` and `ADD` → a file op with one copy action per source.

use strata_proto::llb::{self, Chown, CopyAction, FileOp, MkfileAction, OpMeta, State, UserRef};

use super::names::uppercase_cmd;
use super::{paths, remote, ContextUse, DepsKey, DepsRequest, Dispatch, DispatchEnv, StageCtx};
use crate::error::{Error, Result};
use crate::expand::Lexer;
use crate::instructions::{Copy, Source};
use crate::syntax::Span;

pub(crate) fn dispatch_copy(
    d: &mut Dispatch,
    c: &Copy,
    src: &Source,
    ctx: &StageCtx<'_>,
    from: Option<&State>,
    used: &mut ContextUse,
    key: Option<DepsKey>,
) -> Result<()> {
    let keyword = if c.is_add { "ADD" } else { "COPY" };
    let heredoc_names: Vec<&str> = c.heredocs.iter().map(|h| h.name.as_str()).collect();
    let mut sources = Vec::new();
    for w in &c.sources {
        if is_heredoc_marker(&w.text, &heredoc_names) {
            continue;
        }
        sources.push((ctx.expand(d, &w.text, w.span)?, w.span));
    }
    if c.parents {
        return Err(Error::at(src.span, "COPY --parents is not supported yet"));
    }
    let checksum = match &c.checksum {
        Some(f) => {
            let value = ctx.expand(d, &f.text, f.span)?;
            if !value.is_empty() {
                remote::check_digest(&value).map_err(|m| Error::at(f.span, m))?;
                if sources.len() != 1 {
                    return Err(Error::at(
                        f.span,
                        "checksum can't be specified for multiple sources",
                    ));
                }
                // dockerfile 1.26 also takes a Git source (the checksum is then the commit);
                // not implemented here, so refused by name rather than ignored.
                if remote::parse_git_ref(&sources[0].0).is_some() {
                    return Err(Error::at(
                        f.span,
                        "ADD --checksum with a Git source is not supported yet",
                    ));
                }
                if !remote::is_http(&sources[0].0) {
                    return Err(Error::at(
                        f.span,
                        "checksum requires HTTP(S) or Git sources",
                    ));
                }
            }
            Some(value).filter(|v| !v.is_empty())
        }
        None => None,
    };
    let dest_text = ctx.expand(d, &c.dest.text, c.dest.span)?;
    let owner = match &c.chown {
        Some(f) => Some(parse_chown(&ctx.expand(d, &f.text, f.span)?)),
        None => None,
    };
    // dockerfile 1.26 expands `--chmod` and refuses an octal mode above 07777 (and anything
    // numeric that is not octal). Symbolic modes (`u+x`, BuildKit's `mode_str`) are not
    // implemented here yet: they stay ignored as BuildKit 0.13 ignored every unparsable one.
    let mode = match &c.chmod {
        Some(f) => chmod_mode(&ctx.expand(d, &f.text, f.span)?, f.span)?,
        None => None,
    };
    let excludes = c
        .excludes
        .iter()
        .map(|f| ctx.expand(d, &f.text, f.span))
        .collect::<Result<Vec<_>>>()?;
    let mut lexer = Lexer::new(ctx.inputs.escape);
    lexer.skip_unset_env = false;
    let original = src.original.trim();
    let shown = lexer
        .expand_word(original, &DispatchEnv(&d.env))
        .map(|e| e.value)
        .unwrap_or_else(|_| original.to_owned());
    let shown = uppercase_cmd(&shown);
    let name = d.names.next(&shown);
    // `COPY --link` (without --chmod, when the daemon can merge): copy onto an empty layer,
    // then merge it over the stage, so the layer does not depend on what lies below.
    let link = c.link && c.chmod.is_none() && ctx.inputs.opts.merge_op;

    let dest = paths::copy_dest(&d.dir, &dest_text);
    // Remote and inline sources are single files or checkouts: no wildcards, no unpacking.
    let plain_copy = |path: String| CopyAction {
        src: path,
        dest: dest.clone(),
        owner: owner.clone(),
        mode,
        create_dest_path: true,
        exclude_patterns: excludes.clone(),
        ..Default::default()
    };
    let remote_meta = || {
        let mut meta = OpMeta::named(name.clone());
        meta.ignore_cache = ctx.ignore_cache;
        meta
    };
    let mut op = FileOp::new(if link { State::scratch() } else { d.fs.clone() });
    for (s, span) in &sources {
        if let Some(git) = remote::parse_git_ref(s) {
            if !c.is_add {
                return Err(Error::at(*span, "source can't be a git ref for COPY"));
            }
            // Upstream records every non-HTTP ADD source as a context path, git refs too.
            used.add(s);
            let repo = llb::git(llb::GitSource {
                id: git.id(),
                reference: git.reference(),
                full_url: git.remote.clone(),
                keep_git_dir: c.keep_git_dir,
                ssh: git.ssh,
                meta: remote_meta(),
            });
            op = op.copy(&repo, plain_copy("/".to_owned()));
        } else if remote::is_http(s) {
            if !c.is_add {
                return Err(Error::at(*span, "source can't be a URL for COPY"));
            }
            d.downloads.push(super::Download {
                url: s.clone(),
                checksum: checksum.is_some(),
                span: src.span,
            });
            let filename = remote::http_filename(s);
            let mut meta = remote_meta();
            meta.description
                .insert("com.docker.dockerfile.v1.command".to_owned(), String::new());
            let file = llb::http(llb::HttpSource {
                url: s.clone(),
                filename: Some(filename.clone()),
                checksum: checksum.clone(),
                meta,
                ..Default::default()
            });
            op = op.copy(&file, plain_copy(format!("/{filename}")));
        } else {
            let from_state = match from {
                Some(f) => f.clone(),
                None => {
                    used.add(s);
                    ctx.context.clone()
                }
            };
            op = op.copy(
                &from_state,
                CopyAction {
                    follow_symlink: true,
                    dir_copy_contents: true,
                    attempt_unpack_docker_compatibility: c.is_add,
                    allow_wildcard: true,
                    allow_empty_wildcard: true,
                    ..plain_copy(paths::copy_source(s))
                },
            );
        }
    }
    if c.deps {
        op = copy_deps(op, c, src, ctx, from, used, key, &sources, &owner)?;
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
            .meta(OpMeta::named("[internal] preparing inline document"))
            .build();
        op = op.copy(&doc, plain_copy(paths::clean(&format!("/{}", h.name))));
    }
    let layer = op.meta(ctx.op_meta(name, src)).build();
    d.fs = if link {
        let merge_name = d.names.current(&format!("LINK {shown}"));
        llb::merge(&[d.fs.clone(), layer], ctx.op_meta(merge_name, src))
    } else {
        layer
    };

    let mut history = keyword.to_owned();
    if let Some(f) = &c.chown {
        history.push_str(&format!(" --chown={}", f.text));
    }
    if let Some(f) = &c.chmod {
        history.push_str(&format!(" --chmod={}", ctx.expand(d, &f.text, f.span)?));
    }
    for (s, _) in &sources {
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

/// `COPY --deps`: records what the edge must find out, and copies what it found, each
/// file to its own absolute path (the named paths themselves were copied as any `COPY`
/// copies them). Ownership follows `--chown`; modes stay the source's.
#[allow(clippy::too_many_arguments)]
fn copy_deps(
    mut op: FileOp,
    c: &Copy,
    src: &Source,
    ctx: &StageCtx<'_>,
    from: Option<&State>,
    used: &mut ContextUse,
    key: Option<DepsKey>,
    sources: &[(String, Span)],
    owner: &Option<Chown>,
) -> Result<FileOp> {
    let (Some(from), Some(key)) = (from, key) else {
        let why = if c.from.is_none() {
            "COPY --deps needs --from=<stage|image>: the libraries are found in that stage's files"
        } else {
            "COPY --deps is not supported in ONBUILD triggers"
        };
        return Err(Error::at(src.span, why));
    };
    let mut named = Vec::new();
    for (s, span) in sources {
        if s.contains(['*', '?', '[']) {
            return Err(Error::at(
                *span,
                format!("COPY --deps cannot expand wildcards ({s}): name each file"),
            ));
        }
        named.push((paths::copy_source(s), *span));
    }
    used.deps.push(DepsRequest {
        key,
        source: from.clone(),
        paths: named,
    });
    match ctx.inputs.deps.get(&key) {
        Some(files) => {
            for f in files {
                // Into the directory (`dir/`), never onto the path: BuildKit follows a
                // symlink already at a destination path and would write through it (a
                // second `--deps` copying the same link would turn its target into a
                // link to itself); copied into its directory, an existing entry of that
                // name is replaced instead. The names are the same on both sides.
                let dir = match f.dest.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/"),
                    None => "/".to_owned(),
                };
                op = op.copy(
                    from,
                    CopyAction {
                        src: f.src.clone(),
                        dest: dir,
                        owner: owner.clone(),
                        follow_symlink: false,
                        create_dest_path: true,
                        ..Default::default()
                    },
                );
            }
        }
        None if ctx.inputs.deps_complete => {
            return Err(Error::at(
                src.span,
                "COPY --deps: the libraries of this instruction were not resolved",
            ));
        }
        None => {}
    }
    Ok(op)
}

fn is_heredoc_marker(word: &str, names: &[&str]) -> bool {
    let Some(rest) = word.strip_prefix("<<") else {
        return false;
    };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let rest = rest.trim_matches(|c| c == '"' || c == '\'');
    names.contains(&rest)
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

/// An expanded `--chmod` value as dockerfile 1.26 reads it (`convert_copy.go`): octal up to
/// 07777; a numeric value that is not (`8`, `10000`) is an error; anything else is a
/// symbolic mode, not supported yet (`None`).
fn chmod_mode(value: &str, span: crate::syntax::Span) -> Result<Option<u32>> {
    let invalid = || {
        Error::at(
            span,
            format!("invalid chmod parameter: '{value}'. it should be octal string and between 0 and 07777"),
        )
    };
    match u32::from_str_radix(value, 8) {
        Ok(m) if m <= 0o7777 => Ok(Some(m)),
        Ok(_) => Err(invalid()),
        Err(_) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => Err(invalid()),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod chmod_tests {
    use super::*;

    #[test]
    fn chmod_reads_octal_up_to_07777_and_refuses_other_numbers() {
        let span = Span::default();
        assert_eq!(chmod_mode("614", span).unwrap(), Some(0o614));
        assert_eq!(chmod_mode("7777", span).unwrap(), Some(0o7777));
        assert_eq!(chmod_mode("", span).unwrap(), None);
        assert_eq!(chmod_mode("u+x", span).unwrap(), None);
        for bad in ["10000", "8", "0789"] {
            let e = chmod_mode(bad, span).unwrap_err().to_string();
            assert!(
                e.contains(&format!("invalid chmod parameter: '{bad}'")),
                "{e}"
            );
        }
    }
}
