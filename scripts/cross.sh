#!/usr/bin/env bash
# scripts/cross.sh TARGET -- makes sure this machine can build the static Strata binary for
# the Rust target TARGET: the target's standard library (rustup) and, for a foreign target,
# Debian's cross gcc and glibc, which .cargo/config.toml names as its linker. Idempotent.
set -euo pipefail
target=${1:?usage: $0 <rust-target>}

# Debian's packages for each foreign target: the cross linker and the static glibc it links.
case $target in
  x86_64-unknown-linux-gnu) packages=() ;;
  x86_64-unknown-linux-musl) packages=() ;;   # rust-lld and musl's own start files
  aarch64-unknown-linux-gnu) packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
  armv7-unknown-linux-gnueabihf) packages=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross) ;;
  powerpc64le-unknown-linux-gnu) packages=(gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross) ;;
  riscv64gc-unknown-linux-gnu) packages=(gcc-riscv64-linux-gnu libc6-dev-riscv64-cross) ;;
  s390x-unknown-linux-gnu) packages=(gcc-s390x-linux-gnu libc6-dev-s390x-cross) ;;
  *) echo "cross: no recipe for target $target" >&2; exit 1 ;;
esac

if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target" >/dev/null
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
sudo=()
[[ $(id -u) == 0 ]] || sudo=(sudo)   # a CI runner's user (GitHub Actions)
apt_install() {
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
if ((${#missing[@]})); then
  echo "cross: installing ${missing[*]}" >&2
  apt_install || { "${sudo[@]}" apt-get update -q >/dev/null && apt_install; }
fi
