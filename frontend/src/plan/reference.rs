//! Image references as Docker parses them, with BuildKit's wording for bad ones.

/// Rejects references Docker cannot parse, with BuildKit's wording (`FROM BASE` for a stage
/// `base`, or an unexpanded `COPY --from=$X`, end up here).
pub(crate) fn check_reference(reference: &str) -> std::result::Result<(), String> {
    let bad = |why: &str| {
        format!("failed to parse stage name {reference:?}: invalid reference format{why}")
    };
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest {
        let ok = d.split_once(':').is_some_and(|(algo, hex)| {
            !algo.is_empty()
                && algo
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
                && hex.len() >= 32
                && hex.chars().all(|c| c.is_ascii_hexdigit())
        });
        if !ok {
            return Err(bad(""));
        }
    }
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(c) => (&name[..last_slash + c], Some(&name[last_slash + c + 1..])),
        None => (name, None),
    };
    if let Some(t) = tag {
        let mut chars = t.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !first_ok
            || t.len() > 128
            || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(bad(""));
        }
    }
    let mut parts: Vec<&str> = repo.split('/').collect();
    if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        let domain = parts.remove(0);
        let (host, port) = domain.split_once(':').unwrap_or((domain, "0"));
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
            || !port.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad(""));
        }
    }
    for part in &parts {
        if !part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(bad(""));
        }
        if part.chars().any(|c| c.is_ascii_uppercase()) {
            let path = strata_proto::llb::normalize_image_reference(reference);
            let path = path.strip_prefix("docker.io/").unwrap_or(&path);
            let path = path.split(['@']).next().unwrap_or(path);
            let path = match path.rfind(':') {
                Some(c) if c > path.rfind('/').unwrap_or(0) => &path[..c],
                _ => path,
            };
            return Err(bad(&format!(
                ": repository name ({path}) must be lowercase"
            )));
        }
        if !is_path_component(part) {
            return Err(bad(""));
        }
    }
    Ok(())
}

/// A repository path component: lower-case alphanumerics joined by `.`, `_`, `__` or `-`s.
fn is_path_component(part: &str) -> bool {
    let bytes = part.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut sep = String::new();
    for &b in bytes {
        if alnum(b) {
            let ok = sep.is_empty()
                || sep == "."
                || sep == "_"
                || sep == "__"
                || sep.bytes().all(|c| c == b'-');
            if !ok {
                return false;
            }
            sep.clear();
        } else if b"._-".contains(&b) {
            sep.push(b as char);
        } else {
            return false;
        }
    }
    true
}
