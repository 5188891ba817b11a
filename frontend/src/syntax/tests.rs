//! Behavioural tests of [`super::parse`]: spans, line numbers, directives, comments, heredocs and
//! the error/warning diagnostics, checked against upstream's documented behaviour.

use super::*;

fn first(src: &str) -> Instruction {
    let df = parse(src);
    df.instructions.into_iter().next().expect("one instruction")
}

fn words(args: &Args) -> Vec<&str> {
    match args {
        Args::Words(ws) | Args::Json(ws) => ws.iter().map(|w| w.text.as_str()).collect(),
        Args::Shell(w) => vec![w.text.as_str()],
        other => panic!("not words: {other:?}"),
    }
}

#[test]
fn spans_point_at_the_words() {
    let src = "FROM alpine:3 AS build\nCOPY --from=build --link a.txt /dst/\n";
    let df = parse(src);
    assert!(df.diagnostics.is_empty(), "{:?}", df.diagnostics);
    let from = &df.instructions[0];
    assert_eq!(&src[from.keyword_span], "FROM");
    assert_eq!(&src[from.span], "FROM alpine:3 AS build");
    let Args::Words(ws) = &from.args else {
        panic!("{:?}", from.args)
    };
    for w in ws {
        assert_eq!(&src[w.span], w.text);
    }
    let copy = &df.instructions[1];
    assert_eq!(copy.flags.len(), 2);
    assert_eq!(copy.flags[0].name, "from");
    assert_eq!(copy.flags[0].value.as_deref(), Some("build"));
    assert_eq!(&src[copy.flags[0].span], "--from=build");
    assert_eq!(copy.flags[1].name, "link");
    assert_eq!(copy.flags[1].value, None);
    assert_eq!(&src[copy.flags[1].span], "--link");
    assert_eq!(words(&copy.args), ["a.txt", "/dst/"]);
    let Args::Words(ws) = &copy.args else {
        panic!()
    };
    assert_eq!(&src[ws[1].span], "/dst/");
    assert_eq!((copy.start_line, copy.end_line), (2, 2));
}

#[test]
fn json_words_span_their_literals() {
    let src = "CMD [\"echo\", \"a b\"]";
    let inst = first(src);
    let Args::Json(ws) = &inst.args else {
        panic!("{:?}", inst.args)
    };
    assert_eq!(&src[ws[1].span], "\"a b\"");
    assert_eq!(ws[1].text, "a b");
}

#[test]
fn multi_line_instructions_count_lines_like_upstream() {
    let src = "# escape=\\\n\n\nFROM x\n\n# note\nENV A \\\n/b\n\n\nRUN a \\\n\tb \\\n\n\n  c \\\n  # comment\n  d\n\n";
    let df = parse(src);
    let lines: Vec<(u32, u32)> = df
        .instructions
        .iter()
        .map(|i| (i.start_line, i.end_line))
        .collect();
    assert_eq!(lines, [(4, 4), (7, 8), (11, 17)]);
    let run = &df.instructions[2];
    assert_eq!(run.original, "RUN a \tb   c   d");
    assert_eq!(
        &src[run.span],
        "RUN a \\\n\tb \\\n\n\n  c \\\n  # comment\n  d"
    );
    let idx = LineIndex::new(src);
    assert_eq!(idx.line(run.span.start), 11);
    assert_eq!(idx.line(run.span.end), 17);
    // The shell word starts after "RUN " and ends at "d", crossing the continuation lines.
    let Args::Shell(w) = &run.args else { panic!() };
    assert_eq!(idx.line_col(w.span.start), (11, 5));
    assert_eq!(idx.line_col(w.span.end), (17, 4));
    // Empty continuation lines are a warning, not an error.
    assert_eq!(df.diagnostics.len(), 1);
    assert_eq!(df.diagnostics[0].severity, Severity::Warning);
    assert_eq!(df.diagnostics[0].rule, Some("NoEmptyContinuation"));
    assert_eq!(df.instructions[1].comments, ["note"]);
}

#[test]
fn escape_directive_with_backtick() {
    let src = "# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo hi\n";
    let df = parse(src);
    assert_eq!(df.escape, '`');
    assert_eq!(df.directives.len(), 1);
    assert_eq!(df.directives[0].name, "escape");
    assert_eq!(df.directives[0].value, "`");
    assert_eq!(&src[df.directives[0].span], "# escape=`");
    assert_eq!(words(&df.instructions[1].args), ["dir c:\\   && echo hi"]);
}

#[test]
fn directives_after_a_comment_or_blank_line_are_not_honoured() {
    for src in [
        "# a comment\n# escape=`\nFROM x\n",
        "\n# escape=`\nFROM x\n",
        "FROM x\n# escape=`\n",
        "# unknown=1\n# escape=`\nFROM x\n",
    ] {
        let df = parse(src);
        assert_eq!(df.escape, '\\', "{src:?}");
        assert!(df.directives.is_empty(), "{src:?}");
    }
    // Directives are case-insensitive, may be indented, and stop at the first non-directive.
    let df = parse("  # SYNTAX = docker/dockerfile:1\n#Check=skip=all\n# escape=`\nFROM x\n");
    let got: Vec<(&str, &str)> = df
        .directives
        .iter()
        .map(|d| (d.name.as_str(), d.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("syntax", "docker/dockerfile:1"),
            ("check", "skip=all"),
            ("escape", "`")
        ]
    );
    assert_eq!(df.escape, '`');
    // Directive lines are not stage comments.
    assert!(df.instructions[0].comments.is_empty());
}

#[test]
fn bad_directives_are_errors() {
    let df = parse("# escape=x\nFROM x\n");
    assert!(df.has_errors());
    assert_eq!(df.escape, '\\');
    let df = parse("# syntax=a\n# syntax=b\nFROM x\n");
    assert!(df.has_errors());
    assert_eq!(df.directives.len(), 1);
}

#[test]
fn comments_above_an_instruction() {
    let df = parse("# one\n\n# two\nFROM x\n# three\n#\n# four\nRUN y\nRUN z \\\n# inside\n  w\n");
    assert_eq!(df.instructions[0].comments, ["one", "two"]);
    assert_eq!(df.instructions[1].comments, ["four"]);
    assert!(df.instructions[2].comments.is_empty());
    assert_eq!(words(&df.instructions[2].args), ["z   w"]);
}

#[test]
fn heredocs_content_chomp_and_lines() {
    let src = "FROM x\nRUN <<EOF\necho $A\nEOF\nCOPY <<-'A' <<B /dst\n\t\tone\n\tA\ntwo\nB\nRUN echo done\n";
    let df = parse(src);
    assert!(df.diagnostics.is_empty(), "{:?}", df.diagnostics);
    let run = &df.instructions[1];
    assert_eq!(run.heredocs.len(), 1);
    let h = &run.heredocs[0];
    assert_eq!((h.name.as_str(), h.expand, h.chomp), ("EOF", true, false));
    assert_eq!(h.content, "echo $A\n");
    assert_eq!(&src[h.span], h.content);
    assert_eq!(words(&run.args), ["<<EOF"]);
    assert_eq!((run.start_line, run.end_line), (2, 4));
    assert_eq!(&src[run.span], "RUN <<EOF\necho $A\nEOF");

    let copy = &df.instructions[2];
    assert_eq!(words(&copy.args), ["<<-'A'", "<<B", "/dst"]);
    let names: Vec<(&str, bool, bool)> = copy
        .heredocs
        .iter()
        .map(|h| (h.name.as_str(), h.expand, h.chomp))
        .collect();
    assert_eq!(names, [("A", false, true), ("B", true, false)]);
    assert_eq!(copy.heredocs[0].content, "\t\tone\n");
    assert_eq!(copy.heredocs[0].body(), "one\n");
    assert_eq!(copy.heredocs[1].content, "two\n");
    assert_eq!((copy.start_line, copy.end_line), (5, 9));
    assert_eq!(df.instructions[3].start_line, 10);
}

#[test]
fn heredoc_edge_cases() {
    // JSON form and other keywords never take heredocs.
    let df = parse("RUN [\"<<EOF\"]\nUSER <<EOF\nEOF\n");
    assert!(df.instructions.iter().all(|i| i.heredocs.is_empty()));
    assert_eq!(df.instructions.len(), 3);
    // Unterminated heredoc is an error; the body runs to the end of the file.
    let df = parse("RUN <<EOF\necho hi\n");
    assert!(df.has_errors());
    assert_eq!(df.instructions[0].heredocs[0].content, "echo hi\n");
    // ONBUILD RUN with a heredoc: attached to the ONBUILD instruction, as upstream does.
    let df = parse("ONBUILD RUN <<EOF\nx\nEOF\n");
    assert_eq!(df.instructions[0].heredocs.len(), 1);
    assert_eq!(df.instructions[0].end_line, 3);
    // Escaped newlines inside a heredoc body are not continuations.
    let df = parse("RUN <<EOF\na \\\nEOF\nRUN b\n");
    assert_eq!(df.instructions[0].heredocs[0].content, "a \\\n");
    assert_eq!(df.instructions.len(), 2);
}

#[test]
fn json_fallbacks() {
    assert!(matches!(first("CMD ['a']").args, Args::Shell(_)));
    assert!(matches!(first("CMD [\"a\"").args, Args::Shell(_)));
    assert!(matches!(first("COPY [a] b").args, Args::Words(_)));
    let df = parse("CMD [\"a\", 1]");
    assert!(df.has_errors());
    assert!(matches!(first("CMD []").args, Args::Json(ref v) if v.is_empty()));
    assert!(matches!(first("CMD").args, Args::Empty));
}

#[test]
fn env_label_arg_forms() {
    let Args::KeyValues(kv) = first("ENV A=1 B=\"x y\" C=").args else {
        panic!()
    };
    let got: Vec<(&str, Option<&str>, bool)> = kv
        .iter()
        .map(|k| {
            (
                k.key.text.as_str(),
                k.value.as_ref().map(|v| v.text.as_str()),
                k.has_equals,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("A", Some("1"), true),
            ("B", Some("\"x y\""), true),
            ("C", Some(""), true)
        ]
    );
    let src = "LABEL maintainer Some One <a@b>";
    let Args::KeyValues(kv) = first(src).args else {
        panic!()
    };
    assert_eq!(kv.len(), 1);
    assert!(!kv[0].has_equals);
    assert_eq!(kv[0].key.text, "maintainer");
    let v = kv[0].value.as_ref().expect("value");
    assert_eq!(v.text, "Some One <a@b>");
    assert_eq!(&src[v.span], v.text);

    let Args::KeyValues(kv) = first("ARG a b=2").args else {
        panic!()
    };
    assert_eq!(
        (kv[0].key.text.as_str(), kv[0].value.is_none()),
        ("a", true)
    );
    assert_eq!(kv[1].value.as_ref().map(|v| v.text.as_str()), Some("2"));

    assert!(parse("ENV A").has_errors());
    assert!(parse("ENV A=1 B").has_errors());
    assert!(!parse("ENV").has_errors());
}

#[test]
fn healthcheck_and_onbuild() {
    let inst = first("HEALTHCHECK --interval=5s CMD curl -f http://x/");
    assert_eq!(inst.flags[0].name, "interval");
    let Args::Healthcheck { kind, cmd } = &inst.args else {
        panic!()
    };
    assert_eq!(kind.as_ref().map(|k| k.text.as_str()), Some("CMD"));
    assert_eq!(words(cmd.as_deref().expect("cmd")), ["curl -f http://x/"]);
    assert!(matches!(
        first("HEALTHCHECK").args,
        Args::Healthcheck {
            kind: None,
            cmd: None
        }
    ));
    let Args::Healthcheck { kind, cmd } = first("HEALTHCHECK NONE").args else {
        panic!()
    };
    assert_eq!(kind.map(|k| k.text), Some("NONE".to_owned()));
    assert!(cmd.is_none());

    let src = "ONBUILD COPY --from=x a b";
    let inst = first(src);
    let Args::OnBuild(inner) = &inst.args else {
        panic!()
    };
    assert_eq!(inner.keyword, "copy");
    assert_eq!(&src[inner.keyword_span], "COPY");
    assert_eq!(inner.flags[0].name, "from");
    assert_eq!(inner.original, "COPY --from=x a b");
    // Deep ONBUILD nesting is cut off with an error instead of recursing without bound.
    let deep = "ONBUILD ".repeat(10_000) + "RUN x";
    assert!(parse(&deep).has_errors());
}

#[test]
fn unknown_keywords_are_kept_as_words() {
    let src = "INCLUDE ./common.Dockerfile\nIF \"$A\" == \"x y\"\nFROM x AS name(A, B=1)\n";
    let df = parse(src);
    assert!(df.diagnostics.is_empty());
    assert_eq!(df.instructions[0].keyword, "include");
    assert_eq!(words(&df.instructions[0].args), ["./common.Dockerfile"]);
    assert_eq!(words(&df.instructions[1].args), ["\"$A\"", "==", "\"x y\""]);
    assert_eq!(
        words(&df.instructions[2].args),
        ["x", "AS", "name(A,", "B=1)"]
    );
    assert_eq!(dump(&df).lines().next(), Some("(include \"\")"));
}

#[test]
fn bom_and_bytes() {
    let df = parse("\u{feff}FROM x\n");
    assert_eq!(df.instructions[0].keyword_span, Span { start: 3, end: 7 });
    let df = parse_bytes(b"\xef\xbb\xbf# escape=`\nFROM x\n");
    assert_eq!(df.escape, '`');
    let df = parse_bytes(b"FROM x\nRUN echo \xff\n");
    assert_eq!(df.instructions.len(), 2);
    assert_eq!(df.diagnostics[0].severity, Severity::Warning);
    assert_eq!(df.diagnostics[0].span.start, 16);
}

#[test]
fn files_without_instructions_are_errors() {
    for src in ["", "\n\n", "# just\n# comments\n", "# syntax=x\n"] {
        assert!(parse(src).has_errors(), "{src:?}");
    }
    // A lone continuation is an (empty) instruction upstream, not an empty file.
    assert!(!parse("\\").has_errors());
}

#[test]
fn continue_at_eof_and_crlf() {
    let df = parse("FROM x\r\nRUN a \\\r\n  b\r\nRUN c \\");
    assert_eq!(words(&df.instructions[1].args), ["a   b"]);
    assert_eq!(words(&df.instructions[2].args), ["c"]);
    assert_eq!(df.instructions[2].end_line, 4);
}
