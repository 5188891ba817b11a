#!/usr/bin/env bash
# scripts/bench-libc.sh -- glibc or musl for the shipped binaries? Figures, side by side in
# one run (`make bench-libc`); it asserts only that both binaries print the same LLB.
#
# Both are static x86_64 release builds of this checkout: x86_64-unknown-linux-gnu with
# crt-static (what the image ships) and x86_64-unknown-linux-musl (linked by rust-lld).
# Printed: each binary's size, and hyperfine's mean wall time of `strata llb` on
#   small  testdata/e2e/calculator/Dockerfile.multi (a real two-stage build), and
#   large  a generated Dockerfile of 1,000 stages, each with an ARG, a RUN and a COPY,
# and the instructions each run executes (valgrind's callgrind: repeatable on a busy
# machine, where wall times are not), with the ratio musl / glibc (> 1: musl is slower or
# bigger).
#
# Environment: BENCH_RUNS (hyperfine runs per command, default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-30}
command -v hyperfine >/dev/null || apt-get install -y -q --no-install-recommends hyperfine >/dev/null

gnu=target/x86_64-unknown-linux-gnu/release/strata
musl=target/x86_64-unknown-linux-musl/release/strata
CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --quiet --release --locked --target x86_64-unknown-linux-gnu -p strata
scripts/cross.sh x86_64-unknown-linux-musl
cargo build --quiet --release --locked --target x86_64-unknown-linux-musl -p strata

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
large=$work/large.Dockerfile
python3 - "$large" <<'PY'
import sys
lines = ["FROM busybox:local AS base", "RUN echo base"]
for i in range(1000):
    lines += [f"FROM base AS s{i}", f"ARG V{i}=x", f"RUN echo {i} > /f{i}",
              f"COPY --from=base /etc/passwd /p{i}"]
lines.append("FROM scratch")
lines += [f"COPY --from=s{i} /f{i} /" for i in range(0, 1000, 10)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
small=testdata/e2e/calculator/Dockerfile.multi
for f in "$small" "$large"; do
  cmp -s <("$gnu" llb "$f") <("$musl" llb "$f") || { echo "bench-libc: the two builds differ on $f" >&2; exit 1; }
done

mean() { # mean NAME BINARY FILE -> mean seconds
  hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/$1.json" "$2 llb $3" >/dev/null 2>&1
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' "$work/$1.json"
}
instructions() { # instructions BINARY FILE -> instructions executed by `BINARY llb FILE`
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" llb "$2" 2>&1 >/dev/null \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
declare -A t
for size in small large; do
  file=$small; [[ $size == large ]] && file=$large
  t[gnu-$size]=$(mean "gnu-$size" "$gnu" "$file")
  t[musl-$size]=$(mean "musl-$size" "$musl" "$file")
  t[gnu-$size-i]=$(instructions "$gnu" "$file")
  t[musl-$size-i]=$(instructions "$musl" "$file")
done
python3 - "$(stat -c %s "$gnu")" "$(stat -c %s "$musl")" \
  "${t[gnu-small]}" "${t[musl-small]}" "${t[gnu-large]}" "${t[musl-large]}" \
  "${t[gnu-small-i]}" "${t[musl-small-i]}" "${t[gnu-large-i]}" "${t[musl-large-i]}" <<'PY'
import sys
gs, ms, g1, m1, g2, m2, gi1, mi1, gi2, mi2 = map(float, sys.argv[1:])
print(f"{'':34}{'glibc (static)':>16}{'musl':>14}{'musl/glibc':>12}")
print(f"{'binary size':34}{gs/1e6:>13.2f} MB{ms/1e6:>11.2f} MB{ms/gs:>12.2f}")
print(f"{'llb, calculator (2 stages): wall':34}{g1*1e3:>13.1f} ms{m1*1e3:>11.1f} ms{m1/g1:>12.2f}")
print(f"{'  instructions':34}{gi1/1e6:>14.1f} M{mi1/1e6:>12.1f} M{mi1/gi1:>12.2f}")
print(f"{'llb, 1,000 stages: wall':34}{g2*1e3:>13.1f} ms{m2*1e3:>11.1f} ms{m2/g2:>12.2f}")
print(f"{'  instructions':34}{gi2/1e6:>14.1f} M{mi2/1e6:>12.1f} M{mi2/gi2:>12.2f}")
PY
