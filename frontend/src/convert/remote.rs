//! Remote `ADD` sources: which source words are git repositories or HTTP URLs, decided the
//! way docker/dockerfile 1.26's `dfgitutil.ParseGitRef` and `isHTTPSource` decide: a git
//! source needs a scheme (`https://…/x.git`, `ssh://`, `git://`) or git's `user@host:path`
//! form (`github.com/x/y` and `vendor/lib.git` are local paths), with an optional
//! `#ref:subdir` fragment and a query (`?ref=`, `tag=`, `branch=`, `checksum=`/`commit=`,
//! `subdir=`, `keep-git-dir=`, `submodules=`, `mtime=`, `fetch-by-commit=`).

/// A source word that names a git repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitRef {
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
    /// `?checksum=` / `?commit=`: the commit the ref must resolve to.
    pub checksum: String,
    /// `?keep-git-dir=`.
    pub keep_git_dir: Option<bool>,
    /// `?submodules=`.
    pub submodules: Option<bool>,
    /// `?fetch-by-commit=`.
    pub fetch_by_commit: bool,
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
    /// The raw query (after `?`, before `#`); `None` without a `?`.
    query: Option<String>,
    fragment: String,
    /// The URL without its query and fragment: what git fetches.
    remote: String,
}

fn parse_url(raw: &str) -> Option<Url> {
    let (without_fragment, fragment) = match raw.split_once('#') {
        Some((a, f)) => (a, f.to_owned()),
        None => (raw, String::new()),
    };
    let (without_query, query) = match without_fragment.split_once('?') {
        Some((a, q)) => (a, Some(q.to_owned())),
        None => (without_fragment, None),
    };
    let (scheme, rest) = without_query.split_once("://")?;
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
        query,
        fragment,
        remote: without_query.to_owned(),
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

/// `user@host:path[?query][#fragment]`, git's scp-like SSH syntax: host, path, query,
/// fragment.
fn parse_scp(raw: &str) -> Option<(String, String, Option<String>, String)> {
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
    let (rest, fragment) = match rest.find(['?', '#']) {
        Some(i) if rest.as_bytes()[i] == b'?' => match rest[i..].split_once('#') {
            Some((q, f)) => (&rest[..i + q.len()], f),
            None => (rest, ""),
        },
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (rest, None),
    };
    Some((host.to_owned(), path.to_owned(), query, fragment.to_owned()))
}

/// Whether `src` names a git repository, as docker/dockerfile 1.26 decides for `ADD`/`COPY`
/// sources: `Ok(None)` for anything else (local paths, plain URLs), `Err` for a git URL
/// whose query is wrong (upstream's words).
pub(crate) fn parse_git_ref(src: &str) -> Result<Option<GitRef>, String> {
    if src.starts_with("./") || src.starts_with("../") || src.starts_with("github.com/") {
        return Ok(None);
    }
    let has_scheme = src
        .find("://")
        .is_some_and(|i| i > 0 && src[..i].chars().all(|c| c.is_ascii_alphanumeric()));
    let (remote, host, path, query, fragment, scheme) = if has_scheme {
        let Some(u) = parse_url(src) else {
            return Ok(None);
        };
        if !matches!(u.scheme.as_str(), "http" | "https" | "ssh" | "git") {
            return Ok(None);
        }
        let query = match u.query.as_deref().map(|q| parse_query(q, false)) {
            Some(Some(q)) => q,
            _ => Vec::new(),
        };
        (u.remote, u.host, u.path, query, u.fragment, u.scheme)
    } else if let Some((host, path, query, fragment)) = parse_scp(src) {
        let query = match query.as_deref().map(|q| parse_query(q, true)) {
            None => Vec::new(),
            Some(Some(q)) => q,
            // An scp-like URL with a malformed query is no git URL at all.
            Some(None) => return Ok(None),
        };
        let user = src.split_once('@').map_or("", |(u, _)| u);
        (
            format!("{user}@{host}:{path}"),
            host,
            path,
            query,
            fragment,
            "ssh".to_owned(),
        )
    } else {
        return Ok(None);
    };
    if matches!(scheme.as_str(), "http" | "https") && !path.ends_with(".git") {
        return Ok(None);
    }
    // The fragment's subdir is cleaned (`path.Join("/", d)` without the leading slash).
    let (commit, subdir) = match fragment.split_once(':') {
        Some((c, d)) => {
            let d = super::paths::clean(&format!("/{d}"));
            (c.to_owned(), d.trim_start_matches('/').to_owned())
        }
        None => (fragment, String::new()),
    };
    let mut git = GitRef {
        remote,
        host,
        path,
        commit,
        subdir,
        ssh: scheme == "ssh",
        checksum: String::new(),
        keep_git_dir: None,
        submodules: None,
        fetch_by_commit: false,
    };
    git.load_query(&query)?;
    Ok(Some(git))
}

/// Go's `url.ParseQuery`: `&`-separated `key=value` pairs, `+` and `%XX` unescaped, in
/// order. A pair with `;` or a bad escape is dropped (`url.Query` ignores the error) unless
/// `strict` (the scp-like form, where any error means "not a git URL": `None`).
fn parse_query(q: &str, strict: bool) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = (!pair.contains(';'))
            .then(|| Some((query_unescape(k)?, query_unescape(v)?)))
            .flatten();
        match decoded {
            Some(kv) => out.push(kv),
            None if strict => return None,
            None => {}
        }
    }
    Some(out)
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte.
fn query_unescape(s: &str) -> Option<String> {
    percent_decode(&s.replace('+', " "))
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl GitRef {
    /// Applies a git URL's query as upstream's `loadQuery` does, with its error texts. Keys
    /// are looked at in sorted order, so with several errors the same one is reported.
    fn load_query(&mut self, query: &[(String, String)]) -> Result<(), String> {
        let mut keys: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let (mut tag, mut branch) = (String::new(), String::new());
        for k in keys {
            let values: Vec<&str> = query
                .iter()
                .filter(|(qk, _)| qk == k)
                .map(|(_, v)| v.as_str())
                .collect();
            if values.len() > 1 {
                return Err(format!("query {k:?} has multiple values"));
            }
            let v = values[0];
            let flag = matches!(k, "submodules" | "keep-git-dir" | "fetch-by-commit");
            if v.is_empty() && !flag {
                return Err(format!("query {k:?} has no value"));
            }
            // A flag without a value is `true`.
            let boolean = |name: &str| -> Result<bool, String> {
                if v.is_empty() {
                    return Ok(true);
                }
                parse_bool(v).ok_or_else(|| format!("invalid {name} value: {v:?}"))
            };
            match k {
                "ref" => {
                    if !self.commit.is_empty() && self.commit != v {
                        return Err(format!("ref conflicts: {:?} vs {v:?}", self.commit));
                    }
                    self.commit = v.to_owned();
                }
                "tag" => tag = v.to_owned(),
                "branch" => branch = v.to_owned(),
                "subdir" => {
                    if !self.subdir.is_empty() && self.subdir != v {
                        return Err(format!("subdir conflicts: {:?} vs {v:?}", self.subdir));
                    }
                    self.subdir = v.to_owned();
                }
                "checksum" | "commit" => self.checksum = v.to_owned(),
                "keep-git-dir" => self.keep_git_dir = Some(boolean("keep-git-dir")?),
                "submodules" => self.submodules = Some(boolean("submodules")?),
                // Checked, but `ADD` ignores it (as upstream's `dispatchCopy` does).
                "mtime" => {
                    if !matches!(v, "checkout" | "commit") {
                        return Err(format!(
                            "invalid mtime value: {v:?} (must be \"checkout\" or \"commit\")"
                        ));
                    }
                }
                "fetch-by-commit" => self.fetch_by_commit = boolean("fetch-by-commit")?,
                _ => return Err(format!("unexpected query {k:?}")),
            }
        }
        if !tag.is_empty() {
            if !tag.starts_with("refs/tags/") {
                tag = format!("refs/tags/{tag}");
            }
            if !self.commit.is_empty() && self.commit != tag {
                return Err(format!("ref conflicts: {:?} vs {tag:?}", self.commit));
            }
            self.commit = tag.clone();
        }
        if !branch.is_empty() {
            if !tag.is_empty() {
                return Err("branch conflicts with tag".to_owned());
            }
            if !branch.starts_with("refs/heads/") {
                branch = format!("refs/heads/{branch}");
            }
            if !self.commit.is_empty() && self.commit != branch {
                return Err(format!("ref conflicts: {:?} vs {branch:?}", self.commit));
            }
            self.commit = branch;
        }
        Ok(())
    }
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

    fn git(src: &str) -> GitRef {
        parse_git_ref(src).unwrap().unwrap()
    }

    #[test]
    fn git_refs_like_buildkit() {
        let g = git("https://github.com/moby/buildkit.git#v0.13.2:docs");
        assert_eq!(g.remote, "https://github.com/moby/buildkit.git");
        assert_eq!(g.id(), "github.com/moby/buildkit.git");
        assert_eq!(g.reference(), "v0.13.2:docs");
        assert!(!g.ssh);
        let g = git("git@github.com:moby/buildkit.git#main");
        assert_eq!(g.remote, "git@github.com:moby/buildkit.git");
        assert_eq!(g.id(), "github.com/moby/buildkit.git");
        assert_eq!(g.reference(), "main");
        assert!(g.ssh);
        let g = git("git://example.com:9418/repo");
        assert_eq!(g.id(), "example.com:9418/repo");
        // The fragment's subdir is cleaned.
        assert_eq!(git("https://h/r.git#:/a/../b/").reference(), ":b");
        for local in [
            "a.txt",
            "dir/",
            ".",
            "./x.git",
            // 1.19+: no scheme and no `user@host:` means a local path.
            "vendor/lib.git",
            "github.com/moby/buildkit",
            "https://example.com/file.tar.gz",
            "https://example.com/file?x=.git",
            "ftp://x/y.git",
            "*.go",
        ] {
            assert_eq!(parse_git_ref(local), Ok(None), "{local}");
        }
    }

    #[test]
    fn git_url_queries_like_buildkit() {
        let g =
            git("https://h/r.git?ref=v1&subdir=docs&checksum=abc&keep-git-dir&submodules=false");
        assert_eq!(g.remote, "https://h/r.git");
        assert_eq!(g.reference(), "v1:docs");
        assert_eq!(g.checksum, "abc");
        assert_eq!(g.keep_git_dir, Some(true));
        assert_eq!(g.submodules, Some(false));
        assert!(!g.fetch_by_commit);
        assert_eq!(git("https://h/r.git?tag=v1").reference(), "refs/tags/v1");
        assert_eq!(
            git("https://h/r.git?branch=main").reference(),
            "refs/heads/main"
        );
        assert_eq!(git("https://h/r.git?commit=0123#v1").checksum, "0123");
        assert_eq!(git("https://h/r.git?ref=v1#v1").reference(), "v1");
        let g = git("git@h:o/r.git?tag=refs/tags/v2#:sub");
        assert_eq!(g.remote, "git@h:o/r.git");
        assert_eq!(g.reference(), "refs/tags/v2:sub");
        assert!(git("ssh://git@h/r.git?fetch-by-commit=1&commit=ab").fetch_by_commit);
        let err = |src: &str| parse_git_ref(src).unwrap_err();
        assert_eq!(
            err("https://h/r.git?ref=a#b"),
            r#"ref conflicts: "b" vs "a""#
        );
        assert_eq!(
            err("https://h/r.git?tag=a&branch=b"),
            "branch conflicts with tag"
        );
        assert_eq!(
            err("https://h/r.git?ref=a&tag=a"),
            r#"ref conflicts: "a" vs "refs/tags/a""#
        );
        assert_eq!(
            err("https://h/r.git?subdir=a#:b"),
            r#"subdir conflicts: "b" vs "a""#
        );
        assert_eq!(err("https://h/r.git?ref="), r#"query "ref" has no value"#);
        assert_eq!(
            err("https://h/r.git?ref=a&ref=b"),
            r#"query "ref" has multiple values"#
        );
        assert_eq!(err("https://h/r.git?foo=1"), r#"unexpected query "foo""#);
        assert_eq!(
            err("https://h/r.git?submodules=maybe"),
            r#"invalid submodules value: "maybe""#
        );
        assert_eq!(
            err("https://h/r.git?keep-git-dir=2"),
            r#"invalid keep-git-dir value: "2""#
        );
        assert_eq!(
            err("https://h/r.git?mtime=now"),
            r#"invalid mtime value: "now" (must be "checkout" or "commit")"#
        );
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
