#!/usr/bin/env bash
# scripts/bench-size.sh -- size and speed of release binaries of `strata`, one row each.
#
#   scripts/bench-size.sh [BINARY...]     (default: the static x86_64 release build)
#   BLOAT=N scripts/bench-size.sh         also print cargo-bloat's top N crates (rebuilds
#                                         this checkout unstripped; needs `cargo install cargo-bloat`)
#
# Per binary: file size; callgrind's instruction count (repeatable on a noisy machine) and
# hyperfine's mean wall time of `strata llb` on (a) testdata/e2e/calculator/Dockerfile.multi
# and (b) a generated fan-in Dockerfile of 1,000 stages (FROM, ENV, WORKDIR, RUN each; the
# final stage copies from all). Every binary must print the same LLB as the first. After two
# or more binaries, a row per later binary gives each figure as a ratio to the first's.
# Environment: BENCH_RUNS (hyperfine runs, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-20}
target=x86_64-unknown-linux-gnu
flags="-C target-feature=+crt-static"
if [[ -n ${BLOAT:-} ]]; then
  CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS=$flags CARGO_PROFILE_RELEASE_STRIP=false \
    cargo bloat --release --target $target -p strata --bin strata --crates -n "$BLOAT"
fi
bins=("$@")
if ((${#bins[@]} == 0)); then
  CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS=$flags \
    cargo build --quiet --release --locked --target $target -p strata
  bins=(target/$target/release/strata)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
small=testdata/e2e/calculator/Dockerfile.multi
large=$work/fan-in-1000.Dockerfile
for i in $(seq 0 999); do
  printf 'FROM busybox:local AS s%d\nENV V%d=x%d\nWORKDIR /w%d\nRUN echo %d > /f%d\n' $i $i $i $i $i $i
done >"$large"
echo "FROM busybox:local" >>"$large"
for i in $(seq 0 999); do echo "COPY --from=s$i /f$i /out/"; done >>"$large"

instr() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" llb "$2" 2>&1 >/dev/null |
  sed -n 's/.*Collected : //p'; }
mean_ms() {
  hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/h.json" "$1 llb $2" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["mean"] * 1e3))' "$work/h.json"
}
printf '%-40s %10s %14s %14s %10s %10s\n' binary bytes 'instr (a)' 'instr (b)' 'ms (a)' 'ms (b)'
rows=()
for b in "${bins[@]}"; do
  for f in "$small" "$large"; do
    cmp -s <("${bins[0]}" llb "$f") <("$b" llb "$f") || { echo "bench-size: $b prints other LLB for $f" >&2; exit 1; }
  done
  row="$(stat -c %s "$b") $(instr "$b" "$small") $(instr "$b" "$large") $(mean_ms "$b" "$small") $(mean_ms "$b" "$large")"
  rows+=("$row")
  # shellcheck disable=SC2086 # the row is five numbers
  printf '%-40s %10s %14s %14s %10s %10s\n' "$b" $row
done
for ((i = 1; i < ${#rows[@]}; i++)); do
  python3 - "$((i + 1)) ÷ 1 (ratio)" ${rows[0]} ${rows[i]} <<'PY'
import sys
name, nums = sys.argv[1], list(map(float, sys.argv[2:]))
first, this = nums[:5], nums[5:]
print(f"{name:<40} " + " ".join(f"{t / f:>{w}.2f}" for t, f, w in zip(this, first, (10, 14, 14, 10, 10))))
PY
done
