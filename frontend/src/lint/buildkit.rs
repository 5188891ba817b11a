//! A [`Report`] in BuildKit's forms: one `Warn` request per finding (what a gateway build
//! sends, as upstream's Dockerfile frontend does) and the `frontend.lint` subrequest's
//! `result.json` (upstream's `lint.LintResults`). Pure: the gateway edge sends them.

use serde_json::{json, Map, Value};
use strata_proto::llb::{self, SourceFile};
use strata_proto::{gateway_pb, pb};

use super::{Finding, Report};
use crate::syntax::Span;

impl Report {
    /// upstream's short warning text: `Rule: message (line N)`, naming the file too when the
    /// finding is in an included one.
    pub fn short(&self, f: &Finding) -> String {
        let (file, start, _) = self.lines(f.span);
        if self.sources.index_of(f.span) == 0 {
            format!("{}: {} (line {start})", f.rule.name, f.message)
        } else {
            format!(
                "{}: {} (line {start} of {})",
                f.rule.name, f.message, file.filename
            )
        }
    }

    /// One `Warn` request per finding, attached to the vertex `digest` (upstream uses the
    /// one that loaded the Dockerfile), with the file and the instruction's lines so buildx
    /// can show them.
    pub fn warn_requests(&self, digest: &str) -> Vec<gateway_pb::WarnRequest> {
        self.findings
            .iter()
            .map(|f| {
                let (file, start, end) = self.lines(f.span);
                gateway_pb::WarnRequest {
                    digest: digest.to_owned(),
                    level: 1,
                    short: self.short(f).into_bytes(),
                    detail: vec![f.rule.description.as_bytes().to_vec()],
                    url: f.rule.url.unwrap_or_default().to_owned(),
                    info: Some(source_info(file)),
                    ranges: vec![llb::line_range(start, end)],
                }
            })
            .collect()
    }

    /// The `frontend.lint` subrequest's `result.json`: upstream's `LintResults`
    /// (`warnings` with `ruleName`, `description`, `url`, `detail` and a `location` of
    /// source index and line ranges; `sources`; `buildError` when the Dockerfile would
    /// not build), with Go's JSON conventions (`omitempty`, bytes as base64).
    pub fn buildkit_results(&self) -> Value {
        let mut used: Vec<usize> = Vec::new();
        let mut index_of = |span: Span| {
            let i = self.sources.index_of(span);
            match used.iter().position(|&u| u == i) {
                Some(p) => p,
                None => {
                    used.push(i);
                    used.len() - 1
                }
            }
        };
        let mut warnings = Vec::new();
        for f in &self.findings {
            let (_, start, end) = self.lines(f.span);
            let mut w = Map::new();
            w.insert("ruleName".into(), json!(f.rule.name));
            w.insert("description".into(), json!(f.rule.description));
            if let Some(url) = f.rule.url {
                w.insert("url".into(), json!(url));
            }
            w.insert("detail".into(), json!(f.message));
            w.insert("location".into(), location(index_of(f.span), start, end));
            warnings.push(Value::Object(w));
        }
        let mut out = Map::new();
        out.insert("warnings".into(), Value::Array(warnings));
        let error = self.error.as_ref().map(|e| {
            let mut b = Map::new();
            b.insert("message".into(), json!(e.to_string()));
            let loc = match e.span() {
                Some(span) => {
                    let (_, start, end) = self.lines(span);
                    location(index_of(span), start, end)
                }
                None => json!({}),
            };
            b.insert("location".into(), loc);
            Value::Object(b)
        });
        if used.is_empty() {
            // Upstream always lists the Dockerfile itself.
            used.push(0);
        }
        let files: Vec<&std::sync::Arc<SourceFile>> = self.sources.files().collect();
        let sources: Vec<Value> = used
            .iter()
            .filter_map(|&i| files.get(i))
            .map(|f| {
                json!({
                    "filename": f.filename,
                    "data": strata_proto::base64::encode(&f.data),
                    "language": f.language,
                })
            })
            .collect();
        out.insert("sources".into(), Value::Array(sources));
        if let Some(e) = error {
            out.insert("buildError".into(), e);
        }
        Value::Object(out)
    }
}

fn source_info(file: &SourceFile) -> pb::SourceInfo {
    pb::SourceInfo {
        filename: file.filename.clone(),
        data: file.data.clone(),
        language: file.language.clone(),
        definition: None,
    }
}

/// A `pb.Location` as Go's `encoding/json` writes it (zero fields omitted).
fn location(source: usize, start: u32, end: u32) -> Value {
    let mut loc = Map::new();
    if source != 0 {
        loc.insert("sourceIndex".into(), json!(source));
    }
    loc.insert(
        "ranges".into(),
        json!([{ "start": { "line": start }, "end": { "line": end } }]),
    );
    Value::Object(loc)
}
