//! What an SBOM generator scans besides the target's filesystem, as docker/dockerfile 1.26
//! decides it from `BUILDKIT_SBOM_SCAN_CONTEXT` and `BUILDKIT_SBOM_SCAN_STAGE`: the build
//! context when the target stage asks for it, and every other stage the target needs whose
//! own setting names it. A stage the target does not need is never scanned (it is never
//! converted). Pure: the edge (`gateway/sbom.rs`) runs the generator on these states.

use std::collections::BTreeMap;

use strata_proto::llb::State;

use super::Dispatch;
use crate::expand::Env;
use crate::instructions::Lowered;
use crate::options::{parse_bool, BuildOptions};
use crate::plan::Plan;

/// The setting that scans the build context.
const SCAN_CONTEXT: &str = "BUILDKIT_SBOM_SCAN_CONTEXT";
/// The setting that scans a stage.
const SCAN_STAGE: &str = "BUILDKIT_SBOM_SCAN_STAGE";

/// The extra filesystems of a build's SBOM scan (the core is the target's own state).
#[derive(Clone, Debug, Default)]
pub struct ScanTargets {
    /// By name: `context`, or a stage's name (`""` for an unnamed stage, as upstream),
    /// each mounted for the generator as `/run/src/extras/sbom-<name>`.
    pub extras: BTreeMap<String, State>,
    /// The generator must run without the cache: `--no-cache` covers the target or a
    /// scanned stage.
    pub ignore_cache: bool,
}

/// Whether a setting's `value` turns scanning on for the stage `stage`: a boolean as Go
/// parses it, else a comma-separated list of stage names.
pub(crate) fn enabled_for(stage: &str, value: &str) -> bool {
    match parse_bool(value) {
        Some(b) => b,
        None => value.split(',').any(|s| s == stage),
    }
}

/// The value a stage gives the setting `name`: the last `ARG` of that name with a value in
/// the stage or the stages it is built on (`args`), else the global `ARG`'s (`meta_args`:
/// only a declared `ARG` takes a build arg's value, as upstream documents).
fn setting<'a>(
    name: &str,
    args: &'a [(String, Option<String>)],
    meta_args: &'a [(String, String)],
) -> Option<&'a str> {
    args.iter()
        .rev()
        .find_map(|(k, v)| (k == name).then_some(v.as_deref()).flatten())
        .or_else(|| Env::get(meta_args, name))
}

/// The scan targets of the converted stages `done` (indexed like `lowered.stages`; only the
/// stages in `plan.order` are there), with `context` the build context the target read.
pub(super) fn scan_targets(
    lowered: &Lowered,
    plan: &Plan,
    done: &[Option<Dispatch>],
    context: &State,
    opts: &BuildOptions,
) -> ScanTargets {
    let mut out = ScanTargets::default();
    let name_of = |i: usize| lowered.stages[i].name.clone().unwrap_or_default();
    let wants = |i: usize, d: &Dispatch, setting_name: &str| {
        setting(setting_name, &d.args, &plan.meta_args).is_some_and(|v| enabled_for(&name_of(i), v))
    };
    let target_name = lowered.stages[plan.target].name.as_deref();
    out.ignore_cache = opts.ignores_cache(target_name);
    if let Some(d) = done.get(plan.target).and_then(Option::as_ref) {
        if wants(plan.target, d, SCAN_CONTEXT) {
            out.extras.insert("context".to_owned(), context.clone());
        }
    }
    for &i in &plan.order {
        let Some(d) = done.get(i).and_then(Option::as_ref) else {
            continue;
        };
        if i == plan.target || !wants(i, d, SCAN_STAGE) {
            continue;
        }
        out.extras.insert(name_of(i), d.fs.clone());
        out.ignore_cache |= opts.ignores_cache(lowered.stages[i].name.as_deref());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn a_value_is_a_boolean_or_a_list_of_stages() {
        for (value, stage, want) in [
            ("true", "a", true),
            ("1", "", true),
            ("False", "a", false),
            ("a,b", "b", true),
            ("a,b", "c", false),
            ("a, b", "b", false),
            ("yes", "yes", true),
            ("", "", true),
        ] {
            assert_eq!(enabled_for(stage, value), want, "{value:?} for {stage:?}");
        }
    }

    #[test]
    fn the_last_stage_arg_wins_over_the_global_one() {
        let globals = vec![(SCAN_STAGE.to_owned(), "true".to_owned())];
        let args = vec![
            (SCAN_STAGE.to_owned(), Some("false".to_owned())),
            (SCAN_STAGE.to_owned(), None),
            ("OTHER".to_owned(), Some("x".to_owned())),
        ];
        assert_eq!(setting(SCAN_STAGE, &args, &globals), Some("false"));
        assert_eq!(setting(SCAN_STAGE, &[], &globals), Some("true"));
        assert_eq!(setting(SCAN_CONTEXT, &args, &globals), None);
    }
}
