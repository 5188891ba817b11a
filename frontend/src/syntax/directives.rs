//! Parser directives (`# syntax=`, `# escape=`, `# check=`), scanned the way upstream's
//! `DirectiveParser` does: only in the unbroken run of directive comments at the top of the file.

/// Names upstream recognises.
const VALID: [&str; 3] = ["syntax", "escape", "check"];

/// State of directive scanning: once any line is not a valid directive, scanning stops for good.
#[derive(Debug, Default)]
pub(crate) struct DirectiveScanner {
    done: bool,
    seen: Vec<String>,
}

impl DirectiveScanner {
    /// Looks at one line (newline removed, leading whitespace already stripped).
    ///
    /// `Ok(Some((name, value)))` for a directive, `Ok(None)` for anything else, and `Err` for a
    /// repeated directive (upstream: "only one X parser directive can be used").
    pub fn parse_line(&mut self, line: &str) -> Result<Option<(String, String)>, String> {
        if self.done {
            return Ok(None);
        }
        let Some(body) = line.strip_prefix('#') else {
            self.done = true;
            return Ok(None);
        };
        let Some((key, value)) = match_directive(body.trim_start()) else {
            self.done = true;
            return Ok(None);
        };
        let key = key.to_ascii_lowercase();
        if !VALID.contains(&key.as_str()) {
            self.done = true;
            return Ok(None);
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        Ok(Some((key, value.to_owned())))
    }
}

/// RE2's `\s`: `[\t\n\f\r ]`.
fn is_re_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ')
}

/// Upstream's `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`.
fn match_directive(s: &str) -> Option<(&str, &str)> {
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let key_len = s
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(s.len());
    let (key, rest) = s.split_at(key_len);
    let rest = rest.trim_start_matches(is_re_space).strip_prefix('=')?;
    if rest.is_empty() {
        return None;
    }
    let value = rest.trim_start_matches(is_re_space);
    if value.is_empty() {
        // Only whitespace after `=`: the lazy `.+?` takes the last whitespace char.
        let last = rest.char_indices().last().map_or(0, |(i, _)| i);
        return Some((key, &rest[last..]));
    }
    Some((key, value.trim_end_matches(is_re_space)))
}

/// Upstream's `setEscapeToken`: only `\` and `` ` `` are allowed.
pub(crate) fn escape_token(value: &str) -> Result<char, String> {
    match value {
        "\\" => Ok('\\'),
        "`" => Ok('`'),
        _ => Err(format!(
            "invalid escape token '{value}' does not match ` or \\"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_directives_case_insensitively() {
        let mut d = DirectiveScanner::default();
        assert_eq!(
            d.parse_line("# SYNTAX = docker/dockerfile:1  "),
            Ok(Some(("syntax".into(), "docker/dockerfile:1".into())))
        );
        assert_eq!(
            d.parse_line("#escape=`"),
            Ok(Some(("escape".into(), "`".into())))
        );
        assert_eq!(
            d.parse_line("# check=skip=all"),
            Ok(Some(("check".into(), "skip=all".into())))
        );
        assert!(d.parse_line("# syntax=again").is_err());
    }

    #[test]
    fn stops_at_first_non_directive() {
        let mut d = DirectiveScanner::default();
        assert_eq!(d.parse_line("# just a comment"), Ok(None));
        assert_eq!(d.parse_line("# escape=`"), Ok(None));
        let mut d = DirectiveScanner::default();
        assert_eq!(d.parse_line("# unknown=x"), Ok(None));
        assert_eq!(d.parse_line("# syntax=x"), Ok(None));
        let mut d = DirectiveScanner::default();
        assert_eq!(d.parse_line(""), Ok(None));
        assert_eq!(d.parse_line("# syntax=x"), Ok(None));
    }

    #[test]
    fn escape_values() {
        assert_eq!(escape_token("`"), Ok('`'));
        assert_eq!(escape_token("\\"), Ok('\\'));
        assert!(escape_token("x").is_err());
        assert_eq!(match_directive("escape= "), Some(("escape", " ")));
        assert_eq!(match_directive("escape="), None);
    }
}
