ARG TOOLS_IMAGE=busybox:local
ARG BASE_IMAGE=busybox:local

# Tools Stage names are lower-cased, so this line does not describe the stage
# tools Build tools
FROM ${TOOLS_IMAGE} AS Tools
ARG TARGETARCH
ARG TOOLS_VERSION=2
RUN --mount=type=secret,target=/run/secrets/gh_token true

FROM ${BASE_IMAGE} AS cache
ARG CACHE_ID=main
RUN --mount=type=cache,id=${CACHE_ID},target=/c true

FROM busybox:local AS unused
ARG NEVER_USED=1
RUN --mount=type=secret,id=unused-secret true

FROM busybox:local
ARG BASE_IMAGE
# GREETING Say "hi" & <wave>
ARG GREETING=hello
RUN --mount=type=bind,from=tools,target=/t \
    --mount=type=ssh,id=git,required \
    true
COPY --from=cache /etc/passwd /p
