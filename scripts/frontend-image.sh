#!/usr/bin/env bash
# scripts/frontend-image.sh -- the Strata frontend image, built by Strata itself.
#
#   scripts/frontend-image.sh dev        strata:dev for this machine's platform (`make image`)
#   scripts/frontend-image.sh release    one OCI index for every platform (`make release-image`)
#
# Steps:
#  1. Binaries. `dev` takes the host's static build (`make release`). `release` also
#     cross-compiles every platform of PLATFORMS on this machine (scripts/cross.sh installs the
#     Rust targets and Debian's cross linkers; no emulated compilation), static glibc each.
#     They are laid out as .build/<os>/<arch>[/<variant>]/strata (= ${TARGETPLATFORM}).
#  2. The seed: `docker import` of the host binary plus release/policy.toml at
#     /etc/strata/policy.toml, with the frontend labels. No frontend is needed to make it.
#  3. `docker buildx build -f Dockerfile.frontend --build-arg BUILDKIT_SYNTAX=<seed>`: the new
#     binary builds its own image under the release policy; the file's CHECK runs each
#     platform's binary (foreign ones under qemu-user, see scripts/testbed.sh).
#     The version and revision come from the binary's own `--version` line.
#
# Output: `dev` loads $IMAGE. `release` loads strata:<version>, :<major>.<minor> and :<major>
# into the daemon (containerd image store) or, with REGISTRY=host:port[/path], pushes them
# there instead. Both print each binary's size.
#
# Environment: DOCKER_HOST (the daemon), IMAGE (default strata:dev), RELEASE_NAME (default
# strata), REGISTRY, PLATFORMS (default: all six), SEED (default strata:seed), SOURCE (the
# org.opencontainers.image.source label; default the git remote `origin`, else this checkout
# as a file:// URL), BUILDX_ARGS (more `docker buildx build` arguments for the release build,
# split on spaces: provenance, cache; see .github/workflows/release.yml), PRUNE_CROSS=1 (delete
# each foreign target's build directory once its binary is placed: ~0.3-0.5 GB each, for
# machines with little disk such as CI's; the next release build then starts from scratch).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-}
IMAGE=${IMAGE:-strata:dev}
RELEASE_NAME=${RELEASE_NAME:-strata}
REGISTRY=${REGISTRY:-}
SEED=${SEED:-strata:seed}
NATIVE_PLATFORM=linux/amd64
NATIVE_BIN=target/x86_64-unknown-linux-gnu/release/strata
ALL_PLATFORMS="linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le linux/riscv64 linux/s390x"
PLATFORMS=${PLATFORMS:-$ALL_PLATFORMS}

die() { echo "frontend-image: $*" >&2; exit 1; }

# rust_target PLATFORM -> the Rust target its binary is built for.
rust_target() {
  case $1 in
    linux/amd64) echo x86_64-unknown-linux-gnu ;;
    linux/arm64) echo aarch64-unknown-linux-gnu ;;
    linux/arm/v7) echo armv7-unknown-linux-gnueabihf ;;
    linux/ppc64le) echo powerpc64le-unknown-linux-gnu ;;
    linux/riscv64) echo riscv64gc-unknown-linux-gnu ;;
    linux/s390x) echo s390x-unknown-linux-gnu ;;
    *) die "no Rust target for platform $1 (known: $ALL_PLATFORMS)" ;;
  esac
}

# place PLATFORM BINARY: the binary where Dockerfile.frontend's COPY finds it.
place() {
  install -D -m 0755 "$2" ".build/$1/strata"
  printf '  %-14s %-32s %9d bytes\n' "$1" "$(rust_target "$1")" "$(stat -c %s "$2")"
}

case $MODE in
  dev) platforms=$NATIVE_PLATFORM ;;
  release) platforms=$PLATFORMS ;;
  *) die "usage: $0 dev|release" ;;
esac

[[ -x $NATIVE_BIN ]] || die "$NATIVE_BIN is missing (run \`make release\`)"
rm -rf .build && mkdir -p .build
echo "binaries:"
for p in $platforms; do
  if [[ $p == "$NATIVE_PLATFORM" ]]; then
    place "$p" "$NATIVE_BIN"
    continue
  fi
  t=$(rust_target "$p")
  scripts/cross.sh "$t"
  cargo build --quiet --release --locked --target "$t" -p strata
  place "$p" "target/$t/release/strata"
  [[ ${PRUNE_CROSS:-0} != 1 ]] || rm -rf "target/$t"
done

version_line=$("$NATIVE_BIN" --version)            # strata 0.1.0 (0123456789ab)
[[ $version_line =~ ^strata\ ([0-9]+)\.([0-9]+)\.([0-9]+[^ ]*)\ \((.+)\)$ ]] \
  || die "unexpected version line: $version_line"
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]}
version=$major.$minor.$patch revision=${BASH_REMATCH[4]}
source=${SOURCE:-$(git remote get-url origin 2>/dev/null || echo "file://$PWD")}

# The seed frontend: the host binary and the release policy, labelled as a frontend.
caps=$(sed -n 's/^"moby.buildkit.frontend.caps" = "\(.*\)"$/\1/p' release/policy.toml)
[[ -n $caps ]] || die "release/policy.toml names no moby.buildkit.frontend.caps"
seed_root=$(mktemp -d)
trap 'rm -rf "$seed_root"' EXIT
install -D -m 0755 "$NATIVE_BIN" "$seed_root/strata"
install -D -m 0644 release/policy.toml "$seed_root/etc/strata/policy.toml"
tar -C "$seed_root" -c . | docker import \
  --change 'ENTRYPOINT ["/strata"]' \
  --change 'LABEL moby.buildkit.frontend.network.none="true"' \
  --change "LABEL moby.buildkit.frontend.caps=\"$caps\"" \
  - "$SEED" >/dev/null

args=(--progress=quiet -f Dockerfile.frontend
  --build-arg BUILDKIT_SYNTAX="$SEED"
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source"
  --platform "$(tr ' ' ',' <<<"$platforms")")
if [[ $MODE == dev ]]; then
  docker buildx build "${args[@]}" --load -t "$IMAGE" . >/dev/null
  echo "image: $IMAGE ($platforms, strata $version, $revision)"
  exit 0
fi

prefix=${REGISTRY:+$REGISTRY/}$RELEASE_NAME
tags=("$prefix:$version" "$prefix:$major.$minor" "$prefix:$major")
for kv in "version=$version" "revision=$revision" "source=$source" "licenses=Apache-2.0" \
          "title=Strata"; do
  args+=(--annotation "index,manifest:org.opencontainers.image.$kv")
done
for t in "${tags[@]}"; do args+=(-t "$t"); done
read -r -a extra <<<"${BUILDX_ARGS:-}"
args+=(${extra[@]+"${extra[@]}"})
if [[ -n $REGISTRY ]]; then args+=(--push); else args+=(--load); fi
metadata=$(mktemp)
docker buildx build "${args[@]}" --metadata-file "$metadata" . >/dev/null
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["containerimage.digest"])' "$metadata")
rm -f "$metadata"
echo "release image: ${tags[*]}"
echo "  index $digest ($(wc -w <<<"$platforms") platforms${REGISTRY:+, pushed to $REGISTRY})"
