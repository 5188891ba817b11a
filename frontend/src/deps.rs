//! `COPY --deps`: the files an ELF program needs to run, found in the filesystem it is
//! copied from, the way the dynamic loader would find them.
//!
//! For every named path that is an ELF file this collects its program interpreter
//! (`PT_INTERP`) and the closure of its `DT_NEEDED` libraries. A library is searched for
//! as glibc's loader does: the requester's `DT_RPATH` and those of the objects that loaded
//! it (only when it has no `DT_RUNPATH`), its `DT_RUNPATH`, the directories of
//! `/etc/ld.so.conf` (with its `include` globs; what `ldconfig` puts in the cache), then
//! the standard directories (`/lib/<multiarch>`, `/usr/lib/<multiarch>`, `/lib64`,
//! `/usr/lib64`, `/lib`, `/usr/lib`, `/usr/local/lib`; musl's `/etc/ld-musl-<arch>.path`
//! when the interpreter is musl's). `$ORIGIN` in a search path is the directory of the
//! object as found. Candidates of another class or machine are skipped, as the loader
//! skips them.
//!
//! Every file lands at the path the loader opens it by (the interpreter path as written,
//! `<search dir>/<soname>`), so it is found in the target the same way. Directory symlinks
//! in the source (`/lib -> usr/lib`) are followed to read it but not reproduced: the
//! target gets real directories (or its own symlinks). The symlinks a path goes through
//! as its last component (`libfoo.so.1 -> libfoo.so.1.2.3`,
//! `/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`) are kept
//! as symlinks, and their targets copied too.
//!
//! Pure logic over [`ImageFs`]: the gateway edge runs it against a solved stage, tests
//! against an in-memory filesystem. The result is sorted, so the same source always
//! gives the same copy actions.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::convert::paths;
use crate::elf::{self, Dynamic};
use crate::imagefs::{Entry, ImageFs};

/// Symlinks followed in one path before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;
/// Objects analysed for one instruction: a bound on hostile sources.
const MAX_OBJECTS: usize = 4096;
/// How deep `include`s in `ld.so.conf` may nest.
const MAX_CONF_DEPTH: usize = 8;
/// The largest configuration file read.
const MAX_CONF_SIZE: u64 = 1 << 20;

/// One file to copy into the target.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DepFile {
    /// Where it goes in the target: the absolute path the loader opens. Its last part is
    /// the same as `src`'s, so it can be copied into its directory.
    pub dest: String,
    /// Where it is in the source: a path without symlinks but (maybe) its last part.
    pub src: String,
    /// The source is a symlink, copied as one.
    pub symlink: bool,
}

/// Why the closure of an instruction's paths cannot be computed. `index` is the position
/// of the named path it concerns, so the error can point at that word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DepsError {
    /// A named path does not exist in the source.
    MissingPath {
        /// Which path.
        index: usize,
    },
    /// A needed library (or the interpreter) is nowhere the loader would look.
    MissingLibrary {
        /// The named path whose closure needs it.
        index: usize,
        /// The library's name (`libfoo.so.1`) or the interpreter's path.
        library: String,
        /// The object that needs it (the named path, or a library of its closure).
        needed_by: String,
        /// Where it was searched.
        searched: Vec<String>,
    },
    /// A file of the closure cannot be read or is broken ELF.
    Unreadable {
        /// The named path whose closure includes it.
        index: usize,
        /// The file.
        path: String,
        /// What went wrong.
        why: String,
    },
    /// More objects than `MAX_OBJECTS`.
    TooLarge {
        /// The named path whose closure is too large.
        index: usize,
    },
}

impl DepsError {
    /// The position of the named path the error concerns.
    pub fn index(&self) -> usize {
        match self {
            DepsError::MissingPath { index }
            | DepsError::MissingLibrary { index, .. }
            | DepsError::Unreadable { index, .. }
            | DepsError::TooLarge { index } => *index,
        }
    }

    /// The message, given the named paths (`paths[index]` is the one concerned).
    pub fn message(&self, paths: &[String]) -> String {
        let named = paths.get(self.index()).map_or("?", String::as_str);
        match self {
            DepsError::MissingPath { .. } => {
                format!("COPY --deps: {named} does not exist in the source")
            }
            DepsError::MissingLibrary {
                library,
                needed_by,
                searched,
                ..
            } => {
                let via = if needed_by == named {
                    String::new()
                } else {
                    format!(" (a library of {named})")
                };
                format!(
                    "COPY --deps: {library}, needed by {needed_by}{via}, was not found in the source (searched {})",
                    searched.join(", ")
                )
            }
            DepsError::Unreadable { path, why, .. } => {
                format!("COPY --deps: cannot read {path} (for {named}): {why}")
            }
            DepsError::TooLarge { .. } => {
                format!("COPY --deps: the libraries of {named} are more than {MAX_OBJECTS} files")
            }
        }
    }
}

/// The files (besides the named ones themselves) that the ELF programs among `paths` need
/// in `fs`, sorted by destination. Named paths are absolute; a named directory or non-ELF
/// file needs nothing.
pub async fn closure(fs: &impl ImageFs, paths: &[String]) -> Result<Vec<DepFile>, DepsError> {
    let mut w = Walker {
        fs,
        dirs: BTreeMap::new(),
        elves: BTreeMap::new(),
        conf: None,
        out: BTreeMap::new(),
    };
    for (index, path) in paths.iter().enumerate() {
        w.named(index, path).await?;
    }
    Ok(w.out.into_values().collect())
}

/// An object whose needs are still to be found.
struct Pending {
    /// The path it was found by (for `$ORIGIN` and messages).
    path: String,
    info: Dynamic,
    /// `DT_RPATH` directories of the objects that loaded it (see [`closure`]).
    inherited_rpath: Vec<String>,
}

struct Walker<'a, F> {
    fs: &'a F,
    /// Directory listings by physical path (`None`: no such directory).
    dirs: BTreeMap<String, Option<BTreeMap<String, Entry>>>,
    /// ELF facts by physical path (`None`: not ELF or unreadable).
    elves: BTreeMap<String, Option<Dynamic>>,
    /// The `ld.so.conf` directories, once read.
    conf: Option<Vec<String>>,
    /// What to copy, by destination.
    out: BTreeMap<String, DepFile>,
}

impl<F: ImageFs> Walker<'_, F> {
    async fn named(&mut self, index: usize, path: &str) -> Result<(), DepsError> {
        let path = paths::clean(&format!("/{path}"));
        let Some(phys) = self.resolve(&path).await else {
            return Err(DepsError::MissingPath { index });
        };
        let Some(entry) = self.lstat(&phys).await else {
            // The root directory.
            return Ok(());
        };
        if !entry.is_regular() {
            // A directory, a device, a pipe: copied as they are, nothing to add.
            return Ok(());
        }
        let info = match elf::read(self.fs, &phys).await {
            Ok(Some(info)) => info,
            Ok(None) => return Ok(()),
            Err(why) => return Err(DepsError::Unreadable { index, path, why }),
        };
        self.elves.insert(phys.clone(), Some(info.clone()));
        let mut queue = VecDeque::from([Pending {
            // `$ORIGIN` of a program is where the kernel found it: symlinks resolved.
            path: phys,
            info,
            inherited_rpath: Vec::new(),
        }]);
        let mut seen: BTreeSet<String> = BTreeSet::new();
        // Names already loaded: the loader reuses an object loaded by the same name rather
        // than searching again (breadth-first, as it loads them).
        let mut loaded: BTreeSet<String> = BTreeSet::new();
        let mut count = 0;
        while let Some(obj) = queue.pop_front() {
            count += 1;
            if count > MAX_OBJECTS {
                return Err(DepsError::TooLarge { index });
            }
            let needed_by = if count == 1 {
                path.clone()
            } else {
                obj.path.clone()
            };
            if let Some(interp) = &obj.info.interp {
                // The loader is loaded under its own name: `libc.so.6` needing
                // `ld-linux-x86-64.so.2` gets it.
                loaded.insert(base(interp).to_owned());
                if self.place(interp).await.is_none() {
                    return Err(DepsError::MissingLibrary {
                        index,
                        library: interp.clone(),
                        needed_by,
                        searched: vec![interp.clone()],
                    });
                }
            }
            let origin = parent(&obj.path).to_owned();
            let expand = |list: &[String]| -> Vec<String> {
                list.iter()
                    .filter_map(|d| expand_origin(d, &origin))
                    .collect()
            };
            let runpath = obj.info.runpath.as_deref().map(expand);
            // Without DT_RUNPATH, the loader searches this object's DT_RPATH, then those of
            // the objects that loaded it; with it, neither.
            let rpath_chain: Vec<String> = if runpath.is_none() {
                expand(&obj.info.rpath)
                    .into_iter()
                    .chain(obj.inherited_rpath.iter().cloned())
                    .collect()
            } else {
                Vec::new()
            };
            let system = self.system_dirs(&obj.info).await;
            for lib in &obj.info.needed {
                if !loaded.insert(lib.clone()) {
                    continue;
                }
                let mut searched: Vec<String> = Vec::new();
                if lib.contains('/') {
                    // A path, not a name: used as it is (relative to the working directory,
                    // which only an absolute one does not depend on).
                    searched.push(lib.clone());
                } else {
                    for d in rpath_chain
                        .iter()
                        .chain(runpath.iter().flatten())
                        .chain(system.iter())
                    {
                        let candidate = paths::clean(&format!("{d}/{lib}"));
                        if !searched.contains(&candidate) {
                            searched.push(candidate);
                        }
                    }
                }
                let mut found = None;
                for candidate in &searched {
                    if !candidate.starts_with('/') {
                        continue;
                    }
                    let Some(phys) = self.resolve(candidate).await else {
                        continue;
                    };
                    if let Some(info) = self.elf(&phys).await {
                        if obj.info.accepts(&info) {
                            found = Some((candidate.clone(), info));
                            break;
                        }
                    }
                }
                let Some((found_path, info)) = found else {
                    let dirs = searched
                        .iter()
                        .map(|c| parent(c).to_owned())
                        .collect::<Vec<_>>();
                    return Err(DepsError::MissingLibrary {
                        index,
                        library: lib.clone(),
                        needed_by,
                        searched: dirs,
                    });
                };
                if self.place(&found_path).await.is_none() {
                    return Err(DepsError::Unreadable {
                        index,
                        path: found_path,
                        why: "it changed while being read".to_owned(),
                    });
                }
                if seen.insert(found_path.clone()) {
                    queue.push_back(Pending {
                        path: found_path,
                        info,
                        inherited_rpath: rpath_chain.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The directories searched after the object's own paths, in order.
    async fn system_dirs(&mut self, info: &Dynamic) -> Vec<String> {
        let mut dirs = Vec::new();
        let musl = info
            .interp
            .as_deref()
            .and_then(|i| i.rsplit('/').next())
            .and_then(|name| name.strip_prefix("ld-musl-"))
            .and_then(|rest| rest.strip_suffix(".so.1"))
            .map(str::to_owned);
        if let Some(arch) = musl {
            // musl reads its own path file instead of ld.so.conf, and only it, if present.
            let file = format!("/etc/ld-musl-{arch}.path");
            if let Some(text) = self.read_text(&file).await {
                return text
                    .split(['\n', ':'])
                    .map(str::trim)
                    .filter(|d| d.starts_with('/'))
                    .map(paths::clean)
                    .collect();
            }
            dirs.extend(["/lib", "/usr/local/lib", "/usr/lib"].map(str::to_owned));
            return dirs;
        }
        dirs.extend(self.conf_dirs().await);
        if let Some(tuple) = info.multiarch() {
            dirs.push(format!("/lib/{tuple}"));
            dirs.push(format!("/usr/lib/{tuple}"));
        }
        if info.is64 {
            dirs.extend(["/lib64", "/usr/lib64"].map(str::to_owned));
        }
        dirs.extend(["/lib", "/usr/lib", "/usr/local/lib"].map(str::to_owned));
        let mut unique = Vec::new();
        for d in dirs {
            if !unique.contains(&d) {
                unique.push(d);
            }
        }
        unique
    }

    /// The directories `/etc/ld.so.conf` lists, in order, with those of the files it
    /// includes where the `include` line stands (cached). A file is read once, so
    /// include loops end.
    async fn conf_dirs(&mut self) -> Vec<String> {
        if let Some(c) = &self.conf {
            return c.clone();
        }
        let mut dirs = Vec::new();
        let mut read: BTreeSet<String> = BTreeSet::new();
        // Files being read: name, lines, next line, include depth.
        let mut stack: Vec<(String, Vec<String>, usize, usize)> = Vec::new();
        let root = "/etc/ld.so.conf".to_owned();
        if let Some(text) = self.read_text(&root).await {
            read.insert(root.clone());
            stack.push((root, text.lines().map(str::to_owned).collect(), 0, 0));
        }
        while let Some((file, lines, next, depth)) = stack.last_mut() {
            let Some(line) = lines.get(*next).cloned() else {
                stack.pop();
                continue;
            };
            *next += 1;
            let (file, depth) = (file.clone(), *depth);
            let line = line.split('#').next().unwrap_or_default().trim();
            if let Some(rest) = line
                .strip_prefix("include")
                .filter(|r| r.starts_with(char::is_whitespace))
            {
                let mut included = Vec::new();
                for pattern in rest.split_whitespace() {
                    let pattern = if pattern.starts_with('/') {
                        pattern.to_owned()
                    } else {
                        format!("{}/{pattern}", parent(&file))
                    };
                    included.extend(self.glob(&pattern).await);
                }
                if depth >= MAX_CONF_DEPTH {
                    continue;
                }
                // Pushed last first, so they are read in order.
                for f in included.into_iter().rev() {
                    if read.contains(&f) {
                        continue;
                    }
                    if let Some(text) = self.read_text(&f).await {
                        read.insert(f.clone());
                        stack.push((f, text.lines().map(str::to_owned).collect(), 0, depth + 1));
                    }
                }
                continue;
            }
            if line.starts_with("hwcap") {
                continue;
            }
            for d in line.split([' ', '\t', ':', ',']) {
                // `dir=TYPE` (old libc5 syntax) names the directory before `=`.
                let d = d.split('=').next().unwrap_or_default();
                if d.starts_with('/') {
                    dirs.push(paths::clean(d));
                }
            }
        }
        self.conf = Some(dirs.clone());
        dirs
    }

    /// The files matching `pattern` (wildcards in its last part only), sorted.
    async fn glob(&mut self, pattern: &str) -> Vec<String> {
        let pattern = paths::clean(pattern);
        let (dir, name) = (parent(&pattern).to_owned(), base(&pattern).to_owned());
        if !name.contains(['*', '?', '[']) {
            return vec![pattern];
        }
        let Some(phys) = self.resolve(&dir).await else {
            return Vec::new();
        };
        let Some(list) = self.listing(&phys).await else {
            return Vec::new();
        };
        list.keys()
            .filter(|n| glob_match(&name, n))
            .map(|n| paths::join(&dir, n))
            .collect()
    }

    /// The text of a small file (symlinks followed), `None` when missing.
    async fn read_text(&mut self, path: &str) -> Option<String> {
        let phys = self.resolve(path).await?;
        let entry = self.lstat(&phys).await?;
        if entry.is_dir() {
            return None;
        }
        let bytes = self.fs.read(&phys, 0, MAX_CONF_SIZE).await?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Copies the file the loader opens as `path` to `path`: every symlink it goes
    /// through as its last component is kept (and its target placed the same way), the
    /// final file copied. Returns the final file's physical path.
    async fn place(&mut self, path: &str) -> Option<String> {
        let mut dest = paths::clean(path);
        let mut src = dest.clone();
        for _ in 0..MAX_LINKS {
            let name = base(&src).to_owned();
            if name.is_empty() || name == "." || name == ".." {
                return None;
            }
            let dir = self.resolve(parent(&src)).await?;
            let phys = paths::join(&dir, &name);
            let entry = self.lstat(&phys).await?;
            if entry.is_symlink() {
                self.out.insert(
                    dest.clone(),
                    DepFile {
                        dest: dest.clone(),
                        src: phys,
                        symlink: true,
                    },
                );
                let link = entry.linkname;
                if link.starts_with('/') {
                    dest = paths::clean(&link);
                    src = link;
                } else {
                    dest = paths::join(parent(&dest), &link);
                    src = format!("{dir}/{link}");
                }
                continue;
            }
            if entry.is_dir() {
                return None;
            }
            self.out.insert(
                dest.clone(),
                DepFile {
                    dest,
                    src: phys.clone(),
                    symlink: false,
                },
            );
            return Some(phys);
        }
        None
    }

    /// ELF facts of the file at physical `path`, cached (`None`: not an ELF file).
    async fn elf(&mut self, phys: &str) -> Option<Dynamic> {
        if let Some(e) = self.elves.get(phys) {
            return e.clone();
        }
        let entry = self.lstat(phys).await;
        let info = match entry {
            Some(e) if e.is_regular() => elf::read(self.fs, phys).await.ok().flatten(),
            _ => None,
        };
        self.elves.insert(phys.to_owned(), info.clone());
        info
    }

    /// `path` with every symlink followed, as a path without symlinks; `None` when it
    /// (or a directory on the way) does not exist. `..` is resolved after the symlink
    /// before it, as the kernel does.
    async fn resolve(&mut self, path: &str) -> Option<String> {
        let mut todo: Vec<String> = path
            .split('/')
            .rev()
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        let mut cur = "/".to_owned();
        let mut links = 0;
        while let Some(c) = todo.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    cur = parent(&cur).to_owned();
                    continue;
                }
                _ => {}
            }
            let candidate = paths::join(&cur, &c);
            let entry = self.lstat(&candidate).await?;
            if entry.is_symlink() {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                if entry.linkname.starts_with('/') {
                    cur = "/".to_owned();
                }
                todo.extend(
                    entry
                        .linkname
                        .split('/')
                        .rev()
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned),
                );
                continue;
            }
            if !todo.is_empty() && !entry.is_dir() {
                return None;
            }
            cur = candidate;
        }
        Some(cur)
    }

    /// The entry at physical `path` (its directory has no symlinks), not followed.
    async fn lstat(&mut self, path: &str) -> Option<Entry> {
        if path == "/" {
            return None;
        }
        let dir = parent(path).to_owned();
        let name = base(path);
        self.listing(&dir).await?.get(name).cloned()
    }

    /// The entries of the physical directory `dir`, cached.
    async fn listing(&mut self, dir: &str) -> Option<&BTreeMap<String, Entry>> {
        if !self.dirs.contains_key(dir) {
            let list = self
                .fs
                .read_dir(dir)
                .await
                .map(|entries| entries.into_iter().collect());
            self.dirs.insert(dir.to_owned(), list);
        }
        self.dirs.get(dir).and_then(Option::as_ref)
    }
}

/// `$ORIGIN` / `${ORIGIN}` in a search path replaced by `origin`; `None` for a path with
/// another token (`$LIB`, `$PLATFORM`: their values depend on the machine that runs it)
/// or a relative one (relative to the working directory at run time).
fn expand_origin(dir: &str, origin: &str) -> Option<String> {
    let expanded = dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin);
    (!expanded.contains('$') && expanded.starts_with('/')).then(|| paths::clean(&expanded))
}

/// The directory part of a clean absolute path (`/` for `/x`).
fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    }
}

/// The last part of a path.
fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `glob(3)` matching of one name: `*`, `?`, `[…]` (with ranges and `!`/`^`), no
/// special meaning for a leading dot. Linear backtracking over the last `*`: no
/// exponential blow-up on hostile patterns.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(&p, pi, n[ni]) {
                        if matched {
                            pi = next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether the bracket expression at `p[at]` matches `c`, and where it ends; `None` when
/// it is not closed (then `[` is literal).
fn class(p: &[char], at: usize, c: char) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::elf::fixture::Spec;
    use crate::imagefs::mem::MemFs;

    const LD: &str = "/lib64/ld-linux-x86-64.so.2";
    const MA: &str = "/usr/lib/x86_64-linux-gnu";

    fn run<F: ImageFs>(fs: &F, paths: &[&str]) -> Result<Vec<DepFile>, DepsError> {
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        let got = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(closure(fs, &paths));
        for f in got.iter().flatten() {
            assert_eq!(base(&f.dest), base(&f.src), "{f:?}");
        }
        got
    }

    fn lib(needed: &[&str]) -> Vec<u8> {
        Spec::new(needed).build()
    }

    /// Debian bookworm's layout: merged /usr, multiarch directories, ld.so.conf.d.
    fn bookworm() -> MemFs {
        MemFs::default()
            .link("/bin", "usr/bin")
            .link("/lib", "usr/lib")
            .link("/lib64", "usr/lib64")
            .file(
                "/usr/bin/ls",
                0o755,
                &Spec::new(&["libselinux.so.1", "libc.so.6"]).interp(LD).build(),
            )
            .file("/usr/bin/script", 0o755, b"#!/bin/sh\necho hi\n")
            .link(
                "/usr/lib64/ld-linux-x86-64.so.2",
                "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            )
            .file(&format!("{MA}/ld-linux-x86-64.so.2"), 0o755, &lib(&[]))
            .file(
                &format!("{MA}/libc.so.6"),
                0o755,
                &Spec::new(&["ld-linux-x86-64.so.2"]).interp(LD).build(),
            )
            .file(
                &format!("{MA}/libselinux.so.1"),
                0o644,
                &lib(&["libpcre2-8.so.0", "libc.so.6"]),
            )
            .link(&format!("{MA}/libpcre2-8.so.0"), "libpcre2-8.so.0.11.2")
            .file(&format!("{MA}/libpcre2-8.so.0.11.2"), 0o644, &lib(&["libc.so.6"]))
            .file("/etc/ld.so.conf", 0o644, b"include /etc/ld.so.conf.d/*.conf\n")
            .file(
                "/etc/ld.so.conf.d/libc.conf",
                0o644,
                b"# libc default configuration\n/usr/local/lib\n",
            )
            .file(
                "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
                0o644,
                b"# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n",
            )
    }

    fn file(dest: &str, src: &str) -> DepFile {
        DepFile {
            dest: dest.to_owned(),
            src: src.to_owned(),
            symlink: false,
        }
    }

    fn link(dest: &str, src: &str) -> DepFile {
        DepFile {
            symlink: true,
            ..file(dest, src)
        }
    }

    #[test]
    fn debian_ls_needs_its_loader_and_libraries() {
        let got = run(&bookworm(), &["/bin/ls"]).unwrap();
        let l = "/lib/x86_64-linux-gnu";
        assert_eq!(
            got,
            [
                file(
                    &format!("{l}/ld-linux-x86-64.so.2"),
                    &format!("{MA}/ld-linux-x86-64.so.2")
                ),
                file(&format!("{l}/libc.so.6"), &format!("{MA}/libc.so.6")),
                link(
                    &format!("{l}/libpcre2-8.so.0"),
                    &format!("{MA}/libpcre2-8.so.0")
                ),
                file(
                    &format!("{l}/libpcre2-8.so.0.11.2"),
                    &format!("{MA}/libpcre2-8.so.0.11.2")
                ),
                file(
                    &format!("{l}/libselinux.so.1"),
                    &format!("{MA}/libselinux.so.1")
                ),
                link(LD, "/usr/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    /// The same filesystem, listing directories in reverse order.
    struct Reversed(MemFs);

    impl ImageFs for Reversed {
        async fn stat(&self, path: &str) -> Option<Entry> {
            self.0.stat(path).await
        }
        async fn read(&self, path: &str, offset: u64, len: u64) -> Option<Vec<u8>> {
            self.0.read(path, offset, len).await
        }
        async fn read_dir(&self, dir: &str) -> Option<Vec<(String, Entry)>> {
            let mut v = self.0.read_dir(dir).await?;
            v.reverse();
            Some(v)
        }
    }

    #[test]
    fn the_result_is_sorted_and_does_not_depend_on_listing_order() {
        let a = run(&bookworm(), &["/bin/ls", "/usr/bin/script"]).unwrap();
        let b = run(&Reversed(bookworm()), &["/usr/bin/script", "/bin/ls"]).unwrap();
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(a, sorted);
        assert_eq!(a, run(&bookworm(), &["/bin/ls"]).unwrap());
    }

    #[test]
    fn non_elf_files_and_directories_need_nothing() {
        let fs = bookworm();
        assert_eq!(run(&fs, &["/usr/bin/script"]).unwrap(), []);
        assert_eq!(run(&fs, &["/etc", "/", "etc/ld.so.conf"]).unwrap(), []);
        // A device is not read at all.
        // (Were it read, this content would fail: it needs a library that is nowhere.)
        let fs = fs.file(
            "/dev/null",
            (1 << 26) | (1 << 21) | 0o666,
            &lib(&["libmissing.so.1"]),
        );
        assert_eq!(run(&fs, &["/dev/null"]).unwrap(), []);
    }

    #[test]
    fn a_missing_path_is_named_by_its_position() {
        let err = run(&bookworm(), &["/bin/ls", "/bin/nope"]).unwrap_err();
        assert_eq!(err, DepsError::MissingPath { index: 1 });
        let paths = ["/bin/ls".to_owned(), "/bin/nope".to_owned()];
        assert_eq!(
            err.message(&paths),
            "COPY --deps: /bin/nope does not exist in the source"
        );
        // A symlink loop does not exist either.
        let fs = bookworm().link("/bin/a", "b").link("/usr/bin/b", "a");
        assert_eq!(
            run(&fs, &["/bin/a"]).unwrap_err(),
            DepsError::MissingPath { index: 0 }
        );
    }

    #[test]
    fn a_missing_library_names_itself_and_its_binary() {
        let mut fs = bookworm();
        fs.0.remove(&format!("{MA}/libpcre2-8.so.0.11.2"));
        let err = run(&fs, &["/bin/ls"]).unwrap_err();
        let DepsError::MissingLibrary {
            library,
            needed_by,
            searched,
            ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(library, "libpcre2-8.so.0");
        assert_eq!(needed_by, "/lib/x86_64-linux-gnu/libselinux.so.1");
        assert_eq!(
            searched[..3],
            [
                "/usr/local/lib",
                "/usr/local/lib/x86_64-linux-gnu",
                "/lib/x86_64-linux-gnu"
            ]
        );
        let message = err.message(&["/bin/ls".to_owned()]);
        assert!(
            message.starts_with(
                "COPY --deps: libpcre2-8.so.0, needed by /lib/x86_64-linux-gnu/libselinux.so.1 (a library of /bin/ls), was not found"
            ),
            "{message}"
        );
        // A missing interpreter is named as such.
        let mut fs = bookworm();
        fs.0.remove(&format!("{MA}/ld-linux-x86-64.so.2"));
        let err = run(&fs, &["/bin/ls"]).unwrap_err();
        assert!(
            matches!(&err, DepsError::MissingLibrary { library, needed_by, .. } if library == LD && needed_by == "/bin/ls"),
            "{err:?}"
        );
    }

    #[test]
    fn runpath_with_origin_comes_before_the_system() {
        let fs = bookworm()
            .file(
                "/opt/app/bin/app",
                0o755,
                &Spec::new(&["libapp.so.1", "libc.so.6"])
                    .interp(LD)
                    .runpath("$ORIGIN/../lib:/nowhere")
                    .build(),
            )
            .file("/opt/app/lib/libapp.so.1", 0o644, &lib(&["libc.so.6"]))
            // A libc of its own shadows the system's, for the app only.
            .file("/opt/app/lib/libc.so.6", 0o644, &lib(&[]));
        let got = run(&fs, &["/opt/app/bin/app"]).unwrap();
        let dests: Vec<&str> = got.iter().map(|f| f.dest.as_str()).collect();
        assert_eq!(
            dests,
            [
                "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                LD,
                "/opt/app/lib/libapp.so.1",
                "/opt/app/lib/libc.so.6",
            ]
        );
    }

    #[test]
    fn rpath_is_inherited_unless_runpath_is_set() {
        let app = |runpath_on_lib: bool| {
            let libx = if runpath_on_lib {
                Spec::new(&["liby.so"]).runpath("/elsewhere").build()
            } else {
                lib(&["liby.so"])
            };
            bookworm()
                .file(
                    "/opt/r/app",
                    0o755,
                    &Spec::new(&["libx.so"])
                        .interp(LD)
                        .rpath("${ORIGIN}/lib")
                        .build(),
                )
                .file("/opt/r/lib/libx.so", 0o644, &libx)
                .file("/opt/r/lib/liby.so", 0o644, &lib(&[]))
        };
        let got = run(&app(false), &["/opt/r/app"]).unwrap();
        assert!(
            got.iter().any(|f| f.dest == "/opt/r/lib/liby.so"),
            "{got:?}"
        );
        let err = run(&app(true), &["/opt/r/app"]).unwrap_err();
        assert!(
            matches!(&err, DepsError::MissingLibrary { library, .. } if library == "liby.so"),
            "{err:?}"
        );
    }

    #[test]
    fn ld_so_conf_includes_nest_and_are_read_in_order() {
        let fs = bookworm()
            .file(
                "/etc/ld.so.conf",
                0o644,
                b"/opt/first\ninclude conf.d/*.conf # relative to /etc\nhwcap 0 nosegneg\n/opt/last\n",
            )
            .file("/etc/conf.d/a.conf", 0o644, b"include /etc/more/b.conf\n")
            .file("/etc/more/b.conf", 0o644, b"/opt/custom:/opt/other\n")
            .file("/etc/conf.d/loop.conf", 0o644, b"include /etc/ld.so.conf\n")
            .file(
                "/usr/bin/tool",
                0o755,
                &Spec::new(&["libcustom.so.2"]).interp(LD).build(),
            )
            .file("/opt/custom/libcustom.so.2", 0o644, &lib(&[]))
            .file("/opt/last/libcustom.so.2", 0o644, &lib(&[]));
        let got = run(&fs, &["/usr/bin/tool"]).unwrap();
        assert!(
            got.iter().any(|f| f.dest == "/opt/custom/libcustom.so.2"),
            "{got:?}"
        );
        assert!(
            !got.iter().any(|f| f.dest.starts_with("/opt/last")),
            "{got:?}"
        );
    }

    #[test]
    fn libraries_of_another_machine_are_skipped() {
        let arm = Spec {
            machine: 183,
            ..Spec::new(&[])
        };
        let fs = bookworm()
            .file("/usr/local/lib/libc.so.6", 0o644, &arm.build())
            .file(
                "/usr/local/lib/x86_64-linux-gnu/libc.so.6",
                0o644,
                b"not elf",
            );
        let got = run(&fs, &["/bin/ls"]).unwrap();
        assert!(
            got.iter()
                .any(|f| f.dest == "/lib/x86_64-linux-gnu/libc.so.6"),
            "{got:?}"
        );
        assert!(
            !got.iter().any(|f| f.dest.starts_with("/usr/local")),
            "{got:?}"
        );
    }

    #[test]
    fn musl_reads_its_path_file() {
        let fs = MemFs::default()
            .file(
                "/bin/busybox",
                0o755,
                &Spec::new(&["libc.musl-x86_64.so.1"])
                    .interp("/lib/ld-musl-x86_64.so.1")
                    .build(),
            )
            .file("/lib/ld-musl-x86_64.so.1", 0o755, &lib(&[]))
            .link("/lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1");
        let got = run(&fs, &["/bin/busybox"]).unwrap();
        assert_eq!(
            got,
            [
                file("/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-x86_64.so.1"),
                link("/lib/libc.musl-x86_64.so.1", "/lib/libc.musl-x86_64.so.1"),
            ]
        );
        let fs = fs
            .file("/etc/ld-musl-x86_64.path", 0o644, b"/opt/musl\n")
            .file("/opt/musl/libc.musl-x86_64.so.1", 0o644, &lib(&[]));
        let got = run(&fs, &["/bin/busybox"]).unwrap();
        assert!(
            got.iter()
                .any(|f| f.dest == "/opt/musl/libc.musl-x86_64.so.1"),
            "{got:?}"
        );
    }

    #[test]
    fn glob_patterns() {
        for (p, n, ok) in [
            ("*.conf", "libc.conf", true),
            ("*.conf", "libc.conf.bak", false),
            ("x86_64-*.conf", "x86_64-linux-gnu.conf", true),
            ("?.conf", "a.conf", true),
            ("[a-c]*", "b.conf", true),
            ("[!a-c]*", "b.conf", false),
            ("[", "[", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
        ] {
            assert_eq!(glob_match(p, n), ok, "{p} {n}");
        }
    }

    /// The host's root filesystem (Debian here), read the way the gateway reads a stage.
    struct HostFs;

    impl ImageFs for HostFs {
        async fn stat(&self, path: &str) -> Option<Entry> {
            std::fs::metadata(path).ok().map(|m| Entry {
                mode: if m.is_dir() {
                    crate::imagefs::MODE_DIR
                } else {
                    0
                },
                linkname: String::new(),
            })
        }
        async fn read(&self, path: &str, offset: u64, len: u64) -> Option<Vec<u8>> {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = std::fs::File::open(path).ok()?;
            f.seek(SeekFrom::Start(offset)).ok()?;
            let mut out = Vec::new();
            f.take(len).read_to_end(&mut out).ok()?;
            Some(out)
        }
        async fn read_dir(&self, dir: &str) -> Option<Vec<(String, Entry)>> {
            let mut out = Vec::new();
            for e in std::fs::read_dir(dir).ok()? {
                let e = e.ok()?;
                let m = e.path().symlink_metadata().ok()?;
                let (mode, linkname) = if m.file_type().is_symlink() {
                    let target = std::fs::read_link(e.path()).ok()?;
                    (
                        crate::imagefs::MODE_SYMLINK,
                        target.to_string_lossy().into_owned(),
                    )
                } else if m.is_dir() {
                    (crate::imagefs::MODE_DIR, String::new())
                } else {
                    (0o755, String::new())
                };
                out.push((
                    e.file_name().to_string_lossy().into_owned(),
                    Entry { mode, linkname },
                ));
            }
            Some(out)
        }
    }

    /// Real binaries from a real distribution: the host's `ls` and `tar`, whatever their
    /// libraries are, need their loader and libc, and every file copied exists.
    #[test]
    fn host_binaries_resolve() {
        if !std::path::Path::new("/usr/bin/ls").exists() || !cfg!(target_arch = "x86_64") {
            return;
        }
        let got = run(&HostFs, &["/usr/bin/ls", "/usr/bin/tar"]).unwrap();
        let bytes = std::fs::read("/usr/bin/ls").unwrap();
        let interp = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(elf::read(&HostFs, "/usr/bin/ls"))
            .unwrap()
            .unwrap()
            .interp
            .unwrap();
        assert!(!bytes.is_empty());
        assert!(got.iter().any(|f| f.dest == interp), "{got:?}");
        assert!(
            got.iter().any(|f| f.dest.ends_with("/libc.so.6")),
            "{got:?}"
        );
        for f in &got {
            let m = std::fs::symlink_metadata(&f.src).unwrap();
            assert_eq!(m.file_type().is_symlink(), f.symlink, "{f:?}");
        }
    }
}
