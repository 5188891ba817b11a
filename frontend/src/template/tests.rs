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
    assert!(e.to_string().contains("instances"), "{e}");
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
