//! `strata lint [--format text|json] [--build-arg K=V]… [--target T] [--strict] Dockerfile`:
//! the same findings a build reports, offline (no BuildKit; base images are assumed to set
//! only `PATH`), for editors, pre-commit hooks and CI annotations.
//!
//! Exit status: 0 when nothing fails (warnings are printed, the build would pass); 1 when
//! the build would fail on lint (`# check=error=true` or the `BUILDKIT_DOCKERFILE_CHECK`
//! build arg, so the lint job agrees with the build), when the Dockerfile would not build
//! at all, or with `--strict` when there is any finding (as `docker build --check`);
//! 2 for a usage error or a file that cannot be read.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::convert::BaseImages;
use crate::lint::{lint, Input, Located, Report, Severity};

use super::common::{BuildFlags, Local, Output};

/// How findings are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `file:line:col: Rule: message`, one per line.
    #[default]
    Text,
    /// A JSON array of `{file, line, column, end_line, end_column, rule, message,
    /// severity, url, description}` (no `line`…`end_column` for an error with no place
    /// in the file).
    Json,
}

/// `strata lint`'s arguments.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// The Dockerfile.
    pub dockerfile: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// What a build would be given.
    #[command(flatten)]
    pub build: BuildFlags,
    /// Exit 1 on any finding, not only when the Dockerfile asks for `error=true`.
    #[arg(long)]
    pub strict: bool,
}

/// Runs `strata lint`.
pub(crate) fn run(args: &LintArgs) -> Output {
    let path = &args.dockerfile;
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => return failure(format!("{}: {e}", path.display())),
    };
    let mut opts = match args.build.options() {
        Ok(o) => o,
        Err(e) => return failure(e),
    };
    let local = Local::new(path);
    opts.dockerignore = match dockerignore_beside(path, &local.dir) {
        Ok(patterns) => patterns,
        Err(e) => return failure(e),
    };
    let loader = local.loader(&args.build.lib);
    let report = lint(&Input {
        text: &text,
        filename: &local.name,
        loader: &loader,
        opts: &opts,
        images: &BaseImages::new(),
        all_stages: opts.target.is_none(),
        prepared: None,
    });
    let located = shown_paths(report.located(), path, &local.dir);
    let stdout = match args.format {
        Format::Text => text_lines(&located),
        Format::Json => match serde_json::to_string_pretty(&located) {
            Ok(json) => json,
            Err(e) => return failure(format!("cannot write the findings as JSON: {e}")),
        },
    };
    Output {
        stdout,
        stderr: String::new(),
        code: exit_code(&report, args.strict),
    }
}

/// The `.dockerignore` a build with the Dockerfile's directory as context would use, as
/// BuildKit picks it: `<Dockerfile>.dockerignore` beside the Dockerfile, else the
/// directory's `.dockerignore`; none when neither exists. One that exists but cannot be
/// read is an error, as in a build (the findings would otherwise miss `CopyIgnoredFile`).
fn dockerignore_beside(path: &Path, dir: &Path) -> Result<Vec<String>, String> {
    let mut own = path.as_os_str().to_owned();
    own.push(".dockerignore");
    for file in [std::path::PathBuf::from(own), dir.join(".dockerignore")] {
        match std::fs::read(&file) {
            Ok(b) => {
                let text = String::from_utf8_lossy(&b);
                return Ok(crate::pipeline::dockerignore_patterns(&text));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("failed to read {}: {e}", file.display())),
        }
    }
    Ok(Vec::new())
}

/// 1 when the build would fail (lint errors, or not building at all) or, with `strict`,
/// on any finding; else 0.
fn exit_code(report: &Report, strict: bool) -> u8 {
    let failing = report.error.is_some()
        || report
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error);
    u8::from(failing || (strict && !report.findings.is_empty()))
}

/// Paths as the user can open them: the root as given, included files beside it (stage
/// library files keep their `@name`).
fn shown_paths(mut located: Vec<Located>, root: &Path, dir: &Path) -> Vec<Located> {
    let root_name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for l in &mut located {
        l.file = if l.file == root_name {
            root.display().to_string()
        } else if l.file.starts_with('@') {
            l.file.clone()
        } else {
            dir.join(&l.file).display().to_string()
        };
    }
    located
}

/// `file:line:col: Rule: message`, or `file:line:col: error: message` for the error that
/// stops the build.
fn text_lines(located: &[Located]) -> String {
    located
        .iter()
        .map(|l| {
            let rule = l.rule.unwrap_or("error");
            match l.at {
                None => format!("{}: {rule}: {}\n", l.file, l.message),
                Some(at) => format!(
                    "{}:{}:{}: {rule}: {}\n",
                    l.file, at.line, at.column, l.message
                ),
            }
        })
        .collect()
}

fn failure(message: String) -> Output {
    Output {
        stdout: String::new(),
        stderr: format!("strata lint: {message}\n"),
        code: 2,
    }
}
