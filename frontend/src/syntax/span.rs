//! Source positions: byte spans into the Dockerfile text and a line/column index for reporting.

use std::ops::Index;

/// Byte range into the Dockerfile source.
///
/// Every AST node carries one so later layers can point diagnostics at the exact text that caused
/// them. Offsets are `u32` to keep nodes small; sources longer than `u32::MAX` bytes saturate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Span {
    /// First byte of the range.
    pub start: u32,
    /// One past the last byte of the range.
    pub end: u32,
}

impl Span {
    /// Builds a span from `usize` offsets (saturating at `u32::MAX`), which is what slicing code has.
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: to_u32(start),
            end: to_u32(end),
        }
    }

    /// Length in bytes, so callers need not subtract (and underflow) themselves.
    pub fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    /// True for an empty (zero-width) span, e.g. a position marker.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The smallest span covering both, used to merge a keyword span with its arguments.
    pub fn cover(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The spanned text, or `None` when the span is out of range or not on char boundaries
    /// (a panic-free alternative to `&src[span]`).
    pub fn get(self, source: &str) -> Option<&str> {
        source.get(self.start as usize..self.end as usize)
    }
}

/// Lets tests and callers write `&src[span]`, mirroring `&src[range]`.
///
/// Panics like any out-of-range string slice; use [`Span::get`] when the span may not belong to
/// `source`.
impl Index<Span> for str {
    type Output = str;

    fn index(&self, span: Span) -> &str {
        &self[span.start as usize..span.end as usize]
    }
}

/// Converts an offset to `u32`, saturating (a Dockerfile over 4 GiB is not a real input).
pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Maps byte offsets to 1-based line/column.
///
/// Diagnostics are reported as line:column for humans (and BuildKit's source maps are line based),
/// while the AST stores byte offsets; this bridges the two. Lines are separated by `\n`, as in
/// upstream's line counting.
#[derive(Clone, Debug)]
pub struct LineIndex {
    text: String,
    line_starts: Vec<u32>,
}

impl LineIndex {
    /// Indexes `source` once so lookups are a binary search.
    pub fn new(source: &str) -> LineIndex {
        let mut line_starts = vec![0u32];
        for (i, b) in source.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(to_u32(i + 1));
            }
        }
        LineIndex {
            text: source.to_owned(),
            line_starts,
        }
    }

    /// 1-based line of a byte offset (offsets past the end map to the last line).
    pub fn line(&self, offset: u32) -> u32 {
        let idx = self.line_starts.partition_point(|&s| s <= offset);
        to_u32(idx.max(1))
    }

    /// 1-based line and 1-based column counted in chars (not bytes).
    ///
    /// An offset inside a multi-byte char counts up to the char containing it; offsets past the
    /// end are clamped to the end of the text.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let line = self.line(offset);
        let start = self.line_starts[(line - 1) as usize] as usize;
        let mut end = (offset as usize).min(self.text.len()).max(start);
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let col = self.text.get(start..end).map_or(0, |s| s.chars().count());
        (line, to_u32(col + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let idx = LineIndex::new("ab\ncdé\nx");
        assert_eq!(idx.line_col(0), (1, 1));
        assert_eq!(idx.line_col(2), (1, 3));
        assert_eq!(idx.line_col(3), (2, 1));
        // 'é' is two bytes; the char after it is column 4.
        assert_eq!(idx.line_col(7), (2, 4));
        assert_eq!(idx.line_col(8), (3, 1));
        assert_eq!(idx.line(100), 3);
        assert_eq!(idx.line_col(100), (3, 2));
    }

    #[test]
    fn offset_inside_multibyte_char_does_not_panic() {
        let idx = LineIndex::new("é");
        assert_eq!(idx.line_col(1), (1, 1));
    }

    #[test]
    fn span_helpers() {
        let s = Span::new(2, 5);
        assert_eq!(s.len(), 3);
        assert_eq!(&"abcdefg"[s], "cde");
        assert_eq!(s.get("ab"), None);
        assert_eq!(s.cover(Span::new(0, 3)), Span::new(0, 5));
    }
}
