//! One logical line → one [`Instruction`]: keyword, flags, then arguments split by upstream's
//! per-keyword dispatch table (`newNodeFromLine` and `line_parsers.go`).

use std::ops::Range;

use super::ast::{Args, Diagnostic, Flag, Instruction, KeyValue, Severity, Word};
use super::json::{parse_json_array, JsonArray};
use super::logical::LogicalLine;
use super::quote::go_quote;
use super::span::Span;
use super::words::{
    extract_flags, parse_words, split_ascii_whitespace_runs, split_first_ascii_whitespace,
    trim_space_range, RawWord,
};

/// How deeply ONBUILD may nest before we stop recursing (upstream has no limit, but rejects any
/// nesting later; this keeps hostile input from exhausting the stack).
const MAX_ONBUILD_DEPTH: usize = 16;

/// Which splitter upstream's dispatch table uses for a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Splitter {
    /// `parseMaybeJSONToList`: ADD, COPY, VOLUME.
    MaybeJsonToList,
    /// `parseNameOrNameVal`: ARG.
    NameOrNameVal,
    /// `parseMaybeJSON`: CMD, ENTRYPOINT, RUN, SHELL.
    MaybeJson,
    /// `parseEnv` / `parseLabel`: ENV, LABEL.
    NameVal,
    /// `parseStringsWhitespaceDelimited`: EXPOSE, FROM.
    WhitespaceDelimited,
    /// `parseHealthConfig`: HEALTHCHECK.
    Health,
    /// `parseString`: MAINTAINER, STOPSIGNAL, USER, WORKDIR.
    String,
    /// `parseSubCommand`: ONBUILD.
    SubCommand,
    /// Not in upstream's table (upstream ignores the arguments; we keep them as words).
    Unknown,
}

/// Upstream's dispatch table, keyed by lowercased keyword.
pub(crate) fn splitter_for(keyword: &str) -> Splitter {
    match keyword {
        "add" | "copy" | "volume" => Splitter::MaybeJsonToList,
        "arg" => Splitter::NameOrNameVal,
        "cmd" | "entrypoint" | "run" | "shell" => Splitter::MaybeJson,
        "env" | "label" => Splitter::NameVal,
        "expose" | "from" => Splitter::WhitespaceDelimited,
        "healthcheck" => Splitter::Health,
        "maintainer" | "stopsignal" | "user" | "workdir" => Splitter::String,
        "onbuild" => Splitter::SubCommand,
        _ => Splitter::Unknown,
    }
}

/// Where the instruction sits in the file; inner ONBUILD instructions share their parent's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Placement {
    /// Source offset where the instruction's last consumed line ends.
    pub end: usize,
    /// 1-based first line.
    pub start_line: u32,
    /// 1-based last line.
    pub end_line: u32,
}

/// Parses `line.text[range]` as an instruction (`newNodeFromLine`).
pub(crate) struct InstructionParser<'a> {
    /// The logical line holding the text.
    pub line: &'a LogicalLine,
    /// The escape character in effect.
    pub escape: char,
    /// Where errors go.
    pub diagnostics: &'a mut Vec<Diagnostic>,
    /// Position of the whole instruction.
    pub placement: Placement,
}

impl InstructionParser<'_> {
    /// Parses the instruction in `range` of the logical line.
    pub fn parse(
        &mut self,
        range: Range<usize>,
        comments: Vec<String>,
        depth: usize,
    ) -> Instruction {
        let line = self.line;
        let text = &line.text[range.clone()];
        let trimmed = trim_space_range(text);
        let base = range.start + trimmed.start;
        let body = &text[trimmed.clone()];
        let (kw_range, after) = split_first_ascii_whitespace(body);
        let keyword_span = self.span(base, kw_range.clone());
        let keyword = body[kw_range].to_lowercase();

        let mut flags = Vec::new();
        let mut rest_range = base + body.len()..base + body.len();
        if let Some(after) = after {
            let after_text = &body[after.clone()];
            let split = extract_flags(after_text, self.escape);
            let fbase = base + after.start;
            for f in split.flags {
                flags.push(self.flag(fbase, f));
            }
            let rest = &after_text[split.rest_start..];
            let t = trim_space_range(rest);
            let rbase = fbase + split.rest_start;
            rest_range = rbase + t.start..rbase + t.end;
        }

        let args = self.args(&keyword, rest_range, depth);
        let span = Span::new(keyword_span.start as usize, self.placement.end).cover(keyword_span);
        Instruction {
            keyword,
            keyword_span,
            flags,
            args,
            heredocs: Vec::new(),
            span,
            start_line: self.placement.start_line,
            end_line: self.placement.end_line,
            original: text.to_owned(),
            comments,
        }
    }

    fn span(&self, base: usize, r: Range<usize>) -> Span {
        self.line.span(base + r.start..base + r.end)
    }

    fn word(&self, base: usize, w: RawWord) -> Word {
        Word {
            span: self.span(base, w.range),
            text: w.text,
        }
    }

    fn error(&mut self, span: Span, message: String) {
        self.diagnostics.push(Diagnostic {
            span,
            message,
            severity: Severity::Error,
            rule: None,
        });
    }

    fn flag(&self, base: usize, f: RawWord) -> Flag {
        let span = self.span(base, f.range);
        let body = f.text.strip_prefix("--").unwrap_or(&f.text);
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (body.to_owned(), None),
        };
        Flag { name, value, span }
    }

    fn args(&mut self, keyword: &str, rest: Range<usize>, depth: usize) -> Args {
        let line = self.line;
        let text = &line.text[rest.clone()];
        let base = rest.start;
        match splitter_for(keyword) {
            Splitter::MaybeJson => self.maybe_json(base, text),
            Splitter::MaybeJsonToList => self.maybe_json_to_list(base, text),
            Splitter::WhitespaceDelimited => self.whitespace_delimited(base, text),
            Splitter::String => {
                if text.is_empty() {
                    Args::Empty
                } else {
                    Args::Words(vec![Word {
                        text: text.to_owned(),
                        span: self.span(base, 0..text.len()),
                    }])
                }
            }
            Splitter::NameOrNameVal => self.name_or_name_val(base, text),
            Splitter::NameVal => self.name_val(keyword, base, text),
            Splitter::Health => self.health(base, text),
            Splitter::SubCommand => self.sub_command(rest, depth),
            Splitter::Unknown => {
                let words = parse_words(text, self.escape);
                if words.is_empty() {
                    Args::Empty
                } else {
                    Args::Words(words.into_iter().map(|w| self.word(base, w)).collect())
                }
            }
        }
    }

    /// `parseMaybeJSON`: a JSON string array, else the whole text as a shell string.
    fn maybe_json(&mut self, base: usize, text: &str) -> Args {
        if text.is_empty() {
            return Args::Empty;
        }
        match parse_json_array(text) {
            JsonArray::Strings(ws) => {
                Args::Json(ws.into_iter().map(|w| self.word(base, w)).collect())
            }
            JsonArray::NotStrings => {
                self.not_strings(base, text);
                self.shell(base, text)
            }
            JsonArray::NotJson => self.shell(base, text),
        }
    }

    fn shell(&self, base: usize, text: &str) -> Args {
        Args::Shell(Word {
            text: text.to_owned(),
            span: self.span(base, 0..text.len()),
        })
    }

    fn not_strings(&mut self, base: usize, text: &str) {
        let span = self.span(base, 0..text.len());
        self.error(
            span,
            "when using JSON array syntax, arrays must be comprised of strings only".into(),
        );
    }

    /// `parseMaybeJSONToList`: a JSON string array, else whitespace-separated words.
    fn maybe_json_to_list(&mut self, base: usize, text: &str) -> Args {
        match parse_json_array(text) {
            JsonArray::Strings(ws) => {
                Args::Json(ws.into_iter().map(|w| self.word(base, w)).collect())
            }
            JsonArray::NotStrings => {
                self.not_strings(base, text);
                self.whitespace_delimited(base, text)
            }
            JsonArray::NotJson => self.whitespace_delimited(base, text),
        }
    }

    fn whitespace_delimited(&self, base: usize, text: &str) -> Args {
        if text.is_empty() {
            return Args::Empty;
        }
        Args::Words(
            split_ascii_whitespace_runs(text)
                .into_iter()
                .map(|w| self.word(base, w))
                .collect(),
        )
    }

    /// Splits a raw word at its first `=` into a key/value pair.
    fn key_value(&self, base: usize, w: RawWord) -> KeyValue {
        let span = self.span(base, w.range.clone());
        match w.text.find('=') {
            Some(eq) => {
                let start = w.range.start;
                KeyValue {
                    key: Word {
                        text: w.text[..eq].to_owned(),
                        span: self.span(base, start..start + eq),
                    },
                    value: Some(Word {
                        text: w.text[eq + 1..].to_owned(),
                        span: self.span(base, (start + eq + 1).min(w.range.end)..w.range.end),
                    }),
                    has_equals: true,
                    span,
                }
            }
            None => KeyValue {
                key: Word { text: w.text, span },
                value: None,
                has_equals: false,
                span,
            },
        }
    }

    /// `parseNameOrNameVal` (ARG): words, each `name` or `name=value`.
    fn name_or_name_val(&self, base: usize, text: &str) -> Args {
        let words = parse_words(text, self.escape);
        if words.is_empty() {
            return Args::Empty;
        }
        Args::KeyValues(words.into_iter().map(|w| self.key_value(base, w)).collect())
    }

    /// `parseNameVal` (ENV, LABEL): `k=v ...`, or the legacy `k rest of line` when the first word
    /// has no `=`.
    fn name_val(&mut self, keyword: &str, base: usize, text: &str) -> Args {
        let words = parse_words(text, self.escape);
        let Some(first) = words.first() else {
            return Args::Empty;
        };
        if !first.text.contains('=') {
            let (key, value) = split_first_ascii_whitespace(text);
            let key_word = Word {
                text: text[key.clone()].to_owned(),
                span: self.span(base, key.clone()),
            };
            let Some(value) = value else {
                let span = self.span(base, 0..text.len());
                self.error(
                    span,
                    format!("{} must have two arguments", keyword.to_uppercase()),
                );
                return Args::KeyValues(vec![KeyValue {
                    key: key_word,
                    value: None,
                    has_equals: false,
                    span,
                }]);
            };
            return Args::KeyValues(vec![KeyValue {
                key: key_word,
                value: Some(Word {
                    text: text[value.clone()].to_owned(),
                    span: self.span(base, value),
                }),
                has_equals: false,
                span: self.span(base, 0..text.len()),
            }]);
        }
        let mut pairs = Vec::with_capacity(words.len());
        let mut reported = false;
        for w in words {
            if !w.text.contains('=') && !reported {
                reported = true;
                let span = self.span(base, w.range.clone());
                self.error(
                    span,
                    format!(
                        "Syntax error - can't find = in {}. Must be of the form: name=value",
                        go_quote(&w.text)
                    ),
                );
            }
            pairs.push(self.key_value(base, w));
        }
        Args::KeyValues(pairs)
    }

    /// `parseHealthConfig`: a type word, then a JSON or shell command.
    fn health(&mut self, base: usize, text: &str) -> Args {
        if text.is_empty() {
            return Args::Healthcheck {
                kind: None,
                cmd: None,
            };
        }
        let sep = text.find(char::is_whitespace).unwrap_or(text.len());
        let next = text[sep..]
            .find(|c: char| !c.is_whitespace())
            .map_or(text.len(), |n| sep + n);
        let kind = Word {
            text: text[..sep].to_owned(),
            span: self.span(base, 0..sep),
        };
        let cmd = match self.maybe_json(base + next, &text[next..]) {
            Args::Empty => None,
            other => Some(Box::new(other)),
        };
        Args::Healthcheck {
            kind: Some(kind),
            cmd,
        }
    }

    /// `parseSubCommand` (ONBUILD): the rest is parsed as an instruction of its own.
    fn sub_command(&mut self, rest: Range<usize>, depth: usize) -> Args {
        if rest.is_empty() {
            return Args::Empty;
        }
        if depth >= MAX_ONBUILD_DEPTH {
            let span = self.line.span(rest.clone());
            self.error(span, "ONBUILD nested too deeply".into());
            let line = self.line;
            let text = &line.text[rest.clone()];
            return Args::Words(
                split_ascii_whitespace_runs(text)
                    .into_iter()
                    .map(|w| self.word(rest.start, w))
                    .collect(),
            );
        }
        let inner = self.parse(rest, Vec::new(), depth + 1);
        Args::OnBuild(Box::new(inner))
    }
}
