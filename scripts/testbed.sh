#!/usr/bin/env bash
# scripts/testbed.sh -- install and start a real BuildKit test bed for Strata.
#
# Target: a Debian bookworm machine (or VM / CI runner), run as root, with no
# systemd and no container registry reachable (only the Debian mirror).
# What it sets up:
#   1. bookworm packages: containerd, runc, iptables, tini, debootstrap,
#      busybox-static, docker-registry, ...
#   2. docker.io 26.1.5 (dockerd with embedded BuildKit 0.13) and
#      docker-buildx 0.13.1, downloaded from Debian *trixie* through a private
#      apt configuration (the system's sources stay bookworm-only) and installed
#      next to bookworm's containerd/runc/iptables/tini.  The docker CLI itself
#      is expected at /usr/local/bin/docker (trixie's docker.io ships no CLI).
#   3. dockerd (classic image store, overlay2 if the kernel allows it, managed
#      containerd), started in the background, log: /var/log/strata-dockerd.log
#   4. local base images built without any registry:
#        busybox:local    (from busybox-static)
#        debian:bookworm  (debootstrap --variant=minbase, tarball cached in
#                          /var/cache/strata)
#   5. a smoke build through `docker buildx build` (default "docker" driver,
#      builtin Dockerfile frontend) using the local busybox image.
#   6. Debian's docker-registry on 127.0.0.1:5000 only,
#      log: /var/log/strata-registry.log, storage: /var/lib/strata-registry
#   7. a second dockerd with the containerd image store, for reproducible-image
#      tests (`rewrite-timestamp`, `--output type=oci|docker,dest=…`):
#      socket unix:///run/strata-c8d/docker.sock, data /var/lib/strata-c8d,
#      log /var/log/strata-dockerd-c8d.log, own bridge strata-c8d0
#      ($STRATA_C8D_CIDR, default 172.29.0.1/24); busybox:local and
#      debian:bookworm copied into it from the first dockerd
#   8. a short summary on stdout.
#
# Every step is idempotent: on a ready machine a rerun only checks and prints
# the summary (a few seconds) and changes nothing.
#
# Usage: scripts/testbed.sh [up|stop|status|check]
#   up      (default) install + start everything, then print a summary
#   stop    stop the registry and both dockerds (each stops its containerd);
#           remove the second one's bridge and iptables rules
#   status  print the summary only
#   check   `up`, then extra proofs: buildx --output tar, --load, push to the
#           local registry; on the second dockerd: network from a container,
#           an OCI export with rewrite-timestamp
#
# Environment overrides:
#   STRATA_DEBIAN_MIRROR   Debian mirror URL (default: the one the system's apt
#                          sources use for bookworm)
#   STRATA_STORAGE_DRIVER  dockerd storage driver (default: overlay2 if an
#                          overlay mount works here, else vfs)
#   STRATA_SMOKE=1         run the smoke builds even if nothing changed
#   STRATA_C8D_CIDR        address/prefix of the second dockerd's bridge
#                          (default 172.29.0.1/24)
#
# Findings baked into this script (Debian bookworm host, docker.io
# 26.1.5+dfsg1-9+deb13u1, buildx 0.13.1, docker CLI 28):
#   * All of trixie's docker.io dependencies (libc6 >= 2.34, containerd >= 1.4,
#     runc, iptables, tini, sysvinit-utils >= 3.05-4, init-system-helpers >=
#     1.54) are satisfiable from bookworm, so a plain `apt-get install
#     ./docker.io_*.deb` works; no --force-depends and no repacking needed.
#   * The package's maintainer scripts try to start services; there's no
#     systemd, so service starts are suppressed with a temporary
#     /usr/sbin/policy-rc.d (exit 101) and we start the daemons ourselves.
#   * With the "docker" buildx driver and the classic image store, BuildKit's
#     image source resolves `FROM busybox:local` from dockerd's local image
#     store first (ResolveMode "default" prefers local), so no registry is
#     contacted.  Same for frontend images: `# syntax=<local image>` and
#     `--build-arg BUILDKIT_SYNTAX=<local image>` run a locally tagged image as
#     the gateway frontend.  Do NOT pass `--pull`: that forces a registry
#     lookup (fails here: "lookup registry-1.docker.io ... no such host").
#   * Networking: overlay2, iptables (nft backend) and bridge NAT all work on
#     bookworm's kernel; RUN steps of dockerd's embedded BuildKit run on the
#     default bridge (172.17.0.0/16, NAT'ed), not in the host netns, so
#     `RUN apt-get update && apt-get install ...` reaches the Debian mirror.
#     docker0's MTU is set to the uplink's if that is below 1500.
#   * dockerd runs its own managed containerd (bookworm's 1.6.20); cgroup v1
#     (hybrid) works.  `testbed.sh stop` stops both.
#   * The second dockerd (step 7): `"features": {"containerd-snapshotter": true}`
#     works with bookworm's containerd 1.6.20 (snapshotter overlayfs); its own
#     --exec-root gives it its own managed containerd.  buildx's docker driver
#     then offers the oci/docker exporters (it looks for the worker label
#     org.mobyproject.buildkit.worker.snapshotter).  `rewrite-timestamp=true`
#     works with `--output type=oci|docker,dest=FILE`; with `type=image` (and a
#     loading `type=docker`) BuildKit 0.13.2 fails: 'exporter option
#     "rewrite-timestamp" conflicts with "unpack"' (dockerd sets unpack=true).
#     Its RUN steps use the network named "bridge" (moby's builder has no
#     other default), so it needs a bridge of its own: with --bridge=none a
#     RUN fails with "network bridge not found".  Never start it with
#     --bridge=none (or with default-address-pools): dockerd then deletes the
#     interface docker0 (daemon/daemon_unix.go, removeDefaultBridgeInterface),
#     which belongs to the first dockerd, and every RUN and `docker run` there
#     fails with "adding interface vethX to bridge docker0 failed: Device does
#     not exist" until docker0 is recreated (ip link add docker0 type bridge;
#     ip addr add 172.17.0.1/16 dev docker0; ip link set docker0 up).
set -euo pipefail

readonly STATE_DIR=/var/cache/strata
readonly TRIXIE_DIR=$STATE_DIR/apt-trixie
readonly SETUP_LOG=/var/log/strata-testbed.log
readonly DOCKERD_LOG=/var/log/strata-dockerd.log
readonly DOCKERD_PIDFILE=/var/run/docker.pid
readonly DOCKER_SOCK=/var/run/docker.sock
readonly REGISTRY_DIR=/var/lib/strata-registry
readonly REGISTRY_LOG=/var/log/strata-registry.log
readonly REGISTRY_PIDFILE=/var/run/strata-registry.pid
readonly REGISTRY_ADDR=127.0.0.1:5000
readonly C8D_DIR=/var/lib/strata-c8d
readonly C8D_CONFIG=$C8D_DIR/daemon.json
readonly C8D_RUN=/run/strata-c8d
readonly C8D_SOCK=$C8D_RUN/docker.sock
readonly C8D_PIDFILE=$C8D_RUN/dockerd.pid
readonly C8D_LOG=/var/log/strata-dockerd-c8d.log
readonly C8D_BRIDGE=strata-c8d0
readonly C8D_CIDR=${STRATA_C8D_CIDR:-172.29.0.1/24}
readonly DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
readonly IMAGE_PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
readonly POLICY_RC_D=/usr/sbin/policy-rc.d
readonly POLICY_MARKER='# strata testbed: temporary, blocks service starts during apt-get'

BOOKWORM_PKGS=(
	containerd runc iptables tini debootstrap busybox-static docker-registry
	ca-certificates curl pigz xz-utils iproute2 procps adduser
)

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}
export DEBIAN_FRONTEND=noninteractive
# Always talk to *our* dockerd, whatever docker context the caller has.
export DOCKER_HOST=unix://$DOCKER_SOCK
unset DOCKER_CONTEXT BUILDX_BUILDER 2>/dev/null || true

log() { printf 'testbed: %s\n' "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

# try_logged CMD...: run CMD with its output appended to $SETUP_LOG.
try_logged() {
	printf '\n### %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$SETUP_LOG"
	"$@" </dev/null >>"$SETUP_LOG" 2>&1
}

# fail_with_log MSG [LOG]: print MSG and the tail of LOG, then abort.
fail_with_log() {
	log "ERROR: $1; tail of ${2:-$SETUP_LOG}:"
	tail -n 40 "${2:-$SETUP_LOG}" | sed 's/^/testbed:   | /' >&2
	exit 1
}

# run_logged CMD...: like try_logged; on failure show the log tail and abort.
run_logged() {
	try_logged "$@" || fail_with_log "command failed: $*"
}

pkg_installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q ' ok installed$'
}

# ---------------------------------------------------------------- apt sources

# apt_source_uri SUITE: URI of the first enabled "deb" entry serving SUITE in
# the system's apt sources (one-line *.list and deb822 *.sources formats).
apt_source_uri() {
	local suite=$1 f
	local files=()
	[[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] && files+=("$f")
	done
	for f in "${files[@]}"; do
		case $f in
		*.sources)
			awk -v suite="$suite" '
				function flush(   n, i, s, u) {
					if (!found && types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^no/) {
						n = split(suites, s, /[ \t]+/)
						for (i = 1; i <= n; i++) if (s[i] == suite) {
							split(uris, u, /[ \t]+/); print u[1]; found = 1; break
						}
					}
					types = uris = suites = ""; enabled = "yes"
				}
				BEGIN { enabled = "yes" }
				/^[ \t]*#/ { next }
				/^[ \t]*$/ { flush(); next }
				/^[A-Za-z-]+:/ {
					k = tolower(substr($0, 1, index($0, ":") - 1))
					v = substr($0, index($0, ":") + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
					if (k == "types") types = v; else if (k == "uris") uris = v
					else if (k == "suites") suites = v; else if (k == "enabled") enabled = tolower(v)
				}
				END { flush() }' "$f"
			;;
		*)
			awk -v suite="$suite" '
				$1 == "deb" {
					i = 2
					if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
					if ($(i + 1) == suite) { print $i; exit }
				}' "$f"
			;;
		esac
	done | head -n 1 | sed 's:/*$::'
}

# The Debian mirror to use everywhere (trixie download, debootstrap, sources
# inside debian:bookworm): the same host the system itself uses.
debian_mirror() {
	if [[ -n ${STRATA_DEBIAN_MIRROR:-} ]]; then
		printf '%s\n' "${STRATA_DEBIAN_MIRROR%/}"
		return
	fi
	local uri
	uri=$(apt_source_uri bookworm)
	if [[ -z $uri ]]; then
		uri=http://deb.debian.org/debian
		log "WARNING: no bookworm entry in the system's apt sources; using $uri"
	fi
	printf '%s\n' "$uri"
}

# Temporarily forbid service starts from maintainer scripts (no systemd here;
# we start dockerd and the registry ourselves).
policy_created=0
changed=0 # set to 1 by any step that had to do something
block_service_starts() {
	if [[ ! -e $POLICY_RC_D ]]; then
		printf '#!/bin/sh\n%s\nexit 101\n' "$POLICY_MARKER" >"$POLICY_RC_D"
		chmod 0755 "$POLICY_RC_D"
		policy_created=1
	elif grep -qF "$POLICY_MARKER" "$POLICY_RC_D"; then
		policy_created=1 # left over from an interrupted run: ours to remove
	fi
}
unblock_service_starts() {
	if [[ $policy_created == 1 ]] && grep -qF "$POLICY_MARKER" "$POLICY_RC_D" 2>/dev/null; then
		rm -f "$POLICY_RC_D"
	fi
	policy_created=0
}
trap unblock_service_starts EXIT

# ------------------------------------------------- step 1: bookworm packages

install_bookworm_packages() {
	local p missing=() need_update=0
	for p in "${BOOKWORM_PKGS[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		log "packages: bookworm packages already installed"
		return
	fi
	# apt-get update only if the lists don't know a package (fresh machine),
	# or, below, if installing from the existing lists fails (stale lists).
	local cand
	for p in "${missing[@]}"; do
		cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
		[[ -z $cand || $cand == "(none)" ]] && need_update=1
	done
	if ((need_update)); then
		log "packages: apt-get update"
		run_logged apt-get update
	fi
	log "packages: installing ${missing[*]}"
	block_service_starts
	if ! try_logged apt-get install -y --no-install-recommends "${missing[@]}"; then
		((need_update)) && fail_with_log "apt-get install failed"
		log "packages: install failed; retrying after apt-get update"
		run_logged apt-get update
		run_logged apt-get install -y --no-install-recommends "${missing[@]}"
	fi
	unblock_service_starts
	changed=1
}

# ------------------------------------- step 2: docker.io + buildx from trixie

docker_debs_installed() {
	dpkg-query -W -f='${Version}' docker.io 2>/dev/null | grep -q '^26\.1\.' &&
		pkg_installed docker.io && pkg_installed docker-buildx &&
		[[ -x /usr/sbin/dockerd && -x /usr/libexec/docker/cli-plugins/docker-buildx ]]
}

trixie_debs() { compgen -G "$TRIXIE_DIR/debs/$1_*_$(dpkg --print-architecture).deb" | sort -V | tail -n 1; }

install_trixie_docker() {
	if docker_debs_installed; then
		log "docker: docker.io $(dpkg-query -W -f='${Version}' docker.io) and docker-buildx already installed"
		return
	fi
	local mirror arch dockerio buildx
	mirror=$(debian_mirror)
	arch=$(dpkg --print-architecture)
	# Private apt configuration: own sources list, state and cache, so the
	# system's apt keeps seeing bookworm only.
	local apt_trixie=(
		-o "Dir::Etc::SourceList=$TRIXIE_DIR/sources.list"
		-o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State=$TRIXIE_DIR/state"
		-o Dir::State::status=/var/lib/dpkg/status
		-o "Dir::Cache=$TRIXIE_DIR/cache"
		-o APT::Sandbox::User=root
	)
	mkdir -p "$TRIXIE_DIR"/{state/lists/partial,cache/archives/partial,debs}
	printf 'deb [arch=%s signed-by=%s] %s trixie main\n' "$arch" "$DEBIAN_KEYRING" "$mirror" \
		>"$TRIXIE_DIR/sources.list"
	dockerio=$(trixie_debs docker.io) || true
	buildx=$(trixie_debs docker-buildx) || true
	if [[ -z $dockerio || -z $buildx ]]; then
		log "docker: downloading docker.io + docker-buildx from $mirror trixie"
		run_logged apt-get "${apt_trixie[@]}" update
		(cd "$TRIXIE_DIR/debs" && run_logged apt-get "${apt_trixie[@]}" download docker.io docker-buildx)
		dockerio=$(trixie_debs docker.io) || die "docker.io .deb not downloaded"
		buildx=$(trixie_debs docker-buildx) || die "docker-buildx .deb not downloaded"
	fi
	case $(dpkg-deb -f "$dockerio" Version) in
	26.1.*) ;;
	*) log "WARNING: trixie's docker.io is $(dpkg-deb -f "$dockerio" Version), expected 26.1.x" ;;
	esac
	log "docker: installing $(basename "$dockerio") $(basename "$buildx")"
	# apt-get (rather than dpkg -i) so any missing dependency comes from
	# bookworm; all of them are satisfiable there (see header).
	block_service_starts
	run_logged apt-get install -y --no-install-recommends "$dockerio" "$buildx"
	unblock_service_starts
	docker_debs_installed || die "docker.io/docker-buildx not installed correctly"
	changed=1
}

# --------------------------------------------------------- step 3: dockerd

docker_up() { timeout 10 docker info >/dev/null 2>&1; }

pid_alive() { # pid_alive PIDFILE NAME
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]] &&
		tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

ensure_cgroups() {
	if ! mountpoint -q /sys/fs/cgroup; then
		log "dockerd: mounting cgroup2 on /sys/fs/cgroup"
		mount -t cgroup2 cgroup2 /sys/fs/cgroup
	fi
}

overlay_works() {
	local d rc=1
	mkdir -p /var/lib/docker
	d=$(mktemp -d /var/lib/docker/.strata-overlay-test.XXXXXX)
	mkdir -p "$d"/{lower,upper,work,merged}
	if mount -t overlay overlay -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" "$d/merged" 2>/dev/null; then
		umount "$d/merged"
		rc=0
	fi
	rm -rf "$d"
	return $rc
}

storage_driver() {
	if [[ -n ${STRATA_STORAGE_DRIVER:-} ]]; then
		echo "$STRATA_STORAGE_DRIVER"
	elif overlay_works; then
		echo overlay2
	else
		echo vfs
	fi
}

# MTU of the interface carrying the default route (empty if unknown).
uplink_mtu() {
	local dev
	dev=$(ip -o route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}')
	[[ -n $dev && -r /sys/class/net/$dev/mtu ]] && cat "/sys/class/net/$dev/mtu"
	return 0
}

# start_daemon LOG PIDFILE CMD...: run CMD detached from this script: own
# session, stdin from /dev/null, output to LOG, no inherited fds beyond 0-2
# (so callers' pipes, e.g. `make | tee`, are not held open).
start_daemon() {
	local logf=$1 pidf=$2
	shift 2
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			if ((fd > 2 && fd != 255)); then eval "exec $fd>&-" 2>/dev/null || true; fi
		done
		exec setsid "$@" </dev/null >>"$logf" 2>&1
	) &
	echo $! >"$pidf"
}

start_dockerd() {
	command -v docker >/dev/null || die "docker CLI not found (expected /usr/local/bin/docker)"
	if docker_up; then
		log "dockerd: already running"
	else
		if pid_alive "$DOCKERD_PIDFILE" dockerd; then
			log "dockerd: process $(cat "$DOCKERD_PIDFILE") exists but not answering yet; waiting"
		else
			ensure_cgroups
			local driver args=()
			driver=$(storage_driver)
			args=(--host="unix://$DOCKER_SOCK" --pidfile="$DOCKERD_PIDFILE" --storage-driver="$driver")
			# Bridge networking (docker0 + iptables NAT) is what both `docker run`
			# and BuildKit's RUN steps use by default in dockerd; keep it if the
			# kernel has netfilter NAT, otherwise fall back to no iptables.
			if ! iptables -t nat -S >/dev/null 2>&1; then
				log "dockerd: WARNING: iptables nat table unusable; starting with --iptables=false"
				args+=(--iptables=false --ip6tables=false)
			fi
			# docker0 defaults to MTU 1500; if the uplink is smaller (1400 on some
			# VMs) large downloads from RUN steps can stall, so match it.
			local mtu
			mtu=$(uplink_mtu)
			if [[ -n $mtu ]] && ((mtu < 1500)); then
				args+=(--mtu="$mtu")
			fi
			rm -f "$DOCKERD_PIDFILE" # stale
			log "dockerd: starting: dockerd ${args[*]}; log $DOCKERD_LOG"
			printf '\n### %s: dockerd %s\n' "$(date -u +%FT%TZ)" "${args[*]}" >>"$DOCKERD_LOG"
			start_daemon "$DOCKERD_LOG" /var/run/strata-dockerd.launcher.pid dockerd "${args[@]}"
			changed=1
		fi
		local i
		for ((i = 0; i < 60; i++)); do
			docker_up && break
			sleep 1
		done
		docker_up || fail_with_log "dockerd did not come up within 60 s" "$DOCKERD_LOG"
		log "dockerd: up after ${i}s"
	fi
	# The test bed relies on the classic (graphdriver) image store.
	if docker info -f '{{json .DriverStatus}}' | grep -q 'io.containerd.snapshotter'; then
		die "dockerd uses the containerd image store; expected the classic store"
	fi
	ensure_default_builder
}

# `docker buildx build` must use the builtin "default" builder (docker driver,
# i.e. dockerd's embedded BuildKit), not some docker-container builder.
ensure_default_builder() {
	local v
	v=$(docker buildx version 2>/dev/null) || die "docker buildx plugin not working (docker buildx version failed)"
	[[ $v =~ [[:space:]]v?0\.13\. ]] || log "WARNING: unexpected buildx: $v"
	# Read buildx's selection file directly: `docker buildx inspect` rewrites
	# it on every call. No file, or Name "" / "default" = the default builder.
	local current=${DOCKER_CONFIG:-${HOME:-/root}/.docker}/buildx/current
	if [[ -f $current ]] && ! grep -qE '"Name": *"(default)?"' "$current"; then
		log "buildx: selecting the default (docker driver) builder"
		docker buildx use default
		changed=1
	fi
	[[ $(docker buildx inspect default 2>/dev/null | awk '$1 == "Driver:" {print $2; exit}') == docker ]] ||
		die "buildx builder 'default' does not use the docker driver"
}

# ---------------------------------------------------- step 4: base images

image_present() { docker image inspect "$1" >/dev/null 2>&1; }

build_busybox_rootfs() { # build_busybox_rootfs TARBALL
	local tarball=$1 root p
	root=$(mktemp -d "$STATE_DIR/busybox-rootfs.XXXXXX")
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,var/tmp,home}
	chmod 1777 "$root/tmp" "$root/var/tmp"
	chmod 0700 "$root/root"
	install -m 0755 /bin/busybox "$root/bin/busybox"
	while read -r p; do
		[[ -z $p || $p == bin/busybox || -e $root/$p || -L $root/$p ]] && continue
		mkdir -p "$(dirname "$root/$p")"
		ln -s /bin/busybox "$root/$p"
	done < <(/bin/busybox --list-full)
	[[ -L $root/bin/sh ]] || die "busybox rootfs has no /bin/sh"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	tar --numeric-owner --owner=0 --group=0 --sort=name -C "$root" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf "$root"
}

import_busybox() {
	if image_present busybox:local; then
		log "images: busybox:local present"
		return
	fi
	local tarball=$STATE_DIR/busybox-rootfs.tar
	[[ -s $tarball ]] || build_busybox_rootfs "$tarball"
	log "images: importing busybox:local"
	docker import --change "$IMAGE_PATH_ENV" --change 'CMD ["sh"]' \
		-m 'strata testbed: busybox-static rootfs' "$tarball" busybox:local >/dev/null
	changed=1
}

umount_under() { # lazily unmount everything mounted below DIR (debootstrap leftovers)
	local m
	while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done < <(awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
}

build_debian_rootfs() { # build_debian_rootfs TARBALL
	local tarball=$1 mirror security root=$STATE_DIR/debootstrap-bookworm
	mirror=$(debian_mirror)
	security=$(apt_source_uri bookworm-security)
	if [[ -e $root ]]; then
		umount_under "$root"
		rm -rf --one-file-system "$root"
	fi
	log "images: debootstrap --variant=minbase bookworm from $mirror (a few minutes; log $SETUP_LOG)"
	run_logged debootstrap --variant=minbase --arch="$(dpkg --print-architecture)" \
		bookworm "$root" "$mirror"
	umount_under "$root"
	if grep -qF " $root/" /proc/mounts; then die "something is still mounted below $root"; fi

	# apt sources inside the image: same mirror as the host (deb822, like the
	# official debian images).
	rm -f "$root/etc/apt/sources.list"
	{
		printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: %s\n' \
			"$mirror" "$DEBIAN_KEYRING"
		if [[ -n $security ]]; then
			printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\nSigned-By: %s\n' \
				"$security" "$DEBIAN_KEYRING"
		fi
	} >"$root/etc/apt/sources.list.d/debian.sources"
	# Container-friendly apt/dpkg settings, as in the official debian images.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
	echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
	echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
	# Clean caches and host-specific leftovers.
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
		"$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/archives/partial/* \
		"$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/tmp/* "$root"/var/tmp/*
	find "$root/var/log" -type f -delete
	find "$root/dev" -mindepth 1 -delete
	rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
	tar --numeric-owner --xattrs --xattrs-include='*' -C "$root" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf --one-file-system "$root"
}

import_debian() {
	if image_present debian:bookworm; then
		log "images: debian:bookworm present"
		return
	fi
	local tarball=$STATE_DIR/debian-bookworm-rootfs.tar
	[[ -s $tarball ]] || build_debian_rootfs "$tarball"
	log "images: importing debian:bookworm"
	docker import --change "$IMAGE_PATH_ENV" --change 'CMD ["bash"]' \
		-m 'strata testbed: debootstrap --variant=minbase bookworm' "$tarball" debian:bookworm >/dev/null
	changed=1
}

# ------------------------------------------------------ step 5: smoke build

# Cheap proof that dockerd's BuildKit with the builtin Dockerfile frontend
# resolves a *local* image (no registry reachable).  Runs after any change,
# or with STRATA_SMOKE=1.
smoke_build() {
	local ctx
	ctx=$(mktemp -d /tmp/strata-testbed-smoke.XXXXXX)
	printf 'FROM busybox:local\nRUN echo hi > /x\n' >"$ctx/Dockerfile"
	if ! docker buildx build --builder default --progress=plain \
		--output "type=tar,dest=$ctx/out.tar" "$ctx" >"$ctx/build.log" 2>&1; then
		fail_with_log "smoke build failed" "$ctx/build.log"
	fi
	[[ $(tar -xOf "$ctx/out.tar" ./x 2>/dev/null || tar -xOf "$ctx/out.tar" x) == hi ]] ||
		die "smoke build output lacks /x"
	rm -rf "$ctx"
	log "buildx: smoke build (FROM busybox:local, --output type=tar) ok"
}

# --------------------------------------------------------- step 6: registry

registry_up() { curl -sf --max-time 3 "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; }

write_registry_config() {
	local cfg=$REGISTRY_DIR/config.yml new
	mkdir -p "$REGISTRY_DIR/data"
	new=$(
		cat <<EOF
# written by scripts/testbed.sh -- Strata test registry, loopback only
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
EOF
	)
	if [[ ! -f $cfg || $(cat "$cfg") != "$new" ]]; then
		printf '%s\n' "$new" >"$cfg"
	fi
}

start_registry() {
	if registry_up; then
		log "registry: already answering on $REGISTRY_ADDR"
		return
	fi
	write_registry_config
	if pid_alive "$REGISTRY_PIDFILE" docker-registry; then
		log "registry: process $(cat "$REGISTRY_PIDFILE") exists but not answering yet; waiting"
	else
		if ss -Hltn "sport = :${REGISTRY_ADDR##*:}" 2>/dev/null | grep -q .; then
			die "port ${REGISTRY_ADDR##*:} is taken by something that is not a registry"
		fi
		log "registry: starting docker-registry on $REGISTRY_ADDR, log $REGISTRY_LOG"
		start_daemon "$REGISTRY_LOG" "$REGISTRY_PIDFILE" docker-registry serve "$REGISTRY_DIR/config.yml"
		changed=1
	fi
	local i
	for ((i = 0; i < 30; i++)); do
		registry_up && return
		sleep 1
	done
	fail_with_log "registry did not come up within 30 s" "$REGISTRY_LOG"
}

# ------------------------- step 7: a second dockerd, containerd image store
#
# Reproducible-image tests need what the first dockerd cannot give: with the
# classic image store its exporter ignores `rewrite-timestamp`, and buildx's
# docker driver offers no `docker`/`oci` exporters.  With the containerd image
# store ("containerd-snapshotter" feature) BuildKit's own containerimage and
# oci exporters are used and buildx enables `--output type=oci|docker,dest=…`,
# where `rewrite-timestamp=true` works.  (`type=image` and a loading
# `type=docker` still fail there: dockerd forces `unpack=true`, which BuildKit
# 0.13 refuses together with `rewrite-timestamp`.)
#
# It shares nothing with the first dockerd: own socket, pidfile, data root,
# exec root (so its own managed containerd), log, and its own bridge
# $C8D_BRIDGE.  It runs with --iptables=false so the two daemons never edit
# each other's chains; this script adds the three rules its RUN steps need
# (masquerade + forward, tagged "strata-c8d") and `stop` removes them.

c8d() { DOCKER_HOST=unix://$C8D_SOCK docker "$@"; }
c8d_up() { timeout 10 env DOCKER_HOST="unix://$C8D_SOCK" docker info >/dev/null 2>&1; }

# The iptables rules (table, chain, spec…), one per line, tab-separated table|chain|spec.
c8d_rules() {
	local net=$1
	printf 'nat\tPOSTROUTING\t-s %s ! -o %s -j MASQUERADE\n' "$net" "$C8D_BRIDGE"
	printf 'filter\tFORWARD\t-i %s -j ACCEPT\n' "$C8D_BRIDGE"
	printf 'filter\tFORWARD\t-o %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n' "$C8D_BRIDGE"
}

# The bridge's network (e.g. 172.29.0.0/24), from its kernel route.
c8d_network() {
	ip -o -4 route show dev "$C8D_BRIDGE" proto kernel 2>/dev/null | awk '{print $1; exit}'
}

c8d_bridge() {
	local gw=${C8D_CIDR%/*} mtu other
	if ! ip link show "$C8D_BRIDGE" >/dev/null 2>&1; then
		other=$(ip -o -4 route show to match "$gw" | grep -v '^default' || true)
		[[ -z $other ]] || die "c8d: $C8D_CIDR overlaps an existing route ($other); set STRATA_C8D_CIDR"
		log "c8d: creating bridge $C8D_BRIDGE ($C8D_CIDR)"
		ip link add name "$C8D_BRIDGE" type bridge
		c8d_changed=1
	fi
	if ! ip -o -4 addr show dev "$C8D_BRIDGE" | grep -qF " $C8D_CIDR "; then
		ip addr add "$C8D_CIDR" dev "$C8D_BRIDGE"
		c8d_changed=1
	fi
	mtu=$(uplink_mtu)
	if [[ -n $mtu ]] && (($(cat "/sys/class/net/$C8D_BRIDGE/mtu") != mtu)); then
		ip link set "$C8D_BRIDGE" mtu "$mtu"
	fi
	ip link set "$C8D_BRIDGE" up
	[[ $(cat /proc/sys/net/ipv4/ip_forward) == 1 ]] || echo 1 >/proc/sys/net/ipv4/ip_forward
	if ! iptables -t nat -S >/dev/null 2>&1; then
		log "c8d: WARNING: iptables nat table unusable; RUN steps on $C8D_BRIDGE get no network"
		return
	fi
	local table chain spec net
	net=$(c8d_network)
	[[ -n $net ]] || die "c8d: no route for $C8D_BRIDGE"
	while IFS=$'\t' read -r table chain spec; do
		# shellcheck disable=SC2086 # spec is a list of words
		if ! iptables -t "$table" -C "$chain" $spec -m comment --comment strata-c8d 2>/dev/null; then
			# shellcheck disable=SC2086
			iptables -t "$table" -A "$chain" $spec -m comment --comment strata-c8d
			c8d_changed=1
		fi
	done < <(c8d_rules "$net")
}

c8d_unbridge() {
	local table chain spec net
	net=$(c8d_network)
	if [[ -n $net ]] && iptables -t nat -S >/dev/null 2>&1; then
		while IFS=$'\t' read -r table chain spec; do
			# shellcheck disable=SC2086
			while iptables -t "$table" -D "$chain" $spec -m comment --comment strata-c8d 2>/dev/null; do :; done
		done < <(c8d_rules "$net")
	fi
	if ip link show "$C8D_BRIDGE" >/dev/null 2>&1; then
		log "stop: removing bridge $C8D_BRIDGE"
		ip link del "$C8D_BRIDGE"
	fi
}

write_c8d_config() {
	local new
	mkdir -p "$C8D_DIR"
	# Builder GC keeps this daemon's cache small: every e2e run adds --no-cache builds.
	new='{
  "features": { "containerd-snapshotter": true },
  "builder": { "gc": { "enabled": true, "defaultKeepStorage": "3GB" } }
}'
	if [[ ! -f $C8D_CONFIG || $(cat "$C8D_CONFIG") != "$new" ]]; then
		printf '%s\n' "$new" >"$C8D_CONFIG"
		if c8d_up; then log "c8d: WARNING: $C8D_CONFIG changed; 'testbed.sh stop' and 'up' to apply it"; fi
	fi
}

start_c8d_dockerd() {
	c8d_bridge
	write_c8d_config
	if c8d_up; then
		log "c8d: dockerd (containerd image store) already running on $C8D_SOCK"
	else
		if pid_alive "$C8D_PIDFILE" "$C8D_SOCK"; then
			log "c8d: dockerd $(cat "$C8D_PIDFILE") exists but not answering yet; waiting"
		else
			local snapshotter=overlayfs args=()
			[[ $(storage_driver) == overlay2 ]] || snapshotter=native
			mkdir -p "$C8D_RUN"
			args=(--config-file="$C8D_CONFIG" --data-root="$C8D_DIR/docker" --exec-root="$C8D_RUN/exec"
				--pidfile="$C8D_PIDFILE" --host="unix://$C8D_SOCK" --storage-driver="$snapshotter"
				--bridge="$C8D_BRIDGE" --iptables=false --ip6tables=false)
			local mtu
			mtu=$(uplink_mtu)
			if [[ -n $mtu ]] && ((mtu < 1500)); then args+=(--mtu="$mtu"); fi
			rm -f "$C8D_PIDFILE"
			log "c8d: starting: dockerd ${args[*]}; log $C8D_LOG"
			printf '\n### %s: dockerd %s\n' "$(date -u +%FT%TZ)" "${args[*]}" >>"$C8D_LOG"
			start_daemon "$C8D_LOG" "$C8D_RUN/launcher.pid" dockerd "${args[@]}"
			c8d_changed=1
		fi
		local i
		for ((i = 0; i < 60; i++)); do
			c8d_up && break
			sleep 1
		done
		c8d_up || fail_with_log "c8d: dockerd did not come up within 60 s" "$C8D_LOG"
		log "c8d: up after ${i}s"
	fi
	c8d info -f '{{json .DriverStatus}}' | grep -q 'io.containerd.snapshotter' ||
		die "c8d: dockerd on $C8D_SOCK does not use the containerd image store"
}

# The base images, copied from the first dockerd (same content, same IDs).
c8d_load_images() {
	local img
	for img in busybox:local debian:bookworm; do
		if c8d image inspect "$img" >/dev/null 2>&1; then continue; fi
		log "c8d: loading $img from the first dockerd"
		docker save "$img" | c8d load >/dev/null
		c8d_changed=1
	done
	log "c8d: base images present"
}

# Proof of what this daemon is for: a RUN step, exported as an OCI tarball with
# rewrite-timestamp.
c8d_smoke() {
	local ctx
	ctx=$(mktemp -d /tmp/strata-testbed-c8d.XXXXXX)
	printf 'FROM busybox:local\nRUN echo hi > /x\n' >"$ctx/Dockerfile"
	if ! c8d buildx build --builder default --progress=plain --build-arg SOURCE_DATE_EPOCH=0 \
		--output "type=oci,dest=$ctx/out.tar,rewrite-timestamp=true" "$ctx" >"$ctx/build.log" 2>&1; then
		fail_with_log "c8d: smoke build failed" "$ctx/build.log"
	fi
	grep -q 'rewriting layers with source-date-epoch 0' "$ctx/build.log" ||
		fail_with_log "c8d: the exporter did not rewrite timestamps" "$ctx/build.log"
	tar -xOf "$ctx/out.tar" index.json >/dev/null || die "c8d: no index.json in the OCI tarball"
	rm -rf "$ctx"
	log "c8d: smoke build (RUN, --output type=oci,rewrite-timestamp=true) ok"
}

up_c8d() {
	c8d_changed=0
	start_c8d_dockerd
	c8d_load_images
	if ((c8d_changed)) || [[ ${STRATA_SMOKE:-} == 1 ]]; then c8d_smoke; fi
}

# ------------------------------------------------------------ step 8: summary

summary() {
	echo "== Strata BuildKit test bed =="
	echo "dockerd:   $(dockerd --version 2>/dev/null || echo 'not installed')"
	if docker_up; then
		echo "server:    $(docker version -f 'API {{.Server.APIVersion}}, containerd {{range .Server.Components}}{{if eq .Name "containerd"}}{{.Version}}{{end}}{{end}}' 2>/dev/null)"
		echo "storage:   $(docker info -f '{{.Driver}}' 2>/dev/null), cgroup $(docker info -f '{{.CgroupVersion}}' 2>/dev/null)"
		echo "buildx:    $(docker buildx version 2>/dev/null)"
		echo "images:"
		docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' 2>/dev/null | sort | sed 's/^/  /'
	else
		echo "dockerd:   NOT RUNNING"
	fi
	if registry_up; then
		echo "registry:  http://$REGISTRY_ADDR ($(docker-registry --version 2>/dev/null | head -n1))"
	else
		echo "registry:  NOT RUNNING"
	fi
	if c8d_up; then
		echo "c8d:       unix://$C8D_SOCK: containerd image store ($(c8d info -f '{{.Driver}}' 2>/dev/null)), bridge $C8D_BRIDGE $(c8d_network)"
		echo "c8d images:"
		c8d image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}' 2>/dev/null | sort | sed 's/^/  /'
	else
		echo "c8d:       NOT RUNNING (unix://$C8D_SOCK)"
	fi
}

# ------------------------------------------------------------- subcommands

stop_pid() { # stop_pid PIDFILE NAME
	local pid i
	if ! pid_alive "$1" "$2"; then
		log "stop: $2 not running"
		rm -f "$1"
		return
	fi
	pid=$(cat "$1")
	log "stop: stopping $2 (pid $pid)"
	kill -TERM "$pid"
	for ((i = 0; i < 30; i++)); do
		[[ -d /proc/$pid ]] || break
		sleep 1
	done
	[[ -d /proc/$pid ]] && log "WARNING: $2 (pid $pid) still running after 30 s"
	rm -f "$1"
}

check() {
	local ctx tag=strata-testbed-check:latest
	ctx=$(mktemp -d /tmp/strata-testbed-check.XXXXXX)
	printf 'FROM busybox:local\nRUN echo hi > /x\n' >"$ctx/Dockerfile"
	log "check: buildx --output type=tar"
	docker buildx build --builder default --output "type=tar,dest=$ctx/x.tar" "$ctx" >&2
	tar -tf "$ctx/x.tar" | grep -x '\(\./\)\?x' >/dev/null || die "check: /x missing from tar output"
	log "check: buildx --load -t $tag"
	docker buildx build --builder default --load -t "$tag" "$ctx" >&2
	[[ $(docker run --rm "$tag" cat /x) == hi ]] || die "check: docker run $tag failed"
	log "check: push to $REGISTRY_ADDR"
	docker tag busybox:local "$REGISTRY_ADDR/busybox:t"
	docker push "$REGISTRY_ADDR/busybox:t" >&2
	curl -sf "http://$REGISTRY_ADDR/v2/busybox/tags/list" >&2
	echo >&2
	# Leave the local image list as it was (the pushed image stays in the registry).
	docker image rm "$tag" "$REGISTRY_ADDR/busybox:t" >/dev/null
	rm -rf "$ctx"
	log "check: c8d: a container on $C8D_BRIDGE reaches the Debian mirror"
	c8d run --rm busybox:local wget -q -O /dev/null "$(debian_mirror)/dists/bookworm/Release" ||
		die "check: c8d: no network on $C8D_BRIDGE"
	c8d_smoke
	log "check: all ok"
}

up() {
	local t0=$SECONDS
	mkdir -p "$STATE_DIR"
	install_bookworm_packages
	install_trixie_docker
	start_dockerd
	import_busybox
	import_debian
	# Only after changes, so that a rerun on a ready machine really changes
	# nothing (each build adds buildx/BuildKit history records).
	if ((changed)) || [[ ${STRATA_SMOKE:-} == 1 ]]; then
		smoke_build
	else
		log "buildx: nothing changed, smoke build skipped ('testbed.sh check' runs it)"
	fi
	start_registry
	up_c8d
	log "done in $((SECONDS - t0))s"
}

main() {
	[[ $(id -u) == 0 ]] || die "must run as root"
	case ${1:-up} in
	# (not `up && summary`: set -e is suspended inside an && list)
	up)
		up
		summary
		;;
	status) summary ;;
	check)
		up
		check
		summary
		;;
	stop)
		stop_pid "$REGISTRY_PIDFILE" docker-registry
		stop_pid "$C8D_PIDFILE" "$C8D_SOCK"
		c8d_unbridge
		stop_pid "$DOCKERD_PIDFILE" dockerd
		;;
	-h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
	*) die "unknown subcommand '$1' (use up, stop, status or check)" ;;
	esac
}

main "$@"
