//! Parameterised stages: `FROM img AS build(GOOS, GOARCH=amd64)` defines a stage template;
//! `FROM build(GOOS=linux)`, `COPY --from=build(…)`, `RUN --mount=from=build(…)` and
//! `--target 'build(…)'` each ask for an instance. Each distinct set of values (after
//! defaults) instantiates the stage once, at the place of its definition, under a generated
//! name (`build.goos-linux.goarch-amd64`); equal sets share it, and the reference is
//! rewritten to that name. A definition nobody references produces no stage.
//!
//! Parameters are bound in the instance the way `FOR` binds its variable: textually, in every
//! instruction of the stage (see the module above).
//!
//! The parser splits on whitespace, so `build(GOOS=darwin, GOARCH=arm64)` may arrive as
//! several words, or as a flag value followed by words: references are first rejoined until
//! their parentheses balance.
//!
//! An argument value may use variables (`build(GOOS=${GOOS})`): it expands with what a
//! `FROM` line sees, the platform args and the global `ARG`s, wherever the reference
//! stands; inside a parameterised stage its own parameters are bound before that. An
//! unknown variable is an error (not an empty value): instances are named after values.
//!
//! Instances are bounded (`bounds`): how many, how long an argument and a generated name,
//! how many instructions and bytes they produce. Past a bound the error shows the chain of
//! instances that led there.

use std::collections::BTreeMap;

use super::bind::bind_all;
use super::bounds::{
    self, Budget, MAX_ARGUMENT, MAX_INSTANCES, MAX_INSTANCE_NAME, MAX_INSTRUCTIONS,
};
use crate::error::{Error, Result};
use crate::expand::{is_valid_name, ExpandError, Lexer};
use crate::syntax::{Args, Instruction, KeyValue, Span, Word};

/// A template's parameters in order, with their defaults.
type Params = Vec<(String, Option<String>)>;

/// Parameter values in parameter order.
type Values = Vec<(String, String)>;

/// A stage template: its parameters (in order, with defaults) and its instructions.
#[derive(Clone, Debug)]
struct Def {
    params: Params,
    /// The `FROM` first, then the stage's instructions.
    body: Vec<Instruction>,
    /// Requested instances: (values in parameter order, instance name).
    instances: Vec<(Values, String)>,
}

/// Instantiates parameterised stages in `instructions`; returns the instance name `target`
/// refers to when it names one. What instances produce is counted against `budget`.
pub(super) fn expand(
    instructions: &mut Vec<Instruction>,
    target: Option<&str>,
    escape: char,
    globals: &[(String, String)],
    budget: &mut Budget,
) -> Result<Option<String>> {
    // Split into the prelude and stage segments.
    let mut segments: Vec<Vec<Instruction>> = vec![Vec::new()];
    for ins in std::mem::take(instructions) {
        if ins.keyword == "from" {
            segments.push(Vec::new());
        }
        if let Some(last) = segments.last_mut() {
            last.push(ins);
        }
    }
    let mut defs: BTreeMap<String, Def> = BTreeMap::new();
    let mut def_at: BTreeMap<usize, String> = BTreeMap::new();
    let mut used: Vec<String> = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let Some(from) = seg.first().filter(|f| f.keyword == "from") else {
            continue;
        };
        if let Some((name, params)) = definition(from)? {
            if defs.contains_key(&name) {
                return Err(Error::at(
                    from.span,
                    format!("parameterised stage {name:?} is defined twice"),
                ));
            }
            def_at.insert(i, name.clone());
            defs.insert(
                name,
                Def {
                    params,
                    body: seg.clone(),
                    instances: Vec::new(),
                },
            );
        } else if let Some(n) = stage_name(from) {
            used.push(n);
        }
    }
    if defs.is_empty() {
        *instructions = segments.into_iter().flatten().collect();
        return Ok(None);
    }
    let mut r = Rewriter {
        defs,
        used,
        pending: Vec::new(),
        count: 0,
        globals: globals.to_vec(),
        escape,
        instances: Vec::new(),
        current: None,
        produced: segments.iter().map(Vec::len).sum(),
        budget,
    };
    let mut out_segments: Vec<Vec<Instruction>> = Vec::with_capacity(segments.len());
    for (i, seg) in segments.into_iter().enumerate() {
        if def_at.contains_key(&i) {
            out_segments.push(Vec::new());
            continue;
        }
        let mut seg = seg;
        for ins in &mut seg {
            r.instruction(ins)?;
        }
        out_segments.push(seg);
    }
    let new_target = match target {
        Some(t) if t.contains('(') => Some(r.reference(t, Span::default(), true)?.0),
        _ => None,
    };
    // Instances may reference other templates: instantiate until nothing is pending.
    let mut bodies: BTreeMap<String, Vec<Vec<Instruction>>> = BTreeMap::new();
    while !r.pending.is_empty() {
        let (def, values, instance, index) = r.pending.remove(0);
        let Some(d) = r.defs.get(&def) else { continue };
        let mut body = d.body.clone();
        r.current = Some(index);
        r.budget.within = r.chain(None);
        // Its instructions, and the ARG added below.
        r.produced += body.len() + 1;
        if r.produced > MAX_INSTRUCTIONS {
            let span = body.first().map_or(Span::default(), |f| f.span);
            return Err(Error::at(
                span,
                format!(
                    "parameterised stage instances produce more than {MAX_INSTRUCTIONS} instructions{}",
                    r.budget.in_chain()
                ),
            ));
        }
        for ins in &mut body {
            *ins = bind_all(ins, &values, escape, r.budget)?;
        }
        if let Some(from) = body.first_mut() {
            rename(from, &instance);
        }
        for ins in body.iter_mut().skip(1) {
            r.instruction(ins)?;
        }
        if let Some(from) = body.first_mut() {
            r.rewrite_base(from)?;
        }
        // The parameters are also the stage's ARGs, so commands see them in their environment.
        if let Some(from) = body.first() {
            let arg = param_arg(from, &values);
            body.insert(1, arg);
        }
        bodies.entry(def).or_default().push(body);
    }
    r.budget.within.clear();
    for (i, name) in &def_at {
        if let (Some(slot), Some(list)) = (out_segments.get_mut(*i), bodies.remove(name)) {
            *slot = list.into_iter().flatten().collect();
        }
    }
    *instructions = out_segments.into_iter().flatten().collect();
    Ok(new_target)
}

/// Whether `from` defines a parameterised stage (`FROM … AS name(…)`).
pub fn is_definition(from: &Instruction) -> bool {
    matches!(definition(from), Ok(Some(_)))
}

/// A parameterised stage's name and its signature as documentation shows it:
/// (`build`, `build(GOOS, GOARCH=amd64)`); `None` for an ordinary stage or a bad definition.
pub fn signature(from: &Instruction) -> Option<(String, String)> {
    let (name, params) = definition(from).ok()??;
    let list = params
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let shown = format!("{name}({list})");
    Some((name, shown))
}

/// `FROM … AS name(params)`: the name and parameters, or `None` for an ordinary stage.
fn definition(from: &Instruction) -> Result<Option<(String, Params)>> {
    let Args::Words(words) = &from.args else {
        return Ok(None);
    };
    let Some(as_at) = words.iter().position(|w| w.text.eq_ignore_ascii_case("as")) else {
        return Ok(None);
    };
    let text = join(&words[as_at + 1..]);
    let Some((name, inner)) = split_call(&text) else {
        return Ok(None);
    };
    let bad = |m: String| Error::at(from.span, m);
    let name = name.to_ascii_lowercase();
    let mut params: Params = Vec::new();
    for p in split_args(inner) {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k.trim(), Some(unquote(v.trim()))),
            None => (p.trim(), None),
        };
        if !is_valid_name(k) {
            return Err(bad(format!("bad parameter {k:?} of stage {name:?}")));
        }
        if params.iter().any(|(n, _)| n == k) {
            return Err(bad(format!(
                "parameter {k} of stage {name:?} is declared twice"
            )));
        }
        params.push((k.to_owned(), v));
    }
    Ok(Some((name, params)))
}

fn stage_name(from: &Instruction) -> Option<String> {
    match &from.args {
        Args::Words(w) => match w.as_slice() {
            [_, a, n] if a.text.eq_ignore_ascii_case("as") => Some(n.text.to_ascii_lowercase()),
            _ => None,
        },
        _ => None,
    }
}

fn join(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `name(inner)` → (`name`, `inner`); `None` when the text is not of that shape.
fn split_call(text: &str) -> Option<(&str, &str)> {
    let open = text.find('(')?;
    let inner = text[open + 1..].strip_suffix(')')?;
    let name = text[..open].trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some((name, inner))
}

fn split_args(inner: &str) -> Vec<&str> {
    if inner.trim().is_empty() {
        return Vec::new();
    }
    inner.split(',').collect()
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(s) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return s.to_owned();
        }
    }
    v.to_owned()
}

fn balance(text: &str) -> i64 {
    text.chars()
        .map(|c| match c {
            '(' => 1,
            ')' => -1,
            _ => 0,
        })
        .sum()
}

/// `ARG P1=v1 P2=v2` for an instance, located on its `FROM` line.
fn param_arg(from: &Instruction, values: &[(String, String)]) -> Instruction {
    let span = from.span;
    let word = |text: String| Word { text, span };
    let kvs = values
        .iter()
        .map(|(k, v)| KeyValue {
            key: word(k.clone()),
            value: Some(word(quote(v))),
            has_equals: true,
            span,
        })
        .collect::<Vec<_>>();
    let original = std::iter::once("ARG".to_owned())
        .chain(values.iter().map(|(k, v)| format!("{k}={}", quote(v))))
        .collect::<Vec<_>>()
        .join(" ");
    Instruction {
        keyword: "arg".to_owned(),
        keyword_span: from.keyword_span,
        flags: Vec::new(),
        args: Args::KeyValues(kvs),
        heredocs: Vec::new(),
        span,
        start_line: from.start_line,
        end_line: from.start_line,
        original,
        comments: Vec::new(),
    }
}

/// A value as an ARG default that expands to exactly itself.
fn quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/:@+-,=".contains(c))
    {
        return v.to_owned();
    }
    format!("'{}'", v.replace('\'', "'\"'\"'"))
}

/// Gives the instance its generated name in its `FROM` line.
fn rename(from: &mut Instruction, instance: &str) {
    if let Args::Words(words) = &mut from.args {
        if let Some(as_at) = words.iter().position(|w| w.text.eq_ignore_ascii_case("as")) {
            let span = words[as_at + 1..]
                .iter()
                .fold(None, |acc: Option<Span>, w| {
                    Some(acc.map_or(w.span, |a| a.cover(w.span)))
                })
                .unwrap_or(from.span);
            words.truncate(as_at + 1);
            words.push(Word {
                text: instance.to_owned(),
                span,
            });
        }
    }
}

struct Rewriter<'a> {
    defs: BTreeMap<String, Def>,
    /// Stage names taken, so generated names never collide.
    used: Vec<String>,
    /// Instances to create: template, values, instance name, index in `instances`.
    pending: Vec<(String, Values, String, usize)>,
    /// Instances created so far, against [`MAX_INSTANCES`].
    count: usize,
    /// What argument values expand with: platform args and global `ARG`s.
    globals: Vec<(String, String)>,
    escape: char,
    /// Every instance requested, as errors show it, with the instance whose body asked
    /// for it (`None`: the file outside templates, or `--target`).
    instances: Vec<(String, Option<usize>)>,
    /// The instance whose body is being rewritten.
    current: Option<usize>,
    /// Instructions in the file so far, against [`MAX_INSTRUCTIONS`].
    produced: usize,
    budget: &'a mut Budget,
}

impl Rewriter<'_> {
    /// The chain of instances that led to the current one, outermost first, then `next`
    /// (the reference being made, if any), shortened for a message.
    fn chain(&self, next: Option<String>) -> String {
        let mut links = Vec::new();
        let mut at = self.current;
        while let Some(i) = at {
            let Some((shown, parent)) = self.instances.get(i) else {
                break;
            };
            links.push(shown.clone());
            at = *parent;
        }
        links.reverse();
        links.extend(next);
        bounds::chain(&links)
    }

    fn is_template(&self, text: &str) -> bool {
        let name = text.split('(').next().unwrap_or("").to_ascii_lowercase();
        self.defs.contains_key(&name)
    }

    /// The instance name for a reference `name(K=V, …)` (or a bare `name`), and the
    /// reference with its values expanded (for progress names).
    fn reference(&mut self, text: &str, span: Span, for_target: bool) -> Result<(String, String)> {
        let err = |m: String| {
            if for_target {
                Error::Input(m)
            } else {
                Error::at(span, m)
            }
        };
        let (name, inner) = split_call(text).unwrap_or((text, ""));
        let key = name.to_ascii_lowercase();
        let Some(def) = self.defs.get(&key) else {
            return Err(err(format!("{name:?} is not a parameterised stage")));
        };
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        for a in split_args(inner) {
            let Some((k, v)) = a.split_once('=') else {
                return Err(err(format!(
                    "stage argument {:?} must be NAME=value",
                    a.trim()
                )));
            };
            let k = k.trim();
            if !def.params.iter().any(|(p, _)| p == k) {
                return Err(err(format!(
                    "unknown parameter {k} for stage {key:?} (its parameters: {})",
                    def.params
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let v = v.trim();
            let value = if v.contains('$') && !for_target {
                // No value past the bound is ever made, however it would expand.
                let lexer = Lexer {
                    max_len: MAX_ARGUMENT,
                    ..Lexer::new(self.escape)
                };
                let probe = lexer.expand_word(v, &self.globals).map_err(|e| match e {
                    ExpandError::TooLong { .. } => err(format!(
                        "argument {k} of stage {key:?} is more than {MAX_ARGUMENT} bytes long{}",
                        match self.current {
                            Some(_) => format!("; instances: {}", self.chain(None)),
                            None => String::new(),
                        }
                    )),
                    e => err(e.to_string()),
                })?;
                if let Some(name) = probe.unset.iter().next() {
                    return Err(err(format!(
                        "unknown variable {name} in the arguments of stage {key:?}: a reference sees the global ARGs (declare it before the first FROM)"
                    )));
                }
                probe.value
            } else {
                unquote(v)
            };
            given.insert(k.to_owned(), value);
        }
        let shown = format!(
            "{name}({})",
            split_args(inner)
                .iter()
                .filter_map(|a| a.split_once('='))
                .map(|(k, _)| format!("{}={}", k.trim(), given[k.trim()]))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut values = Vec::new();
        for (p, default) in &def.params {
            match given.get(p).or(default.as_ref()) {
                Some(v) => values.push((p.clone(), v.clone())),
                None => {
                    return Err(err(format!(
                        "missing parameter {p} for stage {key:?} (it has no default)"
                    )))
                }
            }
        }
        // Bounds first: nothing is made of a value past them (see `bounds`).
        let link = bounds::instance(&key, &values);
        let chain = |r: &Self| {
            if for_target {
                String::new()
            } else {
                format!("; instances: {}", r.chain(Some(link.clone())))
            }
        };
        if let Some((p, v)) = values.iter().find(|(_, v)| v.len() > MAX_ARGUMENT) {
            return Err(err(format!(
                "argument {p} of stage {key:?} is {} bytes long, more than {MAX_ARGUMENT}{}",
                v.len(),
                chain(self)
            )));
        }
        if let Some((_, inst)) = def.instances.iter().find(|(v, _)| *v == values) {
            return Ok((inst.clone(), shown));
        }
        self.count += 1;
        if self.count > MAX_INSTANCES {
            return Err(err(format!(
                "more than {MAX_INSTANCES} instances of parameterised stages{}",
                chain(self)
            )));
        }
        let mut inst = key.clone();
        for (p, v) in &values {
            inst.push('.');
            inst.push_str(&sanitize(p));
            inst.push('-');
            inst.push_str(&sanitize(v));
        }
        if inst.len() > MAX_INSTANCE_NAME {
            return Err(err(format!(
                "the instance of stage {key:?} would be named with {} bytes, more than {MAX_INSTANCE_NAME}{}",
                inst.len(),
                chain(self)
            )));
        }
        let base = inst.clone();
        let mut n = 2;
        while self.used.contains(&inst) {
            inst = format!("{base}-{n}");
            n += 1;
        }
        self.used.push(inst.clone());
        if let Some(def) = self.defs.get_mut(&key) {
            def.instances.push((values.clone(), inst.clone()));
        }
        self.instances
            .push((link, if for_target { None } else { self.current }));
        self.pending
            .push((key, values, inst.clone(), self.instances.len() - 1));
        Ok((inst, shown))
    }

    fn instruction(&mut self, ins: &mut Instruction) -> Result<()> {
        if ins.keyword == "from" {
            return self.rewrite_base(ins);
        }
        let mut i = 0;
        while i < ins.flags.len() {
            let name = ins.flags[i].name.clone();
            if name == "from" || name == "mount" {
                if let Some(mut value) = ins.flags[i].value.clone() {
                    if value.contains('(') {
                        complete(&mut value, &mut ins.args);
                        let span = ins.flags[i].span;
                        let raw = value.clone();
                        let (rewritten, shown) = if name == "from" {
                            if self.is_template(&value) {
                                self.reference(&value, span, false)?
                            } else {
                                (value.clone(), value)
                            }
                        } else {
                            self.mount(&value, span)?
                        };
                        show(ins, &raw, &shown);
                        value = rewritten;
                        ins.flags[i].value = Some(value);
                    }
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// `from=name(…)` inside a `--mount` value: the value rewritten, and as shown.
    fn mount(&mut self, value: &str, span: Span) -> Result<(String, String)> {
        let mut fields: Vec<String> = Vec::new();
        let mut cur = String::new();
        let mut depth = 0i64;
        for c in value.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    fields.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        fields.push(cur);
        let mut shown = fields.clone();
        for (f, s) in fields.iter_mut().zip(shown.iter_mut()) {
            if let Some(r) = f.strip_prefix("from=") {
                if r.contains('(') && self.is_template(r) {
                    let (inst, as_shown) = self.reference(r, span, false)?;
                    *f = format!("from={inst}");
                    *s = format!("from={as_shown}");
                }
            }
        }
        Ok((fields.join(","), shown.join(",")))
    }

    fn rewrite_base(&mut self, from: &mut Instruction) -> Result<()> {
        let Args::Words(words) = &mut from.args else {
            return Ok(());
        };
        let Some(first) = words.first() else {
            return Ok(());
        };
        if !first.text.contains('(') {
            return Ok(());
        }
        // Rejoin the base until its parentheses balance.
        let mut n = 1;
        let mut text = first.text.clone();
        let mut span = first.span;
        while balance(&text) > 0 && n < words.len() {
            text.push(' ');
            text.push_str(&words[n].text);
            span = span.cover(words[n].span);
            n += 1;
        }
        if !self.is_template(&text) {
            return Ok(());
        }
        let (inst, shown) = self.reference(&text, span, false)?;
        words.splice(0..n, [Word { text: inst, span }]);
        show(from, &text, &shown);
        Ok(())
    }
}

/// Shows a reference whose values used variables with the values (in the instruction's
/// original text, which progress names and history come from).
fn show(ins: &mut Instruction, raw: &str, shown: &str) {
    if raw != shown && raw.contains('$') {
        ins.original = ins.original.replacen(raw, shown, 1);
    }
}

/// Appends to an unbalanced flag value the words (or shell text) that complete it.
fn complete(value: &mut String, args: &mut Args) {
    match args {
        Args::Words(words) => {
            let mut n = 0;
            while balance(value) > 0 && n < words.len() {
                value.push(' ');
                value.push_str(&words[n].text);
                n += 1;
            }
            words.drain(..n);
        }
        Args::Shell(w) => {
            while balance(value) > 0 && !w.text.is_empty() {
                let trimmed = w.text.trim_start();
                let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
                value.push(' ');
                value.push_str(&trimmed[..end]);
                let skip = w.text.len() - trimmed.len() + end;
                w.text = w.text[skip..].trim_start().to_owned();
                let adv = u32::try_from(skip).unwrap_or(0);
                w.span.start = w.span.start.saturating_add(adv).min(w.span.end);
            }
        }
        _ => {}
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
