//! A stable, readable JSON rendering of a definition, for golden tests and `strata llb`.
//!
//! Digests are shown in full so a golden file pins the exact bytes BuildKit would receive.

use prost::Message;
use serde_json::{json, Map, Value};

use super::marshal::marshal;
use super::state::State;
use crate::pb;

/// Renders the definition of `state`.
pub fn dump(state: &State) -> Value {
    dump_definition(&marshal(state))
}

/// Renders a marshalled definition: one entry per op, in definition order.
pub fn dump_definition(def: &pb::Definition) -> Value {
    let mut ops = Vec::new();
    for bytes in &def.def {
        let digest = super::marshal::digest_of(bytes);
        let op = match pb::Op::decode(bytes.as_slice()) {
            Ok(op) => op,
            Err(e) => {
                ops.push(json!({ "digest": digest, "error": e.to_string() }));
                continue;
            }
        };
        let mut entry = Map::new();
        entry.insert("digest".into(), json!(digest));
        if !op.inputs.is_empty() {
            let inputs: Vec<String> = op
                .inputs
                .iter()
                .map(|i| format!("{}:{}", short(&i.digest), i.index))
                .collect();
            entry.insert("inputs".into(), json!(inputs));
        }
        if let Some(p) = &op.platform {
            entry.insert("platform".into(), json!(platform(p)));
        }
        match &op.op {
            None => {
                entry.insert("terminal".into(), json!(true));
            }
            Some(body) => {
                entry.insert("op".into(), op_body(body));
            }
        }
        if let Some(md) = def.metadata.get(&digest) {
            if let Some(name) = md.description.get("llb.customname") {
                entry.insert("name".into(), json!(name));
            }
            if md.ignore_cache {
                entry.insert("ignore_cache".into(), json!(true));
            }
        }
        // An op without lines has an empty entry (see `marshal`): nothing to show.
        let located = def.source.as_ref().and_then(|s| s.locations.get(&digest));
        if let Some(locs) = located.filter(|l| !l.locations.is_empty()) {
            let infos = def.source.as_ref().map(|s| &s.infos);
            let rendered: Vec<String> = locs
                .locations
                .iter()
                .flat_map(|l| {
                    let file = infos
                        .and_then(|i| i.get(l.source_index as usize))
                        .map_or("?", |f| f.filename.as_str())
                        .to_owned();
                    lines_of(&l.ranges)
                        .into_iter()
                        .map(move |(start, end)| format!("{file}:{start}-{end}"))
                })
                .collect();
            entry.insert("source".into(), json!(rendered));
        }
        ops.push(Value::Object(entry));
    }
    Value::Array(ops)
}

/// A location's ranges as `(start, end)` lines, adjacent ones joined: `marshal` writes an
/// instruction's lines one range each (as upstream does), read as one block.
fn lines_of(ranges: &[pb::Range]) -> Vec<(i32, i32)> {
    let line = |p: &Option<pb::Position>| p.as_ref().map_or(0, |p| p.line);
    let mut out: Vec<(i32, i32)> = Vec::new();
    for r in ranges {
        let (start, end) = (line(&r.start), line(&r.end));
        match out.last_mut() {
            Some(last) if last.1 + 1 == start => last.1 = end,
            _ => out.push((start, end)),
        }
    }
    out
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

fn platform(p: &pb::Platform) -> String {
    let mut s = format!("{}/{}", p.os, p.architecture);
    if !p.variant.is_empty() {
        s.push('/');
        s.push_str(&p.variant);
    }
    s
}

fn op_body(body: &pb::op::Op) -> Value {
    match body {
        pb::op::Op::Source(s) => {
            json!({ "source": { "identifier": s.identifier, "attrs": s.attrs } })
        }
        pb::op::Op::Exec(e) => {
            let meta = e.meta.clone().unwrap_or_default();
            let mounts: Vec<Value> = e.mounts.iter().map(mount).collect();
            let mut m = Map::new();
            m.insert("args".into(), json!(meta.args));
            m.insert("env".into(), json!(meta.env));
            m.insert("cwd".into(), json!(meta.cwd));
            if !meta.user.is_empty() {
                m.insert("user".into(), json!(meta.user));
            }
            if e.network != 0 {
                m.insert("network".into(), json!(e.network().as_str_name()));
            }
            if e.security != 0 {
                m.insert("security".into(), json!(e.security().as_str_name()));
            }
            if meta.remove_mount_stubs_recursive {
                m.insert("remove_mount_stubs_recursive".into(), json!(true));
            }
            if !meta.extra_hosts.is_empty() {
                let hosts: Vec<String> = meta
                    .extra_hosts
                    .iter()
                    .map(|h| format!("{}={}", h.host, h.ip))
                    .collect();
                m.insert("extra_hosts".into(), json!(hosts));
            }
            if !meta.hostname.is_empty() {
                m.insert("hostname".into(), json!(meta.hostname));
            }
            m.insert("mounts".into(), json!(mounts));
            if !e.secretenv.is_empty() {
                let envs: Vec<Value> = e
                    .secretenv
                    .iter()
                    .map(|s| json!({ "id": s.id, "name": s.name, "optional": s.optional }))
                    .collect();
                m.insert("secretenv".into(), json!(envs));
            }
            if !e.cdi_devices.is_empty() {
                let devices: Vec<Value> = e
                    .cdi_devices
                    .iter()
                    .map(|d| json!({ "name": d.name, "optional": d.optional }))
                    .collect();
                m.insert("cdi_devices".into(), json!(devices));
            }
            json!({ "exec": m })
        }
        pb::op::Op::File(f) => {
            let actions: Vec<Value> = f.actions.iter().map(file_action).collect();
            json!({ "file": actions })
        }
        pb::op::Op::Build(_) => json!({ "build": {} }),
        pb::op::Op::Merge(m) => {
            json!({ "merge": m.inputs.iter().map(|i| i.input).collect::<Vec<_>>() })
        }
        pb::op::Op::Diff(_) => json!({ "diff": {} }),
    }
}

fn mount(m: &pb::Mount) -> Value {
    let mut v = Map::new();
    v.insert("dest".into(), json!(m.dest));
    v.insert("type".into(), json!(m.mount_type().as_str_name()));
    v.insert("input".into(), json!(m.input));
    v.insert("output".into(), json!(m.output));
    if m.readonly {
        v.insert("readonly".into(), json!(true));
    }
    if !m.selector.is_empty() {
        v.insert("selector".into(), json!(m.selector));
    }
    if let Some(c) = &m.cache_opt {
        v.insert(
            "cache".into(),
            json!({ "id": c.id, "sharing": c.sharing().as_str_name() }),
        );
    }
    if let Some(t) = &m.tmpfs_opt {
        v.insert("tmpfs_size".into(), json!(t.size));
    }
    if let Some(s) = &m.secret_opt {
        v.insert(
            "secret".into(),
            json!({ "id": s.id, "uid": s.uid, "gid": s.gid, "mode": format!("{:o}", s.mode), "optional": s.optional }),
        );
    }
    if let Some(s) = &m.ssh_opt {
        v.insert(
            "ssh".into(),
            json!({ "id": s.id, "uid": s.uid, "gid": s.gid, "mode": format!("{:o}", s.mode), "optional": s.optional }),
        );
    }
    Value::Object(v)
}

fn chown(o: &Option<pb::ChownOpt>) -> Value {
    let user = |u: &Option<pb::UserOpt>| match u.as_ref().and_then(|u| u.user.as_ref()) {
        Some(pb::user_opt::User::ById(id)) => json!(id),
        Some(pb::user_opt::User::ByName(n)) => json!(n.name),
        None => Value::Null,
    };
    match o {
        Some(o) => json!({ "user": user(&o.user), "group": user(&o.group) }),
        None => Value::Null,
    }
}

fn file_action(a: &pb::FileAction) -> Value {
    let mut v = Map::new();
    v.insert("input".into(), json!(a.input));
    v.insert("secondary_input".into(), json!(a.secondary_input));
    v.insert("output".into(), json!(a.output));
    let mode = |m: i32| {
        if m < 0 {
            Value::Null
        } else {
            json!(format!("{:o}", m))
        }
    };
    match &a.action {
        Some(pb::file_action::Action::Copy(c)) => {
            let mut flags = Vec::new();
            for (on, name) in [
                (c.follow_symlink, "follow_symlink"),
                (c.dir_copy_contents, "dir_copy_contents"),
                (c.attempt_unpack_docker_compatibility, "attempt_unpack"),
                (c.create_dest_path, "create_dest_path"),
                (c.allow_wildcard, "allow_wildcard"),
                (c.allow_empty_wildcard, "allow_empty_wildcard"),
                (c.always_replace_existing_dest_paths, "always_replace"),
            ] {
                if on {
                    flags.push(name);
                }
            }
            let mut copy = json!({
                "src": c.src, "dest": c.dest, "mode": mode(c.mode), "owner": chown(&c.owner),
                "flags": flags, "timestamp": c.timestamp,
                "include": c.include_patterns, "exclude": c.exclude_patterns,
            });
            // Newer fields only when set, so older dumps stay as they were.
            if !c.mode_str.is_empty() {
                copy["mode_str"] = json!(c.mode_str);
            }
            if !c.required_paths.is_empty() {
                copy["required"] = json!(c.required_paths);
            }
            v.insert("copy".into(), copy);
        }
        Some(pb::file_action::Action::Mkdir(m)) => {
            v.insert(
                "mkdir".into(),
                json!({ "path": m.path, "mode": mode(m.mode), "make_parents": m.make_parents,
                        "owner": chown(&m.owner), "timestamp": m.timestamp }),
            );
        }
        Some(pb::file_action::Action::Mkfile(m)) => {
            v.insert(
                "mkfile".into(),
                json!({ "path": m.path, "mode": mode(m.mode), "data": String::from_utf8_lossy(&m.data),
                        "owner": chown(&m.owner), "timestamp": m.timestamp }),
            );
        }
        Some(pb::file_action::Action::Rm(r)) => {
            v.insert(
                "rm".into(),
                json!({ "path": r.path, "allow_not_found": r.allow_not_found, "allow_wildcard": r.allow_wildcard }),
            );
        }
        Some(pb::file_action::Action::Symlink(s)) => {
            v.insert(
                "symlink".into(),
                json!({ "oldpath": s.oldpath, "newpath": s.newpath, "owner": chown(&s.owner) }),
            );
        }
        None => {}
    }
    Value::Object(v)
}
