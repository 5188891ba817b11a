# Global arguments: a registry and the image tag, the tag built from the flavour.
# REGISTRY Where base images come from
ARG REGISTRY=docker.io/library
ARG FLAVOUR=local
# TAG The base image tag
ARG TAG=${FLAVOUR}
ARG PLATFORM_NOTE

# deps Fetches dependencies with a private token
FROM --platform=$BUILDPLATFORM ${REGISTRY}/busybox:${TAG} AS deps
ARG NPM_MIRROR=https://registry.npmjs.org
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=cache,target=/root/.npm \
    echo deps

# test Runs the tests; never part of the release
FROM deps AS test
ARG CI
RUN --mount=type=secret,id=codecov,required=true echo test

# release The image we ship
FROM busybox:local AS release
ARG PORT=8080
ENV KEY_NAME=deploy
COPY --from=deps /etc/passwd /deps
RUN --mount=type=ssh,id=${KEY_NAME},required=true echo release
