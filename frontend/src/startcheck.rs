//! The entrypoint check: before returning an image, make sure it can start.
//!
//! The executable its `ENTRYPOINT` (else `CMD`) names must exist in the final filesystem,
//! found through the config's `PATH` (relative to `WorkingDir` when it contains a `/`), with
//! symlinks followed inside the image. A dynamically linked ELF file needs its program
//! interpreter (`PT_INTERP`, e.g. `/lib64/ld-linux-x86-64.so.2`) too, and a `#!` script its
//! interpreter. This is what catches a multi-stage image whose runtime stage lacks the
//! runtime (`CMD ["python3", …]` on an image without python3).
//!
//! The logic runs against the [`ImageFs`] trait so it is testable without BuildKit; the
//! gateway implementation stats and range-reads the solved result.

use crate::convert::paths;
use crate::image::{Image, DEFAULT_PATH};
use crate::imagefs::{Entry, ImageFs, MODE_DIR, MODE_SYMLINK};

/// Symlinks followed before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

/// Why the image cannot start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// `CMD` or `ENTRYPOINT`: which setting named the executable.
    pub setting: &'static str,
    /// What is wrong, naming the executable.
    pub message: String,
}

/// Checks that the command `image` starts with can run. `None`: fine (or nothing to run).
pub async fn check(fs: &impl ImageFs, image: &Image) -> Option<Finding> {
    let entrypoint = image.config.entrypoint.clone().unwrap_or_default();
    let (setting, argv) = if entrypoint.is_empty() {
        ("CMD", image.config.cmd.clone().unwrap_or_default())
    } else {
        ("ENTRYPOINT", entrypoint)
    };
    let exe = argv.first()?;
    let workdir = image
        .config
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".to_owned());
    let path_var = image.env("PATH").unwrap_or(DEFAULT_PATH).to_owned();
    let finding = |message: String| Some(Finding { setting, message });
    let Some(found) = find_executable(fs, exe, &path_var, &workdir).await else {
        return if exe.contains('/') {
            finding(format!("executable {exe:?} does not exist in the image"))
        } else {
            finding(format!(
                "executable {exe:?} was not found in the image's PATH ({path_var})"
            ))
        };
    };
    match interpreter(fs, &found).await {
        Some(Interp::Elf(interp)) if resolve(fs, &interp).await.is_none() => {
            return finding(format!(
                "executable {exe:?} ({found}) needs the ELF interpreter {interp}, which does not exist in the image"
            ));
        }
        Some(Interp::Script(interp, arg)) => {
            if resolve(fs, &interp).await.is_none() {
                return finding(format!(
                    "script {exe:?} ({found}) starts with #!{interp}, which does not exist in the image"
                ));
            }
            // `#!/usr/bin/env python3`: the program env runs must exist too.
            if let Some(prog) = arg.filter(|_| interp.ends_with("/env")) {
                if find_executable(fs, &prog, &path_var, &workdir)
                    .await
                    .is_none()
                {
                    return finding(format!(
                        "script {exe:?} ({found}) runs {prog:?} through #!{interp}, and {prog:?} was not found in the image's PATH ({path_var})"
                    ));
                }
            }
        }
        _ => {}
    }
    None
}

/// Where `exe` is found, as the runtime would look it up: a path containing `/` is taken
/// as it is (relative to `workdir`), a bare name is searched in `PATH` for an executable
/// regular file. Symlinks are followed; the result is the final target.
pub async fn find_executable(
    fs: &impl ImageFs,
    exe: &str,
    path_var: &str,
    workdir: &str,
) -> Option<String> {
    if exe.contains('/') {
        let (path, entry) = resolve(fs, &absolute(workdir, exe)).await?;
        return (entry.mode & MODE_DIR == 0).then_some(path);
    }
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = paths::join(&absolute(workdir, dir), exe);
        if let Some((path, entry)) = resolve(fs, &candidate).await {
            if entry.mode & MODE_DIR == 0 && entry.mode & 0o111 != 0 {
                return Some(path);
            }
        }
    }
    None
}

/// `p` made absolute against `dir`.
fn absolute(dir: &str, p: &str) -> String {
    if p.starts_with('/') {
        paths::clean(p)
    } else {
        paths::clean(&paths::join(dir, p))
    }
}

/// Follows symlinks from `path` (absolute) to what it names inside the image.
pub async fn resolve(fs: &impl ImageFs, path: &str) -> Option<(String, Entry)> {
    let mut path = paths::clean(path);
    for _ in 0..MAX_LINKS {
        let entry = fs.stat(&path).await?;
        if entry.mode & MODE_SYMLINK == 0 || entry.linkname.is_empty() {
            return Some((path, entry));
        }
        let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        path = if entry.linkname.starts_with('/') {
            paths::clean(&entry.linkname)
        } else {
            paths::clean(&paths::join(&format!("/{dir}"), &entry.linkname))
        };
    }
    None
}

/// What runs a file besides the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Interp {
    /// A dynamically linked ELF file's loader.
    Elf(String),
    /// A `#!` script's interpreter and its optional argument.
    Script(String, Option<String>),
}

async fn interpreter(fs: &impl ImageFs, path: &str) -> Option<Interp> {
    let head = fs.read(path, 0, 256).await?;
    if let Some(line) = head.strip_prefix(b"#!") {
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let mut words = line.split_whitespace();
        let interp = words.next()?.to_owned();
        return Some(Interp::Script(interp, words.next().map(str::to_owned)));
    }
    // Not ELF, or ELF we cannot read: nothing to check (the runtime will say more).
    let info = crate::elf::read_interp(fs, path).await.ok()??;
    info.interp.map(Interp::Elf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imagefs::mem::MemFs;

    /// A dynamically linked executable with `interp` as its loader.
    fn elf(is64: bool, little: bool, interp: &str) -> Vec<u8> {
        crate::elf::fixture::Spec {
            is64,
            little,
            ..crate::elf::fixture::Spec::new(&["libc.so.6"]).interp(interp)
        }
        .build()
    }

    fn image(entrypoint: &[&str], cmd: &[&str], path: &str) -> Image {
        let mut img = Image::empty(&crate::platform::Platform::linux_amd64());
        let list =
            |l: &[&str]| (!l.is_empty()).then(|| l.iter().map(|s| (*s).to_owned()).collect());
        img.config.entrypoint = list(entrypoint);
        img.config.cmd = list(cmd);
        img.config.env = Some(vec![format!("PATH={path}")]);
        img.config.working_dir = Some("/app".to_owned());
        img
    }

    fn run(fs: &MemFs, img: &Image) -> Option<Finding> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(check(fs, img))
    }

    #[test]
    fn finds_the_interpreter_in_every_layout() {
        for is64 in [true, false] {
            for little in [true, false] {
                let fs = MemFs::default().file(
                    "/app/server",
                    0o755,
                    &elf(is64, little, "/lib/ld-musl-x86_64.so.1"),
                );
                let f = run(&fs, &image(&["/app/server"], &[], "/bin")).expect("no loader");
                assert!(f.message.contains("ld-musl-x86_64.so.1"), "{f:?}");
            }
        }
    }

    #[test]
    fn finds_executables_through_path_and_symlinks() {
        let fs = MemFs::default()
            .file(
                "/usr/bin/python3.11",
                0o755,
                &elf(true, true, "/lib64/ld.so"),
            )
            .link("/usr/bin/python3", "python3.11")
            .link("/lib64/ld.so", "/lib/x86_64/ld-2.so")
            .file("/lib/x86_64/ld-2.so", 0o755, b"\x7fELF")
            .file("/bin/notexec", 0o644, b"")
            .file("/app/run.sh", 0o755, b"#!/bin/sh\necho\n");
        // Found in PATH after skipping a dir that lacks it; symlinks followed both ways.
        assert_eq!(
            run(&fs, &image(&[], &["python3", "x.py"], "/bin:/usr/bin")),
            None
        );
        // Not in PATH, or present but not executable.
        let f = run(&fs, &image(&[], &["python3"], "/bin")).expect("missing");
        assert_eq!(f.setting, "CMD");
        assert!(f.message.contains("\"python3\" was not found"), "{f:?}");
        assert!(run(&fs, &image(&["notexec"], &[], "/bin")).is_some());
        // Relative paths resolve against the workdir; a script needs its interpreter.
        let f = run(&fs, &image(&["./run.sh"], &["x"], "/usr/bin")).expect("no /bin/sh");
        assert_eq!(f.setting, "ENTRYPOINT");
        assert!(f.message.contains("#!/bin/sh"), "{f:?}");
        let fs = fs.file("/bin/sh", 0o755, b"");
        assert_eq!(run(&fs, &image(&["./run.sh"], &[], "/usr/bin")), None);
        // No command at all is fine.
        assert_eq!(run(&fs, &image(&[], &[], "/bin")), None);
    }

    #[test]
    fn a_missing_elf_interpreter_is_found() {
        let fs = MemFs::default().file("/app/server", 0o755, &elf(true, true, "/lib/ld-musl.so.1"));
        let f = run(&fs, &image(&["/app/server"], &[], "/bin")).expect("no loader");
        assert!(
            f.message.contains("ELF interpreter /lib/ld-musl.so.1"),
            "{f:?}"
        );
        let fs = fs.file("/lib/ld-musl.so.1", 0o755, b"");
        assert_eq!(run(&fs, &image(&["/app/server"], &[], "/bin")), None);
    }

    #[test]
    fn env_shebangs_need_their_program() {
        let fs = MemFs::default().file("/usr/bin/env", 0o755, b"").file(
            "/app/calc.py",
            0o755,
            b"#!/usr/bin/env python3\n",
        );
        let f = run(&fs, &image(&[], &["./calc.py"], "/usr/bin")).expect("no python3");
        assert!(f.message.contains("\"python3\" was not found"), "{f:?}");
    }

    #[test]
    fn symlink_loops_end() {
        let fs = MemFs::default().link("/bin/a", "b").link("/bin/b", "a");
        assert!(run(&fs, &image(&[], &["a"], "/bin")).is_some());
    }
}
