//! Where an answer item is written: BuildKit's `pb.Location` as Go's `encoding/json`
//! writes it (`sourceIndex` and `ranges`, zero values omitted, `start`/`end` always
//! present), with the index into the answer's `sources`.

use serde::Serialize;

use crate::includes::Sources;
use crate::syntax::Span;

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// `pb.Location`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Which file of the answer's `sources` (0 = the Dockerfile).
    #[serde(rename = "sourceIndex", skip_serializing_if = "is_zero")]
    pub source_index: i32,
    /// The lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
}

/// `pb.Range`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Range {
    /// First position.
    pub start: Position,
    /// Last position.
    pub end: Position,
}

/// `pb.Position`: 1-based line, character 0 for a whole line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    /// 1-based line.
    #[serde(skip_serializing_if = "is_zero")]
    pub line: i32,
    /// 0-based column; 0 (omitted) for whole lines.
    #[serde(skip_serializing_if = "is_zero")]
    pub character: i32,
}

impl Location {
    /// An instruction's lines `start..=end` of the file `span` points into, one range per
    /// line as upstream's `parser.Node.Location` gives them.
    pub fn lines(sources: &Sources, span: Span, (start, end): (u32, u32)) -> Location {
        let end = end.max(start);
        let at = |line: u32| Position {
            line: i32::try_from(line).unwrap_or(i32::MAX),
            character: 0,
        };
        Location {
            source_index: i32::try_from(sources.index_of(span)).unwrap_or(i32::MAX),
            ranges: (start..=end)
                .map(|l| Range {
                    start: at(l),
                    end: at(l),
                })
                .collect(),
        }
    }

    /// The first line, for ordering answers as upstream does (file, then line).
    pub fn sort_key(&self) -> (i32, i32) {
        (
            self.source_index,
            self.ranges.first().map_or(0, |r| r.start.line),
        )
    }
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
        let loc = Location::lines(&sources, Span::new(0, 3), (1, 2));
        assert_eq!(
            serde_json::to_string(&loc).unwrap(),
            r#"{"ranges":[{"start":{"line":1},"end":{"line":1}},{"start":{"line":2},"end":{"line":2}}]}"#
        );
        assert_eq!(loc.sort_key(), (0, 1));
        assert_eq!(source_list(&sources), ["UlVOIGEgXAogIGIK"]);
    }
}
