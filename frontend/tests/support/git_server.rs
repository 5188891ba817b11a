//! A git repository served on loopback for the length of one e2e case (`git daemon`,
//! `git://127.0.0.1:<port>/repo.git`), so `ADD <git url>` cases never leave the machine.
//!
//! The repository is made from a directory of the case: its files committed on `main`
//! with a fixed author and dates (so the commit is the same on every run), tagged `v1`
//! (lightweight), and a branch `dev` with one more commit adding `dev.txt`.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `git daemon`; stopped (killed and reaped) when dropped.
pub struct GitServer {
    child: Child,
    /// `git://127.0.0.1:<port>/repo.git`.
    pub url: String,
    /// The full commit id `v1` (and `main`) point at.
    pub commit: String,
    /// The directory holding `repo.git`, which is also ready to be served over git's dumb
    /// HTTP protocol by a static server (`git update-server-info` has run).
    pub dir: std::path::PathBuf,
}

impl GitServer {
    /// Makes `<scratch>/git/repo.git` from the files in `files` and serves it.
    pub fn start(files: &Path, scratch: &Path) -> GitServer {
        let base = scratch.join("git");
        let work = base.join("work");
        copy_dir(files, &work);
        let git = |dir: &Path, args: &[&str]| -> String {
            let out = Command::new("git")
                .current_dir(dir)
                .args(args)
                .env("GIT_AUTHOR_NAME", "strata")
                .env("GIT_AUTHOR_EMAIL", "strata@example.com")
                .env("GIT_COMMITTER_NAME", "strata")
                .env("GIT_COMMITTER_EMAIL", "strata@example.com")
                .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
                .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", dir)
                .output()
                .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        git(&work, &["init", "-q", "-b", "main"]);
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "v1"]);
        git(&work, &["tag", "v1"]);
        let commit = git(&work, &["rev-parse", "HEAD"]);
        git(&work, &["checkout", "-q", "-b", "dev"]);
        std::fs::write(work.join("dev.txt"), "dev\n").expect("write dev.txt");
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "dev"]);
        git(&base, &["clone", "-q", "--bare", "work", "repo.git"]);
        git(&base.join("repo.git"), &["update-server-info"]);

        // A free port: bound, then released for the daemon (loopback only).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        // `git-daemon` itself, not `git daemon`: the `git` wrapper runs it as a child of
        // its own, which killing the wrapper left running after every e2e run.
        let exec_path = Command::new("git")
            .arg("--exec-path")
            .output()
            .expect("git --exec-path");
        let exec_path = String::from_utf8_lossy(&exec_path.stdout).trim().to_owned();
        let child = Command::new(Path::new(&exec_path).join("git-daemon"))
            .args([
                "--reuseaddr",
                "--export-all",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", base.display()),
                &base.display().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start git daemon");
        let server = GitServer {
            child,
            url: format!("git://127.0.0.1:{port}/repo.git"),
            commit,
            dir: base.clone(),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "git daemon did not listen on 127.0.0.1:{port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("dir entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy file");
        }
    }
}
