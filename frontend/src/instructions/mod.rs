//! Typed instructions: the AST checked and sorted into stages.
//!
//! This layer checks shapes (argument counts, allowed flags, what may come before `FROM`)
//! but expands no variables: expansion needs the environment at each point of a stage,
//! which only the converter knows. Every value keeps its span.

mod flags;
mod steps;
mod suggest;

use crate::error::{Error, Result};
use crate::syntax::{self, Args, Dockerfile, Heredoc, Instruction, Severity, Span, Word};

pub use flags::{FlagKind, FlagValue, Flags};
pub(crate) use suggest::distance as edit_distance;

/// A whole Dockerfile, sorted into global args and stages.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// `ARG`s before the first `FROM`: usable in `FROM` lines and re-declarable in stages.
    pub meta_args: Vec<ArgDecl>,
    /// The `ARG` instruction each of `meta_args` was declared by (same length and order):
    /// its lines and the comment above it (the `frontend.outline` subrequest reports both).
    pub meta_sources: Vec<Source>,
    /// Stages in file order.
    pub stages: Vec<Stage>,
}

/// One `FROM` and the instructions under it.
#[derive(Clone, Debug)]
pub struct Stage {
    /// Position in the file, 0-based: what `COPY --from=0` names.
    pub index: usize,
    /// `AS name`, lower-cased as BuildKit does.
    pub name: Option<String>,
    /// The base (`image`, `scratch` or a stage name), unexpanded.
    pub base: Word,
    /// `--platform`, unexpanded.
    pub platform: Option<FlagValue>,
    /// The `FROM` instruction itself.
    pub from: Source,
    /// The stage's instructions in order.
    pub commands: Vec<Command>,
}

/// Where an instruction came from: enough to name it in progress output and errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The keyword as written, upper-cased (`RUN`).
    pub keyword: String,
    /// The whole instruction.
    pub span: Span,
    /// 1-based first and last line.
    pub lines: (u32, u32),
    /// The logical line, for progress names and history.
    pub original: String,
    /// Its `--flags` as written (values unexpanded): what policy rules on flags read.
    pub flags: Vec<syntax::Flag>,
    /// The comment lines directly above (`#` stripped): `# build Compiles the app` above
    /// `FROM … AS build` describes the stage, as in BuildKit's subrequests.
    pub comments: Vec<String>,
}

/// One instruction inside a stage.
#[derive(Clone, Debug)]
pub struct Command {
    /// What it does.
    pub kind: CommandKind,
    /// Where it came from.
    pub source: Source,
}

/// `ARG name[=default]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ArgDecl {
    /// The name.
    pub name: Word,
    /// The default, unexpanded.
    pub default: Option<Word>,
}

/// Shell form (run through the stage's `SHELL`) or exec form (a JSON array).
#[derive(Clone, Debug, PartialEq)]
pub enum Form {
    /// `RUN make all`.
    Shell(Word),
    /// `RUN ["make", "all"]`.
    Exec(Vec<Word>),
}

/// `RUN`.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The command.
    pub form: Form,
    /// `--mount` specs, unparsed.
    pub mounts: Vec<FlagValue>,
    /// `--network`.
    pub network: Option<FlagValue>,
    /// `--security` (`sandbox` or `insecure`, checked when lowered).
    pub security: Option<FlagValue>,
    /// `--device` specs, unparsed.
    pub devices: Vec<FlagValue>,
    /// Here-documents.
    pub heredocs: Vec<Heredoc>,
}

/// `COPY` and `ADD`.
#[derive(Clone, Debug, PartialEq)]
pub struct Copy {
    /// `ADD` (archives unpack, URLs allowed) rather than `COPY`.
    pub is_add: bool,
    /// Source paths, unexpanded.
    pub sources: Vec<Word>,
    /// Destination, unexpanded.
    pub dest: Word,
    /// `--from`.
    pub from: Option<FlagValue>,
    /// `--chown`.
    pub chown: Option<FlagValue>,
    /// `--chmod`.
    pub chmod: Option<FlagValue>,
    /// `--link`.
    pub link: bool,
    /// `COPY --parents`: keep each source's parent directories (from the `/./` pivot on).
    pub parents: bool,
    /// Strata's `COPY --deps`: ELF programs come with their interpreter and libraries.
    pub deps: bool,
    /// `--exclude` (repeatable), unexpanded as upstream leaves it.
    pub excludes: Vec<FlagValue>,
    /// `ADD --checksum`.
    pub checksum: Option<FlagValue>,
    /// `ADD --keep-git-dir`; `None` when not given (a git URL's `keep-git-dir=` may set it).
    pub keep_git_dir: Option<bool>,
    /// `ADD --unpack`; `None` when not given (local archives unpack, URLs do not).
    pub unpack: Option<bool>,
    /// Here-documents used as sources.
    pub heredocs: Vec<Heredoc>,
}

/// `HEALTHCHECK`.
#[derive(Clone, Debug, PartialEq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable the base image's check.
    None,
    /// `HEALTHCHECK [opts] CMD …`.
    Cmd {
        /// The test command.
        form: Form,
        /// `--interval`, `--timeout`, `--start-period`, `--start-interval`, `--retries`.
        options: Vec<(String, FlagValue)>,
    },
}

/// What an instruction does.
#[derive(Clone, Debug, PartialEq)]
pub enum CommandKind {
    /// `ARG`.
    Arg(Vec<ArgDecl>),
    /// `ENV`: key, value (unexpanded).
    Env(Vec<(Word, Word)>),
    /// `LABEL`: key, value (unexpanded).
    Label(Vec<(Word, Word)>),
    /// `RUN`.
    Run(Run),
    /// `COPY` / `ADD`.
    Copy(Copy),
    /// `WORKDIR`.
    Workdir(Word),
    /// `USER`.
    User(Word),
    /// `EXPOSE`.
    Expose(Vec<Word>),
    /// `VOLUME`.
    Volume(Vec<Word>),
    /// `CMD`.
    Cmd(Form),
    /// `ENTRYPOINT`.
    Entrypoint(Form),
    /// `SHELL`.
    Shell(Vec<Word>),
    /// `STOPSIGNAL`.
    StopSignal(Word),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
    /// `ONBUILD`: the trigger text as stored in the image config.
    OnBuild(String),
    /// `MAINTAINER` (deprecated; sets the image author).
    Maintainer(Word),
    /// Strata's `CHECK`: a command run on a throwaway copy of the stage (never `--security`).
    Check(Run),
}

/// Keywords of the plain Dockerfile format.
pub const KEYWORDS: &[&str] = &[
    "add",
    "arg",
    "cmd",
    "copy",
    "entrypoint",
    "env",
    "expose",
    "from",
    "healthcheck",
    "label",
    "maintainer",
    "onbuild",
    "run",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// Strata's own keywords (`INCLUDE` never reaches lowering: `includes` splices it away),
/// suggested for near-miss spellings like the plain ones.
pub const EXTENSION_KEYWORDS: &[&str] = &["check", "include"];

/// Sorts a parsed file into stages, checking every instruction's shape.
pub fn lower(file: &Dockerfile) -> Result<Lowered> {
    let mut meta_args = Vec::new();
    let mut meta_sources = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for ins in &file.instructions {
        match ins.keyword.as_str() {
            "from" => {
                let index = stages.len();
                stages.push(lower_from(ins, index)?);
            }
            _ => {
                let kind = lower_command(ins)?;
                match (stages.last_mut(), kind) {
                    (Some(stage), kind) => stage.commands.push(Command {
                        kind,
                        source: source_of(ins),
                    }),
                    (None, CommandKind::Arg(args)) => {
                        meta_sources.extend(args.iter().map(|_| source_of(ins)));
                        meta_args.extend(args);
                    }
                    (None, _) => {
                        // dockerfile 1.26's words (`instructions.CurrentStage`); the
                        // snippet shows which instruction.
                        return Err(Error::at(
                            ins.keyword_span,
                            "no build stage in current context",
                        ));
                    }
                }
            }
        }
    }
    if stages.is_empty() {
        let span = file.instructions.last().map(|i| i.span).unwrap_or_default();
        return Err(Error::at(span, "the Dockerfile has no FROM instruction"));
    }
    Ok(Lowered {
        meta_args,
        meta_sources,
        stages,
    })
}

fn source_of(ins: &Instruction) -> Source {
    Source {
        keyword: ins.keyword.to_uppercase(),
        span: ins.span,
        lines: (ins.start_line, ins.end_line),
        original: ins.original.clone(),
        flags: ins.flags.clone(),
        comments: ins.comments.clone(),
    }
}

fn words(ins: &Instruction) -> Vec<Word> {
    match &ins.args {
        Args::Words(w) | Args::Json(w) => w.clone(),
        Args::Shell(w) => vec![w.clone()],
        _ => Vec::new(),
    }
}

fn lower_from(ins: &Instruction, index: usize) -> Result<Stage> {
    let flags = Flags::parse("from", &ins.flags, &[("platform", FlagKind::String)])?;
    let args = words(ins);
    let (base, name) = match args.as_slice() {
        [base] => (base.clone(), None),
        [base, as_kw, name] if as_kw.text.eq_ignore_ascii_case("as") => (base.clone(), Some(name)),
        _ => {
            return Err(Error::at(
                ins.span,
                format!(
                    "FROM requires either one or three arguments{}",
                    syntax::trailing_comment_hint(&args)
                ),
            ));
        }
    };
    if let Some(name) = name {
        if !is_valid_stage_name(&name.text) {
            return Err(Error::at(
                name.span,
                format!("invalid name for build stage: {:?}, name can't start with a number or contain symbols", name.text),
            ));
        }
    }
    Ok(Stage {
        index,
        name: name.map(|n| n.text.to_lowercase()),
        base,
        platform: flags.string("platform"),
        from: source_of(ins),
        commands: Vec::new(),
    })
}

/// Stage names: a letter first, then letters, digits, `-`, `_`, `.` (as BuildKit allows).
fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn no_flags(ins: &Instruction) -> Result<()> {
    Flags::parse(&ins.keyword, &ins.flags, &[]).map(|_| ())
}

fn need_args(ins: &Instruction, words: &[Word], min: usize, what: &str) -> Result<()> {
    if words.len() < min {
        return Err(Error::at(
            ins.span,
            format!("{} requires {what}", ins.keyword.to_uppercase()),
        ));
    }
    Ok(())
}

fn form(ins: &Instruction, args: &Args) -> Result<Form> {
    match args {
        Args::Json(w) => Ok(Form::Exec(w.clone())),
        Args::Shell(w) => Ok(Form::Shell(w.clone())),
        Args::Words(w) if !w.is_empty() => {
            let start = w[0].span.start;
            let end = w[w.len() - 1].span.end;
            let text = w
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            Ok(Form::Shell(Word {
                text,
                span: Span { start, end },
            }))
        }
        _ => Err(Error::at(
            ins.span,
            format!(
                "{} requires at least one argument",
                ins.keyword.to_uppercase()
            ),
        )),
    }
}

fn key_values(ins: &Instruction) -> Result<Vec<(Word, Word)>> {
    let Args::KeyValues(kvs) = &ins.args else {
        return Err(Error::at(
            ins.span,
            format!(
                "{} requires at least one argument",
                ins.keyword.to_uppercase()
            ),
        ));
    };
    if kvs.is_empty() {
        return Err(Error::at(
            ins.span,
            format!(
                "{} requires at least one argument",
                ins.keyword.to_uppercase()
            ),
        ));
    }
    kvs.iter()
        .map(|kv| {
            let value = kv.value.clone().unwrap_or(Word {
                text: String::new(),
                span: Span {
                    start: kv.span.end,
                    end: kv.span.end,
                },
            });
            if kv.key.text.is_empty() {
                return Err(Error::at(
                    kv.span,
                    format!("{} names can not be blank", ins.keyword.to_uppercase()),
                ));
            }
            Ok((kv.key.clone(), value))
        })
        .collect()
}

fn lower_command(ins: &Instruction) -> Result<CommandKind> {
    let kw = ins.keyword.as_str();
    Ok(match kw {
        "arg" => {
            no_flags(ins)?;
            let Args::KeyValues(kvs) = &ins.args else {
                return Err(Error::at(ins.span, "ARG requires at least one argument"));
            };
            if kvs.is_empty() {
                return Err(Error::at(ins.span, "ARG requires at least one argument"));
            }
            CommandKind::Arg(
                kvs.iter()
                    .map(|kv| ArgDecl {
                        name: kv.key.clone(),
                        default: if kv.has_equals {
                            kv.value.clone().or(Some(Word {
                                text: String::new(),
                                span: kv.span,
                            }))
                        } else {
                            None
                        },
                    })
                    .collect(),
            )
        }
        "env" => {
            no_flags(ins)?;
            CommandKind::Env(key_values(ins)?)
        }
        "label" => {
            no_flags(ins)?;
            CommandKind::Label(key_values(ins)?)
        }
        "run" => steps::lower_run(ins)?,
        "check" => steps::lower_check(ins)?,
        "copy" | "add" => steps::lower_copy(ins)?,
        "workdir" | "user" | "stopsignal" | "maintainer" => {
            no_flags(ins)?;
            let w = words(ins);
            let one = match w.as_slice() {
                [one] => one.clone(),
                [first, .., last] if kw == "maintainer" || kw == "workdir" => Word {
                    text: w
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    span: Span {
                        start: first.span.start,
                        end: last.span.end,
                    },
                },
                _ => {
                    return Err(Error::at(
                        ins.span,
                        format!(
                            "{} requires exactly one argument{}",
                            kw.to_uppercase(),
                            syntax::trailing_comment_hint(&w)
                        ),
                    ))
                }
            };
            match kw {
                "workdir" => CommandKind::Workdir(one),
                "user" => CommandKind::User(one),
                "stopsignal" => CommandKind::StopSignal(one),
                _ => CommandKind::Maintainer(one),
            }
        }
        "expose" => {
            no_flags(ins)?;
            let w = words(ins);
            need_args(ins, &w, 1, "at least one argument")?;
            CommandKind::Expose(w)
        }
        "volume" => {
            no_flags(ins)?;
            let w = words(ins);
            need_args(ins, &w, 1, "at least one argument")?;
            CommandKind::Volume(w)
        }
        "cmd" | "entrypoint" => {
            no_flags(ins)?;
            let f = match &ins.args {
                Args::Empty => Form::Exec(Vec::new()),
                a => form(ins, a)?,
            };
            if kw == "cmd" {
                CommandKind::Cmd(f)
            } else {
                CommandKind::Entrypoint(f)
            }
        }
        "shell" => {
            no_flags(ins)?;
            match &ins.args {
                Args::Json(w) if !w.is_empty() => CommandKind::Shell(w.clone()),
                _ => {
                    return Err(Error::at(
                        ins.span,
                        "SHELL requires the arguments to be in JSON form",
                    ))
                }
            }
        }
        "healthcheck" => lower_healthcheck(ins)?,
        "onbuild" => {
            no_flags(ins)?;
            let Args::OnBuild(inner) = &ins.args else {
                return Err(Error::at(
                    ins.span,
                    "ONBUILD requires at least one argument",
                ));
            };
            match inner.keyword.as_str() {
                "onbuild" => {
                    return Err(Error::at(
                        inner.keyword_span,
                        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                    ))
                }
                // CHECK and INCLUDE are Strata's: an image's trigger must work anywhere.
                "from" | "maintainer" | "check" | "include" => {
                    return Err(Error::at(
                        inner.keyword_span,
                        format!(
                            "{} isn't allowed as an ONBUILD trigger",
                            inner.keyword.to_uppercase()
                        ),
                    ))
                }
                _ => {}
            }
            lower_command(inner)?;
            let mut expression = strip_keyword(&ins.original);
            for h in &ins.heredocs {
                expression.push('\n');
                expression.push_str(&h.content);
                expression.push_str(&h.name);
            }
            CommandKind::OnBuild(expression)
        }
        other => {
            let known = KEYWORDS.iter().chain(EXTENSION_KEYWORDS).copied();
            let hint = suggest::closest(other, &known.collect::<Vec<_>>())
                .map(|s| format!(" (did you mean {}?)", s.to_uppercase()))
                .unwrap_or_default();
            return Err(Error::at(
                ins.keyword_span,
                format!("unknown instruction: {}{hint}", other.to_uppercase()),
            ));
        }
    })
}

/// CHECK's arguments: the parser splits an unknown keyword's arguments into words (it
/// emulates upstream's parser, which knows no CHECK), so the exec form is recognised here,
/// as upstream's `parseMaybeJSON` would: a JSON array of strings, else shell form.
fn check_form(f: Form) -> Form {
    let Form::Shell(w) = &f else { return f };
    if !w.text.trim_start().starts_with('[') {
        return f;
    }
    match serde_json::from_str::<Vec<String>>(&w.text) {
        Ok(args) if !args.is_empty() => Form::Exec(
            args.into_iter()
                .map(|text| Word { text, span: w.span })
                .collect(),
        ),
        _ => f,
    }
}

/// `ONBUILD RUN x` → `RUN x`: the trigger as the image config stores it. Like upstream's
/// `(?i)^\s*ONBUILD\s*` replacement, only the leading keyword and the blanks around it go;
/// trailing text is kept byte for byte.
fn strip_keyword(original: &str) -> String {
    let trimmed = original.trim_start();
    let rest = match trimmed.get(..7) {
        Some(kw) if kw.eq_ignore_ascii_case("onbuild") => &trimmed[7..],
        _ => trimmed,
    };
    rest.trim_start().to_owned()
}

/// Parses one `ONBUILD` trigger as an image config stores it (`RUN make`), so a stage built
/// `FROM` that image (or stage) can run it. The returned command's spans point into
/// `trigger`, not the Dockerfile: the caller re-locates errors and ops at its `FROM` line.
pub fn lower_trigger(trigger: &str) -> Result<Command> {
    let file = syntax::parse(trigger);
    if let Some(d) = file
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
    {
        return Err(Error::at(d.span, d.message.clone()));
    }
    let [ins] = file.instructions.as_slice() else {
        return Err(Error::Input(
            "onbuild trigger should be a single expression".to_owned(),
        ));
    };
    if ins.keyword == "from" {
        return Err(Error::at(
            ins.keyword_span,
            "FROM isn't allowed as an ONBUILD trigger",
        ));
    }
    Ok(Command {
        kind: lower_command(ins)?,
        source: source_of(ins),
    })
}

fn lower_healthcheck(ins: &Instruction) -> Result<CommandKind> {
    let f = Flags::parse(
        "healthcheck",
        &ins.flags,
        &[
            ("interval", FlagKind::String),
            ("timeout", FlagKind::String),
            ("start-period", FlagKind::String),
            ("start-interval", FlagKind::String),
            ("retries", FlagKind::String),
        ],
    )?;
    let Args::Healthcheck {
        kind: Some(kind),
        cmd,
    } = &ins.args
    else {
        return Err(Error::at(ins.span, "HEALTHCHECK requires an argument"));
    };
    let check = match kind.text.to_uppercase().as_str() {
        "NONE" => {
            if !ins.flags.is_empty() || cmd.is_some() {
                return Err(Error::at(ins.span, "HEALTHCHECK NONE takes no arguments"));
            }
            Healthcheck::None
        }
        "CMD" => {
            let Some(cmd) = cmd else {
                return Err(Error::at(ins.span, "Missing command after HEALTHCHECK CMD"));
            };
            let options = [
                "interval",
                "timeout",
                "start-period",
                "start-interval",
                "retries",
            ]
            .iter()
            .filter_map(|n| f.string(n).map(|v| ((*n).to_owned(), v)))
            .collect();
            Healthcheck::Cmd {
                form: form(ins, cmd)?,
                options,
            }
        }
        other => {
            return Err(Error::at(
                kind.span,
                format!("Unknown type {other:?} in HEALTHCHECK (try CMD)"),
            ));
        }
    };
    Ok(CommandKind::Healthcheck(check))
}
