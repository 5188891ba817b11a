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

.PHONY: release image testbed unit conformance e2e test lint demo bench fuzz snap

## The static release binary (built once; everything else reuses it).
release:
	$(STATIC_RUSTFLAGS) cargo build --release --target $(TARGET_TRIPLE) -p strata

## strata:dev in the local dockerd, from the host-built binary (no registry needed).
image: release testbed
	mkdir -p .build && cp $(RELEASE_BIN) .build/strata
	docker buildx build --quiet --load -t $(IMAGE) --target prebuilt -f Dockerfile.frontend . >/dev/null
	@echo "image: $(IMAGE) ($$(du -h .build/strata | cut -f1) binary)"

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

## End-to-end: real `docker buildx build` runs, Strata vs BuildKit's builtin frontend.
e2e: image
	STRATA_IMAGE=$(IMAGE) cargo test -p strata --features e2e --test e2e -- --nocapture --test-threads=1
	STRATA_IMAGE=$(IMAGE) cargo test -p strata --features e2e --test e2e_cache -- --nocapture --test-threads=1
	STRATA_IMAGE=$(IMAGE) cargo test -p strata --features e2e --test e2e_repro -- --nocapture --test-threads=1
	STRATA_IMAGE=$(IMAGE) cargo test -p strata --features e2e --test e2e_subrequests -- --nocapture --test-threads=1
	STRATA_IMAGE=$(IMAGE) cargo test -p strata --features e2e --test e2e_platform -- --nocapture --test-threads=1

## Everything CI runs.
test: lint unit e2e

demo: image
	scripts/demo.sh

bench: image
	scripts/bench.sh

fuzz:
	scripts/fuzz.sh

## Review changed golden snapshots.
snap:
	INSTA_UPDATE=always cargo test -p strata
