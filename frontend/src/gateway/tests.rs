//! The edge against the fake BuildKit (`strata_proto::testing`): which ref each read hits,
//! and how each failure BuildKit or the client can cause reaches the user (an error, or a
//! warning buildx prints), never a quietly different build.

#![allow(clippy::unwrap_used)] // tests

use std::collections::BTreeMap;

use strata_proto::testing::{
    gateway_env, image_key, local_key, spawn, FakeBridge, ReadKind, Recorded,
};

use super::{serve_with, Site};

const BUSYBOX: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}"#;
const BUSYBOX_REF: &str = "docker.io/library/busybox:local";

fn fake(dockerfile: &str) -> FakeBridge {
    FakeBridge::new()
        .with_file("Dockerfile", dockerfile)
        .with_image(BUSYBOX_REF, BUSYBOX)
        .with_llb_cap("exec.meta.setsdefaultpath")
}

/// A site with no policy and no library (paths that do not exist).
fn no_site() -> Site {
    Site {
        policy: "/nonexistent/strata-policy.toml".into(),
        library: "/nonexistent/strata-lib".into(),
    }
}

async fn serve_site(fake: FakeBridge, opts: &[(&str, &str)], site: &Site) -> Recorded {
    let (bridge, handle) = spawn(fake).await.unwrap();
    serve_with(&bridge, &gateway_env(opts).unwrap(), site)
        .await
        .unwrap();
    handle.recorded()
}

async fn serve(fake: FakeBridge, opts: &[(&str, &str)]) -> Recorded {
    serve_site(fake, opts, &no_site()).await
}

/// The error the build returned (the test fails on a result).
fn error(rec: &Recorded) -> String {
    let ret = &rec.returns[0];
    assert!(ret.result.is_none(), "a result, not an error: {ret:?}");
    ret.error.as_ref().expect("an error").message.clone()
}

/// The build's result (the test fails on an error).
fn built(rec: &Recorded) -> &strata_proto::gateway_pb::Result {
    let ret = &rec.returns[0];
    ret.result
        .as_ref()
        .unwrap_or_else(|| panic!("an error: {:?}", ret.error))
}

fn warnings(rec: &Recorded) -> Vec<String> {
    rec.warns
        .iter()
        .map(|w| String::from_utf8_lossy(&w.short).into_owned())
        .collect()
}

// --- Fallback 1: frontend inputs --------------------------------------------------------

/// Upstream fails with "failed to get frontend inputs" when the daemon offers the cap and
/// the call fails; building the client's locals instead would build other files than the
/// client sent.
#[tokio::test]
async fn a_failed_inputs_call_fails_the_build_and_the_subrequest() {
    let mut f = fake("FROM busybox:local\n");
    f.inputs_error = Some("inputs went away".to_owned());
    let rec = serve(f.clone(), &[]).await;
    assert_eq!(
        error(&rec),
        "failed to get frontend inputs: inputs went away"
    );
    assert!(
        rec.solves.is_empty(),
        "nothing read or built: {:?}",
        rec.solves
    );

    let rec = serve(f, &[("requestid", "frontend.outline")]).await;
    assert_eq!(
        error(&rec),
        "failed to get frontend inputs: inputs went away"
    );
}

// --- Fallback 2: .dockerignore ----------------------------------------------------------

/// A `.dockerignore` that is missing means no excludes (as upstream); one that exists but
/// cannot be read (here: a directory) fails the build, naming it, instead of letting files
/// the user meant to keep out into the build.
#[tokio::test]
async fn an_unreadable_dockerignore_fails_the_build_a_missing_one_is_none() {
    let rec = serve(fake("FROM busybox:local\nCOPY . /app\n"), &[]).await;
    built(&rec);
    assert_eq!(
        rec.reads_from(&local_key("context")),
        [(ReadKind::File, ".dockerignore".to_owned())]
    );

    let f = fake("FROM busybox:local\nCOPY . /app\n").with_local_file(
        "context",
        ".dockerignore/oops",
        "x",
    );
    let rec = serve(f, &[]).await;
    assert_eq!(
        error(&rec),
        "failed to read .dockerignore: .dockerignore is not a regular file"
    );
    assert!(!rec.solves.iter().any(|s| s.evaluate), "nothing was built");

    // `<Dockerfile>.dockerignore` beside the Dockerfile likewise.
    let f = fake("FROM busybox:local\n").with_file("Dockerfile.dockerignore/oops", "x");
    let rec = serve(f, &[]).await;
    assert_eq!(
        error(&rec),
        "failed to read Dockerfile.dockerignore: Dockerfile.dockerignore is not a regular file"
    );

    // And a named local context's.
    let f = fake("FROM busybox:local\nCOPY --from=extra . /x\n").with_local_file(
        "extra-dir",
        ".dockerignore/oops",
        "x",
    );
    let rec = serve(f, &[("context:extra", "local:extra-dir")]).await;
    assert_eq!(
        error(&rec),
        "failed to read .dockerignore of context extra: .dockerignore is not a regular file"
    );
}

// --- Fallback 3: the entrypoint check without `statfile` --------------------------------

fn without_statfile(mut f: FakeBridge) -> FakeBridge {
    f.pong.frontend_api_caps.retain(|c| c.id != "statfile");
    f
}

/// Without BuildKit's `StatFile` the entrypoint check cannot run: the user is told so by a
/// warning, and a build that must pass it (`STRATA_STRICT`, the policy at `error`) fails.
#[tokio::test]
async fn without_statfile_the_entrypoint_check_warns_or_fails() {
    let dockerfile = "FROM busybox:local\nCMD [\"/bin/app\"]\n";
    let rec = serve(without_statfile(fake(dockerfile)), &[]).await;
    built(&rec);
    assert_eq!(
        warnings(&rec),
        ["the entrypoint check did not run: BuildKit does not offer StatFile (cap statfile)"]
    );

    let rec = serve(
        without_statfile(fake(dockerfile)),
        &[("build-arg:STRATA_STRICT", "1")],
    )
    .await;
    assert_eq!(
        error(&rec),
        "the entrypoint check cannot run: BuildKit does not offer StatFile (cap statfile) (STRATA_STRICT is set)"
    );

    let dir = std::env::temp_dir().join(format!("strata-edge-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[entrypoint-check]\nseverity = \"error\"\n").unwrap();
    let site = Site {
        policy,
        library: dir.join("lib"),
    };
    let rec = serve_site(without_statfile(fake(dockerfile)), &[], &site).await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        error(&rec),
        "the entrypoint check cannot run: BuildKit does not offer StatFile (cap statfile) (policy entrypoint-check)"
    );

    // An image that starts nothing needs no check, so no warning.
    let rec = serve(
        without_statfile(fake("FROM scratch\nCOPY --from=busybox:local /bin /bin\n")),
        &[],
    )
    .await;
    built(&rec);
    assert!(warnings(&rec).is_empty(), "{:?}", warnings(&rec));
}

// --- Fallback 4: cache imports ----------------------------------------------------------

/// Malformed `cache-imports` fail the build as upstream's do, before anything is read.
#[tokio::test]
async fn malformed_cache_imports_fail_the_build() {
    let rec = serve(
        fake("FROM busybox:local\n"),
        &[("cache-imports", "[{\"Type\":")],
    )
    .await;
    assert!(
        error(&rec).starts_with("failed to unmarshal cache-imports (\"[{\\\"Type\\\":\"): "),
        "{}",
        error(&rec)
    );
    assert!(rec.solves.is_empty());
}

// --- Reads hit the right ref ------------------------------------------------------------

/// The Dockerfile and `<Dockerfile>.dockerignore` come from the `dockerfile` local, the
/// context's `.dockerignore` from the `context` local, and nothing else is read there.
#[tokio::test]
async fn the_dockerfile_and_dockerignores_are_read_from_their_locals() {
    let f = fake("FROM busybox:local\nCOPY . /app\n")
        .with_llb_cap("source.local.excludepatterns")
        .with_local_file("context", ".dockerignore", "secret.env\n")
        // A file of that name beside the Dockerfile is not the context's.
        .with_file(".dockerignore", "other\n");
    let rec = serve(f, &[]).await;
    built(&rec);
    assert_eq!(
        rec.reads_from(&local_key("dockerfile")),
        [
            (ReadKind::File, "Dockerfile".to_owned()),
            (ReadKind::File, "Dockerfile.dockerignore".to_owned())
        ]
    );
    assert_eq!(
        rec.reads_from(&local_key("context")),
        [(ReadKind::File, ".dockerignore".to_owned())]
    );
    // The context's patterns are the build's excludes.
    let excludes: Vec<String> = solved_ops(&rec)
        .into_iter()
        .filter_map(|op| match op.op {
            Some(strata_proto::pb::op::Op::Source(s)) if s.identifier == "local://context" => {
                s.attrs.get("local.excludepatterns").cloned()
            }
            _ => None,
        })
        .collect();
    assert_eq!(excludes, ["[\"secret.env\"]"]);
}

/// `INCLUDE`d files come from the `dockerfile` local (the Dockerfile's own directory),
/// never from the context or an image.
#[tokio::test]
async fn included_files_are_read_from_the_dockerfile_local() {
    let f = fake("FROM busybox:local\nINCLUDE inc/steps\n")
        .with_file("inc/steps", "RUN true\n")
        .with_local_file("context", "inc/steps", "RUNN not this one\n");
    let rec = serve(f, &[]).await;
    built(&rec);
    assert_eq!(
        rec.filesystems_read_for("inc/steps"),
        [Some(local_key("dockerfile"))]
    );
}

/// The entrypoint check stats the built result (a ref over the target's image), and
/// `COPY --deps` reads its source stage, not the target.
#[tokio::test]
async fn the_entrypoint_check_and_copy_deps_read_their_own_refs() {
    use crate::elf::fixture::Spec;
    let alpine = "docker.io/library/alpine:3";
    let f = fake("FROM busybox:local AS src\nRUN true\nFROM alpine:3\nCOPY --from=src --deps /bin/app /bin/app\nCMD [\"/bin/app\"]\n")
        .with_image(alpine, BUSYBOX)
        .with_image_file(BUSYBOX_REF, "bin/app", Spec::new(&[]).build())
        .with_image_file(alpine, "bin/app", "#!/bin/app\n");
    let rec = serve(f, &[]).await;
    let result = built(&rec);
    assert!(warnings(&rec).is_empty(), "{:?}", warnings(&rec));
    let Some(strata_proto::gateway_pb::result::Result::Ref(returned)) = &result.result else {
        panic!("one ref")
    };
    // The check stats (and reads the head of) `/bin/app` in the result, alpine's file;
    // `--deps` reads the program's headers in `src`, busybox's.
    let (check, deps): (Vec<_>, Vec<_>) = rec
        .reads
        .iter()
        .filter(|r| r.path == "/bin/app")
        .partition(|r| r.reference == returned.id);
    assert!(check.iter().any(|r| r.kind == ReadKind::Stat), "{check:?}");
    assert!(check
        .iter()
        .all(|r| r.fs.as_deref() == Some(image_key(alpine).as_str())));
    assert!(!deps.is_empty());
    let deps_fs: BTreeMap<_, _> = deps.iter().map(|r| (r.fs.clone(), r.kind)).collect();
    assert_eq!(
        deps_fs.keys().collect::<Vec<_>>(),
        [&Some(image_key(BUSYBOX_REF))]
    );
}

/// A stage is a filesystem of its own: `COPY --deps` finds the program a `RUN` of the
/// source stage made (the fake's files of that step), not one in the stage's base image.
#[tokio::test]
async fn copy_deps_reads_the_stage_a_run_made() {
    use crate::elf::fixture::Spec;
    let step = "[src 2/2] RUN make";
    let f = fake("FROM busybox:local AS src\nRUN make\nFROM scratch\nCOPY --from=src --deps /bin/app /bin/app\n")
        .with_fs_file(step, "bin/app", Spec::new(&[]).build());
    let rec = serve(f, &[]).await;
    built(&rec);
    assert_eq!(
        rec.filesystems_read_for("/bin/app")
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>(),
        [Some(step.to_owned())].into()
    );

    // The same file in the base image only is not the stage's.
    let f = fake("FROM busybox:local AS src\nRUN rm /bin/app\nFROM scratch\nCOPY --from=src --deps /bin/app /bin/app\n")
        .with_fs_file("[src 2/2] RUN rm /bin/app", "etc/empty", "")
        .with_image_file(BUSYBOX_REF, "bin/app", Spec::new(&[]).build());
    let rec = serve(f, &[]).await;
    assert_eq!(
        error(&rec),
        "Dockerfile:4: COPY --deps: /bin/app does not exist in the source"
    );
}

// --- Remote contexts --------------------------------------------------------------------

/// The checkout of `https://example.com/app.git#v1`, as the fake serves it.
const GIT: &str = "git://example.com/app.git#v1";

/// A daemon with git sources whose checkout of [`GIT`] holds `files`.
fn git_fake(local_dockerfile: &str, files: &[(&str, &str)]) -> FakeBridge {
    let f = fake(local_dockerfile)
        .with_llb_cap("source.git")
        .with_llb_cap("source.git.fullurl");
    files
        .iter()
        .fold(f, |f, (path, data)| f.with_fs_file(GIT, *path, *data))
}

/// Every op of every definition the build solved.
fn solved_ops(rec: &Recorded) -> Vec<strata_proto::pb::Op> {
    rec.solves
        .iter()
        .filter_map(|s| s.definition.as_ref())
        .flat_map(|d| &d.def)
        .filter_map(|b| <strata_proto::pb::Op as prost::Message>::decode(b.as_slice()).ok())
        .collect()
}

/// A git URL context: the Dockerfile and its `INCLUDE`s come from the checkout, and
/// nothing is read from the client's locals (there are none; a remote context has no
/// `.dockerignore` applied, as upstream's).
#[tokio::test]
async fn a_git_context_is_read_from_the_checkout_never_the_locals() {
    let f = git_fake(
        "FROM busybox:local\nRUNN the local Dockerfile is not this build's\n",
        &[
            (
                "Dockerfile",
                "FROM busybox:local\nINCLUDE inc/steps\nCOPY . /app\n",
            ),
            ("inc/steps", "RUN true\n"),
            (".dockerignore", "app\n"),
        ],
    );
    let rec = serve(f, &[("context", "https://example.com/app.git#v1")]).await;
    built(&rec);
    assert_eq!(
        rec.reads_from(GIT),
        [
            (ReadKind::File, "Dockerfile".to_owned()),
            (ReadKind::File, "inc/steps".to_owned())
        ]
    );
    assert_eq!(rec.reads_from(&local_key("dockerfile")), []);
    assert_eq!(rec.reads_from(&local_key("context")), []);
}

/// An HTTP context that is no archive is the Dockerfile itself, named `context`: its
/// first bytes are read to tell, then the whole file.
#[tokio::test]
async fn an_http_dockerfile_context_is_named_context() {
    let url = "http://127.0.0.1:8080/Dockerfile";
    let f = fake("RUNN not this one\n").with_fs_file(url, "context", "FROM busybox:local\n");
    let rec = serve(f, &[("context", url)]).await;
    built(&rec);
    assert_eq!(
        rec.reads_from(url),
        [
            (ReadKind::File, "context".to_owned()),
            (ReadKind::File, "context".to_owned())
        ]
    );
    let first = rec.read_files.iter().find(|r| r.file_path == "context");
    let range = first
        .and_then(|r| r.range.as_ref())
        .map(|r| (r.offset, r.length));
    assert_eq!(range, Some((0, 1024)));
}

/// `contextsubdir` narrows a context that is not the client's directory to one of its
/// directories: the build copies from that directory's contents, not the whole checkout.
#[tokio::test]
async fn contextsubdir_narrows_a_remote_context() {
    let f = git_fake("", &[("Dockerfile", "FROM busybox:local\nCOPY . /app\n")]);
    let opts = [
        ("context", "https://example.com/app.git#v1"),
        ("contextsubdir", "svc"),
    ];
    let rec = serve(f, &opts).await;
    built(&rec);
    let copies: Vec<(String, bool)> = solved_ops(&rec)
        .into_iter()
        .filter_map(|op| match op.op {
            Some(strata_proto::pb::op::Op::File(f)) => Some(f.actions),
            _ => None,
        })
        .flatten()
        .filter_map(|a| match a.action {
            Some(strata_proto::pb::file_action::Action::Copy(c)) => {
                Some((c.src, c.dir_copy_contents))
            }
            _ => None,
        })
        .collect();
    assert!(copies.contains(&("svc".to_owned(), true)), "{copies:?}");
}
