//! SBOMs at the gateway edge, against the fake BuildKit: the generator's config resolved
//! once, what each platform's scan mounts (the target, and the context and stages that
//! `BUILDKIT_SBOM_SCAN_*` ask for, never a stage the target does not need), the protocol's
//! environment, and the attestation attached to each platform of the result.

#![allow(clippy::unwrap_used)] // test helpers, not library code

use std::collections::BTreeMap;

use prost::Message;
use strata::gateway;
use strata_proto::testing::{gateway_env, spawn, FakeBridge, Recorded};
use strata_proto::{gateway_pb, llb, pb};

const BUSYBOX: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}"#;
const BUSYBOX_REF: &str = "docker.io/library/busybox:local";
const GENERATOR: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","SCANNER=1"],"Entrypoint":["/scan"],"Cmd":["--all"],"WorkingDir":"work"},"rootfs":{"type":"layers","diff_ids":["sha256:bb"]}}"#;
const GENERATOR_REF: &str = "docker.io/library/gen:local";

/// Stages `build` and `tools` feed the target; `unused` is never needed.
const DOCKERFILE: &str = "\
ARG BUILDKIT_SBOM_SCAN_STAGE
FROM busybox:local AS build
ARG BUILDKIT_SBOM_SCAN_STAGE
RUN echo built-by-build > /m
FROM busybox:local AS tools
ARG BUILDKIT_SBOM_SCAN_STAGE
RUN echo built-by-tools > /m
FROM busybox:local AS unused
ARG BUILDKIT_SBOM_SCAN_STAGE=true
RUN echo built-by-unused > /m
FROM build AS final
ARG BUILDKIT_SBOM_SCAN_CONTEXT
COPY --from=tools /m /tools
COPY app.txt /app.txt
";

fn fake(dockerfile: &str) -> FakeBridge {
    FakeBridge::new()
        .with_file("Dockerfile", dockerfile)
        .with_image(BUSYBOX_REF, BUSYBOX)
        .with_image(GENERATOR_REF, GENERATOR)
        .with_llb_cap("exec.meta.setsdefaultpath")
        .with_llb_cap("exec.mount.tmpfs")
}

async fn serve(fake: FakeBridge, opts: &[(&str, &str)]) -> Recorded {
    let (bridge, handle) = spawn(fake).await.unwrap();
    let site = gateway::Site {
        policy: "/nonexistent/strata-policy.toml".into(),
        library: "/nonexistent/strata-lib".into(),
    };
    gateway::serve_with(&bridge, &gateway_env(opts).unwrap(), &site)
        .await
        .unwrap();
    handle.recorded()
}

fn built(rec: &Recorded) -> &gateway_pb::Result {
    let ret = &rec.returns[0];
    ret.result
        .as_ref()
        .unwrap_or_else(|| panic!("an error: {:?}", ret.error))
}

fn error(rec: &Recorded) -> String {
    let ret = &rec.returns[0];
    assert!(ret.result.is_none(), "a result, not an error");
    ret.error.as_ref().unwrap().message.clone()
}

/// The ops of a definition by digest.
fn ops(def: &pb::Definition) -> BTreeMap<String, pb::Op> {
    def.def
        .iter()
        .map(|b| (llb::digest_of(b), pb::Op::decode(b.as_slice()).unwrap()))
        .collect()
}

/// One generator run: its exec op, and what each mount shows (by destination).
struct Scan {
    exec: pb::ExecOp,
    platform: pb::Platform,
    name: String,
    ignore_cache: bool,
    /// Destination → a description of the mounted op: `local://<name>`, the marker a
    /// `RUN echo <marker> > /m` wrote, `image:<ref>`, or `scratch`/`tmpfs`.
    mounts: BTreeMap<String, String>,
}

fn describe(op: &pb::Op) -> String {
    match &op.op {
        Some(pb::op::Op::Source(s)) => s.identifier.clone(),
        Some(pb::op::Op::Exec(e)) => {
            let args = e.meta.as_ref().unwrap().args.join(" ");
            args.split_whitespace()
                .find(|w| w.starts_with("built-by-"))
                .unwrap_or(&args)
                .to_owned()
        }
        Some(pb::op::Op::File(_)) => "file".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Every generator run the build solved (an exec op with the `/run/out/` mount).
fn scans(rec: &Recorded) -> Vec<Scan> {
    let mut found = Vec::new();
    for solve in &rec.solves {
        let Some(def) = &solve.definition else {
            continue;
        };
        let by_digest = ops(def);
        for (digest, op) in &by_digest {
            let Some(pb::op::Op::Exec(exec)) = &op.op else {
                continue;
            };
            if !exec.mounts.iter().any(|m| m.dest == "/run/out/") {
                continue;
            }
            let mounts = exec
                .mounts
                .iter()
                .map(|m| {
                    let what = if m.mount_type == pb::MountType::Tmpfs as i32 {
                        "tmpfs".to_owned()
                    } else if m.input < 0 {
                        "scratch".to_owned()
                    } else {
                        let input = &op.inputs[m.input as usize];
                        describe(&by_digest[&input.digest])
                    };
                    (m.dest.clone(), what)
                })
                .collect();
            let meta = def.metadata.get(digest).cloned().unwrap_or_default();
            found.push(Scan {
                exec: exec.clone(),
                platform: op.platform.clone().unwrap(),
                name: meta
                    .description
                    .get("llb.customname")
                    .cloned()
                    .unwrap_or_default(),
                ignore_cache: meta.ignore_cache,
                mounts,
            });
        }
    }
    found
}

fn sbom_opts<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![("attest:sbom", "type=sbom,generator=gen:local")];
    v.extend_from_slice(extra);
    v
}

#[tokio::test]
async fn by_default_the_generator_scans_the_target_only() {
    let rec = serve(fake(DOCKERFILE), &sbom_opts(&[])).await;
    let result = built(&rec);
    let scans = scans(&rec);
    assert_eq!(scans.len(), 1);
    let scan = &scans[0];
    let dests: Vec<(&str, &str)> = scan
        .mounts
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // The target's last op is the COPY of app.txt: its file op is what the core shows.
    assert_eq!(
        dests,
        [
            ("/", "docker-image://docker.io/library/gen:local"),
            ("/run/out/", "scratch"),
            ("/run/src/core/sbom", "file"),
            ("/tmp", "tmpfs"),
        ]
    );
    let meta = scan.exec.meta.as_ref().unwrap();
    assert_eq!(meta.args, ["/scan", "--all"]);
    assert_eq!(meta.cwd, "/work");
    assert_eq!(
        meta.env,
        [
            "PATH=/bin",
            "SCANNER=1",
            "BUILDKIT_SCAN_DESTINATION=/run/out/",
            "BUILDKIT_SCAN_SOURCE=/run/src/core/sbom",
            "BUILDKIT_SCAN_type=sbom",
        ]
    );
    assert_eq!(
        scan.name,
        "[linux/amd64] generating sbom using docker.io/library/gen:local"
    );
    assert!(!scan.ignore_cache);
    assert_eq!(scan.platform.architecture, "amd64");
    // The generator's config was resolved once, for the build platform, without a progress
    // name of ours (BuildKit shows its own, as for the builtin frontend).
    let resolved: Vec<_> = rec
        .resolves
        .iter()
        .filter(|r| r.r#ref == GENERATOR_REF)
        .collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].log_name, "");
    assert_eq!(resolved[0].platform.as_ref().unwrap().architecture, "amd64");

    // The bundle is attached to the platform's result as upstream marks it.
    let atts = &result.attestations["linux/amd64"].attestation;
    assert_eq!(atts.len(), 1);
    let att = &atts[0];
    assert_eq!(att.kind, gateway_pb::AttestationKind::Bundle as i32);
    assert_eq!(att.in_toto_predicate_type, "https://spdx.dev/Document");
    assert_eq!(att.metadata["reason"], b"sbom");
    assert_eq!(att.metadata["sbom-core"], b"sbom");
    let id = &att.r#ref.as_ref().unwrap().id;
    assert!(
        rec.refs.contains_key(id),
        "the bundle is a solved ref: {id}"
    );
}

#[tokio::test]
async fn the_scan_args_add_the_context_and_the_needed_stages() {
    let extras = |rec: &Recorded| -> Vec<(String, String)> {
        let scans = scans(rec);
        assert_eq!(scans.len(), 1);
        scans[0]
            .mounts
            .iter()
            .filter(|(k, _)| k.starts_with("/run/src/extras/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());

    let rec = serve(
        fake(DOCKERFILE),
        &sbom_opts(&[("build-arg:BUILDKIT_SBOM_SCAN_CONTEXT", "true")]),
    )
    .await;
    built(&rec);
    assert_eq!(
        extras(&rec),
        [pair("/run/src/extras/sbom-context", "local://context")]
    );
    let env = scans(&rec)[0].exec.meta.clone().unwrap().env;
    assert!(
        env.contains(&"BUILDKIT_SCAN_SOURCE_EXTRAS=/run/src/extras".to_owned()),
        "{env:?}"
    );

    // `true`: every needed stage but the target; `unused` (which sets it itself) never.
    let rec = serve(
        fake(DOCKERFILE),
        &sbom_opts(&[("build-arg:BUILDKIT_SBOM_SCAN_STAGE", "true")]),
    )
    .await;
    assert_eq!(
        extras(&rec),
        [
            pair("/run/src/extras/sbom-build", "built-by-build"),
            pair("/run/src/extras/sbom-tools", "built-by-tools"),
        ]
    );

    // A list names stages; the target in it is not an extra.
    let rec = serve(
        fake(DOCKERFILE),
        &sbom_opts(&[("build-arg:BUILDKIT_SBOM_SCAN_STAGE", "tools,final,unused")]),
    )
    .await;
    assert_eq!(
        extras(&rec),
        [pair("/run/src/extras/sbom-tools", "built-by-tools")]
    );

    // A build arg reaches only a declared ARG: without one, nothing more is scanned.
    let plain = "FROM busybox:local AS build\nRUN echo built-by-build > /m\nFROM scratch\nCOPY --from=build /m /m\n";
    let rec = serve(
        fake(plain),
        &sbom_opts(&[
            ("build-arg:BUILDKIT_SBOM_SCAN_STAGE", "true"),
            ("build-arg:BUILDKIT_SBOM_SCAN_CONTEXT", "true"),
        ]),
    )
    .await;
    assert_eq!(extras(&rec), []);

    // `--no-cache` of a scanned stage makes the scan ignore the cache too.
    let rec = serve(
        fake(DOCKERFILE),
        &sbom_opts(&[
            ("build-arg:BUILDKIT_SBOM_SCAN_STAGE", "tools"),
            ("no-cache", "tools"),
        ]),
    )
    .await;
    assert!(scans(&rec)[0].ignore_cache);
}

#[tokio::test]
async fn each_platform_gets_its_own_scan_and_attestation() {
    let rec = serve(
        fake("FROM scratch\nCOPY app.txt /app.txt\n"),
        &sbom_opts(&[("platform", "linux/amd64,linux/arm64")]),
    )
    .await;
    let result = built(&rec);
    let mut names: Vec<String> = scans(&rec).into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "[linux/amd64] generating sbom using docker.io/library/gen:local",
            "[linux/arm64] generating sbom using docker.io/library/gen:local",
        ]
    );
    // The generator runs on the build platform for both.
    assert!(scans(&rec)
        .iter()
        .all(|s| s.platform.architecture == "amd64"));
    let mut keys: Vec<&String> = result.attestations.keys().collect();
    keys.sort();
    assert_eq!(keys, ["linux/amd64", "linux/arm64"]);
}

#[tokio::test]
async fn no_sbom_asked_means_no_scan_and_a_bad_generator_fails_early() {
    let rec = serve(fake(DOCKERFILE), &[]).await;
    assert!(built(&rec).attestations.is_empty());
    assert!(scans(&rec).is_empty());
    assert!(!rec.resolves.iter().any(|r| r.r#ref == GENERATOR_REF));

    // A generator that starts nothing: upstream's words, before anything is built.
    let nocmd = r#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let f = fake(DOCKERFILE).with_image("docker.io/library/nocmd:1", nocmd);
    let rec = serve(f, &[("attest:sbom", "generator=nocmd:1")]).await;
    assert_eq!(
        error(&rec),
        "scanner docker.io/library/nocmd:1 does not have cmd"
    );
    assert!(!rec.solves.iter().any(|s| s.evaluate), "nothing was built");

    // A generator BuildKit cannot find: its error, unchanged.
    let rec = serve(fake(DOCKERFILE), &[("attest:sbom", "generator=missing:1")]).await;
    assert!(error(&rec).contains("missing:1"), "{}", error(&rec));

    let rec = serve(fake(DOCKERFILE), &[("attest:sbom", "generator=Bad:1")]).await;
    assert_eq!(
        error(&rec),
        "failed to parse sbom scanner Bad:1: invalid reference format"
    );
}
