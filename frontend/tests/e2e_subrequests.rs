//! End-to-end subrequests: `docker buildx build --call=…` (buildx ≥ 0.15; on buildx 0.13.1
//! `BUILDX_EXPERIMENTAL=1 … --print=…`) answered by Strata and by BuildKit's builtin
//! frontend.
//!
//! - Plain Dockerfiles of `testdata/subrequests/` (`outline-*.Dockerfile`) are asked
//!   `outline`, `targets` and `subrequests.describe` of BuildKit's builtin frontend and of
//!   Strata (`--build-arg BUILDKIT_SYNTAX=$STRATA_IMAGE`); the JSON answers must be equal
//!   byte for byte and so must the text buildx prints (`subrequests.describe`: Strata also
//!   lists lint and graph, which upstream does not list; see [`e2e_graph_call`]).
//! - `--call=graph` (Strata's `frontend.graph`): the text and JSON `strata graph` gives
//!   offline; the builtin refuses it ([`e2e_graph_call`]).
//! - Dockerfiles using Strata's extensions (`targets-*.Dockerfile`: INCLUDE, IF/FOR,
//!   parameterised stages) are asked Strata only; its answer must be the one the offline
//!   pipeline gives (the golden tests in `subrequests.rs` pin that one).
//! - Lint (`--call=check`, the `frontend.lint` subrequest): BuildKit 0.13's builtin frontend
//!   refuses it ("unsupported request"); on a current daemon (Docker ≥ 27, builtin ≈
//!   docker/dockerfile 1.19) the plain lint fixtures (`testdata/lint/`, [`LINT_PLAIN`]) and
//!   every `testdata/compat/` case are asked `check`, `outline` and `targets` of both
//!   frontends: stdout (the JSON and buildx's text) and the exit status must be equal. The
//!   lint fixtures that differ from 1.19 on purpose ([`LINT_OWN`]: Strata's rules and
//!   extensions, rules changed after 1.19) are compared with the offline answer.
//!
//! Options for a fixture come from its `<case>.args` file (a compat case's `args`), as in
//! the golden tests. Needs the test bed and the image: `make testbed image`, then `make e2e`.

#![allow(clippy::unwrap_used)] // test helpers, not library code

mod e2e_graph_call;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use strata::includes::DirLoader;
use strata::options::BuildOptions;
use strata::platform::Platform;
use strata::subrequest::{self, Request};

/// Lint fixtures both frontends must answer alike: no Strata extension or rule, and only
/// rules whose behaviour is the same in docker/dockerfile 1.19 and 1.26.
const LINT_PLAIN: &[&str] = &[
    "build-error",
    "check-bad",
    "check-error",
    "cmd-tool-copied",
    "cmd-tool-installed",
    "copy-ignored-negated",
    "definition-description",
    "expose",
    "json-args",
    "key-value",
    "stage-names",
    "target-stages",
    "undefined-var",
    "workdir",
];

/// Lint fixtures Strata answers differently from the 1.19 builtin, on purpose: Strata's own
/// rules and extensions, per-instruction `# check=` comments (1.21), `CopyIgnoredFile`
/// stable and cleaning paths (1.21–1.26); and two whose base images the test bed does not
/// have (the builtin resolves them, Strata's `--call=check` does not), and one whose
/// `# syntax=strata:dev` would send the builtin's request to Strata.
const LINT_OWN: &[&str] = &[
    "clean",
    "cmd-tool-unknown-image",
    "from-args",
    "blocks",
    "casing",
    "check-skip",
    "cmd-tool-alpine-bash",
    "cmd-tool-debian",
    "cmd-tool-scratch",
    "cmd-tool-shell-scratch",
    "cmd-tool-target",
    "copy-ignored",
    "definition-description-off",
    "include-unused",
];

/// A Dockerfile to ask about: its directory (the build context), its file name there, and
/// the extra buildx arguments of its case.
struct Fixture {
    dir: PathBuf,
    dockerfile: String,
    args: Vec<String>,
    /// What a failure calls it.
    name: String,
}

fn testdata(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(sub)
}

/// One argument per line, empty lines skipped.
fn arg_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `testdata/<sub>/<case>.Dockerfile` with its `<case>.args`.
fn fixture(sub: &str, case: &str) -> Fixture {
    let dir = testdata(sub);
    Fixture {
        args: arg_lines(&dir.join(format!("{case}.args"))),
        dockerfile: format!("{case}.Dockerfile"),
        dir,
        name: format!("{sub}/{case}"),
    }
}

/// `testdata/compat/<case>/` with its `args` (which may name another Dockerfile by `-f`).
fn compat(case: &str) -> Fixture {
    let dir = testdata("compat").join(case);
    let mut args = arg_lines(&dir.join("args"));
    let mut dockerfile = "Dockerfile".to_owned();
    if let Some(i) = args.iter().position(|a| a == "-f") {
        dockerfile = args.get(i + 1).cloned().unwrap_or(dockerfile);
        args.drain(i..(i + 2).min(args.len()));
    }
    Fixture {
        dir,
        dockerfile,
        args,
        name: format!("compat/{case}"),
    }
}

/// Whether buildx has `--call` (0.15 and later); else `--print` under `BUILDX_EXPERIMENTAL`.
fn buildx_has_call() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        Command::new("docker")
            .args(["buildx", "build", "--help"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--call"))
    })
}

/// Whether the daemon's builtin frontend answers lint: Docker 27 and later (BuildKit
/// ≥ 0.14); the oldest test bed daemon, 26.1 (BuildKit 0.13), does not.
fn builtin_has_lint() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        let out = Command::new("docker")
            .args(["version", "--format", "{{.Server.Version}}"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run docker version: {e}"));
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("unexpected daemon version {version:?}"));
        major >= 27
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Frontend {
    Builtin,
    Strata,
}

/// What buildx wrote: exit status, stdout (the answer) and stderr (progress, errors).
struct Printed {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Printed {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// `docker buildx build --call=<what>` (`check` is `lint` under `--print`) of `fx`.
fn ask(fx: &Fixture, frontend: Frontend, what: &str) -> Printed {
    let mut cmd = Command::new("docker");
    cmd.args(["buildx", "build", "--progress=plain"]);
    if buildx_has_call() {
        cmd.arg(format!("--call={what}"));
    } else {
        let what = what.replacen("check", "lint", 1);
        cmd.env("BUILDX_EXPERIMENTAL", "1")
            .arg(format!("--print={what}"));
    }
    cmd.args(&fx.args).arg("-f").arg(&fx.dockerfile);
    if frontend == Frontend::Strata {
        cmd.arg("--build-arg")
            .arg(format!("BUILDKIT_SYNTAX={}", support::strata_image()));
    }
    let out = cmd
        .arg(".")
        .current_dir(&fx.dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker buildx: {e}"));
    Printed {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `print` for a `testdata/subrequests/` fixture.
fn print(case: &str, frontend: Frontend, what: &str) -> Printed {
    ask(&fixture("subrequests", case), frontend, what)
}

/// Asks both frontends and requires equal answers (JSON and text); `request` must succeed.
fn same_as_builtin(case: &str, request: &str) {
    let fx = fixture("subrequests", case);
    for what in [format!("{request},format=json"), request.to_owned()] {
        let builtin = ask(&fx, Frontend::Builtin, &what);
        assert!(builtin.ok(), "builtin --call={what}: {}", builtin.stderr);
        let strata = ask(&fx, Frontend::Strata, &what);
        assert!(strata.ok(), "strata --call={what}: {}", strata.stderr);
        assert!(
            strata.stderr.contains(support::strata_image()),
            "the answer came from Strata's image: {}",
            strata.stderr
        );
        assert!(!strata.stdout.trim().is_empty(), "an answer was printed");
        assert_eq!(
            strata.stdout, builtin.stdout,
            "{case}: --call={what} differs from the builtin frontend's"
        );
    }
}

/// How `fx` answered `what` differently in the two frontends (stdout or exit status), if
/// it did. Strata's answer must come from Strata's image.
fn differs(fx: &Fixture, what: &str) -> Option<String> {
    let strata = ask(fx, Frontend::Strata, what);
    // The builtin's outline orders the args of one `ARG a b c` line at random (a map, then
    // an unstable sort by line): Strata's answer must be one of the builtin's.
    let mut diff = differs_from(fx, what, &strata, &ask(fx, Frontend::Builtin, what));
    for _ in 0..5 {
        if diff.is_none() {
            break;
        }
        diff = differs_from(fx, what, &strata, &ask(fx, Frontend::Builtin, what));
    }
    diff
}

/// How two answers of `what` differ, if they do (see [`differs`]).
fn differs_from(fx: &Fixture, what: &str, strata: &Printed, builtin: &Printed) -> Option<String> {
    assert!(
        strata.stderr.contains(support::strata_image()),
        "{}: the answer came from Strata's image: {}",
        fx.name,
        strata.stderr
    );
    let (mut got, mut want) = (strata.stdout.clone(), builtin.stdout.clone());
    if what.starts_with("check,format=json") {
        got = without_definitions(&got);
        want = without_definitions(&want);
    }
    if got == want && strata.code == builtin.code {
        return None;
    }
    Some(format!(
        "{} --call={what}: exit {:?} (builtin {:?})\n--- strata stdout\n{}--- builtin stdout\n{}--- strata stderr (tail)\n{}\n--- builtin stderr (tail)\n{}",
        fx.name,
        strata.code,
        builtin.code,
        strata.stdout,
        builtin.stdout,
        tail(&strata.stderr),
        tail(&builtin.stderr)
    ))
}

/// A lint JSON answer without its sources' `definition`s: the builtin puts there the LLB
/// that loaded the Dockerfile, whose `local.session` is new on every build (so two builtin
/// answers differ too); Strata sends none. Everything else is compared byte for byte.
fn without_definitions(json: &str) -> String {
    let mut out = String::new();
    let mut skipping: Option<String> = None;
    for line in json.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        if let Some(indent) = &skipping {
            if body == format!("{indent}}},") || body == format!("{indent}}}") {
                skipping = None;
            }
            continue;
        }
        let trimmed = body.trim_start();
        if trimmed.starts_with("\"definition\": {") {
            skipping = Some(body[..body.len() - trimmed.len()].to_owned());
            continue;
        }
        out.push_str(line);
    }
    out
}

/// The last lines of a log, where buildx puts its error.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// Fixtures whose outline follows docker/dockerfile ≥ 1.8 (ONBUILD trigger args, an outline
/// failing on `# check=`), which BuildKit 0.13's builtin predates: there, Strata's outline
/// is compared with the offline answer instead.
const NEWER_OUTLINE: &[&str] = &[
    "lint/check-bad",
    "lint/check-error",
    "compat/onbuild-stage",
    "subrequests/outline-onbuild",
];

/// Every fixture asked every request in both frontends; all differences reported at once.
fn all_same_as_builtin(fixtures: &[Fixture], requests: &[&str]) {
    let mut diffs = Vec::new();
    for fx in fixtures {
        for request in requests {
            if *request == "outline"
                && !builtin_has_lint()
                && NEWER_OUTLINE.contains(&fx.name.as_str())
            {
                diffs.extend(outline_differs_from_offline(fx));
                continue;
            }
            for what in [format!("{request},format=json"), (*request).to_owned()] {
                diffs.extend(differs(fx, &what));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} answer(s) differ from the builtin frontend's:\n\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

/// How Strata's `--call=outline,format=json` of `fx` differs from the offline answer (an
/// outline that fails offline must fail).
fn outline_differs_from_offline(fx: &Fixture) -> Option<String> {
    let printed = ask(fx, Frontend::Strata, "outline,format=json");
    let mut opts = BTreeMap::new();
    opts.insert(
        "build-arg:BUILDKIT_SYNTAX".to_owned(),
        support::strata_image().to_owned(),
    );
    let opts = BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").unwrap();
    let text = std::fs::read_to_string(fx.dir.join(&fx.dockerfile)).unwrap();
    let loader = DirLoader(fx.dir.clone());
    match subrequest::answer(Request::Outline, &text, &fx.dockerfile, &opts, &loader) {
        Ok(r) if printed.stdout.trim_end() == String::from_utf8_lossy(&r.json) => None,
        Err(_) if !printed.ok() => None,
        _ => Some(format!(
            "{} --call=outline differs from the offline answer:\n{}",
            fx.name, printed.stdout
        )),
    }
}

/// Strata's JSON answer for an extension fixture, against the offline pipeline's.
fn same_as_offline(case: &str, request: Request, name: &str) {
    let fx = fixture("subrequests", case);
    let printed = ask(&fx, Frontend::Strata, &format!("{name},format=json"));
    assert!(printed.ok(), "strata --call={name}: {}", printed.stderr);
    let offline = String::from_utf8(offline_answer(&fx, request).json).unwrap();
    assert_eq!(
        printed.stdout.trim_end(),
        offline,
        "{case}: --call={name} differs from the offline answer"
    );
}

/// The answer the offline pipeline gives for `fx`, with the options buildx sends (and its
/// `<Dockerfile>.dockerignore`, as BuildKit picks it).
fn offline_answer(fx: &Fixture, request: Request) -> subrequest::Reply {
    let mut opts = BTreeMap::new();
    for pair in fx.args.chunks(2) {
        match pair {
            [flag, value] if flag == "--target" => {
                opts.insert("target".to_owned(), value.clone());
            }
            [flag, value] if flag == "--build-arg" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                opts.insert(format!("build-arg:{k}"), v.to_owned());
            }
            other => panic!("{}: unexpected {other:?}", fx.name),
        }
    }
    // buildx passes BUILDKIT_SYNTAX on as a build arg; no fixture reads it.
    opts.insert(
        "build-arg:BUILDKIT_SYNTAX".to_owned(),
        support::strata_image().to_owned(),
    );
    let mut opts = BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").unwrap();
    let ignore = fx.dir.join(format!("{}.dockerignore", fx.dockerfile));
    if let Ok(text) = std::fs::read_to_string(ignore) {
        opts.dockerignore = strata::pipeline::dockerignore_patterns(&text);
    }
    let text = std::fs::read_to_string(fx.dir.join(&fx.dockerfile)).unwrap();
    subrequest::answer(
        request,
        &text,
        &fx.dockerfile,
        &opts,
        &DirLoader(fx.dir.clone()),
    )
    .unwrap_or_else(|(e, _)| panic!("{}: {e}", fx.name))
}

#[test]
fn outline_basic_matches_builtin() {
    same_as_builtin("outline-basic", "outline");
}

#[test]
fn outline_deps_matches_builtin() {
    same_as_builtin("outline-deps", "outline");
}

#[test]
fn outline_target_matches_builtin() {
    same_as_builtin("outline-target", "outline");
}

#[test]
fn outline_onbuild_matches_builtin() {
    if builtin_has_lint() {
        same_as_builtin("outline-onbuild", "outline");
    } else {
        // BuildKit 0.13's outline predates trigger args (see NEWER_OUTLINE).
        same_as_offline("outline-onbuild", Request::Outline, "outline");
    }
}

#[test]
fn targets_match_builtin() {
    for case in [
        "outline-basic",
        "outline-deps",
        "outline-target",
        "outline-onbuild",
    ] {
        same_as_builtin(case, "targets");
    }
}

#[test]
fn lint_on_buildkit_0_13_is_answered_by_strata_only() {
    if builtin_has_lint() {
        // A current daemon: `lint_plain_fixtures_match_builtin` compares instead.
        let printed = print("outline-basic", Frontend::Builtin, "check,format=json");
        assert!(
            printed.stdout.contains("\"warnings\""),
            "{}",
            printed.stderr
        );
        return;
    }
    let printed = print("outline-basic", Frontend::Builtin, "check");
    assert!(!printed.ok(), "BuildKit 0.13 has no lint");
    assert!(
        printed.stderr.contains("unsupported request frontend.lint"),
        "{}",
        printed.stderr
    );
    let offline = offline_answer(&fixture("subrequests", "lint-findings"), Request::Lint);
    assert_eq!(offline.extra["result.statuscode"], b"1");
    if buildx_has_call() {
        // buildx ≥ 0.15 prints lint itself from `result.json`.
        lint_is_offline(&fixture("subrequests", "lint-findings"));
        return;
    }
    // buildx 0.13.1 does not know lint's answer: it prints `result.txt` (upstream's
    // printer), even with format=json.
    let printed = print("lint-findings", Frontend::Strata, "check");
    assert!(printed.ok(), "strata --print=lint: {}", printed.stderr);
    let text = String::from_utf8(offline.text).unwrap();
    assert!(text.contains("WARNING: FromAsCasing"), "{text}");
    assert_eq!(printed.stdout.trim_end(), text.trim_end());
}

/// Strata's `--call=check,format=json` for `fx` is the offline answer (buildx ≥ 0.15).
fn lint_is_offline(fx: &Fixture) {
    let printed = ask(fx, Frontend::Strata, "check,format=json");
    let offline = offline_answer(fx, Request::Lint);
    assert_eq!(
        printed.stdout.trim_end(),
        String::from_utf8(offline.json).unwrap(),
        "{}: --call=check differs from the offline answer: {}",
        fx.name,
        tail(&printed.stderr)
    );
}

/// The requests both frontends answer: lint only when the builtin has it.
fn comparable() -> &'static [&'static str] {
    if builtin_has_lint() {
        &["check", "outline", "targets"]
    } else {
        &["outline", "targets"]
    }
}

/// `--call=check|outline|targets` of the plain lint fixtures: as the builtin's, byte for
/// byte (JSON and text) with the same exit status.
/// (On BuildKit 0.13, whose builtin has no lint: outline and targets as the builtin's, and
/// `--call=check` as the offline answer when buildx has `--call`.)
#[test]
fn lint_plain_fixtures_match_builtin() {
    let fixtures: Vec<Fixture> = LINT_PLAIN.iter().map(|c| fixture("lint", c)).collect();
    all_same_as_builtin(&fixtures, comparable());
    if !builtin_has_lint() && buildx_has_call() {
        fixtures.iter().for_each(lint_is_offline);
    }
}

/// `CopyIgnoredFile` is experimental in the 1.19 builtin: asked for, it reports the same
/// on a fixture whose sources are already clean paths.
#[test]
fn copy_ignored_file_matches_builtin_when_enabled() {
    if !builtin_has_lint() {
        // BuildKit 0.13: the builtin has no lint; Strata's answer is the offline one.
        if buildx_has_call() {
            lint_is_offline(&fixture("lint", "copy-ignored"));
        }
        let printed = ask(&fixture("lint", "copy-ignored"), Frontend::Builtin, "check");
        assert!(
            printed.stderr.contains("unsupported request frontend.lint"),
            "{}",
            printed.stderr
        );
        return;
    }
    let mut fx = fixture("lint", "copy-ignored");
    fx.args = vec![
        "--build-arg".to_owned(),
        "BUILDKIT_DOCKERFILE_CHECK=experimental=CopyIgnoredFile".to_owned(),
        "--target".to_owned(),
        "build".to_owned(),
    ];
    // Sources written clean except `target/` of the last stage, which --target leaves out;
    // `COPY --from` and the `# check=skip=` comment (1.21) are left: compare the JSON only
    // for the findings both versions make.
    let builtin = ask(&fx, Frontend::Builtin, "check,format=json");
    let strata = ask(&fx, Frontend::Strata, "check,format=json");
    let rules = |p: &Printed| -> Vec<(String, String)> {
        let v: serde_json::Value = serde_json::from_str(&p.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", p.stdout, p.stderr));
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["ruleName"].as_str().unwrap().to_owned(),
                    w["detail"].as_str().unwrap().to_owned(),
                )
            })
            .filter(|(_, d)| !d.contains("\"target"))
            .collect()
    };
    assert_eq!(rules(&strata), rules(&builtin));
    assert!(rules(&strata).iter().any(|(r, _)| r == "CopyIgnoredFile"));
}

/// Strata's lint answer for the fixtures that differ from 1.19 on purpose is the offline one.
#[test]
fn lint_own_fixtures_match_offline() {
    assert!(
        buildx_has_call(),
        "buildx 0.13 prints lint's result.txt: see lint_on_buildkit_0_13…"
    );
    for case in LINT_OWN {
        lint_is_offline(&fixture("lint", case));
    }
}

/// Every compat case (but those needing a prebuilt base image or naming a `# syntax=`
/// image): `--call=check|outline|targets` as the builtin's (no `check` on BuildKit 0.13).
#[test]
fn compat_cases_match_builtin() {
    let mut cases: Vec<String> = std::fs::read_dir(testdata("compat"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Dockerfile").exists() || p.join("args").exists())
        .filter(|p| !p.join("base").exists())
        // A `# syntax=` line sends the builtin's request to that image instead.
        .filter(|p| {
            let text = std::fs::read_to_string(p.join("Dockerfile")).unwrap_or_default();
            !text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start()
                .starts_with("# syntax=")
        })
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    // Cases of docker/dockerfile 1.20+ syntax the builtin (≈1.19) refuses: lint as offline.
    let (newer, plain): (Vec<String>, Vec<String>) = cases.into_iter().partition(|c| {
        std::fs::read_to_string(testdata("compat").join(c).join("expect"))
            .is_ok_and(|t| t.lines().any(|l| l.starts_with("strata-only:")))
    });
    assert!(
        !newer.is_empty() && !plain.is_empty(),
        "{newer:?} {plain:?}"
    );
    let fixtures: Vec<Fixture> = plain.iter().map(|c| compat(c)).collect();
    all_same_as_builtin(&fixtures, comparable());
    if buildx_has_call() {
        newer.iter().for_each(|c| lint_is_offline(&compat(c)));
    }
}

#[test]
fn targets_of_extensions_match_offline() {
    for case in [
        "targets-include",
        "targets-templates",
        "targets-params-default",
    ] {
        same_as_offline(case, Request::Targets, "targets");
    }
}

#[test]
fn outline_of_extensions_matches_offline() {
    for case in [
        "targets-include",
        "targets-templates",
        "targets-params-default",
    ] {
        same_as_offline(case, Request::Outline, "outline");
    }
}
