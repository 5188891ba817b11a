# syntax=strata:dev
ARG VARIANTS="slim full"
ARG WITH_DEBUG=0

# base The shared base
FROM --platform=linux/amd64 busybox:local AS base
ARG VARIANTS
ARG WITH_DEBUG

FOR V IN ${VARIANTS}
# variant-${V} One variant
FROM base AS variant-${V}
RUN echo ${V} > /variant
END
ARG WITH_DEBUG

IF ${WITH_DEBUG} == "1"
# debug Debug tools
FROM base AS debug
END

# build Builds for one OS
FROM busybox:local AS build(GOOS, GOARCH=amd64)
RUN echo ${GOOS}/${GOARCH} > /target

FROM scratch
COPY --from=build(GOOS=linux) /target /linux
COPY --from=variant-slim /variant /variant
