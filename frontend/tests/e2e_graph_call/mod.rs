//! `docker buildx build --call=graph` end to end: Strata's `frontend.graph` subrequest, and
//! `--call=subrequests.describe` listing it (a module of the `e2e_subrequests` binary).
//!
//! buildx sends any method name on as `requestid=frontend.<name>` and prints an answer it
//! has no printer for from the metadata: `result.txt`, or `result.json` with `format=json`
//! (buildx ≥ 0.15; 0.13 prints `result.txt` either way). `format=` stays in buildx, so
//! the text format is asked for with `--build-arg STRATA_GRAPH_FORMAT=dot`. The printed
//! answers must be the offline ones byte for byte (`strata graph`'s, which the graph
//! goldens pin), and the fixture's nodes and edges are spelled out here too.

use super::*;

/// The extensions fixture: `FOR`, `IF` (on by its args) and a parameterised stage.
const FIXTURE: &str = "targets-templates";

/// The nodes and edges of [`FIXTURE`]'s graph as the mermaid text shows them.
const MERMAID_LINES: &[&str] = &[
    "flowchart LR\n",
    "  s0[\"base<br/>FROM busybox:local<br/>2 steps\"]\n",
    "  s1[\"variant-slim<br/>FROM base<br/>1 step\"]\n",
    "  s3[\"debug<br/>FROM base<br/>0 steps\"]\n",
    "  s4[\"build(GOOS=linux, GOARCH=amd64)<br/>FROM busybox:local<br/>1 step\"]\n",
    "  s5[\"stage-5 (target)<br/>FROM scratch<br/>2 steps\"]\n",
    "  s0 --> s1\n",
    "  s0 --> s2\n",
    "  s0 --> s3\n",
    "  s4 -.->|copy| s5\n",
    "  s1 -.->|copy| s5\n",
];

/// `--call=graph` (on buildx 0.13 `--print=graph`): the mermaid text, as offline; with
/// `format=json` the graph's JSON on buildx ≥ 0.15.
#[test]
fn graph_call_prints_the_mermaid_graph() {
    let fx = fixture("subrequests", FIXTURE);
    let printed = ask(&fx, Frontend::Strata, "graph");
    assert!(printed.ok(), "strata --call=graph: {}", printed.stderr);
    assert!(
        printed.stderr.contains(support::strata_image()),
        "{}",
        printed.stderr
    );
    let offline = offline_answer(&fx, Request::Graph);
    let text = String::from_utf8(offline.text).unwrap();
    assert_eq!(printed.stdout, text, "--call=graph differs from offline");
    for line in MERMAID_LINES {
        assert!(
            printed.stdout.contains(line),
            "{line:?} in\n{}",
            printed.stdout
        );
    }
    let printed = ask(&fx, Frontend::Strata, "graph,format=json");
    assert!(printed.ok(), "--call=graph,format=json: {}", printed.stderr);
    if !buildx_has_call() {
        // buildx 0.13.1 has no `format` for a method it does not know: result.txt.
        assert_eq!(printed.stdout, text);
        return;
    }
    let json = String::from_utf8(offline.json).unwrap();
    assert_eq!(
        printed.stdout,
        format!("{json}\n"),
        "buildx adds one newline"
    );
    let g: serde_json::Value = serde_json::from_str(&printed.stdout).unwrap();
    let nodes: Vec<&str> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        nodes,
        [
            "base",
            "variant-slim",
            "variant-full",
            "debug",
            "build(GOOS=linux, GOARCH=amd64)",
            "stage-5"
        ]
    );
    let edge =
        |from: u64, to: u64, kind: &str| serde_json::json!({"from": from, "to": to, "kind": kind});
    assert_eq!(
        g["edges"],
        serde_json::json!([
            edge(0, 1, "from"),
            edge(0, 2, "from"),
            edge(0, 3, "from"),
            edge(4, 5, "copy"),
            edge(1, 5, "copy")
        ])
    );
    assert_eq!(g["target"], 5);
}

/// `--build-arg STRATA_GRAPH_FORMAT=dot`: DOT text; a format Strata does not draw fails
/// the call with a message naming the build arg.
#[test]
fn graph_call_gives_dot_for_the_build_arg() {
    let mut fx = fixture("subrequests", FIXTURE);
    fx.args.extend([
        "--build-arg".to_owned(),
        "STRATA_GRAPH_FORMAT=dot".to_owned(),
    ]);
    let printed = ask(&fx, Frontend::Strata, "graph");
    assert!(
        printed.ok(),
        "strata --call=graph (dot): {}",
        printed.stderr
    );
    let offline = String::from_utf8(offline_answer(&fx, Request::Graph).text).unwrap();
    assert!(offline.starts_with("digraph strata {\n"), "{offline}");
    assert_eq!(printed.stdout, offline);
    if let Some(last) = fx.args.last_mut() {
        *last = "STRATA_GRAPH_FORMAT=png".to_owned();
    }
    let printed = ask(&fx, Frontend::Strata, "graph");
    assert_eq!(printed.code, Some(1), "{}", printed.stderr);
    assert!(printed.stdout.is_empty(), "{}", printed.stdout);
    assert!(
        printed.stderr.contains(
            "build arg STRATA_GRAPH_FORMAT=png: the graph's text format is mermaid, dot or svg"
        ),
        "{}",
        printed.stderr
    );
}

/// BuildKit's builtin frontend has no graph: buildx shows its typed refusal (no fallback
/// image is tried for it).
#[test]
fn graph_call_is_strata_only() {
    let printed = ask(
        &fixture("subrequests", "outline-basic"),
        Frontend::Builtin,
        "graph",
    );
    assert_eq!(printed.code, Some(1), "{}", printed.stderr);
    assert!(
        printed
            .stderr
            .contains("unsupported request frontend.graph"),
        "{}",
        printed.stderr
    );
}

/// The builtin's list with two deliberate differences, before the describe entry: Strata
/// also lists the lint subrequest it answers (upstream's dockerui answers it without
/// listing it), with upstream's `SubrequestLintDefinition`, then its own graph.
#[test]
fn describe_matches_builtin_plus_lint_and_graph() {
    let fx = fixture("subrequests", "outline-basic");
    let what = "subrequests.describe";
    let ask_both = |what: &str| {
        let builtin = ask(&fx, Frontend::Builtin, what);
        assert!(builtin.ok(), "builtin --call={what}: {}", builtin.stderr);
        let strata = ask(&fx, Frontend::Strata, what);
        assert!(strata.ok(), "strata --call={what}: {}", strata.stderr);
        assert!(
            strata.stderr.contains(support::strata_image()),
            "{}",
            strata.stderr
        );
        (builtin.stdout, strata.stdout)
    };
    let (builtin, strata) = ask_both(&format!("{what},format=json"));
    let mut want: Vec<serde_json::Value> = serde_json::from_str(&builtin).unwrap();
    let describe_at = want
        .iter()
        .position(|d| d["name"] == "frontend.subrequests.describe")
        .unwrap();
    let named = |name: &str, d: &str| serde_json::json!({"name": name, "description": d});
    let results = |status: bool| {
        let mut keys = vec![named("result.json", ""), named("result.txt", "")];
        keys.extend(status.then(|| named("result.statuscode", "")));
        keys
    };
    let rpc = |name: &str, description: &str, opts, metadata| {
        serde_json::json!({
            "name": name, "version": "1.0.0", "type": "rpc", "description": description,
            "opts": opts, "inputs": null, "metadata": metadata, "refs": null,
        })
    };
    let graph_opts = serde_json::json!([
        named("target", "Target build stage"),
        named(
            "build-arg:STRATA_GRAPH_FORMAT",
            "Format of result.txt: mermaid (default), dot or svg"
        ),
    ]);
    let graph = "Draw the stage graph of current build target";
    want.splice(
        describe_at..describe_at,
        [
            rpc(
                "frontend.lint",
                "Lint a Dockerfile",
                serde_json::json!([]),
                results(true),
            ),
            rpc("frontend.graph", graph, graph_opts, results(false)),
        ],
    );
    let got: Vec<serde_json::Value> = serde_json::from_str(&strata).unwrap();
    assert_eq!(got, want, "--call={what},format=json");
    let (builtin, strata) = ask_both(what);
    let want = builtin.replacen(
        "subrequests.describe ",
        "lint                 1.0.0   Lint a Dockerfile\n\
         graph                1.0.0   Draw the stage graph of current build target\n\
         subrequests.describe ",
        1,
    );
    assert_ne!(want, builtin, "the builtin lists subrequests.describe");
    assert_eq!(strata, want, "--call={what}");
}
