#!/usr/bin/env bash
# scripts/testbed.sh -- install and start a real BuildKit test bed for Strata.
#
# Target: a Debian bookworm machine (or VM / CI runner), run as root, with no
# systemd and no container registry reachable (only the Debian mirror).
# What it sets up:
#   1. bookworm packages: containerd, runc, iptables, debootstrap,
#      busybox-static, docker-registry, ...
#   2. docker.io 28.5.2 (dockerd with embedded BuildKit 0.25), docker-buildx
#      0.29.1 and tini-static, downloaded from Debian *sid* through a private
#      apt configuration (the system's sources stay bookworm-only) and installed
#      next to bookworm's containerd/runc/iptables.  The docker CLI itself is
#      expected at /usr/local/bin/docker (Debian's docker.io ships no CLI).
#      docker.io 26.1.5 (BuildKit 0.13), from Debian *trixie* the same way, is
#      only unpacked (dpkg-deb -x) into /opt/strata/docker-26, not installed.
#   3. the PRIMARY dockerd 28.5.2 on unix:///var/run/docker.sock with the
#      containerd image store (overlayfs snapshotter if the kernel allows it,
#      managed containerd), default bridge docker0, log
#      /var/log/strata-dockerd.log.  One daemon exports everything the tests
#      need: --load, multi-platform images, oci/docker tarballs with
#      rewrite-timestamp, attestations.
#   4. local base images built without any registry, in every dockerd:
#        busybox:local    (from busybox-static)
#        debian:bookworm  (debootstrap --variant=minbase, tarball cached in
#                          /var/cache/strata)
#   5. a smoke build through `docker buildx build` (default "docker" driver,
#      builtin Dockerfile frontend) using the local busybox image.
#   6. Debian's docker-registry on 127.0.0.1:5000 only,
#      log: /var/log/strata-registry.log, storage: /var/lib/strata-registry
#   7. the OLDEST supported daemon, dockerd 26.1.5 (classic image store) from
#      /opt/strata/docker-26: socket unix:///run/strata-d26/docker.sock, data
#      /var/lib/strata-d26, log /var/log/strata-dockerd-d26.log, own bridge
#      strata-d26 ($STRATA_D26_CIDR, default 172.29.0.1/24); same base images;
#      the same buildx 0.29.1 client drives it.
#   8. a short summary on stdout.
#   9. qemu-user handlers (qemu-user-static) registered with binfmt_misc for
#      arm64, arm, ppc64le, riscv64 and s390x, so that the release image's
#      foreign binaries run in CHECK and `docker run --platform`.
#
# Every step is idempotent: on a ready machine a rerun only checks and prints
# the summary (a few seconds) and changes nothing.  From the previous layout
# (docker.io 26.1.5 installed and running on /var/run/docker.sock with the
# classic store, a second containerd-store dockerd on /run/strata-c8d) `up`
# switches over: it stops both old daemons, removes the old second daemon's
# bridge, rules and data, moves the old classic-store data root
# /var/lib/docker to the oldest daemon's (/var/lib/strata-d26/docker, so its
# images survive) and installs docker.io 28.5.2 over 26.1.5.
#
# Usage: scripts/testbed.sh [up|stop|status|check]
#   up      (default) install + start everything, then print a summary
#   stop    stop the registry and both dockerds (each stops its containerd);
#           remove the oldest daemon's bridge and iptables rules
#   status  print the summary only
#   check   `up`, then extra proofs on the primary: buildx --output tar,
#           --load, push to the local registry, an OCI export with
#           rewrite-timestamp, a multi-platform OCI tarball; on the oldest:
#           network from a container and a RUN build
#
# Environment overrides:
#   STRATA_DEBIAN_MIRROR   Debian mirror URL (default: the one the system's apt
#                          sources use for bookworm)
#   STRATA_STORAGE_DRIVER  storage driver of the oldest dockerd (default:
#                          overlay2 if an overlay mount works here, else vfs;
#                          the primary then uses the overlayfs resp. native
#                          snapshotter)
#   STRATA_SMOKE=1         run the smoke builds even if nothing changed
#   STRATA_D26_CIDR        address/prefix of the oldest dockerd's bridge
#                          (default 172.29.0.1/24)
#
# Findings baked into this script (Debian bookworm host, docker CLI 28.2):
#   * sid's docker.io 28.5.2+dfsg4 depends on containerd >= 1.4, runc, iptables,
#     libc6 >= 2.34, sysvinit-utils, systemd | systemd-sysusers and
#     tini-static: all from bookworm except tini-static (sid, a static binary).
#     sid's tini-static Breaks bookworm's tini (both ship /usr/bin/tini-static),
#     so tini is removed in the same apt-get run.  bookworm's containerd
#     1.6.20 and runc 1.1.5 are enough for dockerd 28.5 with the containerd
#     image store (snapshotter overlayfs): nothing else comes from sid.
#   * The package's maintainer scripts try to start services; there's no
#     systemd, so service starts are suppressed with a temporary
#     /usr/sbin/policy-rc.d (exit 101) and we start the daemons ourselves.
#   * With the "docker" buildx driver, BuildKit's image source resolves `FROM
#     busybox:local` from dockerd's local image store first (ResolveMode
#     "default" prefers local), so no registry is contacted.  Same for frontend
#     images: `# syntax=<local image>` and `--build-arg BUILDKIT_SYNTAX=<local
#     image>` run a locally tagged image as the gateway frontend.  Do NOT pass
#     `--pull`: that forces a registry lookup (fails here: "lookup
#     registry-1.docker.io ... no such host").
#   * Networking: overlay2, iptables (nft backend) and bridge NAT all work on
#     bookworm's kernel; RUN steps of dockerd's embedded BuildKit run on the
#     default bridge (172.17.0.0/16, NAT'ed), not in the host netns, so
#     `RUN apt-get update && apt-get install ...` reaches the Debian mirror.
#     docker0's MTU is set to the uplink's if that is below 1500.
#   * Each dockerd runs its own managed containerd (bookworm's 1.6.20) under
#     its own --exec-root; cgroup v1 (hybrid) works.  `testbed.sh stop` stops
#     both.
#   * Containerd image store ("features": {"containerd-snapshotter": true}):
#     buildx's docker driver then offers the oci/docker exporters (it looks for
#     the worker label org.mobyproject.buildkit.worker.snapshotter), multi-
#     platform images and attestations.  `rewrite-timestamp=true` works with
#     `--output type=oci|docker,dest=FILE`; with `type=image` (and a loading
#     `type=docker`) it still fails on 28.5.2: 'exporter option
#     "rewrite-timestamp" conflicts with "unpack"' (dockerd forces unpack=true,
#     also against an explicit unpack=false; moby/moby#51493, after 28.5) --
#     and the image is tagged anyway before the error.
#   * The oldest dockerd runs from the unpacked 26.1.5 .deb with
#     PATH=/opt/strata/docker-26/usr/sbin:/opt/strata/docker-26/usr/bin:... so
#     it finds its own docker-proxy; its docker-init is repointed to
#     /usr/bin/tini-static.  buildx 0.29.1 drives it fine (docker driver,
#     API 1.45).
#   * The oldest dockerd's RUN steps use the network named "bridge" (moby's
#     builder has no other default), so it needs a bridge of its own: with
#     --bridge=none a RUN fails with "network bridge not found".  Never start a
#     second dockerd with --bridge=none (or with default-address-pools):
#     dockerd then deletes the interface docker0 (daemon/daemon_unix.go,
#     removeDefaultBridgeInterface), which belongs to the primary, and every
#     RUN and `docker run` there fails with "adding interface vethX to bridge
#     docker0 failed: Device does not exist" until docker0 is recreated (ip
#     link add docker0 type bridge; ip addr add 172.17.0.1/16 dev docker0; ip
#     link set docker0 up).  It runs with --iptables=false so the two daemons
#     never edit each other's chains; this script adds the three rules its RUN
#     steps need (masquerade + forward, tagged "strata-d26").
set -euo pipefail

readonly STATE_DIR=/var/cache/strata
readonly SID_DIR=$STATE_DIR/apt-sid
readonly TRIXIE_DIR=$STATE_DIR/apt-trixie
readonly SETUP_LOG=/var/log/strata-testbed.log
readonly DOCKERD_LOG=/var/log/strata-dockerd.log
readonly DOCKERD_PIDFILE=/var/run/docker.pid
readonly DOCKERD_CONFIG=/etc/strata/dockerd.json
readonly DOCKER_SOCK=/var/run/docker.sock
readonly DOCKER_ROOT=/var/lib/docker
# Written into the primary's data root once dockerd 28 with the containerd
# store has used it: a data root without it holds the old layout's classic store.
readonly DOCKER_ROOT_MARKER=$DOCKER_ROOT/.strata-containerd-store
readonly PRIMARY_VERSION=28.5.
readonly BUILDX_VERSION=0.29.
readonly REGISTRY_DIR=/var/lib/strata-registry
readonly REGISTRY_LOG=/var/log/strata-registry.log
readonly REGISTRY_PIDFILE=/var/run/strata-registry.pid
readonly REGISTRY_ADDR=127.0.0.1:5000
readonly D26_OPT=/opt/strata/docker-26
readonly D26_VERSION=26.1.
readonly D26_DIR=/var/lib/strata-d26
readonly D26_CONFIG=$D26_DIR/daemon.json
readonly D26_RUN=/run/strata-d26
readonly D26_SOCK=$D26_RUN/docker.sock
readonly D26_PIDFILE=$D26_RUN/dockerd.pid
readonly D26_LOG=/var/log/strata-dockerd-d26.log
readonly D26_BRIDGE=strata-d26
readonly D26_CIDR=${STRATA_D26_CIDR:-172.29.0.1/24}
# The previous layout's second dockerd (containerd store), retired by `up`.
readonly OLD_C8D_DIR=/var/lib/strata-c8d
readonly OLD_C8D_RUN=/run/strata-c8d
readonly OLD_C8D_SOCK=$OLD_C8D_RUN/docker.sock
readonly OLD_C8D_BRIDGE=strata-c8d0
readonly DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
readonly IMAGE_PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
readonly POLICY_RC_D=/usr/sbin/policy-rc.d
readonly POLICY_MARKER='# strata testbed: temporary, blocks service starts during apt-get'

BOOKWORM_PKGS=(
	containerd runc iptables debootstrap busybox-static docker-registry
	ca-certificates curl pigz xz-utils iproute2 procps adduser qemu-user-static
)

# Foreign platforms of the release image (scripts/frontend-image.sh) whose binaries run
# under qemu-user: registered with binfmt_misc so that BuildKit's CHECK and `docker run
# --platform` start them (flag F: the kernel opens the interpreter at registration, so it
# works inside containers too).
QEMU_BINFMT=(aarch64 arm ppc64le riscv64 s390x)
BINFMT_DIR=/proc/sys/fs/binfmt_misc


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

# --------------- step 2: docker.io 28.5 + buildx from sid, docker.io 26 unpacked

# apt_private DIR SUITE: the apt options of a private configuration for SUITE
# (own sources list, state and cache under DIR, so the system's apt keeps
# seeing bookworm only), into the array APT_PRIVATE.
apt_private() {
	local dir=$1 suite=$2
	APT_PRIVATE=(
		-o "Dir::Etc::SourceList=$dir/sources.list"
		-o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State=$dir/state"
		-o Dir::State::status=/var/lib/dpkg/status
		-o "Dir::Cache=$dir/cache"
		-o APT::Sandbox::User=root
	)
	mkdir -p "$dir"/{state/lists/partial,cache/archives/partial,debs}
	printf 'deb [arch=%s signed-by=%s] %s %s main\n' "$(dpkg --print-architecture)" \
		"$DEBIAN_KEYRING" "$(debian_mirror)" "$suite" >"$dir/sources.list"
}

# cached_deb DIR PACKAGE: the newest downloaded .deb of PACKAGE in DIR/debs.
cached_deb() { compgen -G "$1/debs/$2_*_$(dpkg --print-architecture).deb" | sort -V | tail -n 1; }

# fetch_debs DIR SUITE PACKAGE...: download the packages' .debs from SUITE
# into DIR/debs unless they are there already.
fetch_debs() {
	local dir=$1 suite=$2 p missing=()
	shift 2
	for p in "$@"; do
		[[ -n $(cached_deb "$dir" "$p") ]] || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return
	apt_private "$dir" "$suite"
	log "docker: downloading ${missing[*]} from $(debian_mirror) $suite"
	run_logged apt-get "${APT_PRIVATE[@]}" update
	(cd "$dir/debs" && run_logged apt-get "${APT_PRIVATE[@]}" download "${missing[@]}")
	for p in "${missing[@]}"; do
		[[ -n $(cached_deb "$dir" "$p") ]] || die "$p .deb not downloaded from $suite"
	done
}

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

docker_debs_installed() {
	[[ $(pkg_version docker.io) == "$PRIMARY_VERSION"* && $(pkg_version docker-buildx) == "$BUILDX_VERSION"* ]] &&
		pkg_installed docker.io && pkg_installed docker-buildx && pkg_installed tini-static &&
		[[ -x /usr/sbin/dockerd && -x /usr/libexec/docker/cli-plugins/docker-buildx ]]
}

install_sid_docker() {
	if docker_debs_installed; then
		log "docker: docker.io $(pkg_version docker.io), docker-buildx $(pkg_version docker-buildx) already installed"
		return
	fi
	fetch_debs "$SID_DIR" sid docker.io docker-buildx tini-static
	local debs=() p
	for p in docker.io docker-buildx tini-static; do debs+=("$(cached_deb "$SID_DIR" "$p")"); done
	case $(dpkg-deb -f "${debs[0]}" Version) in
	"$PRIMARY_VERSION"*) ;;
	*) log "WARNING: sid's docker.io is $(dpkg-deb -f "${debs[0]}" Version), expected ${PRIMARY_VERSION}x" ;;
	esac
	# The old layout's dockerd 26 runs from /usr/sbin/dockerd: stop it before
	# its package is replaced (stop_old_layout, called before this step).
	log "docker: installing ${debs[*]##*/} (replaces docker.io $(pkg_version docker.io || echo none), removes tini)"
	# apt-get (rather than dpkg -i) so the dependencies come from bookworm
	# (see header); `tini-` removes bookworm's tini, which sid's tini-static breaks.
	block_service_starts
	local remove=()
	pkg_installed tini && remove+=(tini-)
	run_logged apt-get install -y --no-install-recommends "${debs[@]}" "${remove[@]}"
	unblock_service_starts
	docker_debs_installed || die "docker.io/docker-buildx/tini-static not installed correctly"
	changed=1
}

# dockerd 26.1.5, unpacked (not installed: only one docker.io can be).
unpack_docker26() {
	if [[ -x $D26_OPT/usr/sbin/dockerd && $("$D26_OPT/usr/sbin/dockerd" --version 2>/dev/null) == *" $D26_VERSION"* ]]; then
		return
	fi
	fetch_debs "$TRIXIE_DIR" trixie docker.io
	local deb
	deb=$(cached_deb "$TRIXIE_DIR" docker.io)
	case $(dpkg-deb -f "$deb" Version) in
	"$D26_VERSION"*) ;;
	*) die "trixie's docker.io is $(dpkg-deb -f "$deb" Version), expected ${D26_VERSION}x" ;;
	esac
	log "docker: unpacking ${deb##*/} into $D26_OPT"
	rm -rf "$D26_OPT.tmp"
	mkdir -p "$D26_OPT.tmp"
	dpkg-deb -x "$deb" "$D26_OPT.tmp"
	# The package's docker-init is a relative link to tini-static (sid's package).
	ln -sfn /usr/bin/tini-static "$D26_OPT.tmp/usr/bin/docker-init"
	rm -rf "$D26_OPT"
	mv "$D26_OPT.tmp" "$D26_OPT"
	"$D26_OPT/usr/sbin/dockerd" --version >/dev/null || die "$D26_OPT/usr/sbin/dockerd does not run"
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
# (so callers' pipes, e.g. `make | tee`, are not held open), working directory
# `/`: the daemons outlive the caller's directory (a CI clone), and dockerd's git
# fetches fail once their working directory is gone.
start_daemon() {
	local logf=$1 pidf=$2
	shift 2
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			if ((fd > 2 && fd != 255)); then eval "exec $fd>&-" 2>/dev/null || true; fi
		done
		cd /
		exec setsid "$@" </dev/null >>"$logf" 2>&1
	) &
	echo $! >"$pidf"
}

# ------------------------------------------- switching from the old layout

# The old layout ran docker.io 26.1.5 (classic store) on $DOCKER_SOCK and a
# second dockerd (containerd store) on $OLD_C8D_SOCK.  Stop whichever of them
# still runs, drop the second one's bridge, rules and data, and move the old
# classic-store data root to the oldest daemon's (keeps its images; the
# network store is dropped, see below).
stop_old_layout() {
	if pid_alive "$OLD_C8D_RUN/dockerd.pid" "$OLD_C8D_SOCK"; then
		log "switch: stopping the old second dockerd on $OLD_C8D_SOCK (retired: the primary has the containerd store)"
		stop_pid "$OLD_C8D_RUN/dockerd.pid" "$OLD_C8D_SOCK"
		changed=1
	fi
	if ip link show "$OLD_C8D_BRIDGE" >/dev/null 2>&1; then
		remove_bridge "$OLD_C8D_BRIDGE" strata-c8d
		changed=1
	fi
	if [[ -d $OLD_C8D_DIR || -d $OLD_C8D_RUN ]]; then
		if grep -qE " ($OLD_C8D_DIR|$OLD_C8D_RUN)/" /proc/mounts; then
			log "switch: WARNING: mounts left below $OLD_C8D_DIR or $OLD_C8D_RUN; not removing them"
		else
			log "switch: removing the old second dockerd's data $OLD_C8D_DIR $OLD_C8D_RUN"
			rm -rf --one-file-system "$OLD_C8D_DIR" "$OLD_C8D_RUN"
		fi
	fi
	local version=
	if docker_up; then version=$(docker version -f '{{.Server.Version}}' 2>/dev/null || true); fi
	if [[ -n $version && $version != "$PRIMARY_VERSION"* ]]; then
		pid_alive "$DOCKERD_PIDFILE" dockerd ||
			die "dockerd $version answers on $DOCKER_SOCK but $DOCKERD_PIDFILE names no dockerd; stop it first"
		log "switch: stopping dockerd $version on $DOCKER_SOCK (the old layout)"
		stop_pid "$DOCKERD_PIDFILE" dockerd
		changed=1
	fi
	if [[ ! -e $DOCKER_ROOT_MARKER && -d $DOCKER_ROOT/image ]]; then
		docker_up && die "a dockerd still answers on $DOCKER_SOCK; cannot move $DOCKER_ROOT"
		if grep -qF " $DOCKER_ROOT/" /proc/mounts; then die "mounts left below $DOCKER_ROOT; cannot move it"; fi
		local dest=$D26_DIR/docker
		if [[ -e $dest ]]; then
			dest=$DOCKER_ROOT.classic-$(date +%Y%m%d%H%M%S)
			log "switch: $D26_DIR/docker exists already; keeping the old classic store as $dest"
		else
			log "switch: moving the old classic-store data root $DOCKER_ROOT to $dest (dockerd 26.1.5)"
			mkdir -p "$D26_DIR"
		fi
		mv "$DOCKER_ROOT" "$dest"
		# Its network store names docker0 as the (daemon-created) default
		# bridge; dockerd 26 started with --bridge=$D26_BRIDGE would delete
		# that network and with it docker0, the primary's bridge.
		rm -rf "$dest/network"
		changed=1
	fi
}

# ---------------------------------------------------- step 3: primary dockerd

write_dockerd_config() { # write_dockerd_config FILE KEEP_STORAGE C8D(true|false)
	local new
	mkdir -p "$(dirname "$1")"
	# Builder GC keeps the cache bounded: every e2e run adds --no-cache builds.
	new="{
  \"features\": { \"containerd-snapshotter\": $3 },
  \"builder\": { \"gc\": { \"enabled\": true, \"defaultKeepStorage\": \"$2\" } }
}"
	if [[ ! -f $1 || $(cat "$1") != "$new" ]]; then
		printf '%s\n' "$new" >"$1"
		log "dockerd: wrote $1 (a running dockerd applies it after 'testbed.sh stop' and 'up')"
	fi
}

# wait_up NAME LOG CHECK...: wait up to 60 s for CHECK to succeed.
wait_up() {
	local name=$1 logf=$2 i
	shift 2
	for ((i = 0; i < 60; i++)); do
		"$@" && break
		sleep 1
	done
	"$@" || fail_with_log "$name did not come up within 60 s" "$logf"
	log "$name: up after ${i}s"
}

start_dockerd() {
	command -v docker >/dev/null || die "docker CLI not found (expected /usr/local/bin/docker)"
	write_dockerd_config "$DOCKERD_CONFIG" 10GB true
	if docker_up; then
		log "dockerd: already running"
	else
		if pid_alive "$DOCKERD_PIDFILE" dockerd; then
			log "dockerd: process $(cat "$DOCKERD_PIDFILE") exists but not answering yet; waiting"
		else
			ensure_cgroups
			local snapshotter=overlayfs args=()
			[[ $(storage_driver) == overlay2 ]] || snapshotter=native
			args=(--config-file="$DOCKERD_CONFIG" --host="unix://$DOCKER_SOCK" --pidfile="$DOCKERD_PIDFILE"
				--storage-driver="$snapshotter")
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
		wait_up dockerd "$DOCKERD_LOG" docker_up
	fi
	local version
	version=$(docker version -f '{{.Server.Version}}')
	[[ $version == "$PRIMARY_VERSION"* ]] || die "dockerd on $DOCKER_SOCK is $version, expected ${PRIMARY_VERSION}x"
	docker info -f '{{json .DriverStatus}}' | grep -q 'io.containerd.snapshotter' ||
		die "dockerd on $DOCKER_SOCK does not use the containerd image store"
	[[ -e $DOCKER_ROOT_MARKER ]] || echo "dockerd $version, containerd image store" >"$DOCKER_ROOT_MARKER"
	ensure_default_builder
}

# `docker buildx build` must use the builtin "default" builder (docker driver,
# i.e. dockerd's embedded BuildKit), not some docker-container builder.
ensure_default_builder() {
	local v
	v=$(docker buildx version 2>/dev/null) || die "docker buildx plugin not working (docker buildx version failed)"
	[[ $v =~ [[:space:]]v?${BUILDX_VERSION//./\\.} ]] || log "WARNING: unexpected buildx: $v"
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


# on HOST CMD...: run CMD with DOCKER_HOST=HOST (one of the two dockerds).
on() {
	local host=$1
	shift
	DOCKER_HOST=$host "$@"
}

# import_image HOST NAME TARBALL CMD COMMENT: `docker import` a rootfs tarball.
import_image() {
	if on "$1" docker image inspect "$2" >/dev/null 2>&1; then
		log "images: $2 present (${1#unix://})"
		return
	fi
	log "images: importing $2 (${1#unix://})"
	on "$1" docker import --change "$IMAGE_PATH_ENV" --change "CMD [\"$4\"]" -m "$5" "$3" "$2" >/dev/null
	changed=1
}

import_images() { # import_images HOST
	local busybox=$STATE_DIR/busybox-rootfs.tar debian=$STATE_DIR/debian-bookworm-rootfs.tar
	[[ -s $busybox ]] || build_busybox_rootfs "$busybox"
	import_image "$1" busybox:local "$busybox" sh 'strata testbed: busybox-static rootfs'
	[[ -s $debian ]] || build_debian_rootfs "$debian"
	import_image "$1" debian:bookworm "$debian" bash 'strata testbed: debootstrap --variant=minbase bookworm'
}

# ------------------------------------------------------ step 5: smoke build

# Cheap proof that a dockerd's BuildKit with the builtin Dockerfile frontend
# resolves a *local* image (no registry reachable) and runs a RUN step on its
# bridge.  Runs after any change, or with STRATA_SMOKE=1.
smoke_build() { # smoke_build HOST
	local ctx
	ctx=$(mktemp -d /tmp/strata-testbed-smoke.XXXXXX)
	printf 'FROM busybox:local\nRUN echo hi > /x\n' >"$ctx/Dockerfile"
	if ! on "$1" docker buildx build --builder default --progress=plain \
		--output "type=tar,dest=$ctx/out.tar" "$ctx" >"$ctx/build.log" 2>&1; then
		fail_with_log "smoke build on $1 failed" "$ctx/build.log"
	fi
	[[ $(tar -xOf "$ctx/out.tar" ./x 2>/dev/null || tar -xOf "$ctx/out.tar" x) == hi ]] ||
		die "smoke build on $1: output lacks /x"
	rm -rf "$ctx"
	log "buildx: smoke build on ${1#unix://} (FROM busybox:local, RUN, --output type=tar) ok"
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


# ----------------------------------------- step 7: the oldest dockerd, 26.1.5
#
# dockerd 26.1.5 (BuildKit 0.13, classic image store), the oldest daemon
# Strata supports, from the unpacked .deb in $D26_OPT.  It shares nothing with
# the primary: own socket, pidfile, data root, exec root (so its own managed
# containerd), log, and its own bridge $D26_BRIDGE with --iptables=false (see
# the header for why never --bridge=none).

d26_up() { timeout 10 env DOCKER_HOST="unix://$D26_SOCK" docker info >/dev/null 2>&1; }

# bridge_rules BRIDGE NET: the iptables rules a bridge's RUN steps need, one
# per line, tab-separated table|chain|spec.
bridge_rules() {
	printf 'nat\tPOSTROUTING\t-s %s ! -o %s -j MASQUERADE\n' "$2" "$1"
	printf 'filter\tFORWARD\t-i %s -j ACCEPT\n' "$1"
	printf 'filter\tFORWARD\t-o %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n' "$1"
}

# bridge_network BRIDGE: its network (e.g. 172.29.0.0/24), from its kernel route.
bridge_network() {
	ip -o -4 route show dev "$1" proto kernel 2>/dev/null | awk '{print $1; exit}'
}

d26_bridge() {
	local gw=${D26_CIDR%/*} mtu other
	if ! ip link show "$D26_BRIDGE" >/dev/null 2>&1; then
		other=$(ip -o -4 route show to match "$gw" | grep -v '^default' || true)
		[[ -z $other ]] || die "d26: $D26_CIDR overlaps an existing route ($other); set STRATA_D26_CIDR"
		log "d26: creating bridge $D26_BRIDGE ($D26_CIDR)"
		ip link add name "$D26_BRIDGE" type bridge
		d26_changed=1
	fi
	if ! ip -o -4 addr show dev "$D26_BRIDGE" | grep -qF " $D26_CIDR "; then
		ip addr add "$D26_CIDR" dev "$D26_BRIDGE"
		d26_changed=1
	fi
	mtu=$(uplink_mtu)
	if [[ -n $mtu ]] && (($(cat "/sys/class/net/$D26_BRIDGE/mtu") != mtu)); then
		ip link set "$D26_BRIDGE" mtu "$mtu"
	fi
	ip link set "$D26_BRIDGE" up
	[[ $(cat /proc/sys/net/ipv4/ip_forward) == 1 ]] || echo 1 >/proc/sys/net/ipv4/ip_forward
	if ! iptables -t nat -S >/dev/null 2>&1; then
		log "d26: WARNING: iptables nat table unusable; RUN steps on $D26_BRIDGE get no network"
		return
	fi
	local table chain spec net
	net=$(bridge_network "$D26_BRIDGE")
	[[ -n $net ]] || die "d26: no route for $D26_BRIDGE"
	while IFS=$'\t' read -r table chain spec; do
		# shellcheck disable=SC2086 # spec is a list of words
		if ! iptables -t "$table" -C "$chain" $spec -m comment --comment strata-d26 2>/dev/null; then
			# shellcheck disable=SC2086
			iptables -t "$table" -A "$chain" $spec -m comment --comment strata-d26
			d26_changed=1
		fi
	done < <(bridge_rules "$D26_BRIDGE" "$net")
}

remove_bridge() { # remove_bridge BRIDGE TAG: its iptables rules, then the bridge
	local table chain spec net
	net=$(bridge_network "$1")
	if [[ -n $net ]] && iptables -t nat -S >/dev/null 2>&1; then
		while IFS=$'\t' read -r table chain spec; do
			# shellcheck disable=SC2086
			while iptables -t "$table" -D "$chain" $spec -m comment --comment "$2" 2>/dev/null; do :; done
		done < <(bridge_rules "$1" "$net")
	fi
	if ip link show "$1" >/dev/null 2>&1; then
		log "removing bridge $1"
		ip link del "$1"
	fi
}

start_d26_dockerd() {
	d26_bridge
	write_dockerd_config "$D26_CONFIG" 3GB false
	if d26_up; then
		log "d26: dockerd 26 (classic image store) already running on $D26_SOCK"
	else
		if pid_alive "$D26_PIDFILE" "$D26_SOCK"; then
			log "d26: dockerd $(cat "$D26_PIDFILE") exists but not answering yet; waiting"
		else
			ensure_cgroups
			local args=()
			mkdir -p "$D26_RUN"
			args=(--config-file="$D26_CONFIG" --data-root="$D26_DIR/docker" --exec-root="$D26_RUN/exec"
				--pidfile="$D26_PIDFILE" --host="unix://$D26_SOCK" --storage-driver="$(storage_driver)"
				--bridge="$D26_BRIDGE" --iptables=false --ip6tables=false)
			local mtu
			mtu=$(uplink_mtu)
			if [[ -n $mtu ]] && ((mtu < 1500)); then args+=(--mtu="$mtu"); fi
			rm -f "$D26_PIDFILE"
			log "d26: starting: $D26_OPT/usr/sbin/dockerd ${args[*]}; log $D26_LOG"
			printf '\n### %s: dockerd %s\n' "$(date -u +%FT%TZ)" "${args[*]}" >>"$D26_LOG"
			# Its own docker-proxy and docker-init come first in PATH.
			start_daemon "$D26_LOG" "$D26_RUN/launcher.pid" \
				env PATH="$D26_OPT/usr/sbin:$D26_OPT/usr/bin:$PATH" "$D26_OPT/usr/sbin/dockerd" "${args[@]}"
			d26_changed=1
		fi
		wait_up d26 "$D26_LOG" d26_up
	fi
	local version
	version=$(on "unix://$D26_SOCK" docker version -f '{{.Server.Version}}')
	[[ $version == "$D26_VERSION"* ]] || die "d26: dockerd on $D26_SOCK is $version, expected ${D26_VERSION}x"
}

up_d26() {
	d26_changed=0
	start_d26_dockerd
	local before=$changed
	import_images "unix://$D26_SOCK"
	((changed == before)) || d26_changed=1
	if ((d26_changed)) || [[ ${STRATA_SMOKE:-} == 1 ]]; then smoke_build "unix://$D26_SOCK"; fi
}

# ------------------------------------------------------------ step 8: summary

summary() {
	echo "== Strata BuildKit test bed =="
	if docker_up; then
		echo "primary:   $DOCKER_SOCK: dockerd $(docker version -f '{{.Server.Version}}, API {{.Server.APIVersion}}, containerd {{range .Server.Components}}{{if eq .Name "containerd"}}{{.Version}}{{end}}{{end}}' 2>/dev/null)"
		echo "storage:   containerd image store ($(docker info -f '{{.Driver}}' 2>/dev/null)), cgroup $(docker info -f '{{.CgroupVersion}}' 2>/dev/null)"
		echo "buildx:    $(docker buildx version 2>/dev/null)"
		echo "images:"
		docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' 2>/dev/null | sort | sed 's/^/  /'
	else
		echo "primary:   NOT RUNNING ($DOCKER_SOCK)"
	fi
	if registry_up; then
		echo "registry:  http://$REGISTRY_ADDR ($(docker-registry --version 2>/dev/null | head -n1))"
	else
		echo "registry:  NOT RUNNING"
	fi
	echo "qemu-user: $(cd "$BINFMT_DIR" 2>/dev/null && ls -d qemu-* 2>/dev/null | tr '\n' ' ')(binfmt_misc)"
	if d26_up; then
		echo "oldest:    unix://$D26_SOCK: dockerd $(on "unix://$D26_SOCK" docker version -f '{{.Server.Version}}' 2>/dev/null), classic store ($(on "unix://$D26_SOCK" docker info -f '{{.Driver}}' 2>/dev/null)), bridge $D26_BRIDGE $(bridge_network "$D26_BRIDGE")"
		echo "oldest images:"
		on "unix://$D26_SOCK" docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}' 2>/dev/null | sort | sed 's/^/  /'
	else
		echo "oldest:    NOT RUNNING (unix://$D26_SOCK)"
	fi
}

# ----------------------------------------------- step 9: qemu-user via binfmt_misc

register_binfmt() {
	local a conf
	if [[ ! -e $BINFMT_DIR/register ]]; then
		mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" ||
			die "binfmt_misc cannot be mounted at $BINFMT_DIR: foreign platforms cannot run"
	fi
	for a in "${QEMU_BINFMT[@]}"; do
		[[ -e $BINFMT_DIR/qemu-$a ]] && continue
		# Debian's qemu-user-static ships each handler in systemd-binfmt's format, which is
		# what the register file takes.
		conf=/usr/lib/binfmt.d/qemu-$a.conf
		[[ -f $conf ]] || die "binfmt: $conf is missing (qemu-user-static)"
		log "binfmt: registering qemu-$a"
		cat "$conf" >"$BINFMT_DIR/register"
		changed=1
	done
	for a in "${QEMU_BINFMT[@]}"; do
		grep -qx 'flags: .*F.*' "$BINFMT_DIR/qemu-$a" ||
			die "binfmt: qemu-$a is registered without flag F (containers cannot use it)"
	done
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
	log "check: --output type=oci,rewrite-timestamp=true"
	docker buildx build --builder default --progress=plain --build-arg SOURCE_DATE_EPOCH=0 \
		--output "type=oci,dest=$ctx/out.tar,rewrite-timestamp=true" "$ctx" >"$ctx/oci.log" 2>&1 ||
		fail_with_log "check: OCI export with rewrite-timestamp failed" "$ctx/oci.log"
	grep -q 'rewriting layers with source-date-epoch 0' "$ctx/oci.log" ||
		fail_with_log "check: the oci exporter did not rewrite timestamps" "$ctx/oci.log"
	tar -xOf "$ctx/out.tar" index.json >/dev/null || die "check: no index.json in the OCI tarball"
	log "check: --platform linux/amd64,linux/arm64 --output type=oci,dest=…"
	mkdir "$ctx/multi"
	printf 'FROM scratch\nARG TARGETPLATFORM\nCOPY Dockerfile /$TARGETPLATFORM\n' >"$ctx/multi/Dockerfile"
	docker buildx build --builder default --platform linux/amd64,linux/arm64 \
		--output "type=oci,dest=$ctx/multi.tar" "$ctx/multi" >"$ctx/multi.log" 2>&1 ||
		fail_with_log "check: multi-platform OCI export failed" "$ctx/multi.log"
	[[ $(tar -xOf "$ctx/multi.tar" index.json | grep -o '"mediaType"' | wc -l) -ge 1 ]] ||
		die "check: no index.json in the multi-platform OCI tarball"
	log "check: push to $REGISTRY_ADDR"
	docker tag busybox:local "$REGISTRY_ADDR/busybox:t"
	docker push "$REGISTRY_ADDR/busybox:t" >&2
	curl -sf "http://$REGISTRY_ADDR/v2/busybox/tags/list" >&2
	echo >&2
	# Leave the local image list as it was (the pushed image stays in the registry).
	docker image rm "$tag" "$REGISTRY_ADDR/busybox:t" >/dev/null
	rm -rf "$ctx"
	log "check: d26: a container on $D26_BRIDGE reaches the Debian mirror"
	on "unix://$D26_SOCK" docker run --rm busybox:local wget -q -O /dev/null "$(debian_mirror)/dists/bookworm/Release" ||
		die "check: d26: no network on $D26_BRIDGE"
	smoke_build "unix://$D26_SOCK"
	log "check: all ok"
}

up() {
	local t0=$SECONDS
	mkdir -p "$STATE_DIR"
	install_bookworm_packages
	register_binfmt
	stop_old_layout
	install_sid_docker
	unpack_docker26
	start_dockerd
	import_images "unix://$DOCKER_SOCK"
	# Only after changes, so that a rerun on a ready machine really changes
	# nothing (each build adds buildx/BuildKit history records).
	if ((changed)) || [[ ${STRATA_SMOKE:-} == 1 ]]; then
		smoke_build "unix://$DOCKER_SOCK"
	else
		log "buildx: nothing changed, smoke build skipped ('testbed.sh check' runs it)"
	fi
	start_registry
	up_d26
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
		stop_pid "$D26_PIDFILE" "$D26_SOCK"
		remove_bridge "$D26_BRIDGE" strata-d26
		stop_pid "$DOCKERD_PIDFILE" dockerd
		;;
	-h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
	*) die "unknown subcommand '$1' (use up, stop, status or check)" ;;
	esac
}

main "$@"
