//! Every example in README.md and docs/*.md runs, as a reader would copy it.
//!
//! The fenced code blocks are read from the Markdown. A block's info string is its language
//! and then attributes (`key=value`, no spaces):
//!
//! - `dockerfile`: converted offline, as `strata llb` converts it (base images are stand-ins,
//!   so image names need no mapping to the test bed's), and must succeed; then linted with
//!   `strata lint`, whose findings must be exactly the rules of `warns=A,B` (none without
//!   it). With `error`, the conversion must fail instead, and the message must appear in the
//!   block right after (the output the reader is shown).
//! - `toml`: a policy, parsed by `strata policy check` (exit status 2 means it does not parse).
//! - `sh`: every command is a `strata …` command, run through the binary. Lines starting
//!   with `$ ` are commands and the lines after one are its stdout, compared exactly;
//!   without `$ `, each line (joined across `\` continuations, `#` comments dropped) is a
//!   command whose output is not shown. `exit=N`: every command exits with N (default 0).
//! - `text` (output, grammars) and `markdown` are not examples.
//!
//! Attributes for running: `files=DIR` (repository-relative) is copied into the directory
//! the example runs in (its Dockerfile, included files); `build-arg=K=V` (repeatable) and
//! `target=T` are given to the conversion and lint; `lib=DIR` is the stage library.
//!
//! A block that cannot run offline says why with `no-run=<reason>` (a `docker buildx` command
//! needs a daemon, a synopsis is not a file, a CI workflow is not a command). Any other
//! block runs, so a new example is tested by default and an example that breaks fails here.
//! A block with no language, or a language not listed above, fails the test: label it.

#![allow(clippy::unwrap_used)] // test helpers, not library code

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One fenced block of a Markdown file.
#[derive(Debug)]
struct Block {
    /// `docs/format.md:42`, for messages.
    at: String,
    lang: String,
    /// `key=value` attributes (a bare word is a key with an empty value), in order.
    attrs: Vec<(String, String)>,
    body: String,
    /// The body of the block right after this one, if nothing but blank lines and prose
    /// separate them (the output shown for an error example).
    next: Option<String>,
}

impl Block {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn attrs_named(&self, key: &str) -> Vec<&str> {
        self.attrs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

const KNOWN_ATTRS: &[&str] = &[
    "no-run",
    "error",
    "warns",
    "files",
    "build-arg",
    "target",
    "lib",
    "exit",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// README.md and every Markdown file of docs/.
fn markdown_files() -> Vec<PathBuf> {
    let root = repo();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The fenced blocks of `text` (fences of three backticks, possibly indented).
fn blocks(name: &str, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<Block> = Vec::new();
    let mut i = 0;
    let mut last_end: Option<usize> = None;
    while i < lines.len() {
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let start = i;
        let mut words = info.split_whitespace();
        let lang = words.next().unwrap_or_default().to_owned();
        let attrs = words
            .map(|w| match w.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (w.to_owned(), String::new()),
            })
            .collect();
        let indent = lines[i].len() - lines[i].trim_start().len();
        let mut body = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim() != "```" {
            body.push_str(lines[i].get(indent..).unwrap_or(lines[i].trim_start()));
            body.push('\n');
            i += 1;
        }
        assert!(i < lines.len(), "{name}:{}: unclosed code block", start + 1);
        // The previous block's `next`: this one, when only prose lies between them.
        if let (Some(end), Some(prev)) = (last_end, out.last_mut()) {
            if lines[end + 1..start]
                .iter()
                .all(|l| !l.trim_start().starts_with('#'))
            {
                prev.next = Some(body.clone());
            }
        }
        out.push(Block {
            at: format!("{name}:{}", start + 1),
            lang,
            attrs,
            body,
            next: None,
        });
        last_end = Some(i);
        i += 1;
    }
    out
}

/// A fresh directory holding the block's `files=`.
struct Scratch(PathBuf);

impl Scratch {
    fn new(block: &Block, n: usize) -> Scratch {
        let dir = std::env::temp_dir().join(format!("strata-docs-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(files) = block.attr("files") {
            copy_dir(&repo().join(files), &dir);
        }
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn strata(dir: &Path, args: &[String]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `--build-arg`, `--target` and `--lib` from the block's attributes.
fn build_flags(block: &Block) -> Vec<String> {
    let mut flags = Vec::new();
    for kv in block.attrs_named("build-arg") {
        flags.extend(["--build-arg".to_owned(), kv.to_owned()]);
    }
    if let Some(t) = block.attr("target") {
        flags.extend(["--target".to_owned(), t.to_owned()]);
    }
    if let Some(lib) = block.attr("lib") {
        flags.extend(["--lib".to_owned(), repo().join(lib).display().to_string()]);
    }
    flags
}

fn run_dockerfile(block: &Block, n: usize) -> Result<(), String> {
    let dir = Scratch::new(block, n);
    std::fs::write(dir.0.join("Dockerfile"), &block.body).unwrap();
    let mut args = vec!["llb".to_owned()];
    args.extend(build_flags(block));
    args.push("Dockerfile".to_owned());
    let r = strata(&dir.0, &args);
    if block.attr("error").is_some() {
        if r.code == 0 {
            return Err("converted, but is shown as an error example".to_owned());
        }
        let message = r.stderr.trim().trim_start_matches("strata: ");
        let shown = block.next.as_deref().unwrap_or_default();
        if !shown.contains(message) {
            return Err(format!(
                "fails with {message:?}, which the block after it does not show:\n{shown}"
            ));
        }
        return Ok(());
    }
    if r.code != 0 {
        return Err(format!("does not convert: {}", r.stderr.trim()));
    }
    let mut args = vec!["lint".to_owned(), "--format=json".to_owned()];
    args.extend(build_flags(block));
    args.push("Dockerfile".to_owned());
    let r = strata(&dir.0, &args);
    let found: serde_json::Value = serde_json::from_str(&r.stdout)
        .map_err(|e| format!("strata lint: {e}: {}{}", r.stdout, r.stderr))?;
    let found: BTreeSet<String> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| match f["rule"].as_str() {
            Some(rule) => rule.to_owned(),
            None => format!("error: {}", f["message"]),
        })
        .collect();
    let expected: BTreeSet<String> = block
        .attr("warns")
        .map(|w| w.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    if found != expected {
        return Err(format!(
            "lint finds {found:?}, the block announces {expected:?} (`warns=`)"
        ));
    }
    Ok(())
}

fn run_toml(block: &Block, n: usize) -> Result<(), String> {
    let dir = Scratch::new(block, n);
    std::fs::write(dir.0.join("policy.toml"), &block.body).unwrap();
    std::fs::write(dir.0.join("Dockerfile"), "FROM scratch\n").unwrap();
    let args = ["policy", "check", "--policy", "policy.toml", "Dockerfile"].map(str::to_owned);
    let r = strata(&dir.0, &args);
    if r.code == 2 {
        return Err(format!("the policy does not parse: {}", r.stderr.trim()));
    }
    Ok(())
}

/// Splits a command line as sh would for these examples: quotes grouped and removed, a
/// word starting with `#` ends the line.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, '#') if word.is_none() => break,
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The commands of a `sh` block, each with the output shown after it (`$ ` transcripts).
fn commands(body: &str) -> Vec<(String, Option<String>)> {
    let transcript = body.lines().any(|l| l.starts_with("$ "));
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut pending = String::new();
    for line in body.lines() {
        if transcript {
            match line.strip_prefix("$ ") {
                Some(cmd) => out.push((cmd.to_owned(), None)),
                None => {
                    if let Some((_, shown)) = out.last_mut() {
                        let s = shown.get_or_insert_with(String::new);
                        s.push_str(line);
                        s.push('\n');
                    }
                }
            }
            continue;
        }
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => pending.push_str(part),
            None => {
                pending.push_str(line);
                out.push((std::mem::take(&mut pending), None));
            }
        }
    }
    out
}

fn run_sh(block: &Block, n: usize) -> Result<(), String> {
    let dir = Scratch::new(block, n);
    let exit: i32 = block.attr("exit").map_or(0, |e| e.parse().unwrap());
    let cmds = commands(&block.body);
    if cmds.is_empty() {
        return Err("has no command".to_owned());
    }
    for (line, shown) in cmds {
        let words = shell_words(&line);
        if words.first().map(String::as_str) != Some("strata") {
            return Err(format!(
                "runs {line:?}, not a strata command: give the block `no-run=<reason>`"
            ));
        }
        let r = strata(&dir.0, &words[1..]);
        if r.code != exit {
            return Err(format!(
                "{line}: exit {} (expected {exit}): {}{}",
                r.code, r.stdout, r.stderr
            ));
        }
        if let Some(shown) = shown {
            if r.stdout != shown {
                return Err(format!(
                    "{line}: prints\n{}\nbut the block shows\n{shown}",
                    r.stdout
                ));
            }
        }
    }
    Ok(())
}

/// What happened to one block.
enum Outcome {
    Ran,
    NotRun(String),
    NotAnExample,
}

fn run(block: &Block, n: usize) -> Result<Outcome, String> {
    if let Some((k, _)) = block
        .attrs
        .iter()
        .find(|(k, _)| !KNOWN_ATTRS.contains(&k.as_str()))
    {
        return Err(format!("unknown attribute {k:?}"));
    }
    if let Some(reason) = block.attr("no-run") {
        if reason.is_empty() {
            return Err("`no-run` needs a reason: `no-run=<reason>`".to_owned());
        }
        return Ok(Outcome::NotRun(reason.to_owned()));
    }
    match block.lang.as_str() {
        "dockerfile" => run_dockerfile(block, n).map(|()| Outcome::Ran),
        "toml" => run_toml(block, n).map(|()| Outcome::Ran),
        "sh" => run_sh(block, n).map(|()| Outcome::Ran),
        "text" | "markdown" => Ok(Outcome::NotAnExample),
        "" => Err("a block without a language: label it (`text` for output)".to_owned()),
        other => Err(format!(
            "language {other:?} is not run: give the block `no-run=<reason>`"
        )),
    }
}

#[test]
fn every_example_in_the_docs_runs() {
    let mut failures = Vec::new();
    let (mut ran, mut not_run) = (0, Vec::new());
    let mut n = 0;
    for path in markdown_files() {
        let name = path.strip_prefix(repo()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        for block in blocks(&name, &text) {
            n += 1;
            match run(&block, n) {
                Ok(Outcome::Ran) => ran += 1,
                Ok(Outcome::NotRun(why)) => not_run.push(format!("{} ({why})", block.at)),
                Ok(Outcome::NotAnExample) => {}
                Err(e) => failures.push(format!("{}: {e}", block.at)),
            }
        }
    }
    eprintln!(
        "{ran} examples ran; {} not run: {}",
        not_run.len(),
        not_run.join(", ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran > 0, "no example ran");
}

/// The reader above finds what it must: attributes, the block after, transcripts.
#[test]
fn blocks_and_commands_are_read_as_written() {
    let md = "text\n```dockerfile error files=x build-arg=A=1\nFROM a b\n```\nshows:\n\n```text\nboom\n```\n## next\n```sh\n$ strata lint Dockerfile\nout\n```\n";
    let b = blocks("t.md", md);
    assert_eq!(b.len(), 3);
    assert_eq!(
        (b[0].at.as_str(), b[0].lang.as_str()),
        ("t.md:2", "dockerfile")
    );
    assert_eq!(b[0].attr("error"), Some(""));
    assert_eq!(b[0].attrs_named("build-arg"), ["A=1"]);
    assert_eq!(b[0].next.as_deref(), Some("boom\n"));
    assert_eq!(b[1].next, None, "a heading separates them");
    assert_eq!(
        commands(&b[2].body),
        [(
            "strata lint Dockerfile".to_owned(),
            Some("out\n".to_owned())
        )]
    );
    assert_eq!(
        commands("# c\nstrata llb \\\n  --target 'build(GOOS=linux)' Dockerfile  # x\n"),
        [(
            "strata llb   --target 'build(GOOS=linux)' Dockerfile  # x".to_owned(),
            None
        )]
    );
    assert_eq!(
        anchor(" Differences from docker/dockerfile 1.19 (the Docker 28.5 builtin)"),
        "differences-from-dockerdockerfile-119-the-docker-285-builtin"
    );
    assert_eq!(
        links("see [a](docs/x.md#y) and [b](../c)."),
        ["docs/x.md#y", "../c"]
    );
    assert_eq!(
        shell_words("strata llb   --target 'build(GOOS=linux)' Dockerfile  # x"),
        [
            "strata",
            "llb",
            "--target",
            "build(GOOS=linux)",
            "Dockerfile"
        ]
    );
}

/// GitHub's anchor for a heading: lowercased, punctuation other than `-` and `_` dropped,
/// spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The text of `md` outside fenced blocks.
fn prose(md: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Every relative link of README.md and docs/ names a file that exists, and a `#part` a
/// heading of that file: moving a section must not leave links to where it was.
#[test]
fn links_in_the_docs_resolve() {
    let mut broken = Vec::new();
    for path in markdown_files() {
        let text = prose(&std::fs::read_to_string(&path).unwrap());
        let dir = path.parent().unwrap();
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (file, part) = link.split_once('#').unwrap_or((link.as_str(), ""));
            let target = if file.is_empty() {
                path.clone()
            } else {
                dir.join(file)
            };
            if !target.exists() {
                broken.push(format!("{}: {link}: no such file", path.display()));
                continue;
            }
            if part.is_empty() || target.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let headings: BTreeSet<String> = prose(&std::fs::read_to_string(&target).unwrap())
                .lines()
                .filter_map(|l| l.strip_prefix('#'))
                .map(|l| anchor(l.trim_start_matches('#')))
                .collect();
            if !headings.contains(part) {
                broken.push(format!("{}: {link}: no such heading", path.display()));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The targets of `[text](target)` links.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    out
}
