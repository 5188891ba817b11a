//! ARCHITECTURE.md's invariants that a test can check, by reading `frontend/src`:
//!
//! 1. Only `gateway/` talks to BuildKit: no other module names the LLBBridge client or
//!    the gateway API (`strata_proto::gateway`, `gateway_pb`, `Bridge`).
//! 2. Only `gateway/` and `options.rs` (the parser of options) read the raw frontend
//!    options: no other module touches `GatewayEnv` or the opts map, or looks up a key
//!    that `options.rs` reads (`build-arg:`, `cache-imports`, `STRATA_STRICT`, …).
//!
//! Test code (`#[cfg(test)]` modules, `tests.rs` files) may use anything. Each rule is also
//! run on snippets that break it, so a scanner that stopped seeing would fail here.

use std::path::{Path, PathBuf};

/// A source file: its path below `src/` and its code without comments and test modules.
struct Source {
    path: String,
    code: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file as the rules see it: comment lines dropped, everything from the first
/// `#[cfg(test)]` on dropped (test modules come last), whitespace collapsed so a call split
/// over lines (`opts\n    .get("x")`) reads as one.
fn code_of(text: &str) -> String {
    let mut kept = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t == "#[cfg(test)]" {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        kept.push(t);
    }
    kept.join(" ").replace(" .", ".").replace("( ", "(")
}

fn sources() -> Vec<Source> {
    let root = src_dir();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("a readable source file");
            let path = p
                .strip_prefix(&root)
                .expect("below src")
                .to_string_lossy()
                .replace('\\', "/");
            Source {
                path,
                code: code_of(&text),
            }
        })
        .collect()
}

/// Whether `word` occurs in `code` as a whole identifier.
fn has_word(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The BuildKit API a line of `code` uses, if any (rule 1).
fn bridge_uses(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in [
        "strata_proto::gateway",
        "gateway_pb",
        "Bridge",
        "LlbBridgeClient",
    ] {
        if has_word(code, word) {
            found.push(word.to_owned());
        }
    }
    // `use strata_proto::{…, gateway::…}`.
    for (i, _) in code.match_indices("strata_proto::{") {
        let group = &code[i..];
        let group = &group[..group.find('}').unwrap_or(group.len())];
        if has_word(group, "gateway") {
            found.push("strata_proto::{gateway…}".to_owned());
        }
    }
    found.dedup();
    found
}

/// The frontend option keys `options.rs` reads: every `.get("…")` and
/// `strip_prefix("…")` literal in its code.
fn option_keys(options_code: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for call in [".get(\"", "strip_prefix(\""] {
        for (i, _) in options_code.match_indices(call) {
            let rest = &options_code[i + call.len()..];
            if let Some(end) = rest.find('"') {
                keys.push(rest[..end].to_owned());
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// How `code` reads raw frontend options, if it does (rule 2).
fn option_reads(code: &str, keys: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for word in ["GatewayEnv", "BUILDKIT_FRONTEND_OPT"] {
        if code.contains(word) {
            found.push(word.to_owned());
        }
    }
    if code.contains("env.opts") {
        found.push("env.opts".to_owned());
    }
    for key in keys {
        for call in [
            ".get(",
            ".contains_key(",
            ".remove(",
            "strip_prefix(",
            "starts_with(",
        ] {
            let exact = format!("{call}\"{key}\"");
            // A prefix key (`build-arg:`) is read by any key that starts with it.
            let prefix = format!("{call}\"{key}");
            if code.contains(&exact) || (key.ends_with(':') && code.contains(&prefix)) {
                found.push(format!("{call}\"{key}\""));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn in_gateway(path: &str) -> bool {
    path.starts_with("gateway/")
}

#[test]
fn only_gateway_talks_to_buildkit() {
    let sources = sources();
    assert!(sources.len() > 50, "the scan found {} files", sources.len());
    let mut violations = Vec::new();
    for s in sources.iter().filter(|s| !in_gateway(&s.path)) {
        for u in bridge_uses(&s.code) {
            violations.push(format!("{}: {u}", s.path));
        }
    }
    assert!(
        violations.is_empty(),
        "only gateway/ may use the BuildKit API (ARCHITECTURE.md, Invariants):\n{}",
        violations.join("\n")
    );
    // The edge does use it, where the scan looks: the rule sees what it forbids.
    let serve = sources
        .iter()
        .find(|s| s.path == "gateway/serve.rs")
        .expect("gateway/serve.rs");
    assert!(bridge_uses(&serve.code).contains(&"Bridge".to_owned()));
}

#[test]
fn only_gateway_and_options_read_frontend_options() {
    let sources = sources();
    let options = sources
        .iter()
        .find(|s| s.path == "options.rs")
        .expect("options.rs");
    let keys = option_keys(&options.code);
    for key in ["build-arg:", "cache-imports", "target", "STRATA_STRICT"] {
        assert!(keys.contains(&key.to_owned()), "{key} not in {keys:?}");
    }
    let mut violations = Vec::new();
    for s in &sources {
        if in_gateway(&s.path) || s.path == "options.rs" {
            continue;
        }
        for r in option_reads(&s.code, &keys) {
            violations.push(format!("{}: {r}", s.path));
        }
    }
    assert!(
        violations.is_empty(),
        "only gateway/ and options.rs may read frontend options; parse a new one into \
         BuildOptions (ARCHITECTURE.md, Invariants):\n{}",
        violations.join("\n")
    );
    // The parser itself reads them: the rule sees what it forbids.
    assert!(!option_reads(&options.code, &keys).is_empty());
}

/// Each rule catches what it exists to catch, in the forms code takes.
#[test]
fn the_rules_catch_what_they_forbid() {
    let code = |text: &str| code_of(text);
    assert_eq!(
        bridge_uses(&code("use strata_proto::gateway::Bridge;\n")),
        ["strata_proto::gateway", "Bridge"]
    );
    assert_eq!(
        bridge_uses(&code("use strata_proto::{llb, gateway::caps};\n")),
        ["strata_proto::{gateway…}"]
    );
    assert_eq!(
        bridge_uses(&code("fn f(r: strata_proto::gateway_pb::WarnRequest) {}\n")),
        ["gateway_pb"]
    );
    assert!(bridge_uses(&code("struct BridgeFs;\n// a Bridge in a comment\n")).is_empty());
    assert!(bridge_uses(&code(
        "#[cfg(test)]\nmod tests { use strata_proto::gateway; }\n"
    ))
    .is_empty());

    let keys = option_keys(&code(
        "let a = opts.get(\"cache-imports\");\nkey.strip_prefix(\"build-arg:\")\n o.build_args\n    .get(\"STRATA_STRICT\")",
    ));
    assert_eq!(keys, ["STRATA_STRICT", "build-arg:", "cache-imports"]);
    assert_eq!(
        option_reads(
            &code("if opts.build_args\n    .get(\"STRATA_STRICT\").is_some() {}\n"),
            &keys
        ),
        [".get(\"STRATA_STRICT\""]
    );
    assert_eq!(
        option_reads(&code("let v = env.opts.get(\"build-arg:FOO\");\n"), &keys),
        [".get(\"build-arg:\"", "env.opts"]
    );
    assert_eq!(
        option_reads(&code("fn f(e: &GatewayEnv) {}\n"), &keys),
        ["GatewayEnv"]
    );
    assert!(option_reads(&code("let t = opts.target.clone();\n"), &keys).is_empty());
}
