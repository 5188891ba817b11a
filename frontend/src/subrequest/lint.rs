//! `frontend.lint` (`docker buildx build --call=check` on buildx ≥ 0.15, `--print=lint` on
//! 0.13 with `BUILDX_EXPERIMENTAL=1`): the lint findings of a Dockerfile.
//!
//! [`answer`] runs [`crate::lint`] as `strata lint` does (offline: base images are not
//! resolved, each is assumed to set only `PATH`) and [`results`] turns its report into
//! upstream's types. `frontend.subrequests.describe` does not list lint (upstream's does
//! not either).
//!
//! The answer's format is upstream's (`frontend/subrequests/lint`, v0.14 to HEAD), and
//! [`reply`] writes it from a [`LintResults`]:
//! - `result.json`: `{"warnings": [Warning…], "sources": [SourceInfo…], "buildError":
//!   {"message", "location"}?}` where a `Warning` is `{"ruleName", "description"?,
//!   "url"?, "detail"?, "location"?: {"sourceIndex"?, "ranges": [{"start": {"line"},
//!   "end": {"line"}}]}}` and a `SourceInfo` is `{"filename", "data" (base64),
//!   "language"}`. `description` is the rule's description, `detail` the finding's
//!   message; `buildError` is the error a build of the file would fail with.
//!   `warnings` is `null` when there are none (Go's nil slice) and in the order upstream's
//!   checks run (`lint::order`), not by line. `buildError` is also the `error=true`
//!   violation (`lint violation found for rules: …`) and a bad `# check=` value, both with
//!   an empty `location`, as upstream; an instruction that does not parse is upstream's
//!   `dockerfile parse error on line N: …` at the whole instruction. Upstream also puts in
//!   each source the LLB `definition` that loaded the Dockerfile (with the build's session
//!   id); Strata sends none.
//! - `result.statuscode`: `1` when there is any warning or a build error, else `0`.
//! - `result.txt`: each warning as upstream's `PrintLintViolations` prints it (ordered by
//!   file name then line): `\nWARNING: <rule> - <url>\n<detail>\n` and the source snippet.

use std::collections::BTreeMap;

use serde::Serialize;
use strata_proto::json::{Location, Range};

use super::json::to_go_json;
use super::location;
use super::Reply;
use crate::convert::BaseImages;
use crate::error::{Error, Result};
use crate::includes::{Loader, Sources};
use crate::lint::Report;
use crate::options::BuildOptions;

/// Version of the lint answer's format.
pub const VERSION: &str = "1.0.0";

/// `lint.LintResults`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LintResults {
    /// The findings (`null` when none: Go's nil slice).
    #[serde(serialize_with = "nil_when_empty")]
    pub warnings: Vec<Warning>,
    /// The files the findings' locations index.
    pub sources: Vec<SourceInfo>,
    /// The error a build of the file fails with, if any.
    #[serde(rename = "buildError", skip_serializing_if = "Option::is_none")]
    pub error: Option<BuildError>,
}

/// Go's `encoding/json` form of a nil slice: upstream's `Warnings` stays nil without findings.
fn nil_when_empty<S: serde::Serializer>(
    w: &[Warning],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    if w.is_empty() {
        s.serialize_none()
    } else {
        s.collect_seq(w)
    }
}

/// `lint.Warning`: one finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The rule (`StageNameCasing`).
    #[serde(rename = "ruleName")]
    pub rule_name: String,
    /// What the rule checks.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where the rule is documented.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// This finding's message.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// `lint.BuildError`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BuildError {
    /// The error message.
    pub message: String,
    /// Where.
    pub location: Location,
}

/// `pb.SourceInfo` in Go's JSON form (no LLB definition: a Dockerfile has none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    /// File name (`Dockerfile`).
    pub filename: String,
    /// Contents, base64.
    pub data: String,
    /// `Dockerfile`.
    pub language: String,
    /// The contents as bytes, for the text answer's snippets.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Every file of a build as lint `sources`, root first (the indexes of [`Location`]).
pub fn source_infos(sources: &Sources) -> Vec<SourceInfo> {
    sources
        .files()
        .map(|f| SourceInfo {
            filename: f.filename.clone(),
            data: strata_proto::base64::encode(&f.data),
            language: f.language.clone(),
            bytes: f.data.clone(),
        })
        .collect()
}

/// Answers `frontend.lint` for the Dockerfile `text` (its includes read through
/// `loader`, like a build): every finding left after `# check=skip`, and the error a build
/// would stop with. Without a `--target`, every stage is linted anyway (as upstream).
pub fn answer(
    text: &str,
    filename: &str,
    opts: &BuildOptions,
    loader: &dyn Loader,
) -> std::result::Result<Reply, (Error, Option<Sources>)> {
    let report = crate::lint::lint(&crate::lint::Input {
        text,
        filename,
        loader,
        opts,
        images: &BaseImages::new(),
        all_stages: opts.target.is_none(),
        prepared: None,
    });
    reply(&results(&report)).map_err(|e| (e, Some(report.sources.clone())))
}

/// A lint report as upstream's `LintResults`: each finding located at its instruction's
/// lines (`sourceIndex` = its file among [`Sources::files`]), the rule's description and
/// URL, the finding's message as `detail`; the stopping error as `buildError`. Warnings
/// are in upstream's order ([`crate::lint::order`]).
pub fn results(report: &Report) -> LintResults {
    let at = |span| {
        let (_, start, end) = report.lines(span);
        location::lines(&report.sources, span, (start, end))
    };
    // Upstream's `warnings` are in the order its linter ran the checks.
    let mut findings: Vec<&crate::lint::Finding> = report.findings.iter().collect();
    findings.sort_by_key(|f| crate::lint::order::upstream_key(f));
    LintResults {
        warnings: findings
            .into_iter()
            .map(|f| Warning {
                rule_name: f.rule.name.to_owned(),
                description: f.rule.description.to_owned(),
                url: f.rule.url.unwrap_or_default().to_owned(),
                detail: f.message.clone(),
                location: Some(at(f.span)),
            })
            .collect(),
        sources: source_infos(&report.sources),
        error: build_error(report, &at),
    }
}

/// Upstream's `buildError`: the error the checks stopped at (an instruction that does not
/// parse as its `parseError`), else the `error=true` violation; a bad `# check=` value and
/// the violation carry no location (upstream's errors have none).
fn build_error(
    report: &Report,
    at: &dyn Fn(crate::syntax::Span) -> Location,
) -> Option<BuildError> {
    let nowhere = || Location {
        source_index: 0,
        ranges: Vec::new(),
    };
    let Some(e) = &report.error else {
        return report.violation().map(|v| BuildError {
            message: v.to_string(),
            location: nowhere(),
        });
    };
    if report.config_failed() {
        return Some(BuildError {
            message: e.to_string(),
            location: nowhere(),
        });
    }
    Some(BuildError {
        message: match report.parse_failed() {
            Some(ins) => format!(
                "dockerfile parse error on line {}: {e}",
                report.lines(ins).1
            ),
            None => e.to_string(),
        },
        location: match report.parse_failed().or(e.span()) {
            Some(span) => at(span),
            None => nowhere(),
        },
    })
}

/// The answer for `results`: JSON, status code and text as upstream writes them.
pub fn reply(results: &LintResults) -> Result<Reply> {
    let failed = !results.warnings.is_empty() || results.error.is_some();
    let mut extra = BTreeMap::new();
    extra.insert(
        "result.statuscode".to_owned(),
        if failed { b"1".to_vec() } else { b"0".to_vec() },
    );
    Ok(Reply {
        json: to_go_json(results)?,
        text: text(results)?.into_bytes(),
        version: VERSION,
        extra,
    })
}

fn text(results: &LintResults) -> Result<String> {
    let source = |w: &Warning| {
        w.location.as_ref().map(|l| {
            usize::try_from(l.source_index)
                .ok()
                .and_then(|i| results.sources.get(i))
                .ok_or_else(|| Error::Input("lint: sourceIndex is out of range".to_owned()))
        })
    };
    let mut order: Vec<(&Warning, Option<&SourceInfo>)> = Vec::new();
    for w in &results.warnings {
        order.push((w, source(w).transpose()?));
    }
    // Upstream's order: by file name, then first line (findings without a place first).
    order.sort_by(|(a, sa), (b, sb)| {
        let key = |w: &Warning, s: &Option<&SourceInfo>| {
            (
                s.map(|s| s.filename.clone()),
                w.location
                    .as_ref()
                    .and_then(|l| l.ranges.first())
                    .map(Range::start_line),
            )
        };
        key(a, sa).cmp(&key(b, sb))
    });
    let mut out = String::new();
    for (w, s) in order {
        out.push_str(&format!("\nWARNING: {}", w.rule_name));
        if !w.url.is_empty() {
            out.push_str(&format!(" - {}", w.url));
        }
        out.push_str(&format!("\n{}\n", w.detail));
        if let (Some(s), Some(l)) = (s, &w.location) {
            out.push_str(&snippet(s, l));
        }
    }
    Ok(out)
}

/// The lines around a location, as BuildKit's `errdefs.Source.Print` shows them.
fn snippet(s: &SourceInfo, l: &Location) -> String {
    let text = String::from_utf8_lossy(&s.bytes);
    let lines: Vec<&str> = text.split('\n').collect();
    let span = |r: &Range| (r.start_line(), r.end_line().max(r.start_line()));
    let (Some(first), Some(last)) = (
        l.ranges.iter().map(|r| span(r).0).min(),
        l.ranges.iter().map(|r| span(r).1).max(),
    ) else {
        return String::new();
    };
    let count = i32::try_from(lines.len()).unwrap_or(i32::MAX);
    if first < 1 || first > count {
        return String::new();
    }
    let (mut start, mut end) = (first, last.min(count));
    let pad = if end == start { 4 } else { 2 };
    let mut p = 0;
    while p < pad {
        if start > 1 {
            start -= 1;
            p += 1;
        }
        if end != count {
            end += 1;
            p += 1;
        }
        p += 1;
    }
    let mut out = format!("{}:{first}\n--------------------\n", s.filename);
    for i in start..=end {
        let marked = l.ranges.iter().any(|r| {
            let (a, b) = span(r);
            a <= i && i <= b
        });
        let line = usize::try_from(i - 1)
            .ok()
            .and_then(|n| lines.get(n))
            .copied()
            .unwrap_or("");
        let prefix = if marked { ">>>" } else { "   " };
        out.push_str(&format!(" {i:>3} | {prefix} {line}\n"));
    }
    out.push_str("--------------------\n");
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use strata_proto::llb::SourceFile;

    use super::*;
    use crate::syntax::Span;

    fn sources() -> Sources {
        Sources::single(Arc::new(SourceFile {
            filename: "Dockerfile".into(),
            data: b"FROM busybox:local AS Build\nRUN true\nFROM build\nCMD x\n".to_vec(),
            language: "Dockerfile".into(),
        }))
    }

    #[test]
    fn answers_the_lint_findings_and_the_build_error() {
        let opts = BuildOptions::new(crate::platform::Platform::linux_amd64());
        let text = "FROM busybox:local AS Build\nCMD x\nRUNN y\n";
        let r = answer(text, "Dockerfile", &opts, &crate::includes::NoFiles).unwrap();
        assert_eq!(r.extra["result.statuscode"], b"1");
        let v: serde_json::Value = serde_json::from_slice(&r.json).unwrap();
        assert_eq!(v["warnings"][0]["ruleName"], "StageNameCasing");
        assert_eq!(
            v["warnings"][0]["detail"],
            "Stage name 'Build' should be lowercase"
        );
        // Upstream's parseError wording (verified against Docker 28.5's builtin).
        assert_eq!(
            v["buildError"]["message"],
            "dockerfile parse error on line 3: unknown instruction: RUNN (did you mean RUN?)"
        );
        assert_eq!(v["buildError"]["location"]["ranges"][0]["start"]["line"], 3);
        // Under error=true the violation is the build error, with no location.
        let strict = answer(
            "# check=error=true\nFROM busybox:local\nCMD x\n",
            "Dockerfile",
            &opts,
            &crate::includes::NoFiles,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&strict.json).unwrap();
        assert_eq!(
            v["buildError"],
            serde_json::json!({"message": "lint violation found for rules: JSONArgsRecommended", "location": {}})
        );
        let clean = answer(
            "FROM busybox:local\nCMD [\"sh\"]\n",
            "Dockerfile",
            &opts,
            &crate::includes::NoFiles,
        )
        .unwrap();
        assert_eq!(clean.extra["result.statuscode"], b"0");
        assert!(String::from_utf8(clean.json)
            .unwrap()
            .contains("\"warnings\": null"));
    }

    #[test]
    fn writes_upstreams_json_status_and_text() {
        let s = sources();
        let results = LintResults {
            warnings: vec![Warning {
                rule_name: "StageNameCasing".into(),
                description: "Stage names should be lowercase".into(),
                url: "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/".into(),
                detail: "Stage name 'Build' should be lowercase".into(),
                location: Some(location::lines(&s, Span::new(0, 5), (1, 1))),
            }],
            sources: source_infos(&s),
            error: None,
        };
        let r = reply(&results).unwrap();
        assert_eq!(r.extra["result.statuscode"], b"1");
        let v: serde_json::Value = serde_json::from_slice(&r.json).unwrap();
        assert_eq!(v["warnings"][0]["ruleName"], "StageNameCasing");
        assert_eq!(
            v["warnings"][0]["location"]["ranges"][0]["start"]["line"],
            1
        );
        assert_eq!(v["sources"][0]["filename"], "Dockerfile");
        assert!(v.get("buildError").is_none());
        assert_eq!(
            String::from_utf8(r.text).unwrap(),
            "\nWARNING: StageNameCasing - https://docs.docker.com/go/dockerfile/rule/stage-name-casing/\n\
             Stage name 'Build' should be lowercase\n\
             Dockerfile:1\n\
             --------------------\n   \
             1 | >>> FROM busybox:local AS Build\n   \
             2 |     RUN true\n   \
             3 |     FROM build\n\
             --------------------\n"
        );
    }

    #[test]
    fn no_findings_is_status_zero() {
        let r = reply(&LintResults {
            warnings: Vec::new(),
            sources: source_infos(&sources()),
            error: None,
        })
        .unwrap();
        assert_eq!(r.extra["result.statuscode"], b"0");
        assert!(r.text.is_empty());
    }
}
