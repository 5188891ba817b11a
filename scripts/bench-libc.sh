#!/usr/bin/env bash
# scripts/bench-libc.sh -- glibc or musl for the shipped binaries? (`make bench-libc`)
#
# Builds both static x86_64 release binaries of this checkout: x86_64-unknown-linux-gnu with
# crt-static (what the image ships) and x86_64-unknown-linux-musl (linked by rust-lld), then
# measures them side by side with scripts/bench-size.sh: size, callgrind instructions and
# hyperfine wall time of `strata llb` on the calculator and on 1,000 stages, and the musl
# row as ratios to glibc's (> 1: musl is bigger or slower). Both must print the same LLB.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --quiet --release --locked --target x86_64-unknown-linux-gnu -p strata
scripts/cross.sh x86_64-unknown-linux-musl
cargo build --quiet --release --locked --target x86_64-unknown-linux-musl -p strata
command -v hyperfine >/dev/null || apt-get install -y -q --no-install-recommends hyperfine >/dev/null
exec scripts/bench-size.sh target/x86_64-unknown-linux-gnu/release/strata \
  target/x86_64-unknown-linux-musl/release/strata
