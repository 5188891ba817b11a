//! Source ops: where filesystems come from (container images, the client's local files).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::meta::OpMeta;
use super::state::{Node, State};
use super::Platform;
use crate::pb;

/// A `docker-image://` source: a container image's root filesystem.
#[derive(Clone, Debug, Default)]
pub struct ImageSource {
    /// The reference as the user wrote it; normalised by [`image`].
    pub reference: String,
    /// Pins the image to this manifest digest (`sha256:…`) when known.
    pub digest: Option<String>,
    /// Which platform's variant to pull.
    pub platform: Option<Platform>,
    /// `image.resolvemode` (`pull`, `local`); `None` leaves BuildKit's default.
    pub resolve_mode: Option<String>,
    /// Progress name, caps and locations.
    pub meta: OpMeta,
}

/// A `local://` source: files sent by the client over the session.
#[derive(Clone, Debug, Default)]
pub struct LocalSource {
    /// The local's name as the client registered it (`context`, `dockerfile`).
    pub name: String,
    /// The session that owns the files (`BUILDKIT_SESSION_ID`).
    pub session_id: String,
    /// Lets BuildKit reuse an earlier transfer of the same directory.
    pub shared_key_hint: Option<String>,
    /// Only these paths are sent (`local.includepattern`).
    pub include_patterns: Vec<String>,
    /// These are never sent (`local.excludepatterns`, from `.dockerignore`).
    pub exclude_patterns: Vec<String>,
    /// Only these paths and their parents are sent (`local.followpaths`).
    pub follow_paths: Vec<String>,
    /// `local.differ` (`none` disables content comparison); `None` keeps the default.
    pub differ: Option<String>,
    /// Progress name, caps and locations.
    pub meta: OpMeta,
}

/// An `http(s)://` source: one file downloaded by BuildKit (`ADD <url>`).
#[derive(Clone, Debug, Default)]
pub struct HttpSource {
    /// The URL, which is also the op's identifier.
    pub url: String,
    /// Name of the downloaded file in the source's filesystem (`http.filename`).
    pub filename: Option<String>,
    /// Expected digest of the content (`http.checksum`); BuildKit fails on a mismatch.
    pub checksum: Option<String>,
    /// Mode bits of the file (`http.perm`); `None` keeps BuildKit's default (0600).
    pub perm: Option<u32>,
    /// Owner uid (`http.uid`); `None` for root.
    pub uid: Option<u32>,
    /// Owner gid (`http.gid`); `None` for root.
    pub gid: Option<u32>,
    /// Progress name, caps and locations.
    pub meta: OpMeta,
}

/// A `git://` source: a checkout of one ref of a remote repository.
#[derive(Clone, Debug, Default)]
pub struct GitSource {
    /// `host/path` of the repository: the identifier, shared by every protocol that reaches
    /// the same repository so equal checkouts share cache.
    pub id: String,
    /// Ref (branch, tag or commit), optionally `:subdir`; empty for the default branch.
    pub reference: String,
    /// The remote exactly as git should fetch it (`git.fullurl`).
    pub full_url: String,
    /// Keep the `.git` directory in the checkout (`git.keepgitdir`).
    pub keep_git_dir: bool,
    /// The remote is reached over SSH: forward the default agent socket
    /// (`git.mountsshsock`).
    pub ssh: bool,
    /// The commit (or a prefix of it) the ref must resolve to (`git.checksum`).
    pub checksum: Option<String>,
    /// Leave submodules out of the checkout (`git.skipsubmodules`).
    pub skip_submodules: bool,
    /// Fetch the `checksum` commit directly instead of resolving the ref on the remote
    /// (`git.fetchbycommit`).
    pub fetch_by_commit: bool,
    /// Progress name, caps and locations.
    pub meta: OpMeta,
}

/// A file fetched over HTTP(S).
pub fn http(src: HttpSource) -> State {
    let mut attrs = BTreeMap::new();
    let mut meta = src.meta;
    if let Some(c) = src.checksum.filter(|c| !c.is_empty()) {
        attrs.insert("http.checksum".to_owned(), c);
        meta = meta.cap("source.http.checksum");
    }
    if let Some(f) = src.filename.filter(|f| !f.is_empty()) {
        attrs.insert("http.filename".to_owned(), f);
    }
    if let Some(p) = src.perm.filter(|p| *p != 0) {
        attrs.insert("http.perm".to_owned(), format!("0{p:o}"));
        meta = meta.cap("source.http.perm");
    }
    if let Some(uid) = src.uid.filter(|u| *u != 0) {
        attrs.insert("http.uid".to_owned(), uid.to_string());
        // BuildKit's cap id really is spelled this way.
        meta = meta.cap("soruce.http.uidgid");
    }
    if let Some(gid) = src.gid.filter(|g| *g != 0) {
        attrs.insert("http.gid".to_owned(), gid.to_string());
        meta = meta.cap("soruce.http.uidgid");
    }
    source_state(src.url, attrs, None, meta.cap("source.http"))
}

/// A git checkout. Authentication secrets are named as BuildKit's own client names them
/// (`GIT_AUTH_TOKEN`, `GIT_AUTH_HEADER`), so `--secret id=GIT_AUTH_TOKEN` works.
pub fn git(src: GitSource) -> State {
    let mut attrs = BTreeMap::new();
    let mut meta = src.meta;
    if src.keep_git_dir {
        attrs.insert("git.keepgitdir".to_owned(), "true".to_owned());
        meta = meta.cap("source.git.keepgitdir");
    }
    if !src.full_url.is_empty() {
        attrs.insert("git.fullurl".to_owned(), src.full_url);
        meta = meta.cap("source.git.fullurl");
    }
    attrs.insert(
        "git.authtokensecret".to_owned(),
        "GIT_AUTH_TOKEN".to_owned(),
    );
    attrs.insert(
        "git.authheadersecret".to_owned(),
        "GIT_AUTH_HEADER".to_owned(),
    );
    if src.ssh {
        attrs.insert("git.mountsshsock".to_owned(), "default".to_owned());
        meta = meta
            .cap("source.git.knownsshhosts")
            .cap("source.git.mountsshsock");
    }
    if let Some(c) = src.checksum.filter(|c| !c.is_empty()) {
        attrs.insert("git.checksum".to_owned(), c);
        meta = meta.cap("source.git.checksum");
    }
    if src.skip_submodules {
        attrs.insert("git.skipsubmodules".to_owned(), "true".to_owned());
        meta = meta.cap("source.git.skipsubmodules");
    }
    if src.fetch_by_commit {
        attrs.insert("git.fetchbycommit".to_owned(), "true".to_owned());
        meta = meta.cap("source.git.fetchbycommit");
    }
    let mut id = format!("git://{}", src.id);
    if !src.reference.is_empty() {
        id.push('#');
        id.push_str(&src.reference);
    }
    source_state(id, attrs, None, meta.cap("source.git"))
}

/// A source op; only image sources (`docker-image://`, `oci-layout://`) carry a platform.
fn source_state(
    identifier: String,
    attrs: BTreeMap<String, String>,
    platform: Option<Platform>,
    meta: OpMeta,
) -> State {
    let op = pb::Op {
        platform,
        constraints: Some(pb::WorkerConstraints::default()),
        op: Some(pb::op::Op::Source(pb::SourceOp { identifier, attrs })),
        ..Default::default()
    };
    State::from_node(
        Arc::new(Node {
            op,
            inputs: vec![],
            meta,
        }),
        0,
    )
}

/// The root filesystem of a container image.
pub fn image(src: ImageSource) -> State {
    let mut reference = normalize_image_reference(&src.reference);
    if let Some(digest) = &src.digest {
        if !reference.contains('@') {
            reference = format!("{reference}@{digest}");
        }
    }
    let mut attrs = BTreeMap::new();
    if let Some(mode) = src.resolve_mode {
        attrs.insert("image.resolvemode".to_owned(), mode);
    }
    source_state(
        format!("docker-image://{reference}"),
        attrs,
        src.platform,
        src.meta.cap("source.image"),
    )
}

/// An `oci-layout://` source: an image from an OCI layout directory the client attached to
/// its session as a content store (`--build-context name=oci-layout:///dir`).
#[derive(Clone, Debug, Default)]
pub struct OciLayoutSource {
    /// `name@sha256:…`: the digest picks the manifest; the name only labels it.
    pub reference: String,
    /// The client session holding the store (`oci.session`).
    pub session_id: String,
    /// The store's id within the session (`oci.store`).
    pub store_id: String,
    /// Which platform's variant to take.
    pub platform: Option<Platform>,
    /// Progress name, caps and locations.
    pub meta: OpMeta,
}

/// The root filesystem of an image in a client's OCI layout store.
pub fn oci_layout(src: OciLayoutSource) -> State {
    let mut attrs = BTreeMap::new();
    if !src.session_id.is_empty() {
        attrs.insert("oci.session".to_owned(), src.session_id);
    }
    if !src.store_id.is_empty() {
        attrs.insert("oci.store".to_owned(), src.store_id);
    }
    source_state(
        format!("oci-layout://{}", src.reference),
        attrs,
        src.platform,
        src.meta.cap("source.ocilayout"),
    )
}

/// Files from the client's machine.
pub fn local(src: LocalSource) -> State {
    let mut attrs = BTreeMap::new();
    if !src.session_id.is_empty() {
        attrs.insert("local.session".to_owned(), src.session_id);
    }
    if let Some(hint) = src.shared_key_hint {
        attrs.insert("local.sharedkeyhint".to_owned(), hint);
    }
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_default();
    if !src.include_patterns.is_empty() {
        attrs.insert(
            "local.includepattern".to_owned(),
            json(&src.include_patterns),
        );
    }
    if !src.exclude_patterns.is_empty() {
        attrs.insert(
            "local.excludepatterns".to_owned(),
            json(&src.exclude_patterns),
        );
    }
    if !src.follow_paths.is_empty() {
        attrs.insert("local.followpaths".to_owned(), json(&src.follow_paths));
    }
    if let Some(differ) = src.differ {
        attrs.insert("local.differ".to_owned(), differ);
    }
    let mut meta = src.meta.cap("source.local");
    for (attr, cap) in [
        ("local.session", "source.local.sessionid"),
        ("local.sharedkeyhint", "source.local.sharedkeyhint"),
        ("local.includepattern", "source.local.includepatterns"),
        ("local.excludepatterns", "source.local.excludepatterns"),
        ("local.followpaths", "source.local.followpaths"),
    ] {
        if attrs.contains_key(attr) {
            meta = meta.cap(cap);
        }
    }
    source_state(format!("local://{}", src.name), attrs, None, meta)
}

/// Normalises an image reference the way Docker does: `busybox` becomes
/// `docker.io/library/busybox:latest`, so equal images get equal digests.
pub fn normalize_image_reference(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    // A tag is a `:` after the last `/` (a `:` before it belongs to a registry port).
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    let first = repo.split('/').next().unwrap_or_default();
    let has_domain =
        repo.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_domain {
        repo.to_owned()
    } else if repo.contains('/') {
        format!("docker.io/{repo}")
    } else {
        format!("docker.io/library/{repo}")
    };
    if let Some(rest) = full.strip_prefix("index.docker.io/") {
        full = format!("docker.io/{rest}");
    }
    match (tag, digest) {
        (Some(t), Some(d)) => format!("{full}:{t}@{d}"),
        (Some(t), None) => format!("{full}:{t}"),
        (None, Some(d)) => format!("{full}@{d}"),
        (None, None) => format!("{full}:latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_image_reference as n;

    #[test]
    fn normalises_like_docker() {
        assert_eq!(n("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(n("busybox:local"), "docker.io/library/busybox:local");
        assert_eq!(n("user/app"), "docker.io/user/app:latest");
        assert_eq!(n("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(n("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000/a/b:1");
        assert_eq!(n("ghcr.io/o/r@sha256:ab"), "ghcr.io/o/r@sha256:ab");
        assert_eq!(
            n("debian:bookworm@sha256:ab"),
            "docker.io/library/debian:bookworm@sha256:ab"
        );
        assert_eq!(n("index.docker.io/library/x"), "docker.io/library/x:latest");
    }
}
