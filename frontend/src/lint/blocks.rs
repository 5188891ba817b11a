//! Strata's template rules, judged from the facts `template` recorded while resolving
//! `IF`/`FOR`: `UnreachableBlock` (an arm no build can take) and `EmptyBlock` (nothing
//! inside, or a loop over a list that is always empty).
//!
//! A head evaluated several times (inside a `FOR` body or a parameterised stage) is
//! unreachable only if it was unreachable every time; an empty body is empty every time.

use std::collections::BTreeMap;

use crate::template::{BlockFact, BlockKind};

use super::rules::{EMPTY_BLOCK, UNREACHABLE_BLOCK};
use super::Finding;

/// Turns the recorded facts into findings. `written` gives the condition of a head as the
/// file has it (before a `FOR` bound its variable), by the head's start.
pub fn check(facts: &[BlockFact], written: &dyn Fn(u32) -> Option<String>, out: &mut Vec<Finding>) {
    let mut by_head: BTreeMap<(u32, u32, BlockKind), Vec<&BlockFact>> = BTreeMap::new();
    for f in facts {
        by_head
            .entry((f.head.start, f.head.end, f.kind))
            .or_default()
            .push(f);
    }
    for ((_, _, kind), seen) in by_head {
        let first = seen[0];
        let head = first.head;
        let kw = kind.keyword();
        if kind == BlockKind::For {
            if seen.iter().all(|f| f.always == Some(false)) {
                out.push(Finding::new(
                    &EMPTY_BLOCK,
                    "FOR list is empty for every build: the loop body never runs",
                    head,
                    head,
                ));
            } else if first.empty_body {
                out.push(Finding::new(&EMPTY_BLOCK, "FOR block is empty", head, head));
            }
            continue;
        }
        if seen.iter().all(|f| f.shadowed) {
            out.push(Finding::new(
                &UNREACHABLE_BLOCK,
                format!("{kw} is never taken: an earlier condition of the same IF is true for every build"),
                head,
                head,
            ));
        } else if seen.iter().all(|f| f.shadowed || f.always == Some(false)) {
            let condition = written(head.start).unwrap_or_else(|| first.condition.clone());
            out.push(Finding::new(
                &UNREACHABLE_BLOCK,
                format!(
                    "{kw} condition {} is false for every build argument and platform",
                    crate::syntax::go_quote(&condition)
                ),
                head,
                head,
            ));
        } else if first.empty_body {
            out.push(Finding::new(
                &EMPTY_BLOCK,
                format!("{kw} block is empty"),
                head,
                head,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Span;

    fn fact(
        kind: BlockKind,
        at: u32,
        always: Option<bool>,
        shadowed: bool,
        empty: bool,
    ) -> BlockFact {
        BlockFact {
            kind,
            head: Span::new(at as usize, at as usize + 1),
            condition: "a == b".into(),
            empty_body: empty,
            always,
            shadowed,
        }
    }

    fn rules(facts: &[BlockFact]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        check(facts, &|_| None, &mut out);
        out.into_iter().map(|f| (f.rule.name, f.message)).collect()
    }

    #[test]
    fn unreachable_only_when_every_evaluation_agrees() {
        use BlockKind::*;
        let got = rules(&[
            fact(If, 0, Some(false), false, false),
            fact(If, 0, Some(false), false, false),
            fact(If, 5, Some(false), false, false),
            fact(If, 5, None, false, false),
            fact(Else, 9, Some(false), true, false),
        ]);
        assert_eq!(
            got,
            [
                (
                    "UnreachableBlock",
                    "IF condition \"a == b\" is false for every build argument and platform"
                        .to_owned()
                ),
                (
                    "UnreachableBlock",
                    "ELSE is never taken: an earlier condition of the same IF is true for every build"
                        .to_owned()
                ),
            ]
        );
    }

    #[test]
    fn empty_blocks_and_lists() {
        use BlockKind::*;
        let got = rules(&[
            fact(If, 0, None, false, true),
            fact(For, 3, Some(false), false, false),
            fact(For, 6, None, false, true),
            fact(For, 9, Some(false), false, false),
            fact(For, 9, Some(true), false, false),
        ]);
        let names: Vec<&str> = got.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            names,
            [
                "IF block is empty",
                "FOR list is empty for every build: the loop body never runs",
                "FOR block is empty",
            ]
        );
    }
}
