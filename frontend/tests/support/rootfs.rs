//! The exported filesystem of a build as a map the e2e suites compare between the
//! builtin frontend and Strata: every path with its type, mode, owner, size, content hash
//! and link target (never its mtime), and a readable difference of two such maps.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Every entry of an exported rootfs tar, by path: all metadata but the mtime.
pub fn rootfs(path: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    super::tar_entries(path, |name, entry| {
        let h = entry.header().clone();
        let link = entry
            .link_name()
            .expect("tar link")
            .map(|l| l.to_string_lossy().into_owned());
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("tar content");
        let fields = serde_json::json!({
            "type": format!("{:?}", h.entry_type()),
            "mode": format!("{:o}", h.mode().expect("mode")),
            "uid": h.uid().expect("uid"),
            "gid": h.gid().expect("gid"),
            "size": h.size().expect("size"),
            "sha256": hex::encode(Sha256::digest(&content)),
            "link": link,
        });
        out.insert(name, fields);
    });
    out
}

/// A readable diff of two maps (absent keys and JSON nulls are the same); empty if equal.
pub fn diff_maps(builtin: &BTreeMap<String, Value>, strata: &BTreeMap<String, Value>) -> String {
    let mut out = String::new();
    let keys: std::collections::BTreeSet<&String> = builtin.keys().chain(strata.keys()).collect();
    for k in keys {
        let (a, b) = (
            builtin.get(k).unwrap_or(&Value::Null),
            strata.get(k).unwrap_or(&Value::Null),
        );
        if a != b {
            let _ = writeln!(out, "  {k}\n    builtin: {a}\n    strata:  {b}");
        }
    }
    out
}
