//! States from a marshalled definition: LLB the client (or another frontend) already built,
//! such as a frontend input, used as a filesystem like any other state.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use prost::Message;

use super::marshal::digest_of;
use super::meta::OpMeta;
use super::state::{Node, Output, State};
use crate::pb;

/// The state a definition's terminal op points at. Ops keep their exact bytes (so their
/// digests, and cache, are unchanged) and their progress names, caps and no-cache flags.
pub fn from_definition(def: &pb::Definition) -> Result<State, String> {
    let mut ops = HashMap::new();
    for bytes in &def.def {
        let op = pb::Op::decode(bytes.as_slice()).map_err(|e| format!("invalid op: {e}"))?;
        ops.insert(digest_of(bytes), op);
    }
    let Some(last) = def.def.last() else {
        return Ok(State::scratch());
    };
    let terminal = pb::Op::decode(last.as_slice()).map_err(|e| format!("invalid op: {e}"))?;
    let Some(input) = terminal.inputs.first() else {
        return Ok(State::scratch());
    };
    let mut nodes = HashMap::new();
    let node = node_for(&input.digest, &ops, &def.metadata, &mut nodes, 0)?;
    Ok(State::from_node(node, input.index))
}

fn node_for(
    digest: &str,
    ops: &HashMap<String, pb::Op>,
    metadata: &BTreeMap<String, pb::OpMetadata>,
    nodes: &mut HashMap<String, Arc<Node>>,
    depth: usize,
) -> Result<Arc<Node>, String> {
    if let Some(n) = nodes.get(digest) {
        return Ok(n.clone());
    }
    if depth > 10_000 {
        return Err("definition is too deep".to_owned());
    }
    let mut op = ops
        .get(digest)
        .cloned()
        .ok_or_else(|| format!("definition lacks op {digest}"))?;
    let inputs = std::mem::take(&mut op.inputs)
        .into_iter()
        .map(|i| {
            Ok(Output {
                node: node_for(&i.digest, ops, metadata, nodes, depth + 1)?,
                index: i.index,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut meta = OpMeta::default();
    if let Some(md) = metadata.get(digest) {
        meta.description = md.description.clone().into_iter().collect();
        meta.ignore_cache = md.ignore_cache;
        meta.caps = md
            .caps
            .iter()
            .filter(|(_, on)| **on)
            .map(|(c, _)| c.clone())
            .collect();
    }
    let node = Arc::new(Node { op, inputs, meta });
    nodes.insert(digest.to_owned(), node.clone());
    Ok(node)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::llb::{local, marshal, FileOp, LocalSource, MkdirAction};

    #[test]
    fn a_definition_round_trips_to_the_same_digests() {
        let base = local(LocalSource {
            name: "context".into(),
            meta: OpMeta::named("ctx"),
            ..Default::default()
        });
        let st = FileOp::new(base)
            .mkdir(MkdirAction {
                path: "/x".into(),
                mode: 0o755,
                ..Default::default()
            })
            .build();
        let def = marshal(&st);
        let again = marshal(&from_definition(&def).unwrap());
        assert_eq!(def.def, again.def);
        assert_eq!(
            again.metadata.values().next().map(|m| m.description.len()),
            def.metadata.values().next().map(|m| m.description.len())
        );
    }
}
