#!/usr/bin/env bash
# scripts/bench-pipeline.sh -- the frontend's own cost at 10, 1,000 and 5,000 stages, offline.
#
# Input: scripts/fan-in.sh's Dockerfile of N stages, which `make bench` builds for real.
# Per N:
#   gateway instr   callgrind's instruction count of one whole gateway build request (read,
#                   resolve, lint, convert, marshal, solve, return) against the in-process
#                   fake BuildKit (frontend/benches/pipeline.rs), counting the frontend's
#                   thread only. Repeatable on a noisy machine.
#   llb ms, llb KB  `strata llb` (the release binary: parse, convert, marshal, and the JSON
#                   dump): hyperfine's mean wall time and /usr/bin/time's peak RSS.
#   graph ms        `strata graph` (the stage graph as SVG: parse, plan, layout, render):
#                   hyperfine's mean wall time.
#   svg KB          the size of that SVG.
# Then each figure at 5,000 stages over the one at 1,000 (linear is 5.0).
# Environment: BENCH_RUNS (hyperfine runs, default 10), STAGES (default "10 1000 5000").
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-10}
STAGES=${STAGES:-10 1000 5000}
target=x86_64-unknown-linux-gnu
CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --quiet --release --locked --target $target -p strata
strata=target/$target/release/strata
bench=$(cargo bench --quiet --locked -p strata --bench pipeline --no-run --message-format=json |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "pipeline" and m.get("executable"):
        print(m["executable"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The frontend thread's count: callgrind writes one file per thread; the main thread's is -01.
gateway_instr() {
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/cg" \
    "$bench" "$1" >/dev/null 2>&1
  sed -n 's/^summary: //p' "$work/cg-01"
  rm -f "$work"/cg*
}
llb_ms() {
  hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/h.json" "$strata llb $1" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["mean"] * 1e3))' "$work/h.json"
}
llb_kb() { /usr/bin/time -f %M "$strata" llb "$1" 2>&1 >/dev/null | tail -1; }
graph_ms() {
  hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/h.json" "$strata graph $1" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["mean"] * 1e3))' "$work/h.json"
}
svg_kb() { "$strata" graph "$1" | wc -c | awk '{ printf "%.1f\n", $1 / 1024 }'; }

printf '%7s %7s %16s %10s %10s %10s %10s\n' stages lines 'gateway instr' 'llb ms' 'llb KB' 'graph ms' 'svg KB'
declare -A row
for n in $STAGES; do
  f=$work/fan-in-$n.Dockerfile
  scripts/fan-in.sh "$n" >"$f"
  row[$n]="$(gateway_instr "$f") $(llb_ms "$f") $(llb_kb "$f") $(graph_ms "$f") $(svg_kb "$f")"
  # shellcheck disable=SC2086 # five numbers
  printf '%7d %7d %16s %10s %10s %10s %10s\n' "$n" "$(wc -l <"$f")" ${row[$n]}
done
if [[ -n ${row[1000]:-} && -n ${row[5000]:-} ]]; then
  python3 - ${row[1000]} ${row[5000]} <<'PY'
import sys
a, b = list(map(float, sys.argv[1:6])), list(map(float, sys.argv[6:11]))
print("%-15s %16s %10s %10s %10s %10s" % ("5,000 / 1,000", *("%.2f" % (y / x) for x, y in zip(a, b))))
PY
fi
