//! The frontend's own work at scale, offline: one gateway build request (the code BuildKit
//! runs: read the Dockerfile, resolve, lint, convert, marshal, solve, return) of a given
//! Dockerfile (scripts/fan-in.sh makes the N-stage ones), against the in-process fake
//! BuildKit.
//!
//! The frontend runs on the main thread (a current-thread runtime, its HTTP/2 client
//! included); the fake serves from a runtime on another thread, so that callgrind's
//! per-thread counts (`--separate-threads=yes`) give the frontend's instructions alone.
//! `cargo bench -p strata --bench pipeline -- FILE` runs it once; `scripts/bench-pipeline.sh`
//! runs it under callgrind at 10, 1,000 and 5,000 stages and prints the counts.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark program, not library code

use strata::gateway::{serve_with, Site};
use strata_proto::testing::{gateway_env, spawn_on, FakeBridge};

/// The busybox image config the fake answers for every stage's base.
const BUSYBOX: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}"#;

fn main() {
    // `cargo bench` passes `--bench`; the Dockerfile is the first other argument.
    let path = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .expect("usage: pipeline <Dockerfile>");
    let text = std::fs::read_to_string(&path).unwrap();
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let frontend = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fake = FakeBridge::new()
        .with_file("Dockerfile", text)
        .with_image("docker.io/library/busybox:local", BUSYBOX)
        .with_llb_cap("exec.meta.setsdefaultpath");
    let returns = frontend.block_on(async {
        let (bridge, handle) = spawn_on(fake, server.handle()).await.unwrap();
        let env = gateway_env(&[]).unwrap();
        let site = Site {
            policy: "/nonexistent/policy.toml".into(),
            library: "/nonexistent/library".into(),
        };
        serve_with(&bridge, &env, &site).await.unwrap();
        handle.returns()
    });
    let ok = returns.len() == 1 && returns[0].error.is_none();
    assert!(ok, "the build failed: {returns:?}");
    println!("{path}: built");
}
