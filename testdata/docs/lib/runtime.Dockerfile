# The stage library file README.md's `INCLUDE @runtime` example reads: the platform's
# runtime stage, non-root and labelled.
FROM debian:bookworm-slim AS runtime
LABEL org.opencontainers.image.source="https://git.corp/platform/runtime"
USER 65532
