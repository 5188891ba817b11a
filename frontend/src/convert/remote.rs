//! Remote `ADD` sources: which source words are git repositories or HTTP URLs, decided the
//! way BuildKit's `gitutil.ParseGitRef` and `isHTTPSource` decide (quirks included: a local
//! path such as `vendor/lib.git` counts as a git repository, `github.com/x/y` does not).

/// A source word that names a git repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GitRef {
    /// The remote as git fetches it (no fragment).
    pub remote: String,
    /// `host[:port]`, the first part of the source identifier.
    pub host: String,
    /// The repository path on the host.
    pub path: String,
    /// Branch, tag or commit from the fragment (`#ref`); empty for the default.
    pub commit: String,
    /// Subdirectory from the fragment (`#ref:dir`).
    pub subdir: String,
    /// Reached over SSH (`ssh://` or `user@host:path`).
    pub ssh: bool,
}

impl GitRef {
    /// The `git://` identifier BuildKit derives: `host` + cleaned absolute path.
    pub fn id(&self) -> String {
        format!(
            "{}{}",
            self.host,
            super::paths::clean(&format!("/{}", self.path))
        )
    }

    /// The ref part of the identifier: `commit[:subdir]`.
    pub fn reference(&self) -> String {
        if self.subdir.is_empty() {
            self.commit.clone()
        } else {
            format!("{}:{}", self.commit, self.subdir)
        }
    }
}

/// `http://…` or `https://…`: downloaded, never unpacked.
pub(crate) fn is_http(src: &str) -> bool {
    src.starts_with("http://") || src.starts_with("https://")
}

/// A parsed `scheme://[user@]host/path[?query][#fragment]`.
struct Url {
    scheme: String,
    host: String,
    path: String,
    fragment: String,
    without_fragment: String,
}

fn parse_url(raw: &str) -> Option<Url> {
    let (without_fragment, fragment) = match raw.split_once('#') {
        Some((a, f)) => (a, f.to_owned()),
        None => (raw, String::new()),
    };
    let (scheme, rest) = without_fragment.split_once("://")?;
    let rest = rest.split_once('?').map_or(rest, |(a, _)| a);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:[]%".contains(c));
    if !host_ok {
        return None;
    }
    Some(Url {
        scheme: scheme.to_ascii_lowercase(),
        host: host.to_owned(),
        path: percent_decode(path)?,
        fragment,
        without_fragment: without_fragment.to_owned(),
    })
}

/// Go's `url.PathUnescape`: `%XX` decoded; a malformed escape is an error.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `user@host:path[#fragment]`, git's scp-like SSH syntax.
fn parse_scp(raw: &str) -> Option<(String, String, String)> {
    let (user, rest) = raw.split_once('@')?;
    if user.is_empty()
        || !user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    let (host, rest) = rest.split_once(':')?;
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return None;
    }
    let (path, fragment) = match rest.split_once('#') {
        Some((p, f)) => (p, f),
        None => (rest, ""),
    };
    Some((host.to_owned(), path.to_owned(), fragment.to_owned()))
}

/// Whether `src` names a git repository, as BuildKit decides for `ADD`/`COPY` sources.
pub(crate) fn parse_git_ref(src: &str) -> Option<GitRef> {
    if src.starts_with("./") || src.starts_with("../") || src.starts_with("github.com/") {
        return None;
    }
    let has_scheme = src
        .find("://")
        .is_some_and(|i| i > 0 && src[..i].chars().all(|c| c.is_ascii_alphanumeric()));
    let (remote, host, path, fragment, scheme) = if has_scheme {
        let u = parse_url(src)?;
        if !matches!(u.scheme.as_str(), "http" | "https" | "ssh" | "git") {
            return None;
        }
        (u.without_fragment, u.host, u.path, u.fragment, u.scheme)
    } else if let Some((host, path, fragment)) = parse_scp(src) {
        let user = src.split_once('@').map_or("", |(u, _)| u);
        (
            format!("{user}@{host}:{path}"),
            host,
            path,
            fragment,
            "ssh".to_owned(),
        )
    } else {
        let u = parse_url(&format!("https://{src}"))?;
        (u.without_fragment, u.host, u.path, u.fragment, u.scheme)
    };
    if matches!(scheme.as_str(), "http" | "https") && !path.ends_with(".git") {
        return None;
    }
    let (commit, subdir) = match fragment.split_once(':') {
        Some((c, d)) => (c.to_owned(), d.to_owned()),
        None => (fragment, String::new()),
    };
    Some(GitRef {
        remote,
        host,
        path,
        commit,
        subdir,
        ssh: scheme == "ssh",
    })
}

/// The file name an HTTP download gets: the URL path's last element, or `__unnamed__`.
pub(crate) fn http_filename(url: &str) -> String {
    parse_url(url)
        .map(|u| {
            let p = super::paths::clean(&u.path);
            p.rsplit('/').next().unwrap_or_default().to_owned()
        })
        .filter(|b| !b.is_empty() && b != "." && b != "/")
        .unwrap_or_else(|| "__unnamed__".to_owned())
}

/// `--checksum`: what `digest.Parse` accepts, with its error texts.
pub(crate) fn check_digest(d: &str) -> Result<(), &'static str> {
    let Some((alg, hex)) = d
        .split_once(':')
        .filter(|(a, h)| !a.is_empty() && !h.is_empty())
    else {
        return Err("invalid checksum digest format");
    };
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err("unsupported digest algorithm"),
    };
    if hex.len() != len {
        return Err("invalid checksum digest length");
    }
    if !hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        return Err("invalid checksum digest format");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_refs_like_buildkit() {
        let g = parse_git_ref("https://github.com/moby/buildkit.git#v0.13.2:docs").unwrap();
        assert_eq!(g.remote, "https://github.com/moby/buildkit.git");
        assert_eq!(g.id(), "github.com/moby/buildkit.git");
        assert_eq!(g.reference(), "v0.13.2:docs");
        assert!(!g.ssh);
        let g = parse_git_ref("git@github.com:moby/buildkit.git#main").unwrap();
        assert_eq!(g.remote, "git@github.com:moby/buildkit.git");
        assert_eq!(g.id(), "github.com/moby/buildkit.git");
        assert_eq!(g.reference(), "main");
        assert!(g.ssh);
        let g = parse_git_ref("git://example.com:9418/repo").unwrap();
        assert_eq!(g.id(), "example.com:9418/repo");
        // A local path ending in .git is a repository to BuildKit too.
        assert_eq!(
            parse_git_ref("vendor/lib.git").unwrap().remote,
            "https://vendor/lib.git"
        );
        for local in [
            "a.txt",
            "dir/",
            ".",
            "./x.git",
            "github.com/moby/buildkit",
            "https://example.com/file.tar.gz",
            "ftp://x/y.git",
            "*.go",
        ] {
            assert_eq!(parse_git_ref(local), None, "{local}");
        }
    }

    #[test]
    fn http_names_and_digests() {
        assert_eq!(
            http_filename("http://deb.debian.org/debian/dists/bookworm/Release.gpg"),
            "Release.gpg"
        );
        assert_eq!(http_filename("https://example.com/"), "__unnamed__");
        assert_eq!(http_filename("https://example.com"), "__unnamed__");
        assert_eq!(http_filename("https://example.com/a%20b?x=1#f"), "a b");
        assert!(check_digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert_eq!(
            check_digest("sha256"),
            Err("invalid checksum digest format")
        );
        assert_eq!(check_digest("md5:abc"), Err("unsupported digest algorithm"));
        assert_eq!(
            check_digest("sha256:abc"),
            Err("invalid checksum digest length")
        );
    }
}
