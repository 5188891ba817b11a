//! Exec ops: run a process with a root filesystem and extra mounts.

use std::sync::Arc;

use super::meta::OpMeta;
use super::state::{InputList, Node, State};
use super::Platform;
use crate::pb;

pub use crate::pb::{NetMode, SecurityMode};

/// How concurrent builds share a cache mount.
pub type CacheSharing = pb::CacheSharingOpt;

/// What kind of filesystem a [`Mount`] provides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// A state's files (read-only, or writable with a captured output).
    Bind,
    /// A persistent cache directory, shared across builds by `id`.
    Cache {
        /// Cache identity.
        id: String,
        /// Concurrency mode.
        sharing: CacheSharing,
    },
    /// An empty in-memory filesystem; `size` in bytes, 0 for unlimited.
    Tmpfs {
        /// Size limit in bytes.
        size: i64,
    },
    /// A secret file from the client's session.
    Secret(ClientMount),
    /// An SSH agent socket forwarded from the client.
    Ssh(ClientMount),
}

/// Something the client provides through the session (a secret, an SSH agent) and how it
/// appears in the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientMount {
    /// Secret or agent id in the session.
    pub id: String,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// File or socket mode.
    pub mode: u32,
    /// Whether a missing secret or agent is tolerated.
    pub optional: bool,
}

/// A secret from the client's session exposed as an environment variable of the process
/// (`ExecOp.secretenv`, cap `exec.secretenv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretEnv {
    /// Secret id in the session.
    pub id: String,
    /// The variable's name.
    pub name: String,
    /// Whether a missing secret is tolerated.
    pub optional: bool,
}

/// A CDI device the process gets (`ExecOp.cdi_devices`, cap `exec.meta.cdi`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// The CDI name (`vendor.com/class=name`, a vendor, a class, `…=*`).
    pub name: String,
    /// Whether the process runs without it when the worker has none.
    pub optional: bool,
}

/// One extra mount of an exec op.
#[derive(Clone, Debug)]
pub struct Mount {
    /// Where the mount appears in the container.
    pub dest: String,
    /// The files mounted; `None` (or scratch) for an empty mount.
    pub source: Option<State>,
    /// A subdirectory of `source` to mount instead of its root.
    pub selector: String,
    /// Read-only mounts produce no output.
    pub readonly: bool,
    /// A writable bind mount whose result is kept as an output of the op; when false its
    /// changes are thrown away.
    pub capture: bool,
    /// Bind, cache, tmpfs, secret or ssh.
    pub kind: MountKind,
}

impl Mount {
    /// A read-only bind mount of `source` at `dest`.
    pub fn bind(dest: &str, source: State) -> Mount {
        Mount {
            dest: dest.to_owned(),
            source: Some(source),
            selector: String::new(),
            readonly: true,
            capture: false,
            kind: MountKind::Bind,
        }
    }
}

/// Builds an exec op. The root filesystem is mounted writable at `/` and becomes output 0.
#[derive(Clone, Debug)]
pub struct Exec {
    root: State,
    meta: pb::Meta,
    mounts: Vec<Mount>,
    network: NetMode,
    security: SecurityMode,
    secret_env: Vec<SecretEnv>,
    devices: Vec<Device>,
    platform: Option<Platform>,
    op_meta: OpMeta,
}

/// The states an exec op produces: its root and each writable extra mount.
#[derive(Clone, Debug)]
pub struct ExecOutputs {
    /// The root filesystem after the process ran.
    pub root: State,
    /// `(dest, state)` for every writable bind mount, in mount order.
    pub mounts: Vec<(String, State)>,
}

impl Exec {
    /// A process `args` run on top of `root`.
    pub fn new(root: State, args: Vec<String>) -> Exec {
        Exec {
            root,
            meta: pb::Meta {
                args,
                cwd: "/".to_owned(),
                ..Default::default()
            },
            mounts: Vec::new(),
            network: NetMode::Unset,
            security: SecurityMode::Sandbox,
            secret_env: Vec::new(),
            devices: Vec::new(),
            platform: None,
            op_meta: OpMeta::default(),
        }
    }

    /// The process environment, `KEY=value` entries in the order given.
    pub fn env(mut self, env: Vec<String>) -> Exec {
        self.meta.env = env;
        self
    }

    /// The working directory.
    pub fn cwd(mut self, cwd: &str) -> Exec {
        cwd.clone_into(&mut self.meta.cwd);
        self
    }

    /// The user (`name`, `uid`, `uid:gid`); empty means the image default.
    pub fn user(mut self, user: &str) -> Exec {
        user.clone_into(&mut self.meta.user);
        self
    }

    /// Extra `/etc/hosts` entries.
    pub fn extra_hosts(mut self, hosts: Vec<(String, String)>) -> Exec {
        self.meta.extra_hosts = hosts
            .into_iter()
            .map(|(host, ip)| pb::HostIp { host, ip })
            .collect();
        self
    }

    /// The hostname the process sees (`hostname` build option); empty keeps BuildKit's.
    pub fn hostname(mut self, hostname: &str) -> Exec {
        self.meta.hostname = hostname.to_owned();
        self
    }

    /// Removes the empty mount-point stubs BuildKit leaves in the root after the run.
    pub fn remove_mount_stubs(mut self, on: bool) -> Exec {
        self.meta.remove_mount_stubs_recursive = on;
        self
    }

    /// Proxy settings passed to the process without becoming part of its cache key.
    pub fn proxy_env(mut self, proxy: Option<pb::ProxyEnv>) -> Exec {
        self.meta.proxy_env = proxy;
        self
    }

    /// Adds a mount.
    pub fn mount(mut self, mount: Mount) -> Exec {
        self.mounts.push(mount);
        self
    }

    /// The network mode.
    pub fn network(mut self, network: NetMode) -> Exec {
        self.network = network;
        self
    }

    /// The security mode.
    pub fn security(mut self, security: SecurityMode) -> Exec {
        self.security = security;
        self
    }

    /// Adds a secret as an environment variable of the process.
    pub fn secret_env(mut self, secret: SecretEnv) -> Exec {
        self.secret_env.push(secret);
        self
    }

    /// Adds a CDI device.
    pub fn device(mut self, device: Device) -> Exec {
        self.devices.push(device);
        self
    }

    /// The platform the process runs on.
    pub fn platform(mut self, platform: Option<Platform>) -> Exec {
        self.platform = platform;
        self
    }

    /// Progress name, caps and source locations.
    pub fn meta(mut self, meta: OpMeta) -> Exec {
        self.op_meta = meta;
        self
    }

    /// Finishes the op.
    pub fn run(self) -> ExecOutputs {
        let mut inputs = InputList::default();
        let mut meta = self.op_meta.cap("exec.meta.base");
        let mut all = vec![Mount {
            dest: "/".to_owned(),
            source: Some(self.root),
            selector: String::new(),
            readonly: false,
            capture: true,
            kind: MountKind::Bind,
        }];
        // As upstream's `ExecOp.Marshal` lays them out, so the op (and its cache key) is
        // the builtin frontend's: filesystem mounts sorted by destination (stable, so their
        // option order never changes the digest), then secrets, then SSH sockets, each in
        // the order given.
        let (mut files, mut sockets): (Vec<Mount>, Vec<Mount>) = self
            .mounts
            .into_iter()
            .partition(|m| !matches!(m.kind, MountKind::Secret(_) | MountKind::Ssh(_)));
        files.sort_by(|a, b| a.dest.cmp(&b.dest));
        sockets.sort_by_key(|m| matches!(m.kind, MountKind::Ssh(_)));
        all.extend(files);
        all.extend(sockets);

        let mut pb_mounts = Vec::with_capacity(all.len());
        let mut outputs = Vec::new();
        let mut next_output = 0i64;
        for m in &all {
            let input = match &m.source {
                Some(s) => inputs.index_of(s),
                None => -1,
            };
            let writable_bind = m.kind == MountKind::Bind && !m.readonly && m.capture;
            // Upstream writes secret and SSH mounts with output 0 and not read-only (fields
            // BuildKit ignores for them): the same bytes give the same digest.
            let socket = matches!(m.kind, MountKind::Secret(_) | MountKind::Ssh(_));
            let output = if writable_bind {
                let o = next_output;
                next_output += 1;
                outputs.push(m.dest.clone());
                o
            } else if socket {
                0
            } else {
                -1
            };
            let mut pm = pb::Mount {
                input,
                selector: m.selector.clone(),
                dest: m.dest.clone(),
                output,
                readonly: m.readonly && !socket,
                ..Default::default()
            };
            match &m.kind {
                MountKind::Bind => {
                    if m.source.as_ref().is_some_and(|s| !s.is_scratch()) {
                        meta = meta.cap("exec.mount.bind");
                    }
                    if !m.selector.is_empty() {
                        meta = meta.cap("exec.mount.selector");
                    }
                }
                MountKind::Cache { id, sharing } => {
                    pm.mount_type = pb::MountType::Cache as i32;
                    pm.cache_opt = Some(pb::CacheOpt {
                        id: id.clone(),
                        sharing: *sharing as i32,
                    });
                    meta = meta.cap("exec.mount.cache").cap("exec.mount.cache.sharing");
                }
                MountKind::Tmpfs { size } => {
                    pm.mount_type = pb::MountType::Tmpfs as i32;
                    // Always present, as upstream writes it (an empty message without a size).
                    pm.tmpfs_opt = Some(pb::TmpfsOpt { size: *size });
                    if *size > 0 {
                        meta = meta.cap("exec.mount.tmpfs.size");
                    }
                    meta = meta.cap("exec.mount.tmpfs");
                }
                MountKind::Secret(c) => {
                    pm.mount_type = pb::MountType::Secret as i32;
                    pm.secret_opt = Some(pb::SecretOpt {
                        id: c.id.clone(),
                        uid: c.uid,
                        gid: c.gid,
                        mode: c.mode,
                        optional: c.optional,
                    });
                    meta = meta.cap("exec.mount.secret");
                }
                MountKind::Ssh(c) => {
                    pm.mount_type = pb::MountType::Ssh as i32;
                    pm.ssh_opt = Some(pb::SshOpt {
                        id: c.id.clone(),
                        uid: c.uid,
                        gid: c.gid,
                        mode: c.mode,
                        optional: c.optional,
                    });
                    meta = meta.cap("exec.mount.ssh");
                }
            }
            pb_mounts.push(pm);
        }
        if self.meta.proxy_env.is_some() {
            meta = meta.cap("exec.meta.proxyenv");
        }
        if self.network != NetMode::Unset {
            meta = meta.cap("exec.meta.network");
        }
        if self.security != SecurityMode::Sandbox {
            meta = meta.cap("exec.meta.security");
        }
        if !self.secret_env.is_empty() {
            meta = meta.cap("exec.mount.secret").cap("exec.secretenv");
        }
        if !self.devices.is_empty() {
            meta = meta.cap("exec.meta.cdi");
        }
        // Extra hosts and the hostname need no cap: BuildKit defines none for them.
        let op = pb::Op {
            platform: self.platform,
            constraints: Some(pb::WorkerConstraints::default()),
            op: Some(pb::op::Op::Exec(pb::ExecOp {
                meta: Some(self.meta),
                mounts: pb_mounts,
                network: self.network as i32,
                security: self.security as i32,
                secretenv: self
                    .secret_env
                    .iter()
                    .map(|s| pb::SecretEnv {
                        id: s.id.clone(),
                        name: s.name.clone(),
                        optional: s.optional,
                    })
                    .collect(),
                cdi_devices: self
                    .devices
                    .iter()
                    .map(|d| pb::CdiDevice {
                        name: d.name.clone(),
                        optional: d.optional,
                    })
                    .collect(),
            })),
            ..Default::default()
        };
        let node = Arc::new(Node {
            op,
            inputs: inputs.outputs,
            meta,
        });
        let root = State::from_node(node.clone(), 0);
        let mounts = outputs
            .into_iter()
            .enumerate()
            .skip(1)
            .map(|(i, dest)| (dest, State::from_node(node.clone(), i as i64)))
            .collect();
        ExecOutputs { root, mounts }
    }
}
