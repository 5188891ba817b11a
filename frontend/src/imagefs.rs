//! Read access to a solved filesystem (the build's result, a stage, an image), behind a
//! small trait so the logic that reads it (the entrypoint check, `COPY --deps`) is
//! testable without BuildKit. The gateway edge implements it with `StatFile`, `ReadFile`
//! (range reads) and `ReadDir` on a solved reference (`gateway::fs`).

use std::future::Future;

/// Go's `os.ModeDir`, as fsutil's `Stat.mode` carries it.
pub const MODE_DIR: u32 = 1 << 31;
/// Go's `os.ModeSymlink`.
pub const MODE_SYMLINK: u32 = 1 << 27;
/// Go's `os.ModeType`: every bit that makes an entry something other than a regular file
/// (directory, symlink, named pipe, socket, device, character device, irregular).
pub const MODE_TYPE: u32 =
    MODE_DIR | MODE_SYMLINK | 1 << 25 | 1 << 24 | 1 << 26 | 1 << 21 | 1 << 19;

/// One path of the filesystem, as `StatFile`/`ReadDir` describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Go `os.FileMode` bits: permissions plus [`MODE_DIR`], [`MODE_SYMLINK`], ….
    pub mode: u32,
    /// The target, for a symlink.
    pub linkname: String,
}

impl Entry {
    /// Whether this is a symlink (with a target).
    pub fn is_symlink(&self) -> bool {
        self.mode & MODE_SYMLINK != 0 && !self.linkname.is_empty()
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & MODE_DIR != 0
    }

    /// Whether this is a regular file (not a directory, link, device, pipe, …).
    pub fn is_regular(&self) -> bool {
        self.mode & MODE_TYPE == 0
    }
}

/// Read access to one solved filesystem.
pub trait ImageFs {
    /// The entry at absolute `path`, `None` when there is none. BuildKit's `StatFile`
    /// follows every symlink on the way, the last one included.
    fn stat(&self, path: &str) -> impl Future<Output = Option<Entry>>;
    /// Up to `len` bytes of the file at `path` from `offset`; `None` when unreadable.
    fn read(&self, path: &str, offset: u64, len: u64) -> impl Future<Output = Option<Vec<u8>>>;
    /// The entries of the directory at absolute `dir` by name, symlinks not followed
    /// (`ReadDir`); `None` when there is no such directory.
    fn read_dir(&self, dir: &str) -> impl Future<Output = Option<Vec<(String, Entry)>>>;
}

/// An in-memory filesystem for tests: files with modes and data, symlinks, and every
/// prefix of a path as an implicit directory.
#[cfg(test)]
pub(crate) mod mem {
    use std::collections::BTreeMap;
    use std::future::Future;

    use super::{Entry, ImageFs, MODE_DIR, MODE_SYMLINK};

    /// Paths (absolute, clean) to entries and contents.
    #[derive(Clone, Debug, Default)]
    pub(crate) struct MemFs(pub BTreeMap<String, (Entry, Vec<u8>)>);

    impl MemFs {
        /// Adds a regular file.
        pub(crate) fn file(mut self, path: &str, mode: u32, data: &[u8]) -> Self {
            let e = Entry {
                mode,
                linkname: String::new(),
            };
            self.0.insert(path.to_owned(), (e, data.to_vec()));
            self
        }

        /// Adds a symlink.
        pub(crate) fn link(mut self, path: &str, target: &str) -> Self {
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

        fn read_dir(&self, dir: &str) -> impl Future<Output = Option<Vec<(String, Entry)>>> {
            let mut out: BTreeMap<String, Entry> = BTreeMap::new();
            let prefix = if dir == "/" {
                "/".to_owned()
            } else {
                format!("{dir}/")
            };
            for (path, (entry, _)) in &self.0 {
                let Some(rest) = path.strip_prefix(&prefix) else {
                    continue;
                };
                match rest.split_once('/') {
                    None => {
                        out.insert(rest.to_owned(), entry.clone());
                    }
                    Some((first, _)) => {
                        out.entry(first.to_owned()).or_insert(Entry {
                            mode: MODE_DIR | 0o755,
                            linkname: String::new(),
                        });
                    }
                }
            }
            let exists =
                dir == "/" || !out.is_empty() || self.0.get(dir).is_some_and(|(e, _)| e.is_dir());
            std::future::ready(exists.then(|| out.into_iter().collect()))
        }
    }
}
