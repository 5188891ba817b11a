FROM busybox:local AS base

FROM base AS uses
COPY --from=build(GOOS=linux) /os /os

# build Builds for one OS
FROM base AS build(GOOS)
RUN echo ${GOOS} > /os
