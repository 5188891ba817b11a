//! The line reader: physical lines → logical lines → instructions, following upstream's `Parse`
//! loop (BOM, directives, comments, continuations, empty continuation lines, heredoc bodies).

use super::ast::{Args, Diagnostic, Directive, Dockerfile, Heredoc, Instruction, Severity};
use super::directives::{escape_token, DirectiveScanner};
use super::heredoc::heredocs_from_line;
use super::instruction::{InstructionParser, Placement};
use super::logical::LogicalLine;
use super::span::{to_u32, Span};

/// One physical line of the source.
#[derive(Clone, Copy, Debug)]
struct PhysLine {
    /// First byte.
    start: usize,
    /// End of the content: trailing `\r`/`\n` characters removed (upstream's `trimNewline`).
    content_end: usize,
    /// End including the newline.
    end: usize,
}

/// Splits the source into lines at `\n`, keeping the terminators (upstream's `scanLines`).
struct Lines<'a> {
    src: &'a str,
    pos: usize,
}

impl Iterator for Lines<'_> {
    type Item = PhysLine;

    fn next(&mut self) -> Option<PhysLine> {
        if self.pos >= self.src.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.src[start..];
        let end = rest.find('\n').map_or(self.src.len(), |i| start + i + 1);
        let content_end = start + self.src[start..end].trim_end_matches(['\r', '\n']).len();
        self.pos = end;
        Some(PhysLine {
            start,
            content_end,
            end,
        })
    }
}

/// Upstream's `isComment`: `#` after optional (Unicode) whitespace.
fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Upstream's `trimContinuationCharacter`: if the line ends with the escape character (optionally
/// followed by spaces/tabs) not itself escaped, returns the length to keep and `false` (the line
/// continues); otherwise the full length and `true`.
fn trim_continuation(line: &str, escape: char) -> (usize, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    if let Some(before) = t.strip_suffix(escape) {
        if before.is_empty() {
            return (0, false);
        }
        if !before.ends_with(escape) {
            return (before.len(), false);
        }
    }
    (line.len(), true)
}

/// RUN/COPY/ADD not in JSON form, directly or as an ONBUILD trigger (`canContainHeredoc`).
fn can_contain_heredoc(inst: &Instruction) -> bool {
    let target = match (&*inst.keyword, &inst.args) {
        ("onbuild", Args::OnBuild(inner)) => inner,
        _ => inst,
    };
    matches!(&*target.keyword, "run" | "copy" | "add") && !matches!(target.args, Args::Json(_))
}

/// Parses a whole Dockerfile; see [`super::parse`].
pub(crate) fn parse_source(src: &str) -> Dockerfile {
    let body_start = if src.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let mut lines = Lines {
        src,
        pos: body_start,
    };
    let mut escape = '\\';
    let mut scanner = DirectiveScanner::default();
    let mut directives = Vec::new();
    let mut diagnostics = Vec::new();
    let mut instructions = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let mut current_line: u32 = 0;

    while let Some(pl) = lines.next() {
        let raw = &src[pl.start..pl.end];
        if is_comment(raw) {
            let mut chars = raw.chars();
            chars.next();
            let text = chars.as_str().trim();
            if text.is_empty() {
                comments.clear();
            } else {
                comments.push(text.to_owned());
            }
        }
        let content = &src[pl.start..pl.content_end];
        let lead = content.len() - content.trim_start().len();
        let first_start = pl.start + lead;
        let first = &content[lead..];
        let line_span = Span::new(first_start, pl.content_end);
        match scanner.parse_line(first) {
            Ok(Some((name, value))) => {
                let mut ok = true;
                if name == "escape" {
                    match escape_token(&value) {
                        Ok(c) => escape = c,
                        Err(message) => {
                            ok = false;
                            diagnostics.push(error(line_span, message));
                        }
                    }
                }
                if ok {
                    comments.pop();
                    directives.push(Directive {
                        name,
                        value,
                        span: line_span,
                    });
                }
            }
            Ok(None) => {}
            Err(message) => diagnostics.push(error(line_span, message)),
        }
        current_line = current_line.saturating_add(1);
        let start_line = current_line;

        let first = if is_comment(first) { "" } else { first };
        let (keep, mut at_end) = trim_continuation(first, escape);
        if at_end && keep == 0 {
            continue;
        }
        let mut logical = LogicalLine::new(first_start);
        logical.push(&first[..keep], first_start);
        let mut last_end = pl.content_end;
        let mut has_empty_continuation = false;
        while !at_end {
            let Some(pl) = lines.next() else { break };
            current_line = current_line.saturating_add(1);
            last_end = pl.content_end;
            let content = &src[pl.start..pl.content_end];
            if is_comment(content) {
                continue;
            }
            if content.trim_start().is_empty() {
                has_empty_continuation = true;
                continue;
            }
            let (keep, end) = trim_continuation(content, escape);
            at_end = end;
            logical.push(&content[..keep], pl.start);
        }

        let placement = Placement {
            end: last_end,
            start_line,
            end_line: current_line,
        };
        let mut inst = InstructionParser {
            line: &logical,
            escape,
            diagnostics: &mut diagnostics,
            placement,
        }
        .parse(0..logical.text.len(), std::mem::take(&mut comments), 0);

        if has_empty_continuation {
            diagnostics.push(Diagnostic {
                span: inst.span,
                message: "Empty continuation lines will become errors in a future release".into(),
                severity: Severity::Warning,
                rule: Some("NoEmptyContinuation"),
            });
        }

        if can_contain_heredoc(&inst) && logical.text.contains("<<") {
            match heredocs_from_line(&logical.text) {
                Err(message) => diagnostics.push(error(inst.span, message)),
                Ok(heads) => {
                    for head in heads {
                        let body_start = lines.pos;
                        let mut body_end = body_start;
                        let mut terminated = false;
                        for pl in lines.by_ref() {
                            current_line = current_line.saturating_add(1);
                            last_end = pl.content_end;
                            let line = &src[pl.start..pl.content_end];
                            let candidate = if head.chomp {
                                line.trim_start_matches('\t')
                            } else {
                                line
                            };
                            if candidate == head.name {
                                terminated = true;
                                break;
                            }
                            body_end = pl.end;
                        }
                        let span = Span::new(body_start, body_end);
                        if !terminated {
                            diagnostics.push(error(
                                Span::new(inst.span.start as usize, src.len()),
                                "unterminated heredoc".into(),
                            ));
                        }
                        inst.heredocs.push(Heredoc {
                            name: head.name,
                            content: src[body_start..body_end].to_owned(),
                            expand: head.expand,
                            chomp: head.chomp,
                            fd: head.fd,
                            span,
                        });
                    }
                    extend_to(&mut inst, last_end, current_line);
                }
            }
        }
        instructions.push(inst);
    }

    if instructions.is_empty() {
        diagnostics.push(error(
            Span::new(src.len(), src.len()),
            "file with no instructions".into(),
        ));
    }
    Dockerfile {
        directives,
        escape,
        instructions,
        diagnostics,
    }
}

/// Stretches an instruction (and an ONBUILD trigger inside it) over its heredoc bodies.
fn extend_to(inst: &mut Instruction, end: usize, end_line: u32) {
    inst.span.end = inst.span.end.max(to_u32(end));
    inst.end_line = end_line;
    if let Args::OnBuild(inner) = &mut inst.args {
        extend_to(inner, end, end_line);
    }
}

fn error(span: Span, message: String) -> Diagnostic {
    Diagnostic {
        span,
        message,
        severity: Severity::Error,
        rule: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_rules() {
        assert_eq!(trim_continuation("a \\", '\\'), (2, false));
        assert_eq!(trim_continuation("a \\ \t", '\\'), (2, false));
        assert_eq!(trim_continuation("\\", '\\'), (0, false));
        assert_eq!(trim_continuation("a\\\\", '\\'), (3, true));
        assert_eq!(trim_continuation("a `", '`'), (2, false));
        assert_eq!(trim_continuation("a \\", '`'), (3, true));
        assert_eq!(trim_continuation("", '\\'), (0, true));
    }
}
