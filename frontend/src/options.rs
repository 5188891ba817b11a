//! Build options: the frontend opts BuildKit passes us (`BUILDKIT_FRONTEND_OPT_*`), parsed
//! once at the edge and passed down explicitly.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::remote_context::{self, Remote};

/// Everything about a build request that changes what we emit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    /// Dockerfile path within the `dockerfile` local (`filename`, default `Dockerfile`).
    pub filename: String,
    /// Name of the local holding the Dockerfile (`dockerfilekey`, default `dockerfile`).
    pub dockerfile_key: String,
    /// Name of the local holding the build context (`contextkey`, default `context`).
    pub context_key: String,
    /// `dockerfilekey` was given: the Dockerfile comes from that local even when the
    /// context is a URL (buildx sets it for `-f /abs/Dockerfile` with a remote context).
    pub dockerfile_key_forced: bool,
    /// The context as a URL (the opt named by `contextkey`, e.g. `context=https://…/x.git`):
    /// the URL as given and what it names. `None` for the client's directory.
    pub remote_context: Option<(String, Remote)>,
    /// `BUILDKIT_CONTEXT_KEEP_GIT_DIR`: keep `.git` in a git context's checkout.
    pub keep_git_dir: bool,
    /// `contextsubdir`: build from this directory of a context that is not the client's
    /// directory (a URL or a frontend input).
    pub context_subdir: Option<String>,
    /// The stage to build (`target`); `None` builds the last stage.
    pub target: Option<String>,
    /// `--build-arg` values (`build-arg:NAME`).
    pub build_args: BTreeMap<String, String>,
    /// `--label` values (`label:NAME`), added to the final image.
    pub labels: BTreeMap<String, String>,
    /// Target platforms (`platform`); empty means the build platform.
    pub platforms: Vec<Platform>,
    /// The platform the builder runs on (first worker's first platform).
    pub build_platform: Platform,
    /// `image-resolve-mode` (`default`, `pull`, `local`).
    pub image_resolve_mode: Option<String>,
    /// `no-cache`: `None` when caching is on; `Some(empty)` for all stages, else stage names.
    pub no_cache: Option<Vec<String>>,
    /// The client session (`BUILDKIT_SESSION_ID`), owner of local sources.
    pub session_id: String,
    /// Return one result per platform, keyed by platform (`multi-platform`,
    /// `BUILDKIT_MULTI_PLATFORM`, or more than one `platform`).
    pub multi_platform: bool,
    /// `add-hosts`: extra `/etc/hosts` entries (host, ip) for every `RUN`.
    pub extra_hosts: Vec<(String, String)>,
    /// `force-network-mode`: the network of every `RUN` without `--network`
    /// (`sandbox`, `none`, `host`).
    pub network_mode: String,
    /// `hostname` / `BUILDKIT_SANDBOX_HOSTNAME`: the hostname `RUN` sees.
    pub hostname: Option<String>,
    /// `context:<name>` named contexts, by lower-cased name, as the client sent them
    /// (`docker-image://…`, `local:<name>`, `input:<name>`, `oci-layout://…`, a URL).
    pub named_contexts: BTreeMap<String, String>,
    /// `.dockerignore` patterns of each `local:<name>` named context, by local name. Not a
    /// frontend opt: the gateway edge reads them from the client before converting.
    pub named_context_excludes: BTreeMap<String, Vec<String>>,
    /// The build context's `.dockerignore` patterns, for lint's `CopyIgnoredFile`. Not a
    /// frontend opt: the gateway edge reads them before linting (a build, `--call=check`);
    /// `strata lint` reads the file beside the Dockerfile.
    pub dockerignore: Vec<String>,
    /// The daemon's LLB supports merge ops (cap `mergeop`): `COPY --link` then copies onto
    /// an empty layer and merges it. Not a frontend opt: the gateway edge sets it from the
    /// caps BuildKit reports.
    pub merge_op: bool,
    /// The LLB caps the daemon reported (`Ping`), for instructions whose newer op fields
    /// need them (`COPY --parents`, `--exclude`, …): they fail at their line when one is
    /// missing. `None` (offline: `strata llb`, tests) assumes every cap. Not a frontend opt:
    /// the gateway edge sets it.
    pub llb_caps: Option<std::collections::BTreeSet<String>>,
    /// The client's `context` frontend input (an encoded `pb::Definition`), which replaces
    /// the `context` local. Not a frontend opt: the gateway edge fetches it.
    pub context_input: Option<Vec<u8>>,
    /// The solved ref the Dockerfile was read from when it came from a frontend input or a
    /// URL context: `INCLUDE`d files are read from it. Not a frontend opt: the edge sets it.
    pub include_ref: Option<String>,
    /// Every frontend input by name (encoded `pb::Definition`s), for `input:<name>` named
    /// contexts. Not a frontend opt: the gateway edge fetches them.
    pub named_inputs: BTreeMap<String, Vec<u8>>,
    /// `input-metadata:<name>`: JSON metadata (`containerimage.config`) of an input.
    pub input_metadata: BTreeMap<String, String>,
    /// `requestid`: a subrequest (`frontend.outline`, …) to answer instead of building.
    pub request_id: Option<String>,
    /// `frontend.caps`: capabilities the client requires of the frontend, as written
    /// (`moby.buildkit.frontend.subrequests+forward`), in order.
    pub frontend_caps: Vec<String>,
    /// `--cache-from`: the `cache-imports` JSON opt, or the older comma-separated
    /// `cache-from` registry refs; every solve imports them.
    pub cache_imports: Vec<CacheSource>,
    /// `STRATA_STRICT` (build arg `1`, `true` or `yes`): the entrypoint check fails the
    /// build instead of warning.
    pub strict: bool,
    /// `attest:sbom` (buildx `--sbom`) or `build-arg:BUILDKIT_ATTEST_SBOM`: run this SBOM
    /// generator on the result (and the stages and context the Dockerfile asks for) and
    /// attach what it writes, as upstream's frontend does.
    pub sbom: Option<SbomRequest>,
}

/// An SBOM the client asked for: the generator image and the parameters it is given
/// (every attribute but `generator`, as `BUILDKIT_SCAN_<key>=<value>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbomRequest {
    /// The generator image, normalised (`docker.io/library/x:latest`).
    pub generator: String,
    /// The other attributes (buildx sends `type=sbom`), sorted by key.
    pub params: BTreeMap<String, String>,
}

/// The generator upstream uses when the request names none.
const DEFAULT_SBOM_GENERATOR: &str = "docker/buildkit-syft-scanner:stable-1";

/// One cache source of `--cache-from` (a `CacheOptionsEntry`): its type (`registry`,
/// `local`, `gha`, …) and attributes (`ref`, `src`, …), handed to BuildKit as they came.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct CacheSource {
    /// The backend (`Type`).
    #[serde(rename = "Type")]
    pub kind: String,
    /// Its settings (`Attrs`).
    #[serde(rename = "Attrs", default)]
    pub attrs: BTreeMap<String, String>,
}

impl BuildOptions {
    /// Options for a build with nothing set: what the CLI uses.
    pub fn new(build_platform: Platform) -> BuildOptions {
        BuildOptions {
            filename: "Dockerfile".to_owned(),
            dockerfile_key: "dockerfile".to_owned(),
            context_key: "context".to_owned(),
            dockerfile_key_forced: false,
            remote_context: None,
            keep_git_dir: false,
            context_subdir: None,
            target: None,
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            platforms: Vec::new(),
            build_platform,
            image_resolve_mode: None,
            no_cache: None,
            session_id: String::new(),
            multi_platform: false,
            extra_hosts: Vec::new(),
            network_mode: "sandbox".to_owned(),
            hostname: None,
            named_contexts: BTreeMap::new(),
            named_context_excludes: BTreeMap::new(),
            dockerignore: Vec::new(),
            merge_op: false,
            llb_caps: None,
            context_input: None,
            include_ref: None,
            named_inputs: BTreeMap::new(),
            input_metadata: BTreeMap::new(),
            request_id: None,
            frontend_caps: Vec::new(),
            cache_imports: Vec::new(),
            strict: false,
            sbom: None,
        }
    }

    /// Reads the frontend opts. Unknown keys are ignored, as BuildKit's own frontend does.
    pub fn from_opts(
        opts: &BTreeMap<String, String>,
        build_platform: Platform,
        session_id: &str,
    ) -> Result<BuildOptions> {
        let mut o = BuildOptions::new(build_platform);
        o.session_id = session_id.to_owned();
        for (key, value) in opts {
            if let Some(name) = key.strip_prefix("build-arg:") {
                o.build_args.insert(name.to_owned(), value.clone());
            } else if let Some(name) = key.strip_prefix("label:") {
                o.labels.insert(name.to_owned(), value.clone());
            } else if let Some(name) = key.strip_prefix("input-metadata:") {
                o.input_metadata.insert(name.to_owned(), value.clone());
            } else if let Some(name) = key.strip_prefix("context:") {
                o.named_contexts
                    .insert(name.to_ascii_lowercase(), value.clone());
            }
        }
        if let Some(f) = opts.get("filename").filter(|f| !f.is_empty()) {
            o.filename = f.clone();
        }
        if let Some(k) = opts.get("dockerfilekey") {
            o.dockerfile_key_forced = true;
            if !k.is_empty() {
                o.dockerfile_key = k.clone();
            }
        }
        if let Some(k) = opts.get("contextkey").filter(|k| !k.is_empty()) {
            o.context_key = k.clone();
        }
        if let Some(url) = opts.get(&o.context_key) {
            o.remote_context = remote_context::detect(url)
                .map_err(|e| Error::Input(format!("invalid context {url}: {e}")))?
                .map(|r| (url.clone(), r));
        }
        o.keep_git_dir = opts
            .get("build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR")
            .and_then(|v| parse_bool(v))
            .unwrap_or(false);
        o.context_subdir = opts.get("contextsubdir").cloned();
        o.target = opts.get("target").filter(|t| !t.is_empty()).cloned();
        if let Some(p) = opts.get("platform").filter(|p| !p.is_empty()) {
            for one in p.split(',') {
                let platform = Platform::parse(one.trim())
                    .ok_or_else(|| Error::Input(format!("invalid platform {one:?}")))?;
                if !o.platforms.contains(&platform) {
                    o.platforms.push(platform);
                }
            }
        }
        o.multi_platform = o.platforms.len() > 1;
        let multi = opts
            .get("build-arg:BUILDKIT_MULTI_PLATFORM")
            .filter(|v| !v.is_empty())
            .or_else(|| opts.get("multi-platform").filter(|v| !v.is_empty()));
        if let Some(v) = multi {
            let b = parse_bool(v).ok_or_else(|| {
                Error::Input(format!("invalid boolean value for multi-platform: {v}"))
            })?;
            if !b && o.multi_platform {
                return Err(Error::Input(
                    "conflicting config: returning multiple target platforms is not allowed"
                        .to_owned(),
                ));
            }
            o.multi_platform = b;
        }
        if let Some(v) = opts.get("add-hosts").filter(|v| !v.is_empty()) {
            o.extra_hosts = parse_extra_hosts(v)
                .map_err(|e| Error::Input(format!("failed to parse additional hosts: {e}")))?;
        }
        if let Some(v) = opts.get("force-network-mode").filter(|v| !v.is_empty()) {
            if !matches!(v.as_str(), "none" | "host" | "sandbox") {
                return Err(Error::Input(format!("invalid netmode {v}")));
            }
            o.network_mode.clone_from(v);
        }
        o.hostname = opts
            .get("build-arg:BUILDKIT_SANDBOX_HOSTNAME")
            .or_else(|| opts.get("hostname"))
            .filter(|h| !h.is_empty())
            .cloned();
        o.image_resolve_mode = opts
            .get("image-resolve-mode")
            .filter(|m| !m.is_empty())
            .cloned();
        o.request_id = opts.get("requestid").filter(|r| !r.is_empty()).cloned();
        if let Some(v) = opts.get("frontend.caps") {
            o.frontend_caps = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = opts.get("no-cache") {
            o.no_cache = Some(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
        o.cache_imports = cache_imports(opts)?;
        o.strict = o
            .build_args
            .get("STRATA_STRICT")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
        o.sbom = sbom_request(opts)?;
        Ok(o)
    }

    /// The platform stages build for when they name none.
    pub fn target_platform(&self) -> &Platform {
        self.platforms.first().unwrap_or(&self.build_platform)
    }

    /// The predefined platform args (`BUILDPLATFORM`, `TARGETARCH`, …), build args overriding
    /// them: what global `ARG` defaults, `IF` conditions and `FROM` lines see before any
    /// global `ARG`. One definition, so the template layer, the planner, lint and the
    /// outline agree.
    pub fn predefined_args(&self) -> Vec<(String, String)> {
        self.build_platform
            .args("BUILD")
            .into_iter()
            .chain(self.target_platform().args("TARGET"))
            .map(|(k, v)| {
                let v = self.build_args.get(&k).cloned().unwrap_or(v);
                (k, v)
            })
            .collect()
    }

    /// Whether the daemon supports the LLB cap `cap` (always, when its caps are unknown).
    pub fn has_llb_cap(&self, cap: &str) -> bool {
        self.llb_caps.as_ref().is_none_or(|caps| caps.contains(cap))
    }

    /// Whether the stage named `name` (or numbered `index`) must ignore the cache.
    pub fn ignores_cache(&self, name: Option<&str>) -> bool {
        match &self.no_cache {
            None => false,
            Some(stages) if stages.is_empty() => true,
            Some(stages) => name.is_some_and(|n| stages.iter().any(|s| s.eq_ignore_ascii_case(n))),
        }
    }
}

/// `--cache-from`, as BuildKit hands it to frontends: the `cache-imports` JSON opt, or the
/// older comma-separated `cache-from` refs. JSON that does not parse is an error, as
/// upstream's: a build without the cache the user named would be silently slower.
fn cache_imports(opts: &BTreeMap<String, String>) -> Result<Vec<CacheSource>> {
    if let Some(json) = opts.get("cache-imports").filter(|s| !s.is_empty()) {
        return serde_json::from_str::<Vec<CacheSource>>(json).map_err(|e| {
            Error::Input(format!("failed to unmarshal cache-imports ({json:?}): {e}"))
        });
    }
    Ok(opts
        .get("cache-from")
        .map(|refs| {
            refs.split(',')
                .filter(|r| !r.is_empty())
                .map(|r| CacheSource {
                    kind: "registry".to_owned(),
                    attrs: [("ref".to_owned(), r.to_owned())].into_iter().collect(),
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The attestation requests (`attest:<type>`, or `build-arg:BUILDKIT_ATTEST_<TYPE>`) as
/// upstream's `attestations.Parse` reads them, and the SBOM one among them: an unknown type
/// or a generator that is no image reference is an error, as upstream's.
fn sbom_request(opts: &BTreeMap<String, String>) -> Result<Option<SbomRequest>> {
    let mut attests: BTreeMap<String, &str> = BTreeMap::new();
    // The build-arg form first, so `attest:` (what buildx sends) wins over it.
    for (key, value) in opts {
        if let Some(kind) = key.strip_prefix("build-arg:BUILDKIT_ATTEST_") {
            attests.insert(kind.to_ascii_lowercase(), value);
        }
    }
    for (key, value) in opts {
        if let Some(kind) = key.strip_prefix("attest:") {
            attests.insert(kind.to_ascii_lowercase(), value);
        }
    }
    if let Some(kind) = attests
        .keys()
        .find(|k| !matches!(k.as_str(), "sbom" | "provenance"))
    {
        return Err(Error::Input(format!("unknown attestation type {kind:?}")));
    }
    let Some(value) = attests.get("sbom") else {
        return Ok(None);
    };
    let mut generator = DEFAULT_SBOM_GENERATOR.to_owned();
    let mut params = BTreeMap::new();
    if !value.is_empty() {
        for field in csv_record(value) {
            let (k, v) = field.split_once('=').unwrap_or((field.as_str(), ""));
            if k == "generator" {
                v.clone_into(&mut generator);
            } else {
                params.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    if generator.is_empty() || crate::plan::check_reference(&generator).is_err() {
        return Err(Error::Input(format!(
            "failed to parse sbom scanner {generator}: invalid reference format"
        )));
    }
    let generator = strata_proto::llb::normalize_image_reference(&generator);
    Ok(Some(SbomRequest { generator, params }))
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `add-hosts`: one CSV record of `host=ip` pairs; hosts are lower-cased and each IP must
/// parse, as BuildKit's `parseExtraHosts` requires.
fn parse_extra_hosts(v: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for field in csv_record(v) {
        let lower = field.to_lowercase();
        let Some((host, ip)) = lower.split_once('=') else {
            return Err(format!("invalid key-value pair {field}"));
        };
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("failed to parse IP {ip}"));
        }
        out.push((host.to_owned(), ip.to_owned()));
    }
    Ok(out)
}

/// The fields of one CSV record (double quotes group, `""` is a literal quote).
fn csv_record(v: &str) -> Vec<String> {
    let line = v.lines().next().unwrap_or_default();
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gateway_opts() {
        let opts: BTreeMap<String, String> = [
            ("build-arg:A", "1"),
            ("label:l", "v"),
            ("filename", "sub/Dockerfile.x"),
            ("target", "build"),
            ("platform", "linux/arm64,linux/amd64"),
            ("no-cache", ""),
            ("cmdline", "strata:dev"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let o = BuildOptions::from_opts(&opts, Platform::linux_amd64(), "sess").unwrap();
        assert_eq!(o.build_args["A"], "1");
        assert_eq!(o.labels["l"], "v");
        assert_eq!(o.filename, "sub/Dockerfile.x");
        assert_eq!(o.target.as_deref(), Some("build"));
        assert_eq!(o.platforms.len(), 2);
        assert_eq!(o.target_platform().architecture, "arm64");
        assert!(o.ignores_cache(Some("any")));
        assert_eq!(o.session_id, "sess");
        assert_eq!(o.request_id, None);
        assert!(o.frontend_caps.is_empty());
    }

    #[test]
    fn reads_subrequest_opts() {
        let opts: BTreeMap<String, String> = [
            ("requestid", "frontend.outline"),
            (
                "frontend.caps",
                "moby.buildkit.frontend.subrequests+forward, moby.buildkit.frontend.contexts",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let o = BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").unwrap();
        assert_eq!(o.request_id.as_deref(), Some("frontend.outline"));
        assert_eq!(
            o.frontend_caps,
            [
                "moby.buildkit.frontend.subrequests+forward",
                "moby.buildkit.frontend.contexts"
            ]
        );
    }

    #[test]
    fn reads_cache_sources_and_rejects_malformed_ones() {
        let parse = |k: &str, v: &str| {
            let opts = [(k.to_string(), v.to_string())].into_iter().collect();
            BuildOptions::from_opts(&opts, Platform::linux_amd64(), "")
        };
        let o = parse(
            "cache-imports",
            r#"[{"Type":"local","Attrs":{"src":"/c"}}]"#,
        )
        .unwrap();
        assert_eq!(o.cache_imports[0].kind, "local");
        assert_eq!(o.cache_imports[0].attrs["src"], "/c");
        let o = parse("cache-from", "r1,r2").unwrap();
        assert_eq!(o.cache_imports.len(), 2);
        assert_eq!(o.cache_imports[1].attrs["ref"], "r2");
        // Upstream's words; never a build without the cache the user named.
        let e = parse("cache-imports", "{\"Type\"").unwrap_err().to_string();
        assert!(
            e.starts_with("failed to unmarshal cache-imports (\"{\\\"Type\\\"\"): "),
            "{e}"
        );
    }

    #[test]
    fn reads_the_sbom_request_as_upstream() {
        let parse = |pairs: &[(&str, &str)]| {
            let opts = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            BuildOptions::from_opts(&opts, Platform::linux_amd64(), "")
        };
        assert_eq!(parse(&[]).unwrap().sbom, None);
        // Only provenance: BuildKit makes it; nothing for the frontend to scan.
        let o = parse(&[("attest:provenance", "mode=min,inline-only=true")]).unwrap();
        assert_eq!(o.sbom, None);
        // buildx `--sbom=true`
        let o = parse(&[("attest:sbom", "type=sbom")]).unwrap();
        let sbom = o.sbom.unwrap();
        assert_eq!(
            sbom.generator,
            "docker.io/docker/buildkit-syft-scanner:stable-1"
        );
        assert_eq!(sbom.params["type"], "sbom");
        // buildx `--sbom=generator=…,x=1`; a field without `=` is a key with no value.
        let o = parse(&[(
            "attest:SBOM",
            "type=sbom,generator=strata-sbom-generator:local,x=1,bare",
        )])
        .unwrap();
        let sbom = o.sbom.unwrap();
        assert_eq!(
            sbom.generator,
            "docker.io/library/strata-sbom-generator:local"
        );
        let params: Vec<_> = sbom.params.iter().collect();
        assert_eq!(
            params,
            [
                (&"bare".to_owned(), &String::new()),
                (&"type".to_owned(), &"sbom".to_owned()),
                (&"x".to_owned(), &"1".to_owned())
            ]
        );
        // The build-arg form, and `attest:` winning over it.
        let o = parse(&[("build-arg:BUILDKIT_ATTEST_SBOM", "generator=a")]).unwrap();
        assert_eq!(o.sbom.unwrap().generator, "docker.io/library/a:latest");
        let o = parse(&[
            ("build-arg:BUILDKIT_ATTEST_SBOM", "generator=a"),
            ("attest:sbom", "generator=b"),
        ])
        .unwrap();
        assert_eq!(o.sbom.unwrap().generator, "docker.io/library/b:latest");
        for (k, v, want) in [
            (
                "attest:sbom",
                "generator=",
                "failed to parse sbom scanner : ",
            ),
            (
                "attest:sbom",
                "generator=A:b",
                "failed to parse sbom scanner A:b",
            ),
            ("attest:spdx", "", "unknown attestation type \"spdx\""),
        ] {
            let e = parse(&[(k, v)]).unwrap_err().to_string();
            assert!(e.contains(want), "{k}={v}: {e}");
        }
    }

    #[test]
    fn rejects_a_bad_platform() {
        let opts = [("platform".to_string(), "linux/".to_string())]
            .into_iter()
            .collect();
        assert!(BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").is_err());
    }

    #[test]
    fn reads_run_and_platform_opts() {
        let opts: BTreeMap<String, String> = [
            ("add-hosts", "Foo=1.2.3.4,bar=::1"),
            ("force-network-mode", "none"),
            ("build-arg:BUILDKIT_SANDBOX_HOSTNAME", "box"),
            ("build-arg:BUILDKIT_MULTI_PLATFORM", "1"),
            ("context:Base", "docker-image://busybox:local"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let o = BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").unwrap();
        assert_eq!(
            o.extra_hosts,
            [
                ("foo".to_owned(), "1.2.3.4".to_owned()),
                ("bar".to_owned(), "::1".to_owned())
            ]
        );
        assert_eq!(o.network_mode, "none");
        assert_eq!(o.hostname.as_deref(), Some("box"));
        assert!(o.multi_platform);
        assert_eq!(o.named_contexts["base"], "docker-image://busybox:local");
        for (k, v) in [
            ("add-hosts", "nohost"),
            ("add-hosts", "h=300.1.1.1"),
            ("force-network-mode", "bridge"),
            ("multi-platform", "maybe"),
        ] {
            let opts = [(k.to_string(), v.to_string())].into_iter().collect();
            assert!(
                BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").is_err(),
                "{k}={v}"
            );
        }
        let opts = [
            (
                "platform".to_string(),
                "linux/amd64,linux/arm64".to_string(),
            ),
            ("multi-platform".to_string(), "false".to_string()),
        ]
        .into_iter()
        .collect();
        assert!(BuildOptions::from_opts(&opts, Platform::linux_amd64(), "").is_err());
    }
}
