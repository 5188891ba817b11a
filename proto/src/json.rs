//! BuildKit's `pb.Location`, `pb.Range` and `pb.Position` in Go's `encoding/json` form,
//! the one declaration both users of that form share: the `errdefs.Source` error detail
//! ([`crate::gateway::errdefs`]) and the frontend's subrequest answers (`outline`,
//! `targets`, `lint`), which BuildKit's Go code writes and buildx reads with
//! `encoding/json`.
//!
//! The keys are the protoc-gen-go struct tags (`sourceIndex`, `ranges`, `start`, `end`,
//! `line`, `character`), each `omitempty`: zero numbers, empty lists and nil positions are
//! left out. Go writes `null` for a nil list, which reads back as empty.

use serde::{Deserialize, Deserializer, Serialize};

use crate::pb;

/// Go's `encoding/json` writes `null` for nil maps, slices and pointers: read as empty.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `omitempty` for a number.
pub(crate) fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// `pb.Location`: ranges of one source file (an index into the list of files beside it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Which file of the accompanying list (0, the first, is omitted).
    #[serde(rename = "sourceIndex", default, skip_serializing_if = "is_zero")]
    pub source_index: i32,
    /// The ranges in that file.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ranges: Vec<Range>,
}

/// `pb.Range`: from `start` to `end`, each written only when present.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// First position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Position>,
    /// Last position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Position>,
}

/// `pb.Position`: a 1-based line and a 0-based character (0, omitted, for a whole line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// 1-based line.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub line: i32,
    /// 0-based character.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub character: i32,
}

impl Range {
    /// The whole line `line`: start and end both written, character 0.
    pub fn line(line: i32) -> Range {
        let at = Position { line, character: 0 };
        Range {
            start: Some(at),
            end: Some(at),
        }
    }

    /// The start's line, 0 when there is no start (as Go's `GetStart().GetLine()`).
    pub fn start_line(&self) -> i32 {
        self.start.map_or(0, |p| p.line)
    }

    /// The end's line, 0 when there is no end (as Go's `GetEnd().GetLine()`).
    pub fn end_line(&self) -> i32 {
        self.end.map_or(0, |p| p.line)
    }
}

impl From<&pb::Position> for Position {
    fn from(p: &pb::Position) -> Self {
        Position {
            line: p.line,
            character: p.character,
        }
    }
}

impl From<Position> for pb::Position {
    fn from(p: Position) -> Self {
        pb::Position {
            line: p.line,
            character: p.character,
        }
    }
}

impl From<&pb::Range> for Range {
    fn from(r: &pb::Range) -> Self {
        Range {
            start: r.start.as_ref().map(Position::from),
            end: r.end.as_ref().map(Position::from),
        }
    }
}

impl From<Range> for pb::Range {
    fn from(r: Range) -> Self {
        pb::Range {
            start: r.start.map(Into::into),
            end: r.end.map(Into::into),
        }
    }
}

impl From<&pb::Location> for Location {
    fn from(l: &pb::Location) -> Self {
        Location {
            source_index: l.source_index,
            ranges: l.ranges.iter().map(Range::from).collect(),
        }
    }
}

impl From<Location> for pb::Location {
    fn from(l: Location) -> Self {
        pb::Location {
            source_index: l.source_index,
            ranges: l.ranges.into_iter().map(Into::into).collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    #[test]
    fn go_form_omits_zero_values_and_absent_positions() {
        let loc = Location {
            source_index: 0,
            ranges: vec![
                Range::line(3),
                Range {
                    start: Some(Position {
                        line: 4,
                        character: 2,
                    }),
                    end: None,
                },
            ],
        };
        let json = serde_json::to_string(&loc).unwrap();
        assert_eq!(
            json,
            r#"{"ranges":[{"start":{"line":3},"end":{"line":3}},{"start":{"line":4,"character":2}}]}"#
        );
        assert_eq!(serde_json::from_str::<Location>(&json).unwrap(), loc);
        assert_eq!(
            serde_json::to_string(&Location {
                source_index: 2,
                ranges: Vec::new()
            })
            .unwrap(),
            r#"{"sourceIndex":2}"#
        );
        assert_eq!(
            (loc.ranges[1].start_line(), loc.ranges[1].end_line()),
            (4, 0)
        );
    }

    #[test]
    fn go_nulls_read_as_empty_and_pb_round_trips() {
        let loc: Location = serde_json::from_str(r#"{"sourceIndex":1,"ranges":null}"#).unwrap();
        assert_eq!(
            loc,
            Location {
                source_index: 1,
                ranges: Vec::new()
            }
        );
        let pb_loc = pb::Location {
            source_index: 1,
            ranges: vec![crate::llb::line_range(2, 5)],
        };
        assert_eq!(pb::Location::from(Location::from(&pb_loc)), pb_loc);
    }
}
