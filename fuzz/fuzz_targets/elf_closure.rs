//! Any bytes as a program in an otherwise plausible filesystem, through the ELF reader
//! and the `COPY --deps` closure: a result or an error, never a panic, a hang or an
//! unbounded read. The input is also the library every search finds, so malformed
//! headers reach the closure's walk too.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use strata::imagefs::{Entry, ImageFs, MODE_DIR, MODE_SYMLINK};

/// A tiny filesystem: `/bin/app` and `/lib/x86_64-linux-gnu/*` are the input; `/lib64`
/// links to `lib`; `/etc/ld.so.conf` includes itself.
struct Fs<'a>(&'a [u8]);

fn file() -> Entry {
    Entry {
        mode: 0o755,
        linkname: String::new(),
    }
}

fn dir() -> Entry {
    Entry {
        mode: MODE_DIR | 0o755,
        linkname: String::new(),
    }
}

impl ImageFs for Fs<'_> {
    async fn stat(&self, _path: &str) -> Option<Entry> {
        Some(file())
    }

    async fn read(&self, path: &str, offset: u64, len: u64) -> Option<Vec<u8>> {
        assert!(len <= 1 << 21, "an unbounded read of {len} bytes");
        let data: &[u8] = if path == "/etc/ld.so.conf" {
            b"include /etc/ld.so.conf\n/lib\n"
        } else {
            self.0
        };
        let start = usize::try_from(offset).ok()?.min(data.len());
        let end = start.saturating_add(usize::try_from(len).ok()?).min(data.len());
        Some(data[start..end].to_vec())
    }

    async fn read_dir(&self, d: &str) -> Option<Vec<(String, Entry)>> {
        let mut out: BTreeMap<String, Entry> = BTreeMap::new();
        match d {
            "/" => {
                out.insert("bin".into(), dir());
                out.insert("lib".into(), dir());
                out.insert("etc".into(), dir());
                out.insert(
                    "lib64".into(),
                    Entry {
                        mode: MODE_SYMLINK | 0o777,
                        linkname: "lib".into(),
                    },
                );
            }
            "/bin" => {
                out.insert("app".into(), file());
            }
            "/etc" => {
                out.insert("ld.so.conf".into(), file());
            }
            "/lib" | "/lib/x86_64-linux-gnu" => {
                out.insert("x86_64-linux-gnu".into(), dir());
                // Whatever name is asked for exists: a loop of links and a file.
                out.insert(
                    "loop".into(),
                    Entry {
                        mode: MODE_SYMLINK | 0o777,
                        linkname: "loop".into(),
                    },
                );
                for name in names(self.0) {
                    out.insert(name, file());
                }
            }
            _ => return None,
        }
        Some(out.into_iter().collect())
    }
}

/// Words of the input that could be library names.
fn names(data: &[u8]) -> Vec<String> {
    data.split(|&b| b == 0 || b == b'/')
        .filter(|w| !w.is_empty() && w.len() < 64)
        .take(64)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let fs = Fs(data);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _ = rt.block_on(strata::elf::read(&fs, "/bin/app"));
    let paths = ["/bin/app".to_owned()];
    let _ = rt.block_on(strata::deps::closure(&fs, &paths));
});
