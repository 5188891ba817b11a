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

.PHONY: release image image-oldest testbed unit conformance e2e e2e-oldest test lint demo bench fuzz snap
# The test bed's two daemons (scripts/testbed.sh): the primary, Docker 28.5.2 with the
# containerd image store, and the oldest supported one, dockerd 26.1.5 (BuildKit 0.13).
PRIMARY_HOST := unix:///var/run/docker.sock
OLDEST_HOST := unix:///run/strata-d26/docker.sock
# The e2e cases also run on the oldest daemon: the main paths, not the whole suite.
#   compat (builtin vs Strata): multi-stage, COPY rules, RUN forms and mounts, heredocs, named contexts
#   errors: a failing RUN (source snippet), an unknown instruction, a missing COPY source
#   extensions (Strata only): INCLUDE, template IF, CHECK
OLDEST_E2E := multistage copy_rules run_forms mounts compat_heredoc_run compat_run_mount_cache \
	compat_named_context error_failing_run error_unknown_instruction error_copy_missing_source \
	include_nested template_if check_pass

## The static release binary (built once; everything else reuses it).
release:
	$(STATIC_RUSTFLAGS) cargo build --release --target $(TARGET_TRIPLE) -p strata

## strata:dev in the primary dockerd, from the host-built binary (no registry needed).
image: release testbed
	mkdir -p .build && cp $(RELEASE_BIN) .build/strata
	DOCKER_HOST=$(PRIMARY_HOST) docker buildx build --quiet --load -t $(IMAGE) --target prebuilt -f Dockerfile.frontend . >/dev/null
	@echo "image: $(IMAGE) ($$(du -h .build/strata | cut -f1) binary)"

## The same image in the oldest dockerd (each daemon has its own image store).
image-oldest: image
	DOCKER_HOST=$(OLDEST_HOST) docker buildx build --quiet --load -t $(IMAGE) --target prebuilt -f Dockerfile.frontend . >/dev/null
	@echo "image: $(IMAGE) in $(OLDEST_HOST)"

## Install and start dockerd + buildx, base images and the registry (idempotent).
testbed:
	scripts/testbed.sh

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings

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
	for t in e2e e2e_cache e2e_repro e2e_subrequests e2e_platform; do \
		cargo test -p strata --features e2e --test $$t -- --nocapture --test-threads=1; \
	done

## The OLDEST_E2E subset on the oldest daemon (dockerd 26.1.5); every named case must exist.
e2e-oldest: image-oldest
	export DOCKER_HOST=$(OLDEST_HOST) STRATA_IMAGE=$(IMAGE); \
	listed=$$(cargo test -p strata --features e2e --test e2e -- --list --exact $(OLDEST_E2E) | grep -c ': test$$'); \
	[[ $$listed == $(words $(OLDEST_E2E)) ]] || { echo "e2e-oldest: $$listed of $(words $(OLDEST_E2E)) OLDEST_E2E cases exist"; exit 1; }; \
	cargo test -p strata --features e2e --test e2e -- --nocapture --test-threads=1 --exact $(OLDEST_E2E)

## Everything CI runs.
test: lint unit e2e e2e-oldest

demo: image
	scripts/demo.sh

bench: image
	scripts/bench.sh

fuzz:
	scripts/fuzz.sh

## Review changed golden snapshots.
snap:
	INSTA_UPDATE=always cargo test -p strata
