//! `INCLUDE <path>`: splices another file's instructions in place, between parsing and
//! lowering, so every later layer sees one ordinary instruction list.
//!
//! Files keep their own spans by living in one shared offset space: the root file starts
//! at 0 and each included file is parsed on its own, then its spans are shifted past the end
//! of the previous file ([`Sources`]). A span therefore names its file as well as its bytes,
//! so `Error::at(span, …)` needs no new argument anywhere, and the edges
//! (`gateway::failure_status`, `cli`, op source locations) ask [`Sources::locate`] for the
//! file and local span.
//!
//! Expansion is pure: files come from a [`Loader`] (BuildKit's `dockerfile` local in gateway
//! mode, the disk for the CLI, a map in tests).
//!
//! `INCLUDE @name` names a file of the frontend image's stage library instead
//! (`gateway::library`); such files are `@<path in the library>` here and in [`Sources`],
//! and the relative includes inside them stay in the library.

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_proto::llb::SourceFile;

use crate::convert::paths;
use crate::error::{Error, Result};
use crate::syntax::{self, Args, Dockerfile, Instruction, Span};

/// How deep includes may nest: far beyond any real use, and a bound on hostile input.
pub const MAX_DEPTH: usize = 32;

/// Reads included files by their path relative to the root file's directory.
pub trait Loader {
    /// The text of `path` (already cleaned, relative, never `..`), or why it cannot be read.
    /// A path starting with `@` is a file of the stage library (`gateway::library`).
    fn load(&self, path: &str) -> Result<String, String>;
}

/// A loader over a fixed map: tests, and the gateway's prefetched files.
impl Loader for BTreeMap<String, String> {
    fn load(&self, path: &str) -> Result<String, String> {
        self.get(path)
            .cloned()
            .ok_or_else(|| "no such file or directory".to_owned())
    }
}

/// A loader for files on disk under a directory (the CLI: the Dockerfile's directory).
#[derive(Clone, Debug)]
pub struct DirLoader(pub std::path::PathBuf);

impl Loader for DirLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        std::fs::read(self.0.join(path))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| e.to_string())
    }
}

/// The files a build already read, by path: expanding the same Dockerfile again (lint
/// does, beside the build) reads nothing twice.
impl Loader for Sources {
    fn load(&self, path: &str) -> Result<String, String> {
        self.files()
            .skip(1)
            .find(|f| f.filename == path)
            .map(|f| String::from_utf8_lossy(&f.data).into_owned())
            .ok_or_else(|| "no such file or directory".to_owned())
    }
}

/// A loader for a Dockerfile that includes nothing: every INCLUDE fails to load.
#[derive(Clone, Copy, Debug)]
pub struct NoFiles;

impl Loader for NoFiles {
    fn load(&self, _path: &str) -> Result<String, String> {
        Err("no such file or directory".to_owned())
    }
}

/// Every file of a build (the root first) and where each one's spans start. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Sources {
    files: Arc<Vec<(u32, Arc<SourceFile>)>>,
    /// For each file (same order), the `INCLUDE` instruction that brought it in; `None`
    /// for the root. Lint reads it to tell which stages an `INCLUDE` contributed.
    sites: Arc<Vec<Option<Span>>>,
}

impl Sources {
    /// Just the root file, its spans starting at 0.
    pub fn single(file: Arc<SourceFile>) -> Sources {
        Sources {
            files: Arc::new(vec![(0, file)]),
            sites: Arc::new(vec![None]),
        }
    }

    /// The `INCLUDE` instruction that brought in file `index` (`None` for the root or an
    /// index out of range), so a file's stages can be traced back to the line that added them.
    pub fn include_site(&self, index: usize) -> Option<Span> {
        self.sites.get(index).copied().flatten()
    }

    /// The root Dockerfile.
    pub fn root(&self) -> &Arc<SourceFile> {
        &self.files[0].1
    }

    /// The position (root = 0, in inclusion order) of the file a span points into: the
    /// `sourceIndex` of BuildKit locations that list [`Sources::files`].
    pub fn index_of(&self, span: Span) -> usize {
        self.files
            .partition_point(|(base, _)| *base <= span.start)
            .saturating_sub(1)
    }

    /// The file a span points into and the span relative to that file.
    pub fn locate(&self, span: Span) -> (&Arc<SourceFile>, Span) {
        let i = self.index_of(span);
        let (base, file) = &self.files[i];
        (
            file,
            Span {
                start: span.start - base,
                end: span.end.saturating_sub(*base).max(span.start - base),
            },
        )
    }

    /// The file and 1-based line a span starts on: `stages/base.Dockerfile`, 3.
    pub fn line_of(&self, span: Span) -> (&Arc<SourceFile>, u32) {
        let (file, local) = self.locate(span);
        let text = String::from_utf8_lossy(&file.data);
        (file, syntax::LineIndex::new(&text).line(local.start))
    }

    /// The file a span points into and the 1-based first and last line it covers there.
    pub fn lines_of(&self, span: Span) -> (&Arc<SourceFile>, (u32, u32)) {
        let (file, local) = self.locate(span);
        let text = String::from_utf8_lossy(&file.data);
        let index = syntax::LineIndex::new(&text);
        let start = index.line(local.start);
        let end = index.line(local.end.saturating_sub(1).max(local.start));
        (file, (start, end))
    }

    /// Every file, root first.
    pub fn files(&self) -> impl Iterator<Item = &Arc<SourceFile>> {
        self.files.iter().map(|(_, f)| f)
    }

    fn push(&mut self, file: SourceFile, site: Span) -> Result<u32, String> {
        let (base, last) = self
            .files
            .last()
            .map(|(b, f)| (*b, f.data.len()))
            .unwrap_or((0, 0));
        let next = u32::try_from(last)
            .ok()
            .and_then(|l| base.checked_add(l)?.checked_add(1))
            .ok_or_else(|| "the included files are too large".to_owned())?;
        Arc::make_mut(&mut self.files).push((next, Arc::new(file)));
        Arc::make_mut(&mut self.sites).push(Some(site));
        Ok(next)
    }
}

/// Reads a file from `text`, expanding every `INCLUDE` through `loader`.
///
/// Always returns the sources read so far, so an error inside an included file can be shown
/// with that file's lines. The result has the root's directives and escape character and
/// the instructions and diagnostics of every file, in inclusion order.
pub fn expand(text: &str, filename: &str, loader: &dyn Loader) -> (Sources, Result<Dockerfile>) {
    let mut sources = Sources::single(Arc::new(dockerfile_source(filename, text)));
    let mut root = syntax::parse(text);
    let mut out = Vec::new();
    let mut diagnostics = std::mem::take(&mut root.diagnostics);
    let mut chain = vec![filename.to_owned()];
    let mut ex = Expander {
        loader,
        sources: &mut sources,
        diagnostics: &mut diagnostics,
        escape: root.escape,
        unreadable: None,
    };
    let instructions = std::mem::take(&mut root.instructions);
    let spliced = ex.splice(instructions, &mut chain, &mut out);
    // An unreadable file comes first in file order when there is one (see `unreadable`).
    let result = match ex.unreadable.take() {
        Some(e) => Err(e),
        None => spliced,
    };
    root.instructions = out;
    root.diagnostics = diagnostics;
    (sources, result.map(|()| root))
}

fn dockerfile_source(filename: &str, text: &str) -> SourceFile {
    SourceFile {
        filename: filename.to_owned(),
        data: text.as_bytes().to_vec(),
        language: "Dockerfile".to_owned(),
    }
}

struct Expander<'a> {
    loader: &'a dyn Loader,
    sources: &'a mut Sources,
    diagnostics: &'a mut Vec<syntax::Diagnostic>,
    escape: char,
    /// The first file that could not be read. Expansion goes on past it, so one pass asks
    /// the loader for every file of this nesting level (the gateway then fetches them all
    /// in one transfer); the build still fails with this error.
    unreadable: Option<Error>,
}

impl Expander<'_> {
    fn splice(
        &mut self,
        instructions: Vec<Instruction>,
        chain: &mut Vec<String>,
        out: &mut Vec<Instruction>,
    ) -> Result<()> {
        for ins in instructions {
            if ins.keyword != "include" {
                out.push(ins);
                continue;
            }
            let current = chain.last().cloned().unwrap_or_default();
            let path = include_path(&ins, &current)?;
            if chain.contains(&path) {
                let mut cycle = chain.clone();
                cycle.push(path);
                return Err(Error::at(
                    ins.span,
                    format!("INCLUDE cycle: {}", cycle.join(" -> ")),
                ));
            }
            if chain.len() > MAX_DEPTH {
                return Err(Error::at(
                    ins.span,
                    format!("INCLUDE nests deeper than {MAX_DEPTH} files"),
                ));
            }
            let text = match self.loader.load(&path) {
                Ok(text) => text,
                Err(e) => {
                    let e = Error::at(
                        ins.span,
                        format!("INCLUDE {path}: cannot read the file: {e}"),
                    );
                    self.unreadable.get_or_insert(e);
                    continue;
                }
            };
            let base = self
                .sources
                .push(dockerfile_source(&path, &text), ins.span)
                .map_err(|e| Error::at(ins.span, e))?;
            let mut file = syntax::parse(&text);
            shift_file(&mut file, base);
            if file.escape != self.escape {
                let span = file
                    .directives
                    .iter()
                    .find(|d| d.name == "escape")
                    .map(|d| d.span)
                    .unwrap_or(ins.span);
                return Err(Error::at(
                    span,
                    format!(
                        "{path} uses escape character {:?} but the including Dockerfile uses {:?}",
                        file.escape, self.escape
                    ),
                ));
            }
            self.diagnostics.append(&mut file.diagnostics);
            chain.push(path);
            self.splice(file.instructions, chain, out)?;
            chain.pop();
        }
        Ok(())
    }
}

/// The included file's path relative to the root's directory: the argument joined to the
/// including file's directory, cleaned; it may not leave the directory the files come from.
fn include_path(ins: &Instruction, current: &str) -> Result<String> {
    if let Some(flag) = ins.flags.first() {
        return Err(Error::at(
            flag.span,
            format!("INCLUDE takes no flags, got --{}", flag.name),
        ));
    }
    let word = match &ins.args {
        Args::Words(w) if w.len() == 1 => &w[0],
        args => {
            let words = match args {
                Args::Words(w) => w.as_slice(),
                _ => &[],
            };
            return Err(Error::at(
                ins.span,
                format!(
                    "INCLUDE requires exactly one argument: the path of the file to include{}",
                    syntax::trailing_comment_hint(words)
                ),
            ));
        }
    };
    let text = word.text.trim_matches(|c| c == '"' || c == '\'');
    if let Some(name) = text.strip_prefix('@') {
        return library_path(name, "", text, word.span);
    }
    if let Some(file) = current.strip_prefix('@') {
        let dir = file.rsplit_once('/').map_or("", |(dir, _)| dir);
        return library_path(text, dir, text, word.span);
    }
    let dir = match current.rsplit_once('/') {
        Some((dir, _)) => dir,
        None => "",
    };
    let joined = if text.starts_with('/') {
        paths::clean(text)
    } else {
        paths::clean(&paths::join(&format!("/{dir}"), text))
    };
    let rel = joined.trim_start_matches('/').to_owned();
    if rel.is_empty() || rel == "." || rel.starts_with("../") || rel == ".." {
        return Err(Error::at(
            word.span,
            format!("INCLUDE {text}: the path must name a file beside or below the Dockerfile"),
        ));
    }
    Ok(rel)
}

/// A file of the stage library: `name` relative to the library directory `dir` (`""` for
/// its top), as `@<path>`. It may not leave the library, and is never absolute.
fn library_path(name: &str, dir: &str, written: &str, span: Span) -> Result<String> {
    let joined = if dir.is_empty() {
        paths::clean(name)
    } else {
        paths::clean(&format!("{dir}/{name}"))
    };
    if name.is_empty()
        || name.starts_with('/')
        || joined == "."
        || joined == ".."
        || joined.starts_with("../")
    {
        return Err(Error::at(
            span,
            format!("INCLUDE {written}: a stage library file is named by `@name` or by a path relative to it, inside the library"),
        ));
    }
    Ok(format!("@{joined}"))
}

fn shift_file(file: &mut Dockerfile, by: u32) {
    for d in &mut file.directives {
        shift(&mut d.span, by);
    }
    for d in &mut file.diagnostics {
        shift(&mut d.span, by);
    }
    for ins in &mut file.instructions {
        shift_instruction(ins, by);
    }
}

fn shift(span: &mut Span, by: u32) {
    span.start = span.start.saturating_add(by);
    span.end = span.end.saturating_add(by);
}

fn shift_instruction(ins: &mut Instruction, by: u32) {
    shift(&mut ins.keyword_span, by);
    shift(&mut ins.span, by);
    for f in &mut ins.flags {
        shift(&mut f.span, by);
    }
    for h in &mut ins.heredocs {
        shift(&mut h.span, by);
    }
    shift_args(&mut ins.args, by);
}

fn shift_args(args: &mut Args, by: u32) {
    match args {
        Args::Json(words) | Args::Words(words) => {
            for w in words {
                shift(&mut w.span, by);
            }
        }
        Args::Shell(w) => shift(&mut w.span, by),
        Args::KeyValues(kvs) => {
            for kv in kvs {
                shift(&mut kv.span, by);
                shift(&mut kv.key.span, by);
                if let Some(v) = &mut kv.value {
                    shift(&mut v.span, by);
                }
            }
        }
        Args::Healthcheck { kind, cmd } => {
            if let Some(k) = kind {
                shift(&mut k.span, by);
            }
            if let Some(c) = cmd {
                shift_args(c, by);
            }
        }
        Args::OnBuild(inner) => shift_instruction(inner, by),
        Args::Empty => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn keywords(f: &Dockerfile) -> Vec<String> {
        f.instructions.iter().map(|i| i.original.clone()).collect()
    }

    fn err_at(sources: &Sources, e: &Error) -> String {
        let span = e.span().unwrap_or_default();
        let (file, line) = sources.line_of(span);
        format!("{}:{line}: {e}", file.filename)
    }

    #[test]
    fn nested_includes_splice_in_place() {
        let map = files(&[
            (
                "lib/a.Dockerfile",
                "RUN a1\nINCLUDE ../b.Dockerfile\nRUN a2\n",
            ),
            ("b.Dockerfile", "RUN b\n"),
        ]);
        let (sources, r) = expand(
            "FROM x\nINCLUDE lib/a.Dockerfile\nRUN root\n",
            "Dockerfile",
            &map,
        );
        let f = r.unwrap();
        assert_eq!(
            keywords(&f),
            ["FROM x", "RUN a1", "RUN b", "RUN a2", "RUN root"]
        );
        // Each instruction still knows its own file and line.
        let b = &f.instructions[2];
        let (file, line) = sources.line_of(b.span);
        assert_eq!((file.filename.as_str(), line), ("b.Dockerfile", 1));
        let (file, local) = sources.locate(f.instructions[3].keyword_span);
        assert_eq!(file.filename, "lib/a.Dockerfile");
        assert_eq!(&file.data[local.start as usize..local.end as usize], b"RUN");
        assert_eq!(sources.files().count(), 3);
        // Each included file remembers the INCLUDE line that brought it in.
        let site = |i| {
            let span = sources.include_site(i).unwrap();
            let (file, line) = sources.line_of(span);
            (file.filename.clone(), line, sources.index_of(span))
        };
        assert_eq!(site(1), ("Dockerfile".to_owned(), 2, 0));
        assert_eq!(site(2), ("lib/a.Dockerfile".to_owned(), 2, 1));
        assert_eq!(sources.include_site(0), None);
        assert_eq!(sources.index_of(b.span), 2);
    }

    #[test]
    fn a_cycle_lists_the_chain() {
        let map = files(&[("a", "INCLUDE b\n"), ("b", "RUN x\nINCLUDE a\n")]);
        let (sources, r) = expand("FROM x\nINCLUDE a\n", "Dockerfile", &map);
        let e = r.unwrap_err();
        assert_eq!(
            err_at(&sources, &e),
            "b:2: INCLUDE cycle: Dockerfile -> a -> b -> a"
        );
    }

    #[test]
    fn a_missing_file_names_the_include_line() {
        let (sources, r) = expand("FROM x\n\nINCLUDE nope.df\n", "Dockerfile", &NoFiles);
        let e = r.unwrap_err();
        assert_eq!(
            err_at(&sources, &e),
            "Dockerfile:3: INCLUDE nope.df: cannot read the file: no such file or directory"
        );
    }

    #[test]
    fn errors_inside_an_included_file_name_that_file() {
        let map = files(&[("inc/steps", "RUN ok\n\nCOPY only-one\n")]);
        let (sources, r) = expand("FROM x\nINCLUDE inc/steps\n", "Dockerfile", &map);
        let f = r.unwrap();
        let e = crate::instructions::lower(&f).unwrap_err();
        assert_eq!(
            err_at(&sources, &e),
            "inc/steps:3: COPY requires at least two arguments, but only one was provided. Destination could not be determined"
        );
    }

    #[test]
    fn every_file_of_a_level_is_asked_for_and_the_first_missing_one_reported() {
        struct Recorder(std::cell::RefCell<Vec<String>>);
        impl Loader for Recorder {
            fn load(&self, path: &str) -> Result<String, String> {
                self.0.borrow_mut().push(path.to_owned());
                Err("not here".to_owned())
            }
        }
        let rec = Recorder(Default::default());
        let (sources, r) = expand("FROM x\nINCLUDE a\nINCLUDE b\n", "Dockerfile", &rec);
        assert_eq!(*rec.0.borrow(), ["a", "b"]);
        let e = r.unwrap_err();
        assert_eq!(
            err_at(&sources, &e),
            "Dockerfile:2: INCLUDE a: cannot read the file: not here"
        );
    }

    #[test]
    fn paths_may_not_leave_the_directory_and_take_one_argument() {
        for bad in ["INCLUDE ../x", "INCLUDE a b", "INCLUDE", "INCLUDE --x=1 a"] {
            let (_, r) = expand(&format!("FROM x\n{bad}\n"), "Dockerfile", &NoFiles);
            assert!(r.is_err(), "{bad}");
        }
    }

    #[test]
    fn library_includes_name_library_files_and_stay_inside() {
        let map = files(&[
            ("@go-service", "INCLUDE common/base.Dockerfile\nRUN go\n"),
            (
                "@common/base.Dockerfile",
                "RUN base\nINCLUDE ../tools\nINCLUDE @tools\n",
            ),
            ("@tools", "RUN tools\n"),
        ]);
        let (sources, r) = expand("FROM x\nINCLUDE @go-service\n", "Dockerfile", &map);
        let f = r.unwrap();
        assert_eq!(
            keywords(&f),
            ["FROM x", "RUN base", "RUN tools", "RUN tools", "RUN go"]
        );
        let names: Vec<&str> = sources.files().map(|f| f.filename.as_str()).collect();
        assert_eq!(
            names,
            [
                "Dockerfile",
                "@go-service",
                "@common/base.Dockerfile",
                "@tools",
                "@tools"
            ]
        );
        // Errors inside a library file name it and its line.
        let map = files(&[("@svc", "RUN ok\nCOPY one\n")]);
        let (sources, r) = expand("FROM x\nINCLUDE @svc\n", "Dockerfile", &map);
        let e = crate::instructions::lower(&r.unwrap()).unwrap_err();
        assert!(err_at(&sources, &e).starts_with("@svc:2: COPY requires"));
    }

    #[test]
    fn library_names_may_not_leave_the_library() {
        for (root, lib) in [
            ("INCLUDE @../x", ""),
            ("INCLUDE @", ""),
            ("INCLUDE @/etc/passwd", ""),
            ("INCLUDE @a/../../x", ""),
            ("INCLUDE @lib", "INCLUDE ../x\n"),
            ("INCLUDE @lib", "INCLUDE /etc/passwd\n"),
        ] {
            let map = files(&[("@lib", lib)]);
            let (sources, r) = expand(&format!("FROM x\n{root}\n"), "Dockerfile", &map);
            let e = r.unwrap_err();
            assert!(
                e.to_string().contains("inside the library"),
                "{root} / {lib}: {}",
                err_at(&sources, &e)
            );
        }
    }

    #[test]
    fn a_file_without_includes_is_unchanged() {
        let text = "ARG A=1\nFROM x\nRUN y\n";
        let (sources, r) = expand(text, "Dockerfile", &NoFiles);
        assert_eq!(r.unwrap(), syntax::parse(text));
        assert_eq!(sources.files().count(), 1);
    }
}
