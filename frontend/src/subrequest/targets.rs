//! `frontend.targets`: the stages a user can pass to `--target`, with the description from
//! the comment above each `FROM` (`# build Compiles the app` above `FROM … AS build`).
//!
//! As upstream (`dockerfile2llb.ListTargets`), every stage is listed with its name, base and
//! `--platform` as written, the last one being the default. Strata lists the stages after
//! `INCLUDE`, `IF` and `FOR` (build args and platform apply). A parameterised stage is
//! listed once, under its signature (`build(GOOS, GOARCH=amd64)`): `--target
//! 'build(GOOS=linux)'` builds an instance of it; the instances its references create are
//! not listed. When the build's last stage is such an instance, its definition is the
//! default.

use crate::error::Result;
use std::collections::BTreeMap;

use serde::Serialize;
use strata_proto::json::Location;

use super::json::to_go_json;
use super::location::{self, source_list};
use super::table::{self, Rows};
use super::{doc_comment, Reply};
use crate::pipeline::Staged;
use crate::syntax::{Args, Instruction};
use crate::template;

/// Version of the targets answer's format.
pub const VERSION: &str = "1.0.0";

/// `targets.List`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct List {
    /// The stages in build order.
    pub targets: Vec<Target>,
    /// Every file of the build, root first (Go's `[][]byte`: base64).
    pub sources: Vec<String>,
}

/// `targets.Target`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    /// `AS` name, lower-cased (empty for an unnamed stage).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Built when no `--target` is given.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// The comment above `FROM` starting with the name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// What `FROM` names, as written.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub base: String,
    /// `FROM --platform`, as written.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub platform: String,
    /// The `FROM` line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// The list of stages of `s`.
pub fn list(s: &Staged) -> List {
    // The stage a build without `--target` builds: the last one, found back among the
    // `FROM`s by its span (an instance keeps its definition's `FROM` span).
    let default_span = s.lowered.stages.last().map(|st| st.from.span);
    let default_at = default_span.and_then(|span| s.froms.iter().rposition(|f| f.span == span));
    let targets = s
        .froms
        .iter()
        .enumerate()
        .map(|(i, from)| {
            let (name, key) = match template::signature(from) {
                Some((bare, shown)) => (shown, bare),
                None => {
                    let name = stage_name(from);
                    (name.clone(), name)
                }
            };
            Target {
                description: doc_comment(&from.comments, &key),
                name,
                default: Some(i) == default_at,
                base: match &from.args {
                    Args::Words(w) => w.first().map(|w| w.text.clone()).unwrap_or_default(),
                    _ => String::new(),
                },
                platform: from
                    .flags
                    .iter()
                    .find(|f| f.name == "platform")
                    .and_then(|f| f.value.clone())
                    .unwrap_or_default(),
                location: Some(location::lines(
                    &s.sources,
                    from.span,
                    (from.start_line, from.end_line),
                )),
            }
        })
        .collect();
    List {
        targets,
        sources: source_list(&s.sources),
    }
}

/// `FROM x AS Name` → `name`; empty without `AS`.
fn stage_name(from: &Instruction) -> String {
    match &from.args {
        Args::Words(w) => match w.as_slice() {
            [_, a, n] if a.text.eq_ignore_ascii_case("as") => n.text.to_lowercase(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// The answer: JSON, and text as upstream's `PrintTargets` writes it.
pub fn reply(l: &List) -> Result<Reply> {
    let mut rows: Rows = vec![table::row(&["TARGET", "DESCRIPTION"])];
    for t in &l.targets {
        let name = match (t.name.is_empty(), t.default) {
            (true, true) => "(default)".to_owned(),
            (false, true) => format!("{} (default)", t.name),
            _ => t.name.clone(),
        };
        rows.push(vec![name, t.description.clone()]);
    }
    Ok(Reply {
        json: to_go_json(l)?,
        text: table::render(&rows, 1).into_bytes(),
        version: VERSION,
        extra: BTreeMap::new(),
    })
}
