//! `COPY` and `ADD` → a file op with one copy action per source, as docker/dockerfile 1.26
//! builds it (`--parents`, `--exclude`, `--unpack`, symbolic `--chmod`, git URL queries and
//! `--checksum`), each newer op field gated on the daemon's LLB caps.

use strata_proto::llb::{self, Chown, CopyAction, FileOp, MkfileAction, OpMeta, State, UserRef};

use super::names::uppercase_cmd;
use super::{chmod, paths, remote, ContextUse, DepsKey, DepsRequest, Dispatch, StageCtx};
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
    let dest_text = ctx.expand(d, &c.dest.text, c.dest.span)?;
    // Expanded once: the owner, and the history line (which shows it expanded, as upstream).
    let chown_text = match &c.chown {
        Some(f) => Some(ctx.expand(d, &f.text, f.span)?),
        None => None,
    };
    // Empty after expansion is no `--chown` at all, as upstream.
    let owner = chown_text
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(parse_chown);
    // 1.26 expands `--chmod` and rejects what is neither octal nor chmod(1)'s symbolic form.
    let chmod_text = match &c.chmod {
        Some(f) => ctx.expand(d, &f.text, f.span)?,
        None => String::new(),
    };
    let (mode, mode_str) = match (&c.chmod, chmod_text.is_empty()) {
        (Some(f), false) => match chmod::parse(&chmod_text).map_err(|m| Error::at(f.span, m))? {
            chmod::Chmod::Octal(m) => (Some(m), None),
            chmod::Chmod::Symbolic(s) => {
                // BuildKit never registers its `file.copy.modestring` cap; mode strings
                // came to its file backend in v0.17.0 together with this cap.
                ctx.need_cap(
                    "exec.validexitcode",
                    "a symbolic --chmod, BuildKit 0.17+",
                    f.span,
                )?;
                (None, Some(s))
            }
        },
        _ => (None, None),
    };
    let checksum = match &c.checksum {
        Some(f) => {
            let value = ctx.expand(d, &f.text, f.span)?;
            if !value.is_empty() {
                if sources.len() != 1 {
                    return Err(Error::at(
                        f.span,
                        "checksum can't be specified for multiple sources",
                    ));
                }
                let (s, span) = &sources[0];
                let git = remote::parse_git_ref(s).map_err(|m| Error::at(*span, m))?;
                if git.is_none() && !remote::is_http(s) {
                    return Err(Error::at(
                        f.span,
                        "checksum requires HTTP(S) or Git sources",
                    ));
                }
            }
            Some((value, f.span)).filter(|(v, _)| !v.is_empty())
        }
        None => None,
    };
    // Upstream hands `--exclude` to the file op as written: no variable expansion.
    let excludes: Vec<String> = c.excludes.iter().map(|f| f.text.clone()).collect();
    if let Some(f) = c.excludes.first() {
        ctx.need_cap("file.copy.includeexcludepatterns", "--exclude", f.span)?;
    }
    let mut lexer = Lexer::new(ctx.inputs.escape);
    lexer.skip_unset_env = false;
    let original = src.original.trim();
    let shown = lexer
        .expand_word(original, &d.env)
        .map(|e| e.value)
        .unwrap_or_else(|_| original.to_owned());
    let shown = uppercase_cmd(&shown);
    let name = d.names.next(&shown);
    // `COPY --link` (without --chmod, when the daemon can merge): copy onto an empty layer,
    // then merge it over the stage, so the layer does not depend on what lies below.
    let link = c.link && chmod_text.is_empty() && ctx.inputs.opts.merge_op;

    let dest = paths::copy_dest(&d.dir, &dest_text);
    // Remote and inline sources are single files or checkouts: no wildcards, no unpacking.
    let plain_copy = |path: String| CopyAction {
        src: path,
        dest: dest.clone(),
        owner: owner.clone(),
        mode,
        mode_str: mode_str.clone(),
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
        if let Some(git) = remote::parse_git_ref(s).map_err(|m| Error::at(*span, m))? {
            if !c.is_add {
                return Err(Error::at(*span, "source can't be a git ref for COPY"));
            }
            // Upstream records every non-HTTP ADD source as a context path, git refs too.
            used.add(s);
            let repo = git_source(c, &git, checksum.as_ref(), *span, ctx, remote_meta())?;
            op = op.copy(&repo, plain_copy("/".to_owned()));
        } else if remote::is_http(s) {
            if !c.is_add {
                return Err(Error::at(*span, "source can't be a URL for COPY"));
            }
            if let Some((value, at)) = &checksum {
                remote::check_digest(value).map_err(|m| Error::at(*at, m))?;
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
                checksum: checksum.as_ref().map(|(v, _)| v.clone()),
                meta,
                ..Default::default()
            });
            // Downloads stay as they are unless `ADD --unpack=true`.
            op = op.copy(
                &file,
                CopyAction {
                    attempt_unpack_docker_compatibility: c.unpack.unwrap_or(false),
                    ..plain_copy(format!("/{filename}"))
                },
            );
        } else {
            let from_state = match from {
                Some(f) => f.clone(),
                None => {
                    used.add(s);
                    ctx.context.clone()
                }
            };
            let (path, include_patterns, mut required_paths) = if c.parents {
                parents_copy(s)
            } else {
                (paths::copy_source(s), Vec::new(), Vec::new())
            };
            if c.parents {
                ctx.need_cap(
                    "file.copy.includeexcludepatterns",
                    "COPY --parents",
                    src.span,
                )?;
            }
            // Required paths only make a missing source an error. A daemon before BuildKit
            // 0.26 does not know the field and copies what the include patterns match, as
            // it does for upstream's frontend (which declares no cap for it): do the same.
            if !ctx.inputs.opts.has_llb_cap("file.copy.requiredpaths") {
                required_paths.clear();
            }
            op = op.copy(
                &from_state,
                CopyAction {
                    follow_symlink: true,
                    dir_copy_contents: true,
                    // Local archives unpack for ADD unless `--unpack=false`.
                    attempt_unpack_docker_compatibility: c.unpack.unwrap_or(c.is_add),
                    allow_wildcard: true,
                    allow_empty_wildcard: true,
                    include_patterns,
                    required_paths,
                    ..plain_copy(path)
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
                .expand_word(&h.body(), &d.env)
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
    if c.parents {
        history.push_str(" --parents");
    }
    if let Some(text) = chown_text.as_ref().filter(|t| !t.is_empty()) {
        history.push_str(&format!(" --chown={text}"));
    }
    if !chmod_text.is_empty() {
        history.push_str(&format!(" --chmod={chmod_text}"));
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

/// `COPY --parents`: the copy starts at the `/./` pivot (or the root) and keeps the rest
/// of the path through an include pattern; without wildcards that path must exist.
/// Returns the source path, the include patterns and the required paths.
fn parents_copy(s: &str) -> (String, Vec<String>, Vec<String>) {
    let (parent, pattern) = s.split_once("/./").unwrap_or(("/", s));
    let pattern = normalize(pattern);
    let required = if contains_wildcards(parent) || contains_wildcards(&pattern) {
        Vec::new()
    } else {
        vec![normalize(&paths::join(parent, &pattern))]
    };
    (
        paths::copy_source(&normalize(parent)),
        vec![pattern.trim_start_matches('/').to_owned()],
        required,
    )
}

/// BuildKit's `system.NormalizePath("/", p)` on Linux: an absolute path stays as written, a
/// relative one is joined to `/` (and so cleaned), an empty one is `/`.
fn normalize(p: &str) -> String {
    if p.is_empty() {
        "/".to_owned()
    } else if p.starts_with('/') {
        p.to_owned()
    } else {
        paths::join("/", p)
    }
}

/// Whether a path has a wildcard (`*`, `?`, `[`) outside a `\` escape.
fn contains_wildcards(p: &str) -> bool {
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'*' | b'?' | b'[' => return true,
            b'\\' => i += 1,
            _ => {}
        }
        i += 1;
    }
    false
}

/// The git source of an `ADD <git url>`: the URL's query and the flags combined as
/// upstream combines them (a flag and the query must agree), each newer attribute gated on
/// the daemon's caps at the source word.
fn git_source(
    c: &Copy,
    git: &remote::GitRef,
    flag_checksum: Option<&(String, Span)>,
    span: Span,
    ctx: &StageCtx<'_>,
    meta: OpMeta,
) -> Result<State> {
    if let (Some(flag), Some(query)) = (c.keep_git_dir, git.keep_git_dir) {
        if flag != query {
            return Err(Error::at(span, "inconsistent keep-git-dir configuration"));
        }
    }
    let keep_git_dir = git.keep_git_dir.or(c.keep_git_dir).unwrap_or(false);
    let checksum = match flag_checksum {
        Some((flag, _)) if !git.checksum.is_empty() && *flag != git.checksum => {
            return Err(Error::at(
                span,
                format!("checksum mismatch {flag:?} != {:?}", git.checksum),
            ));
        }
        _ if !git.checksum.is_empty() => Some(git.checksum.clone()),
        Some((flag, _)) => Some(flag.clone()),
        None => None,
    };
    let skip_submodules = git.submodules == Some(false);
    if checksum.is_some() {
        ctx.need_cap("source.git.checksum", "a git checksum", span)?;
    }
    if skip_submodules {
        ctx.need_cap("source.git.skipsubmodules", "submodules=false", span)?;
    }
    if git.fetch_by_commit {
        ctx.need_cap("source.git.fetchbycommit", "fetch-by-commit", span)?;
    }
    Ok(llb::git(llb::GitSource {
        id: git.id(),
        reference: git.reference(),
        full_url: git.remote.clone(),
        keep_git_dir,
        ssh: git.ssh,
        checksum,
        skip_submodules,
        fetch_by_commit: git.fetch_by_commit,
        meta,
    }))
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
/// the destination's `/etc/passwd` / `/etc/group`. As upstream's `llb.WithUser`, an empty
/// part is id 0 (`:staff` is root's, `app:` group 0): the same op bytes, and the same owner.
pub(crate) fn parse_chown(s: &str) -> Chown {
    let part = |p: &str| -> UserRef {
        if let Ok(id) = p.parse::<u32>() {
            UserRef::Id(id)
        } else if p == "root" || p.is_empty() {
            UserRef::Id(0)
        } else {
            UserRef::Name(p.to_owned())
        }
    };
    match s.split_once(':') {
        Some((u, g)) => Chown {
            user: Some(part(u)),
            group: Some(part(g)),
        },
        None => Chown {
            user: Some(part(s)),
            group: None,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;

    use strata_proto::gateway::caps::DEFAULT_LLB_CAPS;

    use crate::options::BuildOptions;
    use crate::pipeline;
    use crate::platform::Platform;

    /// BuildKit 0.13's caps for what these tests touch: include/exclude patterns yes,
    /// required paths, mode strings and git checksums not yet.
    fn buildkit_v013() -> BTreeSet<String> {
        DEFAULT_LLB_CAPS
            .iter()
            .copied()
            .chain([
                "file.base",
                "file.copy.includeexcludepatterns",
                "source.git.subdir",
            ])
            .map(str::to_owned)
            .collect()
    }

    /// Converts `FROM busybox` + `line` against a daemon with `caps`; the error's text and
    /// the source it points at.
    fn convert(line: &str, caps: Option<BTreeSet<String>>) -> Result<(), (String, String)> {
        let text = format!("FROM busybox\n{line}\n");
        let mut opts = BuildOptions::new(Platform::linux_amd64());
        opts.llb_caps = caps;
        let prepared = pipeline::prepare(&text, "Dockerfile", &opts).unwrap();
        let images = crate::resolve::offline_images(&prepared.plan);
        pipeline::convert(&prepared, &opts, &images, Vec::new())
            .map(|_| ())
            .map_err(|e| {
                let span = e.span().unwrap();
                let at = text[span.start as usize..span.end as usize].to_owned();
                (e.to_string(), at)
            })
    }

    #[test]
    fn newer_op_fields_fail_at_their_flag_on_an_old_daemon() {
        for (line, cap, at) in [
            (
                "COPY --chmod=u=rwX . /t/",
                "exec.validexitcode",
                "--chmod=u=rwX",
            ),
            (
                "ADD --checksum=be1f38e https://h/r.git /r",
                "source.git.checksum",
                "https://h/r.git",
            ),
            (
                "ADD https://h/r.git?commit=be1f38e /r",
                "source.git.checksum",
                "https://h/r.git?commit=be1f38e",
            ),
            (
                "ADD https://h/r.git?submodules=false /r",
                "source.git.skipsubmodules",
                "https://h/r.git?submodules=false",
            ),
            (
                "ADD https://h/r.git?fetch-by-commit /r",
                "source.git.fetchbycommit",
                "https://h/r.git?fetch-by-commit",
            ),
        ] {
            let (err, span) = convert(line, Some(buildkit_v013())).unwrap_err();
            assert!(err.contains(cap), "{line}: {err}");
            assert_eq!(span, at, "{line}");
            convert(line, None).unwrap();
        }
        // What BuildKit 0.13 has passes there too; a plain `--parents` path just goes
        // without its required path (the daemon would ignore the field).
        for line in [
            "COPY --parents ./x/a.txt /p/",
            "COPY --parents ./x/*.txt /p/",
            "COPY --exclude=*.md . /x/",
            "COPY --chmod=755 . /x/",
            "ADD https://h/r.git?tag=v1&subdir=docs /r",
        ] {
            convert(line, Some(buildkit_v013())).unwrap();
        }
        // Before include/exclude patterns, `--exclude` and `--parents` fail too.
        let old: BTreeSet<String> = DEFAULT_LLB_CAPS.iter().map(|s| (*s).to_owned()).collect();
        let (err, span) = convert("COPY --exclude=*.md . /x/", Some(old.clone())).unwrap_err();
        assert!(err.contains("file.copy.includeexcludepatterns"), "{err}");
        assert_eq!(span, "--exclude=*.md");
        let (err, _) = convert("COPY --parents ./x/*.txt /p/", Some(old)).unwrap_err();
        assert!(err.contains("file.copy.includeexcludepatterns"), "{err}");
    }

    #[test]
    fn parents_pivot_and_required_paths() {
        let p = |s: &str| super::parents_copy(s);
        assert_eq!(
            p("./x/a.txt"),
            ("/".into(), vec!["x/a.txt".into()], vec!["/x/a.txt".into()])
        );
        assert_eq!(
            p("./x/./y/*.txt"),
            ("/x".into(), vec!["y/*.txt".into()], vec![])
        );
        assert_eq!(
            p("/out/./x/y"),
            ("/out".into(), vec!["x/y".into()], vec!["/out/x/y".into()])
        );
        assert_eq!(p("/./a"), ("/".into(), vec!["a".into()], vec!["/a".into()]));
        assert_eq!(p("src/**/*.txt").2, Vec::<String>::new());
        // An escaped wildcard is no wildcard.
        assert_eq!(p("a\\*b").2, vec!["/a\\*b".to_owned()]);
    }

    /// `--chown` as upstream's `llb.WithUser` reads it: an empty part is id 0.
    #[test]
    fn chown_parts_are_ids_names_or_root() {
        use super::parse_chown;
        use strata_proto::llb::{Chown, UserRef};
        let name = |n: &str| Some(UserRef::Name(n.to_owned()));
        let id = |i: u32| Some(UserRef::Id(i));
        let cases = [
            (
                "app",
                Chown {
                    user: name("app"),
                    group: None,
                },
            ),
            (
                "1000:root",
                Chown {
                    user: id(1000),
                    group: id(0),
                },
            ),
            (
                ":staff",
                Chown {
                    user: id(0),
                    group: name("staff"),
                },
            ),
            (
                "app:",
                Chown {
                    user: name("app"),
                    group: id(0),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_chown(text), want, "{text}");
        }
    }
}
