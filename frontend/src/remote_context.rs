//! Build contexts that come from a URL instead of the client's directory: the main context
//! given as a git or HTTP(S) URL (`docker buildx build https://host/repo.git#v1:dir`, a
//! tarball's URL, or a single Dockerfile's), and named contexts of kind `git` and `http(s)`.
//!
//! Decided as docker/dockerfile 1.26 decides (`dockerui.DetectGitContext` and
//! `DetectHTTPContext`): a git URL is what `ADD` accepts as one (a scheme or `user@host:path`,
//! `.git` for HTTP, the `#ref:subdir` fragment and the query form); any other `http(s)://`
//! URL is a download named `context`, unpacked when it is an archive. Pure: the edge
//! (`gateway/remote.rs`) solves what these states describe and reads the Dockerfile from it.

use strata_proto::llb::{self, CopyAction, FileOp, OpMeta, State};

use crate::convert::remote::{self as sources, GitRef};

/// The name BuildKit gives a downloaded context file (`llb.Filename("context")`), which is
/// also the Dockerfile's name when the download is not an archive.
pub const HTTP_FILENAME: &str = "context";

/// A context named by a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Remote {
    /// A git repository (`https://…/x.git#ref:dir`, `git://…`, `git@host:path`, …).
    Git(GitRef),
    /// Any other `http(s)://` URL: a tarball or a single Dockerfile.
    Http(String),
}

/// The remote context `value` names, `Ok(None)` for anything else (a local name), or the
/// error of a git URL whose query is wrong (upstream's words).
pub fn detect(value: &str) -> Result<Option<Remote>, String> {
    if let Some(git) = sources::parse_git_ref(value)? {
        return Ok(Some(Remote::Git(git)));
    }
    if sources::is_http(value) {
        return Ok(Some(Remote::Http(value.to_owned())));
    }
    Ok(None)
}

/// The checkout of a git context, named as upstream names it (`[internal] load git source
/// <url>`). `keep_git_dir` is `BUILDKIT_CONTEXT_KEEP_GIT_DIR`, which the URL's own
/// `keep-git-dir=` query can only add to.
pub fn git_state(url: &str, git: &GitRef, keep_git_dir: bool) -> State {
    llb::git(llb::GitSource {
        id: git.id(),
        reference: git.reference(),
        full_url: git.remote.clone(),
        keep_git_dir: keep_git_dir || git.keep_git_dir == Some(true),
        ssh: git.ssh,
        checksum: Some(git.checksum.clone()).filter(|c| !c.is_empty()),
        skip_submodules: git.submodules == Some(false),
        fetch_by_commit: git.fetch_by_commit,
        meta: OpMeta::named(format!("[internal] load git source {url}")),
    })
}

/// A download of `url` as one file named [`HTTP_FILENAME`], with the progress name `name`.
pub fn http_state(url: &str, name: String) -> State {
    llb::http(llb::HttpSource {
        url: url.to_owned(),
        filename: Some(HTTP_FILENAME.to_owned()),
        meta: OpMeta::named(name),
        ..Default::default()
    })
}

/// Whether the first bytes of a download are an archive BuildKit unpacks: bzip2, gzip or xz
/// magic, or a valid tar header (Go's `tar.Reader.Next` on the first block succeeds).
pub fn is_archive(header: &[u8]) -> bool {
    const MAGIC: [&[u8]; 3] = [
        &[0x42, 0x5A, 0x68],
        &[0x1F, 0x8B, 0x08],
        &[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00],
    ];
    MAGIC.iter().any(|m| header.starts_with(m)) || is_tar_header(header)
}

/// A 512-byte tar header whose checksum field matches its bytes (summed unsigned or
/// signed, as Go accepts both); an all-zero block is the end of an archive, not a header.
fn is_tar_header(header: &[u8]) -> bool {
    let Some(block) = header.get(..512) else {
        return false;
    };
    if block.iter().all(|b| *b == 0) {
        return false;
    }
    let field = &block[148..156];
    let text = std::str::from_utf8(field).unwrap_or("");
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    let Ok(want) = i64::from_str_radix(text, 8) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += i64::from(b);
        signed += i64::from(b as i8);
    }
    want == unsigned || want == signed
}

/// The downloaded archive unpacked at the root of an empty filesystem, as upstream unpacks
/// an HTTP context (a copy with `AttemptUnpack`).
pub fn unpacked(download: &State) -> State {
    FileOp::new(State::scratch())
        .copy(
            download,
            CopyAction {
                src: format!("/{HTTP_FILENAME}"),
                dest: "/".to_owned(),
                attempt_unpack_docker_compatibility: true,
                ..Default::default()
            },
        )
        .build()
}

/// `contextsubdir`: the context narrowed to one of its directories (its contents copied to
/// the root of an empty filesystem).
pub fn scoped_to_subdir(context: &State, dir: &str) -> State {
    FileOp::new(State::scratch())
        .copy(
            context,
            CopyAction {
                src: dir.to_owned(),
                dest: "/".to_owned(),
                dir_copy_contents: true,
                ..Default::default()
            },
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_header(name: &str) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(b"00000000004");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    #[test]
    fn contexts_are_git_http_or_local() {
        match detect("https://example.com/app.git#v1:svc").unwrap() {
            Some(Remote::Git(g)) => {
                assert_eq!((g.commit.as_str(), g.subdir.as_str()), ("v1", "svc"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            detect("git@example.com:org/app").unwrap(),
            Some(Remote::Git(_))
        ));
        assert_eq!(
            detect("http://127.0.0.1:8080/ctx.tar.gz").unwrap(),
            Some(Remote::Http("http://127.0.0.1:8080/ctx.tar.gz".to_owned()))
        );
        assert_eq!(detect("context").unwrap(), None);
        assert_eq!(detect("github.com/org/app").unwrap(), None);
        assert!(detect("https://example.com/app.git?keep-git-dir=maybe").is_err());
    }

    #[test]
    fn archives_are_told_from_dockerfiles_by_their_first_bytes() {
        assert!(is_archive(&[0x1F, 0x8B, 0x08, 0]));
        assert!(is_archive(b"BZh91AY"));
        assert!(is_archive(&tar_header("Dockerfile")));
        let mut broken = tar_header("Dockerfile");
        broken[0] = b'X';
        assert!(!is_archive(&broken), "a wrong checksum is no tar header");
        assert!(!is_archive(&[0u8; 1024]));
        assert!(!is_archive(b"FROM busybox\nRUN true\n"));
        let mut long = b"FROM busybox\n".repeat(80);
        long.truncate(1024);
        assert!(!is_archive(&long));
    }
}
