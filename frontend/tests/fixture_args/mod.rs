//! The `.args` file beside a fixture (`<case>.args`, one CLI argument per line:
//! `--target`, `build`, `--build-arg`, `A=1`, `--platform`, `--opt`, `key=value`), turned
//! into the frontend opts BuildKit would send, so option parsing in the golden tests is the
//! real one. Shared by the LLB, lint and subrequest goldens. `--llb-caps` then `a,b,…` is
//! not a frontend opt: the LLB caps the daemon reports in `Ping` (BuildKit's frozen default
//! set plus these), for builds on an old daemon.

use std::path::Path;

use strata::options::BuildOptions;
use strata::platform::Platform;

/// The options a fixture at `path` is built with (none when it has no `.args` file).
pub fn options_for(path: &Path) -> BuildOptions {
    // The flags become the frontend opts BuildKit would send, so parsing is the real one.
    let mut opts = std::collections::BTreeMap::new();
    let args = std::fs::read_to_string(path.with_extension("args")).unwrap_or_default();
    let mut it = args.lines().filter(|l| !l.is_empty());
    let mut llb_caps = None;
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
            "--llb-caps" => {
                let mut caps: std::collections::BTreeSet<String> =
                    strata_proto::gateway::caps::DEFAULT_LLB_CAPS
                        .iter()
                        .map(|c| (*c).to_owned())
                        .collect();
                caps.extend(
                    value
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned),
                );
                llb_caps = Some(caps);
                continue;
            }
            // Any other frontend opt: `--opt` then `key=value`.
            "--opt" => {
                let (k, v) = value.split_once('=').unwrap_or((&value, ""));
                (k.to_owned(), v.to_owned())
            }
            other => panic!("unknown flag {other} in {}", path.display()),
        };
        opts.insert(key, value);
    }
    let mut options =
        BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").expect("valid options");
    options.llb_caps = llb_caps;
    options
}
