//! A logical line: the text upstream's parser hands to its line parsers (continuation lines
//! joined, comments and empty continuation lines dropped), plus the map back to source offsets.

use std::ops::Range;

use super::span::Span;

/// Concatenated pieces of source lines, remembering where each piece came from.
#[derive(Clone, Debug, Default)]
pub(crate) struct LogicalLine {
    /// The joined text (upstream's `Node.Original`).
    pub text: String,
    /// `(offset in text, offset in source)` for each non-empty piece, in order.
    segs: Vec<(usize, usize)>,
    /// Source offset used when the line has no text at all.
    anchor: usize,
}

impl LogicalLine {
    /// An empty logical line whose position defaults to `anchor`.
    pub fn new(anchor: usize) -> LogicalLine {
        LogicalLine {
            text: String::new(),
            segs: Vec::new(),
            anchor,
        }
    }

    /// Appends `piece`, which is the source text starting at `source_start`.
    pub fn push(&mut self, piece: &str, source_start: usize) {
        if piece.is_empty() {
            return;
        }
        self.segs.push((self.text.len(), source_start));
        self.text.push_str(piece);
    }

    /// Source offset of a position used as a start.
    fn source_start(&self, off: usize) -> usize {
        let idx = self.segs.partition_point(|&(l, _)| l <= off);
        match idx.checked_sub(1).and_then(|i| self.segs.get(i)) {
            Some(&(l, s)) => s + (off - l),
            None => self.anchor,
        }
    }

    /// Source offset of a position used as an (exclusive) end: the end of the piece it closes.
    fn source_end(&self, off: usize) -> usize {
        let idx = self.segs.partition_point(|&(l, _)| l < off);
        match idx.checked_sub(1).and_then(|i| self.segs.get(i)) {
            Some(&(l, s)) => s + (off - l),
            None => self.source_start(off),
        }
    }

    /// The source span of a range of `text`.
    pub fn span(&self, range: Range<usize>) -> Span {
        let start = self.source_start(range.start);
        if range.end <= range.start {
            return Span::new(start, start);
        }
        Span::new(start, self.source_end(range.end).max(start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_ranges_across_pieces() {
        // Source: "RUN a \\\n  b" → pieces "RUN a " @0 and "  b" @8.
        let mut l = LogicalLine::new(0);
        l.push("RUN a ", 0);
        l.push("", 7);
        l.push("  b", 8);
        assert_eq!(l.text, "RUN a   b");
        assert_eq!(l.span(0..3), Span::new(0, 3));
        assert_eq!(l.span(4..9), Span::new(4, 11));
        assert_eq!(l.span(8..9), Span::new(10, 11));
        assert_eq!(l.span(6..6), Span::new(8, 8));
        assert_eq!(LogicalLine::new(5).span(0..0), Span::new(5, 5));
    }
}
