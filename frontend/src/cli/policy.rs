//! `strata policy check`: the platform policy applied to a Dockerfile offline, with no
//! BuildKit, for pre-commit hooks and CI lint jobs. It runs the gateway's pipeline and
//! [`policy::check`]; what only a resolved base image could tell (its `USER`, its labels)
//! is unknown here, and findings that hinge on it are warnings saying so.
//!
//! Output: one `file:line: rule: message` line per violation on stdout (`warning: `
//! before the message of a warn-level one). Exit status: 0 without errors, 1 with
//! policy errors (or a Dockerfile that does not build), 2 when the policy file or the
//! Dockerfile cannot be read or the policy does not parse.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::pipeline;
use crate::policy::{self, Bases, Policy, Severity, POLICY_PATH};
use crate::resolve::{self, OfflineResolver};

use super::common::{located, BuildFlags, Local, Output};

/// `strata policy …`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a Dockerfile against a policy file, offline; exits 1 on policy errors.
    Check(CheckArgs),
}

/// `strata policy check` options: the policy, then what a build would be given.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The Dockerfile.
    pub dockerfile: PathBuf,
    /// The policy file.
    #[arg(long, value_name = "FILE", default_value = POLICY_PATH)]
    pub policy: PathBuf,
    /// What a build would be given.
    #[command(flatten)]
    pub build: BuildFlags,
}

/// A usage error: the policy or the Dockerfile cannot be read, or a flag is malformed.
fn usage(message: String) -> Output {
    Output {
        stdout: String::new(),
        stderr: format!("strata: {message}\n"),
        code: 2,
    }
}

/// Runs a `strata policy` command.
pub(crate) async fn run(command: PolicyCommand) -> Output {
    match command {
        PolicyCommand::Check(args) => check(args).await,
    }
}

async fn check(args: CheckArgs) -> Output {
    let policy = match Policy::load(&args.policy) {
        Ok(Some(p)) => p,
        Ok(None) => return usage(format!("no policy file at {}", args.policy.display())),
        Err(e) => return usage(e),
    };
    let text = match std::fs::read(&args.dockerfile) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => return usage(format!("{}: {e}", args.dockerfile.display())),
    };
    let opts = match args.build.options() {
        Ok(o) => o,
        Err(e) => return usage(e),
    };
    let local = Local::new(&args.dockerfile);
    let loader = local.loader(&args.build.lib);
    let broken = |e: crate::error::Error, sources: &crate::includes::Sources| Output {
        stdout: String::new(),
        stderr: format!(
            "strata: {}\nstrata: the Dockerfile does not build, so its policy cannot be checked\n",
            located(&e, sources)
        ),
        code: 1,
    };
    let prepared = match pipeline::prepare_with(&text, &local.name, &opts, &loader) {
        Ok(p) => p,
        Err((e, sources)) => return broken(e, &sources),
    };
    let converted = match resolve::resolve_all(&OfflineResolver, &prepared.plan)
        .await
        .and_then(|images| pipeline::convert(&prepared, &opts, &images, Vec::new()))
    {
        Ok(c) => c,
        Err(e) => return broken(e, &prepared.sources),
    };
    let violations = policy::check(&policy, &prepared, &converted, Bases::Unknown);
    let mut stdout = String::new();
    let (mut errors, mut warnings) = (0, 0);
    for v in &violations {
        let (file, line) = prepared.sources.line_of(v.span);
        let note = match v.severity {
            Severity::Error => {
                errors += 1;
                ""
            }
            Severity::Warn => {
                warnings += 1;
                "warning: "
            }
        };
        stdout.push_str(&format!(
            "{}:{line}: {}: {note}{}\n",
            file.filename, v.rule, v.message
        ));
    }
    let mut stderr = String::new();
    if policy.entrypoint_check().is_some() {
        stderr.push_str(
            "strata: entrypoint-check needs the built image: it is applied by the build, not here\n",
        );
    }
    if errors + warnings > 0 {
        stderr.push_str(&format!(
            "strata: {errors} policy error(s), {warnings} warning(s)\n"
        ));
    }
    Output {
        stdout,
        stderr,
        code: u8::from(errors > 0),
    }
}
