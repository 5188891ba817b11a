//! Golden tests: every `testdata/parse/*.Dockerfile` is parsed and its upstream-style dump,
//! heredocs, directives and diagnostics are compared with a committed insta snapshot.

use std::fmt::Write;
use std::fs;

use strata::syntax::{dump, go_quote, parse_bytes, Args, LineIndex, Severity};

/// Upstream's dispatch table; other keywords dump as `""`, so their words are listed separately.
const KNOWN: &[&str] = strata::instructions::KEYWORDS;

/// A readable, stable rendering of everything the dump alone does not show.
fn render(source: &[u8]) -> String {
    let df = parse_bytes(source);
    let text = String::from_utf8_lossy(source);
    let index = LineIndex::new(&text);
    let mut out = String::new();
    let _ = writeln!(out, "escape: {:?}", df.escape);
    for d in &df.directives {
        let _ = writeln!(out, "directive {} = {}", d.name, go_quote(&d.value));
    }
    out.push_str("-- dump --\n");
    out.push_str(&dump(&df));
    let heredocs: Vec<_> = df
        .instructions
        .iter()
        .flat_map(|i| i.heredocs.iter().map(move |h| (i, h)))
        .collect();
    if !heredocs.is_empty() {
        out.push_str("-- heredocs --\n");
        for (inst, h) in heredocs {
            let _ = writeln!(
                out,
                "lines {}-{} {}: <<{} expand={} chomp={} fd={} body={}",
                inst.start_line,
                inst.end_line,
                inst.keyword,
                h.name,
                h.expand,
                h.chomp,
                h.fd,
                go_quote(&h.body())
            );
        }
    }
    let unknown: Vec<_> = df
        .instructions
        .iter()
        .filter(|i| !KNOWN.contains(&i.keyword.as_str()))
        .collect();
    if !unknown.is_empty() {
        out.push_str("-- other keywords --\n");
        for inst in unknown {
            let words: Vec<String> = match &inst.args {
                Args::Words(ws) => ws.iter().map(|w| go_quote(&w.text)).collect(),
                other => vec![format!("{other:?}")],
            };
            let _ = writeln!(
                out,
                "line {} {}: {}",
                inst.start_line,
                inst.keyword,
                words.join(" ")
            );
        }
    }
    out.push_str("-- diagnostics --\n");
    for d in &df.diagnostics {
        let (l1, c1) = index.line_col(d.span.start);
        let (l2, c2) = index.line_col(d.span.end);
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let rule = d.rule.map(|r| format!(" [{r}]")).unwrap_or_default();
        let _ = writeln!(out, "{sev} {l1}:{c1}-{l2}:{c2}{rule}: {}", d.message);
    }
    out
}

#[test]
fn golden_parse() {
    insta::glob!("../../testdata/parse", "*.Dockerfile", |path| {
        let source = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        insta::assert_snapshot!(render(&source));
    });
}
