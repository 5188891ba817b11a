//! Turns the graph behind a [`State`] into a `pb::Definition`.
//!
//! Deterministic by construction: a post-order walk from the target visits inputs in the
//! order the op lists them, ops are identified by the sha256 of their encoded bytes (so equal
//! ops collapse into one), every map is a `BTreeMap`, and the terminal op comes last.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use prost::Message;
use sha2::{Digest, Sha256};

use super::meta::{OpMeta, SourceFile};
use super::state::{Node, State};
use crate::pb;

/// The `sha256:<hex>` digest BuildKit uses to name an op: the hash of its exact bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The digest of the vertex a definition produces: the terminal op's input (upstream's
/// `Definition.Head`), which is what progress shows and `Warn` can point at. `None` for an
/// empty definition or one whose last op does not decode.
pub fn head_digest(def: &pb::Definition) -> Option<String> {
    let last = pb::Op::decode(def.def.last()?.as_slice()).ok()?;
    last.inputs.first().map(|i| i.digest.clone())
}

/// Marshals everything reachable from `state`. Scratch gives an empty definition.
pub fn marshal(state: &State) -> pb::Definition {
    let mut m = Marshaller::default();
    let Some(out) = &state.output else {
        return pb::Definition::default();
    };
    let digest = m.visit(&out.node);
    let terminal = pb::Op {
        inputs: vec![pb::Input {
            digest,
            index: out.index,
        }],
        ..Default::default()
    };
    m.def.push(terminal.encode_to_vec());
    m.finish()
}

#[derive(Default)]
struct Marshaller {
    done: HashMap<*const Node, String>,
    def: Vec<Vec<u8>>,
    metadata: BTreeMap<String, OpMeta>,
    files: Vec<Arc<SourceFile>>,
}

impl Marshaller {
    fn visit(&mut self, node: &Arc<Node>) -> String {
        let key = Arc::as_ptr(node);
        if let Some(d) = self.done.get(&key) {
            return d.clone();
        }
        let inputs = node
            .inputs
            .iter()
            .map(|o| pb::Input {
                digest: self.visit(&o.node),
                index: o.index,
            })
            .collect();
        let mut op = node.op.clone();
        op.inputs = inputs;
        let bytes = op.encode_to_vec();
        let digest = digest_of(&bytes);
        match self.metadata.get_mut(&digest) {
            Some(existing) => existing.merge(&node.meta),
            None => {
                self.metadata.insert(digest.clone(), node.meta.clone());
                self.def.push(bytes);
            }
        }
        self.done.insert(key, digest.clone());
        digest
    }

    fn file_index(&mut self, file: &Arc<SourceFile>) -> i32 {
        let idx = match self
            .files
            .iter()
            .position(|f| Arc::ptr_eq(f, file) || **f == **file)
        {
            Some(i) => i,
            None => {
                self.files.push(file.clone());
                self.files.len() - 1
            }
        };
        idx as i32
    }

    fn finish(mut self) -> pb::Definition {
        let mut locations = BTreeMap::new();
        let mut metadata = BTreeMap::new();
        for (digest, meta) in std::mem::take(&mut self.metadata) {
            let locs: Vec<pb::Location> = meta
                .locations
                .iter()
                .map(|l| pb::Location {
                    source_index: self.file_index(&l.file),
                    ranges: l
                        .ranges
                        .iter()
                        .map(|&(start, end)| super::meta::line_range(start, end))
                        .collect(),
                })
                .collect();
            if !locs.is_empty() {
                locations.insert(digest.clone(), pb::Locations { locations: locs });
            }
            metadata.insert(
                digest,
                pb::OpMetadata {
                    ignore_cache: meta.ignore_cache,
                    description: meta.description,
                    caps: meta.caps.into_iter().map(|c| (c, true)).collect(),
                    progress_group: meta.progress_group.map(|(id, name)| pb::ProgressGroup {
                        id,
                        name,
                        weak: false,
                    }),
                    ..Default::default()
                },
            );
        }
        let source = (!self.files.is_empty()).then(|| pb::Source {
            locations,
            infos: self
                .files
                .iter()
                .map(|f| pb::SourceInfo {
                    filename: f.filename.clone(),
                    data: f.data.clone(),
                    language: f.language.clone(),
                    definition: None,
                })
                .collect(),
        });
        pb::Definition {
            def: self.def,
            metadata,
            source,
        }
    }
}
