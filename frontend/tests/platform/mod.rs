//! The platform-team fixtures shared by `policy_cli.rs` (offline) and `e2e_platform.rs`
//! (through a derived frontend image): `testdata/platform/` holds the derived image's
//! Dockerfile, its policy and stage library, and `cases/<name>/` with a Dockerfile and an
//! `expect` file of `key: value` lines:
//!   `fails-with: <text>`   the build fails and buildx's output contains the text
//!   `line: N` / `file: F`  buildx shows a source snippet headed `F:N` (F defaults to Dockerfile)
//!   `present: <path>`      the built rootfs has the path
//!   `image-user: <user>` / `image-label: <k>=<v>`   the built image's config
//!   `offline-exit: N`      `strata policy check`'s exit status
//!   `offline-line: <line>` its stdout, line by line (none: empty)

use std::fs;
use std::path::{Path, PathBuf};

/// Where the trusted base image is pushed; the policy allows only this path.
pub const TRUSTED_REPO: &str = "127.0.0.1:5000/strata-e2e/trusted/busybox";

/// `testdata/platform`.
pub fn platform_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/platform")
}

/// Every case directory, sorted.
pub fn case_dirs() -> Vec<PathBuf> {
    let dir = platform_dir().join("cases");
    let mut out: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.join("Dockerfile").is_file())
        .collect();
    out.sort();
    out
}

/// A case: its directory and `expect` lines.
pub struct Case {
    /// The case directory.
    pub dir: PathBuf,
    /// `(key, value)` in file order.
    pub expect: Vec<(String, String)>,
}

impl Case {
    /// Reads `dir/expect`, rejecting unknown keys.
    pub fn load(dir: &Path) -> Case {
        let path = dir.join("expect");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let known = [
            "fails-with",
            "line",
            "file",
            "present",
            "image-user",
            "image-label",
            "offline-exit",
            "offline-line",
        ];
        let expect = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (k, v) = l
                    .split_once(':')
                    .unwrap_or_else(|| panic!("{}: bad line {l:?}", path.display()));
                let k = k.trim();
                assert!(known.contains(&k), "{}: unknown key {k:?}", path.display());
                (k.to_owned(), v.trim().to_owned())
            })
            .collect();
        Case {
            dir: dir.to_owned(),
            expect,
        }
    }

    /// The case's name (its directory's).
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Every value of `key`, in order.
    pub fn expected(&self, key: &str) -> Vec<&str> {
        self.expect
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}
