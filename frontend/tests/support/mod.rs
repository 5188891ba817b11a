//! What every end-to-end test binary needs from the shell: running `docker` with its
//! output in a log file and a time limit, so a wedged build fails the test instead of
//! hanging CI, and the test can still read the whole log afterwards.
//!
//! Shared through `mod support;` (each test binary is its own crate, so a helper one of
//! them does not use would otherwise warn).
#![allow(dead_code)]

pub mod c8d;
pub mod git_server;
pub mod http_server;
pub mod oci;
pub mod rootfs;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a command ended: success and its combined stdout and stderr.
pub struct Logged {
    /// Whether it exited with status 0.
    pub ok: bool,
    /// stdout and stderr, interleaved as written.
    pub log: String,
}

/// Runs `cmd` with stdout and stderr into `log_path`, killing it after `timeout`
/// (the panic then shows the log so far).
pub fn run_logged(mut cmd: Command, log_path: &Path, timeout: Duration) -> Logged {
    let log = fs::File::create(log_path).expect("create log file");
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log);
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the command") {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let log = fs::read_to_string(log_path).unwrap_or_default();
            panic!("timed out after {timeout:?}: {shown}\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut text = String::new();
    fs::File::open(log_path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .expect("read log");
    Logged {
        ok: status.success(),
        log: text,
    }
}

/// The frontend image under test: `STRATA_IMAGE`, or `strata:dev` as `make image` tags it.
pub fn strata_image_name() -> String {
    std::env::var("STRATA_IMAGE").unwrap_or_else(|_| "strata:dev".to_owned())
}

/// The frontend image under test ([`strata_image_name`]), checked present once per test
/// binary ([`assert_image_present`]).
pub fn strata_image() -> &'static str {
    static IMAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IMAGE.get_or_init(|| {
        let image = strata_image_name();
        assert_image_present(&image);
        image
    })
}

/// Panics with a hint to run `make testbed image` unless dockerd has `image`.
pub fn assert_image_present(image: &str) {
    let ok = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "frontend image {image} is missing: run `make testbed image` first (or `make e2e`)"
    );
}

/// A scratch directory under the temp dir, named for this process and `name`, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Creates `strata-<suite>-<pid>-<name>` afresh (any leftover from a crashed run goes).
    pub fn new(suite: &str, name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("strata-{suite}-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Calls `f` with every entry of an exported rootfs tar and its path as the e2e tests name
/// paths: without `./` and trailing `/`, the root as `/`.
pub fn tar_entries(path: &Path, mut f: impl FnMut(String, &mut tar::Entry<'_, fs::File>)) {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut archive = tar::Archive::new(file);
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry
            .path()
            .expect("tar path")
            .to_string_lossy()
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_owned();
        let name = if name.is_empty() {
            "/".to_owned()
        } else {
            name
        };
        f(name, &mut entry);
    }
}
