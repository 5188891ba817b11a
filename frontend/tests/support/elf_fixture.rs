//! Small ELF files built byte by byte, for tests: the library's own (`elf`, `deps`,
//! `startcheck`, as `crate::elf::fixture`) and the gateway tests that serve them from a
//! fake BuildKit (`#[path]`-included). Independent of the reader in `frontend/src/elf.rs`.
//! Test code only: it is not part of the library.
#![allow(dead_code)] // each test crate uses part of it

/// The address the test files are loaded at.
const BASE: u64 = 0x40_0000;

/// What a test file declares.
#[derive(Clone, Debug)]
pub struct Spec {
    /// ELFCLASS64 (else 32-bit).
    pub is64: bool,
    /// Little-endian (else big-endian).
    pub little: bool,
    /// `e_machine` (62: x86-64).
    pub machine: u16,
    /// `PT_INTERP`.
    pub interp: Option<String>,
    /// `DT_NEEDED`.
    pub needed: Vec<String>,
    /// `DT_RPATH`.
    pub rpath: Option<String>,
    /// `DT_RUNPATH`.
    pub runpath: Option<String>,
    /// Bytes of padding before the string table and dynamic segment, to put them
    /// beyond the first page.
    pub pad: usize,
}

impl Spec {
    /// A 64-bit little-endian x86-64 file needing `needed`.
    pub fn new(needed: &[&str]) -> Spec {
        Spec {
            is64: true,
            little: true,
            machine: 62,
            interp: None,
            needed: needed.iter().map(|s| (*s).to_owned()).collect(),
            rpath: None,
            runpath: None,
            pad: 0,
        }
    }

    /// With a program interpreter (an executable).
    pub fn interp(mut self, path: &str) -> Spec {
        self.interp = Some(path.to_owned());
        self
    }

    /// With `DT_RUNPATH`.
    pub fn runpath(mut self, p: &str) -> Spec {
        self.runpath = Some(p.to_owned());
        self
    }

    /// With `DT_RPATH`.
    pub fn rpath(mut self, p: &str) -> Spec {
        self.rpath = Some(p.to_owned());
        self
    }

    /// The file's bytes.
    pub fn build(&self) -> Vec<u8> {
        let (ehsize, phentsize, dynsize) = if self.is64 {
            (64usize, 56usize, 16usize)
        } else {
            (52, 32, 8)
        };
        let phnum = 2 + usize::from(self.interp.is_some());
        let phoff = ehsize;
        let interp_off = phoff + phnum * phentsize;
        let interp = self.interp.clone().unwrap_or_default();
        let mut strtab = vec![0u8];
        let mut add = |s: &str| {
            let at = strtab.len() as u64;
            strtab.extend_from_slice(s.as_bytes());
            strtab.push(0);
            at
        };
        let mut dyns: Vec<(i64, u64)> = Vec::new();
        for n in &self.needed {
            dyns.push((1, add(n)));
        }
        if let Some(r) = &self.rpath {
            dyns.push((15, add(r)));
        }
        if let Some(r) = &self.runpath {
            dyns.push((29, add(r)));
        }
        let strtab_off = interp_off + interp.len() + 1 + self.pad;
        let dyn_off = (strtab_off + strtab.len()).next_multiple_of(8);
        dyns.push((5, BASE + strtab_off as u64));
        dyns.push((10, strtab.len() as u64));
        dyns.push((0, 0));
        let total = dyn_off + dyns.len() * dynsize;
        let mut w = Writer {
            v: vec![0; total],
            little: self.little,
        };
        w.v[..4].copy_from_slice(b"\x7fELF");
        w.v[4] = if self.is64 { 2 } else { 1 };
        w.v[5] = if self.little { 1 } else { 2 };
        w.v[6] = 1;
        w.put(16, 2, 3);
        w.put(18, 2, u64::from(self.machine));
        w.put(20, 4, 1);
        let mut phdrs = vec![(1u32, 0u64, BASE, total as u64)];
        if self.interp.is_some() {
            phdrs.push((
                3,
                interp_off as u64,
                BASE + interp_off as u64,
                interp.len() as u64 + 1,
            ));
        }
        phdrs.push((
            2,
            dyn_off as u64,
            BASE + dyn_off as u64,
            (dyns.len() * dynsize) as u64,
        ));
        if self.is64 {
            w.put(32, 8, phoff as u64);
            w.put(52, 2, ehsize as u64);
            w.put(54, 2, phentsize as u64);
            w.put(56, 2, phnum as u64);
        } else {
            w.put(28, 4, phoff as u64);
            w.put(40, 2, ehsize as u64);
            w.put(42, 2, phentsize as u64);
            w.put(44, 2, phnum as u64);
        }
        for (i, (kind, offset, vaddr, size)) in phdrs.into_iter().enumerate() {
            let at = phoff + i * phentsize;
            w.put(at, 4, u64::from(kind));
            if self.is64 {
                w.put(at + 8, 8, offset);
                w.put(at + 16, 8, vaddr);
                w.put(at + 32, 8, size);
                w.put(at + 40, 8, size);
            } else {
                w.put(at + 4, 4, offset);
                w.put(at + 8, 4, vaddr);
                w.put(at + 16, 4, size);
                w.put(at + 20, 4, size);
            }
        }
        w.v[interp_off..interp_off + interp.len()].copy_from_slice(interp.as_bytes());
        w.v[strtab_off..strtab_off + strtab.len()].copy_from_slice(&strtab);
        for (i, (tag, val)) in dyns.into_iter().enumerate() {
            let at = dyn_off + i * dynsize;
            let half = dynsize / 2;
            w.put(at, half, tag as u64);
            w.put(at + half, half, val);
        }
        w.v
    }
}

struct Writer {
    v: Vec<u8>,
    little: bool,
}

impl Writer {
    fn put(&mut self, at: usize, size: usize, value: u64) {
        let bytes = value.to_le_bytes();
        for (i, &b) in bytes.iter().enumerate().take(size) {
            let pos = if self.little {
                at + i
            } else {
                at + size - 1 - i
            };
            self.v[pos] = b;
        }
    }
}
