//! The Dockerfile syntax tree: what upstream's parser produces, kept as raw text with byte spans.
//!
//! Nothing here is interpreted: quotes and escapes are left as written (except where upstream's
//! parser itself processes them, i.e. flags and JSON strings), variables are not expanded, and
//! keywords are not validated. The typed instruction layer builds on this.

use serde::Serialize;

use super::span::Span;

/// A parsed Dockerfile: the result of [`super::parse`], which never fails.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dockerfile {
    /// Leading parser directives (`# syntax=`, `# escape=`, `# check=`), names lowercased, in
    /// source order. Only directives upstream honours are listed.
    pub directives: Vec<Directive>,
    /// The escape/line-continuation character in effect: `'\\'` or `` '`' ``.
    pub escape: char,
    /// Instructions in source order.
    pub instructions: Vec<Instruction>,
    /// Problems found while parsing. An `Error` means upstream's parser would have rejected the
    /// file; the tree is still as complete as we could make it.
    pub diagnostics: Vec<Diagnostic>,
}

impl Dockerfile {
    /// True when any diagnostic is an error, i.e. upstream would refuse this Dockerfile.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// A parser directive such as `# syntax=docker/dockerfile:1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Directive {
    /// Lowercased name: `syntax`, `escape` or `check`.
    pub name: String,
    /// Value with surrounding whitespace trimmed.
    pub value: String,
    /// The directive's comment line, from `#` to the end of the line (newline excluded).
    pub span: Span,
}

/// One instruction: a logical line (continuations joined) plus any heredoc bodies it owns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Instruction {
    /// Keyword lowercased (`"run"`); the text as written is at `keyword_span`. Unknown keywords
    /// are kept, never rejected, so extensions can be layered on later.
    pub keyword: String,
    /// Where the keyword is written.
    pub keyword_span: Span,
    /// Leading `--name[=value]` flags in order, extracted for every instruction as upstream does.
    pub flags: Vec<Flag>,
    /// The arguments, split the way upstream's per-keyword dispatch splits them.
    pub args: Args,
    /// Heredoc bodies (`<<EOF`) for RUN/COPY/ADD (and ONBUILD wrapping one of those: they are
    /// attached here, on the ONBUILD instruction, as upstream attaches them to the outer node).
    pub heredocs: Vec<Heredoc>,
    /// The whole instruction: first byte of the keyword to the end (newline excluded) of the last
    /// physical line consumed, which includes continuation lines and heredoc bodies and their
    /// terminators.
    pub span: Span,
    /// 1-based first line (upstream's `Node.StartLine`).
    pub start_line: u32,
    /// 1-based last line, counting continuation lines and heredoc bodies (`Node.EndLine`).
    pub end_line: u32,
    /// The logical line as upstream's `Node.Original`: continuation lines concatenated with escape
    /// characters, comments and empty continuation lines removed. Heredoc bodies not included.
    pub original: String,
    /// Comment lines directly above (upstream's `PrevComment`), `#` and surrounding space
    /// stripped; used later for stage descriptions.
    pub comments: Vec<String>,
}

/// A builder flag such as `--from=build` or `--link`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// Name without the leading `--` (`"from"`).
    pub name: String,
    /// Text after the first `=`, or `None` for a bare flag. Quotes and escapes are already
    /// processed, as upstream's flag extraction does.
    pub value: Option<String>,
    /// The flag as written, `--` through the end of its value.
    pub span: Span,
}

/// One argument word, as raw as upstream's parser leaves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Word {
    /// The text. For JSON elements this is the decoded string; otherwise quotes and escapes are
    /// not processed (expansion is a later layer). It equals `&src[span]` unless the word crosses
    /// a line continuation or ends in a dropped trailing escape character.
    pub text: String,
    /// Where the word is written; for a JSON element, the string literal including its quotes.
    pub span: Span,
}

/// A `key=value` (or legacy `key value`) pair from ENV, LABEL or ARG.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyValue {
    /// The name, raw (quotes not processed).
    pub key: Word,
    /// The value, raw; `None` only for an ARG without `=`. `key=` gives `Some` empty word.
    pub value: Option<Word>,
    /// `true` for `key=value`, `false` for ARG `name` and the legacy `ENV key value` form.
    pub has_equals: bool,
    /// The whole pair as written.
    pub span: Span,
}

/// An instruction's arguments, in the shape upstream's dispatch table gives them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Args {
    /// Exec form: a JSON array of strings, decoded (upstream's `parseMaybeJSON` /
    /// `parseMaybeJSONToList` succeeded).
    Json(Vec<Word>),
    /// Shell form: the rest of the logical line as one string (RUN/CMD/ENTRYPOINT/SHELL when not
    /// JSON; the command of HEALTHCHECK CMD).
    Shell(Word),
    /// Whitespace-separated words: FROM, EXPOSE, COPY/ADD/VOLUME when not JSON. USER, WORKDIR,
    /// STOPSIGNAL and MAINTAINER give one word holding the whole rest of the line (upstream's
    /// `parseString`). Unknown keywords are split like ENV words (quote-aware, quotes kept).
    Words(Vec<Word>),
    /// ENV / LABEL (`k=v k2=v2` or legacy `k v`) and ARG (`name` / `name=value`, several per line).
    KeyValues(Vec<KeyValue>),
    /// HEALTHCHECK: `kind` is the first word (`NONE`, `CMD`, ...); `cmd` what follows it, JSON or
    /// shell form, `None` when nothing follows. A bare HEALTHCHECK (or one with only flags) has
    /// `kind: None`.
    Healthcheck {
        /// The first word after the flags.
        kind: Option<Word>,
        /// The command after `kind`, if any.
        cmd: Option<Box<Args>>,
    },
    /// `ONBUILD <instruction>`: the trigger, parsed like a top-level instruction.
    OnBuild(Box<Instruction>),
    /// Nothing after the keyword (or only flags).
    Empty,
}

/// A heredoc body attached to an instruction (`RUN <<EOF` ... `EOF`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    /// The terminator word with quotes removed (`EOF` for `<<'EOF'`).
    pub name: String,
    /// The body exactly as written, each line with its newline; leading tabs are *not* stripped
    /// here even when `chomp` is set (upstream strips them later): use [`Heredoc::body`].
    pub content: String,
    /// `false` when any part of the terminator word was quoted: the body is not expanded.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from body lines (and the terminator may be indented).
    pub chomp: bool,
    /// The file descriptor written before `<<` (`3<<EOF`), 0 when none.
    pub fd: u32,
    /// The body lines (exactly `content`), terminator line excluded.
    pub span: Span,
}

impl Heredoc {
    /// The body as the build should see it: `content` with leading tabs removed from every line
    /// when `chomp` is set (upstream's `ChompHeredocContent`).
    pub fn body(&self) -> String {
        if !self.chomp {
            return self.content.clone();
        }
        let mut out = String::with_capacity(self.content.len());
        for line in self.content.split_inclusive('\n') {
            out.push_str(line.trim_start_matches('\t'));
        }
        out
    }
}

/// A problem found while parsing, located in the source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// What the problem is about.
    pub span: Span,
    /// Human-readable description (upstream's wording where upstream has one).
    pub message: String,
    /// Whether upstream would reject the file (`Error`) or only warn.
    pub severity: Severity,
    /// The lint rule name for warnings that correspond to one (e.g. `NoEmptyContinuation`).
    pub rule: Option<&'static str>,
}

/// How serious a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Severity {
    /// Upstream's parser fails on this input.
    Error,
    /// Upstream parses it but warns.
    Warning,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_body_chomps_leading_tabs_only_when_asked() {
        let mut h = Heredoc {
            name: "EOF".into(),
            content: "\t\tone\n \ttwo\n\tthree".into(),
            expand: true,
            chomp: false,
            fd: 0,
            span: Span::default(),
        };
        assert_eq!(h.body(), h.content);
        h.chomp = true;
        assert_eq!(h.body(), "one\n \ttwo\nthree");
    }
}
