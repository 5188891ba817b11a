//! SBOMs (`--sbom`, `attest:sbom`): the generator image's config resolved once per build,
//! then, per platform, the generator run on the target's filesystem and on the extras the
//! Dockerfile asks for ([`ScanTargets`]), following BuildKit's SBOM generator protocol
//! (docs/attestations/sbom-protocol.md upstream), and what it writes attached to the
//! platform's result as an attestation bundle. BuildKit then skips its own scan of the
//! final image, which it only runs when the frontend returned no SBOM.

use std::collections::HashMap;

use strata_proto::gateway::Bridge;
use strata_proto::gateway_pb;
use strata_proto::llb::{self, Exec, Mount, MountKind, OpMeta, State};

use super::solve::solve_now;
use crate::convert::ScanTargets;
use crate::error::{Error, Result};
use crate::image::{Image, DEFAULT_PATH};
use crate::options::{BuildOptions, SbomRequest};
use crate::platform::Platform;
use crate::scope::Vars;

/// Where the generator writes its SBOMs (`BUILDKIT_SCAN_DESTINATION`), as upstream writes it.
const OUT_DIR: &str = "/run/out/";
/// Where the target's filesystem is mounted (`BUILDKIT_SCAN_SOURCE`).
const CORE_DIR: &str = "/run/src/core/sbom";
/// The directory of the extras (`BUILDKIT_SCAN_SOURCE_EXTRAS`), each at `sbom-<name>`.
const EXTRAS_DIR: &str = "/run/src/extras";
/// The in-toto predicate type of an SPDX document: every bundled file must have it.
const SPDX_PREDICATE: &str = "https://spdx.dev/Document";

/// A resolved generator: what each platform's scan runs.
#[derive(Clone, Debug)]
pub(super) struct Scanner {
    /// The generator image, normalised.
    generator: String,
    /// Its entrypoint and command.
    args: Vec<String>,
    /// Its environment, then the protocol's variables and the request's parameters.
    env: Vec<String>,
    /// Its working directory.
    cwd: String,
    /// The platform it runs on: the build platform, as upstream.
    platform: Platform,
}

/// Resolves the generator of `request` (its config, for the platform the build runs on); a
/// generator that starts nothing is an error, in upstream's words.
pub(super) async fn scanner(
    bridge: &Bridge,
    opts: &BuildOptions,
    request: &SbomRequest,
) -> Result<Scanner> {
    let platform = opts.build_platform.clone();
    let mode = opts.image_resolve_mode.as_deref().unwrap_or("default");
    // No progress name: BuildKit then shows its own (`resolve image config for …`), as
    // for the builtin frontend, which names none either.
    let resolved = bridge
        .resolve_image_config(&request.generator, Some(platform.to_pb()), mode, "")
        .await?;
    let config: Image = serde_json::from_slice(&resolved.config).map_err(|e| {
        Error::Input(format!(
            "sbom scanner {}: invalid image config: {e}",
            request.generator
        ))
    })?;
    Scanner::new(resolved.reference, &config, request, platform)
}

impl Scanner {
    /// The scanner for the generator `generator` with the image config `config`.
    pub(super) fn new(
        generator: String,
        config: &Image,
        request: &SbomRequest,
        platform: Platform,
    ) -> Result<Scanner> {
        let c = &config.config;
        let args: Vec<String> = c
            .entrypoint
            .iter()
            .chain(c.cmd.iter())
            .flatten()
            .cloned()
            .collect();
        if args.is_empty() {
            return Err(Error::Input(format!(
                "scanner {generator} does not have cmd"
            )));
        }
        let mut vars = Vars::default();
        for kv in c.env.iter().flatten() {
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            vars.set(k, v);
        }
        if !vars.contains("PATH") {
            vars.set("PATH", DEFAULT_PATH);
        }
        vars.set("BUILDKIT_SCAN_DESTINATION", OUT_DIR);
        vars.set("BUILDKIT_SCAN_SOURCE", CORE_DIR);
        for (k, v) in &request.params {
            vars.set(&format!("BUILDKIT_SCAN_{k}"), v);
        }
        let cwd = match c.working_dir.as_deref() {
            Some(d) if d.starts_with('/') => d.to_owned(),
            Some(d) => crate::convert::paths::join("/", d),
            None => "/".to_owned(),
        };
        Ok(Scanner {
            generator,
            args,
            env: vars.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            cwd,
            platform,
        })
    }

    /// The generator's output directory after it scanned `core` (the target's filesystem)
    /// and `targets`' extras for the platform `id`.
    pub(super) fn scan_state(
        &self,
        id: &str,
        core: &State,
        targets: &ScanTargets,
    ) -> Result<State> {
        let root = llb::image(llb::ImageSource {
            reference: self.generator.clone(),
            digest: None,
            platform: Some(self.platform.to_pb()),
            resolve_mode: None,
            meta: OpMeta::default(),
        });
        let mut env = self.env.clone();
        if !targets.extras.is_empty() {
            // After the protocol's two others, before the parameters, as upstream.
            let at = env
                .iter()
                .position(|e| e.starts_with("BUILDKIT_SCAN_SOURCE="))
                .map_or(env.len(), |i| i + 1);
            env.insert(at, format!("BUILDKIT_SCAN_SOURCE_EXTRAS={EXTRAS_DIR}"));
        }
        let mut meta = OpMeta::named(format!("[{id}] generating sbom using {}", self.generator));
        meta.ignore_cache = targets.ignore_cache;
        let mut exec = Exec::new(root, self.args.clone())
            .env(env)
            .cwd(&self.cwd)
            .platform(Some(self.platform.to_pb()))
            .meta(meta)
            .mount(Mount {
                dest: "/tmp".to_owned(),
                source: None,
                selector: String::new(),
                readonly: false,
                capture: false,
                kind: MountKind::Tmpfs { size: 0 },
            })
            .mount(Mount::bind(CORE_DIR, core.clone()));
        for (name, state) in &targets.extras {
            exec = exec.mount(Mount::bind(
                &format!("{EXTRAS_DIR}/sbom-{name}"),
                state.clone(),
            ));
        }
        let out = exec
            .mount(Mount {
                dest: OUT_DIR.to_owned(),
                source: None,
                selector: String::new(),
                readonly: false,
                capture: true,
                kind: MountKind::Bind,
            })
            .run();
        out.mounts
            .into_iter()
            .find(|(dest, _)| dest == OUT_DIR)
            .map(|(_, state)| state)
            .ok_or_else(|| Error::Input(format!("the sbom scan of {id} has no {OUT_DIR} output")))
    }

    /// Runs the scan of platform `id` and returns it as the attestation bundle BuildKit
    /// unpacks into one SPDX attestation per file the generator wrote.
    pub(super) async fn scan(
        &self,
        bridge: &Bridge,
        id: &str,
        core: &State,
        targets: &ScanTargets,
    ) -> Result<gateway_pb::Attestation> {
        let def = llb::marshal(&self.scan_state(id, core, targets)?);
        let reference = solve_now(bridge, def, Vec::new()).await?;
        Ok(attestation(reference))
    }
}

/// The bundle of SBOMs in the solved output directory `reference`, as upstream marks it:
/// reason `sbom`, and `sbom-core` naming the file of the target's own scan (`sbom.*`).
fn attestation(reference: String) -> gateway_pb::Attestation {
    let metadata: HashMap<String, Vec<u8>> = [
        ("reason".to_owned(), b"sbom".to_vec()),
        ("sbom-core".to_owned(), b"sbom".to_vec()),
    ]
    .into_iter()
    .collect();
    gateway_pb::Attestation {
        kind: gateway_pb::AttestationKind::Bundle as i32,
        metadata,
        r#ref: Some(gateway_pb::Ref {
            id: reference,
            def: None,
        }),
        path: String::new(),
        in_toto_predicate_type: SPDX_PREDICATE.to_owned(),
        in_toto_subjects: Vec::new(),
    }
}
