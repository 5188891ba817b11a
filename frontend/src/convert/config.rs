//! Instructions that edit the image config (ENV, ARG, USER, LABEL, EXPOSE, CMD, …) and
//! `WORKDIR`, which edits the config and also creates the directory.

use std::collections::BTreeMap;

use strata_proto::llb::{FileOp, MkdirAction};

use super::copy::parse_chown;
use super::names::uppercase_cmd;
use super::run::shell;
use super::{paths, Dispatch, StageCtx};
use crate::error::{Error, Result};
use crate::image::{Empty, HealthConfig};
use crate::instructions::{CommandKind, Form, Healthcheck, Source};
use crate::scope;
use crate::syntax::Word;

pub(crate) fn dispatch_workdir(
    d: &mut Dispatch,
    w: &Word,
    src: &Source,
    ctx: &StageCtx<'_>,
) -> Result<()> {
    let path = ctx.expand(d, &w.text, w.span)?;
    let current = d.image.config.working_dir.clone().unwrap_or_default();
    let wd = paths::workdir(&current, &path);
    d.image.config.working_dir = Some(wd.clone());
    d.dir.clone_from(&wd);
    if wd != "/" {
        let owner = d
            .image
            .config
            .user
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(parse_chown);
        let shown = ctx
            .lexer
            .expand_word(src.original.trim(), &d.env)
            .map(|e| e.value)
            .unwrap_or_else(|_| src.original.trim().to_owned());
        let name = d.names.next(&uppercase_cmd(&shown));
        d.fs = FileOp::new(d.fs.clone())
            .mkdir(MkdirAction {
                path: paths::clean(&wd),
                mode: 0o755,
                make_parents: true,
                owner,
                // Nanoseconds, as upstream's `WithCreatedTime` marshals it.
                timestamp: ctx.epoch.map(|s| s.saturating_mul(1_000_000_000)),
            })
            .meta(ctx.op_meta(name, src))
            .build();
    }
    d.image.history.push(crate::image::History {
        created_by: Some(format!("WORKDIR {wd}")),
        comment: Some("buildkit.dockerfile.v0".to_owned()),
        empty_layer: wd == "/",
        ..Default::default()
    });
    Ok(())
}

fn form_args(d: &Dispatch, f: &Form) -> Vec<String> {
    match f {
        Form::Exec(words) => words.iter().map(|w| w.text.clone()).collect(),
        Form::Shell(cmd) => {
            let mut args = shell(d);
            args.push(cmd.text.clone());
            args
        }
    }
}

/// Go's `%q` of a string slice: `["a" "b"]`, as BuildKit writes CMD history.
fn go_quoted(args: &[String]) -> String {
    let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

/// `ENV`/`LABEL` pairs, every key and value expanded against the environment *before* the
/// instruction (so `ENV A=1 B=$A` sees the old `A`, as in BuildKit).
fn expand_pairs(
    d: &Dispatch,
    pairs: &[(Word, Word)],
    ctx: &StageCtx<'_>,
) -> Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|(k, v)| {
            Ok((
                ctx.expand(d, &k.text, k.span)?,
                ctx.expand(d, &v.text, v.span)?,
            ))
        })
        .collect()
}

pub(crate) fn dispatch_config(
    d: &mut Dispatch,
    kind: &CommandKind,
    ctx: &StageCtx<'_>,
) -> Result<()> {
    match kind {
        CommandKind::Env(pairs) => {
            let mut shown = Vec::new();
            for (k, v) in expand_pairs(d, pairs, ctx)? {
                d.image.set_env(&k, &v);
                d.add_env(&k, &v);
                shown.push(format!("{k}={v}"));
            }
            d.image
                .add_history(format!("ENV {}", shown.join(" ")), true);
        }
        CommandKind::Arg(decls) => {
            // As dockerfile 1.26 `dispatchArg`: names are taken as written; the value is
            // `scope::stage_arg`'s, a default expanded against the environment including the
            // declarations before it in this instruction (`ARG A=1 B=$A` gives B=1).
            let mut shown = Vec::new();
            for decl in decls {
                let name = decl.name.text.clone();
                let (value, _) = scope::stage_arg(
                    ctx.inputs.opts,
                    &name,
                    decl.default.as_ref(),
                    |w| ctx.expand(d, &w.text, w.span).map(Some),
                    ctx.meta_args,
                )?;
                // History names the value the step got (build arg, default or global).
                shown.push(match &value {
                    Some(v) => format!("{name}={v}"),
                    None => name.clone(),
                });
                if let Some(v) = &value {
                    if scope::is_env_arg(&name) {
                        d.add_env(&name, v);
                    }
                }
                // `RUN |N …` history names each declared ARG once (`run_history`).
                d.args.push((name, value));
            }
            d.image
                .add_history(format!("ARG {}", shown.join(" ")), true);
        }
        CommandKind::Label(pairs) => {
            let mut shown = Vec::new();
            let expanded = expand_pairs(d, pairs, ctx)?;
            let labels = d.image.config.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in expanded {
                shown.push(format!("{k}={v}"));
                labels.insert(k, v);
            }
            d.image
                .add_history(format!("LABEL {}", shown.join(" ")), true);
        }
        CommandKind::User(w) => {
            let user = ctx.expand(d, &w.text, w.span)?;
            d.image.config.user = Some(user.clone());
            d.user.clone_from(&user);
            d.image.add_history(format!("USER {user}"), true);
        }
        CommandKind::Expose(words) => {
            // As docker/dockerfile: the words are sorted as written (before expansion),
            // then each expands to its ports in order; history lists them all, duplicates
            // included (`EXPOSE 9000-9001/udp 80` → `EXPOSE [80/tcp 9000/udp 9001/udp]`).
            let mut sorted: Vec<_> = words.iter().collect();
            sorted.sort_by(|a, b| a.text.cmp(&b.text));
            let mut ports = Vec::new();
            for w in sorted {
                let expanded = ctx
                    .lexer
                    .expand_words(&w.text, &d.env)
                    .map_err(|e| Error::at(w.span, e.to_string()))?;
                for p in expanded {
                    ports.extend(parse_ports(&p).map_err(|m| Error::at(w.span, m))?);
                }
            }
            let set = d
                .image
                .config
                .exposed_ports
                .get_or_insert_with(BTreeMap::new);
            for p in &ports {
                set.insert(p.clone(), Empty {});
            }
            d.image
                .add_history(format!("EXPOSE [{}]", ports.join(" ")), true);
        }
        CommandKind::Volume(words) => {
            let mut vols = Vec::new();
            for w in words {
                let v = ctx.expand(d, &w.text, w.span)?;
                if v.is_empty() {
                    return Err(Error::at(
                        w.span,
                        "VOLUME specified can not be an empty string",
                    ));
                }
                vols.push(v);
            }
            let set = d.image.config.volumes.get_or_insert_with(BTreeMap::new);
            for v in &vols {
                set.insert(v.clone(), Empty {});
            }
            d.image
                .add_history(format!("VOLUME [{}]", vols.join(" ")), true);
        }
        CommandKind::Cmd(f) => {
            let args = form_args(d, f);
            d.image
                .add_history(format!("CMD {}", go_quoted(&args)), true);
            // BuildKit's image config omits an empty Cmd (`omitempty`): `CMD []` leaves none.
            d.image.config.cmd = (!args.is_empty()).then_some(args);
            d.image.config.args_escaped = Some(true);
            d.cmd_set = true;
        }
        CommandKind::Entrypoint(f) => {
            let args = form_args(d, f);
            d.image
                .add_history(format!("ENTRYPOINT {}", go_quoted(&args)), true);
            // As for CMD: `ENTRYPOINT []` leaves no Entrypoint at all.
            d.image.config.entrypoint = (!args.is_empty()).then_some(args);
            if !d.cmd_set {
                d.image.config.cmd = None;
            }
        }
        CommandKind::Shell(words) => {
            let args: Vec<String> = words.iter().map(|w| w.text.clone()).collect();
            d.image
                .add_history(format!("SHELL [{}]", args.join(" ")), true);
            d.image.config.shell = Some(args);
        }
        CommandKind::StopSignal(w) => {
            let sig = ctx.expand(d, &w.text, w.span)?;
            if !is_signal(&sig) {
                return Err(Error::at(w.span, format!("Invalid signal: {sig}")));
            }
            d.image.add_history(format!("STOPSIGNAL {sig}"), true);
            d.image.config.stop_signal = Some(sig);
        }
        CommandKind::Healthcheck(h) => {
            let config = match h {
                Healthcheck::None => HealthConfig {
                    test: Some(vec!["NONE".to_owned()]),
                    ..Default::default()
                },
                Healthcheck::Cmd { form, options } => {
                    let test = match form {
                        Form::Shell(w) => vec!["CMD-SHELL".to_owned(), w.text.clone()],
                        Form::Exec(words) => {
                            let mut t = vec!["CMD".to_owned()];
                            t.extend(words.iter().map(|w| w.text.clone()));
                            t
                        }
                    };
                    let mut hc = HealthConfig {
                        test: Some(test),
                        ..Default::default()
                    };
                    for (name, value) in options {
                        if name == "retries" {
                            let n: i64 = value.text.parse().map_err(|_| {
                                Error::at(
                                    value.span,
                                    format!("invalid retries value {:?}", value.text),
                                )
                            })?;
                            if n < 0 {
                                return Err(Error::at(value.span, "--retries cannot be negative"));
                            }
                            hc.retries = n;
                            continue;
                        }
                        let ns = parse_duration(&value.text).ok_or_else(|| {
                            Error::at(
                                value.span,
                                format!("time: invalid duration {:?}", value.text),
                            )
                        })?;
                        if ns != 0 && ns < 1_000_000 {
                            return Err(Error::at(
                                value.span,
                                format!("{name} cannot be less than 1ms"),
                            ));
                        }
                        match name.as_str() {
                            "interval" => hc.interval = ns,
                            "timeout" => hc.timeout = ns,
                            "start-period" => hc.start_period = ns,
                            _ => hc.start_interval = ns,
                        }
                    }
                    hc
                }
            };
            // Go's `%q` of the config struct, which is what BuildKit writes.
            let test = config.test.clone().unwrap_or_default();
            d.image.add_history(
                format!(
                    "HEALTHCHECK &{{{} {:?} {:?} {:?} {:?} {}}}",
                    go_quoted(&test),
                    go_duration(config.interval),
                    go_duration(config.timeout),
                    go_duration(config.start_period),
                    go_duration(config.start_interval),
                    go_quote_rune(config.retries),
                ),
                true,
            );
            d.image.config.healthcheck = Some(config);
        }
        CommandKind::OnBuild(trigger) => {
            d.image
                .config
                .on_build
                .get_or_insert_with(Vec::new)
                .push(trigger.clone());
        }
        CommandKind::Maintainer(w) => {
            d.image.author = Some(w.text.clone());
            d.image.add_history(format!("MAINTAINER {}", w.text), true);
        }
        CommandKind::Run(_)
        | CommandKind::Check(_)
        | CommandKind::Copy(_)
        | CommandKind::Workdir(_) => {}
    }
    Ok(())
}

/// `80`, `80/udp`, `8000-8002/tcp` → `["80/tcp"]`, … (Docker's port specs).
fn parse_ports(spec: &str) -> std::result::Result<Vec<String>, String> {
    let (ports, proto) = match spec.split_once('/') {
        Some((p, "")) => (p, "tcp".to_owned()),
        Some((p, proto)) => {
            let lower = proto.to_ascii_lowercase();
            if !matches!(lower.as_str(), "tcp" | "udp" | "sctp") {
                return Err(format!("invalid proto: {proto}"));
            }
            (p, lower)
        }
        None => (spec, "tcp".to_owned()),
    };
    // `ip:host:container` maps; only the container port matters for the image.
    let ports = ports.rsplit(':').next().unwrap_or(ports);
    let bad = || format!("invalid containerPort: {ports}");
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = ports.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(format!(
            "invalid range specified for container port: {ports}"
        ));
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

/// Go's `time.Duration.String()`: `0s`, `1.5s`, `1m30s`, `1h0m0s`, `500ms`, `2µs`.
fn go_duration(ns: i64) -> String {
    fn frac(v: u64, digits: u32) -> String {
        let scale = 10u64.pow(digits);
        let (int, rest) = (v / scale, v % scale);
        if rest == 0 {
            return int.to_string();
        }
        let digits = format!("{rest:0width$}", width = digits as usize);
        format!("{int}.{}", digits.trim_end_matches('0'))
    }
    if ns == 0 {
        return "0s".to_owned();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    let body = if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", frac(u, 3))
    } else if u < 1_000_000_000 {
        format!("{}ms", frac(u, 6))
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let s = frac(u % 60_000_000_000, 9);
        if h > 0 {
            format!("{h}h{m}m{s}s")
        } else if m > 0 {
            format!("{m}m{s}s")
        } else {
            format!("{s}s")
        }
    };
    format!("{sign}{body}")
}

/// Go's `%q` of an integer: the quoted rune (`'\x03'`, `'A'`).
fn go_quote_rune(n: i64) -> String {
    let inner = match u32::try_from(n).ok().and_then(char::from_u32) {
        Some('\x07') => "\\a".to_owned(),
        Some('\x08') => "\\b".to_owned(),
        Some('\t') => "\\t".to_owned(),
        Some('\n') => "\\n".to_owned(),
        Some('\x0b') => "\\v".to_owned(),
        Some('\x0c') => "\\f".to_owned(),
        Some('\r') => "\\r".to_owned(),
        Some('\'') => "\\'".to_owned(),
        Some('\\') => "\\\\".to_owned(),
        Some(c) if (c as u32) < 0x20 || c as u32 == 0x7f => format!("\\x{:02x}", c as u32),
        Some(c) if (c as u32) < 0x80 || !c.is_control() => c.to_string(),
        Some(c) => format!("\\u{:04x}", c as u32),
        None => "\\ufffd".to_owned(),
    };
    format!("'{inner}'")
}

/// Go's `time.ParseDuration` → nanoseconds.
fn parse_duration(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    Some(total as i64)
}

fn is_signal(s: &str) -> bool {
    const NAMES: &[&str] = &[
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
    ];
    if s.parse::<u32>().is_ok_and(|n| n > 0) {
        return true;
    }
    let name = s.strip_prefix("SIG").unwrap_or(s);
    NAMES.contains(&name)
        || name
            .strip_prefix("RTMIN")
            .or_else(|| name.strip_prefix("RTMAX"))
            .is_some_and(|r| {
                r.is_empty() || r.trim_start_matches(['+', '-']).parse::<u32>().is_ok()
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_durations_signals() {
        assert_eq!(parse_ports("80").unwrap(), ["80/tcp"]);
        assert_eq!(parse_ports("53/UDP").unwrap(), ["53/udp"]);
        assert_eq!(parse_ports("8000-8002").unwrap().len(), 3);
        assert!(parse_ports("http").is_err());
        assert_eq!(parse_ports("80/").unwrap(), ["80/tcp"]);
        assert_eq!(parse_ports("80/xyz").unwrap_err(), "invalid proto: xyz");
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(500_000_000), "500ms");
        assert_eq!(go_quote_rune(3), "'\\x03'");
        assert_eq!(go_quote_rune(0), "'\\x00'");
        assert_eq!(go_quote_rune(65), "'A'");
        assert_eq!(go_quote_rune(10), "'\\n'");
        assert!(is_signal("SIGTERM") && is_signal("9") && is_signal("SIGRTMIN+3"));
        assert!(!is_signal("SIGFOO"));
        assert_eq!(
            go_quoted(&["a b".into(), "c\"".into()]),
            "[\"a b\" \"c\\\"\"]"
        );
    }
}
