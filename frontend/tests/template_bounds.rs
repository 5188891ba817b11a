//! Template expansion is bounded in time and memory, as a process: `strata llb` on the
//! reduced fuzzer input of issue 13 (a parameterised stage whose argument doubles with
//! every instance, which used to grow past 6 GB and never end) fails within a second,
//! under an address-space limit, with the located error.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Instant;

/// The address space the process may use, in KiB (`ulimit -v`): the debug binary needs
/// about 20 MiB for this file; the old code aborted here on a failed allocation.
const ADDRESS_SPACE_KIB: u64 = 256 * 1024;

#[test]
fn a_doubling_instance_argument_fails_fast_in_bounded_memory() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/errors/stage-param-argument-grows.Dockerfile");
    let started = Instant::now();
    // `ulimit -t` (CPU seconds) also ends a runaway the wall clock check would only see late.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KIB} && ulimit -t 10 && exec \"$0\" llb \"$1\""
        ))
        .arg(env!("CARGO_BIN_EXE_strata"))
        .arg(&path)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {stderr}", out.status);
    assert!(
        stderr.contains("stage-param-argument-grows.Dockerfile:2: argument GOOS of stage \"tool\" is 2048 bytes long, more than 1024; instances: tool(GOOS=a) → tool(GOOS=aa) → …"),
        "{stderr}"
    );
    assert!(elapsed.as_millis() < 1000, "took {elapsed:?}");
}

/// docs/format.md's "Expansion limits" names the bounds the code has.
#[test]
fn the_documented_limits_are_the_code_s() {
    use strata::template::{
        MAX_ARGUMENT, MAX_BYTES, MAX_INSTANCES, MAX_INSTANCE_NAME, MAX_INSTRUCTIONS, MAX_NESTING,
    };
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/format.md"),
    )
    .unwrap();
    let start = docs
        .find("**Expansion limits.**")
        .expect("the paragraph exists");
    // One line, however the paragraph is wrapped.
    let paragraph = docs[start..].split("\n\n").next().unwrap();
    let paragraph = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    // 100000 → "100,000", as the docs write numbers.
    let n = |v: usize| {
        let digits = v.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    let expected = [
        format!("at most {MAX_NESTING} deep"),
        format!("at most {} iterations", n(MAX_INSTRUCTIONS)),
        format!("at most {} instructions", n(MAX_INSTRUCTIONS)),
        format!("at most {} instances", n(MAX_INSTANCES)),
        format!("at most {} bytes", n(MAX_ARGUMENT)),
        format!("at most {}", n(MAX_INSTANCE_NAME)),
        format!("at most {} MiB", MAX_BYTES >> 20),
    ];
    for e in expected {
        assert!(paragraph.contains(&e), "{e:?} in {paragraph}");
    }
}
