# Strata's entry points. `make demo` and `make test` set up a fresh machine themselves.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
TARGET_TRIPLE := x86_64-unknown-linux-gnu
RELEASE_BIN := target/$(TARGET_TRIPLE)/release/strata
IMAGE ?= strata:dev
CORPUS ?= $(CURDIR)/../shared/corpus/buildkit-parser
# Only for the release build: exported to every cargo run it would also reach host-built
# proc-macros (cargo test/clippy without --target), which cannot be static.
STATIC_RUSTFLAGS := CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static"

.PHONY: bench-libc release release-image e2e-release image image-oldest testbed unit conformance e2e e2e-oldest test lint demo bench fuzz snap
# The test bed's two daemons (scripts/testbed.sh): the primary, Docker 28.5.2 with the
# containerd image store, and the oldest supported one, dockerd 26.1.5 (BuildKit 0.13).
PRIMARY_HOST := unix:///var/run/docker.sock
OLDEST_HOST := unix:///run/strata-d26/docker.sock
# The release image's platforms (Rust targets in scripts/frontend-image.sh).
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le linux/riscv64 linux/s390x
REGISTRY ?=
# The test bed's registry, where e2e-release pushes the release image.
TEST_REGISTRY := 127.0.0.1:5000
# The e2e cases also run on the oldest daemon: the main paths, not the whole suite.
#   compat (builtin vs Strata): multi-stage, COPY rules, RUN forms and mounts, heredocs, named contexts
#   errors: a failing RUN (source snippet), an unknown instruction, a missing COPY source
#   extensions (Strata only): INCLUDE, template IF, CHECK
OLDEST_E2E := multistage copy_rules run_forms mounts compat_heredoc_run compat_run_mount_cache \
	compat_named_context error_failing_run error_unknown_instruction error_copy_missing_source \
	include_nested template_if check_pass
# ... and of e2e_sources (the named-context case needs the containerd store's oci exporter;
# the query form needs a builtin frontend of BuildKit 0.24 or later to compare with).
OLDEST_SOURCES := git_context_over_git_protocol git_context_over_dumb_http http_tarball_context \
	http_dockerfile_context
# ... and of e2e_subrequests: Strata's own `--call=graph` (BuildKit 0.13 runs the frontend;
# its builtin refuses the request) and describe listing it.
OLDEST_SUBREQUESTS := e2e_graph_call::graph_call_prints_the_mermaid_graph \
	e2e_graph_call::graph_call_gives_dot_for_the_build_arg e2e_graph_call::graph_call_is_strata_only \
	e2e_graph_call::describe_matches_builtin_plus_lint_and_graph

## The static release binary (built once; everything else reuses it).
release:
	$(STATIC_RUSTFLAGS) cargo build --release --target $(TARGET_TRIPLE) -p strata

## strata:dev in the primary dockerd: this machine's platform only, built by the new binary
## itself from Dockerfile.frontend (scripts/frontend-image.sh; no registry needed).
image: release testbed
	DOCKER_HOST=$(PRIMARY_HOST) IMAGE=$(IMAGE) scripts/frontend-image.sh dev

## The same image in the oldest dockerd (each daemon has its own image store).
image-oldest: image
	DOCKER_HOST=$(PRIMARY_HOST) docker save $(IMAGE) | DOCKER_HOST=$(OLDEST_HOST) docker load -q
	@echo "image: $(IMAGE) in $(OLDEST_HOST)"

## Every platform in one OCI index (RELEASE_PLATFORMS), cross-compiled here: strata:<version>,
## :<major>.<minor> and :<major> loaded into the primary dockerd, or pushed with REGISTRY=….
release-image: release testbed
	DOCKER_HOST=$(PRIMARY_HOST) REGISTRY=$(REGISTRY) PLATFORMS="$(RELEASE_PLATFORMS)" \
		scripts/frontend-image.sh release

## Install and start dockerd + buildx, base images and the registry (idempotent).
testbed:
	scripts/testbed.sh

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

## Unit, golden and gateway tests (no BuildKit needed).
unit:
	STRATA_CORPUS=$(CORPUS) cargo test --workspace --all-features --exclude strata
	STRATA_CORPUS=$(CORPUS) cargo test -p strata

## BuildKit's own parser test files, parsed by Strata and compared with upstream's dumps.
conformance:
	STRATA_CORPUS=$(CORPUS) cargo test -p strata --test conformance -- --nocapture

## End-to-end: real `docker buildx build` runs, Strata vs BuildKit's builtin frontend, on the
## primary daemon (Docker 28.5.2).
e2e: image
	export DOCKER_HOST=$(PRIMARY_HOST) STRATA_IMAGE=$(IMAGE); \
	for t in e2e e2e_cache e2e_repro e2e_subrequests e2e_platform e2e_sources e2e_attest_sbom e2e_attest e2e_graph; do \
		cargo test -p strata --features e2e --test $$t -- --nocapture --test-threads=1; \
	done

## The OLDEST_E2E subset on the oldest daemon (dockerd 26.1.5); every named case must exist.
e2e-oldest: image-oldest
	export DOCKER_HOST=$(OLDEST_HOST) STRATA_IMAGE=$(IMAGE); \
	listed=$$(cargo test -p strata --features e2e --test e2e -- --list --exact $(OLDEST_E2E) | grep -c ': test$$'); \
	[[ $$listed == $(words $(OLDEST_E2E)) ]] || { echo "e2e-oldest: $$listed of $(words $(OLDEST_E2E)) OLDEST_E2E cases exist"; exit 1; }; \
	cargo test -p strata --features e2e --test e2e -- --nocapture --test-threads=1 --exact $(OLDEST_E2E); \
	listed=$$(cargo test -p strata --features e2e --test e2e_sources -- --list --exact $(OLDEST_SOURCES) | grep -c ': test$$'); \
	[[ $$listed == $(words $(OLDEST_SOURCES)) ]] || { echo "e2e-oldest: $$listed of $(words $(OLDEST_SOURCES)) OLDEST_SOURCES cases exist"; exit 1; }; \
	cargo test -p strata --features e2e --test e2e_sources -- --nocapture --test-threads=1 --exact $(OLDEST_SOURCES); \
	listed=$$(cargo test -p strata --features e2e --test e2e_subrequests -- --list --exact $(OLDEST_SUBREQUESTS) | grep -c ': test$$'); \
	[[ $$listed == $(words $(OLDEST_SUBREQUESTS)) ]] || { echo "e2e-oldest: $$listed of $(words $(OLDEST_SUBREQUESTS)) OLDEST_SUBREQUESTS cases exist"; exit 1; }; \
	cargo test -p strata --features e2e --test e2e_subrequests -- --nocapture --test-threads=1 --exact $(OLDEST_SUBREQUESTS)

## The release image, pushed to the test bed's registry, run on every platform under
## qemu-user: `lint` and `llb` must print what the native binary prints.
e2e-release: release testbed
	$(MAKE) --no-print-directory release-image REGISTRY=$(TEST_REGISTRY)
	export DOCKER_HOST=$(PRIMARY_HOST) STRATA_RELEASE_IMAGE=$(TEST_REGISTRY)/strata:$$($(RELEASE_BIN) --version | cut -d' ' -f2) \
		STRATA_RELEASE_PLATFORMS="$(RELEASE_PLATFORMS)"; \
	cargo test -p strata --features e2e --test e2e_release -- --nocapture --test-threads=1

## Everything CI runs.
test: lint unit e2e e2e-oldest e2e-release

demo: image
	scripts/demo.sh

## The frontend's own cost offline (instruction counts at 10/1,000/5,000 stages), then the
## real builds side by side with the builtin frontend (scripts/bench.sh's header).
bench: image
	scripts/bench-pipeline.sh
	scripts/bench.sh

## Size and speed of the static glibc build (shipped) against musl, side by side.
bench-libc:
	scripts/bench-libc.sh

fuzz:
	scripts/fuzz.sh

## Review changed golden snapshots.
snap:
	INSTA_UPDATE=always cargo test -p strata
