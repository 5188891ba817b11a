//! Conformance against BuildKit's own parser corpus (`frontend/dockerfile/parser/testfiles*`),
//! used in place from the shared corpus directory (never copied into this repository).
//!
//! Positive cases must dump exactly like upstream's `result` files; negative cases must produce
//! at least one error diagnostic. A missing corpus is a failure, not a skip.

use std::fs;
use std::path::{Path, PathBuf};

use strata::syntax::{dump, parse_bytes, Severity};

/// `$STRATA_CORPUS`, else `<workspace root>/../shared/corpus/buildkit-parser`.
fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STRATA_CORPUS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("shared")
        .join("corpus")
        .join("buildkit-parser")
}

/// Sorted case directories under `dir`; panics (fails the test) when it cannot be read.
fn cases(dir: &Path) -> Vec<PathBuf> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "conformance corpus not found at {} ({e}); set STRATA_CORPUS",
            dir.display()
        )
    });
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A line-by-line comparison, listing every differing line.
fn diff(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = actual.lines().collect();
    let mut msg = String::new();
    for i in 0..exp.len().max(act.len()) {
        let (e, a) = (exp.get(i), act.get(i));
        if e != a {
            msg.push_str(&format!(
                "  line {}:\n    - {}\n    + {}\n",
                i + 1,
                e.unwrap_or(&"<missing>"),
                a.unwrap_or(&"<missing>")
            ));
        }
    }
    if msg.is_empty() {
        msg.push_str("  (differs only in trailing newlines)\n");
    }
    Some(msg)
}

#[test]
fn buildkit_parser_corpus() {
    let root = corpus_dir();
    let positive = cases(&root.join("testfiles"));
    let negative = cases(&root.join("testfiles-negative"));
    assert!(
        !positive.is_empty() && !negative.is_empty(),
        "conformance corpus at {} has no cases",
        root.display()
    );

    let mut passed = 0;
    let mut failures = Vec::new();
    for case in &positive {
        let name = case
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let df = parse_bytes(&read(&case.join("Dockerfile")));
        let expected = String::from_utf8_lossy(&read(&case.join("result"))).replace("\r\n", "\n");
        let actual = dump(&df);
        let errors: Vec<&str> = df
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.message.as_str())
            .collect();
        match (diff(&expected, &actual), errors.is_empty()) {
            (None, true) => passed += 1,
            (d, _) => failures.push(format!(
                "positive case {name}:\n{}{}",
                d.unwrap_or_default(),
                if errors.is_empty() {
                    String::new()
                } else {
                    format!("  unexpected errors: {errors:?}\n")
                }
            )),
        }
    }
    for case in &negative {
        let name = case
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let df = parse_bytes(&read(&case.join("Dockerfile")));
        if df.has_errors() {
            passed += 1;
        } else {
            failures.push(format!(
                "negative case {name}: parsed without errors; dump:\n{}",
                dump(&df)
            ));
        }
    }

    for f in &failures {
        eprintln!("{f}");
    }
    println!("conformance: {passed} passed, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} conformance case(s) failed",
        failures.len()
    );
}
