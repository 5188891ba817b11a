//! `RUN` → an exec op: shell or exec form, heredocs, `--mount`, `--network`, `--security`.

use strata_proto::llb::{
    self, CacheSharing, Chown, ClientMount, Exec, FileOp, MkdirAction, MkfileAction, Mount,
    MountKind, NetMode, SecurityMode, State, UserRef,
};
use strata_proto::pb;

use super::names::uppercase_cmd;
use super::{paths, ContextUse, Dispatch, StageCtx};
use crate::error::{Error, Result};
use crate::expand::Lexer;
use crate::instructions::{Form, Run, Source};
use crate::mounts::{self, MountType, Sharing};

/// The shell a shell-form command runs under: `SHELL`, else `/bin/sh -c`.
pub(crate) fn shell(d: &Dispatch) -> Vec<String> {
    d.image
        .config
        .shell
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| vec!["/bin/sh".to_owned(), "-c".to_owned()])
}

pub(crate) fn dispatch_run(
    d: &mut Dispatch,
    r: &Run,
    src: &Source,
    ctx: &StageCtx<'_>,
    reads: &[llb::State],
    used: &mut ContextUse,
) -> Result<()> {
    let (exec, args) = exec_for(d, r, src, ctx, reads, used)?;
    d.fs = exec.run().root;
    d.image.add_history(run_history(d, &args), false);
    Ok(())
}

/// `CHECK`: the same exec as a `RUN` at this point of the stage, on a copy of its
/// filesystem. Its output is kept aside (solving it runs the check) and the stage goes on
/// from the filesystem and config it had before: a check changes nothing.
pub(crate) fn dispatch_check(
    d: &mut Dispatch,
    r: &Run,
    src: &Source,
    ctx: &StageCtx<'_>,
    reads: &[llb::State],
    used: &mut ContextUse,
) -> Result<()> {
    let (exec, _) = exec_for(d, r, src, ctx, reads, used)?;
    d.checks.push(exec.run().root);
    Ok(())
}

/// The exec op a `RUN` (or `CHECK`) makes at this point of the stage, and its args.
fn exec_for(
    d: &mut Dispatch,
    r: &Run,
    src: &Source,
    ctx: &StageCtx<'_>,
    reads: &[llb::State],
    used: &mut ContextUse,
) -> Result<(Exec, Vec<String>)> {
    let mut extra_mounts = Vec::new();
    let (args, script_mount) = command_args(d, r)?;
    if let Some(m) = script_mount {
        extra_mounts.push(m);
    }
    let mut reads = reads.iter();
    let mut ssh_targets: Vec<String> = Vec::new();
    let mut secret_envs = Vec::new();
    for flag in &r.mounts {
        let mut spec = parse_mount(d, ctx, flag)?;
        if spec.kind == MountType::Ssh {
            // BuildKit numbers agent sockets by their place among the SSH mounts.
            if spec.target.is_empty() {
                spec.target = format!("/run/buildkit/ssh_agent.{}", ssh_targets.len());
            }
            ssh_targets.push(spec.target.clone());
        }
        let from = if spec.from.is_some() && spec.kind != MountType::Tmpfs {
            reads.next().cloned()
        } else {
            // A tmpfs ignores `from` (as upstream does), but the plan still read it.
            if spec.from.is_some() {
                reads.next();
            }
            None
        };
        if let (MountType::Secret, Some(name)) = (spec.kind, &spec.env) {
            ctx.need_cap("exec.secretenv", "RUN --mount=type=secret,env=", flag.span)?;
            secret_envs.push(llb::SecretEnv {
                id: spec.id.clone().unwrap_or_default(),
                name: name.clone(),
                optional: !spec.required,
            });
            if spec.target.is_empty() {
                continue;
            }
        }
        extra_mounts
            .push(mount_for(spec, from, ctx, used, d).map_err(|m| Error::at(flag.span, m))?);
    }
    // Like BuildKit 0.13, the flag is checked as written (not expanded); `default` keeps
    // the build's network (`force-network-mode`).
    let forced = match ctx.inputs.opts.network_mode.as_str() {
        "none" => NetMode::None,
        "host" => NetMode::Host,
        _ => NetMode::Unset,
    };
    let network = match &r.network {
        None => forced,
        Some(n) => match n.text.as_str() {
            "default" => forced,
            "none" => NetMode::None,
            "host" => NetMode::Host,
            other => return Err(Error::at(n.span, format!("invalid network mode {other:?}"))),
        },
    };
    // Lowering accepted only `sandbox` and `insecure`, as written.
    let security = match &r.security {
        Some(s) if s.text == "insecure" => {
            ctx.need_cap("exec.meta.security", "RUN --security=insecure", s.span)?;
            SecurityMode::Insecure
        }
        _ => SecurityMode::Sandbox,
    };
    let mut devices = Vec::new();
    for flag in &r.devices {
        ctx.need_cap("exec.meta.cdi", "RUN --device", flag.span)?;
        let spec = crate::devices::parse(&flag.text).map_err(|m| Error::at(flag.span, m))?;
        devices.push(llb::Device {
            name: spec.name,
            optional: !spec.required,
        });
    }

    let mut env = d.env_list();
    // The first agent socket, unless the stage set SSH_AUTH_SOCK itself.
    if let Some(first) = ssh_targets.first() {
        if !d.env.iter().any(|(k, _)| k == "SSH_AUTH_SOCK") {
            env.push(format!("SSH_AUTH_SOCK={first}"));
        }
    }
    let masked: Vec<&str> = secret_envs.iter().map(|s| s.name.as_str()).collect();
    let mut name = display_name(d, src, ctx.inputs.escape, &masked);
    if let Some(h) = r.heredocs.first() {
        if bare_heredoc(r).is_some() {
            name.push_str(&format!(" ({})", summarize_heredoc(&h.content)));
        }
    }
    let mut meta = ctx
        .op_meta(d.names.next(&name), src)
        .cap("exec.meta.setsdefaultpath");
    meta.description.insert(
        "com.docker.dockerfile.v1.command".to_owned(),
        src.original.trim().to_owned(),
    );
    let mut exec = Exec::new(d.fs.clone(), args.clone())
        .env(env)
        .cwd(&d.dir)
        .user(&d.user)
        .remove_mount_stubs(true)
        .extra_hosts(ctx.inputs.opts.extra_hosts.clone())
        .hostname(ctx.inputs.opts.hostname.as_deref().unwrap_or_default())
        .network(network)
        .security(security)
        .proxy_env(proxy_env(ctx))
        .platform(Some(d.platform.to_pb()))
        .meta(meta);
    for m in extra_mounts {
        exec = exec.mount(m);
    }
    for s in secret_envs {
        exec = exec.secret_env(s);
    }
    for dev in devices {
        exec = exec.device(dev);
    }
    Ok((exec, args))
}

/// The process args, and a script mount when a heredoc is an executable script.
fn command_args(d: &Dispatch, r: &Run) -> Result<(Vec<String>, Option<Mount>)> {
    match &r.form {
        Form::Exec(words) => Ok((words.iter().map(|w| w.text.clone()).collect(), None)),
        Form::Shell(cmd) => {
            let mut args = shell(d);
            if r.heredocs.is_empty() {
                args.push(cmd.text.clone());
                return Ok((args, None));
            }
            if let Some(h) = bare_heredoc(r) {
                let body = h.body();
                if body.starts_with("#!") {
                    let script = FileOp::new(State::scratch())
                        .mkfile(MkfileAction {
                            path: format!("/{}", h.name),
                            mode: 0o755,
                            data: body.into_bytes(),
                            ..Default::default()
                        })
                        .meta(llb::OpMeta::named("[internal] preparing inline document"))
                        .build();
                    // Upstream names the scratch's root as the source path (selector `/`).
                    let mut mount = Mount::bind("/dev/pipes/", script);
                    mount.selector = "/".to_owned();
                    // The script runs under the stage's shell, as upstream runs it
                    // (`/bin/sh -c /dev/pipes/EOF`): the shebang line is the script's
                    // business, the shell form stays a shell form.
                    args.push(format!("/dev/pipes/{}", h.name));
                    return Ok((args, Some(mount)));
                }
                args.push(body);
                return Ok((args, None));
            }
            // A command that feeds heredocs to programs: the shell gets the whole script,
            // each body as written (a `<<-` body keeps its tabs: the shell strips them).
            let mut script = cmd.text.clone();
            for h in &r.heredocs {
                let body = h.content.clone();
                script.push('\n');
                script.push_str(&body);
                if !body.ends_with('\n') && !body.is_empty() {
                    script.push('\n');
                }
                script.push_str(&h.name);
            }
            // No newline after the last terminator: BuildKit's frontend joins the command
            // and each `body + name` with "\n", and the op bytes (cache key) must match.
            args.push(script);
            Ok((args, None))
        }
    }
}

/// The heredoc a shell-form command consists of alone (`RUN <<EOF`, `RUN << EOF`,
/// `RUN <<-"EOF"`): its body is the whole command (or, with `#!`, a script run directly).
/// Upstream decides it by matching the command text as one heredoc word.
fn bare_heredoc(r: &Run) -> Option<&crate::syntax::Heredoc> {
    let Form::Shell(cmd) = &r.form else {
        return None;
    };
    let first = r.heredocs.first()?;
    crate::syntax::is_heredoc_word(&cmd.text).then_some(first)
}

/// Upstream's `summarizeHeredoc`: the first line of the trimmed body, `...` when more follow.
fn summarize_heredoc(doc: &str) -> String {
    let doc = doc.trim().replace("\r\n", "\n");
    let mut lines = doc.split('\n');
    let first = lines.next().unwrap_or_default().to_owned();
    if lines.next().is_some() {
        format!("{first}...")
    } else {
        first
    }
}

/// Parses one `--mount`, each value expanded with the stage's environment at this point.
fn parse_mount(
    d: &Dispatch,
    ctx: &StageCtx<'_>,
    flag: &crate::instructions::FlagValue,
) -> Result<mounts::MountSpec> {
    let mut expand_error = None;
    let parsed = mounts::parse_with(&flag.text, |v| {
        ctx.lexer
            .expand_word(v, &d.env)
            .map(|e| e.value)
            .map_err(|e| {
                let m = e.to_string();
                expand_error = Some(m.clone());
                m
            })
    });
    parsed.map_err(|m| Error::at(flag.span, expand_error.unwrap_or(m)))
}

/// `RUN …` as progress shows it: variables the stage knows expanded, others left as written,
/// secret environment variables (`masked`) shown as `****`.
fn display_name(d: &Dispatch, src: &Source, escape: char, masked: &[&str]) -> String {
    let mut lexer = Lexer::new(escape);
    lexer.raw_quotes = true;
    lexer.skip_unset_env = true;
    let original = src.original.trim();
    let mut env = d.env.clone();
    for name in masked {
        env.set(name, "****");
    }
    let text = lexer
        .expand_word(original, &env)
        .map(|e| e.value)
        .unwrap_or_else(|_| original.to_owned());
    uppercase_cmd(&text)
}

/// `RUN |2 A=1 B= /bin/sh -c make # buildkit`: the history entry, naming every ARG in the
/// stage's scope (its base stage's and its own; their values are part of what the step did),
/// each name once at its first place with its last value, as docker/dockerfile ≥ 1.12 does.
fn run_history(d: &Dispatch, args: &[String]) -> String {
    let mut shown: Vec<(&str, String)> = Vec::new();
    for (k, v) in &d.args {
        let value = d
            .env
            .iter()
            .rev()
            .find(|(ek, _)| ek == k)
            .map(|(_, ev)| ev.clone())
            .or_else(|| v.clone())
            .unwrap_or_default();
        match shown.iter_mut().find(|(sk, _)| sk == k) {
            Some(slot) => slot.1 = value,
            None => shown.push((k, value)),
        }
    }
    let mut s = "RUN ".to_owned();
    if !shown.is_empty() {
        s.push_str(&format!("|{} ", shown.len()));
        for (k, value) in &shown {
            s.push_str(&format!("{k}={value} "));
        }
    }
    s.push_str(&args.join(" "));
    s.push_str(" # buildkit");
    s
}

/// Proxy build args reach every `RUN` without being declared and without changing cache keys.
fn proxy_env(ctx: &StageCtx<'_>) -> Option<pb::ProxyEnv> {
    let get = |name: &str| {
        ctx.inputs
            .opts
            .build_args
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let p = pb::ProxyEnv {
        http_proxy: get("http_proxy").unwrap_or_default(),
        https_proxy: get("https_proxy").unwrap_or_default(),
        ftp_proxy: get("ftp_proxy").unwrap_or_default(),
        no_proxy: get("no_proxy").unwrap_or_default(),
        all_proxy: get("all_proxy").unwrap_or_default(),
    };
    (p != pb::ProxyEnv::default()).then_some(p)
}

/// The mount a parsed spec makes. Without a target, a bind, cache or tmpfs mount goes to
/// the working directory (docker/dockerfile 1.26), which must not be `/`.
fn mount_for(
    spec: mounts::MountSpec,
    from: Option<State>,
    ctx: &StageCtx<'_>,
    used: &mut ContextUse,
    d: &Dispatch,
) -> std::result::Result<Mount, String> {
    let target = if spec.target.starts_with('/') {
        spec.target.clone()
    } else {
        paths::join(&paths::join("/", &d.dir), &spec.target)
    };
    if target == "/" {
        return Err(format!("invalid mount target {target:?}"));
    }
    let selector = spec
        .source
        .as_deref()
        .map(|s| paths::clean(&format!("/{s}")))
        .filter(|s| s != "/")
        .unwrap_or_default();
    let mut m = Mount {
        dest: target.clone(),
        source: None,
        selector: String::new(),
        readonly: spec.readonly,
        capture: false,
        kind: MountKind::Bind,
    };
    match spec.kind {
        MountType::Bind => {
            let source = match from {
                Some(s) => s,
                None => {
                    used.add(spec.source.as_deref().unwrap_or("/"));
                    ctx.context.clone()
                }
            };
            m.source = Some(source);
            m.selector = selector;
        }
        MountType::Cache => {
            let ns = ctx
                .inputs
                .opts
                .build_args
                .get("BUILDKIT_CACHE_MOUNT_NS")
                .cloned()
                .unwrap_or_default();
            let id = spec
                .id
                .clone()
                .unwrap_or_else(|| paths::clean(&spec.target));
            m.kind = MountKind::Cache {
                id: format!("{ns}/{id}"),
                sharing: match spec.sharing.unwrap_or(Sharing::Shared) {
                    Sharing::Shared => CacheSharing::Shared,
                    Sharing::Private => CacheSharing::Private,
                    Sharing::Locked => CacheSharing::Locked,
                },
            };
            m.readonly = spec.readonly;
            if let Some(s) = from {
                m.source = Some(s);
                m.selector = selector;
            } else if spec.mode.is_some() || spec.uid.is_some() || spec.gid.is_some() {
                // A cache with an owner or mode starts from a directory made with them.
                let base = FileOp::new(State::scratch())
                    .mkdir(MkdirAction {
                        path: "/cache".to_owned(),
                        mode: spec.mode.unwrap_or(0o755),
                        // As upstream's `setCacheUIDGID` (the root exists anyway).
                        make_parents: false,
                        owner: Some(Chown {
                            user: Some(UserRef::Id(spec.uid.unwrap_or(0))),
                            group: Some(UserRef::Id(spec.gid.unwrap_or(0))),
                        }),
                        timestamp: None,
                    })
                    .build();
                m.source = Some(base);
                m.selector = "/cache".to_owned();
            }
        }
        MountType::Tmpfs => {
            // Upstream counts a tmpfs mount without `from` as reading the context at its
            // `source` (the root: the whole context, so no `followpaths`); kept, so the
            // context's source op (its cache key, the provenance's LLB) is the builtin's.
            if spec.from.is_none() {
                used.add(spec.source.as_deref().unwrap_or("/"));
            }
            m.kind = MountKind::Tmpfs {
                size: spec.size.unwrap_or(0),
            };
            m.readonly = false;
        }
        MountType::Secret | MountType::Ssh => {
            // Secrets are read-only files (0400), agents sockets (0600), both root-owned.
            let is_secret = spec.kind == MountType::Secret;
            let client = ClientMount {
                id: spec.id.clone().unwrap_or_default(),
                uid: spec.uid.unwrap_or(0),
                gid: spec.gid.unwrap_or(0),
                mode: spec.mode.unwrap_or(if is_secret { 0o400 } else { 0o600 }),
                optional: !spec.required,
            };
            m.kind = if is_secret {
                MountKind::Secret(client)
            } else {
                MountKind::Ssh(client)
            };
            m.readonly = true;
        }
    }
    Ok(m)
}
