//! Finding heredoc markers (`<<EOF`, `<<-EOF`, `3<<"EOF"`) on an instruction line, as upstream's
//! `heredocsFromLine` / `ParseHeredoc` do. Reading the bodies is the line reader's job.

use super::shlex::{process_words, LexOptions};

/// A heredoc marker found on a line, before its body is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HeredocHead {
    /// Terminator word, quotes removed.
    pub name: String,
    /// False when part of the word was quoted.
    pub expand: bool,
    /// `<<-`.
    pub chomp: bool,
    /// Leading file descriptor digits, 0 when absent.
    pub fd: u32,
}

/// All heredoc markers on `line`, in order. `Err` is an error upstream's parser would return.
///
/// A line the shell lexer cannot split (unbalanced quote, bad `${`) has no heredocs, as upstream
/// ignores that error.
pub(crate) fn heredocs_from_line(line: &str) -> Result<Vec<HeredocHead>, String> {
    let raw = LexOptions {
        raw_quotes: true,
        raw_escapes: true,
    };
    let words = process_words(line, raw).unwrap_or_default();
    let mut out = Vec::new();
    for word in &words {
        if let Some(head) = parse_heredoc_word(word)? {
            out.push(head);
        }
    }
    Ok(out)
}

/// Upstream's `ParseHeredoc`: matches `^(\d*)<<(-?)\s*([^<]*)$` and reads the terminator word.
pub(crate) fn parse_heredoc_word(word: &str) -> Result<Option<HeredocHead>, String> {
    let digits_len = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (digits, after) = word.split_at(digits_len);
    let Some(after) = after.strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, after) = match after.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, after),
    };
    // RE2's `\s` is ASCII `[\t\n\f\r ]`.
    let rest = after.trim_start_matches(['\t', '\n', '\u{c}', '\r', ' ']);
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    // strconv.ParseUint: empty is an error (fd 0); overflow yields the maximum.
    let fd = if digits.is_empty() {
        0
    } else {
        digits
            .parse::<u64>()
            .map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX))
    };

    let cooked = process_words(
        rest,
        LexOptions {
            raw_quotes: false,
            raw_escapes: false,
        },
    )
    .map_err(|e| format!("failed to process {rest:?}: {e}"))?;
    if cooked.len() != 1 {
        return Ok(None);
    }
    let quoted = process_words(
        rest,
        LexOptions {
            raw_quotes: true,
            raw_escapes: false,
        },
    )
    .map_err(|e| format!("failed to process {rest:?}: {e}"))?;
    if quoted.len() != cooked.len() {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let count = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    let name = cooked.into_iter().next().unwrap_or_default();
    let expand = count(&name) == quoted.first().map_or(0, |q| count(q));
    Ok(Some(HeredocHead {
        name,
        expand,
        chomp,
        fd,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heads(line: &str) -> Vec<(String, bool, bool, u32)> {
        heredocs_from_line(line)
            .expect("no error")
            .into_iter()
            .map(|h| (h.name, h.expand, h.chomp, h.fd))
            .collect()
    }

    fn h(name: &str, expand: bool, chomp: bool, fd: u32) -> (String, bool, bool, u32) {
        (name.to_owned(), expand, chomp, fd)
    }

    #[test]
    fn markers_as_upstream_tests_them() {
        assert_eq!(heads("RUN <<EOF"), [h("EOF", true, false, 0)]);
        assert_eq!(heads("RUN 3<<EMPTY2"), [h("EMPTY2", true, false, 3)]);
        assert_eq!(heads("RUN \"<<NOHEREDOC\""), []);
        assert_eq!(heads("RUN <<-'NOEXPAND'"), [h("NOEXPAND", false, true, 0)]);
        assert_eq!(
            heads("COPY <<FILE1 <<FILE2 /dest"),
            [h("FILE1", true, false, 0), h("FILE2", true, false, 0)]
        );
        assert_eq!(heads("RUN <<eo'f'"), [h("eof", false, false, 0)]);
        assert_eq!(heads("RUN <<eo\\'f"), [h("eo'f", true, false, 0)]);
        assert_eq!(heads("RUN <<'e'o\\'f"), [h("eo'f", false, false, 0)]);
        assert_eq!(heads("RUN <<'one two'"), [h("one two", false, false, 0)]);
        assert_eq!(heads("RUN <<$EOF"), [h("$EOF", true, false, 0)]);
        assert_eq!(heads("RUN <<  EOF  > foo"), [h("EOF", true, false, 0)]);
        assert_eq!(heads("RUN cat<<EOF"), []);
        assert_eq!(heads("RUN << 'unterminated"), []);
    }
}
