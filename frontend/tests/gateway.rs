//! The gateway edge against a fake in-process BuildKit: the whole request flow
//! (Ping → Solve/ReadFile of the Dockerfile → ResolveImageConfig → Solve → Return) and the
//! error path, without a daemon.

#![allow(clippy::unwrap_used)] // test helpers, not library code

#[path = "support/elf_fixture.rs"]
mod elf_fixture;

use prost::Message;
use strata::gateway;
use strata_proto::gateway::{errdefs, GatewayEnv};
use strata_proto::testing::{gateway_env, spawn, FakeBridge};
use strata_proto::{gateway_pb, pb};

const BUSYBOX: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"],"WorkingDir":"/home"},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}"#;

/// The busybox image's name as BuildKit sees it (its config and its filesystem's key).
const BUSYBOX_REF: &str = "docker.io/library/busybox:local";

fn fake(dockerfile: &str) -> FakeBridge {
    FakeBridge::new()
        .with_file("Dockerfile", dockerfile)
        .with_image(BUSYBOX_REF, BUSYBOX)
        .with_llb_cap("exec.meta.setsdefaultpath")
}

fn env(opts: &[(&str, &str)]) -> GatewayEnv {
    gateway_env(opts).unwrap()
}

fn ops(def: &pb::Definition) -> Vec<pb::Op> {
    def.def
        .iter()
        .map(|b| pb::Op::decode(b.as_slice()).unwrap())
        .collect()
}

#[tokio::test]
async fn builds_and_returns_the_image_config() {
    let dockerfile = "FROM busybox:local AS base\nARG GREETING=hi\nRUN echo $GREETING > /g\nFROM base\nENTRYPOINT [\"cat\", \"/g\"]\n";
    let (bridge, handle) = spawn(fake(dockerfile)).await.unwrap();
    gateway::serve(
        &bridge,
        &env(&[
            ("build-arg:GREETING", "hello"),
            (
                "cache-imports",
                r#"[{"Type":"registry","Attrs":{"ref":"127.0.0.1:5000/c"}}]"#,
            ),
        ]),
    )
    .await
    .unwrap();
    let rec = handle.recorded();

    // The Dockerfile is read from the `dockerfile` local of our session.
    let first = ops(rec.solves[0].definition.as_ref().unwrap());
    let Some(pb::op::Op::Source(src)) = &first[0].op else {
        panic!("local source")
    };
    assert_eq!(src.identifier, "local://dockerfile");
    assert_eq!(src.attrs["local.session"], "sess-1");
    assert_eq!(rec.read_files[0].file_path, "Dockerfile");

    // One image resolved, for the right platform, once (both stages share it).
    assert_eq!(rec.resolves.len(), 1);
    assert_eq!(rec.resolves[0].r#ref, "docker.io/library/busybox:local");
    assert_eq!(
        rec.resolves[0].platform.as_ref().unwrap().architecture,
        "amd64"
    );

    // The build solve carries the cache imports and the build arg reached the RUN.
    // (Later solves may show a warning: the fake's `cat` is not executable.)
    let solve = rec
        .solves
        .iter()
        .rev()
        .find(|s| !s.cache_imports.is_empty())
        .unwrap();
    assert_eq!(solve.cache_imports.len(), 1);
    assert_eq!(solve.cache_imports[0].attrs["ref"], "127.0.0.1:5000/c");
    let exec = ops(solve.definition.as_ref().unwrap())
        .into_iter()
        .find_map(|op| match op.op {
            Some(pb::op::Op::Exec(e)) => Some(e),
            _ => None,
        })
        .unwrap();
    let meta = exec.meta.unwrap();
    assert!(
        meta.env.contains(&"GREETING=hello".to_owned()),
        "{:?}",
        meta.env
    );
    assert_eq!(meta.cwd, "/home", "the base image's WorkingDir");
    // The Dockerfile's source info carries the definition that read it, as upstream's
    // (max-mode provenance shows it as the info's `llbDefinition`).
    let info = &solve
        .definition
        .as_ref()
        .unwrap()
        .source
        .as_ref()
        .unwrap()
        .infos[0];
    assert_eq!(info.filename, "Dockerfile");
    assert_eq!(info.definition.as_ref(), rec.solves[0].definition.as_ref());

    // Return: the ref and a config that inherited env and workdir, with CMD cleared by
    // ENTRYPOINT in a stage that set no CMD.
    assert_eq!(rec.returns.len(), 1);
    let result = rec.returns[0]
        .result
        .as_ref()
        .expect("a result, not an error");
    let Some(gateway_pb::result::Result::Ref(r)) = &result.result else {
        panic!("ref result")
    };
    assert!(r.id.starts_with("ref-"));
    let config: serde_json::Value =
        serde_json::from_slice(&result.metadata["containerimage.config"]).unwrap();
    assert_eq!(config["config"]["Env"], serde_json::json!(["PATH=/bin"]));
    assert_eq!(config["config"]["WorkingDir"], "/home");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["cat", "/g"])
    );
    assert!(config["config"].get("Cmd").is_none());
    assert!(result.metadata.contains_key("containerimage.base.config"));
    assert!(result.metadata.contains_key("refs.platforms"));
}

#[tokio::test]
async fn bad_input_returns_a_source_located_error() {
    let (bridge, handle) = spawn(fake("FROM busybox:local\n\nRUNN echo\n"))
        .await
        .unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    assert_eq!(rec.returns.len(), 1);
    let status = rec.returns[0]
        .error
        .as_ref()
        .expect("an error, not a result");
    assert_eq!(
        status.message,
        "Dockerfile:3: unknown instruction: RUNN (did you mean RUN?)"
    );
    assert_eq!(errdefs::sources(status).len(), 1);
    assert_eq!(located(status), ("Dockerfile".to_owned(), 3));
    // Nothing was built: only the Dockerfile read was solved.
    assert_eq!(
        rec.solves.len(),
        2,
        "the Dockerfile and .dockerignore reads only"
    );
}

#[tokio::test]
async fn a_failing_solve_is_returned_as_an_error() {
    let mut f = fake("FROM busybox:local\nRUN exit 1\n");
    f.solve_error = Some("process did not complete successfully".to_owned());
    let (bridge, handle) = spawn(f).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert!(
        status.message.contains("did not complete"),
        "{}",
        status.message
    );
    assert!(rec.returns[0].result.is_none(), "never a half result");
}

#[tokio::test]
async fn unknown_target_is_an_error() {
    let (bridge, handle) = spawn(fake("FROM busybox:local AS a\n")).await.unwrap();
    gateway::serve(&bridge, &env(&[("target", "nope")]))
        .await
        .unwrap();
    let status = handle.recorded().returns[0].error.clone().expect("error");
    assert_eq!(status.message, "target stage \"nope\" could not be found");
}

#[tokio::test]
async fn included_files_are_fetched_and_errors_name_them() {
    let f = fake("FROM busybox:local\nINCLUDE inc/steps\nINCLUDE inc/other\n")
        .with_file("inc/steps", "RUN true\nINCLUDE more\n")
        .with_file("inc/other", "RUN true\n")
        .with_file("inc/more", "RUN true\n\nRUNN x\n");
    let (bridge, handle) = spawn(f).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert_eq!(
        status.message,
        "inc/more:3: unknown instruction: RUNN (did you mean RUN?)"
    );
    assert_eq!(located(status), ("inc/more".to_owned(), 3));
    // One extra transfer per nesting level, of exactly the included paths.
    let follows: Vec<String> = rec
        .solves
        .iter()
        .filter_map(|s| {
            let op = ops(s.definition.as_ref()?).into_iter().next()?;
            match op.op {
                Some(pb::op::Op::Source(src)) => src.attrs.get("local.followpaths").cloned(),
                _ => None,
            }
        })
        .collect();
    assert!(
        follows.contains(&r#"["inc/steps","inc/other"]"#.to_owned()),
        "{follows:?}"
    );
    assert!(
        follows.contains(&r#"["inc/more"]"#.to_owned()),
        "{follows:?}"
    );
}

#[tokio::test]
async fn checks_are_solved_and_a_runnable_image_has_no_warning() {
    let f = fake("FROM busybox:local AS unused\nCHECK false\nFROM busybox:local\nCHECK test -d /\nRUN true\nCHECK --network=none true\nCMD [\"/bin/app\"]\n")
        .with_image_file(BUSYBOX_REF, "bin/app", "#!/bin/app\n")
        .with_llb_cap("exec.meta.network");
    let (bridge, handle) = spawn(f).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    assert!(
        rec.returns[0].result.is_some(),
        "{:?}",
        rec.returns[0].error
    );
    assert!(rec.warns.is_empty(), "{:?}", rec.warns);
    let check_args: Vec<Vec<String>> = rec
        .solves
        .iter()
        .filter_map(|s| {
            let exec = ops(s.definition.as_ref()?)
                .into_iter()
                .rev()
                .find_map(|op| match op.op {
                    Some(pb::op::Op::Exec(e)) => Some(e),
                    _ => None,
                })?;
            Some(exec.meta?.args)
        })
        .filter(|args| args.iter().any(|a| a.contains("test -d") || a == "true"))
        .collect();
    // Two checks of the target (not the unused stage's `false`), plus the main build.
    assert!(
        check_args.iter().all(|a| !a.contains(&"false".to_owned())),
        "{check_args:?}"
    );
    assert_eq!(check_args.len(), 3, "{check_args:?}");
}

#[tokio::test]
async fn a_missing_executable_warns_or_fails_under_strict() {
    let dockerfile = "FROM busybox:local\nCOPY . /app\nCMD [\"python3\", \"calc.py\"]\n";
    let (bridge, handle) = spawn(fake(dockerfile)).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    assert!(rec.returns[0].result.is_some(), "a warning by default");
    // Lint warns first (offline: busybox ships no python3), then the check on the result.
    let shorts: Vec<String> = rec
        .warns
        .iter()
        .map(|w| String::from_utf8_lossy(&w.short).into_owned())
        .collect();
    assert!(
        shorts[0].starts_with("CmdToolNotInstalled: CMD runs \"python3\""),
        "{shorts:?}"
    );
    assert!(shorts[1].starts_with("Dockerfile:3: the image cannot start: CMD [\"python3\", \"calc.py\"]: executable \"python3\" was not found"), "{shorts:?}");

    let (bridge, handle) = spawn(fake(dockerfile)).await.unwrap();
    gateway::serve(&bridge, &env(&[("build-arg:STRATA_STRICT", "1")]))
        .await
        .unwrap();
    let rec = handle.recorded();
    assert!(rec.returns[0].result.is_none(), "nothing is exported");
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert!(
        status
            .message
            .starts_with("Dockerfile:3: the image cannot start: CMD: executable \"python3\""),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn several_platforms_return_one_ref_each() {
    let dockerfile = "FROM --platform=$BUILDPLATFORM busybox:local AS b\nARG TARGETARCH\nRUN echo $TARGETARCH > /arch\nFROM scratch\nCOPY --from=b /arch /arch\n";
    let (bridge, handle) = spawn(fake(dockerfile)).await.unwrap();
    gateway::serve(&bridge, &env(&[("platform", "linux/amd64,linux/arm64")]))
        .await
        .unwrap();
    let rec = handle.recorded();
    let result = rec.returns[0].result.as_ref().expect("a result");
    let Some(gateway_pb::result::Result::Refs(refs)) = &result.result else {
        panic!("a ref per platform: {:?}", result.result)
    };
    let mut ids: Vec<&String> = refs.refs.keys().collect();
    ids.sort();
    assert_eq!(ids, ["linux/amd64", "linux/arm64"]);
    for id in ["linux/amd64", "linux/arm64"] {
        let config: serde_json::Value =
            serde_json::from_slice(&result.metadata[&format!("containerimage.config/{id}")])
                .unwrap();
        assert_eq!(
            format!("linux/{}", config["architecture"].as_str().unwrap()),
            id
        );
    }
    assert!(!result.metadata.contains_key("containerimage.config"));
    let platforms: serde_json::Value =
        serde_json::from_slice(&result.metadata["refs.platforms"]).unwrap();
    assert_eq!(platforms["Platforms"].as_array().unwrap().len(), 2);
    // Each platform's RUN saw its own TARGETARCH.
    let envs: Vec<String> = rec
        .solves
        .iter()
        .filter_map(|s| s.definition.as_ref())
        .flat_map(ops)
        .filter_map(|op| match op.op {
            Some(pb::op::Op::Exec(e)) => Some(e.meta.unwrap().env.join(" ")),
            _ => None,
        })
        .collect();
    assert!(
        envs.iter().any(|e| e.contains("TARGETARCH=arm64")),
        "{envs:?}"
    );
    assert!(
        envs.iter().any(|e| e.contains("TARGETARCH=amd64")),
        "{envs:?}"
    );
}

#[tokio::test]
async fn a_context_input_replaces_the_context_local() {
    use strata_proto::llb;
    let ctx = llb::local(llb::LocalSource {
        name: "from-input".into(),
        meta: llb::OpMeta::named("client-built context"),
        ..Default::default()
    });
    let dockerfile = "FROM busybox:local\nCOPY a.txt /a.txt\n";
    let fake = fake(dockerfile).with_input("context", llb::marshal(&ctx));
    let (bridge, handle) = spawn(fake).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    assert!(rec.returns[0].result.is_some(), "{:?}", rec.returns[0]);
    let build = ops(rec.solves.last().unwrap().definition.as_ref().unwrap());
    let locals: Vec<String> = build
        .iter()
        .filter_map(|op| match &op.op {
            Some(pb::op::Op::Source(s)) if s.identifier.starts_with("local://") => {
                Some(s.identifier.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(locals, ["local://from-input"]);
}

#[tokio::test]
async fn an_input_named_context_brings_its_image_config() {
    use strata_proto::llb;
    let base = llb::image(llb::ImageSource {
        reference: "busybox:local".into(),
        ..Default::default()
    });
    let dockerfile = "FROM base\nRUN true\n";
    let fake = fake(dockerfile).with_input("base", llb::marshal(&base));
    let (bridge, handle) = spawn(fake).await.unwrap();
    let metadata = r#"{"containerimage.config":"eyJhcmNoaXRlY3R1cmUiOiAiYW1kNjQiLCAib3MiOiAibGludXgiLCAiY29uZmlnIjogeyJFbnYiOiBbIlBBVEg9L2JpbiIsICJGUk9NX0lOUFVUPTEiXSwgIldvcmtpbmdEaXIiOiAiL2luIn0sICJyb290ZnMiOiB7InR5cGUiOiAibGF5ZXJzIiwgImRpZmZfaWRzIjogWyJzaGEyNTY6YWEiXX19"}"#;
    gateway::serve(
        &bridge,
        &env(&[
            ("context:base", "input:base"),
            ("input-metadata:base", metadata),
        ]),
    )
    .await
    .unwrap();
    let rec = handle.recorded();
    let result = rec.returns[0].result.as_ref().expect("a result");
    let config: serde_json::Value =
        serde_json::from_slice(&result.metadata["containerimage.config"]).unwrap();
    assert_eq!(
        config["config"]["Env"],
        serde_json::json!(["PATH=/bin", "FROM_INPUT=1"])
    );
    let exec = ops(rec.solves.last().unwrap().definition.as_ref().unwrap())
        .into_iter()
        .find_map(|op| match op.op {
            Some(pb::op::Op::Exec(e)) => Some(e),
            _ => None,
        })
        .unwrap();
    assert_eq!(exec.meta.unwrap().cwd, "/in");
}

#[tokio::test]
async fn lint_findings_are_warnings_on_the_dockerfile_vertex() {
    let dockerfile = "FROM busybox:local as base\nCMD echo hi\n";
    let (bridge, handle) = spawn(fake(dockerfile)).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    assert!(
        rec.returns[0].result.is_some(),
        "warnings do not fail the build"
    );
    // The local source op, before the terminal op that only names it.
    let loaded = &rec.solves[0].definition.as_ref().unwrap().def[0];
    let digest = strata_proto::llb::digest_of(loaded);
    let warns: Vec<(String, String)> = rec
        .warns
        .iter()
        .filter(|w| !w.url.is_empty())
        .map(|w| {
            assert_eq!(w.digest, digest, "on the vertex that loaded the Dockerfile");
            assert_eq!(w.info.as_ref().unwrap().filename, "Dockerfile");
            let line = w.ranges[0].start.as_ref().unwrap().line;
            (
                String::from_utf8_lossy(&w.short).into_owned(),
                format!("{line} {}", w.url),
            )
        })
        .collect();
    assert_eq!(
        warns,
        [
            (
                "FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)".to_owned(),
                "1 https://docs.docker.com/go/dockerfile/rule/from-as-casing/".to_owned()
            ),
            (
                "JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 2)".to_owned(),
                "2 https://docs.docker.com/go/dockerfile/rule/json-args-recommended/".to_owned()
            ),
        ]
    );
    assert_eq!(
        rec.warns[1].detail,
        [b"JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals".to_vec()]
    );

    // The build arg replaces the directive: nothing to report.
    let (bridge, handle) = spawn(fake(&format!("# check=error=true\n{dockerfile}")))
        .await
        .unwrap();
    gateway::serve(
        &bridge,
        &env(&[("build-arg:BUILDKIT_DOCKERFILE_CHECK", "skip=all")]),
    )
    .await
    .unwrap();
    let rec = handle.recorded();
    assert!(rec.returns[0].result.is_some());
    // (The fake's result has no /bin/sh: the entrypoint check still warns about that.)
    assert!(
        rec.warns.iter().all(|w| w.url.is_empty()),
        "{:?}",
        rec.warns
    );
}

#[tokio::test]
async fn check_error_true_fails_before_anything_runs() {
    let dockerfile = "# check=error=true;skip=FromAsCasing\nFROM busybox:local as base\nRUN echo never\nCMD echo hi\n";
    let (bridge, handle) = spawn(fake(dockerfile)).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert_eq!(
        status.message,
        "Dockerfile:4: lint violation found for rules: JSONArgsRecommended"
    );
    assert_eq!(located(status).1, 4);
    assert_eq!(rec.warns.len(), 1, "the finding is shown as well");
    let ran = rec.solves.iter().any(|s| {
        ops(s.definition.as_ref().unwrap())
            .iter()
            .any(|op| matches!(op.op, Some(pb::op::Op::Exec(_))))
    });
    assert!(!ran, "nothing was solved that runs a command");

    // A check value that does not parse fails the build on the directive's line.
    let (bridge, handle) = spawn(fake("# check=error=maybe\nFROM busybox:local\n"))
        .await
        .unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert!(
        status
            .message
            .starts_with("Dockerfile:1: failed to parse check options: failed to parse check option \"error=maybe\""),
        "{}",
        status.message
    );
}

/// The copy actions (source path, destination) of a solve's definition.
fn copies(def: &pb::Definition) -> Vec<(String, String)> {
    ops(def)
        .into_iter()
        .filter_map(|op| match op.op {
            Some(pb::op::Op::File(f)) => Some(f.actions),
            _ => None,
        })
        .flatten()
        .filter_map(|a| match a.action {
            Some(pb::file_action::Action::Copy(c)) => Some((c.src, c.dest)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn copy_deps_reads_elf_headers_and_copies_the_closure() {
    use elf_fixture::Spec;
    // The program's dynamic segment lies past a big gap that must never be transferred.
    let app = Spec {
        pad: 1_000_000,
        ..Spec::new(&["libc.so.6"]).interp("/lib/ld.so")
    }
    .build();
    let dockerfile =
        "FROM busybox:local AS src\nRUN true\nFROM scratch\nCOPY --from=src --deps /app/bin/app /app\n";
    let f = fake(dockerfile)
        .with_image_file(BUSYBOX_REF, "app/bin/app", app.clone())
        .with_image_file(BUSYBOX_REF, "lib/ld.so", Spec::new(&[]).build())
        .with_image_file(
            BUSYBOX_REF,
            "usr/lib/libc.so.6",
            Spec::new(&["ld.so"]).build(),
        );
    let (bridge, handle) = spawn(f).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    assert!(rec.returns[0].error.is_none(), "{:?}", rec.returns[0].error);
    let last = rec
        .solves
        .iter()
        .rev()
        .find_map(|s| s.definition.as_ref())
        .unwrap();
    let got = copies(last);
    for want in [
        ("/app/bin/app", "/app"),
        ("/lib/ld.so", "/lib/"),
        ("/usr/lib/libc.so.6", "/usr/lib/"),
    ] {
        assert!(
            got.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} not in {got:?}"
        );
    }
    // Only ranges of the program were read, far less than the whole file.
    let reads: Vec<&gateway_pb::ReadFileRequest> = rec
        .read_files
        .iter()
        .filter(|r| r.file_path == "/app/bin/app")
        .collect();
    assert!(!reads.is_empty());
    assert!(reads.iter().all(|r| r.range.is_some()), "{reads:?}");
    let total: i64 = reads.iter().filter_map(|r| r.range.map(|g| g.length)).sum();
    assert!(total < 64 * 1024, "read {total} of {}", app.len());

    // A path the source lacks fails on its line.
    let (bridge, handle) = spawn(fake(
        "FROM busybox:local AS src\nFROM scratch\nCOPY --from=src --deps /nope /x\n",
    ))
    .await
    .unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert_eq!(
        status.message,
        "Dockerfile:3: COPY --deps: /nope does not exist in the source"
    );
}

/// `COPY --parents` with a plain path sends it as a required path only to a daemon with
/// `file.copy.requiredpaths`; an older one (which would ignore the field, as it does for
/// upstream's frontend) gets the include pattern alone, and the copy still runs.
#[tokio::test]
async fn copy_required_paths_go_only_to_a_daemon_with_the_cap() {
    let dockerfile = "FROM busybox:local\nRUN true\nCOPY --parents x/a.txt /p/\n";
    let copies = |rec: &strata_proto::testing::Recorded| -> Vec<pb::FileActionCopy> {
        rec.solves
            .iter()
            .filter_map(|s| s.definition.as_ref())
            .flat_map(ops)
            .filter_map(|op| match op.op {
                Some(pb::op::Op::File(f)) => Some(f.actions),
                _ => None,
            })
            .flatten()
            .filter_map(|a| match a.action {
                Some(pb::file_action::Action::Copy(c)) => Some(c),
                _ => None,
            })
            .collect()
    };
    // BuildKit 0.13 to 0.25: include patterns, no required paths.
    let older = fake(dockerfile).with_llb_cap("file.copy.includeexcludepatterns");
    let (bridge, handle) = spawn(older).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    assert!(rec.returns[0].error.is_none(), "{:?}", rec.returns[0].error);
    let sent = copies(&rec);
    assert!(
        sent.iter()
            .any(|c| c.required_paths.is_empty() && c.include_patterns == ["x/a.txt"]),
        "{sent:?}"
    );

    let newer = fake(dockerfile)
        .with_llb_cap("file.copy.includeexcludepatterns")
        .with_llb_cap("file.copy.requiredpaths");
    let (bridge, handle) = spawn(newer).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    assert!(rec.returns[0].error.is_none(), "{:?}", rec.returns[0].error);
    let sent = copies(&rec);
    assert!(
        sent.iter()
            .any(|c| c.required_paths == ["/x/a.txt"] && c.include_patterns == ["x/a.txt"]),
        "{sent:?}"
    );
}

/// An LLB feature the daemon lacks (its `Ping` caps) fails at the instruction's line before
/// anything runs; with the cap, the op is solved.
#[tokio::test]
async fn a_missing_llb_cap_fails_at_the_line_that_needs_it() {
    let text = "FROM busybox:local\nRUN true\nRUN --device=vendor.com/gpu=all true\n";
    let (bridge, handle) = spawn(fake(text)).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert_eq!(
        status.message,
        "Dockerfile:3: requested experimental feature exec.meta.cdi (RUN --device) is not supported by build server, please update BuildKit"
    );
    assert_eq!(located(status).1, 3);

    let (bridge, handle) = spawn(fake(text).with_llb_cap("exec.meta.cdi"))
        .await
        .unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    assert!(rec.returns[0].error.is_none(), "{:?}", rec.returns[0].error);
}

/// `SOURCE_DATE_EPOCH` as a global ARG default reaches the exporter as BuildKit's
/// `source.date.epoch` result metadata, and the image's `created`.
#[tokio::test]
async fn a_global_arg_epoch_is_returned_for_the_exporter() {
    let text = "ARG SOURCE_DATE_EPOCH=1700000000\nFROM busybox:local\nWORKDIR /app\n";
    let (bridge, handle) = spawn(fake(text)).await.unwrap();
    gateway::serve(&bridge, &env(&[])).await.unwrap();
    let rec = handle.recorded();
    let result = rec.returns[0].result.as_ref().expect("a result");
    assert_eq!(result.metadata["source.date.epoch"], b"1700000000".to_vec());
    let config: serde_json::Value =
        serde_json::from_slice(&result.metadata["containerimage.config"]).unwrap();
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
}

/// The file and first line of the first source location an error status carries (what
/// buildx shows as the `Dockerfile:N` snippet).
fn located(status: &strata_proto::rpc::Status) -> (String, i32) {
    let sources = errdefs::sources(status);
    let first = sources.first().expect("a source location");
    (
        first.info.as_ref().expect("source info").filename.clone(),
        first.ranges[0].start.as_ref().expect("a start").line,
    )
}
