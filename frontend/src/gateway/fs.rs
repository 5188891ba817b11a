//! `BridgeFs`: a solved reference read through the gateway (`StatFile`, range `ReadFile`,
//! `ReadDir`), as [`crate::startcheck`] and [`crate::deps`] read a filesystem.

use strata_proto::gateway::Bridge;

use crate::imagefs::{Entry, ImageFs};

/// A solved reference, as [`startcheck`] and [`deps`] read it.
pub(super) struct BridgeFs<'a> {
    bridge: &'a Bridge,
    reference: &'a str,
    /// Gateway calls made, for the log.
    pub(super) calls: std::sync::atomic::AtomicUsize,
}

impl<'a> BridgeFs<'a> {
    pub(super) fn new(bridge: &'a Bridge, reference: &'a str) -> BridgeFs<'a> {
        BridgeFs {
            bridge,
            reference,
            calls: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn count(&self) {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl ImageFs for BridgeFs<'_> {
    fn stat(&self, path: &str) -> impl std::future::Future<Output = Option<Entry>> {
        let path = path.to_owned();
        async move {
            if self.reference.is_empty() {
                return None;
            }
            self.count();
            let st = self.bridge.stat_file(self.reference, &path).await.ok()?;
            Some(Entry {
                mode: st.mode,
                linkname: st.linkname,
            })
        }
    }

    fn read(
        &self,
        path: &str,
        offset: u64,
        len: u64,
    ) -> impl std::future::Future<Output = Option<Vec<u8>>> {
        let path = path.to_owned();
        async move {
            if self.reference.is_empty() {
                return None;
            }
            self.count();
            let range = (i64::try_from(offset).ok()?, i64::try_from(len).ok()?);
            self.bridge
                .read_file(self.reference, &path, Some(range))
                .await
                .ok()
        }
    }

    fn read_dir(
        &self,
        dir: &str,
    ) -> impl std::future::Future<Output = Option<Vec<(String, Entry)>>> {
        let dir = dir.to_owned();
        async move {
            if self.reference.is_empty() {
                return None;
            }
            self.count();
            let entries = self.bridge.read_dir(self.reference, &dir, "").await.ok()?;
            Some(
                entries
                    .into_iter()
                    .map(|st| {
                        // fsutil names entries by their path below `dir`.
                        let name = st.path.rsplit('/').next().unwrap_or_default().to_owned();
                        let entry = Entry {
                            mode: st.mode,
                            linkname: st.linkname,
                        };
                        (name, entry)
                    })
                    .collect(),
            )
        }
    }
}
