//! Conversion unit tests: what single instructions and stage setups turn into.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::pipeline;

/// Converts `text` with `busybox` resolving to an image whose config has `triggers`.
fn convert_with_triggers(text: &str, triggers: &[&str]) -> Result<Converted> {
    let opts = BuildOptions::new(Platform::linux_amd64());
    let prepared = pipeline::prepare(text, "Dockerfile", &opts)?;
    let mut config = Image::empty(&Platform::linux_amd64());
    config.rootfs.diff_ids.push("sha256:layer".to_owned());
    config.config.on_build = Some(triggers.iter().map(|t| (*t).to_owned()).collect());
    let mut images = BaseImages::new();
    images.insert(
        ("busybox".to_owned(), Platform::linux_amd64()),
        BaseImage {
            digest: None,
            raw: serde_json::to_vec(&config).unwrap(),
            config,
        },
    );
    pipeline::convert(&prepared, &opts, &images, Vec::new())
}

#[test]
fn base_image_triggers_run_first_and_are_cleared() {
    let c = convert_with_triggers(
        "FROM busybox\nRUN echo own\nONBUILD RUN echo next\n",
        &["ENV A=1", "RUN echo trigger"],
    )
    .unwrap();
    assert_eq!(c.image.env("A"), Some("1"));
    assert_eq!(
        c.image.config.on_build,
        Some(vec!["RUN echo next".to_owned()])
    );
    let created: Vec<_> = c
        .image
        .history
        .iter()
        .filter_map(|h| h.created_by.clone())
        .collect();
    assert_eq!(
        created,
        [
            "ENV A=1",
            "RUN /bin/sh -c echo trigger # buildkit",
            "RUN /bin/sh -c echo own # buildkit"
        ]
    );
    let dump = strata_proto::llb::dump(&c.state).to_string();
    // Triggers count as steps and say so (docker/dockerfile 1.19+).
    assert!(dump.contains("[2/4] ONBUILD RUN echo trigger"), "{dump}");
    assert!(dump.contains("[3/4] RUN echo own"), "{dump}");
}

#[test]
fn copy_link_merges_when_the_daemon_can() {
    let text = "FROM busybox\nCOPY --link a /b\nCOPY --link --chmod=644 a /c\nCOPY --link a /d\n";
    let convert = |merge_op: bool| {
        let mut opts = BuildOptions::new(Platform::linux_amd64());
        opts.merge_op = merge_op;
        let prepared = pipeline::prepare(text, "Dockerfile", &opts).unwrap();
        let images = crate::resolve::offline_images(&prepared.plan);
        let c = pipeline::convert(&prepared, &opts, &images, Vec::new()).unwrap();
        strata_proto::llb::dump(&c.state).to_string()
    };
    let merged = convert(true);
    assert_eq!(merged.matches("\"merge\"").count(), 2, "{merged}");
    assert!(merged.contains("[2/4] LINK COPY --link a /b"), "{merged}");
    assert!(merged.contains("[2/4] COPY --link a /b"), "{merged}");
    let plain = convert(false);
    assert!(!plain.contains("\"merge\""), "{plain}");
}

#[test]
fn copy_deps_copies_what_the_edge_found() {
    use crate::deps::DepFile;
    let text = "FROM busybox AS src\nFROM scratch\nCOPY --from=src --deps --chown=7 /bin/ls /ls\n";
    let opts = BuildOptions::new(Platform::linux_amd64());
    let prepared = pipeline::prepare(text, "Dockerfile", &opts).unwrap();
    let images = crate::resolve::offline_images(&prepared.plan);
    // Offline (or before the edge has looked): the request, and only the named path.
    let c = pipeline::convert(&prepared, &opts, &images, Vec::new()).unwrap();
    assert_eq!(c.deps_requests.len(), 1);
    let r = &c.deps_requests[0];
    assert_eq!(r.key, (1, 0));
    let paths: Vec<&str> = r.paths.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/bin/ls"]);
    let plain = strata_proto::llb::dump(&c.state).to_string();
    assert_eq!(plain.matches("\"copy\"").count(), 1, "{plain}");
    // With the files: each into its directory, links as links, owned as --chown says.
    let mut files = DepsFiles::new();
    files.insert(
        (1, 0),
        vec![
            DepFile {
                dest: "/lib64/ld.so".to_owned(),
                src: "/usr/lib64/ld.so".to_owned(),
                symlink: true,
            },
            DepFile {
                dest: "/lib/libc.so.6".to_owned(),
                src: "/usr/lib/libc.so.6".to_owned(),
                symlink: false,
            },
        ],
    );
    let c =
        pipeline::convert_with_deps(&prepared, &opts, &images, Vec::new(), &files, true).unwrap();
    let dump = strata_proto::llb::dump(&c.state);
    let actions: Vec<&serde_json::Value> = dump
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|op| op["op"]["file"].as_array())
        .flatten()
        .map(|a| &a["copy"])
        .collect();
    let summary: Vec<(String, String, String)> = actions
        .iter()
        .map(|a| {
            (
                a["src"].as_str().unwrap().to_owned(),
                a["dest"].as_str().unwrap().to_owned(),
                a["flags"].to_string(),
            )
        })
        .collect();
    assert_eq!(summary.len(), 3, "{summary:?}");
    assert_eq!(summary[1].0, "/usr/lib64/ld.so");
    assert_eq!(summary[1].1, "/lib64/");
    assert!(!summary[1].2.contains("follow_symlink"), "{summary:?}");
    assert_eq!(
        (summary[2].0.as_str(), summary[2].1.as_str()),
        ("/usr/lib/libc.so.6", "/lib/")
    );
    assert!(
        actions.iter().all(|a| a["owner"].to_string().contains('7')),
        "{actions:?}"
    );
    // Complete but without this instruction's files: an error on its line.
    let err = pipeline::convert_with_deps(
        &prepared,
        &opts,
        &images,
        Vec::new(),
        &DepsFiles::new(),
        true,
    )
    .unwrap_err();
    let span = err.span().unwrap();
    assert!(
        text[span.start as usize..].starts_with("COPY --from=src --deps"),
        "{err}"
    );
}

#[test]
fn image_triggers_may_read_earlier_stages_the_target_needs_only_through_them() {
    let text = "FROM scratch AS tools\nCOPY t /t\nFROM busybox AS app\nRUN true\n";
    let c = convert_with_triggers(text, &["COPY --from=tools /t /t"]).unwrap();
    let dump = strata_proto::llb::dump(&c.state).to_string();
    assert!(dump.contains("[tools 1/1] COPY t /t"), "{dump}");
    assert!(
        dump.contains("[app 2/3] ONBUILD COPY --from=tools /t /t"),
        "{dump}"
    );
    // A later stage cannot be read: upstream's words, at the FROM line.
    let text = "FROM busybox AS app\nRUN true\nFROM scratch AS tools\nFROM app\n";
    let err = convert_with_triggers(text, &["COPY --from=tools /t /t"]).unwrap_err();
    assert!(
        err.to_string().contains(
            "cannot copy from stage \"tools\", it needs to be defined before current stage \"app\""
        ),
        "{err}"
    );
    let span = err.span().unwrap();
    assert_eq!(
        &text[span.start as usize..span.end as usize],
        "FROM busybox AS app"
    );
}

#[test]
fn a_bad_trigger_is_reported_at_the_from_line() {
    let text = "FROM scratch\nFROM busybox AS x\nRUN true\n";
    for bad in ["RUNN x", "RUN a\nRUN b", "FROM x", "COPY onlyone"] {
        let err = convert_with_triggers(text, &[bad]).unwrap_err();
        let span = err.span().unwrap();
        assert_eq!(
            &text[span.start as usize..span.end as usize],
            "FROM busybox AS x",
            "{bad}: {err}"
        );
    }
    let err = convert_with_triggers(text, &["COPY --from=9 a b"]).unwrap_err();
    assert!(err.span().is_some(), "{err}");
}
