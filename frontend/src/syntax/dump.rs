//! Upstream's AST dump (`Node.Dump()`), reproduced from our tree so BuildKit's own parser test
//! corpus can be used as a conformance test.
//!
//! Format: one line per instruction, `(keyword ["--flag" ...] "arg" ...)`, strings quoted with
//! Go's `strconv.Quote`. ENV/LABEL pairs print as `"key" "value" "="` (`""` for the legacy
//! `key value` form), ARG words as written, ONBUILD as `(onbuild (run "x"))`, and keywords outside
//! upstream's dispatch table as `(keyword "")`, since upstream discards their arguments. Heredoc
//! bodies are not part of the dump (upstream's dump omits them too).

use super::ast::{Args, Dockerfile, Instruction};
use super::instruction::{splitter_for, Splitter};
use super::quote::go_quote;

/// Dumps every instruction, each line ending in `\n` (the content of upstream's `result` files,
/// i.e. `Dump() + "\n"`).
pub fn dump(dockerfile: &Dockerfile) -> String {
    let mut out = String::new();
    for inst in &dockerfile.instructions {
        out.push('(');
        out.push_str(&dump_instruction(inst));
        out.push_str(")\n");
    }
    out
}

/// One instruction without the surrounding parentheses (upstream trims the node's dump).
fn dump_instruction(inst: &Instruction) -> String {
    let mut s = inst.keyword.clone();
    if !inst.flags.is_empty() {
        let flags: Vec<String> = inst
            .flags
            .iter()
            .map(|f| {
                let mut text = format!("--{}", f.name);
                if let Some(v) = &f.value {
                    text.push('=');
                    text.push_str(v);
                }
                go_quote(&text)
            })
            .collect();
        s.push_str(" [");
        s.push_str(&flags.join(" "));
        s.push(']');
    }
    if splitter_for(&inst.keyword) == Splitter::Unknown {
        s.push_str(" \"\"");
    } else {
        dump_args(&mut s, &inst.keyword, &inst.args);
    }
    s.trim().to_owned()
}

fn push_quoted(s: &mut String, text: &str) {
    s.push(' ');
    s.push_str(&go_quote(text));
}

fn dump_args(s: &mut String, keyword: &str, args: &Args) {
    match args {
        Args::Json(words) | Args::Words(words) => {
            for w in words {
                push_quoted(s, &w.text);
            }
        }
        Args::Shell(w) => push_quoted(s, &w.text),
        Args::KeyValues(pairs) if keyword == "arg" => {
            for kv in pairs {
                let mut word = kv.key.text.clone();
                if kv.has_equals {
                    word.push('=');
                    if let Some(v) = &kv.value {
                        word.push_str(&v.text);
                    }
                }
                push_quoted(s, &word);
            }
        }
        Args::KeyValues(pairs) => {
            for kv in pairs {
                push_quoted(s, &kv.key.text);
                push_quoted(s, kv.value.as_ref().map_or("", |v| &v.text));
                push_quoted(s, if kv.has_equals { "=" } else { "" });
            }
        }
        Args::Healthcheck { kind, cmd } => {
            if let Some(kind) = kind {
                push_quoted(s, &kind.text);
            }
            if let Some(cmd) = cmd {
                dump_args(s, keyword, cmd);
            }
        }
        Args::OnBuild(inner) => {
            s.push_str(" (");
            s.push_str(&dump_instruction(inner));
            s.push(')');
        }
        Args::Empty => {}
    }
}
