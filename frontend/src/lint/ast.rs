//! Rules about how instructions are written, checked on every instruction of every file
//! as written (both arms of an `IF`, a `FOR` body once): casing, `MAINTAINER`, the legacy
//! `ENV key value` form, secret-looking `ARG`/`ENV` names, empty continuation lines.

use crate::syntax::{Args, Dockerfile, Instruction, Span, Word};

use super::rules::{
    CONSISTENT_INSTRUCTION_CASING, FROM_AS_CASING, INVALID_DEFINITION_DESCRIPTION,
    LEGACY_KEY_VALUE_FORMAT, MAINTAINER_DEPRECATED, NO_EMPTY_CONTINUATION,
    SECRETS_USED_IN_ARG_OR_ENV, STAGE_NAME_CASING,
};
use super::Finding;

/// Runs the syntactic rules over `file` (includes spliced in, `IF`/`FOR` not resolved).
pub fn check(file: &Dockerfile, out: &mut Vec<Finding>) {
    for d in &file.diagnostics {
        if d.rule == Some(NO_EMPTY_CONTINUATION.name) {
            // Upstream's parser places the warning on the instruction's last line (heredoc
            // bodies aside): the span ends there, newline excluded.
            let last = Span {
                start: d.span.end.saturating_sub(1).max(d.span.start),
                end: d.span.end,
            };
            out.push(Finding::new(
                &NO_EMPTY_CONTINUATION,
                "Empty continuation line",
                last,
                d.span,
            ));
        }
    }
    // Upstream checks descriptions while parsing every instruction, global ARGs included.
    for ins in &file.instructions {
        definition_description(ins, out);
    }
    // Upstream counts and checks the instructions of stages (global ARGs are not in one).
    let first_from = file.instructions.iter().position(|i| i.keyword == "from");
    let in_stages = first_from.map_or(&[][..], |i| &file.instructions[i..]);
    casing(in_stages, out);
    for ins in in_stages {
        match ins.keyword.as_str() {
            "from" => from(ins, out),
            "maintainer" => out.push(Finding::new(
                &MAINTAINER_DEPRECATED,
                "Maintainer instruction is deprecated in favor of using label",
                ins.span,
                ins.keyword_span,
            )),
            "env" | "label" => {
                legacy_key_value(ins, out);
                if ins.keyword == "env" {
                    secrets(ins, "ENV", out);
                }
            }
            "arg" => secrets(ins, "ARG", out),
            _ => {}
        }
    }
}

/// The keyword as written (`Run`): the first word of the logical line.
pub(super) fn written_keyword(ins: &Instruction) -> &str {
    written_keyword_of(&ins.original)
}

/// The first word of a logical line: its keyword as written.
pub(super) fn written_keyword_of(original: &str) -> &str {
    original.split_whitespace().next().unwrap_or_default()
}

fn is_consistent(s: &str) -> bool {
    s == s.to_lowercase() || s == s.to_uppercase()
}

/// `ConsistentInstructionCasing`: every keyword in the majority's case.
fn casing(instructions: &[Instruction], out: &mut Vec<Finding>) {
    let (mut lower, mut upper) = (0usize, 0usize);
    for ins in instructions {
        let kw = written_keyword(ins);
        if is_consistent(kw) {
            if kw == kw.to_lowercase() {
                lower += 1;
            } else {
                upper += 1;
            }
        }
    }
    let majority_lower = lower > upper;
    for ins in instructions {
        let kw = written_keyword(ins);
        let wanted = if majority_lower && kw.to_lowercase() != kw {
            "lowercase"
        } else if !majority_lower && kw.to_uppercase() != kw {
            "uppercase"
        } else {
            continue;
        };
        out.push(Finding::new(
            &CONSISTENT_INSTRUCTION_CASING,
            format!("Command '{kw}' should match the case of the command majority ({wanted})"),
            ins.span,
            ins.keyword_span,
        ));
    }
}

/// `StageNameCasing` and `FromAsCasing` on `FROM base AS name`.
fn from(ins: &Instruction, out: &mut Vec<Finding>) {
    let Args::Words(words) = &ins.args else {
        return;
    };
    let [_, as_kw, name, ..] = words.as_slice() else {
        return;
    };
    if !as_kw.text.eq_ignore_ascii_case("as") {
        return;
    }
    // A parameterised stage (`AS build(GOOS, GOARCH=amd64)`) is named before the `(`;
    // a `FOR` variable (`AS test-${PY}`) is replaced by its (unknown) value.
    let stage = name.text.split('(').next().unwrap_or_default();
    let literal = without_variables(stage);
    if literal != literal.to_lowercase() {
        out.push(Finding::new(
            &STAGE_NAME_CASING,
            format!("Stage name '{stage}' should be lowercase"),
            ins.span,
            name.span,
        ));
    }
    let from = written_keyword(ins);
    let from_lower = from == from.to_lowercase();
    let from_upper = from == from.to_uppercase();
    let mismatch = (from_lower && as_kw.text != as_kw.text.to_lowercase())
        || (from_upper && !from_lower && as_kw.text != as_kw.text.to_uppercase());
    if mismatch {
        out.push(Finding::new(
            &FROM_AS_CASING,
            format!(
                "'{}' and '{from}' keywords' casing do not match",
                as_kw.text
            ),
            ins.span,
            as_kw.span,
        ));
    }
}

/// `InvalidDefinitionDescription` (experimental upstream): the last comment right above a
/// named `FROM` or an `ARG` reads as its description, so it should start with the stage's
/// name (lowercased, as upstream names stages) or one of the `ARG`'s keys.
fn definition_description(ins: &Instruction, out: &mut Vec<Finding>) {
    let Some(last) = ins.comments.last() else {
        return;
    };
    let (what, keys): (&str, Vec<String>) = match (ins.keyword.as_str(), &ins.args) {
        ("from", Args::Words(words)) => match words.as_slice() {
            [_, as_kw, name] if as_kw.text.eq_ignore_ascii_case("as") => {
                // A parameterised stage is named before its `(`.
                let stage = name.text.split('(').next().unwrap_or_default();
                ("FROM", vec![stage.to_lowercase()])
            }
            _ => return,
        },
        ("arg", Args::KeyValues(kvs)) => {
            ("ARG", kvs.iter().map(|kv| kv.key.text.clone()).collect())
        }
        _ => return,
    };
    let Some(first) = keys.first() else {
        return;
    };
    let described = last.split(' ').next().unwrap_or_default();
    if keys.iter().any(|k| k == described) {
        return;
    }
    let example = if keys.len() > 1 { "<arg_key>" } else { first };
    out.push(Finding::new(
        &INVALID_DEFINITION_DESCRIPTION,
        format!("Comment for {what} should follow the format: `# {example} <description>`"),
        ins.span,
        ins.keyword_span,
    ));
}

/// `text` without its `$NAME` and `${…}` references.
fn without_variables(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
        } else if chars.peek() == Some(&'{') {
            for c in chars.by_ref() {
                if c == '}' {
                    break;
                }
            }
        } else {
            while chars
                .next_if(|c| c.is_alphanumeric() || *c == '_')
                .is_some()
            {}
        }
    }
    out
}

/// `LegacyKeyValueFormat`: `ENV key value` / `LABEL key value`.
fn legacy_key_value(ins: &Instruction, out: &mut Vec<Finding>) {
    let Args::KeyValues(kvs) = &ins.args else {
        return;
    };
    if let Some(kv) = kvs.iter().find(|kv| !kv.has_equals) {
        let name = written_keyword(ins);
        out.push(Finding::new(
            &LEGACY_KEY_VALUE_FORMAT,
            format!(
                "\"{name} key=value\" should be used instead of legacy \"{name} key value\" format"
            ),
            ins.span,
            kv.span,
        ));
    }
}

/// Words that make a name look like it holds a secret, and words that clear it.
const SECRET_WORDS: &[&str] = &[
    "apikey",
    "auth",
    "credential",
    "credentials",
    "key",
    "password",
    "pword",
    "passwd",
    "secret",
    "token",
];
const ALLOWED_WORDS: &[&str] = &["public", "file", "version"];

/// Upstream's secret-name test: a `_`-separated part of the name (any case) is one of the
/// secret words, and none is one of the allowed words.
pub(super) fn looks_secret(name: &str) -> bool {
    let parts: Vec<String> = name.split('_').map(str::to_lowercase).collect();
    let has = |set: &[&str]| parts.iter().any(|p| set.contains(&p.as_str()));
    has(SECRET_WORDS) && !has(ALLOWED_WORDS)
}

/// `SecretsUsedInArgOrEnv`.
fn secrets(ins: &Instruction, what: &str, out: &mut Vec<Finding>) {
    let Args::KeyValues(kvs) = &ins.args else {
        return;
    };
    for kv in kvs {
        let key: &Word = &kv.key;
        if looks_secret(&key.text) {
            out.push(Finding::new(
                &SECRETS_USED_IN_ARG_OR_ENV,
                format!(
                    "Do not use ARG or ENV instructions for sensitive data ({what} {})",
                    crate::syntax::go_quote(&key.text)
                ),
                ins.span,
                key.span,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names_without_variables() {
        assert_eq!(without_variables("make-${F}-$ARCH.x"), "make--.x");
        assert_eq!(without_variables("Build"), "Build");
    }

    #[test]
    fn secret_names_as_upstream() {
        for yes in [
            "API_KEY",
            "password",
            "GITHUB_TOKEN",
            "aws_secret_access_key",
            "AUTH",
        ] {
            assert!(looks_secret(yes), "{yes}");
        }
        for no in [
            "KEYS",
            "API-KEY",
            "PUBLIC_KEY",
            "TOKEN_FILE",
            "GPG_KEY_VERSION",
            "MONKEY",
        ] {
            assert!(!looks_secret(no), "{no}");
        }
    }
}
