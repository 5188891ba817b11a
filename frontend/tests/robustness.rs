//! Property-style check: `parse` / `parse_bytes` on pseudo-random inputs never panic, and every
//! span in the result lies within the source and on char boundaries.
//!
//! Inputs come from a fixed-seed xorshift generator (no extra crates), mixing Dockerfile-shaped
//! fragments (continuations, heredocs, quotes, JSON, directives, multi-byte chars) with raw bytes.

use strata::syntax::{parse, parse_bytes, Args, Dockerfile, Instruction, Span, Word};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FRAGMENTS: &[&str] = &[
    "FROM ",
    "RUN ",
    "COPY ",
    "ADD ",
    "ENV ",
    "ARG ",
    "LABEL ",
    "CMD ",
    "ONBUILD ",
    "HEALTHCHECK ",
    "USER ",
    "EXPOSE ",
    "VOLUME ",
    "WORKDIR ",
    "SHELL ",
    "IF ",
    "run ",
    "\n",
    "\n",
    "\r\n",
    " ",
    "\t",
    "\\",
    "\\\n",
    "`",
    "`\n",
    "# escape=`\n",
    "# syntax=x\n",
    "# check=a\n",
    "#",
    "# c\n",
    "<<",
    "<<EOF",
    "<<-EOF",
    "<<'EOF'",
    "<<\"E\"",
    "EOF\n",
    "\tEOF\n",
    "E\n",
    "3<<X",
    "X\n",
    "\"",
    "'",
    "[",
    "]",
    "[\"a\", \"b\"]",
    "[1]",
    ",",
    "{",
    "}",
    "=",
    "a=b",
    "--",
    "--from=x ",
    "--link",
    "$",
    "${",
    "${a:-b}",
    "${a/b/c}",
    "é",
    "☃",
    "😀",
    "\u{a0}",
    "\u{feff}",
    "\u{85}",
    "x",
    "abc",
    "NONE",
    "CMD",
    "\\u00e9",
    "\\ud800",
    "\0",
];

fn gen_text(rng: &mut XorShift) -> String {
    let n = rng.below(40);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
    }
    s
}

fn gen_bytes(rng: &mut XorShift) -> Vec<u8> {
    let n = rng.below(200);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        // Bias towards interesting ASCII.
        let b = match rng.below(4) {
            0 => b"\n\\`#<\"'[]= -EOF"[rng.below(15)],
            _ => rng.next() as u8,
        };
        out.push(b);
    }
    out
}

/// Cases per test: 600, or `$STRATA_ROBUSTNESS_ITERS` for a longer local run.
fn iterations() -> usize {
    std::env::var("STRATA_ROBUSTNESS_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600)
}

fn check_span(src: &str, span: Span, what: &str) {
    let (s, e) = (span.start as usize, span.end as usize);
    assert!(
        s <= e && e <= src.len(),
        "{what} span {span:?} out of range for {src:?}"
    );
    assert!(
        src.is_char_boundary(s) && src.is_char_boundary(e),
        "{what} span {span:?} not on char boundaries in {src:?}"
    );
}

fn check_word(src: &str, w: &Word) {
    check_span(src, w.span, "word");
}

fn check_args(src: &str, args: &Args) {
    match args {
        Args::Json(ws) | Args::Words(ws) => ws.iter().for_each(|w| check_word(src, w)),
        Args::Shell(w) => check_word(src, w),
        Args::KeyValues(kvs) => {
            for kv in kvs {
                check_span(src, kv.span, "pair");
                check_word(src, &kv.key);
                if let Some(v) = &kv.value {
                    check_word(src, v);
                }
            }
        }
        Args::Healthcheck { kind, cmd } => {
            if let Some(k) = kind {
                check_word(src, k);
            }
            if let Some(c) = cmd {
                check_args(src, c);
            }
        }
        Args::OnBuild(inner) => check_instruction(src, inner),
        Args::Empty => {}
    }
}

fn check_instruction(src: &str, inst: &Instruction) {
    check_span(src, inst.span, "instruction");
    check_span(src, inst.keyword_span, "keyword");
    assert!(inst.start_line >= 1 && inst.start_line <= inst.end_line);
    for f in &inst.flags {
        check_span(src, f.span, "flag");
    }
    for h in &inst.heredocs {
        check_span(src, h.span, "heredoc");
    }
    check_args(src, &inst.args);
}

fn check(src: &str, df: &Dockerfile) {
    for d in &df.directives {
        check_span(src, d.span, "directive");
    }
    for d in &df.diagnostics {
        check_span(src, d.span, "diagnostic");
    }
    for inst in &df.instructions {
        check_instruction(src, inst);
    }
    // The dump must not panic either.
    let _ = strata::syntax::dump(df);
}

#[test]
fn random_text_never_panics_and_spans_are_valid() {
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);
    for _ in 0..iterations() {
        let src = gen_text(&mut rng);
        let df = parse(&src);
        check(&src, &df);
    }
}

#[test]
fn random_bytes_never_panic_and_spans_are_valid() {
    let mut rng = XorShift(0x0dd_ba11_cafe_f00d);
    for _ in 0..iterations() {
        let bytes = gen_bytes(&mut rng);
        let df = parse_bytes(&bytes);
        // Spans index the lossily decoded text.
        let text = String::from_utf8_lossy(&bytes);
        check(&text, &df);
    }
}

#[test]
fn deeply_nested_input_does_not_overflow_the_stack() {
    let nested_subst = format!("FROM x\nRUN <<EOF {}\nEOF\n", "${a:-\"".repeat(50_000));
    check(&nested_subst, &parse(&nested_subst));
    let nested_json = format!("CMD [{}", "[".repeat(100_000));
    check(&nested_json, &parse(&nested_json));
    let nested_onbuild = "ONBUILD ".repeat(50_000);
    check(&nested_onbuild, &parse(&nested_onbuild));
}
