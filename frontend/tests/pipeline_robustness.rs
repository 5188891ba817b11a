//! Property: any input gives either LLB or an error that points at the input — never a
//! panic, never an error without a place. Dockerfile-shaped inputs are generated from a
//! fixed seed (no extra crates) so failures reproduce; `make fuzz` explores further.

use strata::includes::NoFiles;
use strata::lint;
use strata::options::BuildOptions;
use strata::pipeline;
use strata::platform::Platform;
use strata::resolve::offline_images;

struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % n as u64) as usize
    }
}

const LINES: &[&str] = &[
    "FROM busybox:local",
    "FROM busybox:local AS build",
    "FROM build AS test",
    "FROM scratch",
    "FROM ${BASE}",
    "FROM --platform=$BUILDPLATFORM busybox:local AS x",
    "ARG BASE=busybox:local",
    "ARG A",
    "ARG A=${B:-c}",
    "ENV A=1 B=$A",
    "ENV A ${A}x",
    "LABEL a=b \"c d\"=e",
    "WORKDIR /app",
    "WORKDIR rel/$A",
    "USER nobody:nogroup",
    "RUN echo hi",
    "RUN [\"echo\", \"hi\"]",
    "RUN --mount=type=cache,target=/c echo",
    "RUN --mount=from=build,target=/b ls /b",
    "RUN --mount=type=secret,id=x cat /run/secrets/x",
    "RUN --mount=type=bogus,target=/x true",
    "RUN --network=none true",
    "RUN <<EOF\necho heredoc\nEOF",
    "COPY a b",
    "COPY --from=build /x /y",
    "COPY --from=0 /x /y",
    "COPY --from=busybox:local /bin/busybox /bb",
    "COPY --chown=1:2 --chmod=644 a* /d/",
    "COPY <<F /f\ncontent\nF",
    "ADD a.tar /",
    "EXPOSE 80 53/udp",
    "EXPOSE $PORT",
    "VOLUME /v",
    "CMD [\"sh\"]",
    "ENTRYPOINT echo",
    "SHELL [\"/bin/sh\", \"-c\"]",
    "STOPSIGNAL SIGTERM",
    "HEALTHCHECK CMD true",
    "HEALTHCHECK NONE",
    "ONBUILD RUN x",
    "IF ${A} == \"1\"",
    "IF defined(A) && (${A} != x || !defined(B))",
    "IF $NOPE == x",
    "IF ((",
    "ELSE IF ${BUILDARCH} == amd64",
    "ELSE",
    "END",
    "FOR X IN a b c",
    "FOR X IN ${BASE}",
    "FOR X 1",
    "FROM busybox:local AS s-$X",
    "RUN echo $X '$X'",
    "FROM busybox:local AS tpl(A, B=2)",
    "FROM busybox:local AS tpl(",
    "FROM tpl(A=1)",
    "FROM tpl(A=1, B=3) AS inst",
    "COPY --from=tpl(A=x, B=y) /a /b",
    "COPY --from=tpl(A=x, C=y) /a /b",
    "COPY --from=tpl( /a /b",
    "RUN --mount=from=tpl(A=1),target=/t ls",
    "RUN --mount=from=tpl(A=1, B=4),target=/t ls",
    "MAINTAINER me",
    "# comment",
    "",
    "RUNN x",
    "COPY onlyone",
    "FROM",
    "ARG",
    "\\",
    "`",
    "${",
    "RUN echo \\\n  continued",
];

fn check(text: &str, opts: &BuildOptions) {
    // Lint runs the same steps: it stops exactly when the build would, and every finding
    // points into the text.
    let report = lint::lint(&lint::Input {
        text,
        filename: "Dockerfile",
        loader: &NoFiles,
        opts,
        images: &Default::default(),
        all_stages: true,
        prepared: None,
    });
    let prepared = pipeline::prepare(text, "Dockerfile", opts);
    assert_eq!(
        report.error.is_some(),
        prepared.is_err(),
        "{text:?}: lint {:?}",
        report.error
    );
    if let (Some(a), Err(b)) = (&report.error, &prepared) {
        assert_eq!(a.to_string(), b.to_string(), "{text:?}");
    }
    for f in &report.findings {
        assert!(
            f.at.end as usize <= text.len() && f.span.end as usize <= text.len(),
            "{text:?}: {f:?}"
        );
    }
    match prepared {
        Ok(p) => {
            let images = offline_images(&p.plan);
            match pipeline::convert(&p, opts, &images, Vec::new()) {
                Ok(c) => {
                    let def = strata_proto::llb::marshal(&c.state);
                    assert!(def.def.is_empty() || def.def.len() >= 2, "{text:?}");
                }
                Err(e) => assert_located(&e, text),
            }
        }
        Err(e) => assert_located(&e, text),
    }
}

fn assert_located(e: &strata::error::Error, text: &str) {
    let span = e
        .span()
        .unwrap_or_else(|| panic!("error without a place: {e} for {text:?}"));
    assert!(
        span.end as usize <= text.len(),
        "span past the end: {e} for {text:?}"
    );
}

#[test]
fn random_dockerfiles_convert_or_fail_with_a_place() {
    let opts = BuildOptions::new(Platform::linux_amd64());
    let mut rng = XorShift(0x5eed_cafe_f00d_d00d);
    for _ in 0..3000 {
        let n = 1 + rng.below(12);
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(LINES[rng.below(LINES.len())]);
            text.push('\n');
        }
        check(&text, &opts);
    }
}

#[test]
fn every_prefix_of_the_fixtures_converts_or_fails_with_a_place() {
    let opts = BuildOptions::new(Platform::linux_amd64());
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/llb");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("testdata/llb exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "Dockerfile") {
            let text = std::fs::read_to_string(&path).expect("readable");
            for (i, _) in text.char_indices() {
                check(&text[..i], &opts);
            }
            seen += 1;
        }
    }
    assert!(seen >= 5, "fixtures found: {seen}");
}
