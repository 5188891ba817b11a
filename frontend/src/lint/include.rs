//! `UnusedInclude`: an `INCLUDE` whose file (with the files it includes in turn) defines
//! stages, none of which the build uses: none is the target, and no stage defined
//! elsewhere starts `FROM` one of them, copies `--from` one or mounts one (`from=`).
//! A file that only adds instructions to the including stage, or global `ARG`s, is never
//! flagged; nor is an `INCLUDE` inside an included file already flagged.

use crate::includes::Sources;
use crate::instructions::Lowered;
use crate::plan::{Base, FromRef, Plan};

use super::rules::UNUSED_INCLUDE;
use super::Finding;

/// Flags unused `INCLUDE`s.
pub fn check(sources: &Sources, lowered: &Lowered, plan: &Plan, out: &mut Vec<Finding>) {
    let count = sources.files().count();
    let parent = |j: usize| sources.include_site(j).map(|s| sources.index_of(s));
    // Whether file `j` is file `k` or was included (at any depth) through it.
    let within = |mut j: usize, k: usize| {
        for _ in 0..=count {
            if j == k {
                return true;
            }
            match parent(j) {
                Some(p) => j = p,
                None => return false,
            }
        }
        false
    };
    let stage_file: Vec<usize> = lowered
        .stages
        .iter()
        .map(|s| sources.index_of(s.from.span))
        .collect();
    let mut flagged = vec![false; count];
    for k in 1..count {
        let Some(site) = sources.include_site(k) else {
            continue;
        };
        let defined: Vec<usize> = (0..stage_file.len())
            .filter(|&i| within(stage_file[i], k))
            .collect();
        if defined.is_empty() || defined.contains(&plan.target) {
            continue;
        }
        let used = plan.stages.iter().enumerate().any(|(e, sp)| {
            if defined.contains(&e) {
                return false;
            }
            let base = matches!(sp.base, Base::Stage(d) if defined.contains(&d));
            base || sp
                .all_reads()
                .any(|r| matches!(r, FromRef::Stage(d) if defined.contains(d)))
        });
        if used {
            continue;
        }
        flagged[k] = true;
        if parent(k).is_some_and(|p| within(p, 0) && ancestor_flagged(&flagged, p, &parent)) {
            continue;
        }
        let names: Vec<String> = defined
            .iter()
            .map(|&i| {
                lowered.stages[i]
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("stage-{i}"))
            })
            .collect();
        let file = sources
            .files()
            .nth(k)
            .map(|f| f.filename.clone())
            .unwrap_or_default();
        out.push(Finding::new(
            &UNUSED_INCLUDE,
            format!(
                "INCLUDE {file}: its stages ({}) are never used: none is the build target and no other stage starts FROM, copies --from or mounts one",
                names.join(", ")
            ),
            site,
            site,
        ));
    }
}

/// Whether file `p` or a file it was included through is flagged.
fn ancestor_flagged(
    flagged: &[bool],
    mut p: usize,
    parent: &dyn Fn(usize) -> Option<usize>,
) -> bool {
    for _ in 0..=flagged.len() {
        if flagged.get(p).copied().unwrap_or(false) {
            return true;
        }
        match parent(p) {
            Some(q) => p = q,
            None => return false,
        }
    }
    false
}
