//! Where an answer item is written: the lines of an instruction as BuildKit's `pb.Location`
//! ([`strata_proto::json::Location`], Go's `encoding/json` form, shared with the error
//! details: here every range has its `start` and `end`), with the index into the answer's
//! `sources`.

use strata_proto::json::{Location, Range};

use crate::includes::Sources;
use crate::syntax::Span;

/// An instruction's lines `start..=end` of the file `span` points into, one range per line
/// as upstream's `parser.Node.Location` gives them.
pub fn lines(sources: &Sources, span: Span, (start, end): (u32, u32)) -> Location {
    let end = end.max(start);
    Location {
        source_index: i32::try_from(sources.index_of(span)).unwrap_or(i32::MAX),
        ranges: (start..=end)
            .map(|l| Range::line(i32::try_from(l).unwrap_or(i32::MAX)))
            .collect(),
    }
}

/// The first line, for ordering answers as upstream does (file, then line).
pub fn sort_key(location: &Location) -> (i32, i32) {
    (
        location.source_index,
        location.ranges.first().map_or(0, Range::start_line),
    )
}

/// The answer's `sources`: every file of the build (root first), Go's `[][]byte` form.
pub fn source_list(sources: &Sources) -> Vec<String> {
    sources
        .files()
        .map(|f| strata_proto::base64::encode(&f.data))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use strata_proto::llb::SourceFile;

    use super::*;

    #[test]
    fn one_range_per_line_in_go_json_form() {
        let sources = Sources::single(Arc::new(SourceFile {
            filename: "Dockerfile".into(),
            data: b"RUN a \\\n  b\n".to_vec(),
            language: "Dockerfile".into(),
        }));
        let loc = lines(&sources, Span::new(0, 3), (1, 2));
        assert_eq!(
            serde_json::to_string(&loc).unwrap(),
            r#"{"ranges":[{"start":{"line":1},"end":{"line":1}},{"start":{"line":2},"end":{"line":2}}]}"#
        );
        assert_eq!(sort_key(&loc), (0, 1));
        assert_eq!(source_list(&sources), ["UlVOIGEgXAogIGIK"]);
    }
}
