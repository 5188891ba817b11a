//! Lint fixtures: every `testdata/lint/*.Dockerfile` is linted (options from a sibling
//! `<case>.args`, as in `llb.rs`; `INCLUDE`d files beside it) and
//! - its findings in the fixture itself are exactly those its `# expect: Rule, …` comments
//!   announce, each for the next instruction (so every other instruction is a negative
//!   case: it must have no finding);
//! - the whole report (`strata lint --format json`'s objects) matches its insta snapshot.
//!
//! (The subrequest and warning forms are tested in `subrequest::lint` and `gateway.rs`.)

#![allow(clippy::unwrap_used)] // test helpers, not library code

mod fixture_args;
use fixture_args::options_for;

use std::collections::BTreeSet;
use std::path::Path;

use strata::includes::DirLoader;
use strata::lint::{self, Input, Report};
use strata::options::BuildOptions;
use strata::platform::Platform;

fn lint_file(path: &Path) -> (String, Report) {
    lint_file_with(path, false)
}

/// [`lint_file`]; with `reuse`, handing lint the build's own pass over the file (as the
/// gateway does) when the pipeline accepts the file.
fn lint_file_with(path: &Path, reuse: bool) -> (String, Report) {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut opts = options_for(path);
    // `<case>.Dockerfile.dockerignore`: the context's ignore file, as BuildKit picks it.
    if let Ok(ignore) = std::fs::read_to_string(format!("{}.dockerignore", path.display())) {
        opts.dockerignore = strata::pipeline::dockerignore_patterns(&ignore);
    }
    let loader = DirLoader(path.parent().unwrap().to_path_buf());
    let prepared = reuse
        .then(|| strata::pipeline::prepare_with(&text, &name, &opts, &loader).ok())
        .flatten();
    let report = lint::lint(&Input {
        text: &text,
        filename: &name,
        loader: &loader,
        opts: &opts,
        images: &Default::default(),
        // As `strata lint` and `--call=check`: every stage unless a target is given.
        all_stages: opts.target.is_none(),
        prepared: prepared.as_ref(),
    });
    (text, report)
}

/// `(line, rule)` for every `# expect:` comment, the line being the next instruction's.
fn expectations(text: &str) -> BTreeSet<(u32, String)> {
    let mut out = BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(rules) = t.strip_prefix("# expect:") {
            pending.extend(rules.split(',').map(|r| r.trim().to_owned()));
        } else if !t.is_empty() && !t.starts_with('#') {
            for r in pending.drain(..) {
                out.insert((i as u32 + 1, r));
            }
        }
    }
    out
}

#[test]
fn golden_lint() {
    insta::glob!("../../testdata/lint", "*.Dockerfile", |path| {
        let (text, report) = lint_file(path);
        let got: BTreeSet<(u32, String)> = report
            .findings
            .iter()
            .filter(|f| report.sources.index_of(f.span) == 0)
            // The instruction's first line (NoEmptyContinuation's span is its last line, as
            // upstream places it; its text at fault starts the instruction).
            .map(|f| {
                let line = report.lines(f.span).1.min(report.lines(f.at).1);
                (line, f.rule.name.to_owned())
            })
            .collect();
        assert_eq!(
            got,
            expectations(&text),
            "{}: findings (line, rule) differ from the # expect: comments",
            path.display()
        );
        insta::assert_json_snapshot!(report.located());
    });
}

/// The gateway hands lint the build's parse, `IF`/`FOR` expansion, stages and plan instead
/// of letting it make its own: the report must not change.
#[test]
fn lint_given_the_builds_pass_reports_the_same() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/lint");
    let mut reused = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "Dockerfile") {
            continue;
        }
        let (text, own) = lint_file_with(&path, false);
        let opts = options_for(&path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let loader = DirLoader(path.parent().unwrap().to_path_buf());
        if strata::pipeline::prepare_with(&text, &name, &opts, &loader).is_err() {
            continue;
        }
        reused += 1;
        let (_, given) = lint_file_with(&path, true);
        assert_eq!(
            serde_json::to_value(given.located()).unwrap(),
            serde_json::to_value(own.located()).unwrap(),
            "{}",
            path.display()
        );
        assert_eq!(
            given.error.map(|e| e.to_string()),
            own.error.map(|e| e.to_string()),
            "{}",
            path.display()
        );
    }
    assert!(reused >= 20, "only {reused} fixtures prepare");
}

#[test]
fn every_rule_has_a_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/lint");
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    for rule in lint::rules::ALL {
        // Needs a resolved image: `invalid_base_image_platform_needs_the_resolved_image`.
        if rule.name == "InvalidBaseImagePlatform" {
            continue;
        }
        assert!(
            all.contains(&format!("# expect: {}", rule.name))
                || all.contains(&format!(", {}", rule.name)),
            "no fixture expects {}",
            rule.name
        );
    }
}

#[test]
fn invalid_base_image_platform_needs_the_resolved_image() {
    use strata::convert::{BaseImage, BaseImages};
    use strata::image::Image;
    let text = "FROM busybox:local AS a\nRUN true\nFROM arm:only AS b\nCOPY --from=a / /\nFROM empty:arm\nCOPY --from=b / /\n";
    let opts = BuildOptions::new(Platform::linux_amd64());
    let image = |arch: &str, layers: usize| {
        let mut config = Image {
            os: "linux".into(),
            architecture: arch.into(),
            ..Default::default()
        };
        config.rootfs.diff_ids = vec!["sha256:0".into(); layers];
        BaseImage {
            digest: None,
            config,
            raw: Vec::new(),
        }
    };
    let amd = Platform::linux_amd64();
    let images: BaseImages = [
        (
            ("busybox:local".to_owned(), amd.clone()),
            image("x86_64", 1),
        ),
        (("arm:only".to_owned(), amd.clone()), image("aarch64", 1)),
        (("empty:arm".to_owned(), amd.clone()), image("arm64", 0)),
    ]
    .into_iter()
    .collect();
    let lint_with = |images: &BaseImages, target: Option<&str>| {
        let mut opts = opts.clone();
        opts.target = target.map(str::to_owned);
        let report = lint::lint(&Input {
            text,
            filename: "Dockerfile",
            loader: &strata::includes::NoFiles,
            opts: &opts,
            images,
            all_stages: true,
            prepared: None,
        });
        report
            .findings
            .iter()
            .map(|f| (report.lines(f.span).1, f.rule.name, f.message.clone()))
            .collect::<Vec<_>>()
    };
    // The arm64-only image in the stage the target needs; x86_64 is amd64; an image
    // without layers is scratch to upstream.
    assert_eq!(lint_with(&images, Some("a")), []);
    assert_eq!(
        lint_with(&images, None),
        [(
            3,
            "InvalidBaseImagePlatform",
            "Base image arm:only was pulled with platform \"linux/arm64\", expected \"linux/amd64\" for current build".to_owned()
        )]
    );
    // Offline (no resolved image) it never fires.
    assert!(lint_with(&BaseImages::new(), None).is_empty());
}

#[test]
fn error_true_fails_at_the_first_finding_naming_every_rule() {
    let text = "# check=error=true\nFROM busybox:local as x\nCMD echo hi\n";
    let report = lint::lint(&Input {
        text,
        filename: "Dockerfile",
        loader: &strata::includes::NoFiles,
        opts: &BuildOptions::new(Platform::linux_amd64()),
        images: &Default::default(),
        all_stages: true,
        prepared: None,
    });
    let e = report.violation().unwrap();
    assert_eq!(
        e.to_string(),
        "lint violation found for rules: FromAsCasing, JSONArgsRecommended"
    );
    assert_eq!(report.lines(e.span().unwrap()).1, 2);
    assert!(report
        .findings
        .iter()
        .all(|f| f.severity == lint::Severity::Error));
}

#[test]
fn the_subrequest_answer_has_upstreams_shape() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/lint");
    let (_, report) = lint_file(&dir.join("include-unused.Dockerfile"));
    let v = serde_json::to_value(strata::subrequest::lint::results(&report)).unwrap();
    let w = &v["warnings"][0];
    assert_eq!(w["ruleName"], "UnusedInclude");
    assert_eq!(w["location"]["ranges"][0]["start"]["line"], 4);
    assert!(w["location"].get("sourceIndex").is_none(), "0 is omitted");
    assert_eq!(v["sources"][0]["filename"], "include-unused.Dockerfile");
    assert_eq!(v["sources"][0]["language"], "Dockerfile");
    assert!(v.get("buildError").is_none());
}
