//! Merge ops: layer several filesystems on top of each other without copying (`COPY --link`).

use std::sync::Arc;

use super::meta::OpMeta;
use super::state::{Node, Output, State};
use crate::pb;

/// The union of `inputs`, later ones on top. Scratch inputs change nothing and are dropped;
/// a single remaining input is returned as is (no op), as BuildKit's client does.
pub fn merge(inputs: &[State], meta: OpMeta) -> State {
    let outputs: Vec<Output> = inputs.iter().filter_map(|s| s.output.clone()).collect();
    match outputs.len() {
        0 => return State::scratch(),
        1 => {
            return State {
                output: outputs.into_iter().next(),
            }
        }
        _ => {}
    }
    // Every input gets its own index, duplicates included, as BuildKit marshals them.
    let op = pb::Op {
        constraints: Some(pb::WorkerConstraints::default()),
        op: Some(pb::op::Op::Merge(pb::MergeOp {
            inputs: (0..outputs.len() as i64)
                .map(|input| pb::MergeInput { input })
                .collect(),
        })),
        ..Default::default()
    };
    State::from_node(
        Arc::new(Node {
            op,
            inputs: outputs,
            meta: meta.cap("mergeop"),
        }),
        0,
    )
}
