//! A [`Report`] as BuildKit warnings: one `Warn` request per finding, what upstream's
//! Dockerfile frontend sends during a build. Pure: the gateway edge sends them. (The
//! `frontend.lint` subrequest's form is `subrequest::lint::results`.)

use strata_proto::llb::{self, SourceFile};
use strata_proto::{gateway_pb, pb};

use super::{Finding, Report};

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
    /// one that loaded the Dockerfile), with the file and the instruction's lines (one
    /// range per line, as upstream's `Node.Location`) so buildx can show them.
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
                    ranges: (start..=end.max(start))
                        .map(|l| llb::line_range(l, l))
                        .collect(),
                }
            })
            .collect()
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
