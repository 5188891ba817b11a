use super::*;
use crate::pipeline;
use crate::platform::Platform;

fn outline_of(text: &str, opts: &[(&str, &str)]) -> Outline {
    let opts: BTreeMap<String, String> = opts
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let opts = BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").unwrap();
    let p = pipeline::prepare(text, "Dockerfile", &opts).unwrap();
    outline(&p, &opts).unwrap()
}

fn names(args: &[Arg]) -> Vec<(&str, &str)> {
    args.iter()
        .map(|a| (a.name.as_str(), a.value.as_str()))
        .collect()
}

fn line(l: &Option<Location>) -> i32 {
    location::sort_key(l.as_ref().unwrap()).1
}

#[test]
fn globals_count_only_when_a_needed_stage_uses_them() {
    let o = outline_of(
        "ARG REG=docker.io\nARG UNUSED=1\nARG TAG=local\n\
         FROM ${REG}/library/busybox:${TAG}\nRUN true\n",
        &[],
    );
    assert_eq!(
        names(&o.args),
        [("REG", "docker.io"), ("TAG", "local")],
        "UNUSED is declared but no FROM expands it"
    );
    assert_eq!(line(&o.args[1].location), 3);
}

#[test]
fn a_global_default_pulls_in_the_globals_it_expands() {
    let o = outline_of(
        "ARG VERSION=1.36\nARG IMAGE=busybox:$VERSION\nFROM $IMAGE\n",
        &[],
    );
    assert_eq!(
        names(&o.args),
        [("VERSION", "1.36"), ("IMAGE", "busybox:1.36")]
    );
    // A build arg replaces the default, so nothing is expanded and VERSION is unused.
    let o = outline_of(
        "ARG VERSION=1.36\nARG IMAGE=busybox:$VERSION\nFROM $IMAGE\n",
        &[("build-arg:IMAGE", "busybox:local")],
    );
    assert_eq!(names(&o.args), [("IMAGE", "busybox:local")]);
}

#[test]
fn stage_args_inherit_globals_but_not_platform_args() {
    let text = "# GREETING what to say\nARG GREETING=hi\nFROM busybox:local\n\
                ARG GREETING\nARG TARGETARCH\n# MODE debug or release\nARG MODE=release\n";
    let o = outline_of(text, &[]);
    assert_eq!(names(&o.args), [("GREETING", "hi"), ("MODE", "release")]);
    assert_eq!(o.args[0].description, "what to say");
    assert_eq!(line(&o.args[0].location), 2, "the global declaration");
    assert_eq!(o.args[1].description, "debug or release");
    // Given as a build arg, the stage's own declaration is reported.
    let o = outline_of(text, &[("build-arg:GREETING", "hello")]);
    assert_eq!(names(&o.args), [("GREETING", "hello"), ("MODE", "release")]);
    assert_eq!(line(&o.args[0].location), 4);
    assert_eq!(o.args[0].description, "");
}

#[test]
fn only_stages_the_target_needs_contribute() {
    let text = "FROM busybox:local AS deps\nARG DEPS_VERSION=2\n\
                RUN --mount=type=secret,id=npmrc true\n\
                FROM busybox:local AS unused\nARG NEVER\n\
                RUN --mount=type=secret,id=other,required=true true\n\
                FROM busybox:local AS app\nARG PORT=80\n\
                COPY --from=deps /etc/passwd /p\n\
                RUN --mount=type=ssh --mount=type=secret,target=/root/token,required true\n";
    let o = outline_of(text, &[]);
    assert_eq!(o.name, "app");
    assert_eq!(names(&o.args), [("DEPS_VERSION", "2"), ("PORT", "80")]);
    let secrets: Vec<(&str, bool)> = o
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), s.required))
        .collect();
    assert_eq!(secrets, [("npmrc", false), ("token", true)]);
    assert_eq!(o.ssh[0].name, "default");
    assert_eq!(line(&o.ssh[0].location), 10);
    let o = outline_of(text, &[("target", "unused")]);
    assert_eq!(names(&o.args), [("NEVER", "")]);
    assert_eq!(o.secrets[0].name, "other");
    assert!(o.ssh.is_empty());
}

#[test]
fn base_stages_contribute_and_env_expands_mount_ids() {
    let text = "FROM busybox:local AS base\nARG ID=gh\nENV SECRET_ID=${ID}-token\n\
                FROM base\nRUN --mount=type=secret,id=$SECRET_ID true\n";
    let o = outline_of(text, &[]);
    assert_eq!(names(&o.args), [("ID", "gh")]);
    assert_eq!(o.secrets[0].name, "gh-token");
    assert_eq!(o.name, "", "the target has no name");
}

#[test]
fn target_description_comes_from_the_comment_naming_the_stage() {
    let o = outline_of(
        "# syntax=strata:dev\n# release The image we ship\n# other words\nFROM busybox:local AS Release\n",
        &[],
    );
    assert_eq!(o.name, "release");
    assert_eq!(o.description, "The image we ship");
    assert_eq!(
        text(&o),
        "TARGET:      release\nDESCRIPTION: The image we ship\n\n"
    );
}

#[test]
fn a_parameterised_target_is_named_as_asked() {
    let text = "# build Builds for one OS\nFROM busybox:local AS build(GOOS, GOARCH=amd64)\n\
                RUN echo $GOOS\nFROM build(GOOS=linux)\n";
    let o = outline_of(text, &[("target", "build(GOOS=darwin)")]);
    assert_eq!(o.name, "build(GOOS=darwin)");
    assert_eq!(o.description, "Builds for one OS");
    assert_eq!(
        names(&o.args),
        [("GOOS", "darwin"), ("GOARCH", "amd64")],
        "the parameters are the instance's ARGs"
    );
}

#[test]
fn text_lists_args_secrets_and_ssh_like_upstream() {
    let o = outline_of(
        "ARG BASE=busybox:local\nFROM $BASE\nARG A\nRUN --mount=type=secret,id=s,required=true --mount=type=ssh,id=agent true\n",
        &[],
    );
    assert_eq!(
        text(&o),
        "BUILD ARG   VALUE           DESCRIPTION\n\
         BASE        busybox:local   \n\
         A                           \n\
         \n\
         SECRET   REQUIRED\n\
         s        true\n\
         \n\
         SSH     REQUIRED\n\
         agent   \n\
         \n"
    );
}

#[test]
fn a_bad_mount_is_located() {
    let opts = BuildOptions::new(Platform::linux_amd64());
    let p = pipeline::prepare(
        "FROM busybox:local\nRUN --mount=type=nfs,target=/x true\n",
        "Dockerfile",
        &opts,
    )
    .unwrap();
    let e = outline(&p, &opts).unwrap_err();
    assert!(e.span().is_some());
    assert!(e.to_string().contains("unsupported mount type"), "{e}");
}
