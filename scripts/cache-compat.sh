#!/usr/bin/env bash
# scripts/cache-compat.sh -- how cache-compatible Strata is with BuildKit's builtin
# Dockerfile frontend: for every e2e case (testdata/e2e/<case>/Dockerfile, the
# calculator's Dockerfile.multi/.single, and the testdata/compat/<case>/ suite unless
# CACHE_COMPAT_SUITE=0), build once with the builtin frontend (warm),
# then with Strata, and count the Strata build's RUN/COPY/ADD/WORKDIR steps that come
# back CACHED. A team switching to `# syntax=strata` keeps the fraction of its warm cache
# printed here; every miss is listed. It also prints how many of those steps have the
# same op digest as the builtin's (BuildKit's vertex digest is the op digest). Cache keys
# and op digests differ in one known place: the build-context source op carries the
# client's session id, so a step downstream of `COPY <context path>` never has the same
# digest in two builds (not even builtin vs builtin) while its cache key still matches.
#
# Isolation: every run builds its own base images (busybox:local / debian:bookworm plus
# one nonce file), and the Dockerfiles are rewritten to use them, so neither earlier runs
# nor other sessions' builds on this daemon can have warmed any step; nothing is pruned.
# The base images are removed at the end.
#
# Output: one line per case, then the total. Needs the test bed and the frontend image
# (STRATA_IMAGE, default strata:dev). Cases the script cannot measure (a build fails, or
# the case brings its own -f) are listed as "not measured". Timing: a few minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FRONTEND=${STRATA_IMAGE:-strata:dev}
NONCE="$(date +%s)-$$"
WORK=$(mktemp -d /tmp/strata-cache-compat.XXXXXX)
BASES=()
cleanup() {
  ((${#BASES[@]})) && docker image rm -f "${BASES[@]}" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
die() { echo "cache-compat: $*" >&2; exit 1; }
docker image inspect "$FRONTEND" >/dev/null 2>&1 || die "frontend image $FRONTEND not found (make image)"

# A per-run copy of a base image with one extra (nonce) layer: new content, new cache keys.
unique_base() {
  local from=$1 tag=$2 dir="$WORK/base-$2"
  mkdir -p "$dir"
  echo "$NONCE" >"$dir/nonce"
  printf 'FROM %s\nCOPY nonce /.strata-cache-compat\n' "$from" >"$dir/Dockerfile"
  docker buildx build -q --load -t "strata-cc/$tag:$NONCE" "$dir" >/dev/null
  BASES+=("strata-cc/$tag:$NONCE")
}
unique_base busybox:local busybox
unique_base debian:bookworm debian

# steps LOG: "<cached 0|1> <digest> <name>" per Dockerfile step of a rawjson progress log.
steps() {
  python3 - "$1" <<'EOF'
import json, re, sys
step = re.compile(r'^\[[^\]]*\d+/\d+\] (RUN|COPY|ADD|WORKDIR) ')
seen = {}
text, i, dec, objs = open(sys.argv[1]).read(), 0, json.JSONDecoder(), []
while (i := text.find('{', i)) >= 0:
    try:
        obj, i = dec.raw_decode(text, i)
        objs.append(obj)
    except ValueError:
        i += 1
for obj in objs:
    for v in obj.get('vertexes') or []:
        name = v.get('name', '')
        if not step.match(name):
            continue
        d = seen.setdefault(v['digest'], {'name': name, 'cached': False})
        d['cached'] = d['cached'] or bool(v.get('cached'))
for dg, d in seen.items():
    print(int(d['cached']), dg, d['name'])
EOF
}

# build KIND CASE_DIR DOCKERFILE LOG [args...]
build() {
  local kind=$1 dir=$2 file=$3 log=$4; shift 4
  local args=(--progress=rawjson --output type=cacheonly -f "$file" "$@")
  [[ $kind == strata ]] && args+=(--build-arg "BUILDKIT_SYNTAX=$FRONTEND")
  docker buildx build "${args[@]}" "$dir" >"$log" 2>&1
}

rewrite() { # rewrite SRC DEST [sed args...]: no `# syntax=` line, unique base images
  local src=$1 dest=$2; shift 2
  sed -e '1{/^#[[:space:]]*syntax=/d}' \
      -e "s#busybox:local#strata-cc/busybox:$NONCE#g" \
      -e "s#debian:bookworm#strata-cc/debian:$NONCE#g" "$@" "$src" >"$dest"
}

total_cached=0 total_steps=0 total_same=0 skipped=()
printf '%-34s %7s %4s %s\n' case cached of "same op digest"
# run_case NAME DIR DOCKERFILE [E2E_NAME]: E2E_NAME is what e2e.rs calls the case
# (its base/ image is strata-e2e-base/<E2E_NAME>).
run_case() {
  local name=$1 dir=$2 src=$3 e2e_name=${4:-$1}
  local safe=${name//\//-}
  local file="$WORK/$safe.Dockerfile" sed_extra=()
  local args=()
  [[ -f $dir/args ]] && mapfile -t args < <(grep -v '^\s*\(#\|$\)' "$dir/args" | tr ' ' '\n')
  if printf '%s\n' "${args[@]}" | grep -qxE -- '-f|--file|--file=.*|-f=.*'; then
    skipped+=("$name (own -f)"); return
  fi
  if [[ -d $dir/base ]]; then
    local base="strata-cc/base-$safe:$NONCE"
    rewrite "$dir/base/Dockerfile" "$WORK/$safe.base.Dockerfile"
    docker buildx build -q --load -t "$base" -f "$WORK/$safe.base.Dockerfile" "$dir/base" >/dev/null
    BASES+=("$base")
    sed_extra=(-e "s#strata-e2e-base/$e2e_name#$base#g")
  fi
  rewrite "$src" "$file" "${sed_extra[@]}"
  if ! (cd "$dir" && build builtin . "$file" "$WORK/$safe.builtin.log" "${args[@]}") 2>/dev/null; then
    skipped+=("$name (builtin build fails)"); return
  fi
  if ! (cd "$dir" && build strata . "$file" "$WORK/$safe.strata.log" "${args[@]}") 2>/dev/null; then
    skipped+=("$name (Strata build fails)"); return
  fi
  steps "$WORK/$safe.builtin.log" >"$WORK/$safe.builtin.steps"
  steps "$WORK/$safe.strata.log" >"$WORK/$safe.strata.steps"
  local n cached same
  n=$(wc -l <"$WORK/$safe.strata.steps")
  ((n > 0)) || { skipped+=("$name (no steps)"); return; }
  cached=$(grep -c '^1 ' "$WORK/$safe.strata.steps" || true)
  same=$(cut -d' ' -f2 "$WORK/$safe.strata.steps" | grep -cFxf <(cut -d' ' -f2 "$WORK/$safe.builtin.steps") || true)
  printf '%-34s %7s %4s %s\n' "$name" "$cached" "$n" "$same/$n"
  grep '^0 ' "$WORK/$safe.strata.steps" | cut -d' ' -f3- | sed 's/^/    miss: /' || true
  total_cached=$((total_cached + cached)) total_steps=$((total_steps + n)) total_same=$((total_same + same))
}

for dir in "$ROOT"/testdata/e2e/*/; do
  dir=${dir%/}
  [[ -f $dir/Dockerfile ]] && run_case "$(basename "$dir")" "$dir" "$dir/Dockerfile"
done
for f in "$ROOT"/testdata/e2e/calculator/Dockerfile.*; do
  run_case "calculator${f##*/Dockerfile}" "$ROOT/testdata/e2e/calculator" "$f"
done
if [[ -d $ROOT/testdata/compat && ${CACHE_COMPAT_SUITE:-1} == 1 ]]; then
  for dir in "$ROOT"/testdata/compat/*/; do
    dir=${dir%/}
    [[ -f $dir/Dockerfile ]] && run_case "compat/$(basename "$dir")" "$dir" "$dir/Dockerfile" "compat-$(basename "$dir")"
  done
fi
((${#skipped[@]})) && printf 'not measured: %s\n' "${skipped[@]}"
python3 -c "import sys; c,n,s=map(int,sys.argv[1:]); print(f'total: {c}/{n} steps CACHED ({100*c/max(n,1):.0f}%), {s}/{n} with the same op digest')" \
  "$total_cached" "$total_steps" "$total_same"
