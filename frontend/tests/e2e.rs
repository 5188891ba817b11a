//! End-to-end: real `docker buildx build` runs, Strata against BuildKit's builtin frontend.
//!
//! Every directory `testdata/e2e/<case>/` with a `Dockerfile` is built twice, once by the
//! builtin frontend and once by Strata (`--build-arg BUILDKIT_SYNTAX=$STRATA_IMAGE`, or the
//! case's own `# syntax=` line), and the two results must agree: the exported rootfs tars
//! entry by entry (everything but mtimes) and the image config and history of `--load`ed
//! images (history on Docker ≥ 28 only: older builtins predate docker/dockerfile 1.26's forms).
//! Optional files in a case:
//!   `args`    one extra `docker buildx build` argument per line (both builds get them)
//!   `expect`  `log-contains: <text>` / `log-lacks: <text>` on Strata's progress log
//!   `base/`   a Dockerfile built first (builtin frontend) and loaded as
//!             `strata-e2e-base/<case>`, for cases about inheriting an image's config
//!   `expect`  `context: <dir>`: build that directory (relative to the case) as the context
//!             with the case's Dockerfile, so cases share one app instead of copies of it
//!   `expect`  `strata-only: <why>`: an extension case (INCLUDE, CHECK, …) the builtin
//!             frontend cannot build; built by Strata alone, then `present: <path>` /
//!             `absent: <path>` / `link: <path> -> <target>` (a symlink) are checked in
//!             its exported rootfs
//!   `expect`  `git-daemon: <dir>`: the case's `<dir>` becomes a git repository (tag `v1`,
//!             branch `dev`), served by `git daemon` on 127.0.0.1 for the case's builds
//!             (both get `--build-arg GIT_URL=git://127.0.0.1:<port>/repo.git` and
//!             `GIT_COMMIT=<v1's commit>`), stopped after
//!   `expect`  `file: <path> <field>=<value>…`: an entry of Strata's exported rootfs (any
//!             case) has these fields: `type`, `mode` (octal), `uid`, `gid`, `size`,
//!             `sha256` (of the content), `link`, `mtime` (Unix seconds)
//!   `expect`  `config: <dotted.path>=<json>`: Strata's `--load`ed image, as `docker image
//!             inspect` shows it, has this value (`Created="2023-11-14T22:13:20Z"`,
//!             `Config.Env=[…]`); for behaviour the builtin frontend (≈1.19) lacks
//! `testdata/compat/<case>/` (same conventions) is the compatibility suite: every instruction,
//! flag and parser rule; each case is a `compat_<case>` test going through the same `check_case`.
//! `testdata/e2e/errors/<case>/` holds builds Strata must reject: `expect` has
//! `fails-with: <text>` and `line: N` (buildx's `Dockerfile:N` snippet header; `file: <name>`
//! when the snippet is of another file, e.g. an INCLUDEd one).
//!
//! Needs the test bed: `make testbed image`, then `make e2e`. Missing pieces fail the tests.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
use support::rootfs::{diff_maps, rootfs};
use support::Scratch;

use serde_json::Value;

/// One `docker buildx build` may take this long before the test gives up on it.
const BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// The `.Config` fields of `docker image inspect` both frontends must agree on.
const CONFIG_FIELDS: &[&str] = &[
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Labels",
    "Volumes",
    "StopSignal",
    "Healthcheck",
    "Shell",
    "OnBuild",
];

macro_rules! cases {
    ($list:ident, $check:ident, $root:ident: $($test:ident => $dir:literal),* $(,)?) => {
        const $list: &[&str] = &[$($dir),*];
        $(
            #[test]
            fn $test() {
                $check(&$root().join($dir));
            }
        )*
    };
}

cases! {
    CASES, check_case, e2e_dir:
    multistage => "multistage",
    target => "target",
    build_arg => "build-arg",
    copy_from_image => "copy-from-image",
    base_config => "base-config",
    syntax_line => "syntax-line",
    copy_rules => "copy-rules",
    run_forms => "run-forms",
    unused_stage_errors => "unused-stage-errors",
    onbuild => "onbuild",
    onbuild_image => "onbuild-image",
    image_inherit => "image-inherit",
    context_special => "context-special",
    config_forms => "config-forms",
    platform_args => "platform-args",
    workdir_user => "workdir-user",
    add_local => "add-local",
    dockerignore_negation => "dockerignore-negation",
    copy_heredoc => "copy-heredoc",
    expansion => "expansion",
    mounts => "mounts",
    escape_directive => "escape-directive",
    clear_config => "clear-config",
    copy_link_from => "copy-link-from",
    include_nested => "include-nested",
    check_pass => "check-pass",
    check_unreachable => "check-unreachable",
    calculator_broken => "calculator-broken",
    calculator_fixed => "calculator-fixed",
    entrypoint_elf_interp => "entrypoint-elf-interp",
    compat_onbuild_image => "compat-onbuild-image",
    compat_add_remote => "compat-add-remote",
    compat_named_contexts => "compat-named-contexts",
    compat_multi_platform_arg => "compat-multi-platform-arg",
    compat_run_options => "compat-run-options",
    compat_arg_redeclare => "compat-arg-redeclare",
    template_if => "template-if",
    template_for => "template-for",
    template_params => "template-params",
    template_params_target => "template-params-target",
    lint_warnings => "lint-warnings",
    copy_deps => "copy-deps",
}

cases! {
    COMPAT_CASES, check_case, compat_dir:
    compat_add_git_query => "add-git-query",
    compat_add_local_archives => "add-local-archives",
    compat_add_unpack => "add-unpack",
    compat_add_url => "add-url",
    compat_arg_buildkit_args => "arg-buildkit-args",
    compat_arg_inherited => "arg-inherited",
    compat_arg_defaults_overrides => "arg-defaults-overrides",
    compat_arg_meta => "arg-meta",
    compat_arg_predefined_platform => "arg-predefined-platform",
    compat_arg_proxy => "arg-proxy",
    compat_arg_targetstage => "arg-targetstage",
    compat_build_opt_add_host => "build-opt-add-host",
    compat_build_opt_filename => "build-opt-filename",
    compat_build_opt_label_platform => "build-opt-label-platform",
    compat_build_opt_network_none => "build-opt-network-none",
    compat_build_opt_no_cache => "build-opt-no-cache",
    compat_build_opt_no_cache_filter => "build-opt-no-cache-filter",
    compat_build_opt_target => "build-opt-target",
    compat_cmd_base_interplay => "cmd-base-interplay",
    compat_cmd_base_interplay_both => "cmd-base-interplay-both",
    compat_cmd_base_interplay_cmd => "cmd-base-interplay-cmd",
    compat_cmd_entrypoint_shell => "cmd-entrypoint-shell",
    compat_cmd_shell_fallback => "cmd-shell-fallback",
    compat_continuation_comments => "continuation-comments",
    compat_continuation_eof => "continuation-eof",
    compat_copy_chmod => "copy-chmod",
    compat_copy_chmod_symbolic => "copy-chmod-symbolic",
    compat_copy_chown_names => "copy-chown-names",
    compat_copy_dir_rules => "copy-dir-rules",
    compat_copy_exclude => "copy-exclude",
    compat_copy_from_sources => "copy-from-sources",
    compat_copy_link => "copy-link",
    compat_copy_parents => "copy-parents",
    compat_copy_wildcards => "copy-wildcards",
    compat_debian_apt => "debian-apt",
    compat_debian_user_app => "debian-user-app",
    compat_directive_after_comment => "directive-after-comment",
    compat_directive_check => "directive-check",
    compat_directive_escape_backtick => "directive-escape-backtick",
    compat_directive_escape_case => "directive-escape-case",
    compat_directive_syntax_escape => "directive-syntax-escape",
    compat_dockerignore_patterns => "dockerignore-patterns",
    compat_duplicate_stage_name => "duplicate-stage-name",
    compat_empty_from_flag => "empty-from-flag",
    compat_env_syntaxes => "env-syntaxes",
    compat_expansion_edge => "expansion-edge",
    compat_expansion_forms => "expansion-forms",
    compat_expansion_quotes_escapes => "expansion-quotes-escapes",
    compat_expansion_which => "expansion-which",
    compat_expose_forms => "expose-forms",
    compat_from_platform => "from-platform",
    compat_healthcheck_none => "healthcheck-none",
    compat_healthcheck_options => "healthcheck-options",
    compat_healthcheck_reset_same_stage => "healthcheck-reset-same-stage",
    compat_heredoc_chomp_shebang => "heredoc-chomp-shebang",
    compat_heredoc_copy_add => "heredoc-copy-add",
    compat_heredoc_multi => "heredoc-multi",
    compat_heredoc_run => "heredoc-run",
    compat_heredoc_run_space => "heredoc-run-space",
    compat_json_and_shell_forms => "json-and-shell-forms",
    compat_label_inherit => "label-inherit",
    compat_label_options => "label-options",
    compat_maintainer => "maintainer",
    compat_maintainer_override => "maintainer-override",
    compat_named_context => "named-context",
    compat_named_context_image => "named-context-image",
    compat_onbuild_copy_from_stage => "onbuild-copy-from-stage",
    compat_onbuild_image_from => "onbuild-image-from",
    compat_onbuild_image_triggers => "onbuild-image-triggers",
    compat_onbuild_stage => "onbuild-stage",
    compat_run_mount_bind => "run-mount-bind",
    compat_run_mount_cache => "run-mount-cache",
    compat_run_mount_expansion => "run-mount-expansion",
    compat_run_mount_no_target => "run-mount-no-target",
    compat_run_mount_secret => "run-mount-secret",
    compat_run_mount_secret_env => "run-mount-secret-env",
    compat_run_mount_ssh => "run-mount-ssh",
    compat_run_mount_tmpfs => "run-mount-tmpfs",
    compat_run_network => "run-network",
    compat_run_network_host => "run-network-host",
    compat_run_security => "run-security",
    compat_shell_instruction => "shell-instruction",
    compat_source_date_epoch_arg => "source-date-epoch-arg",
    compat_stopsignal_forms => "stopsignal-forms",
    compat_user_forms => "user-forms",
    compat_volume_forms => "volume-forms",
    compat_workdir_creation => "workdir-creation",
}

cases! {
    ERROR_CASES, check_error_case, e2e_dir:
    error_unknown_instruction => "errors/unknown-instruction",
    error_failing_run => "errors/failing-run",
    error_missing_from => "errors/missing-from",
    error_copy_from_later_stage => "errors/copy-from-later-stage",
    error_onbuild_from_later_stage => "errors/onbuild-from-later-stage",
    error_from_stage_uppercase => "errors/from-stage-uppercase",
    error_healthcheck_type => "errors/healthcheck-type",
    error_add_from_flag => "errors/add-from-flag",
    error_bad_mount_option => "errors/bad-mount-option",
    error_bad_mount_sharing => "errors/bad-mount-sharing",
    error_bad_mount_type => "errors/bad-mount-type",
    error_copy_from_own_stage => "errors/copy-from-own-stage",
    error_copy_from_unknown_stage => "errors/copy-from-unknown-stage",
    error_copy_from_variable => "errors/copy-from-variable",
    error_copy_missing_source => "errors/copy-missing-source",
    error_duplicate_flag => "errors/duplicate-flag",
    error_empty_base_name => "errors/empty-base-name",
    error_mount_from_later_stage => "errors/mount-from-later-stage",
    error_mount_from_own_stage => "errors/mount-from-own-stage",
    error_mount_from_variable => "errors/mount-from-variable",
    error_onbuild_chained => "errors/onbuild-chained",
    error_unknown_flag => "errors/unknown-flag",
    error_unterminated_heredoc => "errors/unterminated-heredoc",
    error_add_checksum_local => "errors/add-checksum-local",
    error_add_parents => "errors/add-parents",
    error_secret_source_and_id => "errors/secret-source-and-id",
    error_include_cycle => "errors/include-cycle",
    error_include_error => "errors/include-error",
    error_include_missing => "errors/include-missing",
    error_check_fails => "errors/check-fails",
    error_calculator_strict => "errors/calculator-strict",
    error_strict_failing_run => "errors/strict-failing-run",
    error_compat_copy_url => "errors/compat-copy-url",
    error_lint_error_true => "errors/lint-error-true",
    error_deps_missing_path => "errors/deps-missing-path",
    error_deps_missing_library => "errors/deps-missing-library",
}

/// Every case directory on disk has a test above, so none is silently dropped.
#[test]
fn every_case_directory_has_a_test() {
    let listed: Vec<String> = CASES
        .iter()
        .chain(ERROR_CASES)
        .map(|d| (*d).to_owned())
        .chain(COMPAT_CASES.iter().map(|d| format!("compat:{d}")))
        .collect();
    let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
    let mut on_disk = case_dirs(&e2e_dir(), "");
    on_disk.extend(case_dirs(&e2e_dir().join("errors"), "errors/"));
    on_disk.extend(case_dirs(&compat_dir(), "compat:"));
    let missing: Vec<&String> = on_disk
        .iter()
        .filter(|d| !listed.contains(&d.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "case directories without a test in tests/e2e.rs: {missing:?}"
    );
    let stale: Vec<&&str> = listed
        .iter()
        .filter(|d| !on_disk.iter().any(|o| o == *d))
        .collect();
    assert!(
        stale.is_empty(),
        "tests naming case directories that do not exist (or lack a Dockerfile): {stale:?}"
    );
}

/// Subdirectories of `dir` that hold a `Dockerfile`, as `prefix` + name.
fn case_dirs(dir: &Path, prefix: &str) -> Vec<String> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut out: Vec<String> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.join("Dockerfile").is_file())
        .map(|p| {
            format!(
                "{prefix}{}",
                p.file_name().expect("named").to_string_lossy()
            )
        })
        .collect();
    out.sort();
    out
}

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/e2e")
}

/// The compatibility suite: same conventions as `testdata/e2e/`, one `compat_` test each.
fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/compat")
}

/// The frontend image under test; checked (once) together with docker, buildx and dockerd.
fn strata_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let image = support::strata_image_name();
        let hint = "run `make testbed image` first (or `make e2e`)";
        for (what, args) in [
            ("the docker CLI / dockerd", vec!["version"]),
            ("docker buildx", vec!["buildx", "version"]),
            (
                "the Strata frontend image",
                vec!["image", "inspect", "--format", "{{.Id}}", image.as_str()],
            ),
        ] {
            let out = Command::new("docker").args(&args).output();
            match out {
                Ok(o) if o.status.success() => {}
                Ok(o) => panic!(
                    "e2e: {what} is not available (`docker {}` failed: {}); {hint}",
                    args.join(" "),
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
                Err(e) => panic!("e2e: cannot run `docker`: {e}; {hint}"),
            }
        }
        image
    })
}

/// A case directory's optional files.
struct Case {
    dir: PathBuf,
    name: String,
    dockerfile: String,
    args: Vec<String>,
    expect: Vec<(String, String)>,
}

impl Case {
    fn load(dir: &Path) -> Case {
        let read = |f: &str| fs::read_to_string(dir.join(f)).ok();
        let dockerfile =
            read("Dockerfile").unwrap_or_else(|| panic!("{}: no Dockerfile", dir.display()));
        let lines = |text: Option<String>| -> Vec<String> {
            text.unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect()
        };
        let expect = lines(read("expect"))
            .into_iter()
            .map(|l| {
                let (k, v) = l
                    .split_once(':')
                    .unwrap_or_else(|| panic!("{}/expect: bad line {l:?}", dir.display()));
                let key = k.trim().to_owned();
                let known = [
                    "log-contains",
                    "log-lacks",
                    "fails-with",
                    "line",
                    "file",
                    "strata-only",
                    "present",
                    "absent",
                    "link",
                    "context",
                    "git-daemon",
                    "file",
                    "config",
                ];
                assert!(
                    known.contains(&key.as_str()),
                    "{}/expect: unknown key {key:?}",
                    dir.display()
                );
                (key, v.trim().to_owned())
            })
            .collect();
        let name = match dir.strip_prefix(e2e_dir()) {
            Ok(rel) => rel.to_string_lossy().replace('/', "-"),
            Err(_) => format!(
                "compat-{}",
                dir.strip_prefix(compat_dir())
                    .unwrap_or(dir)
                    .to_string_lossy()
                    .replace('/', "-")
            ),
        };
        Case {
            dir: dir.to_owned(),
            name,
            dockerfile,
            args: lines(read("args")),
            expect,
        }
    }

    /// The image named by a `# syntax=` first line, if any.
    fn syntax_line(&self) -> Option<&str> {
        let first = self.dockerfile.lines().next()?;
        let rest = first.strip_prefix('#')?.trim_start();
        let value = rest
            .strip_prefix("syntax")?
            .trim_start()
            .strip_prefix('=')?;
        Some(value.trim())
    }

    fn expected(&self, key: &str) -> Vec<&str> {
        self.expect
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Images `--load`ed by a test, removed on drop (also when the test fails).
struct LoadedImages(Vec<String>);

impl Drop for LoadedImages {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = Command::new("docker")
                .args(["image", "rm", "-f"])
                .args(&self.0)
                .output();
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Frontend {
    Builtin,
    Strata,
}

impl Frontend {
    fn name(self) -> &'static str {
        match self {
            Frontend::Builtin => "builtin",
            Frontend::Strata => "strata",
        }
    }
}

/// How a build ended: success and the combined progress output.
struct Build {
    ok: bool,
    log: String,
}

/// Runs `docker buildx build` for `case` with `frontend`; `output` is the exporter args.
fn build(case: &Case, frontend: Frontend, output: &[String], scratch: &Path) -> Build {
    let mut cmd = Command::new("docker");
    cmd.args(["buildx", "build", "--progress=plain"])
        .args(&case.args)
        .args(output);
    match (frontend, case.syntax_line()) {
        (Frontend::Strata, None) => {
            cmd.arg("--build-arg")
                .arg(format!("BUILDKIT_SYNTAX={}", strata_image()));
        }
        (Frontend::Strata, Some(_)) => {}
        (Frontend::Builtin, Some(_)) => {
            // The builtin frontend would hand the build to the `# syntax=` image: drop the line.
            let body = case
                .dockerfile
                .split_once('\n')
                .map_or("", |(_, rest)| rest);
            let copy = scratch.join("Dockerfile.builtin");
            fs::write(&copy, body).expect("write Dockerfile copy");
            cmd.arg("-f").arg(copy);
        }
        (Frontend::Builtin, None) => {}
    }
    // `context: <dir>` builds another directory (relative to the case) with the case's
    // Dockerfile, so cases can share one app instead of copying it.
    let context = match case.expected("context").first() {
        Some(dir) => {
            if !(frontend == Frontend::Builtin && case.syntax_line().is_some()) {
                cmd.arg("-f").arg(case.dir.join("Dockerfile"));
            }
            case.dir.join(dir)
        }
        None => PathBuf::from("."),
    };
    // Relative paths in `args` (say `--secret id=s,src=file`) are the case directory's.
    cmd.arg(context).current_dir(&case.dir);
    run_logged(cmd, &scratch.join(format!("{}.log", frontend.name())))
}

/// Runs `cmd` with its output into `log_path`, killed after [`BUILD_TIMEOUT`].
fn run_logged(cmd: Command, log_path: &Path) -> Build {
    let run = support::run_logged(cmd, log_path, BUILD_TIMEOUT);
    Build {
        ok: run.ok,
        log: run.log,
    }
}

/// Builds `case` with `frontend` and panics, showing the log, unless it succeeds.
fn build_ok(case: &Case, frontend: Frontend, output: &[String], scratch: &Path) -> String {
    let b = build(case, frontend, output, scratch);
    assert!(
        b.ok,
        "{}: the {} build failed:\n{}",
        case.name,
        frontend.name(),
        b.log
    );
    b.log
}

/// The reference BuildKit's progress log uses for an image (`strata:dev` →
/// `docker.io/library/strata:dev`).
fn normalized_ref(image: &str) -> String {
    let (first, _) = image.split_once('/').unwrap_or(("", image));
    let mut r = if !image.contains('/') {
        format!("docker.io/library/{image}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        image.to_owned()
    } else {
        format!("docker.io/{image}")
    };
    let last = r.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !last.contains('@') {
        r.push_str(":latest");
    }
    r
}

/// The one routine every success case goes through.
fn check_case(dir: &Path) {
    let image = strata_image();
    let mut case = Case::load(dir);
    if let Some(syntax) = case.syntax_line() {
        assert_eq!(
            syntax, image,
            "{}: the `# syntax=` line must name STRATA_IMAGE",
            case.name
        );
    }
    let scratch = Scratch::new("e2e", &case.name);
    let git_files = case
        .expected("git-daemon")
        .first()
        .map(|f| case.dir.join(f));
    let _git = git_files.map(|files| {
        let server = support::git_server::GitServer::start(&files, &scratch.0);
        for arg in [
            format!("GIT_URL={}", server.url),
            format!("GIT_COMMIT={}", server.commit),
        ] {
            case.args.extend(["--build-arg".to_owned(), arg]);
        }
        server
    });
    if !case.expected("strata-only").is_empty() {
        check_strata_only(&case, &scratch.0);
        return;
    }
    let mut loaded = LoadedImages(Vec::new());
    if case.dir.join("base/Dockerfile").is_file() {
        loaded.0.push(build_base_image(&case, &scratch.0));
    }
    let tar_of = |f: Frontend| scratch.0.join(format!("{}.tar", f.name()));
    let tar_out = |f: Frontend| {
        vec![
            "--output".to_owned(),
            format!("type=tar,dest={}", tar_of(f).display()),
        ]
    };

    build_ok(
        &case,
        Frontend::Builtin,
        &tar_out(Frontend::Builtin),
        &scratch.0,
    );
    let log = build_ok(
        &case,
        Frontend::Strata,
        &tar_out(Frontend::Strata),
        &scratch.0,
    );
    check_log(&case, &log);
    let builtin_fs = rootfs(&tar_of(Frontend::Builtin));
    assert!(
        !builtin_fs.is_empty(),
        "{}: the builtin rootfs is empty",
        case.name
    );
    let diff = diff_maps(&builtin_fs, &rootfs(&tar_of(Frontend::Strata)));
    assert!(
        diff.is_empty(),
        "{}: rootfs differs (builtin vs strata):\n{diff}",
        case.name
    );
    check_files(&case, &tar_of(Frontend::Strata));

    let mut configs = Vec::new();
    for f in [Frontend::Builtin, Frontend::Strata] {
        let tag = format!("strata-e2e/{}:{}", case.name, f.name());
        loaded.0.push(tag.clone());
        build_ok(
            &case,
            f,
            &["--load".to_owned(), "-t".to_owned(), tag.clone()],
            &scratch.0,
        );
        configs.push(image_config(&tag));
        if f == Frontend::Strata {
            check_config(&case, &tag);
        }
    }
    let diff = diff_maps(&configs[0], &configs[1]);
    assert!(
        diff.is_empty(),
        "{}: image config differs (builtin vs strata):\n{diff}",
        case.name
    );
}

/// An extension case: Strata alone builds it; the log and the rootfs say it did right.
fn check_strata_only(case: &Case, scratch: &Path) {
    let tar = scratch.join("strata.tar");
    let out = vec![
        "--output".to_owned(),
        format!("type=tar,dest={}", tar.display()),
    ];
    let log = build_ok(case, Frontend::Strata, &out, scratch);
    check_log(case, &log);
    check_files(case, &tar);
    if !case.expected("config").is_empty() {
        let tag = format!("strata-e2e/{}:strata", case.name);
        let _loaded = LoadedImages(vec![tag.clone()]);
        build_ok(
            case,
            Frontend::Strata,
            &["--load".to_owned(), "-t".to_owned(), tag.clone()],
            scratch,
        );
        check_config(case, &tag);
    }
    let fs = rootfs(&tar);
    for p in case.expected("present") {
        assert!(fs.contains_key(p), "{}: the rootfs lacks {p:?}", case.name);
    }
    for p in case.expected("absent") {
        assert!(!fs.contains_key(p), "{}: the rootfs has {p:?}", case.name);
    }
    for l in case.expected("link") {
        let (path, target) = l
            .split_once(" -> ")
            .unwrap_or_else(|| panic!("{}: `link: {l}` lacks \" -> \"", case.name));
        let entry = fs
            .get(path)
            .unwrap_or_else(|| panic!("{}: the rootfs lacks {path:?}", case.name));
        assert_eq!(
            (entry["type"].as_str(), entry["link"].as_str()),
            (Some("Symlink"), Some(target)),
            "{}: {path:?} is not a symlink to {target:?}: {entry}",
            case.name
        );
    }
}

/// The `file:` expectations on an exported rootfs tar.
fn check_files(case: &Case, tar: &Path) {
    let wanted = case.expected("file");
    if wanted.is_empty() {
        return;
    }
    let fs = rootfs(tar);
    let mtimes = mtimes(tar);
    for line in wanted {
        let mut words = line.split_whitespace();
        let path = words.next().unwrap_or_default();
        let entry = fs
            .get(path)
            .unwrap_or_else(|| panic!("{}: the rootfs lacks {path:?}", case.name));
        for pair in words {
            let (field, value) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("{}: `file: {line}`: {pair:?} is not k=v", case.name));
            let actual = if field == "mtime" {
                mtimes.get(path).map(u64::to_string).unwrap_or_default()
            } else {
                match &entry[field] {
                    Value::String(s) => s.clone(),
                    Value::Null => panic!("{}: `file: {line}`: unknown field {field}", case.name),
                    other => other.to_string(),
                }
            };
            assert_eq!(actual, value, "{}: {path} {field}: {entry}", case.name);
        }
    }
}

/// The mtime of every entry of an exported rootfs tar (paths as [`rootfs`] names them).
fn mtimes(path: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    support::tar_entries(path, |name, entry| {
        out.insert(name, entry.header().mtime().expect("mtime"));
    });
    out
}

/// The `config:` expectations on a loaded image.
fn check_config(case: &Case, tag: &str) {
    let wanted = case.expected("config");
    if wanted.is_empty() {
        return;
    }
    let out = Command::new("docker")
        .args(["image", "inspect", tag])
        .output()
        .expect("docker image inspect");
    assert!(out.status.success(), "docker image inspect {tag} failed");
    let all: Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    for line in wanted {
        let (path, json) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{}: `config: {line}` lacks =", case.name));
        let expected: Value = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("{}: `config: {line}`: {e}", case.name));
        let actual = path.split('.').fold(&all[0], |v, k| &v[k]);
        assert_eq!(actual, &expected, "{}: image {path}", case.name);
    }
}

/// Builds the case's `base/` directory with the builtin frontend into the local image store
/// as `strata-e2e-base/<case>`, for a Dockerfile that starts `FROM` an image made here.
fn build_base_image(case: &Case, scratch: &Path) -> String {
    let tag = format!("strata-e2e-base/{}", case.name);
    let mut cmd = Command::new("docker");
    cmd.args([
        "buildx",
        "build",
        "--progress=plain",
        "--load",
        "-t",
        &tag,
        "base",
    ])
    .current_dir(&case.dir);
    let b = run_logged(cmd, &scratch.join("base.log"));
    assert!(b.ok, "{}: building base/ failed:\n{}", case.name, b.log);
    tag
}

/// The `expect` file's log assertions, plus proof that Strata (not the builtin) ran.
fn check_log(case: &Case, log: &str) {
    let frontend = format!(
        "resolve image config for docker-image://{}",
        normalized_ref(strata_image())
    );
    assert!(
        log.contains(&frontend),
        "{}: Strata did not run: the log lacks {frontend:?}:\n{log}",
        case.name
    );
    for text in case.expected("log-contains") {
        assert!(
            log.contains(text),
            "{}: Strata's log lacks {text:?}:\n{log}",
            case.name
        );
    }
    for text in case.expected("log-lacks") {
        assert!(
            !log.contains(text),
            "{}: Strata's log contains {text:?}:\n{log}",
            case.name
        );
    }
}

/// A case Strata must reject, naming the line.
fn check_error_case(dir: &Path) {
    strata_image();
    let case = Case::load(dir);
    let scratch = Scratch::new("e2e", &case.name);
    let texts = case.expected("fails-with");
    let line = case.expected("line").first().copied();
    assert!(
        !texts.is_empty() && line.is_some(),
        "{}: expect needs `fails-with:` and `line:`",
        case.name
    );
    let out = vec!["--output".to_owned(), "type=tar,dest=/dev/null".to_owned()];
    let b = build(&case, Frontend::Strata, &out, &scratch.0);
    assert!(
        !b.ok,
        "{}: the Strata build succeeded but must fail:\n{}",
        case.name, b.log
    );
    check_log(&case, &b.log);
    let file = case
        .expected("file")
        .first()
        .copied()
        .unwrap_or("Dockerfile");
    let header = format!("{file}:{}", line.unwrap_or_default());
    assert!(
        b.log.lines().any(|l| l.trim() == header),
        "{}: no `{header}` source snippet in the output:\n{}",
        case.name,
        b.log
    );
    for text in texts {
        assert!(
            b.log.contains(text),
            "{}: the output lacks {text:?}:\n{}",
            case.name,
            b.log
        );
    }
}

/// The compared `docker image inspect` fields of `tag`.
fn image_config(tag: &str) -> BTreeMap<String, Value> {
    let out = Command::new("docker")
        .args(["image", "inspect", tag])
        .output()
        .expect("docker image inspect");
    assert!(
        out.status.success(),
        "docker image inspect {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    let img = &all[0];
    let mut fields = BTreeMap::new();
    for f in CONFIG_FIELDS {
        fields.insert(format!("Config.{f}"), img["Config"][f].clone());
    }
    for f in ["Os", "Architecture", "Variant", "Author"] {
        fields.insert(f.to_owned(), img[f].clone());
    }
    if builtin_writes_current_history() {
        fields.insert("History".to_owned(), image_history(tag));
    }
    fields
}

/// Whether the daemon's builtin frontend writes history as docker/dockerfile 1.26 does, so
/// that both histories must agree: Docker ≥ 28 (BuildKit 0.25, ≈ dockerfile 1.19, the test
/// bed's primary daemon). dockerd 26.1.5's builtin (BuildKit 0.13) predates 1.26's forms
/// (`EXPOSE map[80/tcp:{}]`, ARGs repeated in `RUN |N`, base-stage ARGs not inherited), so
/// on the oldest daemon only the config fields are compared.
fn builtin_writes_current_history() -> bool {
    static CURRENT: OnceLock<bool> = OnceLock::new();
    *CURRENT.get_or_init(|| {
        let out = Command::new("docker")
            .args(["version", "--format", "{{.Server.Version}}"])
            .output()
            .expect("docker version");
        let version = String::from_utf8_lossy(&out.stdout);
        let major: u32 = version
            .trim()
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("docker version: {version:?}"));
        if major < 28 {
            eprintln!(
                "e2e: dockerd {} is older than 28: history not compared",
                version.trim()
            );
        }
        major >= 28
    })
}

/// The image's history, newest first, as `docker history` lists it: what each step records
/// (`RUN |1 V=1 /bin/sh -c …`) and whether it made a layer; creation times left out.
fn image_history(tag: &str) -> Value {
    let out = Command::new("docker")
        .args([
            "history",
            "--no-trunc",
            "--format",
            "{{json .CreatedBy}} {{json .Comment}} {{.Size}}",
            tag,
        ])
        .output()
        .expect("docker history");
    assert!(
        out.status.success(),
        "docker history {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| Value::String(l.to_owned()))
        .collect();
    Value::Array(lines)
}

/// The comparison itself sees what it must: content, mode, ids and link targets, not mtimes.
#[test]
fn rootfs_diff_sees_metadata_but_not_mtimes() {
    let scratch = Scratch::new("e2e", "self-test");
    let write = |name: &str, mode: u32, uid: u64, body: &[u8], mtime: u64| {
        let path = scratch.0.join(name);
        let mut b = tar::Builder::new(fs::File::create(&path).expect("create tar"));
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_cksum();
        b.append_data(&mut h, "etc/file", body).expect("append");
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(tar::EntryType::Symlink);
        l.set_size(0);
        l.set_mode(0o777);
        l.set_uid(0);
        l.set_gid(0);
        l.set_mtime(mtime);
        b.append_link(
            &mut l,
            "etc/link",
            if uid == 9 { "elsewhere" } else { "file" },
        )
        .expect("link");
        b.finish().expect("finish tar");
        rootfs(&path)
    };
    let base = write("a.tar", 0o644, 0, b"x", 1);
    assert_eq!(diff_maps(&base, &write("b.tar", 0o644, 0, b"x", 2)), "");
    for (other, what) in [
        (write("c.tar", 0o600, 0, b"x", 1), "mode"),
        (write("d.tar", 0o644, 0, b"y", 1), "sha256"),
        (write("e.tar", 0o644, 9, b"x", 1), "elsewhere"),
    ] {
        let diff = diff_maps(&base, &other);
        assert!(diff.contains(what), "diff misses {what}:\n{diff}");
    }
}
