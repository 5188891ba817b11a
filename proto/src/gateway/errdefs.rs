//! Source-located errors: the `errdefs.Source` detail that makes buildx print the
//! offending lines of the build definition under an error.
//!
//! # What BuildKit expects (read from moby/buildkit, unchanged from v0.8 to v0.29)
//!
//! - The message is `errdefs.Source { pb.SourceInfo info = 1; repeated pb.Range
//!   ranges = 2; }` (`solver/errdefs/errdefs.proto`). bollard-buildkit-proto does not
//!   ship it, so [`Source`] is declared here.
//! - **Type URL** `github.com/moby/buildkit/errdefs.Source+json`: `solver/errdefs/vertex.go`
//!   registers `typeurl.Register((*Source)(nil), "github.com/moby/buildkit",
//!   "errdefs.Source+json")`, and containerd's `typeurl` joins the parts with `/`.
//! - **The `Any` value is JSON, not protobuf.** `util/grpcerrors.withDetails` encodes
//!   every typed detail with Go's `encoding/json`, and `FromGRPC` decodes it through
//!   `typeurl.UnmarshalAny`, which uses `json.Unmarshal` for types registered that
//!   way. The JSON keys are the Go struct tags of the protoc-gen-go types: the proto
//!   field names (`info`, `ranges`, `filename`, `data`, `definition`, `language`,
//!   `start`, `end`, `line`, `character`; `Definition.Source` is `"Source"`), zero
//!   values omitted, `bytes` as standard padded base64. [`Source::to_json`] writes
//!   exactly that. A detail whose URL ends in plain `errdefs.Source` is read as
//!   protobuf, which is what BuildKit before mid-2020 sent.
//! - **Status code** `Unknown` (2). The Dockerfile frontend wraps parse errors with
//!   `errdefs.WithSource` (`frontend/dockerfile/builder/build.go wrapSource`) without
//!   a code, and `grpcerrors.Code` falls back to `codes.Unknown`; its
//!   `grpcStatusError.Error()` then prints the message without a code prefix, which is
//!   what users are used to. The message is the plain error text; BuildKit adds no
//!   marker to it. Upstream also attaches a Go stack trace detail
//!   (`stack.Stack+json`); it is debugging aid only and not produced here.
//! - The gateway's `Return` handler (`frontend/gateway/gateway.go`) runs the returned
//!   status through `grpcerrors.FromGRPC`, so a detail sent by the frontend reaches the
//!   client as a `SourceError`. Several `Source` details may be attached (e.g. an
//!   error inside an included file and the include site).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::json::{null_as_default, Location, Range};
use crate::pb;
use crate::rpc;

/// The `google.protobuf.Any` type used inside [`rpc::Status`] details.
pub use bollard_buildkit_proto::google::protobuf::Any;

/// The type URL BuildKit registers for [`Source`] (JSON-encoded value).
pub const SOURCE_TYPE_URL: &str = "github.com/moby/buildkit/errdefs.Source+json";

/// The protobuf full name of [`Source`]; a detail with this URL (or ending in
/// `/errdefs.Source`) carries a protobuf-encoded value (BuildKit before v0.8).
pub const SOURCE_PROTO_NAME: &str = "errdefs.Source";

/// `errdefs.Source`: a source file and the ranges in it that an error points at.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Source {
    /// The file: name, full contents (needed to print the snippet), language and
    /// optionally the LLB definition of where it came from.
    #[prost(message, optional, tag = "1")]
    pub info: Option<pb::SourceInfo>,
    /// The offending ranges; lines are 1-based as in LLB source maps.
    #[prost(message, repeated, tag = "2")]
    pub ranges: Vec<pb::Range>,
}

/// Builds the status to `Return` for an error at `ranges` of the file `info`.
/// The code is `Unknown` like the Dockerfile frontend's (see the module docs).
pub fn source_error(message: &str, info: pb::SourceInfo, ranges: Vec<pb::Range>) -> rpc::Status {
    let status = rpc::Status {
        code: tonic::Code::Unknown as i32,
        message: message.to_owned(),
        details: Vec::new(),
    };
    with_source(
        status,
        &Source {
            info: Some(info),
            ranges,
        },
    )
}

/// Adds one more `Source` detail to a status.
pub fn with_source(mut status: rpc::Status, source: &Source) -> rpc::Status {
    status.details.push(source.to_any());
    status
}

/// All `Source` details of a status, in order; details that are not `Source` or do
/// not decode are skipped (as BuildKit's `FromGRPC` does).
pub fn sources(status: &rpc::Status) -> Vec<Source> {
    status
        .details
        .iter()
        .filter_map(|any| Source::from_any(any).ok().flatten())
        .collect()
}

/// The `Source` details of an error status received from BuildKit (carried in
/// the `grpc-status-details-bin` trailer as an encoded `google.rpc.Status`).
pub fn sources_from_tonic(status: &tonic::Status) -> Vec<Source> {
    if status.details().is_empty() {
        return Vec::new();
    }
    match <rpc::Status as prost::Message>::decode(status.details()) {
        Ok(st) => sources(&st),
        Err(_) => Vec::new(),
    }
}

impl Source {
    /// Packs the source the way BuildKit expects: JSON value, [`SOURCE_TYPE_URL`].
    pub fn to_any(&self) -> Any {
        Any {
            type_url: SOURCE_TYPE_URL.to_owned(),
            value: self.to_json(),
        }
    }

    /// Unpacks a detail: `Ok(None)` if it is not a `Source`, an error if it claims to
    /// be one but does not decode.
    pub fn from_any(any: &Any) -> Result<Option<Source>> {
        if any.type_url == SOURCE_TYPE_URL {
            return Source::from_json(&any.value).map(Some);
        }
        let name = any.type_url.rsplit('/').next().unwrap_or_default();
        if name == SOURCE_PROTO_NAME {
            return Ok(Some(<Source as prost::Message>::decode(
                any.value.as_slice(),
            )?));
        }
        Ok(None)
    }

    /// The Go `encoding/json` form of the message (see the module docs).
    pub fn to_json(&self) -> Vec<u8> {
        // Invariant: the JSON mirror has only string-keyed maps and plain fields, so
        // serialisation cannot fail; an empty value would merely lose the snippet.
        serde_json::to_vec(&SourceJson::from(self)).unwrap_or_default()
    }

    /// Parses the Go `encoding/json` form of the message.
    pub fn from_json(data: &[u8]) -> Result<Source> {
        let json: SourceJson = serde_json::from_slice(data)?;
        Ok(json.into())
    }
}

// ---------------------------------------------------------------------------
// JSON mirror of the protoc-gen-go structs (keys = their `json:"…"` tags); `pb.Location`,
// `pb.Range` and `pb.Position` are shared with the subrequest answers (`crate::json`).

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize, Deserialize, Default)]
struct SourceJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    info: Option<SourceInfoJson>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    ranges: Vec<Range>,
}

#[derive(Serialize, Deserialize, Default)]
struct SourceInfoJson {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    filename: String,
    #[serde(default, with = "base64_bytes", skip_serializing_if = "Vec::is_empty")]
    data: Vec<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    definition: Option<DefinitionJson>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    language: String,
}

#[derive(Serialize, Deserialize, Default)]
struct DefinitionJson {
    #[serde(default, with = "base64_list", skip_serializing_if = "Vec::is_empty")]
    def: Vec<Vec<u8>>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    metadata: BTreeMap<String, OpMetadataJson>,
    #[serde(rename = "Source", default, skip_serializing_if = "Option::is_none")]
    source: Option<SourceMapJson>,
}

#[derive(Serialize, Deserialize, Default)]
struct OpMetadataJson {
    #[serde(default, skip_serializing_if = "is_false")]
    ignore_cache: bool,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    description: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    export_cache: Option<ExportCacheJson>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    caps: BTreeMap<String, bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    progress_group: Option<ProgressGroupJson>,
}

#[derive(Serialize, Deserialize, Default)]
struct ExportCacheJson {
    #[serde(rename = "Value", default, skip_serializing_if = "is_false")]
    value: bool,
}

#[derive(Serialize, Deserialize, Default)]
struct ProgressGroupJson {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(default, skip_serializing_if = "is_false")]
    weak: bool,
}

#[derive(Serialize, Deserialize, Default)]
struct SourceMapJson {
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    locations: BTreeMap<String, LocationsJson>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    infos: Vec<SourceInfoJson>,
}

#[derive(Serialize, Deserialize, Default)]
struct LocationsJson {
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    locations: Vec<Location>,
}

impl From<&Source> for SourceJson {
    fn from(s: &Source) -> Self {
        SourceJson {
            info: s.info.as_ref().map(SourceInfoJson::from),
            ranges: s.ranges.iter().map(Range::from).collect(),
        }
    }
}

impl From<SourceJson> for Source {
    fn from(s: SourceJson) -> Self {
        Source {
            info: s.info.map(Into::into),
            ranges: s.ranges.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<&pb::SourceInfo> for SourceInfoJson {
    fn from(i: &pb::SourceInfo) -> Self {
        SourceInfoJson {
            filename: i.filename.clone(),
            data: i.data.clone(),
            definition: i.definition.as_ref().map(DefinitionJson::from),
            language: i.language.clone(),
        }
    }
}

impl From<SourceInfoJson> for pb::SourceInfo {
    fn from(i: SourceInfoJson) -> Self {
        pb::SourceInfo {
            filename: i.filename,
            data: i.data,
            definition: i.definition.map(Into::into),
            language: i.language,
        }
    }
}

impl From<&pb::Definition> for DefinitionJson {
    fn from(d: &pb::Definition) -> Self {
        DefinitionJson {
            def: d.def.clone(),
            metadata: d
                .metadata
                .iter()
                .map(|(k, m)| (k.clone(), OpMetadataJson::from(m)))
                .collect(),
            source: d.source.as_ref().map(SourceMapJson::from),
        }
    }
}

impl From<DefinitionJson> for pb::Definition {
    fn from(d: DefinitionJson) -> Self {
        pb::Definition {
            def: d.def,
            metadata: d.metadata.into_iter().map(|(k, m)| (k, m.into())).collect(),
            source: d.source.map(Into::into),
        }
    }
}

impl From<&pb::OpMetadata> for OpMetadataJson {
    fn from(m: &pb::OpMetadata) -> Self {
        OpMetadataJson {
            ignore_cache: m.ignore_cache,
            description: m.description.clone(),
            export_cache: m.export_cache.map(|e| ExportCacheJson { value: e.value }),
            caps: m.caps.clone(),
            progress_group: m.progress_group.as_ref().map(|g| ProgressGroupJson {
                id: g.id.clone(),
                name: g.name.clone(),
                weak: g.weak,
            }),
        }
    }
}

impl From<OpMetadataJson> for pb::OpMetadata {
    fn from(m: OpMetadataJson) -> Self {
        pb::OpMetadata {
            ignore_cache: m.ignore_cache,
            description: m.description,
            export_cache: m.export_cache.map(|e| pb::ExportCache { value: e.value }),
            caps: m.caps,
            progress_group: m.progress_group.map(|g| pb::ProgressGroup {
                id: g.id,
                name: g.name,
                weak: g.weak,
            }),
        }
    }
}

impl From<&pb::Source> for SourceMapJson {
    fn from(s: &pb::Source) -> Self {
        SourceMapJson {
            locations: s
                .locations
                .iter()
                .map(|(k, l)| {
                    let locations = l.locations.iter().map(Location::from).collect();
                    (k.clone(), LocationsJson { locations })
                })
                .collect(),
            infos: s.infos.iter().map(SourceInfoJson::from).collect(),
        }
    }
}

impl From<SourceMapJson> for pb::Source {
    fn from(s: SourceMapJson) -> Self {
        pb::Source {
            locations: s
                .locations
                .into_iter()
                .map(|(k, l)| {
                    let locations = l.locations.into_iter().map(pb::Location::from).collect();
                    (k, pb::Locations { locations })
                })
                .collect(),
            infos: s.infos.into_iter().map(Into::into).collect(),
        }
    }
}

mod base64_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::base64::encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(Vec::new()),
            Some(text) => crate::base64::decode(&text)
                .ok_or_else(|| serde::de::Error::custom("invalid base64")),
        }
    }
}

mod base64_list {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(data.len()))?;
        for item in data {
            seq.serialize_element(&crate::base64::encode(item))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Option::<Vec<Option<String>>>::deserialize(d)?
            .unwrap_or_default()
            .into_iter()
            .map(|item| match item {
                None => Ok(Vec::new()),
                Some(text) => crate::base64::decode(&text)
                    .ok_or_else(|| serde::de::Error::custom("invalid base64")),
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may panic on failure.
mod tests {
    use super::*;

    fn range(l1: i32, c1: i32, l2: i32, c2: i32) -> pb::Range {
        pb::Range {
            start: Some(pb::Position {
                line: l1,
                character: c1,
            }),
            end: Some(pb::Position {
                line: l2,
                character: c2,
            }),
        }
    }

    #[test]
    fn base64_matches_go() {
        for (raw, enc) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"FROM alpine\n", "RlJPTSBhbHBpbmUK"),
            (&[0xff, 0xfe, 0x00], "//4A"),
        ] {
            assert_eq!(crate::base64::encode(raw), enc);
            assert_eq!(crate::base64::decode(enc).unwrap(), raw);
        }
        assert!(crate::base64::decode("a*b").is_none());
    }

    #[test]
    fn json_form_matches_go_encoding() {
        let src = Source {
            info: Some(pb::SourceInfo {
                filename: "Stratafile".into(),
                data: b"FROM alpine\n".to_vec(),
                definition: None,
                language: "Dockerfile".into(),
            }),
            ranges: vec![range(1, 0, 1, 0)],
        };
        let json = String::from_utf8(src.to_json()).unwrap();
        assert_eq!(
            json,
            r#"{"info":{"filename":"Stratafile","data":"RlJPTSBhbHBpbmUK","language":"Dockerfile"},"ranges":[{"start":{"line":1},"end":{"line":1}}]}"#
        );
    }

    #[test]
    fn source_error_round_trips_with_definition() {
        let mut def = pb::Definition {
            def: vec![vec![1, 2, 3], vec![]],
            ..Default::default()
        };
        def.metadata.insert(
            "sha256:abc".into(),
            pb::OpMetadata {
                ignore_cache: true,
                description: [("llb.customname".to_owned(), "x".to_owned())].into(),
                export_cache: Some(pb::ExportCache { value: true }),
                caps: [("source.local".to_owned(), true)].into(),
                progress_group: Some(pb::ProgressGroup {
                    id: "g".into(),
                    name: "n".into(),
                    weak: true,
                }),
            },
        );
        def.source = Some(pb::Source {
            locations: [(
                "sha256:abc".to_owned(),
                pb::Locations {
                    locations: vec![pb::Location {
                        source_index: 1,
                        ranges: vec![range(2, 1, 3, 4)],
                    }],
                },
            )]
            .into(),
            infos: vec![pb::SourceInfo {
                filename: "inner".into(),
                ..Default::default()
            }],
        });
        let info = pb::SourceInfo {
            filename: "Stratafile".into(),
            data: b"FROM alpine\nRUN nope\n".to_vec(),
            definition: Some(def),
            language: "Dockerfile".into(),
        };
        let st = source_error(
            "unknown instruction: NOPE",
            info.clone(),
            vec![range(2, 0, 2, 8)],
        );
        assert_eq!(st.code, 2);
        assert_eq!(st.message, "unknown instruction: NOPE");
        assert_eq!(st.details.len(), 1);
        assert_eq!(st.details[0].type_url, SOURCE_TYPE_URL);
        let back = sources(&st);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].info.as_ref(), Some(&info));
        assert_eq!(back[0].ranges, vec![range(2, 0, 2, 8)]);
    }

    #[test]
    fn go_written_json_with_nulls_decodes() {
        let go = br#"{"info":{"filename":"f","data":null,"definition":{"def":null,"metadata":null}},"ranges":null}"#;
        let src = Source::from_json(go).unwrap();
        assert_eq!(src.info.unwrap().filename, "f");
        assert!(src.ranges.is_empty());
    }

    #[test]
    fn legacy_protobuf_detail_and_foreign_details() {
        let src = Source {
            info: Some(pb::SourceInfo {
                filename: "old".into(),
                ..Default::default()
            }),
            ranges: vec![],
        };
        let status = rpc::Status {
            code: 2,
            message: "m".into(),
            details: vec![
                Any {
                    type_url: "github.com/moby/buildkit/stack.Stack+json".into(),
                    value: b"{}".to_vec(),
                },
                Any {
                    type_url: "type.googleapis.com/errdefs.Source".into(),
                    value: prost::Message::encode_to_vec(&src),
                },
            ],
        };
        assert_eq!(sources(&status), vec![src]);
    }

    #[test]
    fn from_tonic_status_details() {
        let st = source_error("boom", pb::SourceInfo::default(), vec![range(1, 0, 1, 0)]);
        let t = tonic::Status::with_details(
            tonic::Code::Unknown,
            "boom",
            prost::Message::encode_to_vec(&st).into(),
        );
        assert_eq!(sources_from_tonic(&t).len(), 1);
        assert!(sources_from_tonic(&tonic::Status::unknown("x")).is_empty());
    }
}
