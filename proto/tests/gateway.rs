//! The LLBBridge client against the in-process fake BuildKit: the whole RPC flow
//! of a frontend over a real HTTP/2 connection, without BuildKit.

#![allow(clippy::unwrap_used)] // Tests may panic on failure.

use std::collections::BTreeMap;

use strata_proto::gateway::errdefs::{self, SOURCE_TYPE_URL};
use strata_proto::gateway::{Bridge, CacheImport, SolveOptions, MAX_MESSAGE_SIZE};
use strata_proto::testing::{local_key, spawn, FakeBridge};
use strata_proto::{gateway_pb, pb, Error};

/// A payload of `len` bytes that is not all the same byte.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn position(line: i32, character: i32) -> Option<pb::Position> {
    Some(pb::Position { line, character })
}

#[tokio::test]
async fn ping_read_resolve_solve_return() {
    let big = payload(6 << 20);
    let config = br#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]}}"#;
    let fake = FakeBridge::new()
        .with_file("Stratafile", b"FROM alpine\n".to_vec())
        .with_file("big.bin", big.clone())
        .with_image("docker.io/library/alpine:3.20", config.to_vec())
        .with_ref("ref-0", local_key("dockerfile"));
    let (bridge, handle) = spawn(fake).await.unwrap();

    // Ping: caps and workers parsed.
    let caps = bridge.caps();
    assert!(caps.has_frontend("gateway.warnings"));
    assert!(caps.has_frontend("frontend.inputs"));
    assert!(caps.has_llb("exec.mount.cache"));
    assert!(!caps.has_llb("mergeop"));
    assert_eq!(caps.workers.len(), 1);
    assert_eq!(caps.workers[0].platforms[0].architecture, "amd64");

    // ReadFile: small, ranged, and larger than gRPC's default 4 MiB.
    let small = bridge.read_file("ref-0", "Stratafile", None).await.unwrap();
    assert_eq!(small, b"FROM alpine\n");
    let part = bridge
        .read_file("ref-0", "Stratafile", Some((5, 6)))
        .await
        .unwrap();
    assert_eq!(part, b"alpine");
    let got = bridge.read_file("ref-0", "big.bin", None).await.unwrap();
    assert_eq!(got.len(), big.len());
    assert!(got == big);

    // ResolveImageConfig: session id and resolver type sent, answer passed through.
    let platform = pb::Platform {
        architecture: "arm64".into(),
        os: "linux".into(),
        ..Default::default()
    };
    let img = bridge
        .resolve_image_config(
            "docker.io/library/alpine:3.20",
            Some(platform.clone()),
            "pull",
            "[internal] load metadata for alpine",
        )
        .await
        .unwrap();
    assert_eq!(img.config, config.to_vec());
    assert_eq!(img.reference, "docker.io/library/alpine:3.20");
    assert!(img.digest.starts_with("sha256:") && img.digest.len() == 71);

    // Solve: a definition over 4 MiB, cache imports forwarded, result flags set.
    let def = pb::Definition {
        def: vec![payload(3 << 20), payload(2 << 20)],
        ..Default::default()
    };
    let mut attrs = BTreeMap::new();
    attrs.insert("ref".to_owned(), "registry.example/cache:main".to_owned());
    let out = bridge
        .solve(
            def.clone(),
            SolveOptions {
                cache_imports: vec![CacheImport {
                    type_: "registry".into(),
                    attrs,
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.reference.as_deref(), Some("ref-1"));

    // Return.
    let result = gateway_pb::Result {
        result: Some(gateway_pb::result::Result::Ref(gateway_pb::Ref {
            id: "ref-1".into(),
            def: None,
        })),
        metadata: [("containerimage.config".to_owned(), config.to_vec())].into(),
        ..Default::default()
    };
    bridge.return_result(result.clone()).await.unwrap();

    let rec = handle.recorded();
    assert_eq!(rec.pings, 1);
    assert_eq!(rec.read_files.len(), 3);
    assert_eq!(
        rec.read_files[1].range,
        Some(gateway_pb::FileRange {
            offset: 5,
            length: 6
        })
    );
    let resolve = &rec.resolves[0];
    assert_eq!(resolve.session_id, "fake-session");
    assert_eq!(resolve.resolver_type, 0);
    assert_eq!(resolve.resolve_mode, "pull");
    assert_eq!(resolve.log_name, "[internal] load metadata for alpine");
    assert_eq!(resolve.platform.as_ref(), Some(&platform));
    let solve = &rec.solves[0];
    assert!(solve.allow_result_return && solve.allow_result_array_ref);
    assert!(!solve.evaluate);
    assert!(solve.exporter_attr.is_empty());
    assert!(solve.definition.as_ref() == Some(&def));
    assert_eq!(solve.cache_imports.len(), 1);
    assert_eq!(solve.cache_imports[0].r#type, "registry");
    assert_eq!(
        solve.cache_imports[0].attrs["ref"],
        "registry.example/cache:main"
    );
    assert_eq!(rec.returns.len(), 1);
    assert_eq!(rec.returns[0].result.as_ref(), Some(&result));
    assert!(rec.returns[0].error.is_none());
}

#[tokio::test]
async fn return_error_carries_source_detail() {
    let (bridge, handle) = spawn(FakeBridge::new()).await.unwrap();
    let info = pb::SourceInfo {
        filename: "Stratafile".into(),
        data: b"FROM alpine\nRUNN echo\n".to_vec(),
        definition: None,
        language: "Dockerfile".into(),
    };
    let ranges = vec![pb::Range {
        start: position(2, 0),
        end: position(2, 4),
    }];
    let status = errdefs::source_error("unknown instruction: RUNN", info.clone(), ranges.clone());
    bridge.return_error(status).await.unwrap();

    let rec = handle.recorded();
    let err = rec.returns[0].error.as_ref().unwrap();
    assert!(rec.returns[0].result.is_none());
    assert_eq!(err.code, tonic::Code::Unknown as i32);
    assert_eq!(err.message, "unknown instruction: RUNN");
    assert_eq!(err.details[0].type_url, SOURCE_TYPE_URL);
    // The value is Go-style JSON, as BuildKit's typeurl registration demands.
    assert_eq!(err.details[0].value.first(), Some(&b'{'));
    let sources = errdefs::sources(err);
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].info.as_ref(), Some(&info));
    assert_eq!(sources[0].ranges, ranges);
}

#[tokio::test]
async fn messages_over_16_mib_are_refused() {
    let fake = FakeBridge::new()
        .with_file("huge", payload(MAX_MESSAGE_SIZE + 1024))
        .with_ref("r", local_key("dockerfile"));
    let (bridge, _handle) = spawn(fake).await.unwrap();
    match bridge.read_file("r", "huge", None).await {
        Err(Error::Status(_)) => {}
        other => panic!("expected a status error, got {other:?}"),
    }
    let def = pb::Definition {
        def: vec![payload(MAX_MESSAGE_SIZE + 1024)],
        ..Default::default()
    };
    assert!(matches!(
        bridge.solve(def, SolveOptions::default()).await,
        Err(Error::Status(_))
    ));
    // The connection survives an over-size message.
    assert!(bridge.read_file("r", "huge", Some((0, 3))).await.is_ok());
}

#[tokio::test]
async fn buildkit_errors_surface_as_status() {
    let fake = FakeBridge {
        solve_error: Some("executor failed".into()),
        ..FakeBridge::new().with_ref("r", local_key("dockerfile"))
    };
    let (bridge, _handle) = spawn(fake).await.unwrap();
    // BuildKit's words for a missing file, and for a reference it never returned.
    match bridge.read_file("r", "missing", None).await {
        Err(Error::Status(s)) => assert_eq!(s.message(), "open missing: no such file or directory"),
        other => panic!("unexpected {other:?}"),
    }
    match bridge.read_file("ref-7", "missing", None).await {
        Err(Error::Status(s)) => assert_eq!(s.message(), "no such ref: ref-7"),
        other => panic!("unexpected {other:?}"),
    }
    match bridge
        .solve(pb::Definition::default(), SolveOptions::default())
        .await
    {
        Err(Error::Status(s)) => assert_eq!(s.message(), "executor failed"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        bridge
            .resolve_image_config("nope", None, "default", "")
            .await,
        Err(Error::Status(_))
    ));
}

#[tokio::test]
async fn llb_caps_are_checked_before_sending() {
    let (bridge, handle) = spawn(FakeBridge::new()).await.unwrap();
    let mut def = pb::Definition {
        def: vec![vec![1]],
        ..Default::default()
    };
    def.metadata.insert(
        "sha256:x".into(),
        pb::OpMetadata {
            caps: [("mergeop".to_owned(), true)].into(),
            ..Default::default()
        },
    );
    match bridge.solve(def, SolveOptions::default()).await {
        Err(Error::MissingCap(c)) => assert_eq!(c, "mergeop"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(handle.recorded().solves.is_empty());
}

/// A fake whose `Ping` enables only the given gateway caps.
fn fake_with_caps(ids: &[&str]) -> FakeBridge {
    let mut fake = FakeBridge::new();
    fake.pong
        .frontend_api_caps
        .retain(|c| ids.contains(&c.id.as_str()));
    fake
}

#[tokio::test]
async fn warn_evaluate_and_inputs_follow_caps() {
    let warning = gateway_pb::WarnRequest {
        digest: "sha256:x".into(),
        level: 1,
        short: b"JSONArgsRecommended".to_vec(),
        ..Default::default()
    };
    let input = pb::Definition {
        def: vec![vec![7]],
        ..Default::default()
    };

    // Modern BuildKit: everything goes over the wire.
    let (bridge, handle) = spawn(FakeBridge::new().with_input("context", input.clone()))
        .await
        .unwrap();
    bridge.warn(warning.clone()).await.unwrap();
    bridge.evaluate("ref-9").await.unwrap();
    let opts = SolveOptions {
        evaluate: true,
        ..Default::default()
    };
    bridge.solve(input.clone(), opts.clone()).await.unwrap();
    assert_eq!(bridge.inputs().await.unwrap()["context"], input);
    let rec = handle.recorded();
    assert_eq!(rec.warns, vec![warning.clone()]);
    assert_eq!(rec.evaluates, vec!["ref-9".to_owned()]);
    assert!(rec.solves[0].evaluate);

    // Old BuildKit: warnings dropped, evaluation by stat, no inputs.
    let old = fake_with_caps(&["solve.base", "readfile", "statfile", "return"])
        .with_ref("ref-9", local_key("context"));
    let (bridge, handle) = spawn(old).await.unwrap();
    bridge.warn(warning).await.unwrap();
    bridge.evaluate("ref-9").await.unwrap();
    bridge.solve(input, opts).await.unwrap();
    assert!(matches!(bridge.inputs().await, Err(Error::MissingCap(_))));
    let rec = handle.recorded();
    assert!(rec.warns.is_empty());
    assert!(rec.evaluates.is_empty());
    assert!(!rec.solves[0].evaluate);
}

#[tokio::test]
async fn empty_caps_fall_back_to_upstream_defaults() {
    let mut fake = FakeBridge::new();
    fake.pong.frontend_api_caps.clear();
    fake.pong.llb_caps.clear();
    let (bridge, handle) = spawn(fake).await.unwrap();
    assert!(bridge.caps().has_frontend("solve.base"));
    assert!(bridge.caps().has_frontend("readfile"));
    assert!(!bridge.caps().has_frontend("return"));
    assert!(bridge.caps().has_llb("source.local.sessionid"));
    // Without `return`, Solve carries the inline-return marker like upstream.
    bridge
        .solve(pb::Definition::default(), SolveOptions::default())
        .await
        .unwrap();
    let rec = handle.recorded();
    assert_eq!(rec.solves[0].exporter_attr, b"{}");
    assert!(rec.solves[0].definition.is_none());
}

#[tokio::test]
async fn bridge_clones_share_one_connection() {
    let fake = FakeBridge::new()
        .with_file("a", b"1".to_vec())
        .with_ref("r", local_key("dockerfile"));
    let (bridge, handle) = spawn(fake).await.unwrap();
    let clones: Vec<Bridge> = (0..8).map(|_| bridge.clone()).collect();
    let reads = clones
        .iter()
        .map(|b| b.read_file("r", "a", None))
        .collect::<Vec<_>>();
    for r in reads {
        assert_eq!(r.await.unwrap(), b"1");
    }
    assert_eq!(handle.recorded().pings, 1);
}
