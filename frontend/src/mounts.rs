//! `RUN --mount=…` specs: `type=bind|cache|tmpfs|secret|ssh` with their options, parsed
//! from the (already expanded) comma-separated form with BuildKit's defaults and errors.

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
    /// Where it appears in the container.
    pub target: String,
    /// Path inside `from` (or the context) to mount.
    pub source: Option<String>,
    /// Stage or image to mount from; `None` means the build context.
    pub from: Option<String>,
    /// Read-only (binds default to read-only).
    pub readonly: bool,
    /// Cache / secret / ssh id.
    pub id: Option<String>,
    /// Cache sharing.
    pub sharing: Sharing,
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
}

/// The raw value of the first field named one of `keys` in an unexpanded `--mount` value:
/// the planner needs `from` (which BuildKit never expands) before anything is expanded.
pub fn raw_field(text: &str, keys: &[&str]) -> Option<String> {
    split_csv(text).into_iter().find_map(|f| {
        let (k, v) = f.split_once('=')?;
        keys.iter()
            .any(|key| k.trim().eq_ignore_ascii_case(key))
            .then(|| v.to_owned())
    })
}

/// Parses one `--mount` value.
pub fn parse(text: &str) -> Result<MountSpec, String> {
    let mut m = MountSpec {
        kind: MountType::Bind,
        target: String::new(),
        source: None,
        from: None,
        readonly: true,
        id: None,
        sharing: Sharing::Shared,
        mode: None,
        uid: None,
        gid: None,
        size: None,
        required: false,
    };
    let fields = split_csv(text);
    // `type` decides the defaults, so read it first wherever it is.
    for f in &fields {
        if let Some(("type", v)) = f.split_once('=').map(|(k, v)| (k.trim(), v)) {
            m.kind = match v.to_ascii_lowercase().as_str() {
                "bind" => MountType::Bind,
                "cache" => MountType::Cache,
                "tmpfs" => MountType::Tmpfs,
                "secret" => MountType::Secret,
                "ssh" => MountType::Ssh,
                other => return Err(format!("unsupported mount type {other:?}")),
            };
        }
    }
    m.readonly = matches!(m.kind, MountType::Bind | MountType::Secret | MountType::Ssh);
    for f in &fields {
        let (key, value) = match f.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.to_owned())),
            None => (f.trim().to_ascii_lowercase(), None),
        };
        let need = |v: &Option<String>| {
            v.clone()
                .ok_or_else(|| format!("invalid field '{f}' must be a key=value pair"))
        };
        let boolean = |v: &Option<String>| match v.as_deref() {
            None => Ok(true),
            Some(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(format!("invalid value for {key}: {s}")),
            },
        };
        let number = |v: &Option<String>, radix: u32| -> Result<u32, String> {
            let s = need(v)?;
            u32::from_str_radix(&s, radix).map_err(|_| format!("invalid value for {key}: {s}"))
        };
        match key.as_str() {
            "type" => {}
            "target" | "dst" | "destination" => m.target = need(&value)?,
            "source" | "src" => m.source = Some(need(&value)?),
            // An empty `from=` means the build context, as in BuildKit 0.13.
            "from" => m.from = Some(need(&value)?).filter(|f| !f.is_empty()),
            "readonly" | "ro" => {
                m.readonly = boolean(&value)?;
            }
            "readwrite" | "rw" => {
                m.readonly = !boolean(&value)?;
            }
            "id" => m.id = Some(need(&value)?),
            "sharing" => {
                m.sharing = match need(&value)?.to_ascii_lowercase().as_str() {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    other => return Err(format!("unsupported sharing value {other:?}")),
                }
            }
            "mode" => m.mode = Some(number(&value, 8)?),
            "uid" => m.uid = Some(number(&value, 10)?),
            "gid" => m.gid = Some(number(&value, 10)?),
            "size" => {
                let s = need(&value)?;
                m.size =
                    Some(parse_size(&s).ok_or_else(|| format!("invalid value for size: {s}"))?);
            }
            "required" => m.required = boolean(&value)?,
            _ => return Err(format!("unexpected key '{key}' in '{f}'")),
        }
    }
    match m.kind {
        MountType::Secret => {
            // For secrets `source` names the secret, like `id`.
            match (&m.id, m.source.take()) {
                (Some(_), Some(_)) => return Err("both source and id can't be set".to_owned()),
                (None, Some(src)) => m.id = Some(src),
                _ => {}
            }
            if m.id.is_none() {
                if m.target.is_empty() {
                    return Err("one of source, target required".to_owned());
                }
                m.id = m.target.rsplit('/').next().map(str::to_owned);
            }
            if m.target.is_empty() {
                m.target = format!("/run/secrets/{}", m.id.clone().unwrap_or_default());
            }
        }
        MountType::Ssh => {
            if m.target.is_empty() {
                m.target = "/run/buildkit/ssh_agent.0".to_owned();
            }
            if m.id.is_none() {
                m.id = Some("default".to_owned());
            }
        }
        _ => {
            if m.target.is_empty() {
                return Err("mount destination is required".to_owned());
            }
        }
    }
    if m.kind == MountType::Tmpfs && m.from.is_some() {
        return Err("from is not supported for tmpfs mounts".to_owned());
    }
    Ok(m)
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
fn split_csv(text: &str) -> Vec<String> {
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
            (MountType::Cache, Sharing::Locked, Some(0o700), Some(1000))
        );
        assert!(!m.readonly);
        let s = parse("type=secret,id=tok").unwrap();
        assert_eq!(s.target, "/run/secrets/tok");
        let s = parse("type=secret,target=/etc/key").unwrap();
        assert_eq!(s.id.as_deref(), Some("key"));
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
            parse("type=cache").unwrap_err(),
            "mount destination is required"
        );
        assert!(parse("target=/x,colour=red")
            .unwrap_err()
            .contains("unexpected key 'colour'"));
        assert!(parse("type=cache,target=/x,sharing=maybe").is_err());
    }
}
