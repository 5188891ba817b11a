//! An OCI layout tarball as `docker buildx build --output type=oci,dest=…` writes it, read
//! into memory: `index.json` and every blob by digest, so a test can walk the index, its
//! manifests, configs and attestation statements (`e2e_attest.rs`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

/// The annotation BuildKit puts on an attestation manifest: what it attests.
pub const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
/// The annotation that marks a manifest as an attestation manifest.
pub const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// An exported layout: `index.json` and the blobs under `blobs/sha256/`.
pub struct Layout {
    /// The top-level `index.json`.
    pub index: Value,
    /// Blob bytes by `sha256:<hex>` digest.
    blobs: BTreeMap<String, Vec<u8>>,
}

impl Layout {
    /// Reads the tarball at `path`; panics with the path when it is not an OCI layout.
    pub fn read(path: &Path) -> Layout {
        let mut index = None;
        let mut blobs = BTreeMap::new();
        super::tar_entries(path, |name, entry| {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read tar entry");
            if name == "index.json" {
                index = Some(serde_json::from_slice(&bytes).expect("index.json is JSON"));
            } else if let Some(hex) = name.strip_prefix("blobs/sha256/") {
                blobs.insert(format!("sha256:{hex}"), bytes);
            }
        });
        Layout {
            index: index.unwrap_or_else(|| panic!("{}: no index.json", path.display())),
            blobs,
        }
    }

    /// The blob `digest` parsed as JSON.
    pub fn json(&self, digest: &str) -> Value {
        let bytes = self
            .blobs
            .get(digest)
            .unwrap_or_else(|| panic!("blob {digest} is not in the layout"));
        serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("blob {digest}: {e}"))
    }

    /// The image index the build produced: the one manifest `index.json` lists (buildx
    /// wraps the build's index in the layout's own).
    pub fn image_index(&self) -> (Value, Value) {
        let listed = self.index["manifests"].as_array().expect("manifests");
        assert_eq!(
            listed.len(),
            1,
            "index.json lists one index: {}",
            self.index
        );
        let desc = listed[0].clone();
        assert_eq!(
            desc["mediaType"], "application/vnd.oci.image.index.v1+json",
            "{desc}"
        );
        let digest = desc["digest"].as_str().expect("digest").to_owned();
        (desc, self.json(&digest))
    }

    /// The in-toto statements of the attestation manifest that refers to `manifest` (an
    /// image manifest's digest), one per layer, with each layer's descriptor.
    pub fn statements_for(&self, manifest: &str) -> Vec<(Value, Value)> {
        let (_, index) = self.image_index();
        let attestation = index["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .find(|m| m["annotations"][REFERENCE_DIGEST] == manifest)
            .unwrap_or_else(|| panic!("no attestation manifest refers to {manifest}: {index}"));
        let digest = attestation["digest"].as_str().expect("digest");
        let layers = self.json(digest)["layers"].clone();
        layers
            .as_array()
            .expect("layers")
            .iter()
            .map(|l| {
                let digest = l["digest"].as_str().expect("layer digest");
                (l.clone(), self.json(digest))
            })
            .collect()
    }
}
