//! The dynamic-linking facts of one ELF file: its program interpreter (`PT_INTERP`), the
//! libraries it needs (`DT_NEEDED`) and its search paths (`DT_RPATH`, `DT_RUNPATH`).
//!
//! Everything is read through [`ImageFs`] with range reads of just the parts these facts
//! live in: the first page (file header, and usually the program headers and the
//! interpreter path), the dynamic segment, and the few strings it points at. Never the
//! whole file: a library can be many megabytes and every read crosses the gateway.
//! Decoding uses the `object` crate's ELF structures, so byte order and the 32/64-bit
//! layouts are its business, not ours.

use object::elf;
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader as _};
use object::Endianness;

use crate::imagefs::ImageFs;

/// How much of a file the first read takes: the header and, in practice, the program
/// headers and the interpreter path that follow it, and for small programs the dynamic
/// string table too (`/bin/ls`'s starts at 4 KiB). Each read is a gateway round trip
/// that mounts the source: 16 KiB saved ~15% of them on Debian's coreutils.
const HEAD: u64 = 16 * 1024;
/// The largest program header table or dynamic segment read (hostile input is bounded).
const MAX_TABLE: u64 = 1 << 20;
/// The longest string read (a path or a library name).
const MAX_STRING: u64 = 4096;
/// Strings closer than this are fetched in one range read.
const STRING_WINDOW: u64 = 4096;
/// The most strings (`DT_NEEDED`, `DT_RPATH`, `DT_RUNPATH`) one file may name: each can
/// be a gateway round trip. Real programs name a few dozen.
const MAX_STRINGS: usize = 4096;
/// The end of the largest range a file can have: offsets are `off_t`, signed 64-bit.
/// Header values past it are broken or hostile, and never become a read.
const MAX_OFFSET: u64 = i64::MAX as u64;

/// What the dynamic loader needs to know about one ELF file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dynamic {
    /// ELFCLASS64 (else 32-bit).
    pub is64: bool,
    /// Little-endian (else big-endian).
    pub little: bool,
    /// `e_machine`.
    pub machine: u16,
    /// `e_flags` (the ARM float ABI lives here).
    pub flags: u32,
    /// `PT_INTERP`: the program interpreter's path, for an executable.
    pub interp: Option<String>,
    /// `DT_NEEDED`, in order.
    pub needed: Vec<String>,
    /// `DT_RPATH`, split on `:`.
    pub rpath: Vec<String>,
    /// `DT_RUNPATH`, split on `:` (when present, the loader ignores `DT_RPATH`).
    pub runpath: Option<Vec<String>>,
}

impl Dynamic {
    /// Whether the loader would accept `other` as a library of this file: same class,
    /// byte order and machine.
    pub fn accepts(&self, other: &Dynamic) -> bool {
        (self.is64, self.little, self.machine) == (other.is64, other.little, other.machine)
    }

    /// The Debian multiarch tuple of this file's architecture (`x86_64-linux-gnu`): the
    /// name of the lib directories (`/usr/lib/<tuple>`) its libraries live in. Taken from
    /// the file itself, so a stage of another platform finds the right ones.
    pub fn multiarch(&self) -> Option<&'static str> {
        let hard_float = self.flags & elf::EF_ARM_ABI_FLOAT_HARD != 0;
        Some(match (elf::Machine(self.machine), self.is64, self.little) {
            (elf::EM_X86_64, true, _) => "x86_64-linux-gnu",
            (elf::EM_X86_64, false, _) => "x86_64-linux-gnux32",
            (elf::EM_386, false, _) => "i386-linux-gnu",
            (elf::EM_AARCH64, true, true) => "aarch64-linux-gnu",
            (elf::EM_ARM, false, true) if hard_float => "arm-linux-gnueabihf",
            (elf::EM_ARM, false, true) => "arm-linux-gnueabi",
            (elf::EM_PPC64, true, true) => "powerpc64le-linux-gnu",
            (elf::EM_PPC64, true, false) => "powerpc64-linux-gnu",
            (elf::EM_PPC, false, false) => "powerpc-linux-gnu",
            (elf::EM_S390, true, false) => "s390x-linux-gnu",
            (elf::EM_RISCV, true, true) => "riscv64-linux-gnu",
            (elf::EM_MIPS, true, true) => "mips64el-linux-gnuabi64",
            (elf::EM_MIPS, false, true) => "mipsel-linux-gnu",
            (elf::EM_LOONGARCH, true, true) => "loongarch64-linux-gnu",
            _ => return None,
        })
    }
}

/// Reads the dynamic-linking facts of the file at `path`: `Ok(None)` when it is not ELF,
/// `Err` when it cannot be read or its headers are broken.
pub async fn read(fs: &impl ImageFs, path: &str) -> Result<Option<Dynamic>, String> {
    read_parts(fs, path, true).await
}

/// Like [`read`], but stops after the program headers: the interpreter, class and
/// machine only (`needed`, `rpath`, `runpath` stay empty). What the entrypoint check
/// needs, in one or two reads.
pub async fn read_interp(fs: &impl ImageFs, path: &str) -> Result<Option<Dynamic>, String> {
    read_parts(fs, path, false).await
}

async fn read_parts(
    fs: &impl ImageFs,
    path: &str,
    dynamic: bool,
) -> Result<Option<Dynamic>, String> {
    let head = fs
        .read(path, 0, HEAD)
        .await
        .ok_or_else(|| "the file cannot be read".to_owned())?;
    if head.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Ok(None);
    }
    let file = File {
        fs,
        path,
        head,
        dynamic,
    };
    match file.head.get(4).copied() {
        Some(c) if elf::FileClass(c) == elf::ELFCLASS64 => file
            .parse::<elf::FileHeader64<Endianness>>()
            .await
            .map(Some),
        Some(c) if elf::FileClass(c) == elf::ELFCLASS32 => file
            .parse::<elf::FileHeader32<Endianness>>()
            .await
            .map(Some),
        _ => Err("unknown ELF class".to_owned()),
    }
}

/// One file being read: its first page, and the way to read more.
struct File<'a, F> {
    fs: &'a F,
    path: &'a str,
    head: Vec<u8>,
    /// Read the dynamic segment too (else stop after the program headers).
    dynamic: bool,
}

impl<F: ImageFs> File<'_, F> {
    async fn parse<Elf: FileHeader<Endian = Endianness>>(&self) -> Result<Dynamic, String> {
        let header = Elf::parse(self.head.as_slice()).map_err(|e| e.to_string())?;
        let endian = header.endian().map_err(|e| e.to_string())?;
        let mut out = Dynamic {
            is64: header.is_type_64(),
            little: endian == Endianness::Little,
            machine: header.e_machine(endian).0,
            flags: header.e_flags(endian).0,
            interp: None,
            needed: Vec::new(),
            rpath: Vec::new(),
            runpath: None,
        };
        let phnum = u64::from(header.e_phnum(endian));
        if phnum == 0 {
            // A relocatable object or a core file: nothing to load.
            return Ok(out);
        }
        if phnum >= u64::from(elf::PN_XNUM) {
            return Err("too many program headers".to_owned());
        }
        let entsize = std::mem::size_of::<Elf::ProgramHeader>() as u64;
        if u64::from(header.e_phentsize(endian)) != entsize {
            return Err("unexpected program header size".to_owned());
        }
        // At most 65,534 headers of 56 bytes: no overflow.
        if phnum * entsize > MAX_TABLE {
            return Err("too many program headers".to_owned());
        }
        let table = self
            .bytes(header.e_phoff(endian).into(), phnum * entsize)
            .await?;
        let phdrs: &[Elf::ProgramHeader] =
            object::pod::slice_from_all_bytes(&table).map_err(|()| "bad program headers")?;
        let mut dynamic = None;
        let mut loads = Vec::new();
        for ph in phdrs {
            let at = (ph.p_offset(endian).into(), ph.p_filesz(endian).into());
            match ph.p_type(endian) {
                elf::PT_INTERP => {
                    let raw = self.bytes(at.0, at.1.min(MAX_STRING)).await?;
                    out.interp = Some(c_string(&raw)).filter(|s| !s.is_empty());
                }
                elf::PT_DYNAMIC => dynamic = Some(at),
                elf::PT_LOAD => loads.push((ph.p_vaddr(endian).into(), at.0, at.1)),
                _ => {}
            }
        }
        let Some((offset, size)) = dynamic.filter(|_| self.dynamic) else {
            // Statically linked, or not asked for.
            return Ok(out);
        };
        let raw = self.bytes(offset, size.min(MAX_TABLE)).await?;
        let count = raw.len() / std::mem::size_of::<Elf::Dyn>();
        let (entries, _) = object::pod::slice_from_bytes::<Elf::Dyn>(&raw, count)
            .map_err(|()| "bad dynamic segment")?;
        let (mut strtab, mut needed, mut rpath, mut runpath) = (None, Vec::new(), None, None);
        for d in entries {
            let value = d.val(endian);
            match d.tag(endian) {
                elf::DT_NULL => break,
                elf::DT_STRTAB => strtab = Some(value),
                elf::DT_NEEDED => needed.push(value),
                elf::DT_RPATH => rpath = Some(value),
                elf::DT_RUNPATH => runpath = Some(value),
                _ => {}
            }
        }
        if needed.is_empty() && rpath.is_none() && runpath.is_none() {
            return Ok(out);
        }
        if needed.len() > MAX_STRINGS {
            return Err(format!("more than {MAX_STRINGS} DT_NEEDED entries"));
        }
        // DT_STRTAB is an address: find it in the file through the loaded segments.
        let strtab = strtab.ok_or("a dynamic segment without DT_STRTAB")?;
        let (vaddr, offset) = loads
            .iter()
            .find(|(vaddr, _, filesz)| strtab >= *vaddr && strtab - vaddr < *filesz)
            .map(|(vaddr, offset, _)| (*vaddr, *offset))
            .ok_or("DT_STRTAB is outside the loaded segments")?;
        let base = offset
            .checked_add(strtab - vaddr)
            .filter(|b| *b <= MAX_OFFSET)
            .ok_or("DT_STRTAB is outside the file")?;
        let mut offsets: Vec<u64> = needed.clone();
        offsets.extend(rpath.iter().chain(runpath.iter()).copied());
        let strings = self.strings(base, &offsets).await?;
        let text = |o: u64| strings.get(&o).cloned().unwrap_or_default();
        out.needed = needed.into_iter().map(text).collect();
        let split = |s: String| -> Vec<String> {
            s.split(':')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        };
        out.rpath = rpath.map(text).map(split).unwrap_or_default();
        out.runpath = runpath.map(text).map(split);
        Ok(out)
    }

    /// `len` bytes at `offset`: from the first page when they are in it, else read.
    async fn bytes(&self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let got = self.upto(offset, len).await?;
        if got.len() as u64 != len {
            return Err("the file is truncated".to_owned());
        }
        Ok(got)
    }

    /// Up to `len` bytes at `offset` (fewer at the end of the file): from the first page
    /// when they are in it, else read. A range no file can have is an error, not a read.
    async fn upto(&self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let end = offset
            .checked_add(len)
            .filter(|e| *e <= MAX_OFFSET)
            .ok_or_else(|| format!("offset {offset} is out of range"))?;
        if let (Ok(s), Ok(e)) = (usize::try_from(offset), usize::try_from(end)) {
            if let Some(b) = self.head.get(s..e) {
                return Ok(b.to_vec());
            }
        }
        self.fs
            .read(self.path, offset, len)
            .await
            .ok_or_else(|| format!("cannot read {len} bytes at offset {offset}"))
    }

    /// The NUL-terminated strings at `offsets` into the string table at file offset
    /// `base`. Nearby strings share one read.
    async fn strings(
        &self,
        base: u64,
        offsets: &[u64],
    ) -> Result<std::collections::BTreeMap<u64, String>, String> {
        let mut sorted = offsets.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = std::collections::BTreeMap::new();
        let mut i = 0;
        while i < sorted.len() {
            let start = sorted[i];
            let mut j = i;
            while j + 1 < sorted.len() && sorted[j + 1] - start < STRING_WINDOW {
                j += 1;
            }
            // Less than STRING_WINDOW + MAX_STRING: the offsets are sorted.
            let len = sorted[j] - start + MAX_STRING;
            let from = base
                .checked_add(start)
                .ok_or_else(|| format!("string offset {start} is out of range"))?;
            // The window may run past the end of the file: take what there is.
            let window = self.upto(from, len).await?;
            for &o in &sorted[i..=j] {
                let at = usize::try_from(o - start).unwrap_or(usize::MAX);
                let s = window
                    .get(at..)
                    .filter(|s| !s.is_empty())
                    .ok_or("a string is outside the file")?;
                if !s.contains(&0) {
                    return Err("an unterminated string".to_owned());
                }
                out.insert(o, c_string(s));
            }
            i = j + 1;
        }
        Ok(out)
    }
}

/// The text up to the first NUL.
fn c_string(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// Small ELF files built byte by byte (tests only; shared with the gateway tests).
#[cfg(test)]
#[path = "../tests/support/elf_fixture.rs"]
pub(crate) mod fixture;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::fixture::Spec;
    use super::*;
    use crate::imagefs::mem::MemFs;

    fn parse(bytes: &[u8]) -> Result<Option<Dynamic>, String> {
        let fs = MemFs::default().file("/f", 0o755, bytes);
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(read(&fs, "/f"))
    }

    #[test]
    fn reads_every_layout() {
        for is64 in [true, false] {
            for little in [true, false] {
                for pad in [0, 10_000] {
                    let spec = Spec {
                        is64,
                        little,
                        pad,
                        ..Spec::new(&["libc.so.6", "libfoo.so.1"])
                            .interp("/lib/ld-musl-x86_64.so.1")
                            .runpath("$ORIGIN/../lib:/opt/lib")
                            .rpath("/old")
                    };
                    let d = parse(&spec.build()).unwrap().unwrap();
                    let what = format!("is64={is64} little={little} pad={pad}");
                    assert_eq!((d.is64, d.little, d.machine), (is64, little, 62), "{what}");
                    assert_eq!(d.interp.as_deref(), Some("/lib/ld-musl-x86_64.so.1"));
                    assert_eq!(d.needed, ["libc.so.6", "libfoo.so.1"], "{what}");
                    assert_eq!(d.rpath, ["/old"], "{what}");
                    assert_eq!(
                        d.runpath,
                        Some(vec!["$ORIGIN/../lib".to_owned(), "/opt/lib".to_owned()])
                    );
                    let fs = MemFs::default().file("/f", 0o755, &spec.build());
                    let i = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap()
                        .block_on(read_interp(&fs, "/f"))
                        .unwrap()
                        .unwrap();
                    assert_eq!(i.interp, d.interp, "{what}");
                    assert!(i.needed.is_empty() && i.runpath.is_none(), "{what}");
                }
            }
        }
    }

    #[test]
    fn only_the_headers_are_read() {
        // A file with its dynamic segment past a big gap: the gap is never transferred.
        let spec = Spec {
            pad: 1 << 20,
            ..Spec::new(&["libc.so.6"]).interp("/lib64/ld-linux-x86-64.so.2")
        };
        let bytes = spec.build();
        let fs = Counting(
            MemFs::default().file("/f", 0o755, &bytes),
            Default::default(),
        );
        let d = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(read(&fs, "/f"))
            .unwrap()
            .unwrap();
        assert_eq!(d.needed, ["libc.so.6"]);
        let read = fs.1.get();
        assert!(read < 20_000, "read {read} of {} bytes", bytes.len());
    }

    struct Counting(MemFs, std::cell::Cell<u64>);

    impl ImageFs for Counting {
        async fn stat(&self, path: &str) -> Option<crate::imagefs::Entry> {
            self.0.stat(path).await
        }
        async fn read(&self, path: &str, offset: u64, len: u64) -> Option<Vec<u8>> {
            let got = self.0.read(path, offset, len).await?;
            self.1.set(self.1.get() + got.len() as u64);
            Some(got)
        }
        async fn read_dir(&self, dir: &str) -> Option<Vec<(String, crate::imagefs::Entry)>> {
            self.0.read_dir(dir).await
        }
    }

    #[test]
    fn non_elf_and_broken_files() {
        assert_eq!(parse(b"#!/bin/sh\necho hi\n"), Ok(None));
        assert_eq!(parse(b""), Ok(None));
        assert!(parse(b"\x7fELF\x09").is_err());
        // A program header count that would mean megabytes of headers (found by fuzzing:
        // the read was not bounded).
        let mut many = Spec::new(&[]).build();
        many[56..58].copy_from_slice(&60_000u16.to_le_bytes());
        assert_eq!(parse(&many), Err("too many program headers".to_owned()));
        let mut cut = Spec::new(&["libc.so.6"]).build();
        cut.truncate(100);
        assert!(parse(&cut).is_err());
        // Every prefix of a valid file is an error or a result, never a panic.
        let full = Spec::new(&["libc.so.6"]).interp("/ld.so").build();
        for n in 0..full.len() {
            let _ = parse(&full[..n]);
        }
    }

    /// The first `PT_LOAD` of a fixture file (64-bit little-endian): its `p_offset`,
    /// `p_vaddr` and `p_filesz` fields.
    fn patch_load(bytes: &mut [u8], offset: u64, vaddr: u64, filesz: u64) {
        let at = 64;
        bytes[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
        bytes[at + 16..at + 24].copy_from_slice(&vaddr.to_le_bytes());
        bytes[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
    }

    #[test]
    fn a_segment_offset_past_the_address_space_is_an_error() {
        // DT_STRTAB inside a PT_LOAD whose file offset is near 2^64: translating the
        // address overflowed (found by fuzzing: a panic in debug builds, a read from a
        // wrapped-around offset in release builds).
        let mut bytes = Spec::new(&["libc.so.6"]).build();
        patch_load(&mut bytes, u64::MAX - 8, 0x40_0000, u64::MAX >> 1);
        assert_eq!(
            parse(&bytes),
            Err("DT_STRTAB is outside the file".to_owned())
        );
    }

    /// Program header `i` of a fixture file (64-bit little-endian): where its `p_offset`
    /// field is, and its value.
    fn phdr_offset(bytes: &[u8], i: usize) -> (usize, u64) {
        let at = 64 + i * 56 + 8;
        let value = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        (at, value)
    }

    #[test]
    fn header_offsets_no_file_can_have_are_errors() {
        // e_phoff, PT_INTERP's and PT_DYNAMIC's p_offset: near 2^64 (the end overflows)
        // and past 2^63 (no off_t reaches it). Never a read at a wrapped offset.
        let good = Spec::new(&["libc.so.6"]).interp("/ld.so").build();
        let fields = [32, phdr_offset(&good, 1).0, phdr_offset(&good, 2).0];
        for at in fields {
            for value in [u64::MAX - 4, 1 << 63] {
                let mut bytes = good.clone();
                bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
                let got = parse(&bytes);
                assert!(
                    got.as_ref().is_err_and(|e| e.ends_with("is out of range")),
                    "field at {at} = {value:#x}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn string_offsets_past_the_file_are_errors() {
        let good = Spec::new(&["libc.so.6"]).build();
        // The first dynamic entry is the DT_NEEDED; its value is a string table offset.
        let value_at = usize::try_from(phdr_offset(&good, 1).1).unwrap() + 8;
        for (offset, want) in [
            (
                u64::MAX,
                "string offset 18446744073709551615 is out of range",
            ),
            (MAX_OFFSET - 10, "is out of range"),
            (1 << 40, "a string is outside the file"),
        ] {
            let mut bytes = good.clone();
            bytes[value_at..value_at + 8].copy_from_slice(&offset.to_le_bytes());
            let got = parse(&bytes);
            assert!(
                got.as_ref().is_err_and(|e| e.ends_with(want)),
                "DT_NEEDED = {offset:#x}: {got:?}"
            );
        }
    }

    #[test]
    fn too_many_needed_libraries_are_an_error() {
        let names: Vec<String> = (0..=MAX_STRINGS).map(|i| format!("l{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            parse(&Spec::new(&names).build()),
            Err(format!("more than {MAX_STRINGS} DT_NEEDED entries"))
        );
        let fewer = Spec::new(&names[..MAX_STRINGS]).build();
        assert_eq!(parse(&fewer).unwrap().unwrap().needed.len(), MAX_STRINGS);
    }

    #[test]
    fn multiarch_tuples() {
        let d = parse(&Spec::new(&[]).build()).unwrap().unwrap();
        assert_eq!(d.multiarch(), Some("x86_64-linux-gnu"));
        let arm = Spec {
            machine: 183,
            ..Spec::new(&[])
        };
        let a = parse(&arm.build()).unwrap().unwrap();
        assert_eq!(a.multiarch(), Some("aarch64-linux-gnu"));
        assert!(!d.accepts(&a));
        assert!(d.accepts(&d));
    }

    /// The host's own binaries (Debian here): real files from a real toolchain.
    #[test]
    fn reads_host_binaries() {
        let Ok(bytes) = std::fs::read("/usr/bin/ls") else {
            return;
        };
        let d = parse(&bytes).unwrap().expect("ls is ELF");
        assert!(
            d.interp.as_deref().is_some_and(|i| i.contains("ld-")),
            "{d:?}"
        );
        assert!(d.needed.iter().any(|n| n.starts_with("libc.so")), "{d:?}");
    }
}
