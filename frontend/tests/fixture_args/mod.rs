//! The `.args` file beside a fixture (`<case>.args`, one CLI argument per line:
//! `--target`, `build`, `--build-arg`, `A=1`, `--platform`, `--opt`, `key=value`), turned
//! into the frontend opts BuildKit would send, so option parsing in the golden tests is the
//! real one. Shared by the LLB, lint and subrequest goldens.

use std::path::Path;

use strata::options::BuildOptions;
use strata::platform::Platform;

/// The options a fixture at `path` is built with (none when it has no `.args` file).
pub fn options_for(path: &Path) -> BuildOptions {
    // The flags become the frontend opts BuildKit would send, so parsing is the real one.
    let mut opts = std::collections::BTreeMap::new();
    let args = std::fs::read_to_string(path.with_extension("args")).unwrap_or_default();
    let mut it = args.lines().filter(|l| !l.is_empty());
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .expect("every flag in a .args file has a value")
            .to_owned();
        let (key, value) = match flag {
            "--target" => ("target".to_owned(), value),
            "--build-arg" => {
                let (k, v) = value.split_once('=').unwrap_or((&value, ""));
                (format!("build-arg:{k}"), v.to_owned())
            }
            "--platform" => ("platform".to_owned(), value),
            // Any other frontend opt: `--opt` then `key=value`.
            "--opt" => {
                let (k, v) = value.split_once('=').unwrap_or((&value, ""));
                (k.to_owned(), v.to_owned())
            }
            other => panic!("unknown flag {other} in {}", path.display()),
        };
        opts.insert(key, value);
    }
    BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").expect("valid options")
}
