//! LLB builder tests: structural invariants BuildKit validates, plus a few pinned digests so a
//! prost or bollard upgrade cannot silently change the bytes we send.

use std::collections::HashSet;
use std::sync::Arc;

use prost::Message;
use strata_proto::llb::{
    self, CopyAction, Exec, FileOp, Mount, MountKind, OpMeta, SourceFile, SourceLines, State,
};
use strata_proto::pb;

fn busybox() -> State {
    llb::image(llb::ImageSource {
        reference: "busybox:local".into(),
        platform: Some(pb::Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn run(root: State, cmd: &str) -> State {
    Exec::new(root, vec!["/bin/sh".into(), "-c".into(), cmd.into()])
        .env(vec!["PATH=/bin".into()])
        .run()
        .root
}

/// Checks what BuildKit checks on every definition it receives.
fn assert_valid(def: &pb::Definition) -> Vec<pb::Op> {
    let mut seen = HashSet::new();
    let mut ops = Vec::new();
    for (i, bytes) in def.def.iter().enumerate() {
        let op = pb::Op::decode(bytes.as_slice()).expect("op decodes");
        let digest = llb::digest_of(bytes);
        for input in &op.inputs {
            assert!(
                seen.contains(&input.digest),
                "input {} used before defined",
                input.digest
            );
        }
        let is_last = i + 1 == def.def.len();
        assert_eq!(
            op.op.is_none(),
            is_last,
            "exactly the last op is the terminal op"
        );
        if is_last {
            assert_eq!(op.inputs.len(), 1, "terminal op has one input");
        } else {
            assert!(def.metadata.contains_key(&digest), "every op has metadata");
        }
        if let Some(pb::op::Op::Exec(e)) = &op.op {
            assert!(
                e.mounts.iter().any(|m| m.dest == "/"),
                "exec has a root mount"
            );
        }
        assert!(seen.insert(digest), "ops are deduplicated");
        ops.push(op);
    }
    ops
}

#[test]
fn scratch_marshals_to_an_empty_definition() {
    assert!(llb::marshal(&State::scratch()).def.is_empty());
}

#[test]
fn image_digest_is_pinned() {
    let def = llb::marshal(&busybox());
    assert_valid(&def);
    assert_eq!(def.def.len(), 2);
    // As Go's encoder writes them (BuildKit >= 0.14 re-marshals every op and names it by
    // those bytes): platform (10), the empty-but-present constraints (11) that BuildKit's
    // client always sets, then the op itself, source (3).
    assert_eq!(def.def[0][0], 0x52);
    let constraints = def.def[0]
        .windows(3)
        .position(|w| w == [0x5a, 0x00, 0x1a])
        .expect("constraints, then the source op");
    assert_eq!(constraints, 2 + usize::from(def.def[0][1]));
    let op = pb::Op::decode(def.def[0].as_slice()).unwrap();
    let Some(pb::op::Op::Source(src)) = op.op else {
        panic!("source op")
    };
    assert_eq!(
        src.identifier,
        "docker-image://docker.io/library/busybox:local"
    );
    // Pinned: changing this means every user's cache key changed (on BuildKit 0.13; 0.14
    // and later key the op by Go's encoding of it anyway).
    assert_eq!(
        llb::digest_of(&def.def[0]),
        "sha256:ef086297c6bc2db8bc7a5d255d2dee9a9a1ef70110bca5ee7f2ee9865328a317"
    );
}

#[test]
fn exec_then_copy_is_ordered_and_deduplicated() {
    let base = busybox();
    let a = run(base.clone(), "echo a > /a");
    let b = run(base.clone(), "echo b > /b");
    // The same op built twice collapses into one.
    let b_again = run(base, "echo b > /b");
    let out = FileOp::new(a)
        .copy(
            &b,
            CopyAction {
                src: "/b".into(),
                dest: "/b".into(),
                ..Default::default()
            },
        )
        .copy(
            &b_again,
            CopyAction {
                src: "/b".into(),
                dest: "/c".into(),
                ..Default::default()
            },
        )
        .build();
    let def = llb::marshal(&out);
    let ops = assert_valid(&def);
    // image, exec a, exec b, file, terminal
    assert_eq!(ops.len(), 5);
    let Some(pb::op::Op::File(f)) = &ops[3].op else {
        panic!("file op")
    };
    // Distinct values, equal ops: one op in the definition, named twice by digest.
    assert_eq!(ops[3].inputs.len(), 3);
    assert_eq!(ops[3].inputs[1].digest, ops[3].inputs[2].digest);
    assert_eq!(
        (
            f.actions[0].input,
            f.actions[0].secondary_input,
            f.actions[0].output
        ),
        (0, 1, -1)
    );
    // The second action builds on the first action's result: index = inputs + 0.
    assert_eq!(
        (
            f.actions[1].input,
            f.actions[1].secondary_input,
            f.actions[1].output
        ),
        (3, 2, 0)
    );
    let Some(pb::file_action::Action::Copy(c)) = &f.actions[0].action else {
        panic!()
    };
    assert_eq!(
        (c.mode, c.timestamp),
        (-1, -1),
        "unset mode and timestamp are -1"
    );
}

#[test]
fn marshal_is_deterministic() {
    let build = || {
        let ctx = llb::local(llb::LocalSource {
            name: "context".into(),
            session_id: "s".into(),
            exclude_patterns: vec!["b".into(), "a".into()],
            ..Default::default()
        });
        let e = Exec::new(busybox(), vec!["true".into()])
            .mount(Mount::bind("/z", ctx.clone()))
            .mount(Mount::bind("/a", ctx))
            .run();
        llb::marshal(&e.root)
    };
    assert_eq!(build(), build());
    let ops = assert_valid(&build());
    let exec = ops.iter().find_map(|o| match &o.op {
        Some(pb::op::Op::Exec(e)) => Some(e.clone()),
        _ => None,
    });
    let dests: Vec<String> = exec
        .unwrap()
        .mounts
        .iter()
        .map(|m| m.dest.clone())
        .collect();
    assert_eq!(dests, ["/", "/a", "/z"], "mounts sorted by destination");
}

#[test]
fn metadata_names_and_locates_ops() {
    let file = Arc::new(SourceFile {
        filename: "Dockerfile".into(),
        data: b"FROM busybox\nRUN true\n".to_vec(),
        language: "Dockerfile".into(),
    });
    let out = Exec::new(busybox(), vec!["true".into()])
        .meta(OpMeta::named("[1/1] RUN true").at(SourceLines {
            file,
            ranges: vec![(2, 2)],
        }))
        .run()
        .root;
    let def = llb::marshal(&out);
    let ops = assert_valid(&def);
    let digest = llb::digest_of(&def.def[1]);
    assert!(matches!(ops[1].op, Some(pb::op::Op::Exec(_))));
    assert_eq!(
        def.metadata[&digest].description["llb.customname"],
        "[1/1] RUN true"
    );
    let source = def.source.expect("source map");
    assert_eq!(source.infos.len(), 1);
    let loc = &source.locations[&digest].locations[0];
    assert_eq!(loc.ranges[0].start.as_ref().unwrap().line, 2);
    // The image source has no lines: an empty entry, as upstream's marshaller writes one
    // for every op (max-mode provenance lists it); the terminal op has none.
    let image = llb::digest_of(&def.def[0]);
    assert_eq!(source.locations[&image], pb::Locations::default());
    assert!(!source.locations.contains_key(&llb::digest_of(&def.def[2])));
    assert_eq!(source.locations.len(), 2);
}

/// The Dockerfile's source info carries the definition that loaded it, the others none.
#[test]
fn a_source_info_gets_the_definition_that_loaded_its_file() {
    let file = |name: &str, data: &[u8]| {
        Arc::new(SourceFile {
            filename: name.into(),
            data: data.to_vec(),
            language: "Dockerfile".into(),
        })
    };
    let root = file("Dockerfile", b"FROM busybox\nINCLUDE x\n");
    let included = file("x", b"RUN true\n");
    let at = |file: &Arc<SourceFile>, line| SourceLines {
        file: file.clone(),
        ranges: vec![(line, line)],
    };
    let out = Exec::new(busybox(), vec!["true".into()])
        .meta(
            OpMeta::named("RUN true")
                .at(at(&root, 1))
                .at(at(&included, 1)),
        )
        .run()
        .root;
    let mut def = llb::marshal(&out);
    let loaded = llb::marshal(&busybox());
    assert!(!llb::set_source_definition(
        &mut def,
        "Dockerfile",
        b"other",
        &loaded
    ));
    assert!(llb::set_source_definition(
        &mut def,
        "Dockerfile",
        &root.data,
        &loaded
    ));
    let infos = &def.source.expect("source map").infos;
    let defs: Vec<(&str, Option<&pb::Definition>)> = infos
        .iter()
        .map(|i| (i.filename.as_str(), i.definition.as_ref()))
        .collect();
    assert_eq!(defs, [("Dockerfile", Some(&loaded)), ("x", None)]);
}

#[test]
fn dump_is_readable_and_stable() {
    let v = llb::dump(&run(busybox(), "true"));
    let text = serde_json::to_string_pretty(&v).unwrap();
    assert!(text.contains("\"args\""));
    assert!(text.contains("docker-image://docker.io/library/busybox:local"));
    assert_eq!(v.as_array().unwrap().len(), 3);
}

/// A chain of 100,000 ops (what a fan-in of that many `COPY --from` lines gives) marshals
/// and drops on a thread with a 256 KiB stack: neither walk recurses once per op. With a
/// recursive walk this overflows at a few hundred ops.
#[test]
fn a_long_chain_needs_no_deep_stack() {
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut state = busybox();
            for i in 0..100_000 {
                state = FileOp::new(state)
                    .mkdir(llb::MkdirAction {
                        path: format!("/d{i}"),
                        mode: 0o755,
                        ..Default::default()
                    })
                    .build();
            }
            let def = llb::marshal(&state);
            drop(state);
            let ops = assert_valid(&def);
            // The image, 100,000 file ops, the terminal.
            assert_eq!(ops.len(), 100_002);
        })
        .unwrap();
    worker.join().unwrap();
}

/// Ops that deduplicate into one digest (every stage `FROM` one image) merge their source
/// locations: each distinct location once, in first-seen order, a file equal by content
/// counting as the same file. Thousands of them stay linear: this takes a set, not a scan.
#[test]
fn merged_ops_keep_each_location_once_in_order() {
    let file = |data: &[u8]| {
        Arc::new(SourceFile {
            filename: "Dockerfile".into(),
            data: data.to_vec(),
            language: "Dockerfile".into(),
        })
    };
    let (a, same_as_a, other) = (file(b"FROM x\n"), file(b"FROM x\n"), file(b"FROM y\n"));
    let at = |f: &Arc<SourceFile>, line: u32| SourceLines {
        file: f.clone(),
        ranges: vec![(line, line)],
    };
    let from = |locations: Vec<SourceLines>| {
        let meta = locations
            .into_iter()
            .fold(OpMeta::named("FROM"), |m, l| m.at(l));
        llb::image(llb::ImageSource {
            reference: "busybox:local".into(),
            meta,
            ..Default::default()
        })
    };
    let stages = [
        from(vec![at(&a, 1), at(&a, 1)]),
        from(vec![at(&same_as_a, 1), at(&a, 2)]),
        from(vec![at(&other, 1), at(&a, 2), at(&a, 3)]),
    ];
    let mut fan = FileOp::new(State::scratch());
    for s in &stages {
        fan = fan.copy(
            s,
            CopyAction {
                src: "/".into(),
                dest: "/".into(),
                ..Default::default()
            },
        );
    }
    let def = llb::marshal(&fan.build());
    let digest = llb::digest_of(&def.def[0]);
    let source = def.source.expect("source map");
    let lines: Vec<(String, i32)> = source.locations[&digest]
        .locations
        .iter()
        .map(|l| {
            let info = &source.infos[l.source_index as usize];
            let text = String::from_utf8(info.data.clone()).unwrap();
            (text, l.ranges[0].start.as_ref().unwrap().line)
        })
        .collect();
    let x = "FROM x\n".to_owned();
    assert_eq!(
        lines,
        [
            (x.clone(), 1),
            (x.clone(), 1),
            (x.clone(), 2),
            ("FROM y\n".to_owned(), 1),
            (x, 3)
        ]
    );
}

/// A location over several lines is one range per line, as upstream's parser gives an
/// instruction's location (`toRanges`); the dump reads them as one block again.
#[test]
fn a_multi_line_location_is_one_range_per_line() {
    let file = Arc::new(SourceFile {
        filename: "Dockerfile".into(),
        data: b"FROM busybox\nRUN a \\\n b \\\n c\n".to_vec(),
        language: "Dockerfile".into(),
    });
    let out = Exec::new(busybox(), vec!["true".into()])
        .meta(OpMeta::named("RUN").at(SourceLines {
            file,
            ranges: vec![(2, 4)],
        }))
        .run()
        .root;
    let def = llb::marshal(&out);
    let digest = llb::digest_of(&def.def[1]);
    let source = def.source.clone().expect("source map");
    let lines: Vec<(i32, i32)> = source.locations[&digest].locations[0]
        .ranges
        .iter()
        .map(|r| (r.start.as_ref().unwrap().line, r.end.as_ref().unwrap().line))
        .collect();
    assert_eq!(lines, [(2, 2), (3, 3), (4, 4)]);
    let dump = llb::dump_definition(&def);
    assert_eq!(dump[1]["source"], serde_json::json!(["Dockerfile:2-4"]));
}

/// Mounts are laid out as upstream's `ExecOp.Marshal` does: filesystem mounts by
/// destination, then secrets, then SSH sockets in the order given, those two with output 0
/// and not read-only (the builtin frontend's bytes, so the same cache key).
#[test]
fn secret_and_ssh_mounts_come_last_as_upstream_writes_them() {
    let client = |id: &str| llb::ClientMount {
        id: id.into(),
        uid: 0,
        gid: 0,
        mode: 0o400,
        optional: false,
    };
    let socket = |dest: &str, kind: MountKind| Mount {
        dest: dest.into(),
        source: None,
        selector: String::new(),
        readonly: true,
        capture: false,
        kind,
    };
    let out = Exec::new(busybox(), vec!["true".into()])
        .mount(socket("/a", MountKind::Ssh(client("agent"))))
        .mount(socket("/s2", MountKind::Secret(client("two"))))
        .mount(Mount::bind("/z", busybox()))
        .mount(socket("/s1", MountKind::Secret(client("one"))))
        .mount(Mount::bind("/b", busybox()))
        .run()
        .root;
    let ops = assert_valid(&llb::marshal(&out));
    let exec = ops
        .iter()
        .find_map(|o| match &o.op {
            Some(pb::op::Op::Exec(e)) => Some(e.clone()),
            _ => None,
        })
        .expect("an exec op");
    let laid: Vec<(&str, i64, bool)> = exec
        .mounts
        .iter()
        .map(|m| (m.dest.as_str(), m.output, m.readonly))
        .collect();
    assert_eq!(
        laid,
        [
            ("/", 0, false),
            ("/b", -1, true),
            ("/z", -1, true),
            ("/s2", 0, false),
            ("/s1", 0, false),
            ("/a", 0, false),
        ]
    );
}
