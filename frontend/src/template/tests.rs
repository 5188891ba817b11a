//! The template layer's tests: blocks, loops, parameterised stages, facts.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::platform::Platform;
use crate::syntax;

fn run(text: &str, args: &[(&str, &str)]) -> Result<Vec<String>> {
    let mut opts = BuildOptions::new(Platform::linux_amd64());
    for (k, v) in args {
        opts.build_args.insert((*k).to_owned(), (*v).to_owned());
    }
    let mut f = syntax::parse(text);
    expand(&mut f, &opts)?;
    Ok(f.instructions.iter().map(|i| i.original.clone()).collect())
}

fn line_of(text: &str, e: &Error) -> u32 {
    syntax::LineIndex::new(text).line(e.span().unwrap().start)
}

#[test]
fn top_level_if_picks_one_arm() {
    let text = "ARG MODE=release\nIF ${MODE} == debug\nFROM a\nELSE IF ${TARGETARCH} == amd64\nFROM b\nELSE\nFROM c\nEND\nRUN x\n";
    assert_eq!(
        run(text, &[]).unwrap(),
        ["ARG MODE=release", "FROM b", "RUN x"]
    );
    assert_eq!(run(text, &[("MODE", "debug")]).unwrap()[1], "FROM a");
    assert_eq!(run(text, &[("TARGETARCH", "arm64")]).unwrap()[1], "FROM c");
}

#[test]
fn stage_if_sees_stage_args_and_envs_so_far() {
    let text = "FROM a\nARG X=1\nENV Y=${X}2\nIF ${Y} == 12 && !defined(Z)\nRUN yes\nEND\nIF defined(TARGETARCH)\nRUN no\nEND\n";
    assert_eq!(
        run(text, &[]).unwrap(),
        ["FROM a", "ARG X=1", "ENV Y=${X}2", "RUN yes"]
    );
    let e = run("FROM a\nIF $TARGETARCH == amd64\nRUN x\nEND\n", &[]).unwrap_err();
    assert!(e.to_string().contains("unknown variable TARGETARCH"), "{e}");
    let ok = run(
        "ARG V=g\nFROM a\nARG TARGETARCH\nARG V\nIF $TARGETARCH$V == amd64g\nRUN x\nEND\n",
        &[],
    );
    assert_eq!(ok.unwrap().last().unwrap(), "RUN x");
}

#[test]
fn stages_inherit_parent_envs() {
    let text = "FROM a AS p\nENV K=v\nFROM p\nIF $K == v\nRUN k\nEND\n";
    assert_eq!(run(text, &[]).unwrap().last().unwrap(), "RUN k");
}

#[test]
fn stages_inherit_parent_args() {
    // As the build does: the child's environment starts from the parent's, ARG values
    // included, and a redeclared `ARG V` with no value (nor build arg or global) keeps it.
    let text = "FROM a AS base\nARG V=1\nFROM base\nIF ${V} == 1\nRUN one\nEND\nARG V\nIF ${V} == 1\nRUN still\nEND\n";
    let out = run(text, &[]).unwrap();
    assert_eq!(out[3..], ["RUN one", "ARG V", "RUN still"]);
    // A build arg reaches the parent's ARG, and so the child.
    let out = run(text, &[("V", "2")]).unwrap();
    assert_eq!(out[3..], ["ARG V"]);
}

#[test]
fn a_redeclared_arg_without_a_value_still_varies() {
    // `ARG X` keeps the parent's ENV value, but a build arg can override it: the
    // condition is not known for every build.
    let text = "FROM a AS p\nENV X=1\nFROM p\nIF ${X} == 1\nEND\nARG X\nIF ${X} == 1\nEND\n";
    let known: Vec<_> = facts(text).iter().map(|f| f.2).collect();
    assert_eq!(known, [Some(true), None]);
}

#[test]
fn a_global_arg_without_a_value_keeps_the_platform_arg() {
    // `ARG TARGETARCH` at top level changes nothing (as the plan computes the globals),
    // so the stage's `ARG TARGETARCH` gets the platform's value; an earlier global keeps
    // its value the same way.
    let text = "ARG TARGETARCH\nARG G=g\nARG G\nIF ${TARGETARCH} == amd64 && ${G} == g\nFROM a\nEND\nARG TARGETARCH\nARG G\nIF ${TARGETARCH} == amd64 && ${G} == g\nRUN amd\nEND\n";
    let out = run(text, &[]).unwrap();
    assert_eq!(out.last().unwrap(), "RUN amd");
    assert_eq!(out[3], "FROM a");
}

#[test]
fn for_instantiates_each_item() {
    let text = "ARG PYS=\"3.11 3.12\"\nFOR PY IN ${PYS} 3.13\nFROM python:${PY}-slim AS test-$PY\nIF $PY != 3.12\nRUN echo '$PY' \\$PY $PY\nEND\nEND\n";
    assert_eq!(
        run(text, &[]).unwrap(),
        [
            "ARG PYS=\"3.11 3.12\"",
            "FROM python:3.11-slim AS test-3.11",
            "RUN echo '$PY' \\$PY 3.11",
            "FROM python:3.12-slim AS test-3.12",
            "FROM python:3.13-slim AS test-3.13",
            "RUN echo '$PY' \\$PY 3.13",
        ]
    );
}

#[test]
fn for_binds_comments_so_they_describe_each_stage() {
    let text = "FOR V IN slim full\n# variant-${V} The ${V} image, it's $OTHER\nFROM a AS variant-${V}\nEND\n";
    let mut f = syntax::parse(text);
    expand(&mut f, &BuildOptions::new(Platform::linux_amd64())).unwrap();
    let comments: Vec<&str> = f
        .instructions
        .iter()
        .map(|i| i.comments[0].as_str())
        .collect();
    assert_eq!(
        comments,
        [
            "variant-slim The slim image, it's $OTHER",
            "variant-full The full image, it's $OTHER"
        ]
    );
}

#[test]
fn nested_for_binds_both() {
    let text = "FROM a\nFOR A IN x y\nFOR B IN 1 2\nRUN echo $A$B $OTHER\nEND\nEND\n";
    assert_eq!(
        run(text, &[]).unwrap()[1..],
        [
            "RUN echo x1 $OTHER",
            "RUN echo x2 $OTHER",
            "RUN echo y1 $OTHER",
            "RUN echo y2 $OTHER"
        ]
    );
}

#[test]
fn errors_name_their_line() {
    let cases: &[(&str, u32, &str)] = &[
        ("FROM a\nIF a == a\nRUN x\n", 2, "IF is never closed"),
        ("FROM a\nFOR X IN 1\nRUN x\n", 2, "FOR is never closed"),
        ("FROM a\nEND\n", 2, "END without IF"),
        ("FROM a\nIF a == a\nELSE\nELSE\nEND\n", 4, "ELSE after ELSE"),
        ("FROM a\nIF $NOPE == a\nEND\n", 2, "unknown variable NOPE"),
        (
            "FOR X IN 1 1\nFROM a AS s-$X\nEND\n",
            2,
            "duplicate stage name",
        ),
        ("FROM a\nFOR X 1\nEND\n", 2, "FOR NAME IN"),
        ("FROM a\nFOR X IN $L\nEND\n", 2, "unknown variable L"),
        ("FROM a\nIF a == a\nEND x\n", 3, "END takes no arguments"),
    ];
    for (text, line, msg) in cases {
        let e = run(text, &[]).unwrap_err();
        assert_eq!(line_of(text, &e), *line, "{text}: {e}");
        assert!(e.to_string().contains(msg), "{text}: {e}");
    }
}

#[test]
fn parameterised_stages_instantiate_once_per_value_set() {
    let text = "FROM a AS b(X, Y=2)\nRUN $X$Y\nFROM b(X=1) AS c\nCOPY --from=b(Y=2, X=1) /a /a\nCOPY --from=b(X=3) /a /a\n";
    assert_eq!(
        run(text, &[]).unwrap(),
        [
            "FROM a AS b(X, Y=2)",
            "ARG X=1 Y=2",
            "RUN 12",
            "FROM a AS b(X, Y=2)",
            "ARG X=3 Y=2",
            "RUN 32",
            "FROM b(X=1) AS c",
            "COPY --from=b(Y=2, X=1) /a /a",
            "COPY --from=b(X=3) /a /a",
        ]
    );
    let mut f = syntax::parse(text);
    expand(&mut f, &BuildOptions::new(Platform::linux_amd64())).unwrap();
    let names: Vec<String> = f
        .instructions
        .iter()
        .filter(|i| i.keyword == "from")
        .map(|i| match &i.args {
            Args::Words(w) => w
                .iter()
                .map(|w| w.text.clone())
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        })
        .collect();
    assert_eq!(
        names,
        ["a AS b.x-1.y-2", "a AS b.x-3.y-2", "b.x-1.y-2 AS c"]
    );
    assert_eq!(
        f.instructions[7].flags[0].value.as_deref(),
        Some("b.x-1.y-2")
    );
    let e = run("FROM a AS b(X)\nFROM b(Y=1)\n", &[]).unwrap_err();
    assert!(e.to_string().contains("unknown parameter Y"), "{e}");
}

#[test]
fn empty_nested_loops_are_bounded() {
    let items = vec!["x"; 1000].join(" ");
    let text =
        format!("FROM a\nFOR A IN {items}\nFOR B IN {items}\nFOR C IN {items}\nEND\nEND\nEND\n");
    let e = run(&text, &[]).unwrap_err();
    assert!(e.to_string().contains("iterations"), "{e}");
}

#[test]
fn blocks_in_templates_see_the_parameters() {
    let text = "FROM a AS t(OS, N=2)\nIF ${OS} == linux && defined(N)\nRUN linux\nELSE\nRUN other-$OS\nEND\nFOR I IN 1 $N\nRUN i$I\nEND\nFROM scratch\nCOPY --from=t(OS=linux) /a /a\nCOPY --from=t(OS=mac, N=3) /a /a\n";
    let got = run(text, &[]).unwrap();
    let runs: Vec<&str> = got
        .iter()
        .map(String::as_str)
        .filter(|o| o.starts_with("RUN"))
        .collect();
    assert_eq!(
        runs,
        [
            "RUN linux",
            "RUN i1",
            "RUN i2",
            "RUN other-mac",
            "RUN i1",
            "RUN i3"
        ]
    );
}

#[test]
fn reference_arguments_expand_with_the_global_args() {
    let text = "ARG OS=linux\nFROM a AS t(OS)\nRUN $OS\nFROM t(OS=${OS}-${TARGETARCH})\nCOPY --from=t(OS=${OS}) /a /a\n";
    let got = run(text, &[("OS", "mac")]).unwrap();
    let runs: Vec<&str> = got
        .iter()
        .map(String::as_str)
        .filter(|o| o.starts_with("RUN") || o.starts_with("COPY"))
        .collect();
    assert_eq!(
        runs,
        [
            "RUN mac-amd64",
            "RUN mac",
            // Progress names show the values.
            "COPY --from=t(OS=mac) /a /a",
        ]
    );
    // A stage's own ARG is not visible to a reference: only what FROM lines see.
    let e = run(
        "FROM a AS t(OS)\nFROM a\nARG V=1\nCOPY --from=t(OS=$V) /a /a\n",
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown variable V"), "{e}");
    assert_eq!(
        line_of(
            "FROM a AS t(OS)\nFROM a\nARG V=1\nCOPY --from=t(OS=$V) /a /a\n",
            &e
        ),
        4
    );
}

#[test]
fn self_referencing_templates_are_bounded() {
    let text = "FROM a AS t(X)\nCOPY --from=t(X=${X}x) /a /a\nFROM t(X=1)\n";
    let e = run(text, &[]).unwrap_err();
    assert_eq!(line_of(text, &e), 2);
    let x = |n: usize| format!("t(X=1{}…[{} bytes])", "x".repeat(11), n);
    assert_eq!(
        e.to_string(),
        format!(
            "more than {MAX_INSTANCES} instances of parameterised stages; instances: t(X=1) → t(X=1x) → … 996 more … → {} → {} → {}",
            x(999),
            x(1000),
            x(1001)
        )
    );
}

/// The reduced fuzzer input of issue 13: the argument doubles with every instance. It
/// used to take all memory long before 1,000 instances.
const DOUBLING: &str = "FROM busybox:local AS tool(GOOS)\nCOPY --from=tool(GOOS=${GOOS}${GOOS}) / /\nFROM tool(GOOS=a)\n";

#[test]
fn a_growing_argument_stops_at_its_bound_with_the_chain() {
    let started = std::time::Instant::now();
    let e = run(DOUBLING, &[]).unwrap_err();
    assert!(
        started.elapsed().as_millis() < 1000,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(line_of(DOUBLING, &e), 2);
    let a = |n: usize| format!("tool(GOOS={}…[{n} bytes])", "a".repeat(12));
    assert_eq!(
        e.to_string(),
        format!(
            "argument GOOS of stage \"tool\" is 2048 bytes long, more than {MAX_ARGUMENT}; instances: tool(GOOS=a) → tool(GOOS=aa) → … 7 more … → {} → {} → {}",
            a(512),
            a(1024),
            a(2048)
        )
    );
    // At the bound itself, an argument is fine.
    let at = format!("FROM a AS t(X)\nFROM t(X={})\n", "v".repeat(MAX_ARGUMENT));
    assert!(run(&at, &[]).is_ok());
    // A too long argument in the file itself: no chain to show.
    let over = format!(
        "FROM a AS t(X)\nFROM t(X={})\n",
        "v".repeat(MAX_ARGUMENT + 1)
    );
    let e = run(&over, &[]).unwrap_err();
    let shown = format!("instances: t(X={}…[1025 bytes])", "v".repeat(12));
    assert!(e.to_string().ends_with(&shown), "{e}");
}

#[test]
fn arguments_are_bounded_however_they_expand() {
    // A global squared in the reference: stopped at the bound, not after 1 MB.
    let text = "ARG G=ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\nFROM a AS t(X)\nFROM scratch\nCOPY --from=t(X=${G//?/$G}) / /\n";
    let e = run(text, &[]).unwrap_err();
    assert_eq!(line_of(text, &e), 4);
    assert_eq!(
        e.to_string(),
        format!("argument X of stage \"t\" is more than {MAX_ARGUMENT} bytes long")
    );
}

#[test]
fn instance_names_are_bounded() {
    let value = "v".repeat(MAX_ARGUMENT);
    let args = ["A", "B", "C", "D"]
        .map(|p| format!("{p}={value}"))
        .join(", ");
    let text = format!("FROM a AS t(A, B, C, D)\nFROM scratch\nCOPY --from=t({args}) / /\n");
    let e = run(&text, &[]).unwrap_err();
    assert_eq!(line_of(&text, &e), 3);
    assert!(
        e.to_string().starts_with(&format!(
            "the instance of stage \"t\" would be named with 4109 bytes, more than {MAX_INSTANCE_NAME}; instances: t(A=vvvvvvvvvvvv…[1024 bytes], B="
        )),
        "{e}"
    );
    // Three of them fit.
    let args = ["A", "B", "C"].map(|p| format!("{p}={value}")).join(", ");
    let text = format!("FROM a AS t(A, B, C, D=x)\nFROM scratch\nCOPY --from=t({args}) / /\n");
    assert!(run(&text, &[]).is_ok());
}

#[test]
fn instances_are_bounded_in_instructions() {
    // 600 instances of a 200-instruction template: 120,000 instructions.
    let body: String = (0..199).map(|i| format!("RUN step-{i}\n")).collect();
    let items: String = (0..600).map(|i| format!(" {i}")).collect();
    let text = format!(
        "FROM a AS t(N)\n{body}FROM scratch\nFOR I IN{items}\nCOPY --from=t(N=$I) / /\nEND\n"
    );
    let e = run(&text, &[]).unwrap_err();
    assert_eq!(line_of(&text, &e), 1);
    assert!(
        e.to_string().starts_with(&format!(
            "parameterised stage instances produce more than {MAX_INSTRUCTIONS} instructions; instances: t(N="
        )),
        "{e}"
    );
}

#[test]
fn loops_that_grow_their_items_are_bounded_in_bytes() {
    // Each level squares the item: 16, 256, 65,536, then 2^32 bytes.
    let text = "FROM a\nFOR A IN aaaaaaaaaaaaaaaa\nFOR B IN ${A//?/$A}\nFOR C IN ${B//?/$B}\nFOR D IN ${C//?/$C}\nRUN echo $D\nEND\nEND\nEND\nEND\n";
    let started = std::time::Instant::now();
    let e = run(text, &[]).unwrap_err();
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    assert_eq!(line_of(text, &e), 5);
    assert_eq!(
        e.to_string(),
        "IF/FOR blocks and parameterised stages expand to more than 32 MiB of instructions"
    );
    // Doubling by repetition, 40 levels deep: stopped by the same bound.
    let mut text = "FROM a\nFOR V0 IN ab\n".to_owned();
    for i in 1..40 {
        text.push_str(&format!("FOR V{i} IN ${{V{}}}${{V{}}}\n", i - 1, i - 1));
    }
    text.push_str("RUN echo $V39\n");
    text.push_str(&"END\n".repeat(40));
    let e = run(&text, &[]).unwrap_err();
    assert!(e.to_string().contains("more than 32 MiB"), "{e}");
}

#[test]
fn inherited_envs_are_bounded() {
    // A 9 MB ENV, inherited stage after stage (two copies each): the third copy is over.
    let a = "a".repeat(3000);
    let text = format!(
        "FROM a AS s0\nARG A={a}\nENV X=${{A//?/$A}}\nFROM s0 AS s1\nFROM s1 AS s2\nIF defined(X)\nEND\n"
    );
    let e = run(&text, &[]).unwrap_err();
    assert_eq!(line_of(&text, &e), 5);
    assert!(e.to_string().contains("more than 32 MiB"), "{e}");
    // A 9 MB global ARG, declared in stage after stage.
    let text = format!(
        "ARG A={a}\nARG G=${{A//?/$A}}\nIF defined(G)\nEND\nFROM a\nARG G\nFROM a\nARG G\n"
    );
    let e = run(&text, &[]).unwrap_err();
    assert_eq!(line_of(&text, &e), 8);
    assert!(e.to_string().contains("more than 32 MiB"), "{e}");
}

#[test]
fn variables_the_walk_computes_are_bounded() {
    // ENV values squared (in a file with blocks, which the template layer walks), and a
    // condition that would square one more time.
    let env = "FROM a\nARG A=aaaaaaaaaaaaaaaa\nENV B=${A//?/$A}\nENV C=${B//?/$B}\n";
    let text = format!("{env}ENV D=${{C//?/$C}}\nIF defined(D)\nEND\n");
    let e = run(&text, &[]).unwrap_err();
    assert_eq!(line_of(&text, &e), 5);
    assert!(e.to_string().contains("more than 32 MiB"), "{e}");
    let text = format!("{env}IF ${{C//?/$C}} == x\nEND\n");
    let e = run(&text, &[]).unwrap_err();
    assert_eq!(line_of(&text, &e), 5);
    assert!(e.to_string().contains("longer than"), "{e}");
}

fn facts(text: &str) -> Vec<(BlockKind, u32, Option<bool>, bool, bool)> {
    let mut f = syntax::parse(text);
    let mut facts = Vec::new();
    expand_recording(
        &mut f,
        &BuildOptions::new(Platform::linux_amd64()),
        &mut facts,
    )
    .unwrap();
    let index = syntax::LineIndex::new(text);
    facts
        .iter()
        .map(|b| {
            (
                b.kind,
                index.line(b.head.start),
                b.always,
                b.shadowed,
                b.empty_body,
            )
        })
        .collect()
}

#[test]
fn facts_know_what_no_build_can_change() {
    use BlockKind::*;
    // Literals, an ENV of literals, and a name no instruction declares are fixed.
    let text = "FROM a\nENV E=1\nIF a == b\nRUN x\nELSE IF $E == 1\nRUN y\nELSE\nRUN z\nEND\nIF defined(NOPE)\nEND\n";
    assert_eq!(
        facts(text),
        [
            (If, 3, Some(false), false, false),
            (ElseIf, 5, Some(true), false, false),
            (Else, 7, None, true, false),
            (If, 10, Some(false), false, true),
        ]
    );
    // ARGs (and ENVs made from them, or set in an arm an ARG chose) vary.
    let text = "FROM a\nARG M=x\nENV E=$M\nIF $M == y || $E == y\nENV F=1\nELSE\nENV F=2\nEND\nIF $F == 1\nRUN f\nEND\nIF defined(M)\nRUN m\nEND\n";
    let got = facts(text);
    assert!(got.iter().all(|f| f.2.is_none() || f.0 == Else), "{got:?}");
}

#[test]
fn facts_of_loops() {
    use BlockKind::*;
    // A constant list binds constants: each iteration's IF is known.
    let text = "FROM a\nFOR X IN a b\nIF $X == c\nRUN x\nEND\nEND\nFOR Y IN\nRUN y\nEND\n";
    assert_eq!(
        facts(text),
        [
            (For, 2, Some(true), false, false),
            (If, 3, Some(false), false, false),
            (If, 3, Some(false), false, false),
            (For, 7, Some(false), false, false),
        ]
    );
    // A list from an ARG varies, and so does everything bound from it.
    let text = "ARG L=\"a b\"\nFROM a\nARG L\nFOR X IN $L\nIF $X == c\nEND\nEND\n";
    assert_eq!(
        facts(text),
        [
            (For, 4, None, false, false),
            (If, 5, None, false, true),
            (If, 5, None, false, true),
        ]
    );
}

#[test]
fn without_templates_nothing_changes() {
    let text = "FROM a\nRUN $X\n";
    let mut f = syntax::parse(text);
    expand(&mut f, &BuildOptions::new(Platform::linux_amd64())).unwrap();
    assert_eq!(f, syntax::parse(text));
}
