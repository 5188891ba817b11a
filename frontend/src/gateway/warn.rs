//! Warnings the user sees: BuildKit's `Warn` (cap `gateway.warnings`, printed by buildx
//! after the build), or a trivial progress step named after the warning on a daemon
//! without it; and the lint findings of a build, sent as warnings.

use strata_proto::gateway::{caps, Bridge, SolveOptions};
use strata_proto::gateway_pb;
use strata_proto::llb::{self, OpMeta};

use super::failure::Failure;
use super::source_info;
use crate::lint::Report;
use crate::options::BuildOptions;

/// Lints the Dockerfile as BuildKit's own frontend does during a build: every finding
/// becomes a warning on the vertex that loaded the Dockerfile (`digest`); under
/// `# check=error=true` the build then fails at the first finding, before anything runs.
pub(super) async fn lint(
    bridge: &Bridge,
    opts: &BuildOptions,
    text: &str,
    prepared: &crate::pipeline::Prepared,
    images: &crate::convert::BaseImages,
    digest: &str,
) -> Result<(), Failure> {
    let report = crate::lint::lint(&crate::lint::Input {
        text,
        filename: &opts.filename,
        loader: &prepared.sources,
        opts,
        images,
        all_stages: false,
        prepared: Some(prepared),
    });
    for (f, req) in report.findings.iter().zip(warn_requests(&report, digest)) {
        send_warning(bridge, &report.short(f), req).await;
    }
    let violation = report.violation();
    match report.error.or(violation) {
        Some(error) => Err(Failure {
            error,
            sources: Some(report.sources),
        }),
        None => Ok(()),
    }
}

/// One `Warn` request per finding, attached to the vertex `digest` (upstream uses the one
/// that loaded the Dockerfile), with the file and the instruction's lines (one range per
/// line, as upstream's `Node.Location`) so buildx can show them.
fn warn_requests(report: &Report, digest: &str) -> Vec<gateway_pb::WarnRequest> {
    report
        .findings
        .iter()
        .map(|f| {
            let (file, start, end) = report.lines(f.span);
            gateway_pb::WarnRequest {
                digest: digest.to_owned(),
                level: 1,
                short: report.short(f).into_bytes(),
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

/// Shows a warning: `Warn` when BuildKit has it, else a named no-op progress step.
pub(super) async fn warn(
    bridge: &Bridge,
    digest: &str,
    message: &str,
    at: Option<(&std::sync::Arc<llb::SourceFile>, (u32, u32))>,
) {
    let (info, ranges) = match at {
        Some((file, (start, end))) => (Some(source_info(file)), vec![llb::line_range(start, end)]),
        None => (None, Vec::new()),
    };
    let req = gateway_pb::WarnRequest {
        digest: digest.to_owned(),
        level: 1,
        short: message.as_bytes().to_vec(),
        detail: Vec::new(),
        url: String::new(),
        info,
        ranges,
    };
    send_warning(bridge, message, req).await;
}

/// Sends one warning (`message` is its short text): `Warn` when BuildKit has it, else a
/// trivial progress step named after it.
async fn send_warning(bridge: &Bridge, message: &str, req: gateway_pb::WarnRequest) {
    eprintln!("strata: WARNING: {message}");
    if bridge.caps().has_frontend(caps::ids::WARNINGS) {
        // buildx (0.13 included) prints these after the build: "1 warning found".
        if let Err(e) = bridge.warn(req).await {
            eprintln!("strata: sending the warning failed: {e}");
        }
        return;
    }
    // Without the cap, a trivial step named after the warning shows it in the progress.
    let step = llb::FileOp::new(llb::State::scratch())
        .mkdir(llb::MkdirAction {
            path: "/warning".to_owned(),
            mode: 0o755,
            ..Default::default()
        })
        .meta(OpMeta::named(format!("WARNING: {message}")))
        .build();
    if let Err(e) = bridge
        .solve(
            llb::marshal(&step),
            SolveOptions {
                evaluate: true,
                ..Default::default()
            },
        )
        .await
    {
        eprintln!("strata: showing the warning failed: {e}");
    }
}
