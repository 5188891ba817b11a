#!/usr/bin/env bash
# Runs the parse → convert fuzz target for a bounded time (FUZZ_SECONDS, default 60),
# seeded with every Dockerfile under testdata/, and prints executions and crashes.
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 lets the stable toolchain here
# build the libFuzzer-instrumented binary.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus=fuzz/corpus/parse_convert
mkdir -p "$corpus"
find testdata -name '*Dockerfile*' -type f -exec sh -c 'for f; do cp "$f" "fuzz/corpus/parse_convert/seed-$(echo "$f" | tr / _)"; done' _ {} +
log=$(mktemp)
set +e
RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none parse_convert "$corpus" -- \
    -max_total_time="$seconds" -max_len=4096 2>&1 | tee "$log" | grep -E '^(#[0-9]+\s+(DONE|pulse)|==|SUMMARY|Done)' 
status=${PIPESTATUS[0]}
set -e
execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
crashes=$(find fuzz/artifacts/parse_convert -type f 2>/dev/null | wc -l)
echo "fuzz: ${execs:-0} executions in ${seconds}s, ${crashes} crash artifacts, exit ${status}"
rm -f "$log"
exit "$status"
