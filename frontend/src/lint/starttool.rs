//! `CmdToolNotInstalled`: the final image starts a program nothing puts there.
//!
//! Offline and heuristic, built to stay quiet unless sure (the gateway's entrypoint check
//! looks at the real result later). The rule looks at the target stage and the stages it
//! builds on (`FROM <stage>`), down to the first one that starts from an image or scratch:
//!
//! - The program: `ENTRYPOINT`'s first word when the Dockerfile sets one, else `CMD`'s
//!   (exec form: the first element; shell form: the shell, `SHELL`'s first element or
//!   `/bin/sh`, and the first word of the command after `VAR=x` assignments and `exec`,
//!   unless it is a shell builtin or holds `$`). Nothing is checked when the command comes
//!   from the base image.
//! - What the base provides: `scratch` provides nothing. An official `debian`, `ubuntu`,
//!   `alpine` or `busybox` image provides everything except a fixed list of interpreters,
//!   runtimes and tools none of them ships (`python3`, `node`, `java`, `curl`, `git`, …;
//!   `bash` too for `alpine` and `busybox`). Any other image may provide anything: never
//!   flagged.
//! - What the Dockerfile provides: a `RUN` whose text names the program (or its package:
//!   `python` for `python3`, `openjdk` for `java`, …) at the start of a word, or a
//!   `COPY`/`ADD` whose destination is the program's path, a directory above it, or holds
//!   a variable (for a bare name: the path in any `PATH` directory).

use crate::convert::paths;
use crate::image::DEFAULT_PATH;
use crate::instructions::{Command, CommandKind, Form};
use crate::plan::Base;
use crate::syntax::{go_quote, Span};

use super::ast::written_keyword_of;
use super::rules::CMD_TOOL_NOT_INSTALLED;
use super::stages::Context;
use super::Finding;

/// Tools none of the known small base images ships.
const ABSENT: &[&str] = &[
    "python",
    "python2",
    "python3",
    "pip",
    "pip3",
    "node",
    "nodejs",
    "npm",
    "npx",
    "yarn",
    "pnpm",
    "java",
    "javac",
    "ruby",
    "gem",
    "bundle",
    "bundler",
    "php",
    "go",
    "gofmt",
    "cargo",
    "rustc",
    "dotnet",
    "deno",
    "bun",
    "nginx",
    "httpd",
    "caddy",
    "gunicorn",
    "uvicorn",
    "uwsgi",
    "curl",
    "git",
    "make",
    "gcc",
    "g++",
    "supervisord",
    "redis-server",
    "postgres",
    "mysqld",
    "mongod",
];

/// Shell builtins and keywords: they exist wherever the shell does.
const BUILTINS: &[&str] = &[
    ":", ".", "[", "!", "{", "(", "cd", "echo", "eval", "exit", "export", "false", "for", "if",
    "printf", "read", "set", "source", "test", "trap", "true", "ulimit", "umask", "until", "wait",
    "while", "case",
];

/// What a base image is known to hold.
enum Root {
    /// `FROM scratch`: nothing.
    Scratch,
    /// A small official image (its name): everything but [`ABSENT`] (and `bash` when the
    /// flag says so).
    Small(String, bool),
}

/// The small official images this rule knows, and whether each lacks `bash`.
fn small_image(reference: &str) -> Option<(String, bool)> {
    let full = strata_proto::llb::normalize_image_reference(reference);
    let name = full.strip_prefix("docker.io/library/")?;
    let repo = name.split([':', '@']).next().unwrap_or_default();
    match repo {
        "debian" | "ubuntu" => Some((reference.to_owned(), false)),
        "alpine" | "busybox" => Some((reference.to_owned(), true)),
        _ => None,
    }
}

/// Package or command words whose appearance in a `RUN` counts as installing `tool`.
fn install_words(tool: &str) -> Vec<&str> {
    let extra: &[&str] = match tool {
        "python" | "python2" | "python3" => &["python"],
        "pip" | "pip3" => &["pip", "python"],
        "node" | "nodejs" | "npm" | "npx" => &["node", "npm"],
        "yarn" | "pnpm" => &["npm", "corepack"],
        "java" | "javac" => &["java", "jdk", "jre", "openjdk", "temurin", "corretto"],
        "ruby" | "gem" | "bundle" | "bundler" => &["ruby", "gem", "bundle"],
        "go" | "gofmt" => &["go", "golang"],
        "cargo" | "rustc" => &["cargo", "rust"],
        "httpd" => &["apache"],
        "g++" => &["gcc", "build-essential"],
        "gcc" | "make" => &["build-essential"],
        _ => &[],
    };
    let mut words = vec![tool];
    words.extend(extra);
    words
}

/// `word` occurs in `text` at the start of a word (after a non-alphanumeric char).
fn mentions(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

/// What the chain of stages put in the image.
#[derive(Default)]
struct Provided {
    /// `COPY`/`ADD` destinations, absolute and cleaned; `None` for one with a variable.
    dests: Vec<Option<String>>,
    /// The text of every `RUN` (command and heredocs).
    runs: Vec<String>,
}

impl Provided {
    fn covers(&self, candidates: &[String]) -> bool {
        self.dests.iter().any(|d| match d {
            None => true,
            Some(d) => candidates.iter().any(|p| {
                d == "/"
                    || p == d
                    || p.strip_prefix(d.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            }),
        })
    }

    fn installs(&self, tool: &str) -> bool {
        let words = install_words(tool);
        self.runs
            .iter()
            .any(|r| words.iter().any(|w| mentions(r, w)))
    }
}

/// Checks the target's start command.
pub fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let plan = ctx.plan;
    let mut chain = vec![plan.target];
    while let Some(Base::Stage(j)) = plan.stages.get(chain[chain.len() - 1]).map(|s| &s.base) {
        if chain.contains(j) || chain.len() > plan.stages.len() {
            return;
        }
        chain.push(*j);
    }
    chain.reverse();
    let root_index = chain[0];
    if chain.iter().any(|&i| plan.stages[i].replaced) {
        return;
    }
    let root = match &plan.stages[root_index].base {
        Base::Scratch => Root::Scratch,
        Base::Image(r) => match small_image(r) {
            Some((name, no_bash)) => Root::Small(name, no_bash),
            None => return,
        },
        _ => return,
    };
    let base_entrypoint = ctx
        .base_image(root_index)
        .and_then(|i| i.config.entrypoint)
        .is_some_and(|e| !e.is_empty());

    let mut provided = Provided::default();
    let mut cmd: Option<&Command> = None;
    let mut entrypoint: Option<&Command> = None;
    let mut entrypoint_set = false;
    let mut shell = vec!["/bin/sh".to_owned()];
    let mut workdir = "/".to_owned();
    let mut path = DEFAULT_PATH.to_owned();
    for &i in &chain {
        let mut cmd_here = false;
        for c in &ctx.lowered.stages[i].commands {
            match &c.kind {
                CommandKind::Cmd(_) => {
                    cmd_here = true;
                    cmd = Some(c);
                }
                CommandKind::Entrypoint(f) => {
                    // `ENTRYPOINT []` clears it; an ENTRYPOINT clears a CMD of earlier stages.
                    entrypoint_set = true;
                    entrypoint = (!matches!(f, Form::Exec(w) if w.is_empty())).then_some(c);
                    if !cmd_here {
                        cmd = None;
                    }
                }
                CommandKind::Shell(words) => {
                    shell = words.iter().map(|w| w.text.clone()).collect();
                }
                CommandKind::Workdir(w) => workdir = paths::workdir(&workdir, &w.text),
                CommandKind::Env(pairs) => {
                    for (k, v) in pairs {
                        if k.text == "PATH" {
                            // `$PATH` keeps the old entries; other variables are unknown.
                            path = v.text.replace("${PATH}", &path).replace("$PATH", &path);
                        }
                    }
                }
                CommandKind::Copy(c) => provided.dests.push(
                    (!c.dest.text.contains('$'))
                        .then(|| paths::clean(&paths::copy_dest(&workdir, &c.dest.text))),
                ),
                CommandKind::Run(r) => {
                    let mut text = match &r.form {
                        Form::Shell(w) => w.text.clone(),
                        Form::Exec(ws) => ws
                            .iter()
                            .map(|w| w.text.as_str())
                            .collect::<Vec<_>>()
                            .join(" "),
                    };
                    for h in &r.heredocs {
                        text.push('\n');
                        text.push_str(&h.content);
                    }
                    provided.runs.push(text);
                }
                _ => {}
            }
        }
    }
    let Some(start) = entrypoint.or(cmd) else {
        return;
    };
    if !entrypoint_set && base_entrypoint {
        // The CMD is arguments to the base image's own entrypoint.
        return;
    }
    let form = match &start.kind {
        CommandKind::Cmd(f) | CommandKind::Entrypoint(f) => f,
        _ => return,
    };
    let written = written_keyword_of(&start.source.original);
    // The program and how the message names what runs it.
    let mut programs: Vec<(String, Span, String)> = Vec::new();
    match form {
        Form::Exec(words) => match words.first() {
            Some(w) if !w.text.contains('$') && !w.text.is_empty() => {
                programs.push((w.text.clone(), w.span, written.to_owned()))
            }
            _ => return,
        },
        Form::Shell(w) => {
            if let Some(sh) = shell.first() {
                let kw = format!("{written} in shell form");
                programs.push((sh.clone(), start.source.span, kw));
            }
            if let Some(first) = first_program(&w.text) {
                programs.push((first, w.span, written.to_owned()));
            }
        }
    }
    for (program, at, kw) in programs {
        let tool = program.rsplit('/').next().unwrap_or_default().to_owned();
        let candidates: Vec<String> = if program.starts_with('/') {
            vec![paths::clean(&program)]
        } else if program.contains('/') {
            vec![paths::join(&workdir, &program)]
        } else {
            path.split(':')
                .filter(|d| d.starts_with('/'))
                .map(|d| paths::join(d, &program))
                .collect()
        };
        let base_has = match &root {
            Root::Scratch => false,
            Root::Small(_, no_bash) => {
                let lacks = ABSENT.contains(&tool.as_str()) || (*no_bash && tool == "bash");
                !lacks
            }
        };
        if base_has || provided.installs(&tool) || provided.covers(&candidates) {
            continue;
        }
        let message = match &root {
            Root::Scratch => format!(
                "{kw} runs {}, but the final stage starts from scratch and no COPY, ADD or RUN provides it",
                go_quote(&program)
            ),
            Root::Small(image, _) => format!(
                "{kw} runs {}, which {image} does not include, and no RUN installs it (nor does a COPY or ADD put it there)",
                go_quote(&program)
            ),
        };
        out.push(Finding::new(
            &CMD_TOOL_NOT_INSTALLED,
            message,
            start.source.span,
            at,
        ));
    }
}

/// The program a shell-form command runs first: the first word after `NAME=value`
/// assignments and `exec`, quotes removed; `None` for a builtin or a word with `$`/`` ` ``.
fn first_program(command: &str) -> Option<String> {
    let mut words = command
        .split_whitespace()
        .map(|w| w.trim_matches(['"', '\'']));
    let word = loop {
        let w = words.next()?;
        let assignment = w
            .split_once('=')
            .is_some_and(|(n, _)| crate::expand::is_valid_name(n));
        if !assignment && w != "exec" {
            break w;
        }
    };
    if word.is_empty() || word.contains(['$', '`']) || BUILTINS.contains(&word) {
        return None;
    }
    Some(word.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_program_of_a_shell_command() {
        assert_eq!(first_program("python3 app.py").as_deref(), Some("python3"));
        assert_eq!(
            first_program("A=1 exec \"node\" x").as_deref(),
            Some("node")
        );
        assert_eq!(first_program("echo hi"), None);
        assert_eq!(first_program("$APP --serve"), None);
        assert_eq!(first_program("   "), None);
    }

    #[test]
    fn mentions_at_word_starts() {
        assert!(mentions("apt-get install -y python3-minimal", "python"));
        assert!(mentions(
            "ln -s /usr/bin/python3 /usr/bin/python",
            "python3"
        ));
        assert!(!mentions("apt-get install libpython3.11", "python"));
        assert!(!mentions("", "x"));
    }

    #[test]
    fn small_images_are_official_ones() {
        assert!(small_image("debian:bookworm").is_some());
        assert_eq!(small_image("busybox:local").map(|s| s.1), Some(true));
        assert!(small_image("python:3.12-slim").is_none());
        assert!(small_image("registry.corp/debian").is_none());
    }
}
