//! Slash-path helpers with Go's `path.Clean`/`path.Join` semantics, which BuildKit's
//! frontend uses for every destination and working directory.

/// Go's `path.Clean`: resolves `.`/`..`, collapses slashes, drops a trailing slash.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_owned();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Go's `path.Join` of two elements.
pub fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(b),
        (false, true) => clean(a),
        (false, false) => clean(&format!("{a}/{b}")),
    }
}

/// BuildKit's copy destination: relative to the working directory, cleaned, keeping a
/// trailing `/` (copy *into*) and a trailing `/.`.
pub fn copy_dest(workdir: &str, dest: &str) -> String {
    let wd = if workdir.is_empty() { "/" } else { workdir };
    let mut d = if dest.starts_with('/') {
        dest.to_owned()
    } else {
        join(wd, dest)
    };
    if (dest == "." || dest.is_empty() || dest.ends_with('/')) && !d.ends_with('/') {
        d.push('/');
    }
    let cleaned = clean(&d);
    if d.ends_with('/') && !cleaned.ends_with('/') {
        format!("{cleaned}/")
    } else if d.ends_with("/.") && cleaned != "/" {
        format!("{cleaned}/.")
    } else {
        cleaned
    }
}

/// The absolute path of a copy source: `a.txt` → `/a.txt`, `.` → `/`.
pub fn copy_source(src: &str) -> String {
    clean(&format!("/{src}"))
}

/// `WORKDIR`: relative paths join the current directory and are cleaned; absolute ones
/// are kept exactly as written.
pub fn workdir(current: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        join(if current.is_empty() { "/" } else { current }, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go() {
        for (i, o) in [
            ("", "."),
            ("/", "/"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("a//b/./c/", "a/b/c"),
            ("/app/.", "/app"),
        ] {
            assert_eq!(clean(i), o, "{i}");
        }
    }

    #[test]
    fn destinations() {
        assert_eq!(copy_dest("/app", "."), "/app/");
        assert_eq!(copy_dest("/", "x"), "/x");
        assert_eq!(copy_dest("/app", "sub/"), "/app/sub/");
        assert_eq!(copy_dest("/app", "/x//y/"), "/x/y/");
        assert_eq!(copy_dest("", "/etc/."), "/etc/.");
        assert_eq!(copy_source("."), "/");
        assert_eq!(copy_source("a/../b.txt"), "/b.txt");
        assert_eq!(workdir("/app", "sub/.."), "/app");
        assert_eq!(workdir("/app", "/srv/"), "/srv/");
    }
}
