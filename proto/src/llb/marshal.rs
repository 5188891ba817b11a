//! Turns the graph behind a [`State`] into a `pb::Definition`.
//!
//! Deterministic by construction: a post-order walk from the target visits inputs in the
//! order the op lists them, ops are identified by the sha256 of their encoded bytes (so equal
//! ops collapse into one), every map is a `BTreeMap`, and the terminal op comes last.
//!
//! The bytes are the ones Go's protobuf writes ([`encode_op`]): BuildKit ≥ 0.14 re-marshals
//! every op it loads (`solver/llbsolver/vertex.go` `recomputeDigests`, `pb.Op.Marshal`) and
//! names the vertex by the digest of *those* bytes, while the definition's source locations
//! stay keyed by ours; with any other encoding a failed step's Dockerfile lines are not found.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use prost::Message;
use sha2::{Digest, Sha256};

use super::meta::{OpMeta, SourceFile, SourceLines};
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
    m.def.push(encode_op(&terminal));
    m.finish()
}

/// Gives the source info of the file `filename` with content `data` the definition that
/// loaded it. BuildKit's own frontend marshals its Dockerfile's source map with the state
/// that read the file (`llb.NewSourceMap(&src, …)`), and max-mode provenance shows that as
/// the info's `llbDefinition`; the marshaller cannot know it (the pure conversion never sees
/// the transfer), so the edge that solved it adds it. Returns whether an info matched.
pub fn set_source_definition(
    def: &mut pb::Definition,
    filename: &str,
    data: &[u8],
    loaded: &pb::Definition,
) -> bool {
    let mut matched = false;
    let infos = def.source.iter_mut().flat_map(|s| s.infos.iter_mut());
    for info in infos.filter(|i| i.filename == filename && i.data == data) {
        info.definition = Some(loaded.clone());
        matched = true;
    }
    matched
}

/// `op` as Go's protobuf (`google.golang.org/protobuf`, BuildKit ≥ 0.14) encodes it: `inputs`
/// (1), `platform` (10), `constraints` (11), then the op itself (the oneof, 2–7). prost
/// writes fields in field-number order, the oneof between `inputs` and `platform`, which
/// BuildKit 0.13 (gogo protobuf, the same order) kept, but ≥ 0.14 rewrites: the vertex then
/// gets another digest than ours. The other LLB messages encode alike in both (their oneofs
/// have the highest field numbers, their maps are `BTreeMap`s, sorted like Go's
/// deterministic marshal).
pub fn encode_op(op: &pb::Op) -> Vec<u8> {
    use prost::encoding::message;
    let mut buf = Vec::with_capacity(op.encoded_len());
    for input in &op.inputs {
        message::encode(1, input, &mut buf);
    }
    if let Some(platform) = &op.platform {
        message::encode(10, platform, &mut buf);
    }
    if let Some(constraints) = &op.constraints {
        message::encode(11, constraints, &mut buf);
    }
    if let Some(kind) = &op.op {
        kind.encode(&mut buf);
    }
    buf
}

#[derive(Default)]
struct Marshaller {
    done: HashMap<*const Node, String>,
    def: Vec<Vec<u8>>,
    metadata: BTreeMap<String, OpMeta>,
    /// The definition's source infos, numbered in first-use order by `finish`.
    infos: FileNumbers,
    /// The locations of each op that others merged into, for [`OpMeta::merge`]: a set,
    /// not a scan of the list (quadratic when 5,000 stages share one `FROM` op).
    merged_locations: HashMap<String, HashSet<LocationKey>>,
    /// Files numbered for [`LocationKey`] (apart from `infos`, whose order is the output's).
    merge_files: FileNumbers,
}

/// A location as `SourceLines` compares it: the file (by content) and the ranges.
type LocationKey = (usize, Vec<(u32, u32)>);

/// Files numbered in first-use order, two with the same content getting one number.
/// Known by pointer first: comparing contents (the whole Dockerfile) once per location
/// made a 5,000-stage file quadratic (no `SourceFile` is allocated while marshalling, so a
/// pointer seen names one file).
#[derive(Default)]
struct FileNumbers {
    files: Vec<Arc<SourceFile>>,
    by_ptr: HashMap<*const SourceFile, usize>,
}

impl FileNumbers {
    /// The number of `file`, adding it on first use.
    fn number(&mut self, file: &Arc<SourceFile>) -> usize {
        if let Some(&n) = self.by_ptr.get(&Arc::as_ptr(file)) {
            return n;
        }
        let n = match self.files.iter().position(|f| **f == **file) {
            Some(n) => n,
            None => {
                self.files.push(file.clone());
                self.files.len() - 1
            }
        };
        self.by_ptr.insert(Arc::as_ptr(file), n);
        n
    }

    /// `loc` as a set key: equal `SourceLines` (equal by content) give equal keys.
    fn key(&mut self, loc: &SourceLines) -> LocationKey {
        (self.number(&loc.file), loc.ranges.clone())
    }
}

impl Marshaller {
    /// The digest of `root`'s op, after every op it depends on: a post-order walk that
    /// visits inputs in the order the op lists them. Iterative, with its own stack: a chain
    /// of thousands of ops (one `COPY` per stage of a large fan-in) must not need a deep
    /// call stack (a tokio worker thread has 2 MiB).
    fn visit(&mut self, root: &Arc<Node>) -> String {
        // (node, digests of the inputs done so far)
        let mut stack: Vec<(&Arc<Node>, Vec<pb::Input>)> = vec![(root, Vec::new())];
        loop {
            let Some((node, inputs)) = stack.last_mut() else {
                unreachable!("the walk returns when it pops the root")
            };
            let node: &Arc<Node> = node;
            // Only a node not yet started can have been emitted through another path.
            let known = if inputs.is_empty() {
                self.done.get(&Arc::as_ptr(node)).cloned()
            } else {
                None
            };
            let digest = match known {
                Some(digest) => digest,
                None => match node.inputs.get(inputs.len()) {
                    Some(next) => {
                        stack.push((&next.node, Vec::new()));
                        continue;
                    }
                    None => {
                        let inputs = std::mem::take(inputs);
                        self.emit(node, inputs)
                    }
                },
            };
            stack.pop();
            let Some((parent, inputs)) = stack.last_mut() else {
                return digest;
            };
            let index = parent.inputs[inputs.len()].index;
            inputs.push(pb::Input { digest, index });
        }
    }

    /// Encodes `node` with its inputs' digests, records it once per digest, and returns
    /// the digest.
    fn emit(&mut self, node: &Arc<Node>, inputs: Vec<pb::Input>) -> String {
        let mut op = node.op.clone();
        op.inputs = inputs;
        let bytes = encode_op(&op);
        let digest = digest_of(&bytes);
        match self.metadata.get_mut(&digest) {
            Some(existing) => {
                let files = &mut self.merge_files;
                let seen = self
                    .merged_locations
                    .entry(digest.clone())
                    .or_insert_with(|| existing.locations.iter().map(|l| files.key(l)).collect());
                existing.merge(&node.meta, |loc| seen.insert(files.key(loc)));
            }
            None => {
                self.metadata.insert(digest.clone(), node.meta.clone());
                self.def.push(bytes);
            }
        }
        self.done.insert(Arc::as_ptr(node), digest.clone());
        digest
    }

    fn finish(mut self) -> pb::Definition {
        let mut locations = BTreeMap::new();
        let mut metadata = BTreeMap::new();
        for (digest, meta) in std::mem::take(&mut self.metadata) {
            let locs: Vec<pb::Location> = meta
                .locations
                .iter()
                .map(|l| pb::Location {
                    source_index: self.infos.number(&l.file) as i32,
                    // One range per line, as upstream's parser gives an instruction's
                    // location (`toRanges`): a continued `RUN` is lines 8 and 9, not 8-9.
                    ranges: l
                        .ranges
                        .iter()
                        .flat_map(|&(start, end)| start..=end.max(start))
                        .map(|line| super::meta::line_range(line, line))
                        .collect(),
                })
                .collect();
            // Every op gets an entry, an empty one when it has no lines, as upstream's
            // `sourceMapCollector` records each op it marshals: max-mode provenance lists
            // them (`"step2": {}` for the context's local source).
            locations.insert(digest.clone(), pb::Locations { locations: locs });
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
        let source = (!self.infos.files.is_empty()).then(|| pb::Source {
            locations,
            infos: self
                .infos
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The field numbers of an encoded message's top-level fields, in byte order.
    fn field_numbers(mut bytes: &[u8]) -> Vec<u32> {
        use prost::encoding::{decode_key, skip_field, DecodeContext};
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let (tag, wire_type) = decode_key(&mut bytes).expect("key");
            skip_field(wire_type, tag, &mut bytes, DecodeContext::default()).expect("field");
            out.push(tag);
        }
        out
    }

    fn linux_amd64() -> Option<pb::Platform> {
        Some(pb::Platform {
            architecture: "amd64".to_owned(),
            os: "linux".to_owned(),
            ..Default::default()
        })
    }

    #[test]
    fn the_oneof_comes_after_platform_and_constraints_as_go_writes_it() {
        let op = pb::Op {
            inputs: vec![pb::Input {
                digest: "sha256:00".to_owned(),
                index: 0,
            }],
            op: Some(pb::op::Op::Exec(pb::ExecOp::default())),
            platform: linux_amd64(),
            constraints: Some(pb::WorkerConstraints::default()),
        };
        let bytes = encode_op(&op);
        assert_eq!(field_numbers(&bytes), vec![1, 10, 11, 2]);
        assert_eq!(pb::Op::decode(bytes.as_slice()).expect("decodes"), op);
        // prost's own order, which BuildKit >= 0.14 would rewrite.
        assert_eq!(field_numbers(&op.encode_to_vec()), vec![1, 2, 10, 11]);
    }

    /// The digest dockerd 28.5.2 (BuildKit 0.25) reported for this op, built by its builtin
    /// Dockerfile frontend from `FROM busybox:local` (progress vertex of `[1/4] FROM`).
    #[test]
    fn an_image_source_gets_the_digest_buildkit_0_25_gives_it() {
        let op = pb::Op {
            op: Some(pb::op::Op::Source(pb::SourceOp {
                identifier: "docker-image://docker.io/library/busybox:local@sha256:b8074072dc30e7b937277293ac9bc14c9dc1db1768a2c607659d867a977ba042".to_owned(),
                attrs: [("image.resolvemode".to_owned(), "local".to_owned())].into_iter().collect(),
            })),
            platform: linux_amd64(),
            constraints: Some(pb::WorkerConstraints::default()),
            ..Default::default()
        };
        assert_eq!(
            digest_of(&encode_op(&op)),
            "sha256:e97bb669b050408866fe7f377818921b8876cea686f0f56ae61ff69928ceb2f4"
        );
    }
}
