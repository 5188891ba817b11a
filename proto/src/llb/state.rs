//! [`State`]: an immutable handle to one output of one op (or to the empty filesystem).

use std::sync::Arc;

use super::meta::OpMeta;
use crate::pb;

/// A filesystem value in the graph: the output of an op, or `scratch` (empty).
///
/// Cheap to clone; building on a state never changes it. Two states built the same way
/// marshal to the same op digest, so equal work is shared automatically.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(crate) output: Option<Output>,
}

/// One output of a node.
#[derive(Clone, Debug)]
pub(crate) struct Output {
    pub(crate) node: Arc<Node>,
    pub(crate) index: i64,
}

/// An op whose inputs are still states; [`crate::llb::marshal`] turns them into digests.
#[derive(Debug)]
pub(crate) struct Node {
    /// The op without `inputs`: index fields inside it refer to positions in `inputs` below.
    pub(crate) op: pb::Op,
    pub(crate) inputs: Vec<Output>,
    pub(crate) meta: OpMeta,
}

/// Dropping the last handle to a long chain of ops (one `COPY` per stage of a large fan-in)
/// would recurse once per op; this unlinks the chain with a loop instead, so no graph size
/// needs a deep call stack.
impl Drop for Node {
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.inputs);
        while let Some(out) = pending.pop() {
            if let Some(mut node) = Arc::into_inner(out.node) {
                pending.append(&mut node.inputs);
            }
        }
    }
}

impl State {
    /// The empty filesystem.
    pub fn scratch() -> State {
        State { output: None }
    }

    /// True for the empty filesystem, which has no op behind it.
    pub fn is_scratch(&self) -> bool {
        self.output.is_none()
    }

    /// Wraps a finished op; `index` selects which of its outputs this state is.
    pub(crate) fn from_node(node: Arc<Node>, index: i64) -> State {
        State {
            output: Some(Output { node, index }),
        }
    }
}

/// Collects a node's inputs, giving each distinct output one index.
#[derive(Default)]
pub(crate) struct InputList {
    pub(crate) outputs: Vec<Output>,
}

impl InputList {
    /// Index of `state` among the inputs (`-1` for scratch), adding it on first use.
    pub(crate) fn index_of(&mut self, state: &State) -> i64 {
        let Some(out) = &state.output else {
            return -1;
        };
        let found = self
            .outputs
            .iter()
            .position(|o| Arc::ptr_eq(&o.node, &out.node) && o.index == out.index);
        let idx = found.unwrap_or_else(|| {
            self.outputs.push(out.clone());
            self.outputs.len() - 1
        });
        idx as i64
    }
}
