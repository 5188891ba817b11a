#!/usr/bin/env bash
# scripts/demo.sh -- build the calculator seed example with Strata, both ways.
#
# What `make demo` runs (after `make image` has loaded strata:dev). It builds
# testdata/e2e/calculator with Strata as the gateway frontend
# (--build-arg BUILDKIT_SYNTAX=strata:dev) twice:
#   single  Dockerfile.single: one stage, python3 + python3-pip with recommends
#   multi   Dockerfile.multi:  builder stage runs the unit tests and byte-compiles
#           /app; the runtime stage installs only python3 (no recommends)
# loads them as strata-demo/calculator:{single,multi}, runs each once
# (`docker run --rm`, default expression 2+3*4) and prints
#   variant | image size (MB) | build time (s) | calculator output
# It exits non-zero if a build or run fails or an output is not the expected one.
#
# Builds use --no-cache by default so the build times are comparable from run
# to run (base images are local; apt talks to the Debian mirror).
# Environment:
#   STRATA_IMAGE      frontend image (default strata:dev)
#   DEMO_NO_CACHE=0   allow BuildKit's cache (fast reruns; times then mean little)
#   DEMO_LOG_DIR      where build logs go (default: a temp dir, kept on failure)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONTEXT="$ROOT/testdata/e2e/calculator"
FRONTEND=${STRATA_IMAGE:-strata:dev}
EXPECTED="2+3*4 = 14"
VARIANTS=(single multi)
LOG_DIR=${DEMO_LOG_DIR:-$(mktemp -d /tmp/strata-demo.XXXXXX)}
mkdir -p "$LOG_DIR"

cache_flags=(--no-cache)
[[ ${DEMO_NO_CACHE:-1} == 0 ]] && cache_flags=()

die() { echo "demo: $*" >&2; exit 1; }

docker image inspect "$FRONTEND" >/dev/null 2>&1 \
  || die "frontend image $FRONTEND not found (run \`make image\`)"

declare -A size_mb build_s output
for v in "${VARIANTS[@]}"; do
  tag="strata-demo/calculator:$v"
  log="$LOG_DIR/build-$v.log"
  echo "==> building $tag with $FRONTEND (Dockerfile.$v, log: $log)"
  start=$(date +%s.%N)
  if ! docker buildx build --progress=plain "${cache_flags[@]}" \
      --build-arg BUILDKIT_SYNTAX="$FRONTEND" \
      -f "$CONTEXT/Dockerfile.$v" --load -t "$tag" "$CONTEXT" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "build of $tag failed (full log: $log)"
  fi
  end=$(date +%s.%N)
  build_s[$v]=$(python3 -c "print(f'{$end - $start:.1f}')")
  bytes=$(docker image inspect --format '{{.Size}}' "$tag")
  size_mb[$v]=$(python3 -c "print(f'{$bytes / 1e6:.1f}')")

  echo "==> running $tag"
  output[$v]=$(docker run --rm "$tag") || die "docker run $tag failed"
  echo "    ${output[$v]}"
  [[ ${output[$v]} == "$EXPECTED" ]] \
    || die "$tag printed '${output[$v]}', expected '$EXPECTED'"
done

echo
printf '| %-7s | %15s | %14s | %-17s |\n' variant "image size (MB)" "build time (s)" "calculator output"
printf '|%s|%s|%s|%s|\n' --------- ----------------: ---------------: -------------------
for v in "${VARIANTS[@]}"; do
  printf '| %-7s | %15s | %14s | %-17s |\n' "$v" "${size_mb[$v]}" "${build_s[$v]}" "${output[$v]}"
done
echo
echo "demo: OK (both variants built by $FRONTEND print '$EXPECTED')"
[[ -z ${DEMO_LOG_DIR:-} ]] && rm -rf "$LOG_DIR"
exit 0
