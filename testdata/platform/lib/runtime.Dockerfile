# The platform's hardened runtime stage: `INCLUDE @runtime`, then `FROM runtime`.
# BASE is the pinned base image (the team's build passes it).
ARG BASE
FROM ${BASE} AS runtime
LABEL org.opencontainers.image.source="https://git.example.com/platform/runtime"
INCLUDE steps/harden
