//! Lowering of the build steps with the richest flag sets: `RUN`, Strata's `CHECK`, and
//! `COPY`/`ADD` (docker/dockerfile 1.26's flags, Strata's `--deps`).

use super::flags::{FlagKind, Flags};
use super::{check_form, form, words, CommandKind, Copy, Run};
use crate::error::{Error, Result};
use crate::syntax::Instruction;

/// `RUN [--mount=…] [--network=…] [--security=…] [--device=…] <command>`.
pub(super) fn lower_run(ins: &Instruction) -> Result<CommandKind> {
    let kw = ins.keyword.as_str();
    let f = Flags::parse(
        kw,
        &ins.flags,
        &[
            ("mount", FlagKind::List),
            ("network", FlagKind::String),
            ("security", FlagKind::String),
            ("device", FlagKind::List),
        ],
    )?;
    let security = f.string("security");
    // Checked as written (never expanded), as upstream's post-parse hook does.
    if let Some(s) = security
        .as_ref()
        .filter(|s| s.text != "sandbox" && s.text != "insecure")
    {
        return Err(Error::at(
            s.span,
            format!("security {:?} is not valid", s.text),
        ));
    }
    Ok(CommandKind::Run(Run {
        form: form(ins, &ins.args)?,
        mounts: f.list("mount"),
        network: f.string("network"),
        security,
        devices: f.list("device"),
        heredocs: ins.heredocs.clone(),
    }))
}

/// `CHECK [--mount=…] [--network=…] <command>`: a RUN that must pass, in a throwaway copy.
pub(super) fn lower_check(ins: &Instruction) -> Result<CommandKind> {
    let kw = ins.keyword.as_str();
    let f = Flags::parse(
        kw,
        &ins.flags,
        &[("mount", FlagKind::List), ("network", FlagKind::String)],
    )?;
    Ok(CommandKind::Check(Run {
        form: check_form(form(ins, &ins.args)?),
        mounts: f.list("mount"),
        network: f.string("network"),
        security: None,
        devices: Vec::new(),
        heredocs: ins.heredocs.clone(),
    }))
}

/// `COPY`/`ADD` with their flags and sources; the last word is the destination.
pub(super) fn lower_copy(ins: &Instruction) -> Result<CommandKind> {
    let kw = ins.keyword.as_str();
    let is_add = kw == "add";
    // As docker/dockerfile 1.26: `--exclude` on both, `--parents` on COPY only.
    let mut allowed = vec![
        ("chown", FlagKind::String),
        ("chmod", FlagKind::String),
        ("link", FlagKind::Bool),
        ("exclude", FlagKind::List),
    ];
    if is_add {
        allowed.extend([
            ("checksum", FlagKind::String),
            ("keep-git-dir", FlagKind::Bool),
            ("unpack", FlagKind::Bool),
        ]);
    } else {
        allowed.extend([
            ("from", FlagKind::String),
            ("deps", FlagKind::Bool),
            ("parents", FlagKind::Bool),
        ]);
    }
    let f = Flags::parse(kw, &ins.flags, &allowed)?;
    let deps = f.bool("deps");
    if deps && f.string("from").is_none() {
        let at = ins
            .flags
            .iter()
            .find(|fl| fl.name == "deps")
            .map_or(ins.span, |fl| fl.span);
        return Err(Error::at(
            at,
            "COPY --deps needs --from=<stage|image>: the libraries are found in that stage's files",
        ));
    }
    // `--deps` names each file and copies the closure to the paths the loader
    // opens: neither a parents layout nor an exclude filter has a meaning there.
    if deps {
        for name in ["parents", "exclude"] {
            if let Some(fl) = ins.flags.iter().find(|fl| fl.name == name) {
                if name == "exclude" || f.bool("parents") {
                    return Err(Error::at(
                        fl.span,
                        format!("COPY --deps cannot be combined with --{name}"),
                    ));
                }
            }
        }
    }
    let mut args = words(ins);
    if args.len() < 2 {
        return Err(Error::at(
            ins.span,
            format!(
                "{} requires at least two arguments, but only one was provided. Destination could not be determined",
                kw.to_uppercase()
            ),
        ));
    }
    let dest = args.pop().expect("invariant: at least two args");
    Ok(CommandKind::Copy(Copy {
        is_add,
        sources: args,
        dest,
        from: f.string("from"),
        chown: f.string("chown"),
        chmod: f.string("chmod"),
        link: f.bool("link"),
        parents: f.bool("parents"),
        deps,
        excludes: f.list("exclude"),
        checksum: f.string("checksum"),
        keep_git_dir: f.opt_bool("keep-git-dir"),
        unpack: f.opt_bool("unpack"),
        heredocs: ins.heredocs.clone(),
    }))
}
