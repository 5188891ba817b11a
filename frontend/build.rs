//! Build script: gives the binary its git revision, for `strata --version` and the image's
//! `org.opencontainers.image.revision` label, so that a running frontend names the commit it
//! was built from.
//!
//! `STRATA_REVISION`, when set, is taken as is (a build from a source archive, which has no
//! `.git`). Otherwise it is `git rev-parse --short=12 HEAD` of the checkout, and `unknown`
//! when there is no git or no repository: the version line then says so rather than guess.

use std::process::Command;

/// Runs git in the package directory; its trimmed output, or None if it failed or said nothing.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Asks cargo to run this script again when the file at git path `path` changes. Only a
/// file that exists: cargo takes a missing one as always changed, and would rebuild the
/// crate on every run (a branch's loose ref disappears when git packs it, which then
/// reruns this script once, as it should).
fn rerun_on_git_path(path: &str) {
    if let Some(file) = git(&["rev-parse", "--git-path", path]) {
        let in_package = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&file);
        if in_package.exists() {
            println!("cargo:rerun-if-changed={file}");
        }
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=STRATA_REVISION");
    let revision = match std::env::var("STRATA_REVISION") {
        Ok(given) if !given.is_empty() => given,
        _ => {
            // HEAD moves on checkout; the branch's ref (loose or packed) on commit.
            rerun_on_git_path("HEAD");
            rerun_on_git_path("packed-refs");
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                rerun_on_git_path(&branch);
            }
            git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned())
        }
    };
    println!("cargo:rustc-env=STRATA_REVISION={revision}");
}
