//! The containerd-store dockerd that the attestation and reproducibility suites build on:
//! the classic image store exports no attestations and no `oci`/`docker` tarballs with
//! `rewrite-timestamp`, so a suite that needs them checks once that it has that daemon and
//! the frontend image in it, and fails (never skips) otherwise.

use std::process::Command;
use std::sync::OnceLock;

/// The test bed's primary daemon, used when `DOCKER_HOST` is not set.
pub const PRIMARY_HOST: &str = "unix:///var/run/docker.sock";

/// What to run when the daemon or the image is missing.
const HINT: &str = "run `make testbed image` (or `make e2e`)";

/// The containerd-store dockerd the builds go to (checked once).
pub fn c8d_host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| PRIMARY_HOST.to_owned());
        let out = Command::new("docker")
            .args(["info", "--format", "{{json .DriverStatus}}"])
            .env("DOCKER_HOST", &host)
            .output()
            .expect("run docker");
        assert!(
            out.status.success(),
            "no dockerd answers on {host}: {}; {HINT}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("io.containerd.snapshotter"),
            "the dockerd on {host} does not use the containerd image store; {HINT}"
        );
        host
    })
}

/// The frontend image under test, which must be in that dockerd (`make image` loads it).
pub fn strata_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let image = super::strata_image_name();
        let out = Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", &image])
            .env("DOCKER_HOST", c8d_host())
            .output()
            .expect("run docker image inspect");
        assert!(
            out.status.success(),
            "frontend image {image} is missing in {}: {}; {HINT}",
            c8d_host(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        image
    })
}
