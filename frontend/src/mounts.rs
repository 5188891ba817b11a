//! `RUN --mount=…` specs: `type=bind|cache|tmpfs|secret|ssh` with their options, parsed
//! from the comma-separated form (each value expanded on its own, as docker/dockerfile 1.26
//! does) with BuildKit's defaults and errors.

/// The kind of mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountType {
    /// Files from the context or another stage.
    Bind,
    /// A persistent cache directory.
    Cache,
    /// An in-memory filesystem.
    Tmpfs,
    /// A secret file.
    Secret,
    /// An SSH agent socket.
    Ssh,
}

/// Cache sharing mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// Concurrent builds share the directory.
    Shared,
    /// Each concurrent build gets its own copy.
    Private,
    /// Concurrent builds wait for each other.
    Locked,
}

/// One parsed `--mount`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountSpec {
    /// The kind.
    pub kind: MountType,
    /// Where it appears in the container, as written: empty means the working directory
    /// (bind, cache, tmpfs) or no file at all (a secret with `env`).
    pub target: String,
    /// Path inside `from` (or the context) to mount.
    pub source: Option<String>,
    /// Stage or image to mount from; `None` means the build context.
    pub from: Option<String>,
    /// Read-only (binds default to read-only).
    pub readonly: bool,
    /// Cache / secret / ssh id.
    pub id: Option<String>,
    /// Cache sharing, when set.
    pub sharing: Option<Sharing>,
    /// File mode.
    pub mode: Option<u32>,
    /// Owner uid.
    pub uid: Option<u32>,
    /// Owner gid.
    pub gid: Option<u32>,
    /// Tmpfs size in bytes.
    pub size: Option<i64>,
    /// Secret / ssh: fail when missing.
    pub required: bool,
    /// Secret: also (or only, without `target`) exposed as this environment variable.
    pub env: Option<String>,
}

/// The raw value of the first field named one of `keys` in an unexpanded `--mount` value:
/// the planner needs `from` before anything is expanded.
pub fn raw_field(text: &str, keys: &[&str]) -> Option<String> {
    split_csv(text).into_iter().find_map(|f| {
        let (k, v) = f.split_once('=')?;
        keys.iter()
            .any(|key| k.trim().eq_ignore_ascii_case(key))
            .then(|| v.to_owned())
    })
}

/// Upstream's parse-time check of a `from` value: a `$` anywhere but at the end is a
/// variable, which `from` does not support.
pub fn from_has_variable(from: &str) -> bool {
    from.find('$').is_some_and(|i| i != from.len() - 1)
}

/// Parses one `--mount` value whose values need no expansion (tests).
#[cfg(test)]
fn parse(text: &str) -> Result<MountSpec, String> {
    parse_with(text, |v| Ok(v.to_owned()))
}

/// Parses one `--mount` value as upstream's `parseMount` does at dispatch: fields split
/// first, then every `key=value`'s value expanded with `expand` (the stage's environment at
/// the `RUN`), then interpreted in order (a `required` or `size` before `type=` is checked
/// against the default type, as upstream does).
pub fn parse_with(
    text: &str,
    mut expand: impl FnMut(&str) -> Result<String, String>,
) -> Result<MountSpec, String> {
    let mut m = MountSpec {
        kind: MountType::Bind,
        target: String::new(),
        source: None,
        from: None,
        readonly: true,
        id: None,
        sharing: None,
        mode: None,
        uid: None,
        gid: None,
        size: None,
        required: false,
        env: None,
    };
    let mut ro_auto = true;
    for f in split_csv(text) {
        let Some((key, value)) = f.split_once('=') else {
            match f.to_ascii_lowercase().as_str() {
                "readonly" | "ro" => (m.readonly, ro_auto) = (true, false),
                "readwrite" | "rw" => (m.readonly, ro_auto) = (false, false),
                "required" if matches!(m.kind, MountType::Secret | MountType::Ssh) => {
                    m.required = true
                }
                "required" => {
                    return Err(format!(
                        "unexpected key 'required' for mount type '{}'",
                        m.kind.name()
                    ))
                }
                _ => return Err(format!("invalid field '{f}' must be a key=value pair")),
            }
            continue;
        };
        let key = key.to_ascii_lowercase();
        let value = expand(value)?;
        let boolean =
            |v: &str| go_parse_bool(v).ok_or_else(|| format!("invalid value for {key}: {v}"));
        let number = |v: &str, radix: u32| {
            u32::from_str_radix(v, radix).map_err(|_| format!("invalid value {v} for {key}"))
        };
        match key.as_str() {
            "type" => {
                m.kind = match value.to_ascii_lowercase().as_str() {
                    "bind" => MountType::Bind,
                    "cache" => MountType::Cache,
                    "tmpfs" => MountType::Tmpfs,
                    "secret" => MountType::Secret,
                    "ssh" => MountType::Ssh,
                    _ => return Err(format!("unsupported mount type {value:?}")),
                };
            }
            // An empty `from=` means the build context.
            "from" => m.from = Some(value).filter(|f| !f.is_empty()),
            "source" | "src" => m.source = Some(value),
            "target" | "dst" | "destination" => m.target = value,
            "readonly" | "ro" => (m.readonly, ro_auto) = (boolean(&value)?, false),
            "readwrite" | "rw" => (m.readonly, ro_auto) = (!boolean(&value)?, false),
            "required" if matches!(m.kind, MountType::Secret | MountType::Ssh) => {
                m.required = boolean(&value)?
            }
            "size" if m.kind == MountType::Tmpfs => {
                m.size = Some(
                    parse_size(&value).ok_or_else(|| format!("invalid value for size: {value}"))?,
                )
            }
            "required" | "size" => {
                return Err(format!(
                    "unexpected key '{key}' for mount type '{}'",
                    m.kind.name()
                ))
            }
            "id" => m.id = Some(value),
            "sharing" => {
                m.sharing = Some(match value.to_ascii_lowercase().as_str() {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    _ => return Err(format!("unsupported sharing value {value:?}")),
                })
            }
            "mode" => m.mode = Some(number(&value, 8)?),
            "uid" => m.uid = Some(number(&value, 10)?),
            "gid" => m.gid = Some(number(&value, 10)?),
            "env" => m.env = Some(value),
            _ => return Err(format!("unexpected key '{key}' in '{f}'")),
        }
    }
    if matches!(m.kind, MountType::Bind | MountType::Tmpfs) {
        for (name, set) in [
            ("mode", m.mode.is_some()),
            ("uid", m.uid.is_some()),
            ("gid", m.gid.is_some()),
        ] {
            if set {
                return Err(format!(
                    "{name} not allowed for {:?} type mounts",
                    m.kind.name()
                ));
            }
        }
    }
    if ro_auto {
        m.readonly = !matches!(m.kind, MountType::Cache | MountType::Tmpfs);
    }
    if m.sharing.is_some() && m.kind != MountType::Cache {
        if m.kind == MountType::Secret {
            return Err("secret mount should not define sharing".to_owned());
        }
        return Err(format!(
            "invalid cache sharing set for {} mount",
            m.kind.name()
        ));
    }
    match m.kind {
        MountType::Secret => secret_defaults(&mut m)?,
        MountType::Ssh => {
            // The default target (`/run/buildkit/ssh_agent.<n>`) depends on the mount's
            // place among the command's SSH mounts: the converter sets it.
            if m.source.as_deref().is_some_and(|s| !s.is_empty()) {
                return Err("ssh does not support source".to_owned());
            }
            if m.id.as_deref().is_none_or(str::is_empty) {
                m.id = Some("default".to_owned());
            }
        }
        _ => {}
    }
    Ok(m)
}

/// A secret's checks and defaults (upstream's `parseMount` and `dispatchSecret`): the id
/// is `source`, else `id`, else the target's base name; the file goes to `target`, else
/// `/run/secrets/<id>` unless `env` alone was asked for.
fn secret_defaults(m: &mut MountSpec) -> Result<(), String> {
    if m.from.is_some() {
        return Err("secret mount should not have a from".to_owned());
    }
    let source = m.source.take().filter(|s| !s.is_empty());
    let id = m.id.take().filter(|s| !s.is_empty());
    if source.is_none() && m.target.is_empty() && id.is_none() {
        return Err("invalid secret mount. one of source, target required".to_owned());
    }
    if source.is_some() && id.is_some() {
        return Err("both source and id can't be set".to_owned());
    }
    let id = match source.or(id) {
        Some(id) => id,
        None => base_name(&m.target),
    };
    if m.env.is_none() && m.target.is_empty() {
        m.target = format!("/run/secrets/{}", base_name(&id));
    }
    m.id = Some(id);
    Ok(())
}

/// Go's `path.Base`.
fn base_name(p: &str) -> String {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return if p.is_empty() {
            ".".to_owned()
        } else {
            "/".to_owned()
        };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl MountType {
    /// The name as written in `type=`.
    pub fn name(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

fn parse_size(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: i64 = s[..digits_end].parse().ok()?;
    let mult = match s[digits_end..].trim_end_matches('b').trim_end_matches('i') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Splits on commas outside double quotes, removing the quotes (Go's csv reader).
pub(crate) fn split_csv(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().filter(|f| !f.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_defaults_to_read_only_context() {
        let m = parse("target=/src").unwrap();
        assert_eq!(
            (m.kind, m.readonly, m.from.clone()),
            (MountType::Bind, true, None)
        );
        let m = parse("type=bind,from=build,source=/out,target=/in,rw").unwrap();
        assert_eq!(
            (m.from.as_deref(), m.source.as_deref(), m.readonly),
            (Some("build"), Some("/out"), false)
        );
    }

    #[test]
    fn cache_and_secret_options() {
        let m = parse("type=cache,target=/root/.cache,sharing=locked,mode=0700,uid=1000").unwrap();
        assert_eq!(
            (m.kind, m.sharing, m.mode, m.uid),
            (
                MountType::Cache,
                Some(Sharing::Locked),
                Some(0o700),
                Some(1000)
            )
        );
        assert!(!m.readonly);
        let s = parse("type=secret,id=tok").unwrap();
        assert_eq!(s.target, "/run/secrets/tok");
        let s = parse("type=secret,target=/etc/key").unwrap();
        assert_eq!(s.id.as_deref(), Some("key"));
        let e = parse("type=secret,id=tok,env=TOKEN").unwrap();
        assert_eq!((e.target.as_str(), e.env.as_deref()), ("", Some("TOKEN")));
        let e = parse("type=secret,id=tok,env=TOKEN,target=/t").unwrap();
        assert_eq!((e.target.as_str(), e.env.as_deref()), ("/t", Some("TOKEN")));
        // No target: the working directory, decided by the converter.
        assert_eq!(parse("type=cache").unwrap().target, "");
        let t = parse("type=tmpfs,target=/t,size=64m").unwrap();
        assert_eq!(t.size, Some(64 << 20));
    }

    #[test]
    fn rejects_bad_specs() {
        assert_eq!(
            parse("type=nfs,target=/x").unwrap_err(),
            "unsupported mount type \"nfs\""
        );
        assert_eq!(
            parse("type=bind,target=/x,mode=0600").unwrap_err(),
            "mode not allowed for \"bind\" type mounts"
        );
        assert_eq!(
            parse("required,type=secret,id=a").unwrap_err(),
            "unexpected key 'required' for mount type 'bind'"
        );
        assert_eq!(
            parse("type=secret,id=a,from=x").unwrap_err(),
            "secret mount should not have a from"
        );
        assert_eq!(
            parse("type=tmpfs,sharing=locked").unwrap_err(),
            "invalid cache sharing set for tmpfs mount"
        );
        assert!(parse("target=/x,colour=red")
            .unwrap_err()
            .contains("unexpected key 'colour'"));
        assert!(parse("type=cache,target=/x,sharing=maybe").is_err());
    }
}
