//! File ops: a chain of copy / mkdir / mkfile / rm / symlink actions, each applied to the
//! result of the one before.

use std::sync::Arc;

use super::meta::OpMeta;
use super::state::{InputList, Node, State};
use crate::pb;

/// A user or group, by numeric id or by name (resolved in the destination's `/etc/passwd`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    /// Numeric id.
    Id(u32),
    /// Name looked up in the target filesystem.
    Name(String),
}

/// Ownership for created files; `None` parts keep the default (root).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chown {
    /// Owner.
    pub user: Option<UserRef>,
    /// Group.
    pub group: Option<UserRef>,
}

/// Copies `src` from another state into the current one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyAction {
    /// Path (or wildcard) in the source state.
    pub src: String,
    /// Destination path; a trailing `/` means "into this directory".
    pub dest: String,
    /// Ownership of copied files.
    pub owner: Option<Chown>,
    /// Mode bits for copied files; `None` keeps the source's.
    pub mode: Option<u32>,
    /// A symbolic mode (`u=rwX,go=rX`, `+x`) applied to each copied file, instead of
    /// `mode` (BuildKit 0.17+; no cap of its own is declared, see [`FileOp::build`]).
    pub mode_str: Option<String>,
    /// Follow a symlink named by `src` instead of copying the link.
    pub follow_symlink: bool,
    /// Copy a directory's contents rather than the directory itself.
    pub dir_copy_contents: bool,
    /// Unpack archives the way Docker's `ADD` does.
    pub attempt_unpack_docker_compatibility: bool,
    /// Create missing parents of `dest`.
    pub create_dest_path: bool,
    /// Treat `src` as a wildcard pattern.
    pub allow_wildcard: bool,
    /// A wildcard that matches nothing is not an error.
    pub allow_empty_wildcard: bool,
    /// Only copy paths matching these patterns.
    pub include_patterns: Vec<String>,
    /// Never copy paths matching these patterns.
    pub exclude_patterns: Vec<String>,
    /// Paths (in the source) that must exist even though `include_patterns` filter the
    /// copy, so a missing named file fails (cap `file.copy.requiredpaths`).
    pub required_paths: Vec<String>,
    /// Fixed mtime (Unix seconds) for copied files; `None` keeps the source's.
    pub timestamp: Option<i64>,
    /// Replace existing destination paths even when types differ.
    pub always_replace_existing_dest_paths: bool,
}

/// Creates a directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MkdirAction {
    /// Directory to create.
    pub path: String,
    /// Mode bits.
    pub mode: u32,
    /// Create missing parents too.
    pub make_parents: bool,
    /// Ownership.
    pub owner: Option<Chown>,
    /// Fixed mtime (Unix seconds).
    pub timestamp: Option<i64>,
}

/// Creates a file with the given contents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MkfileAction {
    /// File to create.
    pub path: String,
    /// Mode bits.
    pub mode: u32,
    /// Contents.
    pub data: Vec<u8>,
    /// Ownership.
    pub owner: Option<Chown>,
    /// Fixed mtime (Unix seconds).
    pub timestamp: Option<i64>,
}

/// Removes a path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RmAction {
    /// Path (or wildcard) to remove.
    pub path: String,
    /// A missing path is not an error.
    pub allow_not_found: bool,
    /// Treat `path` as a wildcard.
    pub allow_wildcard: bool,
}

/// Creates a symlink `newpath` → `oldpath`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SymlinkAction {
    /// Link target.
    pub oldpath: String,
    /// Link location.
    pub newpath: String,
    /// Ownership.
    pub owner: Option<Chown>,
    /// Fixed mtime (Unix seconds).
    pub timestamp: Option<i64>,
}

#[derive(Clone, Debug)]
enum Action {
    Copy(State, CopyAction),
    Mkdir(MkdirAction),
    Mkfile(MkfileAction),
    Rm(RmAction),
    Symlink(SymlinkAction),
}

/// Builds one file op: actions run in order, each on the previous one's result.
#[derive(Clone, Debug)]
pub struct FileOp {
    base: State,
    actions: Vec<Action>,
    meta: OpMeta,
}

impl FileOp {
    /// A file op whose first action applies to `base`.
    pub fn new(base: State) -> FileOp {
        FileOp {
            base,
            actions: Vec::new(),
            meta: OpMeta::default(),
        }
    }

    /// Copies from `src` into the current result.
    pub fn copy(mut self, src: &State, action: CopyAction) -> FileOp {
        self.actions.push(Action::Copy(src.clone(), action));
        self
    }

    /// Creates a directory.
    pub fn mkdir(mut self, action: MkdirAction) -> FileOp {
        self.actions.push(Action::Mkdir(action));
        self
    }

    /// Creates a file.
    pub fn mkfile(mut self, action: MkfileAction) -> FileOp {
        self.actions.push(Action::Mkfile(action));
        self
    }

    /// Removes a path.
    pub fn rm(mut self, action: RmAction) -> FileOp {
        self.actions.push(Action::Rm(action));
        self
    }

    /// Creates a symlink.
    pub fn symlink(mut self, action: SymlinkAction) -> FileOp {
        self.actions.push(Action::Symlink(action));
        self
    }

    /// Progress name, caps and source locations.
    pub fn meta(mut self, meta: OpMeta) -> FileOp {
        self.meta = meta;
        self
    }

    /// Finishes the op. With no actions the base state is returned unchanged.
    pub fn build(self) -> State {
        if self.actions.is_empty() {
            return self.base;
        }
        // Inputs are the base and every copy source; an index past them names the result
        // of an earlier action (`index - inputs.len()`).
        let mut inputs = InputList::default();
        let base_idx = inputs.index_of(&self.base);
        let src_idx: Vec<i64> = self
            .actions
            .iter()
            .map(|a| match a {
                Action::Copy(src, _) => inputs.index_of(src),
                _ => -1,
            })
            .collect();
        let n_inputs = inputs.outputs.len() as i64;
        let last = self.actions.len() - 1;
        let mut meta = self.meta.cap("file.base");
        let mut pb_actions = Vec::with_capacity(self.actions.len());
        for (i, action) in self.actions.into_iter().enumerate() {
            let input = if i == 0 {
                base_idx
            } else {
                n_inputs + i as i64 - 1
            };
            let output = if i == last { 0 } else { -1 };
            let (secondary_input, body) = match action {
                Action::Copy(_, c) => {
                    if !c.include_patterns.is_empty() || !c.exclude_patterns.is_empty() {
                        meta = meta.cap("file.copy.includeexcludepatterns");
                    }
                    if !c.required_paths.is_empty() {
                        meta = meta.cap("file.copy.requiredpaths");
                    }
                    // No cap for `mode_str`: BuildKit defines `file.copy.modestring` but
                    // never registers it, so a daemon would refuse an op declaring it
                    // (the frontend checks a stand-in cap instead).
                    (
                        src_idx[i],
                        pb::file_action::Action::Copy(copy_to_pb(c, input)),
                    )
                }
                Action::Mkdir(m) => (
                    -1,
                    pb::file_action::Action::Mkdir(pb::FileActionMkDir {
                        path: m.path,
                        mode: m.mode as i32,
                        make_parents: m.make_parents,
                        owner: chown_to_pb(m.owner, input),
                        timestamp: m.timestamp.unwrap_or(-1),
                    }),
                ),
                Action::Mkfile(m) => (
                    -1,
                    pb::file_action::Action::Mkfile(pb::FileActionMkFile {
                        path: m.path,
                        mode: m.mode as i32,
                        data: m.data,
                        owner: chown_to_pb(m.owner, input),
                        timestamp: m.timestamp.unwrap_or(-1),
                    }),
                ),
                Action::Rm(r) => (
                    -1,
                    pb::file_action::Action::Rm(pb::FileActionRm {
                        path: r.path,
                        allow_not_found: r.allow_not_found,
                        allow_wildcard: r.allow_wildcard,
                    }),
                ),
                // No cap: BuildKit 0.13 predates symlink actions and its cap id.
                Action::Symlink(s) => (
                    -1,
                    pb::file_action::Action::Symlink(pb::FileActionSymlink {
                        oldpath: s.oldpath,
                        newpath: s.newpath,
                        owner: chown_to_pb(s.owner, input),
                        timestamp: s.timestamp.unwrap_or(-1),
                    }),
                ),
            };
            pb_actions.push(pb::FileAction {
                input,
                secondary_input,
                output,
                action: Some(body),
            });
        }
        let op = pb::Op {
            constraints: Some(pb::WorkerConstraints::default()),
            op: Some(pb::op::Op::File(pb::FileOp {
                actions: pb_actions,
            })),
            ..Default::default()
        };
        State::from_node(
            Arc::new(Node {
                op,
                inputs: inputs.outputs,
                meta,
            }),
            0,
        )
    }
}

fn copy_to_pb(c: CopyAction, input: i64) -> pb::FileActionCopy {
    pb::FileActionCopy {
        src: c.src,
        dest: c.dest,
        owner: chown_to_pb(c.owner, input),
        // A mode string replaces the numeric mode, which BuildKit's client then leaves 0.
        mode: match (&c.mode_str, c.mode) {
            (Some(_), _) => 0,
            (None, m) => m.map_or(-1, |m| m as i32),
        },
        mode_str: c.mode_str.unwrap_or_default(),
        required_paths: c.required_paths,
        follow_symlink: c.follow_symlink,
        dir_copy_contents: c.dir_copy_contents,
        attempt_unpack_docker_compatibility: c.attempt_unpack_docker_compatibility,
        create_dest_path: c.create_dest_path,
        allow_wildcard: c.allow_wildcard,
        allow_empty_wildcard: c.allow_empty_wildcard,
        timestamp: c.timestamp.unwrap_or(-1),
        include_patterns: c.include_patterns,
        exclude_patterns: c.exclude_patterns,
        always_replace_existing_dest_paths: c.always_replace_existing_dest_paths,
    }
}

/// Named users are looked up in the action's own input (the destination filesystem).
fn chown_to_pb(owner: Option<Chown>, input: i64) -> Option<pb::ChownOpt> {
    let user = |u: UserRef| pb::UserOpt {
        user: Some(match u {
            UserRef::Id(id) => pb::user_opt::User::ById(id),
            UserRef::Name(name) => pb::user_opt::User::ByName(pb::NamedUserOpt { name, input }),
        }),
    };
    owner.map(|o| pb::ChownOpt {
        user: o.user.map(user),
        group: o.group.map(user),
    })
}
