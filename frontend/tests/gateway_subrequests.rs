//! Subrequests through the gateway edge against the fake BuildKit: what `docker buildx
//! build --print=…` sends (`requestid`, `frontend.caps`) and what comes back (a result
//! without a ref whose metadata is the answer, or BuildKit's typed errors).

#![allow(clippy::unwrap_used)] // test helpers, not library code

use strata::gateway;
use strata_proto::gateway::unsupported::{FRONTEND_CAP_TYPE_URL, SUBREQUEST_TYPE_URL};
use strata_proto::gateway::{errdefs, GatewayEnv};
use strata_proto::gateway_pb;
use strata_proto::testing::{gateway_env, spawn, FakeBridge, Recorded};

const BUSYBOX: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}"#;

const DOCKERFILE: &str = "\
ARG BASE=busybox:local
# build Compiles the app
FROM ${BASE} AS build
# GOOS target OS
ARG GOOS=linux
RUN --mount=type=secret,id=token,required=true true
INCLUDE stages/runtime
";

const RUNTIME: &str = "\
# runtime The final image
FROM busybox:local AS runtime
ARG EXTRA
COPY --from=build /etc/passwd /x
";

fn fake() -> FakeBridge {
    FakeBridge::new()
        .with_file("Dockerfile", DOCKERFILE)
        .with_file("stages/runtime", RUNTIME)
        .with_image("docker.io/library/busybox:local", BUSYBOX)
}

/// The options buildx 0.13.1 sends for `--print=<name>`.
fn print_env(request: &str, more: &[(&str, &str)]) -> GatewayEnv {
    let mut opts = vec![
        ("requestid", request),
        (
            "frontend.caps",
            "moby.buildkit.frontend.subrequests+forward",
        ),
    ];
    opts.extend_from_slice(more);
    gateway_env(&opts).unwrap()
}

async fn serve(fake: FakeBridge, env: GatewayEnv) -> Recorded {
    let (bridge, handle) = spawn(fake).await.unwrap();
    gateway::serve(&bridge, &env).await.unwrap();
    handle.recorded()
}

/// The answer's metadata, checking the result has the shape of upstream's.
fn answer(rec: &Recorded) -> &gateway_pb::Result {
    assert_eq!(rec.returns.len(), 1);
    let result = rec.returns[0]
        .result
        .as_ref()
        .expect("an answer, not an error");
    let Some(gateway_pb::result::Result::Ref(r)) = &result.result else {
        panic!("a (empty) ref result")
    };
    assert_eq!(r.id, "", "an answer has no filesystem");
    assert_eq!(result.metadata["version"], b"1.0.0");
    assert!(result.metadata.contains_key("result.txt"));
    result
}

fn json(result: &gateway_pb::Result) -> serde_json::Value {
    serde_json::from_slice(&result.metadata["result.json"]).unwrap()
}

#[tokio::test]
async fn outline_answers_with_args_secrets_and_sources() {
    let rec = serve(fake(), print_env("frontend.outline", &[])).await;
    let result = answer(&rec);
    let o = json(result);
    assert_eq!(o["name"], "runtime");
    assert_eq!(o["description"], "The final image");
    let args: Vec<(&str, &str)> = o["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["value"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        args,
        [("BASE", "busybox:local"), ("GOOS", "linux"), ("EXTRA", "")]
    );
    assert_eq!(o["args"][1]["description"], "target OS");
    // EXTRA is declared in the included file: sources[1], its own line 3.
    assert_eq!(o["args"][2]["location"]["sourceIndex"], 1);
    assert_eq!(o["args"][2]["location"]["ranges"][0]["start"]["line"], 3);
    assert_eq!(o["secrets"][0]["name"], "token");
    assert_eq!(o["secrets"][0]["required"], true);
    assert_eq!(o["sources"].as_array().unwrap().len(), 2);
    let text = String::from_utf8(result.metadata["result.txt"].clone()).unwrap();
    assert!(
        text.starts_with("TARGET:      runtime\nDESCRIPTION: The final image\n"),
        "{text}"
    );
    // Nothing is built or resolved: the Dockerfile and the included file are read.
    assert!(rec.resolves.is_empty());
    assert_eq!(rec.solves.len(), 2, "the Dockerfile and the include");
}

#[tokio::test]
async fn outline_follows_the_target_option() {
    let rec = serve(
        fake(),
        print_env("frontend.outline", &[("target", "build")]),
    )
    .await;
    let o = json(answer(&rec));
    assert_eq!(o["name"], "build");
    assert_eq!(o["description"], "Compiles the app");
    assert_eq!(o["args"].as_array().unwrap().len(), 2, "{o}");
}

#[tokio::test]
async fn targets_lists_every_stage_with_its_description() {
    let rec = serve(fake(), print_env("frontend.targets", &[])).await;
    let result = answer(&rec);
    let l = json(result);
    assert_eq!(l["targets"][0]["name"], "build");
    assert_eq!(l["targets"][0]["base"], "${BASE}");
    assert!(l["targets"][0].get("default").is_none());
    assert_eq!(l["targets"][1]["name"], "runtime");
    assert_eq!(l["targets"][1]["default"], true);
    assert_eq!(l["targets"][1]["location"]["sourceIndex"], 1);
    assert_eq!(
        String::from_utf8(result.metadata["result.txt"].clone()).unwrap(),
        "TARGET            DESCRIPTION\n\
         build             Compiles the app\n\
         runtime (default) The final image\n"
    );
}

#[tokio::test]
async fn describe_needs_no_dockerfile() {
    let rec = serve(
        FakeBridge::new(),
        print_env("frontend.subrequests.describe", &[]),
    )
    .await;
    let d = json(answer(&rec));
    let names: Vec<&str> = d
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "frontend.outline",
            "frontend.targets",
            "frontend.lint",
            "frontend.graph",
            "frontend.subrequests.describe"
        ]
    );
    assert!(rec.solves.is_empty() && rec.read_files.is_empty());
}

/// `--call=graph`: the stages after `INCLUDE`, grouped by file, with the target marked,
/// as mermaid text; read from the Dockerfile and its includes only.
#[tokio::test]
async fn graph_answers_the_stage_graph_as_mermaid() {
    let rec = serve(fake(), print_env("frontend.graph", &[])).await;
    let result = answer(&rec);
    let g = json(result);
    let names: Vec<&str> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["build", "runtime"]);
    assert_eq!(
        g["edges"],
        serde_json::json!([{"from": 0, "to": 1, "kind": "copy"}])
    );
    assert_eq!(g["groups"][0]["file"], "stages/runtime");
    assert_eq!(g["groups"][0]["nodes"], serde_json::json!([1]));
    assert_eq!(g["target"], 1);
    assert_eq!(g["nodes"][0]["base"]["text"], "busybox:local");
    let text = String::from_utf8(result.metadata["result.txt"].clone()).unwrap();
    assert!(text.starts_with("flowchart LR\n"), "{text}");
    assert!(text.contains("  s0 -.->|copy| s1\n"), "{text}");
    assert!(text.contains("subgraph g0[\"stages/runtime\"]"), "{text}");
    assert!(rec.resolves.is_empty(), "no image is resolved");
    assert_eq!(rec.solves.len(), 2, "the Dockerfile and the include");
}

/// `--build-arg STRATA_GRAPH_FORMAT=dot` (buildx keeps `format=` to itself): DOT text, and
/// the target option marks another stage.
#[tokio::test]
async fn graph_format_and_target_come_from_the_build_options() {
    let env = print_env(
        "frontend.graph",
        &[
            ("build-arg:STRATA_GRAPH_FORMAT", "dot"),
            ("target", "build"),
        ],
    );
    let result = answer(&serve(fake(), env).await).clone();
    let text = String::from_utf8(result.metadata["result.txt"].clone()).unwrap();
    assert!(text.starts_with("digraph strata {\n"), "{text}");
    let g = json(&result);
    assert_eq!(g["target"], 0);
    assert_eq!(g["nodes"][1]["needed"], false);
    let env = print_env(
        "frontend.graph",
        &[("build-arg:STRATA_GRAPH_FORMAT", "png")],
    );
    let rec = serve(fake(), env).await;
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert_eq!(
        status.message,
        "build arg STRATA_GRAPH_FORMAT=png: the graph's text format is mermaid, dot or svg"
    );
    assert!(rec.returns[0].result.is_none());
}

#[tokio::test]
async fn lint_answers_the_findings_of_every_file() {
    let f = FakeBridge::new()
        .with_file(
            "Dockerfile",
            "FROM busybox:local AS Build\nINCLUDE stages/steps\n",
        )
        .with_file("stages/steps", "RUN true\nENV A 1\n");
    let rec = serve(f, print_env("frontend.lint", &[])).await;
    let result = answer(&rec);
    assert_eq!(result.metadata["result.statuscode"], b"1");
    let v = json(result);
    let found: Vec<(String, i64, i64)> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let loc = &w["location"];
            (
                w["ruleName"].as_str().unwrap().to_owned(),
                loc["sourceIndex"].as_i64().unwrap_or(0),
                loc["ranges"][0]["start"]["line"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("StageNameCasing".to_owned(), 0, 1),
            ("LegacyKeyValueFormat".to_owned(), 1, 2)
        ]
    );
    assert_eq!(v["sources"][1]["filename"], "stages/steps");
    let text = String::from_utf8_lossy(&result.metadata["result.txt"]).into_owned();
    assert!(text.contains("\nWARNING: StageNameCasing - https://docs.docker.com/go/dockerfile/rule/stage-name-casing/\nStage name 'Build' should be lowercase\nDockerfile:1\n"), "{text}");
    // Only the Dockerfile and the included file were read; no image, nothing run.
    assert!(rec.resolves.is_empty());
}

#[tokio::test]
async fn an_unknown_request_is_typed_so_clients_can_fall_back() {
    let rec = serve(fake(), print_env("frontend.magic", &[])).await;
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert_eq!(status.message, "unsupported request frontend.magic");
    assert_eq!(status.details[0].type_url, SUBREQUEST_TYPE_URL);
}

#[tokio::test]
async fn a_capability_strata_lacks_is_refused_before_anything_runs() {
    let env = print_env(
        "frontend.outline",
        &[("frontend.caps", "moby.buildkit.frontend.telepathy+forward")],
    );
    let rec = serve(fake(), env).await;
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert_eq!(status.code, 12, "Unimplemented, as upstream wraps it");
    assert_eq!(
        status.message,
        "unsupported frontend capability moby.buildkit.frontend.telepathy"
    );
    assert_eq!(status.details[0].type_url, FRONTEND_CAP_TYPE_URL);
    assert!(rec.solves.is_empty());
}

#[tokio::test]
async fn a_dockerfile_error_is_located_as_in_a_build() {
    let f = FakeBridge::new().with_file("Dockerfile", "FROM busybox:local\nRUNN true\n");
    let rec = serve(f, print_env("frontend.targets", &[])).await;
    let status = rec.returns[0].error.as_ref().expect("an error");
    assert_eq!(
        status.message,
        "Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)"
    );
    let sources = errdefs::sources(status);
    assert_eq!(sources[0].ranges[0].start.as_ref().unwrap().line, 2);
}
