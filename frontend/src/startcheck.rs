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

use std::future::Future;

use crate::convert::paths;
use crate::image::{Image, DEFAULT_PATH};

/// Go's `os.ModeDir`, as fsutil's `Stat.mode` carries it.
pub const MODE_DIR: u32 = 1 << 31;
/// Go's `os.ModeSymlink`.
pub const MODE_SYMLINK: u32 = 1 << 27;
/// Symlinks followed before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;
/// `PT_INTERP`: the program header naming the dynamic loader.
const PT_INTERP: u32 = 3;

/// One path of the image, as `StatFile` describes it (without following a final symlink or
/// after following it: both work).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Go `os.FileMode` bits: permissions plus [`MODE_DIR`], [`MODE_SYMLINK`], ….
    pub mode: u32,
    /// The target, for a symlink.
    pub linkname: String,
}

/// Read access to the final filesystem of the image being checked.
pub trait ImageFs {
    /// The entry at absolute `path`, `None` when there is none.
    fn stat(&self, path: &str) -> impl Future<Output = Option<Entry>>;
    /// Up to `len` bytes of the file at `path` from `offset`; `None` when unreadable.
    fn read(&self, path: &str, offset: u64, len: u64) -> impl Future<Output = Option<Vec<u8>>>;
}

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
    let elf = ElfHeader::parse(&head)?;
    let table_len = u64::from(elf.phentsize) * u64::from(elf.phnum);
    if table_len == 0 || table_len > 1 << 20 {
        return None;
    }
    let table = fs.read(path, elf.phoff, table_len).await?;
    let (offset, size) = elf.interp_segment(&table)?;
    let raw = fs.read(path, offset, size.min(4096)).await?;
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let interp = String::from_utf8_lossy(&raw[..end]).into_owned();
    (!interp.is_empty()).then_some(Interp::Elf(interp))
}

/// The parts of an ELF file header that locate the program headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElfHeader {
    /// ELFCLASS64 (else ELFCLASS32).
    pub is64: bool,
    /// ELFDATA2LSB (else big-endian).
    pub little: bool,
    /// `e_phoff`: where the program header table starts.
    pub phoff: u64,
    /// `e_phentsize`: the size of one program header.
    pub phentsize: u16,
    /// `e_phnum`: how many there are.
    pub phnum: u16,
}

impl ElfHeader {
    /// Reads the header from the first bytes of a file; `None` when it is not ELF.
    pub fn parse(b: &[u8]) -> Option<ElfHeader> {
        if b.get(..4)? != b"\x7fELF" {
            return None;
        }
        let is64 = match b.get(4)? {
            1 => false,
            2 => true,
            _ => return None,
        };
        let little = match b.get(5)? {
            1 => true,
            2 => false,
            _ => return None,
        };
        let r = Reader { b, little };
        Some(if is64 {
            ElfHeader {
                is64,
                little,
                phoff: r.u64(32)?,
                phentsize: r.u16(54)?,
                phnum: r.u16(56)?,
            }
        } else {
            ElfHeader {
                is64,
                little,
                phoff: u64::from(r.u32(28)?),
                phentsize: r.u16(42)?,
                phnum: r.u16(44)?,
            }
        })
    }

    /// The file offset and size of the `PT_INTERP` segment, given the program header table.
    pub fn interp_segment(&self, table: &[u8]) -> Option<(u64, u64)> {
        let size = usize::from(self.phentsize);
        let need = if self.is64 { 40 } else { 20 };
        if size < need {
            return None;
        }
        table.chunks_exact(size).find_map(|ph| {
            let r = Reader {
                b: ph,
                little: self.little,
            };
            if r.u32(0)? != PT_INTERP {
                return None;
            }
            if self.is64 {
                Some((r.u64(8)?, r.u64(32)?))
            } else {
                Some((u64::from(r.u32(4)?), u64::from(r.u32(16)?)))
            }
        })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    little: bool,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        let mut out: [u8; N] = self.b.get(at..at.checked_add(N)?)?.try_into().ok()?;
        if !self.little {
            out.reverse();
        }
        Some(out)
    }
    fn u16(&self, at: usize) -> Option<u16> {
        self.bytes(at).map(u16::from_le_bytes)
    }
    fn u32(&self, at: usize) -> Option<u32> {
        self.bytes(at).map(u32::from_le_bytes)
    }
    fn u64(&self, at: usize) -> Option<u64> {
        self.bytes(at).map(u64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// An in-memory image: files with modes, symlinks.
    #[derive(Default)]
    struct MemFs(BTreeMap<String, (Entry, Vec<u8>)>);

    impl MemFs {
        fn file(mut self, path: &str, mode: u32, data: &[u8]) -> Self {
            let e = Entry {
                mode,
                linkname: String::new(),
            };
            self.0.insert(path.to_owned(), (e, data.to_vec()));
            self
        }
        fn link(mut self, path: &str, target: &str) -> Self {
            let e = Entry {
                mode: MODE_SYMLINK | 0o777,
                linkname: target.to_owned(),
            };
            self.0.insert(path.to_owned(), (e, Vec::new()));
            self
        }
    }

    impl ImageFs for MemFs {
        fn stat(&self, path: &str) -> impl Future<Output = Option<Entry>> {
            std::future::ready(self.0.get(path).map(|(e, _)| e.clone()))
        }
        fn read(&self, path: &str, offset: u64, len: u64) -> impl Future<Output = Option<Vec<u8>>> {
            let data = self.0.get(path).map(|(_, d)| {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(d.len());
                let end = start
                    .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                    .min(d.len());
                d[start..end].to_vec()
            });
            std::future::ready(data)
        }
    }

    /// A minimal ELF file: header, program headers (a PT_LOAD, then PT_INTERP), the path.
    fn elf(is64: bool, little: bool, interp: &str) -> Vec<u8> {
        let put = |v: &mut Vec<u8>, at: usize, bytes: &[u8]| {
            if v.len() < at + bytes.len() {
                v.resize(at + bytes.len(), 0);
            }
            let mut b = bytes.to_vec();
            if !little {
                b.reverse();
            }
            v[at..at + b.len()].copy_from_slice(&b);
        };
        let mut v = vec![0u8; if is64 { 64 } else { 52 }];
        v[..4].copy_from_slice(b"\x7fELF");
        v[4] = if is64 { 2 } else { 1 };
        v[5] = if little { 1 } else { 2 };
        let (phoff, phentsize) = if is64 { (64u64, 56u16) } else { (52, 32) };
        let strings = phoff as usize + 2 * phentsize as usize;
        if is64 {
            put(&mut v, 32, &phoff.to_le_bytes());
            put(&mut v, 54, &phentsize.to_le_bytes());
            put(&mut v, 56, &2u16.to_le_bytes());
            let p1 = phoff as usize;
            put(&mut v, p1, &1u32.to_le_bytes());
            let p2 = p1 + 56;
            put(&mut v, p2, &3u32.to_le_bytes());
            put(&mut v, p2 + 8, &(strings as u64).to_le_bytes());
            put(&mut v, p2 + 32, &(interp.len() as u64 + 1).to_le_bytes());
        } else {
            put(&mut v, 28, &(phoff as u32).to_le_bytes());
            put(&mut v, 42, &phentsize.to_le_bytes());
            put(&mut v, 44, &2u16.to_le_bytes());
            let p1 = phoff as usize;
            put(&mut v, p1, &1u32.to_le_bytes());
            let p2 = p1 + 32;
            put(&mut v, p2, &3u32.to_le_bytes());
            put(&mut v, p2 + 4, &(strings as u32).to_le_bytes());
            put(&mut v, p2 + 16, &(interp.len() as u32 + 1).to_le_bytes());
        }
        v.resize(strings, 0);
        v.extend_from_slice(interp.as_bytes());
        v.push(0);
        v
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
    fn parses_pt_interp_in_every_layout() {
        for is64 in [true, false] {
            for little in [true, false] {
                let f = elf(is64, little, "/lib/ld-musl-x86_64.so.1");
                let h = ElfHeader::parse(&f).expect("elf");
                assert_eq!((h.is64, h.little, h.phnum), (is64, little, 2));
                let start = h.phoff as usize;
                let end = start + usize::from(h.phentsize) * usize::from(h.phnum);
                let (off, size) = h.interp_segment(&f[start..end]).expect("interp");
                let s = &f[off as usize..(off + size) as usize];
                assert_eq!(s, b"/lib/ld-musl-x86_64.so.1\0");
            }
        }
        assert_eq!(ElfHeader::parse(b"#!/bin/sh"), None);
        assert_eq!(ElfHeader::parse(b"\x7fELF\x02"), None);
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
